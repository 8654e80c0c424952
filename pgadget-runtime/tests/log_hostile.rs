//! The log among hostile files and processes: a link or a FIFO at its name, a device, another
//! process holding its lock, modes open to others, a disk that fills up or is read-only. In
//! each, every measured call returns its value promptly, nothing but the log is written, and
//! the user is told once what happened, how many rows were delayed or lost, and what to do.
#![cfg(unix)]

use pgadget_runtime::log::{read_log, MAX_DELAYED_ROWS};
use pgadget_runtime::{Metadata, PowerMeter, Record};
use pgadget_test_support::child::{child_var, ChildTest};
use pgadget_test_support::meter::estimate_env;
use pgadget_test_support::{stderr, stdout};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const CHILD_LOG: &str = "PGADGET_TEST_CHILD_LOG";
const CHILD_PAUSE_MS: &str = "PGADGET_TEST_CHILD_PAUSE_MS";

/// Long enough for any scene here to end; a child still running then is hung (the bug).
const HANG: Duration = Duration::from_secs(120);

/// A call that waited for a held lock would take as long as the lock is held (seconds here);
/// one that did not takes milliseconds. The margin is wide so a busy machine cannot fail it.
const PROMPT: Duration = Duration::from_secs(1);

fn meter(log: &Path) -> PowerMeter {
    PowerMeter::builder()
        .environment(estimate_env())
        .log_path(log)
        .user_name("tester")
        .project_name("hostile")
        .get_country(false)
        .build()
        .expect("a valid configuration")
}

/// One measured call tagged `tag` (in "Comment"), which must return promptly and its value.
fn call(m: &PowerMeter, tag: &str) {
    let started = Instant::now();
    let value = m.measure_power(
        Metadata::new("t", "hostile").comments(tag.to_string()),
        || 6 * 7,
    );
    let took = started.elapsed();
    assert_eq!(value, 42);
    assert!(took < PROMPT, "the call {tag} took {took:?}");
}

/// The comments of the log's rows, in order.
fn tags(log: &Path) -> Vec<String> {
    let contents = read_log(log).expect("the log reads back");
    assert!(contents.warnings.is_empty(), "{:?}", contents.warnings);
    contents.records.into_iter().map(|r| r.comments).collect()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

fn time(record: &Record) -> String {
    record.datetime.format("%Y-%m-%d %H:%M:%S%:z").to_string()
}

/// The child half of the tests of logs that cannot be written: three calls.
#[test]
#[ignore = "run as a child process by the tests of this file"]
fn three_calls_child() {
    let m = meter(Path::new(&child_var(CHILD_LOG)));
    for i in 0..3 {
        call(&m, &format!("c{i}"));
    }
    println!("RESULTS-INTACT");
}

/// Runs [`three_calls_child`] on `log` and returns its stderr, once it passed.
fn three_calls(child: ChildTest, log: &Path) -> String {
    passed(child.env(CHILD_LOG, log).output_within(HANG))
}

fn passed(out: Output) -> String {
    assert!(
        out.status.success() && stdout(&out).contains("1 passed"),
        "the child failed ({}):\n{}\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    stderr(&out)
}

/// The message for a log that cannot be used, and the one at exit for its three rows.
fn assert_refused_once(stderr: &str, log: &Path, why: &str, remedy: &str) {
    let refusal = format!("cannot write the power log {}: {why}", log.display());
    assert_eq!(count(stderr, &refusal), 1, "{stderr}");
    assert_eq!(count(stderr, "pgadget: cannot write"), 1, "{stderr}");
    assert!(stderr.contains(remedy), "{stderr}");
    let lost = format!("3 rows for the power log {}, measured from ", log.display());
    assert_eq!(count(stderr, &lost), 1, "{stderr}");
    assert!(
        stderr.contains("could not be written before the process exited and are lost"),
        "{stderr}"
    );
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_log_path_that_is_a_symlink_is_refused_and_its_target_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious.txt");
    std::fs::write(&target, "not a log\n").unwrap();
    let log = dir.path().join("power_logs.csv");
    std::os::unix::fs::symlink(&target, &log).unwrap();

    let stderr = three_calls(ChildTest::new("three_calls_child"), &log);

    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a log\n");
    assert!(std::fs::symlink_metadata(&log)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(names_in(dir.path()), ["power_logs.csv", "precious.txt"]);
    let why = format!("it is a symbolic link to {}", target.display());
    assert_refused_once(&stderr, &log, &why, "at the link's target itself");
}

#[test]
fn a_dangling_symlink_at_the_log_path_does_not_create_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.csv");
    let log = dir.path().join("power_logs.csv");
    std::os::unix::fs::symlink(&target, &log).unwrap();

    let stderr = three_calls(ChildTest::new("three_calls_child"), &log);

    assert!(!target.exists(), "the link's target was created");
    assert_eq!(names_in(dir.path()), ["power_logs.csv"]);
    let why = format!("it is a symbolic link to {}", target.display());
    assert_refused_once(&stderr, &log, &why, "replace the link by a regular file");
}

#[test]
fn a_fifo_at_the_log_path_neither_hangs_the_call_nor_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let name = std::ffi::CString::new(log.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path, which outlives the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);

    // A call that opened the FIFO to write would block until a reader came: never.
    let stderr = three_calls(ChildTest::new("three_calls_child"), &log);

    let why = "it is a FIFO (named pipe), not a regular file, and pgadget writes only to \
               regular files";
    assert_refused_once(&stderr, &log, why, "Point PGADGET_LOG");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&log)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn a_device_is_not_a_log() {
    for device in ["/dev/null", "/dev/full"] {
        let stderr = three_calls(ChildTest::new("three_calls_child"), Path::new(device));
        let why = "it is a character device, not a regular file";
        assert_refused_once(&stderr, Path::new(device), why, "set PGADGET_DISABLE=1");
    }
}

#[test]
fn a_file_where_the_log_needs_a_directory_is_named_as_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();

    let log = blocker.join("power_logs.csv");
    let stderr = three_calls(ChildTest::new("three_calls_child"), &log);
    let why = format!(
        "{} is a file, not a directory, so nothing can be inside it",
        blocker.display()
    );
    assert_refused_once(&stderr, &log, &why, "Point PGADGET_LOG");

    let log = blocker.join("logs/power_logs.csv");
    let stderr = three_calls(ChildTest::new("three_calls_child"), &log);
    assert_refused_once(&stderr, &log, &why, "Point PGADGET_LOG");
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");
}

