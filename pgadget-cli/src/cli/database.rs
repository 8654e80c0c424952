//! The table `pgadget_rows` as a source of rows (`--database-url`), read a batch at a time.

use super::format::terminal_safe_lines;
use super::CliError;
use pgadget_runtime::config::DatabaseUrl;
use pgadget_runtime::log::Record;
use pgadget_runtime::ship::postgres::{self, Database, DbError, RowFilter, RowReader, Target};

/// The database at `url`, parsed (the error never repeats the URL, which may hold a password).
pub fn target(url: &str) -> Result<Target, CliError> {
    Target::parse(&DatabaseUrl::new(url))
        .map_err(|why| CliError::new(format!("the database URL cannot be used: {why}")))
}

/// A database failure, said for a person.
pub fn failure(e: DbError) -> CliError {
    CliError::new(e.explain())
}

/// What reading the table found.
#[derive(Debug, Default)]
pub struct TableScan {
    /// Rows that are not pgadget rows (a value a pgadget row cannot have), passed over.
    pub skipped: u64,
}

/// Hands each row of the table that `filter` keeps to `visit`, oldest first, a batch at a
/// time from the server. Rows that are not pgadget rows are reported on stderr and passed over,
/// or, `strict`, stop the reading with an error.
pub fn for_each_row(
    target: &Target,
    filter: &RowFilter,
    strict: bool,
    mut visit: impl FnMut(Record) -> Result<(), CliError>,
) -> Result<TableScan, CliError> {
    let mut client = Database::connect_to_read(target).map_err(failure)?;
    let mut reader = RowReader::new(&mut client, target, filter).map_err(failure)?;
    let mut scan = TableScan::default();
    while let Some(row) = reader.next_row().map_err(failure)? {
        match row {
            Ok(record) => visit(record)?,
            Err(why) if strict => {
                return Err(CliError::new(format!(
                    "{}\n  Fix or delete that row of the table, or leave out --strict to skip \
                     it with a warning.",
                    terminal_safe_lines(&why)
                )))
            }
            Err(why) => {
                scan.skipped += 1;
                eprintln!("pgadget: skipped {}", terminal_safe_lines(&why));
            }
        }
    }
    Ok(scan)
}

/// How many rows the table holds, whatever the filters.
pub fn count(target: &Target) -> Result<u64, CliError> {
    let mut client = Database::connect_to_read(target).map_err(failure)?;
    postgres::count_rows(&mut client, target).map_err(failure)
}
