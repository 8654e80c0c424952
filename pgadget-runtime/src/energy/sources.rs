//! The table of energy sources, and detection.
//!
//! Every source pgadget knows is one row of [`SOURCE_TABLE`]: its name, its kind, how it is
//! probed and what configures it. Detection, `PGADGET_SOURCES`, `pgadget doctor` and the
//! check of the names all read this table, so a new source is one file and one row here.

use super::{estimate, powerlog, EnergySource, SourceConfig, SourceError, SourceKind};
use crate::config;
use std::sync::Arc;

/// One energy source pgadget knows: a row of [`SOURCE_TABLE`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct SourceEntry {
    /// Its name in "Energy Source", `PGADGET_SOURCES` and `pgadget doctor`.
    pub name: &'static str,
    /// What it measures: at most one CPU source is used at a time, GPU sources add to it.
    pub kind: SourceKind,
    /// Opens it with the paths of a [`SourceConfig`], or says why it cannot measure here
    /// (including "Linux only" or "not built in" where this build has no code for it).
    pub probe: fn(&SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError>,
    /// What configures it: the environment variables and builder options it reads.
    pub settings: &'static [&'static str],
}

/// Every source, in detection order: the first CPU source that works is used, with every GPU
/// source that works; the estimate comes last, so it is used when no counter can be read.
pub const SOURCE_TABLE: &[SourceEntry] = &[
    SourceEntry {
        name: "powercap",
        kind: SourceKind::Cpu,
        probe: probe_powercap,
        settings: &[config::POWERCAP_ROOT],
    },
    SourceEntry {
        name: "msr",
        kind: SourceKind::Cpu,
        probe: probe_msr,
        settings: &[config::MSR_DIR],
    },
    SourceEntry {
        name: "powerlog",
        kind: SourceKind::Cpu,
        probe: powerlog::probe,
        settings: &["PowerMeter::builder().cpu_power_log_path(..)"],
    },
    SourceEntry {
        name: "nvml",
        kind: SourceKind::Gpu,
        probe: probe_nvml,
        settings: &[config::NVML_LIB],
    },
    SourceEntry {
        name: estimate::NAME,
        kind: SourceKind::Cpu,
        probe: estimate::probe,
        settings: &[config::CPU_TDP],
    },
];

#[cfg(target_os = "linux")]
use super::msr::probe as probe_msr;
#[cfg(target_os = "linux")]
use super::powercap::probe as probe_powercap;

#[cfg(not(target_os = "linux"))]
fn probe_powercap(_: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    Err(linux_only("powercap"))
}

#[cfg(not(target_os = "linux"))]
fn probe_msr(_: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    Err(linux_only("msr"))
}

/// Why a source that reads Linux's interfaces (`/sys/class/powercap`, `/dev/cpu/N/msr`) is
/// not even compiled here.
#[cfg(not(target_os = "linux"))]
fn linux_only(name: &'static str) -> SourceError {
    SourceError::new(
        name,
        format!(
            "Linux only: it reads RAPL through Linux's interfaces, and this is {}",
            std::env::consts::OS
        ),
    )
    .with_remedy(
        "on macOS and Windows, Intel Power Gadget's PowerLog (the `powerlog` source) reads \
         the same counters",
    )
}

#[cfg(feature = "nvml")]
use super::nvml::probe as probe_nvml;

#[cfg(not(feature = "nvml"))]
fn probe_nvml(_: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    Err(SourceError::new(
        "nvml",
        "not built in: this pgadget was built without its `nvml` feature, so GPU energy is \
         not measured and the GPU cells stay empty",
    )
    .with_remedy("build pgadget with the `nvml` feature (on by default) to measure NVIDIA GPUs"))
}

/// The names of every source, in detection order.
pub fn source_names() -> impl Iterator<Item = &'static str> {
    SOURCE_TABLE.iter().map(|s| s.name)
}

/// The row named `name`, if any.
pub(super) fn entry(name: &str) -> Option<&'static SourceEntry> {
    SOURCE_TABLE.iter().find(|s| s.name == name)
}

fn known_names() -> String {
    source_names().collect::<Vec<_>>().join(", ")
}

/// One message per name in `names` that no row has, naming the known sources.
pub(super) fn unknown_names(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|name| entry(name).is_none())
        .map(|name| {
            format!(
                "{}: unknown energy source `{name}`; the known sources are {}",
                config::SOURCES,
                known_names()
            )
        })
        .collect()
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

