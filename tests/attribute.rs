//! `#[measure_power]` on every form of function writes exactly one row per call, with the
//! metadata the attribute names, whatever way the call ends.

use pgadget::{get_logged_data, measure_power, PowerMeter, Record};
use std::path::PathBuf;
use std::sync::OnceLock;

/// One log per test process, installed as the meter the attribute uses.
fn log() -> &'static PathBuf {
    static LOG: OnceLock<PathBuf> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pgadget-attribute-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("power_logs.csv");
        PowerMeter::builder()
            .log_path(&path)
            .user_name("attr-tester")
            .get_country(false)
            .build()
            .expect("valid configuration")
            .install()
            .expect("the first meter installed");
        path
    })
}

/// The rows logged for the function whose path ends with `name`.
fn rows_of(name: &str) -> Vec<Record> {
    get_logged_data(log())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.function.ends_with(&format!("::{name}")))
        .collect()
}

#[measure_power(package = "linfa", algorithm = "RandomForest", data_type = "tabular",
                data_shape = x.len(), algorithm_params = format!("k={k}"), comments = "free fn")]
fn free_fn(x: &[f64], k: usize) -> f64 {
    x.iter().sum::<f64>() * k as f64
}

#[test]
fn a_free_function_logs_its_metadata_once_per_call() {
    log();
    assert_eq!(free_fn(&[1.0, 2.0], 3), 9.0);
    assert_eq!(free_fn(&[1.0], 2), 2.0);
    let rows = rows_of("free_fn");
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.function, "attribute::free_fn");
    assert_eq!(
        (r.package.as_str(), r.algorithm.as_str()),
        ("linfa", "RandomForest")
    );
    assert_eq!(r.data_type, "tabular");
    assert_eq!(r.data_shape, "2");
    assert_eq!(
        r.algorithm_params, "k=3",
        "a String is written without quotes"
    );
    assert_eq!(r.comments, "free fn");
    assert_eq!(
        r.project, "pgadget",
        "the project defaults to the defining crate's name"
    );
    assert_eq!(r.user, "attr-tester");
    assert_eq!(r.status, "ok");
    assert_eq!(rows[1].data_shape, "1");
}

#[measure_power(package = "ndarray", algorithm = "shape", data_shape = [7000usize, 64])]
fn debug_shape() {}

#[test]
fn a_value_without_display_is_written_with_debug() {
    log();
    debug_shape();
    let rows = rows_of("debug_shape");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].data_shape, "[7000, 64]");
}

#[derive(Debug)]
struct ParseFailed;

#[measure_power(package = "std", algorithm = "parse", data_type = "text")]
fn parse_all(items: &[&str]) -> Result<Vec<u32>, ParseFailed> {
    let mut out = Vec::new();
    for item in items {
        if item.is_empty() {
            return Ok(out); // early return
        }
        out.push(item.parse().map_err(|_| ParseFailed)?); // ? on error
    }
    Ok(out)
}

#[test]
fn question_mark_and_early_return_each_log_one_ok_row() {
    log();
    assert_eq!(parse_all(&["1", "2"]).unwrap(), vec![1, 2]);
    assert_eq!(parse_all(&["1", "", "x"]).unwrap(), vec![1]);
    assert!(parse_all(&["1", "x"]).is_err());
    let rows = rows_of("parse_all");
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r.status == "ok" && r.data_type == "text"));
}

#[measure_power(package = "std", algorithm = "diverge")]
fn diverges(n: u32) -> u32 {
    if n > 2 {
        panic!("loss became NaN at epoch {n}");
    }
    n
}

#[test]
fn a_panicking_call_logs_panicked_and_keeps_unwinding() {
    log();
    let caught = std::panic::catch_unwind(|| diverges(5));
    assert!(caught.is_err(), "the panic must reach the caller");
    assert_eq!(diverges(1), 1);
    let mut statuses: Vec<String> = rows_of("diverges").into_iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, ["ok", "panicked"]);
}

struct Model {
    weights: Vec<f64>,
}

impl Model {
    #[measure_power(package = "mine", algorithm = "new", project_name = "methods")]
    fn new(n: usize) -> Self {
        Model {
            weights: vec![0.5; n],
        }
    }

