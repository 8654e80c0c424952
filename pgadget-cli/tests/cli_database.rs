//! The command line and the PostgreSQL table: `pgadget push`, and `show`, `summary`, `plot`
//! reading the table with `--database-url`, against a real server of the test's own.

mod cli_common;

use chrono::{Local, TimeZone};
use cli_common::*;
use pgadget_runtime::log::RecordRef;
use pgadget_test_support::logs;
use pgadget_test_support::pg::{PgServer, PASSWORD};
use std::path::Path;

/// A row as a machine of the team would have written it, as a line of the log.
fn row(i: u32, host: &str, project: &str, algorithm: &str) -> String {
    let params = format!("trees={i}, \"depth\"=3");
    let comments = format!("run {i}\nsecond line");
    let function = format!("demo::{}", algorithm.to_lowercase());
    let row_id = format!("5b1f0c2e-93aa-8d41-8000-{i:012}");
    let record = RecordRef {
        // In the local zone, as the meter writes them (the table gives times back in it).
        datetime: Local
            .with_ymd_and_hms(2026, 11, 25, 9, 0, i)
            .single()
            .unwrap()
            .fixed_offset(),
        user: "ada",
        iso: "FR",
        country: "France",
        platform: "linux",
        project,
        elapsed_secs: 0.5 + f64::from(i),
        gpu_elapsed_secs: 0.0,
        package_mwh: Some(1.25 * f64::from(i + 1)),
        cores_mwh: Some(0.5),
        gpu_mwh: None,
        dram_mwh: i.is_multiple_of(2).then_some(0.125),
        pue: 1.58,
        co2_g: Some(0.01 * f64::from(i)),
        package: "linfa",
        algorithm,
        algorithm_params: &params,
        data_type: "tabular",
        data_shape: "[150, 4]",
        comments: &comments,
        function: &function,
        energy_source: "powercap",
        process_cpu_secs: Some(0.25),
        status: "ok",
        cpu_share: Some(0.5),
        energy_note: "",
        row_id: &row_id,
        host,
    };
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.serialize(record).unwrap();
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// A team's log: rows `range` of 12 from two hosts, two projects, two algorithms.
fn team_log(path: &Path, range: std::ops::Range<u32>) {
    let mut text = logs::header();
    for i in range {
        let host = if i.is_multiple_of(3) {
            "lab-1"
        } else {
            "lab-2"
        };
        let project = if i < 6 { "iris" } else { "digits" };
        let algorithm = if i.is_multiple_of(2) {
            "KMeans"
        } else {
            "RandomForest"
        };
        text.push_str(&row(i, host, project, algorithm));
    }
    std::fs::write(path, text).unwrap();
}

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    stdout(&out)
}

fn push(log: &Path, url: &str) -> String {
    ok(run(&[
        "push",
        "--log",
        log.to_str().unwrap(),
        "--database-url",
        url,
    ]))
}

