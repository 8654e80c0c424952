//! Shared by the pass cases: a meter writing to a fresh log in the temporary directory.

// Each case uses some of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

/// Installs a meter (no network) that writes to a new log named after `case`, and returns
/// the log's path.
pub fn install(case: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("pgadget-ui-{case}-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let meter = pgadget::PowerMeter::builder()
        .log_path(&path)
        .get_country(false)
        .build()
        .expect("the meter's configuration is valid");
    assert!(meter.install().is_ok(), "another meter was installed first");
    path
}

/// The rows written so far.
pub fn rows(path: &PathBuf) -> Vec<pgadget::Record> {
    pgadget::get_logged_data(path).expect("the log can be read back")
}

/// The function names of the rows, without the module path.
pub fn functions(path: &PathBuf) -> Vec<String> {
    rows(path)
        .iter()
        .map(|r| {
            r.function
                .rsplit("::")
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}
