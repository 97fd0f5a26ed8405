//! Stateful detectors on **event time**: brute force, password spraying, credential stuffing,
//! slow brute force, a success after failures, privilege probing, new principals and new client
//! hosts, log tampering, log injection and seasonal anomalies.
//!
//! Every detector reads the time an event says it happened (its `event_time`, else when it was
//! read), never the wall clock, so a live run and a `replay` of the same events raise the same
//! detections. Memory stays bounded whatever an attacker sends: windows count in fixed buckets,
//! distinct-value sets count only up to their threshold, tracked subjects are capped (further
//! subjects are tracked together as [`OVERFLOW`]) and first-seen memory is capped and ages out.
//!
//! The [`Engine`] holds the detectors; the pipeline feeds it every event, every suspect log
//! entry and the passing of time, and turns each [`Detection`] into a metric, a log line and a
//! span — inline, or on a thread of its own fed [`queue::Batch`]es of those calls (`replay`). What must survive a restart (first-seen memory, anomaly baselines) is saved as one JSON
//! file in the state directory.

pub mod config;
pub mod queue;

mod anomaly;
mod first_seen;
mod rates;
mod tamper;
mod window;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

pub use config::DetectorsConfig;

use crate::event::{Category, Outcome, SecurityEvent};

/// The subject under which events of subjects beyond a detector's cap are tracked together.
pub const OVERFLOW: &str = "__overflow__";

/// Every detector. Its `as_str()` is the `detector` label and its config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detector {
    BruteForce,
    PasswordSpraying,
    CredentialStuffing,
    SlowBruteForce,
    SuccessAfterFailures,
    PrivilegeProbing,
    NewPrincipal,
    NewClientForPrincipal,
    LogTampering,
    LogInjection,
    Anomaly,
}

impl Detector {
    pub const ALL: [Detector; 11] = [
        Detector::BruteForce,
        Detector::PasswordSpraying,
        Detector::CredentialStuffing,
        Detector::SlowBruteForce,
        Detector::SuccessAfterFailures,
        Detector::PrivilegeProbing,
        Detector::NewPrincipal,
        Detector::NewClientForPrincipal,
        Detector::LogTampering,
        Detector::LogInjection,
        Detector::Anomaly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Detector::BruteForce => "brute_force",
            Detector::PasswordSpraying => "password_spraying",
            Detector::CredentialStuffing => "credential_stuffing",
            Detector::SlowBruteForce => "slow_brute_force",
            Detector::SuccessAfterFailures => "success_after_failures",
            Detector::PrivilegeProbing => "privilege_probing",
            Detector::NewPrincipal => "new_principal",
            Detector::NewClientForPrincipal => "new_client_for_principal",
            Detector::LogTampering => "log_tampering",
            Detector::LogInjection => "log_injection",
            Detector::Anomaly => "anomaly",
        }
    }

    /// MITRE ATT&CK technique id (the `technique` label); `none` for the anomaly detector,
    /// which names no technique.
    pub fn technique(self) -> &'static str {
        match self {
            Detector::BruteForce => "T1110.001",
            Detector::PasswordSpraying => "T1110.003",
            Detector::CredentialStuffing => "T1110.004",
            Detector::SlowBruteForce => "T1110",
            Detector::SuccessAfterFailures | Detector::NewPrincipal => "T1078",
            Detector::NewClientForPrincipal => "T1078",
            Detector::PrivilegeProbing => "T1069",
            Detector::LogTampering => "T1562.008",
            Detector::LogInjection => "T1070",
            Detector::Anomaly => "none",
        }
    }

    /// MITRE ATT&CK tactic of the technique.
    pub fn tactic(self) -> &'static str {
        match self {
            Detector::BruteForce
            | Detector::PasswordSpraying
            | Detector::CredentialStuffing
            | Detector::SlowBruteForce => "credential_access",
            Detector::SuccessAfterFailures
            | Detector::NewPrincipal
            | Detector::NewClientForPrincipal => "initial_access",
            Detector::PrivilegeProbing => "discovery",
            Detector::LogTampering | Detector::LogInjection => "defense_evasion",
            Detector::Anomaly => "none",
        }
    }

    /// The severity unless the config overrides it.
    pub fn default_severity(self) -> Severity {
        match self {
            Detector::BruteForce
            | Detector::PasswordSpraying
            | Detector::CredentialStuffing
            | Detector::SuccessAfterFailures
            | Detector::LogTampering
            | Detector::LogInjection => Severity::Critical,
            Detector::SlowBruteForce
            | Detector::PrivilegeProbing
            | Detector::NewClientForPrincipal
            | Detector::Anomaly => Severity::Warning,
            Detector::NewPrincipal => Severity::Warning,
        }
    }
}

