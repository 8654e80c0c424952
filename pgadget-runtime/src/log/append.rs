//! Appending rows to the log so that threads and processes never tear or interleave them, and
//! the caller never waits long for anyone else.
//!
//! Each row is one `write` on a file opened with `O_APPEND`, made under an exclusive lock on
//! the file (`File::try_lock`, `flock` on Unix) and, within a process, under a mutex (`flock`
//! locks belong to the open file, which the threads of a process share). Any process that can
//! read the log can lock it, so a measured call waits for the lock at most [`LOCK_WAIT`]; a row
//! that could not be written then (or at all: a full disk) waits in memory, in order, and is
//! written later by a background thread or at exit (see `backlog`).

use super::backlog::{self, Backlog, Row};
use super::record::{header_line, RecordRef};
use crate::files;
use chrono::FixedOffset;
use std::fs::{File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest a measured call waits for another process to release the log's lock.
///
/// pgadget's own writers hold the lock for one `write` (microseconds; a torn-row repair reads
/// the file once, milliseconds), so 20 ms is a thousand times what contention between pgadget
/// processes needs, yet short next to anything worth measuring for energy and below what a
/// person notices. Beyond it the row waits in memory and the call returns.
pub const LOCK_WAIT: Duration = Duration::from_millis(20);

/// The longest the exit flush waits, in all, for locks held by other processes before the rows
/// still waiting are reported lost.
pub const EXIT_WAIT: Duration = Duration::from_secs(1);

/// Why a row could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the power log {}: {source}", .path.display())]
pub struct AppendError {
    /// The log.
    pub path: PathBuf,
    /// What the file system said.
    pub source: io::Error,
}

/// Why rows could not be written just now.
pub(super) enum Failure {
    /// Another process held the lock until the deadline.
    Busy,
    Io(io::Error),
}

impl Failure {
    #[cfg(test)]
    fn into_io(self) -> io::Error {
        match self {
            Failure::Busy => io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "another process holds its lock (pgadget waited {} ms for it)",
                    LOCK_WAIT.as_millis()
                ),
            ),
            Failure::Io(e) => e,
        }
    }
}

struct OpenLog {
    file: File,
    id: FileId,
    header_checked: bool,
    /// The file's length just after our last row, which ended in a newline.
    end: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    }
}

#[cfg(not(unix))]
fn file_id(meta: &std::fs::Metadata) -> FileId {
    // Without inode numbers, the creation time tells a recreated file from the old one.
    let created = meta
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    FileId {
        dev: 0,
        ino: created,
    }
}

/// The log's name, for asking what file it names now.
struct Name {
    /// The path for `statx`, made once rather than for every row; `None` if it holds a NUL
    /// (then the standard library's `lstat` reports the error).
    #[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
    c_path: Option<std::ffi::CString>,
}

impl Name {
    #[cfg_attr(
        not(all(target_os = "linux", any(target_env = "gnu", target_env = "musl"))),
        allow(unused_variables)
    )]
    fn new(path: &Path) -> Name {
        Name {
            #[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
            c_path: {
                use std::os::unix::ffi::OsStrExt;
                std::ffi::CString::new(path.as_os_str().as_bytes()).ok()
            },
        }
    }

    /// The identity and length of the file the name stands for now, without following a link
    /// at the name (a link is another file).
    fn identity(&self, path: &Path) -> io::Result<(FileId, u64)> {
        #[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
        if let Some(found) = self.statx() {
            return found;
        }
        let meta = std::fs::symlink_metadata(path)?;
        Ok((file_id(&meta), meta.len()))
    }

    /// [`Name::identity`] from a `statx` that asks for the inode number and the size alone;
    /// `None` where `statx` is missing (Linux before 4.11) or forbidden (some sandboxes).
    ///
    /// A full `lstat` asks for the times too, and on file systems with fine-grained
    /// ("multigrain") timestamps, as ext4, XFS, Btrfs and tmpfs have on recent Linux, a time
    /// that has been looked at must be replaced by a finer one at the next change: every row's
    /// write then dirtied the inode in the journal, and cost twice what it does without it.
    #[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
    fn statx(&self) -> Option<io::Result<(FileId, u64)>> {
        use std::sync::atomic::{AtomicBool, Ordering};
        static UNAVAILABLE: AtomicBool = AtomicBool::new(false);
        let c_path = self.c_path.as_ref()?;
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return None;
        }
        let wanted = libc::STATX_INO | libc::STATX_SIZE;
        // SAFETY: `struct statx` holds integers only, for which all zero bytes are a value.
        let mut st: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: `c_path` is a NUL-terminated string that lives across the call, `st` is a
        // `struct statx` the call may write, and the flags and mask are ones statx(2) defines.
        let rc = unsafe {
            libc::statx(
                libc::AT_FDCWD,
                c_path.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
                wanted,
                &mut st,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOSYS) | Some(libc::EPERM) => {
                    UNAVAILABLE.store(true, Ordering::Relaxed);
                    None
                }
                _ => Some(Err(e)),
            };
        }
        // The device is always reported; the inode and size are, on every file system Linux
        // has, but statx allows leaving out what was asked for.
        if st.stx_mask & wanted != wanted {
            return None;
        }
        let id = FileId {
            // As the standard library builds `st_dev` from statx, so that it compares equal
            // with the identity of the file opened.
            dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
        };
        Some(Ok((id, st.stx_size)))
    }
}

