//! `pgadget show` on a log written by the library.

mod cli_common;

use cli_common::*;
use pgadget_runtime::log::read::read_log_from;
use std::path::Path;

#[test]
fn the_table_holds_every_row_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = run(&["show", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for title in [
        "Datetime",
        "Project",
        "Algorithm",
        "Total",
        "(mWh)",
        "Source",
        "Status",
    ] {
        assert!(table.contains(title), "no {title} column:\n{table}");
    }
    // One line per row, in the log's order (each row names its package/algorithm).
    let lines: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("linfa/") || l.contains("smartcore/"))
        .collect();
    assert_eq!(lines.len(), ROWS.len(), "{table}");
    for (line, (project, package, algorithm)) in lines.iter().zip(ROWS) {
        assert!(line.contains(&format!("{package}/{algorithm}")), "{line}");
        assert!(line.contains(project), "{line}");
        assert!(line.contains("estimate") && line.contains("ok"), "{line}");
    }
}

#[test]
fn csv_output_is_the_log_itself() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = run(&["show", "--csv", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let header = std::fs::read_to_string(&log).unwrap();
    let header = header.lines().next().unwrap();
    assert_eq!(stdout(&out).lines().next(), Some(header));
    let back = read_log_from(&out.stdout[..], Path::new("<stdout>")).expect("valid log CSV");
    assert!(back.warnings.is_empty());
    assert_eq!(
        back.records,
        rows(&log),
        "every cell survives the round trip"
    );
}

#[test]
fn json_output_is_an_array_of_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = run(&["show", "--json", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let array = json.as_array().expect("an array");
    assert_eq!(array.len(), ROWS.len());
    for (object, (project, _, algorithm)) in array.iter().zip(ROWS) {
        assert_eq!(object["Project name"], project);
        assert_eq!(object["Algorithm"], algorithm);
        assert_eq!(object["Energy Source"], "estimate");
        assert!(object["Cumulative Package Energy (mWh)"].as_f64().unwrap() > 0.0);
        // Not measured is null, not a made-up 0.
        assert!(object["Cumulative DRAM Energy (mWh)"].is_null());
    }
}

#[test]
fn filters_select_rows_and_last_keeps_the_most_recent() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let all = rows(&log);
    let json = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut full = vec!["show", "--json", "--log", log.to_str().unwrap()];
        full.extend(args);
        let out = run(&full);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let digits = json(&["--project", "digits"]);
    assert_eq!(digits.len(), 2);
    assert!(digits.iter().all(|r| r["Project name"] == "digits"));

    let last2 = json(&["--last", "2"]);
    let expected: Vec<String> = all[3..].iter().map(|r| r.datetime.to_rfc3339()).collect();
    let got: Vec<String> = last2
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(r["Datetime"].as_str().unwrap())
                .unwrap()
                .to_rfc3339()
        })
        .collect();
    assert_eq!(got, expected);

    let forest_iris = json(&[
        "--project",
        "iris",
        "--algorithm",
        "RandomForest",
        "--last",
        "1",
    ]);
    assert_eq!(forest_iris.len(), 1);
    assert_eq!(forest_iris[0]["Algorithm"], "RandomForest");

    // Every row opened after the first one: --since that instant (inclusive) keeps them all.
    let since = all[0].datetime.to_rfc3339();
    assert_eq!(json(&["--since", &since]).len(), ROWS.len());
    assert_eq!(json(&["--since", "2999-01-01"]).len(), 0);
}

#[test]
fn the_default_log_is_pgadget_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = pgadget()
        .args(["show", "--json"])
        .env("PGADGET_LOG", &log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.len(), ROWS.len());
}

#[test]
fn a_missing_log_is_an_error_and_a_malformed_row_is_skipped_unless_strict() {
    let out = fails_on_missing_logs_and_skips_malformed_rows(&["show", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2, "the two good rows are shown");
}

/// Text that drives a terminal: set the window title (OSC 0, ended by BEL), clear the screen.
const TITLE: &str = "\u{1b}]0;pwned\u{7}";
const CLEAR: &str = "\u{1b}[2J";

fn hostile_log(dir: &Path) -> std::path::PathBuf {
    use pgadget_test_support::logs::{self, row};
    let text = logs::header()
        + &row(&[
            ("Project name", &format!("iris{TITLE}")),
            ("Algorithm", &format!("forest{CLEAR}")),
            ("Comment", &format!("{TITLE}{CLEAR}")),
            ("Function", "demo::fit\r\nfake line"),
        ])
        + &row(&[("Datetime", &format!("{CLEAR}yesterday"))]);
    logs::write(dir, "power_logs.csv", &text)
}

/// Asserts that `bytes` hold no control character but newlines.
fn no_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what} holds {bad:?}:\n{text}");
}

