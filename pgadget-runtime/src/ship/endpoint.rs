//! Where the totals go: `GET /metrics` at `PGADGET_METRICS_ADDR` for Prometheus to scrape, and
//! pushes to the Pushgateway at `PGADGET_PUSHGATEWAY_URL` (job `pgadget`, instance = the host)
//! every [`PUSH_EVERY`] and at normal exit, for batch jobs that end before a scrape.
//!
//! Neither ever stops the program: a port already in use or a gateway that does not answer is
//! one message on stderr, and the program goes on.

use super::metrics::{Metrics, CONTENT_TYPE};
use std::net::SocketAddr;
use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// How often the metrics thread adds the rows handed over to the counters.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// How often the totals are pushed to a Pushgateway (and once more at exit).
pub const PUSH_EVERY: Duration = Duration::from_secs(15);

/// How long one push may take: less than the exit's bound ([`super::EXIT_WAIT`]), so that a
/// gateway that does not answer is told by the push's own message, not by the exit giving up.
const PUSH_TIMEOUT: Duration = Duration::from_secs(3);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves its data consistent at every step.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serves `GET /metrics` on `addr` from a thread of its own, unless this process already does.
pub(crate) fn serve(addr: SocketAddr) {
    static SERVED: Mutex<Vec<SocketAddr>> = Mutex::new(Vec::new());
    let mut served = lock(&SERVED);
    if served.contains(&addr) {
        return;
    }
    served.push(addr);
    let server = match tiny_http::Server::http(addr) {
        Ok(server) => server,
        Err(e) => {
            crate::report_once(&format!(
                "cannot serve the metrics on {addr} ({e}); the program goes on without a \
                 /metrics endpoint. Set {} to a free address and port.",
                crate::config::METRICS_ADDR
            ));
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("pgadget-metrics-http".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                answer(request);
            }
        });
    if let Err(e) = spawned {
        crate::report_once(&format!(
            "cannot start the thread that serves the metrics on {addr} ({e}); the program goes \
             on without a /metrics endpoint."
        ));
    }
    ensure_thread();
}

fn answer(request: tiny_http::Request) {
    let path = request.url().split('?').next().unwrap_or("");
    let is_get = matches!(request.method(), tiny_http::Method::Get);
    let response = if is_get && path == "/metrics" {
        let body = Metrics::global().encode();
        let response = tiny_http::Response::from_string(body);
        match tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE) {
            Ok(header) => response.with_header(header),
            Err(()) => response,
        }
    } else {
        tiny_http::Response::from_string("pgadget serves its metrics at GET /metrics\n")
            .with_status_code(404)
    };
    // A client that went away is its own business.
    let _ = request.respond(response);
}

/// A Pushgateway the totals go to.
struct Gateway {
    /// `<base>/metrics/job/pgadget/instance/<host>`.
    push_url: String,
    /// The URL as the user gave it, for messages.
    base: String,
    /// Whether the last push failed (and the user was told).
    failing: bool,
}

#[derive(Default)]
struct Pushes {
    gateways: Vec<Gateway>,
    exit_requested: bool,
    exit_done: bool,
    abandoned: bool,
}

static PUSHES: Mutex<Pushes> = Mutex::new(Pushes {
    gateways: Vec::new(),
    exit_requested: false,
    exit_done: false,
    abandoned: false,
});
static WAKE: Condvar = Condvar::new();
static SETTLED: Condvar = Condvar::new();

/// Pushes the totals to the Pushgateway at `base` every [`PUSH_EVERY`] and at exit, as
/// instance `host`, unless this process already does.
pub(crate) fn push_to(base: &str, host: &str) {
    let push_url = format!(
        "{}/metrics/job/pgadget/instance/{}",
        base.trim_end_matches('/'),
        percent_encoding::utf8_percent_encode(host, percent_encoding::NON_ALPHANUMERIC)
    );
    {
        let mut pushes = lock(&PUSHES);
        if pushes.gateways.iter().any(|g| g.push_url == push_url) {
            return;
        }
        pushes.gateways.push(Gateway {
            push_url,
            base: base.to_string(),
            failing: false,
        });
    }
    ensure_thread();
}

