//! RAPL read straight from the model-specific registers (`/dev/cpu/N/msr`), for kernels
//! without powercap (or where its files are closed).
//!
//! The msr driver exposes each logical CPU's registers as a file where the register address is
//! the offset: an 8-byte positioned read at `0x611` returns MSR `0x611`. The energy registers
//! are per package, or per die on packages whose dies have counters of their own (Intel's
//! multi-die Xeons, where Linux shows `package-N-die-M` zones), so one CPU per die is read
//! (from the topology's `physical_package_id` and `die_id`) and the dies are summed; dies that
//! turn out to read one shared register are counted once. Their low 32 bits count energy in
//! units of `1 / 2^ESU` joules, ESU being bits 12:8 of the unit register, and roll over at
//! 2^32 units.

use super::clock::BootClock;
use super::rapl::{self, Access, RaplCounters, Unit};
use super::sampler::{Counter, DomainKind, RawCounter, GENEROUS_WATTS};
use super::{Domain, EnergySource, Reading, SourceConfig, SourceError, SourceKind};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SOURCE: &str = "msr";

/// Intel's RAPL registers: Intel 64 and IA-32 Architectures Software Developer's Manual,
/// vol. 4 (Model-Specific Registers), "MSRs in the Intel microarchitecture code name Sandy
/// Bridge" and later tables.
mod intel {
    /// MSR_RAPL_POWER_UNIT; energy status units in bits 12:8.
    pub const UNIT: u64 = 0x606;
    /// MSR_PKG_ENERGY_STATUS: the package.
    pub const PACKAGE: u64 = 0x611;
    /// MSR_DRAM_ENERGY_STATUS: memory (server parts; reads 0 or fails on most clients).
    pub const DRAM: u64 = 0x619;
    /// MSR_PP0_ENERGY_STATUS: the cores (power plane 0).
    pub const CORES: u64 = 0x639;
}

/// AMD's RAPL registers: AMD Processor Programming Reference (PPR) for family 17h and later,
/// Core::X86::Msr::RAPL_PWR_UNIT, CORE_ENERGY_STAT and PKG_ENERGY_STAT.
mod amd {
    /// RAPL_PWR_UNIT; energy status units in bits 12:8, as on Intel.
    pub const UNIT: u64 = 0xC001_0299;
    /// CORE_ENERGY_STAT: the energy of the one core this CPU belongs to (per core, not per
    /// package), so it is not used: see [`super::Msr`].
    pub const CORE: u64 = 0xC001_029A;
    /// PKG_ENERGY_STAT: the package.
    pub const PACKAGE: u64 = 0xC001_029B;
}

/// Intel server parts whose DRAM counter uses a fixed unit of 15.3 µJ (2^-16 J) instead of the
/// unit register's: family 6, models Haswell-X (0x3F), Broadwell-X (0x4F), Skylake-X and its
/// Cascade/Cooper Lake successors (0x55), Xeon Phi KNL (0x57) and KNM (0x85), Ice Lake-X
/// (0x6A) and Ice Lake-D (0x6C). Source: Intel SDM vol. 4, the MSR_DRAM_ENERGY_STATUS entries
/// of the Xeon E5 v3 and later server tables ("energy in 15.3 micro-joules"); Linux applies the
/// same list (`dram_domain_energy_unit` in drivers/powercap/intel_rapl_common.c).
const FIXED_DRAM_UNIT_MODELS: [u32; 7] = [0x3F, 0x4F, 0x55, 0x57, 0x85, 0x6A, 0x6C];

/// The fixed DRAM energy unit of [`FIXED_DRAM_UNIT_MODELS`]: 2^-16 J ≈ 15.3 µJ.
const FIXED_DRAM_ESU: u32 = 16;

/// The CPU model, from `/proc/cpuinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuModel {
    /// `vendor_id`, e.g. `GenuineIntel`, `AuthenticAMD`.
    pub vendor: String,
    /// `cpu family`.
    pub family: u32,
    /// `model`.
    pub model: u32,
}

