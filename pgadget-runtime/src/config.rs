//! Every environment variable pgadget reads, in one place.
//!
//! A value that cannot be used is never silently replaced: [`EnvConfig::problems`] lists each
//! one with what was used instead, and the meter prints them once on stderr.
//!
//! This module depends on nothing else in the crate: what a value means to a part (which
//! energy sources exist, where powercap lives by default) is that part's business. The names
//! in `PGADGET_SOURCES`, for one, are checked against the table of sources
//! (`energy::SourceConfig::problems`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A database connection string. It may hold a password, so it is never printed: `Debug`
/// shows that it is set, and messages name the database by its user, host and name only.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a connection string (a URL or `key=value` pairs, as libpq takes them).
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(url.into())
    }

    /// The connection string itself, password included: for connecting, not for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrl(<hidden: it may hold a password>)")
    }
}

/// The log file (`PGADGET_LOG`).
pub(crate) const LOG: &str = "PGADGET_LOG";
/// The project name (`PGADGET_PROJECT`).
pub(crate) const PROJECT: &str = "PGADGET_PROJECT";
/// The user name (`PGADGET_USER`).
pub(crate) const USER: &str = "PGADGET_USER";
/// The country, as alpha-2, alpha-3 or English name (`PGADGET_COUNTRY`).
pub(crate) const COUNTRY: &str = "PGADGET_COUNTRY";
/// The power usage effectiveness (`PGADGET_PUE`).
pub(crate) const PUE: &str = "PGADGET_PUE";
/// `1` makes no network request at all (`PGADGET_OFFLINE`; any value but a clear "off" does).
pub(crate) const OFFLINE: &str = "PGADGET_OFFLINE";
/// `1` turns measurement off (`PGADGET_DISABLE`).
pub(crate) const DISABLE: &str = "PGADGET_DISABLE";
/// A comma-separated list of energy sources to use (`PGADGET_SOURCES`).
pub(crate) const SOURCES: &str = "PGADGET_SOURCES";
/// The powercap root (`PGADGET_POWERCAP_ROOT`).
pub(crate) const POWERCAP_ROOT: &str = "PGADGET_POWERCAP_ROOT";
/// The directory holding `N/msr` (`PGADGET_MSR_DIR`).
pub(crate) const MSR_DIR: &str = "PGADGET_MSR_DIR";
/// The file describing the CPUs, for their vendor and model (`PGADGET_CPUINFO`; default
/// `/proc/cpuinfo`).
pub(crate) const CPUINFO: &str = "PGADGET_CPUINFO";
/// The directory holding `cpuN/topology/` (`PGADGET_CPU_TOPOLOGY`; default
/// `/sys/devices/system/cpu`).
pub(crate) const CPU_TOPOLOGY: &str = "PGADGET_CPU_TOPOLOGY";
/// The NVML library (`PGADGET_NVML_LIB`).
pub(crate) const NVML_LIB: &str = "PGADGET_NVML_LIB";
/// The geolocation URL (`PGADGET_GEO_URL`).
pub(crate) const GEO_URL: &str = "PGADGET_GEO_URL";
/// The CPU's TDP in watts, for the estimate (`PGADGET_CPU_TDP`).
pub(crate) const CPU_TDP: &str = "PGADGET_CPU_TDP";
/// Where the country lookup's answer is cached (`PGADGET_CACHE_DIR`; default
/// `<user cache dir>/pgadget`).
pub(crate) const CACHE_DIR: &str = "PGADGET_CACHE_DIR";

/// Where every row is shipped: a PostgreSQL connection string (`PGADGET_DATABASE_URL`, e.g.
/// `postgres://user:password@host:5432/db`; feature `postgres`).
pub const DATABASE_URL: &str = "PGADGET_DATABASE_URL";
/// Where `GET /metrics` is served (`PGADGET_METRICS_ADDR`, e.g. `127.0.0.1:9464`; feature
/// `prometheus`).
pub const METRICS_ADDR: &str = "PGADGET_METRICS_ADDR";
/// A Prometheus Pushgateway the totals are pushed to (`PGADGET_PUSHGATEWAY_URL`, e.g.
/// `http://gateway:9091`; feature `prometheus`).
pub const PUSHGATEWAY_URL: &str = "PGADGET_PUSHGATEWAY_URL";

/// The default geolocation service, as the seed used.
#[cfg(feature = "geolocation")]
pub(crate) const DEFAULT_GEO_URL: &str = "https://ipinfo.io/json";

