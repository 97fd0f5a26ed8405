//! The pipeline: a record goes in, is parsed once, and is applied to the metric state.
//! Sources call [`Pipeline::apply`] and only then store the record's offset, which is what makes
//! counting at-least-once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use crate::event::{Format, Origin, SecurityEvent};
use crate::metrics::internal::{ControllerReplaySkipped, InternalEvent};
use crate::metrics::Metrics;
use crate::otel;
use crate::parse::broker_log::{self, LogKind, LogOutput};
use crate::parse::controller_log::Lifecycle;
use crate::parse::log4j::{self, FramerConfig, Level, LogEntry};
use crate::parse::{FormatChoice, ParseError, Parsers, Record, TraceHeaders};
use crate::telemetry::RateLimit;

/// How long (in log time) after a controller's `Creating new QuorumController` line its
/// `Replayed …` lines are taken as the startup replay when no `Becoming the active controller`
/// line ends it first (a standby controller never becomes active).
pub const CONTROLLER_REPLAY_WINDOW: Duration = Duration::from_secs(30);

/// What a broker-log stream (one file, one topic partition) remembers between entries.
#[derive(Debug, Default, Clone)]
pub struct LogStream {
    /// Log time of the last `Creating new QuorumController` line while its startup replay runs.
    replay_since: Option<SystemTime>,
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

/// Parsers plus the metric state they feed. Shared by every source.
pub struct Pipeline {
    parsers: Parsers,
    metrics: Arc<Metrics>,
    warn_limit: RateLimit,
    /// Log streams of Kafka records in a broker-log format, by source, then partition.
    record_streams: Mutex<HashMap<String, HashMap<i32, LogStream>>>,
    /// Spans and exemplars, when OTLP traces are on.
    otel: Option<Arc<otel::Handle>>,
}

impl Pipeline {
    pub fn new(parsers: Parsers, metrics: Arc<Metrics>) -> Pipeline {
        Pipeline {
            parsers,
            metrics,
            warn_limit: RateLimit::new(Duration::from_secs(10)),
            record_streams: Mutex::new(HashMap::new()),
            otel: None,
        }
    }

    /// Gives every applied record a span (and its counters an exemplar) through `otel`.
    pub fn with_otel(mut self, otel: Arc<otel::Handle>) -> Pipeline {
        self.otel = otel.tracing().then_some(otel);
        self
    }

