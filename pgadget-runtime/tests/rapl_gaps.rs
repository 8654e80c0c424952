//! Counters that keep counting while pgadget cannot follow them: a process stopped by SIGSTOP,
//! and a forked child, which has no sampler thread of its own until pgadget starts one.
//!
//! The hardware is a simulated powercap tree whose package counter a thread of the *test*
//! process advances at 950 W and rolls over every 500 J (every 0.53 s), while the process
//! under test, a child re-running this binary, measures with a real `PowerMeter`. A range
//! lasts 0.5 s at pgadget's 1000 W bound: a sampler that a busy machine delays by a few of its
//! 0.125 s periods is not taken for a stop. The true energy is
//! known at every moment (`truth_uj`), so each row is checked against it: a window across a
//! stop is empty with the reason, never short by whole ranges; a window measured in a forked
//! child is right.
#![cfg(target_os = "linux")]

use pgadget_runtime::{read_log, Metadata, PowerMeter, Record};
use pgadget_test_support::child::{child_var, ChildTest};
use pgadget_test_support::meter::powercap_meter;
use pgadget_test_support::sim::{read_truth_uj, wait_for_truth_uj, SimPowercap, SimZone, Truth};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The package counter's range, in µJ.
const RANGE_UJ: u64 = 500_000_000;

/// 500 J at 950 W: one range in 0.53 s of the simulation, 0.5 s at pgadget's 1000 W bound.
fn package() -> SimZone {
    SimZone::new("intel-rapl:0", "package-0", RANGE_UJ, 950.0)
}

