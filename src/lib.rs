//! pgadget measures how much energy a Rust function uses, and the CO2 that stands for.
//!
//! ```
//! use pgadget::measure_power;
//!
//! #[measure_power(package = "std", algorithm = "sum", data_type = "other", data_shape = n)]
//! fn sum_to(n: u64) -> u64 {
//!     (0..n).sum()
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("pgadget-front-{}", std::process::id()));
//! # let log = dir.join("power_logs.csv");
//! # pgadget::PowerMeter::builder().log_path(&log).get_country(false).build()?.install()?;
//! assert_eq!(sum_to(1_000), 499_500); // appends one row to the power log
//! # let rows = pgadget::get_logged_data(&log)?;
//! # assert_eq!((rows.len(), rows[0].data_shape.as_str()), (1, "1000"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each call of a measured function appends one row to a CSV log (see [`Record`] for the
//! columns); [`get_logged_data`] reads it back. [`PowerMeter`] configures where and how.
//!
//! # The public API
//!
//! Everything public is listed here; it is what semver covers.
//!
//! | Item | What it is for |
//! |---|---|
//! | [`measure_power`] | the attribute: measures every call of a function |
//! | [`PowerMeter`], [`PowerMeterBuilder`] | a meter configured in code: [`PowerMeter::measure_power`] for a closure, [`PowerMeter::start`] for a stretch of code, [`PowerMeter::install`] to make it the one the attribute uses |
//! | [`Measurement`] | an open measurement window (a guard): the row is written when it is dropped or [`finish`](Measurement::finish)ed |
//! | [`Metadata`], [`DataType`] | what is said about the work measured (the attribute's arguments, for a closure or a window) |
//! | [`Record`] | one row of the log |
//! | [`get_logged_data`], [`read_log`], [`LogContents`], [`log_path_from_env`] | reading the log back, and where it is |
//! | [`ConfigError`], [`ConfigErrorKind`], [`InstallError`], [`ReadError`], [`UnknownDataType`] | the errors: a setting the builder rejects, a meter installed too late, a log that cannot be read, a data type that is not one of the five |
//! | [`FEATURES`], [`Feature`] | the optional parts (Cargo features) this build has |
//!
//! # Cargo features
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `geolocation` | on | the country lookup over HTTP; without it, `PGADGET_COUNTRY` names the country or the world average is used |
//! | `nvml` | on | NVIDIA GPUs through NVML; without it, the GPU cells stay empty |
//! | `postgres` | off | every row shipped to PostgreSQL once `PGADGET_DATABASE_URL` says where |
//! | `prometheus` | off | live totals at `/metrics` (`PGADGET_METRICS_ADDR`) or pushed to a Pushgateway (`PGADGET_PUSHGATEWAY_URL`) |
//!
//! Nothing leaves the machine unless a setting says where it goes; [`FEATURES`] tells a
//! program which of these its build has.
//!
//! The configuration read from the environment (`PGADGET_LOG`, `PGADGET_COUNTRY`, ...) is
//! described in the README. The `pgadget-runtime` and `pgadget-macros` crates are
//! implementation details: `pgadget` pins their exact versions, and nothing in them is covered
//! by semver (nor is anything named `__private` or hidden from this documentation).

#![deny(missing_docs)]

pub use pgadget_macros::measure_power;
pub use pgadget_runtime::{
    get_logged_data, log_path_from_env, read_log, ConfigError, ConfigErrorKind, DataType, Feature,
    InstallError, LogContents, Measurement, Metadata, PowerMeter, PowerMeterBuilder, ReadError,
    Record, UnknownDataType, FEATURES,
};

// What the code `#[measure_power]` generates calls. Not a public API: it changes with the
// macro, which `pgadget` pins to the same release.
#[doc(hidden)]
pub use pgadget_runtime::__private;
