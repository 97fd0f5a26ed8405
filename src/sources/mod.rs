//! Inputs: [`kafka`] (consumer group) and [`file`](mod@file) (tailed broker logs). Each source is one task holding a cancellation token; it applies records through the
//! [`crate::pipeline::Pipeline`] and commits only what was applied. (The Kafka source's task
//! hands polling and applying to a thread of its own and waits for it at shutdown.)
//!
//! Every source implements [`Source`]; the app and the demo start and stop them without knowing
//! which kind they are. A source's config lives next to it (`kafka::KafkaSourceConfig`,
//! `file::FileSourceConfig`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::health::Health;
use crate::pipeline::Pipeline;

pub mod fields;
pub mod file;
pub mod kafka;

/// What a source needs to start: where its records go and where it reports its readiness.
#[derive(Clone)]
pub struct SourceDeps {
    pub pipeline: Arc<Pipeline>,
    pub health: Arc<Health>,
    /// The state snapshot, when `state_dir` keeps one: sources resume at its positions, hold
    /// its cut while applying and register their positions with it.
    pub state: Option<Arc<crate::state::StateStore>>,
}

/// Why a source could not start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Kafka(#[from] kafka::KafkaSourceError),
    #[error(transparent)]
    File(#[from] crate::tail::TailError),
}

/// What [`Source::run`] returns: the source's whole life, from the first record to its last
/// shutdown hook.
pub type Running = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A started source, ready to run.
///
/// Starting (e.g. `KafkaSource::start`) registers the source with [`Health`] (its readiness) and
/// its metric series, and fails only on configuration the source's own machinery rejects.
pub trait Source: Send {
    /// The `source` label.
    fn name(&self) -> &str;

    /// Applies records until `stop` fires; then stops intake and runs the source's own shutdown
    /// hooks in order (the Kafka source commits the offsets it applied and leaves its group; the
    /// file source saves its checkpoints), each bounded by `grace`.
    fn run(self: Box<Self>, stop: CancellationToken, grace: Duration) -> Running;
}
