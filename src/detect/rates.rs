//! The windowed detectors: brute_force, password_spraying, credential_stuffing,
//! slow_brute_force, success_after_failures and privilege_probing. Each counts login failures or
//! authorization denials (or their distinct principals, hosts, resources) per subject in
//! fixed-bucket windows ([`super::window`]) on event time, fires when a count reaches its
//! threshold and then starts that subject over (reset on fire: 25 failures in one window are one
//! detection, at the 20th).
//!
//! Readings of the contract where it leaves room:
//! - the count that is compared is the window ending at the newest bucket the subject's counter
//!   has seen (an event a little late is counted in its own bucket, not a later one);
//! - `credential_stuffing` counts every login failure towards its total, with or without a client
//!   host; only failures with one add a distinct host;
//! - for `success_after_failures`, `User:ANONYMOUS` is as good as no principal (its host still
//!   counts), and a success of a subject that is not tracked is checked against [`OVERFLOW`]
//!   when events overflowed (it may be one of those); hosts and principals share one capped map;
//! - `privilege_probing` counts denials that name a resource (`resource_type:resource_name`).
//!
//! On the hot path an event of a known subject costs one hash-table lookup per detector (with
//! the hash the engine computed once), no allocation and no string copy; a subject's name is
//! copied when it is first tracked and when a detection is raised.
//!
//! [`OVERFLOW`]: super::OVERFLOW

use std::time::{Duration, SystemTime};

use super::config::Window;
use super::window::{Buckets, Counter, Distinct, Subjects};
use super::{
    from_millis, millis, Detect, Detection, Detector, DetectorsConfig, Key, Observation, Severity,
};
use crate::event::{Category, Outcome};

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(config: &DetectorsConfig, out: &mut Vec<Box<dyn Detect>>) {
    if config.brute_force.enabled {
        out.push(Box::new(BruteForce::new(config)));
    }
    if config.password_spraying.enabled {
        out.push(Box::new(PasswordSpraying::new(config)));
    }
    if config.credential_stuffing.enabled {
        out.push(Box::new(CredentialStuffing::new(config)));
    }
    if config.slow_brute_force.enabled {
        out.push(Box::new(SlowBruteForce::new(config)));
    }
    if config.success_after_failures.enabled {
        out.push(Box::new(SuccessAfterFailures::new(config)));
    }
    if config.privilege_probing.enabled {
        out.push(Box::new(PrivilegeProbing::new(config)));
    }
}