/// Finds the sources to use: the first CPU source that works, in detection order, plus every
/// GPU source that works; the estimate when no CPU counter can be read.
///
/// The order is `SOURCE_TABLE`'s, or `PGADGET_SOURCES`'s when set. A CPU source after the
/// first working one is not even opened (so it starts no sampler). When a forced list names no
/// CPU source that works, the estimate stands in and `unavailable` says why.
pub fn detect(config: &SourceConfig) -> Detected {
    let mut found = Detected::default();
    let order: Vec<&str> = match &config.forced {
        Some(names) => names.iter().map(String::as_str).collect(),
        None => source_names().collect(),
    };
    let mut have_cpu = false;
    for name in &order {
        let Some(entry) = entry(name) else {
            found.unavailable.push(
                SourceError::new(
                    "pgadget",
                    format!("unknown energy source `{name}` in {}", config::SOURCES),
                )
                .with_remedy(format!("choose among {}", known_names())),
            );
            continue;
        };
        if entry.kind == SourceKind::Cpu && have_cpu {
            continue;
        }
        match (entry.probe)(config) {
            Ok(source) => {
                debug_assert_eq!(
                    (source.name(), source.kind()),
                    (entry.name, entry.kind),
                    "a source must be what its row says"
                );
                have_cpu |= entry.kind == SourceKind::Cpu;
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
                    "{}={} names no CPU energy source that works here, so CPU energy is \
                     estimated from CPU time",
                    config::SOURCES,
                    order.join(",")
                ),
            )
            .with_remedy(format!(
                "add a working source, or `estimate`, to {}",
                config::SOURCES
            )),
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

    #[test]
    fn names_are_unique_and_the_estimate_comes_last() {
        let names: Vec<&str> = source_names().collect();
        assert_eq!(names, ["powercap", "msr", "powerlog", "nvml", "estimate"]);
        assert_eq!(SOURCE_TABLE.last().map(|s| s.kind), Some(SourceKind::Cpu));
    }

    #[test]
    fn unknown_names_are_reported_with_the_known_ones() {
        let names = vec!["powercap".to_string(), "rapl".into(), "nvml".into()];
        assert_eq!(
            unknown_names(&names),
            [
                "PGADGET_SOURCES: unknown energy source `rapl`; the known sources are powercap, \
              msr, powerlog, nvml, estimate"
            ]
        );
        let config = SourceConfig {
            forced: Some(names),
            ..SourceConfig::from_env(&config::EnvConfig::default(), None, None)
        };
        assert_eq!(config.problems().len(), 1);
        let d = detect(&config);
        let unknown = d
            .unavailable
            .iter()
            .find(|e| e.source_name == "pgadget")
            .expect("the unknown name is reported");
        assert_eq!(
            unknown.what,
            "unknown energy source `rapl` in PGADGET_SOURCES"
        );
        assert_eq!(
            unknown.remedy.as_deref(),
            Some("choose among powercap, msr, powerlog, nvml, estimate")
        );
    }

    #[cfg(not(feature = "nvml"))]
    #[test]
    fn without_the_nvml_feature_nvml_says_it_is_not_built_in() {
        let config = SourceConfig {
            forced: Some(vec!["nvml".into(), "estimate".into()]),
            ..SourceConfig::from_env(&config::EnvConfig::default(), None, None)
        };
        let d = detect(&config);
        assert_eq!(d.label(), "estimate");
        assert_eq!(d.unavailable.len(), 1, "{:?}", d.unavailable);
        assert_eq!(d.unavailable[0].source_name, "nvml");
        assert!(
            d.unavailable[0].what.starts_with("not built in"),
            "{}",
            d.unavailable[0]
        );
    }
}

/// Detection over simulated RAPL trees: powercap and the MSRs are Linux-only.
#[cfg(all(test, target_os = "linux"))]
mod linux_tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::FileExt;
    use std::path::Path;

    fn config(powercap: &Path, msr: &Path, forced: &[&str]) -> SourceConfig {
        SourceConfig {
            powercap_root: powercap.to_path_buf(),
            msr_dir: msr.to_path_buf(),
            cpuinfo: msr.join("no-cpuinfo"),
            cpu_topology: msr.join("no-topology"),
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
        assert_eq!(d.unavailable[0].source_name, "powercap");
        assert!(d.unavailable[0].what.contains("intel-rapl:0/energy_uj"));
    }

    #[test]
    fn nothing_readable_falls_back_to_the_estimate_with_every_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let (pc, msr) = (tmp.path().join("powercap"), tmp.path().join("msr"));
        let d = detect(&config(&pc, &msr, &["powercap", "msr", "estimate"]));
        assert_eq!(d.label(), "estimate");
        let sources: Vec<&str> = d.unavailable.iter().map(|e| e.source_name).collect();
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
