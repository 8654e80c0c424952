//! The CSV log: the row, appending it safely, reading it back (whole, or one row at a time).

pub(crate) mod append;
mod backlog;
mod paths;
pub mod read;
pub(crate) mod record;
pub(crate) mod row_id;

pub(crate) use append::LogWriter;
pub use backlog::MAX_DELAYED_ROWS;
pub use paths::explain_io_error;
pub use read::{get_logged_data, read_log, Entry, LogContents, LogReader, ReadError, Skipped};
pub use record::{Record, RecordRef, HEADER};

use std::path::PathBuf;

/// The log used when neither the builder nor `PGADGET_LOG` names one: `power_logs.csv` in the
/// user's data directory (`~/.local/share/pgadget` on Linux), else in the current directory.
pub fn default_log_path() -> PathBuf {
    match dirs::data_dir() {
        Some(dir) => dir.join("pgadget").join("power_logs.csv"),
        None => PathBuf::from("power_logs.csv"),
    }
}

/// The log named by `PGADGET_LOG`, else the default.
pub fn log_path_from_env() -> PathBuf {
    crate::config::EnvConfig::from_env()
        .log
        .unwrap_or_else(default_log_path)
}
