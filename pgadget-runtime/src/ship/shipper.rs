//! The background shipper: measured calls hand their rows over without waiting, and a thread
//! of its own sends them to PostgreSQL in batches, in order, retrying until they are stored.
//!
//! A measured call only pushes a pointer onto a queue under a mutex no one holds for long: it
//! never waits on the database, never wakes the thread (a wake-up is a system call), never
//! formats anything. The thread takes the queue every [`TICK`].
//!
//! Rows wait in memory while the database is down, slow or refusing, up to [`MAX_WAITING`].
//! Beyond that a row is not kept in memory but counted: the CSV log holds it (it is written
//! before it is handed over), and once the database takes rows again the thread reads the log
//! and ships this process's rows from it (the table ignores those it already has). So no row
//! is lost while the process lives; rows still waiting at exit are named, with `pgadget push`
//! to upload them.

use super::postgres::{Database, DbError, FailureKind, Target, BATCH_ROWS};
use super::EXIT_WAIT;
use crate::log::{Entry, LogReader, Record};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often the thread takes the rows handed over.
const TICK: Duration = Duration::from_millis(100);

/// How many rows may wait in memory for one database (a few hundred bytes each).
pub const MAX_WAITING: usize = 20_000;

/// The first retry after a failure comes this soon, the next ones twice as late each time, up
/// to [`MAX_RETRY`] while the database is unreachable and [`MAX_RETRY_REFUSED`] while it
/// refuses (a password, a privilege: someone must act first).
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(5);
const MAX_RETRY_REFUSED: Duration = Duration::from_secs(30);

/// Ships the rows of one log to one database.
pub(crate) struct Shipper {
    url: crate::config::DatabaseUrl,
    target: Target,
    log: PathBuf,
    bound: usize,
    /// Rows handed over that the thread has not taken yet.
    queue: Mutex<Vec<Arc<Record>>>,
    /// Rows handed over and not yet stored: in the queue or with the thread.
    waiting: AtomicUsize,
    /// Rows not kept in memory because `bound` rows were waiting; only ever grows.
    spilled: AtomicU64,
    control: Mutex<Control>,
    /// Wakes the thread at exit.
    wake: Condvar,
    /// Tells the exit hook the thread is done.
    settled: Condvar,
}

#[derive(Default)]
struct Control {
    exit_requested: bool,
    exit_done: bool,
    /// The exit hook stopped waiting: the thread must no longer speak.
    abandoned: bool,
}

