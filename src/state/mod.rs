//! Counting that survives a crash: the metric state and the source positions, snapshotted
//! together into `state_dir`, restored at start.
//!
//! # The cut
//! A snapshot is a consistent cut: every durable counter and histogram value
//! ([`crate::metrics::durable`]) together with each source's position — for a Kafka source the
//! next offset to apply of every partition it counted, for a file source the tailer's
//! checkpoints — such that the values count exactly the records before the positions. Sources
//! hold [`Cut::apply`] (a shared lock) while they apply a record and note its position (the Kafka
//! source per record, the file source per poll); a snapshot holds it exclusively while it
//! takes [`Metrics::cut`] (the small families gathered, the capped ones' values copied: 0.05 ms
//! with 100 000 series) and asks every source for its position ([`Positions`]), then releases it
//! and serializes and writes outside it. The apply path pays one uncontended lock per record
//! (BENCHMARKS.md, "State snapshots").
//!
//! # Written atomically, loaded strictly
//! [`file`]: a header with a version, the body's length and SHA-256; temp file, fsync, rename,
//! fsync of the directory. A snapshot that exists but cannot be read stops the start with an
//! error naming the file (like a corrupt checkpoint file): starting without it would count again
//! or skip.
//!
//! # Two phases: a snapshot counts once its offsets are committed
//! A Kafka source in a consumer group hands a partition to whichever member resumes it at the
//! group's committed offset, so a snapshot and the commit of its offsets must count together:
//! a snapshot restored without its commit would count again what the next owner re-reads, a
//! commit without its snapshot would lose what it covers. When a source says its positions
//! must be committed ([`Positions::needs_commit`]: its offsets moved since its last commit), the
//! snapshot is written as `state.snapshot.next`, each such source commits synchronously
//! ([`Positions::commit`], tagged with the snapshot's [`Tag`]), and only then is it renamed to
//! `state.snapshot` and served. A failed commit leaves it pending and unserved
//! (`kafka_security_state_commit_failures_total`); the next snapshot replaces it. A process killed
//! in between leaves `.next`, which [`load_resolved`] settles at the next start by asking the
//! groups whether its commit landed (`crate::sources::kafka` reads the tags in the commits'
//! metadata). A snapshot that needs no commit is written directly.
//!
//! # At start
//! [`load_resolved`] reads the snapshot (settling a pending one first).
//! [`StateStore::open`] adds the saved values to the fresh registry; each source then takes its
//! saved position ([`StateStore::restored_positions`]): the Kafka source seeks each partition it
//! is assigned to the snapshot's offset instead of the committed one, the file source resumes at
//! the snapshot's checkpoints instead of its own checkpoint file's. So counters continue where
//! the last snapshot left them and every record after it is counted once, whatever happened to
//! the process after the snapshot (kill -9, OOM kill, node loss).
//!
//! # Only durable values are served
//! Prometheus reads a counter that goes down as a reset, and `increase()` then counts the
//! re-read records a second time. So `/metrics` (and OTLP) never show a value that is not in a
//! snapshot on disk. We snapshot *before serving*: a scrape takes a cut, writes it, and answers
//! with exactly that cut ([`StateStore::scrape`]), so what it shows is as fresh as without
//! snapshots. Scrapes arriving while a snapshot is being written wait for it and, when it was
//! taken after they arrived, are answered from it too (one write for any number of concurrent
//! scrapes). Serving the last periodic snapshot instead would cost no write per scrape but would
//! show values up to `snapshot_interval_secs` old; a scrape every 15–60 s makes the extra write
//! cheap (milliseconds, see BENCHMARKS.md) and keeps `/metrics` exact, which the alerts' short
//! windows want. OTLP pushes the last snapshot written (at most one interval old). When a write
//! fails (a full or read-only disk), scrapes are answered from the last snapshot written: the
//! counters stand still, never go down; `kafka_security_state_snapshot_failures_total`, an ERROR
//! at most once a minute and `/readyz` say so until a write works again.
//!
//! Gauges (consumer lag, `source_up`, …) describe the present and are never restored; the
//! process counters of [`crate::metrics::durable`] start at 0 with each process.

