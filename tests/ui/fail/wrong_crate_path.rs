// `crate = path` that does not lead to pgadget is reported on the path, once.
use pgadget::measure_power;

#[measure_power(package = "demo", algorithm = "run", crate = energy)]
fn run() {}

#[measure_power(package = "demo", algorithm = "std", crate = std, data_shape = 1)]
fn standard() {}

fn main() {
    run();
    standard();
}
