//! `pgadget summary`: calls, energy, CO2 and time per group of rows.

use super::filter::{LogFilter, ReadOptions, Scan};
use super::format::{self, maybe_number, number, terminal_safe, Col, OutputFormat};
use super::group::{self, By, Group, Summary};
use super::CliError;
use clap::Args;

/// Options of `pgadget summary`.
#[derive(Args, Debug, Clone)]
pub struct SummaryArgs {
    /// What to group the rows by
    #[arg(long, value_enum, default_value = "algorithm")]
    pub by: By,
    #[command(flatten)]
    pub filter: LogFilter,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// Prints one line per group, the most energy first. The log is read one row at a time into
/// one accumulator per group.
pub fn run(args: &SummaryArgs) -> Result<(), CliError> {
    let (summary, scan) = summarise(&args.filter, args.by)?;
    let groups = summary.finish();
    if args.output.csv {
        print_csv(&groups)
    } else if args.output.json {
        format::print_json(&groups)
    } else if groups.is_empty() {
        eprintln!("{}", super::show::nothing_to_show(&scan, &args.filter));
        Ok(())
    } else {
        format::print(&render_table(&groups, args.by))
    }
}

/// Reads the rows `filter` selects (with a progress bar) into one accumulator per group; what
/// `summary` prints and `plot` draws.
pub(super) fn summarise(filter: &LogFilter, by: By) -> Result<(Summary, Scan), CliError> {
    let mut log = filter.open()?;
    let mut summary = Summary::new(by);
    let options = ReadOptions {
        progress: true,
        ..ReadOptions::default()
    };
    let scan = filter.scan(&mut log, options, |row| {
        summary.add(row);
        Ok(())
    })?;
    Ok((summary, scan))
}

fn print_csv(groups: &[Group]) -> Result<(), CliError> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    for g in groups {
        w.serialize(g).map_err(format::csv_error)?;
    }
    if groups.is_empty() {
        // serde writes the header with the first row; an empty summary still has columns.
        w.write_record(CSV_HEADER).map_err(format::csv_error)?;
    }
    w.flush().map_err(CliError::stdout)
}

/// The CSV header, as serde writes it from [`Group`]'s fields.
const CSV_HEADER: [&str; 11] = [
    "group",
    "calls",
    "energy_mwh",
    "mean_energy_mwh",
    "cpu_mwh",
    "dram_mwh",
    "gpu_mwh",
    "co2_g",
    "calls_without_co2",
    "elapsed_secs",
    "mean_elapsed_secs",
];

fn render_table(groups: &[Group], by: By) -> String {
    let col = |title, numeric, priority| Col {
        title,
        numeric,
        wraps: !numeric,
        priority,
    };
    let cols = [
        col(by.title(), false, 9),
        col("Calls", true, 8),
        col("Energy\n(mWh)", true, 9),
        col("Mean\n(mWh)", true, 6),
        col("CO2\n(g)", true, 7),
        col("Time\n(s)", true, 5),
        col("Mean time\n(s)", true, 4),
    ];
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            // CO2 that leaves rows out says so: `1.2 (3 without)`.
            let co2 = match (g.co2_g, g.calls_without_co2) {
                (Some(c), 0) => number(c),
                (Some(c), n) => format!("{} ({n} without)", number(c)),
                (None, _) => maybe_number(None),
            };
            vec![
                terminal_safe(group::display_name(&g.group)).into_owned(),
                g.calls.to_string(),
                number(g.energy_mwh),
                number(g.mean_energy_mwh),
                co2,
                number(g.elapsed_secs),
                number(g.mean_elapsed_secs),
            ]
        })
        .collect();
    format::table(&cols, &rows).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_csv_header_matches_what_serde_writes() {
        let g = Group {
            calls: 1,
            calls_without_co2: 1,
            ..Group::new(String::new())
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(&g).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next().unwrap(), CSV_HEADER.join(","));
    }
}
