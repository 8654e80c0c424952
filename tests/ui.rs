//! Compile-time behaviour of `#[measure_power]`: every supported form compiles and logs one
//! row per call (`tests/ui/pass`), every mistake is one error pointing at it (`tests/ui/fail`).
//!
//! Regenerate the expected errors with `TRYBUILD=overwrite cargo test --test ui`, then read
//! the `.stderr` files before committing them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
