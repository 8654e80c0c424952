//! The country lookup over the network: one request to an IP-geolocation service per process,
//! on a background thread, bounded by [`LOOKUP_BOUND`], its answer cached on disk. Built with
//! the `geolocation` feature only; without it there is no request (see `lookup`).

use super::cache::{self, CachedCountry};
use super::country::{find_country, CountryError};
use super::intensity::world_average;
use super::Location;
use crate::config;
use crate::report_once;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The longest the geolocation request may take, connection included.
pub const LOOKUP_BOUND: Duration = Duration::from_secs(2);

/// The largest geolocation answer read (ipinfo's is about 300 bytes).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The process-wide request and its answer.
#[derive(Debug)]
pub(super) struct Shared {
    url: String,
    deadline: Instant,
    answer: Mutex<Option<Location>>,
    answered: Condvar,
    /// Whether this lookup has already told the user it fell back (one line per process).
    reported: AtomicBool,
}

static LOOKUP: OnceLock<Shared> = OnceLock::new();

impl Shared {
    /// The process's lookup, started by the first caller. Later callers share it whatever URL
    /// they were configured with: a process asks once.
    pub(super) fn start(url: String, cache_dir: Option<PathBuf>) -> &'static Shared {
        let mut first = false;
        let shared = LOOKUP.get_or_init(|| {
            first = true;
            Shared::new(url, LOOKUP_BOUND)
        });
        if first {
            let spawned = std::thread::Builder::new()
                .name("pgadget-country".into())
                .spawn(move || shared.run(cache_dir.as_deref()));
            if let Err(e) = spawned {
                shared.fail(&format!("could not start its thread ({e})"));
            }
        }
        shared
    }

    fn new(url: String, bound: Duration) -> Shared {
        Shared {
            url,
            deadline: Instant::now() + bound,
            answer: Mutex::new(None),
            answered: Condvar::new(),
            reported: AtomicBool::new(false),
        }
    }

    /// The request, on the background thread.
    fn run(&'static self, cache_dir: Option<&std::path::Path>) {
        let code = match geolocate(&self.url) {
            Ok(code) => code,
            Err(what) => return self.fail(&what),
        };
        let location = match find_country(&code) {
            Ok(c) => c.location(),
            Err(CountryError::NoData(c)) => {
                self.report(&format!(
                    "the country lookup at {} answered {} ({}), which has no carbon-intensity \
                     figure; CO2 uses the world average. Set {} to charge another country's grid.",
                    self.url,
                    c.alpha2,
                    c.name,
                    config::COUNTRY
                ));
                world_average()
            }
            Err(CountryError::Unknown(_)) => {
                return self.fail(&format!("it answered an unknown country code {code:?}"));
            }
        };
        // Saved before the answer is handed out, so a short-lived process that writes one row
        // and exits still leaves the answer for the next one.
        if let Some(dir) = cache_dir {
            let saved = cache::save(
                dir,
                &CachedCountry {
                    country: code,
                    saved: chrono::Utc::now(),
                    url: self.url.clone(),
                },
            );
            if let Err(e) = saved {
                report_once(&format!(
                    "could not cache the country ({e}); the next run will ask again. Set {} \
                     to a writable directory or {} to avoid the lookup.",
                    config::CACHE_DIR,
                    config::COUNTRY
                ));
            }
        }
        self.settle(location);
    }

    fn settle(&self, location: Location) {
        let mut answer = self.answer.lock().unwrap_or_else(|p| p.into_inner());
        *answer = Some(location);
        self.answered.notify_all();
    }

    /// Prints the lookup's fallback message, unless one was printed already (a row that gave up
    /// waiting and the request's own timeout tell the same story).
    fn report(&self, message: &str) {
        if !self.reported.swap(true, Ordering::Relaxed) {
            report_once(message);
        }
    }

    fn fail(&self, what: &str) {
        self.report(&format!(
            "the country lookup at {} failed: {what}; CO2 uses the world average ({:.0} \
             gCO2e/kWh). Set {} (e.g. FR, FRA or France) to name the country, or {}=1 to skip \
             the lookup.",
            self.url,
            world_average().intensity,
            config::COUNTRY,
            config::OFFLINE
        ));
        self.settle(world_average());
    }

    pub(super) fn wait(&self) -> Location {
        let mut answer = self.answer.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(location) = *answer {
                return location;
            }
            let now = Instant::now();
            if now >= self.deadline {
                break;
            }
            answer = match self.answered.wait_timeout(answer, self.deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
        self.report(&format!(
            "the country lookup at {} has not answered within {} s; rows written until it does \
             use the world average. Set {} (e.g. FR, FRA or France) to name the country, or \
             {}=1 to skip the lookup.",
            self.url,
            LOOKUP_BOUND.as_secs(),
            config::COUNTRY,
            config::OFFLINE
        ));
        world_average()
    }
}

/// What the geolocation service answers; only `country` (ISO 3166 alpha-2) is used.
#[derive(Deserialize)]
struct GeoAnswer {
    country: Option<String>,
}

/// One request to `url`; the alpha-2 code it answered, or what went wrong, said for a person.
fn geolocate(url: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(LOOKUP_BOUND))
        // HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (and NO_PROXY), as other tools honour them.
        .proxy(ureq::Proxy::try_from_env())
        .user_agent(concat!("pgadget/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => format!("it answered HTTP {code}"),
        ureq::Error::Timeout(_) => format!("no answer within {} s", LOOKUP_BOUND.as_secs()),
        other => other.to_string(),
    })?;
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| format!("its answer could not be read ({e})"))?;
    let answer: GeoAnswer = serde_json::from_str(&body)
        .map_err(|e| format!("its answer is not the JSON expected ({e})"))?;
    match answer.country {
        Some(code) if !code.trim().is_empty() => Ok(code.trim().to_ascii_uppercase()),
        _ => Err("its answer has no `country` field".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_wait_until_the_deadline_once_then_take_a_late_answer() {
        let shared = Shared::new("http://127.0.0.1:9/json".into(), Duration::from_millis(50));
        // Before any answer: the row waits out the bound, then gets the world average.
        assert_eq!(shared.wait(), world_average());
        // Past the deadline nothing waits: still no answer, still the world average.
        assert_eq!(shared.wait(), world_average());
        // The answer arrives late: later rows use it.
        shared.settle(find_country("NO").unwrap().location());
        assert_eq!(shared.wait().iso, "NO");
    }

    #[test]
    fn a_waiting_row_takes_the_answer_as_soon_as_it_comes() {
        let shared: &'static Shared = Box::leak(Box::new(Shared::new(
            "http://127.0.0.1:9/json".into(),
            // Far longer than the test: the row must be woken by the answer, not the bound.
            Duration::from_secs(600),
        )));
        let row = std::thread::spawn(move || shared.wait());
        std::thread::sleep(Duration::from_millis(20));
        shared.settle(find_country("SE").unwrap().location());
        assert_eq!(row.join().unwrap().iso, "SE");
    }
}
