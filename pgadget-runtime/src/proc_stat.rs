//! The machine's CPU time from `/proc/stat`, to tell how much of the machine's load was ours.
//!
//! The kernel formats the whole of `/proc/stat` on every read, per-IRQ sums included, so a
//! read costs microseconds even when kept cheap: the file stays open, is read with one
//! positioned read into a stack buffer, and only its first line is parsed; a window opened
//! within a millisecond of a reading reuses it (see [`machine_busy_secs_recent`]).

use std::fs::File;
use std::sync::{Mutex, OnceLock};
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

/// How old a reading may be and still open a window: see [`machine_busy_secs_recent`].
pub const REUSE_WITHIN: Duration = Duration::from_millis(1);

fn last_reading() -> std::sync::MutexGuard<'static, Option<(Instant, f64)>> {
    static LAST: Mutex<Option<(Instant, f64)>> = Mutex::new(None);
    // Two plain values written together: a panic cannot leave them half-written.
    LAST.lock().unwrap_or_else(|p| p.into_inner())
}

/// Like [`machine_busy_secs`], but a reading taken less than [`REUSE_WITHIN`] ago (by any
/// thread) is returned instead of reading the file again. For opening windows.
///
/// Why this is sound: a share is only computed for a window of at least one [`tick`] (10 ms),
/// and the machine's total is a sum of up to 6 fields per CPU each truncated to whole ticks,
/// so it is already uncertain by up to 6 ticks per CPU. Starting the machine's side of the
/// window up to 1 ms early adds at most 1 ms per CPU, a sixtieth of that. What it saves is a
/// read (several microseconds, more on machines with many CPUs and interrupts) for every
/// window opened within a millisecond of another: the calls of short functions in a loop,
/// which are the calls whose overhead matters.
pub fn machine_busy_secs_recent() -> Option<f64> {
    if let Some((taken, busy)) = *last_reading() {
        if taken.elapsed() < REUSE_WITHIN {
            return Some(busy);
        }
    }
    machine_busy_secs()
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
        let marker = -1.0;
        *last_reading() = Some((Instant::now(), marker));
        assert_eq!(machine_busy_secs_recent(), Some(marker));
        *last_reading() = Some((Instant::now() - REUSE_WITHIN * 2, marker));
        let fresh = machine_busy_secs_recent().unwrap();
        assert!(fresh >= first, "{fresh} < {first}");
    }
}
