//! Reading logs back: pgadget's of every version, PyPowerGadget's, and logs with rows that are
//! not measurements, through the real reader.

use chrono::{Local, NaiveDateTime, Offset, TimeZone};
use pgadget_runtime::log::read::{open_log_file, SkipKind};
use pgadget_runtime::log::{read_log, Entry, LogReader, ReadError, HEADER};
use pgadget_runtime::{get_logged_data, Metadata};
use pgadget_test_support::logs::{self, row, PYPOWERGADGET_LOG};
use pgadget_test_support::meter::estimate_meter;
use std::path::Path;

/// A log of the current version: the header, then `rows` (each a full line).
fn log_of(dir: &Path, rows: &[String]) -> std::path::PathBuf {
    logs::write(dir, "power_logs.csv", &(logs::header() + &rows.concat()))
}

#[test]
fn numbers_that_are_not_measurements_are_skipped_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        ("Cumulative Package Energy (mWh)", "inf"),
        ("Cumulative DRAM Energy (mWh)", "NaN"),
        ("CO2 emitted (gCO2e)", "-0.5"),
        ("Total Elapsed CPU Time (sec)", "1e308"),
        ("PUE", "-inf"),
        ("Process CPU Share", "infinity"),
    ];
    let mut rows = vec![row(&[])];
    rows.extend(bad.iter().map(|change| row(&[*change])));
    rows.push(row(&[("Algorithm", "last")]));
    let log = log_of(dir.path(), &rows);

    let contents = read_log(&log).expect("a log with bad rows still reads");
    let algorithms: Vec<&str> = contents
        .records
        .iter()
        .map(|r| r.algorithm.as_str())
        .collect();
    assert_eq!(
        algorithms,
        ["RandomForest", "last"],
        "the good rows, in order"
    );
    assert_eq!(
        contents.warnings.len(),
        bad.len(),
        "{:?}",
        contents.warnings
    );
    for (i, ((column, value), warning)) in bad.iter().zip(&contents.warnings).enumerate() {
        // Header on line 1, the good row on line 2.
        let line = i + 3;
        assert!(
            warning.contains(&format!("power_logs.csv:{line}: skipped a malformed row")),
            "{warning}"
        );
        assert!(warning.contains(column), "{warning}");
        assert!(warning.contains(&format!("\"{value}\"")), "{warning}");
    }
}

#[test]
fn read_strictly_a_malformed_row_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_of(
        dir.path(),
        &[row(&[]), row(&[("Datetime", "yesterday")]), row(&[])],
    );
    let err = LogReader::open(&log)
        .unwrap()
        .strict(true)
        .read_all()
        .unwrap_err();
    assert!(matches!(err, ReadError::BadRow { line: 3, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("power_logs.csv:3: malformed row"), "{text}");
    assert!(text.contains("\"yesterday\""), "{text}");
    // Leniently, the same log gives its two good rows.
    assert_eq!(get_logged_data(&log).unwrap().len(), 2);
}

#[test]
fn get_logged_data_skips_a_malformed_row_written_among_real_ones() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let meter = estimate_meter(&log);
    meter.measure_power(Metadata::new("t", "before"), || ());
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&vec!["not-a-number"; HEADER.len()].join(","));
    text.push('\n');
    std::fs::write(&log, &text).unwrap();
    meter.measure_power(Metadata::new("t", "after"), || ());

    let rows = get_logged_data(&log).expect("one bad row no longer stops the reading");
    let algorithms: Vec<&str> = rows.iter().map(|r| r.algorithm.as_str()).collect();
    assert_eq!(algorithms, ["before", "after"]);
}

#[test]
fn a_pypowergadget_log_reads_with_its_own_columns_and_the_rest_empty() {
    let dir = tempfile::tempdir().unwrap();
    let log = logs::write(dir.path(), "seed.csv", PYPOWERGADGET_LOG);
    let rows = get_logged_data(&log).expect("PyPowerGadget's log reads");
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    // No offset in the file: local time where the log is read, its digits kept.
    let naive = NaiveDateTime::parse_from_str("2020-03-04 17:53:36.289029", "%Y-%m-%d %H:%M:%S%.f")
        .unwrap();
    assert_eq!(first.datetime.naive_local(), naive);
    assert_eq!(
        first.datetime.offset().fix(),
        Local.from_local_datetime(&naive).unwrap().offset().fix()
    );
    assert_eq!(first.user, "martinchauvin");
    assert_eq!(first.platform, "darwin");
    assert_eq!(first.elapsed_secs, 10.087129);
    assert_eq!(first.package_mwh, Some(23.081851));
    assert_eq!(first.gpu_mwh, Some(0.0));
    assert_eq!(first.pue, 1.3);
    assert_eq!(first.co2_g, Some(0.0013));
    assert_eq!(first.algorithm, "MLPClassifier");
    assert_eq!(first.data_shape, "(7000, 64)");
    assert_eq!(
        rows[1].algorithm_params,
        " layers=(Conv(3x3), BatchNorm,...)"
    );
    // The columns PyPowerGadget did not have: empty, never made up.
    assert_eq!(first.function, "");
    assert_eq!(first.energy_source, "");
    assert_eq!(first.process_cpu_secs, None);
    assert_eq!(first.status, "");
    assert_eq!(first.cpu_share, None);
    assert_eq!(first.row_id, "");
    assert_eq!(first.host, "");
}

