//! `PGADGET_DISABLE=1`: the function runs as if unannotated — no row, no thread, no request.
//!
//! The switch is read once per process, so this file holds a single test that sets it before
//! the first measured call.

use pgadget::measure_power;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn shape(n: usize) -> usize {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    n
}

#[measure_power(package = "test", algorithm = "disabled", data_shape = shape(n))]
fn work(n: usize) -> usize {
    (0..n).sum()
}

/// The threads of this process (Linux lists them in /proc; elsewhere this check is left out).
#[cfg(target_os = "linux")]
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task lists the threads")
        .count()
}

#[test]
fn a_disabled_process_measures_nothing_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    // Everything that would start a thread or a request when enabled: a wrapping RAPL counter
    // (the sampler) and a geolocation service on loopback (the country lookup).
    pgadget_test_support::powercap::package_only(&dir.path().join("powercap"));
    let geo = TcpListener::bind("127.0.0.1:0").unwrap();
    geo.set_nonblocking(true).unwrap();
    let url = format!("http://{}/json", geo.local_addr().unwrap());

    // The only thread of this test binary touching the environment, before any measured call.
    std::env::set_var("PGADGET_DISABLE", "1");
    std::env::set_var("PGADGET_LOG", &log);
    std::env::set_var("PGADGET_POWERCAP_ROOT", dir.path().join("powercap"));
    std::env::set_var("PGADGET_GEO_URL", &url);
    std::env::remove_var("PGADGET_OFFLINE");

    #[cfg(target_os = "linux")]
    let before = threads();
    assert_eq!(work(10), 45);
    assert_eq!(work(4), 6);
    std::thread::sleep(std::time::Duration::from_millis(200));

    assert!(!log.exists(), "no row is written");
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        0,
        "expression fields are not evaluated"
    );
    #[cfg(target_os = "linux")]
    assert_eq!(threads(), before, "no thread is started");
    assert!(geo.accept().is_err(), "no request is made");
}
