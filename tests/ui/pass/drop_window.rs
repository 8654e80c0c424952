//! The window covers everything a call does, drops included: of the temporaries of the body's
//! last expression, of the arguments taken by value (by name or in a pattern) and of the
//! body's locals. When these temporaries are dropped depends on the edition; this case runs in
//! each.
#![deny(warnings)]
use pgadget::measure_power;
use std::time::Duration;

#[path = "../support/log.rs"]
mod log;

const DROP_TIME: Duration = Duration::from_millis(300);

/// Takes `DROP_TIME` to drop.
struct Slow(u32);

impl Slow {
    const fn weight(&self) -> u32 {
        self.0
    }
}

impl Drop for Slow {
    fn drop(&mut self) {
        std::thread::sleep(DROP_TIME);
    }
}

#[measure_power(package = "p", algorithm = "tail_temporary")]
fn tail_temporary(n: u32) -> u32 {
    n + Slow(1).weight()
}

#[measure_power(package = "p", algorithm = "argument", data_shape = n)]
fn argument(slow: Slow, n: u32) -> u32 {
    n + slow.weight()
}

#[measure_power(package = "p", algorithm = "pattern")]
fn pattern((slow, n): (Slow, u32)) -> u32 {
    n + slow.weight()
}

#[measure_power(package = "p", algorithm = "local")]
fn local(n: u32) -> u32 {
    let slow = Slow(1);
    n + slow.weight()
}

#[measure_power(package = "p", algorithm = "early_return")]
fn early_return(slow: Slow, n: u32) -> u32 {
    if n > 0 {
        return n + Slow(1).weight();
    }
    slow.weight()
}

fn main() {
    let path = log::install("drop_window");
    assert_eq!(tail_temporary(1), 2);
    assert_eq!(argument(Slow(1), 1), 2);
    assert_eq!(pattern((Slow(1), 1)), 2);
    assert_eq!(local(1), 2);
    assert_eq!(early_return(Slow(1), 1), 2);
    let rows = log::rows(&path);
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert!(
            row.elapsed_secs >= DROP_TIME.as_secs_f64(),
            "{}: a {DROP_TIME:?} drop fell outside a window of {} s",
            row.algorithm,
            row.elapsed_secs
        );
    }
    // Two slow drops in the early return: the temporary and the argument.
    assert!(rows[4].elapsed_secs >= 2.0 * DROP_TIME.as_secs_f64());
}
