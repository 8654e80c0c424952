use pgadget::measure_power;

#[measure_power(package = "linfa", algorithm = "RandomForest")]
struct Model {
    trees: usize,
}

#[measure_power(package = "linfa", algorithm = "RandomForest")]
impl Model {
    fn fit(&self) -> usize {
        self.trees
    }
}

trait Fit {
    #[measure_power(package = "linfa", algorithm = "RandomForest")]
    fn fit(&self) -> usize;
}

fn main() {
    let model = Model { trees: 3 };
    let _ = model.fit();
}
