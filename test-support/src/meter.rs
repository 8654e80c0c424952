//! Meters for tests: they measure the same way on every machine and never touch the network.

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::PowerMeter;
use std::path::Path;

/// An environment that selects the CPU-time estimate, whatever counters the machine has.
pub fn estimate_env() -> EnvConfig {
    EnvConfig {
        sources: Some(vec!["estimate".into()]),
        ..EnvConfig::default()
    }
}

/// A meter writing to `log` with the estimate as its source and no country lookup.
pub fn estimate_meter(log: &Path) -> PowerMeter {
    meter_with(log, estimate_env())
}

/// A meter writing to `log`, configured by `env`, with no country lookup.
pub fn meter_with(log: &Path, env: EnvConfig) -> PowerMeter {
    PowerMeter::builder()
        .environment(env)
        .log_path(log)
        .get_country(false)
        .build()
        .expect("a valid meter configuration")
}

/// The environment of a meter reading the simulated powercap tree at `root` (and nothing
/// else) as on an Intel machine: the cpuinfo it is given (written next to `root`) says Intel,
/// whatever the machine running the test is.
pub fn powercap_env(root: &Path) -> EnvConfig {
    let cpuinfo = root.with_extension("cpuinfo");
    crate::cpu::intel_cpuinfo(&cpuinfo);
    EnvConfig {
        powercap_root: Some(root.to_path_buf()),
        cpuinfo: Some(cpuinfo),
        sources: Some(vec!["powercap".into()]),
        ..EnvConfig::default()
    }
}

/// A meter reading the simulated powercap tree at `root` (and nothing else) as on an Intel
/// machine, writing to `log`.
pub fn powercap_meter(root: &Path, log: &Path) -> PowerMeter {
    let meter = meter_with(log, powercap_env(root));
    assert_eq!(
        meter.energy_source(),
        "powercap",
        "the simulated tree at {} must be usable",
        root.display()
    );
    meter
}

/// A meter configured by the process environment (what a user's program gets), with the
/// estimate as its source and no country lookup: for child processes of the tests.
pub fn env_meter() -> PowerMeter {
    PowerMeter::builder()
        .environment(EnvConfig {
            sources: Some(vec!["estimate".into()]),
            ..EnvConfig::from_env()
        })
        .get_country(false)
        .build()
        .expect("a valid meter configuration")
}

/// Makes `threads` x `calls` measured calls with `meter` (package `test`, algorithm `ship`),
/// sleeping `pause` after each, and checks every call returns its own result.
pub fn make_calls(meter: &PowerMeter, threads: usize, calls: usize, pause: std::time::Duration) {
    std::thread::scope(|s| {
        for t in 0..threads {
            let meter = meter.clone();
            s.spawn(move || {
                for c in 0..calls {
                    let meta = pgadget_runtime::Metadata::new("test", "ship")
                        .comments(format!("t{t},c{c}"));
                    assert_eq!(meter.measure_power(meta, || c + t), c + t);
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                }
            });
        }
    });
}

/// How many threads [`child_calls_then_wait`] runs (a child variable).
pub const THREADS: &str = "PGADGET_TEST_THREADS";
/// How many calls each of its threads makes (a child variable).
pub const CALLS: &str = "PGADGET_TEST_CALLS";
/// The pause after each call, in milliseconds (optional; none if unset).
pub const PAUSE_MS: &str = "PGADGET_TEST_PAUSE_MS";
/// A file whose appearance ends the wait after the calls (optional; no wait if unset).
pub const STOP_FILE: &str = "PGADGET_TEST_STOP_FILE";

/// The body of a child process of the shipping tests: [`THREADS`] x [`CALLS`] measured calls
/// with [`env_meter`], [`PAUSE_MS`] after each, then, if [`STOP_FILE`] is set, a wait until
/// it exists (so the parent can change the world while the process lives), then a normal exit.
pub fn child_calls_then_wait() {
    let threads: usize = crate::child::child_var(THREADS).parse().unwrap();
    let calls: usize = crate::child::child_var(CALLS).parse().unwrap();
    let pause = std::env::var(PAUSE_MS)
        .map(|ms| std::time::Duration::from_millis(ms.parse().unwrap()))
        .unwrap_or_default();
    make_calls(&env_meter(), threads, calls, pause);
    if let Ok(stop) = std::env::var(STOP_FILE) {
        crate::engines::wait_for(
            "the parent's stop file",
            std::time::Duration::from_secs(120),
            || Path::new(&stop).exists().then_some(()),
        );
    }
}
