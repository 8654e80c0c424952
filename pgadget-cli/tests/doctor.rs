//! `pgadget doctor`, run as a user runs it: the real binary, with the environment pointing at
//! simulated hardware (an empty or populated powercap tree, an empty MSR directory, no NVML).

use pgadget_test_support::child::clean_command;
use pgadget_test_support::powercap::intel_tree;
use std::path::Path;
use std::process::Output;

/// Runs `pgadget doctor` with `vars` on top of an environment that has no pgadget settings.
fn doctor(vars: &[(&str, &Path)]) -> (Output, String) {
    let mut command = clean_command(env!("CARGO_BIN_EXE_pgadget"));
    command.arg("doctor");
    for (key, value) in vars {
        command.env(key, value);
    }
    let output = command.output().expect("run pgadget doctor");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// The section of the report about `source`: its header line and the indented lines under it.
fn section(report: &str, source: &str) -> String {
    let header = format!("{source}: ");
    let mut lines = report.lines().skip_while(|l| !l.starts_with(&header));
    let Some(first) = lines.next() else {
        panic!("no section for {source} in:\n{report}");
    };
    let mut text = format!("{first}\n");
    for line in lines.take_while(|l| l.starts_with("  ")) {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// A machine with nothing to read: no RAPL zones, no MSR devices, no NVML, not macOS/Windows.
struct Bare {
    _dir: tempfile::TempDir,
    powercap: std::path::PathBuf,
    msr: std::path::PathBuf,
    nvml: std::path::PathBuf,
}

fn bare_machine() -> Bare {
    let dir = tempfile::tempdir().expect("temp dir");
    let powercap = dir.path().join("powercap");
    let msr = dir.path().join("cpu");
    std::fs::create_dir(&powercap).expect("powercap dir");
    std::fs::create_dir(&msr).expect("msr dir");
    let nvml = dir.path().join("no-driver/libnvidia-ml.so.1");
    Bare {
        _dir: dir,
        powercap,
        msr,
        nvml,
    }
}

impl Bare {
    fn vars(&self) -> Vec<(&'static str, &Path)> {
        vec![
            ("PGADGET_POWERCAP_ROOT", self.powercap.as_path()),
            ("PGADGET_MSR_DIR", self.msr.as_path()),
            ("PGADGET_NVML_LIB", self.nvml.as_path()),
        ]
    }
}

#[test]
fn with_no_counter_doctor_shows_the_estimate_and_why_and_exits_1() {
    let machine = bare_machine();
    let (output, report) = doctor(&machine.vars());
    assert_eq!(output.status.code(), Some(1), "report:\n{report}");

    let estimate = section(&report, "estimate");
    assert!(
        estimate.starts_with("estimate: available, in use\n"),
        "{estimate}"
    );
    assert!(estimate.contains("per logical CPU"), "{estimate}");

    let nvml = section(&report, "nvml");
    assert!(nvml.starts_with("nvml: unavailable\n"), "{nvml}");
    assert!(
        nvml.contains(&format!(
            "why: cannot load the NVML library {}",
            machine.nvml.display()
        )),
        "{nvml}"
    );
    assert!(nvml.contains("to do: set PGADGET_NVML_LIB"), "{nvml}");

    if cfg!(not(any(target_os = "macos", windows))) {
        let powerlog = section(&report, "powerlog");
        assert!(
            powerlog.starts_with("powerlog: unavailable\n"),
            "{powerlog}"
        );
        assert!(powerlog.contains("why: Intel Power Gadget's PowerLog runs on macOS and Windows"));
    }

    assert!(
        report.contains("Energy Source in new rows: estimate\n"),
        "{report}"
    );
    assert!(
        report.contains("Only the estimate is available"),
        "{report}"
    );
}

#[test]
fn with_no_counter_doctor_explains_powercap_and_msr() {
    let machine = bare_machine();
    let (output, report) = doctor(&machine.vars());
    assert_eq!(output.status.code(), Some(1), "report:\n{report}");
    for (source, path) in [("powercap", &machine.powercap), ("msr", &machine.msr)] {
        let text = section(&report, source);
        assert!(
            text.starts_with(&format!("{source}: unavailable\n")),
            "{text}"
        );
        assert!(text.contains("  why: "), "{text}");
        assert!(
            text.contains(&path.display().to_string()),
            "the reason names {path:?}: {text}"
        );
    }
    // The order is the detection order.
    let positions: Vec<usize> = ["powercap", "msr", "powerlog", "nvml", "estimate"]
        .iter()
        .map(|s| {
            report
                .find(&format!("\n{s}: "))
                .expect("every source is listed")
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{report}");
}

/// A one-socket Intel machine: package-0 with core and dram subzones, laid out like
/// /sys/class/powercap (the zones, and links to the subzones at the top level).
fn powercap_tree(root: &Path) {
    intel_tree(root, 1);
}

#[test]
fn with_a_readable_powercap_tree_doctor_shows_its_zones_and_exits_0() {
    let machine = bare_machine();
    powercap_tree(&machine.powercap);
    let (output, report) = doctor(&machine.vars());
    assert_eq!(output.status.code(), Some(0), "report:\n{report}");

    let powercap = section(&report, "powercap");
    assert!(
        powercap.starts_with("powercap: available, in use\n"),
        "{powercap}"
    );
    for domain in ["package-0", "core", "dram"] {
        assert!(
            powercap.contains(domain),
            "{domain} is described: {powercap}"
        );
    }
    assert!(
        section(&report, "estimate")
            .starts_with("estimate: not needed (powercap measures the CPU)"),
        "{report}"
    );
    assert!(
        report.contains("Energy Source in new rows: powercap\n"),
        "{report}"
    );
    assert!(!report.contains("Only the estimate"), "{report}");
}

#[cfg(unix)]
#[test]
fn with_an_unreadable_energy_counter_doctor_says_how_to_allow_it() {
    use pgadget_test_support::user::{copy_for_nobody, is_root, open_to_all, NOBODY};
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let machine = bare_machine();
    powercap_tree(&machine.powercap);
    // Linux >= 5.10 makes energy_uj root-only (0400); pgadget runs as an ordinary user.
    let counter = machine.powercap.join("intel-rapl:0/energy_uj");
    std::fs::set_permissions(&counter, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    // tempfile makes its directory owner-only; the ordinary user must be able to walk the tree.
    open_to_all(machine._dir.path());

    let as_root = is_root();
    let exe = if as_root {
        copy_for_nobody(
            Path::new(env!("CARGO_BIN_EXE_pgadget")),
            machine._dir.path(),
        )
    } else {
        env!("CARGO_BIN_EXE_pgadget").into()
    };
    let mut command = clean_command(exe);
    command.arg("doctor");
    command.envs(machine.vars());
    if as_root {
        // As root every file is readable: run the doctor as `nobody`, as a user would run it.
        command.uid(NOBODY).gid(NOBODY);
    }
    let output = command.output().expect("run pgadget doctor");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "report:\n{report}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let powercap = section(&report, "powercap");
    assert!(
        powercap.starts_with("powercap: unavailable\n"),
        "{powercap}"
    );
    assert!(powercap.contains("intel-rapl:0/energy_uj"), "{powercap}");
    assert!(
        !powercap.contains("os error 13"),
        "no bare errno: {powercap}"
    );
    assert!(powercap.contains("to do: "), "{powercap}");
    assert!(powercap.contains("chmod"), "{powercap}");
    assert!(report.contains("estimate: available, in use"), "{report}");
}

/// The default powercap path, `/sys/class/powercap`, with no PGADGET_POWERCAP_ROOT: a private
/// mount namespace (`unshare -m`) puts a simulated tree there for this one command. Root
/// makes the namespace directly; anyone else through a user namespace (`unshare -r`), which
/// the kernel must allow.
#[cfg(target_os = "linux")]
#[test]
fn doctor_finds_rapl_at_the_default_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("powercap");
    powercap_tree(&tree);
    let script = format!(
        "mount -t tmpfs pgadget-test /sys/class && mkdir /sys/class/powercap && \
         cp -a {tree}/. /sys/class/powercap/ && exec {exe} doctor",
        tree = tree.display(),
        exe = env!("CARGO_BIN_EXE_pgadget"),
    );
    let mut command = clean_command("unshare");
    if !pgadget_test_support::user::is_root() {
        command.arg("--map-root-user");
    }
    command.args(["-m", "--propagation", "private", "sh", "-c", &script]);
    let output = command.output().expect("run unshare");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "report:\n{report}\nstderr:\n{stderr}"
    );
    let powercap = section(&report, "powercap");
    assert!(
        powercap.starts_with("powercap: available, in use\n"),
        "{powercap}"
    );
    assert!(powercap.contains("/sys/class/powercap"), "{powercap}");
    assert!(
        report.contains("Energy Source in new rows: powercap\n"),
        "{report}"
    );
}