/// How urgent a detection is (the `severity` label). `info` is deliberately absent: Alertmanager
/// setups commonly inhibit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 2] = [Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One detection: a detector fired on a subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub detector: Detector,
    pub severity: Severity,
    /// The client host or principal (or stream, or `all`) it is about; [`OVERFLOW`] when the
    /// subject was beyond the detector's cap.
    pub subject: String,
    /// Event time of the first event behind it (the start of the evidence).
    pub first_event: SystemTime,
    /// Event time of the event that made it fire.
    pub last_event: SystemTime,
    /// How many events (or distinct values, for the distinct-count detectors) are behind it.
    pub count: u64,
    /// One sentence for people: `23 failed logins in 5m`.
    pub detail: String,
}

/// A string input field with its hash, computed once per event and shared by every detector.
#[derive(Debug, Clone, Copy)]
pub struct Key<'e> {
    pub hash: u64,
    pub text: &'e str,
}

/// What detectors read of one event: its time, kind and the fields they key or report on.
/// Borrowed from a [`SecurityEvent`] ([`Facts::of`]) or from a [`queue::Batch`] a detector
/// thread works through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts<'e> {
    /// Event time (the event's own time, else when it was read).
    pub at: SystemTime,
    pub category: Category,
    pub outcome: Outcome,
    pub principal: Option<&'e str>,
    pub client_host: Option<&'e str>,
    pub resource_type: Option<&'e str>,
    pub resource_name: Option<&'e str>,
    pub config_key: Option<&'e str>,
}

impl<'e> Facts<'e> {
    /// These facts without the fields no detector reads for this kind of event: the resource
    /// counts for authorization denials (`privilege_probing`) and config changes
    /// (`log_tampering`), the config key for config changes only. A detector reading more must
    /// say so here, or it misses them on a detector thread.
    pub fn trimmed(mut self) -> Facts<'e> {
        let config = self.category == Category::ConfigChange;
        if !(config || self.category == Category::Authorization && self.outcome == Outcome::Denied)
        {
            self.resource_type = None;
            self.resource_name = None;
        }
        if !config {
            self.config_key = None;
        }
        self
    }

    pub fn of(event: &'e SecurityEvent<'_>) -> Facts<'e> {
        Facts {
            at: event.event_time.unwrap_or(event.observed_time),
            category: event.category,
            outcome: event.outcome,
            principal: event.principal.as_deref(),
            client_host: event.client_host.as_deref(),
            resource_type: event.resource_type.as_deref(),
            resource_name: event.resource_name.as_deref(),
            config_key: event.config_key.as_deref(),
        }
    }
}

/// What detectors see of one event.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'e> {
    /// Event time (the event's own time, else when it was read).
    pub at: SystemTime,
    /// [`Observation::at`] in milliseconds since the epoch ([`millis`]), computed once.
    pub ms: u64,
    pub event: Facts<'e>,
    pub principal: Option<Key<'e>>,
    pub client_host: Option<Key<'e>>,
}

impl Observation<'_> {
    /// A failed authentication.
    pub fn is_login_failure(&self) -> bool {
        self.event.category == Category::Authentication && self.event.outcome == Outcome::Failure
    }

    /// A successful authentication.
    pub fn is_login_success(&self) -> bool {
        self.event.category == Category::Authentication && self.event.outcome == Outcome::Success
    }

    /// A denied authorization.
    pub fn is_denial(&self) -> bool {
        self.event.category == Category::Authorization && self.event.outcome == Outcome::Denied
    }
}

