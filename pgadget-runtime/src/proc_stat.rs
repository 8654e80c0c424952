//! The machine's CPU time from `/proc/stat`, to tell how much of the machine's load was ours.
//!
//! The kernel formats the whole of `/proc/stat` on every read, per-IRQ sums included, so a
//! read costs microseconds (8 µs on a small VM, more with many CPUs and interrupts, and more
//! again with cold caches). The file stays open, is read with one positioned read into a stack
//! buffer, and only its first line is parsed; and a window does not read it when it opens: a
//! background thread, the *ticker*, keeps a reading at most one tick old while windows are
//! being opened (see [`machine_busy_secs_recent`]).

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Room for the aggregate `cpu` line, which comes first: ten counters of up to 20 digits.
const FIRST_LINE_MAX: usize = 256;

/// `/proc/stat`, opened on first use and kept open; `None` where it cannot be opened.
fn proc_stat() -> Option<&'static File> {
    static FILE: OnceLock<Option<File>> = OnceLock::new();
    FILE.get_or_init(|| File::open("/proc/stat").ok()).as_ref()
}

/// CPU time all CPUs spent busy (user, nice, system, irq, softirq, steal), in seconds, or
/// `None` where `/proc/stat` is unreadable. (This module is Linux's alone: elsewhere the meter
/// has no machine reading and leaves the share empty.)
pub fn machine_busy_secs() -> Option<f64> {
    let mut buf = [0u8; FIRST_LINE_MAX];
    let n = read_at_start(proc_stat()?, &mut buf)?;
    let taken = Instant::now();
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    let busy = parse_busy_ticks(text)? as f64 / ticks_per_sec();
    *last_reading() = Some((taken, busy));
    Some(busy)
}

/// The latest reading, by any thread, and when it was taken.
fn last_reading() -> MutexGuard<'static, Option<(Instant, f64)>> {
    static LAST: Mutex<Option<(Instant, f64)>> = Mutex::new(None);
    // Two plain values written together: a panic cannot leave them half-written.
    LAST.lock().unwrap_or_else(|p| p.into_inner())
}

/// Like [`machine_busy_secs`], but without reading the file while the ticker keeps a reading
/// at most one [`tick`] old: for opening windows. A window that finds no such reading (the
/// first one, or the first after the ticker went idle) reads the file itself and wakes the
/// ticker.
///
/// Why a reading up to one tick old serves: a share is only computed for a window of at least
/// one tick (10 ms), and the machine's CPU time is accounted in whole ticks: on most kernels
/// each CPU's busy time grows by one tick at each timer interrupt, so the machine's busy time
/// over any window is already uncertain by up to a tick per CPU at each end. Starting the
/// machine's side of the window up to one tick early adds at most that again (the busy time
/// of each CPU in that tick), and only ever makes the share smaller. What it saves is the read
/// on every window opened more than a moment after the last one: calls spaced as real
/// programs make them.
pub fn machine_busy_secs_recent() -> Option<f64> {
    ticker::wanted();
    if let Some((taken, busy)) = *last_reading() {
        if taken.elapsed() < tick() {
            return Some(busy);
        }
    }
    let busy = machine_busy_secs();
    ticker::wake();
    busy
}

/// The thread that keeps a fresh reading while windows are being opened.
///
/// It reads every nine tenths of a tick, so that its reading is less than a tick old at any
/// moment unless it is woken late; a window that finds it older reads the file itself. It
/// parks after [`IDLE_READS`] reads (about 100 ms) during which no window opened, so a program
/// that stops opening windows (or runs one long one) soon stops paying for it. A read costs
/// 8–9 µs warm and 50–60 µs as the ticker makes it, woken with cold caches, on a small VM:
/// while windows keep opening that is about 0.6% of one CPU there, and inside any one window
/// at most `IDLE_READS` reads (about 0.6 ms of CPU, which "Process CPU Time" counts, as it
/// counts all of the process's threads).
mod ticker {
    use super::*;

    /// Reads with no window opened before the ticker parks: about 100 ms at a read per 9 ms.
    pub(super) const IDLE_READS: u32 = 11;

    /// Whether a window opened since the ticker's last read.
    static WANTED: AtomicBool = AtomicBool::new(false);

    /// How many reads the ticker made (for the tests).
    pub(super) static READS: AtomicU64 = AtomicU64::new(0);

    /// The ticker of this process, once started: `None` inside if it could not be.
    static TICKER: Mutex<Option<Started>> = Mutex::new(None);

    struct Started {
        /// The fork generation of the process that started it: a forked child has no ticker
        /// thread (see `crate::fork`).
        generation: u64,
        thread: Option<Thread>,
    }

    /// Notes that a window opened (so the ticker keeps reading).
    pub(super) fn wanted() {
        // A load first: most windows find it set already, and a load keeps the cache line
        // shared instead of taking it from the ticker's core.
        if !WANTED.load(Ordering::Relaxed) {
            WANTED.store(true, Ordering::Relaxed);
        }
    }

    /// Starts the ticker, or wakes it if it parked. Called when a window found no fresh
    /// reading, which happens at most once per idle period (and after a fork, when the
    /// ticker stayed in the parent).
    pub(super) fn wake() {
        let mut started = TICKER.lock().unwrap_or_else(|p| p.into_inner());
        let generation = crate::fork::generation();
        match &*started {
            Some(Started {
                generation: g,
                thread,
            }) if *g == generation => {
                if let Some(thread) = thread {
                    thread.unpark();
                }
            }
            _ => {
                // If no thread can be started, windows read the file themselves, as they would
                // without a ticker; trying again on every window would cost more than that.
                let thread = std::thread::Builder::new()
                    .name("pgadget-proc-stat".into())
                    .spawn(run)
                    .ok()
                    .map(|handle| handle.thread().clone());
                *started = Some(Started { generation, thread });
            }
        }
    }

