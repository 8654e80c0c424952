//! [`PowerMeter`]: configuration, and the start and finish of one measurement.

use crate::carbon::{self, CountryLookup};
use crate::config::{self, DatabaseUrl, EnvConfig};
use crate::energy::{
    self, estimate, window, Begun, Cell, Detected, Reading, SourceConfig, SourceError,
};
use crate::log::{self, LogWriter, Record, RecordRef};
use crate::metadata::Metadata;
use crate::report_once;
use crate::ship::Shipping;
use chrono::SubsecRound;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A value given to [`PowerMeterBuilder`] that cannot be used: [`kind`](ConfigError::kind)
/// says which setting, the message (its `Display`) says what is wrong and what is accepted.
///
/// ```
/// use pgadget::{ConfigErrorKind, PowerMeter};
/// let err = PowerMeter::builder().pue(0.5).build().unwrap_err();
/// assert_eq!(err.kind(), ConfigErrorKind::Pue);
/// assert!(err.to_string().contains("at least 1.0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ConfigError {
    kind: ConfigErrorKind,
    message: String,
}

/// Which setting a [`ConfigError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// [`PowerMeterBuilder::pue`]: a PUE is a finite number of at least 1.0.
    Pue,
    /// [`PowerMeterBuilder::cpu_tdp`]: a TDP is a finite, positive number of watts.
    CpuTdp,
    /// [`PowerMeterBuilder::database_url`]: a PostgreSQL connection string, in a build with
    /// the `postgres` feature.
    DatabaseUrl,
}

impl ConfigError {
    /// An error about the setting `kind`; `message` says what is wrong with it.
    pub(crate) fn new(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            message: message.into(),
        }
    }

    /// The setting the error is about.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}

/// Why [`PowerMeter::install`] did not make a meter the one `#[measure_power]` uses: another
/// meter was installed before, or a measured call already built one from the environment.
/// The rejected meter can still be used directly; [`into_meter`](InstallError::into_meter)
/// gives it back.
#[derive(Debug, thiserror::Error)]
#[error(
    "another meter is already the one #[measure_power] uses (installed earlier, or built from \
     the environment by the first measured call); install a meter before the first measured call"
)]
#[non_exhaustive]
pub struct InstallError {
    rejected: PowerMeter,
}

impl InstallError {
    /// The meter that was not installed.
    pub fn into_meter(self) -> PowerMeter {
        self.rejected
    }
}

// The machine's busy CPU time, for "Process CPU Share": only Linux gives it (`/proc/stat`).
#[cfg(target_os = "linux")]
use crate::proc_stat as machine;
#[cfg(not(target_os = "linux"))]
use no_proc_stat as machine;

/// Off Linux there is no reading of the machine's CPU time, so "Process CPU Share" stays
/// empty.
#[cfg(not(target_os = "linux"))]
mod no_proc_stat {
    use std::time::Duration;

    pub(super) fn machine_busy_secs() -> Option<f64> {
        None
    }

    pub(super) fn machine_busy_secs_recent() -> Option<f64> {
        None
    }

    pub(super) fn tick() -> Duration {
        Duration::ZERO
    }
}

/// Measures energy and writes one log row per measured call.
///
/// Cheap to clone (it is a handle). Build one with [`PowerMeter::builder`], or let
/// `#[measure_power]` use the one built from the environment.
///
/// ```no_run
/// use pgadget::{Metadata, PowerMeter};
/// let meter = PowerMeter::builder()
///     .project_name("iris")
///     .log_path("power_logs.csv")
///     .build()?;
/// let sum: u64 = meter.measure_power(Metadata::new("std", "sum"), || (0..1_000_000u64).sum());
/// # Ok::<(), pgadget::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct PowerMeter {
    inner: Arc<Inner>,
}

struct Inner {
    disabled: bool,
    project: Option<String>,
    user: String,
    host: String,
    pue: f64,
    log: LogWriter,
    detected: Detected,
    label: String,
    country: CountryLookup,
    shipping: Shipping,
    failure_reported: AtomicBool,
}

// A panic in measured code cannot leave a meter half-updated: sources keep their totals
// under their own locks and the log re-checks its file, so a meter may cross catch_unwind.
impl std::panic::UnwindSafe for PowerMeter {}
impl std::panic::RefUnwindSafe for PowerMeter {}

