// Methods taking `&self`, `&mut self` and `self`, and an associated function.
#![deny(warnings)]
use pgadget::measure_power;

#[path = "../support/log.rs"]
mod log;

#[derive(Debug)]
pub struct Model {
    weights: Vec<f64>,
}

impl Model {
    #[measure_power(package = "demo", algorithm = "new", data_shape = n)]
    pub fn new(n: usize) -> Self {
        Model {
            weights: vec![0.5; n],
        }
    }

    #[measure_power(package = "demo", algorithm = "predict", data_shape = self.weights.len())]
    pub fn predict(&self, x: f64) -> f64 {
        self.weights.iter().map(|w| w * x).sum()
    }

    #[measure_power(package = "demo", algorithm = "fit", comments = rate)]
    pub fn fit(&mut self, rate: f64) -> &mut Self {
        for w in &mut self.weights {
            *w += rate;
        }
        self
    }

    #[measure_power(package = "demo", algorithm = "into_weights", data_shape = self.weights.len())]
    pub fn into_weights(self) -> Vec<f64> {
        self.weights
    }
}

fn main() {
    let path = log::install("methods");
    let mut model = Model::new(4);
    assert_eq!(model.predict(2.0), 4.0);
    model.fit(0.5).fit(1.0);
    assert_eq!(model.into_weights(), vec![2.0; 4]);

    assert_eq!(
        log::functions(&path),
        ["new", "predict", "fit", "fit", "into_weights"]
    );
    let rows = log::rows(&path);
    assert_eq!(rows[0].data_shape, "4");
    assert_eq!(rows[1].data_shape, "4");
    assert_eq!(rows[2].comments, "0.5");
    assert_eq!(rows[3].comments, "1");
    assert!(rows.iter().all(|r| r.status == "ok"));
}
