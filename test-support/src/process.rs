//! Watching processes through Linux's /proc: a program's children, whether one still runs,
//! waiting for a child with a bound so that a test that would hang fails instead.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// The fields of /proc/PID/stat after the command name (which may hold spaces and `)`).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(str::to_string).collect())
}

/// The processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        // Field 4 of stat, the second after the name: the parent's pid.
        .filter(|&p| stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) == Some(pid))
        .collect()
}

/// The command name of `pid` (/proc/PID/comm), if it exists.
pub fn name_of(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|n| n.trim_end().to_string())
}

/// A process, named by its id and its start time so that a reused id is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    /// Its process id.
    pub pid: u32,
    start: u64,
}

impl Process {
    /// The process `pid` as it is now; `None` if there is none.
    pub fn of(pid: u32) -> Option<Process> {
        // Field 22 of stat, the 20th after the name: start time in clock ticks since boot.
        let start = stat_fields(pid)?.get(19)?.parse().ok()?;
        Some(Process { pid, start })
    }

    /// Whether it still runs: it exists and has not ended (a zombie has ended).
    pub fn is_running(&self) -> bool {
        match stat_fields(self.pid) {
            Some(f) => {
                f.get(19).and_then(|s| s.parse::<u64>().ok()) == Some(self.start)
                    && f.first().is_some_and(|state| state != "Z" && state != "X")
            }
            None => false,
        }
    }

    /// Sends it SIGKILL, if it still runs (clean-up after a failed test).
    pub fn kill(&self) {
        if self.is_running() {
            if let Ok(pid) = libc::pid_t::try_from(self.pid) {
                // SAFETY: kill touches no memory; the pid was checked to name this process.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Polls `find` every 10 ms until it gives a value; panics, naming `what`, after `limit`.
pub fn wait_until<T>(limit: Duration, what: &str, mut find: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = find() {
            return found;
        }
        assert!(
            start.elapsed() < limit,
            "{what}: still not the case after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` to end. If it has not after `limit`, kills it and panics naming `what`:
/// a hang becomes a failure, not a test that never ends.
pub fn wait_or_kill(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return status;
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {limit:?}; it was killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
