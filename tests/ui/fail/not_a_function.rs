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

extern "C" {
    #[measure_power(package = "libc", algorithm = "abs")]
    fn abs(x: i32) -> i32;
}

#[measure_power(package = "libc", algorithm = "abs")]
extern "C" {
    fn labs(x: i64) -> i64;
}

fn main() {
    let model = Model { trees: 3 };
    let _ = model.fit();
    // SAFETY: abs and labs are defined for every input.
    let _ = unsafe { (abs(-1), labs(-1)) };
}
