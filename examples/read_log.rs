//! Reads the power log back with `get_logged_data` and totals it per algorithm, as the seed's
//! users did with pandas.
//!
//! ```text
//! cargo run --example read_log [PATH]
//! ```

use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = match std::env::args_os().nth(1) {
        Some(p) => std::path::PathBuf::from(p),
        None => pgadget::log_path_from_env(),
    };
    let rows = pgadget::get_logged_data(&path)?;
    let mut per_algorithm: BTreeMap<&str, (usize, f64, f64)> = BTreeMap::new();
    for row in &rows {
        let entry = per_algorithm.entry(&row.algorithm).or_default();
        entry.0 += 1;
        entry.1 += row.total_mwh();
        entry.2 += row.co2_g.unwrap_or(0.0);
    }
    println!("{} rows in {}", rows.len(), path.display());
    for (algorithm, (calls, mwh, co2)) in &per_algorithm {
        println!("{algorithm:<20} {calls:>6} calls {mwh:>12.4} mWh {co2:>10.6} gCO2e");
    }
    let total: f64 = rows.iter().map(|r| r.total_mwh()).sum();
    println!("{:<20} {:>6} calls {total:>12.4} mWh", "total", rows.len());
    Ok(())
}
