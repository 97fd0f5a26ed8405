//! The pipeline: a record (or a framed log entry) goes in, is parsed once by [`crate::parse`],
//! recorded in the metrics, handed to the tracing hook, and what became of it comes back
//! ([`Applied`]). The pipeline orchestrates; it does not parse. Sources call
//! [`Pipeline::apply`] and only then store the record's offset, which is what makes counting
//! at-least-once.
//!
//! Broker-log entries carrying a forged line or field (log injection) are counted for their
//! genuine decision and in `kafka_security_log_injection_total`, and handed to the
//! `log_injection` detector. A decision whose entry absorbed a forged line, or that lost its
//! tail (` for request = …`) in a stream whose decisions have one (its line ended early by a
//! forged logger), is held back in its [`LogStream`] until the next entry, whose end may hold
//! its genuine API and rule
//! ([`crate::parse::authorizer::completion`]); [`Pipeline::end_stream`] releases it when the
//! stream ends.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

mod detectors;

use detectors::Detectors;

use crate::detect::{self, Engine, SummaryRow, Suspect};
use crate::event::{Format, Origin, SecurityEvent};
use crate::metrics::internal::{
    ControllerReplaySkipped, InternalEvent, LayoutChosen, LinesPartial, LinesUnrecognized,
    RecordRejected, StreamPartial, StreamUnrecognized,
};
use crate::metrics::Metrics;
use crate::otel;
use crate::output::EventTopic;
use crate::parse::authorizer;
use crate::parse::broker_log::{self, LogOutput, PreparedEntry};
use crate::parse::controller_log::Lifecycle;
use crate::parse::layout::Layout;
use crate::parse::log4j::{Choice, FramerConfig, LogEntry};
use crate::parse::{Input, ParseError, Parsed, Parsers, Record, TraceHeaders};
use crate::privacy::Pseudonymizer;

/// How long (in log time) after a controller's `Creating new QuorumController` line its
/// `Replayed …` lines are taken as the startup replay when no `Becoming the active controller`
/// line ends it first (a standby controller never becomes active).
pub const CONTROLLER_REPLAY_WINDOW: Duration = Duration::from_secs(30);

/// What a broker-log stream (one file, one topic partition) remembers between entries.
#[derive(Debug, Default, Clone)]
pub struct LogStream {
    /// Log time of the last `Creating new QuorumController` line while its startup replay runs.
    replay_since: Option<SystemTime>,
    /// The stream's name for the detectors (a log that goes silent is named by it); the source
    /// name when unset.
    name: Option<Arc<str>>,
    /// An authorization decision whose API and rule may be a client's forgery, waiting for the
    /// next entry of the stream, which may hold the genuine ones (see [`Pipeline::apply`]).
    held: Option<Held>,
    /// An authorization decision with its tail (` for request = …`, Kafka 2.4 and later) was
    /// read: one without is then a line a client ended early.
    tails_seen: bool,
    /// What was reported about a topic partition's framing (a file's is reported by the file
    /// source).
    reported: Reported,
}

/// What a topic partition of broker-log records reported once: the layout its first framed
/// record was read in, partial lines, lines in no layout.
#[derive(Debug, Default, Clone)]
struct Reported {
    choice: Option<Choice>,
    partial: bool,
    unrecognized: bool,
}

/// A topic partition's name in the logs: `topic[partition]`.
fn partition_name(origin: &Origin<'_>) -> String {
    match origin {
        Origin::Kafka {
            topic, partition, ..
        } => format!("{topic}[{partition}]"),
        _ => "(records)".to_string(),
    }
}

/// A decision held back until the entry after it is seen.
#[derive(Debug, Clone)]
struct Held {
    event: SecurityEvent<'static>,
    /// Its entry's message, for the output topic's `raw_data`.
    raw: String,
    /// When its entry was read.
    started: SystemTime,
    /// Its line lost its tail to a forged logger: the framer did not see the forgery, so the
    /// next entry is not marked suspect.
    cut: bool,
}