/// Appends rows to one log file, keeping it open between rows.
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// What the writer's handles and its background thread share.
pub(super) struct Shared {
    pub(super) path: PathBuf,
    name: Name,
    state: Mutex<State>,
}

pub(super) struct State {
    open: Option<OpenLog>,
    pub(super) backlog: Backlog,
    pub(super) writer_running: bool,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("path", &self.shared.path)
            .finish()
    }
}

impl LogWriter {
    /// A writer for the log at `path`; nothing is opened before the first row.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        LogWriter {
            shared: Arc::new(Shared {
                name: Name::new(&path),
                path,
                state: Mutex::new(State {
                    open: None,
                    backlog: Backlog::default(),
                    writer_running: false,
                }),
            }),
        }
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Appends `record` now if the log can be written within [`LOCK_WAIT`], else keeps it to
    /// be written later, in order, by this process. Never panics, never waits longer.
    ///
    /// The user is told on stderr (once per delay) when writing fails, and again when it
    /// works again (how many rows were delayed, and lost if more than
    /// [`MAX_DELAYED_ROWS`](crate::log::MAX_DELAYED_ROWS) had to wait), or at exit.
    ///
    /// Returns whether the row is in the log now (rather than delayed, or lost): what ships
    /// rows may only leave to the log the rows it already holds.
    pub fn append_or_report<'r>(&self, record: impl Into<RecordRef<'r>>) -> bool {
        let record = record.into();
        let bytes = match record.to_csv_line() {
            Ok(bytes) => bytes,
            Err(e) => {
                crate::report_once(&format!("{}", self.shared.err(io::Error::other(e))));
                return false;
            }
        };
        let shared = &self.shared;
        // A poisoned mutex only means another thread panicked while appending; the file state
        // is re-checked under the lock, so carrying on is safe.
        let mut guard = shared.lock_state();
        let state = &mut *guard;
        let row = Row {
            bytes,
            datetime: record.datetime,
        };
        if state.backlog.is_empty() {
            let deadline = Instant::now() + LOCK_WAIT;
            match shared.write_now(
                &mut state.open,
                &row.bytes,
                *row.datetime.offset(),
                deadline,
            ) {
                Ok(()) => return true,
                Err(failure) => {
                    state.backlog.delay(row);
                    backlog::tell(state.backlog.failed(&shared.path, failure));
                }
            }
        } else {
            // Later rows queue behind the earlier ones, so the order is kept.
            state.backlog.delay(row);
            if state.backlog.waits_for_lock_only() {
                // Take the lock in passing if it is free now; never wait for it.
                match shared.drain(state, Instant::now()) {
                    Ok(()) => {
                        backlog::tell(state.backlog.resumed(&shared.path));
                        return true;
                    }
                    Err(failure) => backlog::tell(state.backlog.failed(&shared.path, failure)),
                }
            }
        }
        backlog::ensure_writer(shared, &mut state.writer_running);
        false
    }

    /// Appends `record` now, after any delayed rows, waiting at most [`LOCK_WAIT`] for the
    /// lock. On error the row is not kept: this is for callers that handle failures
    /// themselves; measured calls use [`append_or_report`](Self::append_or_report).
    #[cfg(test)]
    pub fn append<'r>(&self, record: impl Into<RecordRef<'r>>) -> Result<(), AppendError> {
        let record = record.into();
        let bytes = record
            .to_csv_line()
            .map_err(|e| self.shared.err(io::Error::other(e)))?;
        let shared = &self.shared;
        let mut guard = shared.lock_state();
        let state = &mut *guard;
        let deadline = Instant::now() + LOCK_WAIT;
        shared
            .drain(state, deadline)
            .and_then(|()| {
                backlog::tell(state.backlog.resumed(&shared.path));
                shared.write_now(&mut state.open, &bytes, *record.datetime.offset(), deadline)
            })
            .map_err(|failure| shared.err(failure.into_io()))
    }
}