/// A log entry the broker-log parsers flagged as carrying a forged line or field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suspect<'e> {
    pub at: SystemTime,
    /// The principal, when the broker-written part of the entry names it.
    pub principal: Option<&'e str>,
    /// The log stream (`source` and file or partition) it came from.
    pub stream: &'e str,
}

/// One detector: fed every observation, suspect entry and tick, in event-time order (mostly:
/// sources interleave, so an event may be a little older than the last one seen).
trait Detect: Send {
    fn detector(&self) -> Detector;
    /// One event.
    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>);
    /// Whether it wants [`Detect::log_entry`] (the engine calls only those that do).
    fn watches_log_entries(&self) -> bool {
        false
    }
    /// A log entry was read from `stream` at `at` (event time, millis; whatever it held): for
    /// silence detection.
    fn log_entry(&mut self, _stream: &str, _at: u64, _out: &mut Vec<Detection>) {}
    /// A suspect log entry.
    fn suspect(&mut self, _s: &Suspect<'_>, _out: &mut Vec<Detection>) {}
    /// Time has passed up to `now` (event time in replay; the wall clock when live).
    fn tick(&mut self, _now: SystemTime, _out: &mut Vec<Detection>) {}
    /// The input has ended (the end of a replay): report what is still held back.
    fn finish(&mut self, _out: &mut Vec<Detection>) {}
    /// Subjects tracked now (for memory bounds and tests).
    fn tracked(&self) -> usize;
    /// Events of subjects beyond the cap, tracked under [`OVERFLOW`], since start.
    fn overflowed(&self) -> u64 {
        0
    }
    /// What must survive a restart, if anything.
    fn save(&self) -> Option<serde_json::Value> {
        None
    }
    /// Restores what [`Detect::save`] returned in an earlier run.
    fn restore(&mut self, _state: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }
}

/// One row of [`Engine::summary`]: the detections of one detector on one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub detector: Detector,
    pub subject: String,
    pub first_event: SystemTime,
    pub last_event: SystemTime,
    /// Detections raised.
    pub detections: u64,
    /// Events behind them, summed.
    pub events: u64,
}

/// Rows [`Engine::summary`] keeps at most; further (detector, subject) pairs are counted only.
const MAX_SUMMARY_ROWS: usize = 10_000;

/// Why the detector state could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: not a detector state file: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// The detectors of one process.
pub struct Engine {
    /// The keys of `hasher`: drawn at random for a new state, kept in the state file (the hashes
    /// saved there must mean the same after a restart) and secret, so no one can choose
    /// principals or hosts whose hashes collide to slow every lookup down.
    seeds: [u64; 4],
    detectors: Vec<Box<dyn Detect>>,
    /// Indices of the detectors that watch log entries.
    log_watchers: Vec<usize>,
    hasher: ahash::RandomState,
    state_file: Option<PathBuf>,
    summary: HashMap<(Detector, String), SummaryRow>,
    summary_dropped: u64,
    /// How long after a detection of a subject a repeat of it is suppressed, per detector
    /// (indexed by `Detector as usize`): the windowed detectors' windows, else 0.
    quiet_for: [u64; Detector::ALL.len()],
    /// (detector, subject hash) → event time (millis) until which repeats are suppressed.
    quiet: HashMap<(Detector, u64), u64>,
    /// Repeats suppressed since start, per detector.
    suppressed: [u64; Detector::ALL.len()],
}

/// (detector, subject) pairs whose repeats are suppressed at once; past it, expired ones are
/// dropped, and if none has expired a repeat is raised rather than suppressed.
const MAX_QUIET: usize = 100_000;

/// Name of the state file in the state directory.
pub const STATE_FILE: &str = "detectors.json";

