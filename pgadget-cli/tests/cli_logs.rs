//! Logs pgadget did not write (PyPowerGadget's, an earlier pgadget's) and paths that are not
//! logs, through the real binary.

mod cli_common;

use cli_common::*;
use pgadget_runtime::log::HEADER;
use pgadget_test_support::logs::{self, PYPOWERGADGET_LOG};

#[test]
fn a_pypowergadget_log_is_shown_summarised_and_plotted() {
    let dir = tempfile::tempdir().unwrap();
    let log = logs::write(dir.path(), "power_logs.csv", PYPOWERGADGET_LOG);
    let log_s = log.to_str().unwrap();
    // Its Datetime has no offset: it is local time where the log is read, here Paris.
    let out = pgadget()
        .args(["show", "--json", "--log", log_s])
        .env("TZ", "Europe/Paris")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["Datetime"], "2020-03-04T17:53:36.289029+01:00");
    assert_eq!(rows[0]["Platform"], "darwin");
    assert_eq!(rows[0]["Data shape"], "(7000, 64)");
    assert_eq!(rows[0]["Cumulative Package Energy (mWh)"], 23.081851);
    // Columns the seed did not have: empty or null, never made up.
    assert_eq!(rows[0]["Energy Source"], "");
    assert!(rows[0]["Process CPU Time (sec)"].is_null());
    assert_eq!(rows[0]["Status"], "");

    let out = run(&["show", "--log", log_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("Sklearn/MLPClassifier") && table.contains("Pytorch/ResNet121"));

    let out = run(&["summary", "--json", "--by", "package", "--log", log_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let groups: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Pytorch", "Sklearn"], "most energy first");
    // Package 27.315876 + DRAM 2.562374 (IA is part of the package; GPU 0).
    let energy = groups[0]["energy_mwh"].as_f64().unwrap();
    assert!((energy - 29.87825).abs() < 1e-9, "{energy}");
    assert_eq!(groups[1]["co2_g"], 0.0013);

    let out = run(&["plot", "-o", "-", "--log", log_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    roxmltree::Document::parse(&stdout(&out)).expect("an SVG");
}

#[test]
fn an_earlier_pgadget_log_moved_aside_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let old = &HEADER[..25];
    let text = logs::earlier_header()
        + &logs::row_in(old, &[("Algorithm", "KMeans")])
        + &logs::row_in(old, &[("Algorithm", "KMeans")])
        + &logs::row_in(old, &[("Algorithm", "SVM")]);
    let log = logs::write(dir.path(), "power_logs.foreign-20260101T000000.csv", &text);
    let out = run(&["summary", "--json", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let groups: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let calls: Vec<(&str, u64)> = groups
        .iter()
        .map(|g| (g["group"].as_str().unwrap(), g["calls"].as_u64().unwrap()))
        .collect();
    assert_eq!(calls, [("KMeans", 2), ("SVM", 1)]);
    let out = run(&["show", "--csv", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().next(),
        Some(logs::header().trim_end()),
        "--csv writes the current header"
    );
}

#[test]
fn a_directory_as_the_log_is_called_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    for command in [&["show"][..], &["summary"], &["plot", "-o", "-"]] {
        let mut args = command.to_vec();
        args.extend(["--log", dir.path().to_str().unwrap()]);
        let out = run(&args);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("it is a directory"), "{command:?}: {err}");
        assert!(!err.contains("malformed"), "{command:?}: {err}");
    }
}

#[test]
fn a_path_through_a_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = logs::write(dir.path(), "results", "not a directory");
    let log = file.join("power_logs.csv");
    let expected = format!("{} is a file, not a directory", file.display());

    let out = run(&["show", "--log", log.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));

    // Writing: `pgadget run` cannot create the log's directory, and says why.
    let out = pgadget()
        .args(["run", "--log", log.to_str().unwrap(), "--", "true"])
        .env("PGADGET_SOURCES", "estimate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    assert!(!stderr(&out).contains("File exists"), "{}", stderr(&out));
}

#[test]
fn a_file_that_is_not_a_log_says_what_a_log_starts_with() {
    let dir = tempfile::tempdir().unwrap();
    let log = logs::write(dir.path(), "other.csv", "when,what\n2020-01-01,something\n");
    let out = run(&["summary", "--log", log.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("is not a pgadget log: its header is `when,what`"),
        "{err}"
    );
    assert!(err.contains("Datetime,User ID,ISO"), "{err}");
}
