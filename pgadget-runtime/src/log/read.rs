//! Reading the log back: row by row, in memory that does not grow with the log.
//!
//! Any log whose header starts with PyPowerGadget's 20 columns is read: pgadget's own logs of
//! every version, and PyPowerGadget's. The columns after those 20 are found by name; a column a
//! log does not have reads as empty (`None` for numbers). A row that cannot be a measurement
//! (a date that is not one, a number that is negative, infinite or not a number) is skipped
//! with a warning naming its line, or, read strictly, is an error.

use super::paths::explain_io_error;
use super::record::{Record, RecordRef, HEADER};
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, Offset, TimeZone};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// How many columns of the header are PyPowerGadget's. A file whose header starts with them,
/// in order and with their text, is a log pgadget can read.
pub const SEED_COLUMNS: usize = 20;

/// The largest number a cell may hold. No measured call comes near it (10^15 mWh is a
/// terawatt-hour; 10^15 s is 30 million years), and it keeps every sum of cells finite: even
/// 2^64 rows at this bound add up to 2·10^34, far below `f64::MAX`. A larger cell is corrupt.
pub const MAX_CELL_VALUE: f64 = 1e15;

/// How much of the log is read at a time.
const READ_BUFFER_BYTES: usize = 256 * 1024;

/// Why the log could not be read. More cases, and more detail in each, may come: match with
/// a `_` arm and `..`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or read.
    #[non_exhaustive]
    #[error("cannot read the power log {}: {source}", .path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// What the system said (or, for a path that cannot be a log, what is wrong with it).
        source: io::Error,
    },
    /// The first line is not a header that starts with PyPowerGadget's 20 columns.
    #[non_exhaustive]
    #[error("{} is not a pgadget log: its header is `{found}`", .path.display())]
    NotALog {
        /// The file.
        path: PathBuf,
        /// Its first line (shortened when long).
        found: String,
    },
    /// A row is not a valid record (only when reading strictly; otherwise it is skipped).
    #[non_exhaustive]
    #[error("{}:{line}: malformed row: {reason}", .path.display())]
    BadRow {
        /// The log.
        path: PathBuf,
        /// The line the row starts on, counting the header as line 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// A row the reader skipped, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The log.
    pub path: PathBuf,
    /// The line the row starts on, counting the header as line 1.
    pub line: u64,
    /// Why it was skipped.
    pub kind: SkipKind,
}

/// Why a row was skipped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SkipKind {
    /// Fewer cells than the header: what a process killed in the middle of its write leaves.
    /// Skipped even when reading strictly.
    Torn {
        /// The cells the row has.
        cells: usize,
        /// The cells the header has.
        expected: usize,
    },
    /// A row that is not a measurement; the text says why.
    Malformed(String),
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, line) = (self.path.display(), self.line);
        match &self.kind {
            SkipKind::Torn { cells, expected } => write!(
                f,
                "{path}:{line}: skipped a torn row ({cells} of {expected} cells; a process was \
                 probably killed while writing it)"
            ),
            SkipKind::Malformed(reason) => {
                write!(f, "{path}:{line}: skipped a malformed row: {reason}")
            }
        }
    }
}

/// What [`LogReader::next_entry`] found next.
#[derive(Debug)]
// Rows are the common case and are returned one at a time: boxing them would allocate per row.
#[allow(clippy::large_enum_variant)]
pub enum Entry<'a> {
    /// A valid row, borrowed from the reader until the next call.
    Row(RecordRef<'a>),
    /// A row that was skipped.
    Skipped(Skipped),
}

