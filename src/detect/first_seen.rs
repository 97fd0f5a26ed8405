//! new_principal and new_client_for_principal: bounded first-seen memory that ages out and
//! survives restarts.
//!
//! Both detectors look at the same events: an authentication success, or any authorization
//! decision (allowed or denied), that names a principal other than `User:ANONYMOUS`.
//!
//! - `new_principal` fires when the principal was not seen within `horizon`.
//! - `new_client_for_principal` fires when the principal was seen within `horizon` but never from
//!   this client host within it (the detail names the host). It needs a memory of principals
//!   too, so it works with `new_principal` switched off; with both on and the same `horizon` and
//!   `max_remembered` (the default), the two memories would be equal and they share one
//!   ([`Principals`]).
//!
//! Memory is a table of hash → last-seen event time (to the second, rounded up: see
//! [`memory`]), capped at `max_remembered` (the least recently seen are forgotten first) and
//! aged out beyond `horizon`. For `new_client_for_principal` the principals and the principal ×
//! host pairs are two such tables, each capped at `max_remembered`.
//! Both detectors stay quiet (while remembering) until `learning_period` has passed since the
//! first event they ever saw, by event time. The memory and that start are saved in the state
//! file, so a restart neither re-announces anyone nor starts learning over.

mod memory;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::config::FirstSeen;
use super::{millis, Detect, Detection, Detector, DetectorsConfig, Observation};
use crate::event::{Category, Outcome};
use memory::Memory;

/// The principal no one is: Kafka's name for an unauthenticated client.
const ANONYMOUS: &str = "User:ANONYMOUS";

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(config: &DetectorsConfig, out: &mut Vec<Box<dyn Detect>>) {
    let learning = config.learning_period.0;
    let (np, ncfp) = (&config.new_principal, &config.new_client_for_principal);
    let mut shared = None;
    if np.enabled {
        let principals = Principals::new(np);
        if ncfp.enabled && (ncfp.horizon, ncfp.max_remembered) == (np.horizon, np.max_remembered) {
            shared = Some(principals.clone());
        }
        out.push(Box::new(NewPrincipal {
            common: Common::new(Detector::NewPrincipal, np, learning),
            principals,
        }));
    }
    if ncfp.enabled {
        // After `new_principal`: the engine calls detectors in this order, so a shared memory
        // holds `new_principal`'s answer when this one asks.
        out.push(Box::new(NewClientForPrincipal {
            common: Common::new(Detector::NewClientForPrincipal, ncfp, learning),
            principals: shared.unwrap_or_else(|| Principals::new(ncfp)),
            pairs: Memory::new(ncfp),
        }));
    }
}

/// A memory of principals, which both detectors may share.
///
/// Both learn from the same events (those [`principal`] returns a principal for), so with the
/// same horizon and cap their memories of principals are equal, entry for entry: then one is
/// kept (1.37 MB at the default cap), not two. `new_principal` asks it first and leaves its
/// answer, which `new_client_for_principal` takes for the same event: asking again would find
/// the principal just remembered. Only the engine's thread locks it, so the lock never waits.
#[derive(Clone)]
struct Principals(Arc<Mutex<Shared>>);

struct Shared {
    memory: Memory,
    /// `new_principal`'s last answer: (hash, millis, whether it was known).
    answer: Option<(u64, u64, bool)>,
}

