//! The runtime of pgadget: energy sources, carbon accounting and the CSV log.
//!
//! Users depend on the `pgadget` crate, which re-exports what is public here.
//!
//! It builds wherever Rust does: Linux-only code (powercap, the MSRs, `/proc/stat`) is behind
//! `cfg(target_os = "linux")` and Unix-only calls behind `cfg(unix)`, each with what stands in
//! elsewhere; `tests/portability.rs` checks the gating by reading these sources. The optional
//! parts are Cargo features: see [`FEATURES`].

mod cache_dir;
pub mod carbon;
pub mod config;
pub mod energy;
mod exit;
mod features;
mod files;
mod fork;
pub mod log;
pub mod metadata;
pub mod meter;
#[cfg(target_os = "linux")]
mod proc_stat;
pub mod ship;
mod user;

/// Prints `message` on stderr, prefixed with `pgadget: `, unless this process printed the same
/// message before: a problem is worth one line, not one per measured call.
pub(crate) fn report_once(message: &str) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if !seen.iter().any(|m| m == message) {
        eprintln!("pgadget: {message}");
        seen.push(message.to_string());
    }
}

pub use features::{Feature, FEATURES};
pub use log::{get_logged_data, read_log, LogContents, ReadError, Record};
pub use metadata::{DataType, Metadata};
pub use meter::{ConfigError, Measurement, PowerMeter, PowerMeterBuilder};

/// Support for the code `#[measure_power]` generates. Not a public API.
#[doc(hidden)]
pub mod __private;
