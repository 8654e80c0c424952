//! An expression field is evaluated exactly once per call, before the body runs.
#![deny(warnings)]
use pgadget::measure_power;
use std::cell::Cell;

#[path = "../support/log.rs"]
mod log;

thread_local! {
    static EVALUATED: Cell<u32> = const { Cell::new(0) };
}

fn note(text: &str) -> String {
    EVALUATED.with(|n| n.set(n.get() + 1));
    text.to_uppercase()
}

#[measure_power(package = "demo", algorithm = "consume", comments = note(&text))]
fn consume(text: String) -> usize {
    // The expression only borrowed `text`; the body still owns it.
    let owned: String = text;
    assert_eq!(EVALUATED.with(Cell::get), 1);
    owned.len()
}

fn main() {
    let path = log::install("once_per_call");
    assert_eq!(consume("abc".to_string()), 3);
    assert_eq!(EVALUATED.with(Cell::get), 1);
    assert_eq!(log::rows(&path)[0].comments, "ABC");
}
