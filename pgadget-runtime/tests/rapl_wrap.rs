//! A measured call across many roll-overs of the RAPL counters reports the energy that was
//! really used, read back from the log a real `PowerMeter` wrote.
//!
//! A simulated powercap tree holds a package zone and its DRAM subzone with small ranges. A
//! thread plays the hardware: it advances both counters in fixed steps (one step every 2 ms),
//! rolling them over at their range, and keeps the exact energy it added. It steps only while
//! the measured closure asks it to, so the energy in the window is known exactly: N steps,
//! whatever the timing. The meter's sampler, whose period comes from the ranges, has to see
//! every roll-over for the logged energy to match.
//!
//! The simulated powers are high (900 W package, 800 W DRAM, near pgadget's 1000 W bound on a
//! domain's power) so that many roll-overs fit in a short test while the ranges (200 J and
//! 100 J) stay well above what 1000 W covers in one sampling period: a sampler that the
//! machine delays by a few periods must not look like a process that was stopped (which
//! would leave the cells empty, see `rapl_gaps.rs`).
// powercap, which this drives, is Linux-only.
#![cfg(target_os = "linux")]

use pgadget_runtime::{read_log, Metadata};
use pgadget_test_support::meter::powercap_meter;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// One simulated counter: its open `energy_uj`, its value and what it has added.
struct SimCounter {
    file: File,
    value: u64,
    modulus: u64,
    step: u64,
    wraps: u64,
    added: u64,
}

impl SimCounter {
    /// Creates zone `dir` named `name`, rolling over after `modulus` µJ, starting at `start`.
    fn create(root: &Path, dir: &str, name: &str, start: u64, modulus: u64, step: u64) -> Self {
        let d = root.join(dir);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("name"), format!("{name}\n")).unwrap();
        fs::write(d.join("max_energy_range_uj"), format!("{}\n", modulus - 1)).unwrap();
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(d.join("energy_uj"))
            .unwrap();
        let counter = SimCounter {
            file,
            value: start,
            modulus,
            step,
            wraps: 0,
            added: 0,
        };
        counter.write();
        counter
    }

    /// Writes the value in place, always with the same width, so the file never shrinks and
    /// a read never sees an empty or truncated value.
    fn write(&self) {
        let text = format!("{:020}\n", self.value);
        self.file.write_all_at(text.as_bytes(), 0).unwrap();
    }

    fn advance(&mut self) {
        let next = self.value + self.step;
        if next >= self.modulus {
            self.wraps += 1;
        }
        self.value = next % self.modulus;
        self.added += self.step;
        self.write();
    }
}

/// The hardware's own account of one measured window.
#[derive(Debug)]
struct Truth {
    package_uj: u64,
    dram_uj: u64,
    package_wraps: u64,
    dram_wraps: u64,
}

/// 900 W and 800 W, in µJ per 2 ms step.
const PACKAGE_STEP: u64 = 1_800_000;
const DRAM_STEP: u64 = 1_600_000;
const STEP_EVERY: Duration = Duration::from_millis(2);

/// Measures a call during which the counters advance exactly `steps` steps; returns what the
/// log says (package J, DRAM J) and what the simulated hardware did.
fn measure(steps: u64, package: (u64, u64), dram: (u64, u64)) -> ((f64, f64), Truth) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("powercap");
    let mut pkg = SimCounter::create(
        &root,
        "intel-rapl:0",
        "package-0",
        package.0,
        package.1,
        PACKAGE_STEP,
    );
    let mut mem = SimCounter::create(&root, "intel-rapl:0:0", "dram", dram.0, dram.1, DRAM_STEP);

    let log = tmp.path().join("log.csv");
    let meter = powercap_meter(&root, &log);

    let (go, steps_wanted) = mpsc::channel::<u64>();
    let (done, finished) = mpsc::channel::<Truth>();
    let hardware = thread::spawn(move || {
        for n in steps_wanted {
            let (pkg_before, mem_before) = (pkg.added, mem.added);
            let (pkg_wraps, mem_wraps) = (pkg.wraps, mem.wraps);
            for _ in 0..n {
                thread::sleep(STEP_EVERY);
                pkg.advance();
                mem.advance();
            }
            let truth = Truth {
                package_uj: pkg.added - pkg_before,
                dram_uj: mem.added - mem_before,
                package_wraps: pkg.wraps - pkg_wraps,
                dram_wraps: mem.wraps - mem_wraps,
            };
            if done.send(truth).is_err() {
                return;
            }
        }
    });

    let truth = meter.measure_power(Metadata::new("pgadget-tests", "rapl_wrap"), || {
        go.send(steps).unwrap();
        finished.recv().unwrap()
    });
    drop(go);
    hardware.join().unwrap();

    let contents = read_log(&log).unwrap();
    assert_eq!(contents.records.len(), 1);
    let row = &contents.records[0];
    assert_eq!(row.energy_source, "powercap");
    assert_eq!(row.status, "ok");
    assert_eq!(row.cores_mwh, None, "the tree has no core zone");
    assert_eq!(row.energy_note, "", "no gap, nothing lost");
    let joules = |mwh: Option<f64>| mwh.expect("a measured column") * 3.6;
    ((joules(row.package_mwh), joules(row.dram_mwh)), truth)
}

fn assert_within_one_percent(what: &str, logged: f64, truth_uj: u64) {
    let truth = truth_uj as f64 * 1e-6;
    eprintln!(
        "{what}: {:+.4}% of {truth} J",
        (logged / truth - 1.0) * 100.0
    );
    assert!(
        (logged - truth).abs() <= truth * 0.01,
        "{what}: logged {logged} J, the counters advanced {truth} J"
    );
}

#[test]
fn more_than_ten_roll_overs_lose_no_energy() {
    // Package rolls over every 200 J (11 times in 2340 J), DRAM every 100 J (20 times in
    // 2080 J).
    let ((package, dram), truth) = measure(1300, (10_000_000, 200_000_000), (0, 100_000_000));
    assert!(
        truth.package_wraps > 10 && truth.dram_wraps > 10,
        "{truth:?}"
    );
    assert_within_one_percent("package", package, truth.package_uj);
    assert_within_one_percent("dram", dram, truth.dram_uj);
}

#[test]
fn one_roll_over_loses_no_energy() {
    let ((package, dram), truth) =
        measure(200, (100_000_000, 400_000_000), (50_000_000, 300_000_000));
    assert_eq!((truth.package_wraps, truth.dram_wraps), (1, 1), "{truth:?}");
    assert_within_one_percent("package", package, truth.package_uj);
    assert_within_one_percent("dram", dram, truth.dram_uj);
}

#[test]
fn no_roll_over_is_exact_too() {
    let ((package, dram), truth) = measure(
        200,
        (10_000_000, 1_000_000_000),
        (10_000_000, 1_000_000_000),
    );
    assert_eq!((truth.package_wraps, truth.dram_wraps), (0, 0), "{truth:?}");
    assert_within_one_percent("package", package, truth.package_uj);
    assert_within_one_percent("dram", dram, truth.dram_uj);
}
