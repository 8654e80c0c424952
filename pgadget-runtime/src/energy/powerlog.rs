//! Intel Power Gadget's `PowerLog` (macOS and Windows), as PyPowerGadget used it.
//!
//! PowerLog is a command-line tool, not a counter: it samples the CPU's energy counters while
//! it runs and writes a CSV file, ending with a summary of the cumulative energy. So a window
//! runs one PowerLog for its length: [`EnergySource::begin`] starts
//! `PowerLog -resolution 100 -file OUT.csv -cmd cat` with a pipe as standard input (PowerLog logs
//! until its command exits, and `cat` exits when the pipe closes), and [`EnergySource::end`]
//! closes the pipe, waits for PowerLog to write its summary, and reads the file.
//!
//! The caller is never held up by more than [`DEFAULT_STOP_GRACE`] (1 s) after its window: a
//! PowerLog still running then is killed, and the energy is taken from its sample rows up to
//! the window's end instead of the summary. On Windows, where a child's standard input is not
//! reliably inherited, PowerLog runs with a long `-duration` and is always stopped that way.
//!
//! PowerLog's numbers are checked against the window before they are used. PowerLog samples
//! from its own start, a little after the window opened, so the energy it reports covers its
//! "Total Elapsed Time" (or the elapsed time of the sample row used); the window's energy is
//! that energy at the same average power over the whole window, provided PowerLog sampled
//! between 75% and 125% of it (`MIN_COVERAGE`, `MAX_COVERAGE`). A PowerLog that failed (a
//! non-zero exit status, no sample row, an elapsed time far from the window's) leaves the cells
//! empty with the reason: its output is never taken as a measurement of a window it did not cover. The
//! output of the last failed window is kept for the user to look at (the note says where); an
//! earlier one is removed then, so a PowerLog failing in every call leaves one directory.
//!
//! Both known output variants are read: macOS (every field double-quoted, summary lines such as
//! `"Cumulative Package Energy_0 (mWh) = 17.939317"`) and Windows' PowerLog 3.0 (unquoted,
//! `Processor` in place of `Package`, more GT columns). Sockets (`_0`, `_1`, ...) are summed.
//! The integrated GPU's energy (`GT`) is parsed but not reported as GPU energy: the GT domain is
//! inside the package, so adding it to "Cumulative GPU Energy" would count it twice in the CO2
//! (package + DRAM + GPU). The GPU column is for discrete GPUs (NVML).
//!
//! The window opens before PowerLog samples: [`EnergySource::begin`] returns as soon as
//! PowerLog is started, without waiting for its first sample.

use super::{
    Begun, Cell, Domain as Column, EnergySource, Reading, SourceConfig, SourceError, SourceKind,
};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The name written in "Energy Source".
pub(crate) const NAME: &str = "powerlog";

/// PowerLog's sampling period, in milliseconds.
pub(crate) const RESOLUTION_MS: u32 = 100;

/// How long PowerLog may take, once the window is over, to write its summary and exit: the
/// most a measured call is held up after its window (plus the time to kill PowerLog and read
/// its output). PowerLog normally needs one sampling period (100 ms).
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(1);

/// The least share of the window PowerLog must have sampled for its energy to be used: the
/// rest (its start-up time) is charged at the average power of what it sampled.
pub(crate) const MIN_COVERAGE: f64 = 0.75;

/// The most PowerLog may have sampled, as a share of the window, for its energy to be used.
pub(crate) const MAX_COVERAGE: f64 = 1.25;

/// Where Intel Power Gadget installs PowerLog.
#[cfg(target_os = "macos")]
pub(crate) const STANDARD_PATHS: &[&str] = &["/Applications/Intel Power Gadget/PowerLog"];
/// Where Intel Power Gadget installs PowerLog.
#[cfg(windows)]
pub(crate) const STANDARD_PATHS: &[&str] = &[
    r"C:\Program Files\Intel\Power Gadget 3.6\PowerLog3.0.exe",
    r"C:\Program Files\Intel\Power Gadget 3.5\PowerLog3.0.exe",
];
/// Where Intel Power Gadget installs PowerLog: nowhere, on this system.
#[cfg(not(any(target_os = "macos", windows)))]
pub(crate) const STANDARD_PATHS: &[&str] = &[];

