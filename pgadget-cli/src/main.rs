//! The `pgadget` command line.

#![deny(missing_docs)]

mod cli;

use clap::Parser;
use cli::CliError;
use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::energy::{doctor, SourceConfig};
use std::process::ExitCode;

/// Measure and inspect the energy and CO2 of Rust code.
#[derive(Parser, Debug)]
#[command(name = "pgadget", version, about)]
enum Cli {
    /// Show which energy sources this machine offers, and why others are unavailable.
    /// Exits with status 1 when only the CPU-time estimate is available.
    Doctor,
    /// Show the logged measurements, most recent last (a table, or --csv / --json).
    Show(cli::show::ShowArgs),
    /// Add up calls, energy, CO2 and time per algorithm, package, project, function or day,
    /// the most energy first.
    Summary(cli::summary::SummaryArgs),
    /// Draw energy (stacked by domain) and CO2 per group as an SVG bar chart.
    Plot(cli::plot::PlotArgs),
    /// Run a command, measure it as a whole and log one row for it; exits with the
    /// command's exit status.
    Run(cli::run::RunArgs),
    /// Upload the rows of a log that the PostgreSQL table pgadget_rows lacks (rows already
    /// there are not added twice).
    Push(cli::push::PushArgs),
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::Doctor => {
            let env = EnvConfig::from_env();
            let config = SourceConfig::from_env(&env, None, None);
            for problem in env.problems.iter().chain(&config.problems()) {
                eprintln!("pgadget: {problem}");
            }
            // The report opens with the features this binary was built with.
            let report = doctor::report(&config);
            print!("{}", report.text);
            if report.only_estimate {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Cli::Show(args) => finish(cli::show::run(&args)),
        Cli::Summary(args) => finish(cli::summary::run(&args)),
        Cli::Plot(args) => finish(cli::plot::run(&args)),
        Cli::Run(args) => cli::run::run(&args).unwrap_or_else(|e| failure(&e)),
        Cli::Push(args) => finish(cli::push::run(&args)),
    }
}

fn finish(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failure(&e),
    }
}

fn failure(e: &CliError) -> ExitCode {
    if !e.is_quiet() {
        // Messages can quote the log (a path, a cell): nothing in them may drive the terminal.
        eprintln!(
            "pgadget: {}",
            cli::format::terminal_safe_lines(&e.to_string())
        );
    }
    ExitCode::FAILURE
}