impl fmt::Debug for PowerMeter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PowerMeter")
            .field("disabled", &self.inner.disabled)
            .field("project", &self.inner.project)
            .field("user", &self.inner.user)
            .field("pue", &self.inner.pue)
            .field("log", &self.inner.log.path())
            .field("sources", &self.inner.label)
            .finish()
    }
}

/// Builds a [`PowerMeter`]. Anything not set comes from the environment, then from defaults.
#[derive(Clone, Debug, Default)]
pub struct PowerMeterBuilder {
    project_name: Option<String>,
    user_name: Option<String>,
    cpu_power_log_path: Option<PathBuf>,
    get_country: Option<bool>,
    pue: Option<f64>,
    log_path: Option<PathBuf>,
    cpu_tdp: Option<f64>,
    database_url: Option<DatabaseUrl>,
    env: Option<EnvConfig>,
}

impl PowerMeterBuilder {
    /// The project name written in "Project name" (default: `PGADGET_PROJECT`, else the name of
    /// the crate that defines the measured function).
    pub fn project_name(mut self, name: impl Into<String>) -> Self {
        self.project_name = Some(name.into());
        self
    }

    /// The user name written in "User ID" (default: `PGADGET_USER`, else the OS account).
    pub fn user_name(mut self, name: impl Into<String>) -> Self {
        self.user_name = Some(name.into());
        self
    }

    /// The path of Intel Power Gadget's `PowerLog` (default: its standard install locations).
    pub fn cpu_power_log_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.cpu_power_log_path = Some(path.into());
        self
    }

    /// Whether to look up the machine's country (default: true, unless `PGADGET_OFFLINE=1`).
    pub fn get_country(mut self, yes: bool) -> Self {
        self.get_country = Some(yes);
        self
    }

    /// The power usage effectiveness, at least 1.0 (default: `PGADGET_PUE`, else 1.58 on
    /// Linux and 1.3 on macOS and Windows).
    pub fn pue(mut self, pue: f64) -> Self {
        self.pue = Some(pue);
        self
    }

    /// The CSV log (default: `PGADGET_LOG`, else `power_logs.csv` in the user's data directory).
    pub fn log_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_path = Some(path.into());
        self
    }

    /// The TDP in watts of all the machine's CPUs together, used by the estimate when no
    /// counter can be read (default: `PGADGET_CPU_TDP`, else 65 W); more than 0 and at most
    /// [`config::MAX_CPU_TDP_WATTS`] (5000 W).
    pub fn cpu_tdp(mut self, watts: f64) -> Self {
        self.cpu_tdp = Some(watts);
        self
    }

    /// Ships every row to the PostgreSQL database at `url`
    /// (`postgres://user:password@host:port/db`), into the table `pgadget_rows`, in the
    /// background (default: `PGADGET_DATABASE_URL`, else no database). Needs the `postgres`
    /// feature: without it, [`build`](Self::build) says so. The CSV log is written as before.
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(DatabaseUrl::new(url));
        self
    }

    /// Uses `env` instead of the process environment. For pgadget's own tests and benchmarks;
    /// not part of the API.
    #[doc(hidden)]
    pub fn environment(mut self, env: EnvConfig) -> Self {
        self.env = Some(env);
        self
    }

    /// Builds the meter: detects the energy sources and starts the country lookup.
    pub fn build(self) -> Result<PowerMeter, ConfigError> {
        let env = self.env.unwrap_or_else(EnvConfig::from_env);
        let pue = match self.pue {
            Some(p) => config::parse_pue(&p.to_string())
                .map_err(|e| ConfigError::new(ConfigErrorKind::Pue, format!("pue: {e}")))?,
            None => env.pue.unwrap_or_else(carbon::default_pue),
        };
        let cpu_tdp = match self.cpu_tdp {
            Some(w) => config::check_cpu_tdp(w)
                .map_err(|e| ConfigError::new(ConfigErrorKind::CpuTdp, format!("cpu_tdp: {e}")))?,
            None => env.cpu_tdp.unwrap_or(estimate::DEFAULT_CPU_TDP_WATTS),
        };
        for problem in &env.problems {
            report_once(problem);
        }
        let log_path = self
            .log_path
            .or_else(|| env.log.clone())
            .unwrap_or_else(log::default_log_path);
        let disabled = env.disable;
        let detected = if disabled {
            Detected::default()
        } else {
            let source_config =
                SourceConfig::from_env(&env, self.cpu_power_log_path, Some(cpu_tdp));
            for problem in source_config.problems() {
                report_once(&problem);
            }
            let detected = energy::detect(&source_config);
            let cache_dir = crate::cache_dir::cache_dir(env.cache_dir.as_deref());
            tell_about_sources(&detected, cache_dir.as_deref());
            detected
        };
        let host = crate::user::host_name();
        let shipping = if disabled {
            Shipping::default()
        } else {
            Shipping::start(&env, self.database_url, &log_path, &host)?
        };
        let country = CountryLookup::start(&env, self.get_country);
        Ok(PowerMeter {
            inner: Arc::new(Inner {
                disabled,
                project: self.project_name.or(env.project.clone()),
                user: self
                    .user_name
                    .or(env.user.clone())
                    .unwrap_or_else(crate::user::os_user_name),
                host,
                pue,
                log: LogWriter::new(log_path),
                label: detected.label(),
                detected,
                country,
                shipping,
                failure_reported: AtomicBool::new(false),
            }),
        })
    }
}

