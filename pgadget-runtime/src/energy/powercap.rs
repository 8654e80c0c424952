//! RAPL through Linux powercap (`/sys/class/powercap`), on Intel and AMD.
//!
//! The kernel exposes each RAPL domain as a zone directory: `intel-rapl:N` for a package (its
//! `name` file reads `package-N`, or `psys` for the platform domain) and `intel-rapl:N:M` for
//! the package's subdomains (`core`, `uncore`, `dram`). AMD Zen exposes the same tree on recent
//! kernels (`package-N` and `core`, no `dram`). Domains are identified by their `name` file,
//! never by their position, since the numbering differs between machines. Some Intel client
//! parts repeat the package domain as `intel-rapl-mmio:N`; those repeats are skipped so the
//! package is not counted twice.
//!
//! Each `energy_uj` stays open and is read with one positioned read per reading; its
//! `max_energy_range_uj` gives the point at which it rolls over, which the sampler undoes.

use super::clock::BootClock;
use super::msr::CpuModel;
use super::rapl::{self, Access, RaplCounters, Unit};
use super::sampler::{Counter, DomainKind, RawCounter, GENEROUS_WATTS};
use super::{Domain, EnergySource, Reading, SourceConfig, SourceError, SourceKind};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SOURCE: &str = "powercap";

/// Where Linux shows the powercap tree (`PGADGET_POWERCAP_ROOT` points elsewhere).
pub const DEFAULT_ROOT: &str = "/sys/class/powercap";

/// One open `energy_uj` file.
#[derive(Debug)]
pub struct EnergyFile {
    file: File,
}

impl EnergyFile {
    /// Opens the counter at `path` (kept open for every later reading).
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(EnergyFile {
            file: File::open(path)?,
        })
    }
}

impl RawCounter for EnergyFile {
    fn read_raw(&self) -> io::Result<u64> {
        // sysfs regenerates the value on every read at offset 0; 32 bytes hold any u64.
        let mut buf = [0u8; 32];
        let n = self.file.read_at(&mut buf, 0)?;
        parse_uj(&buf[..n]).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "not a number of microjoules: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                ),
            )
        })
    }
}

/// Parses a sysfs number such as `"123456\n"`. An empty or partial value is `None` (a failed
/// read), never 0.
fn parse_uj(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// What a zone directory's name says about where it sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ZoneId {
    /// `intel-rapl-mmio` zones sort after `intel-rapl` zones, so the MSR-backed zone wins.
    mmio: bool,
    zone: u32,
    sub: Option<u32>,
}

