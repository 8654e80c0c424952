//! The fallback when no counter can be read: the process's CPU time times a per-CPU power.
//!
//! The per-CPU power is the CPUs' TDP divided by the machine's online logical CPUs, so a process
//! that keeps one logical CPU busy for a second is charged `TDP / logical CPUs` joules. The
//! machine's CPUs, not the ones this process may run on: a process pinned to one CPU
//! (`taskset -c 0`) or a container given 4 CPUs of a 64-thread host still draws one share of the
//! machine's power per busy CPU. It ignores idle power, turbo and memory, and it is labelled
//! `estimate` in every row it produces.

use super::{Cell, EnergySource, Reading, SourceConfig, SourceError, SourceKind};
use std::sync::Arc;
use std::time::Duration;

/// The name written in "Energy Source".
pub const NAME: &str = "estimate";

/// The TDP assumed when neither `PGADGET_CPU_TDP` nor the builder gives one: 65 W, the rated
/// power of most current desktop CPUs (laptop parts are lower, server parts higher).
pub const DEFAULT_CPU_TDP_WATTS: f64 = 65.0;

/// Estimates CPU energy from the process's CPU time.
#[derive(Debug)]
pub struct Estimate {
    watts_per_cpu: f64,
    tdp_watts: f64,
    logical_cpus: usize,
    counted_by: &'static str,
}

/// The estimate, with the TDP from `PGADGET_CPU_TDP` or the builder. It always opens: it is
/// what stands in when no counter can be read.
pub fn probe(config: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    Ok(Arc::new(Estimate::new(config.cpu_tdp_watts)))
}

impl Estimate {
    /// The estimate for CPUs whose TDP is `tdp_watts`, shared by the machine's online logical
    /// CPUs.
    pub fn new(tdp_watts: f64) -> Self {
        let (logical_cpus, counted_by) = machine_logical_cpus();
        Estimate {
            watts_per_cpu: tdp_watts / logical_cpus as f64,
            tdp_watts,
            logical_cpus,
            counted_by,
        }
    }

    /// The power charged per second of CPU time, in watts.
    #[cfg(test)]
    pub fn watts_per_cpu(&self) -> f64 {
        self.watts_per_cpu
    }

    /// The logical CPUs the TDP is shared by.
    #[cfg(test)]
    pub fn logical_cpus(&self) -> usize {
        self.logical_cpus
    }
}

/// The machine's online logical CPUs, and how they were counted (for `pgadget doctor`).
///
/// Not `std::thread::available_parallelism`, which is what this process may use (its affinity
/// mask, its cgroup's CPU quota): the TDP is the power of all the machine's CPUs.
pub fn machine_logical_cpus() -> (usize, &'static str) {
    match os_logical_cpus() {
        Some((n, how)) if n > 0 => (n, how),
        _ => (
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            "the CPUs this process may use (the machine's count is unavailable)",
        ),
    }
}

#[cfg(unix)]
fn os_logical_cpus() -> Option<(usize, &'static str)> {
    // SAFETY: sysconf only reads a system value; _SC_NPROCESSORS_ONLN is a valid name.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n)
        .ok()
        .map(|n| (n, "sysconf(_SC_NPROCESSORS_ONLN)"))
}

#[cfg(windows)]
fn os_logical_cpus() -> Option<(usize, &'static str)> {
    use windows_sys::Win32::System::Threading::{GetActiveProcessorCount, ALL_PROCESSOR_GROUPS};
    // SAFETY: GetActiveProcessorCount only reads a system value; ALL_PROCESSOR_GROUPS asks for
    // every processor group's count.
    let n = unsafe { GetActiveProcessorCount(ALL_PROCESSOR_GROUPS) };
    usize::try_from(n)
        .ok()
        .map(|n| (n, "GetActiveProcessorCount(ALL_PROCESSOR_GROUPS)"))
}

#[cfg(not(any(unix, windows)))]
fn os_logical_cpus() -> Option<(usize, &'static str)> {
    None
}

/// The CPU time (user + system) this process has used so far, and on Unix that of its
/// waited-for children too.
///
/// - Unix (Linux, macOS, the BSDs): `getrusage` for the process and for its children, so that
///   `pgadget run` and functions that run and wait for subprocesses are charged for the work
///   they caused.
/// - Windows: `GetProcessTimes` for the process alone. Windows keeps no total for children a
///   process has waited for, so a subprocess's work is not counted there.
/// - Anywhere else: an error saying the system gives no CPU time, so the estimate (and
///   "Process CPU Time") has nothing to work from rather than a made-up 0.
pub fn process_cpu_time() -> Result<Duration, SourceError> {
    os::process_cpu_time()
}

#[cfg(windows)]
use get_process_times as os;
#[cfg(unix)]
use getrusage as os;
#[cfg(not(any(unix, windows)))]
use no_cpu_time as os;

/// Unix: `getrusage` for the process and for its waited-for children.
#[cfg(unix)]
mod getrusage {
    use super::{SourceError, NAME};
    use std::time::Duration;

    pub(super) fn process_cpu_time() -> Result<Duration, SourceError> {
        Ok(rusage(libc::RUSAGE_SELF)? + rusage(libc::RUSAGE_CHILDREN)?)
    }

