//! The exporter's own logs: `tracing` in logfmt or JSON, and a rate limiter for per-event warnings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// `--log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// `--log.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Installs the global subscriber, writing to stderr. `RUST_LOG` overrides the level per module.
pub fn init(level: LogLevel, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level.directive()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Logfmt => builder.with_ansi(false).try_init(),
    };
}

/// Lets one message through per `period` and counts the rest, so a flood of bad records costs a
/// log line every few seconds rather than one per record.
pub struct RateLimit {
    period: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimit {
    pub const fn new(period: Duration) -> RateLimit {
        RateLimit {
            period,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a message may be logged now, `n` being how many were suppressed since the
    /// last one; `None` when this one should be suppressed.
    pub fn check(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock();
        match *last {
            Some(t) if now.duration_since(t) < self.period => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_lets_the_first_through_and_counts_the_rest() {
        let rl = RateLimit::new(Duration::from_secs(3600));
        assert_eq!(rl.check(), Some(0));
        assert_eq!(rl.check(), None);
        assert_eq!(rl.check(), None);
        let rl0 = RateLimit::new(Duration::ZERO);
        assert_eq!(rl0.check(), Some(0));
        assert_eq!(rl0.check(), Some(0));
    }
}
