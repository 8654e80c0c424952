//! `pgadget summary` on a log written by the library.

mod cli_common;

use cli_common::*;
use std::collections::HashMap;

fn summary(log: &std::path::Path, by: &str) -> Vec<serde_json::Value> {
    let out = run(&[
        "summary",
        "--json",
        "--by",
        by,
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn per_algorithm_totals_are_the_sums_of_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let records = rows(&log);
    let groups = summary(&log, "algorithm");
    assert_eq!(groups.len(), 3, "RandomForest, KMeans, SVM");

    let mut expected: HashMap<&str, (u64, f64, f64)> = HashMap::new();
    let mut expected_co2: HashMap<&str, f64> = HashMap::new();
    for r in &records {
        let e = expected.entry(r.algorithm.as_str()).or_default();
        e.0 += 1;
        e.1 += r.total_mwh();
        e.2 += r.elapsed_secs;
        *expected_co2.entry(r.algorithm.as_str()).or_default() += r
            .co2_g
            .expect("every row is charged to a country or the world average");
    }
    for g in &groups {
        let name = g["group"].as_str().unwrap();
        let (calls, energy, elapsed) = expected[name];
        assert_eq!(g["calls"].as_u64(), Some(calls), "{name}");
        let got = g["energy_mwh"].as_f64().unwrap();
        assert!(close(got, energy), "{name}: {got} vs {energy}");
        assert!(close(
            g["mean_energy_mwh"].as_f64().unwrap(),
            energy / calls as f64
        ));
        assert!(close(g["elapsed_secs"].as_f64().unwrap(), elapsed));
        // Offline rows are charged to the world average: every call has a CO2 figure.
        assert!(
            close(g["co2_g"].as_f64().unwrap(), expected_co2[name]),
            "{name}"
        );
        assert_eq!(g["calls_without_co2"].as_u64(), Some(0));
    }
    let energies: Vec<f64> = groups
        .iter()
        .map(|g| g["energy_mwh"].as_f64().unwrap())
        .collect();
    assert!(
        energies.windows(2).all(|w| w[0] >= w[1]),
        "most energy first: {energies:?}"
    );
}

#[test]
fn per_day_totals_add_up_to_the_whole_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let records = rows(&log);
    let groups = summary(&log, "day");
    for g in &groups {
        let day = g["group"].as_str().unwrap();
        let of_day: Vec<_> = records
            .iter()
            .filter(|r| r.datetime.format("%Y-%m-%d").to_string() == day)
            .collect();
        assert_eq!(g["calls"].as_u64(), Some(of_day.len() as u64));
        let energy: f64 = of_day.iter().map(|r| r.total_mwh()).sum();
        assert!(close(g["energy_mwh"].as_f64().unwrap(), energy));
    }
    let calls: u64 = groups.iter().map(|g| g["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, records.len() as u64);
}

#[test]
fn csv_and_filters_agree_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = run(&[
        "summary",
        "--csv",
        "--by",
        "package",
        "--project",
        "iris",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "group");
    let rows_out: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // iris rows: linfa only (three calls).
    assert_eq!(rows_out.len(), 1);
    assert_eq!(&rows_out[0][0], "linfa");
    assert_eq!(&rows_out[0][1], "3");
    let expected: f64 = rows(&log)
        .iter()
        .filter(|r| r.project == "iris")
        .map(|r| r.total_mwh())
        .sum();
    assert!(close(rows_out[0][2].parse().unwrap(), expected));
}

#[test]
fn the_table_names_every_group() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = run(&["summary", "--by", "project", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    // Units sit under their titles, on a second line.
    for text in [
        "Project", "Calls", "Energy", "(mWh)", "CO2", "(g)", "iris", "digits",
    ] {
        assert!(table.contains(text), "no {text}:\n{table}");
    }
}

#[test]
fn a_missing_log_is_an_error_and_a_malformed_row_is_skipped_unless_strict() {
    let out = fails_on_missing_logs_and_skips_malformed_rows(&["summary", "--json"]);
    let groups: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["calls"], 2, "the two good rows are summed");
}
