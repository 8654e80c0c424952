//! Beyond one machine: every row into PostgreSQL (feature `postgres`), live totals for
//! Prometheus (feature `prometheus`). Both are off unless configured: nothing leaves the
//! machine unless the user says where it goes.
//!
//! The CSV log stays the durable record: a row is written there first, then handed to the
//! configured sinks, which never make a measured call wait (see `shipper` and `metrics`).

use crate::config::{self, DatabaseUrl, EnvConfig};
use crate::log::Record;
use crate::meter::{ConfigError, ConfigErrorKind};
use crate::report_once;
use std::path::Path;
use std::sync::Arc;

#[cfg(feature = "prometheus")]
mod endpoint;
#[cfg(feature = "prometheus")]
mod metrics;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
mod shipper;

#[cfg(feature = "prometheus")]
pub use endpoint::PUSH_EVERY;
#[cfg(feature = "postgres")]
pub use shipper::MAX_WAITING;

/// Where a meter's rows and totals go.
#[derive(Default)]
pub(crate) struct Shipping {
    #[cfg(feature = "postgres")]
    database: Option<Arc<shipper::Shipper>>,
    #[cfg(feature = "prometheus")]
    metrics: Option<&'static metrics::Metrics>,
}

impl Shipping {
    /// Starts what the configuration asks for. `database_url` is the builder's, which wins
    /// over the environment's; a bad one is an error, a bad variable a message.
    pub fn start(
        env: &EnvConfig,
        database_url: Option<DatabaseUrl>,
        log: &Path,
        host: &str,
    ) -> Result<Shipping, ConfigError> {
        let from_builder = database_url.is_some();
        let database_url = database_url.or_else(|| env.database_url.clone());
        let wants_metrics = env.metrics_addr.is_some() || env.pushgateway_url.is_some();
        if database_url.is_none() && !wants_metrics {
            return Ok(Shipping::default());
        }
        // Silences "unused" in builds with neither feature.
        let _ = (log, host);
        #[allow(unused_mut)] // only the optional sinks set its fields
        let mut shipping = Shipping::default();

        match database_url {
            None => {}
            Some(_) if env.offline => report_once(&format!(
                "{}=1: rows are not shipped to PostgreSQL ({} is ignored).",
                config::OFFLINE,
                config::DATABASE_URL
            )),
            #[cfg(feature = "postgres")]
            Some(url) => match postgres::Target::parse(&url) {
                Ok(target) => {
                    shipping.database = shipper::Shipper::get(&url, target, log);
                    if shipping.database.is_some() {
                        register_exit_hook();
                    }
                }
                Err(why) if from_builder => {
                    return Err(ConfigError::new(
                        ConfigErrorKind::DatabaseUrl,
                        format!("database_url: {why}"),
                    ));
                }
                Err(why) => report_once(&format!(
                    "{}: {why}. Rows are not shipped; they stay in the CSV log.",
                    config::DATABASE_URL
                )),
            },
            #[cfg(not(feature = "postgres"))]
            Some(_) if from_builder => {
                return Err(ConfigError::new(
                    ConfigErrorKind::DatabaseUrl,
                    "database_url: this build of pgadget has no `postgres` feature; turn it on \
                     (pgadget = { ..., features = [\"postgres\"] }) to ship rows to PostgreSQL",
                ))
            }
            #[cfg(not(feature = "postgres"))]
            Some(_) => report_once(&format!(
                "{} is set, but this build of pgadget has no `postgres` feature: rows stay in \
                 the CSV log. Turn it on in Cargo.toml (pgadget = {{ ..., features = \
                 [\"postgres\"] }}).",
                config::DATABASE_URL
            )),
        }

        if wants_metrics {
            #[cfg(feature = "prometheus")]
            {
                shipping.metrics = Some(metrics::Metrics::global());
                if let Some(addr) = env.metrics_addr {
                    endpoint::serve(addr);
                }
                match &env.pushgateway_url {
                    Some(_) if env.offline => report_once(&format!(
                        "{}=1: the totals are not pushed ({} is ignored).",
                        config::OFFLINE,
                        config::PUSHGATEWAY_URL
                    )),
                    Some(url) => {
                        endpoint::push_to(url, host);
                        register_exit_hook();
                    }
                    None => {}
                }
            }
            #[cfg(not(feature = "prometheus"))]
            report_once(&format!(
                "{} or {} is set, but this build of pgadget has no `prometheus` feature: no \
                 metrics are served or pushed. Turn it on in Cargo.toml (pgadget = {{ ..., \
                 features = [\"prometheus\"] }}).",
                config::METRICS_ADDR,
                config::PUSHGATEWAY_URL
            ));
        }
        Ok(shipping)
    }

    /// Whether any sink takes rows.
    #[inline]
    pub fn is_on(&self) -> bool {
        #[allow(unused_mut)]
        let mut on = false;
        #[cfg(feature = "postgres")]
        {
            on |= self.database.is_some();
        }
        #[cfg(feature = "prometheus")]
        {
            on |= self.metrics.is_some();
        }
        on
    }

    /// Hands a row to every sink; `in_log` says whether the CSV log holds it already (it may
    /// be delayed, or lost). Never waits on any of them.
    #[inline]
    pub fn ship(&self, row: Arc<Record>, in_log: bool) {
        #[cfg(feature = "postgres")]
        if let Some(database) = &self.database {
            database.hand_over(Arc::clone(&row), in_log);
        }
        #[cfg(feature = "prometheus")]
        if let Some(metrics) = self.metrics {
            metrics.hand_over(row);
        }
        #[cfg(not(any(feature = "postgres", feature = "prometheus")))]
        let _ = (row, in_log);
    }
}

/// How long, at most, the process's normal exit waits for the last rows to be shipped and the
/// last push of the totals, in all.
pub const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Makes the process's normal exit ship what is waiting and push the totals once more, all
/// within [`EXIT_WAIT`] (see `crate::exit`).
#[cfg(any(feature = "postgres", feature = "prometheus"))]
fn register_exit_hook() {
    crate::exit::at_exit(at_exit);
}

#[cfg(any(feature = "postgres", feature = "prometheus"))]
fn at_exit() {
    let deadline = std::time::Instant::now() + EXIT_WAIT;
    // Both start at once, then both are waited for, within one bound.
    #[cfg(feature = "postgres")]
    shipper::request_exits();
    #[cfg(feature = "prometheus")]
    endpoint::request_exit();
    #[cfg(feature = "postgres")]
    shipper::wait_for_exits(deadline);
    #[cfg(feature = "prometheus")]
    endpoint::wait_for_exit(deadline);
}
