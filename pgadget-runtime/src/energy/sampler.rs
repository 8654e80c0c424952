//! Unwrapping RAPL counters, and the background thread that keeps them unwrapped.
//!
//! A RAPL counter is a 32-bit register (or the kernel's image of one in microjoules) that rolls
//! over to 0 after `modulus` units: every few minutes on a busy server package, far sooner on
//! small ranges. Two readings can only be subtracted if at most one roll-over happened between
//! them, so every counter in use is read by a [`Sampler`] thread often enough that it can never
//! roll over twice unseen. The sampler and the measurement snapshots share one [`WrapState`]
//! per counter (behind a mutex): whoever reads the counter advances the same unwrapped 64-bit
//! total, so a snapshot is "the total now" and a window is the difference of two totals.
//!
//! The sampling period is derived from the counter's range and a generous bound on the power
//! its domain can draw ([`GENEROUS_WATTS`]): at that power the counter covers at most a quarter
//! of its range between two samples. See [`sampling_period`].
//!
//! No thread runs while the process is stopped (SIGSTOP, Ctrl-Z, a debugger, a frozen cgroup)
//! or the machine sleeps, and the counters keep counting. So every reading also checks the
//! time since the counter's last good reading, on a clock that counts suspends
//! ([`super::clock`]): past one range at the power bound, a roll-over may have passed unseen.
//! The reading is still taken (counting goes on from it), but the counter records a
//! [`Break`], and a window across it leaves that domain empty with the reason (see
//! [`Reading::since`]).
//!
//! After `fork()` the child has no sampler thread. [`Watched`] notices the fork at the next
//! reading (one atomic load: `crate::fork`) and carries on in the child with a copy of the
//! counters and a sampler thread of its own.

use super::clock::{BootClock, Clock, Stamp};
use super::{Break, Breaks, Cell, Domain, Reading, SourceError};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError, Weak};
use std::thread::{self, Thread};
use std::time::Duration;

/// A bound on the power one RAPL domain (one package, or one package's DRAM) can draw, in
/// watts. The largest server packages shipping in 2026 are rated around 500 W; twice that
/// leaves room for turbo excursions and parts we have not seen. Being generous only makes the
/// sampler read more often, which costs a few microseconds per read.
pub const GENEROUS_WATTS: f64 = 1000.0;

/// The sampler never reads more often than this (it would cost CPU for nothing: RAPL counters
/// themselves update about once a millisecond).
pub const MIN_PERIOD: Duration = Duration::from_millis(1);

/// The sampler never sleeps longer than this, however large the range.
pub const MAX_PERIOD: Duration = Duration::from_secs(60);

/// A reading may advance the counter by `max_rate × (elapsed + GRACE)`. The grace covers the
/// counter's own update granularity: RAPL updates about every millisecond, so two reads a
/// microsecond apart can still see one step, and firmware, a hypervisor's emulated counters or
/// a virtual CPU that the host left waiting may deliver energy in coarser steps. 100 ms at the
/// bound is still less than a six-hundredth of the smallest range in use.
const GRACE: Duration = Duration::from_millis(100);

/// How many times in a row a reading may be impossible before the counter is reported as
/// unreadable: once is a glitch or a burst, retried at once; three times is a counter that
/// cannot be followed, whose total would go stale.
const ATTEMPTS: usize = 3;

/// How often a counter that rolls over after `modulus` units must be read when its domain can
/// draw at most `max_units_per_sec`: a quarter of the time it takes to cover the whole range at
/// that rate, clamped to 1 ms to 60 s.
///
/// A sample delayed by the scheduler for up to three periods still lands before a roll-over
/// could pass unseen, so a busy machine does not make windows lose their energy to a gap. For
/// an Intel package (range 262 143 J, bound 1000 W) this is 66 s, clamped to 60 s; for AMD Zen
/// (range 65 536 J) it is 16 s.
pub fn sampling_period(modulus: u64, max_units_per_sec: f64) -> Duration {
    if max_units_per_sec.is_nan() || max_units_per_sec <= 0.0 {
        return MAX_PERIOD;
    }
    let secs = modulus as f64 / (4.0 * max_units_per_sec);
    if !secs.is_finite() || secs >= MAX_PERIOD.as_secs_f64() {
        MAX_PERIOD
    } else {
        Duration::from_secs_f64(secs).max(MIN_PERIOD)
    }
}

/// The distance the counter moved forward from `from` to `to`, counting a roll-over at
/// `modulus` when `to` is lower.
fn forward(modulus: u64, from: u64, to: u64) -> u64 {
    if to >= from {
        to - from
    } else {
        (modulus - from) + to
    }
}

/// What one raw reading did to a [`WrapState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// The counter moved forward by this many units (after unwrapping), possibly 0.
    Advanced(u64),
    /// The counter had gone unread so long that whole ranges may have passed unseen: it moved
    /// forward by at least this many units, and a [`Break::Gap`] is recorded.
    Gap(u64),
    /// The reading was a little below the last one (by no more than the last reading added,
    /// or than the domain can draw in the time between them): a counter never goes back, so
    /// the last reading read high (a glitch, or a file caught halfway through being rewritten)
    /// and the total follows this one down by this many units.
    Back(u64),
    /// The reading was impossible (beyond the range, or more energy than the domain can
    /// draw in the time since the last reading) and was ignored.
    Rejected,
    /// The counter jumped back (a reset, or readings we could not see): counting restarted
    /// from the reading before this one, the energy across the jump is not counted, and a
    /// [`Break::Jump`] is recorded.
    Resynced,
}

