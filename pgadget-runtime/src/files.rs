//! Files handled as a careful daemon would: directories created owner-only, no symbolic link
//! followed at the file's own name, nothing opened that is not a regular file.
//!
//! pgadget often runs as root (in containers, under `sudo`), and its log and cache sit in
//! directories others may write to. A link planted at the log's name must not make it write
//! into another file (or create one elsewhere), and a FIFO or a device must not hang or feed
//! a measured call. Links among the *directories* of a path are the user's choice (a home on
//! another disk, `/tmp` on macOS) and are followed.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents, each readable by its owner only (0700 whatever the
/// umask; on Windows the directory inherits its parent's access list, private under a user's
/// profile). Directories that already exist are left as they are.
pub(crate) fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        // A mode passed to mkdir is only ever narrowed by the umask, so 0700 stays 0700 even
        // under umask 000.
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Why a path was not opened: something other than a regular file stands at its name.
#[derive(Debug)]
pub(crate) struct NotARegularFile {
    /// What stands there, e.g. "a FIFO (named pipe)", "a symbolic link to /etc/passwd".
    pub what: String,
    pub symlink: bool,
}

impl fmt::Display for NotARegularFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.symlink {
            write!(
                f,
                "it is {}, and pgadget does not follow a link at the log's own name (a planted \
                 link could make it write into any file)",
                self.what
            )
        } else {
            write!(
                f,
                "it is {}, not a regular file, and pgadget writes only to regular files",
                self.what
            )
        }
    }
}

impl std::error::Error for NotARegularFile {}

impl NotARegularFile {
    /// The refusal of `path`, whose type (as `lstat` sees it) is `file_type`.
    fn error(path: &Path, file_type: std::fs::FileType) -> io::Error {
        let symlink = file_type.is_symlink();
        let what = if symlink {
            match std::fs::read_link(path) {
                Ok(target) => format!("a symbolic link to {}", target.display()),
                Err(_) => "a symbolic link".to_string(),
            }
        } else {
            describe(file_type).to_string()
        };
        io::Error::new(
            io::ErrorKind::InvalidInput,
            NotARegularFile { what, symlink },
        )
    }

    /// The refusal inside `error`, if that is what it holds.
    pub fn of(error: &io::Error) -> Option<&NotARegularFile> {
        error.get_ref().and_then(|e| e.downcast_ref())
    }
}

/// What a file type is, in words, for anything but a regular file or a link.
fn describe(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// An open regular file and its metadata (from `fstat`, so of the file actually opened).
#[derive(Debug)]
pub(crate) struct Opened {
    pub file: File,
    pub meta: std::fs::Metadata,
}

/// Opens `path` to read and append, creating it owner-only (0600) if it is missing.
///
/// Refuses (with a [`NotARegularFile`] inside the error) a symbolic link at `path` itself,
/// dangling or not, and anything that is not a regular file, without opening it: opening a
/// device can act on it, and a FIFO can block. The name is checked with `lstat` first and the
/// opened file again with `fstat`, so a swap between the two is caught too.
pub(crate) fn open_regular_append(path: &Path) -> io::Result<Opened> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(NotARegularFile::error(path, meta.file_type()))
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The log holds user and host names and what ran: owner-only. O_NOFOLLOW refuses a
        // link swapped in after the lstat above (even a dangling one, whose target O_CREAT
        // would otherwise create); O_NONBLOCK keeps a swapped-in FIFO from blocking the open;
        // O_NOCTTY keeps a swapped-in terminal from becoming ours.
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // FILE_FLAG_OPEN_REPARSE_POINT (winbase.h): open a symbolic link or junction itself
        // rather than what it points to, so the type check below sees the link.
        options.custom_flags(0x0020_0000);
    }
    let file = options.open(path).map_err(|e| refusal_or(path, e))?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(NotARegularFile::error(path, meta.file_type()));
    }
    #[cfg(unix)]
    blocking(&file)?;
    Ok(Opened { file, meta })
}

/// Turns an open error caused by what stands at `path` (a link, a FIFO without reader, a
/// directory) into the refusal naming it.
fn refusal_or(path: &Path, error: io::Error) -> io::Error {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => NotARegularFile::error(path, meta.file_type()),
        _ => error,
    }
}

/// Clears O_NONBLOCK, which only served the open, so that writes to the file behave as
/// everywhere (on Linux it changes nothing for regular files; elsewhere it might).
#[cfg(unix)]
fn blocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with F_GETFL/F_SETFL, reads or sets status flags
    // and touches no memory.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The permission bits that let users other than the owner in (group and others), when any
/// are set. Always `None` on Windows, whose access lists have no such bits.
pub(crate) fn open_to_others(meta: &std::fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Renames `from` to `to` unless something (a file, a directory, a link, dangling or not)
/// already has the name `to`, which then fails with `AlreadyExists`. A link at `to` is never
/// followed: a rename replaces names, it never writes into files.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
        };
        let (old, new) = (c(from)?, c(to)?);
        // SAFETY: both paths are NUL-terminated strings that outlive the call; AT_FDCWD makes
        // them relative to the working directory, as std::fs::rename does.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                old.as_ptr(),
                libc::AT_FDCWD,
                new.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // A file system without RENAME_NOREPLACE says EINVAL; an old kernel says ENOSYS.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    // Elsewhere: check, then rename. The name was free an instant ago; a race can at worst
    // replace a name planted in between, never write through it.
    match std::fs::symlink_metadata(to) {
        Ok(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::rename(from, to),
        Err(e) => Err(e),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_at_the_name_is_refused_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "precious\n").unwrap();
        let link = dir.path().join("log.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_regular_append(&link).unwrap_err();
        let refusal = NotARegularFile::of(&err).expect("a refusal");
        assert!(refusal.symlink, "{refusal}");
        assert!(refusal.to_string().contains("target"), "{refusal}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    }

    #[test]
    fn a_dangling_link_does_not_create_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("created-elsewhere");
        let link = dir.path().join("log.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(NotARegularFile::of(&open_regular_append(&link).unwrap_err()).is_some());
        assert!(!target.exists());
    }

    #[test]
    fn new_directories_are_owner_only_and_existing_ones_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir_all(&dir.path().join("a/b")).unwrap();
        assert_eq!(mode(dir.path()), 0o755);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    }

    #[test]
    fn rename_no_replace_leaves_an_existing_name_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "a").unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &b).unwrap();
        let err = rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(std::fs::symlink_metadata(&b)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "a");
        let c = dir.path().join("c");
        rename_no_replace(&a, &c).unwrap();
        assert_eq!(std::fs::read_to_string(&c).unwrap(), "a");
    }
}
