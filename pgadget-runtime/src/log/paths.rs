//! Saying which part of a path is wrong when the system only says "Not a directory" or
//! "File exists".

use std::io;
use std::path::{Path, PathBuf};

/// The first component of `path`, from the root down, that exists but is not a directory
/// (the log itself excluded): what makes "Not a directory" (opening) or "File exists"
/// (`create_dir_all`) errors.
fn non_directory_ancestor(path: &Path) -> Option<PathBuf> {
    let mut ancestors: Vec<&Path> = path
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .collect();
    ancestors.reverse();
    ancestors
        .into_iter()
        .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()))
        .map(Path::to_path_buf)
}

/// `e`, an error about `path`, with its cause named when the system's message would mislead:
/// a component of the path that is a file gives "Not a directory" or "File exists"; this says
/// which component it is. Other errors are returned unchanged.
pub fn explain_io_error(path: &Path, e: io::Error) -> io::Error {
    let misleading = matches!(
        e.kind(),
        io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
    );
    if !misleading {
        return e;
    }
    match non_directory_ancestor(path) {
        Some(file) => io::Error::new(
            io::ErrorKind::NotADirectory,
            format!(
                "{} is a file, not a directory, so nothing can be inside it",
                file.display()
            ),
        ),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_the_middle_of_the_path_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        std::fs::write(&file, "x").unwrap();
        let log = file.join("logs").join("power_logs.csv");
        let e = std::fs::File::open(&log).unwrap_err();
        let explained = explain_io_error(&log, e);
        assert_eq!(explained.kind(), io::ErrorKind::NotADirectory);
        assert_eq!(
            explained.to_string(),
            format!(
                "{} is a file, not a directory, so nothing can be inside it",
                file.display()
            )
        );
        let e = std::fs::create_dir_all(log.parent().unwrap()).unwrap_err();
        assert!(explain_io_error(log.parent().unwrap(), e)
            .to_string()
            .starts_with(&file.display().to_string()));
        // Nothing to explain: the error stays as it is.
        let missing = dir.path().join("missing.csv");
        let e = std::fs::File::open(&missing).unwrap_err();
        assert_eq!(
            explain_io_error(&missing, e).kind(),
            io::ErrorKind::NotFound
        );
    }
}