    fn run() {
        let period = tick() * 9 / 10;
        let mut idle = 0;
        loop {
            machine_busy_secs();
            READS.fetch_add(1, Ordering::Relaxed);
            if WANTED.swap(false, Ordering::Relaxed) {
                idle = 0;
            } else {
                idle += 1;
            }
            if idle >= IDLE_READS {
                // Woken by the next window that finds the reading stale (or spuriously: then
                // it reads once more and parks again).
                std::thread::park();
                idle = 0;
            } else {
                std::thread::sleep(period);
            }
        }
    }
}

fn read_at_start(file: &File, buf: &mut [u8]) -> Option<usize> {
    // procfs regenerates the file for a read at offset 0, so the same descriptor serves every
    // reading, from any thread.
    std::os::unix::fs::FileExt::read_at(file, buf, 0).ok()
}

fn ticks_per_sec() -> f64 {
    static HZ: OnceLock<f64> = OnceLock::new();
    *HZ.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if hz > 0 {
            hz as f64
        } else {
            100.0
        }
    })
}

/// The resolution of `/proc/stat`: one clock tick (10 ms on Linux). A window shorter than this
/// cannot have a meaningful share (the machine's total moves by whole ticks or not at all), so
/// its closing reading is not taken.
pub fn tick() -> Duration {
    Duration::from_secs_f64(1.0 / ticks_per_sec())
}

/// Sums the busy fields of the aggregate `cpu` line: user nice system idle iowait irq softirq
/// steal (guest time is already inside user and nice). The line must be complete (end in a
/// newline), so a reading cut short by the buffer is `None`, never a partial sum.
fn parse_busy_ticks(text: &str) -> Option<u64> {
    let start = if text.starts_with("cpu ") {
        0
    } else {
        text.find("\ncpu ")? + 1
    };
    let line = &text[start..];
    let line = &line[..line.find('\n')?];
    let mut fields = [0u64; 8];
    let mut count = 0;
    for field in line.split_ascii_whitespace().skip(1) {
        let value: u64 = field.parse().ok()?;
        if let Some(slot) = fields.get_mut(count) {
            *slot = value;
        }
        count += 1;
    }
    if count < 4 {
        return None;
    }
    Some(fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_leave_out_idle_and_iowait() {
        let text = "cpu  100 5 50 1000 30 7 3 2 0 0\ncpu0 50 2 25 500 15 3 1 1 0 0\n";
        assert_eq!(parse_busy_ticks(text), Some(100 + 5 + 50 + 7 + 3 + 2));
        assert_eq!(parse_busy_ticks("intr 1 2 3\n"), None);
        assert_eq!(parse_busy_ticks("intr 1\ncpu  1 2 3 4\n"), Some(6));
        // Cut short by the buffer: no sum of the fields that happened to fit.
        assert_eq!(parse_busy_ticks("cpu  100 5 50 1000 30 7 3 2 0 0"), None);
    }

    #[test]
    fn the_machine_reading_advances_with_work() {
        let start = machine_busy_secs().expect("/proc/stat is readable on Linux");
        let began = std::time::Instant::now();
        let mut x = 0u64;
        while machine_busy_secs().unwrap() <= start {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "/proc/stat did not advance in 10 s of work"
            );
        }
        std::hint::black_box(x);
    }

    #[test]
    fn a_recent_reading_is_reused_and_an_old_one_is_not() {
        let first = machine_busy_secs().expect("/proc/stat is readable on Linux");
        // Stand in a reading that could not come from the file, then see who returns it.
        // (The ticker may replace it at any moment with a real one: retry until it did not.)
        let marker = -1.0;
        let reused = (0..1000).any(|_| {
            *last_reading() = Some((Instant::now(), marker));
            machine_busy_secs_recent() == Some(marker)
        });
        assert!(reused, "a reading taken just now was never reused");
        *last_reading() = Some((Instant::now() - tick(), marker));
        let fresh = machine_busy_secs_recent().unwrap();
        assert!(fresh >= first, "{fresh} < {first}");
    }

    #[test]
    fn the_ticker_keeps_a_fresh_reading_while_windows_open_and_then_rests() {
        let reads = || ticker::READS.load(Ordering::Relaxed);
        // A window that finds no fresh reading starts (or wakes) the ticker; while windows
        // keep opening, the ticker reads on its own.
        *last_reading() = None;
        machine_busy_secs_recent();
        let first = reads();
        let began = Instant::now();
        while reads() < first + 5 {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "the ticker did not read 5 times in 30 s"
            );
            ticker::wanted();
            std::thread::sleep(Duration::from_millis(1));
        }
        // With no window opened, it parks after IDLE_READS reads (give it ample time). Other
        // tests of this binary may open windows meanwhile, and then it rightly reads on: wait
        // for a quiet spell in which it stops.
        let rest = tick() * (ticker::IDLE_READS + 1) * 4;
        let began = Instant::now();
        loop {
            let before = reads();
            std::thread::sleep(rest);
            if reads() == before {
                break;
            }
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "the ticker never rested in 60 s"
            );
        }
    }
}
