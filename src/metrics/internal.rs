//! Internal events: one type per thing that happens to the exporter itself (as opposed to the
//! security events it reads). Each one's [`InternalEvent::emit`] is the one place that logs it
//! (rate-limited when it can happen per record) and counts it, so every occurrence is logged and
//! counted the same way wherever it is detected.
//!
//! ```
//! # use kafka_security_exporter::metrics::{Metrics, MetricsConfig};
//! use kafka_security_exporter::metrics::internal::{InternalEvent, RecordRedelivered};
//! # let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
//! RecordRedelivered { source: "audit" }.emit(&metrics);
//! ```

use std::fmt::Display;
use std::time::Duration;

use super::{Metrics, Signal};
use crate::detect::Detection;
use crate::event::{Format, Origin};
use crate::parse::ParseError;
use crate::telemetry::RateLimit;

/// Something that happened to the exporter.
pub trait InternalEvent {
    /// Logs and counts it.
    fn emit(self, metrics: &Metrics);
}

/// The rate limits of per-record warnings, one per kind of event, held by [`Metrics`] so one
/// process (or one test) shares them.
pub(super) struct Limits {
    record_rejected: RateLimit,
    span_export_failed: RateLimit,
    metric_export_failed: RateLimit,
    log_export_failed: RateLimit,
}

impl Limits {
    pub(super) const fn new() -> Limits {
        Limits {
            record_rejected: RateLimit::new(Duration::from_secs(10)),
            span_export_failed: RateLimit::new(Duration::from_secs(30)),
            metric_export_failed: RateLimit::new(Duration::from_secs(30)),
            log_export_failed: RateLimit::new(Duration::from_secs(30)),
        }
    }
}

/// A record that could not become an event: counted in `kafka_security_parse_errors_total`,
/// warned about at most every 10 s.
pub struct RecordRejected<'a> {
    pub source: &'a str,
    pub origin: &'a Origin<'a>,
    /// The format tried; `None` when none could be chosen.
    pub format: Option<Format>,
    pub error: &'a ParseError,
}

impl InternalEvent for RecordRejected<'_> {
    fn emit(self, metrics: &Metrics) {
        let RecordRejected {
            source,
            origin,
            format,
            error,
        } = self;
        metrics.record_parse_error(source, format, error);
        if let Some(suppressed) = metrics.limits.record_rejected.check() {
            tracing::warn!(
                source,
                ?origin,
                format = format.map_or(super::UNKNOWN, Format::as_str),
                reason = error.reason(),
                %error,
                suppressed,
                "Skipped a record that is not a valid security event."
            );
        }
    }
}

/// A record Kafka delivered again that this process had already applied; skipped, counted in
/// `kafka_security_redelivered_records_total`. Not logged: the offset-commit failure that causes
/// it is.
pub struct RecordRedelivered<'a> {
    pub source: &'a str,
}

impl InternalEvent for RecordRedelivered<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.record_redelivery(self.source);
    }
}

/// Broker log lines of one stream that belong to no entry (see
/// [`crate::parse::log4j::Framer::skipped_lines`]): counted in
/// `kafka_security_unrecognized_lines_total`. Not logged: [`StreamUnrecognized`] is, once per
/// stream.
pub struct LinesUnrecognized<'a> {
    pub source: &'a str,
    pub lines: u64,
}

impl InternalEvent for LinesUnrecognized<'_> {
    fn emit(self, metrics: &Metrics) {
        if self.lines > 0 {
            metrics.record_unrecognized_lines(self.source, self.lines);
        }
    }
}

/// Broker log lines of one stream in no layout that were read for the known message they hold
/// (see [`crate::parse::partial`]): counted in `kafka_security_partial_lines_total`. Logged by
/// the caller once per stream, as partial entries are trusted less.
pub struct LinesPartial<'a> {
    pub source: &'a str,
    pub lines: u64,
}

impl InternalEvent for LinesPartial<'_> {
    fn emit(self, metrics: &Metrics) {
        if self.lines > 0 {
            metrics.record_partial_lines(self.source, self.lines);
        }
    }
}

