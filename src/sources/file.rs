//! The file source: tails Kafka's log files (globs, through rotation, copytruncate, deletion and
//! restarts, see [`crate::tail`]), frames them into entries ([`crate::parse::log4j`]) and applies
//! every entry through the pipeline.
//!
//! Exactness across restarts: after applying the entries a poll produced, the source checkpoints
//! each stream at its framer's [`Framer::pending_offset`] (the start of the entry still being
//! assembled), and saves checkpoints every second and on shutdown. A restart resumes at the
//! checkpoint, so an entry is applied once: never lost, never counted twice (unless the process
//! is killed between applying and saving, when up to one second of entries is read again — the
//! same at-least-once contract as the Kafka source's offset commits). With a state snapshot
//! (top-level `state_dir`, [`crate::state`]), each poll applies and checkpoints under the
//! snapshot's cut and a restart resumes at the snapshot's checkpoints: exact across a kill too.
//!
//! The loop runs on its own thread: file reads are blocking and the tailer is synchronous.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Deserialize;
use serde_yaml_ng::Value;
use tokio_util::sync::CancellationToken;

use crate::event::Origin;
use crate::health::Health;
use crate::metrics::internal::{
    CheckpointFailed, InternalEvent, LayoutChosen, LayoutStreamClosed, LinesPartial,
    LinesUnrecognized, StreamPartial, StreamUnrecognized,
};
use crate::metrics::Metrics;
use crate::parse::layout::Layout;
use crate::parse::log4j::{Choice, Framer, FramerConfig, LogEntry, DEFAULT_MAX_ENTRY_BYTES};
use crate::parse::Input;
use crate::pipeline::{Item, LogStream, Pipeline};
use crate::sources::fields::{Fields, Problems};
use crate::state::{Positions, StateStore};
use crate::tail::{
    NotAFile, PollStats, StartAt, StreamId, TailConfig, TailError, TailEvent, Tailer,
};
use crate::telemetry::RateLimit;

/// A `- file:` source.
#[derive(Debug, Clone)]
pub struct FileSourceConfig {
    /// The `source` label. Default `broker-logs`. Must be unique.
    pub name: String,
    /// Glob patterns of the files to tail, e.g. `/var/log/kafka/*.log*` (include the rotated
    /// names, so a restart finds files rotated while it was down). `*` does not cross `/`.
    pub paths: Vec<String>,
    /// Glob patterns to skip, e.g. `*.gz`.
    pub exclude: Vec<String>,
    /// Which log the files are. Default `auto`: each entry is routed by its logger, which also
    /// reads a container's mixed stdout.
    pub kind: Input,
    /// Where to start in files found at the very first start (no state yet): `beginning` counts
    /// what the files already hold, `end` only what is written from now on. Default `end`.
    /// Files that appear later are always read from their beginning.
    pub start_at: StartAt,
    /// Directory for checkpoints (file identity + offset). Without it, a restart starts over per
    /// `start_at`. Strongly recommended.
    pub state_dir: Option<PathBuf>,
    /// The broker JVM's UTC offset for timestamps without a zone (`+01:00`). Default `+00:00`.
    pub utc_offset: String,
    /// The broker's log4j `PatternLayout`, when it is not one the exporter recognizes by itself
    /// (Kafka's `[%d] %p %m (%c)%n`, Strimzi's, ISO stamps, container and journald prefixes),
    /// e.g. `%d{ISO8601} %-5p [%t] %c - %m%n`. Default: recognize the common layouts.
    pub layout: Option<String>,
    /// How often to look for new bytes, in milliseconds. Default 250.
    pub poll_interval_ms: u64,
    /// Longest log entry kept, in bytes; longer ones are cut and counted as `invalid_field`
    /// parse errors. Default 65536.
    pub max_entry_bytes: usize,
    /// Seconds a rotated or deleted file must stay idle before it is closed. Default 10.
    pub rotate_wait_secs: u64,
}

fn default_name() -> String {
    "broker-logs".into()
}
fn default_start_at() -> StartAt {
    StartAt::End
}
fn default_utc_offset() -> String {
    "+00:00".into()
}
fn default_poll_interval_ms() -> u64 {
    250
}
fn default_max_entry_bytes() -> usize {
    DEFAULT_MAX_ENTRY_BYTES
}
fn default_rotate_wait_secs() -> u64 {
    10
}

/// A file source's `kind:`, by its [`Input::LOG_KINDS`] name.
struct LogKindName(Input);