fn wait_for(path: &Path) {
    let began = Instant::now();
    while !path.exists() {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn rows(log: &Path) -> Vec<Record> {
    read_log(log).expect("the log is readable").records
}

/// Measures a window in this process that lasts until the counter has rolled over `ranges`
/// times; returns the row and the truth around it.
fn measured_window(
    meter: &PowerMeter,
    zone: &Path,
    algorithm: &'static str,
    ranges: u64,
) -> (Record, Truth) {
    let outer_start = read_truth_uj(zone);
    let window = meter.start(Metadata::new("pgadget-tests", algorithm));
    let inner_start = read_truth_uj(zone);
    let inner_end = wait_for_truth_uj(zone, inner_start + ranges * RANGE_UJ);
    let row = window.finish().expect("a row");
    let outer_end = read_truth_uj(zone);
    (
        row,
        Truth::from_uj(outer_start, inner_start, inner_end, outer_end),
    )
}

/// The logged package energy lies within the truth around the window: between what the
/// counter used inside it and around it (with 1% for a counter file the simulation was
/// halfway through rewriting).
fn assert_package_is_truth(row: &Record, truth: Truth) {
    let Some(logged) = row.package_mwh.map(|mwh| mwh * 3.6) else {
        panic!("no package energy: {row:?}");
    };
    eprintln!(
        "{}: logged {logged:.3} J, truth {:.3}..{:.3} J",
        row.algorithm, truth.inner, truth.outer
    );
    assert!(
        truth.holds(logged, 0.01),
        "logged {logged} J, the counter advanced {truth:?} J ({row:?})"
    );
}

#[test]
fn a_window_across_a_sigstop_is_left_empty_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("powercap");
    let sim = SimPowercap::start(&root, &[package()]);
    let log = tmp.path().join("log.csv");
    let sync = tmp.path().join("sync");
    std::fs::create_dir(&sync).unwrap();

    let child = ChildTest::new("stopped_child")
        .env("ROOT", &root)
        .env("LOG", &log)
        .env("SYNC", &sync)
        .start();
    wait_for(&sync.join("open"));
    child.signal(libc::SIGSTOP);
    // Stopped for at least a second and while the counter rolls over four times.
    let stopped = Instant::now();
    let before_stop = sim.truth_uj(0);
    while sim.truth_uj(0) < before_stop + 4 * RANGE_UJ || stopped.elapsed() < Duration::from_secs(1)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.signal(libc::SIGCONT);
    std::fs::write(sync.join("resumed"), "").unwrap();
    child.finish();

    let rows = rows(&log);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let across = &rows[0];
    assert_eq!(across.status, "ok");
    assert_eq!(across.package_mwh, None, "{across:?}");
    assert_eq!(across.co2_g, None, "no CO2 from a lost package: {across:?}");
    let note = &across.energy_note;
    assert!(
        note.starts_with("Package empty: its counter went ")
            && note.contains(
                " unread (the process stopped, the machine asleep or overloaded): at 1000 W it \
                 could roll over unseen in that time (a range lasts 0.50 s there); measure \
                 again without pausing the process"
            )
            && note.ends_with("; CO2 empty: it would leave out the Package energy"),
        "{note}"
    );
    let unread: f64 = note["Package empty: its counter went ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(unread >= 1.0, "the gap is the stop: {note}");

    // After the stop the counters are followed again: the next window is right.
    let after = &rows[1];
    let truth = Truth::parse(&std::fs::read_to_string(sync.join("truth")).unwrap());
    assert_package_is_truth(after, truth);
    assert_eq!(after.energy_note, "");
    assert!(after.co2_g.is_some());
}

#[test]
#[ignore = "run by a_window_across_a_sigstop_is_left_empty_with_the_reason"]
fn stopped_child() {
    let root = PathBuf::from(child_var("ROOT"));
    let sync = PathBuf::from(child_var("SYNC"));
    let meter = powercap_meter(&root, Path::new(&child_var("LOG")));
    let window = meter.start(Metadata::new("pgadget-tests", "across a stop"));
    std::fs::write(sync.join("open"), "").unwrap();
    // The parent stops this process here, and says when it has let it go on.
    wait_for(&sync.join("resumed"));
    std::thread::sleep(Duration::from_millis(100));
    drop(window);

    let (_, truth) = measured_window(&meter, &root.join("intel-rapl:0"), "after the stop", 2);
    std::fs::write(sync.join("truth"), truth.to_text()).unwrap();
}

#[test]
fn a_forked_child_measures_a_window_of_many_roll_overs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("powercap");
    let _sim = SimPowercap::start(&root, &[package()]);
    let log = tmp.path().join("log.csv");
    let out = ChildTest::new("forking_child")
        .env("ROOT", &root)
        .env("LOG", &log)
        .env("RESULT", tmp.path().join("result"))
        .run();
    let result = std::fs::read_to_string(tmp.path().join("result")).unwrap();
    let (truth, sampler_threads) = result.rsplit_once(' ').unwrap();
    let truth = Truth::parse(truth);
    let sampler_threads: usize = sampler_threads.parse().unwrap();

    let rows = rows(&log);
    let algorithms: Vec<&str> = rows.iter().map(|r| r.algorithm.as_str()).collect();
    assert_eq!(
        algorithms,
        ["in the parent", "in the forked child"],
        "{out:?}"
    );
    let child_row = &rows[1];
    assert_package_is_truth(child_row, truth);
    assert_eq!(child_row.energy_note, "");
    assert_eq!(
        sampler_threads, 1,
        "the child runs a sampler thread of its own"
    );
    assert_ne!(
        rows[0].row_id[..18],
        child_row.row_id[..18],
        "the child draws its own row ids"
    );
}

/// The threads of this process named like the RAPL sampler.
fn sampler_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "pgadget-rapl-sa")
        })
        .count()
}

#[test]
#[ignore = "run by a_forked_child_measures_a_window_of_many_roll_overs"]
fn forking_child() {
    let root = PathBuf::from(child_var("ROOT"));
    let zone = root.join("intel-rapl:0");
    let result = PathBuf::from(child_var("RESULT"));
    let meter = powercap_meter(&root, Path::new(&child_var("LOG")));
    let (row, truth) = measured_window(&meter, &zone, "in the parent", 1);
    assert_package_is_truth(&row, truth);
    assert_eq!(sampler_threads(), 1);

    // SAFETY: this process runs one test thread (--test-threads=1) besides the harness's and
    // pgadget's; the child only measures, writes two files and calls _exit, and glibc makes
    // allocation and thread creation usable in a forked child.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // The window opens in the child, whose sampler was left behind in the parent, and
        // lasts four roll-overs.
        let (_, truth) = measured_window(&meter, &zone, "in the forked child", 4);
        std::fs::write(
            &result,
            format!("{} {}", truth.to_text(), sampler_threads()),
        )
        .unwrap();
        // SAFETY: ends the child at once, without running the test harness in this copy.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the forked child failed: {status}"
    );
}