/// Finds PowerLog: `config.powerlog_path` (the builder's `cpu_power_log_path`), else, on macOS
/// and Windows, its standard install locations.
pub fn probe(config: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    PowerLog::open(config.powerlog_path.as_deref()).map(|p| Arc::new(p) as Arc<dyn EnergySource>)
}

/// Intel Power Gadget's PowerLog, run once per measurement window.
#[derive(Debug, Clone)]
pub struct PowerLog {
    path: PathBuf,
    stop_grace: Duration,
}

impl PowerLog {
    /// Checks `path` (when given) or the standard locations for an executable PowerLog.
    pub fn open(path: Option<&Path>) -> Result<PowerLog, SourceError> {
        let path = match path {
            Some(path) => {
                check_executable(path)?;
                path.to_path_buf()
            }
            None => find_installed()?,
        };
        Ok(PowerLog {
            path,
            stop_grace: DEFAULT_STOP_GRACE,
        })
    }

    /// How long to wait for PowerLog's summary at the end of a window before killing it
    /// (default 1 s).
    pub fn with_stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }
}

fn find_installed() -> Result<PathBuf, SourceError> {
    if STANDARD_PATHS.is_empty() {
        return Err(SourceError::new(
            NAME,
            format!(
                "Intel Power Gadget's PowerLog runs on macOS and Windows; on {} it is used only \
                 when `cpu_power_log_path` names it",
                std::env::consts::OS
            ),
        ));
    }
    STANDARD_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            SourceError::new(
                NAME,
                format!(
                    "Intel Power Gadget is not installed (no PowerLog at {})",
                    STANDARD_PATHS.join(" or ")
                ),
            )
            .with_remedy(
                "install Intel Power Gadget, or give PowerLog's path with \
                 `PowerMeter::builder().cpu_power_log_path(..)`",
            )
        })
}

fn check_executable(path: &Path) -> Result<(), SourceError> {
    let remedy = "give the path of Intel Power Gadget's PowerLog executable in \
                  `cpu_power_log_path`";
    let meta = std::fs::metadata(path).map_err(|e| {
        SourceError::new(
            NAME,
            format!("cannot use PowerLog at {}: {e}", path.display()),
        )
        .with_remedy(remedy)
    })?;
    if !meta.is_file() {
        return Err(SourceError::new(
            NAME,
            format!("PowerLog at {} is not a file", path.display()),
        )
        .with_remedy(remedy));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(SourceError::new(
                NAME,
                format!("PowerLog at {} is not executable", path.display()),
            )
            .with_remedy(format!("run `chmod +x '{}'`", path.display())));
        }
    }
    Ok(())
}

/// One running PowerLog: the state between `begin` and `end`.
struct Session {
    child: Child,
    /// A directory of our own holding PowerLog's output and its console messages.
    dir: PathBuf,
    /// When PowerLog had been started: the window opens then.
    started: Instant,
}

const OUTPUT_FILE: &str = "powerlog.csv";
const CONSOLE_FILE: &str = "console.txt";

/// Makes a fresh directory under the temporary directory; `create_dir` fails rather than reuse
/// one that exists, so no other process's files are read or overwritten.
fn session_dir() -> std::io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    let mut last_error = None;
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!(
            "pgadget-powerlog-{}-{n}-{nanos}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no temporary directory")))
}