/// Takes the file lock, retrying with growing pauses until `deadline`. The first attempt is
/// the only system call when the lock is free, as a blocking `lock` would be.
fn lock_until(file: &File, deadline: Instant) -> Result<(), Failure> {
    let mut pause = Duration::from_micros(50);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(Failure::Io(e)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::Busy);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

impl Shared {
    fn err(&self, source: io::Error) -> AppendError {
        AppendError {
            path: self.path.clone(),
            source,
        }
    }

    pub(super) fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state, unless another thread keeps it past `deadline`.
    pub(super) fn lock_state_until(&self, deadline: Instant) -> Option<MutexGuard<'_, State>> {
        loop {
            match self.state.try_lock() {
                Ok(guard) => return Some(guard),
                Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        }
    }

    /// Writes the delayed rows, oldest first, taking the lock until `deadline`. Rows written
    /// before a failure stay written.
    pub(super) fn drain(&self, state: &mut State, deadline: Instant) -> Result<(), Failure> {
        while let Some((bytes, n, offset)) = state.backlog.next_chunk() {
            self.write_now(&mut state.open, &bytes, offset, deadline)?;
            state.backlog.written(n);
        }
        Ok(())
    }

    /// Writes `rows` (whole rows, each ending in a newline) as one write under the lock,
    /// opening the log if needed. `offset` is the rows' UTC offset, for the name of a log
    /// moved aside.
    fn write_now(
        &self,
        slot: &mut Option<OpenLog>,
        rows: &[u8],
        offset: FixedOffset,
        deadline: Instant,
    ) -> Result<(), Failure> {
        // Another process may move the log aside between our open and our lock: retry on the
        // new file a few times.
        for _ in 0..8 {
            let log = match slot {
                Some(log) => log,
                None => slot.insert(self.open_log().map_err(Failure::Io)?),
            };
            if let Err(failure) = lock_until(&log.file, deadline) {
                if matches!(failure, Failure::Io(_)) {
                    *slot = None;
                }
                return Err(failure);
            }
            let result = self.write_row(log, rows, offset);
            if log.file.unlock().is_err() {
                // Closing the file releases the lock.
                *slot = None;
            }
            match result {
                Ok(true) => return Ok(()),
                Ok(false) => *slot = None,
                Err(e) => {
                    // Start afresh next time: the file may have been replaced or fixed.
                    *slot = None;
                    return Err(Failure::Io(e));
                }
            }
        }
        Err(Failure::Io(io::Error::other(
            "the log file kept being replaced while pgadget tried to append to it",
        )))
    }

    fn open_log(&self) -> io::Result<OpenLog> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::create_private_dir_all(dir)
                .map_err(|e| super::explain_io_error(&self.path, e))?;
        }
        let opened = files::open_regular_append(&self.path)?;
        if let Some(mode) = files::open_to_others(&opened.meta) {
            crate::report_once(&open_to_others_message(&self.path, mode));
        }
        Ok(OpenLog {
            file: opened.file,
            id: file_id(&opened.meta),
            header_checked: false,
            end: None,
        })
    }

    /// Writes the rows (and the header if the file is new). Returns `Ok(false)` when the path
    /// no longer names the file we hold, so the caller reopens.
    fn write_row(&self, log: &mut OpenLog, rows: &[u8], offset: FixedOffset) -> io::Result<bool> {
        // The path's metadata names the file (moved aside or replaced since we opened it?)
        // and, when it is ours, gives its length: the same inode, and no pgadget writer can
        // change it while we hold the lock. `lstat`, so a link put in its place is seen as
        // another file (and then refused when reopened).
        let len = match self.name.identity(&self.path) {
            Ok((id, len)) if id == log.id => len,
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mut prefix = Vec::new();
        if len == 0 {
            prefix.extend_from_slice(&header_line());
        } else {
            if !log.header_checked && !has_our_header(&log.file)? {
                let aside = self.move_aside(offset).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "it is not a pgadget log of this version (its header differs), and \
                             it could not be moved aside to start a new one: {e}"
                        ),
                    )
                })?;
                eprintln!(
                    "pgadget: {} is not a pgadget log of this version (its header differs); \
                     it was moved to {} untouched and a new log was started.",
                    self.path.display(),
                    aside.display()
                );
                return Ok(false);
            }
            // A writer that died in the middle of its row leaves a line without its end; end
            // it so that our row starts on a line of its own (the reader skips the torn one).
            // A file still as long as our last row left it still ends with that row's newline.
            if log.end != Some(len) && last_byte(&log.file, len)? != b'\n' {
                // A tear inside a quoted cell leaves a quote open, which would swallow our row
                // into that cell: close it first. CSV doubles the quotes inside a cell, so the
                // file ends inside a cell exactly when it holds an odd number of quotes. This
                // reads the whole file, but only once per torn row.
                if count_quotes(&log.file, len)? % 2 == 1 {
                    prefix.push(b'"');
                }
                prefix.push(b'\n');
            }
        }
        log.header_checked = true;
        log.end = None;
        // One write on an O_APPEND file: the kernel places it at the end as a whole.
        let written = if prefix.is_empty() {
            (&log.file).write_all(rows).map(|()| rows.len())
        } else {
            prefix.extend_from_slice(rows);
            (&log.file).write_all(&prefix).map(|()| prefix.len())
        };
        match written {
            Ok(n) => {
                log.end = Some(len + n as u64);
                Ok(true)
            }
            Err(e) => {
                // A full disk can take part of the rows: cut it off again (we still hold the
                // lock) so that no torn row is left behind for the next writer or reader.
                let _ = log.file.set_len(len);
                Err(e)
            }
        }
    }

    /// Renames the log to `<stem>.foreign-<local time>[-n].<ext>`, next to it, never over an
    /// existing name (nor through a link planted there).
    fn move_aside(&self, offset: FixedOffset) -> io::Result<PathBuf> {
        // Local time from the rows' own offset: this may run at exit, when chrono::Local's
        // thread-local cache is gone.
        let stamp = chrono::Utc::now()
            .with_timezone(&offset)
            .format("%Y%m%dT%H%M%S");
        let stem = self
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "power_logs".into());
        let ext = self
            .path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        for n in 0..1000 {
            let suffix = if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            };
            let aside = self
                .path
                .with_file_name(format!("{stem}.foreign-{stamp}{suffix}{ext}"));
            match files::rename_no_replace(&self.path, &aside) {
                Ok(()) => return Ok(aside),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "a thousand names for it were taken already",
        ))
    }
}

