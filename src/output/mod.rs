//! The normalized event topic: every event the pipeline records (and every detection) produced
//! to a Kafka topic as JSON, in OCSF 1.3.0 ([`ocsf`]) or ECS ([`ecs`]), for a centralized
//! logging system to keep (Kafka Connect sinks carry the topic to Elasticsearch, Splunk, S3).
//!
//! Delivery: an idempotent producer with `acks=all` (each event once, in order per principal;
//! records are keyed by the principal, a detection by its subject). Events are serialized into a
//! per-thread buffer that is reused, then copied into librdkafka's queue, which batches them
//! (`linger.ms`) and sends them from its own threads: the pipeline never waits for the topic.
//! That queue is the bound (`queue_max_events`): when the topic or its broker is down, events
//! wait in it and, once it is full, are dropped and counted
//! (`kafka_security_output_dropped_total{reason="queue_full"}`); an event not acknowledged
//! within `message.timeout.ms` is counted as `delivery_failed`. At shutdown, after the sources
//! stopped, [`EventTopic::close`] flushes what is queued within the grace period left and counts
//! what is still queued then as `shutdown`.

pub mod config;
pub mod ecs;
mod fields;
mod json;
pub mod ocsf;

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};

pub use config::{KafkaOutputConfig, OutputConfig, Schema};

use crate::detect::Detection;
use crate::event::SecurityEvent;
use crate::metrics::internal::InternalEvent;
use crate::metrics::output::{OutputDelivered, OutputDrop, OutputDropped};
use crate::metrics::Metrics;
use crate::telemetry::{KeyedRateLimit, RateLimit};

/// The product name in every record (OCSF `metadata.product`, ECS `observer.product`).
pub const PRODUCT: &str = "kafka-security-exporter";

/// What the mappings need besides the event.
#[derive(Debug, Clone)]
pub struct Context {
    /// `raw_data` (`event.original`) is cut to this many bytes; 0 leaves it out.
    pub raw_data_max_bytes: usize,
}

/// The original record or message as text, cut at `max` bytes on a character boundary (and
/// without a trailing line end); `None` when empty or when `max` is 0. Borrowed unless the
/// input is not UTF-8.
pub fn raw_text(raw: &[u8], max: usize) -> Option<Cow<'_, str>> {
    let raw = raw.trim_ascii_end();
    if max == 0 || raw.is_empty() {
        return None;
    }
    let cut = &raw[..raw.len().min(max)];
    Some(match std::str::from_utf8(cut) {
        Ok(text) => Cow::Borrowed(text),
        // Cut inside a character: keep the characters before it.
        Err(e) if e.error_len().is_none() => {
            Cow::Borrowed(std::str::from_utf8(&cut[..e.valid_up_to()]).unwrap_or_default())
        }
        Err(_) => String::from_utf8_lossy(cut),
    })
}

/// Writes `event` in `schema` to `out` (cleared first).
pub fn write_event(
    schema: Schema,
    ctx: &Context,
    event: &SecurityEvent<'_>,
    raw: &[u8],
    out: &mut Vec<u8>,
) {
    out.clear();
    match schema {
        Schema::Ocsf => ocsf::write_event(ctx, event, raw, out),
        Schema::Ecs => ecs::write_event(ctx, event, raw, out),
    }
}

/// Writes detection `d` in `schema` to `out` (cleared first).
pub fn write_detection(
    schema: Schema,
    ctx: &Context,
    d: &Detection,
    now: SystemTime,
    out: &mut Vec<u8>,
) {
    out.clear();
    let uid = detection_uid(d);
    match schema {
        Schema::Ocsf => ocsf::write_detection(ctx, d, &uid, now, out),
        Schema::Ecs => ecs::write_detection(ctx, d, &uid, now, out),
    }
}

/// A detection's identifier: its detector, subject and the event time of the event that made it
/// fire (milliseconds). The same detection raised again after a restart has the same one.
pub fn detection_uid(d: &Detection) -> String {
    let at = d
        .last_event
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_millis());
    format!("{}:{}:{at}", d.detector.as_str(), d.subject)
}

