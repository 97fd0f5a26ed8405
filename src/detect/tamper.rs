//! log_tampering (a BrokerLogger change, a steady log gone silent) and log_injection (suspect
//! entries).
//!
//! `log_tampering` fires on
//! - any config change of a `BrokerLogger` resource (the server-log parser emits one for the
//!   broker's `ConfigAdminManager` line when a log level is changed at runtime), subject the logger name (the event's
//!   `config_key`, else its `resource_name`, else `broker`); and
//! - silence: a log stream that wrote at least `min_entries` entries in the `silence` window
//!   before its last entry, and then nothing for `silence` while time moves on (other streams'
//!   entries, or ticks), subject the stream name. It fires once, then stays quiet until the
//!   stream writes again. The detection's `first_event` is the stream's last entry (when the
//!   silence began), its `last_event` the time the silence was noticed, its `count` the entries
//!   in the window before it.
//!
//! `log_injection` fires on each suspect entry, subject its principal, else its stream. The first
//! suspect of a subject fires at once; later ones within 5 minutes of it are folded into one
//! detection (count = suspects folded), raised by the first suspect after those 5 minutes, or by
//! any log entry or tick at or after their end, whichever comes first.
//!
//! Persistence: the folds of `log_injection` are saved (a handful of small records), so suspects
//! folded before a restart are still reported after it. Silence state is not: after a restart
//! the time the exporter was down would look like silence of every stream, so each stream
//! re-arms only once it has written `min_entries` again.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::{
    from_millis, millis, Detect, Detection, Detector, DetectorsConfig, Observation, Severity,
    Suspect, OVERFLOW,
};
use crate::event::Category;

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(config: &DetectorsConfig, out: &mut Vec<Box<dyn Detect>>) {
    let t = &config.log_tampering;
    if t.enabled {
        let silence = (t.silence.0.as_millis() as u64).max(1);
        out.push(Box::new(LogTampering {
            severity: t
                .severity
                .unwrap_or(Detector::LogTampering.default_severity()),
            silence,
            bucket: (silence / BUCKETS as u64).max(1),
            min_entries: t.min_entries,
            max_streams: config.max_subjects.max(1),
            streams: HashMap::default(),
            now: 0,
            next_check: u64::MAX,
            overflowed: 0,
        }));
    }
    let i = &config.log_injection;
    if i.enabled {
        out.push(Box::new(LogInjection {
            severity: i
                .severity
                .unwrap_or(Detector::LogInjection.default_severity()),
            max_subjects: config.max_subjects.max(1),
            folds: HashMap::new(),
            next_due: u64::MAX,
            overflowed: 0,
        }));
    }
}

/// Buckets per silence window.
const BUCKETS: usize = 10;

/// `log_tampering`.
struct LogTampering {
    severity: Severity,
    /// The silence window, millis.
    silence: u64,
    bucket: u64,
    min_entries: u64,
    max_streams: usize,
    streams: HashMap<String, Stream, ahash::RandomState>,
    /// The latest time seen (entries and ticks), millis.
    now: u64,
    /// No stream can be due for silence before this.
    next_check: u64,
    /// Entries of streams beyond the cap (not tracked).
    overflowed: u64,
}

/// A log stream's recent entries, counted in fixed buckets.
struct Stream {
    /// Time of its newest entry, millis.
    last: u64,
    /// Entries per bucket: `counts[i]` counts bucket number `index[i]`.
    counts: [u32; BUCKETS],
    index: [u64; BUCKETS],
    /// Fired, or found not steady, since its last entry: nothing to check until it writes.
    settled: bool,
}

impl Stream {
    fn new(at: u64) -> Stream {
        Stream {
            last: at,
            counts: [0; BUCKETS],
            index: [0; BUCKETS],
            settled: false,
        }
    }

    fn record(&mut self, at: u64, bucket: u64) {
        let newest = self.last.max(at) / bucket;
        let b = at / bucket;
        // Older than the window before the newest entry: dropped. (A slot never holds a bucket
        // newer than `b` with the same remainder: that one would be beyond `newest`.)
        if b + (BUCKETS as u64) > newest {
            let slot = (b % BUCKETS as u64) as usize;
            if self.index[slot] == b && self.counts[slot] > 0 {
                self.counts[slot] = self.counts[slot].saturating_add(1);
            } else {
                self.index[slot] = b;
                self.counts[slot] = 1;
            }
        }
        self.last = self.last.max(at);
        self.settled = false;
    }

