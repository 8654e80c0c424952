//! `unsafe fn` stays unsafe, and its body keeps its unsafe context.
#![deny(warnings, unsafe_op_in_unsafe_fn)]
use pgadget::measure_power;

#[path = "../support/log.rs"]
mod log;

/// # Safety
/// `ptr` must point to a readable `u32`.
#[measure_power(package = "demo", algorithm = "read")]
unsafe fn read(ptr: *const u32) -> u32 {
    // SAFETY: the caller promises `ptr` is readable.
    unsafe { ptr.read() }
}

#[measure_power(package = "demo", algorithm = "extern_c")]
extern "C" fn twice(x: i32) -> i32 {
    x * 2
}

fn main() {
    let path = log::install("unsafe_fn");
    let value = 7u32;
    let f: unsafe fn(*const u32) -> u32 = read;
    // SAFETY: `value` is a live u32.
    assert_eq!(unsafe { f(std::ptr::from_ref(&value)) }, 7);
    let g: extern "C" fn(i32) -> i32 = twice;
    assert_eq!(g(4), 8);
    assert_eq!(log::functions(&path), ["read", "twice"]);
}
