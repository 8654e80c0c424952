//! Trains a random forest on the iris data set with `#[measure_power]`, then prints the row
//! that call appended to the power log.
//!
//! ```text
//! cargo run --release --example random_forest
//! ```

use linfa::prelude::*;
use linfa_ensemble::{RandomForest, RandomForestParams};
use linfa_trees::DecisionTree;
use pgadget::{get_logged_data, measure_power, PowerMeter};
use rand::rngs::SmallRng;
use rand::SeedableRng;

const TREES: usize = 500;

/// Fits `TREES` decision trees, each on a bootstrap sample of 70% of the rows and 20% of the
/// features. The attribute measures every call and logs one row.
#[measure_power(
    package = "linfa",
    algorithm = "RandomForest",
    data_type = "tabular",
    data_shape = train.records().shape(),
    algorithm_params = format!("trees={TREES}, bootstrap=0.7, features=0.2"),
    comments = "iris, 80/20 split, seed 42"
)]
fn train_forest(
    train: &Dataset<f64, usize, ndarray::Ix1>,
    rng: SmallRng,
) -> Result<RandomForest<f64, usize>, linfa::Error> {
    RandomForestParams::new_fixed_rng(DecisionTree::params(), rng)
        .ensemble_size(TREES)
        .bootstrap_proportion(0.7)
        .feature_proportion(0.2)
        .fit(train)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = SmallRng::seed_from_u64(42);
    let (train, test) = linfa_datasets::iris()
        .shuffle(&mut rng)
        .split_with_ratio(0.8);

    let forest = train_forest(&train, rng)?;
    let accuracy = forest.predict(&test).confusion_matrix(&test)?.accuracy();
    println!(
        "random forest of {TREES} trees: test accuracy {:.1}%",
        100.0 * accuracy
    );

    let log = PowerMeter::global().log_path();
    let rows = get_logged_data(log)?;
    let row = rows.last().ok_or("the log has no row")?;
    println!("\nthe row this run appended to {}:", log.display());
    println!("  Function            {}", row.function);
    println!("  Package/Algorithm   {} / {}", row.package, row.algorithm);
    println!(
        "  Data                {} {} ({})",
        row.data_type, row.data_shape, row.comments
    );
    println!("  Parameters          {}", row.algorithm_params);
    println!(
        "  Elapsed             {:.3} s wall, {:.3} s CPU",
        row.elapsed_secs,
        row.process_cpu_secs.unwrap_or_default()
    );
    println!("  Energy source       {}", row.energy_source);
    let mwh = |v: Option<f64>| v.map_or("not measured".to_string(), |v| format!("{v:.4} mWh"));
    println!("  Package energy      {}", mwh(row.package_mwh));
    println!("  Cores (IA) energy   {}", mwh(row.cores_mwh));
    println!("  DRAM energy         {}", mwh(row.dram_mwh));
    println!("  GPU energy          {}", mwh(row.gpu_mwh));
    println!("  PUE                 {}", row.pue);
    match row.co2_g {
        Some(g) => println!(
            "  CO2                 {g:.6} g ({} {})",
            row.iso, row.country
        ),
        None => println!("  CO2                 not computed (no country)"),
    }
    println!("  Status              {}", row.status);
    Ok(())
}