    /// Entries in the window that ends with its newest entry.
    fn steady_count(&self, bucket: u64) -> u64 {
        let newest = self.last / bucket;
        (0..BUCKETS)
            .filter(|&i| self.counts[i] > 0 && self.index[i] + (BUCKETS as u64) > newest)
            .map(|i| u64::from(self.counts[i]))
            .sum()
    }
}

impl LogTampering {
    /// Fires for every stream silent since `silence` before `now`; with `force`, even before
    /// `next_check`.
    fn check(&mut self, force: bool, out: &mut Vec<Detection>) {
        let now = self.now;
        if !force && now < self.next_check {
            return;
        }
        let mut next = u64::MAX;
        for (name, s) in &mut self.streams {
            if s.settled {
                continue;
            }
            let due = s.last.saturating_add(self.silence);
            if now < due {
                next = next.min(due);
                continue;
            }
            s.settled = true;
            let count = s.steady_count(self.bucket);
            if count >= self.min_entries {
                out.push(Detection {
                    detector: Detector::LogTampering,
                    severity: self.severity,
                    subject: name.clone(),
                    first_event: from_millis(s.last),
                    last_event: from_millis(now),
                    count,
                    detail: format!(
                        "log {name} went silent for {} after {count} entries in {}",
                        humantime::format_duration(Duration::from_millis(now - s.last)),
                        humantime::format_duration(Duration::from_millis(self.silence)),
                    ),
                });
            }
        }
        self.next_check = next;
    }

    /// Time moved on to `at`.
    fn advance(&mut self, at: u64, out: &mut Vec<Detection>) {
        self.now = self.now.max(at);
        self.check(false, out);
    }
}

impl Detect for LogTampering {
    fn detector(&self) -> Detector {
        Detector::LogTampering
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let e = o.event;
        if e.category != Category::ConfigChange || e.resource_type != Some("BrokerLogger") {
            return;
        }
        let subject = [e.config_key, e.resource_name]
            .into_iter()
            .flatten()
            .find(|t| !t.is_empty())
            .unwrap_or("broker");
        let on = e
            .resource_name
            .filter(|b| *b != subject)
            .map_or(String::new(), |b| format!(" on {b}"));
        out.push(Detection {
            detector: Detector::LogTampering,
            severity: self.severity,
            subject: subject.to_string(),
            first_event: o.at,
            last_event: o.at,
            count: 1,
            detail: format!("logger {subject} reconfigured{on} (BrokerLogger config change)"),
        });
    }

    fn watches_log_entries(&self) -> bool {
        true
    }

    fn log_entry(&mut self, stream: &str, at: u64, out: &mut Vec<Detection>) {
        if let Some(s) = self.streams.get_mut(stream) {
            s.record(at, self.bucket);
        } else {
            self.now = self.now.max(at);
            if self.streams.len() >= self.max_streams {
                // Streams silent for a whole window have fired (or were not steady): forget them.
                self.check(true, out);
                let cutoff = self.now.saturating_sub(self.silence);
                self.streams.retain(|_, s| s.last > cutoff);
            }
            if self.streams.len() >= self.max_streams {
                self.overflowed += 1;
            } else {
                let mut s = Stream::new(at);
                s.record(at, self.bucket);
                self.streams.insert(stream.to_string(), s);
            }
        }
        self.next_check = self.next_check.min(at.saturating_add(self.silence));
        self.advance(at, out);
    }

    fn tick(&mut self, now: SystemTime, out: &mut Vec<Detection>) {
        self.advance(millis(now), out);
    }

    /// Log streams tracked for silence.
    fn tracked(&self) -> usize {
        self.streams.len()
    }

    /// Entries of streams beyond the cap: those streams are not watched for silence.
    fn overflowed(&self) -> u64 {
        self.overflowed
    }
}

/// How long after a subject's first suspect later ones are folded into one detection.
const FOLD: u64 = 5 * 60 * 1000;

/// `log_injection`.
struct LogInjection {
    severity: Severity,
    max_subjects: usize,
    folds: HashMap<String, Fold>,
    /// No fold ends before this.
    next_due: u64,
    overflowed: u64,
}

/// A subject's suspects since the one that fired at once.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fold {
    /// When the suspect that fired at once was seen, millis; the fold ends [`FOLD`] later.
    fired_at: u64,
    /// Suspects since, not yet reported.
    pending: u64,
    first: u64,
    last: u64,
}