fn parse_zone_dir(name: &str) -> Option<ZoneId> {
    let (mmio, rest) = if let Some(rest) = name.strip_prefix("intel-rapl-mmio:") {
        (true, rest)
    } else {
        (false, name.strip_prefix("intel-rapl:")?)
    };
    let mut parts = rest.split(':');
    let zone = parts.next()?.parse().ok()?;
    let sub = match parts.next() {
        Some(s) => Some(s.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(ZoneId { mmio, zone, sub })
}

/// Why a powercap file could not be used, and what to do about it.
pub fn access_error(root: &Path, path: &Path, e: &io::Error) -> SourceError {
    Access {
        source: SOURCE,
        denied: "is readable only by root (Linux 5.10 and later restrict the RAPL counters)",
        denied_remedy: format!(
            "run as root, or let all users read the counters until the next reboot with \
             `sudo chmod a+r {r}/intel-rapl:*/energy_uj {r}/intel-rapl:*:*/energy_uj`; to keep \
             that across reboots, add the systemd-tmpfiles lines `z {r}/intel-rapl:*/energy_uj \
             0444 - - -` and `z {r}/intel-rapl:*:*/energy_uj 0444 - - -` to \
             /etc/tmpfiles.d/pgadget-rapl.conf (this re-opens the PLATYPUS power side channel, \
             CVE-2020-8694, to local users)",
            r = root.display()
        ),
        missing_remedy: "load the RAPL powercap driver (`sudo modprobe intel_rapl_msr`; AMD needs \
                         Linux 5.8 or later); without it pgadget tries the next source",
    }
    .error(path, e)
}

/// A zone found in the tree, before it is opened.
#[derive(Debug)]
struct Zone {
    id: ZoneId,
    dir: PathBuf,
    name: String,
}

impl Zone {
    fn dir_name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Reads every `intel-rapl[-mmio]:N[:M]` zone's name under `root`.
fn scan(root: &Path, notes: &mut Vec<String>) -> Result<Vec<Zone>, SourceError> {
    let entries = std::fs::read_dir(root).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            SourceError::new(
                SOURCE,
                format!(
                    "{} does not exist: this kernel has no powercap",
                    root.display()
                ),
            )
            .with_remedy(
                "powercap needs Linux built with CONFIG_POWERCAP and the RAPL driver \
                 (`sudo modprobe intel_rapl_msr`); inside a VM or container the host's RAPL is \
                 usually not visible",
            )
        } else {
            SourceError::new(SOURCE, format!("cannot list {}: {e}", root.display()))
        }
    })?;
    // /sys/class/powercap lists every zone flat; a device directory such as
    // /sys/devices/virtual/powercap/intel-rapl nests subzones inside their zone. Both work.
    let mut found: BTreeMap<ZoneId, PathBuf> = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().and_then(parse_zone_dir) else {
            continue;
        };
        if id.sub.is_none() {
            for sub in std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Some(sub_id) = sub.file_name().to_str().and_then(parse_zone_dir) {
                    if sub_id.sub.is_some() && sub_id.zone == id.zone && sub_id.mmio == id.mmio {
                        found.entry(sub_id).or_insert_with(|| sub.path());
                    }
                }
            }
        }
        found.insert(id, entry.path());
    }
    let mut zones = Vec::new();
    for (id, dir) in found {
        match std::fs::read_to_string(dir.join("name")) {
            Ok(name) => zones.push(Zone {
                id,
                dir,
                name: name.trim().to_string(),
            }),
            Err(e) => notes.push(format!(
                "{}: cannot read its name ({e}); skipped",
                dir.display()
            )),
        }
    }
    // In ZoneId order: intel-rapl before intel-rapl-mmio, zones before their subzones.
    Ok(zones)
}

/// The package (and die) a top-level zone's name stands for: `package-N`, or
/// `package-N-die-M` where the kernel shows each die of a package as a zone of its own.
fn parse_package_name(name: &str) -> Option<Unit> {
    let rest = name.strip_prefix("package-")?;
    let (package, die) = match rest.split_once("-die-") {
        Some((p, d)) => (p.parse().ok()?, d.parse().ok()?),
        None => (rest.parse().ok()?, 0),
    };
    Some(Unit { package, die })
}

/// Whether the CPU is AMD's (or Hygon's, the same design): their powercap `core` zone is one
/// core's counter.
fn is_amd(cpu: &CpuModel) -> bool {
    matches!(cpu.vendor.as_str(), "AuthenticAMD" | "HygonGenuine")
}

