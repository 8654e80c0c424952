//! Rows that could not be written at once: kept in memory, in order, and written later by the
//! same process, from a background thread and, at the latest, when the process exits.
//!
//! DESIGN: the caller never waits on anyone else beyond a short bound, and rows that cannot be
//! written at once are written later, in order, and never lost while the process lives. Memory
//! is not unlimited, so at most [`MAX_DELAYED_ROWS`] wait; the user is told how many rows were
//! delayed, and how many were lost (and from when to when) if that bound was reached or the
//! process ended before the log could be written.

use super::append::{AppendError, Failure, Shared, EXIT_WAIT};
use chrono::{DateTime, FixedOffset};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many rows may wait in memory for one log. Rows are a few hundred bytes, so this is at
/// most a few MB; a measured call that comes while the backlog is full is lost (and counted).
pub const MAX_DELAYED_ROWS: usize = 4096;

/// How long the log may be held locked by another process before the user is told.
pub const LONG_LOCK: Duration = Duration::from_secs(1);

/// Delayed rows are written in writes of about this size, so that a disk with a little space
/// takes what fits, and a lock is never held for one huge write.
const CHUNK_BYTES: usize = 64 * 1024;

/// The background writer retries every few milliseconds while another process holds the lock
/// (pgadget's own writers hold it for microseconds), and every second while writing fails.
const BUSY_PAUSE_MAX: Duration = Duration::from_millis(10);
const FAILED_PAUSE_MAX: Duration = Duration::from_secs(1);

/// One formatted row and when its window opened (to tell the user which rows were lost).
pub(super) struct Row {
    pub bytes: Vec<u8>,
    pub datetime: DateTime<FixedOffset>,
}

/// The rows waiting for one log, and the story of the current delay.
#[derive(Default)]
pub(super) struct Backlog {
    rows: VecDeque<Row>,
    episode: Option<Episode>,
}

/// A delay: from the first row that could not be written to the moment all are written.
struct Episode {
    started: Instant,
    /// The process that delayed the rows: a child forked meanwhile must not write them too.
    pid: u32,
    first: DateTime<FixedOffset>,
    /// Rows kept (written late, or still waiting).
    delayed: u64,
    lost: Option<Lost>,
    /// The latest failure, if writing failed for another reason than the lock.
    error: Option<String>,
    /// Whether the user was told of this delay (then they are told when it ends).
    announced: bool,
}

/// Rows dropped because [`MAX_DELAYED_ROWS`] were already waiting.
struct Lost {
    count: u64,
    first: DateTime<FixedOffset>,
    last: DateTime<FixedOffset>,
}

fn time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
}

fn rows(n: u64) -> String {
    if n == 1 {
        "1 row".into()
    } else {
        format!("{n} rows")
    }
}

impl Lost {
    fn sentence(&self, earlier: &str) -> String {
        format!(
            " {} measured from {} to {} were lost{earlier}: {MAX_DELAYED_ROWS} rows were \
             already waiting.",
            rows(self.count),
            time(&self.first),
            time(&self.last)
        )
    }
}

/// What the user should do about `error`, after pgadget's own sentence.
fn remedy(error: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    if let Some(refusal) = crate::files::NotARegularFile::of(error) {
        return if refusal.symlink {
            "Point PGADGET_LOG (or PowerMeter::log_path) at the link's target itself, or \
             replace the link by a regular file."
        } else {
            "Point PGADGET_LOG (or PowerMeter::log_path) at a regular file; to measure \
             nothing, set PGADGET_DISABLE=1."
        };
    }
    match error.kind() {
        StorageFull | QuotaExceeded => "Free some space on its disk.",
        ReadOnlyFilesystem | PermissionDenied => {
            "Make it writable, or point PGADGET_LOG (or PowerMeter::log_path) at a file in a \
             writable directory."
        }
        _ => {
            "Point PGADGET_LOG (or PowerMeter::log_path) at a file in a writable directory \
             with free space."
        }
    }
}

