//! Serializing normalized events for the output topic, in-process (no Kafka): what the consumer
//! thread pays per event for `output.kafka` before librdkafka takes the record. Run:
//! `cargo bench --bench output`. Figures go in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use kafka_security_exporter::event::Origin;
use kafka_security_exporter::output::{write_event, Context, Schema};
use kafka_security_exporter::parse::log4j::FramerConfig;
use kafka_security_exporter::parse::{Input, Parsers, ParsersConfig, Record};

#[path = "support/audit_corpus.rs"]
mod audit_corpus;
use audit_corpus::audit_corpus;

fn bench(c: &mut Criterion) {
    const N: usize = 4096;
    let audit = audit_corpus(N);
    let parsers = Parsers::new(&ParsersConfig::default()).expect("parsers");
    let framer = FramerConfig::default();
    let events: Vec<_> = audit
        .iter()
        .enumerate()
        .map(|(i, payload)| {
            let mut record = Record::from_payload(payload);
            record.origin = Origin::Kafka {
                topic: "confluent-audit-log-events".into(),
                partition: (i % 4) as i32,
                offset: i as i64,
            };
            parsers
                .parse(Input::ConfluentAudit, &framer, &record)
                .ok()
                .and_then(|parsed| parsed.event())
                .expect("corpus parses")
                .into_owned()
        })
        .collect();

    let mut group = c.benchmark_group("output");
    group.throughput(Throughput::Elements(N as u64));
    let mut buf = Vec::with_capacity(4096);
    for (schema, name) in [(Schema::Ocsf, "ocsf"), (Schema::Ecs, "ecs")] {
        for (raw, suffix) in [(4096, "raw_data"), (0, "no_raw_data")] {
            let ctx = Context {
                raw_data_max_bytes: raw,
            };
            group.bench_function(format!("{name}_{suffix}"), |b| {
                b.iter(|| {
                    for (event, payload) in events.iter().zip(&audit) {
                        write_event(schema, &ctx, event, payload, &mut buf);
                        std::hint::black_box(&buf);
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