/// A duration the way the config writes it: `5m`, `24h`, `90s`, `1h30m`.
fn human(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Whether a principal is Kafka's unauthenticated one.
fn is_anonymous(principal: &str) -> bool {
    principal == "User:ANONYMOUS" || principal == "ANONYMOUS"
}

/// What a detector of this module says about itself in its detections.
struct Meta {
    detector: Detector,
    severity: Severity,
    /// The window, written for people (`5m`).
    window: String,
}

impl Meta {
    fn new(detector: Detector, severity: Option<Severity>, window: Window) -> Meta {
        Meta {
            detector,
            severity: severity.unwrap_or(detector.default_severity()),
            window: human(window.window.0),
        }
    }

    /// A detection on `subject` of `count` events, the earliest at `first` (milliseconds), raised
    /// by the event at `at`.
    fn detection(
        &self,
        subject: &str,
        first: u64,
        at: SystemTime,
        count: u64,
        detail: String,
    ) -> Detection {
        Detection {
            detector: self.detector,
            severity: self.severity,
            subject: subject.to_string(),
            first_event: from_millis(first).min(at),
            last_event: at,
            count,
            detail,
        }
    }
}

/// `brute_force` [client host]: login failures >= `threshold` in the window.
struct BruteForce {
    meta: Meta,
    g: Buckets,
    threshold: u64,
    hosts: Subjects<Counter>,
}

impl BruteForce {
    fn new(config: &DetectorsConfig) -> BruteForce {
        let c = &config.brute_force;
        let g = Buckets::new(c.window());
        BruteForce {
            meta: Meta::new(Detector::BruteForce, c.severity, c.window()),
            g,
            threshold: c.threshold,
            hosts: Subjects::new(config.max_subjects, g.width()),
        }
    }
}

impl Detect for BruteForce {
    fn detector(&self) -> Detector {
        self.meta.detector
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let Some(host) = o.client_host.filter(|_| o.is_login_failure()) else {
            return;
        };
        let (g, at) = (self.g, o.ms);
        let e = self.hosts.get_or_insert(
            host,
            at,
            || Counter::new(&g),
            |c, now| c.is_expired(&g, now),
        );
        if e.state.add(&g, at) && e.state.count() >= self.threshold {
            let n = e.state.count();
            let detail = format!(
                "{n} failed logins in {} from {}",
                self.meta.window,
                e.name()
            );
            out.push(
                self.meta
                    .detection(e.name(), e.state.first(), o.at, n, detail),
            );
            e.state.clear();
        }
    }

    fn tick(&mut self, now: SystemTime, _out: &mut Vec<Detection>) {
        let g = self.g;
        self.hosts.tick(millis(now), |c, now| c.is_expired(&g, now));
    }

    fn tracked(&self) -> usize {
        self.hosts.len()
    }

    fn overflowed(&self) -> u64 {
        self.hosts.overflowed()
    }
}

/// `password_spraying` [client host]: distinct principals among its login failures >=
/// `distinct_principals` in the window.
struct PasswordSpraying {
    meta: Meta,
    g: Buckets,
    threshold: u64,
    hosts: Subjects<Distinct>,
}

impl PasswordSpraying {
    fn new(config: &DetectorsConfig) -> PasswordSpraying {
        let c = &config.password_spraying;
        let g = Buckets::new(c.window());
        PasswordSpraying {
            meta: Meta::new(Detector::PasswordSpraying, c.severity, c.window()),
            g,
            threshold: c.distinct_principals,
            hosts: Subjects::new(config.max_subjects, g.width()),
        }
    }
}

impl Detect for PasswordSpraying {
    fn detector(&self) -> Detector {
        self.meta.detector
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        if !o.is_login_failure() {
            return;
        }
        let (Some(host), Some(principal)) = (o.client_host, o.principal) else {
            return;
        };
        let (g, at, limit) = (self.g, o.ms, self.threshold);
        let e = self
            .hosts
            .get_or_insert(host, at, Distinct::new, |d, now| d.is_expired(&g, now));
        if e.state.insert(&g, principal.hash, at, limit) && e.state.len() >= limit {
            let n = e.state.len();
            let detail = format!(
                "{n} distinct principals failed to log in within {} from {}",
                self.meta.window,
                e.name()
            );
            out.push(
                self.meta
                    .detection(e.name(), e.state.first(), o.at, n, detail),
            );
            e.state.clear();
        }
    }

    fn tick(&mut self, now: SystemTime, _out: &mut Vec<Detection>) {
        let g = self.g;
        self.hosts.tick(millis(now), |d, now| d.is_expired(&g, now));
    }

    fn tracked(&self) -> usize {
        self.hosts.len()
    }

    fn overflowed(&self) -> u64 {
        self.hosts.overflowed()
    }
}

/// `credential_stuffing` [`all`]: in the window, >= `distinct_hosts` distinct failing client
/// hosts and >= `failures` login failures in all.
struct CredentialStuffing {
    meta: Meta,
    g: Buckets,
    min_hosts: u64,
    min_failures: u64,
    failures: Counter,
    hosts: Distinct,
}

/// The one subject of `credential_stuffing`.
const ALL: &str = "all";

impl CredentialStuffing {
    fn new(config: &DetectorsConfig) -> CredentialStuffing {
        let c = &config.credential_stuffing;
        let g = Buckets::new(c.window());
        CredentialStuffing {
            meta: Meta::new(Detector::CredentialStuffing, c.severity, c.window()),
            g,
            min_hosts: c.distinct_hosts,
            min_failures: c.failures,
            failures: Counter::new(&g),
            hosts: Distinct::new(),
        }
    }
}

impl Detect for CredentialStuffing {
    fn detector(&self) -> Detector {
        self.meta.detector
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        if !o.is_login_failure() {
            return;
        }
        let (g, at) = (self.g, o.ms);
        if !self.failures.add(&g, at) {
            return;
        }
        if let Some(host) = o.client_host {
            self.hosts.insert(&g, host.hash, at, self.min_hosts);
        } else {
            // Keeps the host set's window in step with the failures'.
            self.hosts.advance_to(&g, at);
        }
        let (n, hosts) = (self.failures.count(), self.hosts.len());
        if n >= self.min_failures && hosts >= self.min_hosts {
            let detail = format!(
                "{n} failed logins from at least {hosts} client hosts in {}",
                self.meta.window
            );
            out.push(
                self.meta
                    .detection(ALL, self.failures.first(), o.at, n, detail),
            );
            self.failures.clear();
            self.hosts.clear();
        }
    }

    fn tracked(&self) -> usize {
        usize::from(self.failures.count() > 0)
    }
}

/// `slow_brute_force` [client host]: >= `threshold` login failures in its (long) window from a
/// host that did not trip `brute_force`'s condition within it. Its own fast counter, on
/// `brute_force`'s threshold and window, marks a host "fast" for the slow window when it trips
/// (and clears the slow count); a fast host does not fire.
struct SlowBruteForce {
    meta: Meta,
    slow: Buckets,
    fast: Buckets,
    threshold: u64,
    fast_threshold: u64,
    /// `brute_force`'s window, written for people.
    fast_window: String,
    hosts: Subjects<SlowHost>,
}

struct SlowHost {
    slow: Counter,
    fast: Counter,
    /// Until when (event time, milliseconds) the host counts as fast.
    fast_until: u64,
}

impl SlowHost {
    fn is_expired(&self, slow: &Buckets, fast: &Buckets, now: u64) -> bool {
        now >= self.fast_until && self.slow.is_expired(slow, now) && self.fast.is_expired(fast, now)
    }
}

impl SlowBruteForce {
    fn new(config: &DetectorsConfig) -> SlowBruteForce {
        let c = &config.slow_brute_force;
        let (slow, fast) = (
            Buckets::new(c.window()),
            Buckets::new(config.brute_force.window()),
        );
        SlowBruteForce {
            meta: Meta::new(Detector::SlowBruteForce, c.severity, c.window()),
            slow,
            fast,
            threshold: c.threshold,
            fast_threshold: config.brute_force.threshold,
            fast_window: human(config.brute_force.window.0),
            hosts: Subjects::new(config.max_subjects, slow.width().min(fast.width())),
        }
    }
}

impl Detect for SlowBruteForce {
    fn detector(&self) -> Detector {
        self.meta.detector
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let Some(host) = o.client_host.filter(|_| o.is_login_failure()) else {
            return;
        };
        let (slow, fast, at) = (self.slow, self.fast, o.ms);
        let e = self.hosts.get_or_insert(
            host,
            at,
            || SlowHost {
                slow: Counter::new(&slow),
                fast: Counter::new(&fast),
                fast_until: 0,
            },
            |h, now| h.is_expired(&slow, &fast, now),
        );
        let h = &mut e.state;
        if !h.slow.add(&slow, at) {
            return;
        }
        if h.fast.add(&fast, at) && h.fast.count() >= self.fast_threshold {
            h.fast.clear();
            h.slow.clear();
            h.fast_until = h.fast_until.max(at.saturating_add(slow.span()));
            return;
        }
        if at >= h.fast_until && h.slow.count() >= self.threshold {
            let n = h.slow.count();
            let detail = format!(
                "{n} failed logins in {} from {}, never {} within {}",
                self.meta.window,
                e.name(),
                self.fast_threshold,
                self.fast_window
            );
            out.push(
                self.meta
                    .detection(e.name(), e.state.slow.first(), o.at, n, detail),
            );
            e.state.slow.clear();
        }
    }

    fn tick(&mut self, now: SystemTime, _out: &mut Vec<Detection>) {
        let (slow, fast) = (self.slow, self.fast);
        self.hosts
            .tick(millis(now), |h, now| h.is_expired(&slow, &fast, now));
    }

    fn tracked(&self) -> usize {
        self.hosts.len()
    }

    fn overflowed(&self) -> u64 {
        self.hosts.overflowed()
    }
}

/// `success_after_failures` [client host, else principal]: login failures per host and per
/// principal in the window; a success (an authentication success or any authorization decision)
/// of a host or principal with >= `failures` of them fires once and clears both.
struct SuccessAfterFailures {
    meta: Meta,
    g: Buckets,
    threshold: u64,
    /// Hosts and principals together (principal keys salted, so a host and a principal that
    /// read the same stay two subjects): one cap for the detector.
    subjects: Subjects<Counter>,
}

/// Mixed into a principal's hash to keep it apart from a host of the same text.
const PRINCIPAL_SALT: u64 = 0x7072_696e_6369_7061;

impl SuccessAfterFailures {
    fn new(config: &DetectorsConfig) -> SuccessAfterFailures {
        let c = &config.success_after_failures;
        let g = Buckets::new(c.window());
        SuccessAfterFailures {
            meta: Meta::new(Detector::SuccessAfterFailures, c.severity, c.window()),
            g,
            threshold: c.failures,
            subjects: Subjects::new(config.max_subjects, g.width()),
        }
    }

    fn failure(&mut self, host: Option<Key<'_>>, principal: Option<Key<'_>>, at: u64) {
        let g = self.g;
        let mut overflowed = false;
        for key in [host, principal].into_iter().flatten() {
            // An event whose host went to the overflow subject is counted there once.
            let e = if overflowed {
                match self.subjects.find_mut(key) {
                    Some(e) => e,
                    None => continue,
                }
            } else {
                self.subjects.get_or_insert(
                    key,
                    at,
                    || Counter::new(&g),
                    |c, now| c.is_expired(&g, now),
                )
            };
            overflowed = e.is_overflow();
            e.state.add(&g, at);
        }
    }
}

impl Detect for SuccessAfterFailures {
    fn detector(&self) -> Detector {
        self.meta.detector
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let failed = o.is_login_failure();
        let authorized = o.event.category == Category::Authorization
            && matches!(o.event.outcome, Outcome::Allowed | Outcome::Denied);
        if !(failed || authorized || o.is_login_success()) {
            return;
        }
        let principal = o.principal.filter(|p| !is_anonymous(p.text)).map(|p| Key {
            hash: p.hash ^ PRINCIPAL_SALT,
            text: p.text,
        });
        let at = o.ms;
        if failed {
            self.failure(o.client_host, principal, at);
            return;
        }
        let g = self.g;
        let mut fired = false;
        for (key, is_host) in [(o.client_host, true), (principal, false)] {
            let Some(e) = key.and_then(|k| self.subjects.find_or_overflow(k)) else {
                continue;
            };
            e.state.advance_to(&g, at);
            let n = e.state.count();
            if !fired && n >= self.threshold {
                let detail = if is_host {
                    format!(
                        "a session from {} authenticated after {n} failed logins in {}",
                        e.name(),
                        self.meta.window
                    )
                } else {
                    format!(
                        "{} authenticated after {n} failed logins in {}",
                        e.name(),
                        self.meta.window
                    )
                };
                out.push(
                    self.meta
                        .detection(e.name(), e.state.first(), o.at, n, detail),
                );
                fired = true;
            }
            if fired {
                e.state.clear();
            }
        }
    }

    fn tick(&mut self, now: SystemTime, _out: &mut Vec<Detection>) {
        let g = self.g;
        self.subjects
            .tick(millis(now), |c, now| c.is_expired(&g, now));
    }

    fn tracked(&self) -> usize {
        self.subjects.len()
    }

    fn overflowed(&self) -> u64 {
        self.subjects.overflowed()
    }
}

/// `privilege_probing` [principal]: distinct resources (`resource_type:resource_name`) among its
/// authorization denials >= `distinct_resources` in the window.
struct PrivilegeProbing {
    meta: Meta,
    g: Buckets,
    threshold: u64,
    /// Hashes resources (the engine hashes principals and hosts only).
    hasher: ahash::RandomState,
    principals: Subjects<Distinct>,
}

impl PrivilegeProbing {
    fn new(config: &DetectorsConfig) -> PrivilegeProbing {
        let c = &config.privilege_probing;
        let g = Buckets::new(c.window());
        PrivilegeProbing {
            meta: Meta::new(Detector::PrivilegeProbing, c.severity, c.window()),
            g,
            threshold: c.distinct_resources,
            hasher: ahash::RandomState::with_seeds(1, 2, 3, 4),
            principals: Subjects::new(config.max_subjects, g.width()),
        }
    }
}

impl Detect for PrivilegeProbing {
    fn detector(&self) -> Detector {
        self.meta.detector
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        if !o.is_denial() {
            return;
        }
        let (Some(principal), Some(name)) = (o.principal, o.event.resource_name) else {
            return;
        };
        let resource = self
            .hasher
            .hash_one((o.event.resource_type.unwrap_or(""), name));
        let (g, at, limit) = (self.g, o.ms, self.threshold);
        let e = self
            .principals
            .get_or_insert(principal, at, Distinct::new, |d, now| d.is_expired(&g, now));
        if e.state.insert(&g, resource, at, limit) && e.state.len() >= limit {
            let n = e.state.len();
            let detail = format!(
                "{} was denied on {n} distinct resources in {}",
                e.name(),
                self.meta.window
            );
            out.push(
                self.meta
                    .detection(e.name(), e.state.first(), o.at, n, detail),
            );
            e.state.clear();
        }
    }

    fn tick(&mut self, now: SystemTime, _out: &mut Vec<Detection>) {
        let g = self.g;
        self.principals
            .tick(millis(now), |d, now| d.is_expired(&g, now));
    }

    fn tracked(&self) -> usize {
        self.principals.len()
    }

    fn overflowed(&self) -> u64 {
        self.principals.overflowed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Engine, OVERFLOW};
    use crate::event::{Format, Origin, SecurityEvent};

    /// A midnight (UTC), so every default bucket starts on it.
    const T0: u64 = 1_699_920_000_000;
    const S: u64 = 1_000;
    const MIN: u64 = 60 * S;
    const HOST: &str = "10.0.0.9";
    const BOB: &str = "User:bob";

    /// The default config with only detector `d` on.
    fn only(d: Detector) -> DetectorsConfig {
        let mut c = DetectorsConfig::default();
        c.brute_force.enabled = d == Detector::BruteForce;
        c.password_spraying.enabled = d == Detector::PasswordSpraying;
        c.credential_stuffing.enabled = d == Detector::CredentialStuffing;
        c.slow_brute_force.enabled = d == Detector::SlowBruteForce;
        c.success_after_failures.enabled = d == Detector::SuccessAfterFailures;
        c.privilege_probing.enabled = d == Detector::PrivilegeProbing;
        c.new_principal.enabled = d == Detector::NewPrincipal;
        c.new_client_for_principal.enabled = d == Detector::NewClientForPrincipal;
        c.log_tampering.enabled = d == Detector::LogTampering;
        c.log_injection.enabled = d == Detector::LogInjection;
        c.anomaly.enabled = d == Detector::Anomaly;
        c
    }

    fn event(
        at: u64,
        category: Category,
        outcome: Outcome,
        host: Option<&str>,
        principal: Option<&str>,
    ) -> SecurityEvent<'static> {
        // Read a while after it happened: detectors go by the event's own time.
        let mut e = SecurityEvent::new(
            Format::ServerLog,
            category,
            outcome,
            "test",
            Origin::Memory,
            from_millis(at + 7 * MIN),
        );
        e.event_time = Some(from_millis(at));
        e.client_host = host.map(|h| h.to_string().into());
        e.principal = principal.map(|p| p.to_string().into());
        e
    }

    fn failure(at: u64, host: Option<&str>, principal: Option<&str>) -> SecurityEvent<'static> {
        event(
            at,
            Category::Authentication,
            Outcome::Failure,
            host,
            principal,
        )
    }

    fn login(at: u64, host: Option<&str>, principal: Option<&str>) -> SecurityEvent<'static> {
        event(
            at,
            Category::Authentication,
            Outcome::Success,
            host,
            principal,
        )
    }

    fn authorization(
        at: u64,
        outcome: Outcome,
        principal: &str,
        resource: (&str, &str),
    ) -> SecurityEvent<'static> {
        let mut e = event(
            at,
            Category::Authorization,
            outcome,
            Some(HOST),
            Some(principal),
        );
        e.resource_type = Some(resource.0.to_string().into());
        e.resource_name = Some(resource.1.to_string().into());
        e
    }

    /// Feeds `events` one by one; what each raised, by the event's index.
    fn run(engine: &mut Engine, events: &[SecurityEvent<'_>]) -> Vec<(usize, Detection)> {
        let mut raised = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let mut out = Vec::new();
            engine.observe(e, &mut out);
            raised.extend(out.into_iter().map(|d| (i, d)));
        }
        raised
    }

    /// `n` failures from `host`, `every` apart from `start`.
    fn failures(start: u64, every: u64, n: u64, host: &str) -> Vec<SecurityEvent<'static>> {
        (0..n)
            .map(|i| failure(start + i * every, Some(host), Some(BOB)))
            .collect()
    }

    fn detections(config: &DetectorsConfig, events: &[SecurityEvent<'_>]) -> Vec<Detection> {
        run(&mut Engine::new(config), events)
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    #[test]
    fn durations_read_as_the_config_writes_them() {
        let d = |s| human(Duration::from_secs(s));
        assert_eq!(
            [d(300), d(1800), d(86_400), d(90), d(5400)],
            ["5m", "30m", "24h", "1m30s", "1h30m"]
        );
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn brute_force_fires_at_its_threshold_and_not_one_below() {
        let config = only(Detector::BruteForce);
        assert_eq!(Engine::new(&config).detectors(), [Detector::BruteForce]);
        let events = failures(T0 + 10 * S, 10 * S, 20, HOST);
        assert!(detections(&config, &events[..19]).is_empty());
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(raised.len(), 1);
        let (i, d) = &raised[0];
        assert_eq!(*i, 19);
        assert_eq!(
            *d,
            Detection {
                detector: Detector::BruteForce,
                severity: Severity::Critical,
                subject: HOST.into(),
                first_event: from_millis(T0 + 10 * S),
                last_event: from_millis(T0 + 200 * S),
                count: 20,
                detail: "20 failed logins in 5m from 10.0.0.9".into(),
            }
        );
    }

    #[test]
    fn brute_force_threshold_is_the_configured_one() {
        let mut config = only(Detector::BruteForce);
        config.brute_force.threshold = 5;
        let events = failures(T0, S, 5, HOST);
        assert!(detections(&config, &events[..4]).is_empty());
        assert_eq!(detections(&config, &events).len(), 1);
    }

    #[test]
    fn brute_force_spread_wider_than_its_window_does_not_fire() {
        let config = only(Detector::BruteForce);
        // 40 failures 20 s apart: never more than 16 of them in any 5 minutes.
        assert!(detections(&config, &failures(T0, 20 * S, 40, HOST)).is_empty());
        // 19 in a burst, then the 20th after the burst left the window.
        let mut events = failures(T0, S, 19, HOST);
        events.push(failure(T0 + 5 * MIN + 30 * S, Some(HOST), None));
        assert!(detections(&config, &events).is_empty());
        // The same 20th a bucket earlier still sees the burst.
        events[19] = failure(T0 + 4 * MIN + 59 * S, Some(HOST), None);
        assert_eq!(detections(&config, &events).len(), 1);
    }

    /// The engine's suppressed repeats of `d`.
    fn suppressed(engine: &Engine, d: Detector) -> u64 {
        engine
            .suppressed()
            .into_iter()
            .find(|(x, _)| *x == d)
            .map_or(0, |(_, n)| n)
    }

    #[test]
    fn brute_force_resets_on_fire_and_raises_once_per_window() {
        let config = only(Detector::BruteForce);
        let events = failures(T0, S, 40, HOST);
        assert_eq!(detections(&config, &events[..25]).len(), 1);
        // The second crossing (the 40th failure) repeats the first within 5 minutes.
        let mut engine = Engine::new(&config);
        let raised = run(&mut engine, &events);
        let at: Vec<_> = raised.iter().map(|(i, d)| (*i, d.count)).collect();
        assert_eq!(at, [(19, 20)]);
        assert_eq!(suppressed(&engine, Detector::BruteForce), 1);
        let (rows, _) = engine.summary();
        assert_eq!((rows[0].detections, rows[0].events), (1, 40));
        // Sustained, one failure a second for 10 minutes: a crossing every 20 failures, raised
        // once per 5-minute window, each counted from the reset before it.
        let mut engine = Engine::new(&config);
        let raised = run(&mut engine, &failures(T0, S, 600, HOST));
        let at: Vec<_> = raised.iter().map(|(i, d)| (*i, d.count)).collect();
        assert_eq!(at, [(19, 20), (319, 20)]);
        assert_eq!(raised[1].1.first_event, from_millis(T0 + 300 * S));
        assert_eq!(suppressed(&engine, Detector::BruteForce), 28);
    }

    #[test]
    fn brute_force_counts_per_host_and_ignores_failures_without_one() {
        let config = only(Detector::BruteForce);
        let mut events = failures(T0, S, 10, "10.0.0.1");
        events.extend(failures(T0, S, 10, "10.0.0.2"));
        events.extend((0..30).map(|i| failure(T0 + i * S, None, Some(BOB))));
        // Other outcomes and categories of the same host do not count.
        events.extend((0..30).map(|i| login(T0 + i * S, Some("10.0.0.1"), Some(BOB))));
        assert!(detections(&config, &events).is_empty());
    }

    #[test]
    fn brute_force_severity_can_be_overridden() {
        let mut config = only(Detector::BruteForce);
        config.brute_force.severity = Some(Severity::Warning);
        let d = detections(&config, &failures(T0, S, 20, HOST));
        assert_eq!(d[0].severity, Severity::Warning);
    }

    #[test]
    fn brute_force_past_its_cap_tracks_hosts_as_overflow() {
        let mut config = only(Detector::BruteForce);
        config.max_subjects = 2;
        let mut engine = Engine::new(&config);
        let mut events = failures(T0, S, 1, "10.0.0.1");
        events.extend(failures(T0, S, 1, "10.0.0.2"));
        // Twenty more hosts, one failure each: together under the overflow subject.
        events.extend((0..20).map(|i| failure(T0 + i * S, Some(&format!("10.1.0.{i}")), None)));
        let raised = run(&mut engine, &events);
        assert_eq!(raised.len(), 1);
        assert_eq!(
            (raised[0].1.subject.as_str(), raised[0].1.count),
            (OVERFLOW, 20)
        );
        assert_eq!(engine.overflowed(), [(Detector::BruteForce, 20)]);
        assert_eq!(engine.tracked(), [(Detector::BruteForce, 3)]);
        // Once the first two left the window, new hosts get their place back.
        let later = T0 + 6 * MIN;
        let raised = run(&mut engine, &failures(later, S, 20, "10.2.0.1"));
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].1.subject, "10.2.0.1");
        assert_eq!(engine.overflowed(), [(Detector::BruteForce, 20)]);
        // A tick sweeps what is over.
        engine.tick(from_millis(later + 60 * MIN), &mut Vec::new());
        assert_eq!(engine.tracked(), [(Detector::BruteForce, 0)]);
    }

    #[test]
    fn password_spraying_counts_distinct_principals_of_one_host() {
        let config = only(Detector::PasswordSpraying);
        let user = |i: u64| format!("User:u{i}");
        let events: Vec<_> = (0..15)
            .map(|i| failure(T0 + i * MIN, Some(HOST), Some(&user(i))))
            .collect();
        // The same principal again, and failures without one, do not count.
        let mut nine = events[..9].to_vec();
        nine.extend((0..20).map(|i| failure(T0 + i * S, Some(HOST), Some("User:u0"))));
        nine.extend((0..20).map(|i| failure(T0 + i * S, Some(HOST), None)));
        assert!(detections(&config, &nine).is_empty());
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(
            raised.len(),
            1,
            "resets on fire: 15 principals, one detection"
        );
        let (i, d) = &raised[0];
        assert_eq!((*i, d.count, d.subject.as_str()), (9, 10, HOST));
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.first_event, from_millis(T0));
        assert_eq!(
            d.detail,
            "10 distinct principals failed to log in within 30m from 10.0.0.9"
        );
        // Ten principals spread over more than 30 minutes.
        let spread: Vec<_> = (0..10)
            .map(|i| failure(T0 + i * 4 * MIN, Some(HOST), Some(&user(i))))
            .collect();
        assert!(detections(&config, &spread).is_empty());
        // Ten principals over ten hosts: no host sprays.
        let hosts: Vec<_> = (0..10)
            .map(|i| failure(T0 + i * S, Some(&format!("10.0.0.{i}")), Some(&user(i))))
            .collect();
        assert!(detections(&config, &hosts).is_empty());
    }

    #[test]
    fn password_spraying_severity_and_overflow() {
        let mut config = only(Detector::PasswordSpraying);
        config.password_spraying.severity = Some(Severity::Warning);
        config.max_subjects = 1;
        let mut engine = Engine::new(&config);
        let mut events = vec![failure(T0, Some("10.0.0.1"), Some("User:a"))];
        events.extend((0..10).map(|i| {
            failure(
                T0 + i * S,
                Some(&format!("10.1.0.{i}")),
                Some(&format!("User:u{i}")),
            )
        }));
        let raised = run(&mut engine, &events);
        assert_eq!(raised.len(), 1);
        let d = &raised[0].1;
        assert_eq!(
            (d.subject.as_str(), d.severity),
            (OVERFLOW, Severity::Warning)
        );
        assert_eq!(engine.overflowed(), [(Detector::PasswordSpraying, 10)]);
        assert_eq!(engine.tracked(), [(Detector::PasswordSpraying, 2)]);
    }

    #[test]
    fn credential_stuffing_needs_both_hosts_and_failures() {
        let config = only(Detector::CredentialStuffing);
        let host = |i: u64| format!("10.0.0.{}", i % 10);
        // 30 failures from 10 hosts: fires at the 30th.
        let events: Vec<_> = (0..30)
            .map(|i| failure(T0 + i * 10 * S, Some(&host(i)), Some(BOB)))
            .collect();
        assert!(detections(&config, &events[..29]).is_empty());
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(raised.len(), 1);
        let (i, d) = &raised[0];
        assert_eq!((*i, d.count, d.subject.as_str()), (29, 30, "all"));
        assert_eq!(
            (d.first_event, d.last_event),
            (from_millis(T0), from_millis(T0 + 290 * S))
        );
        assert_eq!(
            d.detail,
            "30 failed logins from at least 10 client hosts in 10m"
        );
        // 40 failures from 9 hosts: not yet; the 10th host makes it.
        let mut nine: Vec<_> = (0..40)
            .map(|i| failure(T0 + i * S, Some(&format!("10.0.0.{}", i % 9)), None))
            .collect();
        assert!(detections(&config, &nine).is_empty());
        nine.push(failure(T0 + 41 * S, Some("10.9.9.9"), None));
        let d = detections(&config, &nine);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].count, 41);
        // 10 hosts and 30 failures spread over more than 10 minutes.
        let spread: Vec<_> = (0..30)
            .map(|i| failure(T0 + i * 25 * S, Some(&host(i)), None))
            .collect();
        assert!(detections(&config, &spread).is_empty());
    }

    #[test]
    fn credential_stuffing_resets_on_fire_and_takes_its_severity() {
        let mut config = only(Detector::CredentialStuffing);
        config.credential_stuffing.severity = Some(Severity::Warning);
        let events: Vec<_> = (0..59)
            .map(|i| failure(T0 + i * S, Some(&format!("10.0.0.{}", i % 20)), None))
            .collect();
        let d = detections(&config, &events);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Warning);
        let mut events = events;
        events.push(failure(T0 + 60 * S, Some(HOST), None));
        let mut engine = Engine::new(&config);
        assert_eq!(run(&mut engine, &events).len(), 1, "a repeat within 10m");
        assert_eq!(suppressed(&engine, Detector::CredentialStuffing), 1);
        events.extend(
            (0..30).map(|i| failure(T0 + 11 * MIN + i * S, Some(&format!("10.0.1.{i}")), None)),
        );
        assert_eq!(detections(&config, &events).len(), 2, "again after 10m");
    }

    #[test]
    fn slow_brute_force_fires_at_its_threshold_over_a_day() {
        let config = only(Detector::SlowBruteForce);
        // One failure every ten minutes: 100 of them in 16.5 hours.
        let events = failures(T0, 10 * MIN, 150, HOST);
        assert!(detections(&config, &events[..99]).is_empty());
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(
            raised.len(),
            1,
            "resets on fire: 150 failures, one detection"
        );
        let (i, d) = &raised[0];
        assert_eq!((*i, d.count, d.subject.as_str()), (99, 100, HOST));
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(d.first_event, from_millis(T0));
        assert_eq!(
            d.detail,
            "100 failed logins in 24h from 10.0.0.9, never 20 within 5m"
        );
        // One every 15 minutes: never 100 in a day.
        assert!(detections(&config, &failures(T0, 15 * MIN, 200, HOST)).is_empty());
    }

    #[test]
    fn slow_brute_force_stays_quiet_for_a_day_after_a_burst() {
        let mut config = only(Detector::SlowBruteForce);
        config.slow_brute_force.severity = Some(Severity::Critical);
        // A burst of 20 in 20 s trips brute_force's condition...
        let mut events = failures(T0, S, 20, HOST);
        // ...so a slow stream after it raises nothing for the next 24 hours.
        let slow = T0 + 10 * MIN;
        events.extend(failures(slow, 10 * MIN, 200, HOST));
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(raised.len(), 1);
        let d = &raised[0].1;
        assert!(d.last_event >= from_millis(T0 + 19 * S + 24 * 60 * MIN));
        assert!(d.count >= 100);
        assert_eq!(d.severity, Severity::Critical);
        // 19 in a burst is not brute force: the slow count goes on.
        let mut events = failures(T0, S, 19, HOST);
        events.extend(failures(slow, 10 * MIN, 81, HOST));
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(raised.len(), 1);
        assert_eq!((raised[0].0, raised[0].1.count), (99, 100));
    }

    #[test]
    fn slow_brute_force_overflow() {
        let mut config = only(Detector::SlowBruteForce);
        config.max_subjects = 1;
        let mut engine = Engine::new(&config);
        let events: Vec<_> = (0..101)
            .map(|i| {
                failure(
                    T0 + i * MIN,
                    Some(&format!("10.1.{}.{}", i / 256, i % 256)),
                    None,
                )
            })
            .collect();
        let raised = run(&mut engine, &events);
        assert_eq!(raised.len(), 1);
        assert_eq!((raised[0].0, raised[0].1.subject.as_str()), (100, OVERFLOW));
        assert_eq!(engine.overflowed(), [(Detector::SlowBruteForce, 100)]);
        assert_eq!(engine.tracked(), [(Detector::SlowBruteForce, 2)]);
    }

    #[test]
    fn success_after_failures_of_a_host() {
        let config = only(Detector::SuccessAfterFailures);
        let allowed = |at| {
            let mut e = authorization(at, Outcome::Allowed, BOB, ("Topic", "orders"));
            e.client_host = Some(HOST.into());
            e
        };
        // Nine failures, then a success: nothing.
        let mut events: Vec<_> = (0..9)
            .map(|i| failure(T0 + i * MIN, Some(HOST), Some(&format!("User:u{i}"))))
            .collect();
        events.push(allowed(T0 + 10 * MIN));
        assert!(detections(&config, &events).is_empty());
        // Ten, then an authorized request (a session exists): one detection, by host.
        events.insert(9, failure(T0 + 9 * MIN, Some(HOST), None));
        events.push(login(T0 + 11 * MIN, Some(HOST), Some(BOB)));
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(raised.len(), 1, "both counters cleared after the detection");
        let (i, d) = &raised[0];
        assert_eq!((*i, d.count, d.subject.as_str()), (10, 10, HOST));
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(
            (d.first_event, d.last_event),
            (from_millis(T0), from_millis(T0 + 10 * MIN))
        );
        assert_eq!(
            d.detail,
            "a session from 10.0.0.9 authenticated after 10 failed logins in 30m"
        );
        // A denied request proves a session too.
        events[10] = authorization(T0 + 10 * MIN, Outcome::Denied, BOB, ("Topic", "x"));
        assert_eq!(detections(&config, &events[..11]).len(), 1);
        // The success more than 30 minutes after most failures: not enough left.
        events[10] = login(T0 + 35 * MIN, Some(HOST), None);
        assert!(detections(&config, &events[..11]).is_empty());
    }

    #[test]
    fn success_after_failures_of_a_principal() {
        let mut config = only(Detector::SuccessAfterFailures);
        config.success_after_failures.severity = Some(Severity::Warning);
        // Ten failures as bob, each from another host, then bob logs in from an eleventh.
        let mut events: Vec<_> = (0..10)
            .map(|i| failure(T0 + i * MIN, Some(&format!("10.0.1.{i}")), Some(BOB)))
            .collect();
        assert!(detections(&config, &{
            let mut nine = events[..9].to_vec();
            nine.push(login(T0 + 20 * MIN, Some("10.0.2.1"), Some(BOB)));
            nine
        })
        .is_empty());
        events.push(login(T0 + 20 * MIN, Some("10.0.2.1"), Some(BOB)));
        events.push(login(T0 + 21 * MIN, Some("10.0.2.1"), Some(BOB)));
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(raised.len(), 1);
        let (i, d) = &raised[0];
        assert_eq!((*i, d.count, d.subject.as_str()), (10, 10, BOB));
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(
            d.detail,
            "User:bob authenticated after 10 failed logins in 30m"
        );
        // The anonymous principal is nobody's.
        let anonymous: Vec<_> = (0..10)
            .map(|i| failure(T0 + i * S, None, Some("User:ANONYMOUS")))
            .chain([login(T0 + MIN, None, Some("User:ANONYMOUS"))])
            .collect();
        assert!(detections(&config, &anonymous).is_empty());
    }

    #[test]
    fn success_after_failures_overflow() {
        let mut config = only(Detector::SuccessAfterFailures);
        config.max_subjects = 2;
        let mut engine = Engine::new(&config);
        // Host and principal of the first failure fill the map; the rest overflow, once each.
        let mut events: Vec<_> = (0..10)
            .map(|i| {
                failure(
                    T0 + i * S,
                    Some(&format!("10.1.0.{i}")),
                    Some(&format!("User:u{i}")),
                )
            })
            .collect();
        events.push(login(T0 + MIN, Some("10.1.0.5"), Some("User:u5")));
        let raised = run(&mut engine, &events);
        assert_eq!(engine.overflowed(), [(Detector::SuccessAfterFailures, 9)]);
        assert_eq!(engine.tracked(), [(Detector::SuccessAfterFailures, 3)]);
        assert!(raised.is_empty(), "nine in the overflow subject");
        let mut more = vec![failure(T0 + 2 * MIN, Some("10.1.0.99"), None)];
        more.push(login(T0 + 3 * MIN, Some("10.1.0.5"), Some("User:u5")));
        let raised = run(&mut engine, &more);
        assert_eq!(raised.len(), 1);
        assert_eq!(
            (raised[0].1.subject.as_str(), raised[0].1.count),
            (OVERFLOW, 10)
        );
    }

    #[test]
    fn privilege_probing_counts_distinct_denied_resources() {
        let config = only(Detector::PrivilegeProbing);
        let topic = |i: u64| format!("t{i}");
        let denied = |i: u64| authorization(T0 + i * S, Outcome::Denied, BOB, ("Topic", &topic(i)));
        let events: Vec<_> = (0..15).map(denied).collect();
        // The same resource again, allowed requests, and denials of other principals do not
        // count.
        let mut nine = events[..9].to_vec();
        nine.extend(
            (0..10).map(|i| authorization(T0 + i * S, Outcome::Denied, BOB, ("Topic", "t0"))),
        );
        nine.extend(
            (20..30)
                .map(|i| authorization(T0 + i * S, Outcome::Allowed, BOB, ("Topic", &topic(i)))),
        );
        nine.extend((40..49).map(|i| {
            authorization(
                T0 + i * S,
                Outcome::Denied,
                "User:eve",
                ("Topic", &topic(i)),
            )
        }));
        assert!(detections(&config, &nine).is_empty());
        // A group of the same name is another resource.
        nine.push(authorization(
            T0 + 60 * S,
            Outcome::Denied,
            BOB,
            ("Group", "t0"),
        ));
        assert_eq!(detections(&config, &nine).len(), 1);
        let raised = run(&mut Engine::new(&config), &events);
        assert_eq!(
            raised.len(),
            1,
            "resets on fire: 15 resources, one detection"
        );
        let (i, d) = &raised[0];
        assert_eq!((*i, d.count, d.subject.as_str()), (9, 10, BOB));
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(
            (d.first_event, d.last_event),
            (from_millis(T0), from_millis(T0 + 9 * S))
        );
        assert_eq!(
            d.detail,
            "User:bob was denied on 10 distinct resources in 10m"
        );
        // Ten resources over more than ten minutes.
        let spread: Vec<_> = (0..10)
            .map(|i| authorization(T0 + i * 80 * S, Outcome::Denied, BOB, ("Topic", &topic(i))))
            .collect();
        assert!(detections(&config, &spread).is_empty());
    }

    #[test]
    fn privilege_probing_severity_and_overflow() {
        let mut config = only(Detector::PrivilegeProbing);
        config.privilege_probing.severity = Some(Severity::Critical);
        config.max_subjects = 1;
        let mut engine = Engine::new(&config);
        let events: Vec<_> = (0..11)
            .map(|i| {
                let p = format!("User:u{i}");
                authorization(T0 + i * S, Outcome::Denied, &p, ("Topic", &format!("t{i}")))
            })
            .collect();
        let raised = run(&mut engine, &events);
        assert_eq!(raised.len(), 1);
        let d = &raised[0].1;
        assert_eq!(
            (d.subject.as_str(), d.severity, d.count),
            (OVERFLOW, Severity::Critical, 10)
        );
        assert_eq!(engine.overflowed(), [(Detector::PrivilegeProbing, 10)]);
    }

    #[test]
    fn every_rate_detector_is_built_when_on() {
        let mut config = only(Detector::Anomaly);
        config.anomaly.enabled = false;
        config.brute_force.enabled = true;
        config.password_spraying.enabled = true;
        config.credential_stuffing.enabled = true;
        config.slow_brute_force.enabled = true;
        config.success_after_failures.enabled = true;
        config.privilege_probing.enabled = true;
        assert_eq!(
            Engine::new(&config).detectors(),
            [
                Detector::BruteForce,
                Detector::PasswordSpraying,
                Detector::CredentialStuffing,
                Detector::SlowBruteForce,
                Detector::SuccessAfterFailures,
                Detector::PrivilegeProbing,
            ]
        );
    }
}