#[test]
fn escape_sequences_in_the_log_are_shown_escaped_never_sent_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let log = hostile_log(dir.path());
    let log_s = log.to_str().unwrap();

    let out = run(&["show", "--log", log_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    no_controls("the table", &out.stdout);
    no_controls("stderr", &out.stderr);
    let table = stdout(&out);
    assert!(table.contains("\\u{1b}]0;pwned\\u{7}"), "{table}");
    assert!(table.contains("\\u{1b}[2J"), "{table}");
    assert!(table.contains("demo::fit\\r\\nfake line"), "{table}");
    // The malformed row's warning quotes its Datetime, escaped.
    // (The first row spans lines 2 and 3: its Function holds a line break.)
    assert!(
        stderr(&out).contains(":4: skipped a malformed row"),
        "{}",
        stderr(&out)
    );

    for by in ["project", "algorithm", "function"] {
        let out = run(&["summary", "--by", by, "--log", log_s]);
        assert!(out.status.success(), "{}", stderr(&out));
        no_controls("the summary table", &out.stdout);
        no_controls("stderr", &out.stderr);
    }
    let out = run(&["show", "--strict", "--log", log_s]);
    assert!(!out.status.success());
    no_controls("the --strict error", &out.stderr);

    // The SVG has the text escaped too: control characters are not even valid XML.
    let out = run(&["plot", "--by", "project", "-o", "-", "--log", log_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    roxmltree::Document::parse(&stdout(&out)).expect("a well-formed SVG");
}

#[test]
fn csv_and_json_keep_the_cells_exactly_as_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = hostile_log(dir.path());
    let out = run(&["show", "--csv", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let back = read_log_from(&out.stdout[..], Path::new("<stdout>")).unwrap();
    assert_eq!(back.records, rows(&log));
    assert_eq!(back.records[0].project, format!("iris{TITLE}"));

    let out = run(&["show", "--json", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // JSON escapes control characters itself.
    no_controls("the JSON", &out.stdout);
    let json: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["Comment"], format!("{TITLE}{CLEAR}"));
}

#[test]
fn a_long_table_is_printed_in_pages_that_line_up_as_one() {
    use pgadget_test_support::logs::{self, row};
    let dir = tempfile::tempdir().unwrap();
    let mut text = logs::header();
    for i in 0..1000 {
        // A longer name far down the log sets the width of the whole column.
        let project = if i == 900 {
            "a-much-longer-project-name"
        } else {
            "iris"
        };
        text += &row(&[
            ("Project name", project),
            ("Algorithm", &format!("algo{i}")),
        ]);
    }
    let log = logs::write(dir.path(), "power_logs.csv", &text);
    let out = run(&["show", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    let width = lines[0].chars().count();
    assert!(
        lines.iter().all(|l| l.chars().count() == width),
        "every line as wide as the first"
    );
    assert!(
        table.contains("a-much-longer-project-name"),
        "not wrapped when piped"
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with('┌')).count(), 1);
    assert_eq!(lines.iter().filter(|l| l.starts_with('└')).count(), 1);
    assert_eq!(lines.iter().filter(|l| l.contains("Datetime")).count(), 1);
    let rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("/algo"))
        .collect();
    assert_eq!(rows.len(), 1000);
    assert!(rows[0].contains("linfa/algo0 ") && rows[999].contains("linfa/algo999 "));
}

/// `pgadget show ARGS --log FIFO`, its stdout read on a thread: the test writes the log into
/// the FIFO itself, so it can check what pgadget printed before the log ended.
#[cfg(target_os = "linux")]
fn show_from_fifo(
    dir: &Path,
    args: &[&str],
) -> (
    std::process::Child,
    std::fs::File,
    std::sync::mpsc::Receiver<Vec<u8>>,
) {
    use std::io::Read;
    let fifo = dir.join("log.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let mut child = pgadget()
        .arg("show")
        .args(args)
        .arg("--log")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Opening blocks until pgadget opens the other end.
    let writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || send.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    (child, writer, receive)
}

#[cfg(target_os = "linux")]
#[test]
fn rows_are_printed_while_the_log_is_still_being_read() {
    use pgadget_test_support::logs::{self, row};
    use pgadget_test_support::process::wait_or_kill;
    use std::io::Write;
    use std::time::{Duration, Instant};
    for (args, marker) in [
        (&["--csv"][..], "first-part"),
        (&["--json"][..], "first-part"),
        (&[][..], "first-part"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, mut writer, output) = show_from_fifo(dir.path(), args);
        // More than any output buffer and than a page of the table.
        let mut first = logs::header();
        for _ in 0..600 {
            first += &row(&[("Algorithm", "first-part")]);
        }
        writer.write_all(first.as_bytes()).unwrap();
        writer.flush().unwrap();
        // The log is not finished (the FIFO is open): rows must arrive all the same.
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !String::from_utf8_lossy(&seen).contains(marker) {
            let left = deadline.saturating_duration_since(Instant::now());
            match output.recv_timeout(left) {
                Ok(chunk) => seen.extend(chunk),
                Err(_) => {
                    let _ = child.kill();
                    panic!("show {args:?} printed no row before the log ended");
                }
            }
        }
        writer
            // No wider than the first rows: from a pipe, the first page sets the widths.
            .write_all(row(&[("Algorithm", "last-part")]).as_bytes())
            .unwrap();
        drop(writer);
        let status = wait_or_kill(&mut child, Duration::from_secs(60), "pgadget show");
        assert!(status.success());
        while let Ok(chunk) = output.recv_timeout(Duration::from_secs(10)) {
            seen.extend(chunk);
        }
        let text = String::from_utf8_lossy(&seen);
        assert_eq!(text.matches("first-part").count(), 600, "{args:?}");
        assert_eq!(text.matches("last-part").count(), 1, "{args:?}");
    }
}

#[test]
fn the_table_with_last_n_holds_the_last_n_rows_written() {
    use pgadget_test_support::logs::{self, row};
    let dir = tempfile::tempdir().unwrap();
    let mut text = logs::header();
    for i in 0..50 {
        text += &row(&[("Algorithm", &format!("algo{i}"))]);
    }
    let log = logs::write(dir.path(), "power_logs.csv", &text);
    let out = run(&["show", "--last", "3", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("/algo")).collect();
    assert_eq!(rows.len(), 3, "{table}");
    for (line, i) in rows.iter().zip(47..50) {
        assert!(line.contains(&format!("linfa/algo{i} ")), "{line}");
    }
}