/// The columns of the header, in [`HEADER`]'s order, by their position in the header.
mod col {
    pub const DATETIME: usize = 0;
    pub const USER: usize = 1;
    pub const ISO: usize = 2;
    pub const COUNTRY: usize = 3;
    pub const PLATFORM: usize = 4;
    pub const PROJECT: usize = 5;
    pub const ELAPSED: usize = 6;
    pub const GPU_ELAPSED: usize = 7;
    pub const PACKAGE_MWH: usize = 8;
    pub const CORES_MWH: usize = 9;
    pub const GPU_MWH: usize = 10;
    pub const DRAM_MWH: usize = 11;
    pub const PUE: usize = 12;
    pub const CO2: usize = 13;
    pub const PACKAGE: usize = 14;
    pub const ALGORITHM: usize = 15;
    pub const PARAMS: usize = 16;
    pub const DATA_TYPE: usize = 17;
    pub const DATA_SHAPE: usize = 18;
    pub const COMMENT: usize = 19;
    pub const FUNCTION: usize = 20;
    pub const SOURCE: usize = 21;
    pub const PROCESS_CPU: usize = 22;
    pub const STATUS: usize = 23;
    pub const CPU_SHARE: usize = 24;
    pub const NOTE: usize = 25;
    pub const ROW_ID: usize = 26;
    pub const HOST: usize = 27;
}

/// Where each of [`HEADER`]'s columns sits in this log's rows.
#[derive(Debug, Clone)]
struct Columns {
    /// `at[c]`: the cell of column `c`, `None` when the log has no such column.
    at: [Option<usize>; HEADER.len()],
    /// How many cells the header has: a complete row has as many.
    width: usize,
}

impl Columns {
    /// The layout of a log with this header, or `None` when it is not a log.
    fn of(header: &[String]) -> Option<Columns> {
        if header.len() < SEED_COLUMNS || header[..SEED_COLUMNS] != HEADER[..SEED_COLUMNS] {
            return None;
        }
        let mut at = [None; HEADER.len()];
        for (c, slot) in at.iter_mut().enumerate().take(SEED_COLUMNS) {
            *slot = Some(c);
        }
        for (i, name) in header.iter().enumerate().skip(SEED_COLUMNS) {
            // Columns a later version may add are ignored; a name given twice is ambiguous.
            if let Some(c) = HEADER.iter().position(|h| h == name) {
                if at[c].is_some() {
                    return None;
                }
                at[c] = Some(i);
            }
        }
        Some(Columns {
            at,
            width: header.len(),
        })
    }
}

/// Reads a log one row at a time, keeping one row in memory.
///
/// ```no_run
/// use pgadget_runtime::log::{Entry, LogReader};
///
/// let mut reader = LogReader::open("power_logs.csv")?.strict(true);
/// let mut total = 0.0;
/// while let Some(entry) = reader.next_entry()? {
///     match entry {
///         Entry::Row(row) => total += row.total_mwh(),
///         Entry::Skipped(skipped) => eprintln!("{skipped}"),
///     }
/// }
/// println!("{total:.3} mWh");
/// # Ok::<(), pgadget_runtime::ReadError>(())
/// ```
pub struct LogReader<R> {
    input: Input<R>,
    path: PathBuf,
    /// `None` for an empty file, which holds no rows.
    columns: Option<Columns>,
    strict: bool,
}

/// Where the rows come from: parsed here, or by a thread of their own ([`LogReader::read_ahead`]).
enum Input<R> {
    Inline {
        csv: csv::Reader<R>,
        row: csv::StringRecord,
    },
    Ahead(ahead::Ahead),
}

impl<R> fmt::Debug for LogReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogReader")
            .field("path", &self.path)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl LogReader<File> {
    /// Opens the log at `path` and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let file = open_log_file(path)?;
        LogReader::new(file, path)
    }
}

/// Opens the log at `path` for reading, with errors that name their cause: a directory, or a
/// component of the path that is a file.
pub fn open_log_file(path: &Path) -> Result<File, ReadError> {
    let io_err = |source: io::Error| ReadError::Io {
        path: path.to_path_buf(),
        source: explain_io_error(path, source),
    };
    let file = File::open(path).map_err(io_err)?;
    if file.metadata().map_err(io_err)?.is_dir() {
        return Err(io_err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory; name the log file itself (the library writes power_logs.csv)",
        )));
    }
    Ok(file)
}

