// A mistake in the body is reported on the body, as without the attribute.
use pgadget::measure_power;

#[measure_power(package = "std", algorithm = "sum", data_shape = values.len())]
fn sum(values: &[u32]) -> u32 {
    let total: u64 = values.iter().map(|v| u64::from(*v)).sum();
    total
}

#[measure_power(package = "std", algorithm = "parse")]
async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = text.parse()?;
    n
}

fn main() {
    sum(&[1, 2]);
    let _ = parse("1");
}
