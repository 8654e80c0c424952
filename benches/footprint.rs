//! Memory after one million measured calls (it must not grow with the number of calls), and
//! the CPU the wrap sampler uses while the program idles (target: below 0.1% of one core).
//!
//! ```text
//! cargo bench --bench footprint
//! ```

use pgadget::runtime::config::EnvConfig;
use pgadget::runtime::energy::sampler::{sampling_period, GENEROUS_WATTS};
use pgadget::{Metadata, PowerMeter};
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
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: filled above.
    let u = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// A simulated powercap tree (one package with DRAM) whose counters roll over after `range`
/// microjoules.
fn powercap_tree(root: &std::path::Path, range: u64) {
    for (path, name) in [
        ("intel-rapl:0", "package-0"),
        ("intel-rapl:0/intel-rapl:0:1", "dram"),
    ] {
        let zone = root.join(path);
        std::fs::create_dir_all(&zone).unwrap();
        std::fs::write(zone.join("name"), format!("{name}\n")).unwrap();
        std::fs::write(zone.join("energy_uj"), "1000\n").unwrap();
        std::fs::write(zone.join("max_energy_range_uj"), format!("{range}\n")).unwrap();
    }
}

fn powercap_meter(root: std::path::PathBuf) -> PowerMeter {
    let meter = PowerMeter::builder()
        .environment(EnvConfig {
            powercap_root: Some(root),
            sources: Some(vec!["powercap".into()]),
            ..EnvConfig::default()
        })
        // Rows go nowhere: this measures pgadget's memory, not the page cache.
        .log_path("/dev/null")
        .get_country(false)
        .build()
        .expect("valid configuration");
    assert_eq!(meter.energy_source(), "powercap");
    meter
}

/// Intel's package range (262 143 J): the sampler reads every 60 s (its longest period).
const INTEL_RANGE_UJ: u64 = 262_143_328_850;
/// AMD Zen's package range (65 532 J): every 33 s, the shortest period real RAPL ranges give.
const AMD_RANGE_UJ: u64 = 65_532_610_987;
/// A range the sampler must read every 100 ms (at its 1000 W bound), to time its wake-ups.
const FAST_RANGE_UJ: u64 = 200_000_000;

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");

    // Memory: a production-like tree; calls through the meter's closure API.
    let root = dir.path().join("intel");
    powercap_tree(&root, INTEL_RANGE_UJ);
    let meter = powercap_meter(root);
    let meta = Metadata::new("bench", "footprint").data_shape("[7000, 64]");
    let calls = |n: u64| {
        for _ in 0..n {
            meter.measure_power(meta.clone(), || std::hint::black_box(()));
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

    // The sampler: its real period (33-60 s) is too long to time a few wake-ups in a bench, so
    // it is timed at a 100 ms period, and the cost per wake-up is scaled to the real periods.
    // The main thread sleeps meanwhile, so the process's CPU time is the sampler's.
    let root = dir.path().join("fast");
    powercap_tree(&root, FAST_RANGE_UJ);
    let meter = powercap_meter(root);
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
