//! The carbon-intensity table compiled into pgadget, and the world average.
//!
//! The table itself is generated (`table.rs`, by `scripts/gen_carbon_table.py`); see `DATA.md`
//! beside this file for its source, year and license.

use super::table;
use super::Location;

/// One country of the table: its codes, its name and how much CO2 a kWh of its grid stands for.
#[derive(Debug, PartialEq)]
pub struct CountryIntensity {
    /// ISO 3166-1 alpha-2 code, e.g. `FR`.
    pub alpha2: &'static str,
    /// ISO 3166-1 alpha-3 code, e.g. `FRA`.
    pub alpha3: &'static str,
    /// Short English name, as Our World in Data writes it (e.g. `Russia`).
    pub name: &'static str,
    /// Other English spellings accepted for the country (ISO's official and common names,
    /// the same without accents, a few common ones such as `UK`).
    pub aliases: &'static [&'static str],
    /// Carbon intensity of electricity generation, gCO2e/kWh.
    pub intensity: f64,
    /// The year the figure is for.
    pub year: u16,
    /// Where the figure comes from: the table's source for nearly every country, another
    /// named source for a country it lacks (Kosovo).
    pub source: &'static str,
}

/// An ISO 3166 country the source has no figure for (so the world average stands in).
#[derive(Debug, PartialEq)]
pub struct IsoCountry {
    /// ISO 3166-1 alpha-2 code.
    pub alpha2: &'static str,
    /// ISO 3166-1 alpha-3 code.
    pub alpha3: &'static str,
    /// English name.
    pub name: &'static str,
    /// Other English spellings.
    pub aliases: &'static [&'static str],
}

/// The ISO column of a row charged at the world average.
pub const WORLD_ISO: &str = "WORLD";
/// The Country column of a row charged at the world average.
pub const WORLD_NAME: &str = "World average";

/// Every country with a figure, sorted by alpha-2 code.
pub fn countries() -> &'static [CountryIntensity] {
    &table::COUNTRIES
}

/// ISO 3166 countries without a figure, sorted by alpha-2 code.
pub(crate) fn countries_without_data() -> &'static [IsoCountry] {
    &table::NO_DATA
}

/// The world average: ISO `WORLD`, Country `World average`.
///
/// It is the generation-weighted mean of the table's own figures, so it covers the same years
/// and comes from the same source.
pub fn world_average() -> Location {
    Location {
        iso: WORLD_ISO,
        country: WORLD_NAME,
        intensity: table::WORLD_INTENSITY,
        year: table::WORLD_YEARS.1,
        source: table::WORLD_SOURCE,
    }
}

/// A short statement of where the table comes from, for `pgadget doctor` and the docs.
pub fn provenance() -> String {
    let from_source = table::COUNTRIES
        .iter()
        .filter(|c| c.source == table::COUNTRY_SOURCE)
        .count();
    let others: String = table::COUNTRIES
        .iter()
        .filter(|c| c.source != table::COUNTRY_SOURCE)
        .map(|c| format!("; {} ({}) from {}", c.name, c.year, c.source))
        .collect();
    format!(
        "carbon intensity of electricity for {} countries from {} (data years {}-{}, mostly \
         the latest available){others}; ISO codes from pycountry {}; world average {:.1} \
         gCO2e/kWh, the generation-weighted mean of the {} countries ({:.0} TWh)",
        from_source,
        table::COUNTRY_SOURCE,
        table::WORLD_YEARS.0,
        table::WORLD_YEARS.1,
        table::PYCOUNTRY_VERSION,
        table::WORLD_INTENSITY,
        from_source,
        table::WORLD_GENERATION_TWH,
    )
}

impl CountryIntensity {
    /// This country as the location of a row.
    pub fn location(&'static self) -> Location {
        Location {
            iso: self.alpha2,
            country: self.name,
            intensity: self.intensity,
            year: self.year,
            source: self.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_covers_at_least_200_countries_with_sane_values() {
        let all = countries();
        assert!(all.len() >= 200, "only {} countries", all.len());
        let mut a2 = HashSet::new();
        let mut a3 = HashSet::new();
        for c in all {
            assert_eq!(c.alpha2.len(), 2, "{c:?}");
            assert_eq!(c.alpha3.len(), 3, "{c:?}");
            assert!(c.alpha2.chars().all(|ch| ch.is_ascii_uppercase()), "{c:?}");
            assert!(a2.insert(c.alpha2), "duplicate {}", c.alpha2);
            assert!(a3.insert(c.alpha3), "duplicate {}", c.alpha3);
            assert!(!c.name.is_empty());
            // The dirtiest grid in the data (Turkmenistan, old gas plants) is ~1,300 g/kWh.
            assert!((0.0..1500.0).contains(&c.intensity), "{c:?}");
            assert!((2000..=2030).contains(&c.year), "{c:?}");
        }
        assert!(
            all.windows(2).all(|w| w[0].alpha2 < w[1].alpha2),
            "sorted by alpha-2"
        );
        for missing in countries_without_data() {
            assert!(!a2.contains(missing.alpha2), "{missing:?} has data too");
        }
    }

    #[test]
    fn known_figures_match_the_source() {
        // Values as in codecarbon 3.3.2's global_energy_mix.json (OWID).
        let fr = countries().iter().find(|c| c.alpha2 == "FR").unwrap();
        assert_eq!((fr.alpha3, fr.name, fr.year), ("FRA", "France", 2023));
        assert_eq!(fr.intensity, 56.039);
        let us = countries().iter().find(|c| c.alpha2 == "US").unwrap();
        assert_eq!((us.alpha3, us.intensity), ("USA", 369.473));
    }

    #[test]
    fn kosovo_has_the_figure_of_its_own_source() {
        // Not in codecarbon's file (Kosovo has no ISO 3166 code): Ember's 2023 figure.
        let xk = countries().iter().find(|c| c.alpha2 == "XK").unwrap();
        assert_eq!((xk.alpha3, xk.name, xk.year), ("XKX", "Kosovo", 2023));
        assert_eq!(xk.intensity, 894.65);
        assert!(xk.source.contains("Ember"), "{}", xk.source);
        assert_eq!(xk.location().source, xk.source);
        // Every other row is the source's, and the world average is theirs alone.
        let others: Vec<_> = countries()
            .iter()
            .filter(|c| c.source != table::COUNTRY_SOURCE)
            .map(|c| c.alpha2)
            .collect();
        assert_eq!(others, ["XK"]);
        assert_eq!(table::WORLD_INTENSITY, 480.617);
        let text = provenance();
        assert!(
            text.contains("213 countries from Our World in Data")
                && text.contains("Kosovo (2023) from Ember"),
            "{text}"
        );
    }

    #[test]
    fn generated_table_names_its_provenance() {
        let head: String = include_str!("table.rs").lines().take(5).collect();
        for needle in [
            "@generated by scripts/gen_carbon_table.py",
            "do not edit",
            "global_energy_mix.json",
            "codecarbon-3.3.2",
            "Our World in Data",
            "CC BY 4.0",
            "pycountry",
        ] {
            assert!(head.contains(needle), "{needle:?} missing from the header");
        }
    }

    #[test]
    fn world_average_is_labelled_and_plausible() {
        let w = world_average();
        assert_eq!((w.iso, w.country), ("WORLD", "World average"));
        // Published world averages of the 2020s sit between 430 and 500 g/kWh.
        assert!((430.0..500.0).contains(&w.intensity), "{w:?}");
        assert!(w.source.contains("Our World in Data"));
        assert!(provenance().contains("codecarbon"));
    }
}
