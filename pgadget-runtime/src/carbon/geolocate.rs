//! The country lookup over the network: one request to an IP-geolocation service per process,
//! on a background thread, its answer cached on disk. Built with the `geolocation` feature
//! only; without it there is no request (see `lookup`).
//!
//! Nothing waits for the request but the process's normal exit: a row takes the answer if it
//! has come and the world average otherwise. The request itself may take up to
//! [`LOOKUP_BOUND`], so a slow service still answers for the rows that follow. A program that
//! ends before the answer waits for it at exit, at most [`EXIT_WAIT`], so that even a short
//! run caches the answer for the next one.

use super::cache::{self, CachedCountry};
use super::country::{find_country, CountryError};
use super::intensity::world_average;
use super::service::Service;
use super::Location;
use crate::config;
use crate::report_once;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The longest the geolocation request may take in the background, connection included.
/// Rows never wait for it.
pub const LOOKUP_BOUND: Duration = Duration::from_secs(10);

/// The longest a normal exit waits for a request still running, so that its answer is cached.
pub const EXIT_WAIT: Duration = Duration::from_secs(3);

/// The largest geolocation answer read (ipinfo's is about 300 bytes).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The process-wide request and its answer.
#[derive(Debug)]
pub(super) struct Shared {
    service: Service,
    started: Instant,
    /// The location once the request has ended (and its answer is cached): the country, or
    /// the world average after a failure.
    answer: Mutex<Option<Location>>,
    answered: Condvar,
    /// Whether this lookup has already told the user it fell back (one line per process).
    reported: AtomicBool,
}

static LOOKUP: OnceLock<Shared> = OnceLock::new();