impl CpuModel {
    /// Reads the CPU model from the cpuinfo file at `path`, or says why it cannot.
    pub fn read(path: &Path) -> Result<CpuModel, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
        CpuModel::parse(&text)
            .ok_or_else(|| format!("{} names no vendor, family and model", path.display()))
    }

    /// Reads the first processor's vendor, family and model from cpuinfo text.
    pub fn parse(cpuinfo: &str) -> Option<CpuModel> {
        let mut vendor = None;
        let mut family = None;
        let mut model = None;
        for line in cpuinfo.lines() {
            if line.trim().is_empty() && vendor.is_some() {
                break;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "vendor_id" => vendor = Some(value.to_string()),
                "cpu family" => family = value.parse().ok(),
                "model" => model = value.parse().ok(),
                _ => {}
            }
        }
        Some(CpuModel {
            vendor: vendor?,
            family: family?,
            model: model?,
        })
    }

    fn has_fixed_dram_unit(&self) -> bool {
        self.vendor == "GenuineIntel"
            && self.family == 6
            && FIXED_DRAM_UNIT_MODELS.contains(&self.model)
    }
}

/// Which register set the CPU answers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    /// Intel: unit 0x606, package 0x611, cores 0x639, DRAM 0x619.
    Intel,
    /// AMD (and Hygon) family 17h and later: unit 0xC0010299, package 0xC001029B.
    Amd,
}

/// Reads one whole 64-bit register.
fn read_msr(file: &File, address: u64) -> io::Result<u64> {
    let mut buf = [0u8; 8];
    file.read_exact_at(&mut buf, address)?;
    Ok(u64::from_le_bytes(buf))
}

/// The energy status unit (bits 12:8 of the unit register).
fn energy_status_unit(unit_register: u64) -> u32 {
    ((unit_register >> 8) & 0x1F) as u32
}

/// One 32-bit energy counter in an open MSR device.
#[derive(Debug)]
pub struct MsrCounter {
    file: Arc<File>,
    address: u64,
}

impl RawCounter for MsrCounter {
    fn read_raw(&self) -> io::Result<u64> {
        // The counter is the low 32 bits; the high half is reserved.
        Ok(read_msr(&self.file, self.address)? & 0xFFFF_FFFF)
    }
}

/// Why an MSR device could not be used, and what to do about it.
pub fn access_error(path: &Path, e: &io::Error) -> SourceError {
    Access {
        source: SOURCE,
        denied: "can be opened only by root (reading MSRs needs CAP_SYS_RAWIO as well as read \
                 access to the device)",
        denied_remedy: "run as root, or give the program the capability (`sudo setcap \
                        cap_sys_rawio=ep <program>`) and its user read access to /dev/cpu/*/msr; \
                        the msr module must be loaded (`sudo modprobe msr`)"
            .into(),
        missing_remedy: "load the msr driver: `sudo modprobe msr` (and run as root)",
    }
    .error(path, e)
}

/// RAPL energy read from MSRs.
///
/// On AMD only the package is read: AMD's core counter covers one core, so a cores figure would
/// need one read per physical core; it is left empty rather than reported for one core.
#[derive(Debug)]
pub struct Msr {
    counters: RaplCounters<MsrCounter>,
    vendor: Vendor,
    /// (package and die, the CPU read for it).
    cpus: Vec<(Unit, u32)>,
    notes: Vec<String>,
}

/// Where Linux's msr driver puts `N/msr` (`PGADGET_MSR_DIR` points elsewhere).
pub const DEFAULT_DIR: &str = "/dev/cpu";

/// The sysfs directory holding `cpuN/topology/physical_package_id` and `die_id`
/// (`PGADGET_CPU_TOPOLOGY` points elsewhere).
pub const DEFAULT_TOPOLOGY_ROOT: &str = "/sys/devices/system/cpu";

/// Where Linux describes the CPUs (`PGADGET_CPUINFO` points elsewhere).
pub const DEFAULT_CPUINFO: &str = "/proc/cpuinfo";

/// Opens the MSR devices under `config.msr_dir`, one CPU per package (per die where dies have
/// counters of their own), with the topology under `config.cpu_topology` and the CPU model
/// from `config.cpuinfo`.
pub fn probe(config: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    let cpu = CpuModel::read(&config.cpuinfo).ok();
    probe_with(
        &config.msr_dir,
        &config.cpu_topology,
        cpu.as_ref(),
        GENEROUS_WATTS,
    )
    .map(|s| Arc::new(s) as Arc<dyn EnergySource>)
}

