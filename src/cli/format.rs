//! How results are printed: a table for people, CSV or JSON for scripts.

use super::CliError;
use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use std::io::{IsTerminal, Write};

/// `--csv` / `--json`: the output for scripts (a table otherwise).
#[derive(Args, Debug, Clone, Copy)]
#[group(multiple = false)]
pub struct OutputFormat {
    /// Print CSV instead of a table
    #[arg(long)]
    pub csv: bool,
    /// Print a JSON array of objects instead of a table
    #[arg(long)]
    pub json: bool,
}

/// A number for people: four significant digits, no exponent for everyday magnitudes.
pub fn number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-6..15).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// An optional number for people: `-` when absent (not measured), never a made-up 0.
pub fn maybe_number(x: Option<f64>) -> String {
    x.map(number).unwrap_or_else(|| "-".into())
}

/// A table fitted to the terminal's width when stdout is a terminal; unconstrained when
/// piped, so nothing is wrapped for `grep` or `less -S`.
pub fn table(header: &[&str], numeric: &[bool]) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    if std::io::stdout().is_terminal() {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.force_no_tty();
    }
    table.set_header(header.iter().copied());
    for (i, &is_number) in numeric.iter().enumerate() {
        if let (true, Some(column)) = (is_number, table.column_mut(i)) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Prints `text` and a newline on stdout.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|_| out.flush())
        .map_err(CliError::stdout)
}

/// Writes `rows` as a JSON array of objects on stdout.
pub fn print_json<T: serde::Serialize>(rows: &[T]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, rows).map_err(|e| match e.io_error_kind() {
        Some(kind) => CliError::stdout(kind.into()),
        None => CliError::new(format!("cannot write JSON: {e}")),
    })?;
    writeln!(out)
        .and_then(|_| out.flush())
        .map_err(CliError::stdout)
}

/// Turns a CSV writer's error into ours.
pub fn csv_error(e: csv::Error) -> CliError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => CliError::stdout(io),
        other => CliError::new(format!("cannot write CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(number(1234.56), "1235");
        assert_eq!(number(12.3456), "12.35");
        assert_eq!(number(0.00123456), "0.001235");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1.5e-9), "1.500e-9");
        assert_eq!(maybe_number(None), "-");
    }
}
