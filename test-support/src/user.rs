//! Running as an unprivileged user: root reads any file whatever its mode, so permission
//! errors are only seen as someone else.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The uid and gid of `nobody` on Linux.
pub const NOBODY: u32 = 65534;

/// Whether the tests run as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Copies the executable `exe` into `dir` and makes both reachable by every user: the build
/// directory may sit where `nobody` cannot reach (a 0700 temp dir, a home directory).
pub fn copy_for_nobody(exe: &Path, dir: &Path) -> PathBuf {
    let copy = dir.join(exe.file_name().expect("an executable's file name"));
    std::fs::copy(exe, &copy).expect("copy the executable");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
        .expect("make the copy executable by all");
    open_to_all(dir);
    copy
}

/// Lets every user list and enter `dir` (tempfile makes its directories owner-only).
pub fn open_to_all(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .expect("open the directory to all");
}
