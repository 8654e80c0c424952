//! Tells this crate's tests which of the servers pgadget ships to are installed here, so that
//! a test needing a missing one is `#[ignore]`d with the package to install (cargo test lists
//! it as ignored) rather than passing without checking anything. In CI (`CI=true`) they all
//! count as installed: there a missing server fails its tests. The library's code reads none
//! of this; it costs a build nothing but this script.

use std::path::Path;

/// The `cfg` each test looks for, and whether this machine has the server.
fn servers() -> [(&'static str, bool); 3] {
    // Debian's layout: /usr/lib/postgresql/<version>/bin/initdb.
    let postgresql = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|version| version.path().join("bin/initdb").is_file());
    [
        ("pgadget_test_postgresql", postgresql),
        (
            "pgadget_test_prometheus",
            Path::new("/usr/bin/prometheus").is_file(),
        ),
        (
            "pgadget_test_pushgateway",
            Path::new("/usr/bin/prometheus-pushgateway").is_file(),
        ),
    ]
}

fn main() {
    println!("cargo::rerun-if-env-changed=CI");
    // dpkg rewrites its status file on every install and removal; elsewhere nothing tells.
    let dpkg_status = "/var/lib/dpkg/status";
    if Path::new(dpkg_status).is_file() {
        println!("cargo::rerun-if-changed={dpkg_status}");
    } else {
        println!("cargo::rerun-if-changed=build.rs");
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    for (cfg, installed) in servers() {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if installed || ci {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