/// The CPUs that have an `N/msr` under `msr_dir`, in order.
fn list_cpus(msr_dir: &Path) -> Result<Vec<u32>, SourceError> {
    let entries = std::fs::read_dir(msr_dir).map_err(|e| access_error(msr_dir, &e))?;
    let mut cpus: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|n: &u32| msr_dir.join(n.to_string()).join("msr").exists())
        .collect();
    cpus.sort_unstable();
    if cpus.is_empty() {
        return Err(SourceError::new(
            SOURCE,
            format!("no N/msr device under {}", msr_dir.display()),
        )
        .with_remedy("load the msr driver: `sudo modprobe msr` (and run as root)"));
    }
    Ok(cpus)
}

/// Reads a number from a topology file.
fn topology_number(path: &Path) -> Result<u32, String> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|s| s.trim().parse::<u32>().map_err(|e| e.to_string()))
}

/// One CPU per die of each package, from the topology (a die is 0 where the kernel has no
/// `die_id`, before Linux 5.3); the lowest CPU alone when the topology is unreadable.
fn one_cpu_per_die(
    cpus: &[u32],
    topology_root: &Path,
    notes: &mut Vec<String>,
) -> Vec<(Unit, u32)> {
    let mut first_of: BTreeMap<Unit, u32> = BTreeMap::new();
    for &cpu in cpus {
        let topology = topology_root.join(format!("cpu{cpu}")).join("topology");
        let path = topology.join("physical_package_id");
        match topology_number(&path) {
            Ok(package) => {
                let die = topology_number(&topology.join("die_id")).unwrap_or(0);
                first_of.entry(Unit { package, die }).or_insert(cpu);
            }
            Err(e) => {
                notes.push(format!(
                    "the CPU topology is unreadable ({}: {e}): reading CPU {} only, which covers \
                     one package; on a multi-socket machine the other sockets are not counted",
                    path.display(),
                    cpus[0]
                ));
                return vec![(Unit { package: 0, die: 0 }, cpus[0])];
            }
        }
    }
    first_of.into_iter().collect()
}

/// Which vendor's unit register this CPU answers to: the one that reads, with a non-zero
/// energy unit (a real unit register is never 0).
fn detect_vendor(file: &File) -> Option<(Vendor, u64)> {
    for (vendor, address) in [(Vendor::Intel, intel::UNIT), (Vendor::Amd, amd::UNIT)] {
        if let Ok(unit) = read_msr(file, address) {
            if energy_status_unit(unit) != 0 {
                return Some((vendor, unit));
            }
        }
    }
    None
}

