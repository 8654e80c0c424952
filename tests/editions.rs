//! `#[measure_power]` in a crate of every edition, with the lints a strict crate turns on.
//!
//! trybuild builds the pass cases of `tests/ui` in this package's edition. Here each of them
//! becomes a binary of a small crate made for each of 2015, 2018, 2021 and 2024, which is
//! checked by clippy with `-D warnings`, clippy's pedantic and nursery groups and rustc's
//! `unused_results`, `unused_qualifications` and `missing_docs`, then built and run (the
//! edition decides when temporaries are dropped, so the measurement window is checked in each).
//! A last crate depends on pgadget under another name.
//!
//! The crates share one target directory under Cargo's, and build offline from this
//! workspace's lock file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EDITIONS: [&str; 4] = ["2015", "2018", "2021", "2024"];

/// What a user's strict crate denies, on top of `#![deny(warnings)]` in each case.
const LINTS: [&str; 6] = [
    "-Dwarnings",
    "-Dclippy::pedantic",
    "-Dclippy::nursery",
    "-Dunused_results",
    "-Dunused_qualifications",
    "-Dmissing_docs",
];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scratch() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgadget-editions")
}

fn cargo(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", scratch().join("target"))
        // Four crates of small binaries: no debug info and no incremental state, which would
        // take gigabytes and add nothing to these checks.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_INCREMENTAL", "0")
        // The crates are this workspace's tests, not the user's: no color codes in messages.
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A crate in `dir` named `name`, of `edition`, with `dependency` in its `[dependencies]`.
fn make_crate(dir: &Path, name: &str, edition: &str, dependency: &str) {
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src/bin")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"{edition}\"\n\
             publish = false\n\n[dependencies]\n{dependency}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    // The versions this workspace builds with, so nothing is fetched.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

fn pgadget_dependency(name: &str) -> String {
    let path = workspace().display().to_string().replace('\\', "/");
    if name == "pgadget" {
        format!("pgadget = {{ path = \"{path}\" }}")
    } else {
        format!("{name} = {{ package = \"pgadget\", path = \"{path}\" }}")
    }
}

/// The pass cases: (name, source).
fn pass_cases() -> Vec<(String, String)> {
    let mut cases: Vec<(String, String)> = std::fs::read_dir(workspace().join("tests/ui/pass"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    cases.sort();
    cases
}

/// `source` as a binary of an edition-2015 crate, where a `use` of an external crate needs
/// `extern crate` (after the inner attributes, which must come first); public, as a 2015 crate
/// that re-exports pgadget has it.
fn for_2015(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let after_header = lines
        .iter()
        .position(|l| !(l.starts_with("//") || l.starts_with("#![") || l.trim().is_empty()))
        .unwrap_or(lines.len());
    let mut out = lines[..after_header].join("\n");
    out.push_str("\n/// What this crate measures with.\npub extern crate pgadget;\n");
    out.push_str(&lines[after_header..].join("\n"));
    out.push('\n');
    out
}

/// The oldest edition a case can be written in: `async` came with 2018.
fn oldest_edition(source: &str) -> &'static str {
    if source.contains("async") {
        "2018"
    } else {
        "2015"
    }
}

#[test]
fn the_pass_cases_are_lint_free_and_run_in_every_edition() {
    let cases = pass_cases();
    assert!(cases.len() >= 10, "the pass cases were not found");
    for edition in EDITIONS {
        let dir = scratch().join(format!("edition{edition}"));
        make_crate(
            &dir,
            &format!("edition{edition}"),
            edition,
            &pgadget_dependency("pgadget"),
        );
        let support = dir.join("src/support");
        std::fs::create_dir_all(&support).unwrap();
        for entry in std::fs::read_dir(workspace().join("tests/ui/support")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, support.join(path.file_name().unwrap())).unwrap();
        }
        let mut built = Vec::new();
        for (name, source) in &cases {
            if edition < oldest_edition(source) {
                continue;
            }
            let source = if edition == "2015" {
                for_2015(source)
            } else {
                source.clone()
            };
            std::fs::write(dir.join(format!("src/bin/{name}.rs")), source).unwrap();
            built.push(name);
        }
        let mut clippy = vec![
            "clippy",
            "--offline",
            "--quiet",
            "--keep-going",
            "--bins",
            "--",
        ];
        clippy.extend(LINTS);
        assert_success(&format!("clippy, edition {edition}"), &cargo(&dir, &clippy));
        assert_success(
            &format!("build, edition {edition}"),
            &cargo(&dir, &["build", "--offline", "--quiet", "--bins"]),
        );
        for name in built {
            let binary = scratch()
                .join("target/debug")
                .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            let run = Command::new(&binary)
                .env_remove("PGADGET_DISABLE")
                .output()
                .unwrap();
            assert_success(&format!("{name}, edition {edition}"), &run);
        }
    }
}

#[test]
fn a_renamed_dependency_gets_one_error_that_names_the_fix() {
    let dir = scratch().join("renamed");
    make_crate(&dir, "renamed", "2021", &pgadget_dependency("energy"));
    let source = "#[energy::measure_power(package = \"p\", algorithm = \"a\", data_shape = n)]\n\
                  fn work(n: u32) -> u32 { n }\n\
                  fn main() { assert_eq!(work(1), 1); }\n";
    std::fs::write(dir.join("src/bin/renamed.rs"), source).unwrap();
    let output = cargo(&dir, &["check", "--offline", "--quiet", "--bins"]);
    assert!(!output.status.success(), "built without `crate = ..`");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("due to 1 previous error"), "{stderr}");
    assert!(
        stderr.contains(
            "this crate depends on pgadget under the name `energy`, so #[measure_power] cannot \
             find it as `::pgadget`: add `crate = ::energy` to the attribute's arguments"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("src/bin/renamed.rs:1:1"), "{stderr}");

    let fixed = source.replace("data_shape = n", "data_shape = n, crate = ::energy");
    std::fs::write(dir.join("src/bin/renamed.rs"), fixed).unwrap();
    assert_success(
        "the renamed crate with `crate = ::energy`",
        &cargo(&dir, &["check", "--offline", "--quiet", "--bins"]),
    );
}
