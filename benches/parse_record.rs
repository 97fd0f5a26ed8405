//! Parse + record throughput per input format, in-process (no Kafka): the cost the pipeline adds
//! per record. Run: `cargo bench --bench parse_record`. Figures go in BENCHMARKS.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

use kafka_security_exporter::detect::{DetectorsConfig, Engine};
use kafka_security_exporter::metrics::{Metrics, MetricsConfig};
use kafka_security_exporter::otel::settings::resolve;
use kafka_security_exporter::otel::{Otel, OtlpConfig, Settings};
use kafka_security_exporter::parse::log4j::FramerConfig;
use kafka_security_exporter::parse::{Input, Parsers, ParsersConfig, Record};
use kafka_security_exporter::pipeline::Pipeline;

#[path = "support/audit_corpus.rs"]
mod audit_corpus;
use audit_corpus::{audit_corpus, USERS};

fn json_corpus(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"timestamp":"2025-03-18T10:15:30Z","event_type":"login","user":"{}","ip":"10.0.{}.{}","outcome":"{}","app":"customer-portal","session":"s-{i}"}}"#,
                USERS[i % USERS.len()].trim_start_matches("User:"),
                i % 7,
                i % 250,
                if i % 5 == 0 { "failure" } else { "success" }
            )
            .into_bytes()
        })
        .collect()
}

fn text_corpus(n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let user = ["JohnDoe", "JaneRoe", "alice", "bob"][i % 4];
            match i % 4 {
                0 | 1 => (
                    b"user-login".to_vec(),
                    format!("User {user} logged in successfully").into_bytes(),
                ),
                2 => (
                    b"user-login".to_vec(),
                    format!("User {user} failed to log in from 10.0.0.{}", i % 250).into_bytes(),
                ),
                _ => (
                    b"access-denied".to_vec(),
                    format!("User {user} denied access to payments-db").into_bytes(),
                ),
            }
        })
        .collect()
}

fn pipeline() -> Pipeline {
    let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).expect("metrics"));
    Pipeline::new(
        Parsers::new(&ParsersConfig::default()).expect("parsers"),
        metrics,
    )
}

/// What one iteration of a `text` benchmark times: every keyed record through `apply`.
fn apply_text(pipeline: &Pipeline, text: &[(Vec<u8>, Vec<u8>)]) {
    for (key, payload) in text {
        pipeline.apply(
            "bench",
            Input::Text,
            &Record::from_payload(payload).with_key(key),
        );
    }
}

/// OTLP settings as a config file would give them: traces with `sampler`, to an endpoint that
/// refuses connections (port 9); nothing from the process environment.
fn traces_to_nowhere(sampler: &str) -> Settings {
    let file: OtlpConfig = serde_yaml_ng::from_str(&format!(
        "endpoint: http://127.0.0.1:9\ntraces: {{ sampler: {sampler} }}"
    ))
    .expect("otlp config");
    resolve(&file, &BTreeMap::<String, String>::new())
        .expect("settings")
        .expect("enabled")
}

