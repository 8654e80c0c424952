//! The closure API and the guard: measure code that is not a function of its own.
//!
//! ```text
//! cargo run --example closure
//! ```

use pgadget::{DataType, Metadata, PowerMeter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let meter = PowerMeter::builder()
        .project_name("closure example")
        .build()?;

    // A closure: its result comes back, one row is logged.
    let primes = meter.measure_power(
        Metadata::new("std", "sieve")
            .data_type(DataType::Other)
            .data_shape("2..2000000"),
        || sieve(2_000_000),
    );
    println!("{} primes below 2,000,000", primes.len());

    // A stretch of code: the window is open while the guard lives.
    let window = meter.start(Metadata::new("std", "sort").data_shape(format!("{}", primes.len())));
    let mut reversed = primes.clone();
    reversed.reverse();
    reversed.sort_unstable();
    let row = window.finish();
    if let Some(row) = row {
        println!(
            "sorting took {:.4} s and {} mWh ({})",
            row.elapsed_secs,
            row.package_mwh
                .map_or("unmeasured".into(), |v| format!("{v:.5}")),
            row.energy_source
        );
    }
    println!("rows appended to {}", meter.log_path().display());
    Ok(())
}

fn sieve(n: usize) -> Vec<usize> {
    let mut composite = vec![false; n];
    let mut primes = Vec::new();
    for i in 2..n {
        if !composite[i] {
            primes.push(i);
            let mut j = i * i;
            while j < n {
                composite[j] = true;
                j += i;
            }
        }
    }
    primes
}
