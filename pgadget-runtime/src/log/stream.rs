//! Reading the log one row at a time, for work whose memory must not grow with the log
//! (uploading it to a database, shipping from it what could not wait in memory).

use super::read::ReadError;
use super::record::{Record, HEADER};
use std::ops::ControlFlow;
use std::path::Path;

/// What a pass over the log met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Passed {
    /// Rows handed over.
    pub rows: u64,
    /// Rows passed over: torn (fewer cells than the header, what a killed writer leaves) or
    /// otherwise not a record.
    pub skipped: u64,
}

/// Hands every row of the log at `path` to `each`, in the log's order, one at a time, until
/// `each` breaks. A row that is not a record is counted in [`Passed::skipped`] and passed over;
/// a file that is not a pgadget log is an error.
pub fn for_each_record(
    path: &Path,
    mut each: impl FnMut(Record) -> ControlFlow<()>,
) -> Result<Passed, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(std::io::BufReader::new(file));
    let header = csv::StringRecord::from(HEADER.to_vec());
    let mut row = csv::StringRecord::new();
    let mut passed = Passed::default();
    let mut first = true;
    loop {
        match csv.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            // Not UTF-8, say: that row is passed over, the next one is read.
            Err(e) if !e.is_io_error() => {
                passed.skipped += 1;
                continue;
            }
            Err(e) => {
                let source = match e.into_kind() {
                    csv::ErrorKind::Io(e) => e,
                    other => std::io::Error::other(format!("{other:?}")),
                };
                return Err(io(source));
            }
        }
        if std::mem::take(&mut first) {
            if row != header {
                return Err(ReadError::NotALog {
                    path: path.to_path_buf(),
                    found: row.iter().collect::<Vec<_>>().join(","),
                });
            }
            continue;
        }
        let record = (row.len() == HEADER.len())
            .then(|| row.deserialize::<Record>(Some(&header)).ok())
            .flatten();
        match record {
            Some(record) => {
                passed.rows += 1;
                if each(record).is_break() {
                    break;
                }
            }
            None => passed.skipped += 1,
        }
    }
    Ok(passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::{header_line, sample};
    use std::io::Write;

    #[test]
    fn rows_come_one_by_one_and_torn_ones_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(&header_line()).unwrap();
        for i in 0..3 {
            let mut r = sample();
            r.comments = format!("row {i}");
            file.write_all(&r.to_csv_line().unwrap()).unwrap();
            if i == 1 {
                file.write_all(b"2026-11-25T09:30:00+01:00,torn\n").unwrap();
            }
        }
        let mut seen = Vec::new();
        let passed = for_each_record(&path, |r| {
            seen.push(r.comments);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(seen, ["row 0", "row 1", "row 2"]);
        assert_eq!((passed.rows, passed.skipped), (3, 1));
        // Breaking stops the pass.
        let passed = for_each_record(&path, |_| ControlFlow::Break(())).unwrap();
        assert_eq!(passed.rows, 1);
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        assert!(matches!(
            for_each_record(&path, |_| ControlFlow::Continue(())),
            Err(ReadError::NotALog { .. })
        ));
    }
}
