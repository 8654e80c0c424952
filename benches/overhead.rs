//! The cost of one measured call of an empty function, per energy source, against the floor:
//! two reads of the same counters plus one append of a row of the same size, without pgadget.
//! Target: each source at most 1.5x its floor; in a tight loop, powercap (one socket) at most
//! 10 µs and the estimate at most 8 µs; calls spaced 2 ms apart (`spaced`) at most 1.5x the
//! floor spaced the same way.
//!
//! ```text
//! cargo bench --bench overhead
//! ```

use pgadget::{Metadata, PowerMeter};
use pgadget_runtime::config::EnvConfig;
use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn main() {
    divan::main();
}

/// A call costs tens of microseconds, so divan times one per sample; many samples keep the
/// median steady against the scheduler's noise.
const SAMPLES: u32 = 2000;

/// A scratch directory for the benchmark's logs and simulated counters.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temp dir"))
        .path()
}

/// A simulated powercap tree: `sockets` packages, each with core and DRAM subzones.
fn powercap_tree(sockets: usize) -> PathBuf {
    let root = scratch().join(format!("powercap-{sockets}"));
    if !root.exists() {
        pgadget_test_support::powercap::intel_tree(&root, sockets);
    }
    root
}

/// Sparse files standing in for `/dev/cpu/0/msr` of an Intel CPU.
fn msr_dir() -> PathBuf {
    let dir = scratch().join("msr");
    pgadget_test_support::msr::intel_cpu(&dir);
    dir
}

/// Points `env` at the powercap tree `root` of an Intel machine (whatever this machine's CPU):
/// its `core` zones are read, as the floor reads them.
fn intel(env: &mut EnvConfig, root: &Path) {
    let simulated = pgadget_test_support::meter::powercap_env(root);
    env.powercap_root = simulated.powercap_root;
    env.cpuinfo = simulated.cpuinfo;
}

fn meter(name: &str, env: EnvConfig) -> PowerMeter {
    PowerMeter::builder()
        .environment(env)
        .log_path(scratch().join(format!("{name}.csv")))
        .user_name("bench")
        .project_name("bench")
        .get_country(false)
        .build()
        .expect("valid configuration")
}

fn source_meter(sources: &str, configure: impl FnOnce(&mut EnvConfig)) -> PowerMeter {
    let mut env = EnvConfig {
        sources: Some(vec![sources.to_string()]),
        ..EnvConfig::default()
    };
    configure(&mut env);
    let m = meter(sources, env);
    assert_eq!(
        m.energy_source(),
        sources,
        "the benchmark must measure the source it names"
    );
    m
}

fn empty_meta() -> Metadata {
    Metadata::new("bench", "empty")
        .data_shape("[7000, 64]")
        .function("overhead::empty")
}

fn measured_empty_call(bencher: divan::Bencher, meter: PowerMeter) {
    let meta = empty_meta();
    bencher.bench_local(|| meter.measure_power(meta.clone(), || black_box(())));
}

#[divan::bench(sample_count = SAMPLES)]
fn estimate(bencher: divan::Bencher) {
    measured_empty_call(bencher, source_meter("estimate", |_| {}));
}

#[divan::bench(args = [1, 2], sample_count = SAMPLES)]
fn powercap(bencher: divan::Bencher, sockets: usize) {
    let root = powercap_tree(sockets);
    measured_empty_call(bencher, source_meter("powercap", |env| intel(env, &root)));
}

#[divan::bench(sample_count = SAMPLES)]
fn msr(bencher: divan::Bencher) {
    let dir = msr_dir();
    measured_empty_call(bencher, source_meter("msr", |env| env.msr_dir = Some(dir)));
}

/// A row of the size `meter` writes, for its floor.
fn typical_row(m: &PowerMeter) -> Vec<u8> {
    let record = m
        .start(
            Metadata::new("bench", "empty")
                .data_shape("[7000, 64]")
                .function("overhead::empty"),
        )
        .finish()
        .expect("enabled");
    record.to_csv_line().expect("serialises")
}

fn append_file(name: &str) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(scratch().join(format!("{name}.csv")))
        .unwrap()
}

/// What the floor for `files` does per call: two positioned reads of each counter file, one
/// locked append.
struct Floor {
    files: Vec<File>,
    log: File,
    row: Vec<u8>,
}

