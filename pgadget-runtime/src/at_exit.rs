//! Work that must be done when the process exits normally: when `main` returns or
//! `std::process::exit` is called (not on a signal, `abort` or `_exit`).
//!
//! One C-library `atexit` hook runs every registered function, in the order they were
//! registered, each behind `catch_unwind`. Parts of pgadget that keep work for later (rows to
//! ship, totals to push) register here rather than with `atexit` themselves, so that there is
//! one place that knows what happens at exit and in which order.
//!
//! The hook runs on the exiting thread after its thread-locals are gone (glibc destroys them
//! first) while the process's other threads still run. So a registered function should hand
//! its work to a thread of its own and wait for it, with a bound, rather than use anything
//! that needs a thread-local (`chrono::Local`, an HTTP client) itself.

use std::sync::Mutex;
use std::time::Duration;

/// How long, at most, the process's exit waits for pgadget's unfinished work (rows to ship,
/// totals to push), in all.
pub const EXIT_WAIT: Duration = Duration::from_secs(5);

static HOOKS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Runs `hook` when the process exits normally. Register each function once (behind a
/// `std::sync::Once`): it runs as many times as it was registered.
///
/// Returns `false` when the C library refused to record the hook (then nothing registered
/// here runs), so that the caller can tell the user what that costs.
pub fn at_exit(hook: fn()) -> bool {
    let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
    if hooks.is_empty() && !register_with_the_c_library() {
        return false;
    }
    hooks.push(hook);
    true
}

#[cfg(unix)]
fn register_with_the_c_library() -> bool {
    // SAFETY: `atexit` only records the pointer; `run_hooks` is an `extern "C" fn` taking no
    // arguments that never unwinds into C (every hook runs behind `catch_unwind`).
    unsafe { libc::atexit(run_hooks) == 0 }
}

// Elsewhere there is no exit hook: work left at exit is lost (the CSV log keeps every row).
#[cfg(not(unix))]
fn register_with_the_c_library() -> bool {
    false
}

#[cfg(unix)]
extern "C" fn run_hooks() {
    // A thread that panicked while registering leaves a usable list (pushes are atomic).
    let hooks: Vec<fn()> = HOOKS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for hook in hooks {
        let _ = std::panic::catch_unwind(hook);
    }
}
