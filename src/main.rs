//! The `pgadget` command line.

use clap::Parser;

/// Measure and inspect the energy and CO2 of Rust code.
#[derive(Parser, Debug)]
#[command(name = "pgadget", version, about)]
enum Cli {
    /// Show which energy sources this machine offers, and why others are unavailable.
    Doctor,
}

fn main() -> std::process::ExitCode {
    match Cli::parse() {
        Cli::Doctor => {
            let meter = pgadget::PowerMeter::builder().get_country(false).build();
            match meter {
                Ok(m) => {
                    println!("energy source: {}", m.energy_source());
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("pgadget: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
