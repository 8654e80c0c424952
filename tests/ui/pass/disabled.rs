// With PGADGET_DISABLE=1 the function runs as if unannotated: no expression is evaluated
// and no row is written.
#![deny(warnings)]
use pgadget::measure_power;
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "../support/log.rs"]
mod log;

static EVALUATED: AtomicU32 = AtomicU32::new(0);

fn shape(n: usize) -> usize {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    n
}

#[measure_power(package = "demo", algorithm = "work", data_shape = shape(n))]
fn work(n: usize) -> usize {
    n * 2
}

fn main() {
    // Set before anything reads it, on the only thread: this process is the test.
    std::env::set_var("PGADGET_DISABLE", "1");
    let path = log::install("disabled");
    assert_eq!(work(21), 42);
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
    assert!(!path.exists(), "a disabled meter wrote {}", path.display());
}
