//! The metric catalogue: every metric the exporter emits, in one table.
//!
//! Each [`Metric`] names its kind, its Prometheus help, its labels (each [`Closed`] — from a fixed
//! set or the configuration — or [`Input`] — from records a client controls), its buckets and its
//! OTLP unit. Registration ([`super::Metrics::new`]), the cardinality caps (a metric with an
//! input-derived label is capped), the README metric table ([`readme_table`]) and the OTLP names
//! ([`otlp_name`]) all come from [`ALL`].
//!
//! [`Closed`]: Origin::Closed
//! [`Input`]: Origin::Input

use super::{MetricsConfig, DEFAULT_DELAY_BUCKETS, DEFAULT_REQUEST_BUCKETS};

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Where a label's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A fixed set (an enum) or the configuration (source names, topics): bounded.
    Closed,
    /// Records a client controls (principals, hosts, resource names): capped.
    Input,
}

/// A label key and where its values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub key: &'static str,
    pub origin: Origin,
}

const fn closed(key: &'static str) -> Label {
    Label {
        key,
        origin: Origin::Closed,
    }
}

const fn input(key: &'static str) -> Label {
    Label {
        key,
        origin: Origin::Input,
    }
}

/// Every label key, with its origin. A key means the same thing on every metric that has it.
pub mod labels {
    use super::{closed, input, Label};

    pub const SOURCE: Label = closed("source");
    pub const FORMAT: Label = closed("format");
    pub const CATEGORY: Label = closed("category");
    pub const OUTCOME: Label = closed("outcome");
    pub const DECISION: Label = closed("decision");
    pub const REASON: Label = closed("reason");
    pub const ACTION: Label = closed("action");
    pub const PERMISSION: Label = closed("permission");
    pub const METRIC: Label = closed("metric");
    pub const TOPIC: Label = closed("topic");
    pub const PARTITION: Label = closed("partition");
    pub const FILE_KIND: Label = closed("file_kind");
    pub const LEVEL: Label = closed("level");
    pub const SIGNAL: Label = closed("signal");
    pub const DIRECTION: Label = closed("direction");
    pub const VERSION: Label = closed("version");
    pub const REVISION: Label = closed("revision");
    pub const DETECTOR: Label = closed("detector");
    pub const TECHNIQUE: Label = closed("technique");
    pub const SEVERITY: Label = closed("severity");
    pub const LAYOUT: Label = closed("layout");
    pub const PREFIX: Label = closed("prefix");
    /// Every series' cluster (`metrics.cluster` or the Kafka cluster id); a registry-wide
    /// constant label, so no catalogue entry lists it.
    pub const CLUSTER: Label = closed("cluster");
    pub const EVENT_TYPE: Label = input("event_type");
    pub const MECHANISM: Label = input("mechanism");
    pub const LISTENER: Label = input("listener");
    pub const CLIENT_HOST: Label = input("client_host");
    pub const OPERATION: Label = input("operation");
    pub const RESOURCE_TYPE: Label = input("resource_type");
    pub const RESOURCE_NAME: Label = input("resource_name");
    pub const API: Label = input("api");
    pub const PRINCIPAL: Label = input("principal");
    /// What a detection is about: a client host, a principal, a log stream, or `all`.
    pub const SUBJECT: Label = input("subject");
}

use labels::*;

/// A histogram's buckets: the `metrics:` key that sets them, its default and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct Buckets {
    pub config_key: &'static str,
    pub default: &'static [f64],
    pub read: fn(&MetricsConfig) -> &[f64],
}

/// A label added only when a `metrics:` switch is on.
#[derive(Debug, Clone, Copy)]
pub struct OptInLabel {
    pub label: Label,
    pub config_key: &'static str,
    pub enabled: fn(&MetricsConfig) -> bool,
}

/// One metric.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The Prometheus name. Names are the product's interface: they do not change.
    pub name: &'static str,
    pub kind: Kind,
    /// The Prometheus `# HELP` text.
    pub help: &'static str,
    /// Labels, in the order record methods pass their values.
    pub labels: &'static [Label],
    /// A label appended to `labels` when its switch is on.
    pub opt_in: Option<OptInLabel>,
    pub buckets: Option<Buckets>,
    /// OTLP unit annotation of a counted thing (`{event}`); empty when the name carries a real
    /// unit (`_seconds`) or none applies.
    pub unit: &'static str,
    /// The README's meaning column, without the buckets and cap notes (generated).
    pub doc: &'static str,
}

