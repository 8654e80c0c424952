//! Live totals for Prometheus, against the real programs: Prometheus scraping `/metrics`, a
//! Pushgateway holding the totals of a batch job after it exits, and the failures that must
//! cost one message and nothing else (a port in use, a gateway that does not answer).
//!
//! Needs the `prometheus` feature (on in `cargo test --workspace`, which builds the command
//! line with it) and Debian's `prometheus` and `prometheus-pushgateway` packages (installed by
//! `.ci/run`).

#[cfg(not(feature = "prometheus"))]
#[test]
#[ignore = "needs the `prometheus` feature: cargo test --workspace, or -p pgadget-runtime --features prometheus"]
fn totals_for_prometheus() {}

#[cfg(not(feature = "prometheus"))]
mod without_prometheus {
    use pgadget_test_support::child::{child_var, ChildTest};
    use pgadget_test_support::meter::{env_meter, make_calls};
    use pgadget_test_support::stderr;

    #[test]
    #[ignore = "run as a child process by metrics_settings_in_the_environment_are_one_message"]
    fn child_with_metrics_settings() {
        child_var("PGADGET_LOG");
        make_calls(&env_meter(), 2, 5, std::time::Duration::ZERO);
    }

    #[test]
    fn metrics_settings_in_the_environment_are_one_message() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let out = ChildTest::new("without_prometheus::child_with_metrics_settings")
            .env("PGADGET_LOG", &log)
            .env(
                "PGADGET_METRICS_ADDR",
                taken.local_addr().unwrap().to_string(),
            )
            .env("PGADGET_PUSHGATEWAY_URL", "http://127.0.0.1:1")
            .run();
        let err = stderr(&out);
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("pgadget:")).collect();
        assert_eq!(said.len(), 1, "{err}");
        assert!(
            said[0].contains("no `prometheus` feature: no metrics are served or pushed"),
            "{err}"
        );
        // The program went on: every call was logged.
        assert_eq!(pgadget_runtime::read_log(&log).unwrap().records.len(), 10);
    }
}

#[cfg(feature = "prometheus")]
mod with_prometheus {
    use pgadget_runtime::read_log;
    use pgadget_runtime::ship::{EXIT_WAIT, PUSH_EVERY};
    use pgadget_test_support::child::ChildTest;
    use pgadget_test_support::engines::free_port;
    use pgadget_test_support::http::{Reply, Server};
    use pgadget_test_support::meter::{child_calls_then_wait, CALLS, STOP_FILE, THREADS};
    use pgadget_test_support::prometheus::{sum_series, Prometheus, Pushgateway};
    use pgadget_test_support::{stderr, stdout};
    use std::path::Path;
    use std::process::{Child, Output};
    use std::time::{Duration, Instant};

    /// The body of every child process here: [`child_calls_then_wait`].
    #[test]
    #[ignore = "run as a child process by the tests of this file"]
    fn child_measures_and_exits() {
        child_calls_then_wait();
    }

    fn child(log: &Path, threads: usize, calls: usize) -> ChildTest {
        ChildTest::new("with_prometheus::child_measures_and_exits")
            .env("PGADGET_LOG", log)
            .env(THREADS, threads.to_string())
            .env(CALLS, calls.to_string())
    }

