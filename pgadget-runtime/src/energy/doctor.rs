//! `pgadget doctor`: what each energy source found, why the others are unavailable, and what
//! to do about it.
//!
//! Every source is listed in detection order, each in one of these states:
//!
//! ```text
//! powercap: available, in use
//!   package-0: ...                       (what the source describes)
//! msr: not used (powercap already measures the CPU)
//! powerlog: unavailable
//!   why: ...                             (SourceError::what)
//!   to do: ...                           (SourceError::remedy, when there is one)
//! estimate: not needed (powercap measures the CPU)
//! ```

use super::sources::entry;
use super::{estimate, Detected, SourceConfig, SourceEntry, SourceKind, SOURCE_TABLE};
use crate::FEATURES;
use std::fmt::Write as _;

/// The report `pgadget doctor` prints.
#[derive(Debug, Clone)]
pub struct DoctorReport {
    /// Human-readable text, one section per source.
    pub text: String,
    /// True when no real counter can be read and only the estimate is left (exit status 1).
    pub only_estimate: bool,
}

/// Probes every source with `config` and describes what was found.
pub fn report(config: &SourceConfig) -> DoctorReport {
    render(config.forced.as_deref(), &super::detect(config))
}

/// The first lines of the report: which optional features this build has, and what the
/// missing ones mean.
fn features() -> String {
    let on: Vec<&str> = FEATURES
        .iter()
        .filter(|f| f.enabled)
        .map(|f| f.name)
        .collect();
    let mut text = format!(
        "Built with the features: {}\n",
        if on.is_empty() {
            "none".to_string()
        } else {
            on.join(", ")
        }
    );
    for feature in FEATURES.iter().filter(|f| !f.enabled) {
        let _ = writeln!(text, "Built without {}: {}", feature.name, feature.without);
    }
    text.push('\n');
    text
}