impl<R: Read> LogReader<R> {
    /// Reads the header from `reader` (which needs no buffering: the reader has its own);
    /// `path` names the log in messages.
    pub fn new(reader: R, path: impl Into<PathBuf>) -> Result<Self, ReadError> {
        let path = path.into();
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .buffer_capacity(READ_BUFFER_BYTES)
            .from_reader(reader);
        let mut header = csv::ByteRecord::new();
        let columns = match csv.read_byte_record(&mut header) {
            Ok(false) => None,
            Ok(true) => {
                let cells: Vec<String> = header
                    .iter()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect();
                let columns = Columns::of(&cells).ok_or_else(|| ReadError::NotALog {
                    path: path.clone(),
                    found: shorten(&cells.join(","), 200),
                })?;
                Some(columns)
            }
            Err(e) => return Err(csv_error(e, &path)),
        };
        Ok(LogReader {
            input: Input::Inline {
                csv,
                row: csv::StringRecord::new(),
            },
            path,
            columns,
            strict: false,
        })
    }

    /// Strictly, a malformed row is an error ([`ReadError::BadRow`]) instead of an
    /// [`Entry::Skipped`]. Torn rows are skipped either way.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The log's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many bytes of the input have been read (the header and the rows so far; read
    /// ahead, rows not yet handed over too). At the end of the log, its length.
    pub fn bytes_read(&self) -> u64 {
        match &self.input {
            Input::Inline { csv, .. } => csv.position().byte(),
            Input::Ahead(ahead) => ahead.bytes_read(),
        }
    }

    /// The next row, or the next skipped one; `None` at the end of the log.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_>>, ReadError> {
        let Some(columns) = &self.columns else {
            return Ok(None);
        };
        let (path, strict) = (&self.path, self.strict);
        let got = match &mut self.input {
            Input::Inline { csv, row } => {
                let before = csv.position().byte();
                match csv.read_record(row) {
                    Ok(false) => Got::End,
                    Ok(true) => Got::Row(row),
                    Err(e) => {
                        // Every error but I/O consumes the row it is about; should one ever
                        // not, stop rather than read the same bytes for ever.
                        let stuck = csv.position().byte() == before;
                        Got::Error(e, stuck)
                    }
                }
            }
            Input::Ahead(ahead) => ahead.next(),
        };
        let not_utf8 = |field: usize| {
            let name = columns
                .at
                .iter()
                .position(|&at| at == Some(field))
                .map_or("a cell", |c| HEADER[c]);
            format!("{name} is not UTF-8 text")
        };
        let row = match got {
            Got::Row(row) => row,
            Got::End => return Ok(None),
            Got::NotUtf8(line, field) => {
                return malformed(path, strict, line, not_utf8(field)).map(Some);
            }
            Got::Error(e, stuck) => {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { err, .. } => not_utf8(err.field()),
                    csv::ErrorKind::Io(_) => return Err(csv_error(e, path)),
                    _ => e.to_string(),
                };
                return malformed(path, strict || stuck, line, reason).map(Some);
            }
            Got::Lost(what) => {
                return Err(ReadError::Io {
                    path: path.clone(),
                    source: io::Error::other(what),
                })
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        let cells = row.len();
        if cells < columns.width {
            return Ok(Some(Entry::Skipped(Skipped {
                path: path.clone(),
                line,
                kind: SkipKind::Torn {
                    cells,
                    expected: columns.width,
                },
            })));
        }
        if cells > columns.width {
            let reason = format!("{cells} cells where the header has {}", columns.width);
            return malformed(path, strict, line, reason).map(Some);
        }
        match parse_row(row, columns) {
            Ok(row) => Ok(Some(Entry::Row(row))),
            Err(reason) => malformed(path, strict, line, reason).map(Some),
        }
    }

    /// Reads every remaining row into memory.
    pub fn read_all(mut self) -> Result<LogContents, ReadError> {
        let mut out = LogContents::default();
        while let Some(entry) = self.next_entry()? {
            match entry {
                Entry::Row(row) => out.records.push(row.to_record()),
                Entry::Skipped(skipped) => out.warnings.push(skipped.to_string()),
            }
        }
        Ok(out)
    }
}

impl<R: Read + Send + 'static> LogReader<R> {
    /// Parses the CSV on a thread of its own, a few thousand rows ahead, while the caller
    /// checks and uses the rows: on two cores, about twice as fast. The thread ends with the
    /// log, or soon after the reader is dropped.
    pub fn read_ahead(self) -> LogReader<R> {
        match self.input {
            Input::Inline { csv, .. } => LogReader {
                input: Input::Ahead(ahead::Ahead::start(csv)),
                path: self.path,
                columns: self.columns,
                strict: self.strict,
            },
            Input::Ahead(_) => self,
        }
    }
}

