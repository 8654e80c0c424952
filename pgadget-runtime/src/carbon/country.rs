//! Turning what a person (or a geolocation service) calls a country into a table entry.

use super::intensity::{countries, countries_without_data, CountryIntensity, IsoCountry};

/// Why a spelling did not give a country with a carbon-intensity figure.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CountryError {
    /// A real ISO 3166 country, but the source has no figure for it.
    #[error("the carbon-intensity table has no figure for {} ({})", .0.name, .0.alpha2)]
    NoData(&'static IsoCountry),
    /// Not a code or name of any country.
    #[error(
        "{0:?} is not a country pgadget knows (give an ISO 3166 alpha-2 code such as FR, an \
         alpha-3 code such as FRA, or an English name such as France)"
    )]
    Unknown(String),
}

/// The key spellings are compared on: lower case, letters and digits only, so that case,
/// spaces, hyphens, apostrophes and commas do not matter (`cote d'ivoire` = `Cote-d'Ivoire`).
/// `scripts/gen_carbon_table.py` refuses spellings that would collide under this key.
pub(crate) fn normalise(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Finds a country by ISO 3166 alpha-2 code, alpha-3 code or English name, in any case
/// (`fra`, `United Kingdom`); a spelling of no country is an error, never a guess.
pub fn find_country(spelling: &str) -> Result<&'static CountryIntensity, CountryError> {
    let key = normalise(spelling);
    if key.is_empty() {
        return Err(CountryError::Unknown(spelling.to_string()));
    }
    let matches = |alpha2: &str, alpha3: &str, name: &str, aliases: &[&str]| {
        normalise(alpha2) == key
            || normalise(alpha3) == key
            || normalise(name) == key
            || aliases.iter().any(|a| normalise(a) == key)
    };
    if let Some(c) = countries()
        .iter()
        .find(|c| matches(c.alpha2, c.alpha3, c.name, c.aliases))
    {
        return Ok(c);
    }
    match countries_without_data()
        .iter()
        .find(|c| matches(c.alpha2, c.alpha3, c.name, c.aliases))
    {
        Some(c) => Err(CountryError::NoData(c)),
        None => Err(CountryError::Unknown(spelling.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alpha2(s: &str) -> &'static str {
        match find_country(s) {
            Ok(c) => c.alpha2,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn alpha2_codes_in_any_case() {
        assert_eq!(alpha2("FR"), "FR");
        assert_eq!(alpha2("fr"), "FR");
        assert_eq!(alpha2(" De "), "DE");
    }

    #[test]
    fn alpha3_codes_in_any_case() {
        assert_eq!(alpha2("FRA"), "FR");
        assert_eq!(alpha2("usa"), "US");
        assert_eq!(alpha2("gBr"), "GB");
    }

    #[test]
    fn english_names_in_any_case_and_spelling() {
        assert_eq!(alpha2("France"), "FR");
        assert_eq!(alpha2("united states"), "US");
        assert_eq!(alpha2("United States of America"), "US");
        assert_eq!(alpha2("RUSSIAN FEDERATION"), "RU");
        assert_eq!(alpha2("Russia"), "RU");
        assert_eq!(alpha2("Côte d'Ivoire"), "CI");
        assert_eq!(alpha2("cote divoire"), "CI");
        assert_eq!(alpha2("Korea, Republic of"), "KR");
        assert_eq!(alpha2("South Korea"), "KR");
        assert_eq!(alpha2("North Korea"), "KP");
        assert_eq!(alpha2("UK"), "GB");
        assert_eq!(alpha2("Guinea-Bissau"), "GW");
    }

    #[test]
    fn similar_names_stay_apart() {
        assert_eq!(alpha2("Niger"), "NE");
        assert_eq!(alpha2("Nigeria"), "NG");
        assert_eq!(alpha2("Congo"), "CG");
        assert_eq!(alpha2("Democratic Republic of Congo"), "CD");
        assert_eq!(alpha2("Dominica"), "DM");
        assert_eq!(alpha2("Dominican Republic"), "DO");
    }

    #[test]
    fn unknown_spellings_are_errors_not_guesses() {
        for s in ["Atlantis", "XX", "XYZ", "", "  ", "Fr4nce", "Europe"] {
            match find_country(s) {
                Err(CountryError::Unknown(got)) => assert_eq!(got, s),
                other => panic!("{s:?} gave {other:?}"),
            }
        }
        let message = find_country("Atlantis").unwrap_err().to_string();
        assert!(
            message.contains("\"Atlantis\"") && message.contains("FRA"),
            "{message}"
        );
    }

    #[test]
    fn real_countries_without_a_figure_say_so() {
        for s in ["MC", "MCO", "Monaco", "monaco"] {
            match find_country(s) {
                Err(CountryError::NoData(c)) => assert_eq!(c.alpha2, "MC"),
                other => panic!("{s:?} gave {other:?}"),
            }
        }
        assert!(find_country("MC")
            .unwrap_err()
            .to_string()
            .contains("no figure for Monaco (MC)"));
    }
}
