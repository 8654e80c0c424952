//! `async fn`: the window is the future's run; `return` and `?` complete normally, a future
//! dropped half-way is `cancelled`, and the future stays `Send` when the body is.
#![deny(warnings)]
use pgadget::measure_power;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

#[path = "../support/block_on.rs"]
mod executor;
#[path = "../support/log.rs"]
mod log;

use executor::{block_on, yield_once};

#[measure_power(package = "demo", algorithm = "fetch", data_shape = ids.len())]
async fn fetch(ids: Vec<u32>) -> Result<usize, String> {
    yield_once().await;
    if ids.is_empty() {
        return Err("no ids".to_string());
    }
    let first = ids.first().copied().ok_or("unreachable")?;
    Ok(first as usize + ids.len())
}

#[measure_power(package = "demo", algorithm = "parse")]
async fn parse(text: &str) -> Result<i32, std::num::ParseIntError> {
    yield_once().await;
    let n: i32 = text.parse()?;
    Ok(n)
}

static SEEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[measure_power(package = "demo", algorithm = "unit")]
async fn unit(n: u32) {
    if n == 0 {
        return;
    }
    yield_once().await;
    let _ = SEEN.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
}

/// # Safety
/// `ptr` must point to a readable `u32`.
// A raw pointer is neither `Send` nor `Sync`, measured or not.
#[allow(clippy::future_not_send)]
#[measure_power(package = "demo", algorithm = "read")]
async unsafe fn read(ptr: *const u32) -> u32 {
    yield_once().await;
    // SAFETY: the caller promises `ptr` is readable.
    unsafe { ptr.read() }
}

struct Store {
    items: Vec<String>,
}

impl Store {
    #[measure_power(package = "demo", algorithm = "get", data_shape = self.items.len())]
    async fn get(&self, i: usize) -> Option<&str> {
        yield_once().await;
        self.items.get(i).map(String::as_str)
    }

    #[measure_power(package = "demo", algorithm = "last_mut")]
    async fn last_mut(&mut self) -> &mut String {
        yield_once().await;
        self.items.last_mut().expect("the store is not empty")
    }

    #[measure_power(package = "demo", algorithm = "into_len")]
    async fn into_len(self) -> usize {
        yield_once().await;
        self.items.len()
    }

    #[measure_power(package = "demo", algorithm = "describe")]
    async fn describe(&self) -> impl std::fmt::Display {
        yield_once().await;
        self.items.len()
    }
}

const fn assert_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    let path = log::install("async_fn");
    assert_eq!(block_on(assert_send(fetch(vec![5, 6]))), Ok(7));
    assert_eq!(block_on(fetch(Vec::new())), Err("no ids".to_string()));
    assert!(block_on(assert_send(parse("x"))).is_err());

    let mut store = Store {
        items: vec!["a".into(), "b".into()],
    };
    assert_eq!(block_on(assert_send(store.get(1))), Some("b"));
    block_on(store.last_mut()).push('!');
    assert_eq!(store.items[1], "b!");
    assert_eq!(block_on(store.describe()).to_string(), "2");
    assert_eq!(block_on(assert_send(store.into_len())), 2);

    block_on(unit(0));
    block_on(assert_send(unit(3)));
    assert_eq!(SEEN.load(std::sync::atomic::Ordering::SeqCst), 3);
    let value = 9u32;
    // SAFETY: `value` is a live u32 for the whole call.
    assert_eq!(block_on(unsafe { read(std::ptr::from_ref(&value)) }), 9);

    // Polled once (the window opens), then dropped before it finishes.
    {
        let mut fut = pin!(fetch(vec![1]));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    // Never polled: the body never ran, so there is nothing to log.
    drop(fetch(vec![2]));

    assert_eq!(
        log::functions(&path),
        [
            "fetch", "fetch", "parse", "get", "last_mut", "describe", "into_len", "unit", "unit",
            "read", "fetch"
        ]
    );
    let statuses: Vec<String> = log::rows(&path).into_iter().map(|r| r.status).collect();
    assert_eq!(statuses[..10], ["ok"; 10]);
    assert_eq!(statuses[10], "cancelled");
    assert_eq!(log::rows(&path)[0].data_shape, "2");
}
