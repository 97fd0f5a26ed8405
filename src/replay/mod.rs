//! `replay`: runs broker log files and archived security events through the same framer,
//! parsers, metrics and detectors once, prints the final exposition to stdout and a summary to
//! stderr. The forensic tool for old logs and the harness for benchmarks.
//!
//! Directories are expanded to the files inside (not recursively); gzip files are decompressed.
//! Each file's format is sniffed from its first lines ([`format::sniff`]) unless `--format`
//! names a broker log kind for all of them or `--format-for PATH=FORMAT` names it for one; a file
//! of no recognized format is reported (a warning and a summary line), not replayed.
//!
//! All files of one run are merged by event time ([`merge`]): each file is read in its own
//! order and the oldest current item of all files is applied next, so a host failing in
//! `server.log` and then succeeding in an audit log is one story for the detectors. Files are
//! listed oldest first (by modification time, then name), which orders equal times and keeps
//! Kafka's rotated `server.log.2026-11-26-13` before the live `server.log`; rotated files of one
//! log share its [`LogStream`] (a controller's startup replay is recognized across a rotation),
//! which the detectors know by the log's name (`server.log`, see
//! [`crate::sources::file::stream_key`]). After the last item the detectors see time pass up to
//! the latest event time once (the last item's, unless a file went back in time).
//!
//! With `output.kafka` in `--config`, every event and detection is produced to the normalized
//! event topic as a run produces it (same schema, keys and timestamps, the event's own time).
//! A full producer queue makes the replay wait instead of dropping; at the end the topic is
//! flushed for at most `--output-flush-secs`, the summary says how many were produced and
//! dropped (by reason), and any drop makes the replay exit with an error.

mod archive;
mod cloudwatch;
mod expand;
mod format;
mod merge;
mod parallel;
mod progress;
mod summary;

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use expand::expand;
pub use format::{FileFormat, FormatFor, LogKind, Sniffed};
pub use summary::{by_format, detections_section, summary};

use crate::config::{Config, ConfigErrors};
use crate::detect::{DetectorsConfig, Engine, SummaryRow};
use crate::event::Origin;
use crate::metrics::internal::{
    InternalEvent, LayoutChosen, LinesPartial, LinesUnrecognized, StreamPartial, StreamUnrecognized,
};
use crate::metrics::output::OutputDrop;
use crate::metrics::{Metrics, MetricsConfig};
use crate::output::{EventTopic, KafkaOutputConfig};
use crate::parse::layout::Layout;
use crate::parse::log4j::FramerConfig;
use crate::parse::time::parse_utc_offset;
use crate::parse::Input;
use crate::parse::{Parsers, ParsersConfig};
use crate::pipeline::{Applied, Item, LogStream, Pipeline};
use crate::privacy::PrivacyConfig;
use crate::sources::file::stream_key;
use archive::{EventReader, LogReader};
pub use parallel::CHUNK_BYTES;
use parallel::{ChunkedLog, Framing, Job, Pool};
use progress::Progress;