impl LogStream {
    /// A stream the detectors know as `name` (`source` and file or partition).
    pub fn named(name: impl Into<Arc<str>>) -> LogStream {
        LogStream {
            replay_since: None,
            name: Some(name.into()),
            ..LogStream::default()
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Parsed and recorded as an event of this format.
    Event(Format),
    /// Counted in `kafka_security_parse_errors_total`.
    Rejected(Option<Format>, ParseError),
    /// Read and counted (log lines), but not a security event: another log line, a request-log
    /// entry, or a controller change replayed at startup.
    Skipped,
}

/// What a source hands [`Pipeline::apply`].
pub enum Item<'r, 'a> {
    /// A record (a Kafka record), its broker-log lines framed with `framer` (zone, layout). A
    /// `&Record` converts to one with the default framing.
    Record {
        record: &'r Record<'a>,
        framer: &'r FramerConfig,
    },
    /// A broker-log entry the source framed itself (a file, a replay), with the state of the log
    /// stream it came from.
    Entry {
        entry: &'r LogEntry,
        origin: Origin<'a>,
        stream: &'r mut LogStream,
    },
}

/// The framing of a record given without one.
static DEFAULT_FRAMER: FramerConfig = FramerConfig::DEFAULT;

impl<'r, 'a> From<&'r Record<'a>> for Item<'r, 'a> {
    fn from(record: &'r Record<'a>) -> Self {
        Item::Record {
            record,
            framer: &DEFAULT_FRAMER,
        }
    }
}

/// Parsers plus the metric state they feed. Shared by every source.
pub struct Pipeline {
    parsers: Parsers,
    metrics: Arc<Metrics>,
    /// Log streams of Kafka records in a broker-log format, by source, then partition.
    record_streams: Mutex<HashMap<String, HashMap<i32, LogStream>>>,
    /// Spans, exemplars and log records, when OTLP traces or logs are on.
    otel: Option<Arc<otel::Handle>>,
    /// The stateful detectors, when any is on.
    detect: Option<Detectors>,
    /// Pseudonyms in the place of principals and addresses, when `privacy:` turns them on.
    privacy: Option<Pseudonymizer>,
    /// The normalized event topic, when `output.kafka` is set.
    output: Option<Arc<EventTopic>>,
    /// The time every record counts as applied at (`replay`); the exporter's clock when unset.
    clock: Option<SystemTime>,
}

impl Pipeline {
    pub fn new(parsers: Parsers, metrics: Arc<Metrics>) -> Pipeline {
        Pipeline {
            parsers,
            metrics,
            record_streams: Mutex::new(HashMap::new()),
            otel: None,
            detect: None,
            privacy: None,
            output: None,
            clock: None,
        }
    }

    /// Puts pseudonyms in the place of people (`privacy:`) in every event, right after it is
    /// parsed and before anything records it, so metrics, spans and detections agree.
    pub fn with_privacy(mut self, privacy: Option<Pseudonymizer>) -> Pipeline {
        self.privacy = privacy;
        self
    }

    /// The one place an event's people are pseudonymized (see [`Pipeline::with_privacy`]).
    fn pseudonymize(&self, event: &mut SecurityEvent<'_>) {
        if let Some(p) = &self.privacy {
            p.event(event);
        }
    }

    /// A parse error, with the principal it names pseudonymized.
    fn pseudonymize_error(&self, error: ParseError) -> ParseError {
        match &self.privacy {
            Some(p) => p.error(error),
            None => error,
        }
    }

    /// Counts every record as applied at `at` (the start of a replay), not at the moment it is:
    /// `kafka_security_event_delay_seconds` then depends on the input alone, so a replay gives
    /// the same exposition however it is run (one thread or several).
    pub fn with_clock(mut self, at: SystemTime) -> Pipeline {
        self.clock = Some(at);
        self
    }

    /// When the record being applied counts as applied.
    fn now(&self) -> SystemTime {
        self.clock.unwrap_or_else(crate::clock::now)
    }

    /// Feeds every event to `engine`'s detectors (when any is on), and creates their
    /// self-metrics at 0.
    pub fn with_detectors(mut self, engine: Engine) -> Pipeline {
        self.metrics.init_detectors(&engine.detectors());
        self.detect = (!engine.is_empty()).then(|| {
            let mut d = Detectors::new(engine, self.metrics.clone());
            d.set_otel(self.otel.clone());
            d.set_output(self.output.clone());
            d
        });
        self
    }

    /// Runs the detectors on a thread of their own (when any is on): the threads that apply the
    /// input only record what the detectors are to see, so parsing and detection use two cores
    /// (the exporter and `replay`). A detection then comes a little after its event: at most
    /// about 0.1 s later when the input is slow or stops (the detector thread takes a batch that
    /// is not full by itself). Without it the detectors run inline, under a lock, and a
    /// detection is raised the moment its event is applied. Call it after
    /// [`Pipeline::with_otel`].
    pub fn with_detector_thread(mut self) -> std::io::Result<Pipeline> {
        if let Some(d) = &mut self.detect {
            d.on_thread()?;
        }
        Ok(self)
    }

    /// Every detection so far by detector and subject, and how many found no summary row;
    /// `None` when no detector is on.
    pub fn detections(&self) -> Option<(Vec<SummaryRow>, u64)> {
        self.detect.as_ref().map(Detectors::summary)
    }

    /// Lets the detectors see time pass up to `now` (the wall clock, when live), and brings
    /// `kafka_security_detector_overflow_total` and `kafka_security_detections_suppressed_total`
    /// up to date with what they tracked under `__overflow__` and the repeats they suppressed
    /// since the last tick.
    pub fn detect_tick(&self, source: &str, now: SystemTime) {
        if let Some(d) = &self.detect {
            d.time(source, now, false);
        }
    }

    /// The input has ended at event time `last` (the end of a replay): time passes up to it and
    /// the detectors report what they still hold back.
    pub fn detect_end(&self, source: &str, last: SystemTime) {
        if let Some(d) = &self.detect {
            d.time(source, last, true);
        }
    }

    /// Saves the detectors' memory to their state file (when they have one).
    pub fn save_detectors(&self) -> Result<(), detect::StateError> {
        match &self.detect {
            Some(d) => d.save(),
            None => Ok(()),
        }
    }

    /// Gives every applied record a span (and its counters an exemplar) and every event and
    /// detection a log record through `otel` (when its traces or logs are on).
    pub fn with_otel(mut self, otel: Arc<otel::Handle>) -> Pipeline {
        self.otel = otel.active().then_some(otel);
        if let Some(d) = &mut self.detect {
            d.set_otel(self.otel.clone());
        }
        self
    }

    /// Produces every recorded event (and, through the detectors, every detection) to `output`.
    /// Call it before [`Pipeline::with_detector_thread`].
    pub fn with_output(mut self, output: Arc<EventTopic>) -> Pipeline {
        if let Some(d) = &mut self.detect {
            d.set_output(Some(output.clone()));
        }
        self.output = Some(output);
        self
    }

    /// The OpenTelemetry handle, when traces or logs are on (for sources to report cluster ids).
    pub fn otel(&self) -> Option<&Arc<otel::Handle>> {
        self.otel.as_ref()
    }

    /// The parsers it applies records with (a replay also reads archived records' times with
    /// them: compiling them again would cost as much as parsing thousands of lines).
    pub fn parsers(&self) -> &Parsers {
        &self.parsers
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Parses a record (or takes a framed log entry) holding `input`, records what it was in the
    /// metrics and gives it to the tracing hook. Never fails: a bad record is counted. For a
    /// record of broker-log lines, returns what its last entry became (a record is usually one
    /// entry).
    pub fn apply<'r, 'a: 'r>(
        &self,
        source: &str,
        input: Input,
        item: impl Into<Item<'r, 'a>>,
    ) -> Applied {
        let (record, framer) = match item.into() {
            Item::Record { record, framer } => (record, framer),
            Item::Entry {
                entry,
                origin,
                stream,
            } => return self.apply_entry(source, input, entry, origin, stream),
        };
        match self.parsers.parse(input, framer, record) {
            Ok(Parsed::Event(mut event)) => {
                self.pseudonymize(&mut event);
                self.metrics.record(source, &event, self.now());
                // Published before the detectors see it: a detection it raises comes after it.
                self.published(&event, record.payload);
                if let Some(d) = &self.detect {
                    d.observe(source, &event);
                }
                self.observed(
                    source,
                    &record.origin,
                    record.trace_context.as_ref(),
                    record.observed_time,
                    Ok(&event),
                );
                Applied::Event(event.format)
            }
            Ok(Parsed::Entries(entries, choice)) => {
                self.apply_entries(source, input, &entries, record, (choice, framer))
            }
            Err((format, error)) => {
                let error = self.pseudonymize_error(error);
                if input.is_log() && matches!(error, ParseError::Unrecognized) {
                    self.unrecognized_record(source, record, framer);
                }
                // A record of log lines that could not be framed has no span: its entries
                // would have had one each.
                if !input.is_log() {
                    self.observed(
                        source,
                        &record.origin,
                        record.trace_context.as_ref(),
                        record.observed_time,
                        Err((format, &error)),
                    );
                }
                self.rejected(source, format, error, &record.origin)
            }
        }
    }

    /// The one tracing hook, called once per record or log entry after it was recorded (an
    /// event) or counted (a parse error), by every path: a span per sampled record, joined to
    /// the record's `traceparent` when it has one, starting at `started` (when the record was
    /// read). Costs one branch when traces are off.
    fn observed(
        &self,
        source: &str,
        origin: &Origin<'_>,
        trace_context: Option<&TraceHeaders<'_>>,
        started: SystemTime,
        parsed: Result<&SecurityEvent<'_>, (Option<Format>, &ParseError)>,
    ) {
        if let Some(otel) = &self.otel {
            otel.observe(source, origin, trace_context, started, parsed);
        }
    }

    /// The output hook, called once per recorded event by every path, with the record or log
    /// message it was read from. Costs one branch when the output is off.
    fn published(&self, event: &SecurityEvent<'_>, raw: &[u8]) {
        if let Some(output) = &self.output {
            output.publish(event, raw);
        }
    }

    fn rejected(
        &self,
        source: &str,
        format: Option<Format>,
        error: ParseError,
        origin: &Origin<'_>,
    ) -> Applied {
        RecordRejected {
            source,
            origin,
            format,
            error: &error,
        }
        .emit(&self.metrics);
        Applied::Rejected(format, error)
    }

    /// Applies one framed broker-log entry read from `source` (a file or a topic). `input` is
    /// the configured log; `broker_log` routes by the entry's logger. `stream` carries the
    /// controller's startup-replay state of the file or partition the entry came from.
    fn apply_entry(
        &self,
        source: &str,
        input: Input,
        entry: &LogEntry,
        origin: Origin<'_>,
        stream: &mut LogStream,
    ) -> Applied {
        let format = broker_log::route(input, entry);
        let parse = |observed| broker_log::parse_entry_at(format, entry, observed);
        self.apply_routed(source, entry, format, parse, origin, stream)
    }

    /// Applies a broker-log entry routed and parsed ahead ([`PreparedEntry`]), as
    /// [`Pipeline::apply`] applies an [`Item::Entry`]: the same stream state, metrics and
    /// detectors, so entries prepared on other threads and applied here in their order count
    /// exactly what the entries themselves would.
    pub fn apply_prepared(
        &self,
        source: &str,
        prepared: &PreparedEntry,
        origin: Origin<'_>,
        stream: &mut LogStream,
    ) -> Applied {
        let parsed = prepared.borrow_dependent();
        let output = |_| match &parsed.output {
            Ok(output) => Ok(output.borrowed()),
            Err(error) => Err(error.clone()),
        };
        let entry = prepared.entry();
        self.apply_routed(source, entry, parsed.format, output, origin, stream)
    }

    /// [`Pipeline::apply_entry`] once the entry is routed to `format`; `parse` reads it, observed
    /// at the time it is given (not called when the entry completes a decision held back).
    fn apply_routed<'e>(
        &self,
        source: &str,
        entry: &'e LogEntry,
        format: Option<Format>,
        parse: impl FnOnce(SystemTime) -> Result<LogOutput<'e>, ParseError>,
        origin: Origin<'_>,
        stream: &mut LogStream,
    ) -> Applied {
        let started = self.now();
        self.metrics.record_log_line(format, entry.level);
        let stream_name = stream.name.clone();
        let stream_name = stream_name.as_deref().unwrap_or(source);
        if let Some(d) = &self.detect {
            d.log_entry(source, stream_name, entry.timestamp);
        }
        // The entry after a decision whose tail may be forged: when it ends in the decision's
        // genuine tail, the two are one decision and its first line is the client's forgery.
        if let Some(held) = stream.held.take() {
            if entry.suspect || held.cut {
                if let Some(c) = authorizer::completion(&held.event, entry) {
                    let mut event = held.event;
                    event.api = Some(c.api.to_string().into());
                    event.reason = c.reason;
                    return self.record_entry_event(
                        source,
                        stream_name,
                        (&event, &held.raw),
                        held.started,
                        true,
                    );
                }
            }
            if held.cut {
                // Not completed: perhaps a broker older than 2.4 writing to the same stream.
                stream.tails_seen = false;
            }
            self.record_entry_event(
                source,
                stream_name,
                (&held.event, &held.raw),
                held.started,
                true,
            );
        }
        // Matched by reference below: an event is hundreds of bytes, and each move copies them.
        let mut output = match parse(started) {
            Ok(output) => output,
            Err(error) => {
                let error = self.pseudonymize_error(error);
                if entry.suspect || error.is_injection() {
                    self.injected(
                        source,
                        stream_name,
                        entry.timestamp,
                        error.injection_principal(),
                    );
                }
                self.observed(source, &origin, None, started, Err((format, &error)));
                return self.rejected(source, format, error, &origin);
            }
        };
        match &mut output {
            LogOutput::Event(event, injection) => {
                if event.format == Format::ControllerLog {
                    if let Some(since) = stream.replay_since {
                        let within = entry
                            .timestamp
                            .duration_since(since)
                            .map_or(true, |d| d <= CONTROLLER_REPLAY_WINDOW);
                        if within {
                            ControllerReplaySkipped { source }.emit(&self.metrics);
                            return Applied::Skipped;
                        }
                        stream.replay_since = None;
                    }
                }
                event.origin = origin;
                self.pseudonymize(event);
                stream.tails_seen |= injection.has_tail;
                let cut = injection.tail_missing && stream.tails_seen;
                if injection.tail_doubtful || cut {
                    stream.held = Some(Held {
                        event: event.borrowed().into_owned(),
                        raw: entry.message.clone(),
                        started,
                        cut,
                    });
                    return Applied::Skipped;
                }
                let suspect = injection.suspect || entry.suspect;
                self.record_entry_event(
                    source,
                    stream_name,
                    (event, &entry.message),
                    started,
                    suspect,
                )
            }
            LogOutput::Request(r) => {
                let principal = match &self.privacy {
                    Some(p) => p.principal_of(r.principal.as_deref()),
                    None => r.principal.as_deref().map(Cow::Borrowed),
                };
                self.metrics
                    .record_request(&r.api, principal.as_deref(), r.total_time_secs);
                Applied::Skipped
            }
            LogOutput::Lifecycle(Lifecycle::Starting) => {
                stream.replay_since = Some(entry.timestamp);
                Applied::Skipped
            }
            LogOutput::Lifecycle(Lifecycle::Active) => {
                stream.replay_since = None;
                Applied::Skipped
            }
            LogOutput::Nothing => Applied::Skipped,
        }
    }

    /// Records an event read from a broker-log entry (read at `started`, its message `raw`); a
    /// `suspect` one is also counted as a suspected injection.
    fn record_entry_event(
        &self,
        source: &str,
        stream_name: &str,
        (event, raw): (&SecurityEvent<'_>, &str),
        started: SystemTime,
        suspect: bool,
    ) -> Applied {
        // One clock read per entry: the parse in between takes microseconds.
        self.metrics.record(source, event, started);
        if suspect {
            let at = event.event_time.unwrap_or(started);
            self.injected(source, stream_name, at, event.principal.as_deref());
        }
        self.published(event, raw.as_bytes());
        if let Some(d) = &self.detect {
            d.observe(source, event);
        }
        self.observed(source, &event.origin, None, started, Ok(event));
        Applied::Event(event.format)
    }

    /// A broker-log entry that carried a forged line or field: counted in
    /// `kafka_security_log_injection_total` and given to the `log_injection` detector.
    fn injected(&self, source: &str, stream: &str, at: SystemTime, principal: Option<&str>) {
        self.metrics.record_log_injection(principal);
        if let Some(d) = &self.detect {
            d.suspect(
                source,
                &Suspect {
                    at,
                    principal,
                    stream,
                },
            );
        }
    }

    /// The end of a broker-log stream (a file read to its end, a record's entries): a decision
    /// still held back for the entry after it is recorded as it is. Returns what it became.
    pub fn end_stream(&self, source: &str, stream: &mut LogStream) -> Applied {
        let Some(held) = stream.held.take() else {
            return Applied::Skipped;
        };
        let name = stream.name.clone();
        let name = name.as_deref().unwrap_or(source);
        self.record_entry_event(source, name, (&held.event, &held.raw), held.started, true)
    }

    /// The entries of one Kafka record holding broker-log line(s), with the log stream of its
    /// partition. Returns what the last entry became.
    /// The log stream of `record`'s topic partition, under `streams`' lock.
    fn record_stream<'s>(
        streams: &'s mut HashMap<String, HashMap<i32, LogStream>>,
        source: &str,
        record: &Record<'_>,
    ) -> &'s mut LogStream {
        let partition = match record.origin {
            Origin::Kafka { partition, .. } => partition,
            _ => -1,
        };
        // Look up by `&str` first: no allocation per record once the source is known.
        if !streams.contains_key(source) {
            streams.insert(source.to_string(), HashMap::new());
        }
        streams
            .get_mut(source)
            .map(|partitions| partitions.entry(partition).or_default())
            .expect("inserted above")
    }

