//! NVIDIA GPUs through NVML (`nvml-wrapper`, which loads `libnvidia-ml` at run time, so a
//! binary built with pgadget runs on machines without the driver).
//!
//! GPU energy is the sum over all GPUs of their energy counter
//! (`nvmlDeviceGetTotalEnergyConsumption`, in mJ, Volta and later). A GPU without that counter
//! (the call answers `NOT_SUPPORTED` before Volta) is measured by integrating its power reading
//! (`nvmlDeviceGetPowerUsage`, in mW) with the trapezoid rule: a background thread, started only
//! when such a GPU is present, samples it every 100 ms (`SAMPLE_PERIOD`), and every reading
//! takes one more sample so a window's ends are exact.
//!
//! "Cumulative GPU Energy" is the total of every GPU, or empty with the reason: a GPU that has
//! neither counter nor power reading, or that cannot be read in a window, leaves the cell
//! empty (the note names it) rather than a sum of the others that looks like the total.
//!
//! A machine without the NVIDIA driver has no NVML; [`probe`] then returns a [`SourceError`] that
//! is not a problem, only a fact `pgadget doctor` shows.

use super::sampler::{Sampled, Watched};
use super::{Break, Cell, Domain, EnergySource, Reading, SourceConfig, SourceError, SourceKind};
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

/// The name written in "Energy Source".
pub(crate) const NAME: &str = "nvml";

/// How often the power of a GPU without an energy counter is sampled.
pub(crate) const SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// The file name of NVIDIA's library that nvml-wrapper looks for by default.
#[cfg(windows)]
const SYSTEM_LIBRARY: &str = "nvml.dll";
#[cfg(not(windows))]
const SYSTEM_LIBRARY: &str = "libnvidia-ml.so";

/// Opens NVML (from `config.nvml_lib`, else the system's) and finds the GPUs it can measure.
pub fn probe(config: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    NvmlSource::open(config.nvml_lib.as_deref()).map(|s| Arc::new(s) as Arc<dyn EnergySource>)
}

/// How a GPU's energy is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// The GPU's own energy counter (Volta and later).
    EnergyCounter,
    /// Its power reading, sampled and integrated; the value indexes the integrators.
    PowerSampling(usize),
}

#[derive(Clone, Debug)]
struct Gpu {
    index: u32,
    name: String,
    method: Method,
}

/// Energy integrated from the power readings of one GPU.
#[derive(Clone, Debug)]
struct Integrator {
    last_at: Instant,
    last_milliwatts: f64,
    joules: f64,
}

struct Shared {
    nvml: Arc<Nvml>,
    gpus: Vec<Gpu>,
    /// How many GPUs NVML reports: the total needs every one of them.
    count: u32,
    /// GPUs that can be measured neither way, each with the reason: while there is one, the
    /// total of the GPUs is unknown.
    unmeasured: Vec<String>,
    integrators: Mutex<Vec<Integrator>>,
    /// Times the integrals restarted (a fork while a thread of the parent held them), for
    /// windows across it.
    restarts: AtomicU64,
}

/// NVIDIA GPUs, read through NVML.
pub(crate) struct NvmlSource {
    shared: Watched<Shared>,
    library: Option<PathBuf>,
}

impl fmt::Debug for NvmlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared.get();
        f.debug_struct("NvmlSource")
            .field("library", &self.library)
            .field("gpus", &shared.gpus)
            .field("unmeasured", &shared.unmeasured)
            .field("sampling", &self.shared.has_sampler())
            .finish()
    }
}

impl NvmlSource {
    /// Loads NVML from `library` (the system's when `None`), lists the GPUs and, when one lacks
    /// an energy counter, starts the power sampler.
    pub(crate) fn open(library: Option<&Path>) -> Result<NvmlSource, SourceError> {
        let mut builder = Nvml::builder();
        if let Some(path) = library {
            builder.lib_path(path.as_os_str());
        }
        let nvml = builder.init().map_err(|e| init_error(e, library))?;
        let count = nvml
            .device_count()
            .map_err(|e| SourceError::new(NAME, format!("NVML could not count the GPUs: {e}")))?;
        let mut gpus = Vec::new();
        let mut unmeasured = Vec::new();
        let mut integrators = Vec::new();
        for index in 0..count {
            let device = match nvml.device_by_index(index) {
                Ok(d) => d,
                Err(e) => {
                    unmeasured.push(format!("GPU {index}: NVML cannot open it ({e})"));
                    continue;
                }
            };
            let name = device
                .name()
                .unwrap_or_else(|e| format!("(name unavailable: {e})"));
            let method = match device.total_energy_consumption() {
                Ok(_) => Method::EnergyCounter,
                Err(counter_error) => match device.power_usage() {
                    Ok(milliwatts) => {
                        integrators.push(Integrator {
                            last_at: Instant::now(),
                            last_milliwatts: f64::from(milliwatts),
                            joules: 0.0,
                        });
                        Method::PowerSampling(integrators.len() - 1)
                    }
                    Err(power_error) => {
                        let why = if counter_error.to_string() == power_error.to_string() {
                            counter_error.to_string()
                        } else {
                            format!("{counter_error}; {power_error}")
                        };
                        unmeasured.push(format!(
                            "GPU {index} ({name}) reports neither its energy nor its power \
                             (NVML: {why})"
                        ));
                        continue;
                    }
                },
            };
            gpus.push(Gpu {
                index,
                name,
                method,
            });
        }
        if gpus.is_empty() {
            let what = if count == 0 {
                "NVML is installed but reports no GPU".to_string()
            } else {
                format!(
                    "no GPU reports its energy or its power: {}",
                    unmeasured.join("; ")
                )
            };
            return Err(SourceError::new(NAME, what));
        }
        let period = (!integrators.is_empty()).then_some(SAMPLE_PERIOD);
        let shared = Shared {
            nvml: Arc::new(nvml),
            gpus,
            count,
            unmeasured,
            integrators: Mutex::new(integrators),
            restarts: AtomicU64::new(0),
        };
        let shared = Watched::start("pgadget-nvml-power", shared, period).map_err(|e| {
            SourceError::new(
                NAME,
                format!("cannot start the GPU power sampling thread: {e}"),
            )
        })?;
        Ok(NvmlSource {
            shared,
            library: library.map(Path::to_path_buf),
        })
    }
}

