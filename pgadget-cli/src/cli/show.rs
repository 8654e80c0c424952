//! `pgadget show`: the log's rows, as a table, CSV or JSON.

use super::filter::{LogFilter, Rows};
use super::format::{self, maybe_number, number, Col, OutputFormat};
use super::CliError;
use clap::Args;
use pgadget_runtime::log::{Record, HEADER};

/// Options of `pgadget show`.
#[derive(Args, Debug, Clone)]
pub struct ShowArgs {
    #[command(flatten)]
    pub filter: LogFilter,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// Prints the selected rows, most recent last.
pub fn run(args: &ShowArgs) -> Result<(), CliError> {
    let rows = args.filter.load()?;
    if args.output.csv {
        print_csv(&rows.records)
    } else if args.output.json {
        format::print_json(&rows.records)
    } else if rows.records.is_empty() {
        eprintln!("{}", nothing_to_show(&rows, &args.filter));
        Ok(())
    } else {
        format::print(&render_table(&rows.records))
    }
}

/// Says why there is nothing to show.
pub fn nothing_to_show(rows: &Rows, filter: &LogFilter) -> String {
    if rows.total == 0 {
        format!("pgadget: {} holds no rows yet", rows.source)
    } else if filter.is_filtering() {
        format!(
            "pgadget: none of the {} rows of {} match the filters",
            rows.total, rows.source
        )
    } else {
        format!("pgadget: {} holds no rows", rows.source)
    }
}

/// Full rows under the log's exact header, readable by `read_log`.
fn print_csv(records: &[Record]) -> Result<(), CliError> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(std::io::stdout().lock());
    w.write_record(HEADER).map_err(format::csv_error)?;
    for r in records {
        w.serialize(r).map_err(format::csv_error)?;
    }
    w.flush().map_err(CliError::stdout)
}

/// A column of the table and its cell for a row.
struct Column {
    col: Col,
    cell: fn(&Record) -> String,
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
        cell: |r| r.project.clone(),
    },
    Column {
        col: col("Algorithm", false, true, 9),
        cell: |r| match (r.package.is_empty(), r.algorithm.is_empty()) {
            (false, false) => format!("{}/{}", r.package, r.algorithm),
            (true, _) => r.algorithm.clone(),
            (false, true) => r.package.clone(),
        },
    },
    Column {
        col: col("Function", false, true, 1),
        cell: |r| r.function.clone(),
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
        cell: |r| r.energy_source.clone(),
    },
    Column {
        col: col("Status", false, false, 8),
        cell: |r| r.status.clone(),
    },
];

/// Columns whose every cell would be empty or `-` (no GPU, no function names, ...) are left
/// out to save width.
fn render_table(records: &[Record]) -> String {
    let cells: Vec<Vec<String>> = records
        .iter()
        .map(|r| COLUMNS.iter().map(|c| (c.cell)(r)).collect())
        .collect();
    let keep: Vec<usize> = (0..COLUMNS.len())
        .filter(|&i| cells.iter().any(|row| !row[i].is_empty() && row[i] != "-"))
        .collect();
    let cols: Vec<Col> = keep.iter().map(|&i| COLUMNS[i].col).collect();
    let rows: Vec<Vec<String>> = cells
        .into_iter()
        .map(|row| keep.iter().map(|&i| row[i].clone()).collect())
        .collect();
    format::table(&cols, &rows).to_string()
}
