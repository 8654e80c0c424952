use pgadget::measure_power;

#[measure_power(algorithm = "RandomForest")]
fn no_package() {}

#[measure_power(package = "linfa", data_type = "image")]
fn no_algorithm() {}

#[measure_power]
fn nothing() {}

fn main() {
    no_package();
    no_algorithm();
    nothing();
}
