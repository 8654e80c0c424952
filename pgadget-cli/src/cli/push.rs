//! `pgadget push`: uploads the rows of a log that the table `pgadget_rows` lacks.
//!
//! The log is streamed and sent in batches; the table keeps one row per row id, so pushing the
//! same log twice, or a log whose rows were shipped already, adds nothing twice.

use super::database::{failure, target};
use super::filter::explain;
use super::format::terminal_safe_lines;
use super::CliError;
use clap::Args;
use pgadget_runtime::config;
use pgadget_runtime::log::{self, Entry, LogReader, Record};
use pgadget_runtime::ship::postgres::{Database, BATCH_ROWS, TABLE};
use std::path::PathBuf;

/// How many unreadable rows are reported one by one; the rest are counted.
const REPORTED_SKIPS: u64 = 10;

/// Options of `pgadget push`.
#[derive(Args, Debug, Clone)]
pub struct PushArgs {
    /// The power log to upload [default: $PGADGET_LOG, else the log the library writes]
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// The PostgreSQL database to upload to, postgres://user:password@host:port/db
    /// [default: $PGADGET_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// Uploads the log's rows and says how many were new.
pub fn run(args: &PushArgs) -> Result<(), CliError> {
    let url = args
        .database_url
        .clone()
        .or_else(|| std::env::var(config::DATABASE_URL).ok())
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            CliError::new(format!(
                "push needs a database: --database-url URL or {} \
                 (postgres://user:password@host:port/db)",
                config::DATABASE_URL
            ))
        })?;
    let target = target(&url)?;
    let path = args.log.clone().unwrap_or_else(log::log_path_from_env);
    // The log is opened first: a wrong path is said before any connection is tried.
    let mut reader = LogReader::open(&path)
        .map_err(|e| explain(e, &path))?
        .read_ahead();
    let mut db = Database::connect(&target).map_err(failure)?;
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH_ROWS);
    let mut totals = Totals::default();
    let mut send = |batch: &mut Vec<Record>, totals: &mut Totals| -> Result<(), CliError> {
        let rows: Vec<&Record> = batch.iter().collect();
        let (new, refused) = db.insert_or_isolate(&rows).map_err(|e| {
            CliError::new(format!(
                "{}\n  The rows sent before the failure are in the table; run the same \
                 command again to upload the rest (rows already there are not added twice).",
                e.explain()
            ))
        })?;
        for (i, e) in &refused {
            eprintln!(
                "pgadget: the row {} was not uploaded: {}",
                terminal_safe_lines(&rows[*i].row_id),
                e.explain()
            );
        }
        totals.new += new;
        totals.refused += refused.len() as u64;
        batch.clear();
        Ok(())
    };
    let mut read = 0u64;
    let mut skipped = 0u64;
    while let Some(entry) = reader.next_entry().map_err(|e| explain(e, &path))? {
        match entry {
            Entry::Row(row) => {
                read += 1;
                let mut record = row.to_record();
                if record.row_id.is_empty() {
                    record.row_id = derived_row_id(&record);
                }
                batch.push(record);
                if batch.len() == BATCH_ROWS {
                    send(&mut batch, &mut totals)?;
                }
            }
            Entry::Skipped(s) => {
                skipped += 1;
                if skipped <= REPORTED_SKIPS {
                    eprintln!(
                        "pgadget: {} (not uploaded)",
                        terminal_safe_lines(&s.to_string())
                    );
                }
            }
        }
    }
    send(&mut batch, &mut totals)?;
    if skipped > REPORTED_SKIPS {
        eprintln!(
            "pgadget: ... and {} more rows of {} skipped ({skipped} in all), not uploaded",
            skipped - REPORTED_SKIPS,
            terminal_safe_lines(&path.display().to_string()),
        );
    }
    let already = read - totals.new - totals.refused;
    println!(
        "{read} rows read from {}: {} added to {TABLE} at {}, {already} already there{}.",
        terminal_safe_lines(&path.display().to_string()),
        totals.new,
        target.shown(),
        if totals.refused > 0 {
            format!(", {} refused", totals.refused)
        } else {
            String::new()
        }
    );
    Ok(())
}

#[derive(Debug, Default)]
struct Totals {
    new: u64,
    refused: u64,
}

/// A row id for a row of a log written before rows had one: a name-based UUID (version 5) of
/// the row's contents, so that pushing the same log again gives the same ids.
fn derived_row_id(record: &Record) -> String {
    // A fixed namespace of pgadget's own (a random v4 UUID, drawn once).
    const NAMESPACE: uuid::Uuid = uuid::uuid!("3b0f4c1e-58a4-4b0e-9a53-6a1d1f1e8c77");
    let line = record.to_csv_line().unwrap_or_default();
    uuid::Uuid::new_v5(&NAMESPACE, &line)
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_without_an_id_gets_the_same_one_every_time() {
        let mut record: Record = serde_json::from_value(serde_json::json!({
            "Datetime": "2026-11-25T09:30:00+01:00", "User ID": "ada", "ISO": "FR",
            "Country": "France", "Platform": "linux", "Project name": "p",
            "Total Elapsed CPU Time (sec)": 1.0, "Total Elapsed GPU Time (sec)": 0.0,
            "Cumulative Package Energy (mWh)": 1.0, "Cumulative IA Energy (mWh)": null,
            "Cumulative GPU Energy (mWh)": null, "Cumulative DRAM Energy (mWh)": null,
            "PUE": 1.58, "CO2 emitted (gCO2e)": 0.1, "Package": "linfa",
            "Algorithm": "KMeans", "Algorithm's parameters": "", "Data type": "tabular",
            "Data shape": "", "Comment": "", "Function": "", "Energy Source": "estimate",
            "Process CPU Time (sec)": 1.0, "Status": "ok", "Process CPU Share": null,
            "Energy Note": "", "Row ID": "", "Host": "lab"
        }))
        .unwrap();
        let id = derived_row_id(&record);
        assert_eq!(id, derived_row_id(&record));
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 5);
        record.comments = "another".into();
        assert_ne!(id, derived_row_id(&record));
    }
}
