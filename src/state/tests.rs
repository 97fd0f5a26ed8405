use super::*;
use crate::metrics::MetricsConfig;
use crate::parse::{Input, Parsers, Record};
use crate::pipeline::Pipeline;

fn pipeline(config: &MetricsConfig) -> Pipeline {
    let metrics = Arc::new(Metrics::new(config).unwrap());
    Pipeline::new(Parsers::new(&Default::default()).unwrap(), metrics)
}

/// One JSON login event of `user` from `ip`, failed.
fn login(p: &Pipeline, user: &str, ip: &str) {
    let json = format!(
        r#"{{"timestamp":"2025-03-18T10:15:30Z","event_type":"login","user":"{user}","ip":"{ip}","outcome":"failure"}}"#
    );
    p.apply("app", Input::Json, &Record::from_payload(json.as_bytes()));
}

/// The exposition without the process metrics (they belong to the process, not the snapshot).
fn counted(text: &[u8]) -> Vec<String> {
    String::from_utf8(text.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("process_") && !l.starts_with("# "))
        .map(str::to_string)
        .collect()
}

/// The value of the series that starts with `series` (name and labels as exposed).
fn value(text: &[u8], series: &str) -> Option<f64> {
    counted(text)
        .iter()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn store(dir: &Path, metrics: &Arc<Metrics>, loaded: Option<Snapshot>) -> Arc<StateStore> {
    let health = Arc::new(Health::new(metrics.clone()));
    StateStore::open(
        dir,
        &StateConfig::default(),
        None,
        metrics.clone(),
        health,
        loaded,
    )
}

struct Fixed(serde_json::Value);

impl Positions for Fixed {
    fn positions(&self) -> serde_json::Value {
        self.0.clone()
    }
}

/// Counters and histograms (the event delay) of a restored registry render exactly as the
/// saved one did, positions come back, and counting goes on from there.
#[test]
fn a_restored_registry_continues_where_the_snapshot_left_it() {
    let dir = tempfile::tempdir().unwrap();
    let before = pipeline(&MetricsConfig::default());
    for i in 0..7 {
        login(&before, &format!("u{}", i % 3), "10.0.0.1");
    }
    let s = store(dir.path(), before.metrics(), None);
    s.register("app", Arc::new(Fixed(serde_json::json!({"t": {"0": 7}}))));
    s.snapshot().unwrap();
    let saved = before.metrics().render();

    let loaded = file::load(dir.path()).unwrap().unwrap();
    let after = pipeline(&MetricsConfig::default());
    let s2 = store(dir.path(), after.metrics(), Some(loaded));
    assert_eq!(counted(&after.metrics().render()), counted(&saved));
    assert!(
        value(
            &saved,
            "kafka_security_event_delay_seconds_count{source=\"app\"}"
        ) == Some(7.0)
    );
    assert_eq!(
        s2.restored_positions("app"),
        Some(serde_json::json!({"t": {"0": 7}}))
    );
    assert_eq!(s2.restored_positions("app"), None, "handed out once");

    login(&after, "u0", "10.0.0.1");
    let text = after.metrics().render();
    let events = r#"kafka_security_events_total{category="authentication",event_type="login",format="json",outcome="failure",source="app"}"#;
    assert_eq!(value(&text, events), Some(8.0));
    assert_eq!(
        value(
            &text,
            "kafka_security_event_delay_seconds_count{source=\"app\"}"
        ),
        Some(8.0)
    );
    // The +Inf bucket and the count agree after the baseline is added.
    assert_eq!(
        value(
            &text,
            "kafka_security_event_delay_seconds_bucket{source=\"app\",le=\"+Inf\"}"
        ),
        Some(8.0)
    );
}

/// A capped family restores at most its cap: the series beyond it go to its overflow series,
/// totals stay exact, and a saved overflow series stays one.
#[test]
fn capped_families_restore_at_most_their_cap() {
    let dir = tempfile::tempdir().unwrap();
    let cap = |n: usize| MetricsConfig {
        max_series: [(
            "kafka_security_authentication_failures_by_client_total".to_string(),
            n,
        )]
        .into(),
        ..MetricsConfig::default()
    };
    let before = pipeline(&cap(2));
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.1"] {
        login(&before, "u", ip);
    }
    store(dir.path(), before.metrics(), None)
        .snapshot()
        .unwrap();
    let series = |text: &[u8]| -> Vec<(String, f64)> {
        counted(text)
            .iter()
            .filter(|l| l.starts_with("kafka_security_authentication_failures_by_client_total{"))
            .map(|l| {
                let (s, v) = l.rsplit_once(' ').unwrap();
                (s.to_string(), v.parse().unwrap())
            })
            .collect()
    };
    let saved = series(&before.metrics().render());
    assert_eq!(
        saved.len(),
        3,
        "two admitted and the overflow series: {saved:?}"
    );

    // The same cap: the very same series.
    let same = pipeline(&cap(2));
    store(dir.path(), same.metrics(), file::load(dir.path()).unwrap());
    assert_eq!(series(&same.metrics().render()), saved);

    // A lower cap: one admitted, the rest in overflow, the total unchanged.
    let lower = pipeline(&cap(1));
    store(dir.path(), lower.metrics(), file::load(dir.path()).unwrap());
    let restored = series(&lower.metrics().render());
    assert_eq!(restored.len(), 2, "{restored:?}");
    let total = |s: &[(String, f64)]| s.iter().map(|(_, v)| v).sum::<f64>();
    assert_eq!(total(&restored), 5.0);
    assert!(restored[1].0.contains("__overflow__") || restored[0].0.contains("__overflow__"));
}

