use pgadget::measure_power;

#[measure_power(package = "linfa", algoritm = "RandomForest")]
fn typo() {}

#[measure_power(package = "linfa", algorithm = "RandomForest", shape = "150x4")]
fn part_of_a_key() {}

#[measure_power(package = "linfa", algorithm = "RandomForest", speed = "fast")]
fn no_suggestion() {}

fn main() {
    // The functions stay as written: no second error comes from calling them.
    typo();
    part_of_a_key();
    no_suggestion();
}