/// The unwrapped state of one counter: the last raw value accepted and the 64-bit total.
#[derive(Clone, Debug)]
pub struct WrapState {
    modulus: u64,
    max_rate: f64,
    bound_watts: f64,
    last: u64,
    last_at: Stamp,
    /// What the last accepted reading added: the most a reading just below it may take back.
    last_step: u64,
    /// Signed: a reading that is taken back (see [`Update::Back`]) can make it dip below 0
    /// right after the first reading.
    total: i64,
    /// A rejected reading, kept to recognise a counter that really jumped.
    suspect: Option<(u64, Stamp)>,
    breaks: Breaks,
    resyncs: u64,
    rejected: u64,
}

impl WrapState {
    /// Starts unwrapping at the raw value `first`, read at `now`. The counter rolls over after
    /// `modulus` units (values are `0..modulus`) and advances by at most `max_units_per_sec`,
    /// which is `bound_watts` in the counter's units (for the notes).
    pub fn new(
        first: u64,
        now: Stamp,
        modulus: u64,
        max_units_per_sec: f64,
        bound_watts: f64,
    ) -> Self {
        WrapState {
            modulus: modulus.max(1),
            max_rate: max_units_per_sec,
            bound_watts,
            last: first % modulus.max(1),
            last_at: now,
            last_step: 0,
            total: 0,
            suspect: None,
            breaks: Breaks::default(),
            resyncs: 0,
            rejected: 0,
        }
    }

    /// The unwrapped total since the first reading, in counter units.
    pub fn total(&self) -> i64 {
        self.total
    }

    /// The breaks the total has had: gaps in which a roll-over may hide, jumps.
    pub fn breaks(&self) -> Breaks {
        self.breaks
    }

    /// How many times the counter jumped and counting restarted.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// How many readings were ignored as impossible.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// How long one whole range lasts at the power bound: a counter unread for longer may
    /// have rolled over unseen.
    pub fn range_time(&self) -> Duration {
        Duration::try_from_secs_f64(self.modulus as f64 / self.max_rate).unwrap_or(Duration::MAX)
    }

    fn allowed(&self, elapsed: Duration) -> f64 {
        self.max_rate * (elapsed + GRACE).as_secs_f64()
    }

    fn record(&mut self, b: Break) {
        self.breaks.count += 1;
        self.breaks.last = Some(b);
    }

    fn accept(&mut self, raw: u64, now: Stamp, delta: u64) {
        self.total += delta as i64;
        self.last_step = delta;
        self.last = raw;
        self.last_at = now;
        self.suspect = None;
    }

    /// Feeds one successful raw reading taken at `now` (see [`WrapState::update_between`]).
    ///
    /// ```
    /// use pgadget_runtime::energy::clock::Stamp;
    /// use pgadget_runtime::energy::sampler::{Update, WrapState};
    /// use std::time::Duration;
    /// let at = |ms| Stamp::from_origin(Duration::from_millis(ms));
    /// // A range of 1000 units, at most 100 units per second.
    /// let mut counter = WrapState::new(950, at(0), 1000, 100.0, 100.0);
    /// assert_eq!(counter.update(20, at(1000)), Update::Advanced(70)); // rolled over
    /// assert_eq!(counter.update(500, at(1001)), Update::Rejected); // 480 units in 1 ms
    /// assert_eq!(counter.total(), 70);
    /// ```
    pub fn update(&mut self, raw: u64, now: Stamp) -> Update {
        self.update_between(raw, now, now)
    }

    /// Feeds one successful raw reading taken between `before` and `after`.
    ///
    /// The time since the last reading is counted from the earliest moment that one may have
    /// been taken to the latest this one may have been: a thread preempted between its read
    /// and its clock read can only make the elapsed time seem longer, which makes a gap more
    /// likely to be flagged, never less.
    ///
    /// When the counter has gone unread so long that it could have covered a whole range more
    /// than the reading shows (the range plus the difference fits in the time elapsed at the
    /// power bound), whole roll-overs may be missing: the difference is counted, as the least
    /// the counter moved, and a [`Break::Gap`] is recorded.
    ///
    /// Otherwise a reading lower than the last one is a roll-over only when the energy it
    /// implies fits in the time elapsed; if not, and it is only a little lower, the last
    /// reading read high and is taken back ([`Update::Back`]); otherwise it is a glitch and is
    /// ignored (and a failed read never reaches this function at all), so no reading can add
    /// energy that was not used. Two consecutive rejected readings that agree with each other
    /// mean the counter really jumped (e.g. it was reset): counting continues from there, with
    /// a [`Break::Jump`]. (A jump forward is not counted as energy: a counter that glitched to
    /// 0 and back would add its whole value.)
    pub fn update_between(&mut self, raw: u64, before: Stamp, after: Stamp) -> Update {
        if raw >= self.modulus {
            self.rejected += 1;
            return Update::Rejected;
        }
        let elapsed = after.saturating_since(self.last_at);
        let delta = forward(self.modulus, self.last, raw);
        let allowed = self.allowed(elapsed);
        if self.modulus as f64 + delta as f64 <= allowed {
            self.accept(raw, before, delta);
            self.record(Break::Gap {
                unread: elapsed,
                limit: self.range_time(),
                bound_watts: self.bound_watts,
            });
            return Update::Gap(delta);
        }
        if delta as f64 <= allowed {
            self.accept(raw, before, delta);
            return Update::Advanced(delta);
        }
        if raw < self.last {
            let back = self.last - raw;
            // The last reading added `last_step`; one that read high added too much, by at
            // most that.
            if back <= self.last_step || back as f64 <= allowed {
                self.total -= back as i64;
                self.last = raw;
                self.last_at = before;
                self.last_step = self.last_step.saturating_sub(back);
                self.suspect = None;
                return Update::Back(back);
            }
        }
        if let Some((suspect, at)) = self.suspect {
            let since_suspect = forward(self.modulus, suspect, raw);
            if since_suspect < self.modulus / 2
                && since_suspect as f64 <= self.allowed(after.saturating_since(at))
            {
                self.resyncs += 1;
                self.accept(raw, before, since_suspect);
                self.record(Break::Jump);
                return Update::Resynced;
            }
        }
        self.suspect = Some((raw, before));
        self.rejected += 1;
        Update::Rejected
    }
}

