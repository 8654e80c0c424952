//! Functions inside `impl Trait for Type` blocks, and a trait's default method.
#![deny(warnings)]
use pgadget::measure_power;
use std::fmt;

#[path = "../support/log.rs"]
mod log;

trait Classifier {
    fn classify(&self, x: f64) -> bool;

    #[measure_power(package = "demo", algorithm = "classify_all", data_shape = xs.len())]
    fn classify_all(&self, xs: &[f64]) -> usize {
        xs.iter().filter(|x| self.classify(**x)).count()
    }
}

struct Threshold(f64);

impl Classifier for Threshold {
    #[measure_power(package = "demo", algorithm = "threshold")]
    fn classify(&self, x: f64) -> bool {
        x > self.0
    }
}

impl fmt::Display for Threshold {
    #[measure_power(package = "demo", algorithm = "display", data_type = "text")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x > {}", self.0)?;
        Ok(())
    }
}

impl Default for Threshold {
    #[measure_power(package = "demo", algorithm = "default")]
    fn default() -> Self {
        Threshold(0.5)
    }
}

fn main() {
    let path = log::install("trait_impl");
    let t = Threshold::default();
    assert_eq!(t.classify_all(&[0.1, 0.9, 0.7]), 2);
    assert_eq!(t.to_string(), "x > 0.5");
    // A row is written when its call returns, so the inner calls come first.
    assert_eq!(
        log::functions(&path),
        [
            "default",
            "classify",
            "classify",
            "classify",
            "classify_all",
            "fmt"
        ]
    );
    let rows = log::rows(&path);
    assert_eq!(rows[4].data_shape, "3");
    assert_eq!(rows[5].data_type, "text");
}