/// Writes the report for what detection found; `forced` is `PGADGET_SOURCES`, when set.
pub(crate) fn render(forced: Option<&[String]>, detected: &Detected) -> DoctorReport {
    let mut text = features();
    text.push_str("Energy sources, in detection order:\n\n");
    let order: Vec<&SourceEntry> = match forced {
        Some(names) => names.iter().filter_map(|n| entry(n)).collect(),
        None => SOURCE_TABLE.iter().collect(),
    };
    let cpu_source = detected
        .sources
        .iter()
        .find(|s| s.kind() == SourceKind::Cpu)
        .map(|s| s.name());

    for entry in &order {
        let name = entry.name;
        if let Some(source) = detected.sources.iter().find(|s| s.name() == name) {
            let _ = writeln!(text, "{name}: available, in use");
            for line in source.describe() {
                let _ = writeln!(text, "  {line}");
            }
        } else if let Some(reason) = detected.unavailable.iter().find(|e| e.source_name == name) {
            let _ = writeln!(text, "{name}: unavailable");
            let _ = writeln!(text, "  why: {}", reason.what);
            if let Some(remedy) = &reason.remedy {
                let _ = writeln!(text, "  to do: {remedy}");
            }
            let _ = writeln!(text, "  set with: {}", entry.settings.join(", "));
        } else {
            let cpu = cpu_source.unwrap_or("another source");
            if name == estimate::NAME {
                let _ = writeln!(text, "{name}: not needed ({cpu} measures the CPU)");
            } else {
                let _ = writeln!(text, "{name}: not used ({cpu} already measures the CPU)");
            }
        }
    }
    for entry in SOURCE_TABLE
        .iter()
        .filter(|e| !order.iter().any(|o| o.name == e.name))
    {
        let _ = writeln!(
            text,
            "{}: not tried (PGADGET_SOURCES does not name it)",
            entry.name
        );
    }
    // Reasons that belong to no source, such as an unknown name in PGADGET_SOURCES.
    for reason in detected
        .unavailable
        .iter()
        .filter(|e| entry(e.source_name).is_none())
    {
        let _ = writeln!(text, "{}: {}", reason.source_name, reason.what);
        if let Some(remedy) = &reason.remedy {
            let _ = writeln!(text, "  to do: {remedy}");
        }
    }

    let only_estimate = detected.sources.iter().all(|s| s.name() == estimate::NAME);
    let label = detected.label();
    text.push('\n');
    if label.is_empty() {
        text.push_str("No energy source is usable: rows will have empty energy cells.\n");
    } else {
        let _ = writeln!(text, "Energy Source in new rows: {label}");
    }
    if only_estimate {
        text.push_str(
            "Only the estimate is available: CPU energy will be estimated from the process's \
             CPU time, not measured. Act on one of the reasons above to measure it.\n",
        );
    } else if cpu_source == Some(estimate::NAME) {
        text.push_str(
            "No CPU counter is readable: CPU energy will be estimated from the process's CPU \
             time; the other sources above are measured.\n",
        );
    }
    DoctorReport {
        text,
        only_estimate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::{EnergySource, Reading, SourceError, SourceKind};
    use std::sync::Arc;

    #[derive(Debug)]
    struct Fake(&'static str, SourceKind);

    impl EnergySource for Fake {
        fn name(&self) -> &'static str {
            self.0
        }
        fn kind(&self) -> SourceKind {
            self.1
        }
        fn read(&self) -> Result<Reading, SourceError> {
            Ok(Reading::default())
        }
        fn describe(&self) -> Vec<String> {
            vec![format!("{} found this", self.0)]
        }
    }

    #[test]
    fn every_source_is_shown_in_order_with_its_state() {
        let detected = Detected {
            sources: vec![
                Arc::new(Fake("powercap", SourceKind::Cpu)),
                Arc::new(Fake("nvml", SourceKind::Gpu)),
            ],
            unavailable: vec![SourceError::new("powerlog", "PowerLog runs on macOS")],
        };
        let report = render(None, &detected);
        assert!(!report.only_estimate);
        assert_eq!(
            report.text,
            format!(
                "{}Energy sources, in detection order:\n\n\
             powercap: available, in use\n  powercap found this\n\
             msr: not used (powercap already measures the CPU)\n\
             powerlog: unavailable\n  why: PowerLog runs on macOS\n\
             \x20 set with: PowerMeter::builder().cpu_power_log_path(..)\n\
             nvml: available, in use\n  nvml found this\n\
             estimate: not needed (powercap measures the CPU)\n\
             \nEnergy Source in new rows: powercap+nvml\n",
                features()
            )
        );
    }

    #[test]
    fn only_the_estimate_is_flagged_and_reasons_have_remedies() {
        let detected = Detected {
            sources: vec![Arc::new(Fake("estimate", SourceKind::Cpu))],
            unavailable: vec![
                SourceError::new("nvml", "no NVIDIA driver (libnvidia-ml.so not found)")
                    .with_remedy("nothing to do without an NVIDIA GPU"),
                SourceError::new("pgadget", "unknown energy source `rapl` in PGADGET_SOURCES")
                    .with_remedy("choose among powercap, msr, powerlog, nvml, estimate"),
            ],
        };
        let forced = vec!["nvml".to_string(), "rapl".into(), "estimate".into()];
        let report = render(Some(&forced), &detected);
        assert!(report.only_estimate);
        let text = &report.text;
        assert!(text.contains(
            "nvml: unavailable\n  why: no NVIDIA driver (libnvidia-ml.so not found)\n  \
             to do: nothing to do without an NVIDIA GPU\n  set with: PGADGET_NVML_LIB\n"
        ));
        assert!(text.contains("estimate: available, in use\n"));
        assert!(text.contains("powercap: not tried (PGADGET_SOURCES does not name it)\n"));
        assert!(text.contains("pgadget: unknown energy source `rapl`"));
        assert!(text.contains("Only the estimate is available"));
    }

    #[test]
    fn the_report_opens_with_the_features_of_this_build() {
        let text = render(None, &Detected::default()).text;
        let first = text.lines().next().unwrap_or_default();
        for feature in FEATURES {
            let listed = first
                .strip_prefix("Built with the features: ")
                .is_some_and(|list| list.split(", ").any(|f| f == feature.name));
            assert_eq!(listed, feature.enabled, "{first}");
            let explained = text.contains(&format!(
                "Built without {}: {}\n",
                feature.name, feature.without
            ));
            assert_eq!(explained, !feature.enabled, "{text}");
        }
    }
}
