//! new_principal and new_client_for_principal: bounded first-seen memory that ages out and survives restarts.

use super::{Detect, DetectorsConfig};

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(_config: &DetectorsConfig, _out: &mut Vec<Box<dyn Detect>>) {}
