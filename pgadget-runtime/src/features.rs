//! The optional parts of pgadget, chosen with Cargo features, and what a build without each
//! one does instead.

/// An optional part of pgadget, chosen with a Cargo feature of `pgadget` (forwarded to
/// `pgadget-runtime`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Feature {
    /// The feature's name, as in `Cargo.toml`.
    pub name: &'static str,
    /// Whether this build has it.
    pub enabled: bool,
    /// What a build without it does instead.
    pub without: &'static str,
}

/// Every optional feature, each with whether this build has it (`pgadget doctor` shows them).
///
/// ```
/// let on: Vec<&str> = pgadget::FEATURES
///     .iter()
///     .filter(|f| f.enabled)
///     .map(|f| f.name)
///     .collect();
/// println!("built with: {}", on.join(", "));
/// ```
pub const FEATURES: &[Feature] = &[
    Feature {
        name: "geolocation",
        enabled: cfg!(feature = "geolocation"),
        without: "no country lookup: the country is PGADGET_COUNTRY, else the world average",
    },
    Feature {
        name: "nvml",
        enabled: cfg!(feature = "nvml"),
        without: "no NVIDIA GPU is measured: the GPU cells stay empty",
    },
    Feature {
        name: "postgres",
        enabled: cfg!(feature = "postgres"),
        without: "rows stay in the CSV log: PGADGET_DATABASE_URL is not used",
    },
    Feature {
        name: "prometheus",
        enabled: cfg!(feature = "prometheus"),
        without: "no /metrics endpoint and no Pushgateway: PGADGET_METRICS_ADDR and \
                  PGADGET_PUSHGATEWAY_URL are not used",
    },
];
