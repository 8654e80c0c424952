//! Simulated RAPL hardware that keeps counting on its own: a powercap tree whose counters a
//! thread of this process advances at fixed powers, rolling them over at their ranges, whether
//! or not anyone reads them (a stopped process, a forked child, a sampler that missed its
//! turn). Each counter holds its power times the time since the simulation started, so the
//! power stays exact however late the machine lets the thread run. The true energy is known at
//! every moment: each zone also has a `truth_uj` file (its energy since the simulation started,
//! never rolled over), which powercap ignores and which another process can read to learn what
//! its window really used.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often the simulated hardware updates its counters (at most: a busy machine may run it
/// later, and the counters then move by more at once).
pub const STEP: Duration = Duration::from_millis(2);

/// One zone of the simulation.
#[derive(Clone, Debug)]
pub struct SimZone {
    /// Its directory under the root, e.g. `intel-rapl:0` or `intel-rapl:0/intel-rapl:0:0`.
    pub dir: String,
    /// Its `name`, e.g. `package-0`, `dram`.
    pub name: String,
    /// The value after which `energy_uj` rolls over to 0, in µJ (`max_energy_range_uj`).
    pub range_uj: u64,
    /// The power it draws, in watts.
    pub watts: f64,
    /// Its `energy_uj` when the simulation starts.
    pub start_uj: u64,
}

impl SimZone {
    /// A zone `dir` named `name` rolling over after `range_uj`, drawing `watts`, starting at 0.
    pub fn new(dir: &str, name: &str, range_uj: u64, watts: f64) -> Self {
        SimZone {
            dir: dir.into(),
            name: name.into(),
            range_uj,
            watts,
            start_uj: 0,
        }
    }
}

struct Counter {
    energy: File,
    truth: File,
    modulus: u64,
    start_uj: u64,
    watts: f64,
    added: AtomicU64,
}

impl Counter {
    /// Sets the counter to its energy `elapsed` after the simulation started.
    fn advance(&self, elapsed: Duration) {
        let added = (self.watts * elapsed.as_secs_f64() * 1e6) as u64;
        let value = (self.start_uj + added) % self.modulus;
        // Fixed-width values written in place: the file never shrinks, so a reader never sees
        // an empty or partial number. The truth goes first: a reader that reads the truth
        // after the counter never sees less than the counter holds.
        write_number(&self.truth, added);
        write_number(&self.energy, value);
        self.added.store(added, Ordering::SeqCst);
    }
}

/// Real counters are never late. A simulating thread can be, on a busy machine, and would then
/// show the energy of the time it missed at once: faster than any domain can draw, which
/// pgadget would rightly take for a jump, or, across a roll-over, could not tell from a
/// smaller advance. So the thread asks for a real-time priority (it sleeps between updates,
/// so it takes little from the machine), else a high one; both need root, and without them it
/// runs as it can.
fn keep_on_time() {
    // SAFETY: gettid has no preconditions; sched_setscheduler and setpriority read the
    // parameters given and change only this thread's scheduling.
    unsafe {
        let tid = libc::gettid();
        let param = libc::sched_param { sched_priority: 1 };
        if libc::sched_setscheduler(tid, libc::SCHED_FIFO, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, -15);
        }
    }
}

fn write_number(file: &File, value: u64) {
    file.write_all_at(format!("{value:020}\n").as_bytes(), 0)
        .expect("write a simulated counter");
}