/// What the CSV parser gave next.
enum Got<'a> {
    Row(&'a csv::StringRecord),
    /// A row with a cell that is not UTF-8: its line and the cell's index.
    NotUtf8(u64, usize),
    End,
    /// A row the parser could not give, and whether it made no progress on it.
    Error(csv::Error, bool),
    /// The parsing thread is gone.
    Lost(&'static str),
}

/// A malformed row: an error when reading strictly, else skipped.
fn malformed<'a>(
    path: &Path,
    strict: bool,
    line: u64,
    reason: String,
) -> Result<Entry<'a>, ReadError> {
    if strict {
        return Err(ReadError::BadRow {
            path: path.to_path_buf(),
            line,
            reason,
        });
    }
    Ok(Entry::Skipped(Skipped {
        path: path.to_path_buf(),
        line,
        kind: SkipKind::Malformed(reason),
    }))
}

mod ahead {
    //! Parsing the CSV on a thread of its own, in batches of rows that go back and forth
    //! between the two threads, so that no row allocates once the batches have grown.

    use super::Got;
    use std::io::Read;
    use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

    /// Rows per batch: enough that handing a batch over costs next to nothing per row, few
    /// enough (about 35 KB) that the batches in circulation stay in the cores' caches between
    /// the two threads; 1024 rows a batch was measurably slower.
    const BATCH_ROWS: usize = 128;
    /// Batches in circulation: one being parsed, one being used, one waiting.
    const BATCHES: usize = 3;

    /// One row. The parsing thread fills `bytes`; the thread that uses the row checks that
    /// it is UTF-8 (which takes that work off the parsing thread, the busier of the two) and
    /// keeps it as `text`, which goes back to being `bytes` for the next batch. The record's
    /// memory moves between the two forms without being copied or reallocated.
    #[derive(Default)]
    struct Slot {
        bytes: Option<csv::ByteRecord>,
        text: Option<csv::StringRecord>,
        /// Why the parser could not give this row.
        error: Option<csv::Error>,
        /// The error made no progress: reading must stop after it.
        stuck: bool,
    }

    #[derive(Default)]
    struct Batch {
        slots: Vec<Slot>,
        len: usize,
        /// Input bytes read when the batch was handed over.
        bytes: u64,
        /// The log ended after these rows (with an I/O error, if any).
        end: Option<Option<csv::Error>>,
    }

    pub struct Ahead {
        full: Receiver<Batch>,
        empty: SyncSender<Batch>,
        batch: Batch,
        next: usize,
        finished: bool,
    }

    impl Ahead {
        pub fn start<R: Read + Send + 'static>(mut csv: csv::Reader<R>) -> Ahead {
            let (full_tx, full) = sync_channel::<Batch>(BATCHES);
            let (empty, empty_rx) = sync_channel::<Batch>(BATCHES);
            for _ in 0..BATCHES {
                // The channel holds all of them: this cannot block or fail.
                let _ = empty.try_send(Batch::default());
            }
            let spawned = std::thread::Builder::new()
                .name("pgadget-log-reader".into())
                .spawn(move || {
                    // Ends when the log does, or when the reader is dropped (either channel
                    // then fails).
                    while let Ok(mut batch) = empty_rx.recv() {
                        fill(&mut csv, &mut batch);
                        let end = batch.end.is_some();
                        if full_tx.send(batch).is_err() || end {
                            return;
                        }
                    }
                });
            // Without a thread, the batches never come: `next` reports it.
            drop(spawned);
            Ahead {
                full,
                empty,
                batch: Batch::default(),
                next: 0,
                finished: false,
            }
        }

        pub fn bytes_read(&self) -> u64 {
            self.batch.bytes
        }