    fn rusage(who: libc::c_int) -> Result<Duration, SourceError> {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a `struct rusage` into the pointer it is given, which points
        // at memory large enough for one; RUSAGE_SELF and RUSAGE_CHILDREN are valid `who`
        // values.
        let rc = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
        if rc != 0 {
            return Err(SourceError::new(
                NAME,
                format!("getrusage failed: {}", std::io::Error::last_os_error()),
            ));
        }
        // SAFETY: getrusage returned 0, so it filled the struct.
        let usage = unsafe { usage.assume_init() };
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Ok(tv(usage.ru_utime) + tv(usage.ru_stime))
    }
}

/// Windows: `GetProcessTimes` for the process alone.
#[cfg(windows)]
mod get_process_times {
    use super::{SourceError, NAME};
    use std::time::Duration;
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};

    pub(super) fn process_cpu_time() -> Result<Duration, SourceError> {
        let (mut created, mut exited, mut kernel, mut user) = (
            FILETIME::default(),
            FILETIME::default(),
            FILETIME::default(),
            FILETIME::default(),
        );
        // SAFETY: GetCurrentProcess returns a pseudo-handle that is always valid for the
        // calling process and needs no closing; GetProcessTimes writes one FILETIME through
        // each of the four pointers, which point at FILETIMEs we own.
        let ok = unsafe {
            GetProcessTimes(
                GetCurrentProcess(),
                &mut created,
                &mut exited,
                &mut kernel,
                &mut user,
            )
        };
        if ok == 0 {
            return Err(SourceError::new(
                NAME,
                format!(
                    "GetProcessTimes failed: {}",
                    std::io::Error::last_os_error()
                ),
            ));
        }
        // Kernel and user times are counts of 100-nanosecond intervals.
        let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
        Ok(Duration::from_nanos(
            (ticks(kernel) + ticks(user)).saturating_mul(100),
        ))
    }
}

/// Elsewhere: no CPU time, said as an error.
#[cfg(not(any(unix, windows)))]
mod no_cpu_time {
    use super::{SourceError, NAME};
    use std::time::Duration;

    pub(super) fn process_cpu_time() -> Result<Duration, SourceError> {
        Err(SourceError::new(
            NAME,
            format!(
                "pgadget cannot read a process's CPU time on {}, so there is no CPU time to \
                 estimate energy from",
                std::env::consts::OS
            ),
        ))
    }
}

impl EnergySource for Estimate {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Cpu
    }

    fn read(&self) -> Result<Reading, SourceError> {
        let cpu = process_cpu_time()?.as_secs_f64();
        Ok(Reading {
            package: Cell::Joules(cpu * self.watts_per_cpu),
            ..Reading::default()
        })
    }

    fn joules_per_cpu_second(&self) -> Option<f64> {
        Some(self.watts_per_cpu)
    }

    fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "process CPU time x {:.2} W per logical CPU (TDP {} W / {} logical CPUs)",
                self.watts_per_cpu, self.tdp_watts, self.logical_cpus
            ),
            format!(
                "assumes: the TDP ({} W: {} or the builder's `cpu_tdp`, else {DEFAULT_CPU_TDP_WATTS} \
                 W) is the power of all the machine's CPUs together, shared equally by its {} \
                 online logical CPUs (counted with {}, whatever CPUs this process is pinned to); \
                 a busy CPU draws its share, an idle one nothing",
                self.tdp_watts,
                crate::config::CPU_TDP,
                self.logical_cpus,
                self.counted_by
            ),
            "not counted: idle power, turbo, memory and GPUs; the package cell only, IA and \
             DRAM stay empty. Compare runs on one machine with it; it is not a measurement"
                .into(),
        ];
        if cfg!(windows) {
            lines.push(
                "the process's own CPU time (GetProcessTimes): Windows does not count the \
                 subprocesses it waited for"
                    .into(),
            );
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(unix, windows))]
    #[test]
    fn busy_work_is_charged_tdp_share_per_cpu_second() {
        let source = Estimate::new(40.0);
        let start = source.read().unwrap();
        let t0 = process_cpu_time().unwrap();
        let mut x = 0u64;
        while process_cpu_time().unwrap() - t0 < Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let used = source.read().unwrap().since(&start);
        let cpu = (process_cpu_time().unwrap() - t0).as_secs_f64();
        let expected = cpu * 40.0 / source.logical_cpus as f64;
        let got = used.package.joules().unwrap();
        assert!(got > 0.0);
        assert!(
            (got - expected).abs() <= expected * 0.5,
            "{got} vs {expected}"
        );
        assert_eq!(
            used.dram,
            Cell::NotMeasured,
            "the estimate must not invent a DRAM figure"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_machine_s_online_cpus_are_counted_not_the_affinity_mask() {
        let (n, how) = machine_logical_cpus();
        assert_eq!(how, "sysconf(_SC_NPROCESSORS_ONLN)");
        #[cfg(target_os = "linux")]
        {
            // /sys/devices/system/cpu/online lists the online CPUs, e.g. "0-1" or "0,2-5".
            let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
            let count: usize = online
                .trim()
                .split(',')
                .map(|range| match range.split_once('-') {
                    Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
                    None => 1,
                })
                .sum();
            assert_eq!(n, count, "online CPUs: {online}");
        }
        let estimate = Estimate::new(65.0);
        assert_eq!(estimate.logical_cpus(), n);
        assert!((estimate.watts_per_cpu() - 65.0 / n as f64).abs() < 1e-12);
    }
}
