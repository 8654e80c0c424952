//! The clock that decides whether a counter went unread for too long.
//!
//! A RAPL counter keeps counting while the process is stopped (SIGSTOP, Ctrl-Z, a debugger, a
//! frozen cgroup) and, on some machines, while the machine sleeps. The time since the last
//! reading of a counter must therefore count every second that passed, suspend included.
//! `std::time::Instant` is `CLOCK_MONOTONIC` on Linux, which stops during a suspend; this clock
//! is `CLOCK_BOOTTIME`, which does not. Elsewhere (where RAPL is not read) it is `Instant`.
//!
//! Tests give the counters a [`Clock`] of their own to play a suspend without sleeping.

use std::fmt;
use std::time::Duration;

/// A point in time on a [`Clock`], as the time since the clock's origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(Duration);

impl Stamp {
    /// The point `since_origin` after the clock's origin.
    pub const fn from_origin(since_origin: Duration) -> Stamp {
        Stamp(since_origin)
    }

    /// The time since the clock's origin.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// The time from `earlier` to `self`, 0 when `earlier` is later.
    pub fn saturating_since(self, earlier: Stamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::ops::Add<Duration> for Stamp {
    type Output = Stamp;
    fn add(self, d: Duration) -> Stamp {
        Stamp(self.0 + d)
    }
}

/// A source of [`Stamp`]s that never goes backwards.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Stamp;
}

/// The machine's clock that keeps counting through a suspend (`CLOCK_BOOTTIME` on Linux).
#[derive(Clone, Copy, Debug, Default)]
pub struct BootClock;

impl Clock for BootClock {
    fn now(&self) -> Stamp {
        boot_now()
    }
}

/// Now, on the clock that keeps counting through a suspend.
#[cfg(target_os = "linux")]
pub fn boot_now() -> Stamp {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one `timespec` through the pointer, which points at one we
    // own; CLOCK_BOOTTIME exists on every Linux since 2.6.39.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        // Cannot happen with a valid clock id and pointer; the monotonic clock is the nearest
        // stand-in (it only misses suspends).
        return fallback_now();
    }
    Stamp(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Now, on the process's monotonic clock (RAPL, the only reader that needs suspends counted,
/// is Linux-only).
#[cfg(not(target_os = "linux"))]
pub fn boot_now() -> Stamp {
    fallback_now()
}

fn fallback_now() -> Stamp {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    Stamp(origin.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_boot_clock_is_the_time_since_boot_that_uptime_shows() {
        // /proc/uptime's first field is CLOCK_BOOTTIME in seconds, with two decimals.
        let before = boot_now();
        let uptime = std::fs::read_to_string("/proc/uptime").unwrap();
        let after = boot_now();
        let secs: f64 = uptime.split_whitespace().next().unwrap().parse().unwrap();
        let lo = before.since_origin().as_secs_f64() - 0.02;
        let hi = after.since_origin().as_secs_f64() + 0.02;
        assert!(
            (lo..=hi).contains(&secs),
            "uptime {secs} s, boot clock {lo}..{hi} s"
        );
    }

    #[test]
    fn stamps_subtract_without_going_negative() {
        let a = Stamp::from_origin(Duration::from_secs(5));
        let b = a + Duration::from_millis(1500);
        assert_eq!(b.saturating_since(a), Duration::from_millis(1500));
        assert_eq!(a.saturating_since(b), Duration::ZERO);
        assert!(boot_now() <= boot_now());
    }
}
