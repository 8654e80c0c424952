//! An `energy_uj` only root may read (as on Linux 5.10 and later) makes powercap unavailable
//! with a reason that names the file and says what to do, and the meter falls back.
//!
//! Root reads any file whatever its mode, so when the tests run as root the check runs in a
//! child process (this test binary, re-run) that has dropped to `nobody` (uid 65534).
// powercap, which this drives, is Linux-only.
#![cfg(target_os = "linux")]

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::energy::{detect, SourceConfig};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Set (on the child only) to the powercap root the child must probe.
const CHILD_ROOT: &str = "PGADGET_TEST_UNPRIVILEGED_POWERCAP_ROOT";

fn root_only_tree(root: &Path) {
    let zone = root.join("intel-rapl:0");
    fs::create_dir_all(&zone).unwrap();
    fs::write(zone.join("name"), "package-0\n").unwrap();
    fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
    fs::write(zone.join("energy_uj"), "1234\n").unwrap();
    fs::set_permissions(zone.join("energy_uj"), fs::Permissions::from_mode(0o400)).unwrap();
    for dir in [root.parent().unwrap(), root, &zone] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// What an unprivileged user sees; returns the reason powercap is unavailable.
fn check_fallback(root: &Path) -> String {
    let env = EnvConfig {
        powercap_root: Some(root.to_path_buf()),
        sources: Some(vec!["powercap".into(), "estimate".into()]),
        ..Default::default()
    };
    let detected = detect(&SourceConfig::from_env(&env, None, None));
    assert_eq!(detected.label(), "estimate");
    let reason = &detected.unavailable[0];
    assert_eq!(reason.source_name, "powercap");
    let energy = root.join("intel-rapl:0/energy_uj");
    assert!(
        reason.what.contains(&energy.display().to_string()),
        "{reason}"
    );
    assert!(reason.what.contains("readable only by root"), "{reason}");
    let remedy = reason.remedy.as_deref().unwrap_or_default();
    assert!(remedy.contains("sudo chmod a+r"), "{reason}");
    assert!(remedy.contains("run as root"), "{reason}");
    reason.to_string()
}

#[test]
fn a_root_only_energy_file_falls_back_with_the_remedy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("powercap");
    root_only_tree(&root);
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        check_fallback(&root);
        return;
    }
    // The build directory may sit where `nobody` cannot reach (a 0700 temp dir, a home): run a
    // copy of this test binary from the test's own directory.
    let exe = copy_for_nobody(&std::env::current_exe().unwrap(), tmp.path());
    let out = Command::new(exe)
        .args([
            "--exact",
            "unprivileged_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ROOT, &root)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("re-running this test binary as nobody");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the unprivileged check failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed") && stdout.contains("readable only by root"),
        "the child ran no check:\n{stdout}"
    );
}

/// Copies `exe` into `dir`, both readable and executable by every user.
fn copy_for_nobody(exe: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let copy = dir.join(exe.file_name().expect("an executable's name"));
    std::fs::copy(exe, &copy).expect("copy the test binary");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    copy
}

/// The half of the test above that runs as `nobody`.
#[test]
#[ignore = "run by a_root_only_energy_file_falls_back_with_the_remedy in a child process"]
fn unprivileged_child() {
    let root = std::env::var_os(CHILD_ROOT).expect("started by the parent test");
    // SAFETY: geteuid has no preconditions and cannot fail.
    assert_ne!(unsafe { libc::geteuid() }, 0, "the child must not be root");
    println!("{}", check_fallback(Path::new(&root)));
}