impl<'de> Deserialize<'de> for LogKindName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Input::deserialize_log_kind(d).map(LogKindName)
    }
}

impl FileSourceConfig {
    /// Reads a `file:` item key by key (see [`crate::sources::fields`]); `None` when it is not
    /// a mapping. Problems go to `problems`; unreadable values are replaced by their defaults.
    pub fn read(at: &str, value: Value, problems: &mut Problems) -> Option<FileSourceConfig> {
        let mut f = Fields::new(at, value, problems)?;
        let config = FileSourceConfig {
            name: f.optional("name").unwrap_or_else(default_name),
            paths: f.required("paths").unwrap_or_default(),
            exclude: f.optional("exclude").unwrap_or_default(),
            kind: f
                .optional::<LogKindName>("kind")
                .map_or(Input::BrokerLog, |k| k.0),
            start_at: f.optional("start_at").unwrap_or_else(default_start_at),
            state_dir: f.nullable("state_dir"),
            utc_offset: f.optional("utc_offset").unwrap_or_else(default_utc_offset),
            layout: f.nullable("layout"),
            poll_interval_ms: f
                .optional("poll_interval_ms")
                .unwrap_or_else(default_poll_interval_ms),
            max_entry_bytes: f
                .optional("max_entry_bytes")
                .unwrap_or_else(default_max_entry_bytes),
            rotate_wait_secs: f
                .optional("rotate_wait_secs")
                .unwrap_or_else(default_rotate_wait_secs),
        };
        f.finish();
        Some(config)
    }

    /// Every problem with this source, prefixed with `at`.
    pub fn problems(&self, at: &str, problems: &mut Vec<String>) {
        if self.paths.is_empty() {
            problems.push(format!("{at}.paths: give at least one glob"));
        }
        for (i, p) in self.paths.iter().enumerate() {
            if p.trim().is_empty() {
                problems.push(format!("{at}.paths[{i}]: empty"));
            }
        }
        FramerConfig::problems(
            at,
            Some(&self.utc_offset),
            self.layout.as_deref(),
            self.kind,
            problems,
        );
        if self.poll_interval_ms < 10 {
            problems.push(format!("{at}.poll_interval_ms: must be at least 10"));
        }
        if self.max_entry_bytes < 1024 {
            problems.push(format!("{at}.max_entry_bytes: must be at least 1024"));
        }
    }

    fn framer(&self) -> FramerConfig {
        FramerConfig {
            max_entry_bytes: self.max_entry_bytes,
            ..FramerConfig::configured(Some(&self.utc_offset), self.layout.as_deref(), self.kind)
        }
    }

    fn tail(&self) -> TailConfig {
        let mut t = TailConfig::new(self.paths.clone());
        t.exclude = self.exclude.clone();
        t.start_at = self.start_at;
        t.state_dir = self.state_dir.clone();
        t.rotate_wait = Duration::from_secs(self.rotate_wait_secs);
        t
    }
}

/// One stream being framed.
struct Stream {
    framer: Framer,
    path: String,
    /// The log it belongs to across rotations (`server.log` for `server.log.2026-11-26-13`):
    /// the key of its [`LogStream`].
    log: String,
    /// Data arrived in the current poll.
    active: bool,
    /// The framer's skipped lines already counted.
    counted_skipped: u64,
    /// Partial lines counted so far.
    counted_partial: u64,
    /// The layout its first entry chose, once reported.
    choice: Option<Choice>,
    /// Reported as recognizing nothing.
    warned: bool,
}

impl Stream {
    /// Reports what the framer saw since the last call: lines outside any entry, the layout the
    /// first entry chose (once), and a stream that recognizes nothing (once: after
    /// [`crate::parse::log4j::UNRECOGNIZED_AFTER_LINES`] lines, or at its `end` after any).
    fn observe(&mut self, source: &str, metrics: &Metrics, layout: Option<&Layout>, end: bool) {
        let skipped = self.framer.skipped_lines();
        LinesUnrecognized {
            source,
            lines: skipped - self.counted_skipped,
        }
        .emit(metrics);
        self.counted_skipped = skipped;
        let partial = self.framer.partial_lines();
        if self.counted_partial == 0 && partial > 0 {
            StreamPartial {
                source,
                path: &self.path,
            }
            .emit(metrics);
        }
        LinesPartial {
            source,
            lines: partial - self.counted_partial,
        }
        .emit(metrics);
        self.counted_partial = partial;
        if let (None, Some(choice)) = (self.choice, self.framer.choice()) {
            self.choice = Some(choice);
            LayoutChosen {
                source,
                path: &self.path,
                choice,
                anchored: choice.anchored(layout),
            }
            .emit(metrics);
        }
        let nothing = self.framer.recognizes_nothing()
            || (end && self.framer.choice().is_none() && skipped > 0);
        if nothing && !self.warned {
            self.warned = true;
            StreamUnrecognized {
                source,
                path: &self.path,
                lines: skipped,
                layout: layout.map(Layout::pattern),
            }
            .emit(metrics);
        }
    }