fn bench(c: &mut Criterion) {
    const N: usize = 4096;
    let mut group = c.benchmark_group("parse_record");
    group.throughput(Throughput::Elements(N as u64));

    let audit = audit_corpus(N);
    let p = pipeline();
    group.bench_function("confluent_audit", |b| {
        b.iter(|| {
            for payload in &audit {
                p.apply(
                    "bench",
                    Input::ConfluentAudit,
                    &Record::from_payload(payload),
                );
            }
        })
    });
    let parsers = Parsers::new(&ParsersConfig::default()).expect("parsers");
    let framer = FramerConfig::default();
    group.bench_function("confluent_audit_parse_only", |b| {
        b.iter(|| {
            for payload in &audit {
                let _ = std::hint::black_box(parsers.parse(
                    Input::ConfluentAudit,
                    &framer,
                    &Record::from_payload(payload),
                ));
            }
        })
    });
    let events: Vec<_> = audit
        .iter()
        .map(|payload| {
            parsers
                .parse(
                    Input::ConfluentAudit,
                    &framer,
                    &Record::from_payload(payload),
                )
                .ok()
                .and_then(|parsed| parsed.event())
                .expect("corpus parses")
                .into_owned()
        })
        .collect();
    let now = std::time::SystemTime::now();
    group.bench_function("record_only", |b| {
        b.iter(|| {
            for event in &events {
                p.metrics().record("bench", event, now);
            }
        })
    });
    // The same with the state snapshot's cut held per record, as a Kafka source holds it when
    // `state_dir` is set: the lock's cost against the cheapest path there is.
    let cut = kafka_security_exporter::state::Cut::default();
    group.bench_function("record_only_with_cut", |b| {
        b.iter(|| {
            for event in &events {
                let _cut = cut.apply();
                p.metrics().record("bench", event, now);
            }
        })
    });
    group.bench_function("confluent_audit_autodetect", |b| {
        b.iter(|| {
            for payload in &audit {
                p.apply("bench", Input::Auto, &Record::from_payload(payload));
            }
        })
    });

    let json = json_corpus(N);
    group.bench_function("json", |b| {
        b.iter(|| {
            for payload in &json {
                p.apply("bench", Input::Json, &Record::from_payload(payload));
            }
        })
    });

    let text = text_corpus(N);
    group.bench_function("text", |b| b.iter(|| apply_text(&p, &text)));

    // The same paths with every detector on (default thresholds), on their own thread as the
    // exporter runs them: what the detectors cost the thread that applies the records (the
    // detector thread works on the other core; a full queue makes the input wait for it, so a
    // slower detector thread shows here too).
    let detected = pipeline()
        .with_detectors(Engine::new(&DetectorsConfig::default()))
        .with_detector_thread()
        .expect("detector thread");
    group.bench_function("confluent_audit_detectors", |b| {
        b.iter(|| {
            for payload in &audit {
                detected.apply(
                    "bench",
                    Input::ConfluentAudit,
                    &Record::from_payload(payload),
                );
            }
        })
    });
    group.bench_function("json_detectors", |b| {
        b.iter(|| {
            for payload in &json {
                detected.apply("bench", Input::Json, &Record::from_payload(payload));
            }
        })
    });
    // Inline (under the pipeline's lock, by the applying thread): what every detector costs
    // in all, and what a single core pays.
    let inline = pipeline().with_detectors(Engine::new(&DetectorsConfig::default()));
    group.bench_function("json_detectors_inline", |b| {
        b.iter(|| {
            for payload in &json {
                inline.apply("bench", Input::Json, &Record::from_payload(payload));
            }
        })
    });

    // Tracing on (OTLP traces to an endpoint that refuses connections, so the exporter task is
    // busy retrying and the bounded queue is mostly full: this measures what the consumer thread
    // pays — sampling, building the span and its exemplars, a non-blocking send — never export).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    for (name, sampler) in [
        ("text_traced_every_record", "parentbased_always_on"),
        ("text_traced_sampler_off", "parentbased_always_off"),
    ] {
        let settings = traces_to_nowhere(sampler);
        let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).expect("metrics"));
        let otel = Otel::start(
            settings,
            metrics.clone(),
            Vec::new(),
            Duration::from_secs(1),
        )
        .expect("otel");
        let traced = Pipeline::new(
            Parsers::new(&ParsersConfig::default()).expect("parsers"),
            metrics,
        )
        .with_otel(otel.handle.clone());
        group.bench_function(name, |b| b.iter(|| apply_text(&traced, &text)));
    }
    group.finish();
    snapshot(c);

    let bytes: usize = audit.iter().map(Vec::len).sum();
    eprintln!("audit corpus: {N} events, mean {} bytes", bytes / N);
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// One state snapshot (cut, serialize, write, fsync) of a registry holding `series` series of
/// `kafka_security_events_total` besides the rest: what a scrape costs when `state_dir` is set.
fn snapshot(c: &mut Criterion) {
    use kafka_security_exporter::health::Health;
    use kafka_security_exporter::state::{StateConfig, StateStore};
    let mut group = c.benchmark_group("state_snapshot");
    group.sample_size(20);
    for series in [100usize, 10_000] {
        let p = pipeline();
        for i in 0..series {
            let json = format!(
                r#"{{"timestamp":"2025-03-18T10:15:30Z","event_type":"login-{i}","user":"u","ip":"10.0.0.1","outcome":"failure"}}"#
            );
            p.apply("bench", Input::Json, &Record::from_payload(json.as_bytes()));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let health = std::sync::Arc::new(Health::new(p.metrics().clone()));
        let store = StateStore::open(
            dir.path(),
            &StateConfig::default(),
            None,
            p.metrics().clone(),
            health,
            None,
        );
        group.bench_function(format!("{series}_series"), |b| {
            b.iter(|| store.snapshot().expect("written"))
        });
    }
    group.finish();
}
