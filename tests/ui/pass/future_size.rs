//! A measured future is `Send` and `Sync` when the unmeasured one is, and at most two pointers
//! larger, whether measuring is on or off: the guard (one pointer), and the state of the inner
//! `async` block the body runs in (one byte, which alignment may round up to a pointer).
#![deny(warnings)]
use pgadget::measure_power;
use std::mem::{size_of, size_of_val};

#[path = "../support/block_on.rs"]
mod executor;
#[path = "../support/log.rs"]
mod log;

use executor::{block_on, yield_once};

async fn unmeasured(data: Vec<u8>, key: [u64; 8]) -> usize {
    let local = [1u8; 64];
    yield_once().await;
    data.len() + key.len() + local.len()
}

#[measure_power(package = "p", algorithm = "measured", data_shape = data.len())]
async fn measured(data: Vec<u8>, key: [u64; 8]) -> usize {
    let local = [1u8; 64];
    yield_once().await;
    data.len() + key.len() + local.len()
}

const fn assert_send_sync<T: Send + Sync>(_: &T) {}

fn main() {
    let path = log::install("future_size");
    assert_eq!(size_of::<pgadget::Measurement>(), size_of::<usize>());
    let plain = unmeasured(vec![1, 2], [0; 8]);
    let future = measured(vec![1, 2], [0; 8]);
    assert_send_sync(&plain);
    assert_send_sync(&future);
    assert!(
        size_of_val(&future) <= size_of_val(&plain) + 2 * size_of::<usize>(),
        "measured {} bytes, unmeasured {}",
        size_of_val(&future),
        size_of_val(&plain)
    );
    assert_eq!(block_on(plain), 74);
    assert_eq!(block_on(future), 74);
    assert_eq!(log::functions(&path), ["measured"]);
}
