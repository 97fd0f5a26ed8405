//! Signals. SIGTERM and SIGINT (Ctrl-C) stop the process in order; a second one while it is
//! stopping exits at once. SIGHUP is logged and ignored: the configuration is read only at start
//! (restart to apply a change), and a closed terminal must not kill the exporter without its
//! offsets committed.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// How often, at most, an ignored SIGHUP is logged.
const HANGUP_LOG_PERIOD: Duration = Duration::from_secs(10);

/// A signal that stops the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Term,
    Int,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Term => "SIGTERM",
            Stop::Int => "SIGINT",
        }
    }

    /// The exit code of a process this signal ended at once: 128 + the signal's number, as a
    /// shell reports a process killed by it.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Term => 128 + 15,
            Stop::Int => 128 + 2,
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP, listened for from [`Signals::install`] on.
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
    /// When an ignored SIGHUP was last logged, and how many were not logged since.
    hup_logged: Option<Instant>,
    hup_unlogged: u64,
}

impl Signals {
    /// Listens from now on (inside a Tokio runtime): from here the three signals no longer end
    /// the process by their default action. A signal that cannot be listened for is logged and
    /// keeps its default action.
    pub fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let listen = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(s) => Some(s),
                Err(error) => {
                    tracing::error!(%error, signal = name, "Cannot listen for the signal.");
                    None
                }
            };
            Signals {
                term: listen(SignalKind::terminate(), "SIGTERM"),
                int: listen(SignalKind::interrupt(), "SIGINT"),
                hup: listen(SignalKind::hangup(), "SIGHUP"),
                hup_logged: None,
                hup_unlogged: 0,
            }
        }
        #[cfg(not(unix))]
        Signals {
            hup_logged: None,
            hup_unlogged: 0,
        }
    }

    /// The next SIGTERM or SIGINT. SIGHUPs meanwhile are ignored, logged at most every 10 s.
    pub async fn next(&mut self) -> Stop {
        #[cfg(unix)]
        loop {
            tokio::select! {
                Some(()) = recv(&mut self.term) => return Stop::Term,
                Some(()) = recv(&mut self.int) => return Stop::Int,
                Some(()) = recv(&mut self.hup) => self.hang_up(Instant::now()),
                else => return std::future::pending::<Stop>().await,
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "Cannot listen for Ctrl-C.");
                std::future::pending::<()>().await;
            }
            Stop::Int
        }
    }

    fn hang_up(&mut self, now: Instant) {
        if self
            .hup_logged
            .is_some_and(|t| now.duration_since(t) < HANGUP_LOG_PERIOD)
        {
            self.hup_unlogged += 1;
            return;
        }
        tracing::warn!(
            suppressed = self.hup_unlogged,
            "Received SIGHUP; ignored: the configuration is read only at start (restart the \
             exporter to apply a change)."
        );
        self.hup_logged = Some(now);
        self.hup_unlogged = 0;
    }
}

/// The next delivery of `signal`; never resolves when it is not listened for (or its stream
/// ended, which Tokio does not do while the runtime runs).
#[cfg(unix)]
async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Listens from now on (inside a Tokio runtime). The token is cancelled at the first SIGTERM or
/// SIGINT: the process stops in order. A second one means the operator will not wait:
/// `exit_now` is called with it and must end the process.
pub fn watch(exit_now: impl FnOnce(Stop) + Send + 'static) -> CancellationToken {
    let stop = CancellationToken::new();
    let mut signals = Signals::install();
    let token = stop.clone();
    tokio::spawn(async move {
        let first = signals.next().await;
        tracing::info!(
            signal = first.name(),
            "Received {}; shutting down.",
            first.name()
        );
        token.cancel();
        let second = signals.next().await;
        tracing::warn!(
            signal = second.name(),
            "Received {} while shutting down; exiting now without finishing the shutdown: \
             records applied since the last offset commit or checkpoint are read again at the \
             next start, unsaved detector state and unsent OTLP data are lost.",
            second.name()
        );
        exit_now(second);
    });
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_those_a_shell_reports_for_the_signal() {
        assert_eq!((Stop::Term.exit_code(), Stop::Int.exit_code()), (143, 130));
    }

    #[tokio::test]
    async fn sighup_is_logged_at_most_every_ten_seconds() {
        let mut s = Signals::install();
        let t0 = Instant::now();
        s.hang_up(t0);
        assert_eq!((s.hup_logged, s.hup_unlogged), (Some(t0), 0));
        s.hang_up(t0 + Duration::from_secs(1));
        s.hang_up(t0 + Duration::from_secs(9));
        assert_eq!((s.hup_logged, s.hup_unlogged), (Some(t0), 2));
        let t1 = t0 + HANGUP_LOG_PERIOD;
        s.hang_up(t1);
        assert_eq!((s.hup_logged, s.hup_unlogged), (Some(t1), 0));
    }
}
