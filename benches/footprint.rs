//! Memory after one million measured calls (it must not grow with the number of calls), and
//! the CPU the wrap sampler uses while the program idles (target: below 0.1% of one core).
//!
//! ```text
//! cargo bench --bench footprint
//! ```

use pgadget::runtime::config::EnvConfig;
use pgadget::{Metadata, PowerMeter};
use std::time::{Duration, Instant};

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

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");
    // A powercap tree with the real range of a package counter, so the sampler runs at its
    // production period.
    let root = dir.path().join("powercap");
    for (path, name) in [
        ("intel-rapl:0", "package-0"),
        ("intel-rapl:0/intel-rapl:0:1", "dram"),
    ] {
        let zone = root.join(path);
        std::fs::create_dir_all(&zone).unwrap();
        std::fs::write(zone.join("name"), format!("{name}\n")).unwrap();
        std::fs::write(zone.join("energy_uj"), "1000\n").unwrap();
        std::fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
    }
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
    println!("energy source: {}", meter.energy_source());

    let meta = Metadata::new("bench", "footprint").data_shape("[7000, 64]");
    let calls = |n: u64| {
        for _ in 0..n {
            meter.measure_power(meta.clone(), || std::hint::black_box(()));
        }
    };
    calls(10_000);
    let after_10k = rss_kib();
    let start = Instant::now();
    calls(990_000);
    let per_call = start.elapsed() / 990_000;
    let after_1m = rss_kib();
    println!("resident memory after 10,000 calls:    {after_10k} KiB");
    println!(
        "resident memory after 1,000,000 calls: {after_1m} KiB ({:+} KiB)",
        after_1m as i64 - after_10k as i64
    );
    println!("mean time per measured call:           {per_call:?}");

    let idle = Duration::from_secs(10);
    let cpu0 = cpu_secs();
    std::thread::sleep(idle);
    let used = cpu_secs() - cpu0;
    println!(
        "sampler CPU while idle for {idle:?}:      {:.4}% of one core",
        100.0 * used / idle.as_secs_f64()
    );
}
