//! RAPL on machines that are not one Intel package: AMD (whose powercap `core` zone is one
//! core), packages of several dies (`package-N-die-M` zones, registers per die), and zones the
//! kernel shows incompletely. Each case is a real `PowerMeter` reading a simulated powercap
//! tree or MSR device through the same settings users have; the test writes the energy each
//! counter used in the window, so the logged row is checked against it.
#![cfg(target_os = "linux")]

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::energy::{doctor, SourceConfig};
use pgadget_runtime::{Metadata, PowerMeter, Record};
use pgadget_test_support::cpu::{amd_cpuinfo, intel_cpuinfo};
use pgadget_test_support::meter::meter_with;
use pgadget_test_support::msr::{topology, write_registers, INTEL_UNIT};
use pgadget_test_support::powercap::{zone, INTEL_RANGE_UJ};
use std::path::{Path, PathBuf};

/// A scene: a temp dir holding the simulated hardware and the log.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        Machine {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn powercap(&self) -> PathBuf {
        self.path("powercap")
    }

    /// The environment of a meter using `source` on this machine, with the given cpuinfo.
    fn env(&self, source: &str, cpuinfo: fn(&Path)) -> EnvConfig {
        let info = self.path("cpuinfo");
        cpuinfo(&info);
        EnvConfig {
            powercap_root: Some(self.powercap()),
            msr_dir: Some(self.path("msr")),
            cpu_topology: Some(self.path("topology")),
            cpuinfo: Some(info),
            sources: Some(vec![source.into()]),
            ..EnvConfig::default()
        }
    }

    fn meter(&self, env: EnvConfig) -> PowerMeter {
        meter_with(&self.path("log.csv"), env)
    }

    /// What `pgadget doctor` says with `env`.
    fn doctor(&self, env: &EnvConfig) -> String {
        doctor::report(&SourceConfig::from_env(env, None, None)).text
    }
}

/// Sets a simulated zone's counter.
fn set_uj(root: &Path, dir: &str, uj: u64) {
    std::fs::write(root.join(dir).join("energy_uj"), format!("{uj}\n")).unwrap();
}

/// Measures a call during which `during` moves the counters.
fn measure(meter: &PowerMeter, during: impl FnOnce()) -> Record {
    let window = meter.start(Metadata::new("pgadget-tests", "topology"));
    // pgadget ignores a counter that moves faster than 1000 W (a glitch): give the window the
    // time its energy takes (at most 130 J here).
    std::thread::sleep(std::time::Duration::from_millis(200));
    during();
    window.finish().expect("a row")
}

fn joules(mwh: Option<f64>) -> f64 {
    mwh.expect("a measured cell") * 3.6
}

fn assert_joules(what: &str, mwh: Option<f64>, expected: f64) {
    let got = joules(mwh);
    assert!(
        (got - expected).abs() < 1e-9,
        "{what}: logged {got} J, the counters used {expected} J"
    );
}

/// One AMD Zen package as recent kernels show it: `package-0` and a `core` subzone.
fn amd_tree(root: &Path) {
    zone(
        &root.join("intel-rapl:0"),
        "package-0",
        1_000_000,
        65_532_610_987,
    );
    zone(
        &root.join("intel-rapl:0/intel-rapl:0:0"),
        "core",
        500_000,
        65_532_610_987,
    );
}

#[test]
fn on_amd_the_core_zone_is_not_taken_for_the_cores() {
    let machine = Machine::new();
    let root = machine.powercap();
    amd_tree(&root);
    let env = machine.env("powercap", amd_cpuinfo);
    let row = measure(&machine.meter(env.clone()), || {
        set_uj(&root, "intel-rapl:0", 1_000_000 + 130_000_000);
        // The first core's own counter: 5.8 J of the package's 130 J.
        set_uj(&root, "intel-rapl:0/intel-rapl:0:0", 500_000 + 5_800_000);
    });
    assert_joules("package", row.package_mwh, 130.0);
    assert_eq!(row.cores_mwh, None, "one core is not the cores: {row:?}");
    assert_eq!(row.energy_note, "", "IA is not measured here, not lost");
    assert!(row.co2_g.is_some());
    let report = machine.doctor(&env);
    assert!(
        report.contains(
            "AuthenticAMD CPU: the `core` zones count one core each (Linux reads the first CPU's \
             core energy register), not the package's cores, so IA is left empty (not measured)"
        ),
        "{report}"
    );

    // The same tree on Intel: the core zone is the cores.
    let env = machine.env("powercap", intel_cpuinfo);
    let row = measure(&machine.meter(env), || {
        set_uj(
            &root,
            "intel-rapl:0/intel-rapl:0:0",
            500_000 + 2 * 5_800_000,
        );
    });
    assert_joules("IA on Intel", row.cores_mwh, 5.8);
}