impl Metric {
    /// True when a label comes from input: the metric is then capped.
    pub fn capped(&self) -> bool {
        self.labels
            .iter()
            .chain(self.opt_in.as_ref().map(|o| &o.label))
            .any(|l| l.origin == Origin::Input)
    }

    /// The labels registered under `config`.
    pub fn labels_for(&self, config: &MetricsConfig) -> Vec<Label> {
        let mut labels = self.labels.to_vec();
        labels.extend(self.opt_in.filter(|o| (o.enabled)(config)).map(|o| o.label));
        labels
    }

    /// The OTLP name and unit (see [`otlp_name`]).
    pub fn otlp(&self) -> (String, &'static str) {
        otlp_name(self.name, self.kind == Kind::Counter)
    }

    /// The metric's README row.
    pub fn readme_row(&self) -> String {
        let labels: Vec<String> = self.labels.iter().map(|l| format!("`{}`", l.key)).collect();
        let mut meaning = self.doc.to_string();
        if let Some(b) = self.buckets {
            meaning.push_str(&format!(" Buckets: `metrics.{}`.", b.config_key));
        }
        if self.capped() {
            meaning.push_str(" Capped.");
        }
        format!(
            "| `{}` | {} | {} | {} |",
            self.name,
            self.kind.as_str(),
            labels.join(", "),
            meaning
        )
    }
}

pub const EVENTS: Metric = Metric {
    name: "kafka_security_events_total",
    kind: Kind::Counter,
    help: "Security events applied, by source, input format, category, outcome and original event type.",
    labels: &[SOURCE, FORMAT, CATEGORY, OUTCOME, EVENT_TYPE],
    opt_in: None,
    buckets: None,
    unit: "{event}",
    doc: "Every security event applied. `category` ∈ authentication, authorization, acl_change, credential_change, config_change, resource_change, connection, other; `outcome` ∈ success, failure, allowed, denied, unknown; `event_type` is the event's own type (CloudEvent `type`, record key, JSON `event_type`).",
};

pub const AUTHENTICATION: Metric = Metric {
    name: "kafka_security_authentication_total",
    kind: Kind::Counter,
    help: "Authentication attempts by outcome, SASL mechanism and listener.",
    labels: &[OUTCOME, MECHANISM, LISTENER],
    opt_in: None,
    buckets: None,
    unit: "{attempt}",
    doc: "Authentication attempts by outcome, SASL mechanism and listener.",
};

pub const AUTHENTICATION_FAILURES_BY_CLIENT: Metric = Metric {
    name: "kafka_security_authentication_failures_by_client_total",
    kind: Kind::Counter,
    help: "Failed authentications by client host and reason (capped).",
    labels: &[CLIENT_HOST, REASON],
    opt_in: None,
    buckets: None,
    unit: "{failure}",
    doc: "Failed authentications by client host and reason (`invalid_credentials`, `unsupported_mechanism`, `ssl_handshake`, `invalid_token`, `principal_change`, `invalid_receive_size`, `other`, `unknown`).",
};

pub const AUTHORIZATION: Metric = Metric {
    name: "kafka_security_authorization_total",
    kind: Kind::Counter,
    help: "Authorization decisions by decision, operation, resource type and API.",
    labels: &[DECISION, OPERATION, RESOURCE_TYPE, API],
    opt_in: None,
    buckets: None,
    unit: "{decision}",
    doc: "Authorization decisions (`allowed`, `denied`) by ACL operation (`READ`, `WRITE`, `DESCRIBE_CONFIGS`…), resource type (`Topic`, `Group`, `Cluster`…) and Kafka API (`Produce`, `Fetch`, `CreateAcls`…).",
};

pub const AUTHORIZATION_DENIALS_BY_PRINCIPAL: Metric = Metric {
    name: "kafka_security_authorization_denials_by_principal_total",
    kind: Kind::Counter,
    help:
        "Denied authorizations by principal, operation, resource type and resource name (capped).",
    labels: &[PRINCIPAL, OPERATION, RESOURCE_TYPE, RESOURCE_NAME],
    opt_in: None,
    buckets: None,
    unit: "{denial}",
    doc: "Denied authorizations by principal and resource.",
};