pub mod file;
pub mod lock;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

pub use file::{Snapshot, StateError, Tag, FILE_NAME};

use crate::health::Health;
use crate::metrics::durable::MetricCut;
use crate::metrics::internal::{InternalEvent, StateCommitFailed, StateSnapshotFailed};
use crate::metrics::Metrics;
use crate::telemetry::RateLimit;

/// Default [`StateConfig::snapshot_interval_secs`].
pub const DEFAULT_SNAPSHOT_INTERVAL_SECS: u64 = 5;

/// Test only: when set (milliseconds), every snapshot write pauses half-way through its
/// temporary file, so a test can kill the process in the middle of a write.
pub const TEST_PAUSE_ENV: &str = "KSE_TEST_STATE_WRITE_PAUSE_MS";

/// Test only: when set (milliseconds), a snapshot that commits offsets pauses after writing
/// `state.snapshot.next` and again after the commits, before the rename, so a test can kill the
/// process in either window.
pub const TEST_COMMIT_PAUSE_ENV: &str = "KSE_TEST_STATE_COMMIT_PAUSE_MS";

/// The `state:` section: the snapshot kept in the top-level `state_dir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Snapshot every counter, histogram and source position into `state_dir`, restore them at
    /// start and serve only what a snapshot holds (see "Counting across crashes" in the README).
    /// Default true when `state_dir` is set; false keeps the at-least-once behaviour (a crash
    /// re-reads from the last commit and counters start from 0).
    #[serde(default = "yes")]
    pub counters: bool,
    /// Seconds between periodic snapshots (besides one per scrape and one at shutdown): how old
    /// OTLP's pushed values may be, and how much a crash makes the next process re-read (never
    /// count twice). Default 5; at least 1.
    #[serde(default = "default_interval")]
    pub snapshot_interval_secs: u64,
}

fn yes() -> bool {
    true
}

fn default_interval() -> u64 {
    DEFAULT_SNAPSHOT_INTERVAL_SECS
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            counters: true,
            snapshot_interval_secs: DEFAULT_SNAPSHOT_INTERVAL_SECS,
        }
    }
}

impl StateConfig {
    /// Every problem with this section.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.snapshot_interval_secs == 0 {
            problems.push("state.snapshot_interval_secs: must be at least 1".into());
        }
        problems
    }
}

/// The exclusion between applying records and taking a snapshot (see the module docs).
#[derive(Default)]
pub struct Cut(RwLock<()>);

impl Cut {
    /// Held while a source applies records and notes their positions. Never hold it while
    /// waiting for input, nor take it twice on one thread.
    pub fn apply(&self) -> RwLockReadGuard<'_, ()> {
        self.0.read()
    }
}

/// A source's position, as a snapshot saves it.
pub trait Positions: Send + Sync {
    /// The position now. Called while the cut is held exclusively, so it matches the metrics:
    /// every record before it applied, none after.
    fn positions(&self) -> serde_json::Value;

    /// True when `positions` (from [`Positions::positions`]) must be committed elsewhere before
    /// a snapshot holding them may count: a Kafka source whose offsets moved since its last
    /// commit, whose consumer group hands its partitions to whichever member resumes them.
    fn needs_commit(&self, _positions: &serde_json::Value) -> bool {
        false
    }

    /// Commits `positions`, tagged with the snapshot's `tag`, waiting for the answer; `Err`
    /// with the reason when it did not land (or may not have).
    fn commit(&self, _positions: &serde_json::Value, _tag: &Tag) -> Result<(), String> {
        Ok(())
    }
}

/// The last snapshot written.
struct Written {
    /// Its sequence number (0: the state restored at start, durable by definition).
    seq: u64,
}

/// The snapshot of one running exporter. See the module docs.
pub struct StateStore {
    dir: PathBuf,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    cluster: Option<String>,
    cut: Cut,
    sources: Mutex<Vec<(String, Arc<dyn Positions>)>>,
    /// Saved positions not yet taken by their source.
    restored: Mutex<BTreeMap<String, serde_json::Value>>,
    /// Held for a whole snapshot, so they are written one at a time and in order.
    writer: Mutex<Written>,
    /// The sequence number the next cut gets.
    next_seq: AtomicU64,
    interval: Duration,
    pause: Option<Duration>,
    commit_pause: Option<Duration>,
    error_log: RateLimit,
    commit_log: RateLimit,
    /// Names this process in the tags of its snapshots' commits.
    incarnation: String,
}