/// The mark, in the cache directory, that this machine has had the full explanation of why no
/// counter could be read.
const SOURCES_EXPLAINED: &str = "no-counters-explained";

/// Tells the user once per process that energies are estimated: the first time on a machine
/// with every reason, later in one line pointing at `pgadget doctor` (which has them all).
fn tell_about_sources(detected: &Detected, cache_dir: Option<&std::path::Path>) {
    let only_estimate = detected.sources.iter().all(|s| s.name() == estimate::NAME);
    // Nothing failed: the estimate was chosen (PGADGET_SOURCES=estimate), nothing to tell.
    if !only_estimate || detected.unavailable.is_empty() {
        return;
    }
    if crate::cache_dir::seen_before(cache_dir, SOURCES_EXPLAINED) {
        report_once(
            "no energy counter could be read, so energies are estimated from the process's CPU \
             time; run `pgadget doctor` for why and what to do.",
        );
        return;
    }
    let mut message = String::from(
        "no energy counter could be read, so energies are estimated from the process's CPU time \
         (rows say `estimate` in \"Energy Source\").",
    );
    for reason in &detected.unavailable {
        message.push_str(&format!("\n  - {reason}"));
    }
    message.push_str(
        "\n  Run `pgadget doctor` for details and remedies. (Later runs on this machine say this \
         in one line.)",
    );
    report_once(&message);
}

static INSTALLED: OnceLock<PowerMeter> = OnceLock::new();

impl PowerMeter {
    /// A builder; see [`PowerMeterBuilder`].
    pub fn builder() -> PowerMeterBuilder {
        PowerMeterBuilder::default()
    }

    /// A meter configured from the environment alone. A bad value there is reported on stderr
    /// and replaced by its default.
    pub fn from_env() -> PowerMeter {
        match PowerMeter::builder().build() {
            Ok(meter) => meter,
            // The environment's bad values are dropped (and reported) by EnvConfig, so the
            // builder has nothing left to reject; keep a measuring meter regardless.
            Err(e) => {
                report_once(&e.to_string());
                PowerMeter::builder()
                    .environment(EnvConfig::default())
                    .build()
                    .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
            }
        }
    }

    /// Makes this meter the one `#[measure_power]` uses. Only the first meter installed (or
    /// built from the environment by the first measured call) is used; installing it again
    /// is fine, installing another one is an [`InstallError`] that holds it.
    pub fn install(self) -> Result<(), InstallError> {
        let mut slot = Some(self);
        let installed = INSTALLED.get_or_init(|| slot.take().unwrap_or_else(PowerMeter::from_env));
        match slot {
            None => Ok(()),
            Some(rejected) if Arc::ptr_eq(&rejected.inner, &installed.inner) => Ok(()),
            Some(rejected) => Err(InstallError { rejected }),
        }
    }

