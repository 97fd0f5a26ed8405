//! Parses the `authorizer_parse` bench corpus (1,000 real-format lines, 245 bytes on average)
//! `ROUNDS` times and prints lines/s. Run under `perf stat -e cycles:u,instructions:u` to get a
//! per-line cost that does not depend on the (shared, throttled) CPU's clock:
//! `cargo build --release --example authorizer_lines && perf stat -e cycles:u,instructions:u target/release/examples/authorizer_lines 2000`.

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use kafka_security_exporter::parse::authorizer;
use kafka_security_exporter::parse::log4j::{parse_header, split_logger};

const USERS: [&str; 4] = [
    "User:alice",
    "User:bob",
    "User:svc-orders",
    "User:CN=app1,OU=eng,O=Acme",
];
const TOPICS: [&str; 4] = ["orders", "payments", "customers", "audit-trail"];

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let lines: Vec<String> = (0..1000)
        .map(|i| {
            let user = USERS[i % USERS.len()];
            let topic = TOPICS[(i / 3) % TOPICS.len()];
            let (op, api) = if i % 2 == 0 { ("WRITE", "Produce") } else { ("READ", "Fetch") };
            format!(
                "[2026-11-26 14:06:{:02},{:03}] INFO Principal = {user} is Denied operation = {op} from host = 127.0.0.{} on resource = Topic:LITERAL:{topic} for request = {api} with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)",
                i % 60,
                i % 1000,
                i % 250
            )
        })
        .collect();
    let now = SystemTime::now();
    let start = Instant::now();
    let mut denied = 0usize;
    for _ in 0..rounds {
        for line in &lines {
            let h = parse_header(line.as_bytes(), 0).expect("header");
            let (msg, _) = split_logger(h.rest);
            let msg = std::str::from_utf8(msg).expect("utf-8");
            if let Ok(Some(ev)) = authorizer::parse_message(msg, Some(h.timestamp), now) {
                denied += usize::from(ev.outcome.is_negative());
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = rounds * lines.len();
    black_box(denied);
    println!(
        "{n} lines in {secs:.3} s: {:.2} M lines/s ({:.0} ns/line)",
        n as f64 / secs / 1e6,
        secs * 1e9 / n as f64
    );
}