#[test]
fn an_earlier_pgadget_log_of_25_columns_reads() {
    let dir = tempfile::tempdir().unwrap();
    let old = &HEADER[..25];
    assert_eq!(old[24], "Process CPU Share");
    let text = logs::earlier_header()
        + &logs::row_in(old, &[("Algorithm", "KMeans")])
        + &logs::row_in(old, &[("Status", "panicked")]);
    let log = logs::write(dir.path(), "power_logs.foreign-20260101T000000.csv", &text);
    let contents = read_log(&log).unwrap();
    assert!(contents.warnings.is_empty(), "{:?}", contents.warnings);
    let rows = contents.records;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].algorithm, "KMeans");
    assert_eq!(rows[1].status, "panicked");
    assert_eq!(rows[0].process_cpu_secs, Some(1.4));
    assert_eq!(rows[0].cpu_share, Some(0.9));
    assert_eq!((rows[0].row_id.as_str(), rows[0].host.as_str()), ("", ""));
}

#[test]
fn columns_after_the_seeds_are_found_by_name_and_unknown_ones_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut header: Vec<&str> = HEADER[..20].to_vec();
    header.extend(["Host", "Added Later", "Status"]);
    // PyPowerGadget's first row, then the three cells of the later columns.
    let seed_row = PYPOWERGADGET_LOG.lines().nth(1).unwrap();
    let text = logs::line(&header) + seed_row + ",lab-7,whatever,ok\n";
    let log = logs::write(dir.path(), "reordered.csv", &text);
    let rows = get_logged_data(&log).unwrap();
    assert_eq!(rows[0].host, "lab-7");
    assert_eq!(rows[0].status, "ok");
    assert_eq!(rows[0].function, "");
}

#[test]
fn a_header_without_the_seeds_columns_is_not_a_log() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "when,what\n2020-01-01,something\n".to_string(),
        logs::line(&HEADER[..19]),
        // A column named twice is ambiguous.
        logs::line(&[&HEADER[..25], &["Host", "Host"]].concat()),
    ] {
        let log = logs::write(dir.path(), "other.csv", &text);
        let err = read_log(&log).unwrap_err();
        assert!(matches!(err, ReadError::NotALog { .. }), "{text}: {err}");
    }
}

#[test]
fn a_row_that_is_not_utf8_is_skipped_and_the_next_one_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = logs::header().into_bytes();
    bytes.extend(row(&[]).into_bytes());
    // A project name in Latin-1 (é is the single byte 0xE9): not UTF-8.
    let latin1 = row(&[("Project name", "PROJECT")]).replace("PROJECT", "caf?");
    bytes.extend(latin1.bytes().map(|b| if b == b'?' { 0xe9 } else { b }));
    bytes.extend(row(&[("Algorithm", "after")]).into_bytes());
    let log = dir.path().join("latin1.csv");
    std::fs::write(&log, bytes).unwrap();
    assert_eq!(
        entries(LogReader::open(&log).unwrap()),
        ["row RandomForest", "malformed at 3", "row after"]
    );
    let contents = read_log(&log).unwrap();
    assert_eq!(contents.records.len(), 2);
    assert_eq!(contents.records[1].algorithm, "after");
    assert_eq!(contents.warnings.len(), 1);
    assert!(
        contents.warnings[0].contains("latin1.csv:3:")
            && contents.warnings[0].contains("Project name is not UTF-8"),
        "{:?}",
        contents.warnings
    );
}

/// What a reader hands over, in order, one line each (`row ALGORITHM`, `torn at LINE`,
/// `malformed at LINE`); read inline and read ahead (on a thread of its own), which must agree,
/// down to the reasons.
fn entries(reader: LogReader<std::fs::File>) -> Vec<String> {
    let describe = |mut reader: LogReader<std::fs::File>| {
        let mut seen = Vec::new();
        while let Some(entry) = reader.next_entry().unwrap() {
            seen.push(match entry {
                Entry::Row(r) => (format!("row {}", r.algorithm), String::new()),
                Entry::Skipped(s) => match s.kind {
                    SkipKind::Torn { .. } => (format!("torn at {}", s.line), String::new()),
                    SkipKind::Malformed(reason) => (format!("malformed at {}", s.line), reason),
                    _ => (format!("skipped at {}", s.line), String::new()),
                },
            });
        }
        seen
    };
    let path = reader.path().to_path_buf();
    let inline = describe(reader);
    let ahead = describe(LogReader::open(&path).unwrap().read_ahead());
    assert_eq!(inline, ahead, "read ahead, the same entries");
    inline.into_iter().map(|(what, _)| what).collect()
}

#[test]
fn the_reader_hands_rows_and_skipped_rows_over_one_at_a_time_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let torn = row(&[("Algorithm", "torn")]);
    let torn = &torn[..torn.len() / 2];
    let log = log_of(
        dir.path(),
        &[
            row(&[("Algorithm", "a")]),
            format!("{torn}\n"),
            row(&[("PUE", "NaN")]),
            row(&[("Algorithm", "b")]),
        ],
    );
    assert_eq!(
        entries(LogReader::open(&log).unwrap()),
        ["row a", "torn at 3", "malformed at 4", "row b"]
    );
    // Torn rows are skipped even strictly: they are what a killed writer leaves.
    let strict = LogReader::open(&log)
        .unwrap()
        .strict(true)
        .read_all()
        .unwrap_err();
    assert!(
        matches!(strict, ReadError::BadRow { line: 4, .. }),
        "{strict}"
    );
}

#[test]
fn a_directory_or_a_path_through_a_file_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_log_file(dir.path()).unwrap_err().to_string();
    assert!(err.contains("it is a directory"), "{err}");
    assert!(!err.contains("malformed"), "{err}");

    let file = logs::write(dir.path(), "data", "x");
    let err = read_log(file.join("power_logs.csv"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("{} is a file, not a directory", file.display())),
        "{err}"
    );
}
