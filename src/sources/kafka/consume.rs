//! The consume loop: one thread per Kafka source polls librdkafka's consumer queue and applies
//! each record in place, with no async hop between the queue and the metrics.
//!
//! Offsets are stored in batches: after [`STORE_EVERY`] records, whenever the queue runs dry
//! (a poll that waited [`POLL_TIMEOUT`] in vain), before every commit the exporter makes itself
//! (librdkafka runs the revoke callback inside `poll`, on this thread, between two records) and
//! before the final commit. A record's offset is therefore still stored only after it was
//! applied; batching only saves librdkafka a locked store per record. With a state snapshot
//! nothing is stored: only a snapshot's offsets are committed, by the snapshot itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};

use super::{SourceContext, TopicFormats};
use crate::event::Origin;
use crate::metrics::internal::{InternalEvent, RecordRedelivered};
use crate::parse::log4j::FramerConfig;
use crate::parse::{Input, Record, TraceHeaders};
use crate::pipeline::{Item, Pipeline};
use crate::telemetry::RateLimit;

/// How long one poll waits for a record: the bound on noticing a stop, and how long the queue
/// must stay empty before the offsets of a partial batch are stored.
pub(super) const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Records applied between two offset stores while records keep coming.
pub(super) const STORE_EVERY: u32 = 1024;

/// Polls and applies records until `stop` is set; returns how many records were applied. The
/// caller stores what is left and commits.
pub(super) fn consume(
    consumer: &BaseConsumer<SourceContext>,
    pipeline: &Pipeline,
    name: &str,
    mut formats: TopicFormats,
    stop: &AtomicBool,
) -> u64 {
    let context = consumer.context();
    let errors = RateLimit::new(Duration::from_secs(10));
    let mut applied: u64 = 0;
    let mut unstored: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(POLL_TIMEOUT) {
            Some(Ok(message)) => {
                // Applying and noting the position are one step for the state snapshot.
                let cut = context.state.as_ref().map(|(s, _)| s.cut().apply());
                if context.already_applied(&message) {
                    RecordRedelivered { source: name }.emit(pipeline.metrics());
                } else {
                    let (format, framer) = formats.get(message.topic());
                    apply(pipeline, name, format, &framer, &message);
                    applied += 1;
                }
                drop(cut);
                unstored += 1;
                if unstored >= STORE_EVERY {
                    context.store_delivered(consumer);
                    unstored = 0;
                    context.check_topics(consumer);
                }
            }
            Some(Err(error)) => {
                // librdkafka reconnects by itself; an error here is an event describing it.
                // Drained at once: waiting here would leave the records queued behind a backlog
                // of stale outage errors.
                context.note_error(&error);
                if let Some(suppressed) = errors.check() {
                    tracing::warn!(source = %name, %error, suppressed, "Kafka consume error; librdkafka is retrying.");
                }
                context.check_topics(consumer);
            }
            None => {
                if unstored > 0 {
                    context.store_delivered(consumer);
                    unstored = 0;
                }
                context.check_topics(consumer);
            }
        }
    }
    applied
}

/// Turns a Kafka message into a [`Record`] and applies it.
fn apply(
    pipeline: &Pipeline,
    source: &str,
    format: Input,
    framer: &FramerConfig,
    message: &BorrowedMessage<'_>,
) {
    let timestamp = message
        .timestamp()
        .to_millis()
        .filter(|ms| *ms >= 0)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms as u64));
    let record = Record {
        key: message.key(),
        payload: message.payload().unwrap_or_default(),
        timestamp,
        origin: Origin::Kafka {
            topic: message.topic().into(),
            partition: message.partition(),
            offset: message.offset(),
        },
        observed_time: crate::clock::now(),
        trace_context: trace_headers(message),
    };
    pipeline.apply(
        source,
        format,
        Item::Record {
            record: &record,
            framer,
        },
    );
}

/// The record's W3C `traceparent` and `tracestate` headers, if it has a `traceparent`. Header
/// names are matched case-insensitively (W3C names are lowercase; some clients capitalise).
fn trace_headers<'a>(message: &'a BorrowedMessage<'_>) -> Option<TraceHeaders<'a>> {
    let headers = message.headers()?;
    let mut traceparent = None;
    let mut tracestate = None;
    for h in headers.iter() {
        if h.key.eq_ignore_ascii_case("traceparent") {
            traceparent = traceparent.or(h.value);
        } else if h.key.eq_ignore_ascii_case("tracestate") {
            tracestate = tracestate.or(h.value);
        }
    }
    Some(TraceHeaders {
        traceparent: traceparent?,
        tracestate,
    })
}