    /// The meter `#[measure_power]` uses: the installed one, else one built from the
    /// environment on first use.
    pub fn global() -> &'static PowerMeter {
        INSTALLED.get_or_init(PowerMeter::from_env)
    }

    /// The log this meter writes.
    pub fn log_path(&self) -> &std::path::Path {
        self.inner.log.path()
    }

    /// The value this meter writes in "Energy Source" (e.g. `powercap+nvml`).
    pub fn energy_source(&self) -> &str {
        &self.inner.label
    }

    /// Whether `PGADGET_DISABLE` turned this meter off.
    pub fn is_disabled(&self) -> bool {
        self.inner.disabled
    }

    /// Runs `work`, measures it, logs one row and returns `work`'s result. A panic in `work`
    /// is logged with Status `panicked` and keeps unwinding.
    pub fn measure_power<R>(&self, metadata: Metadata, work: impl FnOnce() -> R) -> R {
        let _measurement = self.start(metadata);
        work()
    }

    /// Opens a measurement window; the row is written when the returned guard is dropped or
    /// [`Measurement::finish`]ed.
    pub fn start(&self, metadata: Metadata) -> Measurement {
        if self.inner.disabled {
            return Measurement::disabled();
        }
        let unwinding_at_entry = std::thread::panicking();
        // Microseconds, as PostgreSQL keeps them: the CSV and the table then hold the same time.
        let datetime = local_now().trunc_subsecs(6);
        let machine_busy = machine::machine_busy_secs_recent();
        let cpu = estimate::process_cpu_time();
        let cpu_start = cpu.clone().unwrap_or_default();
        let begun = self
            .inner
            .detected
            .sources
            .iter()
            .map(|s| match s.joules_per_cpu_second() {
                Some(joules) => cpu.clone().map(|c| Begun::Reading(cpu_reading(c, joules))),
                None => s.begin(),
            })
            .collect();
        Measurement {
            state: Some(Box::new(State {
                meter: self.clone(),
                metadata,
                datetime,
                machine_busy,
                cpu_start,
                begun,
                status: None,
                must_complete: false,
                unwinding_at_entry,
                // Taken last so the window holds as little of our own work as possible.
                started: Instant::now(),
            })),
        }
    }
}

/// An open measurement window. Dropping it closes the window and writes the row.
///
/// One pointer in size, and `Send` and `Sync`, so that a measured future is as movable as the
/// unmeasured one and barely larger.
#[must_use = "the window closes (and the row is written) when the measurement is dropped"]
pub struct Measurement {
    // Boxed: a guard lives in every measured future's state, measuring or not.
    state: Option<Box<State>>,
}

impl fmt::Debug for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(state) = &self.state else {
            return f.write_str("Measurement(disabled)");
        };
        f.debug_struct("Measurement")
            .field("function", &state.metadata.function)
            .field("package", &state.metadata.package)
            .field("algorithm", &state.metadata.algorithm)
            .field("datetime", &state.datetime)
            .field("elapsed", &state.started.elapsed())
            .field("status", &state.status)
            .field("must_complete", &state.must_complete)
            .finish_non_exhaustive()
    }
}

struct State {
    meter: PowerMeter,
    metadata: Metadata,
    datetime: chrono::DateTime<chrono::FixedOffset>,
    machine_busy: Option<f64>,
    cpu_start: Duration,
    begun: Vec<Result<Begun, SourceError>>,
    status: Option<String>,
    must_complete: bool,
    /// Whether the thread was already unwinding when the window opened (a measured call in a
    /// `Drop` run by a panic): then unwinding at the close is not this call's panic.
    unwinding_at_entry: bool,
    started: Instant,
}

impl Measurement {
    /// A window that measures nothing and writes no row (what a disabled meter hands out).
    #[inline]
    pub(crate) fn disabled() -> Measurement {
        Measurement { state: None }
    }

    /// Sets the value of "Status" (default `ok`, or `panicked` while unwinding).
    pub fn set_status(&mut self, status: impl Into<String>) {
        if let Some(state) = &mut self.state {
            state.status = Some(status.into());
        }
    }

    /// Marks a window that must be [`completed`](Measurement::complete): dropping it without
    /// completing records Status `cancelled` (an `async fn` whose future was dropped).
    pub(crate) fn expect_completion(&mut self) {
        if let Some(state) = &mut self.state {
            state.must_complete = true;
        }
    }

    /// Marks the work as having run to its end. For the code `#[measure_power]` generates;
    /// not part of the API.
    #[doc(hidden)]
    pub fn complete(&mut self) {
        if let Some(state) = &mut self.state {
            state.must_complete = false;
        }
    }