/// `replay` flags, as the command line gives them; [`ReplayOptions::from_args`] checks them.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Which log the files are: `auto` sniffs each file (broker logs, routed by logger; Confluent
    /// audit CloudEvents; OCSF events from Redpanda's audit log; broker logs in CloudWatch Logs
    /// records; JSON or text events; `kcat -J` dumps); a log kind reads every file as that log.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Input,
    /// Read the files whose path ends with PATH as FORMAT: broker, authorizer, server,
    /// controller, request, audit, json, text, kcat, ocsf or cloudwatch. Repeatable; the last
    /// match wins.
    #[arg(long, value_name = "PATH=FORMAT")]
    pub format_for: Vec<String>,
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
    /// Take `metrics:`, `parsers:`, `privacy:`, `detectors:` and `output:` settings from this
    /// config file (with `output.kafka`, every event and detection is produced to the topic).
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run the detectors over the replayed events (`detectors:` of --config, else defaults).
    #[arg(long, value_enum, default_value = "on")]
    pub detectors: Switch,
    /// Rows per summary table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Progress bar on stderr: auto (when stderr is a terminal), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: When,
    /// When --config has `output.kafka`: how long replay waits at the end for the output topic
    /// to acknowledge every event it produced. What is still unacknowledged then is dropped
    /// (counted as `shutdown`), and replay exits with an error naming the count.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub output_flush_secs: u64,
    /// Threads that frame and parse broker logs (default 1). Large plain broker log files are
    /// cut into chunks parsed in parallel; the entries are still applied one at a time in the
    /// order of one thread, so the output is the same for every N. On two idle cores
    /// `--threads 2` is 5–15% faster than one thread; on cores busy with other work it can
    /// be slower, its parsing thread competing with the applying and detector threads
    /// (BENCHMARKS.md, "Parallel replay").
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
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

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub inputs: Vec<PathBuf>,
    /// `--format`: [`Input::BrokerLog`] (`auto`) sniffs each file; another log kind is every
    /// file's format.
    pub kind: Input,
    /// `--format-for`, in order (the last match wins).
    pub format_for: Vec<FormatFor>,
    pub framer: FramerConfig,
    pub metrics: MetricsConfig,
    pub parsers: ParsersConfig,
    /// `privacy:` of `--config`: pseudonyms in the exposition and the summary, as in a run.
    pub privacy: PrivacyConfig,
    /// `output.kafka` of `--config`: every event (and detection) produced to the normalized
    /// event topic, as a run does.
    pub output: Option<KafkaOutputConfig>,
    /// How long the end of the replay waits for the output topic's acknowledgements
    /// (`--output-flush-secs`).
    pub output_flush: Duration,
    /// Whether the detectors run (`--detectors`); `detectors.enabled` can switch them off too.
    pub detect: bool,
    pub detectors: DetectorsConfig,
    /// Draw a progress line on stderr (default: when stderr is a terminal).
    pub progress: bool,
    /// How many rows each summary table shows.
    pub top: usize,
    /// Threads that frame and parse broker logs (`--threads`); 1 reads everything on the
    /// replay's thread.
    pub threads: usize,
    /// Bytes per chunk of a broker log parsed in parallel (default [`CHUNK_BYTES`]; files under
    /// two chunks are read whole).
    pub chunk_bytes: u64,
    /// The time every event counts as read and applied at (its observed time, and the end of
    /// its `kafka_security_event_delay_seconds`); `None`: the start of the replay.
    pub clock: Option<SystemTime>,
}

/// Totals of one replay.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    /// Files found, whatever they held.
    pub files: usize,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Broker-log entries.
    pub entries: u64,
    /// Records of archived event files (audit, JSON, text, `kcat`).
    pub records: u64,
    pub events: u64,
    /// Entries and records that could not be read (counted in the parse-error metric, or for
    /// `kcat` lines that are not its JSON, here only).
    pub rejected: u64,
    /// Files and entries or records per format.
    pub by_format: BTreeMap<FileFormat, FormatStats>,
    /// Files with nothing in them (no line, or only blank and `#` lines).
    pub empty: Vec<PathBuf>,
    /// Files of no recognized format: not replayed.
    pub unrecognized: Vec<PathBuf>,
    /// Lines that matched no layout: every line of the files of no recognized format, and the
    /// broker-log lines outside any entry.
    pub unrecognized_lines: u64,
    /// Files that gave no entry or record for such lines (the unrecognized files, and broker
    /// logs whose lines matched no layout).
    pub unrecognized_streams: usize,
    /// Broker-log lines in no layout read for the known message they hold (partial lines).
    pub partial_lines: u64,
    /// Broker-log files by the layout and line prefix their first entry was read in.
    pub layouts: BTreeMap<(&'static str, &'static str), usize>,
    /// Chunks of broker logs parsed in parallel (`--threads`; not in the summary, which is the
    /// same for every thread count).
    pub chunks: usize,
    /// Of those, chunks framed again after the chunk before them ended inside an entry that
    /// may go on (a forged line at the cut).
    pub chunks_reframed: u64,
}

