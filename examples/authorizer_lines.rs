//! Parses the `authorizer_parse` bench corpus (1,000 real-format lines, 245 bytes on average)
//! `ROUNDS` times and prints lines/s: the `line` benchmark without criterion, quick to repeat
//! when the machine's speed drifts.
//! `cargo build --release --example authorizer_lines && target/release/examples/authorizer_lines 3000`
//! (`… 3000 matching` for the `MatchingAcl` corpus; `… 3000 framed` for the `framed` benchmark:
//! the log4j framer over the whole corpus, then the parse; `… 3000 framed-layout`: the same with
//! Kafka's layout configured as `layout:`, i.e. through the configurable-layout reader;
//! `… 3000 recorded`: framed, then applied through the pipeline as `replay` applies an entry —
//! routed, parsed, recorded in a fresh metric set with the cardinality guard on).

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use kafka_security_exporter::parse::authorizer;
use kafka_security_exporter::parse::layout::Layout;
use kafka_security_exporter::parse::log4j::{Framer, FramerConfig};

#[path = "../benches/support/authorizer_corpus.rs"]
mod authorizer_corpus;
use authorizer_corpus::{corpus, corpus_matching_acl, parse_line};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    // `matching`: allowed lines whose rule is a `MatchingAcl(…)` (the tail is searched for).
    let lines = match std::env::args().nth(2).as_deref() {
        Some("matching") => corpus_matching_acl(1000),
        _ => corpus(1000),
    };
    let now = SystemTime::now();
    let mode = std::env::args().nth(2);
    if mode.as_deref() == Some("recorded") {
        recorded(rounds, &lines);
        return;
    }
    if let Some(mode @ ("framed" | "framed-layout")) = mode.as_deref() {
        let config = FramerConfig {
            layout: (mode == "framed-layout")
                .then(|| std::sync::Arc::new(Layout::parse("[%d] %p %m (%c)%n").expect("layout"))),
            ..FramerConfig::default()
        };
        let mut buffer = lines.join("\n").into_bytes();
        buffer.push(b'\n');
        let start = Instant::now();
        let mut denied = 0usize;
        let mut out = Vec::with_capacity(lines.len());
        for _ in 0..rounds {
            let mut framer = Framer::new(config.clone());
            framer.push(&buffer, &mut out);
            framer.flush(&mut out);
            for e in out.drain(..) {
                if let Ok(Some(ev)) = authorizer::parse(&e) {
                    denied += usize::from(ev.outcome.is_negative());
                }
            }
        }
        report(rounds * lines.len(), start, denied);
        return;
    }
    let start = Instant::now();
    let mut denied = 0usize;
    for _ in 0..rounds {
        for line in &lines {
            if let Some(ev) = parse_line(line, now) {
                denied += usize::from(ev.outcome.is_negative());
            }
        }
    }
    report(rounds * lines.len(), start, denied);
}

/// Frames the corpus `rounds` times and applies every entry through a [`Pipeline`], as `replay`
/// does on one thread.
fn recorded(rounds: usize, lines: &[String]) {
    use kafka_security_exporter::event::Origin;
    use kafka_security_exporter::metrics::{Metrics, MetricsConfig};
    use kafka_security_exporter::parse::{Input, Parsers, ParsersConfig};
    use kafka_security_exporter::pipeline::{Applied, Item, LogStream, Pipeline};
    let metrics = Metrics::new(&MetricsConfig::default()).expect("metrics");
    let parsers = Parsers::new(&ParsersConfig::default()).expect("parsers");
    let pipeline =
        Pipeline::new(parsers, std::sync::Arc::new(metrics)).with_clock(SystemTime::now());
    let mut buffer = lines.join("\n").into_bytes();
    buffer.push(b'\n');
    let mut stream = LogStream::named("bench");
    let mut out = Vec::with_capacity(lines.len());
    let start = Instant::now();
    let mut events = 0usize;
    for _ in 0..rounds {
        let mut framer = Framer::new(FramerConfig::default());
        framer.push(&buffer, &mut out);
        framer.flush(&mut out);
        for entry in out.drain(..) {
            let item = Item::Entry {
                entry: &entry,
                origin: Origin::File {
                    path: "kafka-authorizer.log".into(),
                    offset: entry.offset,
                },
                stream: &mut stream,
            };
            events += usize::from(matches!(
                pipeline.apply("replay", Input::BrokerLog, item),
                Applied::Event(_)
            ));
        }
    }
    report(rounds * lines.len(), start, events);
}

fn report(n: usize, start: Instant, denied: usize) {
    let secs = start.elapsed().as_secs_f64();
    black_box(denied);
    println!(
        "{n} lines in {secs:.3} s: {:.2} M lines/s ({:.0} ns/line)",
        n as f64 / secs / 1e6,
        secs * 1e9 / n as f64
    );
}