    /// The stream is gone (ended, truncated): it no longer counts in its layout's gauge.
    fn close(&self, source: &str, metrics: &Metrics) {
        if let Some(choice) = self.choice {
            LayoutStreamClosed { source, choice }.emit(metrics);
        }
    }
}

/// A running file source.
pub struct FileSource {
    config: FileSourceConfig,
    /// Locked by the tail thread for each poll, and by the state snapshot (under its cut, when
    /// no poll runs) to read the checkpoints.
    tailer: Arc<Mutex<Tailer>>,
    pipeline: Arc<Pipeline>,
    health: Arc<Health>,
    state: Option<Arc<StateStore>>,
}

/// The tailer's checkpoints, for the state snapshot.
struct Checkpoints(Arc<Mutex<Tailer>>);

impl Positions for Checkpoints {
    fn positions(&self) -> serde_json::Value {
        self.0.lock().checkpoint_state()
    }
}

impl FileSource {
    /// Opens the tailer (loads checkpoints). Errors name the glob or state file at fault.
    pub fn start(
        config: FileSourceConfig,
        pipeline: Arc<Pipeline>,
        health: Arc<Health>,
        state: Option<Arc<StateStore>>,
    ) -> Result<FileSource, TailError> {
        let mut tailer = Tailer::new(config.tail())?;
        if let Some(saved) = state
            .as_ref()
            .and_then(|s| s.restored_positions(&config.name))
        {
            let from = state.as_ref().map(|s| s.file()).unwrap_or_default();
            let streams = tailer.resume_from(&saved, &from)?;
            tracing::info!(source = %config.name, streams, "Resuming at the state snapshot's checkpoints.");
        }
        let tailer = Arc::new(Mutex::new(tailer));
        if let Some(state) = &state {
            state.register(&config.name, Arc::new(Checkpoints(tailer.clone())));
        }
        if config.state_dir.is_none() && state.is_none() {
            tracing::warn!(
                source = %config.name,
                "No state_dir: a restart cannot resume where it stopped and starts over per start_at."
            );
        }
        health.register(&config.name);
        pipeline
            .metrics()
            .init_source(&config.name, false, &[config.kind]);
        pipeline.metrics().init_log_files(&config.name);
        Reported::default().skipped(&config.name, &PollStats::default(), pipeline.metrics());
        if config.state_dir.is_some() {
            pipeline.metrics().init_checkpoints(&config.name);
        }
        Ok(FileSource {
            config,
            tailer,
            pipeline,
            health,
            state,
        })
    }

