//! The runtime of pgadget: energy sources, carbon accounting and the CSV log.
//!
//! **This is an implementation crate, not an API.** Users depend on the `pgadget` crate, whose
//! documentation lists what is public and which keeps semver. Everything here serves `pgadget`
//! (the code `#[measure_power]` generates, the types it re-exports) and pgadget's own command
//! line and tests; it may change in any release. The only promise is that each `pgadget`
//! release works with the exact version of this crate it pins (`=x.y.z`).
//!
//! It builds wherever Rust does: Linux-only code (powercap, the MSRs, `/proc/stat`) is behind
//! `cfg(target_os = "linux")` and Unix-only calls behind `cfg(unix)`, each with what stands in
//! elsewhere; `tests/portability.rs` checks the gating by reading these sources. The optional
//! parts are Cargo features: see [`FEATURES`].

#![deny(missing_docs)]

mod cache_dir;
pub mod carbon;
pub mod config;
pub mod energy;
mod exit;
mod features;
mod files;
mod fork;
pub mod log;
mod metadata;
mod meter;
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
pub use log::{get_logged_data, log_path_from_env, read_log, LogContents, ReadError, Record};
pub use metadata::{DataType, Metadata, UnknownDataType};
pub use meter::{
    ConfigError, ConfigErrorKind, InstallError, Measurement, PowerMeter, PowerMeterBuilder,
};

/// Support for the code `#[measure_power]` generates. Not a public API.
#[doc(hidden)]
pub mod __private;
