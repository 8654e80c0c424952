//! Running part of a test in a child process: this same test binary, re-run on one ignored
//! test, with a clean environment.
//!
//! Some scenarios need a process of their own (a per-process cache, a country looked up once
//! per process, stderr to read, another user). The parent builds a [`ChildTest`]; the child
//! half is an `#[ignore = "run by ..."]` test that starts with [`child_var`], which fails
//! loudly when the test is run by hand instead of by its parent.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The variable that tells a child test it was started by its parent, holding its name.
pub const CHILD_TEST: &str = "PGADGET_TEST_CHILD";

/// A command with no `PGADGET_*` variable and no proxy setting inherited from the test's own
/// environment, so that what the test sets is all the program sees.
pub fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let upper = key.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("PGADGET_") || upper.ends_with("_PROXY") {
            command.env_remove(&key);
        }
    }
    command
}

/// One ignored test of the running test binary, to be run as a child process.
#[derive(Debug)]
pub struct ChildTest {
    command: Command,
}

impl ChildTest {
    /// Re-runs the current test binary on exactly the ignored test `name`, with a clean
    /// environment (see [`clean_command`]) and its output captured.
    pub fn new(name: &str) -> Self {
        let exe = std::env::current_exe().expect("the test binary's path");
        Self::with_exe(&exe, name)
    }

    fn with_exe(exe: &Path, name: &str) -> Self {
        let mut command = clean_command(exe);
        command
            .args([
                "--exact",
                name,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_TEST, name)
            .stdin(Stdio::null());
        ChildTest { command }
    }

    /// Runs the child as `nobody` (uid and gid 65534), from a copy of the test binary in
    /// `dir`, which `nobody` can reach where the build directory may not be.
    #[cfg(unix)]
    pub fn as_nobody(name: &str, dir: &Path) -> Self {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().expect("the test binary's path");
        let copy = crate::user::copy_for_nobody(&exe, dir);
        let mut child = Self::with_exe(&copy, name);
        child
            .command
            .uid(crate::user::NOBODY)
            .gid(crate::user::NOBODY);
        child
    }

    /// Sets a variable in the child's environment.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// The command, for anything else (arguments are already set).
    pub fn command(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Runs the child to its end and returns what it printed. Its exit status is the caller's
    /// to check (some tests expect a failure).
    pub fn output(mut self) -> Output {
        self.command.output().expect("start the child test process")
    }

    /// Runs the child to its end and asserts that its test passed; returns what it printed.
    pub fn run(self) -> Output {
        let out = self.output();
        assert!(
            out.status.success(),
            "the child test failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            crate::stdout(&out),
            crate::stderr(&out)
        );
        assert!(
            crate::stdout(&out).contains("1 passed"),
            "the child ran no test:\n{}",
            crate::stdout(&out)
        );
        out
    }

    /// Starts the child without waiting for it, its output captured (read it with
    /// `wait_with_output`; the children of these tests print little, so the pipes never fill).
    pub fn spawn_captured(mut self) -> Child {
        self.command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child test process")
    }

    /// Starts the child without waiting for it, its output discarded.
    pub fn spawn(mut self) -> Child {
        self.command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child test process")
    }
}

/// In the child half of a test: the value of `key`, which the parent sets. Panics, naming the
/// parent's job, when the test was run by hand (with `--ignored`) instead of by its parent.
pub fn child_var(key: &str) -> String {
    assert!(
        std::env::var_os(CHILD_TEST).is_some(),
        "this test is the child half of another test and runs only when that test starts it"
    );
    std::env::var(key).unwrap_or_else(|_| panic!("the parent test sets {key}"))
}