pub const LOG_INJECTION: Metric = Metric {
    name: "kafka_security_log_injection_total",
    kind: Kind::Counter,
    help: "Broker log entries carrying a forged line or field (suspected log injection), by the principal whose entry it was (capped).",
    labels: &[PRINCIPAL],
    opt_in: None,
    buckets: None,
    unit: "{entry}",
    doc: "Broker log entries in which a client wrote text that passes for log structure (a line break and a forged log line, a second decision clause, a forged `for request = …` tail) or that were cut at the size limit; counted once per injected entry, by the principal whose request wrote it (`unknown` when it cannot be told). The genuine decision of such an entry is still counted in the authorization metrics; see [Log injection](#log-injection).",
};

pub const EVENT_DELAY: Metric = Metric {
    name: "kafka_security_event_delay_seconds",
    kind: Kind::Histogram,
    help: "Seconds from an event's own time to the moment it was applied, by source.",
    labels: &[SOURCE],
    opt_in: None,
    buckets: Some(Buckets {
        config_key: "delay_buckets_secs",
        default: &DEFAULT_DELAY_BUCKETS,
        read: |c| c.delay_buckets_secs.as_slice(),
    }),
    unit: "",
    doc: "Seconds from an event's own time (or its Kafka record timestamp) to the moment it was applied.",
};

pub const PARSE_ERRORS: Metric = Metric {
    name: "kafka_security_parse_errors_total",
    kind: Kind::Counter,
    help: "Records that could not become an event, by source, attempted format and reason.",
    labels: &[SOURCE, FORMAT, REASON],
    opt_in: None,
    buckets: None,
    unit: "{record}",
    doc: "Records that could not become an event. `format` is the format tried (`unknown` if none); `reason` ∈ too_large, empty, invalid_utf8, invalid_json, too_deep, missing_field, invalid_field, unrecognized.",
};

pub const REDELIVERED: Metric = Metric {
    name: "kafka_security_redelivered_records_total",
    kind: Kind::Counter,
    help: "Records Kafka delivered again after a failed offset commit that this process had already applied; skipped, so nothing is counted twice.",
    labels: &[SOURCE],
    opt_in: None,
    buckets: None,
    unit: "{record}",
    doc: "Records Kafka delivered again (after an offset commit failed, e.g. while a broker was down) that this process had already applied; skipped, so nothing is counted twice.",
};

pub const SERIES_OVERFLOW: Metric = Metric {
    name: "kafka_security_series_overflow_total",
    kind: Kind::Counter,
    help:
        "Events counted in a metric's __overflow__ series because it reached its label-set limit.",
    labels: &[METRIC],
    opt_in: None,
    buckets: None,
    unit: "{event}",
    doc: "Events counted in a capped metric's `__overflow__` series because it reached its limit.",
};

pub const CONSUMER_LAG: Metric = Metric {
    name: "kafka_security_consumer_lag_messages",
    kind: Kind::Gauge,
    help: "Messages between the consumer's position and the partition's high watermark.",
    labels: &[SOURCE, TOPIC, PARTITION],
    opt_in: None,
    buckets: None,
    unit: "{message}",
    doc: "Messages between the stored offset and the high watermark, per source and assigned partition (from librdkafka statistics).",
};

pub const SOURCE_UP: Metric = Metric {
    name: "kafka_security_source_up",
    kind: Kind::Gauge,
    help: "1 while the source is connected and has joined its consumer group, else 0.",
    labels: &[SOURCE],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "1 while the source is connected to a broker and has joined its consumer group, else 0.",
};

pub const ACL_CHANGES: Metric = Metric {
    name: "kafka_security_acl_changes_total",
    kind: Kind::Counter,
    help: "ACL changes by action (create, delete), resource type and permission (allow, deny).",
    labels: &[ACTION, RESOURCE_TYPE, PERMISSION],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "ACL changes: `action` ∈ create, delete; `permission` ∈ allow, deny; from `controller.log` (or audit events).",
};

pub const CREDENTIAL_CHANGES: Metric = Metric {
    name: "kafka_security_credential_changes_total",
    kind: Kind::Counter,
    help: "Credential changes (SCRAM credentials, delegation tokens) by action and mechanism.",
    labels: &[ACTION, MECHANISM],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "SCRAM credential and delegation-token changes: `action` ∈ create, update, delete, expire; `mechanism` `SCRAM-SHA-256`, `SCRAM-SHA-512`, `delegation-token`.",
};

