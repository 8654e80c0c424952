//! Energy sources: one file per source behind [`EnergySource`], and one table of them.
//!
//! `SOURCE_TABLE` (in `sources.rs`) lists every source with its name, its kind, how it is
//! probed and what configures it; detection, `PGADGET_SOURCES`, `pgadget doctor` and the
//! check of source names all read it. A new source is a new file here and one row there.
//! powercap and the MSRs share their RAPL plumbing (`rapl.rs`) and are Linux-only: elsewhere
//! their rows remain and their probe says "Linux only". NVML needs the `nvml` feature; without
//! it its row's probe says it was not built in.
//!
//! Every source reports *cumulative* energy in joules per domain since an arbitrary origin
//! (a [`Reading`]); a measurement window is the difference of two readings. Sources whose
//! hardware counters wrap unwrap them themselves (see `sampler`), so the difference of two
//! readings is never negative and never loses a wrap unseen: where a wrap could have passed
//! unseen (the process stopped, the machine asleep), the readings record a [`Break`] and the
//! window's cell is [`Cell::Lost`] with the reason. Every cell of a row is a value, or empty:
//! without a note when the source does not measure that domain, with one (see `window`) when
//! it does but cannot vouch for the value.

pub mod clock;
pub mod doctor;
pub(crate) mod estimate;
#[cfg(target_os = "linux")]
pub(crate) mod msr;
#[cfg(feature = "nvml")]
pub mod nvml;
#[cfg(target_os = "linux")]
pub(crate) mod powercap;
pub mod powerlog;
#[cfg(target_os = "linux")]
mod rapl;
pub mod sampler;
mod sources;
pub(crate) mod window;

pub use estimate::{machine_logical_cpus, process_cpu_time};
pub use sources::{detect, Detected};
pub(crate) use sources::{SourceEntry, SOURCE_TABLE};

use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The four energy columns of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Domain {
    /// The CPU package(s), summed over sockets and dies ("Cumulative Package Energy").
    Package,
    /// The cores of the package(s) ("Cumulative IA Energy").
    Cores,
    /// Memory ("Cumulative DRAM Energy").
    Dram,
    /// All GPUs together ("Cumulative GPU Energy").
    Gpu,
}

impl Domain {
    /// Every domain, in the order of the row's columns' names in notes.
    pub const ALL: [Domain; 4] = [Domain::Package, Domain::Cores, Domain::Dram, Domain::Gpu];

    /// The name notes use for its column: `Package`, `IA`, `DRAM`, `GPU`.
    pub fn column(self) -> &'static str {
        match self {
            Domain::Package => "Package",
            Domain::Cores => "IA",
            Domain::Dram => "DRAM",
            Domain::Gpu => "GPU",
        }
    }
}

/// One domain's energy, as a source sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Cell {
    /// The source does not measure this domain: the cell is empty and needs no explanation.
    #[default]
    NotMeasured,
    /// The energy in joules (cumulative in a reading, used in a window).
    Joules(f64),
    /// The source measures this domain, but has no value it can vouch for here: the cell is
    /// empty, and this sentence (what happened, and what to do) goes into "Energy Note".
    Lost(String),
}

impl Cell {
    /// The energy, when there is one.
    pub fn joules(&self) -> Option<f64> {
        match self {
            Cell::Joules(j) => Some(*j),
            _ => None,
        }
    }

    /// Why the cell is empty although its domain is measured.
    pub fn lost(&self) -> Option<&str> {
        match self {
            Cell::Lost(reason) => Some(reason),
            _ => None,
        }
    }

    /// Whether the source measures this domain (with a value or not).
    pub fn is_measured(&self) -> bool {
        !matches!(self, Cell::NotMeasured)
    }

    /// Adds `other` into `self`: values add up; a lost part makes the whole lost, since a
    /// total missing a part would be a wrong figure.
    pub fn add(&mut self, other: Cell) {
        match (&mut *self, other) {
            (_, Cell::NotMeasured) | (Cell::Lost(_), _) => {}
            (Cell::Joules(a), Cell::Joules(b)) => *a += b,
            (this, other) => *this = other,
        }
    }
}