/// Decides what each zone is. Returns `(unit, role, zone)` for every zone in use.
fn assign(
    zones: &[Zone],
    cpu: Result<&CpuModel, &str>,
    notes: &mut Vec<String>,
    explained: &mut Vec<DomainKind>,
) -> Vec<(Unit, DomainKind, usize)> {
    // The unit each top-level zone stands for, by (mmio, zone number).
    let mut unit_of: BTreeMap<(bool, u32), Unit> = BTreeMap::new();
    for z in zones.iter().filter(|z| z.id.sub.is_none()) {
        if let Some(unit) = parse_package_name(&z.name) {
            unit_of.insert((z.id.mmio, z.id.zone), unit);
        }
    }
    let mut core_note = None;
    let mut used: BTreeMap<(Unit, DomainKind), usize> = BTreeMap::new();
    for (i, z) in zones.iter().enumerate() {
        let role = match (z.id.sub, z.name.as_str()) {
            (None, name) if parse_package_name(name).is_some() => DomainKind::Package,
            (Some(_), "core") => match cpu {
                Ok(cpu) if !is_amd(cpu) => DomainKind::Cores,
                // Linux reads MSR_AMD_CORE_ENERGY_STATUS of the package's first CPU for AMD's
                // `core` zone (drivers/powercap/intel_rapl_msr.c): the energy of one core.
                Ok(cpu) => {
                    core_note.get_or_insert_with(|| {
                        format!(
                            "{} CPU: the `core` zones count one core each (Linux reads the \
                             first CPU's core energy register), not the package's cores, so \
                             IA is left empty (not measured)",
                            cpu.vendor
                        )
                    });
                    continue;
                }
                Err(why) => {
                    core_note.get_or_insert_with(|| {
                        format!(
                            "the CPU vendor is unknown ({why}); on AMD the `core` zones count \
                             one core, so IA is left empty (not measured)"
                        )
                    });
                    continue;
                }
            },
            (Some(_), "dram") => DomainKind::Dram,
            (_, "psys") => {
                notes.push(format!(
                    "{} (psys, the whole platform): not a package domain, not used",
                    z.dir_name()
                ));
                continue;
            }
            (Some(_), "uncore") => {
                notes.push(format!(
                    "{} (uncore, the integrated GPU): not used",
                    z.dir_name()
                ));
                continue;
            }
            (_, other) => {
                notes.push(format!(
                    "{} ({other}): unknown domain, not used",
                    z.dir_name()
                ));
                continue;
            }
        };
        let Some(&unit) = unit_of.get(&(z.id.mmio, z.id.zone)) else {
            notes.push(format!(
                "{} ({}): its parent zone is not a package, not used",
                z.dir_name(),
                z.name
            ));
            continue;
        };
        // Zones are sorted with intel-rapl before intel-rapl-mmio, so a repeat of a domain
        // already seen is the MMIO copy (or a second copy of anything): counting it would
        // count the same energy twice.
        if let Some(&first) = used.get(&(unit, role)) {
            notes.push(format!(
                "{} ({}) repeats {}: skipped so it is not counted twice",
                z.dir_name(),
                z.name,
                zones[first].dir_name()
            ));
            continue;
        }
        used.insert((unit, role), i);
    }
    if let Some(note) = core_note {
        notes.push(note);
        explained.push(DomainKind::Cores);
    }
    used.into_iter().map(|((u, r), i)| (u, r, i)).collect()
}

/// RAPL energy read through powercap.
#[derive(Debug)]
pub struct Powercap {
    counters: RaplCounters<EnergyFile>,
    root: PathBuf,
    packages: usize,
    dies: usize,
    notes: Vec<String>,
}

/// Opens the powercap tree at `config.powercap_root`; the CPU's vendor comes from
/// `config.cpuinfo`.
pub fn probe(config: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    let cpu = CpuModel::read(&config.cpuinfo);
    probe_with(
        &config.powercap_root,
        cpu.as_ref().map_err(String::as_str),
        GENEROUS_WATTS,
    )
    .map(|s| Arc::new(s) as Arc<dyn EnergySource>)
}

/// Reads a zone's `max_energy_range_uj`: the point where `energy_uj` rolls over.
fn read_range(root: &Path, zone: &Zone) -> Result<u64, SourceError> {
    let path = zone.dir.join("max_energy_range_uj");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        SourceError::new(
            SOURCE,
            format!(
                "{} cannot be read ({e}), so the roll-overs of {} cannot be undone",
                path.display(),
                zone.dir.join("energy_uj").display()
            ),
        )
        .with_remedy(format!(
            "this kernel shows the zone incompletely; as root, the MSRs read the same counters \
             (`sudo modprobe msr` and {}=msr); {}",
            crate::config::SOURCES,
            if e.kind() == io::ErrorKind::PermissionDenied {
                access_error(root, &path, &e).remedy.unwrap_or_default()
            } else {
                String::from("or report the kernel version to pgadget")
            }
        ))
    })?;
    match text.trim().parse::<u64>() {
        Ok(0) => Err(SourceError::new(
            SOURCE,
            format!("{} is 0: the counter has no usable range", path.display()),
        )),
        Ok(range) => Ok(range),
        Err(_) => Err(SourceError::new(
            SOURCE,
            format!(
                "{} is not a number of microjoules ({:?}), so the counter's roll-over cannot be \
                 undone",
                path.display(),
                text.trim()
            ),
        )),
    }
}

