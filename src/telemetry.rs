//! The exporter's own output: `tracing` logs in logfmt or JSON on stderr, the few lines a
//! subcommand prints on stdout, and a rate limiter for per-event warnings.
//!
//! Nothing here ever blocks the process or panics on its output. Each stream is written by a
//! thread of its own from a queue of at most [`QUEUE_BYTES`]: a line that does not fit (the
//! reader of a pipe stopped reading, a terminal is suspended) is dropped, and a line the
//! operating system refuses (`EPIPE` on a closed pipe, `ENOSPC` on a full disk, `EIO` after the
//! terminal went away) is dropped too; both are counted by [`DropReason`] and exposed as
//! `kafka_security_exporter_log_lines_dropped_total`. Only the writer thread can be stuck in a
//! `write`; the process exits without waiting for it longer than [`flush`] is told to.

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Bytes each output stream may hold queued before it drops lines. A burst of warnings fits;
/// a reader that stopped for good costs this much memory, not more.
pub const QUEUE_BYTES: usize = 1 << 20;

/// How often, at most, the writer reports lines it dropped once a line gets through again.
const DROP_REPORT_PERIOD: Duration = Duration::from_secs(10);

/// Why a line of output was dropped: the `reason` label of
/// `kafka_security_exporter_log_lines_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The queue was full: the output does not take lines as fast as they come (a pipe nobody
    /// reads, a slow terminal).
    QueueFull,
    /// The write failed: a closed pipe, a full disk, a terminal gone.
    WriteFailed,
}

impl DropReason {
    pub const ALL: [DropReason; 2] = [DropReason::QueueFull, DropReason::WriteFailed];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::WriteFailed => "write_failed",
        }
    }

    fn index(self) -> usize {
        match self {
            DropReason::QueueFull => 0,
            DropReason::WriteFailed => 1,
        }
    }
}

/// What an [`Output`] did, shared with its writer thread.
#[derive(Default)]
struct Stats {
    /// Bytes queued and not yet written (or failed).
    queued_bytes: AtomicUsize,
    /// Lines queued, and lines the writer is done with (written or failed).
    queued: AtomicU64,
    done: AtomicU64,
    dropped: [AtomicU64; 2],
}

impl Stats {
    fn drop_line(&self, reason: DropReason) {
        self.dropped[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|d| d.load(Ordering::Relaxed)).sum()
    }
}

/// One output stream, written by a thread of its own from a bounded queue.
pub struct Output {
    tx: mpsc::Sender<Vec<u8>>,
    stats: Arc<Stats>,
    capacity: usize,
}

impl Output {
    /// Starts the writer thread `name`, writing to `out`, queueing at most `capacity` bytes.
    pub fn start(
        out: impl Write + Send + 'static,
        name: &str,
        capacity: usize,
    ) -> std::io::Result<Output> {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let stats = Arc::new(Stats::default());
        let shared = stats.clone();
        let stream = name.to_string();
        std::thread::Builder::new()
            .name(format!("kse-{name}"))
            .spawn(move || write_lines(out, &rx, &shared, &stream))?;
        Ok(Output {
            tx,
            stats,
            capacity,
        })
    }

    /// Queues `line` (which ends in `\n`), or drops and counts it when the queue is full or the
    /// writer is gone. Never blocks on the output.
    pub fn send(&self, line: Vec<u8>) {
        let len = line.len();
        let before = self.stats.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if before + len > self.capacity {
            self.stats.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.stats.drop_line(DropReason::QueueFull);
            return;
        }
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(line).is_err() {
            // The writer thread is gone (it cannot panic; this is belt and braces).
            self.stats.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.stats.done.fetch_add(1, Ordering::Relaxed);
            self.stats.drop_line(DropReason::WriteFailed);
        }
    }