        pub fn next(&mut self) -> Got<'_> {
            let at = loop {
                if self.next < self.batch.len {
                    self.next += 1;
                    break self.next - 1;
                }
                if let Some(end) = self.batch.end.take() {
                    self.finished = true;
                    if let Some(e) = end {
                        return Got::Error(e, true);
                    }
                }
                if self.finished {
                    return Got::End;
                }
                let Ok(full) = self.full.recv() else {
                    self.finished = true;
                    return Got::Lost("the thread reading the log stopped");
                };
                let used = std::mem::replace(&mut self.batch, full);
                // At most BATCHES batches exist, so there is room.
                let _ = self.empty.try_send(used);
                self.next = 0;
            };
            let slot = &mut self.batch.slots[at];
            if let Some(e) = slot.error.take() {
                return Got::Error(e, slot.stuck);
            }
            let Some(bytes) = slot.bytes.take() else {
                return Got::Lost("the thread reading the log lost a row");
            };
            match csv::StringRecord::from_byte_record(bytes) {
                Ok(text) => Got::Row(slot.text.insert(text)),
                Err(e) => {
                    let field = e.utf8_error().field();
                    let bytes = e.into_byte_record();
                    let line = bytes.position().map_or(0, |p| p.line());
                    slot.bytes = Some(bytes);
                    Got::NotUtf8(line, field)
                }
            }
        }
    }

    fn fill<R: Read>(csv: &mut csv::Reader<R>, batch: &mut Batch) {
        batch.len = 0;
        batch.end = None;
        while batch.len < BATCH_ROWS {
            if batch.slots.len() == batch.len {
                batch.slots.push(Slot::default());
            }
            let slot = &mut batch.slots[batch.len];
            slot.error = None;
            slot.stuck = false;
            let record = match (slot.bytes.take(), slot.text.take()) {
                (Some(bytes), _) => bytes,
                (None, Some(text)) => text.into_byte_record(),
                (None, None) => csv::ByteRecord::new(),
            };
            let record = slot.bytes.insert(record);
            let before = csv.position().byte();
            match csv.read_byte_record(record) {
                Ok(true) => batch.len += 1,
                Ok(false) => {
                    batch.end = Some(None);
                    break;
                }
                Err(e) if e.is_io_error() => {
                    batch.end = Some(Some(e));
                    break;
                }
                Err(e) => {
                    slot.stuck = csv.position().byte() == before;
                    slot.error = Some(e);
                    batch.len += 1;
                    if slot.stuck {
                        batch.end = Some(None);
                        break;
                    }
                }
            }
        }
        batch.bytes = csv.position().byte();
    }
}

fn csv_error(e: csv::Error, path: &Path) -> ReadError {
    let line = e.position().map_or(0, |p| p.line());
    let reason = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => ReadError::Io {
            path: path.to_path_buf(),
            source: explain_io_error(path, source),
        },
        _ => ReadError::BadRow {
            path: path.to_path_buf(),
            line,
            reason,
        },
    }
}

/// `text`, cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A cell quoted for a message: escaped (no control character reaches a terminal) and short.
fn quoted(cell: &str) -> String {
    format!("{:?}", shorten(cell, 40))
}

fn parse_row<'a>(row: &'a csv::StringRecord, columns: &Columns) -> Result<RecordRef<'a>, String> {
    let cell = |c: usize| -> &'a str { columns.at[c].and_then(|i| row.get(i)).unwrap_or("") };
    let required = |c: usize| -> Result<f64, String> { number(HEADER[c], cell(c)) };
    let optional = |c: usize| -> Result<Option<f64>, String> {
        let text = cell(c);
        if text.is_empty() {
            Ok(None)
        } else {
            number(HEADER[c], text).map(Some)
        }
    };
    Ok(RecordRef {
        datetime: datetime(cell(col::DATETIME))?,
        user: cell(col::USER),
        iso: cell(col::ISO),
        country: cell(col::COUNTRY),
        platform: cell(col::PLATFORM),
        project: cell(col::PROJECT),
        elapsed_secs: required(col::ELAPSED)?,
        gpu_elapsed_secs: required(col::GPU_ELAPSED)?,
        package_mwh: optional(col::PACKAGE_MWH)?,
        cores_mwh: optional(col::CORES_MWH)?,
        gpu_mwh: optional(col::GPU_MWH)?,
        dram_mwh: optional(col::DRAM_MWH)?,
        pue: required(col::PUE)?,
        co2_g: optional(col::CO2)?,
        package: cell(col::PACKAGE),
        algorithm: cell(col::ALGORITHM),
        algorithm_params: cell(col::PARAMS),
        data_type: cell(col::DATA_TYPE),
        data_shape: cell(col::DATA_SHAPE),
        comments: cell(col::COMMENT),
        function: cell(col::FUNCTION),
        energy_source: cell(col::SOURCE),
        process_cpu_secs: optional(col::PROCESS_CPU)?,
        status: cell(col::STATUS),
        cpu_share: optional(col::CPU_SHARE)?,
        energy_note: cell(col::NOTE),
        row_id: cell(col::ROW_ID),
        host: cell(col::HOST),
    })
}

