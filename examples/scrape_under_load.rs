//! Issue 14, goals 4 and 5: the memory each live series costs, how long `/metrics` takes to
//! render with SERIES live series, and how long one event's recording can stall while scrapes run.
//! `cargo build --release --example scrape_under_load && target/release/examples/scrape_under_load 100000 [--state]`
//!
//! Fills a metric set with SERIES denials from distinct principals (each a series of
//! `kafka_security_authorization_denials_by_principal_total`, the cap raised to fit them),
//! reporting the resident memory it grew by per series, then:
//! 1. renders the exposition 20 times (what `/metrics` serves), reporting the median and the
//!    slowest render and the size;
//! 2. records events on one thread for 5 s — denials by principals already seen, and one new
//!    principal in 100 — timing every call, first alone, then while another thread renders
//!    back to back (a scrape that never stops); reports each phase's calls, p99.99 and slowest
//!    call, and how many took more than 5 ms.
//!
//! With `--state`, as with `state_dir` set: a scrape is a state snapshot (the cut, the file
//! written to a temporary directory) served as it was cut, and each recording holds the cut's
//! shared lock as a source does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kafka_security_exporter::event::{Category, Format, Origin, Outcome, SecurityEvent};
use kafka_security_exporter::health::Health;
use kafka_security_exporter::metrics::{Metrics, MetricsConfig};
use kafka_security_exporter::state::{StateConfig, StateStore};

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

/// What a scrape is: a render, or with state a snapshot served as cut.
struct Scraper {
    metrics: Arc<Metrics>,
    state: Option<Arc<StateStore>>,
}

impl Scraper {
    fn scrape(&self) -> Vec<u8> {
        match &self.state {
            Some(state) => state.scrape(),
            None => self.metrics.render(),
        }
    }

    fn record(&self, ev: &SecurityEvent<'_>, now: SystemTime) {
        let _apply = self.state.as_ref().map(|s| s.cut().apply());
        self.metrics.record("load", ev, now);
    }
}

/// This thread's (voluntary, involuntary) context switches so far (Linux; 0 elsewhere). A wait
/// for a lock parks the thread (voluntary); being preempted for another process is involuntary.
fn switches() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

/// Records events for `secs` seconds; returns every call's duration in microseconds.
fn ingest(s: &Scraper, series: usize, secs: u64, next_new: &mut usize) -> Vec<u64> {
    let now = SystemTime::now();
    let mut took = Vec::new();
    let start = Instant::now();
    let mut i = 0usize;
    while start.elapsed() < Duration::from_secs(secs) {
        let principal = if i.is_multiple_of(100) {
            *next_new += 1;
            format!("User:new-{next_new}")
        } else {
            format!("User:p{}", i % series)
        };
        let ev = denial(principal, now);
        let t0 = Instant::now();
        s.record(&ev, now);
        took.push(t0.elapsed().as_micros() as u64);
        i += 1;
    }
    took
}

fn report(phase: &str, (mut took, (voluntary, involuntary)): (Vec<u64>, (u64, u64))) {
    took.sort_unstable();
    let p = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    let over = took.iter().filter(|t| **t > 5000).count();
    println!(
        "ingest, {phase}: {} calls, median {} µs, p99.99 {} µs, slowest {:.2} ms, over 5 ms: {over}; \
         the recording thread parked {voluntary} times (lock waits), was preempted {involuntary} times",
        took.len(),
        p(0.5),
        p(0.9999),
        *took.last().unwrap() as f64 / 1000.0
    );
}

/// Resident memory of this process, in bytes (Linux; 0 elsewhere).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let series: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let with_state = args.iter().any(|a| a == "--state");
    let config = MetricsConfig {
        // Room for the new principals of the ingest phases too: no overflow in the way.
        max_series_per_metric: series * 2,
        ..MetricsConfig::default()
    };
    let metrics = Arc::new(Metrics::new(&config).expect("metrics"));
    let now = SystemTime::now();
    // The principals' names are made before the first reading, so only the series count.
    let principals: Vec<String> = (0..series).map(|i| format!("User:p{i}")).collect();
    let events: Vec<SecurityEvent<'static>> =
        principals.into_iter().map(|p| denial(p, now)).collect();
    let before = rss();
    for ev in &events {
        metrics.record("load", ev, now);
    }
    let grown = rss().saturating_sub(before);
    drop(events);
    println!(
        "memory: {:.1} MiB resident for {series} series, {} bytes per series",
        grown as f64 / 1_048_576.0,
        grown / series as u64
    );
    let dir = std::env::temp_dir().join(format!("scrape-under-load-{}", std::process::id()));
    let state = with_state.then(|| {
        std::fs::create_dir_all(&dir).expect("state dir");
        let health = Arc::new(Health::new(metrics.clone()));
        StateStore::open(
            &dir,
            &StateConfig::default(),
            None,
            metrics.clone(),
            health,
            None,
        )
    });
    let scraper = Arc::new(Scraper {
        metrics: metrics.clone(),
        state,
    });
    let body = scraper.scrape();
    let text = String::from_utf8_lossy(&body);
    let live = text.lines().filter(|l| !l.starts_with('#')).count();
    println!(
        "{live} series in the exposition, {:.1} MiB{}",
        body.len() as f64 / 1_048_576.0,
        if with_state {
            " (with state: each scrape a snapshot)"
        } else {
            ""
        }
    );
    let mut renders: Vec<f64> = (0..20)
        .map(|_| {
            let t0 = Instant::now();
            let body = scraper.scrape();
            std::hint::black_box(body.len());
            t0.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    renders.sort_by(f64::total_cmp);
    println!(
        "render: median {:.1} ms, slowest {:.1} ms (20 renders)",
        renders[10], renders[19]
    );

    let mut cuts: Vec<f64> = (0..20)
        .map(|_| {
            let t0 = Instant::now();
            std::hint::black_box(metrics.cut());
            t0.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    cuts.sort_by(f64::total_cmp);
    println!(
        "cut (what a snapshot holds the sources for): median {:.2} ms, slowest {:.2} ms",
        cuts[10], cuts[19]
    );

    let mut next_new = 0;
    let measured = |next_new: &mut usize| {
        let (v0, i0) = switches();
        let took = ingest(&scraper, series, 5, next_new);
        let (v1, i1) = switches();
        (took, (v1 - v0, i1 - i0))
    };
    report("alone", measured(&mut next_new));
    let scraping = Arc::new(AtomicBool::new(true));
    let background = {
        let (scraper, scraping) = (scraper.clone(), scraping.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while scraping.load(Ordering::Relaxed) {
                std::hint::black_box(scraper.scrape().len());
                n += 1;
            }
            n
        })
    };
    let took = measured(&mut next_new);
    scraping.store(false, Ordering::Relaxed);
    let scrapes = background.join().unwrap();
    report(&format!("during {scrapes} back-to-back renders"), took);
    if with_state {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
