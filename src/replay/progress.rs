//! The progress line `replay` draws on stderr.

use std::io::Write;
use std::time::Instant;

/// A progress line redrawn at most five times a second.
pub struct Progress {
    on: bool,
    total: u64,
    start: Instant,
    last: Instant,
}

impl Progress {
    pub fn new(on: bool, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            on,
            total,
            start: now,
            last: now,
        }
    }

    pub fn update(&mut self, bytes: u64, entries: u64) {
        if !self.on || self.last.elapsed().as_millis() < 200 {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let pct = if self.total > 0 {
            bytes as f64 * 100.0 / self.total as f64
        } else {
            100.0
        };
        let width = 30usize;
        let filled = ((pct / 100.0) * width as f64).round().min(width as f64) as usize;
        eprint!(
            "\r[{}{}] {pct:5.1}%  {:.1}/{:.1} MiB  {:.0} entries/s ",
            "#".repeat(filled),
            " ".repeat(width - filled),
            bytes as f64 / 1048576.0,
            self.total as f64 / 1048576.0,
            entries as f64 / secs
        );
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&self) {
        if self.on {
            eprint!("\r{}\r", " ".repeat(90));
        }
    }
}