impl Backlog {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the rows wait only for the lock (nothing failed), so that a caller may take it
    /// in passing if it is free.
    pub fn waits_for_lock_only(&self) -> bool {
        self.episode.as_ref().is_some_and(|e| e.error.is_none())
    }

    /// Keeps `row` behind the others, or counts it lost when the backlog is full.
    pub fn delay(&mut self, row: Row) {
        let episode = self.episode.get_or_insert_with(|| Episode {
            started: Instant::now(),
            pid: std::process::id(),
            first: row.datetime,
            delayed: 0,
            lost: None,
            error: None,
            announced: false,
        });
        if self.rows.len() < MAX_DELAYED_ROWS {
            episode.delayed += 1;
            self.rows.push_back(row);
            return;
        }
        match &mut episode.lost {
            Some(lost) => {
                lost.count += 1;
                lost.last = row.datetime;
            }
            None => {
                episode.lost = Some(Lost {
                    count: 1,
                    first: row.datetime,
                    last: row.datetime,
                })
            }
        }
    }

    /// Notes why the rows could not be written. Returns the message for the user the first
    /// time writing fails for another reason than the lock during this delay.
    pub fn failed(&mut self, path: &Path, failure: Failure) -> Option<String> {
        let episode = self.episode.as_mut()?;
        let Failure::Io(source) = failure else {
            return None;
        };
        let text = AppendError {
            path: path.to_path_buf(),
            source,
        };
        let message = format!(
            "{text}. {} Meanwhile the measured functions run normally and their rows wait in \
             memory (up to {MAX_DELAYED_ROWS}), to be written in order once writing works again.",
            remedy(&text.source)
        );
        episode.error = Some(text.to_string());
        if episode.announced {
            return None;
        }
        episode.announced = true;
        Some(message)
    }

    /// The message for the user when another process has held the lock for [`LONG_LOCK`].
    pub fn long_lock(&mut self, path: &Path) -> Option<String> {
        let episode = self.episode.as_mut()?;
        if episode.announced || episode.error.is_some() || episode.started.elapsed() < LONG_LOCK {
            return None;
        }
        episode.announced = true;
        Some(format!(
            "the power log {} has been locked by another process for more than {} s; the \
             measured functions run normally and their rows wait in memory (up to \
             {MAX_DELAYED_ROWS}), to be written in order once it is released (on Linux, \
             `lslocks` shows which process holds it).",
            path.display(),
            LONG_LOCK.as_secs()
        ))
    }

    /// The oldest rows, up to about [`CHUNK_BYTES`] (at least one), as one buffer; how many
    /// they are; and the UTC offset of the first.
    pub fn next_chunk(&self) -> Option<(Vec<u8>, usize, FixedOffset)> {
        let first = self.rows.front()?;
        let mut bytes = Vec::with_capacity(CHUNK_BYTES.min(first.bytes.len() * self.rows.len()));
        let mut n = 0;
        for row in &self.rows {
            if n > 0 && bytes.len() + row.bytes.len() > CHUNK_BYTES {
                break;
            }
            bytes.extend_from_slice(&row.bytes);
            n += 1;
        }
        Some((bytes, n, *first.datetime.offset()))
    }

    /// Forgets the `n` oldest rows, now written.
    pub fn written(&mut self, n: usize) {
        self.rows.drain(..n.min(self.rows.len()));
    }

    /// Ends the delay once every row is written; the message for the user if they were told
    /// of the delay or rows were lost.
    pub fn resumed(&mut self, path: &Path) -> Option<String> {
        if !self.rows.is_empty() {
            return None;
        }
        let episode = self.episode.take()?;
        if !episode.announced && episode.lost.is_none() {
            return None;
        }
        let mut message = format!(
            "the power log {} is written again: {} delayed since {} {} written, in order.",
            path.display(),
            rows(episode.delayed),
            time(&episode.first),
            if episode.delayed == 1 { "was" } else { "were" }
        );
        if let Some(lost) = &episode.lost {
            message.push_str(&lost.sentence(""));
        }
        Some(message)
    }