/// A broker log stream in no layout showed its first partial line: logged once per stream (WARN),
/// as its partial entries escape the log-injection defense.
pub struct StreamPartial<'a> {
    pub source: &'a str,
    pub path: &'a str,
}

impl InternalEvent for StreamPartial<'_> {
    fn emit(self, _metrics: &Metrics) {
        tracing::warn!(
            source = self.source,
            file = self.path,
            hint = LAYOUT_HINT,
            "Reading known Kafka messages from lines in no log4j layout: without their header and logger, forged lines cannot be told apart."
        );
    }
}

/// The hint given when a stream recognizes nothing.
pub const LAYOUT_HINT: &str = "If these are broker logs in another log4j layout, give its pattern (or the log4j.properties / log4j2 line holding it) as `layout:` of the source, or to replay as --layout PATTERN.";

/// A broker log stream that framed no entry in its first lines (or at its end): in no layout
/// the exporter reads, or not in the configured one. Logged once per stream as a WARN with
/// [`LAYOUT_HINT`]; its lines are counted by [`LinesUnrecognized`].
pub struct StreamUnrecognized<'a> {
    pub source: &'a str,
    pub path: &'a str,
    /// Lines read so far, none in an entry.
    pub lines: u64,
    /// The configured layout, if any.
    pub layout: Option<&'a str>,
}

impl InternalEvent for StreamUnrecognized<'_> {
    fn emit(self, _metrics: &Metrics) {
        tracing::warn!(
            source = self.source,
            file = self.path,
            lines = self.lines,
            layout = self.layout.unwrap_or("(recognized by itself)"),
            hint = LAYOUT_HINT,
            "Recognized no log entry: the lines match no known log4j layout."
        );
    }
}

/// A broker log stream's first entry chose its layout and line prefix: logged once per stream,
/// counted in `kafka_security_log_layout_streams` until [`LayoutStreamClosed`]. A layout that
/// prints the logger before the message is also warned about
/// ([`crate::parse::layout::UNANCHORED_WARNING`]).
pub struct LayoutChosen<'a> {
    pub source: &'a str,
    pub path: &'a str,
    pub choice: crate::parse::log4j::Choice,
    pub anchored: bool,
}

impl InternalEvent for LayoutChosen<'_> {
    fn emit(self, metrics: &Metrics) {
        let LayoutChosen {
            source,
            path,
            choice,
            anchored,
        } = self;
        metrics.add_layout_stream(source, choice, 1);
        let pattern = choice.layout.pattern().unwrap_or("(configured)");
        tracing::info!(
            source,
            file = path,
            layout = choice.layout.as_str(),
            pattern,
            prefix = choice.prefix.as_str(),
            "Reading a log stream in this layout."
        );
        // A configured layout is warned about once, when its source starts.
        if !anchored && choice.layout != crate::parse::log4j::LayoutName::Configured {
            tracing::warn!(
                source,
                file = path,
                layout = pattern,
                "{}",
                crate::parse::layout::UNANCHORED_WARNING
            );
        }
    }
}

/// A stream counted by [`LayoutChosen`] ended (rotated away, deleted, truncated).
pub struct LayoutStreamClosed<'a> {
    pub source: &'a str,
    pub choice: crate::parse::log4j::Choice,
}

impl InternalEvent for LayoutStreamClosed<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.add_layout_stream(self.source, self.choice, -1);
    }
}

/// A controller-log change skipped because a restarting controller was replaying it; counted in
/// `kafka_security_controller_replays_skipped_total`.
pub struct ControllerReplaySkipped<'a> {
    pub source: &'a str,
}

impl InternalEvent for ControllerReplaySkipped<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.record_controller_replay(self.source);
    }
}

/// Spans or metric data points that will never reach the collector (queue full, out of time at
/// shutdown, rejected by the collector); counted in `kafka_security_otlp_dropped_total`.
pub struct OtlpDropped {
    pub signal: Signal,
    pub count: u64,
}

