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
fn missing_and_malformed_logs_are_errors_naming_the_file() {
    fails_on_missing_and_malformed_logs(&["show"]);
}