impl Floor {
    fn call(&self) {
        let mut buf = [0u8; 32];
        for _ in 0..2 {
            for f in &self.files {
                black_box(f.read_at(&mut buf, 0).unwrap());
            }
        }
        self.log.lock().unwrap();
        (&self.log).write_all(&self.row).unwrap();
        self.log.unlock().unwrap();
    }
}

/// The floor of powercap with `sockets` packages, appending to the log `name`.
fn powercap_floor(sockets: usize, name: &str) -> Floor {
    let root = powercap_tree(sockets);
    let mut files = Vec::new();
    for s in 0..sockets {
        let pkg = root.join(format!("intel-rapl:{s}"));
        files.push(File::open(pkg.join("energy_uj")).unwrap());
        files.push(File::open(pkg.join(format!("intel-rapl:{s}:0/energy_uj"))).unwrap());
        files.push(File::open(pkg.join(format!("intel-rapl:{s}:1/energy_uj"))).unwrap());
    }
    let row = typical_row(&source_meter("powercap", |env| intel(env, &root)));
    Floor {
        files,
        log: append_file(name),
        row,
    }
}

#[divan::bench(args = [1, 2], sample_count = SAMPLES)]
fn floor_powercap(bencher: divan::Bencher, sockets: usize) {
    let floor = powercap_floor(sockets, "floor-powercap");
    bencher.bench_local(|| floor.call());
}

/// Calls spaced the way programs make them: each sample sleeps 2 ms (untimed), then times one
/// call. After the sleep the caches (and the CPU's predictors) are cold, and a reading of the
/// machine's CPU time taken by an earlier call is 2 ms old, so this is what a call of a short
/// function costs in a real program; the tight loop above is the best case.
mod spaced {
    use super::*;

    const SPACING: std::time::Duration = std::time::Duration::from_millis(2);

    /// Fewer samples than the loop: each costs 2 ms of sleep.
    const SPACED_SAMPLES: u32 = 1000;

    #[divan::bench(sample_count = SPACED_SAMPLES, sample_size = 1)]
    fn powercap(bencher: divan::Bencher) {
        let root = powercap_tree(1);
        let meter = source_meter("powercap", |env| intel(env, &root));
        let meta = empty_meta();
        bencher
            .with_inputs(|| std::thread::sleep(SPACING))
            .bench_local_values(|()| meter.measure_power(meta.clone(), || black_box(())));
    }

    /// The kernel's part of a powercap call (see `parts::kernel_of_a_powercap_call`) after
    /// the same sleep.
    #[divan::bench(sample_count = SPACED_SAMPLES, sample_size = 1)]
    fn kernel_of_a_powercap_call(bencher: divan::Bencher) {
        let floor = powercap_floor(1, "spaced-kernel");
        let path = parts::c_path(&scratch().join("spaced-kernel.csv"));
        bencher
            .with_inputs(|| std::thread::sleep(SPACING))
            .bench_local_values(|()| {
                black_box(pgadget_runtime::energy::process_cpu_time().unwrap());
                black_box(pgadget_runtime::energy::process_cpu_time().unwrap());
                parts::narrow_statx(&path);
                floor.call();
            });
    }

    /// The floor's work after the same sleep.
    #[divan::bench(sample_count = SPACED_SAMPLES, sample_size = 1)]
    fn floor_powercap(bencher: divan::Bencher) {
        let floor = powercap_floor(1, "floor-powercap-spaced");
        bencher
            .with_inputs(|| std::thread::sleep(SPACING))
            .bench_local_values(|()| floor.call());
    }
}

#[divan::bench(sample_count = SAMPLES)]
fn floor_msr(bencher: divan::Bencher) {
    let dir = msr_dir();
    let f = File::open(dir.join("0/msr")).unwrap();
    let row = typical_row(&source_meter("msr", |env| env.msr_dir = Some(dir.clone())));
    // The three registers pgadget reads on this (Intel) CPU, at their offsets.
    let log = append_file("floor-msr");
    let mut buf = [0u8; 8];
    bencher.bench_local(|| {
        for _ in 0..2 {
            for reg in [0x611u64, 0x639, 0x619] {
                black_box(f.read_at(&mut buf, reg).unwrap());
            }
        }
        log.lock().unwrap();
        (&log).write_all(&row).unwrap();
        log.unlock().unwrap();
    });
}

