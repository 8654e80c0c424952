//! Live totals of the process's measured calls, as Prometheus counters.
//!
//! Counters, labelled by `function`, `package` and `algorithm`:
//! `pgadget_calls_total` (also `status`), `pgadget_energy_joules_total` (also `domain`:
//! `package`, `cores`, `dram`, `gpu`), `pgadget_co2_grams_total` and
//! `pgadget_duration_seconds_total`. They are the process's totals since it started (one set
//! per process, whatever the number of meters); Prometheus's `rate()` and `increase()` handle
//! a restart.
//!
//! A measured call only pushes its row onto a queue; the rows are added to the counters by
//! whoever needs them current (a scrape, a push) and by the metrics thread every
//! [`super::endpoint::TICK`], so the queue stays short.

use crate::log::Record;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    function: String,
    package: String,
    algorithm: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnergyLabels {
    function: String,
    package: String,
    algorithm: String,
    domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkLabels {
    function: String,
    package: String,
    algorithm: String,
}

type FloatCounter = Counter<f64, AtomicU64>;

/// The process's counters, and the rows not yet added to them.
pub(crate) struct Metrics {
    queue: Mutex<Vec<Arc<Record>>>,
    /// Held while rows are added (so that two scrapes do not interleave), with the queue's
    /// second buffer.
    adding: Mutex<Vec<Arc<Record>>>,
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    energy: Family<EnergyLabels, FloatCounter>,
    co2: Family<WorkLabels, FloatCounter>,
    duration: Family<WorkLabels, FloatCounter>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves its data consistent at every step.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Joules in one milliwatt-hour.
const JOULES_PER_MWH: f64 = 3.6;

impl Metrics {
    /// The process's metrics, created on first use.
    pub fn global() -> &'static Metrics {
        static METRICS: OnceLock<Metrics> = OnceLock::new();
        METRICS.get_or_init(Metrics::new)
    }

    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pgadget");
        let calls = Family::<CallLabels, Counter>::default();
        let energy = Family::<EnergyLabels, FloatCounter>::default();
        let co2 = Family::<WorkLabels, FloatCounter>::default();
        let duration = Family::<WorkLabels, FloatCounter>::default();
        // The client adds `_total` to counters, and the unit before it.
        registry.register(
            "calls",
            "Calls of measured functions, by how they ended",
            calls.clone(),
        );
        registry.register_with_unit(
            "energy",
            "Energy used by measured calls, by domain (package, cores, dram, gpu)",
            Unit::Joules,
            energy.clone(),
        );
        registry.register_with_unit(
            "co2",
            "CO2 emitted for measured calls (PUE and the grid's carbon intensity applied)",
            Unit::Other("grams".into()),
            co2.clone(),
        );
        registry.register_with_unit(
            "duration",
            "Wall-clock time spent in measured calls",
            Unit::Seconds,
            duration.clone(),
        );
        Metrics {
            queue: Mutex::new(Vec::with_capacity(1024)),
            adding: Mutex::new(Vec::with_capacity(1024)),
            registry,
            calls,
            energy,
            co2,
            duration,
        }
    }

    /// Hands a row over. Never waits for a scrape or a push.
    #[inline]
    pub fn hand_over(&self, row: Arc<Record>) {
        lock(&self.queue).push(row);
    }

    /// Adds the rows handed over to the counters.
    pub fn add_pending(&self) {
        let mut rows = lock(&self.adding);
        std::mem::swap(&mut *lock(&self.queue), &mut *rows);
        for row in rows.drain(..) {
            self.add(&row);
        }
    }

    fn add(&self, r: &Record) {
        let work = WorkLabels {
            function: r.function.clone(),
            package: r.package.clone(),
            algorithm: r.algorithm.clone(),
        };
        self.calls
            .get_or_create(&CallLabels {
                function: r.function.clone(),
                package: r.package.clone(),
                algorithm: r.algorithm.clone(),
                status: r.status.clone(),
            })
            .inc();
        let domains = [
            ("package", r.package_mwh),
            ("cores", r.cores_mwh),
            ("dram", r.dram_mwh),
            ("gpu", r.gpu_mwh),
        ];
        for (domain, mwh) in domains {
            // An unmeasured domain has no series rather than a 0 that looks measured.
            if let Some(mwh) = mwh.filter(|v| v.is_finite() && *v >= 0.0) {
                self.energy
                    .get_or_create(&EnergyLabels {
                        function: r.function.clone(),
                        package: r.package.clone(),
                        algorithm: r.algorithm.clone(),
                        domain: domain.into(),
                    })
                    .inc_by(mwh * JOULES_PER_MWH);
            }
        }
        if let Some(grams) = r.co2_g.filter(|v| v.is_finite() && *v >= 0.0) {
            self.co2.get_or_create(&work).inc_by(grams);
        }
        if r.elapsed_secs.is_finite() && r.elapsed_secs >= 0.0 {
            self.duration.get_or_create(&work).inc_by(r.elapsed_secs);
        }
    }

    /// The totals in the Prometheus text format (0.0.4), every row handed over included.
    pub fn encode(&self) -> String {
        self.add_pending();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_add_up_by_function_status_and_domain() {
        let metrics = Metrics::new();
        let mut a = crate::log::record::sample();
        a.package_mwh = Some(1.0);
        a.cores_mwh = None;
        a.dram_mwh = Some(0.5);
        a.co2_g = Some(0.25);
        a.elapsed_secs = 2.0;
        let mut b = a.clone();
        b.status = "panicked".into();
        for r in [a.clone(), a, b] {
            metrics.hand_over(Arc::new(r));
        }
        let text = metrics.encode();
        assert!(
            text.contains("# TYPE pgadget_calls_total counter\n"),
            "{text}"
        );
        let labels = r#"function="demo::train",package="linfa",algorithm="RandomForest""#;
        let value = |series: String| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{series} ")))
                .unwrap_or_else(|| panic!("no series {series} in\n{text}"));
            line[series.len() + 1..].parse().unwrap()
        };
        let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert_eq!(
            value(format!(r#"pgadget_calls_total{{{labels},status="ok"}}"#)),
            2.0
        );
        assert_eq!(
            value(format!(
                r#"pgadget_calls_total{{{labels},status="panicked"}}"#
            )),
            1.0
        );
        let package = value(format!(
            r#"pgadget_energy_joules_total{{{labels},domain="package"}}"#
        ));
        assert!(near(package, 3.0 * 3.6), "{package}");
        let dram = value(format!(
            r#"pgadget_energy_joules_total{{{labels},domain="dram"}}"#
        ));
        assert!(near(dram, 3.0 * 1.8), "{dram}");
        assert!(near(
            value(format!("pgadget_co2_grams_total{{{labels}}}")),
            0.75
        ));
        assert!(near(
            value(format!("pgadget_duration_seconds_total{{{labels}}}")),
            6.0
        ));
        // Domains that were not measured have no series at all.
        assert!(!text.contains(r#"domain="cores""#), "{text}");
        assert!(!text.contains(r#"domain="gpu""#), "{text}");
    }
}