impl InternalEvent for OtlpDropped {
    fn emit(self, metrics: &Metrics) {
        metrics.record_otlp_dropped(self.signal, self.count);
    }
}

/// An OTLP export request that failed after retries: counted in
/// `kafka_security_otlp_export_failures_total`, its `items` (spans or points) in
/// `kafka_security_otlp_dropped_total`, warned about at most every 30 s per signal.
pub struct OtlpExportFailed<'a> {
    pub signal: Signal,
    pub items: u64,
    pub endpoint: &'a dyn Display,
    pub error: &'a dyn Display,
}

impl InternalEvent for OtlpExportFailed<'_> {
    fn emit(self, metrics: &Metrics) {
        let OtlpExportFailed {
            signal,
            items,
            endpoint,
            error,
        } = self;
        metrics.record_otlp_export_failure(signal);
        metrics.record_otlp_dropped(signal, items);
        match signal {
            Signal::Traces => {
                if let Some(suppressed) = metrics.limits.span_export_failed.check() {
                    tracing::warn!(%error, spans = items, %endpoint, suppressed, "Span export failed; the batch is dropped and counted.");
                }
            }
            Signal::Metrics => {
                if let Some(suppressed) = metrics.limits.metric_export_failed.check() {
                    tracing::warn!(%error, points = items, %endpoint, suppressed, "Metric export failed; the next push carries the cumulative values again.");
                }
            }
            Signal::Logs => {
                if let Some(suppressed) = metrics.limits.log_export_failed.check() {
                    tracing::warn!(%error, records = items, %endpoint, suppressed, "Log record export failed; the batch is dropped and counted.");
                }
            }
        }
    }
}

/// Label sets that a capped metric sent to its overflow series because it already holds
/// `max_series` of them: counted (`count` events or observations) in its child of
/// `kafka_security_series_overflow_total{metric}`, warned about at most once a minute per metric.
/// The metric emits it itself ([`super::capped`]): it holds that counter child and its own rate
/// limit, so one full metric does not hide another's warning.
pub struct SeriesOverflowed<'a> {
    pub metric: &'a str,
    pub max_series: usize,
    pub count: u64,
}

impl SeriesOverflowed<'_> {
    /// A metric's rate limit for this warning.
    pub(super) const fn rate_limit() -> RateLimit {
        RateLimit::new(Duration::from_secs(60))
    }

    /// Counts in `overflowed` (the metric's series-overflow counter) and warns through `limit`.
    pub(super) fn emit_to(self, overflowed: &prometheus::IntCounter, limit: &RateLimit) {
        let SeriesOverflowed {
            metric,
            max_series,
            count,
        } = self;
        overflowed.inc_by(count);
        if let Some(suppressed) = limit.check() {
            tracing::warn!(
                metric,
                max_series,
                suppressed,
                "Metric reached its series cap; new label sets are counted in its overflow series."
            );
        }
    }
}

/// A file source could not save its checkpoints; it retries on its next save. Logged as an
/// error: a restart would read again what was read since the last save.
pub struct CheckpointFailed<'a> {
    pub source: &'a str,
    pub error: &'a dyn Display,
}

impl InternalEvent for CheckpointFailed<'_> {
    /// Counted each time; logged by the caller's rate limit ([`CheckpointFailed::log`]).
    fn emit(self, metrics: &Metrics) {
        metrics.record_checkpoint_failure(self.source);
    }
}

impl CheckpointFailed<'_> {
    /// The ERROR, with the failures not logged since the last one.
    pub fn log(&self, suppressed: u64) {
        tracing::error!(source = %self.source, error = %self.error, suppressed, "Cannot save checkpoints: free space in (or fix) the source's state_dir; until a save succeeds, a restart counts the lines read since the last save again.");
    }
}

/// A detector fired: counted in `kafka_security_detections_total`, and one WARN line — every
/// detection is logged (each one resets its detector's count for the subject, so they are few).
pub struct DetectionRaised<'a> {
    /// The source whose event (or tick) raised it.
    pub source: &'a str,
    pub detection: &'a Detection,
}