impl StateStore {
    /// Adds `loaded`'s values to `metrics` (fresh: nothing applied yet) and keeps its positions
    /// for the sources. What the registry holds now is durable (it was just read from disk, or
    /// is empty), so it is what `/metrics` serves until the first snapshot. `cluster` (the
    /// label every series carries) is saved in each snapshot, so a restart keeps it.
    pub fn open(
        dir: &Path,
        config: &StateConfig,
        cluster: Option<String>,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        loaded: Option<Snapshot>,
    ) -> Arc<StateStore> {
        metrics.init_state();
        let mut positions = BTreeMap::new();
        if let Some(loaded) = loaded {
            let restored = metrics.restore(&loaded.metrics);
            let age = SystemTime::now()
                .duration_since(UNIX_EPOCH + Duration::from_millis(loaded.written_unix_ms))
                .unwrap_or_default();
            tracing::info!(
                file = %dir.join(FILE_NAME).display(),
                series = restored.series,
                sources = loaded.positions.len(),
                age = %humantime::format_duration(Duration::from_secs(age.as_secs())),
                "Restored counters and positions from the state snapshot."
            );
            if !restored.unknown_families.is_empty() || restored.mismatched > 0 {
                tracing::warn!(families = ?restored.unknown_families, series = restored.mismatched, "Some saved series do not fit this build or config (a metric gone, an opt-in label switched); they start from 0.");
            }
            positions = loaded.positions;
        }
        metrics.publish_durable(Arc::new(metrics.cut()));
        let pause_from = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .map(Duration::from_millis)
        };
        Arc::new(StateStore {
            dir: dir.to_path_buf(),
            cluster,
            metrics,
            health,
            cut: Cut::default(),
            sources: Mutex::new(Vec::new()),
            restored: Mutex::new(positions),
            writer: Mutex::new(Written { seq: 0 }),
            next_seq: AtomicU64::new(1),
            interval: Duration::from_secs(config.snapshot_interval_secs.max(1)),
            pause: pause_from(TEST_PAUSE_ENV),
            commit_pause: pause_from(TEST_COMMIT_PAUSE_ENV),
            error_log: RateLimit::new(Duration::from_secs(60)),
            commit_log: RateLimit::new(Duration::from_secs(60)),
            incarnation: incarnation(),
        })
    }

    /// The snapshot file, for messages.
    pub fn file(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The exclusion sources hold while applying.
    pub fn cut(&self) -> &Cut {
        &self.cut
    }

    /// The position `source` had in the snapshot restored at start, handed out once.
    pub fn restored_positions(&self, source: &str) -> Option<serde_json::Value> {
        self.restored.lock().remove(source)
    }

    /// Registers a source's positions: every snapshot from now on saves them.
    pub fn register(&self, source: &str, positions: Arc<dyn Positions>) {
        self.sources.lock().push((source.to_string(), positions));
    }

    /// Takes a cut and writes it. Blocking (disk I/O and the cut): call it off the async
    /// workers. On success, the cut is what `/metrics` and OTLP serve from now on.
    pub fn snapshot(&self) -> Result<Arc<MetricCut>, StateError> {
        let mut written = self.writer.lock();
        self.snapshot_locked(&mut written)
    }

    /// The exposition for one scrape: a cut taken after the scrape arrived and written before it
    /// is answered, shared with the scrapes waiting with it; when writing fails, the last
    /// snapshot written (its durable families, the rest live). Blocking.
    pub fn scrape(&self) -> Vec<u8> {
        let wanted = self.next_seq.load(Ordering::SeqCst);
        let mut written = self.writer.lock();
        if written.seq >= wanted {
            // A snapshot taken after this scrape arrived was written while it waited.
            return self.metrics.render_served();
        }
        match self.snapshot_locked(&mut written) {
            Ok(cut) => cut.render(),
            Err(_) => self.metrics.render_served(),
        }
    }

    fn snapshot_locked(&self, written: &mut Written) -> Result<Arc<MetricCut>, StateError> {
        let (seq, cut, positions) = {
            let _exclusive = self.cut.0.write();
            let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
            let cut = self.metrics.cut();
            let sources = self.sources.lock();
            let positions: Vec<(String, serde_json::Value)> = sources
                .iter()
                .map(|(name, p)| (name.clone(), p.positions()))
                .collect();
            (seq, cut, positions)
        };
        let tag = Tag {
            incarnation: self.incarnation.clone(),
            seq,
        };
        let mut saved: BTreeMap<String, serde_json::Value> = self.restored.lock().clone();
        saved.extend(positions.iter().cloned());
        let bytes = file::encode_ref(&file::SnapshotRef {
            written_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            cluster: &self.cluster,
            metrics: cut.saved(),
            positions: &saved,
            tag: Some(&tag),
        });
        // The sources whose positions must be committed before this snapshot may count.
        let committing: Vec<(String, Arc<dyn Positions>, serde_json::Value)> = {
            let sources = self.sources.lock();
            positions
                .iter()
                .filter_map(|(name, value)| {
                    let (_, p) = sources.iter().find(|(n, _)| n == name)?;
                    p.needs_commit(value)
                        .then(|| (name.clone(), p.clone(), value.clone()))
                })
                .collect()
        };
        let result = if committing.is_empty() {
            // A leftover `.next` is older than this snapshot, which holds all it held.
            file::write_atomic(&self.dir, &bytes, self.pause)
                .and_then(|()| file::discard_next(&self.dir))
        } else {
            self.write_and_commit(&bytes, &tag, &committing)
        };
        match result {
            Ok(()) => {
                let cut = Arc::new(cut);
                self.metrics.publish_durable(cut.clone());
                written.seq = seq;
                self.health.set_state_error(None);
                Ok(cut)
            }
            Err(StateError::Commit {
                path,
                source_name,
                reason,
            }) => {
                let failed = StateCommitFailed {
                    source: &source_name,
                    error: &reason,
                };
                if let Some(suppressed) = self.commit_log.check() {
                    failed.log(suppressed);
                }
                failed.emit(&self.metrics);
                Err(StateError::Commit {
                    path,
                    source_name,
                    reason,
                })
            }
            Err(error) => {
                let failed = StateSnapshotFailed { error: &error };
                if let Some(suppressed) = self.error_log.check() {
                    failed.log(suppressed);
                }
                failed.emit(&self.metrics);
                self.health
                    .set_state_error(Some(format!("state snapshot: {error}")));
                Err(error)
            }
        }
    }

    /// The two phases (see the module docs): `bytes` as `state.snapshot.next`, then each
    /// source's commit, then the rename that makes it the snapshot. A failed commit leaves
    /// `.next` in place: whether the group has its offsets is settled at the next start
    /// ([`load_resolved`]), or by the next snapshot, which replaces it.
    fn write_and_commit(
        &self,
        bytes: &[u8],
        tag: &Tag,
        committing: &[(String, Arc<dyn Positions>, serde_json::Value)],
    ) -> Result<(), StateError> {
        file::write_atomic_as(&self.dir, file::NEXT_FILE_NAME, bytes, self.pause)?;
        for (name, p, value) in committing {
            if let Some(pause) = self.commit_pause {
                std::thread::sleep(pause);
            }
            p.commit(value, tag).map_err(|reason| StateError::Commit {
                path: self.dir.join(file::NEXT_FILE_NAME),
                source_name: name.clone(),
                reason,
            })?;
        }
        if let Some(pause) = self.commit_pause {
            std::thread::sleep(pause);
        }
        file::promote(&self.dir)
    }

    /// Snapshots every `snapshot_interval_secs` until `stop` (the shutdown takes the last one
    /// itself, after the sources stopped).
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut every = tokio::time::interval(self.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => {
                    let store = self.clone();
                    // A failure is counted, logged and shown in /readyz by the snapshot itself.
                    let _ = tokio::task::spawn_blocking(move || store.snapshot()).await;
                }
            }
        }
    }

    /// The last snapshot, at shutdown once the sources stopped. Whether it was written.
    pub async fn save_final(self: &Arc<Self>) -> bool {
        let store = self.clone();
        let saved = tokio::task::spawn_blocking(move || store.snapshot().is_ok()).await;
        let saved = saved.unwrap_or(false);
        if saved {
            tracing::info!(file = %self.dir.join(FILE_NAME).display(), "State snapshot saved.");
        } else {
            tracing::error!(file = %self.dir.join(FILE_NAME).display(), "The last state snapshot could not be saved (see the error above): the next start resumes from the last one that counted and re-reads what came after it.");
        }
        saved
    }
}