pub const CONFIG_CHANGES: Metric = Metric {
    name: "kafka_security_config_changes_total",
    kind: Kind::Counter,
    help: "Configuration and client-quota changes by resource type.",
    labels: &[RESOURCE_TYPE],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "Config and quota changes by resource type (`Topic`, `Broker`, `BrokerLogger`, `ClientMetrics`, `Group`, `ClientQuota`).",
};

pub const CONNECTIONS_REJECTED: Metric = Metric {
    name: "kafka_security_connections_rejected_total",
    kind: Kind::Counter,
    help: "Connections the broker refused because a connection limit was reached, by limit.",
    labels: &[REASON],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "Connections the broker refused at a connection limit (`per_ip_limit`: `max.connections.per.ip`, the only limit Kafka logs).",
};

pub const REQUEST_DURATION: Metric = Metric {
    name: "kafka_security_request_duration_seconds",
    kind: Kind::Histogram,
    help: "Total time of requests from Kafka's request log, by API.",
    labels: &[API],
    opt_in: Some(OptInLabel {
        label: PRINCIPAL,
        config_key: "request_duration_by_principal",
        enabled: |c| c.request_duration_by_principal,
    }),
    buckets: Some(Buckets {
        config_key: "request_duration_buckets_secs",
        default: &DEFAULT_REQUEST_BUCKETS,
        read: |c| c.request_duration_buckets_secs.as_slice(),
    }),
    unit: "",
    doc: "Total time of requests in Kafka's request log, by API (`Produce`, `Fetch`…). With `metrics.request_duration_by_principal` also `principal`.",
};

pub const LOG_LINES: Metric = Metric {
    name: "kafka_security_log_lines_total",
    kind: Kind::Counter,
    help: "Broker log entries read (an entry is one log event with its continuation lines), by kind of log and level.",
    labels: &[FILE_KIND, LEVEL],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "Broker log entries read (an entry is one log event with its continuation lines), by kind (`authorizer`, `server`, `controller`, `request`, `other`) and level.",
};

pub const CHECKPOINT_FAILURES: Metric = Metric {
    name: "kafka_security_checkpoint_failures_total",
    kind: Kind::Counter,
    help: "Failed saves of a file source's checkpoints (its state_dir full, read-only, deleted or not a directory); retried every second.",
    labels: &[SOURCE],
    opt_in: None,
    buckets: None,
    unit: "{failure}",
    doc: "Failed saves of a file source's checkpoints in its `state_dir` (a full disk, a read-only or deleted directory, a file in its place), retried every second; while they fail, the source is not ready (`/readyz` names the error) and an ERROR is logged at most once a minute. Lines read since the last save are counted again after a restart. Present at 0 for every file source with a `state_dir`.",
};

pub const UNRECOGNIZED_LINES: Metric = Metric {
    name: "kafka_security_unrecognized_lines_total",
    kind: Kind::Counter,
    help: "Broker log lines outside any entry: in no log4j layout the exporter reads (or not in the configured one), or before a stream's first entry.",
    labels: &[SOURCE],
    opt_in: None,
    buckets: None,
    unit: "{line}",
    doc: "Broker log lines (file sources, Kafka sources of broker logs, and `replay`, whose `source` is `replay`) that belong to no entry: lines in no layout the exporter recognizes (or not in the configured `layout`), and lines before a stream's first entry (the end of an entry a tail started in). A stream that recognizes nothing is also logged once (WARN). Present at 0 for every file source.",
};

pub const PARTIAL_LINES: Metric = Metric {
    name: "kafka_security_partial_lines_total",
    kind: Kind::Counter,
    help: "Broker log lines in no log4j layout read for the known Kafka message they hold (partial lines: no header, so trusted less).",
    labels: &[SOURCE],
    opt_in: None,
    buckets: None,
    unit: "{line}",
    doc: "Broker log lines (file sources, Kafka sources of broker logs, and `replay`, whose `source` is `replay`) in no layout the exporter reads that were read for the known Kafka message they hold (an authorization decision, a failed authentication, a request-log or controller-change line; cut, quoted or behind a prefix), each as an entry of its own. Such entries lack the header and perhaps the trailing logger that the log-injection defense checks, so what they count is trusted less; see [Partial lines](#partial-lines). Present at 0 for every file source.",
};