impl PowerLog {
    fn start(&self) -> Result<Session, SourceError> {
        let dir = session_dir().map_err(|e| {
            SourceError::new(
                NAME,
                format!(
                    "cannot make a directory for PowerLog's output under {}: {e}",
                    std::env::temp_dir().display()
                ),
            )
        })?;
        let console = std::fs::File::create(dir.join(CONSOLE_FILE));
        let (stdout, stderr) = match console.and_then(|f| Ok((f.try_clone()?, f))) {
            Ok((a, b)) => (Stdio::from(a), Stdio::from(b)),
            Err(_) => (Stdio::null(), Stdio::null()),
        };
        let mut command = Command::new(&self.path);
        command
            .arg("-resolution")
            .arg(RESOLUTION_MS.to_string())
            .arg("-file")
            .arg(dir.join(OUTPUT_FILE))
            .stdout(stdout)
            .stderr(stderr);
        if cfg!(windows) {
            command.args(["-duration", "86400"]).stdin(Stdio::null());
        } else {
            command.args(["-cmd", "cat"]).stdin(Stdio::piped());
        }
        match command.spawn() {
            // The window opens when `begin` returns, just after PowerLog was started.
            Ok(child) => Ok(Session {
                child,
                dir,
                started: Instant::now(),
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(SourceError::new(
                    NAME,
                    format!("cannot run PowerLog at {}: {e}", self.path.display()),
                ))
            }
        }
    }

    fn finish(&self, mut session: Session) -> Result<Reading, SourceError> {
        // A PowerLog that already ended did not see the whole window.
        let ended_early = session.child.try_wait().ok().flatten();
        let closed = Instant::now();
        let window = closed.saturating_duration_since(session.started);
        // On Windows PowerLog runs for a fixed duration with nothing to end it early: waiting
        // for it would delay every measured call by the grace period, so it is stopped at once
        // and read from its sample rows.
        let grace = if cfg!(windows) {
            Duration::ZERO
        } else {
            self.stop_grace
        };
        let stopped = match ended_early {
            Some(status) => Stopped::Exited(status),
            None => stop(&mut session.child, grace),
        };
        // How long PowerLog went on sampling after the window closed.
        let lag = closed.elapsed();
        let result = self.window_energy(&session, &stopped, ended_early.is_some(), window, lag);
        match result {
            Ok(reading) => {
                let _ = std::fs::remove_dir_all(&session.dir);
                Ok(reading)
            }
            Err(e) => Err(keep_for_inspection(&session.dir, e)),
        }
    }

    /// The energy of a window of length `window` from PowerLog's output, checked against how
    /// PowerLog ended and what it covered.
    fn window_energy(
        &self,
        session: &Session,
        stopped: &Stopped,
        ended_early: bool,
        window: Duration,
        lag: Duration,
    ) -> Result<Reading, SourceError> {
        let output = session.dir.join(OUTPUT_FILE);
        let failed = |what: String| {
            SourceError::new(NAME, what).with_remedy(format!(
                "run `'{}' -duration 1 -file test.csv` by hand to see what it needs (on macOS, \
                 Intel Power Gadget's driver must be loaded)",
                self.path.display()
            ))
        };
        match stopped {
            Stopped::Exited(status) if !status.success() => {
                return Err(failed(format!(
                    "PowerLog ({}) {} with {status}{}, so its energy is not used",
                    self.path.display(),
                    if ended_early {
                        "ended before the window did"
                    } else {
                        "exited"
                    },
                    console_tail(&session.dir.join(CONSOLE_FILE)),
                )))
            }
            Stopped::Unknown(e) => {
                return Err(failed(format!(
                    "PowerLog could not be waited for ({e}), so its output may be incomplete"
                )))
            }
            _ => {}
        }
        let text = match std::fs::read(&output) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                return Err(failed(format!(
                    "PowerLog ({}) wrote no output to {} ({e}); it {}{}",
                    self.path.display(),
                    output.display(),
                    describe_stop(stopped),
                    console_tail(&session.dir.join(CONSOLE_FILE)),
                )))
            }
        };
        // Sampling went on for `lag` after the window: a prompt stop (within two sampling
        // periods) is covered by the summary; otherwise only the rows up to the window's end
        // are used.
        let prompt = lag <= Duration::from_millis(2 * u64::from(RESOLUTION_MS));
        let totals = match (stopped, prompt) {
            (Stopped::Exited(_), true) => parse_output(&text),
            _ => parse_output_until(&text, lag.as_secs_f64()),
        }
        .map_err(|e| SourceError::new(NAME, e))?;
        let window_secs = window.as_secs_f64();
        let Some(covered) = totals.elapsed_secs.filter(|s| *s > 0.0) else {
            return Err(SourceError::new(
                NAME,
                format!(
                    "PowerLog's output gives no elapsed time, so what it covered of the {} \
                     window cannot be checked",
                    seconds(window_secs),
                ),
            ));
        };
        let coverage = covered / window_secs.max(f64::MIN_POSITIVE);
        if !(MIN_COVERAGE..=MAX_COVERAGE).contains(&coverage) {
            let why = if coverage < MIN_COVERAGE {
                "it started sampling late, or stopped early; windows several times its start-up \
                 time are measured"
            } else {
                "it sampled past the window"
            };
            return Err(SourceError::new(
                NAME,
                format!(
                    "PowerLog sampled {} of this {} window ({why}), so its energy is not \
                     stretched to the window",
                    seconds(covered),
                    seconds(window_secs)
                ),
            ));
        }
        // The average power over what PowerLog sampled, over the whole window.
        let scale = window_secs / covered;
        let joules =
            |mwh: Option<f64>| mwh.map_or(Cell::NotMeasured, |v| Cell::Joules(v * 3.6 * scale));
        Ok(Reading {
            package: joules(totals.package_mwh),
            cores: joules(totals.cores_mwh),
            dram: joules(totals.dram_mwh),
            ..Reading::default()
        })
    }
}

