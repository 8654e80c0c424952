//! Carbon accounting: where the machine is, how dirty its grid is, what a window emitted.
//!
//! CO2 (gCO2e) = PUE × energy (kWh) × carbon intensity of the country's electricity
//! (gCO2e/kWh), where the energy is package + DRAM + GPU (the cores' energy stands in where
//! no package is measured; see [`crate::Record::carbon_energy_mwh`]). PyPowerGadget summed
//! cores + DRAM + GPU and left the package out; but the package *contains* the cores (plus
//! the uncore: caches, memory controller, integrated GPU), so pgadget charges the package.
//!
//! - `intensity`: the table compiled in (213 countries from Our World in Data via
//!   `codecarbon`, and Kosovo from Ember, all CC BY 4.0; see `DATA.md` beside this file) and
//!   the world average.
//! - `find_country`: alpha-2, alpha-3 or English name, in any case.
//! - `CountryLookup`: `PGADGET_COUNTRY`, else a cached answer, else one IP-geolocation
//!   request (at most once per process, in the background: no row waits for it), else the
//!   world average. The cache and the request come with the `geolocation` feature.
//!
//! A row whose country is unknown is charged at the world average and says so: ISO `WORLD`,
//! Country `World average`. pgadget never guesses a country.

#[cfg(feature = "geolocation")]
pub mod cache;
mod country;
#[cfg(feature = "geolocation")]
mod geolocate;
#[doc = include_str!("DATA.md")]
pub(crate) mod intensity;
mod lookup;
#[cfg(feature = "geolocation")]
mod service;
mod table;

pub use intensity::{provenance, world_average};
pub(crate) use lookup::CountryLookup;

/// Where the energy was used and how much CO2 a kWh of its grid stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Location {
    /// ISO 3166 alpha-2 code, or `WORLD` for the world average.
    pub iso: &'static str,
    /// English name, or `World average`.
    pub country: &'static str,
    /// Carbon intensity of the grid, gCO2e per kWh.
    pub intensity: f64,
    /// The year the intensity is for (for the world average, the latest year it covers).
    pub year: u16,
    /// Where the intensity comes from.
    pub source: &'static str,
}

impl Location {
    /// Whether this is the world average rather than a country.
    pub fn is_world_average(&self) -> bool {
        self.iso == intensity::WORLD_ISO
    }
}

/// The PUE used when none is configured: 1.58 (the average data centre) on Linux, 1.3 on a
/// laptop OS, as the seed did.
pub(crate) fn default_pue() -> f64 {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        1.3
    } else {
        1.58
    }
}

/// CO2 in grams: PUE × energy (kWh) × intensity (gCO2e/kWh), with the energy given in mWh;
/// 1 kWh (1,000,000 mWh) at PUE 1.5 on a 400 g/kWh grid is 600 g.
pub(crate) fn co2_grams(pue: f64, energy_mwh: f64, intensity: f64) -> f64 {
    pue * (energy_mwh / 1_000_000.0) * intensity
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EnvConfig;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn co2_formula_on_known_numbers() {
        // 1 kWh, PUE 1, 1000 g/kWh: 1000 g.
        assert!(close(co2_grams(1.0, 1_000_000.0, 1000.0), 1000.0));
        // 2.5 mWh at PUE 1.58 in France (56.039 g/kWh): 1.58 * 2.5e-6 * 56.039 g.
        assert!(close(co2_grams(1.58, 2.5, 56.039), 2.213_540_5e-4));
        // 3.6 Wh (3600 mWh) at PUE 1.3 on the world average of 480.617 g/kWh.
        assert!(close(co2_grams(1.3, 3600.0, 480.617), 2.249_287_56));
        assert_eq!(co2_grams(1.58, 0.0, 500.0), 0.0);
        assert_eq!(co2_grams(1.5, 1_000_000.0, 400.0), 600.0);
    }

    #[test]
    fn co2_charges_package_dram_and_gpu_not_cores_twice() {
        let mut r = crate::log::record::sample();
        r.package_mwh = Some(10.0);
        r.cores_mwh = Some(8.0);
        r.dram_mwh = Some(2.0);
        r.gpu_mwh = Some(3.0);
        assert_eq!(r.carbon_energy_mwh(), 15.0);
        r.package_mwh = None;
        assert_eq!(
            r.carbon_energy_mwh(),
            13.0,
            "cores stand in for a missing package"
        );
        let fr = country::find_country("FR").unwrap().location();
        assert!(close(
            co2_grams(1.58, r.carbon_energy_mwh(), fr.intensity),
            1.58 * 13.0e-6 * 56.039
        ));
    }

    #[test]
    fn default_pue_follows_the_seed() {
        let expected = if cfg!(target_os = "linux") { 1.58 } else { 1.3 };
        assert_eq!(default_pue(), expected);
    }

    #[test]
    fn configured_country_wins_in_every_spelling() {
        for spelling in ["FR", "fra", "France", "FRANCE"] {
            let env = EnvConfig {
                country: Some(spelling.into()),
                ..EnvConfig::default()
            };
            let location = CountryLookup::start(&env, Some(true)).location();
            assert_eq!((location.iso, location.country), ("FR", "France"));
            assert_eq!(location.intensity, 56.039);
        }
    }

    #[test]
    fn unknown_configured_country_is_the_world_average() {
        let env = EnvConfig {
            country: Some("Atlantis".into()),
            // Would fail loudly if a request were made despite the configured country.
            geo_url: Some("http://127.0.0.1:9/never".into()),
            ..EnvConfig::default()
        };
        let location = CountryLookup::start(&env, Some(true)).location();
        assert!(location.is_world_average());
        assert_eq!((location.iso, location.country), ("WORLD", "World average"));
    }

    #[test]
    fn offline_without_cache_is_the_world_average() {
        let dir = tempfile::tempdir().unwrap();
        let env = EnvConfig {
            cache_dir: Some(dir.path().to_path_buf()),
            ..EnvConfig::default()
        };
        assert_eq!(
            CountryLookup::start(&env, Some(false)).location(),
            world_average()
        );
    }

    #[cfg(feature = "geolocation")]
    #[test]
    fn offline_uses_a_fresh_cached_answer() {
        let dir = tempfile::tempdir().unwrap();
        let service = "http://127.0.0.1:9/json";
        cache::save(dir.path(), &cache::CachedCountry::new("DE", service)).unwrap();
        let env = EnvConfig {
            cache_dir: Some(dir.path().to_path_buf()),
            geo_url: Some(service.into()),
            ..EnvConfig::default()
        };
        assert_eq!(CountryLookup::start(&env, Some(false)).location().iso, "DE");
        // An answer of another service does not count (and offline, none is asked for).
        let other = EnvConfig {
            geo_url: Some("http://127.0.0.1:10/json".into()),
            ..env
        };
        assert!(CountryLookup::start(&other, Some(false))
            .location()
            .is_world_average());
    }
}