impl Engine {
    /// The detectors `config` switches on, with no memory of earlier runs.
    pub fn new(config: &DetectorsConfig) -> Engine {
        let mut detectors: Vec<Box<dyn Detect>> = Vec::new();
        if config.enabled {
            rates::build(config, &mut detectors);
            first_seen::build(config, &mut detectors);
            tamper::build(config, &mut detectors);
            anomaly::build(config, &mut detectors);
        }
        let log_watchers = (0..detectors.len())
            .filter(|&i| detectors[i].watches_log_entries())
            .collect();
        let seeds = random_seeds();
        Engine {
            detectors,
            log_watchers,
            seeds,
            hasher: hasher(seeds),
            state_file: None,
            summary: HashMap::new(),
            summary_dropped: 0,
            quiet_for: quiet_periods(config),
            quiet: HashMap::new(),
            suppressed: [0; Detector::ALL.len()],
        }
    }

    /// Keeps the detectors' memory in `dir` ([`STATE_FILE`]): restores it now if it exists.
    pub fn with_state_dir(mut self, dir: &Path) -> Result<Engine, StateError> {
        let path = dir.join(STATE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => self.restore(&path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(StateError::Io { path, error }),
        }
        self.state_file = Some(path);
        Ok(self)
    }

    fn restore(&mut self, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
        let invalid = |reason: String| StateError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let root: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if root.get("version").and_then(|v| v.as_u64()) != Some(1) {
            return Err(invalid("unknown version (expected 1)".into()));
        }
        let Some(states) = root.get("detectors").and_then(|d| d.as_object()) else {
            return Err(invalid("no `detectors` object".into()));
        };
        // Hashes saved by a build that kept no seeds were made with its fixed ones.
        self.seeds = match root.get("seeds") {
            None => LEGACY_SEEDS,
            Some(seeds) => seeds
                .as_array()
                .and_then(|a| {
                    let a: Vec<u64> = a.iter().map(|v| v.as_u64()).collect::<Option<_>>()?;
                    a.try_into().ok()
                })
                .ok_or_else(|| invalid("`seeds` is not a list of 4 unsigned integers".into()))?,
        };
        self.hasher = hasher(self.seeds);
        for d in &mut self.detectors {
            if let Some(state) = states.get(d.detector().as_str()) {
                d.restore(state)
                    .map_err(|e| invalid(format!("{}: {e}", d.detector().as_str())))?;
            }
        }
        Ok(())
    }

    /// Whether any detector is on.
    pub fn is_empty(&self) -> bool {
        self.detectors.is_empty()
    }

    /// The detectors that are on.
    pub fn detectors(&self) -> Vec<Detector> {
        self.detectors.iter().map(|d| d.detector()).collect()
    }

    fn key<'e>(&self, text: Option<&'e str>) -> Option<Key<'e>> {
        let text = text.filter(|t| !t.is_empty())?;
        Some(Key {
            hash: self.hasher.hash_one(text),
            text,
        })
    }

    /// Feeds one event; detections go to `out`.
    pub fn observe(&mut self, event: &SecurityEvent<'_>, out: &mut Vec<Detection>) {
        self.observe_facts(&Facts::of(event), out);
    }

    /// Feeds what detectors read of one event; detections go to `out`.
    pub fn observe_facts(&mut self, facts: &Facts<'_>, out: &mut Vec<Detection>) {
        if self.detectors.is_empty() {
            return;
        }
        let o = Observation {
            at: facts.at,
            ms: millis(facts.at),
            event: *facts,
            principal: self.key(facts.principal),
            client_host: self.key(facts.client_host),
        };
        let start = out.len();
        for d in &mut self.detectors {
            d.observe(&o, out);
        }
        self.settle(out, start);
    }

    /// A log entry was read from `stream` at event time `at`. Only the detectors that watch log
    /// streams see it.
    pub fn log_entry(&mut self, stream: &str, at: SystemTime, out: &mut Vec<Detection>) {
        let start = out.len();
        let at = millis(at);
        for &i in &self.log_watchers {
            self.detectors[i].log_entry(stream, at, out);
        }
        self.settle(out, start);
    }

    /// A suspect log entry (a forged line or field).
    pub fn suspect(&mut self, s: &Suspect<'_>, out: &mut Vec<Detection>) {
        let start = out.len();
        for d in &mut self.detectors {
            d.suspect(s, out);
        }
        self.settle(out, start);
    }

    /// Time has passed up to `now`.
    pub fn tick(&mut self, now: SystemTime, out: &mut Vec<Detection>) {
        let start = out.len();
        for d in &mut self.detectors {
            d.tick(now, out);
        }
        self.settle(out, start);
    }

    /// The input has ended (the end of a replay): detections held back to be folded are
    /// reported now rather than lost.
    pub fn finish(&mut self, out: &mut Vec<Detection>) {
        let start = out.len();
        for d in &mut self.detectors {
            d.finish(out);
        }
        self.settle(out, start);
    }

    /// Suppresses repeats among the detections from `start` on (a detector firing again on the
    /// same subject within its window: a sustained attack is one detection per window, not one
    /// per threshold crossed), then adds the rest to the summary. A suppressed repeat is counted
    /// ([`Engine::suppressed`]) and its events still go to its subject's summary row.
    fn settle(&mut self, out: &mut Vec<Detection>, start: usize) {
        if out.len() == start {
            return;
        }
        let mut kept = start;
        for i in start..out.len() {
            if self.is_repeat(&out[i]) {
                self.suppressed[out[i].detector as usize] += 1;
                let key = (out[i].detector, std::mem::take(&mut out[i].subject));
                if let Some(row) = self.summary.get_mut(&key) {
                    row.events += out[i].count;
                    row.last_event = row.last_event.max(out[i].last_event);
                }
            } else {
                out.swap(kept, i);
                kept += 1;
            }
        }
        out.truncate(kept);
        self.summarize(start, out);
    }

    /// Whether `d` repeats a detection of its detector on its subject within the quiet period;
    /// if not, starts one.
    fn is_repeat(&mut self, d: &Detection) -> bool {
        let quiet_for = self.quiet_for[d.detector as usize];
        if quiet_for == 0 {
            return false;
        }
        let at = millis(d.last_event);
        let key = (d.detector, self.hasher.hash_one(&d.subject));
        if let Some(until) = self.quiet.get_mut(&key) {
            if at < *until {
                return true;
            }
            *until = at.saturating_add(quiet_for);
            return false;
        }
        if self.quiet.len() >= MAX_QUIET {
            self.quiet.retain(|_, until| *until > at);
            if self.quiet.len() >= MAX_QUIET {
                return false;
            }
        }
        self.quiet.insert(key, at.saturating_add(quiet_for));
        false
    }

    /// Repeats suppressed since start, per detector that is on.
    pub fn suppressed(&self) -> Vec<(Detector, u64)> {
        self.detectors
            .iter()
            .map(|d| (d.detector(), self.suppressed[d.detector() as usize]))
            .collect()
    }

    fn summarize(&mut self, start: usize, out: &[Detection]) {
        for d in &out[start..] {
            let key = (d.detector, d.subject.clone());
            if let Some(row) = self.summary.get_mut(&key) {
                row.first_event = row.first_event.min(d.first_event);
                row.last_event = row.last_event.max(d.last_event);
                row.detections += 1;
                row.events += d.count;
            } else if self.summary.len() < MAX_SUMMARY_ROWS {
                self.summary.insert(
                    key,
                    SummaryRow {
                        detector: d.detector,
                        subject: d.subject.clone(),
                        first_event: d.first_event,
                        last_event: d.last_event,
                        detections: 1,
                        events: d.count,
                    },
                );
            } else {
                self.summary_dropped += 1;
            }
        }
    }

    /// Every detection so far by detector and subject, sorted by detector then first event; and
    /// how many detections found no row (beyond [`MAX_SUMMARY_ROWS`]).
    pub fn summary(&self) -> (Vec<SummaryRow>, u64) {
        let mut rows: Vec<SummaryRow> = self.summary.values().cloned().collect();
        rows.sort_by(|a, b| {
            (a.detector, a.first_event, &a.subject).cmp(&(b.detector, b.first_event, &b.subject))
        });
        (rows, self.summary_dropped)
    }

    /// Subjects tracked now, per detector.
    pub fn tracked(&self) -> Vec<(Detector, usize)> {
        self.detectors
            .iter()
            .map(|d| (d.detector(), d.tracked()))
            .collect()
    }

    /// Events tracked under [`OVERFLOW`] since start, per detector.
    pub fn overflowed(&self) -> Vec<(Detector, u64)> {
        self.detectors
            .iter()
            .map(|d| (d.detector(), d.overflowed()))
            .collect()
    }

    /// Writes what must survive a restart to the state file, atomically (a temporary file
    /// renamed over it). Does nothing without a state directory.
    pub fn save(&self) -> Result<(), StateError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let states: serde_json::Map<String, serde_json::Value> = self
            .detectors
            .iter()
            .filter_map(|d| Some((d.detector().as_str().to_string(), d.save()?)))
            .collect();
        let root = serde_json::json!({ "version": 1, "seeds": self.seeds, "detectors": states });
        let io = |error| StateError::Io {
            path: path.clone(),
            error,
        };
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&root).expect("JSON values always serialize");
        // Readable by the exporter's user only: it holds the hash keys. (A temporary file left
        // by a failed save is made anew, with that mode.)
        let _ = std::fs::remove_file(&tmp);
        // A state directory deleted while we run is made again (as at start).
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let written = write_synced(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            // A partial temporary file would hold space a full disk needs back.
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(io)?;
        // The rename is durable once the directory entry is.
        if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
            dir.sync_all().map_err(io)?;
        }
        Ok(())
    }
}

