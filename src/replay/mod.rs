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
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::{Config, ConfigErrors};
use crate::event::Origin;
use crate::metrics::catalogue::Label;
use crate::metrics::{labels, names, Metrics, MetricsConfig};
use crate::parse::layout::Layout;
use crate::parse::log4j::{Framer, FramerConfig};
use crate::parse::time::parse_utc_offset;
use crate::parse::Input;
use crate::parse::{Parsers, ParsersConfig};
use crate::pipeline::{Applied, Item, LogStream, Pipeline};
use crate::sources::file::stream_key;

/// `replay` flags, as the command line gives them; [`ReplayOptions::from_args`] checks them.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Which log the files are: `auto` routes every entry by its logger.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Input,
    /// The broker JVM's UTC offset, for log timestamps that carry no zone (`+01:00`, `-0530`).
    #[arg(
        long,
        value_name = "OFFSET",
        default_value = "+00:00",
        allow_hyphen_values = true
    )]
    pub utc_offset: String,
    /// The broker's log4j pattern, when it is not one recognized by itself (Kafka's
    /// `[%d] %p %m (%c)%n`, Strimzi's, ISO stamps, container and journald prefixes), e.g.
    /// `%d{ISO8601} %-5p [%t] %c - %m%n`.
    #[arg(long, value_name = "PATTERN")]
    pub layout: Option<String>,
    /// Take `metrics:` and `parsers:` settings from this config file.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Rows per summary table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Progress bar on stderr: auto (when stderr is a terminal), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: When,
    /// Files or directories.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// `auto`, `always` or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum When {
    Auto,
    Always,
    Never,
}

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
    #[error("cannot write the exposition: {0}")]
    Output(std::io::Error),
}

/// A `replay` flag or the config file it names is wrong (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum ReplayArgsError {
    #[error("{flag}: {reason}")]
    Flag { flag: &'static str, reason: String },
    #[error("{} problem(s) found:\n{}", .0.0.len(), .0)]
    ConfigFile(ConfigErrors),
}

impl ReplayOptions {
    /// The options the `replay` flags ask for, with `metrics:` and `parsers:` from `--config`.
    pub fn from_args(args: &ReplayArgs) -> Result<ReplayOptions, ReplayArgsError> {
        let utc_offset_secs =
            parse_utc_offset(&args.utc_offset).map_err(|reason| ReplayArgsError::Flag {
                flag: "--utc-offset",
                reason,
            })?;
        let layout = args
            .layout
            .as_deref()
            .map(|l| Layout::for_kind(l, args.format))
            .transpose()
            .map_err(|e| ReplayArgsError::Flag {
                flag: "--layout",
                reason: e.to_string(),
            })?
            .map(Arc::new);
        let (metrics, parsers) = match &args.config {
            None => Default::default(),
            Some(path) => {
                let c = Config::load(path).map_err(ReplayArgsError::ConfigFile)?;
                (c.metrics, c.parsers)
            }
        };
        Ok(ReplayOptions {
            inputs: args.files.clone(),
            kind: args.format,
            framer: FramerConfig {
                utc_offset_secs,
                layout,
                ..Default::default()
            },
            metrics,
            parsers,
            progress: match args.progress {
                When::Always => true,
                When::Never => false,
                When::Auto => stderr_is_terminal(),
            },
            top: args.top,
        })
    }
}

/// The `replay` subcommand: replays the files, prints the exposition to stdout and the summary
/// to stderr.
pub fn run(options: &ReplayOptions) -> Result<(), ReplayError> {
    let start = Instant::now();
    let (metrics, stats) = replay(options)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&metrics.render())
        .and_then(|()| out.flush())
        .map_err(ReplayError::Output)?;
    eprint!(
        "{}",
        summary(&metrics, &stats, options.top, start.elapsed().as_secs_f64())
    );
    Ok(())
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
    let sum_by = |metric: &str, keys: &[Label]| -> Vec<(String, f64)> {
        let mut by: BTreeMap<String, f64> = BTreeMap::new();
        for f in families.iter().filter(|f| f.name() == metric) {
            for m in f.get_metric() {
                let key = keys
                    .iter()
                    .filter_map(|want| m.get_label().iter().find(|l| l.name() == want.key))
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
        sum_by(
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            &[labels::PRINCIPAL],
        ),
    );
    table(
        "Top denials (principal  operation  resource_type  resource_name)",
        sum_by(
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            &[
                labels::PRINCIPAL,
                labels::OPERATION,
                labels::RESOURCE_TYPE,
                labels::RESOURCE_NAME,
            ],
        ),
    );
    table(
        "Top client hosts failing authentication",
        sum_by(
            names::AUTHENTICATION_FAILURES_BY_CLIENT,
            &[labels::CLIENT_HOST],
        ),
    );
    table(
        "ACL changes (action permission resource_type)",
        sum_by(
            names::ACL_CHANGES,
            &[labels::ACTION, labels::PERMISSION, labels::RESOURCE_TYPE],
        ),
    );
    table(
        "Credential changes (action mechanism)",
        sum_by(
            names::CREDENTIAL_CHANGES,
            &[labels::ACTION, labels::MECHANISM],
        ),
    );
    table(
        "Config changes (resource_type)",
        sum_by(names::CONFIG_CHANGES, &[labels::RESOURCE_TYPE]),
    );
    table(
        "Rejected connections (reason)",
        sum_by(names::CONNECTIONS_REJECTED, &[labels::REASON]),
    );
    out
}

/// Whether stderr is a terminal (the progress-bar default).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(flags: &[&str]) -> ReplayArgs {
        let cli = Cli::try_parse_from(
            ["kafka-security-exporter", "replay"]
                .iter()
                .chain(flags)
                .chain(&["server.log"]),
        )
        .unwrap();
        match cli.command {
            Command::Replay(args) => args,
            other => panic!("not replay: {other:?}"),
        }
    }

    #[test]
    fn options_come_from_the_flags() {
        let o = ReplayOptions::from_args(&args(&["--utc-offset", "+01:00", "--top", "3"])).unwrap();
        assert_eq!(o.framer.utc_offset_secs, 3600);
        assert_eq!((o.top, o.kind), (3, Input::BrokerLog));
        assert_eq!(o.inputs, [PathBuf::from("server.log")]);
        let e = ReplayOptions::from_args(&args(&["--utc-offset", "01:00"])).unwrap_err();
        assert!(e.to_string().starts_with("--utc-offset: `01:00`"), "{e}");
        let e = ReplayOptions::from_args(&args(&["-c", "/nonexistent/x.yaml"])).unwrap_err();
        assert!(e.to_string().starts_with("1 problem(s) found:\n"), "{e}");
    }
}
