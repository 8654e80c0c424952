//! Energy sources: one file per source behind [`EnergySource`], and one table of them.
//!
//! [`SOURCE_TABLE`] (in `sources.rs`) lists every source with its name, its kind, how it is
//! probed and what configures it; detection, `PGADGET_SOURCES`, `pgadget doctor` and the
//! check of source names all read it. A new source is a new file here and one row there.
//! powercap and the MSRs share their RAPL plumbing (`rapl.rs`) and are Linux-only: elsewhere
//! their rows remain and their probe says "Linux only". NVML needs the `nvml` feature; without
//! it its row's probe says it was not built in.
//!
//! Every source reports *cumulative* energy in joules per domain since an arbitrary origin
//! (a [`Reading`]); a measurement window is the difference of two readings. Sources whose
//! hardware counters wrap unwrap them themselves (see `sampler`), so the difference of two
//! readings is never negative and never loses a wrap.

pub mod doctor;
pub mod estimate;
#[cfg(target_os = "linux")]
pub mod msr;
#[cfg(feature = "nvml")]
pub mod nvml;
#[cfg(target_os = "linux")]
pub mod powercap;
pub mod powerlog;
#[cfg(target_os = "linux")]
mod rapl;
pub mod sampler;
mod sources;

pub use sources::{detect, source_names, Detected, SourceEntry, SOURCE_TABLE};

use std::any::Any;
use std::fmt;
use std::path::PathBuf;

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
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {what}{}", remedy_suffix(.remedy))]
#[non_exhaustive]
pub struct SourceError {
    /// The source's name, as in "Energy Source" (`powercap`, `msr`, ...), or `pgadget` for a
    /// problem with the list of sources itself.
    pub source_name: &'static str,
    /// What failed, naming the path or call.
    pub what: String,
    /// What to do about it, when there is something to do.
    pub remedy: Option<String>,
}

fn remedy_suffix(remedy: &Option<String>) -> String {
    remedy
        .as_ref()
        .map_or_else(String::new, |r| format!("; {r}"))
}

impl SourceError {
    /// The source `source_name` cannot measure because of `what`.
    pub fn new(source_name: &'static str, what: impl Into<String>) -> Self {
        SourceError {
            source_name,
            what: what.into(),
            remedy: None,
        }
    }

    /// Adds what the user can do about it.
    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
    }
}

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

impl SourceConfig {
    /// Where each source looks, from the environment (and the builder's `cpu_power_log_path`
    /// and TDP where given).
    pub fn from_env(
        env: &crate::config::EnvConfig,
        powerlog_path: Option<PathBuf>,
        cpu_tdp_watts: Option<f64>,
    ) -> Self {
        let (default_powercap_root, default_msr_dir) = linux_defaults();
        SourceConfig {
            powercap_root: env.powercap_root.clone().unwrap_or(default_powercap_root),
            msr_dir: env.msr_dir.clone().unwrap_or(default_msr_dir),
            nvml_lib: env.nvml_lib.clone(),
            powerlog_path,
            cpu_tdp_watts: cpu_tdp_watts
                .or(env.cpu_tdp)
                .unwrap_or(estimate::DEFAULT_CPU_TDP_WATTS),
            forced: env.sources.clone(),
        }
    }

    /// What is wrong with `PGADGET_SOURCES`: one message per name that is no known source,
    /// each with the known ones.
    pub fn problems(&self) -> Vec<String> {
        sources::unknown_names(self.forced.as_deref().unwrap_or_default())
    }
}

/// The default powercap root and MSR directory.
#[cfg(target_os = "linux")]
fn linux_defaults() -> (PathBuf, PathBuf) {
    (powercap::DEFAULT_ROOT.into(), msr::DEFAULT_DIR.into())
}

/// Off Linux, powercap and the MSRs are never opened: their paths stay empty.
#[cfg(not(target_os = "linux"))]
fn linux_defaults() -> (PathBuf, PathBuf) {
    (PathBuf::new(), PathBuf::new())
}
