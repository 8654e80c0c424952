// `crate = std` cannot lead to pgadget: one error on the path, with what to write instead.
use pgadget::measure_power;

#[measure_power(package = "demo", algorithm = "std", crate = std, data_shape = 1)]
fn standard() {}

fn main() {
    standard();
}