    /// Closes the window now, writes the row and returns it (`None` when disabled).
    pub fn finish(mut self) -> Option<Record> {
        self.state.take().and_then(|state| state.close(true))
    }
}

impl Drop for Measurement {
    // Inlined so that a disabled window costs a compare in the caller.
    #[inline]
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.close(false);
        }
    }
}

/// The local time now, with its UTC offset: what `chrono::Local::now()` gives, without its
/// time-zone lookup on every call.
///
/// The offset of a time zone changes only at a transition, and transitions fall on whole
/// seconds, so the offset found for one second holds for every instant of that second. The
/// last second looked up and its offset are kept in one atomic word: calls in the same second
/// (in a loop, or 2 ms apart) reuse the offset, and chrono still looks it up (and notices a
/// change of `TZ` or of `/etc/localtime`) once a second.
fn local_now() -> chrono::DateTime<chrono::FixedOffset> {
    use chrono::{FixedOffset, Offset, TimeZone};
    use std::sync::atomic::AtomicU64;
    /// The second (since the epoch, as u32: until 2106) in the high half, the offset in
    /// seconds (as i32) in the low half; 0 before the first lookup.
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = chrono::Utc::now();
    let second = now.timestamp();
    let last = LAST.load(Ordering::Relaxed);
    if last != 0 && (last >> 32) as i64 == second {
        if let Some(offset) = FixedOffset::east_opt(last as u32 as i32) {
            return now.with_timezone(&offset);
        }
    }
    let offset = chrono::Local
        .offset_from_utc_datetime(&now.naive_utc())
        .fix();
    if let Ok(second) = u32::try_from(second) {
        let packed = (u64::from(second) << 32) | u64::from(offset.local_minus_utc() as u32);
        LAST.store(packed, Ordering::Relaxed);
    }
    now.with_timezone(&offset)
}

/// The reading of a source charging `joules` per second of the process's CPU time `cpu`.
fn cpu_reading(cpu: Duration, joules: f64) -> Reading {
    Reading {
        package: Cell::Joules(cpu.as_secs_f64() * joules),
        ..Reading::default()
    }
}

/// The process's share of the machine's busy CPU time in a window, in 0..=1; `None` when the
/// machine's clock did not advance (a window shorter than one tick) or cannot be read.
fn cpu_share(
    process_secs: f64,
    machine_start: Option<f64>,
    machine_end: Option<f64>,
) -> Option<f64> {
    let machine = machine_end? - machine_start?;
    if machine <= 0.0 {
        return None;
    }
    Some((process_secs / machine).clamp(0.0, 1.0))
}

/// Joules to milliwatt-hours.
fn mwh(joules: f64) -> f64 {
    joules / 3.6
}

