//! The Kafka source: one consumer-group member per configured source.
//!
//! Counting is at-least-once and, across graceful restarts and rebalances, exact:
//! - `enable.auto.offset.store=false`: a record's offset is stored only after its event has been
//!   applied to the metric state. Records are applied synchronously, one at a time, between
//!   polls, on the source's own thread ([`consume`]); offsets are stored in batches, one per
//!   partition (the offset after the last applied record), every 1024 records, whenever the queue
//!   runs dry, and before each of the commits below;
//! - without a state snapshot, stored offsets are committed every 5 s
//!   (`auto.commit.interval.ms`), synchronously when
//!   partitions are revoked (in `pre_rebalance`, which librdkafka runs inside the poll, so no
//!   record is in flight; it stores the pending batch first), and synchronously on shutdown
//!   before the consumer leaves its group;
//! - without a state snapshot, after a crash, records since the last commit are counted again by
//!   the next process, whose counters start from zero anyway (Prometheus sees a counter reset);
//! - with one (top-level `state_dir`, see [`crate::state`]), counting is exact across crashes
//!   too, in a group as well: each record is applied under the snapshot's cut; auto-commit is off
//!   and only a snapshot's offsets are committed, by the snapshot itself, tagged, before it
//!   counts ([`handover`]); a revoke and the shutdown take a snapshot (which commits); and at
//!   start each assigned partition resumes at the restored snapshot's offset unless another
//!   member committed further since ([`SourceContext::rebalance`]).
//!
//! Memory is bounded by librdkafka's prefetch queue (`queued.max.messages.kbytes`, 16 MiB by
//! default here); the loop applies records as fast as it reads them and never queues them itself.
//! When brokers are unreachable, librdkafka reconnects with backoff, `/metrics` keeps serving,
//! and `kafka_security_source_up` and `/readyz` say the source is down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::health::Health;
use crate::metrics::Metrics;
use crate::parse::log4j::FramerConfig;
use crate::parse::Input;
use crate::pipeline::Pipeline;
use crate::state::{StateError, StateStore};
use crate::telemetry::{KeyedRateLimit, RateLimit};

mod config;
mod consume;
mod handover;
mod offsets;
pub use config::{property_problems, KafkaSourceConfig, TopicConfig};
pub use handover::pending_landed;
use handover::Committer;
use offsets::Applied;

/// Why a Kafka source could not start.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSourceError {
    #[error("source {source_name}: invalid consumer configuration: {reason}")]
    Config { source_name: String, reason: String },
    #[error("source {source_name}: cannot create the consumer: {error}")]
    Create {
        source_name: String,
        error: Box<KafkaError>,
    },
    /// The state snapshot holds positions for this source that are not a Kafka source's (a
    /// file source renamed to its name, say).
    #[error("source {source_name}: the state snapshot's positions for it are not a Kafka source's ({reason}); move the snapshot away or rename the source")]
    State { source_name: String, reason: String },
    #[error("source {source_name}: cannot subscribe to {topics:?}: {error}")]
    Subscribe {
        source_name: String,
        topics: Vec<String>,
        error: Box<KafkaError>,
    },
}

/// A topic's format and, for broker-log formats, how its records are framed.
type TopicChoice = (Input, Arc<FramerConfig>);

/// Chooses each topic's format from the config (exact names first, then patterns in order).
struct TopicFormats {
    exact: HashMap<String, TopicChoice>,
    patterns: Vec<(regex::Regex, TopicChoice)>,
    cache: HashMap<String, TopicChoice>,
    default: TopicChoice,
}