#[divan::bench(sample_count = SAMPLES)]
fn floor_estimate(bencher: divan::Bencher) {
    let row = typical_row(&source_meter("estimate", |_| {}));
    let log = append_file("floor-estimate");
    bencher.bench_local(|| {
        // The estimate's counter is the CPU time of the process and its waited-for children.
        for _ in 0..2 {
            for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
                let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
                // SAFETY: getrusage fills the struct it is given.
                black_box(unsafe { libc::getrusage(who, usage.as_mut_ptr()) });
            }
        }
        log.lock().unwrap();
        (&log).write_all(&row).unwrap();
        log.unlock().unwrap();
    });
}

/// What a measured call does beyond its floor, part by part (each as the meter does it).
mod parts {
    use super::*;

    /// The check of the log's name that tells whether it was moved aside or replaced (by a
    /// file or by a link): a `statx` of the path asking for the inode and size only, as
    /// pgadget makes it.
    #[divan::bench]
    fn log_identity_statx(bencher: divan::Bencher) {
        let path = c_path(&scratch().join("parts.csv"));
        drop(append_file("parts"));
        bencher.bench_local(|| narrow_statx(&path));
    }

    /// A row's write after a full `lstat` of the log (which asks for the times, as
    /// `std::fs::symlink_metadata` does) against after the narrow `statx`: with multigrain
    /// timestamps a time that was looked at makes the next write update the inode.
    #[divan::bench(args = ["lstat", "statx"])]
    fn write_after(bencher: divan::Bencher, check: &str) {
        let name = format!("parts-write-after-{check}");
        let log = append_file(&name);
        let path = scratch().join(format!("{name}.csv"));
        let c = c_path(&path);
        let row = vec![b'x'; 270];
        bencher.bench_local(|| {
            if check == "lstat" {
                black_box(std::fs::symlink_metadata(&path).unwrap());
            } else {
                narrow_statx(&c);
            }
            (&log).write_all(&row).unwrap();
        });
    }

    /// The kernel's part of one powercap call (one socket) and nothing else: the floor's six
    /// reads, lock and write, plus what the row needs beyond them, the process's CPU time at
    /// both ends (`getrusage` for the process and for its children) and the check of the
    /// log's name. No measured call can cost less on this machine.
    #[divan::bench(sample_count = SAMPLES)]
    fn kernel_of_a_powercap_call(bencher: divan::Bencher) {
        let floor = powercap_floor(1, "parts-kernel");
        let path = c_path(&scratch().join("parts-kernel.csv"));
        bencher.bench_local(|| {
            black_box(pgadget_runtime::energy::process_cpu_time().unwrap());
            black_box(pgadget_runtime::energy::process_cpu_time().unwrap());
            narrow_statx(&path);
            floor.call();
        });
    }

    pub(super) fn c_path(path: &Path) -> std::ffi::CString {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap()
    }

    pub(super) fn narrow_statx(path: &std::ffi::CStr) {
        // SAFETY: `struct statx` holds integers only, for which all zero bytes are a value.
        let mut st: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is NUL-terminated and outlives the call; `st` is a `struct statx`.
        let rc = unsafe {
            libc::statx(
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
                libc::STATX_INO | libc::STATX_SIZE,
                &mut st,
            )
        };
        assert_eq!(rc, 0);
    }

    /// The process's CPU time (self and children), for "Process CPU Time", once per end.
    #[divan::bench]
    fn process_cpu_time() -> std::time::Duration {
        pgadget_runtime::energy::process_cpu_time().unwrap()
    }

    /// One reading of the machine's CPU time, for "Process CPU Share" (kept open, as pgadget).
    #[divan::bench]
    fn proc_stat_read(bencher: divan::Bencher) {
        let f = File::open("/proc/stat").unwrap();
        let mut buf = [0u8; 256];
        bencher.bench_local(|| f.read_at(&mut buf, 0).unwrap());
    }

    /// Formatting the row.
    #[divan::bench]
    fn csv_row(bencher: divan::Bencher) {
        let m = source_meter("estimate", |_| {});
        let record = m.start(Metadata::new("bench", "empty")).finish().unwrap();
        bencher.bench_local(|| black_box(&record).to_csv_line().unwrap());
    }

    /// The local time of the window's start, with its UTC offset.
    #[divan::bench]
    fn local_time() -> chrono::DateTime<chrono::FixedOffset> {
        chrono::Local::now().fixed_offset()
    }
}
