//! The OS account name, for "User ID".

/// The name of the account running the process: the password database on Unix, else
/// `USER`/`USERNAME`, else `unknown`.
pub fn os_user_name() -> String {
    #[cfg(unix)]
    if let Some(name) = passwd_name() {
        return name;
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(unix)]
fn passwd_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::zeroed();
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into `pwd` and `buf` (whose length we pass) and sets `result`
    // to `pwd` on success or to null; it keeps no pointer past the call.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            pwd.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points at a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr((*result).pw_name) };
    Some(name.to_string_lossy().into_owned()).filter(|s| !s.is_empty())
}

/// The machine's name, for "Host": `gethostname` on Unix, `COMPUTERNAME` on Windows, else
/// empty (an unknown host is an empty cell, not a made-up name).
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        // POSIX caps host names at HOST_NAME_MAX (255 on Linux) bytes plus the NUL.
        let mut buf = [0 as libc::c_char; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`, which we own.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr(), buf.len()) };
        // A name that fills the buffer may lack its NUL: treat it as unknown rather than read
        // past the end.
        if rc == 0 && buf.contains(&0) {
            // SAFETY: `buf` holds a NUL within its length (checked above).
            let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
            return name.to_string_lossy().into_owned();
        }
        String::new()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn the_host_name_is_the_kernels() {
        let expected = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(super::host_name(), expected.trim());
    }
}