/// The notice for a log that others may read or write (its mode is `mode`).
fn open_to_others_message(path: &Path, mode: u32) -> String {
    let read = mode & 0o044 != 0;
    let write = mode & 0o022 != 0;
    let can = match (read, write) {
        (true, true) => "read and written",
        (false, true) => "written",
        _ => "read",
    };
    format!(
        "the power log {path} can be {can} by other users (mode {mode:04o}), and it holds user \
         and host names and what ran. pgadget leaves its mode as it is; to make it yours alone, \
         run `chmod 600 {quoted}`.",
        path = path.display(),
        quoted = shell_quoted(path),
    )
}

/// `path` as one word for a POSIX shell, for a command the user copies.
fn shell_quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
    #[cfg(not(any(unix, windows)))]
    {
        // No positioned read here: seek and read. Appends still go to the end (O_APPEND).
        use std::io::{Read as _, Seek as _};
        let mut file = file;
        file.seek(io::SeekFrom::Start(offset))?;
        file.read(buf)
    }
}

fn has_our_header(file: &File) -> io::Result<bool> {
    let expected = header_line();
    let mut buf = vec![0u8; expected.len()];
    let mut filled = 0;
    while filled < buf.len() {
        let n = read_at(file, &mut buf[filled..], filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled == expected.len() && buf == expected)
}

fn count_quotes(file: &File, len: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut offset, mut quotes) = (0u64, 0u64);
    while offset < len {
        let n = read_at(file, &mut buf, offset)?;
        if n == 0 {
            break;
        }
        quotes += buf[..n].iter().filter(|&&b| b == b'"').count() as u64;
        offset += n as u64;
    }
    Ok(quotes)
}

