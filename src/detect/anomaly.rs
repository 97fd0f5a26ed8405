//! anomaly: failures and denials far above their hour-of-week baseline.

use super::{Detect, DetectorsConfig};

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(_config: &DetectorsConfig, _out: &mut Vec<Box<dyn Detect>>) {}
