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

use super::rapl::{self, Access, RaplCounters};
use super::sampler::{Counter, DomainKind, RawCounter, GENEROUS_WATTS};
use super::{EnergySource, Reading, SourceConfig, SourceError, SourceKind};
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

fn read_trimmed(root: &Path, path: &Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| access_error(root, path, &e))
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

/// Decides what each zone is. Returns `(package, role, zone)` for every zone in use.
fn assign(zones: &[Zone], notes: &mut Vec<String>) -> Vec<(u32, DomainKind, usize)> {
    // The package each top-level zone stands for, by (mmio, zone number).
    let mut package_of: BTreeMap<(bool, u32), u32> = BTreeMap::new();
    for z in zones.iter().filter(|z| z.id.sub.is_none()) {
        if let Some(p) = z.name.strip_prefix("package-").and_then(|p| p.parse().ok()) {
            package_of.insert((z.id.mmio, z.id.zone), p);
        }
    }
    let mut used: BTreeMap<(u32, DomainKind), usize> = BTreeMap::new();
    for (i, z) in zones.iter().enumerate() {
        let role = match (z.id.sub, z.name.as_str()) {
            (None, name) if name.starts_with("package-") => DomainKind::Package,
            (Some(_), "core") => DomainKind::Cores,
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
        let Some(&package) = package_of.get(&(z.id.mmio, z.id.zone)) else {
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
        if let Some(&first) = used.get(&(package, role)) {
            notes.push(format!(
                "{} ({}) repeats {}: skipped so it is not counted twice",
                z.dir_name(),
                z.name,
                zones[first].dir_name()
            ));
            continue;
        }
        used.insert((package, role), i);
    }
    used.into_iter().map(|((p, r), i)| (p, r, i)).collect()
}

/// RAPL energy read through powercap.
#[derive(Debug)]
pub struct Powercap {
    counters: RaplCounters<EnergyFile>,
    root: PathBuf,
    packages: usize,
    notes: Vec<String>,
}

/// Opens the powercap tree at `config.powercap_root`.
pub fn probe(config: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    probe_with(&config.powercap_root, GENEROUS_WATTS).map(|s| Arc::new(s) as Arc<dyn EnergySource>)
}

/// Opens the powercap tree at `root`, bounding each domain's power by `max_watts` (which sets
/// how often the sampler reads; production uses [`GENEROUS_WATTS`]).
pub fn probe_with(root: &Path, max_watts: f64) -> Result<Powercap, SourceError> {
    let mut notes = Vec::new();
    let zones = scan(root, &mut notes)?;
    let mut assigned = assign(&zones, &mut notes);
    let packages: Vec<u32> = assigned
        .iter()
        .filter(|(_, r, _)| *r == DomainKind::Package)
        .map(|(p, _, _)| *p)
        .collect();
    if packages.is_empty() {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "no RAPL package zone (an intel-rapl:N whose name is package-N) under {}",
                root.display()
            ),
        )
        .with_remedy(
            "load the RAPL powercap driver (`sudo modprobe intel_rapl_msr`; AMD needs Linux \
             5.8 or later)",
        ));
    }
    rapl::complete_columns(
        &mut assigned,
        |(package, kind, _)| (*package, *kind),
        &packages,
        |kind| match kind {
            DomainKind::Dram => "`dram` zone".into(),
            _ => "`core` zone".into(),
        },
        &mut notes,
    );
    let mut counters = Vec::with_capacity(assigned.len());
    for (package, kind, i) in assigned {
        let zone = &zones[i];
        let energy = zone.dir.join("energy_uj");
        let range_path = zone.dir.join("max_energy_range_uj");
        let range: u64 = read_trimmed(root, &range_path)?.parse().map_err(|_| {
            SourceError::new(
                SOURCE,
                format!(
                    "{} is not a number of microjoules, so the counter's roll-over cannot be \
                     undone",
                    range_path.display()
                ),
            )
        })?;
        if range == 0 {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "{} is 0: the counter has no usable range",
                    range_path.display()
                ),
            ));
        }
        let file = EnergyFile::open(&energy).map_err(|e| access_error(root, &energy, &e))?;
        // energy_uj takes the values 0..=max_energy_range_uj, so it rolls over after range + 1
        // microjoules. (The kernel's range is 0xffffffff hardware units; the true roll-over is
        // one unit, ~61 µJ, further: an error of 61 µJ per roll-over, every few minutes.)
        let counter = Counter::new(
            kind,
            format!("{} ({}, package {package})", energy.display(), zone.name),
            file,
            1e-6,
            range.saturating_add(1),
            max_watts,
        )
        .map_err(|e| access_error(root, &energy, &e))?;
        counters.push(counter);
    }
    Ok(Powercap {
        counters: RaplCounters::watch(SOURCE, counters)?,
        root: root.to_path_buf(),
        packages: packages.len(),
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

    fn read(&self) -> Result<Reading, SourceError> {
        self.counters.reading()
    }

    fn describe(&self) -> Vec<String> {
        self.counters.describe(
            format!("{} package(s) under {}", self.packages, self.root.display()),
            &self.notes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn probe_dir(root: &Path) -> Powercap {
        probe_with(root, GENEROUS_WATTS).unwrap_or_else(|e| panic!("{e}"))
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
        assert_eq!(used.package, Some(2.5));
        assert!((used.dram.unwrap() - 0.2).abs() < 1e-12, "{used:?}");
        assert_eq!(used.cores, Some(1.0));
        assert_eq!(used.gpu, None);
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
        assert_eq!(used.package, Some(0.0));
        assert_eq!(used.cores, Some(0.0));
        set(root, "intel-rapl:0/intel-rapl:0:0", 1_000_005);
        assert_eq!(source.read().unwrap().since(&start).cores, Some(1.0));
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
        assert_eq!(used.package, Some(5.0));
        assert_eq!(used.dram, Some(1.0));
        assert_eq!(used.cores, None, "no core zone: no invented figure");
        assert!(source.describe()[0].starts_with("2 package(s)"));
    }

    #[test]
    fn amd_package_and_core_without_dram() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        zone(root, "intel-rapl:0", "package-0", 10, 65_532_610_987);
        zone(root, "intel-rapl:0:0", "core", 10, 65_532_610_987);
        let source = probe_dir(root);
        let start = source.read().unwrap();
        set(root, "intel-rapl:0", 1_000_010);
        set(root, "intel-rapl:0:0", 600_010);
        let used = source.read().unwrap().since(&start);
        assert_eq!(used.package, Some(1.0));
        assert!((used.cores.unwrap() - 0.6).abs() < 1e-12, "{used:?}");
        assert_eq!(used.dram, None);
        assert!(source.describe().join("\n").contains("no `dram` zone"));
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
            used.package,
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
        zone(root, "intel-rapl:0", "package-0", 9_000_000, 9_999_999);
        let source = probe_dir(root);
        let start = source.read().unwrap();
        // 9 J -> 9.999999 J -> 0 -> 0.5 J: 1.5 J.
        set(root, "intel-rapl:0", 500_000);
        let used = source.read().unwrap().since(&start);
        assert!((used.package.unwrap() - 1.5).abs() < 1e-9, "{used:?}");
    }

    #[test]
    fn a_partial_core_column_is_left_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        zone(root, "intel-rapl:0", "package-0", 0, RANGE);
        zone(root, "intel-rapl:0:0", "core", 0, RANGE);
        zone(root, "intel-rapl:1", "package-1", 0, RANGE);
        let source = probe_dir(root);
        assert_eq!(source.read().unwrap().cores, None);
        assert!(source.describe().join("\n").contains("only packages [0]"));
    }

    #[test]
    fn missing_root_or_packages_are_explained() {
        let tmp = tempfile::tempdir().unwrap();
        let err = probe_with(&tmp.path().join("nope"), GENEROUS_WATTS).unwrap_err();
        assert!(err.what.contains("does not exist"), "{err}");
        assert!(err.remedy.is_some());
        let err = probe_with(tmp.path(), GENEROUS_WATTS).unwrap_err();
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
        let err = probe_with(root, GENEROUS_WATTS).unwrap_err();
        assert!(err.what.contains("intel-rapl:0/energy_uj"), "{err}");
        // A dangling link fails at open.
        fs::remove_dir(&energy).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), &energy).unwrap();
        let err = probe_with(root, GENEROUS_WATTS).unwrap_err();
        assert!(
            err.what.contains("intel-rapl:0/energy_uj does not exist"),
            "{err}"
        );
    }
}
