//! Reading the log back.

use super::record::{Record, HEADER};
use std::path::{Path, PathBuf};

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read the power log {}: {source}", .path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The first line is not a pgadget header.
    #[error("{} is not a pgadget log: its header is `{found}`", .path.display())]
    NotALog {
        /// The file.
        path: PathBuf,
        /// Its first line.
        found: String,
    },
    /// A row is not a valid record.
    #[error("{}:{line}: malformed row: {reason}", .path.display())]
    BadRow {
        /// The log.
        path: PathBuf,
        /// The row's line number, from 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// The rows of a log, and what was skipped on the way.
#[derive(Debug, Default)]
pub struct LogContents {
    pub records: Vec<Record>,
    /// One message per row that was skipped (torn rows from a killed writer).
    pub warnings: Vec<String>,
}

/// Reads every row of the log at `path`.
///
/// A row with fewer cells than the header is what a process killed in the middle of its write
/// leaves behind: it is skipped with a warning. Any other row that does not parse is an error
/// naming its line.
pub fn read_log(path: impl AsRef<Path>) -> Result<LogContents, ReadError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_log_from(std::io::BufReader::new(file), path)
}

/// Reads rows from any reader; `path` names it in messages.
pub fn read_log_from(reader: impl std::io::Read, path: &Path) -> Result<LogContents, ReadError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(reader);
    let bad = |line: u64, reason: String| ReadError::BadRow {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let header_record = csv::StringRecord::from(HEADER.to_vec());
    let mut out = LogContents::default();
    let mut row = csv::StringRecord::new();
    let mut first = true;
    loop {
        let more = csv.read_record(&mut row).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            bad(line, e.to_string())
        })?;
        if !more {
            break;
        }
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        if first {
            first = false;
            if row != header_record {
                return Err(ReadError::NotALog {
                    path: path.to_path_buf(),
                    found: row.iter().collect::<Vec<_>>().join(","),
                });
            }
            continue;
        }
        if row.len() < HEADER.len() {
            out.warnings.push(format!(
                "{}:{line}: skipped a torn row ({} of {} cells; a process was probably killed while writing it)",
                path.display(),
                row.len(),
                HEADER.len()
            ));
            continue;
        }
        if row.len() > HEADER.len() {
            return Err(bad(
                line,
                format!("{} cells where the header has {}", row.len(), HEADER.len()),
            ));
        }
        let record: Record = row
            .deserialize(Some(&header_record))
            .map_err(|e| bad(line, e.to_string()))?;
        out.records.push(record);
    }
    Ok(out)
}

/// Reads the log at `path` into records, printing a warning on stderr for each torn row
/// skipped. The seed's `get_logged_data`.
///
/// A torn row is usually the last line; it can also sit inside the log, because the next
/// writer ends the torn line (closing an open quote) and appends after it. Either way it has
/// fewer cells than the header and is skipped with a warning naming its line.
///
/// ```no_run
/// let rows = pgadget_runtime::get_logged_data("power_logs.csv")?;
/// let total: f64 = rows.iter().map(|r| r.total_mwh()).sum();
/// println!("{} calls, {total:.3} mWh", rows.len());
/// # Ok::<(), pgadget_runtime::ReadError>(())
/// ```
pub fn get_logged_data(path: impl AsRef<Path>) -> Result<Vec<Record>, ReadError> {
    let contents = read_log(path)?;
    for w in &contents.warnings {
        eprintln!("pgadget: {w}");
    }
    Ok(contents.records)
}
