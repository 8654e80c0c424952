//! The PowerLog source: its parser on recorded-style outputs (`tests/fixtures/powerlog/`), and
//! the whole source driven through a scripted `PowerLog` stand-in that honours `-file` and
//! `-cmd` like the real tool.
#![cfg(unix)]

use pgadget_runtime::config::EnvConfig;
use pgadget_runtime::energy::powerlog::{self, parse_output, PowerLog, Totals};
use pgadget_runtime::energy::{EnergySource, SourceConfig, SourceKind};
use pgadget_runtime::{Metadata, PowerMeter};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/powerlog")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn macos_output_is_read_from_its_quoted_summary() {
    let t = parse_output(&fixture("macos.csv")).unwrap();
    assert!(t.from_summary);
    assert!(close(t.package_mwh, 17.039005), "{t:?}");
    assert!(close(t.cores_mwh, 9.882623), "{t:?}");
    assert!(close(t.dram_mwh, 1.892306), "{t:?}");
    assert!(close(t.gt_mwh, 0.118891), "{t:?}");
    assert!(close(t.elapsed_secs, 9.992571), "{t:?}");
}

#[test]
fn sockets_are_summed_and_processor_means_package() {
    let t = parse_output(&fixture("macos-2-sockets.csv")).unwrap();
    assert!(close(t.package_mwh, 6.042865 + 5.704157), "{t:?}");
    assert!(close(t.cores_mwh, 4.834292 + 4.563326), "{t:?}");
    assert!(close(t.dram_mwh, 0.663293 + 0.664388), "{t:?}");
    assert!(close(t.gt_mwh, 0.0), "a measured 0 stays a 0: {t:?}");
}

#[test]
fn windows_output_is_read_from_its_unquoted_summary() {
    let t = parse_output(&fixture("windows.csv")).unwrap();
    assert!(t.from_summary);
    assert!(close(t.package_mwh, 13.383093), "{t:?}");
    assert!(close(t.cores_mwh, 8.297518), "{t:?}");
    assert!(close(t.dram_mwh, 2.043489), "{t:?}");
    assert!(close(t.gt_mwh, 0.873762), "{t:?}");
    let reading = t.reading();
    assert!((reading.package.unwrap() - 13.383093 * 3.6).abs() < 1e-9);
    assert_eq!(
        reading.gpu, None,
        "GT is inside the package, not a GPU of its own"
    );
}

#[test]
fn a_killed_powerlog_falls_back_to_the_last_complete_row() {
    // No summary, and the last row was cut off mid-write: the row before it counts.
    let t = parse_output(&fixture("windows-killed.csv")).unwrap();
    assert_eq!(
        t,
        Totals {
            package_mwh: Some(1.450),
            cores_mwh: Some(1.015),
            dram_mwh: Some(0.121),
            gt_mwh: Some(0.021),
            elapsed_secs: None,
            from_summary: false,
        }
    );
}

#[test]
fn an_output_without_energy_fails_clearly() {
    let header_only = fixture("windows-killed.csv")
        .lines()
        .next()
        .unwrap()
        .to_string();
    let e = parse_output(&header_only).unwrap_err();
    assert!(e.contains("no complete sample row"), "{e}");

    let e = parse_output("hello,world\n1,2\n").unwrap_err();
    assert!(e.contains("no cumulative energy column"), "{e}");
}

/// Writes an executable stand-in for PowerLog into `dir`. It parses `-file` and `-cmd` like the
/// real tool, records its arguments in `args.txt` next to itself, writes a header and a sample
/// row, runs its command (which returns when pgadget closes the pipe), and then writes
/// `after_cmd` (more rows and the summary).
fn scripted_powerlog(dir: &Path, before_cmd: &str, after_cmd: &str) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
here=$(dirname "$0")
echo "$@" > "$here/args.txt"
out=""
cmd=""
while [ $# -gt 0 ]; do
  case "$1" in
    -file) out="$2"; shift 2 ;;
    -resolution|-duration) shift 2 ;;
    -cmd) shift; cmd="$*"; break ;;
    *) echo "PowerLog: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || {{ echo "PowerLog: no -file" >&2; exit 2; }}
echo "$out" > "$here/file.txt"
cat > "$out" <<'ROWS'
{before_cmd}ROWS
$cmd
cat >> "$out" <<'SUMMARY'
{after_cmd}SUMMARY
"#
    );
    let path = dir.join("PowerLog");
    std::fs::write(&path, script).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

const HEADER: &str = "\"System Time\",\"RDTSC\",\"Elapsed Time (sec)\",\"Cumulative Package Energy_0(mWh)\",\"Cumulative IA Energy_0(mWh)\",\"Cumulative DRAM Energy_0(mWh)\",\"Cumulative GT Energy_0(mWh)\"\n\
\"10:00:00:100\",\"1000\",\"   0.100\",\"0.150\",\"0.090\",\"0.020\",\"0.001\"\n";
const SUMMARY: &str =
    "\"10:00:00:200\",\"2000\",\"   0.200\",\"0.300\",\"0.180\",\"0.040\",\"0.002\"\n\
\n\
\"Total Elapsed Time (sec) = 0.250000\"\n\
\n\
\"Cumulative Package Energy_0 (Joules) = 1.260000\"\n\
\"Cumulative Package Energy_0 (mWh) = 0.350000\"\n\
\n\
\"Cumulative IA Energy_0 (mWh) = 0.200000\"\n\
\"Cumulative DRAM Energy_0 (mWh) = 0.050000\"\n\
\"Cumulative GT Energy_0 (mWh) = 0.003000\"\n";

