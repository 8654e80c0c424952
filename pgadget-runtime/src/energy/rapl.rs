//! What the two RAPL sources, powercap and the MSRs, share: counters kept unwrapped by a
//! sampler thread (in this process and in forked children), the rule that a column is
//! reported only when every package (and every die) has it, the check that the dies of a
//! package really have counters of their own, the lines `pgadget doctor` shows, and how a
//! file that cannot be used is explained.

use super::sampler::{Counter, CounterSet, DomainKind, RawCounter, Watched, GENEROUS_WATTS};
use super::{Domain, Reading, SourceError};
use std::fmt;
use std::io;
use std::path::Path;

/// Where a counter sits: a package, and a die of it (0 when packages have one die).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Unit {
    /// The package (socket).
    pub package: u32,
    /// The die within the package.
    pub die: u32,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "package {} die {}", self.package, self.die)
    }
}

/// The counters of one RAPL source, read often enough by a sampler that no roll-over goes
/// unseen.
#[derive(Debug)]
pub(super) struct RaplCounters<R> {
    counters: Watched<CounterSet<R>>,
    domains: Vec<Domain>,
}

impl<R: RawCounter + 'static> RaplCounters<R> {
    /// Starts following `counters` for the source `source`.
    pub(super) fn watch(
        source: &'static str,
        counters: Vec<Counter<R>>,
    ) -> Result<Self, SourceError> {
        let mut domains: Vec<Domain> = counters.iter().map(|c| c.kind.domain()).collect();
        domains.sort_unstable();
        domains.dedup();
        let counters = CounterSet::new(counters, source).watched()?;
        Ok(RaplCounters { counters, domains })
    }

    /// The cumulative energy now, per column.
    pub(super) fn reading(&self) -> Reading {
        self.counters.get().reading()
    }

    /// The columns these counters fill.
    pub(super) fn domains(&self) -> &[Domain] {
        &self.domains
    }

    /// The lines for `pgadget doctor`: `header`, one line per counter (its unit, its range,
    /// and any reading that had to be ignored), the sampler's period, then `notes`.
    pub(super) fn describe(&self, header: String, notes: &[String]) -> Vec<String> {
        let mut lines = vec![header];
        for c in &self.counters.get().counters {
            let state = c.state();
            let mut line = format!(
                "{:?}: {}, unit {:.3} µJ, rolls over every {:.3} J",
                c.kind,
                c.label,
                c.joules_per_unit * 1e6,
                c.modulus as f64 * c.joules_per_unit
            );
            if state.rejected() > 0 || state.breaks().count > 0 {
                line.push_str(&format!(
                    "; {} impossible reading(s) ignored, {} break(s) (gaps or jumps) so far",
                    state.rejected(),
                    state.breaks().count
                ));
            }
            lines.push(line);
        }
        if let Some(period) = self.counters.period() {
            lines.push(format!(
                "roll-overs followed by a thread reading every {period:?} (a quarter of the \
                 smallest range at {GENEROUS_WATTS} W; kept within 1 ms..60 s); a window in \
                 which a counter goes unread for a whole range (the process stopped, the machine \
                 asleep) leaves that column empty with the reason"
            ));
        }
        lines.extend(notes.iter().cloned());
        lines
    }
}

/// Whether two counters are one and the same register shown twice: read `a`, `b`, `a` back to
/// back; one counter updates at most once in a few microseconds, so `b` then equals one of
/// the readings of `a`. Two counters of their own never agree to the microjoule.
pub(super) fn same_counter(a: &dyn RawCounter, b: &dyn RawCounter) -> io::Result<bool> {
    let first = a.read_raw()?;
    let other = b.read_raw()?;
    let again = a.read_raw()?;
    Ok(other == first || other == again)
}

/// The packages whose dies turn out to read one and the same package counter (`counters`:
/// each unit's package counter): the kernel or the registers show the package once per die,
/// and summing the dies would count it several times over.
pub(super) fn shared_dies(counters: &[(Unit, &dyn RawCounter)]) -> Vec<u32> {
    let mut shared = Vec::new();
    for (unit, counter) in counters {
        let first = counters
            .iter()
            .filter(|(u, _)| u.package == unit.package)
            .min_by_key(|(u, _)| u.die);
        if let Some((first_unit, first)) = first {
            if first_unit != unit
                && !shared.contains(&unit.package)
                && matches!(same_counter(*first, *counter), Ok(true))
            {
                shared.push(unit.package);
            }
        }
    }
    shared
}