/// What a scrape shows is on disk: when the snapshot cannot be written, scrapes serve the last
/// one written (the counters stand still), the failure is counted and /readyz says why; once
/// the disk is back, the next scrape shows everything.
#[test]
fn a_scrape_shows_only_what_is_on_disk() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("state");
    std::fs::create_dir(&dir).unwrap();
    let p = pipeline(&MetricsConfig::default());
    let health = Arc::new(Health::new(p.metrics().clone()));
    let s = StateStore::open(
        &dir,
        &StateConfig::default(),
        None,
        p.metrics().clone(),
        health.clone(),
        None,
    );
    let events = r#"kafka_security_events_total{category="authentication",event_type="login",format="json",outcome="failure",source="app"}"#;
    login(&p, "u", "10.0.0.1");
    let first = s.scrape();
    assert_eq!(value(&first, events), Some(1.0));
    assert_eq!(
        value(&first, "kafka_security_state_snapshot_failures_total"),
        Some(0.0)
    );

    // A file in the directory's place: writes fail.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, "not a directory").unwrap();
    login(&p, "u", "10.0.0.1");
    let stale = s.scrape();
    assert_eq!(value(&stale, events), Some(1.0), "only what is on disk");
    assert_eq!(
        value(&stale, "kafka_security_state_snapshot_failures_total"),
        Some(1.0)
    );
    let not_ready = health.readiness().unwrap_err();
    assert!(
        not_ready[0].starts_with("state snapshot: cannot write the state snapshot"),
        "{not_ready:?}"
    );
    assert_eq!(
        value(&p.metrics().render_served(), events),
        Some(1.0),
        "OTLP too"
    );

    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let fresh = s.scrape();
    assert_eq!(value(&fresh, events), Some(2.0));
    assert!(health.readiness().is_ok());
    assert_eq!(
        file::load(&dir)
            .unwrap()
            .unwrap()
            .metrics
            .iter()
            .find(|f| f.name == "kafka_security_events_total")
            .map(|f| f.series.len()),
        Some(1)
    );
}

