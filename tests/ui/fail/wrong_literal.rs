use pgadget::measure_power;

#[measure_power(package = 3, algorithm = "RandomForest")]
fn number() {}

#[measure_power(package = "linfa", algorithm = RandomForest)]
fn identifier() {}

#[measure_power(package = "linfa", algorithm = "RandomForest", data_type = tabular)]
fn unquoted_data_type() {}

#[measure_power(package = "", algorithm = "RandomForest")]
fn empty() {}

fn main() {
    number();
    identifier();
    unquoted_data_type();
    empty();
}
