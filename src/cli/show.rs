//! `pgadget show`: the log's rows, as a table, CSV or JSON.

use super::filter::{LogFilter, Rows};
use super::format::{self, maybe_number, number, OutputFormat};
use super::CliError;
use clap::Args;
use pgadget::runtime::log::{Record, HEADER};

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
        format!("pgadget: {} holds no rows yet", rows.path.display())
    } else if filter.is_filtering() {
        format!(
            "pgadget: none of the {} rows of {} match the filters",
            rows.total,
            rows.path.display()
        )
    } else {
        format!("pgadget: {} holds no rows", rows.path.display())
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

/// One column of the table: its title, whether it holds numbers, and its cell for a row.
struct Column {
    title: &'static str,
    numeric: bool,
    cell: fn(&Record) -> String,
}

/// The columns a terminal has room for: when, what, how long, how much, how measured.
const COLUMNS: [Column; 12] = [
    Column {
        title: "Datetime",
        numeric: false,
        cell: |r| r.datetime.format("%Y-%m-%d %H:%M:%S").to_string(),
    },
    Column {
        title: "Project",
        numeric: false,
        cell: |r| r.project.clone(),
    },
    Column {
        title: "Algorithm",
        numeric: false,
        cell: |r| match (r.package.is_empty(), r.algorithm.is_empty()) {
            (false, false) => format!("{}/{}", r.package, r.algorithm),
            (true, _) => r.algorithm.clone(),
            (false, true) => r.package.clone(),
        },
    },
    Column {
        title: "Function",
        numeric: false,
        cell: |r| r.function.clone(),
    },
    Column {
        title: "Elapsed (s)",
        numeric: true,
        cell: |r| number(r.elapsed_secs),
    },
    Column {
        title: "CPU (mWh)",
        numeric: true,
        cell: |r| maybe_number(r.package_mwh.or(r.cores_mwh)),
    },
    Column {
        title: "DRAM (mWh)",
        numeric: true,
        cell: |r| maybe_number(r.dram_mwh),
    },
    Column {
        title: "GPU (mWh)",
        numeric: true,
        cell: |r| maybe_number(r.gpu_mwh),
    },
    Column {
        title: "Total (mWh)",
        numeric: true,
        cell: |r| number(r.total_mwh()),
    },
    Column {
        title: "CO2 (g)",
        numeric: true,
        cell: |r| maybe_number(r.co2_g),
    },
    Column {
        title: "Source",
        numeric: false,
        cell: |r| r.energy_source.clone(),
    },
    Column {
        title: "Status",
        numeric: false,
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
    let titles: Vec<&str> = keep.iter().map(|&i| COLUMNS[i].title).collect();
    let numeric: Vec<bool> = keep.iter().map(|&i| COLUMNS[i].numeric).collect();
    let mut table = format::table(&titles, &numeric);
    for row in cells {
        table.add_row(keep.iter().map(|&i| row[i].clone()));
    }
    table.to_string()
}