    /// Gives up on the rows still waiting as the process exits, because of `failure`; the
    /// message for the user (`None` when nothing waited).
    pub fn lost_at_exit(&mut self, path: &Path, failure: Failure) -> Option<String> {
        let waiting = std::mem::take(&mut self.rows);
        let episode = self.episode.take()?;
        let (first, last) = (waiting.front()?.datetime, waiting.back()?.datetime);
        let cause = match failure {
            Failure::Busy => format!(
                "another process still held its lock after pgadget waited {} s for it",
                EXIT_WAIT.as_secs_f64()
            ),
            Failure::Io(e) => e.to_string(),
        };
        let mut message = format!(
            "{} for the power log {}, measured from {} to {}, could not be written before the \
             process exited and {} lost: {cause}.",
            rows(waiting.len() as u64),
            path.display(),
            time(&first),
            time(&last),
            if waiting.len() == 1 { "is" } else { "are" }
        );
        if let Some(lost) = &episode.lost {
            message.push_str(&lost.sentence(" earlier"));
        }
        Some(message)
    }

    /// Whether the rows waiting were delayed by another process (forked from this one).
    fn inherited(&self) -> bool {
        self.episode
            .as_ref()
            .is_some_and(|e| e.pid != std::process::id())
    }
}

/// Prints `message` for the user.
pub(super) fn tell(message: Option<String>) {
    if let Some(message) = message {
        eprintln!("pgadget: {message}");
    }
}

/// Makes sure a thread is writing the backlog of `shared`, and that what it has not written
/// when the process exits is written (or reported lost) then.
pub(super) fn ensure_writer(shared: &Arc<Shared>, writer_running: &mut bool) {
    write_at_exit(shared);
    if *writer_running {
        return;
    }
    let thread_shared = Arc::clone(shared);
    // If no thread can be started, the rows stay queued: the next delayed row tries again,
    // and the exit flush writes them regardless.
    *writer_running = std::thread::Builder::new()
        .name("pgadget-log".into())
        .spawn(move || write_in_background(&thread_shared))
        .is_ok();
}

/// The background writer: retries until the backlog is written, then ends.
fn write_in_background(shared: &Shared) {
    let mut pause = Duration::from_millis(1);
    loop {
        std::thread::sleep(pause);
        let mut guard = shared.lock_state();
        let state = &mut *guard;
        // Never waits for the lock: the thread holds the in-process mutex here, which callers
        // need too.
        match shared.drain(state, Instant::now()) {
            Ok(()) => {
                tell(state.backlog.resumed(&shared.path));
                state.writer_running = false;
                return;
            }
            Err(Failure::Busy) => {
                tell(state.backlog.long_lock(&shared.path));
                pause = (pause * 2).min(BUSY_PAUSE_MAX);
            }
            Err(failure) => {
                tell(state.backlog.failed(&shared.path, failure));
                pause = (pause * 2).min(FAILED_PAUSE_MAX);
            }
        }
    }
}

/// The logs with a backlog, for the exit flush.
static AT_EXIT: Mutex<Vec<Arc<Shared>>> = Mutex::new(Vec::new());

fn write_at_exit(shared: &Arc<Shared>) {
    let mut logs = AT_EXIT.lock().unwrap_or_else(|p| p.into_inner());
    if logs.iter().any(|s| Arc::ptr_eq(s, shared)) {
        return;
    }
    logs.push(Arc::clone(shared));
    if logs.len() == 1 {
        crate::exit::at_exit(flush_at_exit);
    }
}