#[test]
#[cfg_attr(
    not(pgadget_test_postgresql),
    ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
)]
fn push_uploads_what_the_table_lacks_and_is_idempotent() {
    let pg = PgServer::start("push_uploads_what_the_table_lacks_and_is_idempotent");
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.csv");
    let whole = dir.path().join("whole.csv");
    team_log(&first, 0..4);
    team_log(&whole, 0..12);
    let url = pg.url();
    let said = push(&first, &url);
    assert!(said.contains("4 rows read"), "{said}");
    assert!(said.contains("4 added to pgadget_rows"), "{said}");
    // The whole log: only what the table lacks is added.
    let said = push(&whole, &url);
    assert!(said.contains("12 rows read"), "{said}");
    assert!(said.contains("8 added"), "{said}");
    assert!(said.contains("4 already there"), "{said}");
    assert!(!said.contains(PASSWORD), "{said}");
    // Again: nothing is added twice.
    let said = push(&whole, &url);
    assert!(
        said.contains("0 added") && said.contains("12 already there"),
        "{said}"
    );
    let mut expected: Vec<String> = rows(&whole).into_iter().map(|r| r.row_id).collect();
    expected.sort();
    assert_eq!(pg.row_ids(), expected);
    // PGADGET_DATABASE_URL stands in for the option.
    let out = pgadget()
        .args(["push", "--log", whole.to_str().unwrap()])
        .env("PGADGET_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(ok(out).contains("12 already there"));
}

#[test]
#[cfg_attr(
    not(pgadget_test_postgresql),
    ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
)]
fn show_summary_and_plot_read_the_table_as_they_read_the_log() {
    let pg = PgServer::start("show_summary_and_plot_read_the_table_as_they_read_the_log");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("team.csv");
    team_log(&log, 0..12);
    let url = pg.url();
    push(&log, &url);
    let log = log.to_str().unwrap();
    for args in [
        &["show", "--csv"][..],
        &["show", "--json", "--host", "lab-1"],
        &["show", "--last", "3"],
        &[
            "show",
            "--csv",
            "--project",
            "digits",
            "--algorithm",
            "KMeans",
        ],
        &["show", "--csv", "--since", "2026-11-25T09:00:05+00:00"],
        &["summary", "--by", "algorithm"],
        &["summary", "--by", "project", "--csv"],
        &["summary", "--by", "day", "--json", "--host", "lab-2"],
        &["summary", "--by", "function", "--last", "5"],
    ] {
        let from_log = ok(run(&[args, &["--log", log]].concat()));
        let from_table = ok(run(&[args, &["--database-url", &url]].concat()));
        assert!(!from_log.trim().is_empty(), "{args:?} printed nothing");
        assert_eq!(from_table, from_log, "{args:?}");
    }
    // --host keeps the rows of one machine.
    let lab1 = ok(run(&[
        "show",
        "--csv",
        "--host",
        "lab-1",
        "--database-url",
        &url,
    ]));
    assert_eq!(lab1.matches(",lab-1\n").count(), 4, "{lab1}");
    assert!(!lab1.contains("lab-2"), "{lab1}");
    // PGADGET_DATABASE_URL stands in for the option; --log still names a file.
    let out = pgadget()
        .args(["summary", "--by", "algorithm", "--csv"])
        .env("PGADGET_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(
        ok(out),
        ok(run(&[
            "summary",
            "--by",
            "algorithm",
            "--csv",
            "--log",
            log
        ]))
    );
    // plot draws the same bars and says where they come from, without the password.
    let svg = dir.path().join("plot.svg");
    ok(run(&[
        "plot",
        "--by",
        "algorithm",
        "-o",
        svg.to_str().unwrap(),
        "--database-url",
        &url,
    ]));
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.contains("12 calls from the table pgadget_rows at postgres://pgadget:***@"));
    assert!(!drawn.contains(PASSWORD));
}

#[test]
#[cfg_attr(
    not(pgadget_test_postgresql),
    ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
)]
fn an_empty_or_missing_table_and_an_unreachable_database_are_explained() {
    let pg = PgServer::start("an_empty_or_missing_table_and_an_unreachable_database_are_explained");
    let url = pg.url();
    let out = run(&["show", "--database-url", &url]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("there is no table pgadget_rows at postgres://pgadget:***@"),
        "{}",
        stderr(&out)
    );
    // Filters that keep nothing are told apart from an empty table.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("team.csv");
    team_log(&log, 0..3);
    push(&log, &url);
    let out = run(&["show", "--host", "nowhere", "--database-url", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("none of the 3 rows of the table pgadget_rows"),
        "{}",
        stderr(&out)
    );
    pg.stop();
    let out = run(&["summary", "--database-url", &url]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be reached"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(PASSWORD), "{}", stderr(&out));
    let out = run(&[
        "push",
        "--log",
        log.to_str().unwrap(),
        "--database-url",
        &url,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be reached"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn push_without_a_database_says_how_to_name_one() {
    let out = run(&["push"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--database-url URL or PGADGET_DATABASE_URL"),
        "{}",
        stderr(&out)
    );
}
