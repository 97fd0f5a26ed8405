//! The batch processor spans and log records share: a bounded queue the hot path fills without
//! waiting ([`Queue::push`]), and a task that drains it into export requests of at most
//! `max_export_batch_size` items, every `schedule_delay` or as soon as a batch is full
//! ([`BatchExporter::run`]), then flushes what is queued on shutdown within the grace period.
//!
//! Nothing is lost silently: an item that finds the queue full, a batch whose export failed after
//! retries or that the collector rejected, and what the grace period left unsent are counted in
//! `kafka_security_otlp_dropped_total{signal}`, failed requests in
//! `kafka_security_otlp_export_failures_total{signal}` (with a rate-limited warning).

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::resource::v1::Resource;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::settings::{Batching, Transport};
use super::transport::{Client, Payload};
use super::Signal;
use crate::metrics::internal::{InternalEvent, OtlpDropped, OtlpExportFailed};
use crate::metrics::Metrics;

/// The hot-path half: queues items without ever waiting.
pub struct Queue<T> {
    tx: mpsc::Sender<T>,
    signal: Signal,
    metrics: Arc<Metrics>,
}

impl<T> Queue<T> {
    /// Queues `item`, or drops and counts it when the queue is full (or the exporter is gone).
    pub fn push(&self, item: T) {
        if self.tx.try_send(item).is_err() {
            OtlpDropped {
                signal: self.signal,
                count: 1,
            }
            .emit(&self.metrics);
        }
    }
}

/// The export half: a task that batches queued items and sends them.
pub struct BatchExporter<T> {
    pub(super) rx: mpsc::Receiver<T>,
    client: Client,
    endpoint: String,
    pub(super) batch: Batching,
    resource: Arc<Mutex<Resource>>,
    metrics: Arc<Metrics>,
    signal: Signal,
    /// Wraps a batch in the signal's export request.
    request: fn(Resource, Vec<T>) -> Payload,
}

/// What a batch processor needs besides its settings.
pub struct Parts {
    pub client: Client,
    pub resource: Arc<Mutex<Resource>>,
    pub metrics: Arc<Metrics>,
}

/// A queue of `batch.max_queue_size` items of `signal` and its exporter, which sends batches
/// wrapped by `request` to `transport`'s endpoint.
pub fn pipeline<T>(
    signal: Signal,
    transport: &Transport,
    batch: Batching,
    parts: Parts,
    request: fn(Resource, Vec<T>) -> Payload,
) -> (Queue<T>, BatchExporter<T>) {
    let (tx, rx) = mpsc::channel(batch.max_queue_size.max(1));
    let queue = Queue {
        tx,
        signal,
        metrics: parts.metrics.clone(),
    };
    let exporter = BatchExporter {
        rx,
        client: parts.client,
        endpoint: transport.endpoint.clone(),
        batch,
        resource: parts.resource,
        metrics: parts.metrics,
        signal,
        request,
    };
    (queue, exporter)
}

impl<T> BatchExporter<T> {
    /// Exports batches until `stop`, then drains the queue, bounded by `grace`.
    pub async fn run(mut self, stop: CancellationToken, grace: Duration) {
        let max = self.batch.max_export_batch_size.max(1);
        let delay = self.batch.schedule_delay;
        let mut batch: Vec<T> = Vec::with_capacity(max);
        let mut deadline = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                received = self.rx.recv() => match received {
                    Some(item) => {
                        batch.push(item);
                        if batch.len() >= max {
                            self.export(std::mem::take(&mut batch), None).await;
                            deadline = tokio::time::Instant::now() + delay;
                        }
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => {
                    if !batch.is_empty() {
                        self.export(std::mem::take(&mut batch), None).await;
                    }
                    deadline = tokio::time::Instant::now() + delay;
                }
            }
        }
        // Flush: what is queued now, within the grace period.
        let end = tokio::time::Instant::now() + grace;
        while let Ok(item) = self.rx.try_recv() {
            batch.push(item);
        }
        let total = batch.len() as u64;
        let mut exported = 0;
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().min(max));
            let chunk = std::mem::replace(&mut batch, rest);
            if tokio::time::Instant::now() >= end {
                OtlpDropped {
                    signal: self.signal,
                    count: chunk.len() as u64,
                }
                .emit(&self.metrics);
                continue;
            }
            exported += self.export(chunk, Some(end)).await;
        }
        self.report_flush(total, exported);
    }

    fn report_flush(&self, total: u64, exported: u64) {
        const UNEXPORTED: &str = "some could not be exported (counted in kafka_security_otlp_dropped_total or kafka_security_otlp_export_failures_total).";
        match (self.signal, exported == total) {
            (Signal::Logs, true) => tracing::info!(records = total, "Flushed log records."),
            (Signal::Logs, false) => {
                tracing::warn!(
                    records = total,
                    exported,
                    "Flushed log records; {UNEXPORTED}"
                )
            }
            (_, true) => tracing::info!(spans = total, "Flushed spans."),
            (_, false) => tracing::warn!(spans = total, exported, "Flushed spans; {UNEXPORTED}"),
        }
    }

    /// Exports `items`; how many the collector accepted.
    async fn export(&mut self, items: Vec<T>, until: Option<tokio::time::Instant>) -> u64 {
        let n = items.len() as u64;
        let request = (self.request)(self.resource.lock().clone(), items);
        let timeout = match until {
            Some(end) => self
                .batch
                .export_timeout
                .min(end.saturating_duration_since(tokio::time::Instant::now())),
            None => self.batch.export_timeout,
        };
        match self.client.export(request, timeout).await {
            Ok(rejected) => {
                if rejected > 0 {
                    OtlpDropped {
                        signal: self.signal,
                        count: rejected,
                    }
                    .emit(&self.metrics);
                }
                n.saturating_sub(rejected)
            }
            Err(error) => {
                OtlpExportFailed {
                    signal: self.signal,
                    items: n,
                    endpoint: &self.endpoint,
                    error: &error,
                }
                .emit(&self.metrics);
                0
            }
        }
    }
}
