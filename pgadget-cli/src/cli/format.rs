//! How results are printed: a table for people, CSV or JSON for scripts.

use super::CliError;
use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};
use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use unicode_width::UnicodeWidthStr;

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
/// comfy-table's default padding, one space each side.
const PADDING: usize = 2;

/// `text` made safe to print for a person: control characters (ESC, BEL, backspace, carriage
/// return, newline, C1 controls) and bidirectional overrides are shown escaped (`\u{1b}`, `\n`),
/// so text from the log can neither drive the terminal (set its title, clear the screen) nor
/// disguise itself. Everything else is kept as it is.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A message for stderr: [`terminal_safe`] line by line, keeping the message's own line breaks.
pub fn terminal_safe_lines(text: &str) -> String {
    text.split('\n')
        .map(terminal_safe)
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How wide `text` is on a terminal, in columns.
pub fn display_width(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// Which columns of a table are printed, and how wide, decided once for all its rows, so that
/// a table printed in pages ([`Layout::page`]) lines up as one.
///
/// On a terminal the table fits its width: text columns wrap, and when even that is not
/// enough, the lowest-priority columns are left out. Piped, every column is printed at full
/// width, so nothing is wrapped for `grep` or `less -S`.
#[derive(Debug, Clone)]
pub struct Layout {
    cols: Vec<Col>,
    /// The printed columns, as indices into a row's cells.
    keep: Vec<usize>,
    /// The content width of each printed column.
    widths: Vec<usize>,
}

impl Layout {
    /// The layout for columns `cols` whose widest cells are `widest` (display widths), leaving
    /// out the columns `skip` marks (empty in every row).
    pub fn new(cols: &[Col], widest: &[usize], skip: &[bool]) -> Layout {
        let natural = |i: usize| {
            let title = cols[i].title.lines().map(UnicodeWidthStr::width).max();
            widest[i].max(title.unwrap_or(0)).max(1)
        };
        let least = |i: usize| {
            if cols[i].wraps {
                natural(i).min(MIN_WRAP_WIDTH)
            } else {
                natural(i)
            }
        };
        let mut keep: Vec<usize> = (0..cols.len()).filter(|&i| !skip[i]).collect();
        let mut widths: Vec<usize> = keep.iter().map(|&i| natural(i)).collect();
        let terminal = Table::new()
            .width()
            .filter(|_| std::io::stdout().is_terminal());
        if let Some(available) = terminal {
            let available = usize::from(available).saturating_sub(1);
            let needed = |keep: &[usize]| -> usize {
                keep.iter()
                    .map(|&i| least(i) + COLUMN_CHROME)
                    .sum::<usize>()
            };
            let mut left_out = Vec::new();
            while keep.len() > 1 && needed(&keep) > available {
                let Some(at) = keep
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, &i)| cols[i].priority)
                    .map(|(at, _)| at)
                else {
                    break;
                };
                left_out.push(cols[keep.remove(at)].title.replace('\n', " "));
            }
            if !left_out.is_empty() {
                eprintln!(
                    "pgadget: left out to fit the terminal: {} (widen it, or use --csv or --json)",
                    left_out.join(", ")
                );
            }
            // Wrapping columns start at their least width and share what is left, one
            // character at a time, up to their natural width.
            widths = keep.iter().map(|&i| least(i)).collect();
            let mut spare = available.saturating_sub(needed(&keep));
            while spare > 0 {
                let mut grew = false;
                for (at, &i) in keep.iter().enumerate() {
                    if spare > 0 && cols[i].wraps && widths[at] < natural(i) {
                        widths[at] += 1;
                        spare -= 1;
                        grew = true;
                    }
                }
                if !grew {
                    break;
                }
            }
        }
        Layout {
            cols: cols.to_vec(),
            keep,
            widths,
        }
    }

    /// One page of the table: `rows` (all cells of each row, in `cols` order), under the titles
    /// when `first`, without the bottom border, which is returned apart so that pages printed
    /// one after the other read as one table ended by one bottom border.
    pub fn page(&self, rows: &[Vec<String>], first: bool) -> (String, String) {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED);
        table.force_no_tty();
        table.set_content_arrangement(ContentArrangement::Disabled);
        if first {
            table.set_header(self.keep.iter().map(|&i| self.cols[i].title));
        }
        for row in rows {
            table.add_row(self.keep.iter().map(|&i| row[i].as_str()));
        }
        for (at, &i) in self.keep.iter().enumerate() {
            if let Some(column) = table.column_mut(at) {
                if self.cols[i].numeric {
                    column.set_cell_alignment(CellAlignment::Right);
                }
                let width = u16::try_from(self.widths[at] + PADDING).unwrap_or(u16::MAX);
                column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(width)));
            }
        }
        let text = table.to_string();
        let mut lines: Vec<&str> = text.lines().collect();
        let bottom = lines.pop().unwrap_or_default().to_string();
        if !first && !lines.is_empty() {
            lines.remove(0);
        }
        let mut body = lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        (body, bottom)
    }

    /// The whole table of `rows` at once.
    pub fn render(&self, rows: &[Vec<String>]) -> String {
        let (body, bottom) = self.page(rows, true);
        format!("{body}{bottom}")
    }
}

/// The widest cell of each column, and which columns hold anything, over rows seen one by one.
#[derive(Debug, Clone)]
pub struct Widths {
    widest: Vec<usize>,
    empty: Vec<bool>,
}

impl Widths {
    /// Nothing seen yet, for `n` columns.
    pub fn new(n: usize) -> Self {
        Widths {
            widest: vec![0; n],
            empty: vec![true; n],
        }
    }

    /// Takes one row's cells into account.
    pub fn add(&mut self, row: &[String]) {
        for (i, cell) in row.iter().enumerate() {
            self.widest[i] = self.widest[i].max(display_width(cell));
            if !cell.is_empty() && cell != "-" {
                self.empty[i] = false;
            }
        }
    }

    /// The widest cell of each column.
    pub fn widest(&self) -> &[usize] {
        &self.widest
    }

    /// The layout for what was seen; columns with nothing in them are left out.
    pub fn layout(&self, cols: &[Col]) -> Layout {
        Layout::new(cols, &self.widest, &self.empty)
    }
}

/// A table of `rows` under `cols`, every column printed, fitted to the terminal (see
/// [`Layout`]).
pub fn table(cols: &[Col], rows: &[Vec<String>]) -> String {
    let mut widths = Widths::new(cols.len());
    for row in rows {
        widths.add(row);
    }
    Layout::new(cols, &widths.widest, &vec![false; cols.len()]).render(rows)
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
    fn control_characters_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(terminal_safe("iris v2"), "iris v2");
        assert!(matches!(terminal_safe("iris"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_safe("a\u{1b}]0;pwned\u{7}b\u{1b}[2J"),
            "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2J"
        );
        assert_eq!(terminal_safe("tab\there\r\n"), "tab\\there\\r\\n");
        assert_eq!(terminal_safe("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(terminal_safe("abc\u{202e}cba"), "abc\\u{202e}cba");
        assert_eq!(terminal_safe("café ✓"), "café ✓");
        assert_eq!(
            terminal_safe_lines("first \u{1b}[2J\n  second"),
            "first \\u{1b}[2J\n  second"
        );
    }

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
