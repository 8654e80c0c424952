//! `pgadget run -- COMMAND ARGS...`: measures a whole command and logs one row for it.

use super::CliError;
use clap::Args;
use pgadget_runtime::{DataType, Metadata, PowerMeter};
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};

/// Options of `pgadget run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// "Package": what the command belongs to
    #[arg(long, default_value = "command")]
    pub package: String,
    /// "Algorithm" [default: the command's file name]
    #[arg(long)]
    pub algorithm: Option<String>,
    /// "Data type": tabular, image, text, time series or other
    #[arg(long, default_value = "other", value_parser = parse_data_type)]
    pub data_type: DataType,
    /// "Data shape"
    #[arg(long, default_value = "")]
    pub data_shape: String,
    /// "Algorithm's parameters" [default: the command's arguments]
    #[arg(long)]
    pub params: Option<String>,
    /// "Comment"
    #[arg(long, default_value = "")]
    pub comment: String,
    /// "Project name" [default: $PGADGET_PROJECT, else the name of the current directory]
    #[arg(long)]
    pub project: Option<String>,
    /// The log to append to [default: $PGADGET_LOG, else the library's default log]
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// The command to measure, and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

fn parse_data_type(raw: &str) -> Result<DataType, String> {
    raw.parse()
        .map_err(|e: pgadget_runtime::UnknownDataType| e.to_string())
}

/// Exit status for a command that was not found, as POSIX shells use.
const NOT_FOUND: u8 = 127;
/// Exit status for a command that was found but could not be executed (permissions, format).
const CANNOT_EXECUTE: u8 = 126;

