//! Authorizer audit-line throughput: lines/s for ~220-byte lines in the real Kafka 4.4 format.
//! `line`: header split (`parse_header` + `split_logger`) and `authorizer::parse_message`, the
//! per-line cost without framing (`authorizer_corpus::parse_line`). `framed`: the log4j framer
//! over a 1,000-line buffer, then `authorizer::parse` per entry (the framer copies each entry
//! into owned strings).
//! `line_matching_acl`: `line` for allowed lines whose rule is a `MatchingAcl(…)` (~370 bytes).
//! Run: `cargo bench --bench authorizer_parse`.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_security_exporter::parse::authorizer;
use kafka_security_exporter::parse::log4j::{Framer, FramerConfig};

#[path = "support/authorizer_corpus.rs"]
mod authorizer_corpus;
use authorizer_corpus::{corpus, corpus_matching_acl, parse_line};

fn bench(c: &mut Criterion) {
    let lines = corpus(1000);
    let avg = lines.iter().map(String::len).sum::<usize>() / lines.len();
    eprintln!("average line length: {avg} bytes");
    let now = SystemTime::now();
    let mut group = c.benchmark_group("authorizer_parse");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("line", |b| {
        b.iter(|| {
            let mut denied = 0usize;
            for line in &lines {
                if let Some(ev) = parse_line(line, now) {
                    denied += usize::from(ev.outcome.is_negative());
                }
            }
            black_box(denied)
        })
    });
    // Allowed lines granted by an ACL: the rule holds free text, so the tail is searched for.
    let matching = corpus_matching_acl(1000);
    let avg = matching.iter().map(String::len).sum::<usize>() / matching.len();
    eprintln!("average MatchingAcl line length: {avg} bytes");
    group.bench_function("line_matching_acl", |b| {
        b.iter(|| {
            let mut allowed = 0usize;
            for line in &matching {
                if let Some(ev) = parse_line(line, now) {
                    allowed += usize::from(!ev.outcome.is_negative());
                }
            }
            assert_eq!(allowed, matching.len());
            black_box(allowed)
        })
    });
    let mut buffer = lines.join("\n").into_bytes();
    buffer.push(b'\n');
    group.bench_function("framed", |b| {
        b.iter(|| {
            let mut framer = Framer::new(FramerConfig::default());
            let mut out = Vec::with_capacity(1000);
            framer.push(&buffer, &mut out);
            framer.flush(&mut out);
            let mut denied = 0usize;
            for e in &out {
                if let Ok(Some(ev)) = authorizer::parse(e) {
                    denied += usize::from(ev.outcome.is_negative());
                }
            }
            black_box(denied)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