pub const LOG_LAYOUT_STREAMS: Metric = Metric {
    name: "kafka_security_log_layout_streams",
    kind: Kind::Gauge,
    help: "Broker log streams (files, topic partitions) being read, by the log4j layout and line prefix their first entry was read in.",
    labels: &[SOURCE, LAYOUT, PREFIX],
    opt_in: None,
    buckets: None,
    unit: "{stream}",
    doc: "Files being read (a replay: files read; a topic: its partitions), by the layout their first entry showed: `layout` ∈ kafka, strimzi, confluent_for_kubernetes, log4j_ttcc, log4j_level_first, bracketed_category, kafka_thread_logger, configured; `prefix` ∈ none, compose, kubectl, comment, quote, journal_field, stern. A stream with no entry yet is not counted (see `kafka_security_unrecognized_lines_total`).",
};

pub const LOG_FILES_SKIPPED: Metric = Metric {
    name: "kafka_security_log_files_skipped",
    kind: Kind::Gauge,
    help: "Paths a file source's globs matched at its last poll that it could not read (unreadable) or will not read (not a regular file), by reason.",
    labels: &[SOURCE, REASON],
    opt_in: None,
    buckets: None,
    unit: "{file}",
    doc: "Paths a file source's globs matched at its last poll (about every `poll_interval_ms`) that were not read, by `reason`: `unreadable` (opening, reading or stat'ing failed: permissions, I/O errors; retried every poll, and the source is not ready meanwhile), `directory`, `fifo`, `socket`, `device` (never opened: a FIFO would block and steal another reader's lines, a device never ends). Each skipped path is also logged once (WARN). Present at 0 for every reason of every file source.",
};

pub const CONTROLLER_REPLAYS_SKIPPED: Metric = Metric {
    name: "kafka_security_controller_replays_skipped_total",
    kind: Kind::Counter,
    help: "Controller `Replayed …` changes not counted because a restarting controller was replaying records it had already committed.",
    labels: &[SOURCE],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "`controller.log` changes not counted because a restarting controller was replaying records it had committed before (between `Creating new QuorumController` and `Becoming the active controller`, at most 30 s of log time).",
};

pub const CLOCK_JUMPS: Metric = Metric {
    name: "kafka_security_clock_jumps_total",
    kind: Kind::Counter,
    help: "Jumps of the system clock (more than 2 s away from the exporter's monotonic clock), by direction; detector time and event delays do not follow a jump unless it holds for 10 minutes.",
    labels: &[DIRECTION],
    opt_in: None,
    buckets: None,
    unit: "{jump}",
    doc: "Jumps of the system clock by `direction` (`forward`, `backward`): a difference of more than 2 s to the exporter's clock, which runs on the monotonic clock and takes NTP-sized drift at once. A jump is logged (WARN) and followed only if it holds for 10 minutes, so one undone sooner (a mis-set clock, a resumed VM, tampering) never moves detector windows, first-seen horizons, log-silence checks or event delays. Present at 0 for both directions.",
};

pub const BUILD_INFO: Metric = Metric {
    name: "kafka_security_build_info",
    kind: Kind::Gauge,
    help: "Always 1; labels name the exporter's version and source revision.",
    labels: &[VERSION, REVISION],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "Always 1; names the running version.",
};

pub const OTLP_EXPORT_FAILURES: Metric = Metric {
    name: "kafka_security_otlp_export_failures_total",
    kind: Kind::Counter,
    help: "OTLP export requests that failed after retries (collector down, slow or refusing), by signal.",
    labels: &[SIGNAL],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "OTLP export requests (`signal` ∈ metrics, traces, logs) that failed after retries: collector down, too slow or refusing. Present at 0 for every signal when OTLP is on, absent when it is off.",
};

pub const OTLP_DROPPED: Metric = Metric {
    name: "kafka_security_otlp_dropped_total",
    kind: Kind::Counter,
    help: "Spans, metric data points or log records that never reached the collector (queue full, failed export, rejected), by signal.",
    labels: &[SIGNAL],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "Spans, metric data points or log records that never reached the collector: span or log queue full, export failed, or rejected by the collector. A failed metric push loses nothing: the next successful one carries its counts again (cumulative values, or a delta since the last successful push).",
};

pub const OUTPUT_EVENTS: Metric = Metric {
    name: "kafka_security_output_events_total",
    kind: Kind::Counter,
    help: "Normalized events and detections the output topic acknowledged (acks=all).",
    labels: &[],
    opt_in: None,
    buckets: None,
    unit: "{event}",
    doc: "Normalized events and detections the output topic (`output.kafka`) acknowledged with `acks=all`, each once (idempotent producer). Present at 0 when the output is on, absent when it is off.",
};