impl LogInjection {
    fn folded(&self, subject: &str, f: &Fold) -> Detection {
        Detection {
            detector: Detector::LogInjection,
            severity: self.severity,
            subject: subject.to_string(),
            first_event: from_millis(f.first),
            last_event: from_millis(f.last),
            count: f.pending,
            detail: format!(
                "{} more suspect log entries (forged line or field) for {subject} within 5m",
                f.pending
            ),
        }
    }

    /// Reports and forgets every fold that ended by `now`.
    fn sweep(&mut self, now: u64, out: &mut Vec<Detection>) {
        if now < self.next_due {
            return;
        }
        let mut next = u64::MAX;
        let mut ended: Vec<String> = Vec::new();
        for (subject, f) in &self.folds {
            let end = f.fired_at.saturating_add(FOLD);
            if now >= end {
                ended.push(subject.clone());
            } else {
                next = next.min(end);
            }
        }
        ended.sort();
        for subject in ended {
            if let Some(f) = self.folds.remove(&subject) {
                if f.pending > 0 {
                    out.push(self.folded(&subject, &f));
                }
            }
        }
        self.next_due = next;
    }
}

impl Detect for LogInjection {
    fn detector(&self) -> Detector {
        Detector::LogInjection
    }

    fn observe(&mut self, _o: &Observation<'_>, _out: &mut Vec<Detection>) {}

    fn watches_log_entries(&self) -> bool {
        true
    }

    fn log_entry(&mut self, _stream: &str, at: u64, out: &mut Vec<Detection>) {
        self.sweep(at, out);
    }

    fn suspect(&mut self, s: &Suspect<'_>, out: &mut Vec<Detection>) {
        let at = millis(s.at);
        self.sweep(at, out);
        let mut subject = s.principal.filter(|p| !p.is_empty()).unwrap_or(s.stream);
        if !self.folds.contains_key(subject) && self.folds.len() >= self.max_subjects {
            subject = OVERFLOW;
            self.overflowed += 1;
        }
        if let Some(f) = self.folds.get_mut(subject) {
            if at < f.fired_at.saturating_add(FOLD) {
                if f.pending == 0 {
                    f.first = at;
                    f.last = at;
                }
                f.pending += 1;
                f.first = f.first.min(at);
                f.last = f.last.max(at);
                return;
            }
            // The fold ended (the sweep has not reached it: an older `now`): report it first.
            let f = *f;
            if f.pending > 0 {
                out.push(self.folded(subject, &f));
            }
        }
        self.folds.insert(
            subject.to_string(),
            Fold {
                fired_at: at,
                pending: 0,
                first: at,
                last: at,
            },
        );
        self.next_due = self.next_due.min(at.saturating_add(FOLD));
        let from = if subject == s.stream {
            String::new()
        } else {
            format!(" in {}", s.stream)
        };
        out.push(Detection {
            detector: Detector::LogInjection,
            severity: self.severity,
            subject: subject.to_string(),
            first_event: s.at,
            last_event: s.at,
            count: 1,
            detail: format!("suspect log entry (forged line or field) for {subject}{from}"),
        });
    }

    fn tick(&mut self, now: SystemTime, out: &mut Vec<Detection>) {
        self.sweep(millis(now), out);
    }

    /// Every open fold is reported: a replay ending within 5 minutes of a suspect still counts
    /// the suspects folded into it.
    fn finish(&mut self, out: &mut Vec<Detection>) {
        self.next_due = 0;
        self.sweep(u64::MAX, out);
    }

    /// Subjects with an open fold.
    fn tracked(&self) -> usize {
        self.folds.len()
    }

    fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// `{"folds": [[subject, fired_at, pending, first, last], …]}` (millis).
    fn save(&self) -> Option<Value> {
        let mut folds: Vec<(&String, &Fold)> = self.folds.iter().collect();
        folds.sort_by(|a, b| a.0.cmp(b.0));
        let folds: Vec<Value> = folds
            .into_iter()
            .map(|(s, f)| json!([s, f.fired_at, f.pending, f.first, f.last]))
            .collect();
        Some(json!({ "folds": folds }))
    }

    fn restore(&mut self, state: &Value) -> Result<(), String> {
        let folds = state
            .get("folds")
            .and_then(Value::as_array)
            .ok_or("no `folds` list")?;
        self.folds.clear();
        self.next_due = u64::MAX;
        for (i, f) in folds.iter().enumerate() {
            let bad = || format!("fold {i} is not [subject, fired_at, pending, first, last]");
            let f = f.as_array().filter(|f| f.len() == 5).ok_or_else(bad)?;
            let subject = f[0].as_str().ok_or_else(bad)?;
            let n = |v: &Value| v.as_u64().ok_or_else(bad);
            let fold = Fold {
                fired_at: n(&f[1])?,
                pending: n(&f[2])?,
                first: n(&f[3])?,
                last: n(&f[4])?,
            };
            self.next_due = self.next_due.min(fold.fired_at.saturating_add(FOLD));
            self.folds.insert(subject.to_string(), fold);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::{Detection, Detector, DetectorsConfig, Engine, Suspect, OVERFLOW};
    use crate::event::{Category, Format, Origin, Outcome, SecurityEvent};

    const MIN: u64 = 60_000;

    /// Only log_tampering and log_injection, defaults otherwise (silence 30m, 30 entries).
    fn config() -> DetectorsConfig {
        let mut c = DetectorsConfig::default();
        c.brute_force.enabled = false;
        c.password_spraying.enabled = false;
        c.credential_stuffing.enabled = false;
        c.slow_brute_force.enabled = false;
        c.success_after_failures.enabled = false;
        c.privilege_probing.enabled = false;
        c.new_principal.enabled = false;
        c.new_client_for_principal.enabled = false;
        c.anomaly.enabled = false;
        c
    }

    /// `ms` after a time on a whole hour (so buckets start at `ms` = 0).
    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_699_999_200_000 + ms)
    }

    fn entry(engine: &mut Engine, stream: &str, ms: u64) -> Vec<Detection> {
        let mut out = Vec::new();
        engine.log_entry(stream, at(ms), &mut out);
        out
    }

    fn tick(engine: &mut Engine, ms: u64) -> Vec<Detection> {
        let mut out = Vec::new();
        engine.tick(at(ms), &mut out);
        out
    }

    fn suspect(engine: &mut Engine, principal: Option<&str>, ms: u64) -> Vec<Detection> {
        let mut out = Vec::new();
        let s = Suspect {
            at: at(ms),
            principal,
            stream: "kafka-authorizer.log",
        };
        engine.suspect(&s, &mut out);
        out
    }

    /// (subject, count) of each detection.
    fn brief(out: &[Detection]) -> Vec<(&str, u64)> {
        out.iter().map(|d| (d.subject.as_str(), d.count)).collect()
    }

    fn logger_change(
        resource_type: &str,
        logger: Option<&str>,
        broker: Option<&str>,
    ) -> SecurityEvent<'static> {
        let mut e = SecurityEvent::new(
            Format::ControllerLog,
            Category::ConfigChange,
            Outcome::Success,
            "ConfigRecord",
            Origin::Memory,
            at(0),
        );
        e.resource_type = Some(resource_type.to_string().into());
        e.config_key = logger.map(|l| l.to_string().into());
        e.resource_name = broker.map(|b| b.to_string().into());
        e
    }

