//! `pgadget show`: the log's rows, as a table, CSV or JSON, streamed: the output starts before
//! the log is read to its end, and memory does not grow with the log.

use super::filter::{LogFilter, OpenLog, ReadOptions, Scan};
use super::format::{self, maybe_number, number, terminal_safe, Col, Layout, OutputFormat, Widths};
use super::CliError;
use clap::Args;
use pgadget_runtime::log::{RecordRef, HEADER};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};
use std::cell::RefCell;
use std::io::{StdoutLock, Write};

/// Options of `pgadget show`.
#[derive(Args, Debug, Clone)]
pub struct ShowArgs {
    #[command(flatten)]
    pub filter: LogFilter,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// Prints the selected rows in the order they were written.
pub fn run(args: &ShowArgs) -> Result<(), CliError> {
    let mut log = args.filter.open()?;
    if args.output.csv {
        print_csv(&args.filter, &mut log)
    } else if args.output.json {
        print_json(&args.filter, &mut log)
    } else {
        print_table(&args.filter, &mut log)
    }
}

/// Says why there is nothing to show.
pub fn nothing_to_show(scan: &Scan, filter: &LogFilter) -> String {
    let path = format::terminal_safe_lines(&scan.source);
    if scan.total == 0 && scan.skipped > 0 {
        format!(
            "pgadget: none of the {} rows of {path} could be read (see the warnings above)",
            scan.skipped
        )
    } else if scan.total == 0 {
        format!("pgadget: {path} holds no rows yet")
    } else if filter.is_filtering() {
        format!(
            "pgadget: none of the {} rows of {path} match the filters",
            scan.total
        )
    } else {
        format!("pgadget: {path} holds no rows")
    }
}

/// Full rows under the log's exact header, readable by `read_log`.
fn print_csv(filter: &LogFilter, log: &mut OpenLog) -> Result<(), CliError> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(std::io::stdout().lock());
    w.write_record(HEADER).map_err(format::csv_error)?;
    filter.scan(log, ReadOptions::default(), |row| {
        w.serialize(row).map_err(format::csv_error)
    })?;
    w.flush().map_err(CliError::stdout)
}

/// The selected rows as one JSON array, written as they are read.
struct JsonRows<'a> {
    filter: &'a LogFilter,
    log: RefCell<&'a mut OpenLog>,
    /// Why reading stopped, when it was the log (not the output) that failed.
    failed: RefCell<Option<CliError>>,
}

impl Serialize for JsonRows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut output_error = None;
        let mut log = self.log.borrow_mut();
        let scan = self.filter.scan(&mut log, ReadOptions::default(), |row| {
            seq.serialize_element(row).map_err(|e| {
                output_error = Some(e);
                CliError::new("")
            })
        });
        if let Some(e) = output_error {
            return Err(e);
        }
        if let Err(e) = scan {
            *self.failed.borrow_mut() = Some(e);
            return Err(S::Error::custom("the log could not be read"));
        }
        seq.end()
    }
}

fn print_json(filter: &LogFilter, log: &mut OpenLog) -> Result<(), CliError> {
    let rows = JsonRows {
        filter,
        log: RefCell::new(log),
        failed: RefCell::new(None),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, &rows);
    if let Some(e) = rows.failed.into_inner() {
        let _ = out.flush();
        return Err(e);
    }
    written.map_err(|e| match e.io_error_kind() {
        Some(kind) => CliError::stdout(kind.into()),
        None => CliError::new(format!("cannot write JSON: {e}")),
    })?;
    writeln!(out)
        .and_then(|_| out.flush())
        .map_err(CliError::stdout)
}

/// How many rows are laid out and printed at a time.
const PAGE_ROWS: usize = 256;

/// The table, printed a page at a time. With `--last N`, the N rows are all in memory anyway:
/// one pass, one page. From a file, a first pass finds how wide each column must be and which
/// columns hold anything; the second prints the same rows. A pipe can be read only once: the
/// first page sets the widths (longer cells wrap) and every column is printed.
fn print_table(filter: &LogFilter, log: &mut OpenLog) -> Result<(), CliError> {
    let cols = COLUMNS.map(|c| c.col);
    let mut pager = Pager::new(&cols);
    let progress = ReadOptions {
        progress: true,
        ..ReadOptions::default()
    };
    let scan = if filter.last.is_some() {
        let mut rows = Vec::new();
        let mut widths = Widths::new(COLUMNS.len());
        let scan = filter.scan(log, progress, |row| {
            let cells = cells(row);
            widths.add(&cells);
            rows.push(cells);
            Ok(())
        })?;
        pager.layout = Some(widths.layout(&cols));
        for row in rows {
            pager.push(row)?;
        }
        scan
    } else if log.rereadable() {
        let mut widths = Widths::new(COLUMNS.len());
        let scan = filter.scan(log, progress, |row| {
            widths.add(&cells(row));
            Ok(())
        })?;
        if scan.kept > 0 {
            pager.layout = Some(widths.layout(&cols));
            let again = ReadOptions {
                quiet: true,
                again: Some(scan.bytes),
                ..ReadOptions::default()
            };
            filter.scan(log, again, |row| pager.push(cells(row)))?;
        }
        scan
    } else {
        filter.scan(log, ReadOptions::default(), |row| pager.push(cells(row)))?
    };
    if scan.kept == 0 {
        eprintln!("{}", nothing_to_show(&scan, filter));
        return Ok(());
    }
    pager.finish()
}

