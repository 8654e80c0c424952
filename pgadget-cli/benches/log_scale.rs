//! The command line on a large log: 5 million rows (about 1.3 GB), the size at which every
//! command used to need gigabytes. Targets: `summary` at 1 million rows/s or more, under 64 MiB
//! resident; every command in memory that does not grow with the log.
//!
//! ```text
//! cargo bench -p pgadget-cli --bench log_scale            # 5 million rows
//! PGADGET_BENCH_ROWS=500000 cargo bench -p pgadget-cli --bench log_scale
//! PGADGET_BENCH_LOG=/var/tmp/big.csv cargo bench -p pgadget-cli --bench log_scale summary
//! ```
//!
//! `PGADGET_BENCH_LOG` keeps the log at that path (written if it does not exist yet) for the
//! next run or a profiler; arguments select commands by name.
//!
//! The log is generated once in a temp dir (rows as the library writes them, varied like a
//! real log: 12 algorithms, 4 projects, 36 functions, one row a second, 260 bytes a row as in
//! the report that asked for this benchmark: 1.3 GB); each command is the
//! real `pgadget` binary, its output sent to /dev/null. Time is wall-clock from spawn to exit
//! with the log in the page cache (it was just written); peak RSS is the kernel's
//! `ru_maxrss` for that one child, as `wait4` returns it. On a shared machine the wall-clock
//! time says more about the other load than about pgadget, so the CPU time of each of the
//! command's threads is sampled from /proc too: the busiest thread's is what the wall-clock
//! time would be with a free core for each thread.

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("log_scale: this benchmark reads peak memory from Linux's wait4; skipped here");
}

#[cfg(target_os = "linux")]
mod linux {
    use chrono::{DateTime, Duration as ChronoDuration};
    use pgadget_runtime::log::{Record, RecordRef, HEADER};
    use std::io::{BufWriter, Write};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    const DEFAULT_ROWS: u64 = 5_000_000;
    const TARGET_ROWS_PER_SEC: f64 = 1_000_000.0;
    const TARGET_RSS_MIB: f64 = 64.0;

    const ALGORITHMS: [&str; 12] = [
        "RandomForest",
        "KMeans",
        "SVM",
        "LogisticRegression",
        "DecisionTree",
        "GaussianNB",
        "DBSCAN",
        "PCA",
        "ElasticNet",
        "LinearRegression",
        "KNN",
        "GradientBoosting",
    ];
    const PROJECTS: [&str; 4] = ["iris", "digits", "mnist classifier", "winequality"];
    const PACKAGES: [&str; 3] = ["linfa", "smartcore", "candle"];

    fn row(template: &mut Record, i: u64) {
        let a = (i % 12) as usize;
        template.datetime = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.123456+01:00")
            .expect("a valid date")
            + ChronoDuration::seconds(i as i64);
        template.project = PROJECTS[(i / 7 % 4) as usize].to_string();
        template.package = PACKAGES[a % 3].to_string();
        template.algorithm = ALGORITHMS[a].to_string();
        template.function = format!("bench::fit_{}", i % 36);
        template.algorithm_params = format!("depth={}", 3 + i % 9);
        let x = (i % 1000) as f64;
        // Numbers of 4 to 12 digits, as measurements print.
        template.elapsed_secs = 0.5 + x / 1024.0;
        template.package_mwh = Some(2.5 + x / 64.0);
        template.cores_mwh = Some(1.25 + x / 128.0);
        template.dram_mwh = Some(0.5 + x / 1024.0);
        template.co2_g = Some(0.001 + x / 131_072.0);
        template.process_cpu_secs = Some(0.4 + x / 1024.0);
        template.cpu_share = Some(x / 1024.0);
        template.row_id = format!("5b1f0c2e-93aa-8d41-8000-{i:012}");
    }

    /// Writes a log of `rows` rows at `path` as the library writes them.
    fn generate(path: &Path, rows: u64) {
        let file = std::fs::File::create(path).expect("create the bench log");
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(BufWriter::with_capacity(1 << 20, file));
        w.write_record(HEADER).expect("write the header");
        let mut template = RecordRef {
            datetime: DateTime::parse_from_rfc3339("2026-01-01T00:00:00+01:00")
                .expect("a valid date"),
            user: "ada",
            iso: "FR",
            country: "France",
            platform: "linux",
            project: "",
            elapsed_secs: 0.0,
            gpu_elapsed_secs: 0.0,
            package_mwh: None,
            cores_mwh: None,
            gpu_mwh: None,
            dram_mwh: None,
            pue: 1.58,
            co2_g: None,
            package: "",
            algorithm: "",
            algorithm_params: "",
            data_type: "tabular",
            data_shape: "[150, 4]",
            comments: "",
            function: "",
            energy_source: "powercap",
            process_cpu_secs: None,
            status: "ok",
            cpu_share: None,
            energy_note: "",
            row_id: "",
            host: "lab-7",
        }
        .to_record();
        for i in 0..rows {
            row(&mut template, i);
            w.serialize(&template).expect("write a row");
        }
        w.into_inner()
            .expect("flush the bench log")
            .flush()
            .expect("flush the bench log");
    }

