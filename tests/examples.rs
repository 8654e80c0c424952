//! The examples run as a user would run them, each writing to its own log.

use std::path::PathBuf;
use std::process::Command;

/// `cargo test` builds the examples next to the test binaries' directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile directory");
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn run(name: &str, args: &[&str], log: &std::path::Path) -> String {
    let out = Command::new(example(name))
        .args(args)
        .env("PGADGET_LOG", log)
        .env("PGADGET_OFFLINE", "1")
        .env_remove("PGADGET_DISABLE")
        .output()
        .unwrap_or_else(|e| panic!("run example {name} ({}): {e}", example(name).display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn every_example_runs_and_logs_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");

    let out = run("random_forest", &[], &log);
    assert!(out.contains("test accuracy"), "{out}");
    assert!(out.contains("RandomForest"), "{out}");
    assert_eq!(pgadget::get_logged_data(&log).unwrap().len(), 1);

    run("decision_tree", &[], &log);
    run("async_fn", &[], &log);
    run("closure", &[], &log);
    let rows = pgadget::get_logged_data(&log).unwrap();
    let count = |algo: &str| rows.iter().filter(|r| r.algorithm == algo).count();
    assert_eq!(count("DecisionTree"), 4);
    assert_eq!(count("chunked_sum"), 4);
    assert_eq!(count("sieve") + count("sort"), 2);
    assert_eq!(
        rows[0].data_shape, "[120, 4]",
        "iris: 80% of 150 rows, 4 features"
    );

    let total: f64 = rows.iter().map(|r| r.total_mwh()).sum();
    let out = run("read_log", &[log.to_str().unwrap()], &log);
    assert!(out.contains(&format!("{} rows", rows.len())), "{out}");
    assert!(out.contains(&format!("{total:.4} mWh")), "{out}");
}