    /// Waits until every line queued before the call is written (or failed), at most `timeout`.
    /// False when lines are still queued: the output is blocked.
    pub fn flush(&self, timeout: Duration) -> bool {
        let target = self.stats.queued.load(Ordering::Relaxed);
        let deadline = Instant::now() + timeout;
        loop {
            if self.stats.done.load(Ordering::Relaxed) >= target {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Lines dropped for `reason` since the start.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.stats.dropped[reason.index()].load(Ordering::Relaxed)
    }
}

/// The writer thread: writes each queued line once; a failed write drops that line (counted)
/// and the next line is tried when it comes, so a broken output costs one failed `write` per
/// line, never a loop. Once a line gets through after drops, says so (rate-limited).
fn write_lines(mut out: impl Write, rx: &mpsc::Receiver<Vec<u8>>, stats: &Stats, stream: &str) {
    let report = RateLimit::new(DROP_REPORT_PERIOD);
    let mut reported = 0;
    for line in rx {
        let written = out.write_all(&line).and_then(|()| out.flush());
        stats.queued_bytes.fetch_sub(line.len(), Ordering::Relaxed);
        stats.done.fetch_add(1, Ordering::Relaxed);
        if written.is_err() {
            stats.drop_line(DropReason::WriteFailed);
            continue;
        }
        let dropped = stats.dropped_total();
        if dropped > reported && report.check().is_some() {
            // Through the queue like any line: a full queue drops and counts this one too.
            tracing::warn!(
                stream,
                dropped = dropped - reported,
                "Output lines were dropped: the output was blocked or failing. \
                 kafka_security_exporter_log_lines_dropped_total counts them."
            );
            reported = dropped;
        }
    }
}

/// The process's stderr and stdout outputs, started by [`init`].
static STDERR: OnceLock<Option<Output>> = OnceLock::new();
static STDOUT: OnceLock<Option<Output>> = OnceLock::new();

/// A stream of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn output(self) -> Option<&'static Output> {
        let (cell, name) = match self {
            Stream::Stdout => (&STDOUT, "stdout"),
            Stream::Stderr => (&STDERR, "stderr"),
        };
        cell.get_or_init(|| Output::start(self.duplicate(), name, QUEUE_BYTES).ok())
            .as_ref()
    }

    /// A duplicate of the stream's descriptor: the writer never holds the standard library's
    /// lock of the stream, so a blocked write cannot block an `eprintln!` elsewhere.
    fn duplicate(self) -> Box<dyn Write + Send> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let fd = match self {
                Stream::Stdout => std::io::stdout().as_fd().try_clone_to_owned(),
                Stream::Stderr => std::io::stderr().as_fd().try_clone_to_owned(),
            };
            if let Ok(fd) = fd {
                return Box::new(std::fs::File::from(fd));
            }
        }
        match self {
            Stream::Stdout => Box::new(std::io::stdout()),
            Stream::Stderr => Box::new(std::io::stderr()),
        }
    }

    /// Writes `text` and a newline to this stream without blocking (see [`Output::send`]).
    pub fn print(self, text: &str) {
        let mut line = Vec::with_capacity(text.len() + 1);
        line.extend_from_slice(text.as_bytes());
        line.push(b'\n');
        match self.output() {
            Some(out) => out.send(line),
            None => {
                // No writer thread could be started: write directly, ignoring a failure.
                let _ = match self {
                    Stream::Stdout => std::io::stdout().write_all(&line),
                    Stream::Stderr => std::io::stderr().write_all(&line),
                };
            }
        }
    }
}

/// Lines of the process's output (stderr and stdout) dropped for `reason` so far.
pub fn dropped_lines(reason: DropReason) -> u64 {
    [&STDERR, &STDOUT]
        .iter()
        .filter_map(|cell| cell.get().and_then(Option::as_ref))
        .map(|out| out.dropped(reason))
        .sum()
}

/// Waits until what was written to stderr and stdout so far is out, at most `timeout` in all.
/// Called before the process exits; a blocked output costs `timeout`, never more.
pub fn flush(timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for cell in [&STDERR, &STDOUT] {
        if let Some(out) = cell.get().and_then(Option::as_ref) {
            out.flush(deadline.saturating_duration_since(Instant::now()));
        }
    }
}

/// The `tracing` writer: each formatted event is one line queued on stderr.
struct QueuedStderr;