/// Why a counter's running total cannot be trusted across some point in time (see
/// [`Reading::breaks`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Break {
    /// The counter went `unread` without a reading, long enough at `bound_watts` for a whole
    /// range (which lasts `limit` at that power) to pass unseen. The process was stopped
    /// (SIGSTOP, Ctrl-Z, a debugger, a frozen cgroup), the machine slept, or it was too busy
    /// to run the sampler.
    Gap {
        /// How long the counter went unread.
        unread: Duration,
        /// How long one range of the counter lasts at the power bound.
        limit: Duration,
        /// The bound on the domain's power, in watts.
        bound_watts: f64,
    },
    /// The counter jumped (it was reset, or changed in a way no possible power explains).
    Jump,
    /// The process forked while another thread was reading the counter, so the child's copy
    /// of it had to start afresh.
    Fork,
}

impl Break {
    /// The sentence a note gives for a window across this break.
    pub fn reason(&self) -> String {
        match self {
            Break::Gap {
                unread,
                limit,
                bound_watts,
            } => format!(
                "its counter went {} unread (the process stopped, the machine asleep or \
                 overloaded): at {bound_watts} W it could roll over unseen in that time (a range \
                 lasts {} there); measure again without pausing the process",
                seconds(*unread),
                seconds(*limit)
            ),
            Break::Jump => "its counter jumped (a reset, or a change no power explains), so \
                            energy is missing; measure again"
                .into(),
            Break::Fork => "the process forked while another thread was reading its counter, \
                            so the window's start cannot be matched; measure again in the child"
                .into(),
        }
    }
}

/// A duration for a note: `0.05 s`, `2.31 s`, `62 s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.0} s")
    }
}

/// The breaks seen so far by the counters of one domain.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Breaks {
    /// How many breaks the domain's counters have had since they were opened.
    pub count: u64,
    /// The most recent one.
    pub last: Option<Break>,
}

impl Breaks {
    /// Adds the breaks of another counter of the same domain.
    pub fn add(&mut self, other: Breaks) {
        self.count += other.count;
        if other.last.is_some() {
            self.last = other.last;
        }
    }
}

/// Energy in joules for each domain a source can see: cumulative since an arbitrary origin
/// (what [`EnergySource::read`] returns), or used in a window (what [`EnergySource::end`]
/// returns).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    /// The CPU package(s), summed over sockets and dies.
    pub package: Cell,
    /// The cores of the package(s).
    pub cores: Cell,
    /// Memory.
    pub dram: Cell,
    /// All GPUs together.
    pub gpu: Cell,
    /// In a cumulative reading of counters that can roll over: per domain (in [`Domain`]
    /// order), the breaks their running totals have had so far. A window across which a
    /// domain's count changed cannot trust that domain's difference.
    pub breaks: [Breaks; 4],
}

impl Reading {
    /// The cell of `domain`.
    pub fn cell(&self, domain: Domain) -> &Cell {
        match domain {
            Domain::Package => &self.package,
            Domain::Cores => &self.cores,
            Domain::Dram => &self.dram,
            Domain::Gpu => &self.gpu,
        }
    }

    /// The cell of `domain`, to change it.
    pub fn cell_mut(&mut self, domain: Domain) -> &mut Cell {
        match domain {
            Domain::Package => &mut self.package,
            Domain::Cores => &mut self.cores,
            Domain::Dram => &mut self.dram,
            Domain::Gpu => &mut self.gpu,
        }
    }

    /// The energy used between `start` and `self`, per domain.
    ///
    /// A domain is measured in the window only when both readings measure it. It is lost when
    /// either reading lost it (with that reading's reason, the closing one's first) or when
    /// its counters had a break in between. A negative difference cannot come from a source
    /// that unwraps its counters; it is clamped to 0 rather than trusted.
    pub fn since(&self, start: &Reading) -> Reading {
        let mut used = Reading::default();
        for (i, domain) in Domain::ALL.into_iter().enumerate() {
            let cell = match (self.cell(domain), start.cell(domain)) {
                (Cell::Lost(reason), _) | (_, Cell::Lost(reason)) => Cell::Lost(reason.clone()),
                (Cell::NotMeasured, _) | (_, Cell::NotMeasured) => Cell::NotMeasured,
                (Cell::Joules(end), Cell::Joules(begin)) => {
                    let (now, then) = (self.breaks[i], start.breaks[i]);
                    match now.last {
                        Some(b) if now.count != then.count => Cell::Lost(b.reason()),
                        _ => Cell::Joules((end - begin).max(0.0)),
                    }
                }
            };
            *used.cell_mut(domain) = cell;
        }
        used
    }