/// Counts what librdkafka reports delivered or lost, and logs its trouble rate-limited.
struct Delivery {
    metrics: Arc<Metrics>,
    topic: String,
    /// Client errors (a broker down is reported by every one of its threads, again and again).
    error_limit: RateLimit,
    /// librdkafka's own warnings and errors, per facility and broker thread.
    log_limit: KeyedRateLimit,
}

impl Delivery {
    fn new(metrics: Arc<Metrics>, topic: String) -> Delivery {
        Delivery {
            metrics,
            topic,
            error_limit: RateLimit::new(Duration::from_secs(10)),
            log_limit: KeyedRateLimit::new(Duration::from_secs(60), 256),
        }
    }
}

impl ClientContext for Delivery {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        crate::telemetry::librdkafka_log!(
            output = &self.topic,
            self.log_limit,
            level,
            fac,
            message
        );
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let Some(suppressed) = self.error_limit.check() {
            tracing::warn!(
                output = %self.topic,
                %error,
                %reason,
                suppressed,
                "The output topic's producer: Kafka client error; events wait in its queue (dropped and counted when it is full)."
            );
        }
    }
}

impl ProducerContext for Delivery {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => OutputDelivered { count: 1 }.emit(&self.metrics),
            Err((error, _)) => OutputDropped {
                reason: drop_reason(error),
                count: 1,
                topic: &self.topic,
                error: Some(error),
            }
            .emit(&self.metrics),
        }
    }
}

fn drop_reason(error: &KafkaError) -> OutputDrop {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::QueueFull) => OutputDrop::QueueFull,
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => OutputDrop::TooLarge,
        Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight) => {
            OutputDrop::Shutdown
        }
        _ => OutputDrop::DeliveryFailed,
    }
}