pub const OUTPUT_DROPPED: Metric = Metric {
    name: "kafka_security_output_dropped_total",
    kind: Kind::Counter,
    help: "Normalized events and detections that never reached the output topic, by reason.",
    labels: &[REASON],
    opt_in: None,
    buckets: None,
    unit: "{event}",
    doc: "Normalized events and detections that never reached the output topic, by `reason`: `queue_full` (the bounded producer queue, `output.kafka.queue_max_events`, was full: the topic or broker is down or slower than the input; sources never wait), `too_large` (the JSON is larger than the producer's `message.max.bytes`), `delivery_failed` (not acknowledged within `message.timeout.ms`, or refused by the broker: no such topic, not authorized), `shutdown` (still queued when the shutdown grace period ran out). Present at 0 for every reason when the output is on.",
};

pub const DETECTIONS: Metric = Metric {
    name: "kafka_security_detections_total",
    kind: Kind::Counter,
    help: "Detections raised by the stateful detectors, by detector, MITRE ATT&CK technique, severity and subject (capped).",
    labels: &[DETECTOR, TECHNIQUE, SEVERITY, SUBJECT],
    opt_in: None,
    buckets: None,
    unit: "{detection}",
    doc: "Detections raised by the stateful detectors (see [Detections](#detections)): `detector` (`brute_force`, `password_spraying`…), `technique` (MITRE ATT&CK id, `none` for `anomaly`), `severity` ∈ warning, critical; `subject` is the client host, principal, log stream or `all` it is about (`__overflow__` when the detector tracked it beyond `detectors.max_subjects`).",
};

pub const DETECTOR_OVERFLOW: Metric = Metric {
    name: "kafka_security_detector_overflow_total",
    kind: Kind::Counter,
    help: "Events a detector tracked under its __overflow__ subject because it already tracked detectors.max_subjects subjects.",
    labels: &[DETECTOR],
    opt_in: None,
    buckets: None,
    unit: "{event}",
    doc: "Events a detector tracked together under `__overflow__` because it already tracked `detectors.max_subjects` subjects; updated every 10 s (and at the end of a replay). Present at 0 for every detector that is on.",
};

pub const DETECTIONS_SUPPRESSED: Metric = Metric {
    name: "kafka_security_detections_suppressed_total",
    kind: Kind::Counter,
    help: "Repeat detections not raised: the same windowed detector fired again on the same subject within its window.",
    labels: &[DETECTOR],
    opt_in: None,
    buckets: None,
    unit: "{detection}",
    doc: "Repeat detections not raised because the same windowed detector (`brute_force`, `password_spraying`, `credential_stuffing`, `slow_brute_force`, `success_after_failures`, `privilege_probing`) already raised one on the same subject within its window: a sustained attack is one detection per window, not one per threshold crossed. Updated every 10 s (and at the end of a replay). Present at 0 for every detector that is on.",
};

pub const DETECTOR_STATE_FAILURES: Metric = Metric {
    name: "kafka_security_detector_state_failures_total",
    kind: Kind::Counter,
    help: "Failed saves of the detectors' state file (first-seen memory, baselines).",
    labels: &[],
    opt_in: None,
    buckets: None,
    unit: "{failure}",
    doc: "Failed saves of the detectors' state file (`state_dir`/detectors.json: first-seen memory, anomaly baselines); retried at the next save (every 60 s and at shutdown). Present at 0 when a detector is on.",
};

pub const STATE_SNAPSHOT_FAILURES: Metric = Metric {
    name: "kafka_security_state_snapshot_failures_total",
    kind: Kind::Counter,
    help: "Failed writes of the state snapshot (every counter, histogram and source position) to state_dir; /metrics then serves the last snapshot written.",
    labels: &[],
    opt_in: None,
    buckets: None,
    unit: "{failure}",
    doc: "Failed writes of the state snapshot (`state_dir`/state.snapshot: every counter and histogram with the Kafka offsets and file checkpoints they count up to; see [Counting across crashes](#counting-across-crashes)), retried at the next snapshot, scrape and at shutdown. While they fail, `/metrics` and OTLP serve the last snapshot written (counters stand still, never go down), `/readyz` answers 503 naming the error, and an ERROR is logged at most once a minute. A process counter: it starts at 0 with each process and is not in the snapshot. Present at 0 when `state_dir` is set.",
};

