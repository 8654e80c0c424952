//! What pgadget's tests and benchmarks share: simulated hardware (a powercap tree, one whose
//! counters keep counting on their own, an MSR device, a cpuinfo), a meter that measures the
//! same way on every machine, a CPU burner, child processes with a clean environment, a
//! scripted HTTP server on loopback, logs written cell by cell (PyPowerGadget's, older
//! versions', malformed rows), processes watched through /proc, and the servers pgadget ships
//! to (PostgreSQL, Prometheus, a Pushgateway), each a test's own. Not published.
//!
//! Every helper panics with a message on failure: a test that cannot set up its scene must
//! fail, never pass without checking anything.

#![deny(missing_docs)]

pub mod child;
pub mod cpu;
pub mod engines;
pub mod http;
pub mod logs;
pub mod meter;
#[cfg(unix)]
pub mod msr;
#[cfg(unix)]
pub mod pg;
pub mod powercap;
#[cfg(target_os = "linux")]
pub mod process;
pub mod prometheus;
#[cfg(target_os = "linux")]
pub mod sim;
#[cfg(unix)]
pub mod user;

use std::process::Output;

/// What a child process printed on stdout, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a child process printed on stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