/// Files of one format and the entries or records read from them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FormatStats {
    pub files: usize,
    pub items: u64,
}

/// What one replay produced.
pub struct Replayed {
    pub metrics: Arc<Metrics>,
    pub stats: ReplayStats,
    /// Detections by detector and subject ([`Engine::summary`]); empty when detectors are off.
    pub detections: Vec<SummaryRow>,
    /// Detections beyond the summary's row cap (counted in the metrics, not in `detections`).
    pub detections_dropped: u64,
    /// What reached the output topic, when `output.kafka` is set.
    pub output: Option<OutputTotals>,
}

/// What a replay produced to the output topic, after its final flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTotals {
    pub topic: String,
    /// Events and detections the topic acknowledged.
    pub produced: u64,
    /// Those that never reached it, by reason (`kafka_security_output_dropped_total`).
    pub dropped: Vec<(OutputDrop, u64)>,
}

impl OutputTotals {
    /// Everything dropped, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|(_, n)| n).sum()
    }
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
    #[error("cannot start the detector thread: {0}")]
    Thread(std::io::Error),
    /// The output topic's producer cannot be created from `output.kafka`.
    #[error("output.kafka: {0}")]
    Topic(String),
    /// Events that never reached the output topic (the summary says why).
    #[error("{dropped} event(s) and detection(s) never reached the output topic {topic} (see the summary)")]
    TopicIncomplete { topic: String, dropped: u64 },
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
    /// The options the `replay` flags ask for, with `metrics:`, `parsers:`, `privacy:`,
    /// `detectors:` and `output:` from `--config`.
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
        let format_for = args
            .format_for
            .iter()
            .map(|f| FormatFor::parse(f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| ReplayArgsError::Flag {
                flag: "--format-for",
                reason,
            })?;
        let (config, detectors) = match &args.config {
            None => Default::default(),
            Some(path) => read_config(path).map_err(ReplayArgsError::ConfigFile)?,
        };
        Ok(ReplayOptions {
            inputs: args.files.clone(),
            kind: args.format,
            format_for,
            framer: FramerConfig {
                utc_offset_secs,
                layout,
                ..Default::default()
            },
            metrics: config.metrics,
            parsers: config.parsers,
            privacy: config.privacy,
            output: config.output.kafka,
            output_flush: Duration::from_secs(args.output_flush_secs),
            detect: args.detectors == Switch::On,
            detectors,
            progress: match args.progress {
                When::Always => true,
                When::Never => false,
                When::Auto => stderr_is_terminal(),
            },
            top: args.top,
            threads: args.threads.map_or(1, usize::from),
            chunk_bytes: CHUNK_BYTES,
            clock: None,
        })
    }

    /// Whether any detector runs.
    pub fn detectors_on(&self) -> bool {
        self.detect && self.detectors.enabled
    }
}

