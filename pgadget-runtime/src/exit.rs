//! Work to finish when the process exits normally: rows still waiting for the log, rows not yet
//! shipped, an answer still on its way. One hook is registered with the C library's `atexit`,
//! which runs it when `main` returns or `std::process::exit` is called; on a signal, `abort`
//! or `_exit` nothing runs, and the work is lost (each user of this module says so).
//!
//! Hooks run in the order they were added, each caught if it panics, after the exiting
//! thread's thread-locals are gone (glibc destroys them first): a hook must not use a
//! thread-local with a destructor (`chrono::Local` among them).

use std::sync::Mutex;

static HOOKS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Runs `hook` once at normal process exit (adding the same hook twice runs it once).
pub(crate) fn at_exit(hook: fn()) {
    let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
    if hooks.iter().any(|h| std::ptr::fn_addr_eq(*h, hook)) {
        return;
    }
    hooks.push(hook);
    if hooks.len() == 1 {
        register();
    }
}

#[cfg(any(unix, windows))]
fn register() {
    // On Windows the C runtime runs it when `main` returns; `std::process::exit` calls
    // `ExitProcess`, which runs it too, but a process ended by `TerminateProcess` skips it.
    // SAFETY: atexit only records the pointer; run_hooks is an `extern "C" fn` with no
    // arguments that never unwinds (it catches panics).
    if unsafe { libc::atexit(run_hooks) } != 0 {
        eprintln!(
            "pgadget: could not register the work to finish at exit (delayed log rows, rows to \
             ship); whatever is still waiting when the process exits will be lost."
        );
    }
}

#[cfg(not(any(unix, windows)))]
fn register() {}

#[cfg(any(unix, windows))]
extern "C" fn run_hooks() {
    // Taken, not cloned: a hook that adds another one then does not deadlock, and nothing
    // runs twice.
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(|p| p.into_inner()));
    for hook in hooks {
        // A panic must not cross the C boundary (it would abort the exit).
        let _ = std::panic::catch_unwind(hook);
    }
}

#[cfg(all(test, any(unix, windows)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn count() {
        RUNS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn a_hook_added_twice_runs_once() {
        at_exit(count);
        at_exit(count);
        // What happens at exit, run here so that the test sees it (the real exit of the test
        // binary then finds the list empty).
        run_hooks();
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    }
}