/// Writes `bytes` to a new file at `tmp` readable by the exporter's user only, and syncs it, so
/// that a crash after the rename leaves the new file whole.
fn write_synced(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(tmp)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.sync_all()
}

/// The quiet period of each detector: its window for the windowed detectors; 0 (never quiet)
/// for the others, which fire once per subject, per stream silence or per interval anyway, or
/// fold repeats themselves (`log_injection`).
fn quiet_periods(config: &DetectorsConfig) -> [u64; Detector::ALL.len()] {
    let mut q = [0; Detector::ALL.len()];
    let ms = |s: config::Span| s.0.as_millis() as u64;
    q[Detector::BruteForce as usize] = ms(config.brute_force.window);
    q[Detector::PasswordSpraying as usize] = ms(config.password_spraying.window);
    q[Detector::CredentialStuffing as usize] = ms(config.credential_stuffing.window);
    q[Detector::SlowBruteForce as usize] = ms(config.slow_brute_force.window);
    q[Detector::SuccessAfterFailures as usize] = ms(config.success_after_failures.window);
    q[Detector::PrivilegeProbing as usize] = ms(config.privilege_probing.window);
    q
}

/// The hasher of principals, hosts and subjects, keyed by `seeds`.
fn hasher(seeds: [u64; 4]) -> ahash::RandomState {
    ahash::RandomState::with_seeds(seeds[0], seeds[1], seeds[2], seeds[3])
}