/// Runs the command with the terminal's stdin/stdout/stderr, logs one row, and returns the
/// command's exit status (128 + N when a signal N killed it, as shells report it).
///
/// A command that cannot be started leaves no row: nothing ran, so there is no energy to
/// attribute, and a row would add a zero-cost call to every summary of that "algorithm".
///
/// SIGTERM and SIGHUP sent to pgadget (a service manager stopping it, a closed terminal or SSH
/// session) are passed on to the command, which is then waited for and logged like any other
/// ending: a command they kill is logged with Status `signal 15` (or 1), and pgadget exits
/// with 128 + N.
pub fn run(args: &RunArgs) -> Result<ExitCode, CliError> {
    let Some((program, arguments)) = args.command.split_first() else {
        return Err(CliError::new(
            "no command given: pgadget run [OPTIONS] -- COMMAND [ARGS]...",
        ));
    };
    // From here on a SIGTERM or SIGHUP is held for the command rather than ending pgadget.
    let forwarder = forward::Forwarder::start();
    let mut builder = PowerMeter::builder();
    if let Some(log) = &args.log {
        builder = builder.log_path(log);
    }
    if let Some(project) = &args.project {
        builder = builder.project_name(project);
    }
    // Built (sources detected, country lookup started) before the command starts, so none of
    // that is in the measured window.
    let meter = builder.build().map_err(|e| CliError::new(e.to_string()))?;

    let name = program_name(program);
    let params = args.params.clone().unwrap_or_else(|| {
        arguments
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut metadata = Metadata::new(args.package.clone(), args.algorithm.clone().unwrap_or(name))
        .data_type(args.data_type)
        .data_shape(args.data_shape.clone())
        .algorithm_params(params)
        .comments(args.comment.clone())
        .function(format!("command:{}", Path::new(program).display()));
    // Without --project or PGADGET_PROJECT, the project is the directory the command ran in,
    // as the crate's name is for a measured function.
    if let Some(dir) = std::env::current_dir()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
    {
        metadata.default_project = Some(dir.into());
    }

    if let Some(signal) = forwarder.received() {
        eprintln!(
            "pgadget: stopped by signal {signal} before `{}` started; nothing ran, nothing logged",
            Path::new(program).display()
        );
        return Ok(ExitCode::from(signal_exit_code(signal)));
    }
    // The window opens only once the command has started: a command that cannot start must
    // leave no row, and a measurement, once started, always writes one when it ends. What is
    // lost is the exec itself, well under a millisecond.
    let mut child = match Command::new(program).args(arguments).spawn() {
        Ok(child) => child,
        Err(e) => {
            let code = if e.kind() == ErrorKind::NotFound {
                NOT_FOUND
            } else {
                CANNOT_EXECUTE
            };
            eprintln!(
                "pgadget: cannot start `{}`: {e}{}",
                Path::new(program).display(),
                if code == NOT_FOUND {
                    " (is it installed and on PATH?)"
                } else {
                    ""
                }
            );
            return Ok(ExitCode::from(code));
        }
    };
    forwarder.started(&child);
    let mut measurement = meter.start(metadata);
    let _ignoring = IgnoreInterrupts::new();
    let status = forwarder.wait(&mut child);
    let (row_status, code) = match &status {
        Ok(status) => describe(*status),
        Err(e) => (format!("wait failed: {e}"), 1),
    };
    measurement.set_status(row_status);
    // The child has been waited for, so its CPU time is in getrusage(RUSAGE_CHILDREN), which
    // the estimate and "Process CPU Time" include.
    let _row = measurement.finish();
    if let Err(e) = status {
        return Err(CliError::new(format!(
            "lost track of `{}`: {e}",
            Path::new(program).display()
        )));
    }
    Ok(ExitCode::from(code))
}

/// The name "Algorithm" defaults to: the file name of the program.
fn program_name(program: &OsString) -> String {
    Path::new(program)
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// The row's Status and pgadget's exit code for the command's exit status.
fn describe(status: ExitStatus) -> (String, u8) {
    if let Some(code) = status.code() {
        let status = if code == 0 {
            "ok".to_string()
        } else {
            format!("exit {code}")
        };
        // Unix exit codes are 0..=255; elsewhere, keep what fits and call the rest a failure.
        return (status, u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return (format!("signal {signal}"), signal_exit_code(signal));
        }
    }
    (format!("{status}"), 1)
}

/// The exit code shells give a process that a signal ended: 128 + N.
fn signal_exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

#[cfg(unix)]
mod forward {
    //! Passing SIGTERM and SIGHUP on to the measured command.
    //!
    //! A supervisor (systemd, a container runtime, `timeout`) or a closed terminal signals
    //! pgadget, not the command: ending pgadget there would leave the command running and its
    //! row unwritten. A thread of ours receives the signals (signal-hook delivers them outside
    //! the handler, so nothing here need be async-signal-safe) and sends each on to the
    //! command; the main thread waits for the command as usual and logs it.

    use signal_hook::consts::{SIGHUP, SIGTERM};
    use signal_hook::iterator::Signals;
    use std::io;
    use std::process::{Child, ExitStatus};
    use std::sync::{Arc, Mutex, MutexGuard};

    #[derive(Debug, Default)]
    struct State {
        /// The command, from its start until it has ended (not yet reaped).
        child: Option<libc::pid_t>,
        /// The last signal received.
        received: Option<i32>,
    }

    /// Receives SIGTERM and SIGHUP for as long as the process lives, and forwards them to the
    /// command.
    pub struct Forwarder {
        state: Arc<Mutex<State>>,
    }

    impl Forwarder {
        /// Takes SIGTERM and SIGHUP over. When that fails (no thread, no pipe), they keep
        /// their default action, which ends pgadget as before; that is said once.
        pub fn start() -> Self {
            let state = Arc::new(Mutex::new(State::default()));
            let shared = Arc::clone(&state);
            let started = Signals::new([SIGTERM, SIGHUP]).and_then(|mut signals| {
                std::thread::Builder::new()
                    .name("pgadget-signals".into())
                    .spawn(move || {
                        for signal in signals.forever() {
                            let mut state = lock(&shared);
                            state.received = Some(signal);
                            if let Some(pid) = state.child {
                                send(pid, signal);
                            }
                        }
                    })
            });
            if let Err(e) = started {
                eprintln!(
                    "pgadget: cannot pass SIGTERM and SIGHUP on to the command ({e}); they \
                     will end pgadget without logging the command"
                );
            }
            Forwarder { state }
        }

        /// The last signal received so far.
        pub fn received(&self) -> Option<i32> {
            lock(&self.state).received
        }

        /// Forwards signals to `child` from now on, starting with any received while it was
        /// being started.
        pub fn started(&self, child: &Child) {
            let mut state = lock(&self.state);
            let Ok(pid) = libc::pid_t::try_from(child.id()) else {
                return;
            };
            state.child = Some(pid);
            if let Some(signal) = state.received {
                send(pid, signal);
            }
        }

        /// Waits for `child` to end. Forwarding stops once it has ended but before it is
        /// reaped: until then its process id cannot be given to another process, so a
        /// signal forwarded meanwhile reaches the command or no one.
        pub fn wait(&self, child: &mut Child) -> io::Result<ExitStatus> {
            // Through pid_t, as the process id is one; id_t is the type waitid takes.
            let id = libc::pid_t::try_from(child.id())
                .ok()
                .and_then(|pid| libc::id_t::try_from(pid).ok());
            if let Some(pid) = id {
                loop {
                    // SAFETY: siginfo_t is a plain C struct for which all-zero bytes are a
                    // valid value; waitid only writes into it.
                    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                    // SAFETY: `info` is a live, writable siginfo_t; WNOWAIT leaves the child
                    // to be reaped by `Child::wait` below, so std's bookkeeping stays right.
                    let done = unsafe {
                        libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT)
                    };
                    let interrupted = done != 0
                        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted;
                    // Ended, or waitid cannot tell: Child::wait gives the status or the error
                    // either way.
                    if !interrupted {
                        break;
                    }
                }
            }
            lock(&self.state).child = None;
            child.wait()
        }
    }

    fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent (two plain fields).
        state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(pid: libc::pid_t, signal: i32) {
        // SAFETY: kill touches no memory of ours. `pid` is the command, not yet reaped (see
        // `Forwarder::wait`), so it cannot name another process.
        unsafe { libc::kill(pid, signal) };
    }
}

#[cfg(not(unix))]
mod forward {
    //! Without Unix signals there is nothing to forward.

    use std::io;
    use std::process::{Child, ExitStatus};

    /// Stands in for the Unix forwarder.
    pub struct Forwarder;

    impl Forwarder {
        pub fn start() -> Self {
            Forwarder
        }

        pub fn received(&self) -> Option<i32> {
            None
        }

        pub fn started(&self, _child: &Child) {}

        pub fn wait(&self, child: &mut Child) -> io::Result<ExitStatus> {
            child.wait()
        }
    }
}

/// While the command runs, Ctrl-C and Ctrl-\ are meant for it: pgadget ignores them (as
/// `time` does) so that it can still log the row and report how the command ended.
struct IgnoreInterrupts {
    #[cfg(unix)]
    previous: [(libc::c_int, libc::sighandler_t); 2],
}

impl IgnoreInterrupts {
    fn new() -> Self {
        #[cfg(unix)]
        {
            let mut previous = [
                (libc::SIGINT, libc::SIG_DFL),
                (libc::SIGQUIT, libc::SIG_DFL),
            ];
            for (signal, handler) in &mut previous {
                // SAFETY: installing SIG_IGN for SIGINT/SIGQUIT touches no memory of ours; the
                // child was spawned before, so it keeps the default dispositions.
                *handler = unsafe { libc::signal(*signal, libc::SIG_IGN) };
            }
            IgnoreInterrupts { previous }
        }
        #[cfg(not(unix))]
        IgnoreInterrupts {}
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (signal, handler) in self.previous {
            if handler != libc::SIG_ERR {
                // SAFETY: restores the disposition `signal` returned above.
                unsafe { libc::signal(signal, handler) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_algorithm_defaults_to_the_programs_file_name() {
        assert_eq!(program_name(&"/usr/bin/python3".into()), "python3");
        assert_eq!(program_name(&"cargo".into()), "cargo");
    }
}