/// Opens the MSR devices under `msr_dir` (topology from `topology_root`, CPU model `cpu` for the
/// fixed DRAM unit), bounding each domain's power by `max_watts`.
pub fn probe_with(
    msr_dir: &Path,
    topology_root: &Path,
    cpu: Option<&CpuModel>,
    max_watts: f64,
) -> Result<Msr, SourceError> {
    let mut notes = Vec::new();
    let mut cpus = one_cpu_per_die(&list_cpus(msr_dir)?, topology_root, &mut notes);
    let mut vendor = None;
    // (unit, kind, label, counter file, address, joules per unit)
    let mut found: Vec<(Unit, DomainKind, PathBuf, Arc<File>, u64, f64)> = Vec::new();
    for &(unit, cpu_n) in &cpus {
        let path = msr_dir.join(cpu_n.to_string()).join("msr");
        let file = Arc::new(File::open(&path).map_err(|e| access_error(&path, &e))?);
        let (this_vendor, unit_register) = detect_vendor(&file).ok_or_else(|| {
            SourceError::new(
                SOURCE,
                format!(
                    "neither Intel's RAPL unit register (0x606) nor AMD's (0xC0010299) reads on \
                     {}: this CPU has no RAPL registers, or runs in a VM that hides them",
                    path.display()
                ),
            )
        })?;
        if *vendor.get_or_insert(this_vendor) != this_vendor {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "{} answers to a different vendor's registers than CPU {}",
                    path.display(),
                    cpus[0].1
                ),
            ));
        }
        let joules = |esu: u32| 1.0 / (1u64 << esu) as f64;
        let esu = energy_status_unit(unit_register);
        let domains: Vec<(DomainKind, u64, f64)> = match this_vendor {
            Vendor::Intel => {
                let dram_esu = match cpu {
                    Some(model) if model.has_fixed_dram_unit() => FIXED_DRAM_ESU,
                    _ => esu,
                };
                vec![
                    (DomainKind::Package, intel::PACKAGE, joules(esu)),
                    (DomainKind::Cores, intel::CORES, joules(esu)),
                    (DomainKind::Dram, intel::DRAM, joules(dram_esu)),
                ]
            }
            Vendor::Amd => vec![(DomainKind::Package, amd::PACKAGE, joules(esu))],
        };
        for (kind, address, jpu) in domains {
            match read_msr(&file, address) {
                // A counter that reads 0 has never counted: the domain is not there.
                Ok(raw) if raw & 0xFFFF_FFFF != 0 => {
                    found.push((unit, kind, path.clone(), Arc::clone(&file), address, jpu))
                }
                Ok(_) | Err(_) if kind != DomainKind::Package => notes.push(format!(
                    "{} register {address:#x} ({kind:?}) is absent or reads 0: not measured",
                    path.display()
                )),
                Ok(_) => {
                    return Err(SourceError::new(
                        SOURCE,
                        format!(
                            "the package energy register {address:#x} of {} reads 0",
                            path.display()
                        ),
                    ))
                }
                Err(e) => return Err(access_error(&path, &e)),
            }
        }
    }
    let vendor = vendor.unwrap_or(Vendor::Intel);
    if vendor == Vendor::Amd {
        notes.push(format!(
            "AMD: cores are not reported (register {:#x} counts one core, not the package)",
            amd::CORE
        ));
    }
    if let Some(model) = cpu.filter(|m| m.has_fixed_dram_unit()) {
        notes.push(format!(
            "DRAM counted in the fixed 15.3 µJ unit of this server model (family {}, model {:#x})",
            model.family, model.model
        ));
    }
    // Where the dies of a package share the package's registers, reading one CPU per die
    // would count the package once per die.
    let package_registers: Vec<(Unit, MsrCounter)> = found
        .iter()
        .filter(|f| f.1 == DomainKind::Package)
        .map(|f| {
            (
                f.0,
                MsrCounter {
                    file: Arc::clone(&f.3),
                    address: f.4,
                },
            )
        })
        .collect();
    let shared = rapl::shared_dies(
        &package_registers
            .iter()
            .map(|(u, c)| (*u, c as &dyn RawCounter))
            .collect::<Vec<_>>(),
    );
    for package in &shared {
        notes.push(format!(
            "package {package}: its dies read one and the same package register, so one CPU \
             reads it for the whole package"
        ));
        let first = cpus
            .iter()
            .filter(|(u, _)| u.package == *package)
            .map(|(u, _)| u.die)
            .min();
        let keep = |u: &Unit| u.package != *package || Some(u.die) == first;
        found.retain(|f| keep(&f.0));
        cpus.retain(|(u, _)| keep(u));
    }
    let units: Vec<Unit> = cpus.iter().map(|(unit, _)| *unit).collect();
    let multi_die = units.iter().any(|u| u.die > 0);
    rapl::complete_columns(
        &mut found,
        |f| (f.0, f.1),
        &units,
        |kind| format!("{kind:?} register"),
        if vendor == Vendor::Amd {
            &[DomainKind::Cores]
        } else {
            &[]
        },
        &mut notes,
    );
    let mut counters = Vec::with_capacity(found.len());
    for (unit, kind, path, file, address, jpu) in found {
        let place = if multi_die {
            unit.to_string()
        } else {
            format!("package {}", unit.package)
        };
        let label = format!(
            "{} register {address:#x} ({kind:?}, {place})",
            path.display()
        );
        let counter = Counter::new(
            kind,
            label,
            MsrCounter { file, address },
            jpu,
            1 << 32,
            max_watts,
            &BootClock,
        )
        .map_err(|e| access_error(&path, &e))?;
        counters.push(counter);
    }
    Ok(Msr {
        counters: RaplCounters::watch(SOURCE, counters)?,
        vendor,
        cpus,
        notes,
    })
}

