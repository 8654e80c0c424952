//! Signature, doc comments, other attributes, visibility and inner attributes stay as written.
//! A crate whose measured functions must keep their documentation and attributes.
#![deny(warnings, missing_docs, unused_mut)]
use pgadget::measure_power;

#[path = "../support/log.rs"]
mod log;

/// Functions with attributes around the measured one.
pub mod api {
    use pgadget::measure_power;

    /// Documented, inlined, `must_use` and visible to the crate only.
    #[inline]
    #[measure_power(package = "demo", algorithm = "documented")]
    #[must_use = "the sum is the point"]
    pub(crate) fn documented(a: u8, b: u8) -> u16 {
        #![allow(clippy::all)]
        u16::from(a) + u16::from(b)
    }

    /// A raw identifier keeps its name in the log.
    #[measure_power(package = "demo", algorithm = "raw")]
    pub fn r#match(mut n: u32) -> u32 {
        n += 1;
        n
    }

    /// Patterns in the arguments.
    #[measure_power(package = "demo", algorithm = "pattern", data_shape = (a, b))]
    pub fn pattern((a, b): (u32, u32), _: ()) -> u32 {
        a * b
    }

    /// Deprecated, and the attribute still applies.
    #[deprecated(note = "kept for the test")]
    #[measure_power(package = "demo", algorithm = "old")]
    pub fn old() {}

    #[cfg(any())]
    #[measure_power(package = "demo", algorithm = "never compiled")]
    pub fn gone() -> NotAType {}
}

fn main() {
    let path = log::install("preserved");
    assert_eq!(api::documented(200, 100), 300);
    assert_eq!(api::r#match(1), 2);
    assert_eq!(api::pattern((3, 4), ()), 12);
    #[allow(deprecated)]
    api::old();
    assert_eq!(
        log::functions(&path),
        ["documented", "match", "pattern", "old"]
    );
    // A tuple has no Display, so Debug writes it.
    assert_eq!(log::rows(&path)[2].data_shape, "(3, 4)");
}

/// Not measured: the attribute is on the function above only.
#[allow(dead_code)]
const fn unmeasured() {}

#[allow(dead_code)]
#[measure_power(package = "demo", algorithm = "unused")]
fn never_called() {}
