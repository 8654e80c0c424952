//! A simulated Linux powercap tree (`/sys/class/powercap`), for the real powercap code to read
//! through `PGADGET_POWERCAP_ROOT`.

use std::fs;
use std::path::Path;

/// `max_energy_range_uj` of an Intel package or core zone (2^32 units of 61 µJ).
pub const INTEL_RANGE_UJ: u64 = 262_143_328_850;
/// `max_energy_range_uj` of an Intel server DRAM zone (2^32 units of 15.3 µJ).
pub const INTEL_DRAM_RANGE_UJ: u64 = 65_712_999_613;
/// `max_energy_range_uj` of an AMD Zen package zone (2^32 units of 15.3 µJ).
pub const AMD_RANGE_UJ: u64 = 65_532_610_987;

/// Writes one RAPL zone directory as Linux shows it: `name`, `energy_uj`,
/// `max_energy_range_uj` and `enabled`.
pub fn zone(dir: &Path, name: &str, energy_uj: u64, range_uj: u64) {
    fs::create_dir_all(dir).expect("create a zone directory");
    fs::write(dir.join("name"), format!("{name}\n")).expect("write name");
    fs::write(dir.join("energy_uj"), format!("{energy_uj}\n")).expect("write energy_uj");
    fs::write(dir.join("max_energy_range_uj"), format!("{range_uj}\n"))
        .expect("write max_energy_range_uj");
    fs::write(dir.join("enabled"), "1\n").expect("write enabled");
}

/// A package zone alone (`intel-rapl:0`, `package-0`) with Intel's range: the smallest tree
/// powercap accepts.
pub fn package_only(root: &Path) {
    zone(
        &root.join("intel-rapl:0"),
        "package-0",
        1000,
        INTEL_RANGE_UJ,
    );
}

/// `sockets` Intel packages, each with a `core` and a `dram` subzone nested in it, and the
/// subzones also linked at the top level, as `/sys/class/powercap` lists them.
pub fn intel_tree(root: &Path, sockets: usize) {
    for s in 0..sockets {
        let package = root.join(format!("intel-rapl:{s}"));
        zone(
            &package,
            &format!("package-{s}"),
            123_456_789,
            INTEL_RANGE_UJ,
        );
        let core = format!("intel-rapl:{s}:0");
        let dram = format!("intel-rapl:{s}:1");
        zone(&package.join(&core), "core", 45_678_901, INTEL_RANGE_UJ);
        zone(&package.join(&dram), "dram", 9_876_543, INTEL_DRAM_RANGE_UJ);
        #[cfg(unix)]
        for sub in [core, dram] {
            std::os::unix::fs::symlink(package.join(&sub), root.join(&sub))
                .expect("link a subzone at the top level");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_intel_tree_lists_subzones_nested_and_at_the_top() {
        let dir = tempfile::tempdir().unwrap();
        intel_tree(dir.path(), 2);
        let read = |p: &str| fs::read_to_string(dir.path().join(p)).unwrap();
        assert_eq!(read("intel-rapl:1/name"), "package-1\n");
        assert_eq!(read("intel-rapl:1/intel-rapl:1:1/name"), "dram\n");
        assert_eq!(read("intel-rapl:1:0/name"), "core\n");
        assert_eq!(
            read("intel-rapl:0/max_energy_range_uj"),
            format!("{INTEL_RANGE_UJ}\n")
        );
    }
}
