use pgadget::measure_power;

#[measure_power(package "linfa", algorithm = "RandomForest")]
fn no_equals() {}

#[measure_power(package = "linfa" algorithm = "RandomForest")]
fn no_comma() {}

#[measure_power(package = "linfa", algorithm = "RandomForest", crate = "pgadget")]
fn crate_as_string() {}

#[measure_power("linfa", "RandomForest")]
fn positional() {}

fn main() {
    no_equals();
    no_comma();
    crate_as_string();
    positional();
}