    /// A record of broker-log lines in which no line is in a layout the framer reads: its
    /// lines are counted in `kafka_security_unrecognized_lines_total`, and its partition is
    /// warned about once ([`StreamUnrecognized`]), as a file in no layout is.
    fn unrecognized_record(&self, source: &str, record: &Record<'_>, framer: &FramerConfig) {
        let lines = record
            .payload
            .split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .count()
            .max(1) as u64;
        LinesUnrecognized { source, lines }.emit(&self.metrics);
        let mut streams = self.record_streams.lock();
        let stream = Self::record_stream(&mut streams, source, record);
        if !std::mem::replace(&mut stream.reported.unrecognized, true) {
            StreamUnrecognized {
                source,
                path: &partition_name(&record.origin),
                lines,
                layout: framer.layout.as_deref().map(Layout::pattern),
            }
            .emit(&self.metrics);
        }
    }

    /// Reports a topic partition's framing as the file source reports a file's: the layout its
    /// first framed record was read in (logged once, and counted in
    /// `kafka_security_log_layout_streams` while the process runs) and its partial lines.
    fn report_framing(
        &self,
        source: &str,
        record: &Record<'_>,
        stream: &mut Reported,
        entries: &[LogEntry],
        (choice, framer): (Option<Choice>, &FramerConfig),
    ) {
        let partial = entries.iter().filter(|e| e.partial).count() as u64;
        if partial > 0 {
            if !std::mem::replace(&mut stream.partial, true) {
                StreamPartial {
                    source,
                    path: &partition_name(&record.origin),
                }
                .emit(&self.metrics);
            }
            LinesPartial {
                source,
                lines: partial,
            }
            .emit(&self.metrics);
        }
        if let (None, Some(choice)) = (stream.choice, choice) {
            stream.choice = Some(choice);
            LayoutChosen {
                source,
                path: &partition_name(&record.origin),
                choice,
                anchored: choice.anchored(framer.layout.as_deref()),
            }
            .emit(&self.metrics);
        }
    }