    #[measure_power(package = "mine", algorithm = "predict", data_shape = self.weights.len())]
    fn predict(&self, x: f64) -> f64 {
        self.weights.iter().map(|w| w * x).sum()
    }

    #[measure_power(package = "mine", algorithm = "fit")]
    fn fit(&mut self, step: f64) {
        for w in &mut self.weights {
            *w += step;
        }
    }

    #[measure_power(package = "mine", algorithm = "into_weights")]
    fn into_weights(self) -> Vec<f64> {
        self.weights
    }
}

#[test]
fn methods_and_associated_functions_are_measured() {
    log();
    let mut m = Model::new(4);
    m.fit(0.5);
    assert_eq!(m.predict(2.0), 8.0);
    assert_eq!(m.into_weights(), vec![1.0; 4]);
    for name in ["Model::new", "predict", "fit", "into_weights"] {
        assert_eq!(rows_of(name).len(), 1, "{name}");
    }
    assert_eq!(rows_of("Model::new")[0].project, "methods");
    assert_eq!(rows_of("predict")[0].data_shape, "4");
}

trait Trainer {
    fn train(&self, epochs: u32) -> u32;
}

struct Sgd;

impl Trainer for Sgd {
    #[measure_power(package = "mine", algorithm = "SGD", data_type = "image")]
    fn train(&self, epochs: u32) -> u32 {
        epochs * 2
    }
}

#[measure_power(package = "mine", algorithm = "generic", data_shape = items.len())]
fn longest<'a, T>(items: &'a [T], key: impl Fn(&T) -> usize) -> Option<&'a T>
where
    T: std::fmt::Debug,
{
    items.iter().max_by_key(|t| key(t))
}

#[measure_power(package = "mine", algorithm = "impl_trait")]
fn evens(n: u32) -> impl Iterator<Item = u32> {
    (0..n).filter(|x| x % 2 == 0)
}

/// # Safety
/// `p` must point at a valid `u32`.
#[measure_power(package = "mine", algorithm = "unsafe")]
unsafe fn read_raw(p: *const u32) -> u32 {
    unsafe { *p }
}

#[test]
fn trait_impls_generics_impl_trait_and_unsafe_fns_are_measured() {
    log();
    assert_eq!(Sgd.train(3), 6);
    assert_eq!(longest(&["a", "abc", "ab"], |s| s.len()), Some(&"abc"));
    assert_eq!(evens(7).collect::<Vec<_>>(), vec![0, 2, 4, 6]);
    let v = 9u32;
    // SAFETY: points at a live u32.
    assert_eq!(unsafe { read_raw(&v) }, 9);
    assert_eq!(rows_of("train")[0].data_type, "image");
    assert_eq!(rows_of("longest")[0].data_shape, "3");
    assert_eq!(rows_of("evens").len(), 1);
    assert_eq!(rows_of("read_raw").len(), 1);
}

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

#[measure_power(package = "futures", algorithm = "async", data_shape = n)]
async fn async_work(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += i;
        yield_now().await;
    }
    total
}

#[measure_power(package = "futures", algorithm = "async_never")]
async fn never_finishes() {
    futures::future::pending::<()>().await;
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn an_async_fn_is_measured_over_the_futures_run() {
    log();
    let fut = async_work(5);
    assert_send(&fut);
    assert!(
        rows_of("async_work").is_empty(),
        "nothing is logged before the future runs"
    );
    assert_eq!(futures::executor::block_on(fut), 10);
    let rows = rows_of("async_work");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "ok");
    assert_eq!(rows[0].data_shape, "5");
}

#[test]
fn an_async_fn_dropped_before_completing_is_cancelled() {
    log();
    let mut fut = Box::pin(never_finishes());
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    drop(fut);
    let rows = rows_of("never_finishes");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "cancelled");
}

use std::future::Future;

#[test]
fn concurrent_calls_each_get_their_row() {
    log();
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for i in 0..25 {
                    free_fn_threads(t, i);
                }
            });
        }
    });
    assert_eq!(rows_of("free_fn_threads").len(), 100);
}

#[measure_power(package = "std", algorithm = "threads", comments = format!("t{t} i{i}"))]
fn free_fn_threads(t: u32, i: u32) -> u32 {
    t + i
}

