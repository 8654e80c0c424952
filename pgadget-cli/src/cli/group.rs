//! Grouping rows (`--by`) and adding them up, for `summary` and `plot`.

use chrono::Datelike;
use clap::ValueEnum;
use pgadget_runtime::log::RecordRef;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// What rows are grouped by.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The "Algorithm" column
    Algorithm,
    /// The "Package" column (the library that does the work)
    Package,
    /// The "Project name" column
    Project,
    /// The "Function" column (module path and name of the measured function)
    Function,
    /// The calendar day the window opened, in the measuring machine's local time
    Day,
}

impl By {
    /// The name of the grouping, as a column title.
    pub fn title(self) -> &'static str {
        match self {
            By::Algorithm => "Algorithm",
            By::Package => "Package",
            By::Project => "Project",
            By::Function => "Function",
            By::Day => "Day",
        }
    }

    /// The group `record` belongs to; `day` holds the text of a day key.
    fn key<'a>(self, record: &RecordRef<'a>, day: &'a mut String) -> &'a str {
        match self {
            By::Algorithm => record.algorithm,
            By::Package => record.package,
            By::Project => record.project,
            By::Function => record.function,
            By::Day => {
                let date = record.datetime.date_naive();
                day.clear();
                // Writing to a String cannot fail.
                let _ = write!(
                    day,
                    "{:04}-{:02}-{:02}",
                    date.year(),
                    date.month(),
                    date.day()
                );
                day
            }
        }
    }
}

/// The name a group is shown under: an empty key (a closure has no function name, a row may
/// have no project) reads `(none)`.
pub fn display_name(key: &str) -> &str {
    if key.is_empty() {
        "(none)"
    } else {
        key
    }
}

/// The sums over one group of rows. Energies in mWh, CO2 in g, times in s.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Group {
    /// The group's key (empty when the rows have no value there).
    pub group: String,
    /// How many rows (measured calls) the group holds.
    pub calls: u64,
    /// Total energy: the sum of each row's package (or cores) + DRAM + GPU energy.
    pub energy_mwh: f64,
    /// `energy_mwh / calls`.
    pub mean_energy_mwh: f64,
    /// Package energy, or cores energy for rows without a package figure.
    pub cpu_mwh: f64,
    /// DRAM energy.
    pub dram_mwh: f64,
    /// GPU energy.
    pub gpu_mwh: f64,
    /// CO2 of the rows that have it; `None` when no row of the group has it.
    pub co2_g: Option<f64>,
    /// How many rows have no CO2 figure (their CO2 is not in `co2_g`).
    pub calls_without_co2: u64,
    /// Total elapsed (wall-clock) time.
    pub elapsed_secs: f64,
    /// `elapsed_secs / calls`.
    pub mean_elapsed_secs: f64,
}

impl Group {
    /// An empty group: no calls, no energy, no CO2.
    pub(crate) fn new(group: String) -> Self {
        Group {
            group,
            calls: 0,
            energy_mwh: 0.0,
            mean_energy_mwh: 0.0,
            cpu_mwh: 0.0,
            dram_mwh: 0.0,
            gpu_mwh: 0.0,
            co2_g: None,
            calls_without_co2: 0,
            elapsed_secs: 0.0,
            mean_elapsed_secs: 0.0,
        }
    }

    fn add(&mut self, r: &RecordRef<'_>) {
        self.calls += 1;
        self.energy_mwh += r.total_mwh();
        self.cpu_mwh += r.package_mwh.or(r.cores_mwh).unwrap_or(0.0);
        self.dram_mwh += r.dram_mwh.unwrap_or(0.0);
        self.gpu_mwh += r.gpu_mwh.unwrap_or(0.0);
        match r.co2_g {
            Some(g) => self.co2_g = Some(self.co2_g.unwrap_or(0.0) + g),
            None => self.calls_without_co2 += 1,
        }
        self.elapsed_secs += r.elapsed_secs;
    }
}