    fn apply_entries(
        &self,
        source: &str,
        input: Input,
        entries: &[LogEntry],
        record: &Record<'_>,
        framing: (Option<Choice>, &FramerConfig),
    ) -> Applied {
        let mut streams = self.record_streams.lock();
        let stream = Self::record_stream(&mut streams, source, record);
        self.report_framing(source, record, &mut stream.reported, entries, framing);
        let mut last = Applied::Skipped;
        for entry in entries {
            last = self.apply_entry(source, input, entry, record.origin.clone(), stream);
        }
        // A record is framed alone: no entry of a later record follows a forged line in it.
        match self.end_stream(source, stream) {
            Applied::Skipped => last,
            held => held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricsConfig, OVERFLOW};
    use crate::parse::log4j;
    use crate::parse::ParsersConfig;

    fn pipeline() -> Pipeline {
        Pipeline::new(
            Parsers::new(&ParsersConfig::default()).unwrap(),
            Arc::new(Metrics::new(&MetricsConfig::default()).unwrap()),
        )
    }

    fn text(p: &Pipeline) -> String {
        String::from_utf8(p.metrics().render()).unwrap()
    }

    /// The value of `series` (a metric name and its labels, as exposed) in `p`'s exposition;
    /// `None` when the series is absent.
    fn sample(p: &Pipeline, series: &str) -> Option<f64> {
        text(p)
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Each series in `expected` has exactly its value.
    fn assert_samples(p: &Pipeline, expected: &[(&str, f64)]) {
        for (series, value) in expected {
            assert_eq!(sample(p, series), Some(*value), "{series}");
        }
    }

    /// What each entry of `log` became, then what the end of the stream released (when
    /// anything).
    fn feed(p: &Pipeline, input: Input, log: &str) -> Vec<Applied> {
        let mut stream = LogStream::default();
        let mut applied: Vec<Applied> = log4j::frame_all(FramerConfig::default(), log.as_bytes())
            .iter()
            .map(|entry| {
                let item = Item::Entry {
                    entry,
                    origin: Origin::Memory,
                    stream: &mut stream,
                };
                p.apply("logs", input, item)
            })
            .collect();
        match p.end_stream("logs", &mut stream) {
            Applied::Skipped => {}
            released => applied.push(released),
        }
        applied
    }

    /// A failed login from `host` at second `s` of a minute, as `server.log` writes it.
    fn failed_login(host: &str, s: u32) -> String {
        format!("[2026-11-26 14:06:{s:02},546] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /{host} (channelId=127.0.0.1:19092-{host}:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)\n")
    }

    #[test]
    fn detections_raise_their_metric_with_the_detector_labels() {
        use crate::detect::{Detector, DetectorsConfig};
        let off = DetectorsConfig {
            enabled: false,
            ..DetectorsConfig::default()
        };
        // Fires on every 3rd failure of a host; tracks 2 hosts, a third goes to __overflow__.
        let engine = Engine::new(&off).with_test_detector(Detector::BruteForce, 3, 2);
        let p = pipeline().with_detectors(engine);
        let overflow = "kafka_security_detector_overflow_total{detector=\"brute_force\"}";
        assert_eq!(sample(&p, overflow), Some(0.0), "created at 0");
        assert_eq!(
            sample(&p, "kafka_security_detector_state_failures_total"),
            Some(0.0)
        );
        let mut log = String::new();
        for (i, host) in ["10.0.0.7", "10.0.0.8", "10.0.0.7", "10.0.0.7", "10.0.0.8"]
            .iter()
            .chain(&["10.0.0.9"; 3])
            .enumerate()
        {
            log.push_str(&failed_login(host, i as u32));
        }
        feed(&p, Input::BrokerLog, &log);
        let series = |subject: &str| {
            format!("kafka_security_detections_total{{detector=\"brute_force\",severity=\"critical\",subject=\"{subject}\",technique=\"T1110.001\"}}")
        };
        assert_eq!(sample(&p, &series("10.0.0.7")), Some(1.0));
        assert_eq!(sample(&p, &series("10.0.0.8")), None);
        // The detector's own overflow subject is the overflow series, not a literal value.
        assert_eq!(sample(&p, &series(OVERFLOW)), Some(1.0));
        assert_eq!(
            sample(
                &p,
                "kafka_security_series_overflow_total{metric=\"kafka_security_detections_total\"}"
            ),
            Some(0.0)
        );
        // Overflowed events reach their counter at the next tick.
        assert_eq!(sample(&p, overflow), Some(0.0));
        p.detect_tick("clock", SystemTime::now());
        assert_eq!(sample(&p, overflow), Some(3.0));
        p.detect_tick("clock", SystemTime::now());
        assert_eq!(sample(&p, overflow), Some(3.0), "deltas, not totals");
        let (rows, dropped) = p.detections().unwrap();
        assert_eq!((rows.len(), dropped), (2, 0));
    }

    /// The same input through the default detectors inline and on their own thread: a brute
    /// force that then gets in, an injected authorizer line, time passing and the end of the
    /// input.
    #[test]
    fn detectors_on_their_own_thread_raise_what_they_raise_inline() {
        use crate::detect::DetectorsConfig;
        let mut log = String::new();
        for s in 0..25 {
            log.push_str(&failed_login("10.0.0.7", s));
        }
        let allowed = "[2026-11-26 14:06:40,000] INFO Principal = User:bob is Allowed operation = READ from host = 10.0.0.7 on resource = Topic:LITERAL:orders for request = Fetch with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:bob, host=*, operation=READ, permissionType=ALLOW]) (kafka.authorizer.logger)\n";
        log.push_str(allowed);
        // One principal denied on ten topics: privilege probing.
        for t in 0..10 {
            log.push_str(&format!("[2026-11-26 14:06:40,{t:03}] INFO Principal = User:mallory is Denied operation = DESCRIBE from host = 10.0.0.8 on resource = Topic:LITERAL:t{t} for request = Metadata with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n"));
        }
        // The authorizer logger silenced: log tampering.
        log.push_str("[2026-11-26 14:06:40,500] WARN Updated the log level of kafka.authorizer.logger to ERROR (kafka.server.ConfigAdminManager)\n");
        // A group id carrying a newline and a forged line: the framer marks both entries.
        log.push_str("[2026-11-26 14:06:41,000] INFO Principal = User:eve is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:g\n[2026-11-26 14:06:41,000] INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n");
        let end = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_166_000);
        let run = |threaded: bool| {
            let mut p = pipeline().with_detectors(Engine::new(&DetectorsConfig::default()));
            if threaded {
                p = p.with_detector_thread().unwrap();
            }
            feed(&p, Input::BrokerLog, &log);
            p.detect_tick("clock", end);
            p.detect_end("logs", end + Duration::from_secs(3600));
            let rows = p.detections().unwrap();
            let detector_series: Vec<String> = text(&p)
                .lines()
                .filter(|l| l.starts_with("kafka_security_detect"))
                .map(str::to_string)
                .collect();
            (rows, detector_series)
        };
        let (inline, threaded) = (run(false), run(true));
        let detectors: Vec<_> = inline.0 .0.iter().map(|r| r.detector.as_str()).collect();
        for expected in [
            "brute_force",
            "success_after_failures",
            "privilege_probing",
            "log_tampering",
            "log_injection",
        ] {
            assert!(detectors.contains(&expected), "{detectors:?}");
        }
        assert!(
            inline
                .1
                .iter()
                .any(|l| l.starts_with("kafka_security_detections_suppressed_total")),
            "{:?}",
            inline.1
        );
        assert_eq!(threaded, inline);
    }

    /// A live input that stops after a brute force, long before a batch is full: its detection
    /// still comes, by itself (no sync, no tick), about [`detectors::IDLE_PULL`] later.
    #[test]
    fn a_detection_on_the_detector_thread_comes_when_the_input_pauses() {
        use crate::detect::{Detector, DetectorsConfig};
        let off = DetectorsConfig {
            enabled: false,
            ..DetectorsConfig::default()
        };
        let engine = Engine::new(&off).with_test_detector(Detector::BruteForce, 3, 10);
        let p = pipeline()
            .with_detectors(engine)
            .with_detector_thread()
            .unwrap();
        let series = "kafka_security_detections_total{detector=\"brute_force\",severity=\"critical\",subject=\"10.0.0.7\",technique=\"T1110.001\"}";
        let log: String = (0..3).map(|s| failed_login("10.0.0.7", s)).collect();
        let fed = std::time::Instant::now();
        feed(&p, Input::BrokerLog, &log);
        while sample(&p, series).is_none() {
            assert!(
                fed.elapsed() < Duration::from_secs(10),
                "no detection 10 s after the input paused"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(sample(&p, series), Some(1.0));
    }

    #[test]
    fn no_detector_on_means_no_detector_series() {
        let off = crate::detect::DetectorsConfig {
            enabled: false,
            ..Default::default()
        };
        let p = pipeline().with_detectors(Engine::new(&off));
        assert!(p.detections().is_none());
        assert!(
            !text(&p).contains("kafka_security_detector"),
            "{}",
            text(&p)
        );
    }

    const CONTROLLER: &str = "\
[2026-11-26 15:57:55,518] INFO [QuorumController id=1] Creating new QuorumController with clusterId MwTDkQeNYTZqM_InrhQX_A (org.apache.kafka.controller.QuorumController)
[2026-11-26 15:57:55,529] INFO [QuorumController id=1] Becoming the active controller at epoch 1, next write offset 1. (org.apache.kafka.controller.QuorumController)
[2026-11-26 15:57:55,577] INFO [QuorumController id=1] Replayed UserScramCredentialRecord creating new entry for alice with mechanism SCRAM_SHA_256. (org.apache.kafka.controller.ScramControlManager)
[2026-11-26 15:58:09,708] INFO [QuorumController id=1] Replayed AccessControlEntryRecord for 9hEExFzMR_2SXaA8JGp5Cw, setting StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=WRITE, permissionType=DENY] (org.apache.kafka.controller.AclControlManager)
[2026-11-26 15:58:18,241] INFO [QuorumController id=1] Creating new QuorumController with clusterId MwTDkQeNYTZqM_InrhQX_A (org.apache.kafka.controller.QuorumController)
[2026-11-26 15:58:18,255] INFO [QuorumController id=1] Replayed UserScramCredentialRecord creating new entry for alice with mechanism SCRAM_SHA_256. (org.apache.kafka.controller.ScramControlManager)
[2026-11-26 15:58:18,256] INFO [QuorumController id=1] Replayed AccessControlEntryRecord for 9hEExFzMR_2SXaA8JGp5Cw, setting StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=WRITE, permissionType=DENY] (org.apache.kafka.controller.AclControlManager)
[2026-11-26 15:58:18,419] INFO [QuorumController id=1] Becoming the active controller at epoch 2, next write offset 71. (org.apache.kafka.controller.QuorumController)
[2026-11-26 15:59:00,000] INFO [QuorumController id=1] Replayed RemoveAccessControlEntryRecord for 9hEExFzMR_2SXaA8JGp5Cw, removing StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=WRITE, permissionType=DENY] (org.apache.kafka.controller.AclControlManager)
[2026-11-26 15:59:01,000] INFO [QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='orders') which set configuration retention.ms to 1000 (org.apache.kafka.controller.ConfigurationControlManager)
[2026-11-26 15:59:02,000] INFO [QuorumController id=1] Replayed ClientQuotaRecord for ClientQuotaEntity(entries={user=alice}) setting producer_byte_rate to 1024.0. (org.apache.kafka.controller.ClientQuotaControlManager)
";

