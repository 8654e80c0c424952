//! Busy work that the process's CPU time (and so the estimate) sees.

use std::time::{Duration, Instant};

/// Keeps one CPU busy until this process has used `cpu` more CPU time. Gives up with a panic
/// after a minute of wall-clock time, so a stopped clock cannot hang a test.
pub fn burn_cpu(cpu: Duration) {
    let cpu_time =
        || pgadget_runtime::energy::process_cpu_time().expect("the process's CPU time is readable");
    let start = cpu_time();
    let began = Instant::now();
    let mut x = 1u64;
    while cpu_time() - start < cpu {
        for _ in 0..1000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "{cpu:?} of CPU time took more than a minute"
        );
    }
    std::hint::black_box(x);
}

/// Writes a `/proc/cpuinfo` of two logical CPUs of `vendor` (`GenuineIntel`, `AuthenticAMD`),
/// family `family` and model `model`, for `PGADGET_CPUINFO`.
pub fn write_cpuinfo(path: &std::path::Path, vendor: &str, family: u32, model: u32) {
    let mut text = String::new();
    for cpu in 0..2 {
        text.push_str(&format!(
            "processor\t: {cpu}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: \
             {model}\nmodel name\t: simulated {vendor}\n\n"
        ));
    }
    std::fs::write(path, text).expect("write a simulated cpuinfo");
}

/// An Intel client CPU's cpuinfo (family 6, model 0x8C) at `path`.
pub fn intel_cpuinfo(path: &std::path::Path) {
    write_cpuinfo(path, "GenuineIntel", 6, 0x8C);
}

/// An AMD Zen 3 CPU's cpuinfo (family 0x19, model 0x21) at `path`.
pub fn amd_cpuinfo(path: &std::path::Path) {
    write_cpuinfo(path, "AuthenticAMD", 0x19, 0x21);
}