/// Starts the metrics thread once: it adds the rows handed over every [`TICK`] (so the queue
/// stays short when nobody scrapes) and pushes.
fn ensure_thread() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("pgadget-metrics".into())
            .spawn(run);
        if let Err(e) = spawned {
            crate::report_once(&format!(
                "cannot start the thread that keeps the metrics ({e}); the totals are only \
                 brought up to date when /metrics is scraped, and never pushed."
            ));
        }
    });
}

fn run() {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(PUSH_TIMEOUT))
        .http_status_as_error(false)
        .proxy(ureq::Proxy::try_from_env())
        .user_agent(concat!("pgadget/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut last_push = Instant::now();
    loop {
        let exiting = {
            let pushes = lock(&PUSHES);
            let pushes = if pushes.exit_requested {
                pushes
            } else {
                WAKE.wait_timeout(pushes, TICK)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            };
            pushes.exit_requested
        };
        Metrics::global().add_pending();
        if exiting || last_push.elapsed() >= PUSH_EVERY {
            last_push = Instant::now();
            push_all(&agent);
        }
        if exiting {
            lock(&PUSHES).exit_done = true;
            SETTLED.notify_all();
            return;
        }
    }
}

fn push_all(agent: &ureq::Agent) {
    let targets: Vec<(String, String)> = lock(&PUSHES)
        .gateways
        .iter()
        .map(|g| (g.push_url.clone(), g.base.clone()))
        .collect();
    if targets.is_empty() {
        return;
    }
    let body = Metrics::global().encode();
    for (push_url, base) in targets {
        let result = push(agent, &push_url, &body);
        let mut pushes = lock(&PUSHES);
        let quiet = pushes.abandoned;
        let Some(gateway) = pushes.gateways.iter_mut().find(|g| g.push_url == push_url) else {
            continue;
        };
        match result {
            Ok(()) if gateway.failing => {
                gateway.failing = false;
                if !quiet {
                    eprintln!("pgadget: pushes to the Pushgateway at {base} work again.");
                }
            }
            Ok(()) => {}
            Err(why) if !gateway.failing => {
                gateway.failing = true;
                if !quiet {
                    eprintln!(
                        "pgadget: cannot push the totals to the Pushgateway at {base} ({why}); \
                         the program goes on, and pushes are retried every {} s. Check {}.",
                        PUSH_EVERY.as_secs(),
                        crate::config::PUSHGATEWAY_URL
                    );
                }
            }
            Err(_) => {}
        }
    }
}

/// One `PUT` of the whole group: the gateway then holds exactly this process's totals.
fn push(agent: &ureq::Agent, url: &str, body: &str) -> Result<(), String> {
    let mut response = agent
        .put(url)
        .header("Content-Type", CONTENT_TYPE)
        .send(body)
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s", PUSH_TIMEOUT.as_secs()),
            other => other.to_string(),
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let said = response
        .body_mut()
        .with_config()
        .limit(1024)
        .read_to_string()
        .unwrap_or_default();
    Err(format!("it answered HTTP {status}: {}", said.trim()))
}

/// At exit: asks for a last push.
pub(crate) fn request_exit() {
    let mut pushes = lock(&PUSHES);
    if pushes.gateways.is_empty() {
        return;
    }
    pushes.exit_requested = true;
    WAKE.notify_all();
}

/// At exit: waits for the last push until `deadline`.
pub(crate) fn wait_for_exit(deadline: Instant) {
    let mut pushes = lock(&PUSHES);
    if !pushes.exit_requested {
        return;
    }
    while !pushes.exit_done {
        let now = Instant::now();
        if now >= deadline {
            pushes.abandoned = true;
            // A gateway that fails was named when it began to: one message per failure.
            if pushes.gateways.iter().any(|g| !g.failing) {
                eprintln!(
                    "pgadget: the last push of the totals to the Pushgateway did not finish \
                     before the process exited; the gateway holds the previous push."
                );
            }
            return;
        }
        pushes = SETTLED
            .wait_timeout(pushes, deadline - now)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}
