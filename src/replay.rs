//! `replay`: runs broker log files through the same framer, parsers and metrics once, prints the
//! final exposition to stdout and a short summary to stderr. The forensic tool for old logs and
//! the harness for benchmarks.
//!
//! Directories are expanded to the files inside (not recursively); `.gz` files are decompressed.
//! Files are read oldest first (by modification time, then name), so Kafka's rotated
//! `server.log.2026-11-26-13` comes before the live `server.log` and a controller's startup
//! replay is recognized across a rotation.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::event::Origin;
use crate::metrics::{names, Metrics, MetricsConfig};
use crate::parse::log4j::{Framer, FramerConfig};
use crate::parse::Input;
use crate::parse::{Parsers, ParsersConfig};
use crate::pipeline::{Applied, Item, LogStream, Pipeline};

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub inputs: Vec<PathBuf>,
    pub kind: Input,
    pub framer: FramerConfig,
    pub metrics: MetricsConfig,
    pub parsers: ParsersConfig,
    /// Draw a progress line on stderr (default: when stderr is a terminal).
    pub progress: bool,
    /// How many rows each summary table shows.
    pub top: usize,
}

/// Totals of one replay.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    pub files: usize,
    pub bytes: u64,
    pub entries: u64,
    pub events: u64,
    pub rejected: u64,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    #[error("no files to replay in {0}")]
    Empty(String),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The files `inputs` name, oldest first.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, ReplayError> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => ReplayError::Missing(input.clone()),
            _ => ReplayError::Io {
                path: input.clone(),
                error,
            },
        })?;
        if meta.is_dir() {
            let dir = std::fs::read_dir(input).map_err(|error| ReplayError::Io {
                path: input.clone(),
                error,
            })?;
            for entry in dir {
                let entry = entry.map_err(|error| ReplayError::Io {
                    path: input.clone(),
                    error,
                })?;
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    files.push(entry.path());
                }
            }
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        return Err(ReplayError::Empty(names.join(", ")));
    }
    let mut keyed: Vec<(SystemTime, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (t, p)
        })
        .collect();
    keyed.sort();
    keyed.dedup_by(|a, b| a.1 == b.1);
    Ok(keyed.into_iter().map(|(_, p)| p).collect())
}

/// Replays the files into a fresh metric set and returns it with the totals.
pub fn replay(options: &ReplayOptions) -> Result<(Arc<Metrics>, ReplayStats), ReplayError> {
    let problems = options.metrics.problems();
    if !problems.is_empty() {
        return Err(ReplayError::Config(problems.join("; ")));
    }
    let metrics =
        Arc::new(Metrics::new(&options.metrics).map_err(|e| ReplayError::Config(e.to_string()))?);
    let parsers = Parsers::new(&options.parsers).map_err(|p| ReplayError::Config(p.join("; ")))?;
    let pipeline = Pipeline::new(parsers, metrics.clone());
    let files = expand(&options.inputs)?;
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let mut stats = ReplayStats {
        files: files.len(),
        ..ReplayStats::default()
    };
    let mut progress = Progress::new(options.progress, total);
    // One stream per kind of file, across rotations: a controller's startup replay can straddle
    // a rotation.
    let mut streams: BTreeMap<String, LogStream> = BTreeMap::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut entries = Vec::new();
    for path in &files {
        let io = |error| ReplayError::Io {
            path: path.clone(),
            error,
        };
        let file = File::open(path).map_err(io)?;
        let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let stream = streams.entry(stream_key(path)).or_default();
        let shown = path.display().to_string();
        let mut framer = Framer::new(options.framer.clone());
        loop {
            let n = reader.read(&mut buf).map_err(io)?;
            if n == 0 {
                framer.flush(&mut entries);
            } else {
                framer.push(&buf[..n], &mut entries);
            }
            for entry in entries.drain(..) {
                let origin = Origin::File {
                    path: shown.as_str().into(),
                    offset: entry.offset,
                };
                stats.entries += 1;
                let item = Item::Entry {
                    entry: &entry,
                    origin,
                    stream: &mut *stream,
                };
                match pipeline.apply("replay", options.kind, item) {
                    Applied::Event(_) => stats.events += 1,
                    Applied::Rejected(..) => stats.rejected += 1,
                    Applied::Skipped => {}
                }
            }
            if n == 0 {
                break;
            }
            stats.bytes += n as u64;
            progress.update(stats.bytes, stats.entries);
        }
    }
    progress.finish();
    Ok((metrics, stats))
}

