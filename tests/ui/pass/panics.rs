//! A panic still writes its row (Status `panicked`) and keeps unwinding.
#![deny(warnings)]
use pgadget::measure_power;

#[path = "../support/log.rs"]
mod log;

#[measure_power(package = "demo", algorithm = "divide")]
fn divide(a: i32, b: i32) -> i32 {
    assert!(b != 0, "division by zero");
    a / b
}

fn main() {
    let path = log::install("panics");
    std::panic::set_hook(Box::new(|_| {}));
    assert_eq!(divide(6, 3), 2);
    assert!(std::panic::catch_unwind(|| divide(1, 0)).is_err());
    let statuses: Vec<String> = log::rows(&path).into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["ok", "panicked"]);
}
