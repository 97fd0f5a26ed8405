//! Issue 14, goal 5: how long `/metrics` takes to render with SERIES live series, and how long
//! one event's recording can stall while scrapes run.
//! `cargo build --release --example scrape_under_load && target/release/examples/scrape_under_load 100000`
//!
//! Fills a metric set with SERIES denials from distinct principals (each a series of
//! `kafka_security_authorization_denials_by_principal_total`, the cap raised to fit them), then:
//! 1. renders the exposition 20 times (what `/metrics` serves), reporting the median and the
//!    slowest render and the size;
//! 2. records events on one thread for 5 s — denials by principals already seen, and one new
//!    principal in 100 — timing every call, first alone, then while another thread renders
//!    back to back (a scrape that never stops); reports each phase's calls, p99.99 and slowest
//!    call, and how many took more than 5 ms.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kafka_security_exporter::event::{Category, Format, Origin, Outcome, SecurityEvent};
use kafka_security_exporter::metrics::{Metrics, MetricsConfig};

fn denial(principal: String, now: SystemTime) -> SecurityEvent<'static> {
    let mut ev = SecurityEvent::new(
        Format::AuthorizerLog,
        Category::Authorization,
        Outcome::Denied,
        "authorization",
        Origin::File {
            path: "bench".into(),
            offset: 0,
        },
        now,
    );
    ev.principal = Some(principal.into());
    ev.client_host = Some("10.0.0.5".into());
    ev.operation = Some("READ".into());
    ev.resource_type = Some("Topic".into());
    ev.resource_name = Some("orders".into());
    ev.pattern_type = Some("LITERAL".into());
    ev.api = Some("Fetch".into());
    ev
}

/// Records events for `secs` seconds; returns every call's duration in microseconds.
fn ingest(metrics: &Metrics, series: usize, secs: u64, next_new: &mut usize) -> Vec<u64> {
    let now = SystemTime::now();
    let mut took = Vec::new();
    let start = Instant::now();
    let mut i = 0usize;
    while start.elapsed() < Duration::from_secs(secs) {
        let principal = if i % 100 == 0 {
            *next_new += 1;
            format!("User:new-{next_new}")
        } else {
            format!("User:p{}", i % series)
        };
        let ev = denial(principal, now);
        let t0 = Instant::now();
        metrics.record("load", &ev, now);
        took.push(t0.elapsed().as_micros() as u64);
        i += 1;
    }
    took
}

fn report(phase: &str, mut took: Vec<u64>) {
    took.sort_unstable();
    let p = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    let over = took.iter().filter(|t| **t > 5000).count();
    println!(
        "ingest, {phase}: {} calls, median {} µs, p99.99 {} µs, slowest {:.2} ms, over 5 ms: {over}",
        took.len(),
        p(0.5),
        p(0.9999),
        *took.last().unwrap() as f64 / 1000.0
    );
}

fn main() {
    let series: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let config = MetricsConfig {
        // Room for the new principals of the ingest phases too: no overflow in the way.
        max_series_per_metric: series * 2,
        ..MetricsConfig::default()
    };
    let metrics = Arc::new(Metrics::new(&config).expect("metrics"));
    let now = SystemTime::now();
    for i in 0..series {
        metrics.record("load", &denial(format!("User:p{i}"), now), now);
    }
    let body = metrics.render();
    let text = String::from_utf8_lossy(&body);
    let live = text.lines().filter(|l| !l.starts_with('#')).count();
    println!(
        "{live} series in the exposition, {:.1} MiB",
        body.len() as f64 / 1_048_576.0
    );
    let mut renders: Vec<f64> = (0..20)
        .map(|_| {
            let t0 = Instant::now();
            let body = metrics.render();
            std::hint::black_box(body.len());
            t0.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    renders.sort_by(f64::total_cmp);
    println!(
        "render: median {:.1} ms, slowest {:.1} ms (20 renders)",
        renders[10], renders[19]
    );

    let mut next_new = 0;
    report("alone", ingest(&metrics, series, 5, &mut next_new));
    let scraping = Arc::new(AtomicBool::new(true));
    let scraper = {
        let (metrics, scraping) = (metrics.clone(), scraping.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while scraping.load(Ordering::Relaxed) {
                std::hint::black_box(metrics.render().len());
                n += 1;
            }
            n
        })
    };
    let took = ingest(&metrics, series, 5, &mut next_new);
    scraping.store(false, Ordering::Relaxed);
    let scrapes = scraper.join().unwrap();
    report(&format!("during {scrapes} back-to-back renders"), took);
}
