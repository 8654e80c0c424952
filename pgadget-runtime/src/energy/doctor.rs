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

use super::{Detected, SourceConfig, SOURCE_NAMES};
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

/// Writes the report for what detection found; `forced` is `PGADGET_SOURCES`, when set.
pub fn render(forced: Option<&[String]>, detected: &Detected) -> DoctorReport {
    let mut text = String::from("Energy sources, in detection order:\n\n");
    let order: Vec<&str> = match forced {
        Some(names) => names
            .iter()
            .map(String::as_str)
            .filter(|n| SOURCE_NAMES.contains(n))
            .collect(),
        None => SOURCE_NAMES.to_vec(),
    };
    let cpu_source = detected
        .sources
        .iter()
        .find(|s| s.kind() == super::SourceKind::Cpu)
        .map(|s| s.name());

    for name in &order {
        if let Some(source) = detected.sources.iter().find(|s| s.name() == *name) {
            let _ = writeln!(text, "{name}: available, in use");
            for line in source.describe() {
                let _ = writeln!(text, "  {line}");
            }
        } else if let Some(reason) = detected.unavailable.iter().find(|e| e.source == *name) {
            let _ = writeln!(text, "{name}: unavailable");
            let _ = writeln!(text, "  why: {}", reason.what);
            if let Some(remedy) = &reason.remedy {
                let _ = writeln!(text, "  to do: {remedy}");
            }
        } else {
            let cpu = cpu_source.unwrap_or("another source");
            if *name == "estimate" {
                let _ = writeln!(text, "{name}: not needed ({cpu} measures the CPU)");
            } else {
                let _ = writeln!(text, "{name}: not used ({cpu} already measures the CPU)");
            }
        }
    }
    for name in SOURCE_NAMES.iter().filter(|n| !order.contains(n)) {
        let _ = writeln!(text, "{name}: not tried (PGADGET_SOURCES does not name it)");
    }
    // Reasons that belong to no source, such as an unknown name in PGADGET_SOURCES.
    for reason in detected
        .unavailable
        .iter()
        .filter(|e| !SOURCE_NAMES.contains(&e.source))
    {
        let _ = writeln!(text, "{}: {}", reason.source, reason.what);
        if let Some(remedy) = &reason.remedy {
            let _ = writeln!(text, "  to do: {remedy}");
        }
    }

    let only_estimate = detected.sources.iter().all(|s| s.name() == "estimate");
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
    } else if cpu_source == Some("estimate") {
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
            "Energy sources, in detection order:\n\n\
             powercap: available, in use\n  powercap found this\n\
             msr: not used (powercap already measures the CPU)\n\
             powerlog: unavailable\n  why: PowerLog runs on macOS\n\
             nvml: available, in use\n  nvml found this\n\
             estimate: not needed (powercap measures the CPU)\n\
             \nEnergy Source in new rows: powercap+nvml\n"
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
             to do: nothing to do without an NVIDIA GPU\n"
        ));
        assert!(text.contains("estimate: available, in use\n"));
        assert!(text.contains("powercap: not tried (PGADGET_SOURCES does not name it)\n"));
        assert!(text.contains("pgadget: unknown energy source `rapl`"));
        assert!(text.contains("Only the estimate is available"));
    }
}