    #[test]
    fn a_broker_logger_change_fires_on_the_logger() {
        let mut engine = Engine::new(&config());
        let mut out = Vec::new();
        let change = logger_change("BrokerLogger", Some("kafka.authorizer.logger"), Some("1"));
        engine.observe(&change, &mut out);
        assert_eq!(brief(&out), [("kafka.authorizer.logger", 1)]);
        assert_eq!(out[0].detector, Detector::LogTampering);
        assert_eq!(
            out[0].detail,
            "logger kafka.authorizer.logger reconfigured on 1 (BrokerLogger config change)"
        );
        out.clear();
        engine.observe(&logger_change("BrokerLogger", None, Some("1")), &mut out);
        engine.observe(&logger_change("BrokerLogger", None, None), &mut out);
        assert_eq!(brief(&out), [("1", 1), ("broker", 1)]);
        out.clear();
        engine.observe(
            &logger_change("Topic", Some("retention.ms"), Some("t")),
            &mut out,
        );
        let mut not_config = logger_change("BrokerLogger", Some("root"), None);
        not_config.category = Category::Authorization;
        engine.observe(&not_config, &mut out);
        assert_eq!(brief(&out), []);
    }

    /// `n` entries of `stream` one a minute from `from`; what they raised.
    fn steady(engine: &mut Engine, stream: &str, from: u64, n: u64) -> Vec<Detection> {
        (0..n)
            .flat_map(|i| entry(engine, stream, from + i * MIN))
            .collect()
    }

