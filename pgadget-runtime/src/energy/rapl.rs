//! What the two RAPL sources, powercap and the MSRs, share: counters kept unwrapped by a
//! sampler thread, the rule that a column is reported only when every package has it, the
//! lines `pgadget doctor` shows, and how a file that cannot be used is explained.

use super::sampler::{Counter, CounterSet, DomainKind, RawCounter, Sampler, GENEROUS_WATTS};
use super::{Reading, SourceError};
use std::io;
use std::path::Path;
use std::sync::Arc;

/// The counters of one RAPL source, read often enough by a [`Sampler`] that no roll-over goes
/// unseen.
#[derive(Debug)]
pub(super) struct RaplCounters<R> {
    counters: Arc<CounterSet<R>>,
    sampler: Sampler,
}

impl<R: RawCounter + 'static> RaplCounters<R> {
    /// Starts following `counters` for the source `source`.
    pub(super) fn watch(
        source: &'static str,
        counters: Vec<Counter<R>>,
    ) -> Result<Self, SourceError> {
        let (counters, sampler) = CounterSet::watched(counters, source)?;
        Ok(RaplCounters { counters, sampler })
    }

    /// The cumulative energy now, per column.
    pub(super) fn reading(&self) -> Result<Reading, SourceError> {
        self.counters.reading()
    }

    /// The lines for `pgadget doctor`: `header`, one line per counter (its unit, its range,
    /// and any reading that had to be ignored), the sampler's period, then `notes`.
    pub(super) fn describe(&self, header: String, notes: &[String]) -> Vec<String> {
        let mut lines = vec![header];
        for c in &self.counters.counters {
            let state = c.state();
            let mut line = format!(
                "{:?}: {}, unit {:.3} µJ, rolls over every {:.3} J",
                c.kind,
                c.label,
                c.joules_per_unit * 1e6,
                c.modulus as f64 * c.joules_per_unit
            );
            if state.rejected() > 0 || state.resyncs() > 0 {
                line.push_str(&format!(
                    "; {} impossible reading(s) ignored, {} jump(s) followed",
                    state.rejected(),
                    state.resyncs()
                ));
            }
            lines.push(line);
        }
        lines.push(format!(
            "roll-overs followed by a thread reading every {:?} (the smallest range covered at \
             {GENEROUS_WATTS} W, halved; kept within 1 ms..60 s)",
            self.sampler.period()
        ));
        lines.extend(notes.iter().cloned());
        lines
    }
}

/// Keeps the cores and DRAM columns only where every package has a counter for them: a sum
/// over some sockets would be a wrong figure, where an empty cell is an honest one.
///
/// `found` holds the counters, `key` gives each one's package and column, `packages` lists
/// every package measured, and `what` names a column's counter in the notes (e.g. "`core`
/// zone").
pub(super) fn complete_columns<T>(
    found: &mut Vec<T>,
    key: impl Fn(&T) -> (u32, DomainKind),
    packages: &[u32],
    what: impl Fn(DomainKind) -> String,
    notes: &mut Vec<String>,
) {
    for kind in [DomainKind::Cores, DomainKind::Dram] {
        let mut with: Vec<u32> = found
            .iter()
            .map(&key)
            .filter(|(_, k)| *k == kind)
            .map(|(p, _)| p)
            .collect();
        with.sort_unstable();
        with.dedup();
        if with.is_empty() {
            notes.push(format!("no {}: that column is left empty", what(kind)));
        } else if packages.iter().any(|p| !with.contains(p)) {
            notes.push(format!(
                "only packages {with:?} of {packages:?} have a {}: that column is left empty \
                 rather than summed over some sockets",
                what(kind)
            ));
            found.retain(|f| key(f).1 != kind);
        }
    }
}

/// How a RAPL source explains a file it cannot use.
pub(super) struct Access {
    /// The source's name.
    pub source: &'static str,
    /// Who may open the file, said after its path (e.g. "is readable only by root").
    pub denied: &'static str,
    /// How to let the user read it.
    pub denied_remedy: String,
    /// How to make the file exist.
    pub missing_remedy: &'static str,
}

impl Access {
    /// Why `path` could not be used (`e`), and what to do about it.
    pub(super) fn error(&self, path: &Path, e: &io::Error) -> SourceError {
        match e.kind() {
            io::ErrorKind::PermissionDenied => {
                SourceError::new(self.source, format!("{} {}", path.display(), self.denied))
                    .with_remedy(self.denied_remedy.clone())
            }
            io::ErrorKind::NotFound => {
                SourceError::new(self.source, format!("{} does not exist", path.display()))
                    .with_remedy(self.missing_remedy)
            }
            _ => SourceError::new(self.source, format!("cannot read {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_only_some_packages_have_is_dropped_and_said() {
        let mut found = vec![
            (0, DomainKind::Package),
            (1, DomainKind::Package),
            (0, DomainKind::Cores),
            (1, DomainKind::Cores),
            (0, DomainKind::Dram),
        ];
        let mut notes = Vec::new();
        complete_columns(
            &mut found,
            |f| *f,
            &[0, 1],
            |k| format!("{k:?} counter"),
            &mut notes,
        );
        assert_eq!(
            found.len(),
            4,
            "the lone DRAM counter is dropped: {found:?}"
        );
        assert!(found.iter().all(|f| f.1 != DomainKind::Dram));
        assert_eq!(
            notes,
            [
                "only packages [0] of [0, 1] have a Dram counter: that column is left empty \
              rather than summed over some sockets"
            ]
        );
    }

    #[test]
    fn a_column_no_package_has_is_noted() {
        let mut found = vec![(0, DomainKind::Package)];
        let mut notes = Vec::new();
        complete_columns(
            &mut found,
            |f| *f,
            &[0],
            |k| format!("{k:?} counter"),
            &mut notes,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            notes,
            [
                "no Cores counter: that column is left empty",
                "no Dram counter: that column is left empty"
            ]
        );
    }
}
