//! Intel Power Gadget's PowerLog (placeholder while written).
use super::{EnergySource, SourceConfig, SourceError};
use std::sync::Arc;
/// Placeholder.
pub fn probe(_config: &SourceConfig) -> Result<Arc<dyn EnergySource>, SourceError> {
    Err(SourceError::new("powerlog", "not yet"))
}