/// A fresh random name for this process's snapshots (16 hex digits).
fn incarnation() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    // The system's random source does not fail on the platforms we build for; the clock is a
    // fallback that still differs between starts.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = (now ^ u64::from(std::process::id())).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a source's consumer group says of a pending snapshot's commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// The commit of the pending snapshot (or of a later one that had no file yet) landed.
    Yes,
    /// It did not: the group's offsets are still the restored snapshot's.
    No,
    /// The group could not be asked, or its answer is incomplete.
    Unknown,
}

/// The snapshot to restore at start. Usually `state.snapshot`; but when the last process died
/// while committing the offsets of `state.snapshot.next` (see the module docs), that one when its
/// commit landed, as `landed` asks each source's consumer group (`None`: a source that commits
/// nothing). Restoring the older one after the commit landed would lose what came between (the
/// group resumes after it); restoring the newer one when it did not would count it twice. When
/// the group cannot tell, the newer one is restored: records may then be counted twice, never
/// lost.
pub fn load_resolved(
    dir: &Path,
    landed: impl Fn(&str, &serde_json::Value, &Tag, u64) -> Option<Landed>,
) -> Result<Option<Snapshot>, StateError> {
    let promoted = file::load(dir)?;
    let Some(next) = file::load_next(dir)? else {
        return Ok(promoted);
    };
    let next_file = dir.join(file::NEXT_FILE_NAME);
    let Some(tag) = next.tag.clone() else {
        tracing::warn!(file = %next_file.display(), "A pending state snapshot without a tag; restoring it (records may be counted twice, never lost).");
        file::promote(dir)?;
        return Ok(Some(next));
    };
    // Commits tagged with this process's sequence numbers up to the restored snapshot's are
    // that snapshot's or older ones'.
    let floor = promoted
        .as_ref()
        .and_then(|p| p.tag.as_ref())
        .filter(|t| t.incarnation == tag.incarnation)
        .map_or(0, |t| t.seq);
    if tag.seq <= floor {
        file::discard_next(dir)?;
        return Ok(promoted);
    }
    let answers: Vec<(&String, Landed)> = next
        .positions
        .iter()
        .filter_map(|(source, positions)| Some((source, landed(source, positions, &tag, floor)?)))
        .collect();
    let decided = if answers.is_empty() {
        Landed::Unknown
    } else if answers.iter().all(|(_, l)| *l == Landed::No) {
        Landed::No
    } else if answers.iter().any(|(_, l)| *l == Landed::Yes) {
        Landed::Yes
    } else {
        Landed::Unknown
    };
    match decided {
        Landed::No => {
            tracing::info!(file = %next_file.display(), "The last process stopped before the offsets of its last state snapshot were committed; restoring the one before it, whose offsets were.");
            file::discard_next(dir)?;
            Ok(promoted)
        }
        Landed::Yes => {
            tracing::info!(file = %next_file.display(), "The last process stopped after the offsets of its last state snapshot were committed, before it was renamed; restoring it.");
            file::promote(dir)?;
            Ok(Some(next))
        }
        Landed::Unknown => {
            tracing::warn!(file = %next_file.display(), answers = ?answers, "Cannot tell whether the offsets of the last state snapshot were committed; restoring it (records may be counted twice, never lost).");
            file::promote(dir)?;
            Ok(Some(next))
        }
    }
}

#[cfg(test)]
mod tests;
