//! pgadget's cache directory: what one run leaves for the next on this machine (the country
//! lookup's answer, whether the energy sources were explained already).
//!
//! The directory is created owner-only (0700 whatever the umask): what it holds tells where the
//! machine is and which service was asked. Files in it are created exclusively (`O_EXCL`, which
//! never follows a symbolic link planted at the name).

use std::io;
use std::path::{Path, PathBuf};

/// The cache directory: `PGADGET_CACHE_DIR` if set, else `<user cache dir>/pgadget`
/// (`~/.cache/pgadget` on Linux), or `None` where the system has no cache directory.
pub fn cache_dir(configured: Option<&Path>) -> Option<PathBuf> {
    match configured {
        Some(dir) => Some(dir.to_path_buf()),
        None => dirs::cache_dir().map(|d| d.join("pgadget")),
    }
}

/// Whether `dir` already holds the mark `name`; if not, leaves it there (an empty owner-only
/// file). A mark that cannot be left (no cache directory, a read-only one) counts as absent,
/// so the caller keeps doing what it does the first time.
pub(crate) fn seen_before(dir: Option<&Path>, name: &str) -> bool {
    let Some(dir) = dir else { return false };
    if crate::files::create_private_dir_all(dir).is_err() {
        return false;
    }
    let mut options = std::fs::OpenOptions::new();
    // create_new is O_CREAT|O_EXCL: it fails on anything already at the name, a link included,
    // and never writes through one.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(dir.join(name)) {
        Ok(_) => false,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_honours_the_override() {
        assert_eq!(
            cache_dir(Some(Path::new("/tmp/x"))),
            Some(PathBuf::from("/tmp/x"))
        );
        if let Some(default) = cache_dir(None) {
            assert!(default.ends_with("pgadget"));
        }
    }

    #[test]
    fn a_mark_is_absent_once_then_present() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        assert!(!seen_before(Some(&cache), "mark"));
        assert!(seen_before(Some(&cache), "mark"));
        assert!(!seen_before(Some(&cache), "another"));
        assert!(!seen_before(None, "mark"), "no cache directory: never seen");
    }

    #[cfg(unix)]
    #[test]
    fn new_directories_and_marks_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = dir.path().join("a/b");
        seen_before(Some(&cache), "mark");
        assert_eq!(
            mode(dir.path()),
            0o755,
            "an existing directory is left alone"
        );
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&cache), 0o700);
        assert_eq!(mode(&cache.join("mark")), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_mark_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::os::unix::fs::symlink(&target, dir.path().join("mark")).unwrap();
        // The name is taken (by the link), so the mark counts as present; nothing is created
        // through the link.
        assert!(seen_before(Some(dir.path()), "mark"));
        assert!(!target.exists());
    }
}
