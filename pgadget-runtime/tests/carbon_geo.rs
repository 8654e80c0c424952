//! The country lookup against a geolocation server on loopback, through the same configuration
//! users have (`PGADGET_GEO_URL`, `PGADGET_CACHE_DIR`, `PGADGET_OFFLINE`, `PGADGET_COUNTRY`).
//!
//! The lookup happens at most once per process, so every scenario that needs a fresh lookup
//! runs in a child process: this test binary re-run on the ignored test
//! `child_process_writes_one_row`, which builds a meter from its environment and writes one
//! row. The parent reads that row back with `get_logged_data` and the child's stderr.
//! Scenarios that make no request run in-process.
// The lookup and its cache exist only with the `geolocation` feature (on by default).
#![cfg(feature = "geolocation")]

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::{get_logged_data, Metadata, PowerMeter, Record};
use pgadget_test_support::child::{child_var, ChildTest};
use pgadget_test_support::http::{Reply, Server};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// The body of the child process: one measured call of a 10 ms sleep, with a meter built
/// from the environment alone (as `#[measure_power]` builds it).
#[test]
#[ignore = "run as a child process by the tests of this file"]
fn child_process_writes_one_row() {
    // The parent always names the log; its absence means the test was not started by one.
    child_var("PGADGET_LOG");
    let meter = PowerMeter::builder()
        .build()
        .expect("meter from the environment");
    meter.measure_power(Metadata::new("carbon-test", "sleep"), || {
        thread::sleep(Duration::from_millis(10))
    });
}

/// What a child process left behind.
struct ChildRun {
    rows: Vec<Record>,
    stderr: String,
    took: Duration,
}

/// Runs the child with a clean pgadget environment (no proxy either: the server is local)
/// plus `vars`, logging to `dir/log.csv` and caching in `dir/cache`.
fn run_child(dir: &Path, vars: &[(&str, &str)]) -> ChildRun {
    let log = dir.join("log.csv");
    let _ = std::fs::remove_file(&log);
    let mut child = ChildTest::new("child_process_writes_one_row")
        .env("PGADGET_LOG", &log)
        .env("PGADGET_CACHE_DIR", dir.join("cache"))
        .env("PGADGET_SOURCES", "estimate")
        .env("PGADGET_PUE", "1.5");
    for (k, v) in vars {
        child = child.env(k, v);
    }
    let started = Instant::now();
    let out = child.run();
    let took = started.elapsed();
    let stderr = pgadget_test_support::stderr(&out);
    let rows = get_logged_data(&log).unwrap();
    assert_eq!(rows.len(), 1, "one row per child");
    ChildRun { rows, stderr, took }
}

fn cache_file(dir: &Path) -> PathBuf {
    dir.join("cache").join("country.json")
}

fn assert_world_average(row: &Record) {
    assert_eq!(row.iso, "WORLD");
    assert_eq!(row.country, "World average");
    let world = pgadget_runtime::carbon::world_average().intensity;
    let expected = 1.5 * row.carbon_energy_mwh() / 1e6 * world;
    assert!((row.co2_g.unwrap() - expected).abs() <= 1e-12 + 1e-9 * expected);
}

/// The lines pgadget printed, without the test harness's own output.
fn pgadget_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("pgadget:") && !l.contains("energies are estimated"))
        .collect()
}

#[test]
fn a_good_answer_fills_the_row_and_the_next_process_uses_the_cache() {
    let server = Server::start(Reply::Json(
        r#"{"ip": "192.0.2.1", "city": "Paris", "country": "FR", "loc": "48.85,2.35"}"#,
    ));
    let dir = tempfile::tempdir().unwrap();
    let first = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    let row = &first.rows[0];
    assert_eq!((row.iso.as_str(), row.country.as_str()), ("FR", "France"));
    let expected = 1.5 * row.carbon_energy_mwh() / 1e6 * 56.039;
    assert!(
        row.carbon_energy_mwh() > 0.0,
        "the estimate measured something"
    );
    assert!((row.co2_g.unwrap() - expected).abs() <= 1e-9 * expected);
    assert_eq!(server.connections(), 1);
    assert!(pgadget_lines(&first.stderr).is_empty(), "{}", first.stderr);
    let cached = std::fs::read_to_string(cache_file(dir.path())).unwrap();
    assert!(
        cached.contains("\"FR\"") && cached.contains(server.url()),
        "{cached}"
    );

    let second = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    assert_eq!(second.rows[0].iso, "FR");
    assert_eq!(second.rows[0].country, "France");
    assert_eq!(server.connections(), 1, "the second process asked nobody");
}

