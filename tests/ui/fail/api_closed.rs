// What may grow cannot be built or matched field by field outside pgadget, and the runtime's
// internals are not reachable through it.
use pgadget::{ConfigError, ConfigErrorKind, Metadata, ReadError};

fn describe(e: &ReadError) -> &'static str {
    match e {
        ReadError::Io { .. } => "cannot read",
        ReadError::NotALog { .. } => "not a log",
        ReadError::BadRow { .. } => "bad row",
    }
}

fn main() {
    let _ = Metadata {
        package: "linfa".into(),
        ..Metadata::default()
    };
    let _ = ConfigError::new(ConfigErrorKind::Pue, "made up");
    let _ = pgadget::runtime::log::LogWriter::new("power_logs.csv");
    let _ = describe;
}
