//! Which log (or table) to read and which of its rows to keep: the options `show`, `summary`
//! and `plot` share. Rows are streamed: one in memory at a time (`--last N` keeps N), from the
//! log, or a batch at a time from the table `pgadget_rows` with `--database-url`.

use super::database;
use super::format::terminal_safe_lines;
use super::CliError;
use chrono::{DateTime, FixedOffset, Local, NaiveDate, TimeZone};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pgadget_runtime::log::read::open_log_file;
use pgadget_runtime::log::{self, Entry, LogReader, ReadError, Record, RecordRef};
use pgadget_runtime::ship::postgres::{RowFilter, Target, TABLE};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{IsTerminal, Read, Seek};
use std::path::{Path, PathBuf};

/// Logs larger than this get a progress bar on stderr while they are read (when stderr is a
/// terminal): below it, reading takes well under a second.
const PROGRESS_THRESHOLD_BYTES: u64 = 64 * 1024 * 1024;

/// How many skipped rows are reported one by one; the rest are counted.
const REPORTED_SKIPS: u64 = 10;

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
    /// Keep only the last N of the remaining rows (the N written last)
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Stop with an error at the first malformed row instead of skipping it with a warning
    #[arg(long)]
    pub strict: bool,
}

/// What reading the log found.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Where the rows came from, for messages: the log's path, or the table and its database
    /// (without a password).
    pub source: String,
    /// How many valid rows the log holds, before filtering.
    pub total: u64,
    /// How many rows passed the filters (and `--last`).
    pub kept: u64,
    /// How many rows were skipped (torn or malformed).
    pub skipped: u64,
    /// How many bytes were read: a second pass reads exactly the same rows.
    pub bytes: u64,
}

/// An open log, which can be read more than once when it is a regular file; or the table
/// `pgadget_rows` of a database.
#[derive(Debug)]
pub enum OpenLog {
    /// A log file (or a pipe).
    File {
        /// Its path.
        path: PathBuf,
        /// Open for reading.
        file: File,
        /// Its length when opened.
        len: u64,
        /// Whether it is a regular file.
        regular: bool,
    },
    /// The table, read through a connection of its own for each pass (boxed: a parsed
    /// connection string is large, and a log is the common case).
    Table(Box<Target>),
}

impl OpenLog {
    /// Whether the log can be read a second time (a regular file, not a pipe). A table is read
    /// once: rows may arrive between two passes.
    pub fn rereadable(&self) -> bool {
        matches!(self, OpenLog::File { regular: true, .. })
    }
}