/// The output of the last window PowerLog failed, kept for the user to look at.
static KEPT: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Keeps the output directory `dir` of a failed window (PowerLog's CSV and what it printed)
/// for the user to look at, and says where in `error`. Only the last failure's is kept: a
/// PowerLog that fails in every window of a long run leaves one directory, not one per call.
fn keep_for_inspection(dir: &Path, mut error: SourceError) -> SourceError {
    let mut kept = KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(previous) = kept.replace(dir.to_path_buf()) {
        let _ = std::fs::remove_dir_all(previous);
    }
    error.what.push_str(&format!(
        " (its output is kept in {} until PowerLog fails again)",
        dir.display()
    ));
    error
}

/// A number of seconds for a message.
fn seconds(secs: f64) -> String {
    format!("{secs:.2} s")
}

/// How PowerLog ended.
enum Stopped {
    Exited(ExitStatus),
    Killed,
    Unknown(std::io::Error),
}

/// Ends PowerLog: closes its standard input so that its command exits, waits up to `grace`
/// for it to write its summary and exit, and kills it otherwise.
fn stop(child: &mut Child, grace: Duration) -> Stopped {
    drop(child.stdin.take());
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Stopped::Exited(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(None) => break,
            Err(e) => return Stopped::Unknown(e),
        }
    }
    let _ = child.kill();
    match child.wait() {
        Ok(_) => Stopped::Killed,
        Err(e) => Stopped::Unknown(e),
    }
}

fn describe_stop(stopped: &Stopped) -> String {
    match stopped {
        Stopped::Exited(status) => format!("exited with {status}"),
        Stopped::Killed => "was killed after the window".into(),
        Stopped::Unknown(e) => format!("could not be waited for ({e})"),
    }
}

/// The last lines PowerLog printed, to explain a failure.
fn console_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(", saying: {}", tail.join(" / "))
    }
}