/// A snapshot waits for a source that is applying (holding the cut), so its positions and its
/// counts always match.
#[test]
fn a_snapshot_waits_for_a_source_applying() {
    let dir = tempfile::tempdir().unwrap();
    let p = Arc::new(pipeline(&MetricsConfig::default()));
    let s = store(dir.path(), p.metrics(), None);
    let position = Arc::new(AtomicU64::new(0));
    struct Counter(Arc<AtomicU64>);
    impl Positions for Counter {
        fn positions(&self) -> serde_json::Value {
            serde_json::json!(self.0.load(Ordering::SeqCst))
        }
    }
    s.register("app", Arc::new(Counter(position.clone())));
    let applying = {
        let (p, s, position) = (p.clone(), s.clone(), position.clone());
        std::thread::spawn(move || {
            for _ in 0..2000 {
                let _cut = s.cut().apply();
                login(&p, "u", "10.0.0.1");
                position.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let events = "kafka_security_events_total";
    while !applying.is_finished() {
        s.snapshot().unwrap();
        let saved = file::load(dir.path()).unwrap().unwrap();
        let counted: u64 = saved
            .metrics
            .iter()
            .filter(|f| f.name == events)
            .flat_map(|f| &f.series)
            .map(|s| match s.value {
                crate::metrics::durable::SavedValue::Counter(n) => n,
                _ => 0,
            })
            .sum();
        assert_eq!(saved.positions["app"], serde_json::json!(counted));
    }
    applying.join().unwrap();
}

/// A source that must commit before a snapshot counts; its commits fail while `fail` is set.
struct Committing {
    at: Mutex<u64>,
    landed: Mutex<Option<u64>>,
    fail: std::sync::atomic::AtomicBool,
    tags: Mutex<Vec<Tag>>,
}

impl Committing {
    fn new() -> Arc<Committing> {
        Arc::new(Committing {
            at: Mutex::new(0),
            landed: Mutex::new(None),
            fail: false.into(),
            tags: Mutex::new(Vec::new()),
        })
    }
}

impl Positions for Committing {
    fn positions(&self) -> serde_json::Value {
        serde_json::json!({"t": {"0": *self.at.lock()}})
    }

    fn needs_commit(&self, positions: &serde_json::Value) -> bool {
        positions["t"]["0"].as_u64() != *self.landed.lock()
    }

    fn commit(&self, positions: &serde_json::Value, tag: &Tag) -> Result<(), String> {
        if self.fail.load(Ordering::SeqCst) {
            return Err("the coordinator is away".into());
        }
        *self.landed.lock() = positions["t"]["0"].as_u64();
        self.tags.lock().push(tag.clone());
        Ok(())
    }
}

/// A snapshot whose offsets must be committed counts only once they are: until then it is
/// `state.snapshot.next`, and scrapes show the last snapshot whose commit landed.
#[test]
fn a_snapshot_counts_only_once_its_offsets_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&MetricsConfig::default());
    let s = store(dir.path(), p.metrics(), None);
    let source = Committing::new();
    s.register("audit", source.clone());
    let events = "kafka_security_events_total{";
    let total = |text: &[u8]| -> f64 {
        counted(text)
            .iter()
            .filter(|l| l.starts_with(events))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };

    login(&p, "alice", "10.0.0.1");
    *source.at.lock() = 1;
    s.snapshot().unwrap();
    assert_eq!(total(&s.scrape()), 1.0);
    assert!(!dir.path().join(file::NEXT_FILE_NAME).exists());
    assert_eq!(source.tags.lock().len(), 1, "one commit");
    // The scrape's snapshot needed none (nothing moved), and was written at once.
    let first = file::load(dir.path()).unwrap().unwrap().tag.unwrap();
    assert_eq!(first.seq, source.tags.lock()[0].seq + 1);

    // The commit fails: the snapshot stays pending and does not count.
    source.fail.store(true, Ordering::SeqCst);
    login(&p, "alice", "10.0.0.1");
    *source.at.lock() = 2;
    let Err(error) = s.snapshot() else {
        panic!("the snapshot counted without its commit")
    };
    assert!(
        error
            .to_string()
            .contains("for source audit: the coordinator is away"),
        "{error}"
    );
    assert_eq!(
        total(&s.scrape()),
        1.0,
        "scrapes show the committed snapshot"
    );
    let pending = file::load_next(dir.path()).unwrap().unwrap();
    assert!(pending.tag.as_ref().unwrap().seq > first.seq);
    assert_eq!(pending.tag.as_ref().unwrap().incarnation, first.incarnation);
    assert_eq!(file::load(dir.path()).unwrap().unwrap().tag, Some(first));
    let failures = value(
        &p.metrics().render(),
        "kafka_security_state_commit_failures_total{source=\"audit\"}",
    );
    assert!(failures >= Some(1.0), "{failures:?}");

    // It works again: the next snapshot commits, replaces the pending one and counts.
    source.fail.store(false, Ordering::SeqCst);
    assert_eq!(total(&s.scrape()), 2.0);
    assert!(!dir.path().join(file::NEXT_FILE_NAME).exists());

    // Nothing moved since: no commit, written at once.
    let commits = source.tags.lock().len();
    s.snapshot().unwrap();
    assert_eq!(source.tags.lock().len(), commits);
}

/// At start, a pending snapshot is restored when its commit landed, or when the groups cannot
/// tell (counting twice, never losing); the last committed one when it did not land.
#[test]
fn a_pending_snapshot_is_restored_only_when_its_commit_landed_or_may_have() {
    let snapshot = |seq: u64, at: u64| Snapshot {
        written_unix_ms: 1,
        cluster: None,
        metrics: Vec::new(),
        positions: [
            ("audit".to_string(), serde_json::json!({"t": {"0": at}})),
            ("files".to_string(), serde_json::json!({})),
        ]
        .into(),
        tag: Some(Tag {
            incarnation: "aa".into(),
            seq,
        }),
    };
    // The snapshot and a pending one, as (sequence number, offset).
    let setup = |(seq, at), (next_seq, next_at)| {
        let dir = tempfile::tempdir().unwrap();
        file::write_atomic(dir.path(), &file::encode(&snapshot(seq, at)), None).unwrap();
        let pending = file::encode(&snapshot(next_seq, next_at));
        file::write_atomic_as(dir.path(), file::NEXT_FILE_NAME, &pending, None).unwrap();
        dir
    };
    for (answer, restored) in [(Landed::Yes, 20), (Landed::Unknown, 20), (Landed::No, 10)] {
        let dir = setup((4, 10), (5, 20));
        let asked = Mutex::new(Vec::new());
        let loaded = load_resolved(dir.path(), |source, positions, tag, floor| {
            asked.lock().push((source.to_string(), tag.seq, floor));
            (source == "audit").then(|| {
                assert_eq!(positions["t"]["0"], 20);
                answer
            })
        })
        .unwrap()
        .unwrap();
        assert_eq!(loaded.positions["audit"]["t"]["0"], restored, "{answer:?}");
        assert_eq!(
            *asked.lock(),
            [("audit".to_string(), 5, 4), ("files".to_string(), 5, 4)]
        );
        // Settled: the pending file is gone, and the snapshot is what was restored.
        assert!(!dir.path().join(file::NEXT_FILE_NAME).exists());
        assert_eq!(file::load(dir.path()).unwrap(), Some(loaded));
    }

    // A pending snapshot older than the snapshot (left by a crash right after a snapshot
    // that needed no commit) is dropped without asking.
    let dir = setup((7, 30), (5, 20));
    let loaded = load_resolved(dir.path(), |_, _, _, _| panic!("asked")).unwrap();
    assert_eq!(loaded.unwrap().positions["audit"]["t"]["0"], 30);
    assert!(!dir.path().join(file::NEXT_FILE_NAME).exists());
}
