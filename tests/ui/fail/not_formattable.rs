// A value with neither Display nor Debug is reported on the expression that gives it.
use pgadget::measure_power;

struct Opaque;

#[measure_power(package = "demo", algorithm = "opaque", data_shape = opaque)]
fn run(opaque: Opaque) {
    let _ = opaque;
}

fn main() {
    run(Opaque);
}
