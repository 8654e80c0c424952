//! Energy sources: one file per source behind [`EnergySource`], and the detection order.
//!
//! Every source reports *cumulative* energy in joules per domain since an arbitrary origin
//! (a [`Reading`]); a measurement window is the difference of two readings. Sources whose
//! hardware counters wrap unwrap them themselves (see `sampler`), so the difference of two
//! readings is never negative and never loses a wrap.

pub mod doctor;
pub mod estimate;
pub mod msr;
pub mod nvml;
pub mod powercap;
pub mod powerlog;
pub mod sampler;

use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Cumulative energy in joules for each domain a source can see; `None` for a domain the source
/// does not measure (which the log writes as an empty cell, never as a made-up 0).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    /// The CPU package(s), summed over sockets ("Cumulative Package Energy").
    pub package: Option<f64>,
    /// The cores of the package(s) ("Cumulative IA Energy").
    pub cores: Option<f64>,
    /// Memory ("Cumulative DRAM Energy").
    pub dram: Option<f64>,
    /// All GPUs together ("Cumulative GPU Energy").
    pub gpu: Option<f64>,
}

impl Reading {
    /// The energy used between `start` and `self`, per domain. A domain is measured in the
    /// window only when both readings have it. A negative difference cannot come from a
    /// source that unwraps its counters; it is clamped to 0 rather than trusted.
    pub fn since(&self, start: &Reading) -> Reading {
        fn d(end: Option<f64>, start: Option<f64>) -> Option<f64> {
            Some((end? - start?).max(0.0))
        }
        Reading {
            package: d(self.package, start.package),
            cores: d(self.cores, start.cores),
            dram: d(self.dram, start.dram),
            gpu: d(self.gpu, start.gpu),
        }
    }

    /// Adds the domains `other` measures into `self` (a domain stays `None` only when neither
    /// measures it). Used to combine a CPU source with a GPU source.
    pub fn merge(&mut self, other: &Reading) {
        fn add(a: &mut Option<f64>, b: Option<f64>) {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0.0) + b);
            }
        }
        add(&mut self.package, other.package);
        add(&mut self.cores, other.cores);
        add(&mut self.dram, other.dram);
        add(&mut self.gpu, other.gpu);
    }
}

/// What a source keeps between the start and the end of a window.
pub enum Begun {
    /// A counter source: the reading at the start.
    Reading(Reading),
    /// A source that runs something for the window's length (PowerLog): its own state. `Sync`
    /// because a measured future holds it, and must stay `Sync` when the unmeasured one is.
    Session(Box<dyn Any + Send + Sync>),
}

/// Why a source cannot measure, and what the user can do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// The source's name, as in "Energy Source" (`powercap`, `msr`, ...).
    pub source: &'static str,
    /// What failed, naming the path or call.
    pub what: String,
    /// What to do about it, when there is something to do.
    pub remedy: Option<String>,
}