/// Reads a config file for `replay`: the [`Config`] and its `detectors:` section (`state_dir:`
/// is checked but unused: a replay remembers nothing between runs).
pub fn read_config(path: &Path) -> Result<(Config, DetectorsConfig), ConfigErrors> {
    let at = |p: String| format!("{}: {p}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![at(format!("cannot read: {e}"))]))?;
    let config = Config::parse(&text)
        .map_err(|ConfigErrors(p)| ConfigErrors(p.into_iter().map(at).collect()))?;
    let detectors = config.detectors.clone();
    Ok((config, detectors))
}

/// The `replay` subcommand: replays the files, prints the exposition to stdout and the summary
/// to stderr.
pub fn run(options: &ReplayOptions) -> Result<(), ReplayError> {
    let start = Instant::now();
    let replayed = replay(options)?;
    let mut out = std::io::stdout().lock();
    replayed
        .metrics
        .cut()
        .write_to(&mut out)
        .and_then(|()| out.flush())
        .map_err(ReplayError::Output)?;
    eprint!(
        "{}",
        summary(
            &replayed,
            options.top,
            start.elapsed().as_secs_f64(),
            options.detectors_on()
        )
    );
    match replayed.output {
        Some(o) if o.dropped_total() > 0 => Err(ReplayError::TopicIncomplete {
            dropped: o.dropped_total(),
            topic: o.topic,
        }),
        _ => Ok(()),
    }
}

/// One file of a replay, read item by item.
struct FileReader {
    /// As shown in event origins and messages.
    path: String,
    format: FileFormat,
    input: Input,
    /// Index of its log stream (broker logs).
    stream: usize,
    /// Entries or records applied.
    items: u64,
    reader: Reader,
    /// CloudWatch records that could not be unwrapped ([`cloudwatch::Unwrapped`]).
    unwrap_failures: Option<Rc<Cell<u64>>>,
}

enum Reader {
    Log(LogReader),
    /// A broker log whose chunks are parsed by the [`Pool`]'s job of this index.
    Chunked(Box<ChunkedLog>),
    Events(EventReader),
}

impl FileReader {
    fn advance(
        &mut self,
        parsers: &Parsers,
        pool: Option<&Pool>,
    ) -> Result<Option<SystemTime>, ReplayError> {
        match (&mut self.reader, pool) {
            (Reader::Log(r), _) => r.advance(),
            (Reader::Chunked(r), Some(pool)) => r.advance(pool),
            (Reader::Chunked(_), None) => Ok(None),
            (Reader::Events(r), _) => r.advance(parsers),
        }
        .map_err(|error| ReplayError::Io {
            path: PathBuf::from(&self.path),
            error,
        })
    }

    fn bytes(&self) -> u64 {
        match &self.reader {
            Reader::Log(r) => r.bytes,
            Reader::Chunked(r) => r.bytes,
            Reader::Events(r) => r.bytes,
        }
    }

    /// Applies the current entry or record; `stream` is its log stream.
    fn apply(&mut self, pipeline: &Pipeline, stream: &mut LogStream) -> Applied {
        match &mut self.reader {
            Reader::Log(r) => {
                let entry = r.current();
                let item = Item::Entry {
                    entry,
                    origin: Origin::File {
                        path: self.path.as_str().into(),
                        offset: entry.offset,
                    },
                    stream,
                };
                pipeline.apply("replay", self.input, item)
            }
            Reader::Chunked(r) => {
                // `advance` returned a time: there is a current entry.
                let Some(prepared) = r.current() else {
                    return Applied::Skipped;
                };
                let origin = Origin::File {
                    path: self.path.as_str().into(),
                    offset: prepared.entry().offset,
                };
                pipeline.apply_prepared("replay", prepared, origin, stream)
            }
            Reader::Events(r) => {
                pipeline.apply("replay", self.input, &r.record_at(Some(&self.path)))
            }
        }
    }
}

/// The files of a run and their log streams.
struct Opened {
    readers: Vec<FileReader>,
    /// Each reader's first item time (readers with none are left out; chunked readers are
    /// advanced once the pool runs).
    first: Vec<(usize, SystemTime)>,
    streams: Vec<LogStream>,
    /// The broker logs read in chunks, in the order of their [`Reader::Chunked`] job index.
    jobs: Vec<Job>,
}

/// The format `path` is read as: `--format-for`, else a `--format` log kind, else `None` (sniff).
fn chosen_format(options: &ReplayOptions, path: &Path) -> Option<FileFormat> {
    let named = options.format_for.iter().rev().find(|f| f.matches(path));
    match named {
        Some(f) => Some(f.format),
        None if options.kind != Input::BrokerLog => {
            Some(FileFormat::Log(LogKind::of(options.kind)))
        }
        None => None,
    }
}

/// Opens every file, decides its format and reads its first item. Empty files and files of no
/// recognized format are noted in `stats` (the latter with a warning) and left out.
fn open_all(
    options: &ReplayOptions,
    files: &[PathBuf],
    parsers: &Parsers,
    stats: &mut ReplayStats,
) -> Result<Opened, ReplayError> {
    let mut opened = Opened {
        readers: Vec::new(),
        first: Vec::new(),
        streams: Vec::new(),
        jobs: Vec::new(),
    };
    // Rotated files of one log in one directory share a stream.
    let mut stream_ids: HashMap<(Option<PathBuf>, String), usize> = HashMap::new();
    for path in files {
        let io = |error| ReplayError::Io {
            path: path.clone(),
            error,
        };
        let file = archive::open(path).map_err(io)?;
        let layout = options.framer.layout.as_deref();
        let sniffed = match chosen_format(options, path) {
            Some(format) => Sniffed::Format(format),
            None => format::sniff(
                &file.head,
                file.complete,
                layout,
                options.framer.utc_offset_secs,
            ),
        };
        let format = match sniffed {
            Sniffed::Format(format) => format,
            Sniffed::Empty => {
                stats.empty.push(path.clone());
                continue;
            }
            Sniffed::Unrecognized => {
                tracing::warn!(
                    file = %path.display(),
                    hint = crate::metrics::internal::LAYOUT_HINT,
                    "Skipped a file of no recognized format: name its format with --format-for PATH=FORMAT."
                );
                stats.unrecognized.push(path.clone());
                stats.unrecognized_lines += archive::count_lines(file.reader).map_err(io)?;
                stats.unrecognized_streams += 1;
                continue;
            }
        };
        stats.by_format.entry(format).or_default().files += 1;
        let key = stream_key(path);
        let next = opened.streams.len();
        let stream = *stream_ids
            .entry((path.parent().map(Path::to_path_buf), key.clone()))
            .or_insert(next);
        if stream == next {
            opened.streams.push(LogStream::named(key));
        }
        let mut unwrap_failures = None;
        let framer = FramerConfig {
            date_reference: Some(file.modified),
            ..options.framer.clone()
        };
        let job = plan_job(options, path, format, &file.head, &framer).map_err(io)?;
        let reader = match format {
            FileFormat::Log(_) if job.is_some() => {
                opened.jobs.extend(job);
                Reader::Chunked(Box::new(ChunkedLog::new(opened.jobs.len() - 1)))
            }
            FileFormat::Log(_) => Reader::Log(LogReader::new(file.reader, framer)),
            FileFormat::CloudWatch => {
                let failures = Rc::new(Cell::new(0));
                unwrap_failures = Some(failures.clone());
                let lines =
                    cloudwatch::Unwrapped::new(file.reader, path.display().to_string(), failures);
                Reader::Log(LogReader::new(Box::new(lines), framer))
            }
            _ => Reader::Events(EventReader::new(
                format,
                file.reader,
                parsers.max_record_bytes(),
                file.modified,
            )),
        };
        let mut reader = FileReader {
            path: path.display().to_string(),
            format,
            input: format.input(),
            stream,
            items: 0,
            reader,
            unwrap_failures,
        };
        if let Some(t) = reader.advance(parsers, None)? {
            opened.first.push((opened.readers.len(), t));
        }
        opened.readers.push(reader);
    }
    for f in &options.format_for {
        if !files.iter().any(|p| f.matches(p)) {
            tracing::warn!(path = %f.path.display(), "No replayed file matches this --format-for.");
        }
    }
    Ok(opened)
}

/// The chunks a broker log of `format` is parsed in by several threads (`None`: read whole).
fn plan_job(
    options: &ReplayOptions,
    path: &Path,
    format: FileFormat,
    head: &[u8],
    framer: &FramerConfig,
) -> std::io::Result<Option<Job>> {
    if options.threads < 2 || !matches!(format, FileFormat::Log(_)) {
        return Ok(None);
    }
    let len = std::fs::metadata(path)?.len();
    let sizes = (len, options.chunk_bytes);
    Job::plan(path, sizes, head, format.input(), framer.clone())
}

/// The pipeline a replay applies its input to: its parsers, privacy, a fixed clock and, when on,
/// the detectors on a thread of their own.
fn replay_pipeline(
    options: &ReplayOptions,
    clock: SystemTime,
    metrics: Arc<Metrics>,
    output: Option<Arc<EventTopic>>,
) -> Result<Pipeline, ReplayError> {
    let parsers = Parsers::new(&options.parsers).map_err(|p| ReplayError::Config(p.join("; ")))?;
    metrics.init_log_files(REPLAY_SOURCE);
    let privacy = options
        .privacy
        .load()
        .map_err(|p| ReplayError::Config(p.join("; ")))?;
    let mut pipeline = Pipeline::new(parsers, metrics)
        .with_privacy(privacy)
        .with_clock(clock);
    if let Some(output) = output {
        pipeline = pipeline.with_output(output);
    }
    if options.detectors_on() {
        // The detectors work on a second core while this thread reads, parses and counts.
        pipeline = pipeline
            .with_detectors(Engine::new(&options.detectors))
            .with_detector_thread()
            .map_err(ReplayError::Thread)?;
    }
    Ok(pipeline)
}

/// Replays the files into a fresh metric set (and detectors) and returns what came of it.
pub fn replay(options: &ReplayOptions) -> Result<Replayed, ReplayError> {
    let mut problems = options.metrics.problems();
    if options.detectors_on() {
        problems.extend(options.detectors.problems("detectors"));
    }
    if !problems.is_empty() {
        return Err(ReplayError::Config(problems.join("; ")));
    }
    let metrics =
        Arc::new(Metrics::new(&options.metrics).map_err(|e| ReplayError::Config(e.to_string()))?);
    let output = options
        .output
        .as_ref()
        .map(|k| {
            EventTopic::start(k, metrics.clone())
                .map(|topic| Arc::new(topic.waiting_when_full()))
                .map_err(ReplayError::Topic)
        })
        .transpose()?;
    // Every entry counts as read, and its event's delay as counted, at the start of the replay:
    // the same for every thread count.
    let clock = options.clock.unwrap_or_else(crate::clock::now);
    let pipeline = replay_pipeline(options, clock, metrics.clone(), output.clone())?;
    // The readers parse archived records once to learn their event time before the merge
    // orders them; the pipeline parses them again when they are applied.
    let time_parsers = pipeline.parsers();
    let files = expand(&options.inputs)?;
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let mut stats = ReplayStats {
        files: files.len(),
        ..ReplayStats::default()
    };
    let Opened {
        mut readers,
        mut first,
        mut streams,
        jobs,
    } = open_all(options, &files, time_parsers, &mut stats)?;
    let mut progress = Progress::new(options.progress, total);
    let pool = Pool::new(jobs, options.threads, clock);
    let mut applied_items = 0u64;
    let last = std::thread::scope(|scope| {
        for _ in 1..options.threads.min(pool.tasks()) {
            scope.spawn(|| pool.work());
        }
        let merged = (|| {
            for (i, r) in readers.iter_mut().enumerate() {
                if matches!(r.reader, Reader::Chunked(_)) {
                    if let Some(t) = r.advance(time_parsers, Some(&pool))? {
                        first.push((i, t));
                    }
                }
            }
            merge::merge(first, |i| {
                let r = &mut readers[i];
                match r.apply(&pipeline, &mut streams[r.stream]) {
                    Applied::Event(_) => stats.events += 1,
                    Applied::Rejected(..) => stats.rejected += 1,
                    Applied::Skipped => {}
                }
                r.items += 1;
                applied_items += 1;
                let next = r.advance(time_parsers, Some(&pool));
                if applied_items.is_multiple_of(4096) {
                    progress.update(readers.iter().map(FileReader::bytes).sum(), applied_items);
                }
                next
            })
        })();
        pool.close();
        merged
    })?;
    // A decision held back for the entry after it, in a file that ended first.
    for stream in &mut streams {
        if let Applied::Event(_) = pipeline.end_stream("replay", stream) {
            stats.events += 1;
        }
    }
    if let Some(last) = last {
        pipeline.detect_end("replay", last);
    }
    progress.finish();
    for r in &readers {
        add_reader_stats(r, options, &metrics, &mut stats);
    }
    LinesUnrecognized {
        source: REPLAY_SOURCE,
        lines: stats.unrecognized_lines,
    }
    .emit(&metrics);
    // After the detectors' summary: every detection has been handed to the output by then.
    let (detections, detections_dropped) = pipeline.detections().unwrap_or_default();
    let output = output.map(|topic| close_output(&topic, options.output_flush, &metrics));
    Ok(Replayed {
        metrics,
        stats,
        detections,
        detections_dropped,
        output,
    })
}

/// Adds what reader `r` read to `stats`, and reports the layout its log was read in.
fn add_reader_stats(
    r: &FileReader,
    options: &ReplayOptions,
    metrics: &Metrics,
    stats: &mut ReplayStats,
) {
    stats.bytes += r.bytes();
    stats.by_format.entry(r.format).or_default().items += r.items;
    stats.rejected += r.unwrap_failures.as_ref().map_or(0, |f| f.get());
    match &r.reader {
        Reader::Log(log) => {
            stats.entries += r.items;
            let framing = Framing::from(log.framer());
            report_layout(&r.path, framing, options, metrics, stats);
        }
        Reader::Chunked(log) => {
            stats.entries += r.items;
            stats.chunks += log.chunks();
            stats.chunks_reframed += log.reframed;
            report_layout(&r.path, log.framing(), options, metrics, stats);
        }
        Reader::Events(e) => {
            stats.records += r.items;
            stats.rejected += e.unreadable;
        }
    }
}

/// Flushes the output topic within `flush` and says what it produced and dropped.
fn close_output(topic: &EventTopic, flush: Duration, metrics: &Metrics) -> OutputTotals {
    topic.close(flush);
    let (produced, dropped) = metrics.output_totals();
    OutputTotals {
        topic: topic.topic().to_string(),
        produced,
        dropped: dropped.into_iter().filter(|(_, n)| *n > 0).collect(),
    }
}

/// The `source` label of what a replay counts.
const REPLAY_SOURCE: &str = "replay";

/// Reports the layout a replayed broker log was read in (logged, counted in
/// `kafka_security_log_layout_streams`), or that it recognized nothing (a warning), and adds its
/// lines outside any entry to `stats`.
fn report_layout(
    path: &str,
    framer: Framing,
    options: &ReplayOptions,
    metrics: &Metrics,
    stats: &mut ReplayStats,
) {
    let layout = options.framer.layout.as_deref();
    stats.unrecognized_lines += framer.skipped_lines;
    stats.partial_lines += framer.partial_lines;
    if framer.partial_lines > 0 {
        StreamPartial {
            source: REPLAY_SOURCE,
            path,
        }
        .emit(metrics);
        LinesPartial {
            source: REPLAY_SOURCE,
            lines: framer.partial_lines,
        }
        .emit(metrics);
    }
    match framer.choice {
        Some(choice) => {
            *stats
                .layouts
                .entry((choice.layout.as_str(), choice.prefix.as_str()))
                .or_default() += 1;
            LayoutChosen {
                source: REPLAY_SOURCE,
                path,
                choice,
                anchored: choice.anchored(layout),
            }
            .emit(metrics);
        }
        None if framer.skipped_lines > 0 => {
            stats.unrecognized_streams += 1;
            StreamUnrecognized {
                source: REPLAY_SOURCE,
                path,
                lines: framer.skipped_lines,
                layout: layout.map(Layout::pattern),
            }
            .emit(metrics);
        }
        None => {}
    }
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
        // No config, no output topic; its flush bound from the flag (default 30 s).
        assert!(o.output.is_none());
        assert_eq!(o.output_flush, Duration::from_secs(30));
        let o = ReplayOptions::from_args(&args(&["--output-flush-secs", "5"])).unwrap();
        assert_eq!(o.output_flush, Duration::from_secs(5));
        let e = ReplayOptions::from_args(&args(&["--utc-offset", "01:00"])).unwrap_err();
        assert!(e.to_string().starts_with("--utc-offset: `01:00`"), "{e}");
        let e = ReplayOptions::from_args(&args(&["-c", "/nonexistent/x.yaml"])).unwrap_err();
        assert!(e.to_string().starts_with("1 problem(s) found:\n"), "{e}");
    }
}