/// The configuration the environment gives. Unset or empty variables are `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvConfig {
    /// `PGADGET_LOG`: the CSV log.
    pub log: Option<PathBuf>,
    /// `PGADGET_PROJECT`: the project name.
    pub project: Option<String>,
    /// `PGADGET_USER`: the user name.
    pub user: Option<String>,
    /// `PGADGET_COUNTRY`: the country, as alpha-2, alpha-3 or English name.
    pub country: Option<String>,
    /// `PGADGET_PUE`: the power usage effectiveness (a valid one; see `problems`).
    pub pue: Option<f64>,
    /// `PGADGET_OFFLINE`: no network request at all.
    pub offline: bool,
    /// `PGADGET_DISABLE`: measure nothing.
    pub disable: bool,
    /// `PGADGET_SOURCES`: only these energy sources, in this order (lower case).
    pub sources: Option<Vec<String>>,
    /// `PGADGET_POWERCAP_ROOT`: where the powercap tree is.
    pub powercap_root: Option<PathBuf>,
    /// `PGADGET_MSR_DIR`: the directory holding `N/msr`.
    pub msr_dir: Option<PathBuf>,
    /// `PGADGET_CPUINFO`: the file describing the CPUs.
    pub cpuinfo: Option<PathBuf>,
    /// `PGADGET_CPU_TOPOLOGY`: the directory holding `cpuN/topology/`.
    pub cpu_topology: Option<PathBuf>,
    /// `PGADGET_NVML_LIB`: the NVML library to load.
    pub nvml_lib: Option<PathBuf>,
    /// `PGADGET_GEO_URL`: the geolocation service.
    pub geo_url: Option<String>,
    /// `PGADGET_CPU_TDP`: the CPU's TDP in watts, for the estimate (a valid one).
    pub cpu_tdp: Option<f64>,
    /// `PGADGET_CACHE_DIR`: where answers are cached.
    pub cache_dir: Option<PathBuf>,
    /// `PGADGET_DATABASE_URL`: the PostgreSQL database every row is shipped to (feature
    /// `postgres`).
    pub database_url: Option<DatabaseUrl>,
    /// `PGADGET_METRICS_ADDR`: where `GET /metrics` is served (feature `prometheus`).
    pub metrics_addr: Option<SocketAddr>,
    /// `PGADGET_PUSHGATEWAY_URL`: the Pushgateway the totals are pushed to, without a trailing
    /// slash (feature `prometheus`).
    pub pushgateway_url: Option<String>,
    /// Values that were set but could not be used, each with what happens instead.
    pub problems: Vec<String>,
}

impl EnvConfig {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the configuration through `lookup`, which returns a variable's value if set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();

        let pue = get(PUE).and_then(|raw| match parse_pue(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!("{PUE}={raw:?}: {e}; using the default PUE"));
                None
            }
        });
        let cpu_tdp = get(CPU_TDP).and_then(|raw| match parse_cpu_tdp(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!("{CPU_TDP}={raw:?}: {e}; using the default TDP"));
                None
            }
        });
        let metrics_addr = get(METRICS_ADDR).and_then(|raw| match raw.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                problems.push(format!(
                    "{METRICS_ADDR}={raw:?} is not an address and port such as 127.0.0.1:9464; \
                     no /metrics endpoint is served"
                ));
                None
            }
        });
        let pushgateway_url = get(PUSHGATEWAY_URL).and_then(|raw| {
            let lower = raw.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                Some(raw.trim_end_matches('/').to_string())
            } else {
                problems.push(format!(
                    "{PUSHGATEWAY_URL}={raw:?} is not an http:// or https:// URL such as \
                     http://gateway:9091; the totals are not pushed"
                ));
                None
            }
        });
        // Offline is the safe reading of a value that is not clearly "off": a user who wrote
        // `y` or `enabled` meant to stay offline, and a request cannot be taken back.
        let offline = get(OFFLINE).is_some_and(|raw| {
            switch(&raw).unwrap_or_else(|| {
                problems.push(format!(
                    "{OFFLINE}={raw:?} is neither on (1, true, yes, on) nor off (0, false, no, \
                     off); staying offline: no country lookup is made, nothing is shipped"
                ));
                true
            })
        });
        // `disabled()` decides on the fast path and reads an unclear value as "measure", so the
        // meter that then runs says so rather than leaving the user to wonder about the rows.
        let disable = get(DISABLE).is_some_and(|raw| {
            switch(&raw).unwrap_or_else(|| {
                problems.push(format!(
                    "{DISABLE}={raw:?} is neither on (1, true, yes, on) nor off (0, false, no, \
                     off); measuring stays on (set {DISABLE}=1 to turn it off)"
                ));
                false
            })
        });
        let sources = get(SOURCES).map(|raw| {
            raw.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect::<Vec<String>>()
        });

        EnvConfig {
            log: get(LOG).map(PathBuf::from),
            project: get(PROJECT),
            user: get(USER),
            country: get(COUNTRY),
            pue,
            offline,
            disable,
            sources,
            powercap_root: get(POWERCAP_ROOT).map(PathBuf::from),
            msr_dir: get(MSR_DIR).map(PathBuf::from),
            cpuinfo: get(CPUINFO).map(PathBuf::from),
            cpu_topology: get(CPU_TOPOLOGY).map(PathBuf::from),
            nvml_lib: get(NVML_LIB).map(PathBuf::from),
            geo_url: get(GEO_URL),
            cpu_tdp,
            cache_dir: get(CACHE_DIR).map(PathBuf::from),
            database_url: get(DATABASE_URL).map(DatabaseUrl),
            metrics_addr,
            pushgateway_url,
            problems,
        }
    }
}

