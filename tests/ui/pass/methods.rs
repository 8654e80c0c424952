//! Methods taking `&self`, `&mut self` and `self`, and an associated function.
#![deny(warnings)]
use pgadget::measure_power;

#[path = "../support/log.rs"]
mod log;

/// A model with one weight per feature.
#[derive(Debug)]
pub struct Model {
    weights: Vec<u32>,
}

impl Model {
    /// A model of `n` features.
    #[measure_power(package = "demo", algorithm = "new", data_shape = n)]
    pub fn new(n: usize) -> Self {
        Self {
            weights: vec![1; n],
        }
    }

    /// The prediction for `x`.
    #[measure_power(package = "demo", algorithm = "predict", data_shape = self.weights.len())]
    pub fn predict(&self, x: u32) -> u32 {
        self.weights.iter().map(|w| w * x).sum()
    }

    /// One step of training.
    #[measure_power(package = "demo", algorithm = "fit", comments = rate)]
    pub fn fit(&mut self, rate: u32) -> &mut Self {
        for w in &mut self.weights {
            *w += rate;
        }
        self
    }

    /// The trained weights.
    #[measure_power(package = "demo", algorithm = "into_weights", data_shape = self.weights.len())]
    pub fn into_weights(self) -> Vec<u32> {
        self.weights
    }
}

fn main() {
    let path = log::install("methods");
    let mut model = Model::new(4);
    assert_eq!(model.predict(2), 8);
    assert_eq!(model.fit(1).fit(2).weights.len(), 4);
    assert_eq!(model.into_weights(), vec![4; 4]);

    assert_eq!(
        log::functions(&path),
        ["new", "predict", "fit", "fit", "into_weights"]
    );
    let rows = log::rows(&path);
    assert_eq!(rows[0].data_shape, "4");
    assert_eq!(rows[1].data_shape, "4");
    assert_eq!(rows[2].comments, "1");
    assert_eq!(rows[3].comments, "2");
    assert!(rows.iter().all(|r| r.status == "ok"));
}