/// Reads the raw value of one hardware counter (a powercap file, an MSR).
pub trait RawCounter: Send + Sync + fmt::Debug {
    /// The counter's current raw value. An error (including an unparsable value) is a failed
    /// read, never a value.
    fn read_raw(&self) -> io::Result<u64>;
}

/// Which column of the log a counter adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DomainKind {
    /// One package (socket), or one die of it.
    Package,
    /// The cores of one package or die (PP0, "IA").
    Cores,
    /// The memory attached to one package or die.
    Dram,
}

impl DomainKind {
    /// The row's column it adds to.
    pub fn domain(self) -> Domain {
        match self {
            DomainKind::Package => Domain::Package,
            DomainKind::Cores => Domain::Cores,
            DomainKind::Dram => Domain::Dram,
        }
    }
}

/// One counter in use: how to read it, its unit, and its shared unwrapped state.
#[derive(Debug)]
pub struct Counter<R> {
    /// Which column it adds to.
    pub kind: DomainKind,
    /// What it is, for messages (e.g. `/sys/class/powercap/intel-rapl:0/energy_uj`).
    pub label: String,
    /// Joules per counter unit.
    pub joules_per_unit: f64,
    /// The number of units after which the counter rolls over to 0.
    pub modulus: u64,
    max_watts: f64,
    raw: Arc<R>,
    state: Mutex<WrapState>,
    /// The state's break count, copied after every update: readable in a forked child even
    /// when the state's lock was held by a thread that the fork left behind.
    breaks_seen: AtomicU64,
}

