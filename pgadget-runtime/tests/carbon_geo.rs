//! The country lookup against a geolocation server on loopback, through the same configuration
//! users have (`PGADGET_GEO_URL`, `PGADGET_CACHE_DIR`, `PGADGET_OFFLINE`, `PGADGET_COUNTRY`).
//!
//! The lookup happens at most once per process, so every scenario that needs a fresh lookup
//! runs in a child process: this test binary re-run on the ignored test
//! `child_process_writes_rows`, which builds a meter from its environment and writes one row
//! per entry of `PGADGET_TEST_PAUSES`. The parent reads the rows back with `get_logged_data`,
//! and the child's stderr. Scenarios that make no request run in-process.
// The lookup and its cache exist only with the `geolocation` feature (on by default).
#![cfg(feature = "geolocation")]

use pgadget_runtime::carbon::cache;
use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::{get_logged_data, Metadata, PowerMeter, Record};
use pgadget_test_support::child::{child_var, ChildTest};
use pgadget_test_support::http::{Reply, Server};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// What tells the child how many rows to write, and when: a comma-separated list of pauses in
/// milliseconds, each followed by one measured call (default `0`: one call at once).
const PAUSES: &str = "PGADGET_TEST_PAUSES";

/// The body of the child process: a meter built from the environment alone (as
/// `#[measure_power]` builds it), then for each pause one measured call of a 10 ms sleep. It
/// prints how long each call took in all (the row written included) as `call took <secs>`.
#[test]
#[ignore = "run as a child process by the tests of this file"]
fn child_process_writes_rows() {
    // The parent always names the log; its absence means the test was not started by one.
    child_var("PGADGET_LOG");
    let pauses = std::env::var(PAUSES).unwrap_or_else(|_| "0".into());
    let meter = PowerMeter::builder()
        .build()
        .expect("meter from the environment");
    for pause in pauses.split(',') {
        thread::sleep(Duration::from_millis(pause.trim().parse().unwrap()));
        let call = Instant::now();
        meter.measure_power(Metadata::new("carbon-test", "sleep"), || {
            thread::sleep(Duration::from_millis(10))
        });
        println!("call took {}", call.elapsed().as_secs_f64());
    }
}

/// What a child process left behind.
struct ChildRun {
    rows: Vec<Record>,
    stderr: String,
    /// How long each measured call took, as the child measured it.
    calls: Vec<f64>,
    /// How long the child ran, start to exit.
    took: Duration,
}

/// Runs the child with a clean pgadget environment (no proxy either: the server is local)
/// plus `vars`, logging to `dir/log.csv` and caching in `dir/cache`.
fn run_child(dir: &Path, vars: &[(&str, &str)]) -> ChildRun {
    let log = dir.join("log.csv");
    let _ = std::fs::remove_file(&log);
    let mut child = ChildTest::new("child_process_writes_rows")
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
    let calls: Vec<f64> = pgadget_test_support::stdout(&out)
        .lines()
        // The harness may have begun the line (`test child_process_writes_rows ... `).
        .filter_map(|l| l.split_once("call took "))
        .map(|(_, secs)| secs.trim().parse().unwrap())
        .collect();
    let rows = get_logged_data(&log).unwrap();
    assert_eq!(rows.len(), calls.len(), "one row per call");
    assert!(!rows.is_empty());
    ChildRun {
        rows,
        stderr,
        calls,
        took,
    }
}

/// A child whose one measured call comes a second after its meter was built: long enough for
/// a server on loopback that answers at once (a row closed before the answer would use the
/// world average, which is right but not what these tests look at).
const AFTER_THE_ANSWER: (&str, &str) = (PAUSES, "1000");

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
    let first = run_child(
        dir.path(),
        &[("PGADGET_GEO_URL", server.url()), AFTER_THE_ANSWER],
    );
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
    // The server holds the answer for 30 s; the child gave up long before: at its exit,
    // after EXIT_WAIT (3 s), plus a generous margin for starting and ending a process.
    assert!(run.took < Duration::from_secs(8), "took {:?}", run.took);
    assert_eq!(server.connections(), 1);
    let lines = pgadget_lines(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    for needle in [server.url(), "had not answered", "PGADGET_COUNTRY"] {
        assert!(lines[0].contains(needle), "{needle:?}: {}", lines[0]);
    }
    assert!(!cache_file(dir.path()).exists());
}

