//! Where the machine is: `PGADGET_COUNTRY`, else a cached answer, else one IP-geolocation
//! request, else the world average.
//!
//! The request runs on a background thread started when the meter is built, at most once per
//! process (a process-wide `OnceLock`, shared by every meter). No row waits for it: a row
//! closed before the answer is charged at the world average (and says so), later rows use the
//! answer. The request may run for `LOOKUP_BOUND` (10 s); a program that exits normally before
//! the answer waits for it, at most `EXIT_WAIT` (3 s), so that the answer is cached for the
//! next run (see `geolocate`).
//!
//! Offline (`get_country(false)`, or `PGADGET_OFFLINE` set to anything but a clear "off")
//! means no network: `PGADGET_COUNTRY` and a fresh cached answer are still used (they are
//! already on the machine), otherwise the world average.
//!
//! The cache and the request come with the `geolocation` feature. Without it the country is
//! `PGADGET_COUNTRY`, else the world average, and a user who asked for a lookup is told once
//! why none is made.

use super::country::find_country;
#[cfg(feature = "geolocation")]
use super::country::CountryError;
#[cfg(feature = "geolocation")]
use super::geolocate::{self, Shared};
use super::intensity::world_average;
use super::Location;
use crate::config::{self, EnvConfig};
use crate::report_once;

/// Resolves the country for one meter.
#[derive(Debug)]
pub struct CountryLookup {
    resolution: Resolution,
}

#[derive(Debug)]
enum Resolution {
    /// Known when the meter was built (configured, cached, offline, or a failed start).
    Fixed(Location),
    /// The process-wide request, which may still be running.
    #[cfg(feature = "geolocation")]
    Pending(&'static Shared),
}

impl CountryLookup {
    /// Starts resolving the country, in this order: `env.country` (`PGADGET_COUNTRY`), a fresh
    /// answer cached in `env.cache_dir` (`PGADGET_CACHE_DIR`, default `<cache dir>/pgadget`),
    /// one request to `env.geo_url` (`PGADGET_GEO_URL`, default ipinfo.io), else the world
    /// average. Never blocks on the network.
    ///
    /// `get_country` is the builder's setting: `Some(false)` makes no request, `Some(true)`
    /// asks for one, `None` leaves the default (a request unless `PGADGET_OFFLINE` is on).
    /// The cache and the request need the `geolocation` feature.
    pub fn start(env: &EnvConfig, get_country: Option<bool>) -> Self {
        if env.disable {
            return CountryLookup::fixed(world_average());
        }
        if let Some(spelling) = &env.country {
            let location = match find_country(spelling) {
                Ok(c) => c.location(),
                Err(e) => {
                    report_once(&format!(
                        "{}={spelling:?}: {e}; CO2 uses the world average ({:.0} gCO2e/kWh) and \
                         no lookup is made.",
                        config::COUNTRY,
                        world_average().intensity
                    ));
                    world_average()
                }
            };
            return CountryLookup::fixed(location);
        }
        let request = get_country.unwrap_or(true) && !env.offline;
        CountryLookup::look_up(env, get_country, request)
    }

    /// A fresh cached answer of the configured service, else the request when `request`
    /// allows one.
    #[cfg(feature = "geolocation")]
    fn look_up(env: &EnvConfig, _get_country: Option<bool>, request: bool) -> Self {
        use super::cache;
        use super::service::Service;
        let service = Service::new(
            env.geo_url
                .clone()
                .unwrap_or_else(|| config::DEFAULT_GEO_URL.to_string()),
        );
        let cache_dir = cache::cache_dir(env.cache_dir.as_deref());
        if let Some(cached) = cache_dir
            .as_deref()
            .and_then(|d| cache::load(d, service.url(), chrono::Utc::now()))
        {
            let location = match find_country(&cached.country) {
                Ok(c) => c.location(),
                // A real country without a figure: the answer is right, the table lacks it.
                Err(CountryError::NoData(c)) => {
                    report_once(&geolocate::no_figure_message(
                        &service, c.alpha2, c.name, true,
                    ));
                    world_average()
                }
                // An answer this version cannot place; asking again would give the same.
                Err(CountryError::Unknown(code)) => {
                    report_once(&geolocate::unknown_code_message(&service, &code, true));
                    world_average()
                }
            };
            return CountryLookup::fixed(location);
        }
        if !request {
            return CountryLookup::fixed(world_average());
        }
        CountryLookup {
            resolution: Resolution::Pending(Shared::start(service, cache_dir)),
        }
    }

    /// No lookup in this build: the world average, and one line for a user who asked for a
    /// lookup (`get_country(true)` or `PGADGET_GEO_URL`) saying why none is made.
    #[cfg(not(feature = "geolocation"))]
    fn look_up(env: &EnvConfig, get_country: Option<bool>, request: bool) -> Self {
        let asked = get_country == Some(true) || env.geo_url.is_some();
        if request && asked {
            report_once(&not_built_in_message());
        }
        CountryLookup::fixed(world_average())
    }

    fn fixed(location: Location) -> Self {
        CountryLookup {
            resolution: Resolution::Fixed(location),
        }
    }

    /// The location to charge a row to: the country when known, else the world average
    /// (while the lookup is still running, or after it failed). Never waits.
    pub fn location(&self) -> Location {
        match &self.resolution {
            Resolution::Fixed(location) => *location,
            #[cfg(feature = "geolocation")]
            Resolution::Pending(shared) => shared.current(),
        }
    }
}

/// What a build without the `geolocation` feature tells a user who asked for a lookup.
#[cfg(not(feature = "geolocation"))]
fn not_built_in_message() -> String {
    format!(
        "a country lookup was asked for, but this pgadget was built without its `geolocation` \
         feature, so none is made; CO2 uses the world average ({:.0} gCO2e/kWh). Set {} (e.g. \
         FR, FRA or France) to name the country, or build pgadget with the `geolocation` \
         feature (on by default).",
        world_average().intensity,
        config::COUNTRY
    )
}

#[cfg(all(test, not(feature = "geolocation")))]
mod tests {
    use super::*;

    #[test]
    fn without_geolocation_the_country_is_configured_or_the_world_average() {
        let configured = EnvConfig {
            country: Some("fra".into()),
            ..EnvConfig::default()
        };
        let location = CountryLookup::start(&configured, Some(true)).location();
        assert_eq!(location.iso, "FR");
        let asked = EnvConfig {
            geo_url: Some("http://127.0.0.1:9/json".into()),
            ..EnvConfig::default()
        };
        let location = CountryLookup::start(&asked, Some(true)).location();
        assert!(location.is_world_average());
        let location = CountryLookup::start(&EnvConfig::default(), None).location();
        assert!(location.is_world_average());
    }

    #[test]
    fn the_message_says_why_and_what_to_do() {
        let message = not_built_in_message();
        assert!(message.contains("`geolocation` feature"), "{message}");
        assert!(message.contains("PGADGET_COUNTRY"), "{message}");
        assert!(message.contains("world average"), "{message}");
    }
}
