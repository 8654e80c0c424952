// A function returning a future is measured over the future's run, by wrapping its last
// expression; what the attribute cannot wrap is refused rather than timed while the future is
// built.
use pgadget::measure_power;
use std::future::Future;
use std::pin::Pin;

#[measure_power(package = "demo", algorithm = "inside")]
fn inside(n: u32) -> Result<impl Future<Output = u32>, String> {
    Ok(async move { n })
}

#[measure_power(package = "demo", algorithm = "early")]
fn early(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    if n == 0 {
        return Box::pin(async { 0 });
    }
    Box::pin(async move { n })
}

fn main() {
    let _ = inside(1);
    let _ = early(1);
}