    #[test]
    fn a_steady_stream_gone_silent_fires_once_and_rearms() {
        let mut engine = Engine::new(&config());
        assert_eq!(brief(&steady(&mut engine, "authorizer", 0, 30)), []);
        let last = 29 * MIN;
        // Other streams move time on; one millisecond short of 30m of silence is quiet.
        assert_eq!(
            brief(&entry(&mut engine, "server", last + 30 * MIN - 1)),
            []
        );
        let out = entry(&mut engine, "server", last + 30 * MIN);
        assert_eq!(brief(&out), [("authorizer", 30)]);
        assert_eq!(
            (out[0].first_event, out[0].last_event),
            (at(last), at(last + 30 * MIN))
        );
        assert_eq!(
            out[0].detail,
            "log authorizer went silent for 30m after 30 entries in 30m"
        );
        assert_eq!(brief(&tick(&mut engine, 5 * 60 * MIN)), [], "once");
        // It writes again: re-armed, and needs a steady stretch again.
        let back = 5 * 60 * MIN;
        assert_eq!(brief(&steady(&mut engine, "authorizer", back, 30)), []);
        assert_eq!(
            brief(&tick(&mut engine, back + 29 * MIN + 30 * MIN)),
            [("authorizer", 30)]
        );
    }

    #[test]
    fn fewer_than_min_entries_is_not_steady() {
        let mut engine = Engine::new(&config());
        steady(&mut engine, "quiet", 0, 29);
        assert_eq!(brief(&tick(&mut engine, 28 * MIN + 30 * MIN)), []);
        assert_eq!(brief(&tick(&mut engine, 10 * 60 * MIN)), []);
        // Entries older than the window before the last one do not count either.
        steady(&mut engine, "old", 0, 10);
        steady(&mut engine, "old", 40 * MIN, 25);
        assert_eq!(brief(&tick(&mut engine, 64 * MIN + 30 * MIN)), []);
    }

    #[test]
    fn a_benign_steady_stream_never_fires() {
        let mut engine = Engine::new(&config());
        let mut out = Vec::new();
        // Three days: one entry every 20 seconds, with bursts and lulls of up to 29 minutes.
        let mut t = 0;
        while t < 3 * 24 * 60 * MIN {
            let lull = if (t / (60 * MIN)) % 7 == 3 {
                29 * MIN
            } else {
                MIN / 3
            };
            engine.log_entry("authorizer", at(t), &mut out);
            engine.tick(at(t + lull / 2), &mut out);
            t += lull;
        }
        assert_eq!(brief(&out), []);
    }

    #[test]
    fn streams_are_capped() {
        let mut c = config();
        c.max_subjects = 2;
        let mut engine = Engine::new(&c);
        entry(&mut engine, "a", 0);
        entry(&mut engine, "b", 0);
        entry(&mut engine, "c", MIN);
        let stat = |e: &Engine| {
            let t = e
                .tracked()
                .into_iter()
                .find(|t| t.0 == Detector::LogTampering);
            let o = e
                .overflowed()
                .into_iter()
                .find(|t| t.0 == Detector::LogTampering);
            (t.unwrap().1, o.unwrap().1)
        };
        assert_eq!(stat(&engine), (2, 1));
        // Once a and b have been silent a whole window they make room.
        entry(&mut engine, "c", 30 * MIN);
        assert_eq!(stat(&engine), (1, 1));
    }

