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

#[test]
fn an_unwritable_log_is_reported_and_the_commands_status_still_passes_through() {
    let dir = tempfile::tempdir().unwrap();
    // No directory can be made under a regular file.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let log = blocker.join("run.csv");
    let out = pgadget_run(&log, &["--", "sh", "-c", "echo still-runs; exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stdout(&out), "still-runs\n");
    let err = stderr(&out);
    assert_eq!(
        err.matches("cannot write the power log").count(),
        1,
        "{err}"
    );
    assert!(err.contains(&log.display().to_string()), "{err}");
}

#[test]
fn a_foreign_log_is_moved_aside_and_the_row_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.csv");
    std::fs::write(&log, "when,what\n2020-01-01,something else\n").unwrap();
    let out = pgadget_run(&log, &["--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("moved to"), "{}", stderr(&out));
    assert_eq!(rows(&log).len(), 1);
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("run.foreign-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let kept = std::fs::read_to_string(dir.path().join(&aside[0])).unwrap();
    assert_eq!(kept, "when,what\n2020-01-01,something else\n");
}

/// Sends `signal` to a real `pgadget run -- sleep 30` once its command runs, and checks that
/// the command is ended and waited for, its row logged, and pgadget's exit status 128 + N.
#[cfg(target_os = "linux")]
fn signal_reaches_the_command(signal: libc::c_int, status: &str, code: i32) {
    use pgadget_test_support::process::{children_of, name_of, wait_or_kill, wait_until, Process};
    use std::process::Stdio;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.csv");
    let mut pgadget = pgadget()
        .args(["run", "--", "sleep", "30"])
        .env("PGADGET_LOG", &log)
        .env("PGADGET_SOURCES", "estimate")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the pgadget binary runs");
    // The command is started after pgadget has taken the signals over.
    let sleep = wait_until(Duration::from_secs(30), "pgadget starts `sleep 30`", || {
        children_of(pgadget.id())
            .into_iter()
            .find(|&pid| name_of(pid).as_deref() == Some("sleep"))
            .and_then(Process::of)
    });
    let pid = libc::pid_t::try_from(pgadget.id()).unwrap();
    // SAFETY: kill touches no memory; `pid` is our child, not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let ended = wait_or_kill(
        &mut pgadget,
        Duration::from_secs(20),
        "pgadget after the signal",
    );
    let still_running = sleep.is_running();
    sleep.kill();
    assert!(!still_running, "the command was left running");
    assert_eq!(ended.code(), Some(code), "exit status 128 + {signal}");
    let rows = rows(&log);
    assert_eq!(rows.len(), 1, "one row for the command");
    assert_eq!(rows[0].status, status);
    assert_eq!(rows[0].algorithm, "sleep");
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_is_passed_to_the_command_which_is_logged_and_exits_143() {
    signal_reaches_the_command(libc::SIGTERM, "signal 15", 143);
}

#[cfg(target_os = "linux")]
#[test]
fn sighup_is_passed_to_the_command_which_is_logged_and_exits_129() {
    signal_reaches_the_command(libc::SIGHUP, "signal 1", 129);
}