    /// The OpenTelemetry handle, when traces are on (for sources to report cluster ids).
    pub fn otel(&self) -> Option<&Arc<otel::Handle>> {
        self.otel.as_ref()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Parses `record` and applies it to the metrics. Never fails: a bad record is counted.
    pub fn apply(&self, source: &str, format: FormatChoice, record: &Record<'_>) -> Applied {
        self.apply_framed(source, format, &FramerConfig::default(), record)
    }

    /// [`Pipeline::apply`], framing broker-log records with `framer` (zone, layout).
    pub fn apply_framed(
        &self,
        source: &str,
        format: FormatChoice,
        framer: &FramerConfig,
        record: &Record<'_>,
    ) -> Applied {
        if let Some(kind) = format.log_kind() {
            return self.apply_log_record(source, kind, framer, record);
        }
        match self.parsers.parse(format, record) {
            Ok(event) => {
                self.metrics.record(source, &event, SystemTime::now());
                self.observed(
                    source,
                    &record.origin,
                    record.trace_context.as_ref(),
                    record.observed_time,
                    Ok(&event),
                );
                Applied::Event(event.format)
            }
            Err((format, error)) => {
                self.observed(
                    source,
                    &record.origin,
                    record.trace_context.as_ref(),
                    record.observed_time,
                    Err((format, &error)),
                );
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

    fn rejected(
        &self,
        source: &str,
        format: Option<Format>,
        error: ParseError,
        origin: &Origin<'_>,
    ) -> Applied {
        self.metrics.record_parse_error(source, format, &error);
        if let Some(suppressed) = self.warn_limit.check() {
            tracing::warn!(
                source,
                ?origin,
                format = format.map_or("unknown", Format::as_str),
                reason = error.reason(),
                %error,
                suppressed,
                "Skipped a record that is not a valid security event."
            );
        }
        Applied::Rejected(format, error)
    }

    /// Applies one framed broker-log entry read from `source` (a file or a topic). `kind` is the
    /// configured kind of log; `auto` routes by the entry's logger. `stream` carries the
    /// controller's startup-replay state of the file or partition the entry came from.
    pub fn apply_entry(
        &self,
        source: &str,
        kind: LogKind,
        entry: &LogEntry,
        origin: Origin<'_>,
        stream: &mut LogStream,
    ) -> Applied {
        let started = SystemTime::now();
        let kind = kind.of_entry(entry);
        self.metrics.record_log_line(kind, entry.level);
        let output = match broker_log::parse_entry(kind, entry) {
            Ok(output) => output,
            Err(error) => {
                let format = kind.format();
                self.observed(source, &origin, None, started, Err((format, &error)));
                return self.rejected(source, format, error, &origin);
            }
        };
        match output {
            LogOutput::Event(mut event) => {
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
                // One clock read per entry: the parse in between takes microseconds.
                self.metrics.record(source, &event, started);
                self.observed(source, &event.origin, None, started, Ok(&event));
                Applied::Event(event.format)
            }
            LogOutput::Request(r) => {
                self.metrics
                    .record_request(&r.api, r.principal.as_deref(), r.total_time_secs);
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

    /// A Kafka record holding broker-log line(s), plain or wrapped in a JSON object by a log
    /// shipper. Returns what the last entry became (a record is usually one entry).
    fn apply_log_record(
        &self,
        source: &str,
        kind: LogKind,
        framer: &FramerConfig,
        record: &Record<'_>,
    ) -> Applied {
        let format = kind.format();
        if record.payload.len() > self.parsers.max_record_bytes() {
            let error = ParseError::TooLarge {
                size: record.payload.len(),
                limit: self.parsers.max_record_bytes(),
            };
            return self.rejected(source, format, error, &record.origin);
        }
        let entries = match log_entries(record, framer) {
            Ok(entries) if !entries.is_empty() => entries,
            Ok(_) => {
                return self.rejected(source, format, ParseError::Unrecognized, &record.origin)
            }
            Err(error) => return self.rejected(source, format, error, &record.origin),
        };
        let partition = match record.origin {
            Origin::Kafka { partition, .. } => partition,
            _ => -1,
        };
        let mut streams = self.record_streams.lock();
        // Look up by `&str` first: no allocation per record once the source is known.
        if !streams.contains_key(source) {
            streams.insert(source.to_string(), HashMap::new());
        }
        let stream = streams
            .get_mut(source)
            .map(|partitions| partitions.entry(partition).or_default())
            .expect("inserted above");
        let mut last = Applied::Skipped;
        for entry in &entries {
            last = self.apply_entry(source, kind, entry, record.origin.clone(), stream);
        }
        last
    }
}

/// Field names log shippers put the line in, most specific first: Docker's json-file and
/// Fluent Bit (`log`), ECS / Logstash / Vector / Log4j2 JsonTemplateLayout (`message`),
/// journald's JSON export (`MESSAGE`), others (`msg`, `line`).
const MESSAGE_FIELDS: [&str; 5] = ["log", "message", "MESSAGE", "msg", "line"];
const LEVEL_FIELDS: [&str; 5] = ["log.level", "level", "severity", "loglevel", "levelname"];
const LOGGER_FIELDS: [&str; 4] = ["log.logger", "logger_name", "logger", "loggerName"];
const TIME_FIELDS: [&str; 4] = ["@timestamp", "timestamp", "time", "ts"];

/// The log entries in one record: the payload framed as log4j lines, or, for a JSON object,
/// its message field framed (when it holds a whole line) or built into an entry from the
/// object's level/logger/time fields (when it holds only the message).
pub fn log_entries(
    record: &Record<'_>,
    framer: &FramerConfig,
) -> Result<Vec<LogEntry>, ParseError> {
    let payload = record.payload;
    if payload.is_empty() {
        return Err(ParseError::Empty);
    }
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Ok(log4j::frame_all(framer.clone(), payload));
    }
    crate::parse::check_json_depth(payload)?;
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(payload).map_err(|e| ParseError::from_json(&e))?;
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| object.get(*n).and_then(|v| v.as_str()))
    };
    let message = text(&MESSAGE_FIELDS).ok_or(ParseError::MissingField("message"))?;
    let framed = log4j::frame_all(framer.clone(), message.as_bytes());
    if !framed.is_empty() {
        return Ok(framed);
    }
    // Only the message: the wrapper says the rest.
    let level = match text(&LEVEL_FIELDS) {
        Some(l) => Level::from_name(l).ok_or(ParseError::InvalidField {
            field: "level",
            problem: format!("`{l}` is not a log level"),
        })?,
        None => Level::Info,
    };
    let timestamp = text(&TIME_FIELDS)
        .and_then(crate::parse::parse_rfc3339)
        .or(record.timestamp)
        .unwrap_or(record.observed_time);
    let message = message.trim_end_matches(['\n', '\r']);
    let (message, logger) = match text(&LOGGER_FIELDS) {
        Some(l) => (message.to_string(), Some(l.to_string())),
        None => {
            let (m, l) = log4j::split_logger(message.as_bytes());
            (
                String::from_utf8_lossy(m).into_owned(),
                l.map(|l| String::from_utf8_lossy(l).into_owned()),
            )
        }
    };
    Ok(vec![LogEntry {
        offset: 0,
        timestamp,
        level,
        logger,
        // A wrapped message spans lines only if it holds a stack trace; a forged header inside
        // it cannot start a second entry here.
        message: message.replace("\r\n", "\n"),
        truncated: false,
        suspect: false,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricsConfig;
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

    fn feed(p: &Pipeline, kind: LogKind, log: &str) -> Vec<Applied> {
        let mut stream = LogStream::default();
        log4j::frame_all(FramerConfig::default(), log.as_bytes())
            .iter()
            .map(|e| p.apply_entry("logs", kind, e, Origin::Memory, &mut stream))
            .collect()
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
        let applied = feed(&p, LogKind::Controller, CONTROLLER);
        assert_eq!(
            applied
                .iter()
                .filter(|a| matches!(a, Applied::Event(_)))
                .count(),
            5
        );
        let t = text(&p);
        assert!(t.contains("kafka_security_credential_changes_total{action=\"create\",mechanism=\"SCRAM-SHA-256\"} 1\n"), "{t}");
        assert!(t.contains("kafka_security_acl_changes_total{action=\"create\",permission=\"deny\",resource_type=\"Topic\"} 1\n"));
        assert!(t.contains("kafka_security_acl_changes_total{action=\"delete\",permission=\"deny\",resource_type=\"Topic\"} 1\n"));
        assert!(t.contains("kafka_security_config_changes_total{resource_type=\"Topic\"} 1\n"));
        assert!(
            t.contains("kafka_security_config_changes_total{resource_type=\"ClientQuota\"} 1\n")
        );
        assert!(t.contains("kafka_security_controller_replays_skipped_total{source=\"logs\"} 2\n"));
        assert!(t.contains(
            "kafka_security_log_lines_total{file_kind=\"controller\",level=\"INFO\"} 11\n"
        ));
    }

    #[test]
    fn a_standby_controller_replay_ends_after_the_window() {
        let p = pipeline();
        let log = "\
[2026-11-26 15:58:18,241] INFO [QuorumController id=2] Creating new QuorumController with clusterId X (org.apache.kafka.controller.QuorumController)
[2026-11-26 15:58:18,255] INFO [QuorumController id=2] Replayed UserScramCredentialRecord creating new entry for alice with mechanism SCRAM_SHA_256. (org.apache.kafka.controller.ScramControlManager)
[2026-11-26 15:59:18,255] INFO [QuorumController id=2] Replayed UserScramCredentialRecord creating new entry for carol with mechanism SCRAM_SHA_512. (org.apache.kafka.controller.ScramControlManager)
";
        feed(&p, LogKind::Auto, log);
        let t = text(&p);
        assert!(t.contains("kafka_security_credential_changes_total{action=\"create\",mechanism=\"SCRAM-SHA-512\"} 1\n"), "{t}");
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
        feed(&p, LogKind::Auto, log);
        let t = text(&p);
        assert!(t.contains("kafka_security_authentication_failures_by_client_total{client_host=\"10.0.0.7\",reason=\"invalid_credentials\"} 1\n"), "{t}");
        assert!(t.contains("kafka_security_authorization_denials_by_principal_total{operation=\"WRITE\",principal=\"User:bob\",resource_name=\"orders\",resource_type=\"Topic\"} 1\n"));
        assert!(
            t.contains("kafka_security_connections_rejected_total{reason=\"per_ip_limit\"} 1\n")
        );
        assert!(t.contains("kafka_security_request_duration_seconds_count{api=\"Produce\"} 1\n"));
        assert!(
            t.contains("kafka_security_log_lines_total{file_kind=\"server\",level=\"INFO\"} 3\n")
        );
        assert!(t.contains(
            "kafka_security_log_lines_total{file_kind=\"authorizer\",level=\"INFO\"} 1\n"
        ));
        assert!(
            t.contains("kafka_security_log_lines_total{file_kind=\"request\",level=\"DEBUG\"} 1\n")
        );
    }

    #[test]
    fn topic_records_plain_and_json_wrapped() {
        let p = pipeline();
        let line = "[2026-11-26 14:06:17,000] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)";
        let docker = serde_json::json!({"log": format!("{line}\n"), "stream": "stdout", "time": "2026-11-26T14:06:17.0Z"}).to_string();
        let ecs = serde_json::json!({"@timestamp": "2026-11-26T14:06:17.000Z", "log.level": "INFO", "message": "Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny", "log.logger": "kafka.authorizer.logger"}).to_string();
        for payload in [line.as_bytes(), docker.as_bytes(), ecs.as_bytes()] {
            let applied = p.apply("t", FormatChoice::BrokerLog, &Record::from_payload(payload));
            assert_eq!(applied, Applied::Event(Format::AuthorizerLog));
        }
        let t = text(&p);
        assert!(t.contains("kafka_security_authorization_total{api=\"JoinGroup\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"} 3\n"), "{t}");
        let bad = p.apply(
            "t",
            FormatChoice::AuthorizerLog,
            &Record::from_payload(b"{\"nope\":1}"),
        );
        assert!(matches!(
            bad,
            Applied::Rejected(
                Some(Format::AuthorizerLog),
                ParseError::MissingField("message")
            )
        ));
        let bad = p.apply(
            "t",
            FormatChoice::AuthorizerLog,
            &Record::from_payload(b"not a log line"),
        );
        assert!(matches!(
            bad,
            Applied::Rejected(Some(Format::AuthorizerLog), ParseError::Unrecognized)
        ));
        let t = text(&p);
        assert!(t.contains("kafka_security_parse_errors_total{format=\"authorizer_log\",reason=\"missing_field\",source=\"t\"} 1\n"), "{t}");
    }

    /// A topic's `layout:` and `utc_offset:` reach the framing of its records, plain or
    /// JSON-wrapped; without them the same record is not read as one entry.
    #[test]
    fn topic_records_in_a_configured_layout() {
        let layout = "%d{ISO8601} %-5p [%t] %c - %m%n";
        let framer = FramerConfig {
            layout: Some(Arc::new(
                crate::parse::layout::Layout::for_kind(layout, LogKind::Auto).unwrap(),
            )),
            utc_offset_secs: 3600,
            ..FramerConfig::default()
        };
        let line = "2026-11-26T15:06:17,000 INFO  [data-plane-kafka-request-handler-1] kafka.authorizer.logger - Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny";
        let docker =
            serde_json::json!({"log": format!("{line}\n"), "stream": "stdout"}).to_string();
        let record = Record::from_payload(line.as_bytes());
        let entries = log_entries(&record, &framer).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].timestamp,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_701_977)
        );
        let p = pipeline();
        for payload in [line.as_bytes(), docker.as_bytes()] {
            let applied = p.apply_framed(
                "t",
                FormatChoice::BrokerLog,
                &framer,
                &Record::from_payload(payload),
            );
            assert_eq!(applied, Applied::Event(Format::AuthorizerLog));
        }
        // The default framing does not know this layout: no authorizer event.
        let applied = p.apply("t", FormatChoice::BrokerLog, &record);
        assert_ne!(applied, Applied::Event(Format::AuthorizerLog));
        let t = text(&p);
        assert!(t.contains("kafka_security_authorization_total{api=\"JoinGroup\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"} 2\n"), "{t}");
    }
}