    fn passed(out: Output) -> (String, String) {
        assert!(
            out.status.success() && stdout(&out).contains("1 passed"),
            "the child failed ({}):\n{}\n{}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
        (stdout(&out), stderr(&out))
    }

    fn rows(log: &Path) -> Vec<pgadget_runtime::Record> {
        read_log(log).expect("the log reads back").records
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_prometheus),
        ignore = "needs Prometheus: install the Debian package prometheus (.ci/run does)"
    )]
    fn prometheus_counts_every_call_made() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let stop = dir.path().join("stop");
        let addr = format!("127.0.0.1:{}", free_port());
        let prometheus = Prometheus::start(
            "prometheus_counts_every_call_made",
            std::slice::from_ref(&addr),
        );
        let running: Child = child(&log, 2, 617)
            .env("PGADGET_METRICS_ADDR", &addr)
            .env(STOP_FILE, &stop)
            .spawn_piped();
        // Prometheus's own answer, after its scrapes of the running program.
        let seen = (|| {
            for _ in 0..600 {
                let total = prometheus.query("sum(pgadget_calls_total)");
                if total == [1234.0] {
                    return total;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            prometheus.query("sum(pgadget_calls_total)")
        })();
        std::fs::write(&stop, "").unwrap();
        let (_, err) = passed(running.wait_with_output().unwrap());
        assert_eq!(
            seen,
            [1234.0],
            "Prometheus's sum of pgadget_calls_total;\n{err}"
        );
        assert_eq!(rows(&log).len(), 1234);
        // The other counters are there, labelled as documented.
        let ok = prometheus
            .query(r#"sum(pgadget_calls_total{package="test",algorithm="ship",status="ok"})"#);
        assert_eq!(ok, [1234.0]);
        let joules = prometheus.query(r#"sum(pgadget_energy_joules_total{domain="package"})"#);
        let expected: f64 = rows(&log).iter().filter_map(|r| r.package_mwh).sum::<f64>() * 3.6;
        assert_eq!(joules.len(), 1);
        assert!(
            (joules[0] - expected).abs() <= 1e-6 * expected.max(1.0),
            "{joules:?} J against {expected} J in the log"
        );
        let seconds = prometheus.query("sum(pgadget_duration_seconds_total)");
        let expected: f64 = rows(&log).iter().map(|r| r.elapsed_secs).sum();
        assert!((seconds[0] - expected).abs() <= 1e-6 * expected.max(1.0));
        assert!(!err.contains("pgadget:"), "{err}");
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_pushgateway),
        ignore = "needs a Pushgateway: install the Debian package prometheus-pushgateway (.ci/run does)"
    )]
    fn the_pushgateway_holds_the_totals_after_the_program_exits() {
        let gateway =
            Pushgateway::start("the_pushgateway_holds_the_totals_after_the_program_exits");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        // A batch job shorter than the 15 s between pushes: only the push at exit has it all.
        let (_, err) = passed(
            child(&log, 3, 107)
                .env("PGADGET_PUSHGATEWAY_URL", gateway.url())
                .output(),
        );
        assert!(!err.contains("pgadget:"), "{err}");
        let logged = rows(&log);
        assert_eq!(logged.len(), 321);
        let host = &logged[0].host;
        let text = gateway.metrics();
        let group = [r#"job="pgadget""#, &format!(r#"instance="{host}""#)];
        assert_eq!(
            sum_series(&text, "pgadget_calls_total", &group),
            Some(321.0),
            "{text}"
        );
        let co2: f64 = logged.iter().filter_map(|r| r.co2_g).sum();
        let pushed = sum_series(&text, "pgadget_co2_grams_total", &group).unwrap();
        assert!(
            (pushed - co2).abs() <= 1e-6 * co2.max(1.0),
            "{pushed} g, {co2} g logged"
        );
        assert!(
            text.contains("# TYPE pgadget_calls_total counter"),
            "{text}"
        );
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_pushgateway),
        ignore = "needs a Pushgateway: install the Debian package prometheus-pushgateway (.ci/run does)"
    )]
    fn a_long_running_program_pushes_its_totals_every_15_s() {
        let gateway = Pushgateway::start("a_long_running_program_pushes_its_totals_every_15_s");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let stop = dir.path().join("stop");
        let running = child(&log, 2, 60)
            .env("PGADGET_PUSHGATEWAY_URL", gateway.url())
            .env(STOP_FILE, &stop)
            .spawn_piped();
        let calls = |text: &str| sum_series(text, "pgadget_calls_total", &[r#"job="pgadget""#]);
        // The calls are made at once; the program then waits: only a periodic push can bring
        // the totals to the gateway while it lives.
        let text = gateway.metrics();
        assert_eq!(calls(&text), None, "pushed before {PUSH_EVERY:?}:\n{text}");
        let pushed = (|| {
            let end = Instant::now() + PUSH_EVERY + Duration::from_secs(15);
            while Instant::now() < end {
                let text = gateway.metrics();
                if let Some(n) = calls(&text) {
                    return Some((n, text));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            None
        })();
        std::fs::write(&stop, "").unwrap();
        let (_, err) = passed(running.wait_with_output().unwrap());
        let (n, text) = pushed.unwrap_or_else(|| {
            panic!("nothing pushed while the program ran {PUSH_EVERY:?} and more;\n{err}")
        });
        assert_eq!(n, 120.0, "{text}");
        assert!(!err.contains("pgadget:"), "{err}");
    }

    #[test]
    fn a_gateway_that_never_answers_is_one_message_and_the_exit_stays_bounded() {
        // Accepts the connection, reads the push and never answers.
        let silent = Server::start(Reply::Silent);
        let url = silent.url().trim_end_matches("/json").to_string();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let started = Instant::now();
        let (_, err) = passed(
            child(&log, 2, 50)
                .env("PGADGET_PUSHGATEWAY_URL", &url)
                .output(),
        );
        // The exit waits for the last push at most EXIT_WAIT; the rest is the test harness.
        assert!(
            started.elapsed() < EXIT_WAIT + Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert!(silent.connections() >= 1, "the push was not attempted");
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("pgadget:")).collect();
        assert_eq!(said.len(), 1, "{err}");
        assert!(
            said[0].contains(&format!(
                "cannot push the totals to the Pushgateway at {url}"
            )) && said[0].contains("no answer within")
                && said[0].contains("the program goes on"),
            "{err}"
        );
        assert_eq!(rows(&log).len(), 100);
    }

    #[test]
    fn a_port_in_use_is_one_message_and_the_program_goes_on() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let (_, err) = passed(
            child(&log, 2, 50)
                .env("PGADGET_METRICS_ADDR", &addr)
                .output(),
        );
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("pgadget:")).collect();
        assert_eq!(said.len(), 1, "{err}");
        assert!(
            said[0].contains(&format!("cannot serve the metrics on {addr}"))
                && said[0].contains("the program goes on")
                && said[0].contains("PGADGET_METRICS_ADDR"),
            "{err}"
        );
        assert_eq!(rows(&log).len(), 100);
    }

    #[test]
    fn an_unreachable_gateway_is_one_message_and_the_program_goes_on() {
        // A port nobody listens on: connections are refused.
        let url = format!("http://127.0.0.1:{}", free_port());
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let (_, err) = passed(
            child(&log, 2, 50)
                .env("PGADGET_PUSHGATEWAY_URL", &url)
                .output(),
        );
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("pgadget:")).collect();
        assert_eq!(said.len(), 1, "{err}");
        assert!(
            said[0].contains(&format!(
                "cannot push the totals to the Pushgateway at {url}"
            )) && said[0].contains("the program goes on"),
            "{err}"
        );
        assert_eq!(rows(&log).len(), 100);
    }
}