/// Opens the powercap tree at `root`, bounding each domain's power by `max_watts` (which sets
/// how often the sampler reads; production uses [`GENEROUS_WATTS`]). `cpu` is the CPU's model,
/// or why it is unknown: AMD's `core` zones are not used.
pub fn probe_with(
    root: &Path,
    cpu: Result<&CpuModel, &str>,
    max_watts: f64,
) -> Result<Powercap, SourceError> {
    let mut notes = Vec::new();
    let zones = scan(root, &mut notes)?;
    let mut explained = Vec::new();
    let mut assigned = assign(&zones, cpu, &mut notes, &mut explained);
    let multi_die = assigned.iter().any(|(u, _, _)| u.die > 0);
    let place = |unit: Unit| {
        if multi_die {
            unit.to_string()
        } else {
            format!("package {}", unit.package)
        }
    };
    if !assigned.iter().any(|(_, r, _)| *r == DomainKind::Package) {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "no RAPL package zone (an intel-rapl:N whose name is package-N or \
                 package-N-die-M) under {}",
                root.display()
            ),
        )
        .with_remedy(
            "load the RAPL powercap driver (`sudo modprobe intel_rapl_msr`; AMD needs Linux \
             5.8 or later)",
        ));
    }
    // A subzone whose range cannot be read costs its column only; a package's costs the source.
    let mut ranges: BTreeMap<usize, u64> = BTreeMap::new();
    let mut broken: Vec<DomainKind> = Vec::new();
    for (unit, kind, i) in &assigned {
        match read_range(root, &zones[*i]) {
            Ok(range) => {
                ranges.insert(*i, range);
            }
            Err(e) if *kind == DomainKind::Package => return Err(e),
            Err(e) => {
                notes.push(format!(
                    "{} ({}, {}): {}; the {} column is left empty",
                    zones[*i].dir_name(),
                    zones[*i].name,
                    place(*unit),
                    e.what,
                    kind.domain().column()
                ));
                broken.push(*kind);
            }
        }
    }
    assigned.retain(|(_, kind, _)| !broken.contains(kind));
    explained.extend(broken);
    let mut opened = Vec::with_capacity(assigned.len());
    for (unit, kind, i) in assigned {
        let zone = &zones[i];
        let energy = zone.dir.join("energy_uj");
        let file = EnergyFile::open(&energy).map_err(|e| access_error(root, &energy, &e))?;
        opened.push((unit, kind, i, file));
    }
    // Some kernels show a package once per die, each die zone reading the same counter.
    let package_files: Vec<(Unit, &dyn RawCounter)> = opened
        .iter()
        .filter(|(_, kind, _, _)| *kind == DomainKind::Package)
        .map(|(unit, _, _, file)| (*unit, file as &dyn RawCounter))
        .collect();
    let shared = rapl::shared_dies(&package_files);
    for package in &shared {
        notes.push(format!(
            "package {package}: its `package-{package}-die-N` zones all read one counter (the \
             kernel shows the package once per die), so only the first die's zones are counted"
        ));
    }
    if !shared.is_empty() {
        let first_die: BTreeMap<u32, u32> =
            opened.iter().fold(BTreeMap::new(), |mut m, (u, _, _, _)| {
                let d = m.entry(u.package).or_insert(u.die);
                *d = (*d).min(u.die);
                m
            });
        opened
            .retain(|(u, _, _, _)| !shared.contains(&u.package) || first_die[&u.package] == u.die);
    }
    let mut units: Vec<Unit> = opened
        .iter()
        .filter(|(_, kind, _, _)| *kind == DomainKind::Package)
        .map(|(u, _, _, _)| *u)
        .collect();
    units.sort_unstable();
    units.dedup();
    rapl::complete_columns(
        &mut opened,
        |(unit, kind, _, _)| (*unit, *kind),
        &units,
        |kind| match kind {
            DomainKind::Dram => "`dram` zone".into(),
            _ => "`core` zone".into(),
        },
        &explained,
        &mut notes,
    );
    let mut counters = Vec::with_capacity(opened.len());
    for (unit, kind, i, file) in opened {
        let zone = &zones[i];
        let energy = zone.dir.join("energy_uj");
        let range = ranges[&i];
        // energy_uj takes the values 0..=max_energy_range_uj, so it rolls over after range + 1
        // microjoules. (The kernel's range is 0xffffffff hardware units; the true roll-over is
        // one unit, ~61 µJ, further: an error of 61 µJ per roll-over, every few minutes.)
        let counter = Counter::new(
            kind,
            format!("{} ({}, {})", energy.display(), zone.name, place(unit)),
            file,
            1e-6,
            range.saturating_add(1),
            max_watts,
            &BootClock,
        )
        .map_err(|e| access_error(root, &energy, &e))?;
        counters.push(counter);
    }
    let mut packages: Vec<u32> = units.iter().map(|u| u.package).collect();
    packages.dedup();
    Ok(Powercap {
        counters: RaplCounters::watch(SOURCE, counters)?,
        root: root.to_path_buf(),
        packages: packages.len(),
        dies: units.len(),
        notes,
    })
}

