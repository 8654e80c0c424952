//! pgadget measures how much energy a Rust function uses, and the CO2 that stands for.
//!
//! ```no_run
//! use pgadget::measure_power;
//!
//! #[measure_power(package = "std", algorithm = "sum", data_type = "other", data_shape = n)]
//! fn sum_to(n: u64) -> u64 {
//!     (0..n).sum()
//! }
//!
//! sum_to(10_000_000); // appends one row to the power log
//! ```
//!
//! Each call of a measured function appends one row to a CSV log (see [`Record`] for the
//! columns); [`get_logged_data`] reads it back. [`PowerMeter`] configures where and how.

#![deny(missing_docs)]

pub use pgadget_macros::measure_power;
pub use pgadget_runtime::{
    get_logged_data, read_log, ConfigError, DataType, LogContents, Measurement, Metadata,
    PowerMeter, PowerMeterBuilder, ReadError, Record,
};

/// The runtime's modules, for tools built on pgadget (energy sources, carbon, the log).
pub use pgadget_runtime as runtime;

#[doc(hidden)]
pub use pgadget_runtime::__private;