fn last_byte(file: &File, len: u64) -> io::Result<u8> {
    let mut b = [0u8; 1];
    read_at(file, &mut b, len - 1)?;
    Ok(b[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::sample;
    use std::fs::OpenOptions;

    fn contents(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn rows_follow_one_header_and_a_torn_line_is_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let log = LogWriter::new(&path);
        let row = String::from_utf8(sample().to_csv_line().unwrap()).unwrap();
        let header = String::from_utf8(header_line()).unwrap();
        log.append(&sample()).unwrap();
        log.append(&sample()).unwrap();
        assert_eq!(contents(&path), format!("{header}{row}{row}"));
        // Another process dies half-way through its row, after ours.
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"2026-11-25T09:30:00+01:00,torn")
            .unwrap();
        log.append(&sample()).unwrap();
        assert_eq!(
            contents(&path),
            format!("{header}{row}{row}2026-11-25T09:30:00+01:00,torn\n{row}")
        );
    }

    #[test]
    fn a_log_moved_aside_or_foreign_is_not_written_into() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let log = LogWriter::new(&path);
        let row = String::from_utf8(sample().to_csv_line().unwrap()).unwrap();
        let header = String::from_utf8(header_line()).unwrap();
        log.append(&sample()).unwrap();
        let old = dir.path().join("old.csv");
        std::fs::rename(&path, &old).unwrap();
        log.append(&sample()).unwrap();
        assert_eq!(contents(&old), format!("{header}{row}"));
        assert_eq!(contents(&path), format!("{header}{row}"));
        // Replaced by a file of the same length that is not a pgadget log.
        let foreign = "x".repeat(header.len() + row.len());
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &foreign).unwrap();
        log.append(&sample()).unwrap();
        assert_eq!(contents(&path), format!("{header}{row}"));
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".foreign-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(contents(&aside[0].path()), foreign);
    }

    #[cfg(unix)]
    #[test]
    fn moving_aside_never_replaces_or_follows_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        std::fs::write(&path, "Datetime,Something else\n").unwrap();
        let precious = dir.path().join("precious");
        std::fs::write(&precious, "precious\n").unwrap();
        // Links at every name the move could take in the next seconds.
        let now = chrono::Utc::now().with_timezone(sample().datetime.offset());
        let planted: Vec<PathBuf> = (0..5)
            .map(|s| {
                let stamp = (now + chrono::Duration::seconds(s)).format("%Y%m%dT%H%M%S");
                let link = dir.path().join(format!("log.foreign-{stamp}.csv"));
                std::os::unix::fs::symlink(&precious, &link).unwrap();
                link
            })
            .collect();

        LogWriter::new(&path).append(&sample()).unwrap();

        assert_eq!(contents(&precious), "precious\n");
        for link in &planted {
            let meta = std::fs::symlink_metadata(link).unwrap();
            assert!(meta.file_type().is_symlink(), "{}", link.display());
        }
        let moved: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with("-1.csv"))
            .collect();
        assert_eq!(moved.len(), 1, "{moved:?}");
        assert_eq!(contents(&moved[0]), "Datetime,Something else\n");
        let header = String::from_utf8(header_line()).unwrap();
        assert!(contents(&path).starts_with(&header));
    }
}