struct Forest;
struct Boosting;

trait Fit {
    #[measure_power(package = "mine", algorithm = "fit")]
    fn run(&self) -> u32 {
        1
    }
}

impl Fit for Forest {}
impl Fit for Boosting {}

impl Forest {
    #[measure_power(package = "mine", algorithm = "new")]
    fn new() -> Self {
        Forest
    }
}

impl Boosting {
    #[measure_power(package = "mine", algorithm = "new")]
    fn new() -> Self {
        Boosting
    }
}

impl std::fmt::Display for Forest {
    #[measure_power(package = "mine", algorithm = "display")]
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("forest")
    }
}

#[test]
fn the_function_column_names_the_type_a_method_belongs_to() {
    log();
    Forest::new().run();
    Boosting::new().run();
    assert_eq!(Forest.to_string(), "forest");
    assert_eq!(rows_of("Forest::new")[0].function, "attribute::Forest::new");
    assert_eq!(
        rows_of("Boosting::new")[0].function,
        "attribute::Boosting::new"
    );
    // A default body is the trait's, whichever type runs it.
    assert_eq!(rows_of("Fit::run").len(), 2);
    assert_eq!(rows_of("Fit::run")[0].function, "attribute::Fit::run");
    assert_eq!(
        rows_of("fmt")[0].function,
        "<attribute::Forest as core::fmt::Display>::fmt"
    );
}

#[measure_power(package = "std", algorithm = "cleanup")]
fn cleanup(n: u32) -> u32 {
    n + 1
}

/// Calls a measured function while it is dropped.
struct CleansUp;

impl Drop for CleansUp {
    fn drop(&mut self) {
        assert_eq!(cleanup(1), 2);
    }
}

#[test]
fn a_call_that_returns_while_a_panic_unwinds_is_ok() {
    log();
    let caught = std::panic::catch_unwind(|| {
        let _cleans_up = CleansUp;
        panic!("the work failed");
    });
    assert!(caught.is_err());
    let rows = rows_of("cleanup");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "ok", "the cleanup itself returned normally");
}

const DROP_TIME: std::time::Duration = std::time::Duration::from_millis(300);

/// Takes `DROP_TIME` to drop.
struct SlowDrop;

impl SlowDrop {
    fn weight(&self) -> u32 {
        1
    }
}

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(DROP_TIME);
    }
}

#[measure_power(package = "std", algorithm = "drops_tail")]
fn drops_tail(n: u32) -> u32 {
    n + SlowDrop.weight()
}

#[measure_power(package = "std", algorithm = "drops_argument")]
fn drops_argument(slow: SlowDrop, n: u32) -> u32 {
    n + slow.weight()
}

#[test]
fn drops_of_tail_temporaries_and_arguments_are_inside_the_window() {
    log();
    assert_eq!(drops_tail(1), 2);
    assert_eq!(drops_argument(SlowDrop, 1), 2);
    for name in ["drops_tail", "drops_argument"] {
        let elapsed = rows_of(name)[0].elapsed_secs;
        assert!(
            elapsed >= DROP_TIME.as_secs_f64(),
            "{name}: a {DROP_TIME:?} drop outside a window of {elapsed} s"
        );
    }
}

#[measure_power(package = "futures", algorithm = "returns_future", data_shape = n)]
fn returns_future(n: u64) -> impl Future<Output = u64> + Send {
    async move {
        yield_now().await;
        std::thread::sleep(DROP_TIME);
        n * 2
    }
}

#[test]
fn a_returned_future_is_measured_over_its_run() {
    log();
    let fut = returns_future(21);
    assert_send(&fut);
    assert!(
        rows_of("returns_future").is_empty(),
        "the window is still open"
    );
    assert_eq!(futures::executor::block_on(fut), 42);
    let mut dropped = Box::pin(returns_future(1));
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(dropped.as_mut().poll(&mut cx).is_pending());
    drop(dropped);
    let rows = rows_of("returns_future");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].status.as_str(), rows[0].data_shape.as_str()),
        ("ok", "21")
    );
    assert!(
        rows[0].elapsed_secs >= DROP_TIME.as_secs_f64(),
        "{}",
        rows[0].elapsed_secs
    );
    assert_eq!(rows[1].status, "cancelled");
}
