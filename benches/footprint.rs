//! Memory after one million measured calls (it must not grow with the number of calls), and
//! the CPU the wrap sampler uses while the program idles (target: below 0.1% of one core).
//!
//! ```text
//! cargo bench --bench footprint
//! ```

use pgadget::{Metadata, PowerMeter};
use pgadget_runtime::energy::sampler::{sampling_period, GENEROUS_WATTS};
use std::path::Path;
use std::time::Duration;

/// Resident memory in KiB, from /proc/self/statm.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page / 1024
}

fn cpu_secs() -> f64 {
    pgadget_runtime::energy::process_cpu_time()
        .expect("the process's CPU time is readable")
        .as_secs_f64()
}

/// A simulated powercap tree (one package with DRAM) whose counters roll over after `range`
/// microjoules.
fn powercap_tree(root: &std::path::Path, range: u64) {
    use pgadget_test_support::powercap::zone;
    let package = root.join("intel-rapl:0");
    zone(&package, "package-0", 1000, range);
    zone(&package.join("intel-rapl:0:1"), "dram", 1000, range);
}

fn powercap_meter(root: &Path, log: &Path) -> PowerMeter {
    pgadget_test_support::meter::powercap_meter(root, log)
}

/// Rows between two truncations of the log: the page cache is not the process's memory, but
/// a million rows (about 450 MB) need not fill the disk.
const ROWS_BETWEEN_TRUNCATIONS: u64 = 100_000;

// Intel's package range (262 143 J): the sampler reads every 60 s (its longest period).
// AMD Zen's package range (65 532 J): every 16 s, the shortest period real RAPL ranges give.
use pgadget_test_support::powercap::{AMD_RANGE_UJ, INTEL_RANGE_UJ};
/// A range the sampler must read every 100 ms (a quarter of it at its 1000 W bound), to time
/// its wake-ups.
const FAST_RANGE_UJ: u64 = 400_000_000;

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");

    // Memory: a production-like tree; calls through the meter's closure API.
    let root = dir.path().join("intel");
    powercap_tree(&root, INTEL_RANGE_UJ);
    // A real log file, written the way a user's is (pgadget refuses /dev/null).
    let log = dir.path().join("footprint.csv");
    let meter = powercap_meter(&root, &log);
    let meta = Metadata::new("bench", "footprint").data_shape("[7000, 64]");
    let calls = |n: u64| {
        for i in 0..n {
            meter.measure_power(meta.clone(), || std::hint::black_box(()));
            if i % ROWS_BETWEEN_TRUNCATIONS == ROWS_BETWEEN_TRUNCATIONS - 1 {
                // The writer sees an empty file of the same identity and starts it anew with
                // the header, as after a user's `: > log`.
                std::fs::File::options()
                    .write(true)
                    .open(&log)
                    .and_then(|f| f.set_len(0))
                    .expect("truncate the benchmark's log");
            }
        }
    };
    calls(10_000);
    let after_10k = rss_kib();
    calls(990_000);
    let after_1m = rss_kib();
    println!("resident memory after 10,000 calls:    {after_10k} KiB");
    println!(
        "resident memory after 1,000,000 calls: {after_1m} KiB ({:+} KiB)",
        after_1m as i64 - after_10k as i64
    );
    drop(meter);

    // The sampler: its real period (16-60 s) is too long to time a few wake-ups in a bench, so
    // it is timed at a 100 ms period, and the cost per wake-up is scaled to the real periods.
    // The main thread sleeps meanwhile, so the process's CPU time is the sampler's.
    let root = dir.path().join("fast");
    powercap_tree(&root, FAST_RANGE_UJ);
    let meter = powercap_meter(&root, &log);
    let idle = Duration::from_secs(10);
    let cpu0 = cpu_secs();
    std::thread::sleep(idle);
    let used = cpu_secs() - cpu0;
    drop(meter);
    let wakeups = idle.as_secs_f64() / 0.1;
    let per_wakeup = used / wakeups;
    println!(
        "sampler CPU at a 100 ms period, idle {idle:?}: {:.4}% of one core ({:.1} µs per wake-up)",
        100.0 * used / idle.as_secs_f64(),
        per_wakeup * 1e6
    );
    for (what, range) in [("AMD Zen", AMD_RANGE_UJ), ("Intel", INTEL_RANGE_UJ)] {
        let period = sampling_period(range + 1, GENEROUS_WATTS * 1e6).as_secs_f64();
        println!(
            "sampler CPU at the {what} period ({period:.0} s):   {:.6}% of one core",
            100.0 * per_wakeup / period
        );
    }
}
