//! The machine's CPU time from `/proc/stat`, to tell how much of the machine's load was ours.

/// CPU time all CPUs spent busy (user, nice, system, irq, softirq, steal), in seconds, or
/// `None` where `/proc/stat` is not there (macOS, Windows) or unreadable.
pub fn machine_busy_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_busy_ticks(&text).map(|ticks| ticks as f64 / ticks_per_sec())
}

fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Sums the busy fields of the aggregate `cpu` line: user nice system idle iowait irq softirq
/// steal (guest time is already inside user and nice).
fn parse_busy_ticks(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 4 {
        return None;
    }
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(get(0) + get(1) + get(2) + get(5) + get(6) + get(7))
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
    }

    #[test]
    fn share_is_clamped_and_undefined_without_ticks() {
        assert_eq!(share(0.5, Some(10.0), Some(12.0)), Some(0.25));
        assert_eq!(share(3.0, Some(10.0), Some(12.0)), Some(1.0));
        assert_eq!(share(0.5, Some(10.0), Some(10.0)), None);
        assert_eq!(share(0.5, None, Some(10.0)), None);
    }
}
