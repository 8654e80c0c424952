//! One-line bodies, empty bodies and bodies that are a single block: the expansion adds no
//! warning of its own (`unused_braces` was one), so a crate built with `-D warnings` builds.
#![deny(warnings, unused_braces)]
use pgadget::measure_power;

#[path = "../support/log.rs"]
mod log;

#[measure_power(package = "p", algorithm = "a")]
fn g(x: u32) -> u32 { x + 1 }

#[measure_power(package = "p", algorithm = "empty")]
fn empty() {}

#[measure_power(package = "p", algorithm = "literal")]
fn literal() -> &'static str { "one" }

#[measure_power(package = "p", algorithm = "block", data_shape = x)]
fn block(x: u32) -> u32 {
    {
        x * 2
    }
}

#[measure_power(package = "p", algorithm = "statement")]
fn statement(v: &mut Vec<u32>) { v.push(1); }

/// A unit type with a one-line method.
struct Unit;

impl Unit {
    #[measure_power(package = "p", algorithm = "method")]
    fn method(&self) -> u8 { 7 }
}

fn main() {
    let path = log::install("one_line");
    assert_eq!(g(1), 2);
    empty();
    assert_eq!(literal(), "one");
    assert_eq!(block(2), 4);
    let mut v = Vec::new();
    statement(&mut v);
    assert_eq!(v, [1]);
    assert_eq!(Unit.method(), 7);
    assert_eq!(
        log::functions(&path),
        ["g", "empty", "literal", "block", "statement", "method"]
    );
}