impl Write for QueuedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match Stream::Stderr.output() {
            Some(out) => out.send(buf.to_vec()),
            None => {
                let _ = std::io::stderr().write_all(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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

/// Installs the global subscriber, writing to stderr through its queue (see the module doc).
/// `RUST_LOG` overrides the level per module.
pub fn init(level: LogLevel, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level.directive()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| QueuedStderr)
        // Its internal errors go to `eprintln!`, which panics on a closed stderr; the queue
        // never reports one (a failed write is counted by the writer thread instead).
        .log_internal_errors(false)
        .with_target(false);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Logfmt => builder.with_ansi(false).try_init(),
    };
}

/// Logs a line of librdkafka's own log as the client's context gets it, with `$field = $value`
/// naming the client: warnings and errors at most once per `$limit` period per facility and
/// broker thread (a broker that is down is reported by each of its threads, again and again),
/// the rest as they come.
macro_rules! librdkafka_log {
    ($field:ident = $value:expr, $limit:expr, $level:expr, $fac:expr, $message:expr) => {{
        use rdkafka::config::RDKafkaLogLevel as L;
        let (field, fac, message): (&str, &str, &str) = ($value, $fac, $message);
        let limited = || {
            // `[thrd:broker-1:9092/1]: …`: the same trouble with the same broker.
            let thread = message.split_once("]:").map_or("", |(t, _)| t);
            $limit.check(&format!("{fac} {thread}"))
        };
        match $level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                if let Some(suppressed) = limited() {
                    tracing::error!($field = field, fac, suppressed, "librdkafka: {message}");
                }
            }
            L::Warning => {
                if let Some(suppressed) = limited() {
                    tracing::warn!($field = field, fac, suppressed, "librdkafka: {message}");
                }
            }
            L::Notice | L::Info => tracing::info!($field = field, fac, "librdkafka: {message}"),
            L::Debug => tracing::debug!($field = field, fac, "librdkafka: {message}"),
        }
    }};
}
pub(crate) use librdkafka_log;

/// [`RateLimit`] per key (e.g. a librdkafka log facility and broker): one message per key per
/// `period`. At most `max_keys` keys are remembered; when more come, the oldest are forgotten
/// (their next message gets through).
pub struct KeyedRateLimit {
    period: Duration,
    max_keys: usize,
    keys: Mutex<std::collections::HashMap<String, (Instant, u64)>>,
}

impl KeyedRateLimit {
    pub fn new(period: Duration, max_keys: usize) -> KeyedRateLimit {
        KeyedRateLimit {
            period,
            max_keys,
            keys: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// `Some(n)` when a message under `key` may be logged now, `n` being how many under it were
    /// suppressed since its last one; `None` when this one should be suppressed.
    pub fn check(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut keys = self.keys.lock();
        if let Some((last, suppressed)) = keys.get_mut(key) {
            if now.duration_since(*last) < self.period {
                *suppressed += 1;
                return None;
            }
            *last = now;
            return Some(std::mem::take(suppressed));
        }
        if keys.len() >= self.max_keys {
            let period = self.period;
            keys.retain(|_, (last, _)| now.duration_since(*last) < period);
            if keys.len() >= self.max_keys {
                keys.clear();
            }
        }
        keys.insert(key.to_string(), (now, 0));
        Some(0)
    }
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

    /// A writer that fails every write, as a closed pipe (EPIPE) or a full disk (ENOSPC) does.
    struct Failing(Arc<AtomicU64>);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Err(std::io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A writer blocked until the test lets it go, as a pipe nobody reads.
    struct Blocked(Arc<std::sync::Barrier>);

    impl Write for Blocked {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.wait();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_output_drops_and_counts_each_line_once_without_retrying() {
        let attempts = Arc::new(AtomicU64::new(0));
        let out = Output::start(Failing(attempts.clone()), "test-failing", 1 << 10).unwrap();
        for _ in 0..5 {
            out.send(b"line\n".to_vec());
        }
        assert!(out.flush(Duration::from_secs(5)));
        assert_eq!(out.dropped(DropReason::WriteFailed), 5);
        assert_eq!(out.dropped(DropReason::QueueFull), 0);
        // One attempt per line: no retry loop on a broken output.
        assert_eq!(attempts.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn a_blocked_output_never_blocks_the_sender_and_flush_gives_up_at_its_timeout() {
        let release = Arc::new(std::sync::Barrier::new(2));
        let out = Output::start(Blocked(release.clone()), "test-blocked", 10).unwrap();
        let t0 = Instant::now();
        // 4 bytes each: the writer takes the first and blocks; two more fit in 10 bytes...
        for _ in 0..6 {
            out.send(b"abc\n".to_vec());
        }
        assert!(t0.elapsed() < Duration::from_secs(1), "send blocked");
        assert!(
            !out.flush(Duration::from_millis(50)),
            "flushed a blocked output"
        );
        // ...and the rest (at least three of the six) are dropped, not queued.
        assert!(out.dropped(DropReason::QueueFull) >= 3);
        assert_eq!(out.dropped(DropReason::WriteFailed), 0);
        // Released, the writer finishes what was queued.
        std::thread::spawn(move || loop {
            release.wait();
        });
        assert!(out.flush(Duration::from_secs(5)));
    }

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
