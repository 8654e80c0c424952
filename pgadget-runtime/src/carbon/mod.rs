//! Carbon accounting: where the machine is, how dirty its grid is, what a window emitted.
//!
//! (Interface placeholder until the carbon issue lands: no country is known, so ISO, Country
//! and CO2 stay empty and only the PUE is written.)

use crate::config::EnvConfig;

/// Where the energy was used and how much CO2 a kWh of its grid stands for.
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    /// ISO 3166 alpha-2 code, or `WORLD` for the world average.
    pub iso: String,
    /// English name, or `World average`.
    pub country: String,
    /// Carbon intensity of the grid, gCO2e per kWh.
    pub intensity: f64,
}

/// Resolves the country once per meter.
#[derive(Debug)]
pub struct CountryLookup;

impl CountryLookup {
    /// Starts resolving the country (never inside a measured window).
    pub fn start(_env: &EnvConfig, _get_country: bool) -> Self {
        CountryLookup
    }

    /// The location to charge a row to, or `None` when carbon is not computed.
    pub fn location(&self) -> Option<&Location> {
        None
    }
}

/// The PUE used when none is configured: 1.58 (the average data centre) on Linux, 1.3 on a
/// laptop OS, as the seed did.
pub fn default_pue() -> f64 {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        1.3
    } else {
        1.58
    }
}

/// CO2 in grams: PUE x energy (kWh) x intensity (gCO2e/kWh).
pub fn co2_grams(pue: f64, energy_mwh: f64, intensity: f64) -> f64 {
    pue * (energy_mwh / 1_000_000.0) * intensity
}