impl Sampled for Shared {
    /// Samples every GPU measured by its power. A failed sample is simply retried next
    /// period; a reading reports the error.
    fn sample(&self) {
        for gpu in &self.gpus {
            if let Method::PowerSampling(slot) = gpu.method {
                if let Ok(device) = self.nvml.device_by_index(gpu.index) {
                    let _ = self.sample_gpu(gpu, slot, &device);
                }
            }
        }
    }

    /// The same library and GPUs; the integrals carry on, or restart (counted, so windows
    /// across the fork are left empty) when a thread of the parent held them at the fork.
    fn fork_copy(&self) -> Self {
        let restarts = self.restarts.load(Ordering::Acquire);
        let (integrators, restarts) = match self.integrators.try_lock() {
            Ok(i) => (i.clone(), restarts),
            Err(TryLockError::Poisoned(p)) => (p.into_inner().clone(), restarts),
            Err(TryLockError::WouldBlock) => {
                let fresh = self
                    .gpus
                    .iter()
                    .filter(|g| matches!(g.method, Method::PowerSampling(_)))
                    .map(|_| Integrator {
                        last_at: Instant::now(),
                        last_milliwatts: 0.0,
                        joules: 0.0,
                    })
                    .collect();
                (fresh, restarts + 1)
            }
        };
        Shared {
            nvml: Arc::clone(&self.nvml),
            gpus: self.gpus.clone(),
            count: self.count,
            unmeasured: self.unmeasured.clone(),
            integrators: Mutex::new(integrators),
            restarts: AtomicU64::new(restarts),
        }
    }
}

impl Shared {
    /// The cumulative energy of all GPUs, in joules, or why there is no total.
    fn read_joules(&self) -> Result<f64, String> {
        if !self.unmeasured.is_empty() {
            return Err(format!(
                "{}, so the total of the {} GPUs is unknown; run `pgadget doctor`",
                self.unmeasured.join("; "),
                self.count
            ));
        }
        let mut total = 0.0;
        for gpu in &self.gpus {
            let device = self
                .nvml
                .device_by_index(gpu.index)
                .map_err(|e| read_error(gpu, "cannot be opened", e))?;
            total += match gpu.method {
                Method::EnergyCounter => {
                    let millijoules = device
                        .total_energy_consumption()
                        .map_err(|e| read_error(gpu, "could not read its energy counter", e))?;
                    millijoules as f64 / 1000.0
                }
                Method::PowerSampling(slot) => self.sample_gpu(gpu, slot, &device)?,
            };
        }
        Ok(total)
    }

    /// Takes one power sample of `gpu` and returns its integrated energy in joules.
    fn sample_gpu(&self, gpu: &Gpu, slot: usize, device: &Device<'_>) -> Result<f64, String> {
        let milliwatts = f64::from(
            device
                .power_usage()
                .map_err(|e| read_error(gpu, "could not read its power", e))?,
        );
        let mut integrators = self.integrators.lock().unwrap_or_else(|p| p.into_inner());
        let Some(integrator) = integrators.get_mut(slot) else {
            return Err(format!(
                "internal error: no integrator for GPU {}",
                gpu.index
            ));
        };
        // The time is taken under the lock so that samples stay in order between threads.
        let now = Instant::now();
        let seconds = now
            .saturating_duration_since(integrator.last_at)
            .as_secs_f64();
        integrator.joules += (integrator.last_milliwatts + milliwatts) / 2.0 / 1000.0 * seconds;
        integrator.last_at = now;
        integrator.last_milliwatts = milliwatts;
        Ok(integrator.joules)
    }
}

