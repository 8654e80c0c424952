//! What the servers pgadget ships to have in common in tests: finding their programs, the
//! one place a test may be skipped at run time, and free loopback ports.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `program`, which the test needs. A test that needs a server is `#[ignore]`d where it is not
/// installed (the build scripts of `pgadget-runtime` and `pgadget-cli` look, and set
/// `pgadget_test_postgresql`, `pgadget_test_prometheus`, `pgadget_test_pushgateway`); one
/// that runs anyway (in CI, or with `--include-ignored`) fails here naming the Debian package.
pub fn require(test: &str, program: &Path, package: &str) -> PathBuf {
    assert!(
        program.is_file(),
        "{test}: {} is not installed: install the Debian package `{package}` (apt-get install \
         {package}; .ci/run does it) to run this test",
        program.display()
    );
    program.to_path_buf()
}

/// Whether `program` is installed; otherwise says, straight to the terminal (past any
/// capture), that `what` is skipped and which Debian package to install. For benchmarks,
/// which have no `#[ignore]`.
pub fn installed_or_say(what: &str, program: &Path, package: &str) -> bool {
    if program.is_file() {
        return true;
    }
    let bar = "=".repeat(78);
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\nSKIPPED {what}: {} is not installed: install the Debian package \
         `{package}` (apt-get install {package}).\n{bar}\n",
        program.display()
    );
    false
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
