//! A measured call across many roll-overs of the RAPL counters reports the energy that was
//! really used, read back from the log a real `PowerMeter` wrote.
//!
//! A simulated powercap tree holds a package zone and its DRAM subzone. A thread plays the
//! hardware (test-support's `SimPowercap`): it advances both counters at fixed powers, rolling
//! them over at their ranges, and keeps the exact energy it added. The window lasts until the
//! counters have rolled over as often as the test wants, and the truth is read around it. The
//! meter's sampler, whose period comes from the ranges, has to see every roll-over for the
//! logged energy to match.
//!
//! The simulated powers (950 W package, 900 W DRAM) are close to pgadget's 1000 W bound on a
//! domain's power, so that many roll-overs fit in a short test while a sampler that a busy
//! machine delays by a few periods cannot look like a process that was stopped (which would
//! leave the cells empty, see `rapl_gaps.rs`).
// powercap, which this drives, is Linux-only.
#![cfg(target_os = "linux")]

use pgadget_runtime::{read_log, Metadata};
use pgadget_test_support::meter::powercap_meter;
use pgadget_test_support::sim::{read_truth_uj, wait_for_truth_uj, SimPowercap, SimZone, Truth};

/// What the log says of one window, and what the simulated hardware did in it.
#[derive(Debug)]
struct Window {
    package: f64,
    dram: f64,
    package_truth: Truth,
    dram_truth: Truth,
    package_wraps: u64,
    dram_wraps: u64,
}

/// Measures a call that lasts until the package has used `package_uj`; the package and DRAM
/// zones start at the given values and roll over after the given ranges (µJ).
fn measure(package_uj: u64, package: (u64, u64), dram: (u64, u64)) -> Window {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("powercap");
    let zones = [
        SimZone {
            start_uj: package.0,
            ..SimZone::new("intel-rapl:0", "package-0", package.1, 950.0)
        },
        SimZone {
            start_uj: dram.0,
            ..SimZone::new("intel-rapl:0/intel-rapl:0:0", "dram", dram.1, 900.0)
        },
    ];
    let sim = SimPowercap::start(&root, &zones);
    let (pkg_dir, dram_dir) = (root.join(&zones[0].dir), root.join(&zones[1].dir));
    let log = tmp.path().join("log.csv");
    let meter = powercap_meter(&root, &log);

    let wraps_before = (sim.wraps(0), sim.wraps(1));
    let outer = (read_truth_uj(&pkg_dir), read_truth_uj(&dram_dir));
    let window = meter.start(Metadata::new("pgadget-tests", "rapl_wrap"));
    let inner = (read_truth_uj(&pkg_dir), read_truth_uj(&dram_dir));
    let pkg_end = wait_for_truth_uj(&pkg_dir, inner.0 + package_uj);
    let dram_end = read_truth_uj(&dram_dir);
    drop(window);
    let after = (read_truth_uj(&pkg_dir), read_truth_uj(&dram_dir));
    let wraps_after = (sim.wraps(0), sim.wraps(1));

    let contents = read_log(&log).unwrap();
    assert_eq!(contents.records.len(), 1);
    let row = &contents.records[0];
    assert_eq!(row.energy_source, "powercap");
    assert_eq!(row.status, "ok");
    assert_eq!(row.cores_mwh, None, "the tree has no core zone");
    assert_eq!(row.energy_note, "", "no gap, nothing lost");
    let joules = |mwh: Option<f64>| mwh.expect("a measured column") * 3.6;
    Window {
        package: joules(row.package_mwh),
        dram: joules(row.dram_mwh),
        package_truth: Truth::from_uj(outer.0, inner.0, pkg_end, after.0),
        dram_truth: Truth::from_uj(outer.1, inner.1, dram_end, after.1),
        package_wraps: wraps_after.0 - wraps_before.0,
        dram_wraps: wraps_after.1 - wraps_before.1,
    }
}

/// The logged energy lies within the truth around the window, give or take 1%.
fn assert_is_truth(what: &str, logged: f64, truth: Truth) {
    eprintln!(
        "{what}: logged {logged:.6} J, truth {:.6}..{:.6} J",
        truth.inner, truth.outer
    );
    assert!(
        truth.holds(logged, 0.01),
        "{what}: logged {logged} J, the counters advanced {truth:?} J"
    );
}

#[test]
fn more_than_ten_roll_overs_lose_no_energy() {
    // Both roll over every 500 J: 5600 J of package from 10 J is 11 roll-overs, and so are
    // the 5300 J of DRAM from 400 J.
    let w = measure(
        5_600_000_000,
        (10_000_000, 500_000_000),
        (400_000_000, 500_000_000),
    );
    assert!(w.package_wraps > 10 && w.dram_wraps > 10, "{w:?}");
    assert_is_truth("package", w.package, w.package_truth);
    assert_is_truth("dram", w.dram, w.dram_truth);
}

#[test]
fn one_roll_over_loses_no_energy() {
    // 360 J from 200 J of a 500 J range; about 340 J from 200 J of a 500 J range.
    let w = measure(
        360_000_000,
        (200_000_000, 500_000_000),
        (200_000_000, 500_000_000),
    );
    assert_eq!((w.package_wraps, w.dram_wraps), (1, 1), "{w:?}");
    assert_is_truth("package", w.package, w.package_truth);
    assert_is_truth("dram", w.dram, w.dram_truth);
}

#[test]
fn no_roll_over_is_exact_too() {
    let w = measure(
        360_000_000,
        (10_000_000, 1_000_000_000),
        (10_000_000, 1_000_000_000),
    );
    assert_eq!((w.package_wraps, w.dram_wraps), (0, 0), "{w:?}");
    assert_is_truth("package", w.package, w.package_truth);
    assert_is_truth("dram", w.dram, w.dram_truth);
}
