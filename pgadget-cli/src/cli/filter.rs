//! Which log to read and which of its rows to keep: the options `show`, `summary` and `plot`
//! share.

use super::database;
use super::CliError;
use chrono::{DateTime, FixedOffset, Local, NaiveDate, TimeZone};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pgadget_runtime::log::{self, read::read_log_from, LogContents, ReadError, Record};
use pgadget_runtime::ship::postgres::{RowFilter, TABLE};
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};

/// Logs larger than this get a progress bar on stderr while they are read (when stderr is a
/// terminal): below it, reading takes well under a second.
const PROGRESS_THRESHOLD_BYTES: u64 = 5 * 1024 * 1024;

/// The log to read and the rows to keep.
#[derive(Args, Debug, Clone)]
pub struct LogFilter {
    /// The power log to read [default: $PGADGET_LOG, else the log the library writes]
    #[arg(long, value_name = "PATH", conflicts_with = "database_url")]
    pub log: Option<PathBuf>,
    /// Read the table pgadget_rows of this PostgreSQL database instead of a log:
    /// postgres://user:password@host:port/db [default: $PGADGET_DATABASE_URL, unless --log]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Keep only the rows measured on this host ("Host")
    #[arg(long, value_name = "H")]
    pub host: Option<String>,
    /// Keep only the rows of this project ("Project name")
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Keep only the rows of this algorithm ("Algorithm")
    #[arg(long, value_name = "A")]
    pub algorithm: Option<String>,
    /// Keep only the rows measured at or after DATE: `2026-11-25` (local midnight) or
    /// RFC 3339 (`2026-11-25T14:00:00+01:00`)
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<DateTime<FixedOffset>>,
    /// Keep only the N most recent of the remaining rows
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
}

/// The rows a command works on, and where they came from.
#[derive(Debug)]
pub struct Rows {
    /// The kept rows, oldest first.
    pub records: Vec<Record>,
    /// Where they were read from: the log's path, or the table and its database.
    pub source: String,
    /// How many rows the log holds before filtering.
    pub total: usize,
}

impl LogFilter {
    /// The log this filter reads: `--log`, else `PGADGET_LOG`, else the library's default.
    pub fn path(&self) -> PathBuf {
        self.log.clone().unwrap_or_else(log::log_path_from_env)
    }

    /// The database to read instead of a log: `--database-url`, else `PGADGET_DATABASE_URL`
    /// unless `--log` names a log.
    pub fn database_url(&self) -> Option<String> {
        self.database_url
            .clone()
            .or_else(|| {
                self.log
                    .is_none()
                    .then(|| std::env::var(pgadget_runtime::config::DATABASE_URL).ok())
                    .flatten()
            })
            .filter(|u| !u.trim().is_empty())
    }

    /// Reads the log (warning on stderr about torn rows), or the table, and keeps the selected
    /// rows, oldest first.
    pub fn load(&self) -> Result<Rows, CliError> {
        if let Some(url) = self.database_url() {
            return self.load_table(&url);
        }
        let path = self.path();
        let contents = read_with_progress(&path).map_err(|e| explain(e, &path))?;
        for warning in &contents.warnings {
            eprintln!("pgadget: {warning}");
        }
        let total = contents.records.len();
        Ok(Rows {
            records: self.apply(contents.records),
            source: path.display().to_string(),
            total,
        })
    }

    /// Reads the rows of the table that pass the filters, which the database applies.
    fn load_table(&self, url: &str) -> Result<Rows, CliError> {
        let target = database::target(url)?;
        let mut filter = RowFilter::new();
        filter.project = self.project.clone();
        filter.algorithm = self.algorithm.clone();
        filter.since = self.since;
        filter.host = self.host.clone();
        filter.last = self.last.map(|n| n as u64);
        let mut records = Vec::new();
        database::for_each_row(&target, &filter, |r| {
            records.push(r);
            Ok(())
        })?;
        // The total only explains an empty answer: count the table only then.
        let total = if records.is_empty() {
            database::count(&target)? as usize
        } else {
            records.len()
        };
        Ok(Rows {
            records,
            source: format!("the table {TABLE} at {}", target.shown()),
            total,
        })
    }

    /// Keeps the rows that pass every filter, sorted oldest first (rows are appended when a
    /// window closes, so concurrent windows can land out of order), then the last N.
    pub fn apply(&self, mut records: Vec<Record>) -> Vec<Record> {
        records.retain(|r| {
            self.project.as_ref().is_none_or(|p| &r.project == p)
                && self.algorithm.as_ref().is_none_or(|a| &r.algorithm == a)
                && self.since.is_none_or(|since| r.datetime >= since)
                && self.host.as_ref().is_none_or(|h| &r.host == h)
        });
        // A stable sort keeps the log's order among rows that opened at the same instant.
        records.sort_by_key(|r| r.datetime);
        if let Some(n) = self.last {
            let skip = records.len().saturating_sub(n);
            records.drain(..skip);
        }
        records
    }

    /// Whether any filter is set (to explain an empty result).
    pub fn is_filtering(&self) -> bool {
        self.project.is_some()
            || self.algorithm.is_some()
            || self.since.is_some()
            || self.host.is_some()
            || self.last.is_some()
    }
}

/// Parses `--since`: a calendar date (local midnight) or an RFC 3339 instant.
fn parse_since(raw: &str) -> Result<DateTime<FixedOffset>, String> {
    let raw = raw.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        return Ok(instant);
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        format!("`{raw}` is neither a date like 2026-11-25 nor an RFC 3339 time like 2026-11-25T14:00:00+01:00")
    })?;
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Where a clock change skips midnight, the day starts at the first instant that exists.
    Local
        .from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            Local
                .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.fixed_offset())
        .ok_or_else(|| format!("the start of {date} does not exist in the local time zone"))
}

/// Reads the log, with a progress bar on stderr for a large log when stderr is a terminal.
fn read_with_progress(path: &Path) -> Result<LogContents, ReadError> {
    let io_err = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    if len <= PROGRESS_THRESHOLD_BYTES || !std::io::stderr().is_terminal() {
        return read_log_from(BufReader::new(file), path);
    }
    let bar = ProgressBar::new(len).with_message(format!("reading {}", path.display()));
    if let Ok(style) =
        ProgressStyle::with_template("{msg} {wide_bar} {binary_bytes}/{binary_total_bytes}")
    {
        bar.set_style(style);
    }
    let result = read_log_from(BufReader::new(bar.wrap_read(file)), path);
    bar.finish_and_clear();
    result
}

/// Adds what to do to the errors a user is likely to meet.
fn explain(e: ReadError, path: &Path) -> CliError {
    match &e {
        ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::new(format!(
                "{e}\n  Nothing has been logged there yet. Measure something first, or name \
                 the log with --log PATH or PGADGET_LOG (the library writes {} by default).",
                log::default_log_path().display()
            ))
        }
        ReadError::BadRow { .. } => CliError::new(format!(
            "{e}\n  Fix or delete that line of {} (the other rows are intact).",
            path.display()
        )),
        _ => CliError::new(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_an_rfc3339_time() {
        let t = parse_since("2026-11-25T14:00:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T14:00:00+01:00");
        let d = parse_since("2026-11-25").unwrap();
        assert_eq!(
            d.with_timezone(&Local).date_naive(),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
        );
        assert!(parse_since("25/11/2026")
            .unwrap_err()
            .contains("25/11/2026"));
    }
}