/// Files of one log share a stream: `server.log.2026-11-26-13` and `server.log` → `server.log`.
pub fn stream_key(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.find(".log") {
        Some(i) => name[..i + 4].to_string(),
        None => name,
    }
}

struct Progress {
    on: bool,
    total: u64,
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new(on: bool, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            on,
            total,
            start: now,
            last: now,
        }
    }

    fn update(&mut self, bytes: u64, entries: u64) {
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

    fn finish(&self) {
        if self.on {
            eprint!("\r{}\r", " ".repeat(90));
        }
    }
}

/// The stderr summary: totals, top denied principals, top failing client hosts, changes.
pub fn summary(metrics: &Metrics, stats: &ReplayStats, top: usize, elapsed: f64) -> String {
    let families = metrics.registry().gather();
    let sum_by = |metric: &str, label: &str| -> Vec<(String, f64)> {
        let mut by: BTreeMap<String, f64> = BTreeMap::new();
        for f in families.iter().filter(|f| f.name() == metric) {
            for m in f.get_metric() {
                let key = label
                    .split(',')
                    .filter_map(|want| m.get_label().iter().find(|l| l.name() == want))
                    .map(|l| l.value().to_string())
                    .collect::<Vec<_>>()
                    .join("  ");
                *by.entry(key).or_default() += m.get_counter().value();
            }
        }
        let mut v: Vec<(String, f64)> = by.into_iter().filter(|(_, n)| *n > 0.0).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let mut out = String::new();
    let rate = stats.entries as f64 / elapsed.max(1e-9);
    out.push_str(&format!(
        "Replayed {} file(s), {:.1} MiB, {} log entries in {:.2} s ({:.0} entries/s): {} security events, {} unreadable entries.\n",
        stats.files,
        stats.bytes as f64 / 1048576.0,
        stats.entries,
        elapsed,
        rate,
        stats.events,
        stats.rejected
    ));
    let mut table = |title: &str, rows: Vec<(String, f64)>| {
        out.push_str(&format!("\n{title}:\n"));
        if rows.is_empty() {
            out.push_str("  (none)\n");
        }
        for (k, n) in rows.into_iter().take(top) {
            out.push_str(&format!("  {n:>10}  {k}\n"));
        }
    };
    table(
        "Top denied principals",
        sum_by(names::AUTHORIZATION_DENIALS_BY_PRINCIPAL, "principal"),
    );
    table(
        "Top denials (principal  operation  resource_type  resource_name)",
        sum_by(
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            "principal,operation,resource_type,resource_name",
        ),
    );
    table(
        "Top client hosts failing authentication",
        sum_by(names::AUTHENTICATION_FAILURES_BY_CLIENT, "client_host"),
    );
    table(
        "ACL changes (action permission resource_type)",
        sum_by(names::ACL_CHANGES, "action,permission,resource_type"),
    );
    table(
        "Credential changes (action mechanism)",
        sum_by(names::CREDENTIAL_CHANGES, "action,mechanism"),
    );
    table(
        "Config changes (resource_type)",
        sum_by(names::CONFIG_CHANGES, "resource_type"),
    );
    table(
        "Rejected connections (reason)",
        sum_by(names::CONNECTIONS_REJECTED, "reason"),
    );
    out
}

/// Whether stderr is a terminal (the progress-bar default).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_share_a_stream() {
        assert_eq!(
            stream_key(Path::new("/l/server.log.2026-11-26-13")),
            "server.log"
        );
        assert_eq!(stream_key(Path::new("/l/controller.log")), "controller.log");
        assert_eq!(
            stream_key(Path::new("/l/kafka-authorizer.log.1.gz")),
            "kafka-authorizer.log"
        );
    }
}
