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
//! its domain can draw ([`GENEROUS_WATTS`]): at that power the counter covers at most half its
//! range between two samples. See [`sampling_period`].

use super::{Reading, SourceError};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

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
/// counter's own update granularity (RAPL updates in steps of about 1 ms, so two reads a
/// microsecond apart can still see one step).
const GRACE: Duration = Duration::from_millis(10);

/// How often a counter that rolls over after `modulus` units must be read when its domain can
/// draw at most `max_units_per_sec`: half the time it takes to cover the whole range at that
/// rate, clamped to 1 ms to 60 s.
///
/// Reading every half range means that even a sample delayed by a whole period by the
/// scheduler still lands before the second roll-over. For an Intel package (range 262 143 J,
/// bound 1000 W) this is 131 s, clamped to 60 s; for AMD Zen (range 65 536 J) it is 33 s.
pub fn sampling_period(modulus: u64, max_units_per_sec: f64) -> Duration {
    if max_units_per_sec.is_nan() || max_units_per_sec <= 0.0 {
        return MAX_PERIOD;
    }
    let secs = modulus as f64 / (2.0 * max_units_per_sec);
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
    /// The reading was impossible (beyond the range, or more energy than the domain can
    /// draw in the time since the last reading) and was ignored.
    Rejected,
    /// The counter jumped (a reset, or readings we could not see): counting restarted from
    /// the reading before this one, and the energy across the jump is not counted.
    Resynced,
}

/// The unwrapped state of one counter: the last raw value accepted and the 64-bit total.
#[derive(Clone, Debug)]
pub struct WrapState {
    modulus: u64,
    max_rate: f64,
    last: u64,
    last_at: Instant,
    total: u64,
    /// A rejected reading, kept to recognise a counter that really jumped.
    suspect: Option<(u64, Instant)>,
    resyncs: u64,
    rejected: u64,
}

impl WrapState {
    /// Starts unwrapping at the raw value `first`, read at `now`. The counter rolls over after
    /// `modulus` units (values are `0..modulus`) and advances by at most `max_units_per_sec`.
    pub fn new(first: u64, now: Instant, modulus: u64, max_units_per_sec: f64) -> Self {
        WrapState {
            modulus: modulus.max(1),
            max_rate: max_units_per_sec,
            last: first % modulus.max(1),
            last_at: now,
            total: 0,
            suspect: None,
            resyncs: 0,
            rejected: 0,
        }
    }

    /// The unwrapped total since the first reading, in counter units.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many times the counter jumped and counting restarted.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// How many readings were ignored as impossible.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    fn allowed(&self, since: Instant, now: Instant) -> f64 {
        self.max_rate * (now.saturating_duration_since(since) + GRACE).as_secs_f64()
    }

    /// Feeds one successful raw reading taken at `now`.
    ///
    /// A reading lower than the last one is a roll-over only when the energy it implies fits
    /// in the time elapsed; otherwise it is a glitch and is ignored (and a failed read never
    /// reaches this function at all), so no reading can add energy that was not used. Two
    /// consecutive rejected readings that agree with each other mean the counter really jumped
    /// (e.g. it was reset): counting continues from there.
    pub fn update(&mut self, raw: u64, now: Instant) -> Update {
        if raw >= self.modulus {
            self.rejected += 1;
            return Update::Rejected;
        }
        let delta = forward(self.modulus, self.last, raw);
        if delta as f64 <= self.allowed(self.last_at, now) {
            self.total += delta;
            self.last = raw;
            self.last_at = now;
            self.suspect = None;
            return Update::Advanced(delta);
        }
        if let Some((suspect, at)) = self.suspect {
            let since_suspect = forward(self.modulus, suspect, raw);
            if since_suspect < self.modulus / 2 && since_suspect as f64 <= self.allowed(at, now) {
                self.total += since_suspect;
                self.last = raw;
                self.last_at = now;
                self.suspect = None;
                self.resyncs += 1;
                return Update::Resynced;
            }
        }
        self.suspect = Some((raw, now));
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
    /// One package (socket).
    Package,
    /// The cores of one package (PP0, "IA").
    Cores,
    /// The memory attached to one package.
    Dram,
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
    raw: R,
    state: Mutex<WrapState>,
}