#[test]
fn a_slow_server_is_abandoned_and_does_not_lengthen_the_window() {
    let server = Server::start(Reply::Late(Duration::from_secs(30), r#"{"country": "FR"}"#));
    let dir = tempfile::tempdir().unwrap();
    let run = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    let row = &run.rows[0];
    assert_world_average(row);
    // The body sleeps 10 ms; the lookup waits outside the window.
    assert!(row.elapsed_secs >= 0.01, "{}", row.elapsed_secs);
    assert!(
        row.elapsed_secs < 1.0,
        "window grew to {} s",
        row.elapsed_secs
    );
    // The server holds the answer for 30 s; the child gave up long before.
    // 2 s of lookup bound, plus a generous margin for starting and ending a process.
    assert!(run.took < Duration::from_secs(8), "took {:?}", run.took);
    assert_eq!(server.connections(), 1);
    let lines = pgadget_lines(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains(server.url()) && lines[0].contains("PGADGET_COUNTRY"),
        "{}",
        lines[0]
    );
    assert!(!cache_file(dir.path()).exists());
}

/// A failed lookup: world average, one line naming the URL and the remedy, nothing cached.
fn check_failure(reply: Reply, what: &str) {
    let server = Server::start(reply);
    let dir = tempfile::tempdir().unwrap();
    let run = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    assert_world_average(&run.rows[0]);
    let lines = pgadget_lines(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    for needle in [server.url(), what, "world average", "PGADGET_COUNTRY"] {
        assert!(
            lines[0].contains(needle),
            "{needle:?} missing: {}",
            lines[0]
        );
    }
    assert_eq!(server.connections(), 1);
    assert!(!cache_file(dir.path()).exists(), "a failure is not cached");
}

#[test]
fn http_500_falls_back_to_the_world_average() {
    check_failure(Reply::Status(500), "HTTP 500");
}

#[test]
fn malformed_json_falls_back_to_the_world_average() {
    check_failure(Reply::Json("{\"country\": \"FR\""), "not the JSON expected");
}

#[test]
fn an_answer_without_country_falls_back_to_the_world_average() {
    check_failure(Reply::Json("{\"ip\": \"192.0.2.1\"}"), "no `country`");
}

#[test]
fn an_unknown_code_falls_back_to_the_world_average() {
    check_failure(
        Reply::Json("{\"country\": \"XX\"}"),
        "unknown country code \"XX\"",
    );
}

#[test]
fn offline_by_environment_makes_no_connection() {
    let server = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    let dir = tempfile::tempdir().unwrap();
    let run = run_child(
        dir.path(),
        &[("PGADGET_GEO_URL", server.url()), ("PGADGET_OFFLINE", "1")],
    );
    assert_world_average(&run.rows[0]);
    assert!(pgadget_lines(&run.stderr).is_empty(), "{}", run.stderr);
    // Give a stray request time to arrive before counting.
    thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 0);
}

#[test]
fn an_unknown_configured_country_is_one_message_and_no_request() {
    let server = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    let dir = tempfile::tempdir().unwrap();
    let run = run_child(
        dir.path(),
        &[
            ("PGADGET_GEO_URL", server.url()),
            ("PGADGET_COUNTRY", "Atlantis"),
        ],
    );
    assert_world_average(&run.rows[0]);
    let lines = pgadget_lines(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("PGADGET_COUNTRY=\"Atlantis\"") && lines[0].contains("FRA"),
        "{}",
        lines[0]
    );
    thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 0);
}

fn in_process_meter(dir: &Path, env: EnvConfig, get_country: bool) -> Record {
    let meter = PowerMeter::builder()
        .environment(EnvConfig {
            sources: Some(vec!["estimate".into()]),
            cache_dir: Some(dir.join("cache")),
            ..env
        })
        .get_country(get_country)
        .log_path(dir.join("log.csv"))
        .build()
        .unwrap();
    meter.measure_power(Metadata::new("carbon-test", "noop"), || ());
    let mut rows = get_logged_data(dir.join("log.csv")).unwrap();
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

#[test]
fn get_country_false_makes_no_connection() {
    let server = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    let dir = tempfile::tempdir().unwrap();
    let env = EnvConfig {
        geo_url: Some(server.url().to_string()),
        pue: Some(1.5),
        ..EnvConfig::default()
    };
    let row = in_process_meter(dir.path(), env, false);
    assert_world_average(&row);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 0);
}

#[test]
fn a_configured_country_is_used_in_any_spelling_without_a_request() {
    let server = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    for (spelling, iso, name) in [
        ("de", "DE", "Germany"),
        ("JPN", "JP", "Japan"),
        ("united kingdom", "GB", "United Kingdom"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let env = EnvConfig {
            geo_url: Some(server.url().to_string()),
            country: Some(spelling.into()),
            ..EnvConfig::default()
        };
        let row = in_process_meter(dir.path(), env, true);
        assert_eq!((row.iso.as_str(), row.country.as_str()), (iso, name));
        assert!(row.co2_g.unwrap() > 0.0);
    }
    thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 0);
}
