//! The `pgadget` command line.

use clap::Parser;
use pgadget::runtime::config::EnvConfig;
use pgadget::runtime::energy::{doctor, SourceConfig};
use std::process::ExitCode;

/// Measure and inspect the energy and CO2 of Rust code.
#[derive(Parser, Debug)]
#[command(name = "pgadget", version, about)]
enum Cli {
    /// Show which energy sources this machine offers, and why others are unavailable.
    /// Exits with status 1 when only the CPU-time estimate is available.
    Doctor,
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::Doctor => {
            let env = EnvConfig::from_env();
            for problem in &env.problems {
                eprintln!("pgadget: {problem}");
            }
            let report = doctor::report(&SourceConfig::from_env(&env, None, None));
            print!("{}", report.text);
            if report.only_estimate {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
