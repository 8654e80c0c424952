//! With `PGADGET_DISABLE=1` the function runs as if unannotated: no expression is evaluated
//! and no row is written.
#![deny(warnings)]
use pgadget::measure_power;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "../support/log.rs"]
mod log;

static EVALUATED: AtomicU32 = AtomicU32::new(0);

fn shape(n: usize) -> usize {
    let _ = EVALUATED.fetch_add(1, Ordering::SeqCst);
    n
}

#[measure_power(package = "demo", algorithm = "work", data_shape = shape(n))]
fn work(n: usize) -> usize {
    n * 2
}

fn main() {
    // The variable is read once per process: this case runs itself again with it set.
    if std::env::var_os("PGADGET_DISABLE").is_none() {
        let status = Command::new(std::env::current_exe().expect("the running binary"))
            .env("PGADGET_DISABLE", "1")
            .status()
            .expect("the case runs again");
        assert_eq!(status.code(), Some(0), "the disabled run failed");
        return;
    }
    let path = log::install("disabled");
    assert_eq!(work(21), 42);
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
    assert!(!path.exists(), "a disabled meter wrote {}", path.display());
}
