//! An `energy_uj` only root may read (as on Linux 5.10 and later) makes powercap unavailable
//! with a reason that names the file and says what to do, and the meter falls back.
//!
//! Root reads any file whatever its mode, so when the tests run as root the check runs in a
//! child process (this test binary, re-run) that has dropped to `nobody` (uid 65534).
// powercap, which this drives, is Linux-only.
#![cfg(target_os = "linux")]

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::energy::{detect, SourceConfig};
use pgadget_test_support::child::{child_var, ChildTest};
use pgadget_test_support::powercap;
use pgadget_test_support::user::{is_root, open_to_all};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Set (on the child only) to the powercap root the child must probe.
const CHILD_ROOT: &str = "PGADGET_TEST_UNPRIVILEGED_POWERCAP_ROOT";

fn root_only_tree(root: &Path) {
    powercap::package_only(root);
    let zone = root.join("intel-rapl:0");
    fs::set_permissions(zone.join("energy_uj"), fs::Permissions::from_mode(0o400)).unwrap();
    for dir in [root.parent().unwrap(), root, &zone] {
        open_to_all(dir);
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
    // Root reads any file: the check must run as someone else.
    let child = if is_root() {
        ChildTest::as_nobody("unprivileged_child", tmp.path())
    } else {
        ChildTest::new("unprivileged_child")
    };
    let out = child.env(CHILD_ROOT, &root).run();
    let stdout = pgadget_test_support::stdout(&out);
    assert!(
        stdout.contains("readable only by root"),
        "the child ran no check:\n{stdout}"
    );
}

/// The half of the test above that runs as an unprivileged user.
#[test]
#[ignore = "run by a_root_only_energy_file_falls_back_with_the_remedy in a child process"]
fn unprivileged_child() {
    let root = child_var(CHILD_ROOT);
    assert!(!is_root(), "the child must not be root");
    println!("{}", check_fallback(Path::new(&root)));
}