impl TopicFormats {
    fn new(config: &KafkaSourceConfig) -> TopicFormats {
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        for t in &config.topics {
            let choice = (t.format, Arc::new(t.framer()));
            if let Some(l) = choice.1.layout.as_ref().filter(|l| !l.anchored()) {
                tracing::warn!(
                    topic = t.subscription(),
                    layout = l.pattern(),
                    "{}",
                    crate::parse::layout::UNANCHORED_WARNING
                );
            }
            if let Some(name) = &t.name {
                exact.insert(name.clone(), choice);
            } else if let Some(p) = &t.pattern {
                // Validated by Config::parse; an invalid one would only lose its format choice.
                if let Ok(re) = regex::Regex::new(p) {
                    patterns.push((re, choice));
                }
            }
        }
        TopicFormats {
            exact,
            patterns,
            cache: HashMap::new(),
            default: (Input::Auto, Arc::new(FramerConfig::default())),
        }
    }

    fn get(&mut self, topic: &str) -> TopicChoice {
        if let Some(f) = self.exact.get(topic) {
            return f.clone();
        }
        if let Some(f) = self.cache.get(topic) {
            return f.clone();
        }
        let f = self
            .patterns
            .iter()
            .find(|(re, _)| re.is_match(topic))
            .map_or_else(|| self.default.clone(), |(_, f)| f.clone());
        self.cache.insert(topic.to_string(), f.clone());
        f
    }
}

/// librdkafka callbacks: health, lag, rebalance commits, logs.
pub struct SourceContext {
    source: String,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    /// Partitions currently assigned, to drop their lag gauges on revoke.
    assigned: Mutex<Vec<(String, i32)>>,
    /// Per partition, what was applied and which offset is still to be stored (only the consume
    /// thread changes it: librdkafka runs the rebalance callbacks inside its poll), with the
    /// positions of the state snapshot, which reads them.
    applied: Arc<Applied>,
    /// The state snapshot, when `state_dir` keeps one (see [`crate::state`]), and this source's
    /// part in it: its positions and the commits that make a snapshot count.
    state: Option<(Arc<StateStore>, Arc<Committer>)>,
    error_limit: RateLimit,
    /// librdkafka's own warnings and errors, per facility and broker thread: a broker that
    /// cannot be reached logs one on every reconnect attempt.
    log_limit: KeyedRateLimit,
    /// The topics subscribed by name (patterns are not checked for existence).
    topics: Vec<String>,
    /// Set when librdkafka says a topic or partition is unknown: the consume thread then asks
    /// the brokers which subscribed topics exist ([`SourceContext::check_topics`]).
    topic_check_wanted: AtomicBool,
    /// Topics found missing by the last check, and when it ran. Consume thread only.
    topic_check: Mutex<(Vec<String>, Option<Instant>)>,
}

/// How often the brokers are asked which subscribed topics exist, while one is missing.
const TOPIC_CHECK_EVERY: Duration = Duration::from_secs(10);

/// True for the errors that say a consumed topic or partition does not exist.
fn unknown_topic(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::UnknownPartition
        )
    )
}

impl SourceContext {
    /// True when this process already applied `message` (a re-delivery after a failed commit);
    /// otherwise records it as applied. Either way its offset is stored with the next batch.
    fn already_applied(&self, message: &BorrowedMessage<'_>) -> bool {
        self.applied.delivered.lock().deliver(
            message.topic(),
            message.partition(),
            message.offset(),
        )
    }

    /// Hands librdkafka the offsets of every record delivered since the last call, one per
    /// partition: those records have all been applied (or skipped as already applied). With a
    /// state snapshot, nothing: only a snapshot's offsets are committed, by the snapshot itself
    /// ([`handover`]).
    fn store_delivered(&self, consumer: &BaseConsumer<Self>) {
        if self.state.is_some() {
            return;
        }
        self.store_applied(consumer);
    }

    fn store_applied(&self, consumer: &BaseConsumer<Self>) {
        let Some(offsets) = self.applied.delivered.lock().unstored() else {
            return;
        };
        if let Err(error) = consumer.store_offsets(&offsets) {
            // Happens for a partition revoked meanwhile; its new owner re-reads it.
            tracing::debug!(source = %self.source, %error, "Could not store some offsets.");
        }
    }

