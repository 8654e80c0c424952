//! The NVML source against a stand-in NVML library (`tests/nvml-stub`), loaded through the
//! same setting users have (`SourceConfig::nvml_lib`, i.e. `PGADGET_NVML_LIB`).
//!
//! The stub is built by the first test that needs it, with the cargo that runs the tests, into
//! its own target directory under `CARGO_TARGET_TMPDIR` (a separate directory, so the build does
//! not wait on the lock of the build that is running these tests). It takes a second or two.
//! Each test loads its own copy of the library, told which GPUs to play by a `.gpus` file next
//! to it, so tests running side by side in threads share neither state nor environment.
// The NVML source exists only with the `nvml` feature (on by default).
#![cfg(feature = "nvml")]

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::energy::nvml;
use pgadget_runtime::energy::{Cell, EnergySource, SourceConfig, SourceError, SourceKind};
use pgadget_runtime::{Metadata, PowerMeter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Builds the stub once per test process and returns the built library.
fn stub_library() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvml-stub/Cargo.toml");
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nvml-stub");
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let output = Command::new(cargo)
            .args(["build", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("run cargo to build the NVML stub");
        assert!(
            output.status.success(),
            "building {} failed:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        target.join("debug").join(format!(
            "{}pgadget_nvml_stub{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    })
}

/// A private copy of the stub playing `gpus` (see the stub's docs for the syntax).
struct FakeDriver {
    _dir: tempfile::TempDir,
    library: PathBuf,
}

fn fake_driver(gpus: &str) -> FakeDriver {
    let dir = tempfile::tempdir().expect("temp dir");
    let library = dir.path().join("libnvidia-ml.so.1");
    std::fs::copy(stub_library(), &library).expect("copy the stub library");
    std::fs::write(dir.path().join("libnvidia-ml.so.1.gpus"), gpus).expect("write .gpus");
    FakeDriver { _dir: dir, library }
}

fn config(library: &Path) -> SourceConfig {
    SourceConfig {
        nvml_lib: Some(library.to_path_buf()),
        forced: Some(vec!["nvml".into()]),
        ..SourceConfig::from_env(&EnvConfig::default(), None, None)
    }
}

fn probe(driver: &FakeDriver) -> Result<Arc<dyn EnergySource>, SourceError> {
    nvml::probe(&config(&driver.library))
}

/// Measures a window of at least `window` and returns (GPU joules, the outer bound of the
/// window's length in seconds).
fn measure(source: &dyn EnergySource, window: Duration) -> (f64, f64) {
    let outer = Instant::now();
    let begun = source.begin().expect("begin");
    std::thread::sleep(window);
    let used = source.end(begun).expect("end");
    let outer = outer.elapsed().as_secs_f64();
    assert_eq!(
        used.package,
        Cell::NotMeasured,
        "a GPU source must not report CPU energy"
    );
    (used.gpu.joules().expect("GPU energy"), outer)
}

/// The stub's energy advances at exactly `watts` between the two readings of a window, which
/// lie inside [begin, end]: at least `watts` x the sleep, at most `watts` x the outer time.
/// The stub's counter is whole millijoules, hence the 2 mJ of slack.
fn assert_energy_for_power(joules: f64, watts: f64, window: Duration, outer: f64) {
    let low = watts * window.as_secs_f64() - 0.002;
    let high = watts * outer + 0.002;
    assert!(
        (low..=high).contains(&joules),
        "{joules} J measured; at {watts} W the window allows {low}..={high} J"
    );
}

#[test]
fn a_volta_gpu_is_read_from_its_energy_counter() {
    let driver = fake_driver("volta:150000");
    let source = probe(&driver).expect("the stub's GPU is found");
    assert_eq!(source.name(), "nvml");
    assert_eq!(source.kind(), SourceKind::Gpu);
    let described = source.describe().join("\n");
    assert!(described.contains("GPU 0: Tesla V100"), "{described}");
    assert!(described.contains("energy counter"), "{described}");

    let window = Duration::from_millis(300);
    let (joules, outer) = measure(source.as_ref(), window);
    assert_energy_for_power(joules, 150.0, window, outer);
}

#[test]
fn a_gpu_without_energy_counter_is_integrated_from_its_power() {
    let driver = fake_driver("pascal:100000");
    let source = probe(&driver).expect("the stub's GPU is found");
    let described = source.describe().join("\n");
    assert!(described.contains("GPU 0: Tesla P100"), "{described}");
    assert!(
        described.contains("power sampled every 100 ms"),
        "{described}"
    );

    // Longer than a few sampling periods, so the background samples take part.
    let window = Duration::from_millis(450);
    let (joules, outer) = measure(source.as_ref(), window);
    assert!(
        joules > 0.0,
        "a GPU without energy counter must not report 0"
    );
    assert_energy_for_power(joules, 100.0, window, outer);
}

#[test]
fn several_gpus_are_summed() {
    let driver = fake_driver("volta:150000,pascal:100000");
    let source = probe(&driver).expect("the stub's GPUs are found");
    let described = source.describe();
    assert_eq!(described.len(), 3, "library + 2 GPUs: {described:?}");

    let window = Duration::from_millis(300);
    let (joules, outer) = measure(source.as_ref(), window);
    assert_energy_for_power(joules, 250.0, window, outer);
}

#[test]
fn a_gpu_with_neither_counter_nor_power_is_named_not_counted_as_zero() {
    let driver = fake_driver("volta:150000,blind");
    let source = probe(&driver).expect("the Volta GPU is still measured");
    let described = source.describe().join("\n");
    assert!(
        described.contains(
            "GPU 1 (GeForce GT 710 (stub)) reports neither its energy nor its power (NVML: the \
             requested operation is not available on the target device): not measured"
        ),
        "{described}"
    );
    assert!(
        described
            .contains("the GPU column is left empty in every row: it is the total of all 2 GPUs"),
        "{described}"
    );
    // The Volta alone is not the total of the two GPUs.
    let begun = source.begin().expect("begin");
    let used = source.end(begun).expect("end");
    assert!(used.gpu.lost().is_some(), "{used:?}");

    let driver = fake_driver("blind");
    let e = probe(&driver).expect_err("no GPU can be measured");
    assert_eq!(e.source_name, "nvml");
    assert!(
        e.what.contains("no GPU reports its energy or its power"),
        "{}",
        e.what
    );
}

#[test]
fn nvml_without_gpus_or_driver_is_unavailable_with_a_reason() {
    let e = probe(&fake_driver("none")).expect_err("no GPU");
    assert_eq!(e.what, "NVML is installed but reports no GPU");

    let e = probe(&fake_driver("driver-not-loaded")).expect_err("no driver");
    assert!(e.what.contains("driver is not loaded"), "{}", e.what);
    assert!(e.remedy.as_deref().unwrap_or("").contains("nvidia-smi"));
}

#[test]
fn a_library_that_is_not_nvml_is_rejected_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = dir.path().join("libnvidia-ml.so.1");
    std::fs::write(&fake, b"not a shared library").expect("write");
    let e = nvml::probe(&config(&fake)).expect_err("garbage must not load");
    assert!(e.what.contains(&fake.display().to_string()), "{}", e.what);
    assert!(e
        .remedy
        .as_deref()
        .unwrap_or("")
        .contains("PGADGET_NVML_LIB"));
}

#[test]
fn the_meter_logs_gpu_energy_and_gpu_time() {
    let driver = fake_driver("volta:150000");
    let dir = tempfile::tempdir().expect("temp dir");
    let env = EnvConfig {
        nvml_lib: Some(driver.library.clone()),
        sources: Some(vec!["estimate".into(), "nvml".into()]),
        offline: true,
        ..EnvConfig::default()
    };
    let meter = PowerMeter::builder()
        .environment(env)
        .log_path(dir.path().join("log.csv"))
        .build()
        .expect("meter");
    assert_eq!(meter.energy_source(), "estimate+nvml");

    let window = Duration::from_millis(300);
    let outer = Instant::now();
    let measurement = meter.start(Metadata::new("test", "sleep"));
    std::thread::sleep(window);
    let record = measurement.finish().expect("a row");
    let outer = outer.elapsed().as_secs_f64();

    assert_eq!(record.energy_source, "estimate+nvml");
    assert_eq!(record.gpu_elapsed_secs, record.elapsed_secs);
    let mwh = record.gpu_mwh.expect("GPU energy in the row");
    assert_energy_for_power(mwh * 3.6, 150.0, window, outer);
}

/// A meter measuring the CPU by the estimate and the GPUs of `driver`, logging into `dir`.
fn gpu_meter(driver: &FakeDriver, dir: &Path) -> PowerMeter {
    let meter = PowerMeter::builder()
        .environment(EnvConfig {
            nvml_lib: Some(driver.library.clone()),
            sources: Some(vec!["estimate".into(), "nvml".into()]),
            offline: true,
            ..EnvConfig::default()
        })
        .log_path(dir.join("log.csv"))
        .build()
        .expect("meter");
    assert_eq!(meter.energy_source(), "estimate+nvml");
    meter
}

fn measured_row(meter: &PowerMeter, window: Duration) -> (pgadget_runtime::Record, f64) {
    let outer = Instant::now();
    let measurement = meter.start(Metadata::new("test", "gpus"));
    std::thread::sleep(window);
    let record = measurement.finish().expect("a row");
    (record, outer.elapsed().as_secs_f64())
}

#[test]
fn the_gpu_cell_is_the_total_of_every_gpu() {
    let driver = fake_driver("volta:150000,volta:100000,pascal:50000");
    let dir = tempfile::tempdir().expect("temp dir");
    let window = Duration::from_millis(400);
    let (record, outer) = measured_row(&gpu_meter(&driver, dir.path()), window);
    let joules = record.gpu_mwh.expect("GPU energy") * 3.6;
    assert_energy_for_power(joules, 300.0, window, outer);
    assert_eq!(record.energy_note, "");
    assert!(record.co2_g.is_some());
}

#[test]
fn a_gpu_that_reports_nothing_leaves_the_gpu_cell_and_co2_empty_with_the_reason() {
    let driver = fake_driver("volta:150000,volta:150000,blind");
    let dir = tempfile::tempdir().expect("temp dir");
    let (record, _) = measured_row(&gpu_meter(&driver, dir.path()), Duration::from_millis(200));
    assert_eq!(
        record.gpu_mwh, None,
        "not the sum of two GPUs of three: {record:?}"
    );
    assert!(record.package_mwh.is_some(), "the CPU is still measured");
    assert_eq!(record.co2_g, None, "CO2 would miss the GPUs: {record:?}");
    assert_eq!(
        record.energy_note,
        "GPU empty: GPU 2 (GeForce GT 710 (stub)) reports neither its energy nor its power \
         (NVML: the requested operation is not available on the target device), so the total of \
         the 3 GPUs is unknown; run `pgadget doctor`; CO2 empty: it would leave out the GPU \
         energy"
    );
    assert_eq!(record.gpu_elapsed_secs, record.elapsed_secs);
}

#[test]
fn a_gpu_lost_during_the_window_leaves_the_gpu_cell_empty_and_names_it() {
    // The second GPU answers the probe and the window's first reading, then falls off the bus.
    let driver = fake_driver("volta:150000,lost,volta:150000");
    let dir = tempfile::tempdir().expect("temp dir");
    let (record, _) = measured_row(&gpu_meter(&driver, dir.path()), Duration::from_millis(200));
    assert_eq!(record.gpu_mwh, None, "{record:?}");
    assert_eq!(record.co2_g, None, "{record:?}");
    assert!(
        record.energy_note.starts_with(
            "GPU empty: GPU 1 (Tesla V100-SXM2-16GB (stub)) could not read its energy counter ("
        ) && record
            .energy_note
            .contains("), so the total of the GPUs is unknown; check it with `nvidia-smi`"),
        "{}",
        record.energy_note
    );
}
