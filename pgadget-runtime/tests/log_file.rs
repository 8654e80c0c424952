//! The log as a user meets it: concurrent appends, foreign files, unwritable paths, torn rows.

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::log::read_log;
use pgadget_runtime::{get_logged_data, Metadata, PowerMeter};
use pgadget_test_support::child::{child_var, ChildTest};
use pgadget_test_support::meter::{estimate_env, powercap_meter};
use pgadget_test_support::powercap;
use std::path::{Path, PathBuf};

fn meter(log: &Path) -> PowerMeter {
    PowerMeter::builder()
        .environment(estimate_env())
        .log_path(log)
        .user_name("tester")
        .project_name("log-tests")
        .get_country(false)
        .build()
        .expect("a valid configuration")
}

const CHILD_LOG: &str = "PGADGET_TEST_CHILD_LOG";
const CHILD_ID: &str = "PGADGET_TEST_CHILD_ID";
const THREADS: usize = 4;
const CALLS: usize = 500;

/// Appends THREADS x CALLS rows, tagging each with the process, thread and call.
fn hammer(log: &Path, process: &str) {
    let meter = meter(log);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let meter = meter.clone();
            s.spawn(move || {
                for c in 0..CALLS {
                    let meta = Metadata::new("test", "append")
                        // Quotes, commas and newlines make a torn or interleaved row visible.
                        .comments(format!("p{process},t{t},c{c}, \"quoted\"\nsecond line"));
                    let out = meter.measure_power(meta, || c * 2);
                    assert_eq!(out, c * 2);
                }
            });
        }
    });
}

/// The body of each child process of the test below.
#[test]
#[ignore = "run as a child process by four_processes_of_four_threads_never_lose_or_tear_a_row"]
fn child_appender() {
    hammer(Path::new(&child_var(CHILD_LOG)), &child_var(CHILD_ID));
}

#[test]
fn four_processes_of_four_threads_never_lose_or_tear_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("shared.csv");
    let children: Vec<_> = (0..4)
        .map(|p| {
            ChildTest::new("child_appender")
                .env(CHILD_LOG, &log)
                .env(CHILD_ID, p.to_string())
                .spawn()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }

    let contents = read_log(&log).expect("the log reads back");
    assert!(contents.warnings.is_empty(), "{:?}", contents.warnings);
    let rows = contents.records;
    assert_eq!(rows.len(), 4 * THREADS * CALLS);
    let mut seen = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for r in &rows {
        assert!(ids.insert(r.row_id.clone()), "Row ID {} repeats", r.row_id);
        assert!(!r.host.is_empty(), "{r:?}");
        assert!(
            r.comments.ends_with(", \"quoted\"\nsecond line"),
            "{:?}",
            r.comments
        );
        assert!(
            seen.insert(r.comments.clone()),
            "duplicate row {:?}",
            r.comments
        );
        assert_eq!(r.status, "ok");
        assert_eq!(r.project, "log-tests");
    }
    // One header only.
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("Datetime,User ID,").count(), 1);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn a_new_log_and_its_new_directories_are_its_owners_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("nested/dir/power_logs.csv");
    meter(&log).measure_power(Metadata::new("t", "perm"), || ());
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(&dir.path().join("nested")), 0o700);
    assert_eq!(mode(&dir.path().join("nested/dir")), 0o700);
}

#[test]
fn a_foreign_log_is_moved_aside_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let foreign = "Datetime,User ID,ISO,Country\n2020-03-04 17:53:36,martin,FR,France\n";
    std::fs::write(&log, foreign).unwrap();

    let m = meter(&log);
    assert_eq!(m.measure_power(Metadata::new("t", "one"), || 41 + 1), 42);
    m.measure_power(Metadata::new("t", "two"), || ());

    let aside: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &log)
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let name = aside[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("power_logs.foreign-") && name.ends_with(".csv"),
        "{name}"
    );
    assert_eq!(std::fs::read_to_string(&aside[0]).unwrap(), foreign);

    let rows = get_logged_data(&log).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r.algorithm.as_str())
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
}

#[test]
fn a_torn_last_row_is_skipped_with_a_warning_and_the_next_row_starts_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let m = meter(&log);
    m.measure_power(Metadata::new("t", "before"), || ());
    // A process killed in the middle of its write leaves half a row without its newline.
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("2026-11-25T10:00:00+00:00,tester,,,linux,log-te");
    std::fs::write(&log, &text).unwrap();

    let contents = read_log(&log).unwrap();
    assert_eq!(contents.records.len(), 1);
    assert_eq!(contents.warnings.len(), 1);
    assert!(
        contents.warnings[0].contains(":3:"),
        "{:?}",
        contents.warnings
    );

    m.measure_power(Metadata::new("t", "after"), || ());
    let contents = read_log(&log).unwrap();
    let algos: Vec<_> = contents
        .records
        .iter()
        .map(|r| r.algorithm.as_str())
        .collect();
    assert_eq!(algos, ["before", "after"]);
    assert_eq!(contents.warnings.len(), 1, "{:?}", contents.warnings);
}

