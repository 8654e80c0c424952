//! Intel Power Gadget's `PowerLog` (macOS and Windows), as PyPowerGadget used it.
//!
//! PowerLog is a command-line tool, not a counter: it samples the CPU's energy counters while
//! it runs and writes a CSV file, ending with a summary of the cumulative energy. So a window
//! runs one PowerLog for its length: [`EnergySource::begin`] starts
//! `PowerLog -resolution 100 -file OUT.csv -cmd cat` with a pipe as standard input (PowerLog logs
//! until its command exits, and `cat` exits when the pipe closes), and [`EnergySource::end`]
//! closes the pipe, waits for PowerLog to write its summary, and reads the file. A PowerLog that
//! does not finish in time is killed, and the energy is then taken from the last complete sample
//! row instead of the summary. On Windows, where a child's standard input is not reliably
//! inherited, PowerLog runs with a long `-duration` and is always stopped that way.
//!
//! Both known output variants are read: macOS (every field double-quoted, summary lines such as
//! `"Cumulative Package Energy_0 (mWh) = 17.939317"`) and Windows' PowerLog 3.0 (unquoted,
//! `Processor` in place of `Package`, more GT columns). Sockets (`_0`, `_1`, ...) are summed.
//! The integrated GPU's energy (`GT`) is parsed but not reported as GPU energy: the GT domain is
//! inside the package, so adding it to "Cumulative GPU Energy" would count it twice in the CO2
//! (package + DRAM + GPU). The GPU column is for discrete GPUs (NVML).
//!
//! The window starts when PowerLog has started sampling, a few milliseconds after `begin`.

use super::{Begun, EnergySource, Reading, SourceConfig, SourceError, SourceKind};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The name written in "Energy Source".
pub(crate) const NAME: &str = "powerlog";

/// PowerLog's sampling period, in milliseconds.
pub(crate) const RESOLUTION_MS: u32 = 100;

/// How long PowerLog may take to write its summary once its command has exited.
pub(crate) const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(5);

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
    /// (default 5 s).
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
            Ok(child) => Ok(Session { child, dir }),
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
        // On Windows PowerLog runs for a fixed duration with nothing to end it early: waiting
        // for it would delay every measured call by the grace period, so it is stopped at once
        // and read from its last sample row.
        let grace = if cfg!(windows) {
            Duration::ZERO
        } else {
            self.stop_grace
        };
        let stopped = stop(&mut session.child, grace);
        let output = session.dir.join(OUTPUT_FILE);
        let result = match std::fs::read(&output) {
            Ok(bytes) => parse_output(&String::from_utf8_lossy(&bytes))
                .map(|totals| totals.reading())
                .map_err(|e| {
                    SourceError::new(NAME, format!("{e} (in {}, kept)", output.display()))
                }),
            Err(e) => Err(SourceError::new(
                NAME,
                format!(
                    "PowerLog ({}) wrote no output to {} ({e}); it {}{}",
                    self.path.display(),
                    output.display(),
                    describe_stop(&stopped),
                    console_tail(&session.dir.join(CONSOLE_FILE)),
                ),
            )
            .with_remedy(format!(
                "run `'{}' -duration 1 -file test.csv` by hand to see what it needs (on macOS, \
                 Intel Power Gadget's driver must be loaded)",
                self.path.display()
            ))),
        };
        if result.is_ok() {
            let _ = std::fs::remove_dir_all(&session.dir);
        }
        result
    }
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
    /// "Total Elapsed Time (sec)", when the summary has it.
    pub elapsed_secs: Option<f64>,
    /// True when the values come from the summary, false when from the last sample row.
    pub from_summary: bool,
}

impl Totals {
    /// The energies in joules. GT stays out of the GPU domain: the package already holds it.
    pub fn reading(&self) -> Reading {
        let joules = |mwh: Option<f64>| mwh.map(|v| v * 3.6);
        Reading {
            package: joules(self.package_mwh),
            cores: joules(self.cores_mwh),
            dram: joules(self.dram_mwh),
            gpu: None,
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

    fn totals(&self, elapsed_secs: Option<f64>, from_summary: bool) -> Totals {
        let get = |d: Domain| self.mwh[d as usize].or(self.joules[d as usize].map(|j| j / 3.6));
        Totals {
            package_mwh: get(Domain::Package),
            cores_mwh: get(Domain::Cores),
            dram_mwh: get(Domain::Dram),
            gt_mwh: get(Domain::Gt),
            elapsed_secs,
            from_summary,
        }
    }
}

/// Reads PowerLog's output: the summary's cumulative energies when present, else the cumulative
/// columns of the last complete sample row. The error says what is missing.
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
    if !sums.is_empty() {
        return Ok(sums.totals(elapsed, true));
    }
    last_sample(samples)
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

fn last_sample(samples: &str) -> Result<Totals, String> {
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
    if columns.is_empty() {
        return Err(
            "PowerLog's output has no energy summary and no cumulative energy column; is it \
             PowerLog's CSV?"
                .into(),
        );
    }
    let mut last = None;
    for record in reader.records() {
        // A row cut off when PowerLog was killed is shorter than the header, or fails to parse.
        let Ok(record) = record else { continue };
        if record.len() < headers.len() {
            continue;
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
            last = Some(sums);
        }
    }
    match last {
        Some(sums) => Ok(sums.totals(None, false)),
        None => Err(format!(
            "PowerLog's output has no energy summary and no complete sample row (the window may \
             be shorter than PowerLog's {RESOLUTION_MS} ms sampling period, or PowerLog was \
             stopped before its first sample)"
        )),
    }
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