/// A number of a cell: finite, from 0 to [`MAX_CELL_VALUE`].
fn number(name: &str, text: &str) -> Result<f64, String> {
    // Spaces around a number are tolerated, but looked for only when it does not parse.
    let value: f64 = text
        .parse()
        .or_else(|_| text.trim().parse())
        .map_err(|_| format!("{name} is {}, not a number", quoted(text)))?;
    // NaN fails every comparison, so this also turns it away.
    if (0.0..=MAX_CELL_VALUE).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{name} is {}; a measurement is a finite number from 0 to 1e15",
            quoted(text)
        ))
    }
}

/// The Datetime cell: RFC 3339 as pgadget writes it (a space for the `T` is accepted), or a
/// date and time without an offset, as PyPowerGadget wrote its local time
/// (`2020-03-04 17:53:36.289029`), which is read as local time where the log is read.
fn datetime(text: &str) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .map_err(|_| format!("Datetime is {}, not a date and time", quoted(text)))?;
    // In the hour a clock change repeats, the first; in the hour it skips (which no clock
    // showed, but a log from another time zone may hold), the offset in force before it.
    let local = Local.from_local_datetime(&naive).earliest().or_else(|| {
        let before = Local.offset_from_utc_datetime(&naive).fix();
        before
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.with_timezone(&Local))
    });
    local
        .map(|t| t.fixed_offset())
        .ok_or_else(|| format!("Datetime {} does not exist here", quoted(text)))
}

/// The rows of a log, and what was skipped on the way.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct LogContents {
    /// The valid rows, in the log's order.
    pub records: Vec<Record>,
    /// One message per row that was skipped (torn, or malformed when not reading strictly).
    pub warnings: Vec<String>,
}

/// Reads every row of the log at `path` into memory, as [`get_logged_data`] does, and returns
/// the warnings instead of printing them.
///
/// A row with fewer cells than the header is what a process killed in the middle of its write
/// leaves behind; a row that is not a measurement (a date that is not one, a cell that is not
/// UTF-8, a number that is negative, infinite, not a number or above 10^15) is malformed. Both
/// are skipped, each with a warning in [`LogContents::warnings`] naming its line: a program
/// that must not skip a row checks that `warnings` is empty.
///
/// ```no_run
/// let log = pgadget::read_log("power_logs.csv")?;
/// if let Some(first) = log.warnings.first() {
///     return Err(format!("{} rows skipped, the first: {first}", log.warnings.len()).into());
/// }
/// println!("{} rows", log.records.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_log(path: impl AsRef<Path>) -> Result<LogContents, ReadError> {
    LogReader::open(path)?.read_all()
}

/// Reads rows from any reader, as [`read_log`] does; `path` names it in messages.
pub fn read_log_from(reader: impl Read, path: &Path) -> Result<LogContents, ReadError> {
    LogReader::new(reader, path)?.read_all()
}

/// How many warnings [`get_logged_data`] prints before it only counts them.
const PRINTED_WARNINGS: usize = 10;