impl EnergySource for PowerLog {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Cpu
    }

    fn domains(&self) -> &[Column] {
        &[Column::Package, Column::Cores, Column::Dram]
    }

    /// PowerLog has no counter to read at an instant: it measures whole windows.
    fn read(&self) -> Result<Reading, SourceError> {
        Err(SourceError::new(
            NAME,
            "PowerLog measures whole windows (begin/end); it has no instant reading",
        ))
    }

    fn begin(&self) -> Result<Begun, SourceError> {
        Ok(Begun::Session(Box::new(self.start()?)))
    }

    fn end(&self, begun: Begun) -> Result<Reading, SourceError> {
        match begun {
            Begun::Session(state) => match state.downcast::<Session>() {
                Ok(session) => self.finish(*session),
                Err(_) => Err(SourceError::new(
                    NAME,
                    "internal error: another source's session was handed to PowerLog",
                )),
            },
            Begun::Reading(_) => Err(SourceError::new(
                NAME,
                "internal error: a counter reading was handed to PowerLog",
            )),
        }
    }

    fn describe(&self) -> Vec<String> {
        vec![
            format!("PowerLog: {}", self.path.display()),
            format!(
                "runs for each measured window, sampling every {RESOLUTION_MS} ms; package, \
                 IA (cores), DRAM and GT (integrated GPU) energy"
            ),
            format!(
                "a window ends at most {:.1} s late (PowerLog is killed then); its energy is used \
                 when PowerLog sampled {:.0}%..{:.0}% of it (the rest, its start-up, is charged \
                 at the average power), else the cells are left empty with the reason",
                self.stop_grace.as_secs_f64(),
                MIN_COVERAGE * 100.0,
                MAX_COVERAGE * 100.0
            ),
        ]
    }
}

impl Drop for Session {
    /// A window that is never ended (its measurement leaked) must not leave PowerLog running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The energies in one PowerLog output, in mWh, summed over sockets; `None` for a domain the
/// output does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// "Cumulative Package Energy" (macOS) or "Cumulative Processor Energy" (Windows).
    pub package_mwh: Option<f64>,
    /// "Cumulative IA Energy": the cores.
    pub cores_mwh: Option<f64>,
    /// "Cumulative DRAM Energy".
    pub dram_mwh: Option<f64>,
    /// "Cumulative GT Energy": the integrated GPU.
    pub gt_mwh: Option<f64>,
    /// The time the energies cover: the summary's "Total Elapsed Time (sec)", else the
    /// "Elapsed Time (sec)" of the sample row used.
    pub elapsed_secs: Option<f64>,
    /// True when the values come from the summary, false when from a sample row.
    pub from_summary: bool,
    /// How many complete sample rows the output has (up to the row used).
    pub samples: usize,
}

