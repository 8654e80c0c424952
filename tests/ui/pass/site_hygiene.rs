//! Field expressions see the function's arguments and the user's items, never the
//! expansion's own names; a field expression that panics writes no row and the body does not
//! run.
#![deny(warnings)]
// The names are the point of this case.
#![allow(clippy::used_underscore_items)]
use pgadget::measure_power;
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "../support/log.rs"]
mod log;

static __PGADGET_SITE: &str = "the user's static";

const fn __pgadget_fn() -> u32 {
    7
}

#[measure_power(
    package = "p",
    algorithm = "names",
    comments = __PGADGET_SITE,
    data_shape = __pgadget_fn() + n
)]
fn names(n: u32) -> u32 {
    n
}

static BODY_RUNS: AtomicU32 = AtomicU32::new(0);

fn checked(n: u32) -> u32 {
    assert!(n > 0, "n must be positive");
    n
}

#[measure_power(package = "p", algorithm = "panicking_field", data_shape = checked(n))]
fn panicking_field(n: u32) -> u32 {
    let _ = BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    n
}

fn main() {
    let path = log::install("site_hygiene");
    assert_eq!(names(1), 1);
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(|| panicking_field(0)).is_err());
    assert_eq!(BODY_RUNS.load(Ordering::SeqCst), 0);
    assert_eq!(panicking_field(2), 2);
    let rows = log::rows(&path);
    assert_eq!(log::functions(&path), ["names", "panicking_field"]);
    assert_eq!(rows[0].comments, "the user's static");
    assert_eq!(rows[0].data_shape, "8");
    assert_eq!(rows[1].data_shape, "2");
}