impl InternalEvent for DetectionRaised<'_> {
    fn emit(self, metrics: &Metrics) {
        let DetectionRaised { source, detection } = self;
        metrics.record_detection(detection);
        let d = detection;
        tracing::warn!(
            source,
            detector = d.detector.as_str(),
            technique = d.detector.technique(),
            tactic = d.detector.tactic(),
            severity = d.severity.as_str(),
            subject = %d.subject,
            count = d.count,
            first_event = %humantime::format_rfc3339_millis(d.first_event),
            last_event = %humantime::format_rfc3339_millis(d.last_event),
            "Detection: {}",
            d.detail
        );
    }
}

/// The detectors' state file could not be saved: counted in
/// `kafka_security_detector_state_failures_total`, logged as an error (a restart would forget
/// what was learnt since the last save). Never fatal; the next save retries.
pub struct DetectorStateFailed<'a> {
    pub error: &'a dyn Display,
}

impl InternalEvent for DetectorStateFailed<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.record_detector_state_failure();
        tracing::error!(error = %self.error, "Cannot save the detector state.");
    }
}

/// The state snapshot could not be written: counted in
/// `kafka_security_state_snapshot_failures_total`; logged as an error by the caller at most once a
/// minute ([`StateSnapshotFailed::log`]). `/metrics` and OTLP keep serving the last snapshot
/// written, so nothing served is lost; the next snapshot retries.
pub struct StateSnapshotFailed<'a> {
    pub error: &'a dyn Display,
}

impl InternalEvent for StateSnapshotFailed<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.record_state_snapshot_failure();
    }
}

impl StateSnapshotFailed<'_> {
    /// The ERROR, with the failures not logged since the last one.
    pub fn log(&self, suppressed: u64) {
        tracing::error!(error = %self.error, suppressed, "Cannot write the state snapshot: free space in (or fix) state_dir. Until a write succeeds, /metrics serves the last snapshot written (counters stand still) and a crash re-reads everything since it.");
    }
}

/// A state snapshot's Kafka offsets could not be committed for `source`: counted in
/// `kafka_security_state_commit_failures_total`; logged as a warning by the caller at most once
/// a minute ([`StateCommitFailed::log`]). The snapshot does not count; the next one commits again.
pub struct StateCommitFailed<'a> {
    pub source: &'a str,
    pub error: &'a dyn Display,
}

impl InternalEvent for StateCommitFailed<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.record_state_commit_failure(self.source);
    }
}

impl StateCommitFailed<'_> {
    /// The WARN, with the failures not logged since the last one.
    pub fn log(&self, suppressed: u64) {
        tracing::warn!(source = %self.source, error = %self.error, suppressed, "Cannot commit the state snapshot's offsets; /metrics serves the last snapshot whose commit landed, and the next snapshot commits again.");
    }
}

/// The web config file (or a file it names) changed and the new version is in force.
pub struct WebConfigReloaded<'a> {
    pub file: &'a std::path::Path,
}

impl InternalEvent for WebConfigReloaded<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.record_web_config_reload(true);
        tracing::info!(file = %self.file.display(), "Reloaded the web config.");
    }
}

/// The web config file (or a file it names) changed and cannot be loaded: the last good
/// configuration stays in force. Counted in `kafka_security_web_config_reload_failures_total`
/// and logged as an error (the operator's change did not take effect).
pub struct WebConfigReloadFailed<'a> {
    pub file: &'a std::path::Path,
    pub problems: &'a [String],
}

