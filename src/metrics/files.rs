//! What the exporter records about reading broker log files (file sources, `replay`, broker logs
//! read from a topic) and about its clock: lines read, unrecognized and partial lines, layouts,
//! skipped paths, checkpoint failures.

use crate::event::Format;
use crate::parse::broker_log;
use crate::parse::log4j::{Choice, Level};

use super::Metrics;

impl Metrics {
    /// Counts one broker log entry, by the log it was routed to (`None`: a log that is not
    /// parsed, `file_kind="other"`) and its level.
    pub fn record_log_line(&self, routed: Option<Format>, level: Level) {
        // Six levels (`LEVELS`), their discriminants 0 to 5.
        let slot = broker_log::file_kind_index(routed) * super::LEVELS.len() + level as usize;
        self.log_line_children[slot]
            .get_or_init(|| {
                self.log_lines
                    .with_label_values(&[broker_log::file_kind(routed), level.as_str()])
            })
            .inc();
    }

    /// Counts `n` broker log lines of `source` that belong to no entry; emit
    /// [`internal::LinesUnrecognized`].
    pub(super) fn record_unrecognized_lines(&self, source: &str, n: u64) {
        self.unrecognized_lines
            .with_label_values(&[source])
            .inc_by(n);
    }

    /// Counts `n` broker log lines of `source` read as partial lines; emit
    /// [`internal::LinesPartial`].
    pub(super) fn record_partial_lines(&self, source: &str, n: u64) {
        self.partial_lines.with_label_values(&[source]).inc_by(n);
    }

    /// Adds `delta` (1 or -1) streams of `source` read in `choice`; emit
    /// [`internal::LayoutChosen`] / [`internal::LayoutStreamClosed`].
    pub(super) fn add_layout_stream(&self, source: &str, choice: Choice, delta: i64) {
        self.log_layout_streams
            .with_label_values(&[source, choice.layout.as_str(), choice.prefix.as_str()])
            .add(delta);
    }

    /// Counts a failed save of `source`'s checkpoints; emit [`internal::CheckpointFailed`].
    pub(super) fn record_checkpoint_failure(&self, source: &str) {
        self.checkpoint_failures.with_label_values(&[source]).inc();
    }

    /// Creates `kafka_security_checkpoint_failures_total{source}` at 0 for a file source that
    /// saves checkpoints.
    pub fn init_checkpoints(&self, source: &str) {
        self.checkpoint_failures.with_label_values(&[source]);
    }

    /// Creates `kafka_security_unrecognized_lines_total{source}` at 0 for a source that reads
    /// broker log files (a file source, `replay`).
    pub fn init_log_files(&self, source: &str) {
        self.unrecognized_lines.with_label_values(&[source]);
        self.partial_lines.with_label_values(&[source]);
    }

    /// Counts a jump of the system clock (`direction`: `forward` or `backward`; created at 0 by
    /// calling with `n` = 0).
    pub fn record_clock_jump(&self, direction: &str, n: u64) {
        self.clock_jumps.with_label_values(&[direction]).inc_by(n);
    }

    /// Sets `kafka_security_log_files_skipped{source, reason}` to `n` (created at 0 by the first
    /// poll's call for every reason).
    pub fn set_log_files_skipped(&self, source: &str, reason: &str, n: usize) {
        self.log_files_skipped
            .with_label_values(&[source, reason])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}
