//! Shared by the `cli_*` tests: a log written by the real library, and the real binary.

#![allow(dead_code, unused_imports)] // each test crate uses its own part of this module

use pgadget_runtime::{read_log, Metadata, Record};
use pgadget_test_support::child::clean_command;
use pgadget_test_support::cpu::burn_cpu;
use pgadget_test_support::meter::estimate_meter;
pub use pgadget_test_support::{stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// What the sample log holds, oldest first: (project, package, algorithm).
pub const ROWS: [(&str, &str, &str); 5] = [
    ("iris", "linfa", "RandomForest"),
    ("iris", "linfa", "KMeans"),
    ("digits", "smartcore", "SVM"),
    ("iris", "linfa", "RandomForest"),
    ("digits", "linfa", "RandomForest"),
];

/// Burns a little CPU so that the estimate gives the row some energy.
fn work() {
    burn_cpu(Duration::from_millis(3));
}

/// Writes the rows of [`ROWS`] to `dir/power_logs.csv` with a real meter; returns the path.
pub fn sample_log(dir: &Path) -> PathBuf {
    let log = dir.join("power_logs.csv");
    let meter = estimate_meter(&log);
    for (project, package, algorithm) in ROWS {
        let meta = Metadata::new(package, algorithm)
            .project_name(project)
            .function(format!("demo::{}", algorithm.to_lowercase()));
        meter.measure_power(meta, work);
    }
    log
}

/// The rows of `log`, as the library reads them.
pub fn rows(log: &Path) -> Vec<Record> {
    read_log(log).expect("the log reads back").records
}

/// The `pgadget` binary, with no `PGADGET_*` variable inherited from the test's environment.
pub fn pgadget() -> Command {
    let mut cmd = clean_command(env!("CARGO_BIN_EXE_pgadget"));
    cmd.env("PGADGET_OFFLINE", "1");
    cmd
}

/// Runs `pgadget args...`.
pub fn run(args: &[&str]) -> Output {
    pgadget()
        .args(args)
        .output()
        .expect("the pgadget binary runs")
}

/// A log whose line 4 is not a valid row (lines 1-3: header and two good rows).
pub fn malformed_log(dir: &Path) -> PathBuf {
    let log = dir.join("broken.csv");
    let meter = estimate_meter(&log);
    for _ in 0..2 {
        meter.measure_power(Metadata::new("linfa", "KMeans"), work);
    }
    let mut text = std::fs::read_to_string(&log).expect("the log was written");
    assert_eq!(text.lines().count(), 3, "header and two rows:\n{text}");
    // As many cells as the header, so not a torn row, with a date that is not one.
    text.push_str(
        "yesterday,ada,,,linux,p,1,0,1,,,,1.58,,linfa,KMeans,,tabular,,,,estimate,1,ok,,,,\n",
    );
    std::fs::write(&log, text).expect("the log can be rewritten");
    log
}

/// Asserts that `args` fail on a missing log with a message naming it; that on a log with a
/// malformed row they succeed, warning about the row by file and line; and that with
/// `--strict` that row is an error naming its file and line. Returns the lenient run's output.
pub fn fails_on_missing_logs_and_skips_malformed_rows(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("a temp dir");
    let missing = dir.path().join("no-such-log.csv");
    let missing_s = missing.to_string_lossy().into_owned();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--log", &missing_s]);
    let out = run(&full);
    assert!(!out.status.success(), "{args:?} on a missing log succeeded");
    assert!(
        stderr(&out).contains(&missing_s),
        "the error names the missing log: {}",
        stderr(&out)
    );

    let broken = malformed_log(dir.path());
    let broken_s = broken.to_string_lossy().into_owned();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--log", &broken_s]);
    let lenient = run(&full);
    assert!(
        lenient.status.success(),
        "{args:?} stopped at one malformed row: {}",
        stderr(&lenient)
    );
    assert!(
        stderr(&lenient).contains(&format!("{broken_s}:4: skipped a malformed row")),
        "the warning names file:line: {}",
        stderr(&lenient)
    );

    full.push("--strict");
    let out = run(&full);
    assert!(
        !out.status.success(),
        "{args:?} --strict on a malformed log succeeded"
    );
    assert!(
        stderr(&out).contains(&format!("{broken_s}:4: malformed row")),
        "the error names file:line: {}",
        stderr(&out)
    );
    lenient
}

/// Runs `pgadget args...`, failing the test (and killing pgadget) if it has not ended after
/// `limit`: for inputs that once made a command loop forever.
#[cfg(target_os = "linux")]
pub fn run_bounded(args: &[&str], limit: Duration) -> Output {
    use pgadget_test_support::process::wait_or_kill;
    use std::io::Read;
    use std::process::Stdio;
    let mut child = pgadget()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the pgadget binary runs");
    // Read the pipes on threads, so that a large output cannot block the child.
    let mut out_pipe = child.stdout.take().expect("a stdout pipe");
    let mut err_pipe = child.stderr.take().expect("a stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = wait_or_kill(&mut child, limit, &format!("pgadget {args:?}"));
    Output {
        status,
        stdout: out_reader.join().expect("the stdout reader"),
        stderr: err_reader.join().expect("the stderr reader"),
    }
}
