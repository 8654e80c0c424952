//! "Process CPU Time" and "Process CPU Share" against the kernel's own figures over the same
//! window: the process's CPU time from `getrusage`, the machine's from `/proc/stat`.
//!
//! The meter does not read `/proc/stat` when a window opens: a thread keeps a reading at most
//! one tick old while windows are being opened. These tests check that the share stays what
//! it means, within what the tick allows.

#![cfg(target_os = "linux")]

use pgadget_runtime::{Metadata, Record};
use pgadget_test_support::cpu::burn_cpu;
use pgadget_test_support::meter::estimate_meter;
use std::time::Duration;

/// Clock ticks per second of `/proc/stat`.
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    assert!(hz > 0, "sysconf(_SC_CLK_TCK) failed");
    hz as f64
}

/// The machine's busy CPU time in seconds: user, nice, system, irq, softirq and steal of the
/// aggregate `cpu` line (idle and iowait are not busy; guest time is inside user and nice).
fn machine_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let line = stat.lines().find(|l| l.starts_with("cpu ")).unwrap();
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap())
        .collect();
    let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7];
    busy as f64 / ticks_per_sec()
}

/// The CPU time of this process and its waited-for children, in seconds.
fn process_cpu_secs() -> f64 {
    let rusage = |who| {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given; `who` is a valid selector.
        assert_eq!(unsafe { libc::getrusage(who, usage.as_mut_ptr()) }, 0);
        // SAFETY: getrusage returned 0, so it filled the struct (zeroed before anyway).
        let usage = unsafe { usage.assume_init() };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        secs(usage.ru_utime) + secs(usage.ru_stime)
    };
    rusage(libc::RUSAGE_SELF) + rusage(libc::RUSAGE_CHILDREN)
}

fn logical_cpus() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count() as f64
}

/// A window of about `cpu` of this process's CPU time, with the test's own readings taken
/// just inside it: the process's CPU time and the machine's busy time.
fn measured_window(meter: &pgadget_runtime::PowerMeter, cpu: Duration) -> (Record, f64, f64) {
    let window = meter.start(Metadata::new("test", "share"));
    let (machine_0, process_0) = (machine_busy_secs(), process_cpu_secs());
    burn_cpu(cpu);
    let (process_1, machine_1) = (process_cpu_secs(), machine_busy_secs());
    let record = window.finish().expect("an enabled meter");
    (record, process_1 - process_0, machine_1 - machine_0)
}

/// Opens a window shorter than a tick, as a short function's call.
fn short_window(meter: &pgadget_runtime::PowerMeter) {
    let record = meter
        .start(Metadata::new("test", "short"))
        .finish()
        .unwrap();
    assert_eq!(
        record.cpu_share, None,
        "a window shorter than a tick has no share"
    );
}

#[test]
fn the_share_is_the_process_time_over_the_machine_time_of_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let meter = estimate_meter(&dir.path().join("log.csv"));
    let tick = 1.0 / ticks_per_sec();
    let cpus = logical_cpus();
    // The meter's machine window may start up to a tick before the test's (the ticker's
    // reading) and ends a moment after it; each end of either is uncertain by a tick per CPU
    // (busy time is accounted tick by tick); and on a shared machine the test may be
    // descheduled for a few ticks between its reading and the window's edge.
    let slack = cpus * tick * 6.0;
    for round in 0..4 {
        if round % 2 == 0 {
            // Windows spaced as calls in a program: the ticker runs, and the measured window
            // opens on its reading.
            for _ in 0..5 {
                std::thread::sleep(Duration::from_millis(3));
                short_window(&meter);
            }
            std::thread::sleep(Duration::from_millis(3));
        } else {
            // Busy work outside any window, long enough for the ticker to rest: a reading
            // from before it would count that work in the window's machine time.
            burn_cpu(Duration::from_millis(400));
        }
        let (record, process, machine) = measured_window(&meter, Duration::from_millis(600));
        let logged_cpu = record.process_cpu_secs.expect("Process CPU Time");
        // The meter's window holds the test's, and a few microseconds more.
        assert!(
            logged_cpu >= process - 1e-6 && logged_cpu <= process + 0.05,
            "Process CPU Time {logged_cpu} s against {process} s by getrusage"
        );
        let share = record.cpu_share.expect("a 600 ms window has a share");
        let lowest = logged_cpu / (machine + slack);
        let highest = (logged_cpu / (machine - slack).max(f64::MIN_POSITIVE)).min(1.0);
        assert!(
            (lowest..=highest).contains(&share),
            "round {round}: share {share} outside {lowest}..={highest}: {logged_cpu} s of the \
             process's CPU time over {machine} s of the machine's busy time (slack {slack} s)"
        );
    }
}