impl InternalEvent for WebConfigReloadFailed<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics.record_web_config_reload(false);
        tracing::error!(
            file = %self.file.display(),
            problems = %self.problems.join("; "),
            "Cannot reload the web config; keeping the last good one."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{names, MetricsConfig};

    fn value(metrics: &Metrics, name: &str, label: (&str, &str)) -> Option<f64> {
        let families = metrics.registry().gather();
        let family = families.iter().find(|f| f.name() == name)?;
        family
            .get_metric()
            .iter()
            .find(|m| {
                m.get_label().len() == 1
                    && m.get_label()[0].name() == label.0
                    && m.get_label()[0].value() == label.1
            })
            .map(|m| m.get_counter().value())
    }

    #[test]
    fn each_event_counts_in_its_metric() {
        let m = Metrics::new(&MetricsConfig::default()).unwrap();
        RecordRedelivered { source: "k" }.emit(&m);
        ControllerReplaySkipped { source: "f" }.emit(&m);
        ControllerReplaySkipped { source: "f" }.emit(&m);
        OtlpDropped {
            signal: Signal::Traces,
            count: 3,
        }
        .emit(&m);
        OtlpExportFailed {
            signal: Signal::Metrics,
            items: 5,
            endpoint: &"http://collector:4317",
            error: &"unavailable",
        }
        .emit(&m);
        CheckpointFailed {
            source: "f",
            error: &"disk full",
        }
        .emit(&m);
        for (name, label, expected) in [
            (names::REDELIVERED, ("source", "k"), Some(1.0)),
            (
                names::CONTROLLER_REPLAYS_SKIPPED,
                ("source", "f"),
                Some(2.0),
            ),
            (names::OTLP_DROPPED, ("signal", "traces"), Some(3.0)),
            (names::OTLP_DROPPED, ("signal", "metrics"), Some(5.0)),
            (
                names::OTLP_EXPORT_FAILURES,
                ("signal", "metrics"),
                Some(1.0),
            ),
            (names::OTLP_EXPORT_FAILURES, ("signal", "traces"), None),
        ] {
            assert_eq!(value(&m, name, label), expected, "{name}{label:?}");
        }
    }

    #[test]
    fn detections_and_state_failures_are_counted() {
        use crate::detect::{Detector, Severity};
        let m = Metrics::new(&MetricsConfig::default()).unwrap();
        let d = Detection {
            detector: Detector::PrivilegeProbing,
            severity: Severity::Warning,
            subject: "User:eve".into(),
            first_event: std::time::UNIX_EPOCH,
            last_event: std::time::UNIX_EPOCH,
            count: 10,
            detail: "denied on 10 resources in 10m".into(),
        };
        for _ in 0..2 {
            DetectionRaised {
                source: "broker",
                detection: &d,
            }
            .emit(&m);
        }
        DetectorStateFailed {
            error: &"disk full",
        }
        .emit(&m);
        let families = m.registry().gather();
        let family = |name: &str| families.iter().find(|f| f.name() == name).unwrap();
        let detections = family(names::DETECTIONS);
        assert_eq!(detections.get_metric().len(), 1);
        let labels: Vec<(&str, &str)> = detections.get_metric()[0]
            .get_label()
            .iter()
            .map(|l| (l.name(), l.value()))
            .collect();
        assert_eq!(
            labels,
            [
                ("detector", "privilege_probing"),
                ("severity", "warning"),
                ("subject", "User:eve"),
                ("technique", "T1069"),
            ]
        );
        assert_eq!(detections.get_metric()[0].get_counter().value(), 2.0);
        assert_eq!(
            family(names::DETECTOR_STATE_FAILURES).get_metric()[0]
                .get_counter()
                .value(),
            1.0
        );
    }

    #[test]
    fn a_rejected_record_is_counted_every_time_and_warned_about_once_per_period() {
        let m = Metrics::new(&MetricsConfig::default()).unwrap();
        for _ in 0..3 {
            RecordRejected {
                source: "s",
                origin: &Origin::Memory,
                format: Some(Format::Json),
                error: &ParseError::Empty,
            }
            .emit(&m);
        }
        let families = m.registry().gather();
        let errors = families
            .iter()
            .find(|f| f.name() == names::PARSE_ERRORS)
            .unwrap();
        assert_eq!(errors.get_metric().len(), 1);
        assert_eq!(errors.get_metric()[0].get_counter().value(), 3.0);
        // The first warning went out; the next two were suppressed and are reported with the next.
        assert_eq!(m.limits.record_rejected.check(), None);
    }
}
