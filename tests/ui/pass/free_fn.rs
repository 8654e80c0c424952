//! A free function with every key; expressions are formatted with Display, else Debug.
#![deny(warnings)]
use pgadget::measure_power;

#[path = "../support/log.rs"]
mod log;

struct Matrix {
    rows: usize,
    cols: usize,
}

impl Matrix {
    const fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }
}

#[measure_power(
    package = "linfa",
    algorithm = "RandomForest",
    data_type = "time series",
    data_shape = x.shape(),
    algorithm_params = format!("trees={trees}"),
    comments = "first run",
    project_name = "iris",
)]
fn train(x: &Matrix, trees: u32) -> usize {
    x.rows * x.cols * trees as usize
}

#[measure_power(package = "std", algorithm = "sum")]
fn sum(n: u64) -> u64 {
    (0..n).sum()
}

fn main() {
    let path = log::install("free_fn");
    let x = Matrix {
        rows: 7000,
        cols: 64,
    };
    assert_eq!(train(&x, 3), 7000 * 64 * 3);
    assert_eq!(sum(4), 6);

    let rows = log::rows(&path);
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.package, "linfa");
    assert_eq!(r.algorithm, "RandomForest");
    assert_eq!(r.data_type, "time series");
    assert_eq!(r.data_shape, "[7000, 64]");
    assert_eq!(r.algorithm_params, "trees=3");
    assert_eq!(r.comments, "first run");
    assert_eq!(r.project, "iris");
    assert_eq!(r.status, "ok");
    assert!(r.function.ends_with("::train"), "{}", r.function);
    let r = &rows[1];
    assert_eq!((r.package.as_str(), r.algorithm.as_str()), ("std", "sum"));
    assert_eq!(r.data_type, "tabular");
    assert_eq!(
        (r.data_shape.as_str(), r.algorithm_params.as_str()),
        ("", "")
    );
    assert!(r.function.ends_with("::sum"), "{}", r.function);
    // Without project_name, the crate that defines the function names the project.
    assert!(!r.project.is_empty());
}