/// Reads the log at `path` into records: the seed's `get_logged_data`.
///
/// It reads any log whose header starts with PyPowerGadget's 20 columns (PyPowerGadget's own,
/// and every version of pgadget's); a column the log does not have is empty in every record
/// (`None` for numbers). A Datetime without a UTC offset, as PyPowerGadget wrote it, is taken
/// as local time on the machine reading the log.
///
/// Rows that cannot be read are skipped, and each is reported on stderr with its line (the
/// first ten; then a count): a torn row, which a process killed while writing leaves behind
/// (usually the last line; it can also sit inside the log, because the next writer ends the
/// torn line and appends after it), and a malformed row (a date that is not one, a number
/// that is negative, infinite or not a number). [`read_log`] returns these warnings instead of
/// printing them.
///
/// The whole log is held in memory.
///
/// ```no_run
/// let rows = pgadget::get_logged_data("power_logs.csv")?;
/// let total: f64 = rows.iter().map(|r| r.total_mwh()).sum();
/// println!("{} calls, {total:.3} mWh", rows.len());
/// # Ok::<(), pgadget::ReadError>(())
/// ```
pub fn get_logged_data(path: impl AsRef<Path>) -> Result<Vec<Record>, ReadError> {
    let contents = read_log(path)?;
    for w in contents.warnings.iter().take(PRINTED_WARNINGS) {
        eprintln!("pgadget: {w}");
    }
    if let Some(more) = contents.warnings.len().checked_sub(PRINTED_WARNINGS) {
        if more > 0 {
            eprintln!("pgadget: ... and {more} more rows skipped");
        }
    }
    Ok(contents.records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_indices_follow_the_header() {
        let named = [
            (col::DATETIME, "Datetime"),
            (col::USER, "User ID"),
            (col::ISO, "ISO"),
            (col::COUNTRY, "Country"),
            (col::PLATFORM, "Platform"),
            (col::PROJECT, "Project name"),
            (col::ELAPSED, "Total Elapsed CPU Time (sec)"),
            (col::GPU_ELAPSED, "Total Elapsed GPU Time (sec)"),
            (col::PACKAGE_MWH, "Cumulative Package Energy (mWh)"),
            (col::CORES_MWH, "Cumulative IA Energy (mWh)"),
            (col::GPU_MWH, "Cumulative GPU Energy (mWh)"),
            (col::DRAM_MWH, "Cumulative DRAM Energy (mWh)"),
            (col::PUE, "PUE"),
            (col::CO2, "CO2 emitted (gCO2e)"),
            (col::PACKAGE, "Package"),
            (col::ALGORITHM, "Algorithm"),
            (col::PARAMS, "Algorithm's parameters"),
            (col::DATA_TYPE, "Data type"),
            (col::DATA_SHAPE, "Data shape"),
            (col::COMMENT, "Comment"),
            (col::FUNCTION, "Function"),
            (col::SOURCE, "Energy Source"),
            (col::PROCESS_CPU, "Process CPU Time (sec)"),
            (col::STATUS, "Status"),
            (col::CPU_SHARE, "Process CPU Share"),
            (col::NOTE, "Energy Note"),
            (col::ROW_ID, "Row ID"),
            (col::HOST, "Host"),
        ];
        assert_eq!(named.len(), HEADER.len());
        for (c, name) in named {
            assert_eq!(HEADER[c], name);
        }
    }

    #[test]
    fn numbers_are_finite_and_from_zero_to_the_bound() {
        assert_eq!(number("PUE", "1.58"), Ok(1.58));
        assert_eq!(number("PUE", "0"), Ok(0.0));
        assert_eq!(number("PUE", "1e15"), Ok(1e15));
        for bad in [
            "NaN", "inf", "-inf", "infinity", "-1", "1e308", "1e400", "x", "",
        ] {
            let e = number("PUE", bad).unwrap_err();
            assert!(e.starts_with("PUE is "), "{bad}: {e}");
        }
    }

    #[test]
    fn datetimes_with_an_offset_keep_it_and_naive_ones_are_local() {
        let t = datetime("2026-11-25T09:30:00.123456+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T09:30:00.123456+01:00");
        let t = datetime("2026-11-25 09:30:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T09:30:00+01:00");
        for naive in ["2020-03-04 17:53:36.289029", "2020-03-04 17:53:36"] {
            let t = datetime(naive).unwrap();
            let expected = NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f").unwrap();
            assert_eq!(t.naive_local(), expected, "{naive}: the digits are kept");
            assert_eq!(
                t.offset().fix(),
                Local.from_local_datetime(&expected).unwrap().offset().fix()
            );
        }
        assert!(datetime("yesterday").unwrap_err().contains("\"yesterday\""));
        assert!(datetime("\u{1b}]0;x\u{7}")
            .unwrap_err()
            .contains("\\u{1b}]0;x\\u{7}"));
    }
}
