//! How results are printed: a table for people, CSV or JSON for scripts.

use super::CliError;
use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table};
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

/// One column of a table for people.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// The title; a unit goes on a second line (`"CPU\n(mWh)"`) so numbers stay narrow.
    pub title: &'static str,
    /// Numbers are right-aligned and never wrapped.
    pub numeric: bool,
    /// Free text (names) that may wrap when the terminal is narrow; other columns keep their
    /// width.
    pub wraps: bool,
    /// Columns are left out lowest priority first when the terminal cannot hold them all.
    pub priority: u8,
}

/// The narrowest a wrapping column is allowed to become.
const MIN_WRAP_WIDTH: usize = 12;
/// Padding (one space each side) and one border character per column.
const COLUMN_CHROME: usize = 3;

/// A table of `rows` under `cols`. On a terminal it fits the width: text columns wrap, and
/// when even that is not enough, the lowest-priority columns are left out. Piped, every
/// column is printed at full width, so nothing is wrapped for `grep` or `less -S`.
pub fn table(cols: &[Col], rows: &[Vec<String>]) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    let terminal = std::io::stdout().is_terminal();
    if terminal {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.force_no_tty();
    }
    let width = |i: usize| -> usize {
        let cells = rows.iter().map(|r| r[i].chars().count());
        let title = cols[i].title.lines().map(|l| l.chars().count());
        let natural = cells.chain(title).max().unwrap_or(0);
        let shown = if cols[i].wraps {
            natural.min(MIN_WRAP_WIDTH)
        } else {
            natural
        };
        shown + COLUMN_CHROME
    };
    let mut keep: Vec<usize> = (0..cols.len()).collect();
    if let (true, Some(available)) = (terminal, table.width()) {
        let available = usize::from(available).saturating_sub(1);
        while keep.len() > 1 && keep.iter().map(|&i| width(i)).sum::<usize>() > available {
            let Some(drop) = keep
                .iter()
                .enumerate()
                .min_by_key(|(_, &i)| cols[i].priority)
                .map(|(at, _)| at)
            else {
                break;
            };
            keep.remove(drop);
        }
    }
    if keep.len() < cols.len() {
        let left_out: Vec<String> = (0..cols.len())
            .filter(|i| !keep.contains(i))
            .map(|i| cols[i].title.replace('\n', " "))
            .collect();
        eprintln!(
            "pgadget: left out to fit the terminal: {} (widen it, or use --csv or --json)",
            left_out.join(", ")
        );
    }
    table.set_header(keep.iter().map(|&i| cols[i].title));
    for row in rows {
        table.add_row(keep.iter().map(|&i| row[i].as_str()));
    }
    for (at, &i) in keep.iter().enumerate() {
        if let Some(column) = table.column_mut(at) {
            if cols[i].numeric {
                column.set_cell_alignment(CellAlignment::Right);
            }
            if !cols[i].wraps {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
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
