use pgadget::measure_power;

#[measure_power(package = "linfa", algorithm = "RandomForest", package = "smartcore")]
fn twice() {}

fn main() {
    twice();
}