/// Why a GPU's energy is missing from a window, naming the GPU, and what to do.
fn read_error(gpu: &Gpu, what: &str, e: NvmlError) -> String {
    format!(
        "GPU {} ({}) {what} ({e}), so the total of the GPUs is unknown; check it with \
         `nvidia-smi`",
        gpu.index, gpu.name
    )
}

/// Turns an initialisation failure into what a user can act on.
fn init_error(e: NvmlError, library: Option<&Path>) -> SourceError {
    let use_var = "set PGADGET_NVML_LIB to the path of NVIDIA's libnvidia-ml.so.1";
    match (e, library) {
        (NvmlError::LibloadingError(_), None) => SourceError::new(
            NAME,
            format!("no NVIDIA driver ({SYSTEM_LIBRARY} not found)"),
        )
        .with_remedy(format!(
            "nothing to do on a machine without an NVIDIA GPU; otherwise install NVIDIA's \
             driver, or {use_var}"
        )),
        (NvmlError::LibloadingError(e), Some(path)) => SourceError::new(
            NAME,
            format!("cannot load the NVML library {} ({e})", path.display()),
        )
        .with_remedy(format!("{use_var}, or unset it to use the system's")),
        (NvmlError::FailedToLoadSymbol(e), path) => SourceError::new(
            NAME,
            format!(
                "{} is not a usable NVML library: {e}",
                path.map_or(SYSTEM_LIBRARY.into(), |p| p.display().to_string())
            ),
        )
        .with_remedy(use_var),
        (NvmlError::DriverNotLoaded, _) => SourceError::new(
            NAME,
            "NVML is installed but the NVIDIA driver is not loaded",
        )
        .with_remedy(
            "load the driver (`nvidia-smi` should then list the GPUs); nothing to do on \
                     a machine without an NVIDIA GPU",
        ),
        (NvmlError::NoPermission, _) => {
            SourceError::new(NAME, "NVML has no permission to talk to the NVIDIA driver")
                .with_remedy(
                    "check that your user can open /dev/nvidia* (`nvidia-smi` should work)",
                )
        }
        (e, _) => SourceError::new(NAME, format!("NVML failed to initialise: {e}")),
    }
}

impl EnergySource for NvmlSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Gpu
    }

    fn domains(&self) -> &[Domain] {
        &[Domain::Gpu]
    }

    fn read(&self) -> Result<Reading, SourceError> {
        let shared = self.shared.get();
        let mut reading = Reading {
            gpu: match shared.read_joules() {
                Ok(joules) => Cell::Joules(joules),
                Err(reason) => Cell::Lost(reason),
            },
            ..Reading::default()
        };
        let restarts = shared.restarts.load(Ordering::Acquire);
        if restarts > 0 {
            reading.breaks[Domain::Gpu as usize] = super::Breaks {
                count: restarts,
                last: Some(Break::Fork),
            };
        }
        Ok(reading)
    }

    fn describe(&self) -> Vec<String> {
        let shared = self.shared.get();
        let mut lines = vec![format!(
            "library: {}",
            self.library.as_ref().map_or_else(
                || format!("{SYSTEM_LIBRARY} (system)"),
                |p| p.display().to_string()
            )
        )];
        for gpu in &shared.gpus {
            let how = match gpu.method {
                Method::EnergyCounter => "energy counter".to_string(),
                Method::PowerSampling(_) => format!(
                    "no energy counter (before Volta): power sampled every {} ms and integrated",
                    SAMPLE_PERIOD.as_millis()
                ),
            };
            lines.push(format!("GPU {}: {}: {how}", gpu.index, gpu.name));
        }
        for gpu in &shared.unmeasured {
            lines.push(format!("{gpu}: not measured"));
        }
        if !shared.unmeasured.is_empty() {
            lines.push(format!(
                "the GPU column is left empty in every row: it is the total of all {} GPUs, and \
                 a total without the GPUs above would look complete",
                shared.count
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_system_library_is_reported_as_no_driver() {
        let load_failure = match Nvml::builder()
            .lib_path(std::ffi::OsStr::new("/nonexistent/libpgadget-nothing.so"))
            .init()
        {
            Err(e) => e,
            Ok(_) => panic!("a nonexistent library loaded"),
        };
        let e = init_error(load_failure, None);
        assert_eq!(e.source_name, "nvml");
        assert_eq!(
            e.what,
            format!("no NVIDIA driver ({SYSTEM_LIBRARY} not found)")
        );
        assert!(e
            .remedy
            .as_deref()
            .unwrap_or("")
            .contains("PGADGET_NVML_LIB"));
    }

    #[test]
    fn a_missing_configured_library_names_its_path() {
        let path = Path::new("/nowhere/libnvidia-ml.so.1");
        let e = match NvmlSource::open(Some(path)) {
            Err(e) => e,
            Ok(s) => panic!("a missing library opened: {s:?}"),
        };
        assert!(e.what.contains("/nowhere/libnvidia-ml.so.1"), "{}", e.what);
        assert!(e.remedy.is_some());
    }
}