    /// Commits what this process applied, when its hold on partitions ends (a revoke, the
    /// shutdown). With a state snapshot, takes one, which commits its offsets (so that everything
    /// applied is on disk and the next owner starts after it); if it cannot be written, commits
    /// what was applied, as without a snapshot (the next owner starts after it; a crash before a
    /// later snapshot is written loses those counts from this process's series).
    fn hand_over(&self, consumer: &BaseConsumer<Self>) -> HandOver {
        if let Some((state, _)) = &self.state {
            match state.snapshot() {
                Ok(_) => return HandOver::Committed,
                Err(StateError::Commit { reason, .. }) => return HandOver::Failed(reason),
                Err(_) => self.store_applied(consumer),
            }
        } else {
            self.store_applied(consumer);
        }
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => HandOver::Committed,
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => HandOver::NothingNew,
            Err(error) if unknown_topic(&error) => HandOver::TopicGone(error.to_string()),
            Err(error) => HandOver::Failed(error.to_string()),
        }
    }

    /// At an assignment, moves every assigned partition that the restored state snapshot holds
    /// to the snapshot's offset, unless its committed offset is further: only another member
    /// (which had the partition since) commits past this process's snapshot, and what it
    /// counted must not be counted again here.
    fn resume_restored(
        &self,
        tpl: &mut TopicPartitionList,
        committed: Option<&TopicPartitionList>,
    ) {
        let mut restored = self.applied.restored.lock();
        if restored.is_empty() {
            return;
        }
        let mut mine = TopicPartitionList::new();
        for e in tpl.elements() {
            if restored.contains_key(&(e.topic().to_string(), e.partition())) {
                mine.add_partition(e.topic(), e.partition());
            }
        }
        if mine.count() == 0 {
            return;
        }
        if committed.is_none() {
            tracing::warn!(source = %self.source, "Cannot read the committed offsets; resuming every partition at the state snapshot's offsets.");
        }
        let (mut resumed, mut moved_on) = (0, 0);
        let mut delivered = self.applied.delivered.lock();
        for e in mine.elements() {
            let key = (e.topic().to_string(), e.partition());
            let Some(saved) = restored.remove(&key) else {
                continue;
            };
            let committed = committed
                .and_then(|c| c.find_partition(e.topic(), e.partition()))
                .and_then(|p| p.offset().to_raw());
            if committed.is_some_and(|c| c > saved) {
                moved_on += 1;
                continue;
            }
            // Only fails for a partition not in the list, which it is.
            let _ = tpl.set_partition_offset(e.topic(), e.partition(), Offset::Offset(saved));
            delivered.resume(e.topic(), e.partition(), saved);
            resumed += 1;
        }
        tracing::info!(source = %self.source, resumed, moved_on, "Assigned partitions resume at the state snapshot's offsets (moved_on: committed further by another member since; resumed there).");
    }

    /// Notes an error from librdkafka; one saying a topic or partition is unknown makes the
    /// consume thread check which subscribed topics exist.
    fn note_error(&self, error: &KafkaError) {
        if unknown_topic(error) {
            self.topic_check_wanted.store(true, Ordering::Relaxed);
        }
    }

    /// After an unknown-topic error, and every 10 s while a topic is missing: asks the brokers
    /// which of the topics subscribed by name exist. A missing one (never created, or deleted
    /// while consumed) makes the source not ready, with a warning, until it exists again; what
    /// was applied from it is forgotten, so that a topic created again under the same name has
    /// its records (numbered from 0 again) counted, not skipped as re-deliveries. A topic
    /// deleted and created again between two checks (within seconds) is not noticed: records at
    /// offsets below those applied from the old one are then skipped as re-deliveries.
    /// Runs on the consume thread, between polls; each question waits at most 2 s.
    fn check_topics(&self, consumer: &BaseConsumer<Self>) {
        let mut check = self.topic_check.lock();
        let wanted = self.topic_check_wanted.load(Ordering::Relaxed) || !check.0.is_empty();
        if !wanted || check.1.is_some_and(|t| t.elapsed() < TOPIC_CHECK_EVERY) {
            return;
        }
        check.1 = Some(Instant::now());
        self.topic_check_wanted.store(false, Ordering::Relaxed);
        let mut missing = Vec::new();
        for topic in &self.topics {
            match consumer.fetch_metadata(Some(topic), Duration::from_secs(2)) {
                Ok(metadata) => {
                    // Only "unknown topic" (or no partitions) means missing: an error such as
                    // a leader election in progress says nothing about the topic's existence.
                    let missing_here = metadata.topics().iter().any(|t| {
                        t.name() == topic
                            && match t.error() {
                                Some(e) => {
                                    e == RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                                }
                                None => t.partitions().is_empty(),
                            }
                    });
                    if missing_here {
                        missing.push(topic.clone());
                    }
                }
                Err(error) => {
                    // No answer: keep what the last check found, and ask again later.
                    tracing::debug!(source = %self.source, %error, "Cannot fetch topic metadata.");
                    self.topic_check_wanted.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
        if missing == check.0 {
            return;
        }
        if missing.is_empty() {
            tracing::info!(source = %self.source, topics = ?check.0, "Subscribed topics exist again; consuming them.");
            self.health
                .update(&self.source, |s| s.missing_topics = None);
        } else {
            tracing::warn!(source = %self.source, topics = ?missing, "Subscribed topics do not exist (never created, or deleted); nothing is consumed from them until they are created. What was counted from them stays counted.");
            let mut delivered = self.applied.delivered.lock();
            for topic in &missing {
                delivered.forget_topic(topic);
            }
            drop(delivered);
            let why = format!("subscribed topics do not exist: {}", missing.join(", "));
            self.health
                .update(&self.source, |s| s.missing_topics = Some(why));
        }
        check.0 = missing;
    }
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        crate::telemetry::librdkafka_log!(
            source = &self.source,
            self.log_limit,
            level,
            fac,
            message
        );
    }

    fn stats(&self, stats: Statistics) {
        let connected = stats.brokers.values().any(|b| b.state == "UP");
        self.health.update(&self.source, |s| {
            s.connected = connected;
            if connected {
                // A broker accepted our credentials, so an earlier authentication error is over.
                s.error = None;
            }
        });
        let assigned = self.assigned.lock();
        for (topic, partition) in assigned.iter() {
            let lag = stats
                .topics
                .get(topic)
                .and_then(|t| t.partitions.get(partition))
                .map(|p| {
                    if p.consumer_lag_stored >= 0 {
                        p.consumer_lag_stored
                    } else {
                        p.consumer_lag
                    }
                });
            if let Some(lag) = lag.filter(|l| *l >= 0) {
                self.metrics
                    .set_consumer_lag(&self.source, topic, *partition, lag);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        let source = self.source.as_str();
        match code {
            Some(RDKafkaErrorCode::Authentication) => {
                self.health.update(source, |s| {
                    s.connected = false;
                    s.error = Some(format!("authentication failed: {reason}"));
                });
                if let Some(suppressed) = self.error_limit.check() {
                    tracing::error!(
                        source,
                        %reason,
                        suppressed,
                        "Kafka rejected the exporter's credentials; check the source's sasl.* properties."
                    );
                }
            }
            Some(RDKafkaErrorCode::Resolve) => {
                // Until a broker is up again (the next statistics clear it), /readyz says why.
                self.health.update(source, |s| {
                    s.error = Some(format!("cannot resolve a broker's name: {reason}"));
                });
                if let Some(suppressed) = self.error_limit.check() {
                    tracing::warn!(
                        source,
                        %reason,
                        suppressed,
                        "A Kafka broker's name does not resolve; check bootstrap.servers and DNS. Retrying."
                    );
                }
            }
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                // Error events are queued and may be served long after the fact; connectivity
                // comes from the periodic statistics, which describe the present.
                if let Some(suppressed) = self.error_limit.check() {
                    tracing::warn!(source, %reason, suppressed, "All Kafka brokers are down; retrying.");
                }
            }
            _ => {
                if let Some(suppressed) = self.error_limit.check() {
                    tracing::warn!(source, %error, %reason, suppressed, "Kafka client error.");
                }
            }
        }
    }
}

impl ConsumerContext for SourceContext {
    /// rdkafka's own rebalance handling, with one step added: an assignment first moves the
    /// partitions the restored state snapshot holds to its offsets ([`Self::resume_restored`]).
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                if let Some((_, committer)) = &self.state {
                    // The committed offsets and their chains ([`handover`]), read once.
                    let mut partitions = TopicPartitionList::new();
                    for e in tpl.elements() {
                        partitions.add_partition(e.topic(), e.partition());
                    }
                    let committed = consumer
                        .committed_offsets(partitions, handover::COMMITTED_TIMEOUT)
                        .map_err(|error| tracing::warn!(source = %self.source, %error, "Cannot read the committed offsets of the assigned partitions."))
                        .ok();
                    self.resume_restored(tpl, committed.as_ref());
                    committer.assigned(tpl, committed.as_ref());
                }
                let rebalance = Rebalance::Assign(tpl);
                self.pre_rebalance(consumer, &rebalance);
                let assigned = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(error) = assigned {
                    tracing::warn!(source = %self.source, %error, "Cannot take the assigned partitions.");
                }
                self.post_rebalance(consumer, &rebalance);
            }
            other => {
                let rebalance = if other == RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
                    Rebalance::Revoke(tpl)
                } else {
                    Rebalance::Error(KafkaError::Rebalance(other.into()))
                };
                self.pre_rebalance(consumer, &rebalance);
                let unassigned = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(error) = unassigned {
                    tracing::warn!(source = %self.source, %error, "Cannot give up the revoked partitions.");
                }
                self.post_rebalance(consumer, &rebalance);
            }
        }
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // Every record returned by earlier polls has been applied (librdkafka runs this inside
            // the consume thread's poll); storing their offsets and committing now hands the
            // revoked partitions over without loss or double counting.
            let committed = match self.hand_over(consumer) {
                HandOver::Committed | HandOver::NothingNew => true,
                HandOver::TopicGone(error) => {
                    tracing::warn!(source = %self.source, %error, "Offsets of revoked partitions cannot be committed: a topic or partition no longer exists.");
                    false
                }
                HandOver::Failed(error) => {
                    tracing::warn!(source = %self.source, %error, "Failed to commit offsets of revoked partitions; re-delivered records this process already applied will be skipped.");
                    false
                }
            };
            let revoked: Vec<(String, i32)> = tpl
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect();
            if committed {
                // The next owner starts exactly where this process stopped.
                let mut delivered = self.applied.delivered.lock();
                for (topic, partition) in &revoked {
                    delivered.forget(topic, *partition);
                }
            }
            if let Some((_, committer)) = &self.state {
                committer.revoked(&revoked);
            }
            let mut assigned = self.assigned.lock();
            assigned.retain(|tp| !revoked.contains(tp));
            for (topic, partition) in &revoked {
                self.metrics
                    .remove_consumer_lag(&self.source, topic, *partition);
            }
            tracing::info!(source = %self.source, partitions = revoked.len(), committed, "Partitions revoked.");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let mut assigned = self.assigned.lock();
                for e in tpl.elements() {
                    let tp = (e.topic().to_string(), e.partition());
                    if !assigned.contains(&tp) {
                        assigned.push(tp);
                    }
                }
                tracing::info!(source = %self.source, partitions = assigned.len(), "Partitions assigned.");
                // Joining the group took a working broker connection.
                self.health.update(&self.source, |s| {
                    s.assigned = true;
                    s.connected = true;
                });
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(error) => {
                tracing::warn!(source = %self.source, %error, "Consumer group rebalance failed.");
            }
        }
    }

    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        _offsets: &TopicPartitionList,
    ) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) if unknown_topic(&error) => {
                self.note_error(&error);
                if let Some(suppressed) = self.error_limit.check() {
                    tracing::warn!(source = %self.source, %error, suppressed, "Offsets cannot be committed for a topic or partition that no longer exists; those of other topics are committed.");
                }
            }
            Err(error) => {
                if let Some(suppressed) = self.error_limit.check() {
                    tracing::warn!(source = %self.source, %error, suppressed, "Offset commit failed; it will be retried with the next commit.");
                }
            }
        }
    }
}

