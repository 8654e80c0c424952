//! A decision tree on the wine-quality data set, measured with `#[measure_power]`, once per
//! depth so that the log shows how energy grows with the model.
//!
//! ```text
//! cargo run --release --example decision_tree
//! ```

use linfa::prelude::*;
use linfa_trees::DecisionTree;
use pgadget::measure_power;

#[measure_power(
    package = "linfa",
    algorithm = "DecisionTree",
    data_shape = train.records().shape(),
    algorithm_params = format!("max_depth={depth}"),
    comments = "winequality, 90/10 split"
)]
fn fit_tree(
    train: &Dataset<f64, usize, ndarray::Ix1>,
    depth: usize,
) -> Result<DecisionTree<f64, usize>, linfa::Error> {
    DecisionTree::params().max_depth(Some(depth)).fit(train)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (train, test) = linfa_datasets::winequality().split_with_ratio(0.9);
    for depth in [2, 4, 8, 16] {
        let tree = fit_tree(&train, depth)?;
        let accuracy = tree.predict(&test).confusion_matrix(&test)?.accuracy();
        println!(
            "max_depth={depth:>2}: test accuracy {:.1}%",
            100.0 * accuracy
        );
    }
    println!(
        "4 rows appended to {}",
        pgadget::PowerMeter::global().log_path().display()
    );
    Ok(())
}
