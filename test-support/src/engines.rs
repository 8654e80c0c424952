//! What the servers pgadget ships to have in common in tests: finding their programs, the
//! one place a test may be skipped at run time, and free loopback ports.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Whether this is a CI run (`CI=true`), where a missing server is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `program` if it exists. Otherwise, in CI, the test fails naming the Debian package to
/// install; elsewhere it prints a message that is hard to miss (straight to the terminal,
/// past the test harness's capture) and the caller returns: a developer without the server
/// can still run the other tests.
pub fn require(test: &str, program: &Path, package: &str) -> Option<PathBuf> {
    if program.is_file() {
        return Some(program.to_path_buf());
    }
    let message = format!(
        "{} is not installed: install the Debian package `{package}` (apt-get install \
         {package}; .ci/run does it) to run this test",
        program.display()
    );
    assert!(!in_ci(), "{test}: {message}");
    let bar = "=".repeat(78);
    // Written to the file descriptor, not through eprintln!, which the harness captures.
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\nSKIPPED {test}: {message}.\n{bar}\n"
    );
    None
}

/// A loopback port no one listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Calls `check` every 50 ms until it returns `Some`, for at most `bound`; panics with `what`
/// when it never does.
pub fn wait_for<T>(what: &str, bound: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + bound;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < end, "{what}: not within {bound:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `url` answers HTTP 200.
pub(crate) fn wait_until_ready(name: &str, url: &str, log: &Path) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = ureq::get(url).call() {
            if response.status() == 200 {
                return;
            }
        }
        if Instant::now() > end {
            panic!(
                "{name} did not become ready at {url} within 60 s; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