pub const STATE_COMMIT_FAILURES: Metric = Metric {
    name: "kafka_security_state_commit_failures_total",
    kind: Kind::Counter,
    help: "State snapshots whose Kafka offsets could not be committed, by source; /metrics then serves the last snapshot whose commit landed.",
    labels: &[SOURCE],
    opt_in: None,
    buckets: None,
    unit: "{failure}",
    doc: "State snapshots whose Kafka offsets could not be committed to the source's consumer group (the coordinator unreachable, a rebalance under way, the member expelled), by `source`. Such a snapshot stays `state.snapshot.next` and does not count: `/metrics` and OTLP serve the last snapshot whose commit landed, and the next snapshot commits again; see [Counting across crashes](#counting-across-crashes). A WARN is logged at most once a minute. A process counter: it starts at 0 with each process and is not in the snapshot. Present at 0 for each Kafka source when `state_dir` is set.",
};

pub const EXPORTER_LOG_LINES_DROPPED: Metric = Metric {
    name: "kafka_security_exporter_log_lines_dropped_total",
    kind: Kind::Counter,
    help: "Lines of the exporter's own output (its logs on stderr, the demo's banner on stdout) dropped because the output was blocked or failing.",
    labels: &[REASON],
    opt_in: None,
    buckets: None,
    unit: "{line}",
    doc: "Lines of the exporter's own output (its logs on stderr, the demo's banner on stdout) dropped, by `reason`: `queue_full` (the output does not take lines as fast as they come: a pipe nobody reads; 1 MiB is held per stream), `write_failed` (a closed pipe, a full disk, a terminal gone). The exporter never waits on its output: it drops and counts instead. Present at 0 for both reasons.",
};

pub const WEB_CONFIG_RELOAD_FAILURES: Metric = Metric {
    name: "kafka_security_web_config_reload_failures_total",
    kind: Kind::Counter,
    help: "Changes of the web config file (or of the certificate, key or CA files it names) that could not be loaded; the last good configuration stays in force.",
    labels: &[],
    opt_in: None,
    buckets: None,
    unit: "{failure}",
    doc: "Changes of `--web.config.file` (or of the certificate, key or client CA files it names) that could not be loaded: each bad version is counted once and logged as an error naming the problem, and the last good configuration stays in force. Present at 0 when a web config file is set.",
};

pub const WEB_CONFIG_LAST_RELOAD_SUCCESSFUL: Metric = Metric {
    name: "kafka_security_web_config_last_reload_successful",
    kind: Kind::Gauge,
    help: "1 when the last change of the web config files was loaded, 0 when it was rejected and an older configuration is in force.",
    labels: &[],
    opt_in: None,
    buckets: None,
    unit: "",
    doc: "1 when the last change of the web config files was loaded (or none happened since the start), 0 when it was rejected and an older configuration is still in force. Present when a web config file is set.",
};

/// Every metric, in the README's order.
pub const ALL: [&Metric; 39] = [
    &EVENTS,
    &AUTHENTICATION,
    &AUTHENTICATION_FAILURES_BY_CLIENT,
    &AUTHORIZATION,
    &AUTHORIZATION_DENIALS_BY_PRINCIPAL,
    &LOG_INJECTION,
    &EVENT_DELAY,
    &PARSE_ERRORS,
    &REDELIVERED,
    &SERIES_OVERFLOW,
    &CONSUMER_LAG,
    &SOURCE_UP,
    &ACL_CHANGES,
    &CREDENTIAL_CHANGES,
    &CONFIG_CHANGES,
    &CONNECTIONS_REJECTED,
    &REQUEST_DURATION,
    &LOG_LINES,
    &UNRECOGNIZED_LINES,
    &CHECKPOINT_FAILURES,
    &PARTIAL_LINES,
    &LOG_LAYOUT_STREAMS,
    &LOG_FILES_SKIPPED,
    &CONTROLLER_REPLAYS_SKIPPED,
    &CLOCK_JUMPS,
    &BUILD_INFO,
    &OTLP_EXPORT_FAILURES,
    &OTLP_DROPPED,
    &OUTPUT_EVENTS,
    &OUTPUT_DROPPED,
    &DETECTIONS,
    &DETECTOR_OVERFLOW,
    &DETECTIONS_SUPPRESSED,
    &DETECTOR_STATE_FAILURES,
    &STATE_SNAPSHOT_FAILURES,
    &STATE_COMMIT_FAILURES,
    &EXPORTER_LOG_LINES_DROPPED,
    &WEB_CONFIG_RELOAD_FAILURES,
    &WEB_CONFIG_LAST_RELOAD_SUCCESSFUL,
];