/// Every shipper of the process, for the exit hook; one per (database, log).
static SHIPPERS: Mutex<Vec<Arc<Shipper>>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves its data consistent at each step.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shipper {
    /// The shipper of `log`'s rows to `url`, started on first use.
    pub fn get(
        url: &crate::config::DatabaseUrl,
        target: Target,
        log: &Path,
    ) -> Option<Arc<Shipper>> {
        let mut shippers = lock(&SHIPPERS);
        if let Some(s) = shippers.iter().find(|s| &s.url == url && s.log == log) {
            return Some(Arc::clone(s));
        }
        let shipper = Shipper::start(url.clone(), target, log, MAX_WAITING)?;
        shippers.push(Arc::clone(&shipper));
        Some(shipper)
    }

    /// A shipper with its own thread, keeping at most `bound` rows in memory.
    pub fn start(
        url: crate::config::DatabaseUrl,
        target: Target,
        log: &Path,
        bound: usize,
    ) -> Option<Arc<Shipper>> {
        let shipper = Arc::new(Shipper {
            url,
            target,
            log: log.to_path_buf(),
            bound,
            queue: Mutex::new(Vec::with_capacity(1024)),
            waiting: AtomicUsize::new(0),
            spilled: AtomicU64::new(0),
            control: Mutex::new(Control::default()),
            wake: Condvar::new(),
            settled: Condvar::new(),
        });
        let worker = Arc::clone(&shipper);
        match std::thread::Builder::new()
            .name("pgadget-postgres".into())
            .spawn(move || worker.run())
        {
            Ok(_) => Some(shipper),
            Err(e) => {
                crate::report_once(&format!(
                    "cannot start the thread that ships rows to PostgreSQL ({e}); rows stay in \
                     the CSV log, and `pgadget push` uploads them."
                ));
                None
            }
        }
    }

    /// Hands a row over; `in_log` says whether the CSV log holds it already. Never waits for
    /// the database.
    ///
    /// Beyond the bound, a row the log holds is left to the log. One the log does not hold
    /// yet (its write is delayed behind another process's lock, or failed) is kept in memory
    /// all the same, up to [`MAX_DELAYED_ROWS`](crate::log::MAX_DELAYED_ROWS) more: the pass
    /// over the log could miss it.
    #[inline]
    pub fn hand_over(&self, row: Arc<Record>, in_log: bool) {
        let waiting = self.waiting.load(Ordering::Relaxed);
        let bound = if in_log {
            self.bound
        } else {
            self.bound + crate::log::MAX_DELAYED_ROWS
        };
        if waiting >= bound {
            self.spilled.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        lock(&self.queue).push(row);
    }

    /// Rows handed over and not yet stored, plus those left to the log.
    pub fn backlog(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed) as u64 + self.spilled.load(Ordering::Relaxed)
    }

    /// Moves the rows handed over into `pending`, keeping the queue's memory.
    fn take(&self, pending: &mut VecDeque<Arc<Record>>, spare: &mut Vec<Arc<Record>>) {
        std::mem::swap(&mut *lock(&self.queue), spare);
        pending.extend(spare.drain(..));
    }

    /// Waits up to `timeout`, or until exit is requested; returns whether it is.
    fn wait(&self, timeout: Duration) -> bool {
        let control = lock(&self.control);
        if control.exit_requested {
            return true;
        }
        let (control, _) = self
            .wake
            .wait_timeout(control, timeout)
            .unwrap_or_else(|p| p.into_inner());
        control.exit_requested
    }

    fn run(self: Arc<Self>) {
        let mut run = Run {
            db: None,
            pending: VecDeque::new(),
            spare: Vec::with_capacity(1024),
            retry_at: None,
            retry_after: FIRST_RETRY,
            outage: None,
            spill_seen: 0,
            refused_row_told: false,
        };
        loop {
            let exiting = self.wait(TICK);
            self.take(&mut run.pending, &mut run.spare);
            let has_work =
                !run.pending.is_empty() || self.spilled.load(Ordering::Relaxed) != run.spill_seen;
            let due = exiting || run.retry_at.is_none_or(|t| Instant::now() >= t);
            if has_work && due {
                match self.ship(&mut run, exiting) {
                    Ok(()) => run.recovered(&self),
                    Err(e) => run.failed(&self, e),
                }
            }
            if exiting {
                self.exited(&run);
                return;
            }
        }
    }

    /// Ships every pending row, then, if rows were left to the log, this process's rows from
    /// the log. At exit, also what is handed over meanwhile.
    fn ship(&self, run: &mut Run, exiting: bool) -> Result<(), DbError> {
        loop {
            let db = match &mut run.db {
                Some(db) => db,
                None => run.db.insert(Database::connect(&self.target)?),
            };
            while !run.pending.is_empty() {
                let n = run.pending.len().min(BATCH_ROWS);
                let batch: Vec<&Record> = run.pending.iter().take(n).map(|r| &**r).collect();
                let (_, refused) = db.insert_or_isolate(&batch)?;
                if let Some((_, e)) = refused.first() {
                    if !run.refused_row_told {
                        run.refused_row_told = true;
                        crate::report_once(&format!(
                            "{}; {} left out of the table (it stays in the CSV log {}). Later \
                             refused rows are left out without a message.",
                            e.explain(),
                            if refused.len() == 1 {
                                "that row is".to_string()
                            } else {
                                format!("those {} rows are", refused.len())
                            },
                            self.log.display()
                        ));
                    }
                }
                run.pending.drain(..n);
                self.waiting.fetch_sub(n, Ordering::Relaxed);
            }
            let spilled = self.spilled.load(Ordering::Relaxed);
            if spilled != run.spill_seen {
                self.catch_up(db)?;
                run.spill_seen = spilled;
                continue;
            }
            if exiting {
                self.take(&mut run.pending, &mut run.spare);
                if !run.pending.is_empty() {
                    continue;
                }
            }
            return Ok(());
        }
    }

    /// Ships this process's rows from the log: those that were not kept in memory are there.
    fn catch_up(&self, db: &mut Database) -> Result<(), DbError> {
        let ours = crate::log::row_id::process_prefix();
        let mut batch: Vec<Record> = Vec::with_capacity(BATCH_ROWS);
        let read = LogReader::open(&self.log).and_then(|mut reader| {
            while let Some(entry) = reader.next_entry()? {
                // Rows of other processes, and rows that cannot be read, are not ours to ship.
                let Entry::Row(row) = entry else { continue };
                if !row.row_id.starts_with(&ours) {
                    continue;
                }
                batch.push(row.to_record());
                if batch.len() == BATCH_ROWS {
                    if let Err(e) = db.insert_or_isolate(&batch.iter().collect::<Vec<_>>()) {
                        return Ok(Err(e));
                    }
                    batch.clear();
                }
            }
            Ok(Ok(()))
        });
        match read {
            Ok(shipped) => shipped?,
            Err(e) => crate::report_once(&format!(
                "rows that waited too long for PostgreSQL were to be shipped from the CSV log, \
                 but it cannot be read ({e}); `pgadget push` uploads them once it can."
            )),
        }
        db.insert_or_isolate(&batch.iter().collect::<Vec<_>>())?;
        Ok(())
    }

    /// At exit: says what could not be shipped, and lets the exit hook go on.
    fn exited(&self, run: &Run) {
        let mut control = lock(&self.control);
        if !control.abandoned {
            let left =
                run.pending.len() as u64 + (self.spilled.load(Ordering::Relaxed) - run.spill_seen);
            if left > 0 {
                let reason = run
                    .outage
                    .as_ref()
                    .map(|o| o.reason.clone())
                    .unwrap_or_else(|| "it could not be reached in time".into());
                eprintln!("pgadget: {}", self.unshipped_at_exit(left, &reason));
            }
        }
        control.exit_done = true;
        self.settled.notify_all();
    }

    fn unshipped_at_exit(&self, rows: u64, reason: &str) -> String {
        let log = self.log.display();
        format!(
            "{} not shipped to PostgreSQL at {} before the process exited ({reason}); the CSV \
             log {log} has them: `pgadget push --log {log}` uploads the rows the table lacks.",
            if rows == 1 {
                "1 row was".to_string()
            } else {
                format!("{rows} rows were")
            },
            self.target.shown()
        )
    }

    /// Asks the thread for a last pass.
    fn request_exit(&self) {
        lock(&self.control).exit_requested = true;
        self.wake.notify_all();
    }

    /// Waits until the thread's last pass is done or `deadline` passes; then speaks for it.
    fn wait_for_exit(&self, deadline: Instant) {
        let mut control = lock(&self.control);
        while !control.exit_done {
            let now = Instant::now();
            if now >= deadline {
                control.abandoned = true;
                let rows = self.backlog();
                if rows > 0 {
                    eprintln!(
                        "pgadget: {}",
                        self.unshipped_at_exit(
                            rows,
                            &format!("no answer within {} s", EXIT_WAIT.as_secs())
                        )
                    );
                }
                return;
            }
            control = self
                .settled
                .wait_timeout(control, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// The thread's own state.
struct Run {
    db: Option<Database>,
    pending: VecDeque<Arc<Record>>,
    spare: Vec<Arc<Record>>,
    retry_at: Option<Instant>,
    retry_after: Duration,
    outage: Option<Outage>,
    spill_seen: u64,
    refused_row_told: bool,
}

/// A time during which shipping fails.
struct Outage {
    kinds_told: Vec<FailureKind>,
    /// The latest failure, in words, for the message at exit.
    reason: String,
}

impl Run {
    fn failed(&mut self, shipper: &Shipper, e: DbError) {
        // The connection may be broken or in a failed transaction: start afresh.
        self.db = None;
        let max = if e.is_transient() {
            MAX_RETRY
        } else {
            MAX_RETRY_REFUSED
        };
        self.retry_at = Some(Instant::now() + self.retry_after.min(max));
        self.retry_after = (self.retry_after * 2).min(max);
        let outage = self.outage.get_or_insert_with(|| Outage {
            kinds_told: Vec::new(),
            reason: String::new(),
        });
        outage.reason = e.brief();
        // One line per kind of failure, not one per attempt or per row.
        if outage.kinds_told.contains(&e.kind) {
            return;
        }
        outage.kinds_told.push(e.kind);
        let log = shipper.log.display();
        let what_happens = if e.is_transient() {
            format!("rows wait and are shipped when it is back (the CSV log {log} has them all)")
        } else {
            format!(
                "rows wait and are retried every {} s; the CSV log {log} has them all, and \
                 `pgadget push --log {log}` uploads those the table lacks",
                MAX_RETRY_REFUSED.as_secs()
            )
        };
        eprintln!("pgadget: {}; {what_happens}.", e.explain());
    }

    fn recovered(&mut self, shipper: &Shipper) {
        self.retry_at = None;
        self.retry_after = FIRST_RETRY;
        if self.outage.take().is_some() {
            eprintln!(
                "pgadget: PostgreSQL at {} takes rows again; the rows that waited are shipped.",
                shipper.target.shown()
            );
        }
    }
}

/// At exit: every shipper starts a last pass.
pub(crate) fn request_exits() {
    for s in lock(&SHIPPERS).iter() {
        s.request_exit();
    }
}

/// At exit: waits for every shipper's last pass until `deadline`.
pub(crate) fn wait_for_exits(deadline: Instant) {
    let shippers: Vec<Arc<Shipper>> = lock(&SHIPPERS).clone();
    for s in &shippers {
        s.wait_for_exit(deadline);
    }
}

#[cfg(test)]
impl Shipper {
    /// Waits until every row handed over is stored, at most `bound`; returns whether it was.
    pub fn drained(&self, bound: Duration) -> bool {
        let end = Instant::now() + bound;
        while Instant::now() < end {
            if self.waiting.load(Ordering::Relaxed) == 0 && lock(&self.queue).is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::log::{record::sample, row_id, LogWriter};
    use pgadget_test_support::pg::PgServer;

    fn shipper(pg: &PgServer, log: &Path, bound: usize) -> Arc<Shipper> {
        let url = DatabaseUrl::new(pg.url());
        let target = Target::parse(&url).unwrap();
        Shipper::start(url, target, log, bound).unwrap()
    }

    fn wait_for_count(pg: &PgServer, rows: i64) {
        pgadget_test_support::engines::wait_for("the rows", Duration::from_secs(60), || {
            (pg.count() == Some(rows)).then_some(())
        });
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn rows_beyond_the_memory_bound_are_shipped_from_the_log() {
        let pg = PgServer::start("rows_beyond_the_memory_bound_are_shipped_from_the_log");
        pg.stop();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let writer = LogWriter::new(&log);
        // A row of another process sharing the log: not this shipper's to ship.
        let mut foreign = sample();
        foreign.row_id = "00000000-0000-8000-8000-000000000001".into();
        writer.append(&foreign).unwrap();
        let shipper = shipper(&pg, &log, 10);
        // As the meter does: the row is written, then handed over.
        let mut ours = Vec::new();
        for i in 0..50 {
            let mut r = sample();
            r.row_id = row_id::next();
            r.comments = format!("row {i}");
            writer.append(&r).unwrap();
            ours.push(r.row_id.clone());
            shipper.hand_over(Arc::new(r), true);
        }
        assert_eq!(shipper.waiting.load(Ordering::Relaxed), 10);
        assert_eq!(shipper.spilled.load(Ordering::Relaxed), 40);
        pg.start_again();
        wait_for_count(&pg, 50);
        ours.sort();
        assert_eq!(pg.row_ids(), ours);
        assert!(shipper.drained(Duration::from_secs(5)));
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn rows_the_log_does_not_hold_yet_stay_in_memory_beyond_the_bound() {
        let pg = PgServer::start("rows_the_log_does_not_hold_yet_stay_in_memory_beyond_the_bound");
        pg.stop();
        let dir = tempfile::tempdir().unwrap();
        // As when another process holds the log's lock: the rows are not in the log (yet), so
        // the pass over the log that ships spilled rows would not find them.
        let log = dir.path().join("power_logs.csv");
        LogWriter::new(&log).append(&sample()).unwrap();
        let shipper = shipper(&pg, &log, 10);
        let mut ids = Vec::new();
        for i in 0..30 {
            let mut r = sample();
            r.row_id = row_id::next();
            r.comments = format!("row {i}");
            ids.push(r.row_id.clone());
            shipper.hand_over(Arc::new(r), false);
        }
        assert_eq!(shipper.spilled.load(Ordering::Relaxed), 0);
        pg.start_again();
        wait_for_count(&pg, 30);
        ids.sort();
        assert_eq!(pg.row_ids(), ids);
        assert!(shipper.drained(Duration::from_secs(5)));
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn a_row_the_database_cannot_store_does_not_hold_back_the_others() {
        let pg = PgServer::start("a_row_the_database_cannot_store_does_not_hold_back_the_others");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let shipper = shipper(&pg, &log, MAX_WAITING);
        for i in 0..5 {
            let mut r = sample();
            r.row_id = row_id::next();
            // PostgreSQL's text cannot hold a NUL character.
            r.comments = if i == 2 {
                "a\0b".into()
            } else {
                format!("row {i}")
            };
            shipper.hand_over(Arc::new(r), true);
        }
        wait_for_count(&pg, 4);
        assert!(shipper.drained(Duration::from_secs(5)));
        let stored = pg
            .client()
            .query("SELECT comment FROM pgadget_rows ORDER BY comment", &[])
            .unwrap();
        let comments: Vec<String> = stored.iter().map(|r| r.get(0)).collect();
        assert_eq!(comments, ["row 0", "row 1", "row 3", "row 4"]);
    }
}
