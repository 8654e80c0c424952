//! Sparse files standing in for `/dev/cpu/N/msr`: the register address is the offset, as with
//! Linux's msr driver, for the real MSR code to read through `PGADGET_MSR_DIR`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// MSR_RAPL_POWER_UNIT with energy units of 2^-14 J (61 µJ), as on most Intel parts.
pub const INTEL_UNIT: u64 = 0x000A_0E03;

/// Writes `registers` (address, value) into `dir/cpu/msr`, creating it if needed.
pub fn write_registers(dir: &Path, cpu: u32, registers: &[(u64, u64)]) {
    let cpu_dir = dir.join(cpu.to_string());
    std::fs::create_dir_all(&cpu_dir).expect("create the CPU's directory");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cpu_dir.join("msr"))
        .expect("create the MSR file");
    for (address, value) in registers {
        write_register(&file, *address, *value);
    }
}

/// Writes one 64-bit register at its address.
pub fn write_register(file: &File, address: u64, value: u64) {
    file.write_all_at(&value.to_le_bytes(), address)
        .expect("write a register");
}

/// An Intel CPU 0 under `dir` with the unit register and package, cores and DRAM counters.
pub fn intel_cpu(dir: &Path) {
    write_registers(
        dir,
        0,
        &[
            (0x606, INTEL_UNIT),
            (0x611, 1_000_000),
            (0x639, 500_000),
            (0x619, 100_000),
        ],
    );
}

/// Writes a CPU topology under `root` (for `PGADGET_CPU_TOPOLOGY`): for each `(cpu, package,
/// die)`, `cpuN/topology/physical_package_id` and `die_id`.
pub fn topology(root: &Path, cpus: &[(u32, u32, u32)]) {
    for (cpu, package, die) in cpus {
        let dir = root.join(format!("cpu{cpu}/topology"));
        std::fs::create_dir_all(&dir).expect("create a topology directory");
        std::fs::write(dir.join("physical_package_id"), format!("{package}\n"))
            .expect("write physical_package_id");
        std::fs::write(dir.join("die_id"), format!("{die}\n")).expect("write die_id");
    }
}