/// `1`, `true`, `yes` and `on` (any case) turn a switch on; anything else leaves it off.
fn truthy(v: &str) -> bool {
    switch(v) == Some(true)
}

/// A switch's value: on (`1`, `true`, `yes`, `on`, any case), off (`0`, `false`, `no`, `off`),
/// or `None` for anything else.
fn switch(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses a PUE: a number of at least 1.0 (a data centre cannot use less energy than its IT).
pub(crate) fn parse_pue(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 1.0 => Ok(v),
        Ok(v) => Err(format!(
            "a PUE is at least 1.0 (total facility energy / IT energy), got {v}"
        )),
        Err(_) => Err(format!("a PUE is a number of at least 1.0, got {raw:?}")),
    }
}

/// The largest CPU TDP accepted, in watts: eight sockets of the largest parts sold (about
/// 500 W each) with room to spare. A larger value is a typo (a TDP in milliwatts, say), and
/// would make every estimated row absurd.
pub const MAX_CPU_TDP_WATTS: f64 = 5000.0;

/// Parses a CPU TDP: the power in watts of all the machine's CPUs together, more than 0 and
/// at most [`MAX_CPU_TDP_WATTS`].
pub fn parse_cpu_tdp(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(v) => check_cpu_tdp(v),
        Err(_) => Err(format!(
            "a TDP is a power in watts (a positive number such as 65), got {raw:?}"
        )),
    }
}

/// Checks a CPU TDP given as a number (see [`parse_cpu_tdp`]).
pub(crate) fn check_cpu_tdp(watts: f64) -> Result<f64, String> {
    // 1e308 written out is 309 digits: keep large values readable.
    let shown = if watts.abs() < 1e9 {
        format!("{watts}")
    } else {
        format!("{watts:e}")
    };
    if watts.is_finite() && watts > 0.0 && watts <= MAX_CPU_TDP_WATTS {
        Ok(watts)
    } else if watts > MAX_CPU_TDP_WATTS {
        Err(format!(
            "a CPU TDP is at most {MAX_CPU_TDP_WATTS} W (eight sockets of the largest parts), \
             got {shown} W"
        ))
    } else {
        Err(format!(
            "a TDP is a power in watts (a positive number such as 65), got {shown}"
        ))
    }
}

