//! Running part of a test in a child process: this same test binary, re-run on one ignored
//! test, with a clean environment.
//!
//! Some scenarios need a process of their own (a per-process cache, a country looked up once
//! per process, stderr to read, another user). The parent builds a [`ChildTest`]; the child
//! half is an `#[ignore = "run by ..."]` test that starts with [`child_var`], which fails
//! loudly when the test is run by hand instead of by its parent.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The variable that tells a child test it was started by its parent, holding its name.
pub const CHILD_TEST: &str = "PGADGET_TEST_CHILD";

/// The variable holding the arguments a [`ChildTest::script`] was run with.
pub const SCRIPT_ARGS: &str = "PGADGET_TEST_SCRIPT_ARGS";

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
        Self::with_command(clean_command(exe), name)
    }

    /// `command` (which runs the test binary, maybe through a launcher) on the test `name`.
    fn with_command(mut command: Command, name: &str) -> Self {
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

    /// Runs the child in a private mount namespace in which a fresh tmpfs, mounted with
    /// `options` (e.g. `size=64k`, `ro`), covers the existing directory `mount_point`: a tiny
    /// disk that fills up, or a read-only one, without touching the machine's. The mount
    /// vanishes with the child, so the child checks what it wrote there itself.
    ///
    /// Needs `unshare` and `mount` (util-linux); as root directly, otherwise in a user
    /// namespace of its own (`unshare --map-root-user`).
    #[cfg(target_os = "linux")]
    pub fn in_tmpfs(name: &str, mount_point: &Path, options: &str) -> Self {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut command = clean_command("unshare");
        if !crate::user::is_root() {
            command.arg("--map-root-user");
        }
        command
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount -t tmpfs -o "$1" pgadget-test "$2" && shift 2 && exec "$@""#)
            .args(["sh", options])
            .arg(mount_point)
            .arg(exe);
        Self::with_command(command, name)
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
        passed(out)
    }

    /// Runs the child to its end, killing it (and failing) if it has not ended within
    /// `limit`: for a scene in which a hang is the bug. Returns what it printed.
    pub fn output_within(mut self, limit: Duration) -> Output {
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child test process");
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the child") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the child test did not end within {limit:?}:\nstdout:\n{}\nstderr:\n{}",
                    String::from_utf8_lossy(&stdout.join().unwrap_or_default()),
                    String::from_utf8_lossy(&stderr.join().unwrap_or_default()),
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Output {
            status,
            stdout: stdout.join().expect("read the child's stdout"),
            stderr: stderr.join().expect("read the child's stderr"),
        }
    }

    /// Starts the child with its stdout and stderr piped, for a parent that follows what it
    /// prints as it runs (stdin stays as set, null unless changed through
    /// [`command`](Self::command)).
    pub fn spawn_piped(mut self) -> Child {
        self.command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child test process")
    }

    /// Starts the child with its output captured, to act on it (signal it) while it runs.
    pub fn start(mut self) -> Running {
        let child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child test process");
        Running { child }
    }

    /// Writes an executable shell script at `path` that runs this child test (so a program
    /// that is given a path to run, such as a stand-in for PowerLog, runs it). The script's
    /// arguments reach the child as the variable [`SCRIPT_ARGS`], joined by spaces; the
    /// variables set with [`ChildTest::env`] are not passed on, give them in `vars`.
    #[cfg(unix)]
    pub fn script(name: &str, path: &Path, vars: &[(&str, &str)]) {
        use std::os::unix::fs::PermissionsExt;
        let exe = std::env::current_exe().expect("the test binary's path");
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut exports = format!("export {CHILD_TEST}={}\n", quote(name));
        for (key, value) in vars {
            exports.push_str(&format!("export {key}={}\n", quote(value)));
        }
        let script = format!(
            "#!/bin/sh\n{exports}export {SCRIPT_ARGS}=\"$*\"\nexec {} --exact {} --ignored \
             --nocapture --test-threads=1\n",
            quote(&exe.to_string_lossy()),
            quote(name)
        );
        std::fs::write(path, script).expect("write the script");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .expect("make the script executable");
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

/// A child test running in the background.
#[derive(Debug)]
pub struct Running {
    child: Child,
}

impl Running {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends it `signal` (e.g. `libc::SIGSTOP`).
    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits an i32");
        // SAFETY: kill only sends a signal to the process we started and still own (not yet
        // waited for, so its pid cannot have been reused).
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits for it to end and asserts that its test passed, like [`ChildTest::run`].
    pub fn finish(self) -> Output {
        let out = self
            .child
            .wait_with_output()
            .expect("wait for the child test process");
        passed(out)
    }
}

/// Asserts that the child's one test ran and passed, and hands back what it printed.
fn passed(out: Output) -> Output {
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

/// Reads `pipe` to its end on a thread of its own, so that a child filling one pipe never
/// blocks while the parent waits on the other.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
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