    #[test]
    fn controller_changes_count_once_across_a_controller_restart() {
        let p = pipeline();
        let applied = feed(&p, Input::ControllerLog, CONTROLLER);
        assert_eq!(
            applied
                .iter()
                .filter(|a| matches!(a, Applied::Event(_)))
                .count(),
            5
        );
        assert_samples(
            &p,
            &[
                ("kafka_security_credential_changes_total{action=\"create\",mechanism=\"SCRAM-SHA-256\"}", 1.0),
                ("kafka_security_acl_changes_total{action=\"create\",permission=\"deny\",resource_type=\"Topic\"}", 1.0),
                ("kafka_security_acl_changes_total{action=\"delete\",permission=\"deny\",resource_type=\"Topic\"}", 1.0),
                ("kafka_security_config_changes_total{resource_type=\"Topic\"}", 1.0),
                ("kafka_security_config_changes_total{resource_type=\"ClientQuota\"}", 1.0),
                ("kafka_security_controller_replays_skipped_total{source=\"logs\"}", 2.0),
                ("kafka_security_log_lines_total{file_kind=\"controller\",level=\"INFO\"}", 11.0),
            ],
        );
    }

    #[test]
    fn a_standby_controller_replay_ends_after_the_window() {
        let p = pipeline();
        let log = "\
[2026-11-26 15:58:18,241] INFO [QuorumController id=2] Creating new QuorumController with clusterId X (org.apache.kafka.controller.QuorumController)
[2026-11-26 15:58:18,255] INFO [QuorumController id=2] Replayed UserScramCredentialRecord creating new entry for alice with mechanism SCRAM_SHA_256. (org.apache.kafka.controller.ScramControlManager)
[2026-11-26 15:59:18,255] INFO [QuorumController id=2] Replayed UserScramCredentialRecord creating new entry for carol with mechanism SCRAM_SHA_512. (org.apache.kafka.controller.ScramControlManager)
";
        feed(&p, Input::BrokerLog, log);
        let t = text(&p);
        assert_eq!(sample(&p, "kafka_security_credential_changes_total{action=\"create\",mechanism=\"SCRAM-SHA-512\"}"), Some(1.0));
        assert!(!t.contains("mechanism=\"SCRAM-SHA-256\""));
    }