/// How to read the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// A progress bar on stderr for a large log (when stderr is a terminal). Only for commands
    /// that print nothing until the log is read.
    pub progress: bool,
    /// Say nothing about skipped rows (a second pass over rows already reported).
    pub quiet: bool,
    /// Read from the start of the file again, and only the bytes a first pass read.
    pub again: Option<u64>,
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

    /// Opens the log, or, given a database, parses its URL (the connection is made by each
    /// pass).
    pub fn open(&self) -> Result<OpenLog, CliError> {
        if let Some(url) = self.database_url() {
            return Ok(OpenLog::Table(Box::new(database::target(&url)?)));
        }
        let path = self.path();
        let file = open_log_file(&path).map_err(|e| explain(e, &path))?;
        let meta = file
            .metadata()
            .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?;
        Ok(OpenLog::File {
            path,
            file,
            len: meta.len(),
            regular: meta.is_file(),
        })
    }

    /// Whether `row` passes the filters (`--last` aside).
    pub fn matches(&self, row: &RecordRef<'_>) -> bool {
        self.project.as_deref().is_none_or(|p| row.project == p)
            && self.algorithm.as_deref().is_none_or(|a| row.algorithm == a)
            && self.since.is_none_or(|since| row.datetime >= since)
            && self.host.as_deref().is_none_or(|h| row.host == h)
    }

    /// Reads `log` and hands each selected row to `visit`, in the log's order (the order the
    /// rows were written, which is when each call ended). Skipped rows are reported on stderr
    /// as they are met. With `--last N`, the last N selected rows are kept and handed over at
    /// the end.
    ///
    /// From the table, the database applies the filters (`--last` too) and the rows come
    /// oldest first by their Datetime (a table has no order of writing), a batch at a time.
    pub fn scan(
        &self,
        log: &mut OpenLog,
        options: ReadOptions,
        visit: impl FnMut(&RecordRef<'_>) -> Result<(), CliError>,
    ) -> Result<Scan, CliError> {
        match log {
            OpenLog::File {
                path,
                file,
                len,
                regular,
            } => self.scan_file(path, file, *len, *regular, options, visit),
            OpenLog::Table(target) => self.scan_table(target, visit),
        }
    }

    fn scan_table(
        &self,
        target: &Target,
        mut visit: impl FnMut(&RecordRef<'_>) -> Result<(), CliError>,
    ) -> Result<Scan, CliError> {
        let mut filter = RowFilter::new();
        filter.project = self.project.clone();
        filter.algorithm = self.algorithm.clone();
        filter.since = self.since;
        filter.host = self.host.clone();
        filter.last = self.last.map(|n| n as u64);
        let mut kept = 0;
        let table = database::for_each_row(target, &filter, self.strict, |record| {
            kept += 1;
            visit(&RecordRef::from(&record))
        })?;
        // The total only explains an empty answer: the table is counted only then.
        let total = if kept == 0 {
            database::count(target)?
        } else {
            kept
        };
        Ok(Scan {
            source: format!("the table {TABLE} at {}", target.shown()),
            total,
            kept,
            skipped: table.skipped,
            bytes: 0,
        })
    }

    fn scan_file(
        &self,
        path: &Path,
        file: &File,
        len: u64,
        regular: bool,
        options: ReadOptions,
        mut visit: impl FnMut(&RecordRef<'_>) -> Result<(), CliError>,
    ) -> Result<Scan, CliError> {
        let path = path.to_path_buf();
        let cannot =
            |e: std::io::Error| CliError::new(format!("cannot read {}: {e}", path.display()));
        // A handle of its own for the thread that parses the log (same file, same offset).
        let file = file.try_clone().map_err(cannot)?;
        let input: Box<dyn Read + Send> = match options.again {
            Some(bytes) => {
                (&file).rewind().map_err(cannot)?;
                Box::new(file.take(bytes))
            }
            None => Box::new(file),
        };
        let show_progress = options.progress
            && regular
            && len > PROGRESS_THRESHOLD_BYTES
            && std::io::stderr().is_terminal();
        let bar = show_progress.then(|| {
            let bar = ProgressBar::new(len).with_message(format!("reading {}", path.display()));
            if let Ok(style) =
                ProgressStyle::with_template("{msg} {wide_bar} {binary_bytes}/{binary_total_bytes}")
            {
                bar.set_style(style);
            }
            bar
        });
        let input: Box<dyn Read + Send> = match &bar {
            Some(bar) => Box::new(bar.wrap_read(input)),
            None => input,
        };
        let mut reader = LogReader::new(input, &path)
            .map_err(|e| explain(e, &path))?
            .strict(self.strict);
        // From a file, parsing runs a batch of rows ahead on a second core. Not from a pipe:
        // a batch is handed over when full, and rows that trickle in must be shown as they come.
        if regular {
            reader = reader.read_ahead();
        }
        let mut scan = Scan {
            source: path.display().to_string(),
            total: 0,
            kept: 0,
            skipped: 0,
            bytes: 0,
        };
        let mut last: VecDeque<Record> = VecDeque::new();
        let result = loop {
            let entry = match reader.next_entry() {
                Ok(Some(entry)) => entry,
                Ok(None) => break Ok(()),
                Err(e) => break Err(explain(e, &path)),
            };
            match entry {
                Entry::Row(row) => {
                    scan.total += 1;
                    if !self.matches(&row) {
                        continue;
                    }
                    match self.last {
                        Some(0) => {}
                        Some(n) => {
                            // Once N rows are kept, the oldest one's memory takes the new row.
                            match (last.len() == n).then(|| last.pop_front()).flatten() {
                                Some(mut oldest) => {
                                    row.copy_into(&mut oldest);
                                    last.push_back(oldest);
                                }
                                None => last.push_back(row.to_record()),
                            }
                        }
                        None => {
                            scan.kept += 1;
                            if let Err(e) = visit(&row) {
                                break Err(e);
                            }
                        }
                    }
                }
                Entry::Skipped(s) => {
                    scan.skipped += 1;
                    if !options.quiet && scan.skipped <= REPORTED_SKIPS {
                        eprintln!("pgadget: {}", terminal_safe_lines(&s.to_string()));
                    }
                }
            }
        };
        scan.bytes = reader.bytes_read();
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if !options.quiet && scan.skipped > REPORTED_SKIPS {
            eprintln!(
                "pgadget: ... and {} more rows of {} skipped ({} in all)",
                scan.skipped - REPORTED_SKIPS,
                terminal_safe_lines(&path.display().to_string()),
                scan.skipped
            );
        }
        result?;
        for record in &last {
            scan.kept += 1;
            visit(&RecordRef::from(record))?;
        }
        Ok(scan)
    }

    /// Whether any filter is set (to explain an empty result).
    pub fn is_filtering(&self) -> bool {
        self.project.is_some()
            || self.algorithm.is_some()
            || self.host.is_some()
            || self.since.is_some()
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

/// Adds what to do to the errors a user is likely to meet.
pub(super) fn explain(e: ReadError, path: &Path) -> CliError {
    match &e {
        ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::new(format!(
                "{e}\n  Nothing has been logged there yet. Measure something first, or name \
                 the log with --log PATH or PGADGET_LOG (the library writes {} by default).",
                log::default_log_path().display()
            ))
        }
        ReadError::BadRow { .. } => CliError::new(format!(
            "{e}\n  Fix or delete that line of {} (the other rows are intact), or leave out \
             --strict to skip it with a warning.",
            path.display()
        )),
        ReadError::NotALog { .. } => CliError::new(format!(
            "{e}\n  pgadget reads logs whose header starts with PyPowerGadget's {} columns \
             ({},...).",
            log::read::SEED_COLUMNS,
            log::HEADER[..3].join(",")
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
