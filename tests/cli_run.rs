//! `pgadget run -- COMMAND`: one row per command, its exit status passed through.

mod cli_common;

use cli_common::*;
use std::path::Path;
use std::process::Output;

fn pgadget_run(log: &Path, args: &[&str]) -> Output {
    pgadget()
        .arg("run")
        .args(args)
        .env("PGADGET_LOG", log)
        .env("PGADGET_SOURCES", "estimate")
        .output()
        .expect("the pgadget binary runs")
}

#[test]
fn a_failing_command_logs_its_exit_status_and_passes_it_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.csv");
    let out = pgadget_run(&log, &["--", "sh", "-c", "echo passed-through; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "passed-through\n");
    let rows = rows(&log);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.status, "exit 3");
    assert_eq!(
        row.algorithm, "sh",
        "the algorithm defaults to the command's name"
    );
    assert_eq!(row.package, "command");
    assert_eq!(row.algorithm_params, "-c echo passed-through; exit 3");
    assert_eq!(row.energy_source, "estimate");
}

#[test]
fn a_successful_command_logs_ok_with_the_given_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.csv");
    let out = pgadget_run(
        &log,
        &[
            "--package",
            "linfa",
            "--algorithm",
            "RandomForest",
            "--data-type",
            "tabular",
            "--project",
            "iris",
            "--",
            "true",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = rows(&log);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.package.as_str(),
            row.algorithm.as_str(),
            row.data_type.as_str()
        ),
        ("linfa", "RandomForest", "tabular")
    );
    assert_eq!(row.project, "iris");
    assert_eq!(row.status, "ok");
}

#[test]
fn a_command_killed_by_a_signal_is_logged_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.csv");
    let out = pgadget_run(&log, &["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(128 + 15), "as a shell reports it");
    assert_eq!(rows(&log)[0].status, "signal 15");
}

#[test]
fn a_command_that_cannot_start_exits_127_and_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.csv");
    let out = pgadget_run(&log, &["--", "pgadget-test-no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("cannot start `pgadget-test-no-such-command`"),
        "{}",
        stderr(&out)
    );
    assert!(!log.exists(), "no row for a command that never ran");
}

#[test]
fn the_rows_accumulate_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.csv");
    for code in ["0", "1", "2"] {
        let out = pgadget_run(&log, &["--", "sh", "-c", &format!("exit {code}")]);
        assert_eq!(out.status.code(), Some(code.parse().unwrap()));
    }
    let statuses: Vec<String> = rows(&log).into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["ok", "exit 1", "exit 2"]);
}