/// How notes list units: package numbers alone when no package has several dies, else
/// `package:die`.
fn list_units(units: &[Unit], multi_die: bool) -> String {
    let items: Vec<String> = units
        .iter()
        .map(|u| {
            if multi_die {
                format!("{}:{}", u.package, u.die)
            } else {
                u.package.to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Keeps the cores and DRAM columns only where every package (every die, on packages with
/// several) has a counter for them: a sum over some sockets would be a wrong figure, where an
/// empty cell is an honest one.
///
/// `found` holds the counters, `key` gives each one's unit and column, `units` lists every
/// unit measured, `what` names a column's counter in the notes (e.g. "`core` zone"), and
/// `explained` the columns a note already says are empty.
pub(super) fn complete_columns<T>(
    found: &mut Vec<T>,
    key: impl Fn(&T) -> (Unit, DomainKind),
    units: &[Unit],
    what: impl Fn(DomainKind) -> String,
    explained: &[DomainKind],
    notes: &mut Vec<String>,
) {
    let multi_die = units.iter().any(|u| u.die > 0);
    for kind in [DomainKind::Cores, DomainKind::Dram] {
        let mut with: Vec<Unit> = found
            .iter()
            .map(&key)
            .filter(|(_, k)| *k == kind)
            .map(|(u, _)| u)
            .collect();
        with.sort_unstable();
        with.dedup();
        if with.is_empty() {
            if !explained.contains(&kind) {
                notes.push(format!("no {}: that column is left empty", what(kind)));
            }
        } else if units.iter().any(|u| !with.contains(u)) {
            let (these, all) = (list_units(&with, multi_die), list_units(units, multi_die));
            notes.push(if multi_die {
                format!(
                    "only dies {these} of {all} (package:die) have a {}: that column is left \
                     empty rather than summed over some dies",
                    what(kind)
                )
            } else {
                format!(
                    "only packages {these} of {all} have a {}: that column is left empty \
                     rather than summed over some sockets",
                    what(kind)
                )
            });
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
    use std::sync::atomic::{AtomicU64, Ordering};

    fn p(package: u32) -> Unit {
        Unit { package, die: 0 }
    }

    fn die(package: u32, die: u32) -> Unit {
        Unit { package, die }
    }

    #[test]
    fn a_column_some_dies_lack_is_dropped_and_said() {
        let units = [die(0, 0), die(0, 1)];
        let mut found = vec![
            (die(0, 0), DomainKind::Package),
            (die(0, 1), DomainKind::Package),
            (die(0, 1), DomainKind::Dram),
        ];
        let mut notes = Vec::new();
        complete_columns(
            &mut found,
            |f| *f,
            &units,
            |k| format!("{k:?}"),
            &[],
            &mut notes,
        );
        assert_eq!(found.len(), 2);
        assert_eq!(
            notes,
            [
                "no Cores: that column is left empty",
                "only dies [0:1] of [0:0, 0:1] (package:die) have a Dram: that column is left \
                 empty rather than summed over some dies"
            ]
        );
    }

    /// A counter that advances by one unit every second read, as a real one may change once
    /// during a few back-to-back reads.
    #[derive(Debug)]
    struct Ticking(u64, AtomicU64);

    impl RawCounter for Ticking {
        fn read_raw(&self) -> io::Result<u64> {
            Ok(self.0 + self.1.fetch_add(1, Ordering::SeqCst) / 2)
        }
    }

    #[test]
    fn dies_that_read_one_counter_are_told_from_dies_with_their_own() {
        let own = [
            Ticking(10, AtomicU64::new(0)),
            Ticking(5000, AtomicU64::new(0)),
        ];
        let counters: Vec<(Unit, &dyn RawCounter)> =
            vec![(die(0, 0), &own[0]), (die(0, 1), &own[1])];
        assert!(shared_dies(&counters).is_empty());
        // One counter shown for both dies (it even moves between the reads).
        let one = Ticking(10, AtomicU64::new(1));
        let counters: Vec<(Unit, &dyn RawCounter)> =
            vec![(die(0, 0), &one), (die(0, 1), &one), (die(1, 0), &own[1])];
        assert_eq!(shared_dies(&counters), [0]);
    }

    #[test]
    fn a_column_only_some_packages_have_is_dropped_and_said() {
        let mut found = vec![
            (p(0), DomainKind::Package),
            (p(1), DomainKind::Package),
            (p(0), DomainKind::Cores),
            (p(1), DomainKind::Cores),
            (p(0), DomainKind::Dram),
        ];
        let mut notes = Vec::new();
        complete_columns(
            &mut found,
            |f| *f,
            &[p(0), p(1)],
            |k| format!("{k:?} counter"),
            &[],
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
        let mut found = vec![(p(0), DomainKind::Package)];
        let mut notes = Vec::new();
        complete_columns(
            &mut found,
            |f| *f,
            &[p(0)],
            |k| format!("{k:?} counter"),
            &[DomainKind::Dram],
            &mut notes,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            notes,
            ["no Cores counter: that column is left empty"],
            "a column another note explains is not explained twice"
        );
    }
}