/// Holds an exclusive lock on the log named by the parent until its stdin closes.
#[test]
#[ignore = "run as a child process by a_lock_held_by_another_process_stalls_no_call_and_the_rows_follow_in_order"]
fn lock_holder_child() {
    let file = File::open(child_var(CHILD_LOG)).unwrap();
    file.lock().unwrap();
    println!("LOCKED");
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest).unwrap();
}

/// Polls the log until it holds `n` rows (a read may catch a write half-way, so only the
/// final one is checked for torn rows); panics after `HANG`.
fn wait_for_rows(log: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + HANG;
    loop {
        let rows = read_log(log).expect("the log reads back").records.len();
        if rows >= n || Instant::now() > deadline {
            let tags = tags(log);
            assert_eq!(tags.len(), n, "{tags:?}");
            return tags;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_lock_held_by_another_process_stalls_no_call_and_the_rows_follow_in_order() {
    const THREADS: usize = 4;
    const CALLS: usize = 5;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let m = meter(&log);
    call(&m, "before");

    let mut holder = ChildTest::new("lock_holder_child").env(CHILD_LOG, &log);
    holder.command().stdin(Stdio::piped());
    let mut holder = holder.spawn_piped();
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    // The harness prints "test lock_holder_child ... " first, on the same line.
    let said_locked = lines.any(|l| l.unwrap().ends_with("LOCKED"));
    assert!(said_locked, "the holder took no lock");
    let locked = Instant::now();

    // Every thread calls while the lock is held: none waits for it (nor for each other).
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let m = m.clone();
            s.spawn(move || {
                for c in 0..CALLS {
                    call(&m, &format!("t{t},c{c}"));
                }
            });
        }
    });
    // Hold on for two seconds in all, a hundred times the bound a call waits.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(locked.elapsed()));
    assert_eq!(
        tags(&log),
        ["before"],
        "nothing is written under the held lock"
    );

    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());

    // The process is still running: its background writer writes the rows.
    let tags = wait_for_rows(&log, 1 + THREADS * CALLS);
    assert_eq!(tags[0], "before");
    for t in 0..THREADS {
        let mine: Vec<_> = tags
            .iter()
            .filter(|tag| tag.starts_with(&format!("t{t},")))
            .cloned()
            .collect();
        let expected: Vec<_> = (0..CALLS).map(|c| format!("t{t},c{c}")).collect();
        assert_eq!(mine, expected, "each thread's rows, once each and in order");
    }
}