impl<R: RawCounter> Counter<R> {
    /// Opens the unwrapping of `raw` with one first reading, timed by `clock`. `max_watts` is
    /// the bound on the domain's power that sets the sampling period and the plausibility of
    /// readings.
    pub fn new(
        kind: DomainKind,
        label: String,
        raw: R,
        joules_per_unit: f64,
        modulus: u64,
        max_watts: f64,
        clock: &dyn Clock,
    ) -> io::Result<Self> {
        let first = raw.read_raw()?;
        let max_rate = max_watts / joules_per_unit;
        Ok(Counter {
            kind,
            label,
            joules_per_unit,
            modulus,
            max_watts,
            raw: Arc::new(raw),
            state: Mutex::new(WrapState::new(
                first,
                clock.now(),
                modulus,
                max_rate,
                max_watts,
            )),
            breaks_seen: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WrapState> {
        // The state is a few integers updated in one place; a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still good.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the counter and returns the unwrapped total in units, with the breaks it has had.
    /// The read and its time stamp happen under the state's lock, so two readers can never
    /// feed values out of order. A failed read is retried once, then reported; it never
    /// changes the total.
    ///
    /// An impossible reading (a glitch, a burst) is retried at once; when three readings in a
    /// row are impossible, the total would be stale, and that is an error too.
    pub fn total(&self, clock: &dyn Clock) -> io::Result<(i64, Breaks)> {
        let mut state = self.lock();
        for _ in 0..ATTEMPTS {
            let before = clock.now();
            let raw = match self.raw.read_raw() {
                Ok(raw) => raw,
                Err(_) => self.raw.read_raw()?,
            };
            let update = state.update_between(raw, before, clock.now());
            self.breaks_seen
                .store(state.breaks.count, Ordering::Release);
            if update != Update::Rejected {
                return Ok((state.total(), state.breaks()));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{ATTEMPTS} readings in a row were impossible (beyond the range, or faster than \
                 {} W)",
                state.bound_watts
            ),
        ))
    }

    /// How often this counter must be read (see [`sampling_period`]).
    pub fn period(&self) -> Duration {
        let state = self.lock();
        sampling_period(self.modulus, state.max_rate)
    }

    /// A copy of the unwrapped state, for `pgadget doctor` and tests.
    pub fn state(&self) -> WrapState {
        self.lock().clone()
    }

    /// The counter a forked child carries on with: the same raw counter behind a lock of its
    /// own. Its state is the parent's when the lock was free at the fork (totals stay
    /// comparable, so a window open across the fork is still measured); when a thread that
    /// no longer exists held it, the state restarts from a new reading with a
    /// [`Break::Fork`], so a window across the fork leaves the domain empty.
    fn fork_copy(&self, clock: &dyn Clock) -> Counter<R> {
        let state = match self.state.try_lock() {
            Ok(state) => state.clone(),
            Err(TryLockError::Poisoned(p)) => p.into_inner().clone(),
            Err(TryLockError::WouldBlock) => {
                let seen = self.breaks_seen.load(Ordering::Acquire);
                let bound = self.max_watts;
                let max_rate = bound / self.joules_per_unit;
                // A failed read leaves `last` at 0 with its time now: the next good reading
                // is then a plausible difference or a gap, and the Fork break already marks
                // the totals as incomparable across this point.
                let first = self.raw.read_raw().unwrap_or(0);
                let mut fresh = WrapState::new(first, clock.now(), self.modulus, max_rate, bound);
                fresh.breaks = Breaks {
                    count: seen + 1,
                    last: Some(Break::Fork),
                };
                fresh
            }
        };
        Counter {
            kind: self.kind,
            label: self.label.clone(),
            joules_per_unit: self.joules_per_unit,
            modulus: self.modulus,
            max_watts: self.max_watts,
            raw: Arc::clone(&self.raw),
            breaks_seen: AtomicU64::new(state.breaks.count),
            state: Mutex::new(state),
        }
    }
}

/// The counters of one source.
#[derive(Debug)]
pub struct CounterSet<R> {
    /// The counters, in the order they are read.
    pub counters: Vec<Counter<R>>,
    /// The source's name, for errors.
    pub source: &'static str,
    /// The clock that times every reading.
    pub clock: Arc<dyn Clock>,
}

impl<R: RawCounter> CounterSet<R> {
    /// Counters timed by the machine's clock that counts suspends.
    pub fn new(counters: Vec<Counter<R>>, source: &'static str) -> Self {
        CounterSet {
            counters,
            source,
            clock: Arc::new(BootClock),
        }
    }

    /// Reads every counter (also feeding the wrap state) and sums them per column. A column
    /// is [`Cell::NotMeasured`] when no counter feeds it, and [`Cell::Lost`] when one of its
    /// counters could not be read: a sum missing a socket would be a wrong figure.
    pub fn reading(&self) -> Reading {
        let mut reading = Reading::default();
        for counter in &self.counters {
            let domain = counter.kind.domain();
            let cell = match counter.total(self.clock.as_ref()) {
                Ok((units, breaks)) => {
                    reading.breaks[domain as usize].add(breaks);
                    Cell::Joules(units as f64 * counter.joules_per_unit)
                }
                Err(e) => Cell::Lost(format!(
                    "{} could not read {}: {e}; run `pgadget doctor` to check the counters",
                    self.source, counter.label
                )),
            };
            reading.cell_mut(domain).add(cell);
        }
        reading
    }

    /// Reads every counter once, ignoring failures (the sampler's job: failures are retried
    /// at the next period, and snapshots report their own).
    pub fn sample(&self) {
        for counter in &self.counters {
            let _ = counter.total(self.clock.as_ref());
        }
    }

    /// The shortest period any counter needs.
    pub fn period(&self) -> Duration {
        self.counters
            .iter()
            .map(Counter::period)
            .min()
            .unwrap_or(MAX_PERIOD)
    }
}

impl<R: RawCounter + 'static> CounterSet<R> {
    /// Shares `counters` with a [`Sampler`] that reads them every [`CounterSet::period`], so
    /// that no roll-over goes unseen between two readings, in this process and in any forked
    /// child.
    pub fn watched(self) -> Result<Watched<Self>, SourceError> {
        let period = self.period();
        let source = self.source;
        Watched::start("pgadget-rapl-sampler", self, Some(period)).map_err(|e| {
            SourceError::new(
                source,
                format!("cannot start the thread that follows counter roll-overs: {e}"),
            )
        })
    }
}

/// Something a [`Sampler`] reads every period: RAPL counters, or GPUs whose power is
/// integrated.
pub trait Sampled: Send + Sync + Sized + 'static {
    /// Reads every counter once. Failures are for the next period (or the next reading) to
    /// report: a sampler has no one to tell.
    fn sample(&self);

    /// What a forked child carries on with: the same devices, with locks of its own (a
    /// thread of the parent may have held one at the fork, and that thread is gone).
    fn fork_copy(&self) -> Self;
}

impl<R: RawCounter + 'static> Sampled for CounterSet<R> {
    fn sample(&self) {
        CounterSet::sample(self);
    }

    fn fork_copy(&self) -> Self {
        CounterSet {
            counters: self
                .counters
                .iter()
                .map(|c| c.fork_copy(self.clock.as_ref()))
                .collect(),
            source: self.source,
            clock: Arc::clone(&self.clock),
        }
    }
}

