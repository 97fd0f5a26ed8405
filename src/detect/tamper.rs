//! log_tampering (a BrokerLogger change, a steady log gone silent) and log_injection (suspect entries).

use super::{Detect, DetectorsConfig};

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(_config: &DetectorsConfig, _out: &mut Vec<Box<dyn Detect>>) {}