/// Whether `PGADGET_DISABLE` turns measurement off, read once per process.
// Inlined into every measured function: after the first call it is one load and a compare.
#[inline]
pub(crate) fn disabled() -> bool {
    static DISABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DISABLED.get_or_init(|| {
        std::env::var(DISABLE)
            .map(|v| truthy(v.trim()))
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> EnvConfig {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn empty_environment_sets_nothing() {
        let c = cfg(&[]);
        assert_eq!(c, EnvConfig::default());
    }

    #[test]
    fn values_are_read_and_trimmed() {
        let c = cfg(&[
            (LOG, " /tmp/x.csv "),
            (PUE, "1.2"),
            (OFFLINE, "1"),
            (DISABLE, "TRUE"),
            (SOURCES, "powercap, NVML"),
            (CPU_TDP, "95"),
            (CACHE_DIR, "/tmp/pgadget-cache"),
        ]);
        assert_eq!(c.log, Some(PathBuf::from("/tmp/x.csv")));
        assert_eq!(c.pue, Some(1.2));
        assert!(c.offline && c.disable);
        assert_eq!(c.sources, Some(vec!["powercap".into(), "nvml".into()]));
        assert_eq!(c.cpu_tdp, Some(95.0));
        assert_eq!(c.cache_dir, Some(PathBuf::from("/tmp/pgadget-cache")));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    #[test]
    fn bad_values_are_reported_not_guessed() {
        let c = cfg(&[(PUE, "0.8"), (CPU_TDP, "lots")]);
        assert_eq!(c.pue, None);
        assert_eq!(c.cpu_tdp, None);
        assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
        assert!(c.problems[0].contains("at least 1.0"));
        assert!(c.problems[1].contains("a power in watts"));
    }

    #[test]
    fn shipping_settings_are_read_and_checked() {
        let c = cfg(&[
            (DATABASE_URL, "postgres://ada:s3cret@db.example:5432/energy"),
            (METRICS_ADDR, "127.0.0.1:9464"),
            (PUSHGATEWAY_URL, "http://127.0.0.1:9091/"),
        ]);
        assert_eq!(
            c.database_url.as_ref().map(DatabaseUrl::expose),
            Some("postgres://ada:s3cret@db.example:5432/energy")
        );
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.pushgateway_url.as_deref(), Some("http://127.0.0.1:9091"));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        // The configuration may be printed; the password must not be.
        assert!(!format!("{c:?}").contains("s3cret"));

        let c = cfg(&[(METRICS_ADDR, "9464"), (PUSHGATEWAY_URL, "gateway:9091")]);
        assert_eq!((c.metrics_addr, c.pushgateway_url), (None, None));
        assert!(c.problems[0].contains("127.0.0.1:9464"), "{:?}", c.problems);
        assert!(c.problems[1].contains("http://"), "{:?}", c.problems);
    }

    #[test]
    fn an_absurd_tdp_is_refused_with_the_bound() {
        let c = cfg(&[(CPU_TDP, "1e308")]);
        assert_eq!(c.cpu_tdp, None);
        assert_eq!(
            c.problems,
            [
                "PGADGET_CPU_TDP=\"1e308\": a CPU TDP is at most 5000 W (eight sockets of the \
              largest parts), got 1e308 W; using the default TDP"
            ]
        );
        assert_eq!(parse_cpu_tdp("5000"), Ok(5000.0));
        assert!(parse_cpu_tdp("5000.5").is_err());
        assert!(parse_cpu_tdp("inf").is_err());
        assert!(parse_cpu_tdp("0").is_err());
        assert!(parse_cpu_tdp("-65").is_err());
    }

    #[test]
    fn offline_is_on_unless_clearly_off() {
        for on in ["1", "true", "YES", "on"] {
            let c = cfg(&[(OFFLINE, on)]);
            assert!(c.offline && c.problems.is_empty(), "{on}: {c:?}");
        }
        for off in ["0", "false", "No", "OFF"] {
            let c = cfg(&[(OFFLINE, off)]);
            assert!(!c.offline && c.problems.is_empty(), "{off}: {c:?}");
        }
        for unclear in ["y", "enabled", "2"] {
            let c = cfg(&[(OFFLINE, unclear)]);
            assert!(c.offline, "{unclear} keeps the machine offline");
            assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
            assert!(
                c.problems[0].contains(&format!("{OFFLINE}=\"{unclear}\""))
                    && c.problems[0].contains("staying offline"),
                "{}",
                c.problems[0]
            );
        }
    }

    #[test]
    fn an_unclear_disable_measures_and_says_so() {
        for unclear in ["y", "enabled", "2"] {
            let c = cfg(&[(DISABLE, unclear)]);
            assert!(
                !c.disable,
                "{unclear} leaves measuring on, as `disabled()` does"
            );
            assert!(!truthy(unclear));
            assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
            assert!(
                c.problems[0].contains(&format!("{DISABLE}=\"{unclear}\""))
                    && c.problems[0].contains("measuring stays on"),
                "{}",
                c.problems[0]
            );
        }
        let c = cfg(&[(DISABLE, "off")]);
        assert!(!c.disable && c.problems.is_empty(), "{c:?}");
    }

    #[test]
    fn pue_must_be_a_number_of_at_least_one() {
        assert_eq!(parse_pue("1.58"), Ok(1.58));
        assert!(parse_pue("0.99").is_err());
        assert!(parse_pue("abc").unwrap_err().contains("\"abc\""));
        assert!(parse_pue("NaN").is_err());
    }
}