impl Shared {
    /// The process's lookup, started by the first caller. Later callers share it whatever
    /// service they were configured with: a process asks once.
    pub(super) fn start(service: Service, cache_dir: Option<PathBuf>) -> &'static Shared {
        let mut first = false;
        let shared = LOOKUP.get_or_init(|| {
            first = true;
            Shared::new(service)
        });
        if first {
            crate::exit::at_exit(wait_at_exit);
            let spawned = std::thread::Builder::new()
                .name("pgadget-country".into())
                .spawn(move || shared.run(cache_dir.as_deref()));
            if let Err(e) = spawned {
                shared.fail(&format!("could not start its thread ({e})"));
            }
        }
        shared
    }

    fn new(service: Service) -> Shared {
        Shared {
            service,
            started: Instant::now(),
            answer: Mutex::new(None),
            answered: Condvar::new(),
            reported: AtomicBool::new(false),
        }
    }

    /// The request, on the background thread.
    fn run(&'static self, cache_dir: Option<&Path>) {
        let answered = match geolocate(&self.service) {
            Ok(code) => code,
            Err(what) => return self.fail(&what),
        };
        let (code, location) = match find_country(&answered) {
            Ok(c) => (c.alpha2.to_string(), c.location()),
            Err(CountryError::NoData(c)) => {
                self.report(&no_figure_message(&self.service, c.alpha2, c.name, false));
                (c.alpha2.to_string(), world_average())
            }
            // A code this version does not know (a newer one may): cached as answered, so
            // that the next processes do not ask again for the same answer.
            Err(CountryError::Unknown(_)) if looks_like_alpha2(&answered) => {
                self.report(&unknown_code_message(&self.service, &answered, false));
                (answered, world_average())
            }
            Err(CountryError::Unknown(_)) => {
                return self.fail(&format!(
                    "it answered {answered:?}, which is not an ISO 3166 country code"
                ));
            }
        };
        // Saved before the answer is handed out, so that a process waiting at exit for the
        // answer leaves it for the next run.
        if let Some(dir) = cache_dir {
            if let Err(e) = cache::save(dir, &CachedCountry::new(code, self.service.url())) {
                report_once(&format!(
                    "could not cache the country ({e}); the next run will ask again. Set {} \
                     to a writable directory or {} to avoid the lookup.",
                    config::CACHE_DIR,
                    config::COUNTRY
                ));
            }
        }
        self.settle(location);
    }

    fn settle(&self, location: Location) {
        let mut answer = self.answer.lock().unwrap_or_else(|p| p.into_inner());
        *answer = Some(location);
        self.answered.notify_all();
    }

    /// Prints the lookup's fallback message, unless one was printed already.
    fn report(&self, message: &str) {
        if !self.reported.swap(true, Ordering::Relaxed) {
            report_once(message);
        }
    }

    fn fail(&self, what: &str) {
        self.report(&format!(
            "the country lookup at {} failed: {what}; CO2 uses the world average ({:.0} \
             gCO2e/kWh). Set {} (e.g. FR, FRA or France) to name the country, or {}=1 to skip \
             the lookup.",
            self.service.shown(),
            world_average().intensity,
            config::COUNTRY,
            config::OFFLINE
        ));
        self.settle(world_average());
    }

    /// The location to charge a row to now: the answer if the request has ended, else the
    /// world average. Never waits.
    pub(super) fn current(&self) -> Location {
        let answer = self.answer.lock().unwrap_or_else(|p| p.into_inner());
        answer.unwrap_or_else(world_average)
    }

    /// Waits for the request to end, at most `bound`; whether it did.
    fn wait(&self, bound: Duration) -> bool {
        let deadline = Instant::now() + bound;
        let mut answer = self.answer.lock().unwrap_or_else(|p| p.into_inner());
        while answer.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            answer = match self.answered.wait_timeout(answer, deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// At exit: waits for a request still running (at most `bound`), so that its answer is
    /// cached; says so when it has to give up.
    fn finish_at_exit(&self, bound: Duration) {
        if self.wait(bound) {
            return;
        }
        self.report(&format!(
            "the country lookup at {} had not answered {} s after it started, when the \
             program ended; its rows used the world average, and the next run will ask again. \
             Set {} (e.g. FR, FRA or France) to name the country, or {}=1 to skip the lookup.",
            self.service.shown(),
            self.started.elapsed().as_secs(),
            config::COUNTRY,
            config::OFFLINE
        ));
    }
}

/// The exit task (see `crate::exit`): gives a lookup still running [`EXIT_WAIT`] more.
fn wait_at_exit() {
    if let Some(shared) = LOOKUP.get() {
        shared.finish_at_exit(EXIT_WAIT);
    }
}

/// Whether `s` has the shape of an ISO 3166 alpha-2 code (two ASCII letters).
fn looks_like_alpha2(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// What the user is told when the service answered (now, or in a cached answer) a country
/// without a carbon-intensity figure.
pub(super) fn no_figure_message(
    service: &Service,
    alpha2: &str,
    name: &str,
    cached: bool,
) -> String {
    format!(
        "the country lookup at {} {} {alpha2} ({name}), which has no carbon-intensity figure; \
         CO2 uses the world average. Set {} to charge another country's grid.",
        service.shown(),
        if cached {
            "answered earlier"
        } else {
            "answered"
        },
        config::COUNTRY
    )
}

/// What the user is told when the service answered (now, or in a cached answer) a code
/// pgadget does not know.
pub(super) fn unknown_code_message(service: &Service, code: &str, cached: bool) -> String {
    format!(
        "the country lookup at {} {} an unknown country code {code:?}; CO2 uses the world \
         average ({:.0} gCO2e/kWh), and the answer is kept for {} days so that it is not asked \
         again. Set {} (e.g. FR, FRA or France) to name the country.",
        service.shown(),
        if cached {
            "answered earlier"
        } else {
            "answered"
        },
        world_average().intensity,
        cache::MAX_AGE_DAYS,
        config::COUNTRY
    )
}

/// What the geolocation service answers; only `country` (ISO 3166 alpha-2) is used.
#[derive(Deserialize)]
struct GeoAnswer {
    country: Option<String>,
}

/// One request to `service`; the code it answered (upper case), or what went wrong, said for
/// a person and without the service's secrets.
fn geolocate(service: &Service) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(LOOKUP_BOUND))
        // HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (and NO_PROXY), as other tools honour them.
        .proxy(ureq::Proxy::try_from_env())
        .user_agent(concat!("pgadget/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent.get(service.url()).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => format!("it answered HTTP {code}"),
        ureq::Error::Timeout(_) => format!("no answer within {} s", LOOKUP_BOUND.as_secs()),
        // Its text quotes the URL.
        ureq::Error::BadUri(_) => "it is not a URL that can be requested (give an http:// or \
                                   https:// URL with a host)"
            .to_string(),
        other => service.scrub(&other.to_string()),
    })?;
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| service.scrub(&format!("its answer could not be read ({e})")))?;
    let answer: GeoAnswer = serde_json::from_str(&body)
        .map_err(|e| format!("its answer is not the JSON expected ({e})"))?;
    match answer.country {
        Some(code) if !code.trim().is_empty() => Ok(code.trim().to_ascii_uppercase()),
        _ => Err("its answer has no `country` field".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> &'static Shared {
        Box::leak(Box::new(Shared::new(Service::new(
            "http://127.0.0.1:9/json",
        ))))
    }

    #[test]
    fn rows_take_the_world_average_until_the_answer_then_the_answer() {
        let shared = shared();
        let before = Instant::now();
        assert_eq!(shared.current(), world_average());
        assert!(
            before.elapsed() < Duration::from_secs(1),
            "a row never waits"
        );
        shared.settle(find_country("NO").unwrap().location());
        assert_eq!(shared.current().iso, "NO");
    }

    #[test]
    fn the_exit_wait_ends_with_the_answer() {
        let shared = shared();
        // Far longer than the test: the wait must be ended by the answer, not the bound.
        let exiting = std::thread::spawn(move || shared.wait(Duration::from_secs(600)));
        std::thread::sleep(Duration::from_millis(20));
        shared.settle(find_country("SE").unwrap().location());
        assert!(exiting.join().unwrap());
    }

    #[test]
    fn the_exit_wait_gives_up_at_its_bound() {
        let shared = shared();
        shared.finish_at_exit(Duration::from_millis(20));
        assert!(shared.reported.load(Ordering::Relaxed), "the user is told");
        assert_eq!(shared.current(), world_average());
    }

    #[test]
    fn only_two_letters_look_like_a_code() {
        assert!(looks_like_alpha2("XK") && looks_like_alpha2("zz"));
        for s in ["", "X", "XKX", "X1", "Kosovo", "É"] {
            assert!(!looks_like_alpha2(s), "{s}");
        }
    }
}
