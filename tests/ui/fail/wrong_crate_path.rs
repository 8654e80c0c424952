// `crate = path` that does not lead to pgadget is reported on the path.
use pgadget::measure_power;

#[measure_power(package = "demo", algorithm = "run", crate = energy)]
fn run() {}

fn main() {
    run();
}
