//! Prints Confluent audit CloudEvents from the demo's generator, one JSON document a line: the
//! corpus `scripts/bench.sh` produces to the test broker (with Kafka's `ProducerPerformance
//! --payload-file`) for the Kafka-path benchmark.
//!
//! Usage: `audit_events [COUNT] [SEED]` (default 10000 events, seed 14).

use std::io::Write;

use kafka_security_exporter::demo::Generator;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: u64 = match args.next().map(|a| a.parse()) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("audit_events: COUNT must be a number: {e}");
            std::process::exit(64);
        }
    };
    let seed: u64 = match args.next().map(|a| a.parse()) {
        None => 14,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("audit_events: SEED must be a number: {e}");
            std::process::exit(64);
        }
    };
    let mut generator = Generator::new(seed);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..count {
        let event = generator.next_audit_event();
        out.write_all(event.payload.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
