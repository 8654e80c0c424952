//! `?` and early `return` end the measurement like the end of the body does.
#![deny(warnings)]
use pgadget::measure_power;
use std::num::ParseIntError;

#[path = "../support/log.rs"]
mod log;

#[measure_power(package = "demo", algorithm = "parse", data_shape = text.len())]
fn parse(text: &str) -> Result<i64, ParseIntError> {
    let n: i64 = text.trim().parse()?;
    Ok(n * 2)
}

#[measure_power(package = "demo", algorithm = "first_negative")]
fn first_negative(values: &[i32]) -> Option<usize> {
    for (i, v) in values.iter().enumerate() {
        if *v < 0 {
            return Some(i);
        }
    }
    None
}

#[measure_power(package = "demo", algorithm = "boxed_error")]
fn boxed_error(text: &str) -> Result<u8, Box<dyn std::error::Error>> {
    if text.is_empty() {
        return Err("empty".into());
    }
    Ok(text.parse()?)
}

fn main() {
    let path = log::install("early_return");
    assert_eq!(parse("21"), Ok(42));
    assert!(parse("x").is_err());
    assert_eq!(first_negative(&[1, -2, 3]), Some(1));
    assert_eq!(first_negative(&[1]), None);
    assert!(boxed_error("").is_err());
    assert!(boxed_error("300").is_err());
    assert_eq!(boxed_error("7").ok(), Some(7));

    let rows = log::rows(&path);
    assert_eq!(rows.len(), 7);
    // An `Err` is a normal return: the function ran to its end.
    assert!(rows.iter().all(|r| r.status == "ok"));
    assert_eq!(rows[1].data_shape, "1");
}