    /// Tails until `shutdown`, then checkpoints what was applied.
    pub async fn run(self, shutdown: CancellationToken, _grace: Duration) {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let name = self.config.name.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("kse-tail-{name}"))
            .spawn(move || {
                self.run_blocking(&shutdown);
                let _ = done_tx.send(());
            });
        match spawned {
            Ok(_) => {
                let _ = done_rx.await;
            }
            Err(error) => tracing::error!(source = %name, %error, "Cannot start the tail thread."),
        }
    }

    fn run_blocking(self, shutdown: &CancellationToken) {
        let source = self.config.name.clone();
        let kind = self.config.kind;
        let framer_config = self.config.framer();
        let interval = Duration::from_millis(self.config.poll_interval_ms);
        let mut streams: HashMap<StreamId, Stream> = HashMap::new();
        let mut logs: HashMap<String, LogStream> = HashMap::new();
        let mut entries: Vec<LogEntry> = Vec::new();
        let mut last_save = Instant::now();
        let mut reported = Reported::default();
        let checkpoint_log = RateLimit::new(Duration::from_secs(60));
        tracing::info!(source = %source, paths = ?self.config.paths, "Tailing broker logs.");
        if let Some(l) = framer_config.layout.as_ref().filter(|l| !l.anchored()) {
            tracing::warn!(source = %source, layout = l.pattern(), "{}", crate::parse::layout::UNANCHORED_WARNING);
        }
        loop {
            // A poll applies entries and then moves the checkpoints: one step for the snapshot.
            let cut = self.state.as_ref().map(|s| s.cut().apply());
            let mut tailer = self.tailer.lock();
            let pipeline = &self.pipeline;
            let layout = framer_config.layout.as_deref();
            // `end`: the stream ended. `done`: the framer holds nothing more (idle or ended), so
            // no entry can still follow a decision the pipeline holds back for the entry after it.
            let mut apply = |entries: &mut Vec<LogEntry>, s: &mut Stream, end: bool, done: bool| {
                s.observe(&source, pipeline.metrics(), layout, end);
                if entries.is_empty() && !done {
                    return;
                }
                if !logs.contains_key(&s.log) {
                    logs.insert(s.log.clone(), LogStream::default());
                }
                let log = logs.get_mut(&s.log).expect("inserted above");
                for entry in entries.drain(..) {
                    let origin = Origin::File {
                        path: s.path.as_str().into(),
                        offset: entry.offset,
                    };
                    let item = Item::Entry {
                        entry: &entry,
                        origin,
                        stream: log,
                    };
                    pipeline.apply(&source, kind, item);
                }
                if done {
                    pipeline.end_stream(&source, log);
                }
            };
            for s in streams.values_mut() {
                s.active = false;
            }
            // Streams that ended this poll, with the offset everything was applied up to.
            let mut ended: Vec<(StreamId, u64)> = Vec::new();
            let polled = tailer.poll(&mut |event| match event {
                TailEvent::Data {
                    stream,
                    path,
                    offset,
                    bytes,
                } => {
                    let s = streams.entry(stream).or_insert_with(|| Stream {
                        framer: Framer::starting_at(framer_config.clone(), offset),
                        path: path.display().to_string(),
                        log: stream_key(path),
                        active: true,
                        counted_skipped: 0,
                        counted_partial: 0,
                        choice: None,
                        warned: false,
                    });
                    s.active = true;
                    s.framer.push(bytes, &mut entries);
                    apply(&mut entries, s, false, false);
                }
                TailEvent::Truncated { stream, path } => {
                    tracing::info!(source = %source, path = %path.display(), "File truncated in place; reading its new content from the start.");
                    if let Some(s) = streams.remove(&stream) {
                        s.close(&source, pipeline.metrics());
                    }
                }
                TailEvent::Ended { stream, .. } => {
                    if let Some(mut s) = streams.remove(&stream) {
                        s.framer.flush(&mut entries);
                        apply(&mut entries, &mut s, true, true);
                        s.close(&source, pipeline.metrics());
                        ended.push((stream, s.framer.pending_offset()));
                    }
                }
            });
            let more = self.report(&source, polled, &mut reported);
            // Idle streams: Kafka writes an entry in one go, so a complete last line ends it.
            for s in streams.values_mut().filter(|s| !s.active) {
                s.framer.flush_if_idle(&mut entries);
                let idle = s.framer.is_empty();
                apply(&mut entries, s, false, idle);
            }
            for (id, s) in &streams {
                tailer.checkpoint(*id, s.framer.pending_offset());
            }
            // An ended stream's checkpoint is its end: were it left at its last pending entry, a
            // restart would read that entry again under a new stream.
            for (id, end) in ended {
                tailer.checkpoint(id, end);
            }
            drop(tailer);
            drop(cut);
            let stopping = shutdown.is_cancelled();
            if stopping || last_save.elapsed() >= Duration::from_secs(1) {
                let saved = self.save_checkpoints(&source, &checkpoint_log);
                last_save = Instant::now();
                if stopping {
                    stopped(&source, streams.len(), saved);
                    return;
                }
            }
            if !more {
                sleep_unless_stopped(interval, shutdown);
            }
        }
    }
}

/// Sleeps `interval` in short steps, so a shutdown is prompt.
fn sleep_unless_stopped(interval: Duration, shutdown: &CancellationToken) {
    let until = Instant::now() + interval;
    while Instant::now() < until && !shutdown.is_cancelled() {
        std::thread::sleep(Duration::from_millis(20).min(interval));
    }
}

/// What a file source has reported of its polls' problems.
#[derive(Default)]
struct Reported {
    /// When unreadable files were last logged (at most once a minute).
    last_error_log: Option<Instant>,
    /// Paths already logged as not regular files (bounded: [`MAX_SKIPPED_LOGGED`]).
    skipped_logged: HashSet<PathBuf>,
}