impl<R: RawCounter> Counter<R> {
    /// Opens the unwrapping of `raw` with one first reading. `max_watts` is the bound on the
    /// domain's power that sets the sampling period and the plausibility of readings.
    pub fn new(
        kind: DomainKind,
        label: String,
        raw: R,
        joules_per_unit: f64,
        modulus: u64,
        max_watts: f64,
    ) -> io::Result<Self> {
        let first = raw.read_raw()?;
        let max_rate = max_watts / joules_per_unit;
        Ok(Counter {
            kind,
            label,
            joules_per_unit,
            modulus,
            raw,
            state: Mutex::new(WrapState::new(first, Instant::now(), modulus, max_rate)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WrapState> {
        // The state is a few integers updated in one place; a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still good.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the counter and returns the unwrapped total in units. The read happens under the
    /// state's lock, so two readers can never feed values out of order. A failed read is
    /// retried once, then reported; it never changes the total.
    pub fn total(&self) -> io::Result<u64> {
        let mut state = self.lock();
        let raw = match self.raw.read_raw() {
            Ok(raw) => raw,
            Err(_) => self.raw.read_raw()?,
        };
        state.update(raw, Instant::now());
        Ok(state.total())
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
}

/// The counters of one source.
#[derive(Debug)]
pub struct CounterSet<R> {
    /// The counters, in the order they are read.
    pub counters: Vec<Counter<R>>,
    /// The source's name, for errors.
    pub source: &'static str,
}

impl<R: RawCounter> CounterSet<R> {
    /// Reads every counter (also feeding the wrap state) and sums them per column. A column
    /// is `None` when no counter feeds it.
    pub fn reading(&self) -> Result<Reading, SourceError> {
        let mut reading = Reading::default();
        for counter in &self.counters {
            let units = counter.total().map_err(|e| {
                SourceError::new(
                    self.source,
                    format!("reading {} failed: {e}", counter.label),
                )
                .with_remedy("run `pgadget doctor` to check the counters")
            })?;
            let joules = units as f64 * counter.joules_per_unit;
            let column = match counter.kind {
                DomainKind::Package => &mut reading.package,
                DomainKind::Cores => &mut reading.cores,
                DomainKind::Dram => &mut reading.dram,
            };
            *column = Some(column.unwrap_or(0.0) + joules);
        }
        Ok(reading)
    }

    /// Reads every counter once, ignoring failures (the sampler's job: failures are retried
    /// at the next period, and snapshots report their own).
    pub fn sample(&self) {
        for counter in &self.counters {
            let _ = counter.total();
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
    /// that no roll-over goes unseen between two readings.
    pub fn watched(
        counters: Vec<Counter<R>>,
        source: &'static str,
    ) -> Result<(Arc<Self>, Sampler), SourceError> {
        let counters = Arc::new(CounterSet { counters, source });
        let sampler = Sampler::start("pgadget-rapl-sampler", &counters, counters.period())
            .map_err(|e| {
                SourceError::new(
                    source,
                    format!("cannot start the thread that follows counter roll-overs: {e}"),
                )
            })?;
        Ok((counters, sampler))
    }
}

/// Something a [`Sampler`] reads every period: RAPL counters, or GPUs whose power is
/// integrated.
pub trait Sampled: Send + Sync + 'static {
    /// Reads every counter once. Failures are for the next period (or the next reading) to
    /// report: a sampler has no one to tell.
    fn sample(&self);
}

impl<R: RawCounter + 'static> Sampled for CounterSet<R> {
    fn sample(&self) {
        CounterSet::sample(self);
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
        self.thread.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    const MS: Duration = Duration::from_millis(1);

    /// A state with a 1000-unit range that can advance 100 units per second.
    fn state(first: u64, t0: Instant) -> WrapState {
        WrapState::new(first, t0, 1000, 100.0)
    }

    #[test]
    fn forward_movement_adds_the_difference() {
        let t0 = Instant::now();
        let mut s = state(100, t0);
        assert_eq!(s.update(150, t0 + 1000 * MS), Update::Advanced(50));
        assert_eq!(s.update(230, t0 + 2000 * MS), Update::Advanced(80));
        assert_eq!(s.total(), 130);
    }

    #[test]
    fn a_lower_reading_after_enough_time_is_a_roll_over() {
        let t0 = Instant::now();
        let mut s = state(950, t0);
        // 950 -> 999 -> (wrap) -> 0 -> 20: 70 units in one second.
        assert_eq!(s.update(20, t0 + 1000 * MS), Update::Advanced(70));
        assert_eq!(s.total(), 70);
    }

    #[test]
    fn a_reading_equal_to_the_last_adds_nothing_and_is_not_a_wrap() {
        let t0 = Instant::now();
        let mut s = state(500, t0);
        assert_eq!(s.update(500, t0 + 5000 * MS), Update::Advanced(0));
        assert_eq!(s.total(), 0);
    }

    #[test]
    fn ten_wraps_give_the_same_energy_as_none() {
        let t0 = Instant::now();
        let mut wrapping = WrapState::new(0, t0, 1000, 1e6);
        let mut wide = WrapState::new(0, t0, u64::MAX, 1e6);
        let mut truth = 0u64;
        for i in 1..=200u64 {
            truth += 57;
            let now = t0 + MS * i as u32;
            wrapping.update(truth % 1000, now);
            wide.update(truth, now);
        }
        assert!(truth / 1000 >= 10, "the test must cross ten wraps");
        assert_eq!(wrapping.total(), truth);
        assert_eq!(wide.total(), truth);
    }

    #[test]
    fn a_glitch_to_zero_is_not_a_wrap() {
        let t0 = Instant::now();
        let mut s = state(900, t0);
        assert_eq!(s.update(910, t0 + 100 * MS), Update::Advanced(10));
        // A bogus 0 would imply 90 units in 1 ms: impossible at 100 units/s.
        assert_eq!(s.update(0, t0 + 101 * MS), Update::Rejected);
        assert_eq!(s.total(), 10);
        // The counter carries on from where it really was.
        assert_eq!(s.update(915, t0 + 150 * MS), Update::Advanced(5));
        assert_eq!(s.total(), 15);
        assert_eq!(s.rejected(), 1);
    }

    #[test]
    fn a_reading_beyond_the_range_is_ignored() {
        let t0 = Instant::now();
        let mut s = state(10, t0);
        assert_eq!(s.update(5000, t0 + 1000 * MS), Update::Rejected);
        assert_eq!(s.update(20, t0 + 1100 * MS), Update::Advanced(10));
    }

    #[test]
    fn a_real_reset_is_followed_without_counting_the_jump() {
        let t0 = Instant::now();
        let mut s = state(800, t0);
        // The counter is reset to ~0 (e.g. after resume) and goes on from there.
        assert_eq!(s.update(3, t0 + 10 * MS), Update::Rejected);
        assert_eq!(s.update(5, t0 + 30 * MS), Update::Resynced);
        assert_eq!(s.total(), 2);
        assert_eq!(s.update(9, t0 + 70 * MS), Update::Advanced(4));
        assert_eq!(s.total(), 6);
        assert_eq!(s.resyncs(), 1);
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

    fn scripted(first: u64, modulus: u64) -> (Arc<Scripted>, Counter<Arc<Scripted>>) {
        let raw = Arc::new(Scripted::default());
        raw.value.store(first, Ordering::SeqCst);
        let counter = Counter::new(
            DomainKind::Package,
            "scripted".into(),
            Arc::clone(&raw),
            1.0,
            modulus,
            // The tests step the counter by hundreds of units per millisecond.
            1e9,
        )
        .unwrap();
        (raw, counter)
    }

    #[test]
    fn a_failed_read_is_reported_and_adds_nothing() {
        let (raw, counter) = scripted(990, 1000);
        raw.value.store(995, Ordering::SeqCst);
        assert_eq!(counter.total().unwrap(), 5);
        raw.fail.store(true, Ordering::SeqCst);
        assert!(counter.total().is_err());
        raw.fail.store(false, Ordering::SeqCst);
        // The previous raw value (995) was kept: 995 -> 999 -> 0 -> 7 is 12 units.
        raw.value.store(7, Ordering::SeqCst);
        assert_eq!(counter.total().unwrap(), 17);
    }

    #[test]
    fn period_is_half_the_range_at_the_bound_and_clamped() {
        // 4 units per second, 1000 units: 125 s -> clamped to 60 s.
        assert_eq!(sampling_period(1000, 4.0), MAX_PERIOD);
        // 1000 units at 1000 units/s: 0.5 s.
        assert_eq!(sampling_period(1000, 1000.0), Duration::from_millis(500));
        // Tiny range: clamped to 1 ms.
        assert_eq!(sampling_period(10, 1e9), MIN_PERIOD);
        // Intel package: 2^32 units of 61 µJ at 1000 W.
        let intel = sampling_period(1 << 32, GENEROUS_WATTS * 16384.0);
        assert_eq!(intel, MAX_PERIOD);
        // AMD Zen: 2^32 units of 15.3 µJ at 1000 W: about 33 s.
        let amd = sampling_period(1 << 32, GENEROUS_WATTS * 65536.0);
        assert!(amd > Duration::from_secs(32) && amd < Duration::from_secs(33));
    }

    #[test]
    fn the_sampler_keeps_a_counter_unwrapped_and_stops_with_it() {
        let (raw, counter) = scripted(0, 1000);
        let set = Arc::new(CounterSet {
            counters: vec![counter],
            source: "test",
        });
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
        assert_eq!(set.reading().unwrap().package, Some(truth as f64));
        let weak = Arc::downgrade(&set);
        drop(sampler);
        drop(set);
        assert!(weak.upgrade().is_none());
    }
}
