//! Appending rows to the log so that threads and processes never tear or interleave them.
//!
//! Each row is one `write` on a file opened with `O_APPEND`, made under an exclusive lock on
//! the file (`File::lock`, `flock` on Unix) and, within a process, under a mutex (`flock` locks
//! belong to the open file, which the threads of a process share).

use super::record::{header_line, Record};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Why a row could not be written.
#[derive(Debug)]
pub struct AppendError {
    pub path: PathBuf,
    pub source: io::Error,
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write the power log {}: {}",
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for AppendError {}

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

/// Appends rows to one log file, keeping it open between rows.
pub struct LogWriter {
    path: PathBuf,
    open: Mutex<Option<OpenLog>>,
    reported: AtomicBool,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl LogWriter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LogWriter {
            path: path.into(),
            open: Mutex::new(None),
            reported: AtomicBool::new(false),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record`, or tells the user once on stderr why it could not. Never panics.
    pub fn append_or_report(&self, record: &Record) {
        if let Err(e) = self.append(record) {
            if !self.reported.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "pgadget: {e}. The measured function ran normally, but its row (and any \
                     later row for this log) is lost. Point PGADGET_LOG (or PowerMeter::log_path) \
                     at a file in a writable directory with free space."
                );
            }
        }
    }

    /// Appends `record` as one write under the file lock.
    pub fn append(&self, record: &Record) -> Result<(), AppendError> {
        let line = record
            .to_csv_line()
            .map_err(|e| self.err(io::Error::other(e)))?;
        // A poisoned mutex only means another thread panicked while appending; the file state
        // is re-checked below, so carrying on is safe.
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        self.append_locked(&mut guard, &line).map_err(|e| {
            // Start afresh next time: the file may have been replaced or fixed meanwhile.
            *guard = None;
            self.err(e)
        })
    }

    fn err(&self, source: io::Error) -> AppendError {
        AppendError {
            path: self.path.clone(),
            source,
        }
    }

    fn append_locked(&self, slot: &mut Option<OpenLog>, line: &[u8]) -> io::Result<()> {
        // Another process may move the log aside between our open and our lock: retry on the
        // new file a few times.
        for _ in 0..8 {
            let log = match slot {
                Some(log) => log,
                None => slot.insert(self.open_log()?),
            };
            log.file.lock()?;
            let result = self.write_row(log, line);
            let unlock = log.file.unlock();
            match result {
                Ok(true) => return unlock,
                Ok(false) => *slot = None,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "the log file kept being replaced while pgadget tried to append to it",
        ))
    }

    fn open_log(&self) -> io::Result<OpenLog> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| super::explain_io_error(&self.path, e))?;
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // The log holds a user name and a country: owner-only.
            options.mode(0o600);
        }
        let file = options.open(&self.path)?;
        let id = file_id(&file.metadata()?);
        Ok(OpenLog {
            file,
            id,
            header_checked: false,
            end: None,
        })
    }

    /// Writes the row (and the header if the file is new). Returns `Ok(false)` when the path no
    /// longer names the file we hold, so the caller reopens.
    fn write_row(&self, log: &mut OpenLog, line: &[u8]) -> io::Result<bool> {
        // The path's metadata names the file (moved aside or replaced since we opened it?)
        // and, when it is ours, gives its length: the same inode, and no pgadget writer can
        // change it while we hold the lock.
        let len = match std::fs::metadata(&self.path) {
            Ok(meta) if file_id(&meta) == log.id => meta.len(),
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mut buf = Vec::with_capacity(line.len() + 512);
        if len == 0 {
            buf.extend_from_slice(&header_line());
        } else {
            if !log.header_checked && !has_our_header(&log.file)? {
                let aside = self.move_aside()?;
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
                    buf.push(b'"');
                }
                buf.push(b'\n');
            }
        }
        log.header_checked = true;
        buf.extend_from_slice(line);
        // One write on an O_APPEND file: the kernel places it at the end as a whole.
        log.end = None;
        if let Err(e) = (&log.file).write_all(&buf) {
            // A full disk can take part of the row: cut it off again (we still hold the lock)
            // so that no torn row is left behind for the next writer or reader.
            let _ = log.file.set_len(len);
            return Err(e);
        }
        log.end = Some(len + buf.len() as u64);
        Ok(true)
    }

    fn move_aside(&self) -> io::Result<PathBuf> {
        let stamp = chrono::Local::now().format("%Y%m%dT%H%M%S");
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
        let mut n = 0;
        loop {
            let suffix = if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            };
            let aside = self
                .path
                .with_file_name(format!("{stem}.foreign-{stamp}{suffix}{ext}"));
            if !aside.exists() {
                std::fs::rename(&self.path, &aside)?;
                return Ok(aside);
            }
            n += 1;
        }
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
}