/// The groups of the rows seen so far: one accumulator per group, however many rows.
#[derive(Debug)]
pub struct Summary {
    by: By,
    groups: HashMap<String, Group>,
    day: String,
}

impl Summary {
    /// No rows yet, grouped by `by`.
    pub fn new(by: By) -> Self {
        Summary {
            by,
            groups: HashMap::new(),
            day: String::new(),
        }
    }

    /// Adds one row to its group.
    pub fn add(&mut self, r: &RecordRef<'_>) {
        let key = self.by.key(r, &mut self.day);
        match self.groups.get_mut(key) {
            Some(group) => group.add(r),
            None => {
                let mut group = Group::new(key.to_string());
                group.add(r);
                self.groups.insert(key.to_string(), group);
            }
        }
    }

    /// The groups, sorted by total energy, largest first (ties by name).
    pub fn finish(self) -> Vec<Group> {
        let mut groups: Vec<Group> = self
            .groups
            .into_values()
            .map(|mut g| {
                // A group exists only once a row was added, so calls >= 1.
                let n = g.calls as f64;
                g.mean_energy_mwh = g.energy_mwh / n;
                g.mean_elapsed_secs = g.elapsed_secs / n;
                g
            })
            .collect();
        groups.sort_by(|a, b| {
            b.energy_mwh
                .total_cmp(&a.energy_mwh)
                .then_with(|| a.group.cmp(&b.group))
        });
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use pgadget_runtime::log::Record;

    fn summarise(records: &[Record], by: By) -> Vec<Group> {
        let mut summary = Summary::new(by);
        for r in records {
            summary.add(&RecordRef::from(r));
        }
        summary.finish()
    }

    fn row(algorithm: &str, day: &str, package: Option<f64>, cores: Option<f64>) -> Record {
        RecordRef {
            datetime: DateTime::parse_from_rfc3339(&format!("{day}T23:30:00-05:00")).unwrap(),
            user: "ada",
            iso: "",
            country: "",
            platform: "linux",
            project: "p",
            elapsed_secs: 2.0,
            gpu_elapsed_secs: 0.0,
            package_mwh: package,
            cores_mwh: cores,
            gpu_mwh: None,
            dram_mwh: Some(1.0),
            pue: 1.58,
            co2_g: None,
            package: "linfa",
            algorithm,
            algorithm_params: "",
            data_type: "tabular",
            data_shape: "",
            comments: "",
            function: "",
            energy_source: "powercap",
            process_cpu_secs: Some(1.0),
            status: "ok",
            cpu_share: None,
            energy_note: "",
            row_id: "",
            host: "lab-7",
        }
        .to_record()
    }

    #[test]
    fn groups_add_up_their_rows_and_sort_by_energy() {
        let rows = [
            row("a", "2026-11-25", Some(1.0), Some(0.5)),
            row("b", "2026-11-25", Some(10.0), None),
            row("a", "2026-11-26", None, Some(3.0)),
        ];
        let groups = summarise(&rows, By::Algorithm);
        assert_eq!(groups[0].group, "b");
        let a = &groups[1];
        assert_eq!(a.calls, 2);
        // package 1 (cores ignored) + cores 3 (no package) + DRAM 2.
        assert_eq!(a.energy_mwh, 6.0);
        assert_eq!(a.cpu_mwh, 4.0);
        assert_eq!(a.dram_mwh, 2.0);
        assert_eq!(a.mean_energy_mwh, 3.0);
        assert_eq!(a.co2_g, None);
        assert_eq!(a.calls_without_co2, 2);
    }

    #[test]
    fn days_are_the_measuring_machines_local_days() {
        let rows = [row("a", "2026-11-25", Some(1.0), None)];
        // 23:30 at -05:00 is already the 26th in UTC; the row belongs to the 25th.
        assert_eq!(summarise(&rows, By::Day)[0].group, "2026-11-25");
    }
}