impl Totals {
    /// The energies in joules. GT stays out of the GPU domain: the package already holds it.
    pub fn reading(&self) -> Reading {
        let joules = |mwh: Option<f64>| mwh.map_or(Cell::NotMeasured, |v| Cell::Joules(v * 3.6));
        Reading {
            package: joules(self.package_mwh),
            cores: joules(self.cores_mwh),
            dram: joules(self.dram_mwh),
            ..Reading::default()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Domain {
    Package,
    Cores,
    Dram,
    Gt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    MilliwattHours,
    Joules,
}

/// Recognises `Cumulative <Domain> Energy_<socket> (mWh)` and its variants (`Joules`, with or
/// without the space before the parenthesis, `Package` or `Processor`).
fn energy_key(key: &str) -> Option<(Domain, Unit)> {
    let rest = key.trim().strip_prefix("Cumulative ")?;
    let (domain, rest) = rest.split_once(" Energy_")?;
    let domain = match domain {
        "Package" | "Processor" => Domain::Package,
        "IA" => Domain::Cores,
        "DRAM" => Domain::Dram,
        "GT" => Domain::Gt,
        _ => return None,
    };
    let unit_start = rest.find(|c: char| !c.is_ascii_digit())?;
    if unit_start == 0 {
        return None;
    }
    let unit = match rest[unit_start..].trim() {
        "(mWh)" => Unit::MilliwattHours,
        "(Joules)" => Unit::Joules,
        _ => return None,
    };
    Some((domain, unit))
}

/// Sums values per domain, in mWh and in joules separately; mWh is preferred.
#[derive(Default)]
struct Sums {
    mwh: [Option<f64>; 4],
    joules: [Option<f64>; 4],
}

impl Sums {
    fn add(&mut self, domain: Domain, unit: Unit, value: f64) {
        let slot = match unit {
            Unit::MilliwattHours => &mut self.mwh[domain as usize],
            Unit::Joules => &mut self.joules[domain as usize],
        };
        *slot = Some(slot.unwrap_or(0.0) + value);
    }

    fn is_empty(&self) -> bool {
        self.mwh.iter().chain(&self.joules).all(Option::is_none)
    }

    fn totals(&self, elapsed_secs: Option<f64>, from_summary: bool, samples: usize) -> Totals {
        let get = |d: Domain| self.mwh[d as usize].or(self.joules[d as usize].map(|j| j / 3.6));
        Totals {
            package_mwh: get(Domain::Package),
            cores_mwh: get(Domain::Cores),
            dram_mwh: get(Domain::Dram),
            gt_mwh: get(Domain::Gt),
            elapsed_secs,
            from_summary,
            samples,
        }
    }
}

/// Reads PowerLog's output: the summary's cumulative energies when present, else the
/// cumulative columns of the last complete sample row. The error says what is missing,
/// including an output without any sample row (PowerLog sampled nothing).
pub fn parse_output(text: &str) -> Result<Totals, String> {
    let (samples, summary) = split_sections(text);
    let mut sums = Sums::default();
    let mut elapsed = None;
    for line in summary {
        let line = line.trim().trim_matches('"');
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        if key.trim() == "Total Elapsed Time (sec)" {
            elapsed = Some(value);
        } else if let Some((domain, unit)) = energy_key(key) {
            sums.add(domain, unit, value);
        }
    }
    let rows = sample_rows(samples, f64::INFINITY)?;
    if sums.is_empty() {
        return rows.last(false);
    }
    if rows.count == 0 {
        return Err(too_few_samples());
    }
    let elapsed = elapsed.or(rows.last.as_ref().and_then(|(_, e)| *e));
    Ok(sums.totals(elapsed, true, rows.count))
}

/// Reads PowerLog's sample rows only, up to the last one that PowerLog wrote at least
/// `after_end` seconds before its last complete row: how long it went on sampling after the
/// window closed. For a PowerLog that had to be stopped, whose summary (if any) covers more
/// than the window.
pub fn parse_output_until(text: &str, after_end: f64) -> Result<Totals, String> {
    let (samples, _) = split_sections(text);
    let all = sample_rows(samples, f64::INFINITY)?;
    let last = all.last.as_ref().and_then(|(_, e)| *e);
    match last {
        Some(last) => sample_rows(samples, last - after_end)?.last(false),
        None => all.last(false),
    }
}

/// PowerLog sampled nothing: its energies cover no time of the window.
fn too_few_samples() -> String {
    format!(
        "PowerLog's output has no complete sample row: it sampled nothing in this window (shorter \
         than its {RESOLUTION_MS} ms sampling period, or PowerLog was stopped before its first \
         sample)"
    )
}

/// Splits the output at its first blank line: sample rows before, summary lines after.
fn split_sections(text: &str) -> (&str, Vec<&str>) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() && offset > 0 {
            return (&text[..offset], text[offset..].lines().collect());
        }
        offset += line.len();
    }
    (text, Vec::new())
}

/// The complete sample rows up to a cut-off: how many, and the last one's sums and elapsed time.
struct Rows {
    /// Whether the header has cumulative energy columns at all.
    energy_columns: bool,
    count: usize,
    last: Option<(Sums, Option<f64>)>,
}

impl Rows {
    fn last(self, from_summary: bool) -> Result<Totals, String> {
        match self.last {
            Some((sums, elapsed)) => Ok(sums.totals(elapsed, from_summary, self.count)),
            None if !self.energy_columns => Err(
                "PowerLog's output has no energy summary and no cumulative energy column; is it \
                 PowerLog's CSV?"
                    .into(),
            ),
            None => Err(too_few_samples()),
        }
    }
}

/// Reads the sample rows whose "Elapsed Time (sec)" is at most `until` (every row when the
/// output has no such column).
fn sample_rows(samples: &str, until: f64) -> Result<Rows, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(samples.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("PowerLog's output has no readable header row: {e}"))?
        .clone();
    let columns: Vec<(usize, Domain, Unit)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, name)| energy_key(name).map(|(d, u)| (i, d, u)))
        .collect();
    let elapsed_column = headers.iter().position(|h| h == "Elapsed Time (sec)");
    let mut rows = Rows {
        energy_columns: !columns.is_empty(),
        count: 0,
        last: None,
    };
    for record in reader.records() {
        // A row cut off when PowerLog was killed is shorter than the header, or fails to parse.
        let Ok(record) = record else { continue };
        if record.len() < headers.len() {
            continue;
        }
        let elapsed = elapsed_column
            .and_then(|i| record.get(i))
            .and_then(|v| v.parse::<f64>().ok());
        if elapsed.is_some_and(|e| e > until) {
            break;
        }
        let mut sums = Sums::default();
        let complete = columns.iter().all(|&(i, domain, unit)| {
            match record.get(i).and_then(|v| v.parse::<f64>().ok()) {
                Some(value) => {
                    sums.add(domain, unit, value);
                    true
                }
                None => false,
            }
        });
        if complete {
            rows.count += 1;
            if rows.energy_columns {
                rows.last = Some((sums, elapsed));
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_keys_of_both_variants_are_recognised() {
        use Domain::*;
        use Unit::*;
        let cases = [
            (
                "Cumulative Package Energy_0 (mWh)",
                Some((Package, MilliwattHours)),
            ),
            (
                "Cumulative Processor Energy_1(mWh)",
                Some((Package, MilliwattHours)),
            ),
            ("Cumulative IA Energy_0(Joules)", Some((Cores, Joules))),
            (
                " Cumulative DRAM Energy_12 (mWh) ",
                Some((Dram, MilliwattHours)),
            ),
            ("Cumulative GT Energy_0 (mWh)", Some((Gt, MilliwattHours))),
            ("Average Package Power_0 (Watt)", None),
            ("Cumulative Package Energy_ (mWh)", None),
            ("Cumulative Package Energy_0 (Watt)", None),
            ("Package Temperature_0(C)", None),
        ];
        for (key, expected) in cases {
            assert_eq!(energy_key(key), expected, "{key}");
        }
    }

    #[test]
    fn joules_are_used_only_when_mwh_is_missing() {
        let text = "\"A\",\"B\"\n\"1\",\"2\"\n\n\"Cumulative IA Energy_0 (Joules) = 36.0\"\n";
        let totals = parse_output(text).unwrap();
        assert_eq!(totals.cores_mwh, Some(10.0));
        assert_eq!(totals.package_mwh, None);
        assert!(totals.from_summary);
    }

    #[test]
    fn a_missing_executable_is_named() {
        let e = PowerLog::open(Some(Path::new("/nowhere/PowerLog"))).unwrap_err();
        assert_eq!(e.source_name, "powerlog");
        assert!(e.what.contains("/nowhere/PowerLog"), "{}", e.what);
        assert!(e.remedy.unwrap().contains("cpu_power_log_path"));
    }

    #[cfg(not(any(target_os = "macos", windows)))]
    #[test]
    fn without_a_path_it_is_not_looked_for_on_this_system() {
        let e = PowerLog::open(None).unwrap_err();
        assert!(e.what.contains("macOS and Windows"), "{}", e.what);
        assert!(e.what.contains("cpu_power_log_path"), "{}", e.what);
    }
}