/// The metric named `name`.
pub fn find(name: &str) -> Option<&'static Metric> {
    ALL.into_iter().find(|m| m.name == name)
}

/// Every capped metric, in catalogue order.
pub fn capped() -> impl Iterator<Item = &'static Metric> {
    ALL.into_iter().filter(|m| m.capped())
}

/// The README row for the standard process metrics, which the catalogue does not define.
const PROCESS_ROW: &str = "| `process_*` | various | | The standard process metrics: CPU, resident memory, open file descriptors, start time. |";

/// The README's metric table, rendered from [`ALL`]; the README holds it between
/// [`README_START`] and [`README_END`].
pub fn readme_table() -> String {
    let mut out = String::from("| metric | type | labels | meaning |\n|---|---|---|---|\n");
    for m in ALL {
        out.push_str(&m.readme_row());
        out.push('\n');
    }
    out.push_str(PROCESS_ROW);
    out.push('\n');
    out
}

/// The markers around the generated table in `README.md`.
pub const README_START: &str = "<!-- metric-table: generated from src/metrics/catalogue.rs -->\n";
pub const README_END: &str = "<!-- /metric-table -->\n";

/// Namespaces whose first `_` becomes a `.` in an OTLP name.
const NAMESPACES: [&str; 2] = ["kafka_security_", "process_"];

/// The OTLP name and unit of a Prometheus metric, ours or a process metric.
///
/// Names follow OpenTelemetry style, chosen so that the collector's Prometheus translation
/// (`otlptranslator`) gives back exactly the Prometheus name: drop `_total` from counters, turn a
/// `_seconds`/`_bytes` suffix into the unit `s`/`By`, and put a dot after the namespace
/// (`kafka_security`, `process`). Counted things keep their catalogue unit (`{event}`).
pub fn otlp_name(prometheus_name: &str, counter: bool) -> (String, &'static str) {
    let mut base = prometheus_name;
    if counter {
        base = base.strip_suffix("_total").unwrap_or(base);
    }
    let mut unit = find(prometheus_name).map_or("", |m| m.unit);
    for (suffix, u) in [("_seconds", "s"), ("_bytes", "By")] {
        if let Some(stripped) = base.strip_suffix(suffix) {
            base = stripped;
            unit = u;
            break;
        }
    }
    let name = match NAMESPACES.iter().find(|ns| base.starts_with(*ns)) {
        Some(ns) if base.len() > ns.len() => {
            format!("{}.{}", &ns[..ns.len() - 1], &base[ns.len()..])
        }
        _ => base.to_string(),
    };
    (name, unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_follow_the_conventions() {
        for (i, m) in ALL.iter().enumerate() {
            assert!(m.name.starts_with("kafka_security_"), "{}", m.name);
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}",
                m.name
            );
            assert_eq!(m.kind == Kind::Histogram, m.buckets.is_some(), "{}", m.name);
            assert!(
                ALL[i + 1..].iter().all(|o| o.name != m.name),
                "{} twice",
                m.name
            );
        }
    }

    #[test]
    fn the_capped_metrics_are_those_with_input_labels() {
        let capped: Vec<&str> = capped().map(|m| m.name).collect();
        assert_eq!(
            capped,
            [
                EVENTS.name,
                AUTHENTICATION.name,
                AUTHENTICATION_FAILURES_BY_CLIENT.name,
                AUTHORIZATION.name,
                AUTHORIZATION_DENIALS_BY_PRINCIPAL.name,
                LOG_INJECTION.name,
                ACL_CHANGES.name,
                CREDENTIAL_CHANGES.name,
                CONFIG_CHANGES.name,
                REQUEST_DURATION.name,
                DETECTIONS.name,
            ]
        );
    }

    #[test]
    fn otlp_names_round_trip_the_examples() {
        assert_eq!(
            EVENTS.otlp(),
            ("kafka_security.events".to_string(), "{event}")
        );
        assert_eq!(
            EVENT_DELAY.otlp(),
            ("kafka_security.event_delay".to_string(), "s")
        );
        assert_eq!(
            CONSUMER_LAG.otlp(),
            (
                "kafka_security.consumer_lag_messages".to_string(),
                "{message}"
            )
        );
        assert_eq!(
            otlp_name("process_resident_memory_bytes", false),
            ("process.resident_memory".to_string(), "By")
        );
    }
}