/// A Kafka source whose consumer is created and subscribed, ready to run.
pub struct KafkaSource {
    config: KafkaSourceConfig,
    pipeline: Arc<Pipeline>,
    consumer: Arc<BaseConsumer<SourceContext>>,
}

impl KafkaSource {
    /// Creates the consumer and subscribes. Fails only on configuration librdkafka rejects;
    /// unreachable brokers are retried by `run`.
    pub fn start(
        config: KafkaSourceConfig,
        pipeline: Arc<Pipeline>,
        health: Arc<Health>,
        state: Option<Arc<StateStore>>,
    ) -> Result<KafkaSource, KafkaSourceError> {
        let name = config.name.clone();
        health.register(&name);
        let applied = Arc::new(Applied::default());
        let state = state.map(|s| (s, Arc::new(Committer::new(applied.clone()))));
        if let Some((state, committer)) = &state {
            if let Some(saved) = state.restored_positions(&name) {
                let partitions =
                    applied
                        .restore(&saved)
                        .map_err(|reason| KafkaSourceError::State {
                            source_name: name.clone(),
                            reason,
                        })?;
                tracing::info!(source = %name, partitions, "Partitions resume at the state snapshot's offsets once assigned.");
            }
            state.register(&name, committer.clone());
            pipeline.metrics().init_state_commits(&name);
        }
        let inputs: Vec<_> = config.topics.iter().map(|t| t.format).collect();
        pipeline.metrics().init_source(&name, true, &inputs);
        if inputs.iter().any(|i| i.is_log()) {
            pipeline.metrics().init_log_files(&name);
        }
        let mut client_config =
            config
                .client_config()
                .map_err(|reason| KafkaSourceError::Config {
                    source_name: name.clone(),
                    reason,
                })?;
        if state.is_some() {
            // Only a snapshot's offsets are committed, by the snapshot ([`handover`]).
            client_config.set("enable.auto.commit", "false");
        }
        let context = SourceContext {
            source: name.clone(),
            health: health.clone(),
            metrics: pipeline.metrics().clone(),
            assigned: Mutex::new(Vec::new()),
            applied: applied.clone(),
            state: state.clone(),
            error_limit: RateLimit::new(Duration::from_secs(10)),
            log_limit: KeyedRateLimit::new(Duration::from_secs(60), 256),
            topics: config
                .topics
                .iter()
                .filter_map(|t| t.name.clone())
                .collect(),
            topic_check_wanted: AtomicBool::new(false),
            topic_check: Mutex::new((Vec::new(), None)),
        };
        let consumer: BaseConsumer<SourceContext> = client_config
            .create_with_context(context)
            .map_err(|error| KafkaSourceError::Create {
                source_name: name.clone(),
                error: Box::new(error),
            })?;
        let topics: Vec<String> = config
            .topics
            .iter()
            .map(|t| t.subscription().to_string())
            .collect();
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .map_err(|error| KafkaSourceError::Subscribe {
                source_name: name.clone(),
                topics: topics.clone(),
                error: Box::new(error),
            })?;
        tracing::info!(source = %name, group = %config.group_id, ?topics, "Consuming.");
        let consumer = Arc::new(consumer);
        if let Some((_, committer)) = &consumer.context().state {
            let _ = committer.consumer.set(Arc::downgrade(&consumer));
        }
        Ok(KafkaSource {
            config,
            pipeline,
            consumer,
        })
    }

