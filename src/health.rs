//! Liveness and readiness: what each source reports about itself, read by `/readyz` and mirrored
//! into `kafka_security_source_up`.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::metrics::Metrics;

/// What one source knows about its connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    /// At least one broker connection is up.
    pub connected: bool,
    /// The consumer has joined its group and received an assignment (possibly empty).
    pub assigned: bool,
    /// The latest error that makes the source not ready (e.g. authentication failed).
    pub error: Option<String>,
    /// Its position cannot be saved (a file source's checkpoints): not ready until a save works.
    pub save_error: Option<String>,
    /// Subscribed topics that do not exist (never created, or deleted while consumed): not ready
    /// until they exist again. Kept apart from `error`, which each statistics tick may clear.
    pub missing_topics: Option<String>,
}

impl SourceState {
    pub fn is_ready(&self) -> bool {
        self.connected
            && self.assigned
            && self.error.is_none()
            && self.save_error.is_none()
            && self.missing_topics.is_none()
    }
}

/// Shared health of every source.
pub struct Health {
    metrics: Arc<Metrics>,
    sources: Mutex<BTreeMap<String, SourceState>>,
    /// Why the state snapshot cannot be written, while it cannot (see [`crate::state`]).
    state_error: Mutex<Option<String>>,
}

impl Health {
    pub fn new(metrics: Arc<Metrics>) -> Health {
        Health {
            metrics,
            sources: Mutex::new(BTreeMap::new()),
            state_error: Mutex::new(None),
        }
    }

    /// Registers a source as not ready yet.
    pub fn register(&self, source: &str) {
        self.sources
            .lock()
            .insert(source.to_string(), SourceState::default());
        self.metrics.set_source_up(source, false);
    }

    /// Changes a source's state and updates `kafka_security_source_up`.
    pub fn update(&self, source: &str, change: impl FnOnce(&mut SourceState)) {
        let mut sources = self.sources.lock();
        let state = sources.entry(source.to_string()).or_default();
        let before = state.clone();
        change(state);
        if *state != before {
            let ready = state.is_ready();
            self.metrics.set_source_up(source, ready);
            if ready != before.is_ready() {
                if ready {
                    tracing::info!(source, "Source is ready.");
                } else {
                    tracing::warn!(source, state = ?state, "Source is not ready.");
                }
            }
        }
    }

    /// Sets (or clears) why the state snapshot cannot be written: not ready while it cannot.
    pub fn set_state_error(&self, error: Option<String>) {
        let mut state = self.state_error.lock();
        if *state != error {
            match &error {
                Some(e) => {
                    tracing::warn!(error = %e, "Not ready: the state snapshot cannot be written.")
                }
                None => tracing::info!("The state snapshot is written again."),
            }
            *state = error;
        }
    }

    /// `Ok` when every source is ready and the state snapshot (if kept) is written, else one
    /// line per source that is not ready, and one for the snapshot.
    pub fn readiness(&self) -> Result<(), Vec<String>> {
        let sources = self.sources.lock();
        let mut not_ready: Vec<String> = sources
            .iter()
            .filter(|(_, s)| !s.is_ready())
            .map(|(name, s)| {
                let mut why = Vec::new();
                if !s.connected {
                    why.push("not connected to any broker".to_string());
                }
                if !s.assigned {
                    why.push("not yet assigned partitions by its consumer group".to_string());
                }
                if let Some(e) = &s.error {
                    why.push(e.clone());
                }
                if let Some(e) = &s.save_error {
                    why.push(e.clone());
                }
                if let Some(e) = &s.missing_topics {
                    why.push(e.clone());
                }
                format!("source {name}: {}", why.join("; "))
            })
            .collect();
        not_ready.extend(self.state_error.lock().clone());
        if not_ready.is_empty() {
            Ok(())
        } else {
            Err(not_ready)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricsConfig;

    #[test]
    fn readiness_needs_connection_assignment_and_no_error() {
        let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).unwrap());
        let health = Health::new(metrics.clone());
        health.register("a");
        assert!(health.readiness().is_err());
        health.update("a", |s| {
            s.connected = true;
            s.assigned = true;
        });
        assert!(health.readiness().is_ok());
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(text.contains("kafka_security_source_up{source=\"a\"} 1\n"));
        health.update("a", |s| s.error = Some("authentication failed".into()));
        let why = health.readiness().unwrap_err();
        assert_eq!(why, vec!["source a: authentication failed".to_string()]);
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(text.contains("kafka_security_source_up{source=\"a\"} 0\n"));
        health.update("a", |s| s.error = None);
        health.update("a", |s| {
            s.missing_topics = Some("topic t does not exist".into())
        });
        let why = health.readiness().unwrap_err();
        assert_eq!(why, vec!["source a: topic t does not exist".to_string()]);
        health.update("a", |s| s.missing_topics = None);
        assert!(health.readiness().is_ok());
    }
}
