use pgadget::measure_power;

#[measure_power(package = "std", algorithm = "square")]
pub const fn square(x: u64) -> u64 {
    x * x
}

const NINE: u64 = square(3);

fn main() {
    assert_eq!(NINE, 9);
}
