//! One window over every source in use: the energies, the cells left empty with a reason, and
//! what the row's "Energy Note" says about them.
//!
//! A source reports each domain it measures as a value or as [`Cell::Lost`] with a reason (a
//! sampling gap, a counter that failed, a GPU that could not be read, a PowerLog that failed);
//! a source whose whole window failed loses every domain it measures. The note gathers the
//! reasons, one sentence per reason, with the columns it empties, joined by `"; "`.
//!
//! CO2 is PUE × (package + DRAM + GPU) × intensity. It is computed only when no term of that sum
//! is lost: a CO2 figure from a partial sum would look whole. (The cores stand in for the package
//! only where no package is measured, so a lost IA cell empties CO2 only then.)

use super::{Cell, Domain, EnergySource, Reading, SourceError};

/// The energy `source` reports for a window that ended with `ended`: its reading, or, when the
/// whole window failed, every domain it measures lost with the error as the reason.
pub fn ended(source: &dyn EnergySource, ended: Result<Reading, SourceError>) -> Reading {
    match ended {
        Ok(reading) => reading,
        Err(e) => {
            let mut lost = Reading::default();
            for &domain in source.domains() {
                *lost.cell_mut(domain) = Cell::Lost(e.to_string());
            }
            lost
        }
    }
}

/// The domains CO2 is computed from that are lost in `used`: CO2 is left empty when there is
/// any.
pub fn carbon_lost(used: &Reading) -> Vec<Domain> {
    let cpu = if used.package.is_measured() {
        Domain::Package
    } else {
        Domain::Cores
    };
    [cpu, Domain::Dram, Domain::Gpu]
        .into_iter()
        .filter(|d| used.cell(*d).lost().is_some())
        .collect()
}

/// Whether any domain has a value: without one there is nothing to compute CO2 from.
pub fn any_value(used: &Reading) -> bool {
    Domain::ALL.iter().any(|d| used.cell(*d).joules().is_some())
}

/// `Package`, `Package and DRAM`, `Package, IA and DRAM`.
pub fn columns(domains: &[Domain]) -> String {
    let names: Vec<&str> = domains.iter().map(|d| d.column()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The lost cells of `used`, grouped by reason, in column order: `(columns, reason)`.
pub fn lost(used: &Reading) -> Vec<(Vec<Domain>, &str)> {
    let mut groups: Vec<(Vec<Domain>, &str)> = Vec::new();
    for domain in Domain::ALL {
        if let Some(reason) = used.cell(domain).lost() {
            match groups.iter_mut().find(|(_, r)| *r == reason) {
                Some((domains, _)) => domains.push(domain),
                None => groups.push((vec![domain], reason)),
            }
        }
    }
    groups
}

/// The row's "Energy Note": why each empty cell of a measured domain is empty, and why CO2 is
/// empty when a term of it is lost. Empty when nothing is missing.
pub fn note(used: &Reading) -> String {
    let mut sentences: Vec<String> = lost(used)
        .into_iter()
        .map(|(domains, reason)| format!("{} empty: {reason}", columns(&domains)))
        .collect();
    let carbon = carbon_lost(used);
    if !carbon.is_empty() {
        sentences.push(format!(
            "CO2 empty: it would leave out the {} energy",
            columns(&carbon)
        ));
    }
    sentences.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::SourceKind;

    #[derive(Debug)]
    struct Failing;

    impl EnergySource for Failing {
        fn name(&self) -> &'static str {
            "powercap"
        }
        fn kind(&self) -> SourceKind {
            SourceKind::Cpu
        }
        fn domains(&self) -> &[Domain] {
            &[Domain::Package, Domain::Dram]
        }
        fn read(&self) -> Result<Reading, SourceError> {
            Err(SourceError::new("powercap", "gone"))
        }
    }

    #[test]
    fn a_failed_window_loses_every_domain_of_its_source_and_co2() {
        let mut used = ended(&Failing, Err(SourceError::new("powercap", "gone")));
        used.merge(Reading {
            gpu: Cell::Joules(5.0),
            ..Reading::default()
        });
        assert_eq!(used.package, Cell::Lost("powercap: gone".into()));
        assert_eq!(used.cores, Cell::NotMeasured);
        assert_eq!(
            note(&used),
            "Package and DRAM empty: powercap: gone; CO2 empty: it would leave out the Package \
             and DRAM energy"
        );
        assert!(any_value(&used));
    }

    #[test]
    fn a_lost_ia_cell_costs_co2_only_where_it_stands_in_for_the_package() {
        let mut used = Reading {
            package: Cell::Joules(10.0),
            cores: Cell::Lost("its counter jumped".into()),
            dram: Cell::Joules(1.0),
            ..Reading::default()
        };
        assert!(carbon_lost(&used).is_empty());
        assert_eq!(note(&used), "IA empty: its counter jumped");
        used.package = Cell::NotMeasured;
        assert_eq!(carbon_lost(&used), [Domain::Cores]);
    }

    #[test]
    fn nothing_lost_means_no_note() {
        let used = Reading {
            package: Cell::Joules(1.0),
            ..Reading::default()
        };
        assert_eq!(note(&used), "");
        assert!(!any_value(&Reading::default()));
    }
}
