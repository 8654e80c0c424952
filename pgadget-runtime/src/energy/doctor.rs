//! `pgadget doctor`: what each energy source found, why the others are unavailable, and what
//! to do about it.

use super::SourceConfig;

/// The report `pgadget doctor` prints.
#[derive(Debug, Clone)]
pub struct DoctorReport {
    /// Human-readable text, one section per source.
    pub text: String,
    /// True when no real counter can be read and only the estimate is left (exit status 1).
    pub only_estimate: bool,
}

/// Probes every source with `config` (placeholder until the energy-sources issue lands).
pub fn report(config: &SourceConfig) -> DoctorReport {
    let detected = super::detect(config);
    let mut text = String::new();
    for source in &detected.sources {
        text.push_str(&format!("{}: available\n", source.name()));
        for line in source.describe() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    for reason in &detected.unavailable {
        text.push_str(&format!(
            "{}: unavailable: {}\n",
            reason.source, reason.what
        ));
    }
    DoctorReport {
        only_estimate: detected.sources.iter().all(|s| s.name() == "estimate"),
        text,
    }
}
