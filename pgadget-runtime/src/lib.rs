//! The runtime of pgadget: energy sources, carbon accounting and the CSV log.
//!
//! Users depend on the `pgadget` crate, which re-exports what is public here.

pub mod carbon;
pub mod config;
pub mod energy;
pub mod log;
pub mod metadata;
pub mod meter;
mod proc_stat;
mod user;

pub use log::{get_logged_data, read_log, LogContents, ReadError, Record};
pub use metadata::{DataType, Metadata};
pub use meter::{ConfigError, Measurement, PowerMeter, PowerMeterBuilder};

/// Support for the code `#[measure_power]` generates. Not a public API.
#[doc(hidden)]
pub mod __private;
