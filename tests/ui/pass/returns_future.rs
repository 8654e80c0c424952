//! A function that returns a future (`impl Future`, `Pin<Box<dyn Future>>` as `#[async_trait]`
//! writes it, a `BoxFuture` alias) is measured from the call until the future completes; one
//! dropped before it completes is `cancelled`.
#![deny(warnings)]
use pgadget::measure_power;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

#[path = "../support/block_on.rs"]
mod executor;
#[path = "../support/log.rs"]
mod log;

use executor::{block_on, yield_once};

const WORK_TIME: Duration = Duration::from_millis(300);

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[measure_power(package = "p", algorithm = "impl_future", data_shape = n)]
fn impl_future(n: u64) -> impl Future<Output = u64> + Send {
    async move {
        yield_once().await;
        std::thread::sleep(WORK_TIME);
        n * 2
    }
}

#[measure_power(package = "p", algorithm = "ready")]
fn ready(n: u32) -> impl Future<Output = u32> + Unpin {
    std::future::ready(n)
}

/// A service in the shape `#[async_trait]` gives its methods.
struct Service {
    name: String,
}

impl Service {
    #[measure_power(package = "p", algorithm = "async_trait_shape", data_shape = n)]
    fn call<'life0, 'async_trait>(
        &'life0 self,
        n: usize,
    ) -> Pin<Box<dyn Future<Output = usize> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let this = self;
            yield_once().await;
            std::thread::sleep(WORK_TIME);
            this.name.len() + n
        })
    }

    #[measure_power(package = "p", algorithm = "box_future")]
    fn boxed(&self) -> BoxFuture<'_, &str> {
        Box::pin(async move {
            yield_once().await;
            std::thread::sleep(WORK_TIME);
            self.name.as_str()
        })
    }
}

fn main() {
    let path = log::install("returns_future");
    assert_eq!(block_on(impl_future(21)), 42);
    let mut now = pin!(ready(5));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(now.as_mut().poll(&mut cx), Poll::Ready(5));
    let service = Service { name: "svc".into() };
    assert_eq!(block_on(service.call(2)), 5);
    assert_eq!(block_on(service.boxed()), "svc");
    {
        let mut dropped = service.call(1);
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
    }

    let rows = log::rows(&path);
    assert_eq!(
        log::functions(&path),
        ["impl_future", "ready", "call", "boxed", "call"]
    );
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["ok", "ok", "ok", "ok", "cancelled"]);
    for i in [0, 2, 3] {
        assert!(
            rows[i].elapsed_secs >= WORK_TIME.as_secs_f64(),
            "{}: the future's run is outside a window of {} s",
            rows[i].algorithm,
            rows[i].elapsed_secs
        );
    }
    assert_eq!(rows[0].data_shape, "21");
    assert_eq!(rows[2].data_shape, "2");
}
