//! `async fn` outputs the attribute once mistyped: `impl Trait` with a `return` that coerces,
//! `!`, and `Box<dyn Error>` from `?`; and the drops of an `async fn` inside its window.
#![deny(warnings)]
use pgadget::measure_power;
use std::error::Error;
use std::fmt::{self, Display};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};

#[path = "../support/block_on.rs"]
mod executor;
#[path = "../support/log.rs"]
mod log;

use executor::{block_on, yield_once};

#[measure_power(package = "p", algorithm = "coercing_return")]
async fn length(p: &str) -> Result<impl Display, Box<dyn Error>> {
    if p.is_empty() {
        return Err(Box::new(fmt::Error));
    }
    yield_once().await;
    Ok(p.len())
}

#[measure_power(package = "p", algorithm = "question_mark")]
async fn number(p: &str) -> Result<u8, Box<dyn Error + Send + Sync>> {
    yield_once().await;
    Ok(p.parse()?)
}

#[measure_power(package = "p", algorithm = "never")]
async fn serve(ticks: &AtomicU32) -> ! {
    loop {
        let _ = ticks.fetch_add(1, Ordering::SeqCst);
        yield_once().await;
    }
}

const DROP_TIME: std::time::Duration = std::time::Duration::from_millis(300);

/// Takes `DROP_TIME` to drop.
struct Slow(usize);

impl Slow {
    const fn weight(&self) -> usize {
        self.0
    }
}

impl Drop for Slow {
    fn drop(&mut self) {
        std::thread::sleep(DROP_TIME);
    }
}

#[measure_power(package = "p", algorithm = "drops")]
async fn drops(slow: Slow, n: usize) -> usize {
    yield_once().await;
    n + slow.weight() + Slow(1).weight()
}

fn main() {
    let path = log::install("async_output");
    assert_eq!(block_on(length("abc")).unwrap().to_string(), "3");
    assert!(block_on(length("")).is_err());
    assert_eq!(block_on(number("7")).unwrap(), 7);
    assert!(block_on(number("x")).is_err());
    let ticks = AtomicU32::new(0);
    {
        let mut server = pin!(serve(&ticks));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..3 {
            assert!(matches!(server.as_mut().poll(&mut cx), Poll::Pending));
        }
    }
    assert_eq!(ticks.load(Ordering::SeqCst), 3);
    assert_eq!(block_on(drops(Slow(1), 1)), 3);
    let rows = log::rows(&path);
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["ok", "ok", "ok", "ok", "cancelled", "ok"]);
    assert_eq!(
        log::functions(&path),
        ["length", "length", "number", "number", "serve", "drops"]
    );
    // The argument and the temporary, each dropped inside the window.
    assert!(rows[5].elapsed_secs >= 2.0 * DROP_TIME.as_secs_f64());
}