    /// The rows of the log at `path` (its lines but the header: the bench rows hold no line
    /// breaks).
    fn count_rows(path: &Path) -> u64 {
        use std::io::Read;
        let mut file = std::fs::File::open(path).expect("open the bench log");
        let mut buf = vec![0u8; 1 << 20];
        let mut lines = 0u64;
        loop {
            let n = file.read(&mut buf).expect("read the bench log");
            if n == 0 {
                break;
            }
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        lines.saturating_sub(1)
    }

    struct Run {
        wall: Duration,
        cpu: Duration,
        /// The CPU time of its busiest thread: about its wall time on a machine with a free
        /// core for each of its threads.
        busiest_thread: Duration,
        max_rss_kib: i64,
        success: bool,
    }

    /// The CPU time (user + system) of each thread of `pid`, by thread id.
    fn thread_cpu(pid: libc::pid_t, seen: &mut std::collections::HashMap<String, u64>) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return;
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // utime and stime: fields 14 and 15, the 12th and 13th after the name.
            let Some(after) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
                continue;
            };
            let fields: Vec<u64> = after
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse().ok())
                .collect();
            let ticks = fields.iter().sum();
            let name = task.file_name().to_string_lossy().into_owned();
            seen.insert(name, ticks);
        }
    }

    /// Runs `pgadget args...` with stdout to /dev/null and returns its time and peak RSS.
    // The child is reaped by wait4, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    fn measure(args: &[&str]) -> Run {
        let start = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_pgadget"))
            .args(args)
            .env("PGADGET_OFFLINE", "1")
            .stdout(Stdio::null())
            .spawn()
            .expect("start pgadget");
        let pid = child.id() as libc::pid_t;
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is a plain C struct of integers, for which all-zero is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let mut threads = std::collections::HashMap::new();
        loop {
            // SAFETY: `pid` is our child, not yet waited for (std's Child never reaps on its
            // own), and both out-pointers point to live locals of the right types.
            let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
            if got == pid {
                break;
            }
            assert_eq!(got, 0, "wait4: {}", std::io::Error::last_os_error());
            thread_cpu(pid, &mut threads);
            std::thread::sleep(Duration::from_millis(10));
        }
        let wall = start.elapsed();
        let secs = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        // SAFETY: sysconf has no preconditions.
        let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let busiest = threads.values().copied().max().unwrap_or(0) as f64 / ticks_per_sec;
        Run {
            wall,
            cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
            busiest_thread: Duration::from_secs_f64(busiest),
            max_rss_kib: usage.ru_maxrss,
            success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        }
    }

    pub fn main() {
        // `cargo bench` passes `--bench`; a filter, if any, selects commands by name.
        let filter: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        let rows: u64 = std::env::var("PGADGET_BENCH_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_ROWS);
        let dir = tempfile::tempdir().expect("a temp dir");
        let log = match std::env::var_os("PGADGET_BENCH_LOG") {
            Some(path) => PathBuf::from(path),
            None => dir.path().join("power_logs.csv"),
        };
        let started = Instant::now();
        if log.exists() {
            println!("log: {} (kept from an earlier run)", log.display());
        } else {
            generate(&log, rows);
            println!("log: generated in {:.1} s", started.elapsed().as_secs_f64());
        }
        let bytes = std::fs::metadata(&log).expect("the bench log").len();
        let rows = count_rows(&log);
        println!(
            "log: {rows} rows, {:.2} GB, {} bytes a row",
            bytes as f64 / 1e9,
            bytes / rows.max(1)
        );
        let log_s = log.to_str().expect("a UTF-8 temp path");
        let svg = dir.path().join("out.svg");
        let svg_s = svg.to_str().expect("a UTF-8 temp path");
        let commands: Vec<(&str, Vec<&str>)> = vec![
            ("summary", vec!["summary", "--log", log_s]),
            (
                "summary-by-day",
                vec!["summary", "--by", "day", "--log", log_s],
            ),
            (
                "summary-json-filtered",
                vec!["summary", "--json", "--project", "iris", "--log", log_s],
            ),
            ("show-last-10", vec!["show", "--last", "10", "--log", log_s]),
            ("show-csv", vec!["show", "--csv", "--log", log_s]),
            ("show-json", vec!["show", "--json", "--log", log_s]),
            (
                "plot-by-function",
                vec!["plot", "--by", "function", "-o", svg_s, "--log", log_s],
            ),
        ];
        println!(
            "{:<24} {:>9} {:>9} {:>14} {:>14} {:>14} {:>11}",
            "command",
            "time (s)",
            "CPU (s)",
            "rows/s",
            "busiest th.(s)",
            "rows/s free",
            "RSS (MiB)"
        );
        for (name, args) in commands {
            if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let run = measure(&args);
            let secs = run.wall.as_secs_f64();
            let rate = rows as f64 / secs;
            let busiest = run.busiest_thread.as_secs_f64();
            let free_rate = rows as f64 / busiest.max(1e-3);
            let rss = run.max_rss_kib as f64 / 1024.0;
            let cpu = run.cpu.as_secs_f64();
            println!(
                "{name:<24} {secs:>9.2} {cpu:>9.2} {rate:>14.0} {busiest:>14.2} {free_rate:>14.0} {rss:>11.1}{}",
                if run.success { "" } else { "  (FAILED)" }
            );
            if name == "summary" {
                let verdict = |ok: bool| if ok { "met" } else { "missed" };
                println!(
                    "  target >= 1M rows/s and < 64 MiB: {} here ({:.2} of this machine's cores \
                     were ours); with a free core per thread (the busiest thread's CPU time): {}",
                    verdict(rate >= TARGET_ROWS_PER_SEC && rss < TARGET_RSS_MIB),
                    cpu / secs,
                    verdict(free_rate >= TARGET_ROWS_PER_SEC && rss < TARGET_RSS_MIB),
                );
            }
        }
        println!(
            "rows/s free: rows / the busiest thread's CPU time, the rate on a machine with a \
             free core for each of the command's threads"
        );
    }
}
