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
