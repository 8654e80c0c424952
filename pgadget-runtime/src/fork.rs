//! Telling a forked child from its parent, without a system call per measured call.
//!
//! After `fork()` the child is a copy of the parent's memory with one thread: the one that
//! forked. Whatever pgadget keeps per process (the random half of the row ids) or runs in a
//! thread of its own (the samplers that follow counter roll-overs) must be redone in the
//! child. [`generation`] counts the forks between the process that first called it and this
//! one: a `pthread_atfork` handler adds one in every child, so state tagged with the
//! generation it was made in can tell, with one atomic load, that it was inherited.
//!
//! The handler is registered the first time [`generation`] is called, which every user of it
//! does before it makes any state worth checking; a fork before that leaves nothing to redo.
//! A child made by `vfork`, `posix_spawn` or `clone` without `fork` semantics runs no handler,
//! but such a child only executes another program.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The number of forks between the process that first called this function and this process
/// (0 in that process, 1 in its children, 2 in theirs). Its value in a process never changes
/// except across a fork.
#[inline]
pub fn generation() -> u64 {
    os::register();
    GENERATION.load(Ordering::Acquire)
}

#[cfg(unix)]
mod os {
    use super::GENERATION;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Once;

    static REGISTERED: AtomicBool = AtomicBool::new(false);
    static REGISTER: Once = Once::new();

    /// Runs in the child, in the thread that forked, before `fork` returns there: only an
    /// atomic add, which is async-signal-safe.
    extern "C" fn in_child() {
        GENERATION.fetch_add(1, Ordering::AcqRel);
    }

    #[inline]
    pub(super) fn register() {
        // After the first call, one load; the Once is only entered until registration is done.
        if REGISTERED.load(Ordering::Acquire) {
            return;
        }
        REGISTER.call_once(|| {
            // SAFETY: pthread_atfork only stores the handler pointers; `in_child` is a plain
            // `extern "C" fn()` with a 'static lifetime that touches nothing but an atomic.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if rc != 0 {
                // Only ENOMEM is possible. Children then keep their parent's generation: rows
                // may repeat the parent's id prefix and a child's window may miss roll-overs,
                // so say it.
                crate::report_once(
                    "cannot register a fork handler (out of memory): a forked child's \
                     measurements may be wrong",
                );
            }
            REGISTERED.store(true, Ordering::Release);
        });
    }
}

/// Without `fork` there is nothing to detect.
#[cfg(not(unix))]
mod os {
    #[inline]
    pub(super) fn register() {}
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_forked_child_sees_the_next_generation_and_the_parent_keeps_its_own() {
        let parent = generation();
        // SAFETY: the child only reads an atomic and calls _exit, both async-signal-safe.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = if generation() == parent + 1 { 0 } else { 1 };
            // SAFETY: _exit ends the child at once, without running the parent's atexit
            // handlers or the test harness in this copy of the process.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just forked, writing its status into `status`.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        assert!(libc::WIFEXITED(status), "the child did not exit: {status}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "the child saw the wrong generation"
        );
        assert_eq!(generation(), parent, "the parent's generation changed");
    }
}
