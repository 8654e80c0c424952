//! `PGADGET_DISABLE=1` against the same function without the attribute: the cost of an
//! annotated call when measurement is off. Target: within 5 ns.
//!
//! ```text
//! cargo bench --bench disabled
//! ```

use pgadget::measure_power;
use std::hint::black_box;

fn main() {
    // Read once per process by the runtime, so it must be set before the first measured call,
    // while this is the only thread.
    std::env::set_var("PGADGET_DISABLE", "1");
    // The first call reads the variable; without a warm-up that one slow call makes divan
    // size every sample at a handful of iterations, and the timer's precision swamps them.
    annotated(0);
    divan::main();
}

#[inline(never)]
fn plain(x: u64) -> u64 {
    black_box(x)
}

#[measure_power(package = "bench", algorithm = "disabled", data_shape = x)]
#[inline(never)]
fn annotated(x: u64) -> u64 {
    black_box(x)
}

#[divan::bench]
fn unannotated_call() -> u64 {
    plain(black_box(7))
}

#[divan::bench]
fn annotated_call_disabled() -> u64 {
    annotated(black_box(7))
}
