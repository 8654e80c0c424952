//! Work to finish when the process exits normally: `main` returning or `std::process::exit`.
//!
//! Background threads die with the process, without running anything. Work they must finish
//! for the next run (the country lookup caching a late answer) registers a task here; the
//! first registration installs one C `atexit` hook, which runs every task in order. Each task
//! bounds its own wait, so a normal exit is delayed by at most the sum of their bounds. Not
//! run on a signal, `abort` or `_exit`.
//!
//! On Unix only: elsewhere [`register`] does nothing, and the work is simply not finished.

use std::sync::Mutex;

/// One task: a name (so that registering twice runs it once) and what to run.
type Task = (&'static str, fn());

static TASKS: Mutex<Vec<Task>> = Mutex::new(Vec::new());

/// Runs `task` when the process exits normally, once, however often it is registered under
/// `name`. `task` runs after the exiting thread's thread-locals are gone, so it must not use
/// any (nor `chrono::Local`, which keeps one); it may wait, but must bound its wait.
pub(crate) fn register(name: &'static str, task: fn()) {
    let mut tasks = TASKS.lock().unwrap_or_else(|p| p.into_inner());
    if tasks.iter().any(|(n, _)| *n == name) {
        return;
    }
    tasks.push((name, task));
    if tasks.len() == 1 {
        install_hook();
    }
}

#[cfg(unix)]
fn install_hook() {
    // SAFETY: atexit only records the pointer; run_tasks is an `extern "C" fn` without
    // arguments that never unwinds (it catches every panic of the tasks it runs).
    if unsafe { libc::atexit(run_tasks) } != 0 {
        crate::report_once(
            "could not register pgadget's work at exit; a country lookup answered after the \
             program ends will not be cached.",
        );
    }
}

#[cfg(not(unix))]
fn install_hook() {}

/// The `atexit` hook: every registered task, in order.
#[cfg(unix)]
extern "C" fn run_tasks() {
    // Taken, not cloned: a task that registers another one then does not deadlock, and
    // nothing runs twice.
    let tasks = std::mem::take(&mut *TASKS.lock().unwrap_or_else(|p| p.into_inner()));
    for (_, task) in tasks {
        // A panic must not cross the C boundary (it would abort the exit).
        let _ = std::panic::catch_unwind(task);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn count() {
        RUNS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn a_task_registered_twice_runs_once() {
        register("at_exit::tests::count", count);
        register("at_exit::tests::count", count);
        let registered = TASKS
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| *n == "at_exit::tests::count")
            .count();
        assert_eq!(registered, 1);
        // What the hook does at exit, run here so that the test sees it (the real exit of the
        // test binary finds the list empty).
        run_tasks();
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    }
}