/// Two packages of two dies each, as Linux names them when dies have RAPL of their own
/// (Cascade Lake-AP): `package-P-die-D` zones, each with a `dram` subzone, at distinct values.
fn multi_die_tree(root: &Path) {
    for (n, (p, d)) in [(0, 0), (0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
        let dir = root.join(format!("intel-rapl:{n}"));
        zone(
            &dir,
            &format!("package-{p}-die-{d}"),
            1_000 * (n as u64 + 1),
            INTEL_RANGE_UJ,
        );
        zone(
            &dir.join(format!("intel-rapl:{n}:0")),
            "dram",
            7_000 * (n as u64 + 1),
            INTEL_RANGE_UJ,
        );
    }
}

#[test]
fn the_dies_of_each_package_are_summed() {
    let machine = Machine::new();
    let root = machine.powercap();
    multi_die_tree(&root);
    let env = machine.env("powercap", intel_cpuinfo);
    let row = measure(&machine.meter(env.clone()), || {
        for n in 0..4u64 {
            // Die n used (n + 1) x 10 J, its DRAM (n + 1) J.
            set_uj(
                &root,
                &format!("intel-rapl:{n}"),
                1_000 * (n + 1) + 10_000_000 * (n + 1),
            );
            set_uj(
                &root,
                &format!("intel-rapl:{n}/intel-rapl:{n}:0"),
                7_000 * (n + 1) + 1_000_000 * (n + 1),
            );
        }
    });
    assert_joules("package", row.package_mwh, 100.0);
    assert_joules("DRAM", row.dram_mwh, 10.0);
    assert_eq!(row.energy_note, "");
    let report = machine.doctor(&env);
    assert!(
        report.contains("2 package(s) (4 dies, summed per package) under"),
        "{report}"
    );
    assert!(
        report.contains("package-1-die-1, package 1 die 1"),
        "{report}"
    );
}

#[test]
fn dies_that_show_one_shared_counter_are_counted_once() {
    let machine = Machine::new();
    let root = machine.powercap();
    // Both die zones of the one package read the same counter (some AMD kernels).
    for n in 0..2u64 {
        zone(
            &root.join(format!("intel-rapl:{n}")),
            &format!("package-0-die-{n}"),
            42_000_000,
            65_532_610_987,
        );
    }
    let env = machine.env("powercap", amd_cpuinfo);
    let row = measure(&machine.meter(env.clone()), || {
        set_uj(&root, "intel-rapl:0", 42_000_000 + 50_000_000);
        set_uj(&root, "intel-rapl:1", 42_000_000 + 50_000_000);
    });
    assert_joules("package", row.package_mwh, 50.0);
    let report = machine.doctor(&env);
    assert!(
        report.contains(
            "package 0: its `package-0-die-N` zones all read one counter (the kernel shows the \
             package once per die), so only the first die's zones are counted"
        ),
        "{report}"
    );
}

#[test]
fn a_subzone_without_its_range_costs_only_its_column() {
    let machine = Machine::new();
    let root = machine.powercap();
    pgadget_test_support::powercap::intel_tree(&root, 1);
    std::fs::remove_file(root.join("intel-rapl:0/intel-rapl:0:1/max_energy_range_uj")).unwrap();
    let env = machine.env("powercap", intel_cpuinfo);
    let meter = machine.meter(env.clone());
    assert_eq!(meter.energy_source(), "powercap");
    let row = measure(&meter, || {
        set_uj(&root, "intel-rapl:0", 123_456_789 + 20_000_000);
        set_uj(
            &root,
            "intel-rapl:0/intel-rapl:0:0",
            45_678_901 + 12_000_000,
        );
        set_uj(&root, "intel-rapl:0/intel-rapl:0:1", 9_876_543 + 3_000_000);
    });
    assert_joules("package", row.package_mwh, 20.0);
    assert_joules("IA", row.cores_mwh, 12.0);
    assert_eq!(row.dram_mwh, None, "no range, no unwrapping: {row:?}");
    assert!(
        row.co2_g.is_some(),
        "DRAM is not measured, so CO2 lacks nothing"
    );
    let report = machine.doctor(&env);
    assert!(
        report.contains("intel-rapl:0:1 (dram, package 0): ")
            && report.contains("max_energy_range_uj cannot be read (")
            && report.contains("; the DRAM column is left empty"),
        "{report}"
    );

    // Without the package's own range, powercap cannot be used, and says why.
    std::fs::remove_file(root.join("intel-rapl:0/max_energy_range_uj")).unwrap();
    let report = machine.doctor(&env);
    assert!(
        report.contains("intel-rapl:0/max_energy_range_uj cannot be read (")
            && report.contains("so the roll-overs of ")
            && report.contains("the MSRs read the same counters"),
        "{report}"
    );
    assert!(
        !report.contains("load the RAPL powercap driver"),
        "{report}"
    );
}

/// Intel's package (0x611) and DRAM (0x619) registers.
const PACKAGE: u64 = 0x611;
const DRAM: u64 = 0x619;
/// 2^14 units of 61 µJ: one joule.
const JOULE: u64 = 16384;

/// Four CPUs: CPU n is package n / 2, die n % 2.
fn msr_machine(machine: &Machine, shared_package_0: bool) {
    let dir = machine.path("msr");
    topology(
        &machine.path("topology"),
        &[(0, 0, 0), (1, 0, 1), (2, 1, 0), (3, 1, 1)],
    );
    for cpu in 0..4u64 {
        let package = if shared_package_0 && cpu < 2 {
            5 * JOULE
        } else {
            (cpu + 1) * JOULE
        };
        write_registers(
            &dir,
            cpu as u32,
            &[(0x606, INTEL_UNIT), (PACKAGE, package), (DRAM, 100 + cpu)],
        );
    }
}

#[test]
fn the_msrs_read_one_cpu_per_die_and_sum_the_dies() {
    let machine = Machine::new();
    msr_machine(&machine, false);
    let env = machine.env("msr", intel_cpuinfo);
    let dir = machine.path("msr");
    let row = measure(&machine.meter(env.clone()), || {
        for cpu in 0..4u64 {
            // Die `cpu` used (cpu + 1) x 3 J.
            write_registers(
                &dir,
                cpu as u32,
                &[(PACKAGE, (cpu + 1) * JOULE + 3 * (cpu + 1) * JOULE)],
            );
        }
    });
    assert_joules("package", row.package_mwh, 30.0);
    let report = machine.doctor(&env);
    assert!(
        report.contains(
            "2 package(s): package 0 die 0 via CPU 0, package 0 die 1 via CPU 1, package 1 die 0 \
             via CPU 2, package 1 die 1 via CPU 3"
        ),
        "{report}"
    );
}

#[test]
fn dies_sharing_the_package_register_are_read_once() {
    let machine = Machine::new();
    msr_machine(&machine, true);
    let env = machine.env("msr", intel_cpuinfo);
    let dir = machine.path("msr");
    let row = measure(&machine.meter(env.clone()), || {
        // CPUs 0 and 1 show the one register of package 0: it used 8 J.
        for cpu in 0..2 {
            write_registers(&dir, cpu, &[(PACKAGE, 13 * JOULE)]);
        }
        // Package 1's dies have their own: 1 J and 2 J.
        write_registers(&dir, 2, &[(PACKAGE, 4 * JOULE)]);
        write_registers(&dir, 3, &[(PACKAGE, 6 * JOULE)]);
    });
    assert_joules("package", row.package_mwh, 11.0);
    let report = machine.doctor(&env);
    assert!(
        report.contains(
            "package 0: its dies read one and the same package register, so one CPU reads it \
             for the whole package"
        ),
        "{report}"
    );
}
