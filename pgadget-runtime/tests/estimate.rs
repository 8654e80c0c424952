//! The estimate: the process's CPU time times the TDP's share of one logical CPU of the
//! *machine*, whatever CPUs the process is allowed to run on, with a TDP that makes sense.

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::energy::{doctor, machine_logical_cpus, SourceConfig};
use pgadget_runtime::{Metadata, PowerMeter};
use pgadget_test_support::cpu::burn_cpu;
use pgadget_test_support::meter::estimate_env;
use std::time::Duration;

/// A meter estimating with `tdp` watts, logging into `dir`.
fn meter(dir: &std::path::Path, tdp: f64) -> PowerMeter {
    PowerMeter::builder()
        .environment(estimate_env())
        .cpu_tdp(tdp)
        .get_country(false)
        .log_path(dir.join("log.csv"))
        .build()
        .expect("a valid meter")
}

#[cfg(target_os = "linux")]
#[test]
fn a_process_pinned_to_one_cpu_is_charged_one_share_of_the_whole_machine() {
    let dir = tempfile::tempdir().unwrap();
    let out = pgadget_test_support::child::ChildTest::new("pinned_child")
        .env("LOG_DIR", dir.path())
        .run();
    let rows = pgadget_runtime::get_logged_data(dir.path().join("log.csv")).unwrap();
    assert_eq!(rows.len(), 1, "{out:?}");
    let row = &rows[0];
    let (online, _) = machine_logical_cpus();
    // The estimate and "Process CPU Time" come from the same two readings of the CPU time.
    let cpu_secs = row.process_cpu_secs.expect("a process CPU time");
    let expected = cpu_secs * 65.0 / online as f64;
    let logged = row.package_mwh.expect("an estimated package energy") * 3.6;
    assert!(cpu_secs >= 0.2, "{row:?}");
    assert!(
        (logged - expected).abs() <= expected * 1e-9,
        "logged {logged} J for {cpu_secs} s of CPU time; {expected} J is 65 W / {online} online \
         CPUs"
    );
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "run by a_process_pinned_to_one_cpu_is_charged_one_share_of_the_whole_machine"]
fn pinned_child() {
    let dir = std::path::PathBuf::from(pgadget_test_support::child::child_var("LOG_DIR"));
    // `taskset -c 0`: this process may only run on CPU 0.
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes one bit of it; the call reads
    // the set we own and changes only this process's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
    assert_eq!(
        std::thread::available_parallelism().unwrap().get(),
        1,
        "the affinity mask is one CPU"
    );
    meter(&dir, 65.0).measure_power(Metadata::new("pgadget-tests", "pinned"), || {
        burn_cpu(Duration::from_millis(200))
    });
}

#[test]
fn doctor_says_what_the_estimate_assumes() {
    let config = SourceConfig {
        forced: Some(vec!["estimate".into()]),
        cpu_tdp_watts: 95.0,
        ..SourceConfig::from_env(&EnvConfig::default(), None, None)
    };
    let report = doctor::report(&config).text;
    let (online, how) = machine_logical_cpus();
    assert!(
        report.contains(&format!(
            "assumes: the TDP (95 W: PGADGET_CPU_TDP or the builder's `cpu_tdp`, else 65 W) is the \
             power of all the machine's CPUs together, shared equally by its {online} online \
             logical CPUs (counted with {how}, whatever CPUs this process is pinned to)"
        )),
        "{report}"
    );
    assert!(
        report.contains("not counted: idle power, turbo, memory and GPUs"),
        "{report}"
    );
}

#[test]
fn an_absurd_tdp_is_refused_by_the_builder_and_in_the_environment() {
    let e = PowerMeter::builder()
        .environment(estimate_env())
        .cpu_tdp(1e308)
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cpu_tdp: a CPU TDP is at most 5000 W (eight sockets of the largest parts), got 1e308 W"
    );
    assert!(PowerMeter::builder().cpu_tdp(0.0).build().is_err());
    assert!(PowerMeter::builder().cpu_tdp(f64::NAN).build().is_err());

    let env = EnvConfig::from_lookup(|key| (key == "PGADGET_CPU_TDP").then(|| "1e308".to_string()));
    assert_eq!(env.cpu_tdp, None);
    assert_eq!(
        env.problems,
        [
            "PGADGET_CPU_TDP=\"1e308\": a CPU TDP is at most 5000 W (eight sockets of the largest \
          parts), got 1e308 W; using the default TDP"
        ]
    );
    // The meter goes on with the default, and says so in doctor.
    let report = doctor::report(&SourceConfig {
        forced: Some(vec!["estimate".into()]),
        ..SourceConfig::from_env(&env, None, None)
    })
    .text;
    assert!(report.contains("(TDP 65 W / "), "{report}");
}