/// A running simulation; it stops when dropped.
pub struct SimPowercap {
    root: PathBuf,
    zones: Vec<SimZone>,
    counters: Arc<Vec<Counter>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimPowercap {
    /// Writes `zones` under `root` and starts advancing them every [`STEP`].
    pub fn start(root: &Path, zones: &[SimZone]) -> SimPowercap {
        let mut counters = Vec::new();
        for zone in zones {
            let dir = root.join(&zone.dir);
            std::fs::create_dir_all(&dir).expect("create a zone directory");
            std::fs::write(dir.join("name"), format!("{}\n", zone.name)).expect("write name");
            std::fs::write(
                dir.join("max_energy_range_uj"),
                format!("{}\n", zone.range_uj),
            )
            .expect("write max_energy_range_uj");
            let open = |file: &str| {
                OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .write(true)
                    .open(dir.join(file))
                    .expect("create a counter file")
            };
            let counter = Counter {
                energy: open("energy_uj"),
                truth: open("truth_uj"),
                modulus: zone.range_uj + 1,
                start_uj: zone.start_uj,
                watts: zone.watts,
                added: AtomicU64::new(0),
            };
            write_number(&counter.truth, 0);
            write_number(&counter.energy, zone.start_uj);
            counters.push(counter);
        }
        let counters = Arc::new(counters);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counters, stop) = (Arc::clone(&counters), Arc::clone(&stop));
            thread::Builder::new()
                .name("simulated-rapl".into())
                .spawn(move || {
                    keep_on_time();
                    let started = Instant::now();
                    while !stop.load(Ordering::SeqCst) {
                        thread::sleep(STEP);
                        let elapsed = started.elapsed();
                        for c in counters.iter() {
                            c.advance(elapsed);
                        }
                    }
                })
                .expect("start the simulated hardware")
        };
        SimPowercap {
            root: root.to_path_buf(),
            zones: zones.to_vec(),
            counters,
            stop,
            thread: Some(thread),
        }
    }

    /// The powercap root to give pgadget.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The energy zone `i` has used since the simulation started, in µJ.
    pub fn truth_uj(&self, i: usize) -> u64 {
        self.counters[i].added.load(Ordering::SeqCst)
    }

    /// How many times zone `i` has rolled over.
    pub fn wraps(&self, i: usize) -> u64 {
        let c = &self.counters[i];
        (self.zones[i].start_uj + c.added.load(Ordering::SeqCst)) / c.modulus
    }

    /// How long zone `i` takes to cover its whole range at its own power.
    pub fn range_time(&self, i: usize) -> Duration {
        Duration::from_secs_f64(self.zones[i].range_uj as f64 / 1e6 / self.zones[i].watts)
    }
}

impl Drop for SimPowercap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The true energy of the zone at `zone_dir` so far, in µJ: readable from any process.
pub fn read_truth_uj(zone_dir: &Path) -> u64 {
    let path = zone_dir.join("truth_uj");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {text:?}: {e}", path.display()))
}

/// Waits until the zone at `zone_dir` has used at least `uj` µJ since the simulation started,
/// and returns its true energy then. Panics after a minute.
pub fn wait_for_truth_uj(zone_dir: &Path, uj: u64) -> u64 {
    let began = Instant::now();
    loop {
        let truth = read_truth_uj(zone_dir);
        if truth >= uj {
            return truth;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "{} stayed below {uj} µJ",
            zone_dir.display()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Where the true energy of a measured window lies, in joules: between what the counter used
/// from just after the window opened to just before it closed (`inner`), and from just before
/// it opened to just after it closed (`outer`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Truth {
    /// The truth read just inside the window's ends.
    pub inner: f64,
    /// The truth read just outside them.
    pub outer: f64,
}

impl Truth {
    /// From four readings of the truth in µJ, in time order: before the window opened, after,
    /// before it closed, after.
    pub fn from_uj(before_open: u64, after_open: u64, before_close: u64, after_close: u64) -> Self {
        Truth {
            inner: (before_close - after_open) as f64 * 1e-6,
            outer: (after_close - before_open) as f64 * 1e-6,
        }
    }

    /// Whether `logged` joules lie within the truth, give or take `share` of it: a reading may
    /// catch the simulation halfway through rewriting a counter file.
    pub fn holds(&self, logged: f64, share: f64) -> bool {
        let slack = self.inner * share;
        (self.inner - slack..=self.outer + slack).contains(&logged)
    }

    /// The truth as text, for a child process to hand it to its parent.
    pub fn to_text(self) -> String {
        format!("{} {}", self.inner, self.outer)
    }

    /// The truth from [`Truth::to_text`].
    pub fn parse(text: &str) -> Truth {
        let (inner, outer) = text.trim().split_once(' ').expect("two numbers");
        Truth {
            inner: inner.parse().expect("a number"),
            outer: outer.parse().expect("a number"),
        }
    }
}