impl State {
    /// Closes the window, writes the row, hands it to the configured sinks (PostgreSQL,
    /// Prometheus), and returns it as a [`Record`] if `keep` ([`Measurement::finish`]). A
    /// dropped guard with no sink, the usual case, needs no owned copy, so the row is
    /// serialised from borrowed text and the call allocates nothing for its cells.
    fn close(self, keep: bool) -> Option<Record> {
        let elapsed = self.started.elapsed();
        let cpu = estimate::process_cpu_time();
        let cpu_end = cpu.clone().unwrap_or_default();
        let inner = &self.meter.inner;
        let mut used = Reading::default();
        for (source, begun) in inner.detected.sources.iter().zip(self.begun) {
            let ended = match (begun, source.joules_per_cpu_second()) {
                (Ok(Begun::Reading(start)), Some(joules)) => {
                    cpu.clone().map(|c| cpu_reading(c, joules).since(&start))
                }
                (begun, _) => begun.and_then(|b| source.end(b)),
            };
            used.merge(window::ended(source.as_ref(), ended));
        }
        let gpu_measured = used.gpu.is_measured();
        if let Some((domains, reason)) = window::lost(&used).first() {
            if !inner.failure_reported.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "pgadget: a measurement left its {} energy empty ({reason}); rows say why in \
                     \"Energy Note\". Run `pgadget doctor` to check the counters.",
                    window::columns(domains)
                );
            }
        }
        // A window shorter than /proc/stat's tick has no meaningful share: skip its reading.
        let machine_end = match self.machine_busy {
            Some(_) if elapsed >= machine::tick() => machine::machine_busy_secs(),
            _ => None,
        };
        let process_cpu = cpu_end.saturating_sub(self.cpu_start).as_secs_f64();
        let status = self.status.as_deref().unwrap_or_else(|| {
            if std::thread::panicking() && !self.unwinding_at_entry {
                "panicked"
            } else if self.must_complete {
                "cancelled"
            } else {
                "ok"
            }
        });
        let meta = &self.metadata;
        let project = meta
            .project_name
            .as_deref()
            .or(inner.project.as_deref())
            .or(meta.default_project.as_deref())
            .unwrap_or_default();
        let energy_note = window::note(&used);
        let row_id = log::row_id::RowId::next();
        // Outside the window (elapsed is already taken): this may wait for the country lookup.
        let location = inner.country.location();
        let mut row = RecordRef {
            datetime: self.datetime,
            user: &inner.user,
            iso: location.iso,
            country: location.country,
            platform: std::env::consts::OS,
            project,
            elapsed_secs: elapsed.as_secs_f64(),
            gpu_elapsed_secs: if gpu_measured {
                elapsed.as_secs_f64()
            } else {
                0.0
            },
            package_mwh: used.package.joules().map(mwh),
            cores_mwh: used.cores.joules().map(mwh),
            gpu_mwh: used.gpu.joules().map(mwh),
            dram_mwh: used.dram.joules().map(mwh),
            pue: inner.pue,
            co2_g: None,
            package: &meta.package,
            algorithm: &meta.algorithm,
            algorithm_params: &meta.algorithm_params,
            data_type: meta.data_type.as_str(),
            data_shape: &meta.data_shape,
            comments: &meta.comments,
            function: &meta.function,
            energy_source: &inner.label,
            process_cpu_secs: Some(process_cpu),
            status,
            cpu_share: cpu_share(process_cpu, self.machine_busy, machine_end),
            energy_note: &energy_note,
            row_id: row_id.as_str(),
            host: &inner.host,
        };
        // No energy measured (every source failed in this window): no CO2 either, rather
        // than a 0 that looks like a measurement. Nor when a term of its sum is lost: a CO2
        // from a partial sum would look whole (the note says which term).
        let computable = window::any_value(&used) && window::carbon_lost(&used).is_empty();
        row.co2_g =
            computable.then(|| carbon::co2_grams(row.pue, row.total_mwh(), location.intensity));
        let in_log = inner.log.append_or_report(row);
        if !inner.shipping.is_on() {
            return keep.then(|| row.to_record());
        }
        // The sinks take an owned row; `finish` pays for one more copy.
        let record = row.to_record();
        let kept = keep.then(|| record.clone());
        inner.shipping.ship(Arc::new(record), in_log);
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_time_is_chronos_with_the_offset_looked_up_once_a_second() {
        // The machine's zone, and zones east and west of UTC by fractions of an hour.
        local_time_matches_chrono();
        for zone in ["Asia/Kolkata", "America/St_Johns"] {
            pgadget_test_support::child::ChildTest::new("meter::tests::local_time_child")
                .env("TZ", zone)
                .run();
        }
    }

    #[test]
    #[ignore = "run by the_local_time_is_chronos_with_the_offset_looked_up_once_a_second"]
    fn local_time_child() {
        let zone = pgadget_test_support::child::child_var("TZ");
        assert_ne!(
            chrono::Local::now().offset().local_minus_utc(),
            0,
            "{zone} is not UTC"
        );
        local_time_matches_chrono();
    }

    fn local_time_matches_chrono() {
        for _ in 0..1000 {
            let before = chrono::Local::now().fixed_offset();
            let ours = local_now();
            let after = chrono::Local::now().fixed_offset();
            assert!(before <= ours && ours <= after, "{before} {ours} {after}");
            assert_eq!(ours.offset(), after.offset());
        }
    }

    #[test]
    fn the_cpu_share_is_clamped_and_undefined_without_ticks() {
        assert_eq!(cpu_share(0.5, Some(10.0), Some(12.0)), Some(0.25));
        assert_eq!(cpu_share(3.0, Some(10.0), Some(12.0)), Some(1.0));
        assert_eq!(cpu_share(0.5, Some(10.0), Some(10.0)), None);
        assert_eq!(cpu_share(0.5, None, Some(10.0)), None);
    }
}