/// How many not-regular paths a source logs by name; the metric counts all of them.
const MAX_SKIPPED_LOGGED: usize = 1000;

impl Reported {
    /// Sets `kafka_security_log_files_skipped` from a poll and logs each newly skipped path once.
    fn skipped(&mut self, source: &str, stats: &PollStats, metrics: &Metrics) {
        metrics.set_log_files_skipped(source, "unreadable", stats.unreadable);
        for kind in NotAFile::ALL {
            metrics.set_log_files_skipped(source, kind.as_str(), stats.not_files[kind.index()]);
        }
        for (path, kind) in &stats.skipped {
            if self.skipped_logged.len() >= MAX_SKIPPED_LOGGED || self.skipped_logged.contains(path)
            {
                continue;
            }
            self.skipped_logged.insert(path.clone());
            tracing::warn!(
                source = %source,
                path = %path.display(),
                kind = kind.as_str(),
                "A path the globs match is not a regular file: skipped, never opened. Narrow the globs if it should not match."
            );
            if self.skipped_logged.len() == MAX_SKIPPED_LOGGED {
                tracing::warn!(source = %source, "More paths that are not regular files are skipped without being logged; kafka_security_log_files_skipped counts them.");
            }
        }
    }
}

/// Logs the end of tailing, saying whether the checkpoints were saved.
fn stopped(source: &str, files: usize, saved: bool) {
    if saved {
        tracing::info!(source = %source, files, "Stopped tailing; checkpoints saved.");
    } else {
        tracing::warn!(source = %source, files, "Stopped tailing; the checkpoints could NOT be saved: a restart reads from the last ones saved (lines since then are counted again).");
    }
}

impl FileSource {
    /// Saves the checkpoints; a failure is a [`CheckpointFailed`], logged at most once a minute
    /// (`log`), and keeps the source not ready until a save works. Whether they were saved.
    fn save_checkpoints(&self, source: &str, log: &RateLimit) -> bool {
        let saved = self.tailer.lock().save();
        let problem = saved.as_ref().err().map(|error| {
            let failed = CheckpointFailed { source, error };
            if let Some(suppressed) = log.check() {
                failed.log(suppressed);
            }
            failed.emit(self.pipeline.metrics());
            format!("cannot save checkpoints: {error}")
        });
        let ok = problem.is_none();
        self.health.update(source, |s| s.save_error = problem);
        ok
    }

    /// Mirrors a poll's outcome into health and (rate-limited) logs; true when more data is
    /// already waiting.
    fn report(
        &self,
        source: &str,
        polled: Result<PollStats, TailError>,
        reported: &mut Reported,
    ) -> bool {
        match polled {
            Ok(stats) => {
                reported.skipped(source, &stats, self.pipeline.metrics());
                if !stats.errors.is_empty() {
                    let now = Instant::now();
                    if reported
                        .last_error_log
                        .is_none_or(|t| now.duration_since(t) > Duration::from_secs(60))
                    {
                        reported.last_error_log = Some(now);
                        for e in &stats.errors {
                            tracing::warn!(source = %source, path = %e.path.display(), problem = %e.problem, "Cannot read a log file; retrying.");
                        }
                    }
                }
                let ok = stats.errors.is_empty();
                self.health.update(source, |s| {
                    s.connected = true;
                    s.assigned = true;
                    s.error =
                        (!ok).then(|| format!("cannot read {}", stats.errors[0].path.display()));
                });
                stats.more_pending
            }
            Err(error) => {
                tracing::error!(source = %source, %error, "Tailing failed.");
                self.health
                    .update(source, |s| s.error = Some(error.to_string()));
                false
            }
        }
    }
}

impl crate::sources::Source for FileSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn run(self: Box<Self>, stop: CancellationToken, grace: Duration) -> crate::sources::Running {
        Box::pin(FileSource::run(*self, stop, grace))
    }
}

/// Files of one log share a stream: `server.log.2026-11-26-13` and `server.log` → `server.log`.
pub fn stream_key(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.find(".log") {
        Some(i) => name[..i + 4].to_string(),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_share_a_stream() {
        assert_eq!(
            stream_key(Path::new("/l/server.log.2026-11-26-13")),
            "server.log"
        );
        assert_eq!(stream_key(Path::new("/l/controller.log")), "controller.log");
        assert_eq!(
            stream_key(Path::new("/l/kafka-authorizer.log.1.gz")),
            "kafka-authorizer.log"
        );
    }
}