    #[test]
    fn suspects_fold_within_five_minutes_across_calls() {
        let mut engine = Engine::new(&config());
        let p = Some("User:mallory");
        let out = suspect(&mut engine, p, 0);
        assert_eq!(brief(&out), [("User:mallory", 1)]);
        assert_eq!(out[0].detector, Detector::LogInjection);
        for ms in [MIN, 2 * MIN, 5 * MIN - 1] {
            assert_eq!(brief(&suspect(&mut engine, p, ms)), []);
        }
        // The first suspect after the 5 minutes reports the fold, then fires itself.
        let out = suspect(&mut engine, p, 5 * MIN);
        assert_eq!(brief(&out), [("User:mallory", 3), ("User:mallory", 1)]);
        assert_eq!(
            (out[0].first_event, out[0].last_event),
            (at(MIN), at(5 * MIN - 1))
        );
        // Another subject: its stream. A tick ends its fold.
        assert_eq!(
            brief(&suspect(&mut engine, None, 6 * MIN)),
            [("kafka-authorizer.log", 1)]
        );
        assert_eq!(brief(&suspect(&mut engine, None, 7 * MIN)), []);
        assert_eq!(brief(&suspect(&mut engine, p, 8 * MIN)), []);
        assert_eq!(brief(&tick(&mut engine, 10 * MIN - 1)), []);
        assert_eq!(brief(&tick(&mut engine, 10 * MIN)), [("User:mallory", 1)]);
        // Any log entry moves time on too.
        assert_eq!(
            brief(&entry(&mut engine, "server", 11 * MIN)),
            [("kafka-authorizer.log", 1)]
        );
        assert_eq!(brief(&tick(&mut engine, 60 * MIN)), []);
        assert_eq!(
            brief(&suspect(&mut engine, p, 61 * MIN)),
            [("User:mallory", 1)]
        );
    }

    #[test]
    fn the_end_of_the_input_reports_open_folds() {
        let mut engine = Engine::new(&config());
        let p = Some("User:mallory");
        assert_eq!(brief(&suspect(&mut engine, p, 0)), [("User:mallory", 1)]);
        assert_eq!(brief(&suspect(&mut engine, p, MIN)), []);
        assert_eq!(brief(&suspect(&mut engine, p, 2 * MIN)), []);
        let mut out = Vec::new();
        engine.finish(&mut out);
        assert_eq!(brief(&out), [("User:mallory", 2)]);
        let mut again = Vec::new();
        engine.finish(&mut again);
        assert_eq!(brief(&again), [], "reported once");
    }

    #[test]
    fn folded_suspects_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = Engine::new(&config()).with_state_dir(dir.path()).unwrap();
        suspect(&mut engine, Some("User:m"), 0);
        suspect(&mut engine, Some("User:m"), MIN);
        suspect(&mut engine, Some("User:m"), 2 * MIN);
        engine.save().unwrap();
        let mut engine = Engine::new(&config()).with_state_dir(dir.path()).unwrap();
        assert_eq!(brief(&suspect(&mut engine, Some("User:m"), 3 * MIN)), []);
        assert_eq!(brief(&tick(&mut engine, 5 * MIN)), [("User:m", 3)]);
    }

    #[test]
    fn suspect_subjects_are_capped() {
        let mut c = config();
        c.max_subjects = 1;
        let mut engine = Engine::new(&c);
        assert_eq!(
            brief(&suspect(&mut engine, Some("User:a"), 0)),
            [("User:a", 1)]
        );
        assert_eq!(
            brief(&suspect(&mut engine, Some("User:b"), 1)),
            [(OVERFLOW, 1)]
        );
        assert_eq!(brief(&suspect(&mut engine, Some("User:c"), 2)), []);
        let o = engine.overflowed();
        assert!(o.contains(&(Detector::LogInjection, 2)), "{o:?}");
        assert_eq!(brief(&tick(&mut engine, 5 * MIN + 1)), [(OVERFLOW, 1)]);
        assert_eq!(
            brief(&suspect(&mut engine, Some("User:c"), 6 * MIN)),
            [("User:c", 1)]
        );
    }

    #[test]
    fn a_corrupt_fold_names_the_detector() {
        let dir = tempfile::tempdir().unwrap();
        let file = r#"{"version": 1, "detectors": {"log_injection": {"folds": [["User:m", 1]]}}}"#;
        std::fs::write(dir.path().join(super::super::STATE_FILE), file).unwrap();
        let Err(e) = Engine::new(&config()).with_state_dir(dir.path()) else {
            panic!("accepted");
        };
        let e = e.to_string();
        assert!(e.contains(": log_injection: fold 0 is not"), "{e}");
    }

    #[test]
    fn silence_is_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = Engine::new(&config()).with_state_dir(dir.path()).unwrap();
        steady(&mut engine, "authorizer", 0, 40);
        engine.save().unwrap();
        let mut engine = Engine::new(&config()).with_state_dir(dir.path()).unwrap();
        assert_eq!(brief(&tick(&mut engine, 10 * 60 * MIN)), []);
    }
}