#[test]
fn a_silent_server_costs_the_measured_call_nothing() {
    let server = Server::start(Reply::Silent);
    let dir = tempfile::tempdir().unwrap();
    // The call comes right after the meter is built, while the request hangs.
    let run = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    assert_world_average(&run.rows[0]);
    // The whole call (a 10 ms body, the row built and written): well under the 2 s rows used
    // to wait for the lookup, with room for a loaded machine.
    assert!(run.calls[0] < 1.0, "the call took {} s", run.calls[0]);
    assert_eq!(server.connections(), 1);
    let lines = pgadget_lines(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(lines[0].contains("had not answered"), "{}", lines[0]);
    assert!(!cache_file(dir.path()).exists());
}

#[test]
fn a_late_answer_is_used_by_the_rows_after_it_and_cached() {
    // Later than the 2 s rows used to wait, sooner than the request's 10 s bound.
    let server = Server::start(Reply::Late(
        Duration::from_millis(2500),
        r#"{"country": "FR"}"#,
    ));
    let dir = tempfile::tempdir().unwrap();
    // One call at once, one 3.5 s later (1 s after the answer).
    let run = run_child(
        dir.path(),
        &[("PGADGET_GEO_URL", server.url()), (PAUSES, "0,3500")],
    );
    assert_world_average(&run.rows[0]);
    assert_eq!(run.rows[1].iso, "FR");
    let expected = 1.5 * run.rows[1].carbon_energy_mwh() / 1e6 * 56.039;
    assert!((run.rows[1].co2_g.unwrap() - expected).abs() <= 1e-9 * expected);
    assert!(pgadget_lines(&run.stderr).is_empty(), "{}", run.stderr);
    assert_eq!(server.connections(), 1);
    let cached = cache::load(&dir.path().join("cache"), server.url(), chrono::Utc::now());
    assert_eq!(cached.map(|c| c.country).as_deref(), Some("FR"));
}

#[test]
fn a_short_run_caches_a_late_answer_at_exit_for_the_next_run() {
    let server = Server::start(Reply::Late(
        Duration::from_millis(2500),
        r#"{"country": "DE"}"#,
    ));
    let dir = tempfile::tempdir().unwrap();
    let first = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    // Its one row was written before the answer...
    assert_world_average(&first.rows[0]);
    assert!(first.calls[0] < 1.0, "the call took {} s", first.calls[0]);
    // ... and the process stayed at its exit until the answer came, then cached it.
    assert!(pgadget_lines(&first.stderr).is_empty(), "{}", first.stderr);
    let cached = std::fs::read_to_string(cache_file(dir.path())).unwrap();
    assert!(cached.contains("\"DE\""), "{cached}");

    let second = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    assert_eq!(
        (second.rows[0].iso.as_str(), second.rows[0].country.as_str()),
        ("DE", "Germany")
    );
    assert_eq!(server.connections(), 1, "the second run asked nobody");
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
fn an_answer_that_is_no_code_falls_back_to_the_world_average() {
    check_failure(
        Reply::Json("{\"country\": \"Atlantis\"}"),
        "not an ISO 3166 country code",
    );
}

#[test]
fn an_unknown_code_is_cached_and_not_asked_again() {
    let server = Server::start(Reply::Json(r#"{"country": "XX"}"#));
    let dir = tempfile::tempdir().unwrap();
    for run in 0..2 {
        let run_ = run_child(
            dir.path(),
            &[("PGADGET_GEO_URL", server.url()), AFTER_THE_ANSWER],
        );
        assert_world_average(&run_.rows[0]);
        let lines = pgadget_lines(&run_.stderr);
        assert_eq!(lines.len(), 1, "run {run}: {}", run_.stderr);
        for needle in [
            server.url(),
            "unknown country code \"XX\"",
            "PGADGET_COUNTRY",
        ] {
            assert!(lines[0].contains(needle), "{needle:?}: {}", lines[0]);
        }
        assert_eq!(server.connections(), 1, "run {run}: asked once in all");
    }
    let cached = std::fs::read_to_string(cache_file(dir.path())).unwrap();
    assert!(cached.contains("\"XX\""), "{cached}");
}

#[test]
fn kosovo_is_charged_at_its_own_grid_and_cached() {
    let server = Server::start(Reply::Json(r#"{"country": "XK"}"#));
    let dir = tempfile::tempdir().unwrap();
    let run = run_child(
        dir.path(),
        &[("PGADGET_GEO_URL", server.url()), AFTER_THE_ANSWER],
    );
    let row = &run.rows[0];
    assert_eq!((row.iso.as_str(), row.country.as_str()), ("XK", "Kosovo"));
    // Ember's 2023 figure for Kosovo's grid (see carbon/DATA.md).
    let expected = 1.5 * row.carbon_energy_mwh() / 1e6 * 894.65;
    assert!((row.co2_g.unwrap() - expected).abs() <= 1e-9 * expected);
    assert!(pgadget_lines(&run.stderr).is_empty(), "{}", run.stderr);
    let again = run_child(dir.path(), &[("PGADGET_GEO_URL", server.url())]);
    assert_eq!(again.rows[0].iso, "XK");
    assert_eq!(server.connections(), 1, "the second run used the cache");
}

#[test]
fn changing_the_url_makes_a_new_lookup() {
    let first = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    let second = Server::start(Reply::Json(r#"{"country": "DE"}"#));
    let dir = tempfile::tempdir().unwrap();
    let run = run_child(
        dir.path(),
        &[("PGADGET_GEO_URL", first.url()), AFTER_THE_ANSWER],
    );
    assert_eq!(run.rows[0].iso, "FR");
    let run = run_child(
        dir.path(),
        &[("PGADGET_GEO_URL", second.url()), AFTER_THE_ANSWER],
    );
    assert_eq!(run.rows[0].iso, "DE", "the new service was asked");
    assert_eq!((first.connections(), second.connections()), (1, 1));
    let cached = std::fs::read_to_string(cache_file(dir.path())).unwrap();
    assert!(
        cached.contains("\"DE\"") && cached.contains(second.url()),
        "{cached}"
    );
}

#[test]
fn a_token_in_the_url_is_neither_stored_nor_printed() {
    const SECRETS: [&str; 2] = ["s3cr3t-t0ken", "hunter22"];
    let with_secrets = |server: &Server| {
        let url = server.url().replace("http://", "http://alice:hunter22@");
        format!("{url}?token=s3cr3t-t0ken")
    };
    let good = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    let dir = tempfile::tempdir().unwrap();
    let url = with_secrets(&good);
    let run = run_child(dir.path(), &[("PGADGET_GEO_URL", &url), AFTER_THE_ANSWER]);
    assert_eq!(run.rows[0].iso, "FR");
    // The service got the token (the request used the real URL)...
    assert!(good.requests()[0].contains("token=s3cr3t-t0ken"));
    // ... the cache file did not.
    let cached = std::fs::read_to_string(cache_file(dir.path())).unwrap();
    assert!(cached.contains("token=REDACTED"), "{cached}");
    for secret in SECRETS {
        assert!(!cached.contains(secret), "{secret} stored: {cached}");
        assert!(
            !run.stderr.contains(secret),
            "{secret} printed: {}",
            run.stderr
        );
    }
    // The next run, with the same URL, uses that answer.
    let again = run_child(dir.path(), &[("PGADGET_GEO_URL", &url)]);
    assert_eq!(again.rows[0].iso, "FR");
    assert_eq!(good.connections(), 1);

    // A failure names the service, redacted.
    let failing = Server::start(Reply::Status(403));
    let dir = tempfile::tempdir().unwrap();
    let run = run_child(dir.path(), &[("PGADGET_GEO_URL", &with_secrets(&failing))]);
    let lines = pgadget_lines(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(lines[0].contains("HTTP 403"), "{}", lines[0]);
    assert!(
        lines[0].contains("token=REDACTED") && lines[0].contains("REDACTED@127.0.0.1"),
        "{}",
        lines[0]
    );
    for secret in SECRETS {
        assert!(
            !run.stderr.contains(secret),
            "{secret} printed: {}",
            run.stderr
        );
    }
}

#[cfg(unix)]
#[test]
fn the_cache_file_and_its_directory_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let server = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    let dir = tempfile::tempdir().unwrap();
    // The usual umask (022) would give 0755 and 0644.
    run_child(
        dir.path(),
        &[("PGADGET_GEO_URL", server.url()), AFTER_THE_ANSWER],
    );
    assert_eq!(mode(&dir.path().join("cache")), 0o700);
    assert_eq!(mode(&cache_file(dir.path())), 0o600);
}

#[cfg(unix)]
#[test]
fn links_planted_in_the_cache_directory_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    std::fs::create_dir(&cache_dir).unwrap();
    let precious = dir.path().join("precious");
    std::fs::write(&precious, "keep me\n").unwrap();
    // Where earlier versions wrote their temporary file, and the cache file's own name.
    let old_tmp = cache_dir.join(format!("country.json.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&precious, &old_tmp).unwrap();
    std::os::unix::fs::symlink(&precious, cache_dir.join("country.json")).unwrap();
    cache::save(
        &cache_dir,
        &cache::CachedCountry::new("FR", "http://127.0.0.1:9/json"),
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me\n");
    // The link at the cache's name was replaced by the file, not written through.
    let meta = std::fs::symlink_metadata(cache_dir.join("country.json")).unwrap();
    assert!(meta.file_type().is_file());
    assert!(std::fs::symlink_metadata(&old_tmp)
        .unwrap()
        .file_type()
        .is_symlink());
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
fn an_unclear_offline_value_stays_offline_and_says_so() {
    let server = Server::start(Reply::Json(r#"{"country": "FR"}"#));
    for value in ["y", "enabled", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let run = run_child(
            dir.path(),
            &[
                ("PGADGET_GEO_URL", server.url()),
                ("PGADGET_OFFLINE", value),
            ],
        );
        assert_world_average(&run.rows[0]);
        let lines = pgadget_lines(&run.stderr);
        assert_eq!(lines.len(), 1, "{}", run.stderr);
        assert!(
            lines[0].contains(&format!("PGADGET_OFFLINE=\"{value}\""))
                && lines[0].contains("staying offline"),
            "{}",
            lines[0]
        );
    }
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