/// Prints a table a page at a time, so that only a page of rows is ever held.
struct Pager<'a> {
    cols: &'a [Col],
    layout: Option<Layout>,
    rows: Vec<Vec<String>>,
    first: bool,
    bottom: String,
    out: StdoutLock<'static>,
}

impl<'a> Pager<'a> {
    fn new(cols: &'a [Col]) -> Self {
        Pager {
            cols,
            layout: None,
            rows: Vec::with_capacity(PAGE_ROWS),
            first: true,
            bottom: String::new(),
            out: std::io::stdout().lock(),
        }
    }

    fn push(&mut self, row: Vec<String>) -> Result<(), CliError> {
        self.rows.push(row);
        if self.rows.len() == PAGE_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), CliError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let (cols, rows) = (self.cols, &self.rows);
        let layout = self.layout.get_or_insert_with(|| {
            let mut widths = Widths::new(cols.len());
            for row in rows {
                widths.add(row);
            }
            Layout::new(cols, widths.widest(), &vec![false; cols.len()])
        });
        let (body, bottom) = layout.page(&self.rows, self.first);
        self.out
            .write_all(body.as_bytes())
            .map_err(CliError::stdout)?;
        self.bottom = bottom;
        self.first = false;
        self.rows.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<(), CliError> {
        self.flush()?;
        if !self.first {
            writeln!(self.out, "{}", self.bottom).map_err(CliError::stdout)?;
        }
        self.out.flush().map_err(CliError::stdout)
    }
}

/// The table's cells of `row`, made safe for a terminal.
fn cells(row: &RecordRef<'_>) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|c| {
            let cell = (c.cell)(row);
            match terminal_safe(&cell) {
                std::borrow::Cow::Borrowed(_) => cell,
                std::borrow::Cow::Owned(safe) => safe,
            }
        })
        .collect()
}

/// A column of the table and its cell for a row.
struct Column {
    col: Col,
    cell: fn(&RecordRef<'_>) -> String,
}

const fn col(title: &'static str, numeric: bool, wraps: bool, priority: u8) -> Col {
    Col {
        title,
        numeric,
        wraps,
        priority,
    }
}

/// The columns a terminal has room for: when, what, how long, how much, how measured. On a
/// narrow terminal the function name goes first, then the source, the per-domain energies...
const COLUMNS: [Column; 12] = [
    Column {
        col: col("Datetime", false, false, 10),
        cell: |r| r.datetime.format("%Y-%m-%d %H:%M:%S").to_string(),
    },
    Column {
        col: col("Project", false, true, 6),
        cell: |r| r.project.to_string(),
    },
    Column {
        col: col("Algorithm", false, true, 9),
        cell: |r| match (r.package.is_empty(), r.algorithm.is_empty()) {
            (false, false) => format!("{}/{}", r.package, r.algorithm),
            (true, _) => r.algorithm.to_string(),
            (false, true) => r.package.to_string(),
        },
    },
    Column {
        col: col("Function", false, true, 1),
        cell: |r| r.function.to_string(),
    },
    Column {
        col: col("Elapsed\n(s)", true, false, 5),
        cell: |r| number(r.elapsed_secs),
    },
    Column {
        col: col("CPU\n(mWh)", true, false, 4),
        cell: |r| maybe_number(r.package_mwh.or(r.cores_mwh)),
    },
    Column {
        col: col("DRAM\n(mWh)", true, false, 3),
        cell: |r| maybe_number(r.dram_mwh),
    },
    Column {
        col: col("GPU\n(mWh)", true, false, 3),
        cell: |r| maybe_number(r.gpu_mwh),
    },
    Column {
        col: col("Total\n(mWh)", true, false, 9),
        cell: |r| number(r.total_mwh()),
    },
    Column {
        col: col("CO2\n(g)", true, false, 7),
        cell: |r| maybe_number(r.co2_g),
    },
    Column {
        col: col("Source", false, false, 2),
        cell: |r| r.energy_source.to_string(),
    },
    Column {
        col: col("Status", false, false, 8),
        cell: |r| r.status.to_string(),
    },
];