impl SourceError {
    pub fn new(source: &'static str, what: impl Into<String>) -> Self {
        SourceError {
            source,
            what: what.into(),
            remedy: None,
        }
    }

    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.what)?;
        if let Some(remedy) = &self.remedy {
            write!(f, "; {remedy}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

/// Which kind of energy a source measures; at most one CPU source is used at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Package/cores/DRAM: powercap, msr, powerlog, estimate.
    Cpu,
    /// GPUs: nvml.
    Gpu,
}

/// One way of reading energy. Implementations keep their files or handles open so that a
/// reading is a few positioned reads, and are shared between threads.
pub trait EnergySource: Send + Sync + fmt::Debug {
    /// The name written in "Energy Source" (`powercap`, `msr`, `powerlog`, `nvml`, `estimate`).
    fn name(&self) -> &'static str;

    /// Whether this source measures the CPU side or the GPU side.
    fn kind(&self) -> SourceKind;

    /// The cumulative energy now.
    fn read(&self) -> Result<Reading, SourceError>;

    /// Opens a window. Counter sources take a reading; a source that must run something for
    /// the window's length overrides this and [`EnergySource::end`].
    fn begin(&self) -> Result<Begun, SourceError> {
        self.read().map(Begun::Reading)
    }

    /// Closes a window opened by [`EnergySource::begin`] and returns the energy used in it.
    fn end(&self, begun: Begun) -> Result<Reading, SourceError> {
        match begun {
            Begun::Reading(start) => Ok(self.read()?.since(&start)),
            Begun::Session(_) => Err(SourceError::new(
                self.name(),
                "internal error: a session was handed to a counter source",
            )),
        }
    }

    /// For a source that charges the package a fixed energy per second of the process's CPU
    /// time (the estimate): that energy in joules. The meter reads the process's CPU time at
    /// both ends of every window anyway, and derives such a source's readings from those
    /// instead of having the source read it again.
    fn joules_per_cpu_second(&self) -> Option<f64> {
        None
    }

    /// Lines for `pgadget doctor`: what the source found (domains, packages, GPUs, ranges).
    fn describe(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Where each source looks; every path can be changed so tests drive the real code.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// `PGADGET_POWERCAP_ROOT`, default `/sys/class/powercap`.
    pub powercap_root: PathBuf,
    /// `PGADGET_MSR_DIR`, default `/dev/cpu`.
    pub msr_dir: PathBuf,
    /// `PGADGET_NVML_LIB`, default: the system's NVML.
    pub nvml_lib: Option<PathBuf>,
    /// `cpu_power_log_path`, default: PowerLog's standard install locations.
    pub powerlog_path: Option<PathBuf>,
    /// `PGADGET_CPU_TDP` or the builder: the CPU's TDP in watts, for the estimate.
    pub cpu_tdp_watts: f64,
    /// `PGADGET_SOURCES`: when set, only these sources, in this order.
    pub forced: Option<Vec<String>>,
}

/// What detection found: the sources in use and, for each one that was not usable, why.
#[derive(Debug, Default)]
pub struct Detected {
    /// The sources in use: at most one CPU source, then any GPU sources.
    pub sources: Vec<Arc<dyn EnergySource>>,
    /// Each source that was tried and could not be used, with its reason.
    pub unavailable: Vec<SourceError>,
}

impl Detected {
    /// The value of "Energy Source": the names of the sources in use, joined by `+`.
    pub fn label(&self) -> String {
        let names: Vec<&str> = self.sources.iter().map(|s| s.name()).collect();
        names.join("+")
    }
}

impl SourceConfig {
    /// Where each source looks, from the environment (and the builder's `cpu_power_log_path`
    /// and TDP where given).
    pub fn from_env(
        env: &crate::config::EnvConfig,
        powerlog_path: Option<PathBuf>,
        cpu_tdp_watts: Option<f64>,
    ) -> Self {
        SourceConfig {
            powercap_root: env
                .powercap_root
                .clone()
                .unwrap_or_else(|| crate::config::DEFAULT_POWERCAP_ROOT.into()),
            msr_dir: env
                .msr_dir
                .clone()
                .unwrap_or_else(|| crate::config::DEFAULT_MSR_DIR.into()),
            nvml_lib: env.nvml_lib.clone(),
            powerlog_path,
            cpu_tdp_watts: cpu_tdp_watts
                .or(env.cpu_tdp)
                .unwrap_or(estimate::DEFAULT_CPU_TDP_WATTS),
            forced: env.sources.clone(),
        }
    }
}

/// All source names pgadget knows, in detection order.
pub const SOURCE_NAMES: [&str; 5] = ["powercap", "msr", "powerlog", "nvml", "estimate"];

/// Finds the sources to use: the first CPU source that works, in detection order, plus NVML
/// when a GPU is there; the estimate when no CPU counter can be read.
///
/// The order is powercap, msr, powerlog, nvml, estimate, or `PGADGET_SOURCES` when set. A CPU
/// source after the first working one is not even opened (so it starts no sampler). When a
/// forced list names no CPU source that works, the estimate stands in and `unavailable` says
/// why.
pub fn detect(config: &SourceConfig) -> Detected {
    let mut found = Detected::default();
    let order: Vec<String> = match &config.forced {
        Some(names) => names.clone(),
        None => SOURCE_NAMES.iter().map(|s| s.to_string()).collect(),
    };
    let mut have_cpu = false;
    for name in &order {
        let probed: Result<Arc<dyn EnergySource>, SourceError> = match name.as_str() {
            "powercap" | "msr" | "powerlog" | "estimate" if have_cpu => continue,
            "powercap" => powercap::probe(config).map(|s| Arc::new(s) as Arc<dyn EnergySource>),
            "msr" => msr::probe(config).map(|s| Arc::new(s) as Arc<dyn EnergySource>),
            "estimate" => Ok(Arc::new(estimate::Estimate::new(config.cpu_tdp_watts))),
            "powerlog" => powerlog::probe(config),
            "nvml" => nvml::probe(config),
            other => Err(SourceError::new(
                "pgadget",
                format!("unknown energy source `{other}` in PGADGET_SOURCES"),
            )
            .with_remedy(format!("choose among {}", SOURCE_NAMES.join(", ")))),
        };
        match probed {
            Ok(source) => {
                if source.kind() == SourceKind::Cpu {
                    if have_cpu {
                        continue;
                    }
                    have_cpu = true;
                }
                found.sources.push(source);
            }
            Err(e) => found.unavailable.push(e),
        }
    }
    if !have_cpu {
        found.unavailable.push(
            SourceError::new(
                "pgadget",
                format!(
                    "PGADGET_SOURCES={} names no CPU energy source that works here, so CPU \
                     energy is estimated from CPU time",
                    order.join(",")
                ),
            )
            .with_remedy("add a working source, or `estimate`, to PGADGET_SOURCES"),
        );
        // The estimate goes first: it is the CPU source, any GPU source follows it.
        found
            .sources
            .insert(0, Arc::new(estimate::Estimate::new(config.cpu_tdp_watts)));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::FileExt;
    use std::path::Path;

    fn config(powercap: &Path, msr: &Path, forced: &[&str]) -> SourceConfig {
        SourceConfig {
            powercap_root: powercap.to_path_buf(),
            msr_dir: msr.to_path_buf(),
            nvml_lib: None,
            powerlog_path: None,
            cpu_tdp_watts: 65.0,
            forced: Some(forced.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn package_zone(root: &Path) {
        let d = root.join("intel-rapl:0");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("name"), "package-0\n").unwrap();
        fs::write(d.join("energy_uj"), "1000\n").unwrap();
        fs::write(d.join("max_energy_range_uj"), "262143328850\n").unwrap();
    }

    fn intel_msr(dir: &Path) {
        fs::create_dir_all(dir.join("0")).unwrap();
        let f = fs::File::create(dir.join("0/msr")).unwrap();
        f.write_all_at(&0x000A_0E03u64.to_le_bytes(), 0x606)
            .unwrap();
        f.write_all_at(&1234u64.to_le_bytes(), 0x611).unwrap();
    }

    #[test]
    fn powercap_comes_first_and_msr_is_then_not_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let (pc, msr) = (tmp.path().join("powercap"), tmp.path().join("msr"));
        package_zone(&pc);
        intel_msr(&msr);
        let d = detect(&config(&pc, &msr, &["powercap", "msr", "estimate"]));
        assert_eq!(d.label(), "powercap");
        assert!(d.unavailable.is_empty(), "{:?}", d.unavailable);
    }

    #[test]
    fn an_unreadable_energy_file_falls_back_to_msr_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let (pc, msr) = (tmp.path().join("powercap"), tmp.path().join("msr"));
        package_zone(&pc);
        // Tests run as root, whom chmod cannot lock out: a directory cannot be read either.
        let energy = pc.join("intel-rapl:0/energy_uj");
        fs::remove_file(&energy).unwrap();
        fs::create_dir(&energy).unwrap();
        intel_msr(&msr);
        let d = detect(&config(&pc, &msr, &["powercap", "msr", "estimate"]));
        assert_eq!(d.label(), "msr");
        assert_eq!(d.unavailable.len(), 1);
        assert_eq!(d.unavailable[0].source, "powercap");
        assert!(d.unavailable[0].what.contains("intel-rapl:0/energy_uj"));
    }

    #[test]
    fn nothing_readable_falls_back_to_the_estimate_with_every_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let (pc, msr) = (tmp.path().join("powercap"), tmp.path().join("msr"));
        let d = detect(&config(&pc, &msr, &["powercap", "msr", "estimate"]));
        assert_eq!(d.label(), "estimate");
        let sources: Vec<&str> = d.unavailable.iter().map(|e| e.source).collect();
        assert_eq!(sources, ["powercap", "msr"]);
        assert!(d.unavailable.iter().all(|e| e.remedy.is_some()));
    }

    #[test]
    fn a_forced_list_without_a_working_cpu_source_still_gets_the_estimate() {
        let tmp = tempfile::tempdir().unwrap();
        let d = detect(&config(tmp.path(), tmp.path(), &["msr"]));
        assert_eq!(d.label(), "estimate");
        let last = d.unavailable.last().unwrap();
        assert!(last.what.contains("PGADGET_SOURCES=msr"), "{last}");
    }

    #[test]
    fn a_forced_order_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let (pc, msr) = (tmp.path().join("powercap"), tmp.path().join("msr"));
        package_zone(&pc);
        intel_msr(&msr);
        let d = detect(&config(&pc, &msr, &["msr", "powercap"]));
        assert_eq!(d.label(), "msr");
    }
}