/// The background thread reading a source's counters every period.
///
/// It holds only a weak reference to the counters, sleeps between reads, and ends when the
/// source (or the `Sampler`) is dropped; like any Rust thread it never keeps the process alive.
#[derive(Debug)]
pub struct Sampler {
    period: Duration,
    stop: Arc<AtomicBool>,
    thread: Thread,
}

impl Sampler {
    /// Starts a thread named `name` reading `counters` every `period`.
    pub fn start<S: Sampled>(
        name: &str,
        counters: &Arc<S>,
        period: Duration,
    ) -> io::Result<Sampler> {
        let weak: Weak<S> = Arc::downgrade(counters);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_seen = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name(name.into())
            .spawn(move || loop {
                // park_timeout may return early (spuriously, or when dropped); an extra read
                // is harmless, and the loop checks whether to stop first.
                thread::park_timeout(period);
                if stop_seen.load(Ordering::Acquire) {
                    break;
                }
                match weak.upgrade() {
                    Some(counters) => counters.sample(),
                    None => break,
                }
            })?;
        Ok(Sampler {
            period,
            stop,
            thread: handle.thread().clone(),
        })
    }

    /// How often the thread reads.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // In a forked child this thread does not exist; waking its parker is harmless.
        self.thread.unpark();
    }
}

/// What a [`Watched`] holds in one process: the shared state, its sampler, and what a forked
/// child made of it.
#[derive(Debug)]
struct Generation<S> {
    /// `crate::fork::generation()` of the process this was made in.
    fork: u64,
    shared: Arc<S>,
    sampler: Option<Sampler>,
    /// The copy made in a forked child (only ever set in that child's memory).
    next: OnceLock<Box<Generation<S>>>,
}

/// Shared state read by a [`Sampler`] thread, that follows the process into a forked child.
///
/// [`Watched::get`] costs one atomic load when the process has not forked. In a child, the
/// first call makes a copy of the state ([`Sampled::fork_copy`]) and starts a sampler for it;
/// the parent's copy, whose sampler thread does not exist here, is kept unused until the
/// `Watched` is dropped.
#[derive(Debug)]
pub struct Watched<S> {
    name: &'static str,
    period: Option<Duration>,
    head: Generation<S>,
}

impl<S: Sampled> Watched<S> {
    /// Shares `shared` with a sampler thread named `name` reading it every `period` (no thread
    /// when `period` is `None`: the state is still copied into forked children).
    pub fn start(name: &'static str, shared: S, period: Option<Duration>) -> io::Result<Self> {
        let shared = Arc::new(shared);
        let sampler = match period {
            Some(p) => Some(Sampler::start(name, &shared, p)?),
            None => None,
        };
        Ok(Watched {
            name,
            period,
            head: Generation {
                fork: crate::fork::generation(),
                shared,
                sampler,
                next: OnceLock::new(),
            },
        })
    }

    /// The state of this process (made now if the process is a fork that has not used it yet).
    pub fn get(&self) -> &S {
        let now = crate::fork::generation();
        let mut generation = &self.head;
        while generation.fork != now {
            generation = generation
                .next
                .get_or_init(|| Box::new(self.carry_on(generation, now)))
                .as_ref();
        }
        &generation.shared
    }

    /// How often the sampler reads, if there is one.
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// Whether this process has a sampler thread reading the state.
    pub fn has_sampler(&self) -> bool {
        let now = crate::fork::generation();
        let mut generation = &self.head;
        while generation.fork != now {
            match generation.next.get() {
                Some(next) => generation = next.as_ref(),
                None => return false,
            }
        }
        generation.sampler.is_some()
    }