/// Four keys from the operating system's randomness (through ahash's own random state).
fn random_seeds() -> [u64; 4] {
    let random = ahash::RandomState::new();
    [1u64, 2, 3, 4].map(|i| random.hash_one(i))
}

/// The fixed keys of the builds before the keys were kept in the state file.
const LEGACY_SEEDS: [u64; 4] = [
    0x6b61_666b_6173_6563,
    0x7572_6974_7965_7870,
    0x6f72_7465_7264_6574,
    0x6563_7469_6f6e_7321,
];

/// Milliseconds since the Unix epoch (0 before it): bucket arithmetic.
pub fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The inverse of [`millis`].
pub fn from_millis(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// Test hook for the wiring (pipeline, metrics, app) while it cannot rely on which real
/// detectors fire: a detector that fires as `detector` on every `every`-th login failure of a
/// client host (subject the host), tracking at most `max_subjects` hosts (further ones under
/// [`OVERFLOW`], counted), and saving the failures it counted.
#[cfg(test)]
pub(crate) struct TestDetector {
    pub detector: Detector,
    pub every: u64,
    pub max_subjects: usize,
    counts: HashMap<String, (u64, SystemTime)>,
    overflowed: u64,
    failures: u64,
}

#[cfg(test)]
impl Engine {
    /// Adds a [`TestDetector`] (see there).
    pub(crate) fn with_test_detector(
        mut self,
        detector: Detector,
        every: u64,
        max_subjects: usize,
    ) -> Engine {
        self.detectors.push(Box::new(TestDetector {
            detector,
            every,
            max_subjects,
            counts: HashMap::new(),
            overflowed: 0,
            failures: 0,
        }));
        self
    }
}

#[cfg(test)]
impl Detect for TestDetector {
    fn detector(&self) -> Detector {
        self.detector
    }
    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let Some(host) = o.client_host.filter(|_| o.is_login_failure()) else {
            return;
        };
        self.failures += 1;
        let subject =
            if self.counts.contains_key(host.text) || self.counts.len() < self.max_subjects {
                host.text
            } else {
                self.overflowed += 1;
                OVERFLOW
            };
        let (n, first) = self.counts.entry(subject.to_string()).or_insert((0, o.at));
        *n += 1;
        if *n % self.every == 0 {
            out.push(Detection {
                detector: self.detector,
                severity: self.detector.default_severity(),
                subject: subject.to_string(),
                first_event: *first,
                last_event: o.at,
                count: self.every,
                detail: format!("{} failed logins from {subject}", self.every),
            });
            *first = o.at;
        }
    }
    fn tracked(&self) -> usize {
        self.counts.len()
    }
    fn overflowed(&self) -> u64 {
        self.overflowed
    }
    fn save(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "failures": self.failures }))
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        self.failures = state
            .get("failures")
            .and_then(|f| f.as_u64())
            .ok_or("no failures")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Format, Origin};

    #[test]
    fn every_detector_is_named_and_labelled() {
        for d in Detector::ALL {
            assert!(!d.as_str().is_empty());
            assert!(d.technique() == "none" || d.technique().starts_with('T'));
        }
    }

    #[test]
    fn hash_keys_are_secret_per_state_and_survive_a_restart() {
        let key = |e: &Engine| e.key(Some("User:alice")).unwrap().hash;
        let config = DetectorsConfig::default();
        let (a, b) = (Engine::new(&config), Engine::new(&config));
        assert_ne!(a.seeds, b.seeds, "drawn at random");
        assert_ne!(key(&a), key(&b));
        let dir = tempfile::tempdir().unwrap();
        let a = a.with_state_dir(dir.path()).unwrap();
        a.save().unwrap();
        let restarted = Engine::new(&config).with_state_dir(dir.path()).unwrap();
        assert_eq!(restarted.seeds, a.seeds);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(STATE_FILE))
                .unwrap()
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
        assert_eq!(key(&restarted), key(&a));
        // A state saved before the keys were kept: its hashes were made with the fixed ones.
        let file = dir.path().join(STATE_FILE);
        std::fs::write(&file, r#"{"version": 1, "detectors": {}}"#).unwrap();
        let legacy = Engine::new(&config).with_state_dir(dir.path()).unwrap();
        assert_eq!(legacy.seeds, LEGACY_SEEDS);
        assert_eq!(key(&legacy), hasher(LEGACY_SEEDS).hash_one("User:alice"));
        std::fs::write(&file, r#"{"version": 1, "seeds": [1, 2], "detectors": {}}"#).unwrap();
        let Err(e) = Engine::new(&config).with_state_dir(dir.path()) else {
            panic!("two seeds accepted");
        };
        assert!(e.to_string().contains("`seeds`"), "{e}");
    }

    #[test]
    fn switched_off_means_no_detectors() {
        let config = DetectorsConfig {
            enabled: false,
            ..Default::default()
        };
        let mut engine = Engine::new(&config);
        assert!(engine.is_empty());
        let event = SecurityEvent::new(
            Format::ServerLog,
            Category::Authentication,
            Outcome::Failure,
            "authentication_failed",
            Origin::Memory,
            SystemTime::UNIX_EPOCH,
        );
        let mut out = Vec::new();
        engine.observe(&event, &mut out);
        assert!(out.is_empty());
    }
}
