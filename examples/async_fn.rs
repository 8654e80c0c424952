//! A measured `async fn` driven by a real executor: the window is the future's run, from its
//! first poll to its completion, including the time it spends waiting.
//!
//! ```text
//! cargo run --example async_fn
//! ```

use futures::executor::ThreadPool;
use futures::future::join_all;
use futures::task::SpawnExt;
use pgadget::measure_power;

/// Gives the executor a turn: wakes itself, then returns Pending once.
async fn yield_now() {
    let mut yielded = false;
    futures::future::poll_fn(move |cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Sums a slice in chunks, yielding to the executor between chunks as a real pipeline would
/// between batches.
#[measure_power(package = "futures", algorithm = "chunked_sum", data_type = "other",
                data_shape = data.len())]
async fn chunked_sum(data: Vec<u64>) -> u64 {
    let mut total = 0u64;
    for chunk in data.chunks(10_000) {
        total = total.wrapping_add(chunk.iter().map(|x| x * x).sum::<u64>());
        yield_now().await; // let other tasks run
    }
    total
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::builder().pool_size(2).create()?;
    let tasks = (0..4u64).map(|i| {
        let data: Vec<u64> = (0..200_000).map(|x| x + i).collect();
        pool.spawn_with_handle(chunked_sum(data))
    });
    let handles = tasks.collect::<Result<Vec<_>, _>>()?;
    let sums = futures::executor::block_on(join_all(handles));
    println!("sums: {sums:?}");
    println!(
        "4 rows appended to {}",
        pgadget::PowerMeter::global().log_path().display()
    );
    Ok(())
}
