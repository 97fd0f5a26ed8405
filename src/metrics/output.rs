//! The output topic's self-metrics: what reached the topic and what never did, by reason. Held
//! by [`super::Metrics`]; recorded through the internal events below, which log each kind of
//! loss at most every 30 s.

use std::fmt::Display;
use std::time::Duration;

use prometheus::IntCounterVec;

use super::catalogue as c;
use super::internal::InternalEvent;
use super::Metrics;
use crate::telemetry::RateLimit;

/// Why an event never reached the output topic: the `reason` label of
/// `kafka_security_output_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputDrop {
    /// The bounded producer queue was full.
    QueueFull,
    /// Larger than the producer's `message.max.bytes`.
    TooLarge,
    /// Not acknowledged within `message.timeout.ms`, or refused by the broker.
    DeliveryFailed,
    /// Still queued when the shutdown grace period ran out.
    Shutdown,
}

impl OutputDrop {
    pub const ALL: [OutputDrop; 4] = [
        OutputDrop::QueueFull,
        OutputDrop::TooLarge,
        OutputDrop::DeliveryFailed,
        OutputDrop::Shutdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputDrop::QueueFull => "queue_full",
            OutputDrop::TooLarge => "too_large",
            OutputDrop::DeliveryFailed => "delivery_failed",
            OutputDrop::Shutdown => "shutdown",
        }
    }
}

/// The output's counters and the rate limits of its warnings.
pub(super) struct OutputMetrics {
    events: IntCounterVec,
    dropped: IntCounterVec,
    /// One per [`OutputDrop`], in [`OutputDrop::ALL`]'s order.
    warned: [RateLimit; 4],
}

impl OutputMetrics {
    /// Its two counter families (events, dropped), for [`super::durable`].
    pub(super) fn counters(&self) -> (&IntCounterVec, &IntCounterVec) {
        (&self.events, &self.dropped)
    }

    pub(super) fn new(events: IntCounterVec, dropped: IntCounterVec) -> OutputMetrics {
        debug_assert_eq!(c::OUTPUT_DROPPED.labels.len(), 1);
        const PERIOD: Duration = Duration::from_secs(30);
        OutputMetrics {
            events,
            dropped,
            warned: [
                RateLimit::new(PERIOD),
                RateLimit::new(PERIOD),
                RateLimit::new(PERIOD),
                RateLimit::new(PERIOD),
            ],
        }
    }
}

impl Metrics {
    /// Creates the output's series at 0 (every drop reason), when the output starts.
    pub fn init_output(&self) {
        self.output.events.with_label_values::<&str>(&[]);
        for reason in OutputDrop::ALL {
            self.output.dropped.with_label_values(&[reason.as_str()]);
        }
    }

    /// What the output topic acknowledged so far, and what it dropped by reason (in
    /// [`OutputDrop::ALL`]'s order): `kafka_security_output_events_total` and
    /// `kafka_security_output_dropped_total`. For `replay`'s summary.
    pub fn output_totals(&self) -> (u64, [(OutputDrop, u64); 4]) {
        let delivered = self.output.events.with_label_values::<&str>(&[]).get();
        let dropped = OutputDrop::ALL.map(|reason| {
            let n = self
                .output
                .dropped
                .with_label_values(&[reason.as_str()])
                .get();
            (reason, n)
        });
        (delivered, dropped)
    }
}

/// Events the output topic acknowledged.
pub struct OutputDelivered {
    pub count: u64,
}

impl InternalEvent for OutputDelivered {
    fn emit(self, metrics: &Metrics) {
        // The series exists only once the output started (`init_output`), as the README says.
        metrics
            .output
            .events
            .with_label_values::<&str>(&[])
            .inc_by(self.count);
    }
}

/// Events that will never reach the output topic: counted in
/// `kafka_security_output_dropped_total{reason}`, warned about at most every 30 s per reason.
pub struct OutputDropped<'a> {
    pub reason: OutputDrop,
    pub count: u64,
    pub topic: &'a str,
    /// What librdkafka said, when it said something.
    pub error: Option<&'a dyn Display>,
}

impl InternalEvent for OutputDropped<'_> {
    fn emit(self, metrics: &Metrics) {
        let OutputDropped {
            reason,
            count,
            topic,
            error,
        } = self;
        metrics
            .output
            .dropped
            .with_label_values(&[reason.as_str()])
            .inc_by(count);
        let i = OutputDrop::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or_default();
        let Some(suppressed) = metrics.output.warned[i].check() else {
            return;
        };
        let error = error.map(ToString::to_string).unwrap_or_default();
        match reason {
            OutputDrop::QueueFull => tracing::warn!(topic, events = count, suppressed, "Output topic queue full: events dropped and counted in kafka_security_output_dropped_total. Is the topic's broker reachable? Sources do not wait for it."),
            OutputDrop::TooLarge => tracing::warn!(topic, events = count, suppressed, %error, "Event larger than the producer's message.max.bytes: dropped and counted. Lower output.kafka.raw_data_max_bytes or raise message.max.bytes."),
            OutputDrop::DeliveryFailed => tracing::warn!(topic, events = count, suppressed, %error, "Events not delivered to the output topic: dropped and counted in kafka_security_output_dropped_total."),
            OutputDrop::Shutdown => tracing::error!(topic, events = count, %error, "Events still queued for the output topic at the end of the shutdown grace period are lost."),
        }
    }
}