fn config(powerlog: &Path) -> SourceConfig {
    SourceConfig {
        powercap_root: PathBuf::from("/nonexistent"),
        msr_dir: PathBuf::from("/nonexistent"),
        nvml_lib: None,
        powerlog_path: Some(powerlog.to_path_buf()),
        cpu_tdp_watts: 65.0,
        forced: Some(vec!["powerlog".into()]),
    }
}

#[test]
fn a_window_runs_powerlog_until_its_end_and_reads_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let exe = scripted_powerlog(dir.path(), HEADER, SUMMARY);
    let source = powerlog::probe(&config(&exe)).expect("an executable PowerLog is usable");
    assert_eq!(source.name(), "powerlog");
    assert_eq!(source.kind(), SourceKind::Cpu);
    assert!(source.describe()[0].contains(&exe.display().to_string()));

    let begun = source.begin().expect("PowerLog starts");
    let used = source.end(begun).expect("PowerLog's output is read");
    // The summary (written after the command exited), not the last row.
    assert!(
        (used.package.unwrap() - 0.35 * 3.6).abs() < 1e-9,
        "{used:?}"
    );
    assert!((used.cores.unwrap() - 0.2 * 3.6).abs() < 1e-9, "{used:?}");
    assert!((used.dram.unwrap() - 0.05 * 3.6).abs() < 1e-9, "{used:?}");
    assert_eq!(used.gpu, None, "GT is inside the package: {used:?}");

    let args = std::fs::read_to_string(dir.path().join("args.txt")).unwrap();
    assert!(args.starts_with("-resolution 100 -file "), "{args}");
    assert!(args.trim_end().ends_with("-cmd cat"), "{args}");
    let output = std::fs::read_to_string(dir.path().join("file.txt")).unwrap();
    assert!(
        !Path::new(output.trim()).exists(),
        "PowerLog's output {output} is removed after the window"
    );
}

#[test]
fn a_powerlog_that_must_be_killed_is_read_from_its_last_row() {
    let dir = tempfile::tempdir().unwrap();
    // Ignores its command and keeps sampling: only killing stops it.
    let rows = format!(
        "{HEADER}\"10:00:00:200\",\"2000\",\"   0.200\",\"0.310\",\"0.185\",\"0.041\",\"0.002\"\n"
    );
    let exe = scripted_powerlog(dir.path(), &rows, "");
    let script = std::fs::read_to_string(&exe).unwrap();
    std::fs::write(&exe, script.replace("\n$cmd\n", "\nexec sleep 600\n")).unwrap();
    let source = PowerLog::open(Some(&exe))
        .unwrap()
        .with_stop_grace(Duration::from_millis(50));

    let begun = source.begin().unwrap();
    // Let the stand-in write its rows before it is stopped.
    let file = dir.path().join("file.txt");
    for _ in 0..1000 {
        if file.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(file.exists(), "the stand-in PowerLog never started");
    std::thread::sleep(Duration::from_millis(100));
    let used = source.end(begun).expect("the last row is used");
    assert!(
        (used.package.unwrap() - 0.31 * 3.6).abs() < 1e-9,
        "{used:?}"
    );
    assert!((used.cores.unwrap() - 0.185 * 3.6).abs() < 1e-9, "{used:?}");
}

#[test]
fn a_powerlog_that_fails_is_reported_with_what_it_said() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("PowerLog");
    std::fs::write(
        &exe,
        "#!/bin/sh\necho 'Intel Power Gadget driver is not loaded' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let source = PowerLog::open(Some(&exe)).unwrap();
    let begun = source.begin().unwrap();
    let e = source.end(begun).unwrap_err();
    assert!(e.what.contains("wrote no output"), "{}", e.what);
    assert!(e.what.contains("exit status: 3"), "{}", e.what);
    assert!(e.what.contains("driver is not loaded"), "{}", e.what);
    assert!(e.remedy.unwrap().contains("-duration 1"));
}

#[test]
fn a_file_that_is_not_executable_is_refused_with_a_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("PowerLog");
    std::fs::write(&exe, "#!/bin/sh\n").unwrap();
    let e = PowerLog::open(Some(&exe)).unwrap_err();
    assert!(e.what.contains("is not executable"), "{}", e.what);
    assert!(e.remedy.unwrap().contains("chmod +x"));
}

#[test]
fn the_meter_logs_powerlog_energies_through_cpu_power_log_path() {
    let dir = tempfile::tempdir().unwrap();
    let exe = scripted_powerlog(dir.path(), HEADER, SUMMARY);
    let meter = PowerMeter::builder()
        .environment(EnvConfig {
            sources: Some(vec!["powerlog".into(), "estimate".into()]),
            offline: true,
            ..EnvConfig::default()
        })
        .cpu_power_log_path(&exe)
        .log_path(dir.path().join("log.csv"))
        .build()
        .unwrap();
    assert_eq!(meter.energy_source(), "powerlog");
    let record = meter
        .start(Metadata::new("test", "powerlog"))
        .finish()
        .expect("a row");
    assert_eq!(record.energy_source, "powerlog");
    assert!(
        (record.package_mwh.unwrap() - 0.35).abs() < 1e-9,
        "{record:?}"
    );
    assert!((record.cores_mwh.unwrap() - 0.2).abs() < 1e-9, "{record:?}");
    assert!((record.dram_mwh.unwrap() - 0.05).abs() < 1e-9, "{record:?}");
    assert_eq!(record.gpu_mwh, None, "GT is inside the package: {record:?}");
    assert_eq!(record.gpu_elapsed_secs, 0.0);
}
