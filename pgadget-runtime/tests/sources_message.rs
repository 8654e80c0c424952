//! What a short-lived process without energy counters says on stderr: every reason the first
//! time on a machine, then one line pointing at `pgadget doctor`. The machine's memory of it is
//! a mark in the cache directory (`PGADGET_CACHE_DIR`).

use pgadget_runtime::{Metadata, PowerMeter};
use pgadget_test_support::child::{child_var, ChildTest};
use std::path::Path;

/// The body of the child process: a meter from the environment and one measured call.
#[test]
#[ignore = "run as a child process by the tests of this file"]
fn child_measures_once() {
    child_var("PGADGET_LOG");
    let meter = PowerMeter::builder()
        .build()
        .expect("meter from the environment");
    meter.measure_power(Metadata::new("sources-test", "noop"), || ());
}

/// Runs the child on a machine whose powercap tree is empty (so no counter can be read, on
/// any machine), caching in `cache`; returns its stderr lines.
fn run_child(dir: &Path, cache: &Path) -> Vec<String> {
    let empty = dir.join("powercap");
    std::fs::create_dir_all(&empty).unwrap();
    let out = ChildTest::new("child_measures_once")
        .env("PGADGET_LOG", dir.join("log.csv"))
        .env("PGADGET_CACHE_DIR", cache)
        .env("PGADGET_SOURCES", "powercap")
        .env("PGADGET_POWERCAP_ROOT", &empty)
        .env("PGADGET_OFFLINE", "1")
        .run();
    pgadget_test_support::stderr(&out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_reasons_are_explained_once_per_machine_then_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");

    let first = run_child(dir.path(), &cache);
    assert!(first.len() >= 4, "every reason the first time: {first:#?}");
    assert!(first[0].starts_with("pgadget: no energy counter could be read"));
    assert!(first.iter().any(|l| l.contains("- powercap")), "{first:#?}");
    assert!(
        first.last().unwrap().contains("pgadget doctor"),
        "{first:#?}"
    );

    for run in 0..2 {
        let later = run_child(dir.path(), &cache);
        assert_eq!(later.len(), 1, "run {run}: {later:#?}");
        assert!(
            later[0].starts_with("pgadget: no energy counter could be read")
                && later[0].contains("run `pgadget doctor`"),
            "{}",
            later[0]
        );
    }

    // Another machine (another cache directory) gets the full explanation again.
    let other = run_child(dir.path(), &dir.path().join("other-cache"));
    assert_eq!(other.len(), first.len(), "{other:#?}");
}