/// Five calls while the parent holds the log's lock, then (after a pause) a normal exit.
#[test]
#[ignore = "run as a child process by the tests of a lock held at exit"]
fn delayed_rows_child() {
    let m = meter(Path::new(&child_var(CHILD_LOG)));
    for i in 0..5 {
        call(&m, &format!("c{i}"));
    }
    let pause: u64 = child_var(CHILD_PAUSE_MS).parse().unwrap();
    std::thread::sleep(Duration::from_millis(pause));
}

/// A log holding one row, and a lock on it held by this process.
fn locked_log(dir: &Path) -> (PathBuf, File) {
    let log = dir.join("power_logs.csv");
    call(&meter(&log), "before");
    let holder = File::open(&log).unwrap();
    holder.lock().unwrap();
    (log, holder)
}

#[test]
fn rows_delayed_by_a_held_lock_are_written_at_exit_once_it_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let (log, holder) = locked_log(dir.path());
    let mut child = ChildTest::new("delayed_rows_child")
        .env(CHILD_LOG, &log)
        .env(CHILD_PAUSE_MS, "1500")
        .spawn_piped();
    // The test harness prints its result as the child's main returns: from then on the
    // process is exiting, and only its exit flush can still write the rows.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        if line.unwrap().starts_with("test result: ok. 1 passed") {
            break;
        }
    }
    // Well within the exit flush's 1 s, even on a loaded machine.
    std::thread::sleep(Duration::from_millis(100));
    holder.unlock().unwrap();
    let stderr = passed_piped(child);

    assert_eq!(tags(&log), ["before", "c0", "c1", "c2", "c3", "c4"]);
    // The 1.5 s pause lets the user be told the lock is held; then how the delay ended.
    let held = format!(
        "the power log {} has been locked by another process for more than 1 s",
        log.display()
    );
    assert_eq!(count(&stderr, &held), 1, "{stderr}");
    let resumed = format!(
        "the power log {} is written again: 5 rows delayed since ",
        log.display()
    );
    assert_eq!(count(&stderr, &resumed), 1, "{stderr}");
    assert_eq!(count(&stderr, "lost"), 0, "{stderr}");
}

fn passed_piped(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn rows_still_locked_out_at_exit_are_reported_lost_with_their_count() {
    let dir = tempfile::tempdir().unwrap();
    let (log, holder) = locked_log(dir.path());
    // The lock is held until the child has ended: its exit flush waits a second, then gives up.
    let out = ChildTest::new("delayed_rows_child")
        .env(CHILD_LOG, &log)
        .env(CHILD_PAUSE_MS, "0")
        .output_within(HANG);
    drop(holder);
    let stderr = passed(out);

    assert_eq!(tags(&log), ["before"]);
    let lost = format!("5 rows for the power log {}, measured from ", log.display());
    assert_eq!(count(&stderr, &lost), 1, "{stderr}");
    assert!(
        stderr.contains(
            "could not be written before the process exited and are lost: another process \
             still held its lock after pgadget waited 1 s for it."
        ),
        "{stderr}"
    );
}

/// Measures once under umask 000, and makes a file with the default mode to show the umask.
#[test]
#[ignore = "run as a child process by under_umask_000_the_log_and_its_new_directories_stay_owner_only"]
fn umask_000_child() {
    // SAFETY: umask only sets the process's file mode creation mask.
    unsafe { libc::umask(0) };
    let log = PathBuf::from(child_var(CHILD_LOG));
    call(&meter(&log), "c0");
    std::fs::write(log.with_file_name("probe"), "").unwrap();
}

#[test]
fn under_umask_000_the_log_and_its_new_directories_stay_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a/b/power_logs.csv");
    ChildTest::new("umask_000_child").env(CHILD_LOG, &log).run();
    assert_eq!(mode(&dir.path().join("a/b/probe")), 0o666, "umask 000");
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    assert_eq!(mode(&log), 0o600);
}

#[test]
fn a_log_open_to_others_is_reported_once_and_left_as_it_is() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    call(&meter(&log), "before");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();

    let stderr = three_calls(ChildTest::new("three_calls_child"), &log);

    let notice = format!(
        "the power log {} can be read by other users (mode 0644)",
        log.display()
    );
    assert_eq!(count(&stderr, &notice), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("run `chmod 600 {}`", log.display())),
        "{stderr}"
    );
    assert_eq!(count(&stderr, "pgadget: "), 1, "{stderr}");
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "left as it was");
    assert_eq!(tags(&log), ["before", "c0", "c1", "c2"]);
}

#[cfg(target_os = "linux")]
mod tiny_disk {
    use super::*;