    /// Consumes until `shutdown` fires, then commits what was applied and leaves the group,
    /// each step bounded by `grace`. Records are polled and applied on a thread of the source's
    /// own ([`consume`]); this task watches for the stop and reports the final commit.
    pub async fn run(self, shutdown: CancellationToken, grace: Duration) {
        let name = self.config.name.clone();
        let consumer = self.consumer;
        if let Some(otel) = self.pipeline.otel().cloned() {
            cluster_id_for_spans(otel, consumer.clone(), name.clone(), shutdown.clone());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (committed_tx, mut committed_rx) = oneshot::channel();
        let (closed_tx, closed_rx) = oneshot::channel::<()>();
        let spawned = {
            let (pipeline, stop, name) = (self.pipeline.clone(), stop.clone(), name.clone());
            let formats = TopicFormats::new(&self.config);
            let runtime = tokio::runtime::Handle::current();
            std::thread::Builder::new()
                .name(format!("kafka-{name}"))
                .spawn(move || {
                    // The pipeline's OTLP hook may spawn onto the runtime.
                    let _runtime = runtime.enter();
                    let applied = consume::consume(&consumer, &pipeline, &name, formats, &stop);
                    let committed = consumer.context().hand_over(&consumer);
                    let _ = committed_tx.send((committed, applied));
                    consumer.unsubscribe();
                    // Closing the consumer (leaving the group) blocks; done here, off the runtime.
                    drop(consumer);
                    drop(closed_tx);
                })
        };
        if let Err(error) = spawned {
            tracing::error!(source = %name, %error, "Cannot start the Kafka source's consume thread; the source stops.");
            return;
        }
        let ended = tokio::select! {
            () = shutdown.cancelled() => None,
            ended = &mut committed_rx => Some(ended),
        };
        stop.store(true, Ordering::Relaxed);
        tracing::info!(source = %name, "Stopping: committing applied offsets and leaving the group.");
        let result = match ended {
            Some(ended) => Ok(ended),
            None => tokio::time::timeout(grace, committed_rx).await,
        };
        let applied = match result {
            Ok(Ok((committed, applied))) => {
                log_final_commit(&name, committed);
                applied
            }
            Ok(Err(_)) => {
                tracing::error!(source = %name, "The Kafka source's consume thread failed; events since the last commit will be counted again by the next consumer.");
                0
            }
            Err(_) => {
                tracing::error!(source = %name, ?grace, "Final offset commit timed out; events since the last commit will be counted again by the next consumer.");
                0
            }
        };
        let _ = tokio::time::timeout(grace, closed_rx).await;
        tracing::info!(source = %name, records = applied, "Source stopped.");
    }
}

/// How the commit at the end of a hold on partitions went.
enum HandOver {
    Committed,
    NothingNew,
    /// A topic or partition no longer exists.
    TopicGone(String),
    Failed(String),
}

/// Logs how the final commit went.
fn log_final_commit(name: &str, committed: HandOver) {
    match committed {
        HandOver::Committed => tracing::info!(source = %name, "Offsets committed."),
        HandOver::NothingNew => {
            tracing::info!(source = %name, "No new offsets to commit.");
        }
        HandOver::TopicGone(error) => {
            tracing::warn!(source = %name, %error, "Final offset commit failed for a topic or partition that no longer exists; nothing can be re-read from it.");
        }
        HandOver::Failed(error) => {
            tracing::error!(source = %name, %error, "Final offset commit failed; events since the last commit will be counted again by the next consumer.");
        }
    }
}

/// The cluster id names the cluster in spans and the OTLP resource. Asked once, off the async
/// workers; retried until the brokers answer or the source stops.
fn cluster_id_for_spans(
    otel: Arc<crate::otel::Handle>,
    client: Arc<BaseConsumer<SourceContext>>,
    source: String,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            let c = client.clone();
            let id = tokio::task::spawn_blocking(move || {
                c.client().fetch_cluster_id(Duration::from_secs(5))
            })
            .await
            .ok()
            .flatten();
            if let Some(id) = id {
                otel.set_cluster_id(&source, &id);
                tracing::info!(source = %source, cluster_id = %id, "Kafka cluster id known.");
                return;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    });
}

impl crate::sources::Source for KafkaSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn run(self: Box<Self>, stop: CancellationToken, grace: Duration) -> crate::sources::Running {
        Box::pin(KafkaSource::run(*self, stop, grace))
    }
}