    #[test]
    fn mixed_stdout_is_routed_by_logger() {
        let p = pipeline();
        let log = "\
[2026-11-26 14:06:16,546] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /10.0.0.7 (channelId=127.0.0.1:19092-10.0.0.7:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)
[2026-11-26 14:06:17,000] INFO Principal = User:bob is Denied operation = WRITE from host = 10.0.0.8 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:bob, host=*, operation=WRITE, permissionType=DENY]) (kafka.authorizer.logger)
[2026-11-26 14:06:18,000] INFO Rejected connection from /127.0.0.2, address already has the configured maximum of 2 connections. (kafka.network.DataPlaneAcceptor)
[2026-11-26 14:06:19,000] DEBUG Completed request:{\"requestHeader\":{\"requestApiKeyName\":\"PRODUCE\",\"clientId\":\"p\"},\"response\":{},\"totalTimeMs\":3.0,\"principal\":\"User:bob\"} (kafka.request.logger)
[2026-11-26 14:06:20,000] INFO [KafkaApi-1] something else (kafka.server.KafkaApis)
";
        feed(&p, Input::BrokerLog, log);
        assert_samples(
            &p,
            &[
                ("kafka_security_authentication_failures_by_client_total{client_host=\"10.0.0.7\",reason=\"invalid_credentials\"}", 1.0),
                ("kafka_security_authorization_denials_by_principal_total{operation=\"WRITE\",principal=\"User:bob\",resource_name=\"orders\",resource_type=\"Topic\"}", 1.0),
                ("kafka_security_connections_rejected_total{reason=\"per_ip_limit\"}", 1.0),
                ("kafka_security_request_duration_seconds_count{api=\"Produce\"}", 1.0),
                ("kafka_security_log_lines_total{file_kind=\"server\",level=\"INFO\"}", 3.0),
                ("kafka_security_log_lines_total{file_kind=\"authorizer\",level=\"INFO\"}", 1.0),
                ("kafka_security_log_lines_total{file_kind=\"request\",level=\"DEBUG\"}", 1.0),
            ],
        );
    }

    #[test]
    fn topic_records_plain_and_json_wrapped() {
        let p = pipeline();
        let line = "[2026-11-26 14:06:17,000] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)";
        let docker = serde_json::json!({"log": format!("{line}\n"), "stream": "stdout", "time": "2026-11-26T14:06:17.0Z"}).to_string();
        let ecs = serde_json::json!({"@timestamp": "2026-11-26T14:06:17.000Z", "log.level": "INFO", "message": "Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny", "log.logger": "kafka.authorizer.logger"}).to_string();
        for payload in [line.as_bytes(), docker.as_bytes(), ecs.as_bytes()] {
            let applied = p.apply("t", Input::BrokerLog, &Record::from_payload(payload));
            assert_eq!(applied, Applied::Event(Format::AuthorizerLog));
        }
        assert_eq!(sample(&p, "kafka_security_authorization_total{api=\"JoinGroup\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"}"), Some(3.0));
        for (payload, error) in [
            (&b"{\"nope\":1}"[..], ParseError::MissingField("message")),
            (b"not a log line", ParseError::Unrecognized),
        ] {
            let applied = p.apply("t", Input::AuthorizerLog, &Record::from_payload(payload));
            assert_eq!(
                applied,
                Applied::Rejected(Some(Format::AuthorizerLog), error)
            );
        }
        assert_eq!(sample(&p, "kafka_security_parse_errors_total{format=\"authorizer_log\",reason=\"missing_field\",source=\"t\"}"), Some(1.0));
    }

    /// Topic records are reported as files are: the layout a partition's first framed record was
    /// read in (once per partition), partial lines, and lines in no layout (besides their
    /// `unrecognized` parse error).
    #[test]
    fn topic_partitions_report_their_layout_and_unreadable_lines() {
        let p = pipeline();
        p.metrics().init_log_files("t");
        let unrecognized = "kafka_security_unrecognized_lines_total{source=\"t\"}";
        let partial = "kafka_security_partial_lines_total{source=\"t\"}";
        assert_eq!(sample(&p, unrecognized), Some(0.0), "created at 0");
        assert_eq!(sample(&p, partial), Some(0.0), "created at 0");
        let at = |partition: i32, payload: &'static str| Record {
            origin: Origin::Kafka {
                topic: "logs".into(),
                partition,
                offset: 0,
            },
            ..Record::from_payload(payload.as_bytes())
        };
        let kafka = "[2026-11-26 14:06:17,000] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)";
        for partition in [0, 0, 1] {
            let applied = p.apply("t", Input::BrokerLog, &at(partition, kafka));
            assert_eq!(applied, Applied::Event(Format::AuthorizerLog));
        }
        let streams =
            "kafka_security_log_layout_streams{layout=\"kafka\",prefix=\"none\",source=\"t\"}";
        assert_eq!(sample(&p, streams), Some(2.0), "one per partition");
        let applied = p.apply(
            "t",
            Input::BrokerLog,
            &at(0, "hello world\nnot a log line either\n"),
        );
        assert_eq!(applied, Applied::Rejected(None, ParseError::Unrecognized));
        assert_eq!(sample(&p, unrecognized), Some(2.0));
        // A known message without its header: read, and counted as a partial line.
        let applied = p.apply("t", Input::BrokerLog, &at(2, "Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny"));
        assert_eq!(applied, Applied::Event(Format::AuthorizerLog));
        assert_eq!(sample(&p, partial), Some(1.0));
        assert_eq!(sample(&p, unrecognized), Some(2.0));
    }

    /// A topic's `layout:` and `utc_offset:` reach the framing of its records, plain or
    /// JSON-wrapped; without them the layout is recognized by itself (sniffed per record).
    #[test]
    fn topic_records_in_a_configured_layout() {
        let layout = "%d{ISO8601} %-5p [%t] %c - %m%n";
        let framer = FramerConfig {
            layout: Some(Arc::new(
                crate::parse::layout::Layout::for_kind(layout, Input::BrokerLog).unwrap(),
            )),
            utc_offset_secs: 3600,
            ..FramerConfig::default()
        };
        let line = "2026-11-26T15:06:17,000 INFO  [data-plane-kafka-request-handler-1] kafka.authorizer.logger - Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny";
        let docker =
            serde_json::json!({"log": format!("{line}\n"), "stream": "stdout"}).to_string();
        let record = Record::from_payload(line.as_bytes());
        let entries = crate::parse::shipped::log_entries(&record, &framer).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].timestamp,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_701_977)
        );
        let p = pipeline();
        for payload in [line.as_bytes(), docker.as_bytes()] {
            let record = Record::from_payload(payload);
            let item = Item::Record {
                record: &record,
                framer: &framer,
            };
            let applied = p.apply("t", Input::BrokerLog, item);
            assert_eq!(applied, Applied::Event(Format::AuthorizerLog));
        }
        // The default framing sniffs this layout (`log4j_level_first`) by itself.
        let applied = p.apply("t", Input::BrokerLog, &record);
        assert_eq!(applied, Applied::Event(Format::AuthorizerLog));
        assert_eq!(sample(&p, "kafka_security_authorization_total{api=\"JoinGroup\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"}"), Some(3.0));
    }

    /// Every series of `metric` in `p`'s exposition, as (labels, value).
    /// The series of `metric` as exposed, sorted by their labels (the exposition lists a
    /// capped family's series in the order they were created).
    fn series(p: &Pipeline, metric: &str) -> Vec<(String, f64)> {
        let mut series: Vec<(String, f64)> = text(p)
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix(metric)?;
                let (labels, value) = rest.rsplit_once(' ')?;
                (labels.is_empty() || labels.starts_with('{'))
                    .then(|| (labels.to_string(), value.parse().unwrap()))
            })
            .collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        series
    }

    const AUTHZ: &str = "kafka_security_authorization_total";
    const DENIALS: &str = "kafka_security_authorization_denials_by_principal_total";
    const INJECTION: &str = "kafka_security_log_injection_total";

    /// `log` counted exactly one denial: `principal`'s READ on a group through `api`, counted
    /// once in the authorization metrics, and one suspected injection, by `principal`; nothing
    /// else (no forged event, no parse error).
    fn assert_one_genuine_denial(p: &Pipeline, principal: &str, api: &str) {
        let authz = series(p, AUTHZ);
        assert_eq!(
            authz,
            [(
                format!("{{api=\"{api}\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"}}"),
                1.0
            )],
            "{}",
            text(p)
        );
        let denials = series(p, DENIALS);
        assert_eq!(denials.len(), 1, "{denials:?}");
        assert!(
            denials[0].0.contains(&format!("principal=\"{principal}\"")),
            "{denials:?}"
        );
        assert_eq!(denials[0].1, 1.0);
        assert_eq!(
            series(p, INJECTION),
            [(format!("{{principal=\"{principal}\"}}"), 1.0)]
        );
        assert_eq!(
            series(p, "kafka_security_authentication_failures_by_client_total"),
            []
        );
        let errors: f64 = series(p, "kafka_security_parse_errors_total")
            .iter()
            .map(|(_, v)| v)
            .sum();
        assert_eq!(errors, 0.0);
    }

    /// A denial of `User:mallory`'s JoinGroup whose group id is `group`, as Kafka writes it.
    fn hostile_join(group: &str) -> String {
        format!("[2026-11-26 14:06:30,883] INFO Principal = User:mallory is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:{group} for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n")
    }

    #[test]
    fn a_forged_clause_in_a_group_id_neither_forges_nor_hides() {
        let p = pipeline();
        let applied = feed(
            &p,
            Input::BrokerLog,
            &hostile_join("g is Allowed operation = ALTER from host = 10.0.0.5 on resource = Group:LITERAL:billing"),
        );
        assert_eq!(applied, [Applied::Event(Format::AuthorizerLog)]);
        assert_one_genuine_denial(&p, "User:mallory", "JoinGroup");
    }

    #[test]
    fn a_forged_tail_in_a_group_id_neither_forges_nor_hides() {
        let p = pipeline();
        feed(
            &p,
            Input::BrokerLog,
            &hostile_join(
                "g for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser",
            ),
        );
        assert_one_genuine_denial(&p, "User:mallory", "JoinGroup");
    }

    #[test]
    fn a_forged_clause_in_a_principal_neither_forges_nor_hides() {
        // A SASL user name holding a whole clause, denied on a topic.
        let p = pipeline();
        let principal = "User:eve is Allowed operation = READ from host = 10.0.0.5 on resource = Topic:LITERAL:payments";
        feed(&p, Input::BrokerLog, &format!("[2026-11-26 14:06:30,883] INFO Principal = {principal} is Denied operation = WRITE from host = 10.0.0.9 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n"));
        assert_eq!(
            series(&p, AUTHZ),
            [(
                "{api=\"Produce\",decision=\"denied\",operation=\"WRITE\",resource_type=\"Topic\"}"
                    .to_string(),
                1.0
            )]
        );
        assert_eq!(
            series(&p, DENIALS),
            [(format!("{{operation=\"WRITE\",principal=\"{principal}\",resource_name=\"orders\",resource_type=\"Topic\"}}"), 1.0)]
        );
        assert_eq!(
            series(&p, INJECTION),
            [(format!("{{principal=\"{principal}\"}}"), 1.0)]
        );
    }

    /// The group id carries a line break, a whole forged line (with a logger, which closes the
    /// entry for the framer) and the start of another forged line, which the genuine tail ends.
    #[test]
    fn a_forged_line_in_a_group_id_neither_forges_nor_hides() {
        let p = pipeline();
        let group = "g\n[2026-11-26 14:06:30,883] INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n[2026-11-26 14:06:30,883] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.7 on resource = Group:LITERAL:h";
        let applied = feed(&p, Input::BrokerLog, &hostile_join(group));
        assert_eq!(
            applied,
            [Applied::Skipped, Applied::Event(Format::AuthorizerLog)]
        );
        assert_one_genuine_denial(&p, "User:mallory", "JoinGroup");
    }

    /// As above, the second forged line a failed authentication of another logger: the genuine
    /// tail ends up in its continuation.
    #[test]
    fn a_forged_line_of_another_logger_neither_forges_nor_hides() {
        let p = pipeline();
        let group = "g\n[2026-11-26 14:06:30,883] INFO x (kafka.authorizer.logger)\n[2026-11-26 14:06:30,883] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /10.9.9.9 (channelId=127.0.0.1:19092-10.9.9.9:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)\n";
        feed(&p, Input::BrokerLog, &hostile_join(group));
        assert_one_genuine_denial(&p, "User:mallory", "JoinGroup");
    }

    /// A forged line whose entry ends in the genuine tail, at the end of the input or before an
    /// entry that cannot complete it: the decision is counted with its own tail, once.
    #[test]
    fn a_split_decision_without_a_completion_is_counted_with_its_own_tail() {
        let group = "g\n[2026-11-26 14:06:30,883] INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)";
        let p = pipeline();
        let applied = feed(&p, Input::BrokerLog, &hostile_join(group));
        assert_eq!(
            applied,
            [Applied::Skipped, Applied::Event(Format::AuthorizerLog)]
        );
        assert_one_genuine_denial(&p, "User:mallory", "JoinGroup");
        // Followed by a genuine line of another log: both counted.
        let p = pipeline();
        let log = format!("{}{}", hostile_join(group), failed_login("10.0.0.7", 31));
        feed(&p, Input::BrokerLog, &log);
        assert_eq!(
            series(&p, AUTHZ),
            [(
                "{api=\"JoinGroup\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"}"
                    .to_string(),
                1.0
            )]
        );
        assert_eq!(sample(&p, "kafka_security_authentication_failures_by_client_total{client_host=\"10.0.0.7\",reason=\"invalid_credentials\"}"), Some(1.0));
        // The failed login followed a forged line: suspect too.
        let injected: f64 = series(&p, INJECTION).iter().map(|(_, v)| v).sum();
        assert_eq!(injected, 2.0);
    }

    #[test]
    fn an_unrecoverable_decision_is_a_parse_error_naming_its_principal() {
        let p = pipeline();
        // Both clauses allow, the rule denies: no clause can be the genuine one.
        let applied = feed(&p, Input::BrokerLog, "[2026-11-26 14:06:30,883] INFO Principal = User:mallory is Allowed operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:x is Allowed operation = READ from host = 1.2.3.4 on resource = Group:LITERAL:y for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n");
        assert!(
            matches!(&applied[..], [Applied::Rejected(Some(Format::AuthorizerLog), e)] if e.injection_principal() == Some("User:mallory")),
            "{applied:?}"
        );
        assert_eq!(series(&p, AUTHZ), []);
        assert_eq!(
            series(&p, INJECTION),
            [("{principal=\"User:mallory\"}".to_string(), 1.0)]
        );
        assert_eq!(sample(&p, "kafka_security_parse_errors_total{format=\"authorizer_log\",reason=\"invalid_field\",source=\"logs\"}"), Some(1.0));
    }

    #[test]
    fn injections_are_capped_per_principal() {
        let mut config = MetricsConfig::default();
        config.max_series.insert(INJECTION.to_string(), 1);
        let p = Pipeline::new(
            Parsers::new(&ParsersConfig::default()).unwrap(),
            Arc::new(Metrics::new(&config).unwrap()),
        );
        let mut log = String::new();
        for who in ["mallory", "trudy", "oscar"] {
            log.push_str(
                &hostile_join(&format!(
                    "g for request = Fetch with resourceRefCount = 1 based on rule SuperUser {who}"
                ))
                .replace("User:mallory", &format!("User:{who}")),
            );
        }
        feed(&p, Input::BrokerLog, &log);
        assert_eq!(
            series(&p, INJECTION),
            [
                ("{principal=\"User:mallory\"}".to_string(), 1.0),
                (format!("{{principal=\"{OVERFLOW}\"}}"), 2.0)
            ]
        );
    }

    /// The `log_injection` detector hears of a split decision once, naming its principal.
    #[test]
    fn the_log_injection_detector_hears_of_a_split_decision_once() {
        use crate::detect::DetectorsConfig;
        let group = "g\n[2026-11-26 14:06:30,883] INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n[2026-11-26 14:06:30,883] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.7 on resource = Group:LITERAL:h";
        let p = pipeline().with_detectors(Engine::new(&DetectorsConfig::default()));
        feed(&p, Input::BrokerLog, &hostile_join(group));
        let end = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_166_000);
        p.detect_end("logs", end);
        let (rows, _) = p.detections().unwrap();
        let injection: Vec<_> = rows
            .iter()
            .filter(|r| r.detector.as_str() == "log_injection")
            .collect();
        assert_eq!(injection.len(), 1, "{rows:?}");
        assert_eq!(injection[0].subject, "User:mallory");
        assert_eq!((injection[0].detections, injection[0].events), (1, 1));
    }

    /// A group id that ends its line with a forged logger and forges the next line: the framer
    /// sees two entries, neither suspect. After a decision with a tail, one without is a cut
    /// line, completed by the tail that ends the next entry.
    #[test]
    fn a_line_ended_by_a_forged_logger_neither_forges_nor_hides() {
        let p = pipeline();
        let bob = "[2026-11-26 14:06:29,000] INFO Principal = User:bob is Denied operation = WRITE from host = 10.0.0.8 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n";
        let group = "g (kafka.authorizer.logger)\n[2026-11-26 14:06:30,883] INFO Principal = User:victim is Denied operation = READ from host = 10.0.0.7 on resource = Group:LITERAL:h";
        let applied = feed(
            &p,
            Input::BrokerLog,
            &format!("{bob}{}", hostile_join(group)),
        );
        assert_eq!(
            applied,
            [
                Applied::Event(Format::AuthorizerLog),
                Applied::Skipped,
                Applied::Event(Format::AuthorizerLog)
            ]
        );
        let denials = series(&p, DENIALS);
        assert_eq!(denials.len(), 2, "{denials:?}");
        assert!(denials
            .iter()
            .all(|(l, v)| !l.contains("User:victim") && *v == 1.0));
        assert_eq!(
            sample(&p, "kafka_security_authorization_total{api=\"JoinGroup\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"}"),
            Some(1.0)
        );
        assert_eq!(
            series(&p, INJECTION),
            [("{principal=\"User:mallory\"}".to_string(), 1.0)]
        );
    }

    /// Decisions without a tail in a stream that never had one (Kafka before 2.4) are counted as
    /// they are, one each, and are not injections.
    #[test]
    fn decisions_of_a_broker_before_2_4_are_not_suspect() {
        let p = pipeline();
        let line = |who: &str| {
            format!("[2026-11-26 14:06:30,883] INFO Principal = User:{who} is Denied Operation = Read from host = 10.0.0.7 on resource = Topic:LITERAL:orders (kafka.authorizer.logger)\n")
        };
        let applied = feed(&p, Input::BrokerLog, &format!("{}{}", line("a"), line("b")));
        assert_eq!(applied, vec![Applied::Event(Format::AuthorizerLog); 2]);
        assert_eq!(
            sample(&p, "kafka_security_authorization_total{api=\"unknown\",decision=\"denied\",operation=\"READ\",resource_type=\"Topic\"}"),
            Some(2.0)
        );
        assert_eq!(series(&p, INJECTION), []);
    }

    /// A request-log entry after a forged line cannot be told from a forged one: refused, as an
    /// injection naming its principal.
    #[test]
    fn a_suspect_request_log_entry_names_its_principal() {
        let p = pipeline();
        let group = "g\n[2026-11-26 14:06:30,883] INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)";
        let request = "[2026-11-26 14:06:31,000] DEBUG Completed request:{\"requestHeader\":{\"requestApiKeyName\":\"PRODUCE\",\"clientId\":\"p\"},\"response\":{},\"totalTimeMs\":3.0,\"principal\":\"User:bob\"} (kafka.request.logger)\n";
        let applied = feed(
            &p,
            Input::BrokerLog,
            &format!("{}{request}", hostile_join(group)),
        );
        assert!(
            matches!(&applied[..], [Applied::Skipped, Applied::Rejected(Some(Format::RequestLog), e)] if e.injection_principal() == Some("User:bob")),
            "{applied:?}"
        );
        // The split decision, released with its own tail, and the request: one injection each.
        assert_eq!(
            series(&p, INJECTION),
            [
                ("{principal=\"User:bob\"}".to_string(), 1.0),
                ("{principal=\"User:mallory\"}".to_string(), 1.0)
            ]
        );
        assert_eq!(
            series(&p, "kafka_security_request_duration_seconds_count"),
            []
        );
    }
}