thread_local! {
    /// The JSON of the event being produced, reused by every event of the thread.
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
    /// Events this thread published, for [`POLL_EVERY`].
    static PUBLISHED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Serves the delivery reports that are ready: each poll takes one event of librdkafka's queue,
/// a batch of reports (one per produce request and partition).
fn serve(producer: &BaseProducer<Delivery>) {
    for _ in 0..8 {
        producer.poll(Duration::ZERO);
    }
}

/// The thread that serves delivery reports while no event is published.
struct Poller {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Poller {
    fn start(producer: Arc<BaseProducer<Delivery>>) -> std::io::Result<Poller> {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("output-deliveries".into())
            .spawn({
                let stop = stop.clone();
                move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::park_timeout(POLL_TICK);
                        serve(&producer);
                    }
                }
            })?;
        Ok(Poller {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Publishes between two polls of the delivery reports on a publishing thread.
const POLL_EVERY: u32 = 64;
/// How often the [`Poller`] serves what the publishing threads left (when they are idle).
const POLL_TICK: Duration = Duration::from_millis(50);

/// The output topic's producer.
///
/// Delivery reports are served by the threads that publish (every [`POLL_EVERY`] events) and,
/// for when they are idle, by a thread of its own every [`POLL_TICK`]. That thread sleeps
/// instead of waiting on librdkafka's queue: waiting there (as rdkafka's `ThreadedProducer`
/// does) woke it for every report, thousands of times a second, and its freeing the messages
/// the consuming thread had allocated made the two contend for the allocator's lock.
pub struct EventTopic {
    producer: Arc<BaseProducer<Delivery>>,
    /// Stopped (and joined) when the topic is dropped.
    _poller: Poller,
    topic: String,
    schema: Schema,
    detections: bool,
    ctx: Context,
    metrics: Arc<Metrics>,
    /// Wait for room instead of dropping when the queue is full ([`EventTopic::waiting_when_full`]).
    wait_when_full: bool,
}

impl EventTopic {
    /// Creates the producer (it connects in the background) and the output's series at 0.
    pub fn start(config: &KafkaOutputConfig, metrics: Arc<Metrics>) -> Result<EventTopic, String> {
        let cc = config.client_config()?;
        let producer: BaseProducer<Delivery> = cc
            .create_with_context(Delivery::new(metrics.clone(), config.topic.clone()))
            .map_err(|e| format!("cannot create the output producer: {e}"))?;
        metrics.init_output();
        tracing::info!(
            topic = %config.topic,
            schema = config.schema.as_str(),
            detections = config.detections,
            queue_max_events = config.queue_max_events,
            "Producing normalized events to the output topic."
        );
        let producer = Arc::new(producer);
        Ok(EventTopic {
            _poller: Poller::start(producer.clone())
                .map_err(|e| format!("cannot start the output producer's poller: {e}"))?,
            producer,
            topic: config.topic.clone(),
            schema: config.schema,
            detections: config.detections,
            ctx: Context {
                raw_data_max_bytes: config.raw_data_max_bytes,
            },
            metrics,
            wait_when_full: false,
        })
    }

    /// Makes a full queue hold the caller until librdkafka has room, instead of dropping the
    /// event: for `replay`, which reads as fast as it can and has no live input to keep up with.
    /// The wait ends as events are acknowledged, or expire after `message.timeout.ms` (counted
    /// as `delivery_failed`) when the topic stays unreachable.
    pub fn waiting_when_full(mut self) -> EventTopic {
        self.wait_when_full = true;
        self
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues `event` (read from `raw`) for the topic, keyed by its principal. Never waits.
    pub fn publish(&self, event: &SecurityEvent<'_>, raw: &[u8]) {
        let at = event.event_time.unwrap_or(event.observed_time);
        BUFFER.with_borrow_mut(|buf| {
            write_event(self.schema, &self.ctx, event, raw, buf);
            self.send(event.principal.as_deref(), at, buf);
        });
    }

    /// Queues detection `d` for the topic (when detections are on), keyed by its subject.
    pub fn publish_detection(&self, d: &Detection) {
        if !self.detections {
            return;
        }
        BUFFER.with_borrow_mut(|buf| {
            write_detection(self.schema, &self.ctx, d, SystemTime::now(), buf);
            self.send(Some(&d.subject), d.last_event, buf);
        });
    }

    fn send(&self, key: Option<&str>, at: SystemTime, payload: &[u8]) {
        PUBLISHED.set(PUBLISHED.get().wrapping_add(1));
        if PUBLISHED.get().is_multiple_of(POLL_EVERY) {
            self.serve_deliveries();
        }
        let mut record = BaseRecord::to(&self.topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key.as_bytes());
        }
        if let Ok(t) = at.duration_since(UNIX_EPOCH) {
            record = record.timestamp(i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return,
                Err((error, again))
                    if self.wait_when_full
                        && error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) =>
                {
                    // Acknowledgements make room.
                    self.producer.poll(Duration::from_millis(5));
                    record = again;
                }
                Err((error, _)) => return self.dropped(drop_reason(&error), &error),
            }
        }
    }

    /// Counts the delivery reports that are ready (a few batches of them), without waiting.
    fn serve_deliveries(&self) {
        serve(&self.producer);
    }

    fn dropped(&self, reason: OutputDrop, error: &dyn std::fmt::Display) {
        OutputDropped {
            reason,
            count: 1,
            topic: &self.topic,
            error: Some(error),
        }
        .emit(&self.metrics);
    }

    /// Waits up to `timeout` for every queued event to be acknowledged (blocking: call it off
    /// the async workers). Returns true when none is left.
    ///
    /// librdkafka's own answer decides: it counted no message and no report left. Its
    /// `outq_len` (`in_flight_count`) is not a second opinion, as it also counts the client's
    /// error events, which a broker thread can raise at any moment while a broker is down.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.producer.flush(timeout).is_ok()
    }

    /// The shutdown step, after the sources stopped: flushes within `timeout`, then gives up on
    /// what is still queued, which is counted as `shutdown` and logged as an error. Blocking.
    pub fn close(&self, timeout: Duration) {
        if self.flush(timeout) {
            tracing::info!(topic = %self.topic, "Flushed the output topic.");
            return;
        }
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        // The purged events' delivery reports count them (reason `shutdown`).
        let _ = self.producer.flush(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests;