#[test]
fn a_missing_log_names_the_path() {
    let err = get_logged_data("/nonexistent/pgadget/log.csv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/pgadget/log.csv"), "{err}");
}

#[test]
fn a_row_says_what_ran_and_how_it_was_measured() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let m = meter(&log);
    let meta = Metadata::new("linfa", "RandomForest")
        .data_type(pgadget_runtime::DataType::TimeSeries)
        .data_shape("[150, 4]")
        .algorithm_params("trees=100")
        .comments("iris")
        .function("demo::train");
    let record = m.start(meta).finish().expect("enabled meter gives a row");
    let rows = get_logged_data(&log).unwrap();
    assert_eq!(rows, vec![record.clone()]);
    assert_eq!(record.user, "tester");
    assert_eq!(record.platform, std::env::consts::OS);
    assert_eq!(record.data_type, "time series");
    assert_eq!(record.energy_source, "estimate");
    assert!(record.package_mwh.is_some());
    assert_eq!(record.dram_mwh, None);
    assert_eq!(record.cores_mwh, None);
    assert_eq!(record.gpu_elapsed_secs, 0.0);
    assert_eq!(record.status, "ok");
    assert!(record.elapsed_secs >= 0.0);
}

#[test]
fn a_panicking_closure_still_logs_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let m = meter(&log);
    let caught = std::panic::catch_unwind(|| {
        m.measure_power(Metadata::new("t", "boom"), || -> u32 {
            panic!("model diverged")
        })
    });
    assert!(caught.is_err());
    let rows = get_logged_data(&log).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "panicked");
}

#[test]
fn a_disabled_meter_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let m = PowerMeter::builder()
        .environment(EnvConfig {
            disable: true,
            ..EnvConfig::default()
        })
        .log_path(&log)
        .build()
        .unwrap();
    assert!(m.is_disabled());
    assert_eq!(m.measure_power(Metadata::new("t", "off"), || 5), 5);
    assert!(m.start(Metadata::new("t", "off")).finish().is_none());
    assert!(!log.exists());
}

#[test]
fn a_pue_below_one_is_refused_with_the_reason() {
    let err = PowerMeter::builder().pue(0.9).build().unwrap_err();
    assert!(err.to_string().contains("at least 1.0"), "{err}");
}

#[test]
fn a_row_torn_inside_a_quoted_cell_does_not_swallow_the_next_row() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let m = meter(&log);
    m.measure_power(Metadata::new("t", "before"), || ());
    // A writer that died inside a quoted cell ("trees=100, de...) leaves a quote open.
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("2026-11-25T10:00:00+00:00,tester,,,linux,\"log, te");
    std::fs::write(&log, &text).unwrap();

    m.measure_power(Metadata::new("t", "after").comments("has, a comma"), || ());
    let contents = read_log(&log).expect("the log stays readable");
    let algos: Vec<_> = contents
        .records
        .iter()
        .map(|r| r.algorithm.as_str())
        .collect();
    assert_eq!(algos, ["before", "after"]);
    assert_eq!(contents.records[1].comments, "has, a comma");
    assert_eq!(contents.warnings.len(), 1, "{:?}", contents.warnings);
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_source_leaves_energy_and_co2_empty_not_zero() {
    // A powercap counter that becomes unreadable inside the window.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("powercap");
    powercap::package_only(&root);
    let zone = root.join("intel-rapl:0");
    let log = dir.path().join("power_logs.csv");
    let m = powercap_meter(&root, &log);
    let value = m.measure_power(Metadata::new("t", "broken"), || {
        std::fs::write(zone.join("energy_uj"), "garbage\n").unwrap();
        11
    });
    assert_eq!(value, 11);
    let rows = get_logged_data(&log).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].package_mwh, None, "{:?}", rows[0]);
    assert_eq!(rows[0].co2_g, None, "no energy, no CO2: {:?}", rows[0]);
    let note = &rows[0].energy_note;
    assert!(
        note.starts_with("Package empty: powercap could not read ")
            && note.contains("intel-rapl:0/energy_uj")
            && note.ends_with("; CO2 empty: it would leave out the Package energy"),
        "the row says why its cells are empty: {note:?}"
    );
}
