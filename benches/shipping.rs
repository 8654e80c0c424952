//! Shipping's cost to a measured call, and its speed, against a local PostgreSQL (Debian's
//! `postgresql`, started by the benchmark as the tests do, with the default durability).
//!
//! - `call::shipping_off` / `call::shipping_on`: a measured call of an empty function (powercap,
//!   one socket, simulated) without and with shipping (every row to PostgreSQL, totals for
//!   `/metrics`). Target: shipping adds at most 1 µs.
//! - `rows`: rows shipped per second, in batches as the shipper sends them: new rows, and rows
//!   the table already has (a repeated `pgadget push`).
//!
//! ```text
//! cargo bench --bench shipping --features postgres,prometheus
//! ```

use pgadget::{Metadata, PowerMeter, Record};
use pgadget_runtime::config::{DatabaseUrl, EnvConfig};
use pgadget_runtime::ship::postgres::{Database, Target};
use pgadget_test_support::pg::PgServer;
use std::hint::black_box;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

fn main() {
    divan::main();
    if !std::env::args().any(|a| a == "--list") {
        paired();
    }
    // The rows of the "shipping on" calls reach the table in the background: wait for them
    // (the figure says how long the backlog took), then stop the server.
    if let Some(pg) = lock().take() {
        let logged: i64 = ["on.csv", "paired-on.csv"]
            .iter()
            .filter_map(|log| pgadget::read_log(scratch().join(log)).ok())
            .map(|c| c.records.len() as i64)
            .sum();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            if pg.count().unwrap_or(0) >= logged + inserted() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "the {logged} rows of the calls with shipping on were all in the table {:.1} s \
             after the last call",
            start.elapsed().as_secs_f64()
        );
    }
}

/// A call costs microseconds, so divan times one per sample; many samples keep the median
/// steady against the scheduler's noise.
const SAMPLES: u32 = 3000;

fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temp dir"))
        .path()
}

static PG: Mutex<Option<PgServer>> = Mutex::new(None);
static STARTED: OnceLock<()> = OnceLock::new();
static INSERTED: Mutex<i64> = Mutex::new(0);

fn lock() -> std::sync::MutexGuard<'static, Option<PgServer>> {
    PG.lock().unwrap_or_else(|p| p.into_inner())
}

fn inserted() -> i64 {
    *INSERTED.lock().unwrap()
}

/// The benchmark's database URL; `None` (after a message) without PostgreSQL.
fn database_url() -> Option<String> {
    STARTED.get_or_init(|| *lock() = PgServer::start_durable("benches/shipping"));
    lock().as_ref().map(PgServer::url)
}

fn meter(name: &str, configure: impl FnOnce(&mut EnvConfig)) -> PowerMeter {
    let root = scratch().join("powercap");
    if !root.exists() {
        pgadget_test_support::powercap::intel_tree(&root, 1);
    }
    let mut env = EnvConfig {
        sources: Some(vec!["powercap".into()]),
        powercap_root: Some(root),
        ..EnvConfig::default()
    };
    configure(&mut env);
    let meter = PowerMeter::builder()
        .environment(env)
        .log_path(scratch().join(format!("{name}.csv")))
        .user_name("bench")
        .project_name("bench")
        .get_country(false)
        .build()
        .expect("valid configuration");
    assert_eq!(meter.energy_source(), "powercap");
    meter
}

fn measured_empty_call(bencher: divan::Bencher, meter: PowerMeter) {
    let meta = Metadata::new("bench", "empty")
        .data_shape("[7000, 64]")
        .function("shipping::empty");
    bencher.bench_local(|| meter.measure_power(meta.clone(), || black_box(())));
}

mod call {
    use super::*;

    #[divan::bench(sample_count = SAMPLES)]
    fn shipping_off(bencher: divan::Bencher) {
        measured_empty_call(bencher, meter("off", |_| {}));
    }

    #[divan::bench(sample_count = SAMPLES)]
    fn shipping_on(bencher: divan::Bencher) {
        let Some(url) = database_url() else { return };
        let port = pgadget_test_support::engines::free_port();
        measured_empty_call(
            bencher,
            meter("on", |env| {
                env.database_url = Some(DatabaseUrl::new(url));
                env.metrics_addr = Some(format!("127.0.0.1:{port}").parse().unwrap());
            }),
        );
    }
}