impl EnergySource for Powercap {
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
        let dies = if self.dies > self.packages {
            format!(" ({} dies, summed per package)", self.dies)
        } else {
            String::new()
        };
        self.counters.describe(
            format!(
                "{} package(s){dies} under {}",
                self.packages,
                self.root.display()
            ),
            &self.notes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::Cell;
    use std::fs;

    /// Writes one zone of a simulated powercap tree.
    pub(crate) fn zone(root: &Path, dir: &str, name: &str, uj: u64, range: u64) {
        let d = root.join(dir);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("name"), format!("{name}\n")).unwrap();
        fs::write(d.join("energy_uj"), format!("{uj}\n")).unwrap();
        fs::write(d.join("max_energy_range_uj"), format!("{range}\n")).unwrap();
    }

    fn set(root: &Path, dir: &str, uj: u64) {
        fs::write(root.join(dir).join("energy_uj"), format!("{uj}\n")).unwrap();
    }

    const RANGE: u64 = 262_143_328_850;

    fn cpu(vendor: &str) -> CpuModel {
        CpuModel {
            vendor: vendor.into(),
            family: if vendor == "AuthenticAMD" { 0x19 } else { 6 },
            model: 0x55,
        }
    }

    fn probe_dir(root: &Path) -> Powercap {
        probe_with(root, Ok(&cpu("GenuineIntel")), GENEROUS_WATTS).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn zone_directory_names_are_parsed_strictly() {
        let z = |mmio, zone, sub| Some(ZoneId { mmio, zone, sub });
        assert_eq!(parse_zone_dir("intel-rapl:0"), z(false, 0, None));
        assert_eq!(parse_zone_dir("intel-rapl:1:2"), z(false, 1, Some(2)));
        assert_eq!(parse_zone_dir("intel-rapl-mmio:0"), z(true, 0, None));
        assert_eq!(parse_zone_dir("intel-rapl"), None);
        assert_eq!(parse_zone_dir("intel-rapl-mmio"), None);
        assert_eq!(parse_zone_dir("intel-rapl:0:1:2"), None);
        assert_eq!(parse_zone_dir("intel-rapl:x"), None);
        assert_eq!(parse_zone_dir("dtpm:0"), None);
    }

    #[test]
    fn parse_uj_rejects_empty_and_partial_values() {
        assert_eq!(parse_uj(b"123456\n"), Some(123_456));
        assert_eq!(parse_uj(b""), None);
        assert_eq!(parse_uj(b"\n"), None);
        assert_eq!(parse_uj(b"12a"), None);
    }

    #[test]
    fn intel_one_socket_reads_package_cores_and_dram_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // Subzone numbering deliberately differs from the usual order: names decide.
        zone(root, "intel-rapl:0", "package-0", 1_000_000, RANGE);
        zone(root, "intel-rapl:0:0", "dram", 50_000, RANGE);
        zone(root, "intel-rapl:0:1", "uncore", 7_000, RANGE);
        zone(root, "intel-rapl:0:2", "core", 300_000, RANGE);
        fs::create_dir_all(root.join("intel-rapl")).unwrap();
        let source = probe_dir(root);
        let start = source.read().unwrap();
        set(root, "intel-rapl:0", 3_500_000);
        set(root, "intel-rapl:0:0", 250_000);
        set(root, "intel-rapl:0:1", 9_999_999);
        set(root, "intel-rapl:0:2", 1_300_000);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package.joules(), Some(2.5));
        assert!(
            (used.dram.joules().unwrap() - 0.2).abs() < 1e-12,
            "{used:?}"
        );
        assert_eq!(used.cores.joules(), Some(1.0));
        assert_eq!(used.gpu, Cell::NotMeasured);
        let text = source.describe().join("\n");
        assert!(text.contains("1 package(s)"), "{text}");
        assert!(text.contains("uncore"), "{text}");
    }

    #[test]
    fn nested_subzones_and_short_windows() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // The device-directory layout: subzones inside their zone, not listed at the top.
        zone(root, "intel-rapl:0", "package-0", 5, RANGE);
        zone(root, "intel-rapl:0/intel-rapl:0:0", "core", 5, RANGE);
        let source = probe_dir(root);
        let start = source.read().unwrap();
        // A window in which the counters did not move is reported as measured: 0, not a guess.
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package.joules(), Some(0.0));
        assert_eq!(used.cores.joules(), Some(0.0));
        set(root, "intel-rapl:0/intel-rapl:0:0", 1_000_005);
        assert_eq!(
            source.read().unwrap().since(&start).cores.joules(),
            Some(1.0)
        );
    }

    #[test]
    fn intel_two_sockets_are_summed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        zone(root, "intel-rapl:0", "package-0", 0, RANGE);
        zone(root, "intel-rapl:0:0", "dram", 0, RANGE);
        zone(root, "intel-rapl:1", "package-1", 0, RANGE);
        zone(root, "intel-rapl:1:0", "dram", 0, RANGE);
        let source = probe_dir(root);
        let start = source.read().unwrap();
        set(root, "intel-rapl:0", 2_000_000);
        set(root, "intel-rapl:1", 3_000_000);
        set(root, "intel-rapl:0:0", 400_000);
        set(root, "intel-rapl:1:0", 600_000);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package.joules(), Some(5.0));
        assert_eq!(used.dram.joules(), Some(1.0));
        assert_eq!(
            used.cores,
            Cell::NotMeasured,
            "no core zone: no invented figure"
        );
        assert!(source.describe()[0].starts_with("2 package(s)"));
    }

    #[test]
    fn amd_package_without_its_one_core_zone_and_without_dram() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        zone(root, "intel-rapl:0", "package-0", 10, 65_532_610_987);
        zone(root, "intel-rapl:0:0", "core", 10, 65_532_610_987);
        let source = probe_with(root, Ok(&cpu("AuthenticAMD")), GENEROUS_WATTS).unwrap();
        assert_eq!(source.domains(), [Domain::Package]);
        let start = source.read().unwrap();
        set(root, "intel-rapl:0", 1_000_010);
        set(root, "intel-rapl:0:0", 600_010);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package.joules(), Some(1.0));
        assert_eq!(used.cores, Cell::NotMeasured, "one core is not the cores");
        assert_eq!(used.dram, Cell::NotMeasured);
        let text = source.describe().join("\n");
        assert!(text.contains("no `dram` zone"), "{text}");
        assert!(
            text.contains("AuthenticAMD CPU: the `core` zones count one core each"),
            "{text}"
        );
        // An unknown vendor is treated the same way: right or empty.
        let source = probe_with(root, Err("no cpuinfo"), GENEROUS_WATTS).unwrap();
        assert_eq!(source.read().unwrap().cores, Cell::NotMeasured);
        assert!(source
            .describe()
            .join("\n")
            .contains("the CPU vendor is unknown (no cpuinfo)"));
    }

    #[test]
    fn mmio_duplicates_of_a_package_are_not_counted_twice() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        zone(root, "intel-rapl:0", "package-0", 0, RANGE);
        zone(root, "intel-rapl:0:0", "core", 0, RANGE);
        zone(root, "intel-rapl:1", "psys", 0, RANGE);
        zone(root, "intel-rapl-mmio:0", "package-0", 0, RANGE);
        fs::create_dir_all(root.join("intel-rapl-mmio")).unwrap();
        let source = probe_dir(root);
        let start = source.read().unwrap();
        set(root, "intel-rapl:0", 4_000_000);
        set(root, "intel-rapl-mmio:0", 4_000_000);
        set(root, "intel-rapl:1", 9_000_000);
        let used = source.read().unwrap().since(&start);
        assert_eq!(
            used.package.joules(),
            Some(4.0),
            "psys and the MMIO copy must not be added"
        );
        let text = source.describe().join("\n");
        assert!(
            text.contains("intel-rapl-mmio:0 (package-0) repeats intel-rapl:0"),
            "{text}"
        );
        assert!(text.contains("psys"), "{text}");
    }

    #[test]
    fn a_counter_that_rolls_over_is_unwrapped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // 1000 J, one second at the 1000 W bound: readings a moment apart leave no gap.
        zone(root, "intel-rapl:0", "package-0", 999_000_000, 999_999_999);
        let source = probe_dir(root);
        let start = source.read().unwrap();
        // 999 J -> 999.999999 J -> 0 -> 0.5 J: 1.5 J.
        set(root, "intel-rapl:0", 500_000);
        let used = source.read().unwrap().since(&start);
        assert!(
            (used.package.joules().unwrap() - 1.5).abs() < 1e-9,
            "{used:?}"
        );
    }

    #[test]
    fn a_partial_core_column_is_left_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        zone(root, "intel-rapl:0", "package-0", 0, RANGE);
        zone(root, "intel-rapl:0:0", "core", 0, RANGE);
        zone(root, "intel-rapl:1", "package-1", 0, RANGE);
        let source = probe_dir(root);
        assert_eq!(source.read().unwrap().cores, Cell::NotMeasured);
        assert!(source.describe().join("\n").contains("only packages [0]"));
    }

    #[test]
    fn missing_root_or_packages_are_explained() {
        let tmp = tempfile::tempdir().unwrap();
        let err = probe_with(&tmp.path().join("nope"), Err("test"), GENEROUS_WATTS).unwrap_err();
        assert!(err.what.contains("does not exist"), "{err}");
        assert!(err.remedy.is_some());
        let err = probe_with(tmp.path(), Err("test"), GENEROUS_WATTS).unwrap_err();
        assert!(err.what.contains("no RAPL package zone"), "{err}");
    }

    #[test]
    fn permission_denied_names_the_file_and_the_remedy() {
        let root = Path::new("/sys/class/powercap");
        let path = root.join("intel-rapl:0/energy_uj");
        let err = access_error(
            root,
            &path,
            &io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(err
            .what
            .contains("/sys/class/powercap/intel-rapl:0/energy_uj"));
        assert!(err.what.contains("readable only by root"));
        let remedy = err.remedy.unwrap();
        assert!(remedy.contains(
            "sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj \
             /sys/class/powercap/intel-rapl:*:*/energy_uj"
        ));
        assert!(remedy.contains("tmpfiles"));
        assert!(remedy.contains("run as root"));
        assert!(!remedy.to_lowercase().contains("permission denied"));
    }

    #[test]
    fn an_unreadable_energy_file_makes_the_source_unavailable() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        zone(root, "intel-rapl:0", "package-0", 0, RANGE);
        // A directory opens but cannot be read: stands in for a file root alone may read
        // (the tests run as root, which chmod cannot lock out).
        let energy = root.join("intel-rapl:0/energy_uj");
        fs::remove_file(&energy).unwrap();
        fs::create_dir(&energy).unwrap();
        let err = probe_with(root, Err("test"), GENEROUS_WATTS).unwrap_err();
        assert!(err.what.contains("intel-rapl:0/energy_uj"), "{err}");
        // A dangling link fails at open.
        fs::remove_dir(&energy).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), &energy).unwrap();
        let err = probe_with(root, Err("test"), GENEROUS_WATTS).unwrap_err();
        assert!(
            err.what.contains("intel-rapl:0/energy_uj does not exist"),
            "{err}"
        );
    }
}