impl Principals {
    fn new(config: &FirstSeen) -> Principals {
        Principals(Arc::new(Mutex::new(Shared {
            memory: Memory::new(config),
            answer: None,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key` was seen within the horizon before `at`, remembering it as seen at `at`;
    /// the answer is left for [`Principals::take_or_ask`].
    fn ask(&self, key: u64, at: u64) -> bool {
        let mut shared = self.lock();
        let known = shared.memory.seen(key, at);
        shared.answer = Some((key, at, known));
        known
    }

    /// The answer [`Principals::ask`] left for `key` at `at`, else (a memory of its own) asks.
    fn take_or_ask(&self, key: u64, at: u64) -> bool {
        let mut shared = self.lock();
        match shared.answer.take() {
            Some((k, t, known)) if (k, t) == (key, at) => known,
            _ => shared.memory.seen(key, at),
        }
    }

    fn age_out(&self, now: u64) {
        self.lock().memory.age_out(now);
    }

    fn len(&self) -> usize {
        self.lock().memory.len()
    }
}

/// The principal of an event these detectors learn from, if it is one.
fn principal<'e>(o: &Observation<'e>) -> Option<super::Key<'e>> {
    let decision = match o.event.category {
        Category::Authentication => o.event.outcome == Outcome::Success,
        Category::Authorization => matches!(o.event.outcome, Outcome::Allowed | Outcome::Denied),
        _ => false,
    };
    o.principal.filter(|p| decision && p.text != ANONYMOUS)
}

/// One hash of a principal × client host pair (splitmix64 finalizer over both hashes).
fn pair_hash(principal: u64, host: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    mix(principal ^ mix(host))
}

/// What both detectors share: severity, horizon and the learning period.
struct Common {
    detector: Detector,
    severity: super::Severity,
    horizon: Duration,
    learning: Duration,
    /// Event time (millis) of the first event ever seen, this run or an earlier one.
    learning_start: Option<u64>,
}

impl Common {
    fn new(detector: Detector, config: &FirstSeen, learning: Duration) -> Common {
        Common {
            detector,
            severity: config.severity.unwrap_or(detector.default_severity()),
            horizon: config.horizon.0,
            learning,
            learning_start: None,
        }
    }

    /// Notes the event time; whether the learning period is over at `at`.
    fn learned(&mut self, at: u64) -> bool {
        let start = *self.learning_start.get_or_insert(at);
        at >= start.saturating_add(self.learning.as_millis() as u64)
    }

    fn detection(&self, subject: &str, at: SystemTime, detail: String) -> Detection {
        Detection {
            detector: self.detector,
            severity: self.severity,
            subject: subject.to_string(),
            first_event: at,
            last_event: at,
            count: 1,
            detail,
        }
    }

    fn save(&self, memories: &[(&str, &Memory)]) -> Value {
        let mut state = serde_json::Map::new();
        state.insert("learning_start".into(), json!(self.learning_start));
        for (name, memory) in memories {
            state.insert((*name).into(), memory.save());
        }
        Value::Object(state)
    }

    fn restore(
        &mut self,
        state: &Value,
        memories: &mut [(&str, &mut Memory)],
    ) -> Result<(), String> {
        let Some(state) = state.as_object() else {
            return Err("state is not an object".into());
        };
        self.learning_start = match state.get("learning_start") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or("`learning_start` is not a time in milliseconds")?,
            ),
        };
        for (name, memory) in memories.iter_mut() {
            if let Some(entries) = state.get(*name) {
                memory
                    .restore(entries)
                    .map_err(|e| format!("`{name}`: {e}"))?;
            }
        }
        Ok(())
    }
}

/// `new_principal`.
struct NewPrincipal {
    common: Common,
    principals: Principals,
}

impl Detect for NewPrincipal {
    fn detector(&self) -> Detector {
        Detector::NewPrincipal
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let at = o.ms;
        let learned = self.common.learned(at);
        let Some(p) = principal(o) else {
            return;
        };
        if !self.principals.ask(p.hash, at) && learned {
            let detail = format!(
                "new principal {} (not seen in {})",
                p.text,
                humantime::format_duration(self.common.horizon)
            );
            out.push(self.common.detection(p.text, o.at, detail));
        }
    }

    fn tick(&mut self, now: SystemTime, _out: &mut Vec<Detection>) {
        self.principals.age_out(millis(now));
    }

    fn tracked(&self) -> usize {
        self.principals.len()
    }

    fn save(&self) -> Option<Value> {
        let principals = self.principals.lock();
        Some(self.common.save(&[("principals", &principals.memory)]))
    }

    fn restore(&mut self, state: &Value) -> Result<(), String> {
        let mut principals = self.principals.lock();
        self.common
            .restore(state, &mut [("principals", &mut principals.memory)])
    }
}

/// `new_client_for_principal`.
struct NewClientForPrincipal {
    common: Common,
    /// Shared with `new_principal` when their horizon and cap are equal.
    principals: Principals,
    /// Principal × client host pairs.
    pairs: Memory,
}

impl Detect for NewClientForPrincipal {
    fn detector(&self) -> Detector {
        Detector::NewClientForPrincipal
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let at = o.ms;
        let learned = self.common.learned(at);
        let Some(p) = principal(o) else {
            return;
        };
        let known = self.principals.take_or_ask(p.hash, at);
        let Some(host) = o.client_host else {
            return;
        };
        let pair = pair_hash(p.hash, host.hash);
        if !self.pairs.seen(pair, at) && learned && known {
            let detail = format!(
                "{} from new client host {} (not seen from it in {})",
                p.text,
                host.text,
                humantime::format_duration(self.common.horizon)
            );
            out.push(self.common.detection(p.text, o.at, detail));
        }
    }

    fn tick(&mut self, now: SystemTime, _out: &mut Vec<Detection>) {
        let now = millis(now);
        self.principals.age_out(now);
        self.pairs.age_out(now);
    }

    /// The pairs remembered (the principals are capped alike).
    fn tracked(&self) -> usize {
        self.pairs.len()
    }

    /// The principals too when they are shared, so that either detector's state holds them
    /// (a restart with the other one switched off keeps them).
    fn save(&self) -> Option<Value> {
        let principals = self.principals.lock();
        Some(
            self.common
                .save(&[("principals", &principals.memory), ("pairs", &self.pairs)]),
        )
    }

    fn restore(&mut self, state: &Value) -> Result<(), String> {
        let mut principals = self.principals.lock();
        self.common.restore(
            state,
            &mut [
                ("principals", &mut principals.memory),
                ("pairs", &mut self.pairs),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::config::Span;
    use super::super::{Detection, Detector, DetectorsConfig, Engine};
    use crate::event::{Category, Format, Origin, Outcome, SecurityEvent};

    const HOUR: u64 = 3600;
    /// The horizon of both detectors in these tests: longer than the learning periods.
    const HORIZON: u64 = 2 * HOUR;

    /// Only the two first-seen detectors, learning for `learning` seconds, horizon [`HORIZON`].
    fn config(learning: u64) -> DetectorsConfig {
        let mut c = DetectorsConfig {
            learning_period: Span(Duration::from_secs(learning)),
            ..Default::default()
        };
        c.brute_force.enabled = false;
        c.password_spraying.enabled = false;
        c.credential_stuffing.enabled = false;
        c.slow_brute_force.enabled = false;
        c.success_after_failures.enabled = false;
        c.privilege_probing.enabled = false;
        c.log_tampering.enabled = false;
        c.log_injection.enabled = false;
        c.anomaly.enabled = false;
        c.new_principal.horizon = Span(Duration::from_secs(HORIZON));
        c.new_client_for_principal.horizon = Span(Duration::from_secs(HORIZON));
        c
    }

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms)
    }

    fn secs(s: u64) -> u64 {
        s * 1000
    }

    fn event(
        category: Category,
        outcome: Outcome,
        principal: &str,
        host: Option<&str>,
        ms: u64,
    ) -> SecurityEvent<'static> {
        let mut e = SecurityEvent::new(
            Format::AuthorizerLog,
            category,
            outcome,
            "test",
            Origin::Memory,
            at(ms + 5),
        );
        e.event_time = Some(at(ms));
        e.principal = Some(principal.to_string().into());
        e.client_host = host.map(|h| h.to_string().into());
        e
    }

    fn allowed(principal: &str, host: &str, ms: u64) -> SecurityEvent<'static> {
        event(
            Category::Authorization,
            Outcome::Allowed,
            principal,
            Some(host),
            ms,
        )
    }

    /// Feeds one event; the (detector, subject) pairs raised.
    fn feed(engine: &mut Engine, e: &SecurityEvent<'_>) -> Vec<(Detector, String)> {
        let mut out: Vec<Detection> = Vec::new();
        engine.observe(e, &mut out);
        out.into_iter().map(|d| (d.detector, d.subject)).collect()
    }

    fn np(subject: &str) -> (Detector, String) {
        (Detector::NewPrincipal, subject.to_string())
    }

    fn nc(subject: &str) -> (Detector, String) {
        (Detector::NewClientForPrincipal, subject.to_string())
    }

    fn tracked(engine: &Engine, d: Detector) -> usize {
        engine.tracked().into_iter().find(|t| t.0 == d).unwrap().1
    }

    #[test]
    fn a_new_principal_fires_once_and_only_after_learning() {
        let mut engine = Engine::new(&config(HOUR));
        // The first event ever starts the learning period; everyone seen in it is known.
        assert_eq!(feed(&mut engine, &allowed("User:alice", "10.0.0.1", 0)), []);
        let last_quiet = secs(HOUR) - 1;
        assert_eq!(
            feed(&mut engine, &allowed("User:bob", "10.0.0.2", last_quiet)),
            []
        );
        let learned = secs(HOUR);
        assert_eq!(
            feed(&mut engine, &allowed("User:carol", "10.0.0.3", learned)),
            [np("User:carol")]
        );
        assert_eq!(
            feed(&mut engine, &allowed("User:carol", "10.0.0.3", learned + 1)),
            []
        );
        assert_eq!(
            feed(&mut engine, &allowed("User:alice", "10.0.0.1", learned + 2)),
            []
        );
    }

    #[test]
    fn the_detection_says_who_and_when() {
        let mut engine = Engine::new(&config(0));
        let mut out = Vec::new();
        engine.observe(&allowed("User:alice", "10.0.0.1", 7), &mut out);
        assert_eq!(out.len(), 1);
        let d = &out[0];
        assert_eq!(d.detector, Detector::NewPrincipal);
        assert_eq!(d.severity, Detector::NewPrincipal.default_severity());
        assert_eq!((d.first_event, d.last_event, d.count), (at(7), at(7), 1));
        assert_eq!(d.detail, "new principal User:alice (not seen in 2h)");
    }

    #[test]
    fn only_successes_and_decisions_of_real_principals_count() {
        let mut engine = Engine::new(&config(0));
        let quiet = [
            event(
                Category::Authentication,
                Outcome::Failure,
                "User:a",
                None,
                1,
            ),
            event(Category::Authorization, Outcome::Unknown, "User:b", None, 2),
            event(Category::AclChange, Outcome::Success, "User:c", None, 3),
            event(
                Category::Authentication,
                Outcome::Success,
                "User:ANONYMOUS",
                None,
                4,
            ),
            event(
                Category::Authorization,
                Outcome::Allowed,
                "User:ANONYMOUS",
                Some("h"),
                5,
            ),
        ];
        for e in &quiet {
            assert_eq!(feed(&mut engine, e), [], "{e:?}");
        }
        let login = event(
            Category::Authentication,
            Outcome::Success,
            "User:a",
            None,
            6,
        );
        assert_eq!(feed(&mut engine, &login), [np("User:a")]);
        let denied = event(Category::Authorization, Outcome::Denied, "User:b", None, 7);
        assert_eq!(feed(&mut engine, &denied), [np("User:b")]);
    }

    #[test]
    fn a_principal_unseen_beyond_the_horizon_is_new_again() {
        let mut engine = Engine::new(&config(0));
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h1", 0)),
            [np("User:a")]
        );
        // Exactly the horizon later: still remembered.
        let edge = secs(HORIZON);
        assert_eq!(feed(&mut engine, &allowed("User:a", "h1", edge)), []);
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h1", 2 * edge + 1)),
            [np("User:a")]
        );
    }

    #[test]
    fn a_known_principal_from_a_new_host_fires_naming_the_host() {
        let mut engine = Engine::new(&config(0));
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h1", 0)),
            [np("User:a")]
        );
        assert_eq!(feed(&mut engine, &allowed("User:a", "h1", 1)), []);
        let mut out = Vec::new();
        engine.observe(&allowed("User:a", "10.9.9.9", 2), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].detector, Detector::NewClientForPrincipal);
        assert_eq!(out[0].subject, "User:a");
        assert_eq!(
            out[0].detail,
            "User:a from new client host 10.9.9.9 (not seen from it in 2h)"
        );
        assert_eq!(feed(&mut engine, &allowed("User:a", "10.9.9.9", 3)), []);
        // A host-less event teaches the principal but no pair.
        let login = event(
            Category::Authentication,
            Outcome::Success,
            "User:b",
            None,
            4,
        );
        assert_eq!(feed(&mut engine, &login), [np("User:b")]);
        assert_eq!(
            feed(&mut engine, &allowed("User:b", "h1", 5)),
            [nc("User:b")]
        );
        // The pair ages out like a principal, the principal staying known. Memory keeps times
        // to the second, rounded up: the pair last seen at 3 ms counts as seen at 1 s.
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h1", secs(HORIZON) + 1)),
            []
        );
        assert_eq!(
            feed(
                &mut engine,
                &allowed("User:a", "10.9.9.9", secs(HORIZON + 1) + 1)
            ),
            [nc("User:a")]
        );
    }

    #[test]
    fn new_client_works_without_new_principal() {
        let mut c = config(0);
        c.new_principal.enabled = false;
        let mut engine = Engine::new(&c);
        assert_eq!(feed(&mut engine, &allowed("User:a", "h1", 0)), []);
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h2", 1)),
            [nc("User:a")]
        );
    }

    #[test]
    fn the_least_recently_seen_is_forgotten_first() {
        let mut c = config(0);
        c.new_principal.max_remembered = 2;
        let mut engine = Engine::new(&c);
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h", 0)),
            [np("User:a")]
        );
        assert_eq!(
            feed(&mut engine, &allowed("User:b", "h", secs(60))),
            [np("User:b")]
        );
        assert_eq!(feed(&mut engine, &allowed("User:a", "h", secs(120))), []);
        assert_eq!(
            feed(&mut engine, &allowed("User:c", "h", secs(180))),
            [np("User:c")]
        );
        assert_eq!(tracked(&engine, Detector::NewPrincipal), 2);
        assert_eq!(feed(&mut engine, &allowed("User:a", "h", secs(240))), []);
        assert_eq!(
            feed(&mut engine, &allowed("User:b", "h", secs(300))),
            [np("User:b")]
        );
    }

    #[test]
    fn tick_ages_out_memory() {
        let mut engine = Engine::new(&config(0));
        feed(&mut engine, &allowed("User:a", "h", 0));
        feed(&mut engine, &allowed("User:b", "h", secs(HOUR)));
        assert_eq!(tracked(&engine, Detector::NewPrincipal), 2);
        let mut out = Vec::new();
        engine.tick(at(secs(HORIZON) + 1), &mut out);
        assert!(out.is_empty());
        assert_eq!(tracked(&engine, Detector::NewPrincipal), 1);
        assert_eq!(tracked(&engine, Detector::NewClientForPrincipal), 1);
        engine.tick(at(secs(HORIZON + HOUR) + 1), &mut out);
        assert_eq!(tracked(&engine, Detector::NewPrincipal), 0);
    }

    #[test]
    fn a_restart_keeps_memory_and_the_learning_start() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(HOUR);
        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        assert_eq!(feed(&mut engine, &allowed("User:a", "h1", 0)), []);
        assert_eq!(feed(&mut engine, &allowed("User:b", "h1", secs(60))), []);
        engine.save().unwrap();
        drop(engine);

        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        assert_eq!(tracked(&engine, Detector::NewPrincipal), 2);
        // Learning started an hour ago in the first run: it is over now.
        let later = secs(HOUR) + 1;
        assert_eq!(feed(&mut engine, &allowed("User:a", "h1", later)), []);
        assert_eq!(
            feed(&mut engine, &allowed("User:b", "h2", later)),
            [nc("User:b")]
        );
        assert_eq!(
            feed(&mut engine, &allowed("User:c", "h1", later)),
            [np("User:c")]
        );
    }

    #[test]
    fn a_restart_during_learning_stays_quiet_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(HOUR);
        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        feed(&mut engine, &allowed("User:a", "h1", 0));
        engine.save().unwrap();
        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        assert_eq!(
            feed(&mut engine, &allowed("User:x", "h1", secs(HOUR) - 1)),
            []
        );
    }

    #[test]
    fn a_corrupt_state_entry_names_the_detector() {
        let dir = tempfile::tempdir().unwrap();
        for (state, detector) in [
            (
                r#"{"new_principal": {"principals": [[1, "yesterday"]]}}"#,
                "new_principal",
            ),
            (
                r#"{"new_client_for_principal": {"learning_start": "soon"}}"#,
                "new_client_for_principal",
            ),
            (r#"{"new_principal": []}"#, "new_principal"),
        ] {
            let file = format!(r#"{{"version": 1, "detectors": {state}}}"#);
            std::fs::write(dir.path().join(super::super::STATE_FILE), file).unwrap();
            let Err(e) = Engine::new(&config(0)).with_state_dir(dir.path()) else {
                panic!("{state} was accepted");
            };
            let e = e.to_string();
            assert!(e.contains(&format!(": {detector}: ")), "{e}");
        }
    }

    #[test]
    fn a_million_distinct_principals_stay_within_max_remembered() {
        let mut c = config(HOUR);
        c.new_principal.max_remembered = 1000;
        c.new_client_for_principal.max_remembered = 1000;
        let mut engine = Engine::new(&c);
        let mut out = Vec::new();
        for i in 0..1_000_000u64 {
            let e = allowed(&format!("User:u{i}"), &format!("10.{i}"), i);
            engine.observe(&e, &mut out);
        }
        assert!(out.is_empty(), "still learning");
        assert_eq!(tracked(&engine, Detector::NewPrincipal), 1000);
        assert_eq!(tracked(&engine, Detector::NewClientForPrincipal), 1000);
        // After learning: the most recent are remembered, the first long forgotten.
        let after = secs(HOUR);
        let last = allowed("User:u999999", "10.999999", after);
        assert_eq!(feed(&mut engine, &last), []);
        assert_eq!(
            feed(&mut engine, &allowed("User:u0", "10.0", after)),
            [np("User:u0")]
        );
    }

    /// What a shared memory of principals is compared with: `new_client_for_principal` with a
    /// memory of its own (a cap one larger, never reached here).
    fn separate(mut c: DetectorsConfig) -> DetectorsConfig {
        c.new_client_for_principal.max_remembered = c.new_principal.max_remembered + 1;
        c
    }

    proptest::proptest! {
        /// Events of a few principals and hosts (some without a host, some not decisions),
        /// minutes to days apart, ticks between them: a shared memory of principals raises
        /// exactly what two memories raise.
        #[test]
        fn a_shared_memory_of_principals_decides_as_two_do(
            steps in proptest::collection::vec(
                (0..4usize, 0..4usize, 0..6u8, 0..4u64, proptest::bool::weighted(0.1)),
                1..200,
            ),
        ) {
            let c = config(HOUR);
            let (mut shared, mut two) = (Engine::new(&c), Engine::new(&separate(c)));
            let mut ms = 0;
            for (p, h, kind, gap, tick) in steps {
                ms += [secs(1), secs(600), secs(HOUR), secs(HORIZON) + 1][gap as usize];
                let (principal, host) = (format!("User:p{p}"), format!("10.0.0.{h}"));
                let e = match kind {
                    0 => event(Category::Authentication, Outcome::Success, &principal, None, ms),
                    1 => event(Category::Authentication, Outcome::Failure, &principal, Some(&host), ms),
                    2 => event(Category::Authorization, Outcome::Denied, &principal, Some(&host), ms),
                    _ => allowed(&principal, &host, ms),
                };
                proptest::prop_assert_eq!(feed(&mut shared, &e), feed(&mut two, &e));
                if tick {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    shared.tick(at(ms + secs(1)), &mut a);
                    two.tick(at(ms + secs(1)), &mut b);
                    proptest::prop_assert_eq!(a.len(), b.len());
                }
            }
            for d in [Detector::NewPrincipal, Detector::NewClientForPrincipal] {
                proptest::prop_assert_eq!(tracked(&shared, d), tracked(&two, d));
            }
        }
    }

    #[test]
    fn a_shared_memory_of_principals_is_kept_by_either_detector_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(0);
        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h1", 0)),
            [np("User:a")]
        );
        engine.save().unwrap();
        drop(engine);
        let state = std::fs::read_to_string(dir.path().join(super::super::STATE_FILE)).unwrap();
        let state: serde_json::Value = serde_json::from_str(&state).unwrap();
        for detector in ["new_principal", "new_client_for_principal"] {
            let principals = &state["detectors"][detector]["principals"];
            assert_eq!(principals.as_array().map(Vec::len), Some(1), "{state}");
        }

        // Either one alone still knows `User:a`.
        let mut only_new_client = config(0);
        only_new_client.new_principal.enabled = false;
        let mut engine = Engine::new(&only_new_client)
            .with_state_dir(dir.path())
            .unwrap();
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h2", secs(60))),
            [nc("User:a")]
        );
        let mut only_new_principal = config(0);
        only_new_principal.new_client_for_principal.enabled = false;
        let mut engine = Engine::new(&only_new_principal)
            .with_state_dir(dir.path())
            .unwrap();
        assert_eq!(feed(&mut engine, &allowed("User:a", "h2", secs(60))), []);
        // Both again, sharing: a new principal is new to `new_principal` only.
        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        assert_eq!(
            feed(&mut engine, &allowed("User:b", "h1", secs(60))),
            [np("User:b")]
        );
        assert_eq!(
            feed(&mut engine, &allowed("User:a", "h3", secs(60))),
            [nc("User:a")]
        );
    }
}