impl EnergySource for Msr {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Cpu
    }

    fn domains(&self) -> &[Domain] {
        self.counters.domains()
    }

    fn read(&self) -> Result<Reading, SourceError> {
        Ok(self.counters.reading())
    }

    fn describe(&self) -> Vec<String> {
        let multi_die = self.cpus.iter().any(|(u, _)| u.die > 0);
        let cpus: Vec<String> = self
            .cpus
            .iter()
            .map(|(u, c)| {
                if multi_die {
                    format!("{u} via CPU {c}")
                } else {
                    format!("package {} via CPU {c}", u.package)
                }
            })
            .collect();
        let mut packages: Vec<u32> = self.cpus.iter().map(|(u, _)| u.package).collect();
        packages.dedup();
        self.counters.describe(
            format!(
                "{:?} RAPL registers, {} package(s): {} (vendor from which unit register reads)",
                self.vendor,
                packages.len(),
                cpus.join(", ")
            ),
            &self.notes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::Cell;
    use std::fs::{self, OpenOptions};

    /// A sparse file standing in for `/dev/cpu/N/msr`.
    fn msr_file(dir: &Path, cpu: u32) -> File {
        let d = dir.join(cpu.to_string());
        fs::create_dir_all(&d).unwrap();
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(d.join("msr"))
            .unwrap()
    }

    fn put(file: &File, address: u64, value: u64) {
        file.write_all_at(&value.to_le_bytes(), address).unwrap();
    }

    fn topology(root: &Path, cpu_to_package: &[(u32, u32)]) {
        for (cpu, package) in cpu_to_package {
            let d = root.join(format!("cpu{cpu}/topology"));
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("physical_package_id"), format!("{package}\n")).unwrap();
        }
    }

    /// Intel's typical unit register: power 1/8 W, energy 2^-14 J (ESU 14), time 2^-10 s.
    const INTEL_UNITS: u64 = 0x000A_0E03;
    /// AMD Zen: ESU 16.
    const AMD_UNITS: u64 = 0x000A_1003;

    fn intel_client() -> CpuModel {
        CpuModel {
            vendor: "GenuineIntel".into(),
            family: 6,
            model: 0x8C,
        }
    }

    #[test]
    fn cpuinfo_gives_vendor_family_and_model() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
                    model name\t: Intel(R) Xeon(R)\n\nprocessor\t: 1\nvendor_id\t: X\n";
        let m = CpuModel::parse(text).unwrap();
        assert_eq!(m.vendor, "GenuineIntel");
        assert_eq!((m.family, m.model), (6, 85));
        assert!(m.has_fixed_dram_unit());
        assert!(!intel_client().has_fixed_dram_unit());
        assert_eq!(CpuModel::parse("nothing"), None);
    }

    #[test]
    fn intel_package_cores_and_dram_in_energy_units() {
        let tmp = tempfile::tempdir().unwrap();
        let (dev, topo) = (tmp.path().join("cpu"), tmp.path().join("sys"));
        topology(&topo, &[(0, 0), (1, 0)]);
        let f = msr_file(&dev, 0);
        msr_file(&dev, 1);
        put(&f, intel::UNIT, INTEL_UNITS);
        put(&f, intel::PACKAGE, 1000);
        put(&f, intel::CORES, 500);
        put(&f, intel::DRAM, 100);
        let source = probe_with(&dev, &topo, Some(&intel_client()), GENEROUS_WATTS)
            .unwrap_or_else(|e| panic!("{e}"));
        let start = source.read().unwrap();
        // 16384 units = 1 J at ESU 14.
        put(&f, intel::PACKAGE, 1000 + 3 * 16384);
        put(&f, intel::CORES, 500 + 2 * 16384);
        put(&f, intel::DRAM, 100 + 16384 / 2);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package.joules(), Some(3.0));
        assert_eq!(used.cores.joules(), Some(2.0));
        assert_eq!(used.dram.joules(), Some(0.5));
        let text = source.describe().join("\n");
        assert!(
            text.contains("Intel RAPL registers, 1 package(s): package 0 via CPU 0"),
            "{text}"
        );
    }

    #[test]
    fn intel_server_dram_uses_the_fixed_unit() {
        let tmp = tempfile::tempdir().unwrap();
        let (dev, topo) = (tmp.path().join("cpu"), tmp.path().join("sys"));
        topology(&topo, &[(0, 0)]);
        let f = msr_file(&dev, 0);
        put(&f, intel::UNIT, INTEL_UNITS);
        put(&f, intel::PACKAGE, 1);
        put(&f, intel::CORES, 1);
        put(&f, intel::DRAM, 1);
        let skylake_x = CpuModel {
            model: 0x55,
            ..intel_client()
        };
        let source = probe_with(&dev, &topo, Some(&skylake_x), GENEROUS_WATTS).unwrap();
        let start = source.read().unwrap();
        put(&f, intel::DRAM, 1 + 65536);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.dram.joules(), Some(1.0), "65536 units of 2^-16 J");
        assert!(source.describe().join("\n").contains("15.3 µJ"));
    }

    #[test]
    fn two_sockets_read_one_cpu_each_and_sum() {
        let tmp = tempfile::tempdir().unwrap();
        let (dev, topo) = (tmp.path().join("cpu"), tmp.path().join("sys"));
        topology(&topo, &[(0, 0), (1, 0), (2, 1), (3, 1)]);
        let files: Vec<File> = (0..4).map(|cpu| msr_file(&dev, cpu)).collect();
        for f in &files {
            put(f, intel::UNIT, INTEL_UNITS);
            put(f, intel::PACKAGE, 7);
        }
        let source = probe_with(&dev, &topo, Some(&intel_client()), GENEROUS_WATTS).unwrap();
        let start = source.read().unwrap();
        put(&files[0], intel::PACKAGE, 7 + 16384);
        put(&files[2], intel::PACKAGE, 7 + 2 * 16384);
        // CPUs 1 and 3 share packages with 0 and 2: never read.
        put(&files[1], intel::PACKAGE, 7 + 100 * 16384);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package.joules(), Some(3.0));
        assert_eq!(
            used.cores,
            Cell::NotMeasured,
            "no core counter reads: no invented figure"
        );
        assert!(source.describe()[0].contains("package 0 via CPU 0, package 1 via CPU 2"));
    }

    #[test]
    fn unreadable_topology_falls_back_to_cpu_zero_and_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let dev = tmp.path().join("cpu");
        let f = msr_file(&dev, 0);
        put(&f, intel::UNIT, INTEL_UNITS);
        put(&f, intel::PACKAGE, 7);
        let source = probe_with(&dev, &tmp.path().join("nowhere"), None, GENEROUS_WATTS).unwrap();
        assert!(source.describe().join("\n").contains("reading CPU 0 only"));
    }

    #[test]
    fn amd_package_counter_wraps_at_32_bits() {
        let tmp = tempfile::tempdir().unwrap();
        let (dev, topo) = (tmp.path().join("cpu"), tmp.path().join("sys"));
        topology(&topo, &[(0, 0)]);
        let f = msr_file(&dev, 0);
        // Offsets near 3 GiB: the file stays sparse.
        put(&f, amd::UNIT, AMD_UNITS);
        put(&f, amd::PACKAGE, 0xFFFF_0000 | 0xDEAD_0000_0000_0000);
        // (CORE_ENERGY_STAT, one address below, is not written: in a file standing in for the
        // device, its 8 bytes would overlap the package register's.)
        let source = probe_with(&dev, &topo, None, GENEROUS_WATTS).unwrap();
        let start = source.read().unwrap();
        // 0x10000 units to the roll-over, then 0x10000 more: 2 * 65536 units of 2^-16 J.
        put(&f, amd::PACKAGE, 0x0001_0000 | 0xBEEF_0000_0000_0000);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package.joules(), Some(2.0));
        assert_eq!(used.cores, Cell::NotMeasured);
        assert_eq!(used.dram, Cell::NotMeasured);
        let text = source.describe().join("\n");
        assert!(text.contains("Amd RAPL registers"), "{text}");
        assert!(text.contains("cores are not reported"), "{text}");
    }

    #[test]
    fn missing_devices_and_registers_are_explained() {
        let tmp = tempfile::tempdir().unwrap();
        let err =
            probe_with(&tmp.path().join("nope"), tmp.path(), None, GENEROUS_WATTS).unwrap_err();
        assert!(err.remedy.unwrap().contains("modprobe msr"));
        let dev = tmp.path().join("cpu");
        let f = msr_file(&dev, 0);
        put(&f, 0x10, 1);
        let err = probe_with(&dev, tmp.path(), None, GENEROUS_WATTS).unwrap_err();
        assert!(err.what.contains("neither Intel"), "{err}");
        let err = access_error(
            Path::new("/dev/cpu/0/msr"),
            &io::ErrorKind::PermissionDenied.into(),
        );
        assert!(err.what.contains("/dev/cpu/0/msr"));
        assert!(err.what.contains("CAP_SYS_RAWIO"));
        assert!(err.remedy.unwrap().contains("modprobe msr"));
    }
}