    fn carry_on(&self, parent: &Generation<S>, now: u64) -> Generation<S> {
        let shared = Arc::new(parent.shared.fork_copy());
        let sampler = self
            .period
            .and_then(|p| match Sampler::start(self.name, &shared, p) {
                Ok(s) => Some(s),
                Err(e) => {
                    crate::report_once(&format!(
                        "cannot start the thread that follows counter roll-overs in this forked \
                         process ({e}): windows longer than a counter's range at its power bound \
                         will be left empty"
                    ));
                    None
                }
            });
        Generation {
            fork: now,
            shared,
            sampler,
            next: OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn t0() -> Stamp {
        Stamp::from_origin(Duration::from_secs(1000))
    }

    /// A state with a 1000-unit range that can advance 100 units per second (one range in
    /// 10 s).
    fn state(first: u64, t0: Stamp) -> WrapState {
        WrapState::new(first, t0, 1000, 100.0, 100.0)
    }

    #[test]
    fn forward_movement_adds_the_difference() {
        let t0 = t0();
        let mut s = state(100, t0);
        assert_eq!(s.update(150, t0 + 1000 * MS), Update::Advanced(50));
        assert_eq!(s.update(230, t0 + 2000 * MS), Update::Advanced(80));
        assert_eq!(s.total(), 130);
        assert_eq!(s.breaks(), Breaks::default());
    }

    #[test]
    fn a_lower_reading_after_enough_time_is_a_roll_over() {
        let t0 = t0();
        let mut s = state(950, t0);
        // 950 -> 999 -> (wrap) -> 0 -> 20: 70 units in one second.
        assert_eq!(s.update(20, t0 + 1000 * MS), Update::Advanced(70));
        assert_eq!(s.total(), 70);
    }

    #[test]
    fn a_reading_equal_to_the_last_adds_nothing_and_is_not_a_wrap() {
        let t0 = t0();
        let mut s = state(500, t0);
        assert_eq!(s.update(500, t0 + 5000 * MS), Update::Advanced(0));
        assert_eq!(s.total(), 0);
    }

    #[test]
    fn ten_wraps_give_the_same_energy_as_none() {
        let t0 = t0();
        // 5 units per ms at most: a whole range (1000) takes 200 ms, so readings 1 ms apart
        // cannot miss one.
        let mut wrapping = WrapState::new(0, t0, 1000, 5_000.0, 5_000.0);
        let mut wide = WrapState::new(0, t0, u64::MAX, 5_000.0, 5_000.0);
        let mut truth = 0u64;
        for i in 1..=200u64 {
            truth += 57;
            let now = t0 + MS * i as u32;
            wrapping.update(truth % 1000, now);
            wide.update(truth, now);
        }
        assert!(truth / 1000 >= 10, "the test must cross ten wraps");
        assert_eq!(wrapping.total(), truth as i64);
        assert_eq!(wide.total(), truth as i64);
        assert_eq!(wrapping.breaks().count, 0, "1 ms apart is no gap");
    }

    #[test]
    fn a_glitch_to_zero_is_not_a_wrap() {
        let t0 = t0();
        let mut s = state(900, t0);
        assert_eq!(s.update(910, t0 + 100 * MS), Update::Advanced(10));
        // A bogus 0 would imply 90 units in 1 ms: impossible at 100 units/s.
        assert_eq!(s.update(0, t0 + 101 * MS), Update::Rejected);
        assert_eq!(s.total(), 10);
        // The counter carries on from where it really was.
        assert_eq!(s.update(915, t0 + 150 * MS), Update::Advanced(5));
        assert_eq!(s.total(), 15);
        assert_eq!(s.rejected(), 1);
        assert_eq!(s.breaks().count, 0, "an ignored glitch loses nothing");
    }

    #[test]
    fn a_reading_a_little_below_the_last_takes_the_last_one_back() {
        let t0 = t0();
        let mut s = state(500, t0);
        // Read high: 560 (a glitch), then 540 0.3 s later; the counter never goes back.
        assert_eq!(s.update(560, t0 + 1000 * MS), Update::Advanced(60));
        assert_eq!(s.update(540, t0 + 1300 * MS), Update::Back(20));
        assert_eq!(s.update(550, t0 + 1400 * MS), Update::Advanced(10));
        assert_eq!(
            s.total(),
            50,
            "the total follows the counter, not the glitch"
        );
        assert_eq!(s.breaks().count, 0);
        // A big step that read high is taken back at once, however short the time since.
        assert_eq!(s.update(850, t0 + 5000 * MS), Update::Advanced(300));
        assert_eq!(s.update(600, t0 + 5001 * MS), Update::Back(250));
        assert_eq!(s.total(), 100);
        // Far below, it is not a misread but a reset (see the reset test).
        assert_eq!(s.update(100, t0 + 5010 * MS), Update::Rejected);
    }

    #[test]
    fn a_reading_beyond_the_range_is_ignored() {
        let t0 = t0();
        let mut s = state(10, t0);
        assert_eq!(s.update(5000, t0 + 1000 * MS), Update::Rejected);
        assert_eq!(s.update(20, t0 + 1100 * MS), Update::Advanced(10));
    }

    #[test]
    fn a_real_reset_is_followed_and_recorded_as_a_break() {
        let t0 = t0();
        let mut s = state(800, t0);
        // The counter is reset to ~0 (e.g. after resume) and goes on from there.
        assert_eq!(s.update(3, t0 + 10 * MS), Update::Rejected);
        assert_eq!(s.update(5, t0 + 30 * MS), Update::Resynced);
        assert_eq!(s.total(), 2);
        assert_eq!(s.update(9, t0 + 70 * MS), Update::Advanced(4));
        assert_eq!(s.total(), 6);
        assert_eq!(s.resyncs(), 1);
        assert_eq!(
            s.breaks(),
            Breaks {
                count: 1,
                last: Some(Break::Jump)
            },
            "the energy across the jump is missing: windows across it must say so"
        );
    }

    #[test]
    fn a_reading_is_timed_from_before_the_last_read_to_after_this_one() {
        let t0 = t0();
        let mut s = state(100, t0);
        // Read at t0 + 1 s but time-stamped 5 s later (the reader was preempted): the next
        // reading 6 s after t0 is compared with the 6 s that may have passed, so 1050 units
        // (a roll-over) fit in them and a gap is recorded.
        assert_eq!(
            s.update_between(200, t0 + 1000 * MS, t0 + 5000 * MS),
            Update::Advanced(100)
        );
        assert_eq!(
            s.update_between(250, t0 + 12_000 * MS, t0 + 12_000 * MS),
            Update::Gap(50)
        );
    }

    #[test]
    fn three_impossible_readings_in_a_row_are_an_error_not_a_stale_total() {
        let (raw, counter) = scripted_at(0, 1 << 20, 1e4, &BootClock);
        raw.value.store(100, Ordering::SeqCst);
        assert_eq!(counter.total(&BootClock).unwrap().0, 100);
        // Beyond the counter's range, every time.
        raw.value.store((1 << 20) + 5, Ordering::SeqCst);
        let e = counter.total(&BootClock).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("3 readings in a row were impossible"),
            "{e}"
        );
    }

    #[test]
    fn a_counter_unread_for_longer_than_one_range_at_the_bound_has_a_gap() {
        let t0 = t0();
        // One range lasts 10 s at the bound.
        let mut s = state(100, t0);
        assert_eq!(s.range_time(), Duration::from_secs(10));
        // 6 s later the counter reads 700: 600 units, or 1600 after an unseen roll-over
        // (1600 > 100 units/s x 6 s: impossible). No gap.
        assert_eq!(s.update(700, t0 + 6000 * MS), Update::Advanced(600));
        // 12 s later at 750: 50 units, or 1050 after one roll-over, which 12 s at the bound
        // allow. Counted as 50, with a gap.
        let now = t0 + 18_000 * MS;
        assert_eq!(s.update(750, now), Update::Gap(50));
        assert_eq!(s.total(), 650);
        assert_eq!(s.breaks().count, 1);
        assert_eq!(
            s.breaks().last,
            Some(Break::Gap {
                unread: Duration::from_secs(12),
                limit: Duration::from_secs(10),
                bound_watts: 100.0
            })
        );
        // Counting goes on normally from there.
        assert_eq!(s.update(760, now + 100 * MS), Update::Advanced(10));
        assert_eq!(s.breaks().count, 1);
    }

    /// A counter whose raw value and failure are set by the test.
    #[derive(Debug, Default)]
    struct Scripted {
        value: AtomicU64,
        fail: AtomicBool,
    }

    impl RawCounter for Arc<Scripted> {
        fn read_raw(&self) -> io::Result<u64> {
            if self.fail.load(Ordering::SeqCst) {
                Err(io::Error::new(io::ErrorKind::InvalidData, "empty read"))
            } else {
                Ok(self.value.load(Ordering::SeqCst))
            }
        }
    }

    /// A clock the test moves by hand: it can play a suspend without sleeping.
    #[derive(Debug, Default)]
    struct HandClock(AtomicU64);

    impl HandClock {
        fn advance(&self, d: Duration) {
            self.0.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
        }
    }

    impl Clock for HandClock {
        fn now(&self) -> Stamp {
            Stamp::from_origin(Duration::from_nanos(self.0.load(Ordering::SeqCst)))
        }
    }

    fn scripted(first: u64, modulus: u64) -> (Arc<Scripted>, Counter<Arc<Scripted>>) {
        scripted_at(first, modulus, 1e9, &BootClock)
    }

    fn scripted_at(
        first: u64,
        modulus: u64,
        watts: f64,
        clock: &dyn Clock,
    ) -> (Arc<Scripted>, Counter<Arc<Scripted>>) {
        let raw = Arc::new(Scripted::default());
        raw.value.store(first, Ordering::SeqCst);
        let counter = Counter::new(
            DomainKind::Package,
            "scripted".into(),
            Arc::clone(&raw),
            1.0,
            modulus,
            watts,
            clock,
        )
        .unwrap();
        (raw, counter)
    }

    #[test]
    fn a_failed_read_is_reported_and_adds_nothing() {
        let (raw, counter) = scripted(990, 1000);
        raw.value.store(995, Ordering::SeqCst);
        assert_eq!(counter.total(&BootClock).unwrap().0, 5);
        raw.fail.store(true, Ordering::SeqCst);
        assert!(counter.total(&BootClock).is_err());
        raw.fail.store(false, Ordering::SeqCst);
        // The previous raw value (995) was kept: 995 -> 999 -> 0 -> 7 is 12 units.
        raw.value.store(7, Ordering::SeqCst);
        assert_eq!(counter.total(&BootClock).unwrap().0, 17);
    }

    #[test]
    fn a_suspend_longer_than_one_range_empties_the_windows_across_it() {
        // 1000 J range at 10 W: one range in 100 s. The clock plays a 30-minute suspend (the
        // boot clock counts it; Instant, CLOCK_MONOTONIC, would not).
        let clock = Arc::new(HandClock::default());
        let (raw, counter) = scripted_at(0, 1000, 10.0, clock.as_ref());
        let set = CounterSet {
            counters: vec![counter],
            source: "test",
            clock: Arc::clone(&clock) as Arc<dyn Clock>,
        };
        let before = set.reading();
        clock.advance(Duration::from_secs(2));
        raw.value.store(15, Ordering::SeqCst);
        let measured = set.reading();
        assert_eq!(measured.since(&before).package, Cell::Joules(15.0));

        // A window open across the suspend: the counter wrapped ten times unseen.
        clock.advance(Duration::from_secs(1800));
        raw.value.store(40, Ordering::SeqCst);
        let after = set.reading();
        let lost = after.since(&measured).package;
        let reason = lost
            .lost()
            .expect("the package cell is empty with a reason");
        assert!(
            reason.starts_with(
                "its counter went 1800 s unread (the process stopped, the machine asleep or \
                 overloaded): at 10 W it could roll over unseen in that time (a range lasts \
                 100 s there); measure again without pausing the process"
            ),
            "{reason}"
        );
        assert_eq!(after.package, Cell::Joules(40.0), "counting goes on");

        // A window that opens after the gap is measured again.
        clock.advance(Duration::from_secs(1));
        raw.value.store(48, Ordering::SeqCst);
        assert_eq!(set.reading().since(&after).package, Cell::Joules(8.0));
    }

    #[test]
    fn a_column_with_one_unreadable_counter_is_lost_and_the_others_stay() {
        // 2^20 units at 10^4 units/s: no gap between readings a moment apart.
        let slow = |first| scripted_at(first, 1 << 20, 1e4, &BootClock);
        let (pkg_raw, pkg) = slow(0);
        let (_, mut dram) = slow(0);
        dram.kind = DomainKind::Dram;
        let (pkg1_raw, mut pkg1) = slow(0);
        pkg1.label = "second socket".into();
        let set = CounterSet::new(vec![pkg, dram, pkg1], "test");
        let start = set.reading();
        pkg_raw.value.store(100, Ordering::SeqCst);
        pkg1_raw.fail.store(true, Ordering::SeqCst);
        let used = set.reading().since(&start);
        assert_eq!(used.dram, Cell::Joules(0.0));
        let reason = used.package.lost().expect("the package column is lost");
        assert!(
            reason.starts_with("test could not read second socket: empty read; run"),
            "{reason}"
        );
        assert_eq!(used.cores, Cell::NotMeasured);
    }

    #[test]
    fn a_forked_copy_keeps_the_totals_or_starts_afresh_with_a_break() {
        let (raw, counter) = scripted_at(100, 1 << 20, 1e4, &BootClock);
        raw.value.store(150, Ordering::SeqCst);
        let (total, _) = counter.total(&BootClock).unwrap();
        assert_eq!(total, 50);
        // The lock was free at the fork: the child carries on with the same total.
        let copy = counter.fork_copy(&BootClock);
        raw.value.store(160, Ordering::SeqCst);
        assert_eq!(copy.total(&BootClock).unwrap().0, 60);
        assert_eq!(copy.state().breaks().count, 0);

        // A thread of the parent held the lock: the child's copy restarts, with a break.
        std::thread::scope(|scope| {
            let (locked, release) = std::sync::mpsc::channel::<()>();
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let counter = &counter;
            let holder = scope.spawn(move || {
                let _guard = counter.lock();
                locked.send(()).unwrap();
                wait.recv().unwrap();
            });
            release.recv().unwrap();
            let copy = counter.fork_copy(&BootClock);
            go.send(()).unwrap();
            holder.join().unwrap();
            let breaks = copy.state().breaks();
            assert_eq!(breaks.last, Some(Break::Fork));
            assert!(breaks.count > counter.state().breaks().count);
            assert_eq!(copy.state().total(), 0);
        });
    }

    #[test]
    fn period_is_a_quarter_of_the_range_at_the_bound_and_clamped() {
        // 4 units per second, 1000 units: 62.5 s -> clamped to 60 s.
        assert_eq!(sampling_period(1000, 4.0), MAX_PERIOD);
        // 1000 units at 1000 units/s: 0.25 s.
        assert_eq!(sampling_period(1000, 1000.0), Duration::from_millis(250));
        // Tiny range: clamped to 1 ms.
        assert_eq!(sampling_period(10, 1e9), MIN_PERIOD);
        // Intel package: 2^32 units of 61 µJ at 1000 W.
        let intel = sampling_period(1 << 32, GENEROUS_WATTS * 16384.0);
        assert_eq!(intel, MAX_PERIOD);
        // AMD Zen: 2^32 units of 15.3 µJ at 1000 W: about 16 s.
        let amd = sampling_period(1 << 32, GENEROUS_WATTS * 65536.0);
        assert!(amd > Duration::from_secs(16) && amd < Duration::from_secs(17));
    }

    #[test]
    fn the_sampler_keeps_a_counter_unwrapped_and_stops_with_it() {
        let (raw, counter) = scripted(0, 1000);
        let set = Arc::new(CounterSet::new(vec![counter], "test"));
        let sampler = Sampler::start("pgadget-test-sampler", &set, MIN_PERIOD).unwrap();
        // Drive the counter through 20 wraps, waiting until the sampler has seen each step.
        let mut truth = 0u64;
        for _ in 0..60 {
            truth += 350;
            // Taken before the step: the sampler may see the step before this thread looks.
            let seen_before = set.counters[0].state().total();
            raw.value.store(truth % 1000, Ordering::SeqCst);
            let mut waited = 0;
            while set.counters[0].state().total() == seen_before {
                waited += 1;
                assert!(waited < 10_000, "the sampler stopped reading");
                thread::sleep(MS);
            }
        }
        assert_eq!(set.reading().package, Cell::Joules(truth as f64));
        let weak = Arc::downgrade(&set);
        drop(sampler);
        drop(set);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn a_watched_state_is_the_same_until_the_process_forks() {
        let (_, counter) = scripted(0, 1000);
        let watched = Watched::start(
            "pgadget-test-sampler",
            CounterSet::new(vec![counter], "test"),
            Some(MAX_PERIOD),
        )
        .unwrap();
        assert!(std::ptr::eq(watched.get(), watched.get()));
        assert!(watched.has_sampler());
        assert_eq!(watched.period(), Some(MAX_PERIOD));
    }
}