/// Writes what is still waiting, waiting up to [`EXIT_WAIT`] in all for locks, and tells the
/// user about any row that still cannot be written.
///
/// It runs from [`crate::exit`], after the exiting thread's thread-locals are gone, so nothing
/// it calls may use a thread-local with a destructor: that is why rows carry their own UTC
/// offset and nothing here asks `chrono::Local` for the time.
fn flush_at_exit() {
    let deadline = Instant::now() + EXIT_WAIT;
    let logs = match AT_EXIT.try_lock() {
        Ok(logs) => logs.clone(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
        // Another thread is registering a log this very instant; it registered one before
        // this one, so the lock is held only for a push.
        Err(std::sync::TryLockError::WouldBlock) => {
            AT_EXIT.lock().unwrap_or_else(|p| p.into_inner()).clone()
        }
    };
    for shared in logs {
        flush_one(&shared, deadline);
    }
}

fn flush_one(shared: &Shared, deadline: Instant) {
    // A thread holds the state only for a bounded time, unless the process was forked while
    // it did (then it never lets go in the child): wait for it no longer than for the lock.
    let Some(mut guard) = shared.lock_state_until(deadline) else {
        eprintln!(
            "pgadget: the rows waiting for the power log {} could not be written before the \
             process exited and are lost: its writer was busy.",
            shared.path.display()
        );
        return;
    };
    let state = &mut *guard;
    if state.backlog.is_empty() || state.backlog.inherited() {
        return;
    }
    // The lock may be taken until the deadline; other failures are not retried.
    match shared.drain(state, deadline) {
        Ok(()) => tell(state.backlog.resumed(&shared.path)),
        Err(failure) => tell(state.backlog.lost_at_exit(&shared.path, failure)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(second: u32) -> Row {
        let datetime = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 25, 9, 30, second)
            .unwrap();
        Row {
            bytes: format!("row {second}\n").into_bytes(),
            datetime,
        }
    }

    fn full() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::StorageFull)
    }

    #[test]
    fn a_full_backlog_counts_what_it_drops_and_says_when() {
        let path = Path::new("/data/log.csv");
        let mut backlog = Backlog::default();
        backlog.delay(row(0));
        let said = backlog.failed(path, Failure::Io(full())).unwrap();
        assert!(
            said.starts_with("cannot write the power log /data/log.csv: "),
            "{said}"
        );
        assert!(said.contains("Free some space"), "{said}");
        assert_eq!(backlog.failed(path, Failure::Io(full())), None, "once");
        for _ in 1..MAX_DELAYED_ROWS {
            backlog.delay(row(1));
        }
        for s in 2..5 {
            backlog.delay(row(s));
        }
        assert_eq!(backlog.rows.len(), MAX_DELAYED_ROWS);
        while let Some((bytes, n, offset)) = backlog.next_chunk() {
            assert!(bytes.len() <= CHUNK_BYTES);
            assert_eq!(offset.local_minus_utc(), 3600);
            backlog.written(n);
        }
        let said = backlog.resumed(path).unwrap();
        assert_eq!(
            said,
            "the power log /data/log.csv is written again: 4096 rows delayed since \
             2026-11-25 09:30:00+01:00 were written, in order. 3 rows measured from \
             2026-11-25 09:30:02+01:00 to 2026-11-25 09:30:04+01:00 were lost: 4096 rows were \
             already waiting."
        );
        assert_eq!(backlog.resumed(path), None, "the delay is over");
    }

    #[test]
    fn a_short_wait_for_the_lock_is_not_worth_a_message() {
        let path = Path::new("log.csv");
        let mut backlog = Backlog::default();
        backlog.delay(row(0));
        assert_eq!(backlog.failed(path, Failure::Busy), None);
        assert!(backlog.waits_for_lock_only());
        assert_eq!(backlog.long_lock(path), None);
        backlog.written(1);
        assert_eq!(backlog.resumed(path), None);
    }

    #[test]
    fn rows_left_at_exit_are_counted_with_their_times() {
        let path = Path::new("log.csv");
        let mut backlog = Backlog::default();
        backlog.delay(row(7));
        backlog.delay(row(8));
        let said = backlog.lost_at_exit(path, Failure::Busy).unwrap();
        assert!(
            said.starts_with(
                "2 rows for the power log log.csv, measured from 2026-11-25 09:30:07+01:00 to \
                 2026-11-25 09:30:08+01:00, could not be written before the process exited \
                 and are lost: another process still held its lock"
            ),
            "{said}"
        );
        assert!(backlog.is_empty());
        assert_eq!(backlog.lost_at_exit(path, Failure::Busy), None);
    }
}