/// The two calls of `call` timed in alternating blocks, so that a change in the machine's
/// load (other programs, the shipper's own work) falls on both alike, while each block runs
/// in its steady state (a block of calls with shipping on keeps handing memory to the shipper
/// thread, as a program does). The median of the per-pair differences of the blocks' medians
/// is what shipping adds to a call.
fn paired() {
    const BLOCK: usize = 200;
    const PAIRS: usize = 100;
    let Some(url) = database_url() else { return };
    let port = pgadget_test_support::engines::free_port();
    let off = meter("paired-off", |_| {});
    let on = meter("paired-on", |env| {
        env.database_url = Some(DatabaseUrl::new(url));
        env.metrics_addr = Some(format!("127.0.0.1:{port}").parse().unwrap());
    });
    let meta = Metadata::new("bench", "empty")
        .data_shape("[7000, 64]")
        .function("shipping::empty");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let block = |m: &PowerMeter| {
        let mut times: Vec<f64> = (0..BLOCK)
            .map(|_| {
                let start = Instant::now();
                m.measure_power(meta.clone(), || black_box(()));
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        median(&mut times)
    };
    let (mut offs, mut ons, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PAIRS {
        // Alternate which goes first, so that neither always follows the other.
        let (a, b) = if i % 2 == 0 {
            let a = block(&off);
            (a, block(&on))
        } else {
            let b = block(&on);
            (block(&off), b)
        };
        offs.push(a);
        ons.push(b);
        diffs.push(b - a);
    }
    println!(
        "paired, {PAIRS} pairs of {BLOCK}-call blocks: shipping off {:.2} µs, on {:.2} µs \
         (medians); shipping adds {:+.2} µs (median of the pairs' differences)",
        median(&mut offs),
        median(&mut ons),
        median(&mut diffs)
    );
}

/// A batch of `n` rows as the meter makes them, each with a new id (as long as a UUID, the
/// meter's own ids being the runtime's business; the table is the benchmark's own).
fn fresh_rows(template: &Record, n: usize) -> Vec<Record> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    (0..n)
        .map(|_| {
            let mut row = template.clone();
            let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            row.row_id = format!("00000000-0000-8000-8000-{id:012}");
            row
        })
        .collect()
}

fn template() -> Record {
    meter("template", |_| {})
        .start(
            Metadata::new("bench", "empty")
                .data_shape("[7000, 64]")
                .function("shipping::empty"),
        )
        .finish()
        .expect("enabled")
}

fn database() -> Option<Database> {
    let url = database_url()?;
    let target = Target::parse(&DatabaseUrl::new(url)).expect("a valid URL");
    Some(Database::connect(&target).expect("the benchmark's database"))
}

mod rows {
    use super::*;
    use divan::counter::ItemsCount;

    /// New rows, `batch` per INSERT.
    #[divan::bench(args = [100, 1000], sample_count = 20)]
    fn new_rows(bencher: divan::Bencher, batch: usize) {
        let Some(mut db) = database() else { return };
        let template = template();
        bencher
            .counter(ItemsCount::new(batch))
            .with_inputs(|| fresh_rows(&template, batch))
            .bench_local_refs(|rows| {
                let n = db.insert(rows.iter()).expect("the rows are inserted");
                assert_eq!(n as usize, batch);
                *INSERTED.lock().unwrap() += n as i64;
            });
    }

    /// Rows whose ids the table already has, 1000 per INSERT: what a repeated push costs.
    #[divan::bench(sample_count = 20)]
    fn rows_already_there(bencher: divan::Bencher) {
        let Some(mut db) = database() else { return };
        let rows = fresh_rows(&template(), 1000);
        let n = db.insert(rows.iter()).expect("the rows are inserted");
        *INSERTED.lock().unwrap() += n as i64;
        bencher.counter(ItemsCount::new(1000usize)).bench_local(|| {
            assert_eq!(db.insert(rows.iter()).expect("the insert runs"), 0);
        });
    }
}
