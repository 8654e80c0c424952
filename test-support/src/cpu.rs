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
