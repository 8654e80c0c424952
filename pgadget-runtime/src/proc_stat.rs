//! The machine's CPU time from `/proc/stat`, to tell how much of the machine's load was ours.
//!
//! The kernel formats the whole of `/proc/stat` on every read, per-IRQ sums included, so a
//! read costs microseconds even when kept cheap: the file stays open, is read with one
//! positioned read into a stack buffer, and only its first line is parsed.

use std::fs::File;
use std::sync::OnceLock;
use std::time::Duration;

/// Room for the aggregate `cpu` line, which comes first: ten counters of up to 20 digits.
const FIRST_LINE_MAX: usize = 256;

/// `/proc/stat`, opened on first use and kept open; `None` where it cannot be opened.
fn proc_stat() -> Option<&'static File> {
    static FILE: OnceLock<Option<File>> = OnceLock::new();
    FILE.get_or_init(|| File::open("/proc/stat").ok()).as_ref()
}

/// CPU time all CPUs spent busy (user, nice, system, irq, softirq, steal), in seconds, or
/// `None` where `/proc/stat` is not there (macOS, Windows) or unreadable.
pub fn machine_busy_secs() -> Option<f64> {
    let mut buf = [0u8; FIRST_LINE_MAX];
    let n = read_at_start(proc_stat()?, &mut buf)?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    parse_busy_ticks(text).map(|ticks| ticks as f64 / ticks_per_sec())
}

#[cfg(unix)]
fn read_at_start(file: &File, buf: &mut [u8]) -> Option<usize> {
    // procfs regenerates the file for a read at offset 0, so the same descriptor serves every
    // reading, from any thread.
    std::os::unix::fs::FileExt::read_at(file, buf, 0).ok()
}

#[cfg(not(unix))]
fn read_at_start(_: &File, _: &mut [u8]) -> Option<usize> {
    None
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

/// The process's share of the machine's busy CPU time in a window, in 0..=1; `None` when the
/// machine's clock did not advance (a window shorter than one tick) or cannot be read.
pub fn share(
    process_secs: f64,
    machine_start: Option<f64>,
    machine_end: Option<f64>,
) -> Option<f64> {
    let machine = machine_end? - machine_start?;
    if machine <= 0.0 {
        return None;
    }
    Some((process_secs / machine).clamp(0.0, 1.0))
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
        let Some(start) = machine_busy_secs() else {
            return; // not Linux
        };
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
    fn share_is_clamped_and_undefined_without_ticks() {
        assert_eq!(share(0.5, Some(10.0), Some(12.0)), Some(0.25));
        assert_eq!(share(3.0, Some(10.0), Some(12.0)), Some(1.0));
        assert_eq!(share(0.5, Some(10.0), Some(10.0)), None);
        assert_eq!(share(0.5, None, Some(10.0)), None);
    }
}