    const CHILD_DIR: &str = "PGADGET_TEST_CHILD_DIR";
    /// Rows that come while the backlog is full, and are lost.
    const LOST: usize = 3;

    /// Fills the disk of `path` with a file of zeros.
    fn fill(path: &Path) {
        use std::io::Write;
        let mut filler = File::create(path).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        loop {
            match filler.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => return,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }

    /// On a 4 MB tmpfs: rows until the disk is full, then a backlog filled past its bound,
    /// then space freed. Checks the log itself (the tmpfs ends with this process) and prints
    /// the times the parent finds in the messages.
    #[test]
    #[ignore = "run as a child process in a tmpfs by a_full_disk_delays_rows_and_says_how_many_were_delayed_and_lost"]
    fn full_disk_child() {
        let dir = PathBuf::from(child_var(CHILD_DIR));
        let log = dir.join("power_logs.csv");
        let m = meter(&log);
        let record = |n: usize| -> Record {
            m.start(Metadata::new("t", "hostile").comments(format!("c{n}")))
                .finish()
                .expect("an enabled meter gives a row")
        };
        record(0);
        fill(&dir.join("filler"));
        // The log's last page may hold a few more rows: the first row that does not grow
        // the file is the first one delayed.
        let len = || std::fs::metadata(&log).unwrap().len();
        let mut n = 1;
        let first_delayed = loop {
            let before = len();
            let r = record(n);
            if len() == before {
                break r;
            }
            n += 1;
            assert!(n < 1000, "the disk never filled");
        };
        let written_at_once = n;
        for k in 1..MAX_DELAYED_ROWS {
            record(n + k);
        }
        let lost: Vec<Record> = (0..LOST)
            .map(|k| record(n + MAX_DELAYED_ROWS + k))
            .collect();
        println!("DELAYED-SINCE={}", time(&first_delayed));
        println!("LOST-FROM={}", time(&lost[0]));
        println!("LOST-TO={}", time(&lost[LOST - 1]));

        std::fs::remove_file(dir.join("filler")).unwrap();
        wait_for_rows(&log, written_at_once + MAX_DELAYED_ROWS);
        // And writing goes on as usual.
        let last = n + MAX_DELAYED_ROWS + LOST;
        record(last);
        let expected: Vec<String> = (0..written_at_once + MAX_DELAYED_ROWS)
            .chain([last])
            .map(|i| format!("c{i}"))
            .collect();
        assert_eq!(tags(&log), expected);
    }

    fn printed(out: &str, key: &str) -> String {
        out.lines()
            .find_map(|l| Some(l.split_once(&format!("{key}="))?.1))
            .unwrap_or_else(|| panic!("the child printed no {key}:\n{out}"))
            .to_string()
    }

    #[test]
    fn a_full_disk_delays_rows_and_says_how_many_were_delayed_and_lost() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk");
        std::fs::create_dir(&disk).unwrap();
        let out = ChildTest::in_tmpfs("tiny_disk::full_disk_child", &disk, "size=4m")
            .env(CHILD_DIR, &disk)
            .output_within(HANG);
        let stdout = stdout(&out);
        let stderr = passed(out);
        let log = disk.join("power_logs.csv");

        let failed = format!(
            "pgadget: cannot write the power log {}: No space left on device",
            log.display()
        );
        assert_eq!(count(&stderr, &failed), 1, "{stderr}");
        assert_eq!(count(&stderr, "pgadget: cannot write"), 1, "{stderr}");
        assert!(stderr.contains("Free some space on its disk."), "{stderr}");
        let resumed = format!(
            "pgadget: the power log {} is written again: {MAX_DELAYED_ROWS} rows delayed since \
             {} were written, in order. {LOST} rows measured from {} to {} were lost: \
             {MAX_DELAYED_ROWS} rows were already waiting.\n",
            log.display(),
            printed(&stdout, "DELAYED-SINCE"),
            printed(&stdout, "LOST-FROM"),
            printed(&stdout, "LOST-TO"),
        );
        assert_eq!(count(&stderr, &resumed), 1, "{stderr}");
        assert_eq!(count(&stderr, "pgadget: "), 2, "{stderr}");
    }

    #[test]
    fn a_read_only_disk_is_reported_once_and_the_calls_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk");
        std::fs::create_dir(&disk).unwrap();
        let log = disk.join("power_logs.csv");
        let child = ChildTest::in_tmpfs("three_calls_child", &disk, "ro,size=64k");
        let stderr = three_calls(child, &log);
        assert_refused_once(&stderr, &log, "Read-only file system", "Make it writable");
    }
}