    /// Adds the domains `other` measures into `self` (see [`Cell::add`]). Used to combine a
    /// CPU source with a GPU source.
    pub fn merge(&mut self, other: Reading) {
        let Reading {
            package,
            cores,
            dram,
            gpu,
            breaks: _,
        } = other;
        self.package.add(package);
        self.cores.add(cores);
        self.dram.add(dram);
        self.gpu.add(gpu);
    }
}

/// What a source keeps between the start and the end of a window.
// Every counter window holds a Reading (a few hundred bytes, on the stack); boxing it to make
// the rare Session variant's size match would allocate on every measured call.
#[allow(clippy::large_enum_variant)]
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
    pub(crate) fn new(source_name: &'static str, what: impl Into<String>) -> Self {
        SourceError {
            source_name,
            what: what.into(),
            remedy: None,
        }
    }

    /// Adds what the user can do about it.
    pub(crate) fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
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

    /// The domains this source measures: the cells it fills, or leaves empty with a reason.
    /// When a window fails altogether (`begin` or `end` returns an error), these cells are
    /// the ones the row leaves empty with the error as the reason. By default the package
    /// for a CPU source and the GPU column for a GPU source.
    fn domains(&self) -> &[Domain] {
        match self.kind() {
            SourceKind::Cpu => &[Domain::Package],
            SourceKind::Gpu => &[Domain::Gpu],
        }
    }

    /// The cumulative energy now. A domain whose counter could not be read is
    /// [`Cell::Lost`] with the reason; an error means nothing could be read at all.
    fn read(&self) -> Result<Reading, SourceError>;

    /// Opens a window. Counter sources take a reading; a source that must run something for
    /// the window's length overrides this and [`EnergySource::end`].
    fn begin(&self) -> Result<Begun, SourceError> {
        self.read().map(Begun::Reading)
    }

    /// Closes a window opened by [`EnergySource::begin`] and returns the energy used in it:
    /// per domain a value, or [`Cell::Lost`] with the reason when the value cannot be
    /// trusted (a sampling gap, a counter that failed, a device that could not be read).
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
    /// `PGADGET_CPUINFO`, default `/proc/cpuinfo`: the CPU's vendor and model (AMD's
    /// powercap `core` zone is not the cores; some Intel servers count DRAM in a fixed unit).
    pub cpuinfo: PathBuf,
    /// `PGADGET_CPU_TOPOLOGY`, default `/sys/devices/system/cpu`: which package and die each
    /// CPU belongs to (`cpuN/topology/physical_package_id`, `die_id`), for the MSRs.
    pub cpu_topology: PathBuf,
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
        let defaults = linux_defaults();
        SourceConfig {
            powercap_root: env.powercap_root.clone().unwrap_or(defaults.powercap_root),
            msr_dir: env.msr_dir.clone().unwrap_or(defaults.msr_dir),
            cpuinfo: env.cpuinfo.clone().unwrap_or(defaults.cpuinfo),
            cpu_topology: env.cpu_topology.clone().unwrap_or(defaults.cpu_topology),
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

/// Where Linux keeps what the RAPL sources read.
struct Defaults {
    powercap_root: PathBuf,
    msr_dir: PathBuf,
    cpuinfo: PathBuf,
    cpu_topology: PathBuf,
}

/// The default powercap root, MSR directory, cpuinfo and CPU topology.
#[cfg(target_os = "linux")]
fn linux_defaults() -> Defaults {
    Defaults {
        powercap_root: powercap::DEFAULT_ROOT.into(),
        msr_dir: msr::DEFAULT_DIR.into(),
        cpuinfo: msr::DEFAULT_CPUINFO.into(),
        cpu_topology: msr::DEFAULT_TOPOLOGY_ROOT.into(),
    }
}

/// Off Linux, powercap and the MSRs are never opened: their paths stay empty.
#[cfg(not(target_os = "linux"))]
fn linux_defaults() -> Defaults {
    Defaults {
        powercap_root: PathBuf::new(),
        msr_dir: PathBuf::new(),
        cpuinfo: PathBuf::new(),
        cpu_topology: PathBuf::new(),
    }
}
