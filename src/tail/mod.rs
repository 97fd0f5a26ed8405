//! Tails files matched by globs, byte by byte, through rotation, truncation and restarts.
//!
//! The tailer is synchronous and does not frame lines: each [`Tailer::poll`] rescans the globs,
//! reads what is new in every file (at most [`TailConfig::read_chunk_bytes`] per
//! [`TailEvent::Data`], at most [`CHUNKS_PER_FILE_PER_POLL`] chunks per file per poll) and hands
//! the bytes over. The consumer says what it has applied with [`Tailer::checkpoint`]; only that is
//! persisted by [`Tailer::save`], so a restart re-delivers what was read but not applied, and never
//! what was applied.
//!
//! # Streams and identity
//!
//! A *stream* is the content of one file from its first byte, under a [`StreamId`] that stays the
//! same across renames and restarts. A file is recognised by its device and inode **and** a
//! fingerprint of its first bytes: `(len, hash of the first len bytes)` with `len =
//! min(size, fingerprint_bytes)`. A file shorter than `fingerprint_bytes` has a short fingerprint
//! that grows with it: only the first `len` bytes are compared, then the fingerprint is extended,
//! so a small file that grows is never mistaken for a new one (and read again from 0).
//!
//! # Rotation, truncation, deletion
//!
//! - **Rename rotation** (Kafka's hourly `server.log` → `server.log.2025-03-18-10`): the inode is
//!   the same, so it is the same stream under its new name, whether or not that name matches the
//!   globs, and it is never read twice. The file stays open and is read to its end (a writer may
//!   append briefly after the rename); it ends ([`TailEvent::Ended`]) once it has been idle at EOF
//!   for [`TailConfig::rotate_wait`] **and** another file exists at the path where it was first
//!   seen (or it was deleted). A stream that has more to read after it ended (its writer kept
//!   writing, or the consumer had not checkpointed its end before a restart) is read on under a
//!   new stream id from where it stopped: an id that ended never delivers again. **Consumers
//!   should checkpoint a stream's end after flushing it on `Ended`.**
//! - **Copytruncate**: the file is smaller than the read position, or its first bytes changed.
//!   If a file that was not there before now starts with the stream's bytes (the copy, when its
//!   name matches the globs), the stream follows its content into the copy and continues from
//!   its read position, which also recovers bytes written between the last read and the copy.
//!   Otherwise the stream ends with [`TailEvent::Truncated`]: bytes written between the last read
//!   and the truncation are lost (inherent to copytruncate; counted in
//!   [`PollStats::truncated_unread_bytes`] when the tailer had seen them exist). Either way the
//!   truncated file's new content is a **new stream** read from offset 0: the old id is retired,
//!   so a late [`Tailer::checkpoint`] for the old content can never move the new one.
//!   A new file whose whole fingerprint equals a live stream's is a copy of it and is not read
//!   ([`FileState::Copy`]).
//! - **Deletion**: an open deleted file is read to its end, then the stream ends and its
//!   checkpoint is dropped. A file recreated at the same path is a new stream from offset 0.
//! - **Inode reuse**: a known inode whose first bytes differ is a new stream. A checkpoint of a
//!   file that was empty has no fingerprint to compare; it claims its inode only after every
//!   stream matching by content has claimed its file.
//! - **A file appearing later** is read from the beginning.
//!
//! # Start position
//!
//! [`TailConfig::start_at`] applies only to files found by the **first poll of a tailer that had
//! no state file** (or no `state_dir`). Every file found later, and every file without a
//! checkpoint once state exists, is read from the beginning: a file that appears while we run (or
//! while we were stopped) holds lines nobody has counted yet.
//!
//! # Restart
//!
//! A new tailer with the same `state_dir` looks for each checkpointed stream by device and inode
//! (under any path the globs match), verifies its fingerprint and resumes at the checkpoint. A
//! stream not found there is looked for by fingerprint (a file copied while we were stopped).
//! Streams whose files are gone are dropped. A file rotated out of the globs or deleted while we
//! were stopped cannot be read again: include the rotated names in the globs
//! (`server.log*`) so a restart resumes rotated files too.
//!
//! # Bounded memory and files
//!
//! Memory is one read buffer plus a few words per tracked file: lines are never buffered, however
//! long. At most [`TailConfig::max_open_files`] files stay open: beyond it, the files idle the
//! longest that are still reachable at their path are closed and reopened when they change
//! ([`PollStats::closed_for_limit`]). A deleted or rotated-away file being drained cannot be
//! reopened and is never closed early, so the limit can be exceeded (then
//! [`PollStats::open_files`] says by how much).

mod state;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// How many chunks of `read_chunk_bytes` one file may deliver in one poll, so a busy file cannot
/// starve the others; [`PollStats::more_pending`] says when a file had more.
pub const CHUNKS_PER_FILE_PER_POLL: usize = 16;

/// Default [`TailConfig::read_chunk_bytes`].
pub const DEFAULT_READ_CHUNK_BYTES: usize = 64 * 1024;
/// Default [`TailConfig::fingerprint_bytes`].
pub const DEFAULT_FINGERPRINT_BYTES: usize = 256;
/// Default [`TailConfig::max_open_files`].
pub const DEFAULT_MAX_OPEN_FILES: usize = 256;
/// Default [`TailConfig::rotate_wait`].
pub const DEFAULT_ROTATE_WAIT: Duration = Duration::from_secs(10);

/// What to tail and how.
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// Glob patterns of files to tail, absolute or relative to the working directory, e.g.
    /// `/var/log/kafka/server.log*`. `*` does not cross `/`; `**` does.
    pub include: Vec<String>,
    /// Glob patterns of files to skip (e.g. `*.gz`), matched against the whole path; here `*`
    /// also crosses `/`.
    pub exclude: Vec<String>,
    /// Where to start in a file first seen with no checkpoint (see the module docs for when).
    pub start_at: StartAt,
    /// Most bytes handed over per [`TailEvent::Data`]; also the size of the one read buffer.
    pub read_chunk_bytes: usize,
    /// Soft bound on open file handles; beyond it, the longest-idle reopenable files are closed.
    pub max_open_files: usize,
    /// Directory of the checkpoint file; `None` keeps checkpoints in memory only (replay).
    pub state_dir: Option<PathBuf>,
    /// Bytes at the start of a file that identify it together with its device and inode.
    pub fingerprint_bytes: usize,
    /// How long a rotated or deleted file must be idle at EOF before its stream ends.
    pub rotate_wait: Duration,
}

impl TailConfig {
    /// A config with the defaults and these include globs.
    pub fn new(include: Vec<String>) -> TailConfig {
        TailConfig {
            include,
            exclude: Vec::new(),
            start_at: StartAt::Beginning,
            read_chunk_bytes: DEFAULT_READ_CHUNK_BYTES,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            state_dir: None,
            fingerprint_bytes: DEFAULT_FINGERPRINT_BYTES,
            rotate_wait: DEFAULT_ROTATE_WAIT,
        }
    }
}

/// Where reading starts in a file first seen without a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    Beginning,
    End,
}

/// One file's content from its first byte; stable across renames and restarts, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(u64);

impl StreamId {
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a poll hands to the consumer, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailEvent<'a> {
    /// Bytes of `stream` starting at byte `offset` of its file. Offsets of a stream are
    /// contiguous: each `Data` starts where the previous one ended (or, after a restart, at the
    /// checkpoint).
    Data {
        stream: StreamId,
        path: &'a Path,
        offset: u64,
        bytes: &'a [u8],
    },
    /// The file was truncated or overwritten in place (copytruncate) and its old content could
    /// not be followed: the stream is over; discard its partial state (an unfinished entry was
    /// cut). The file's new content arrives as a new stream from offset 0.
    Truncated { stream: StreamId, path: &'a Path },
    /// The stream will deliver nothing more (deleted, or rotated away and drained): flush it.
    Ended { stream: StreamId, path: &'a Path },
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Files matched by the globs.
    pub files_matched: usize,
    /// Bytes delivered in `Data` events.
    pub bytes: u64,
    /// Streams started (new files, truncated files' new content, grown ended files).
    pub new_streams: usize,
    /// Streams ended with [`TailEvent::Ended`].
    pub ended: usize,
    /// Streams ended with [`TailEvent::Truncated`].
    pub truncations: usize,
    /// Bytes the tailer had seen in a file but not yet read when it was truncated: certainly lost.
    /// (Bytes written and truncated between two polls cannot be seen, so this is a lower bound.)
    pub truncated_unread_bytes: u64,
    /// Truncated or vanished streams followed into a copy of their content.
    pub copies_followed: usize,
    /// Some file had more to read than one poll delivers: poll again without waiting.
    pub more_pending: bool,
    /// Open file handles after the poll.
    pub open_files: usize,
    /// Idle files closed to respect `max_open_files`.
    pub closed_for_limit: usize,
    /// Files that could not be read this poll (they are retried on the next one).
    pub errors: Vec<FileError>,
}

/// A file the poll could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub problem: String,
}

/// A tracked file, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    pub path: PathBuf,
    pub stream: StreamId,
    /// Next byte to read.
    pub read_offset: u64,
    /// Bytes the consumer has applied.
    pub checkpoint: u64,
    /// File size when last looked at.
    pub size: u64,
    pub state: FileState,
}

/// Where a tracked file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Open and read on every poll.
    Reading,
    /// Idle and closed for `max_open_files`; reopened when it changes.
    Closed,
    /// No longer matched at any path (deleted or renamed out of the globs); drained through the
    /// open handle.
    Gone,
    /// Drained and ended; tracked so the file is not read again.
    Ended,
    /// A checkpoint loaded from the state file, not found yet.
    Unverified,
    /// A copy of `stream`'s content; not read.
    Copy,
}

/// Why the tailer could not start or save.
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("file tail: no include glob given")]
    NoInclude,
    #[error("file tail: invalid glob {pattern:?}: {problem}")]
    BadGlob { pattern: String, problem: String },
    #[error("file tail: {field} must be at least 1")]
    Zero { field: &'static str },
    #[error("file tail: cannot create state directory {path}: {source}")]
    StateDir { path: PathBuf, source: io::Error },
    #[error("file tail: cannot read state file {path}: {source}")]
    StateRead { path: PathBuf, source: io::Error },
    #[error("file tail: state file {path} is corrupt: {problem} (fix or remove it; removing it re-reads files per start_at)")]
    StateCorrupt { path: PathBuf, problem: String },
    #[error("file tail: cannot write state file {path}: {source}")]
    StateWrite { path: PathBuf, source: io::Error },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
}

impl FileKey {
    fn of(meta: &Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// `(len, hash of the first len bytes)`; FNV-1a, stable across builds because it is persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u32,
    hash: u64,
}

impl Fingerprint {
    fn of(bytes: &[u8]) -> Fingerprint {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Fingerprint {
            // Prefixes are at most fingerprint_bytes, which new() bounds well below u32::MAX.
            len: u32::try_from(bytes.len()).expect("fingerprint prefix fits u32"),
            hash,
        }
    }

    /// Whether `prefix` (the file's first bytes, as many as were available) starts with the
    /// fingerprinted bytes.
    fn matches(self, prefix: &[u8]) -> bool {
        let len = self.len as usize;
        prefix.len() >= len && Fingerprint::of(&prefix[..len]) == self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading,
    Ended,
}

#[derive(Debug)]
struct Stream {
    id: StreamId,
    key: FileKey,
    /// Last path the file was seen at.
    path: PathBuf,
    /// Path where the stream was first seen: rotation is over once another file is there.
    origin: PathBuf,
    fp: Fingerprint,
    read_offset: u64,
    checkpoint: u64,
    file: Option<File>,
    phase: Phase,
    /// Its content was verified at `key` (false for loaded checkpoints not found yet and for
    /// streams whose file was just truncated).
    located: bool,
    /// Its file was truncated this poll; unless it follows a copy it ends with `Truncated`.
    orphan: bool,
    /// Found by the last scan.
    present: bool,
    /// Its file has no name left (fstat nlink = 0).
    deleted: bool,
    last_size: u64,
    last_mtime: Option<SystemTime>,
    idle_since: Option<Instant>,
}

impl Stream {
    fn state(&self) -> FileState {
        match (self.phase, self.located, &self.file, self.present) {
            (Phase::Ended, true, _, _) => FileState::Ended,
            (_, false, _, _) => FileState::Unverified,
            (Phase::Reading, true, None, _) => FileState::Closed,
            (Phase::Reading, true, Some(_), false) => FileState::Gone,
            (Phase::Reading, true, Some(_), true) => FileState::Reading,
        }
    }
}

#[derive(Debug)]
struct CopyOf {
    key: FileKey,
    path: PathBuf,
    of: StreamId,
}

/// One file found by the scan.
struct Found {
    /// Every matched path of this file (hard links, symlinks), in glob order.
    paths: Vec<PathBuf>,
    key: FileKey,
    size: u64,
    mtime: Option<SystemTime>,
}

/// Tails the files matched by [`TailConfig::include`]; see the module docs.
pub struct Tailer {
    config: TailConfig,
    exclude: Vec<glob::Pattern>,
    streams: BTreeMap<StreamId, Stream>,
    copies: Vec<CopyOf>,
    next_id: u64,
    /// No state existed: `start_at` applies to what the first poll finds.
    fresh: bool,
    polled: bool,
    buf: Vec<u8>,
    state_path: Option<PathBuf>,
    last_saved: Option<Vec<u8>>,
}

impl Tailer {
    /// Validates the config and loads the checkpoints from `state_dir` (creating it if needed).
    pub fn new(config: TailConfig) -> Result<Tailer, TailError> {
        if config.include.is_empty() {
            return Err(TailError::NoInclude);
        }
        for (field, value) in [
            ("read_chunk_bytes", config.read_chunk_bytes),
            ("max_open_files", config.max_open_files),
            ("fingerprint_bytes", config.fingerprint_bytes),
        ] {
            if value == 0 {
                return Err(TailError::Zero { field });
            }
        }
        let bad = |pattern: &str, e: glob::PatternError| TailError::BadGlob {
            pattern: pattern.to_string(),
            problem: format!("{} at position {}", e.msg, e.pos),
        };
        for p in &config.include {
            glob::Pattern::new(p).map_err(|e| bad(p, e))?;
        }
        let exclude = config
            .exclude
            .iter()
            .map(|p| glob::Pattern::new(p).map_err(|e| bad(p, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut config = config;
        config.fingerprint_bytes = config.fingerprint_bytes.min(1 << 20);

        let mut tailer = Tailer {
            buf: vec![0; config.read_chunk_bytes],
            config,
            exclude,
            streams: BTreeMap::new(),
            copies: Vec::new(),
            next_id: 1,
            fresh: true,
            polled: false,
            state_path: None,
            last_saved: None,
        };
        if let Some(dir) = tailer.config.state_dir.clone() {
            fs::create_dir_all(&dir).map_err(|source| TailError::StateDir {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(state::FILE_NAME);
            if let Some(loaded) = state::load(&path)? {
                tailer.fresh = false;
                tailer.next_id = loaded.next_stream.max(1);
                for r in &loaded.streams {
                    let id = StreamId(r.stream);
                    tailer.streams.insert(
                        id,
                        Stream {
                            id,
                            key: FileKey {
                                dev: r.dev,
                                ino: r.ino,
                            },
                            path: PathBuf::from(&r.path),
                            origin: PathBuf::from(&r.origin),
                            fp: Fingerprint {
                                len: r.fingerprint_len,
                                hash: r.fingerprint,
                            },
                            read_offset: r.checkpoint,
                            checkpoint: r.checkpoint,
                            file: None,
                            phase: if r.ended {
                                Phase::Ended
                            } else {
                                Phase::Reading
                            },
                            located: false,
                            orphan: false,
                            present: false,
                            deleted: false,
                            last_size: 0,
                            last_mtime: None,
                            idle_since: None,
                        },
                    );
                }
                tailer.copies = loaded
                    .copies
                    .iter()
                    .map(|c| CopyOf {
                        key: FileKey {
                            dev: c.dev,
                            ino: c.ino,
                        },
                        path: PathBuf::from(&c.path),
                        of: StreamId(c.of_stream),
                    })
                    .collect();
                tailer.last_saved = Some(state::encode(&tailer.snapshot()));
            }
            tailer.state_path = Some(path);
        }
        Ok(tailer)
    }

    /// One pass: rescan the globs, read what is new in every file (bounded per call), emit events.
    ///
    /// Per-file problems do not fail the poll: they are in [`PollStats::errors`] and retried.
    pub fn poll(&mut self, on: &mut dyn FnMut(TailEvent<'_>)) -> Result<PollStats, TailError> {
        let now = Instant::now();
        let mut stats = PollStats::default();
        let found = self.scan(&mut stats);
        let by_key: HashMap<FileKey, usize> =
            found.iter().enumerate().map(|(i, f)| (f.key, i)).collect();
        let mut claimed: HashSet<FileKey> = HashSet::new();
        let mut retired: Vec<StreamId> = Vec::new();
        let mut regrown: Vec<StreamId> = Vec::new();
        let fp_bytes = self.config.fingerprint_bytes;
        // Checkpoints saved with a longer fingerprint_bytes keep their longer fingerprints.
        let prefix_limit = self
            .streams
            .values()
            .map(|s| s.fp.len as usize)
            .fold(fp_bytes, usize::max);
        let lim = Limits {
            fp_bytes,
            prefix_limit,
        };

        // 1. Known streams: follow renames, detect truncation, verify loaded checkpoints. A
        // closed stream with an empty fingerprint has no evidence but its inode, which may have
        // been reused: it waits until streams matching by content have claimed their files.
        let mut weak: Vec<StreamId> = Vec::new();
        for s in self.streams.values_mut() {
            let f = by_key.get(&s.key).map(|&i| &found[i]);
            s.present = f.is_some();
            if let Some(f) = f {
                if !f.paths.contains(&s.path) {
                    s.path = f.paths[0].clone();
                }
                if s.file.is_none() && s.fp.len == 0 && !claimed.contains(&f.key) {
                    weak.push(s.id);
                    continue;
                }
            }
            check_known(
                s,
                f,
                lim,
                &mut stats,
                &mut claimed,
                &mut retired,
                &mut regrown,
            );
        }

        // 2. Files no stream holds, opened once: first a truncated stream's copy or a loaded
        // checkpoint found by fingerprint, then the weak inode matches, then copies of live
        // streams and new streams.
        let streams = &self.streams;
        self.copies.retain(|c| {
            // A copy of a stream whose file was just truncated is where its content went.
            by_key.contains_key(&c.key) && streams.get(&c.of).is_none_or(|s| s.located)
        });
        for c in &mut self.copies {
            claimed.insert(c.key);
            if let Some(f) = by_key.get(&c.key).map(|&i| &found[i]) {
                c.path = f.paths[0].clone();
            }
        }
        let mut opened: Vec<Option<Opened>> = Vec::with_capacity(found.len());
        for f in &found {
            if claimed.contains(&f.key) {
                opened.push(None);
                continue;
            }
            let o = match open_prefix(&f.paths[0], f.key, prefix_limit) {
                Ok(o) => o,
                Err(e) => {
                    push_error(&mut stats, &f.paths[0], &e);
                    None
                }
            };
            let o = match o {
                Some(o) => match self.claim_by_content(f, o, lim) {
                    Ok(grew) => {
                        regrown.extend(grew);
                        claimed.insert(f.key);
                        stats.copies_followed += 1;
                        None
                    }
                    Err(o) => Some(o),
                },
                None => None,
            };
            opened.push(o);
        }
        for id in weak {
            let s = self.streams.get_mut(&id).expect("listed above");
            let f = by_key.get(&s.key).map(|&i| &found[i]);
            let f = f.filter(|f| !claimed.contains(&f.key));
            if f.is_none() {
                s.present = false;
            }
            check_known(
                s,
                f,
                lim,
                &mut stats,
                &mut claimed,
                &mut retired,
                &mut regrown,
            );
        }
        for id in regrown {
            // An ended stream has more to read: its writer kept writing after the rotation, or
            // the consumer had not checkpointed all of it before a restart. Read on under a new
            // id, so the consumer (which flushed the old one) sees a fresh stream.
            if let Some(mut s) = self.streams.remove(&id) {
                let new = StreamId(self.next_id);
                self.next_id += 1;
                s.id = new;
                s.phase = Phase::Reading;
                s.checkpoint = s.read_offset;
                s.idle_since = None;
                self.streams.insert(new, s);
                stats.new_streams += 1;
            }
        }
        for id in retired.drain(..) {
            if let Some(s) = self.streams.remove(&id) {
                if s.phase == Phase::Reading {
                    on(TailEvent::Ended {
                        stream: s.id,
                        path: &s.path,
                    });
                    stats.ended += 1;
                }
            }
        }
        let start_at_end = self.fresh && !self.polled && self.config.start_at == StartAt::End;
        for (f, o) in found.iter().zip(opened) {
            let Some(o) = o else { continue };
            if claimed.contains(&f.key) {
                continue;
            }
            let path = &f.paths[0];
            let fp = Fingerprint::of(&o.prefix[..o.prefix.len().min(fp_bytes)]);
            if fp.len as usize == fp_bytes {
                if let Some(of) = self
                    .streams
                    .values()
                    .find(|s| s.located && s.fp == fp)
                    .map(|s| s.id)
                {
                    self.copies.push(CopyOf {
                        key: f.key,
                        path: path.clone(),
                        of,
                    });
                    continue;
                }
            }
            let id = StreamId(self.next_id);
            self.next_id += 1;
            let offset = if start_at_end { o.size } else { 0 };
            self.streams.insert(
                id,
                Stream {
                    id,
                    key: f.key,
                    path: path.clone(),
                    origin: path.clone(),
                    fp,
                    read_offset: offset,
                    checkpoint: offset,
                    file: Some(o.file),
                    phase: Phase::Reading,
                    located: true,
                    orphan: false,
                    present: true,
                    deleted: false,
                    last_size: o.size,
                    last_mtime: o.mtime,
                    idle_since: None,
                },
            );
            stats.new_streams += 1;
        }
        // Truncated streams whose content was not found elsewhere end; loaded checkpoints whose
        // files are gone are dropped.
        let lost: Vec<StreamId> = self
            .streams
            .values()
            .filter(|s| !s.located)
            .map(|s| s.id)
            .collect();
        for id in lost {
            let s = self.streams.remove(&id).expect("listed above");
            if s.orphan {
                on(TailEvent::Truncated {
                    stream: s.id,
                    path: &s.path,
                });
                stats.truncations += 1;
            }
        }

        // 3. Read.
        let budget = self.config.read_chunk_bytes * CHUNKS_PER_FILE_PER_POLL;
        let Tailer { streams, buf, .. } = self;
        for s in streams.values_mut() {
            let (Phase::Reading, Some(file)) = (s.phase, s.file.as_ref()) else {
                continue;
            };
            let mut read = 0usize;
            let mut at_eof = false;
            while read < budget {
                match file.read_at(buf, s.read_offset) {
                    Ok(0) => {
                        at_eof = true;
                        break;
                    }
                    Ok(n) => {
                        on(TailEvent::Data {
                            stream: s.id,
                            path: &s.path,
                            offset: s.read_offset,
                            bytes: &buf[..n],
                        });
                        s.read_offset += n as u64;
                        read += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        push_error(&mut stats, &s.path, &e);
                        break;
                    }
                }
            }
            stats.bytes += read as u64;
            if read >= budget && !at_eof {
                stats.more_pending = true;
            }
            if read > 0 || !at_eof {
                s.idle_since = None;
            } else if s.idle_since.is_none() {
                s.idle_since = Some(now);
            }
        }

        // 4. End rotated-away and deleted streams that have been idle long enough.
        let rotate_wait = self.config.rotate_wait;
        let mut ended: Vec<StreamId> = Vec::new();
        for s in self.streams.values_mut() {
            let Some(idle_since) = s.idle_since else {
                continue;
            };
            if s.phase != Phase::Reading
                || s.file.is_none()
                || now.duration_since(idle_since) < rotate_wait
            {
                continue;
            }
            let moved = !s.present || s.path != s.origin;
            if !moved {
                continue;
            }
            let replaced =
                s.deleted || fs::metadata(&s.origin).is_ok_and(|m| FileKey::of(&m) != s.key);
            if replaced {
                ended.push(s.id);
            }
        }
        for id in ended {
            let s = self.streams.get_mut(&id).expect("listed above");
            on(TailEvent::Ended {
                stream: s.id,
                path: &s.path,
            });
            stats.ended += 1;
            s.phase = Phase::Ended;
            s.file = None;
            s.idle_since = None;
            if !s.present {
                self.streams.remove(&id);
            }
        }

        // 5. Respect max_open_files: close the longest-idle files that can be reopened by path.
        let open = self.streams.values().filter(|s| s.file.is_some()).count();
        if open > self.config.max_open_files {
            let mut closable: Vec<(Instant, StreamId)> = self
                .streams
                .values()
                .filter(|s| s.file.is_some() && s.present && !s.deleted)
                .filter_map(|s| s.idle_since.map(|t| (t, s.id)))
                .collect();
            closable.sort();
            for (_, id) in closable.into_iter().take(open - self.config.max_open_files) {
                self.streams.get_mut(&id).expect("listed above").file = None;
                stats.closed_for_limit += 1;
            }
        }
        stats.open_files = self.streams.values().filter(|s| s.file.is_some()).count();
        stats.files_matched = found.len();
        self.polled = true;
        Ok(stats)
    }

    /// The consumer has applied every byte of `stream` before `offset`. Only this is persisted.
    /// Offsets beyond what was delivered, or behind the last checkpoint, and retired streams are
    /// ignored.
    pub fn checkpoint(&mut self, stream: StreamId, offset: u64) {
        if let Some(s) = self.streams.get_mut(&stream) {
            if offset <= s.read_offset && offset > s.checkpoint {
                s.checkpoint = offset;
            }
        }
    }

    /// Writes the checkpoints atomically (tmp + fsync + rename) to `state_dir`; does nothing if
    /// they did not change since the last save, or without a `state_dir`.
    pub fn save(&mut self) -> Result<(), TailError> {
        let Some(path) = self.state_path.clone() else {
            return Ok(());
        };
        let bytes = state::encode(&self.snapshot());
        if self.last_saved.as_deref() == Some(&bytes[..]) {
            return Ok(());
        }
        state::write_atomic(&path, &bytes)?;
        self.last_saved = Some(bytes);
        Ok(())
    }

    /// Every tracked file, for logs and metrics.
    pub fn files(&self) -> Vec<FileStatus> {
        let mut out: Vec<FileStatus> = self
            .streams
            .values()
            .map(|s| FileStatus {
                path: s.path.clone(),
                stream: s.id,
                read_offset: s.read_offset,
                checkpoint: s.checkpoint,
                size: s.last_size,
                state: s.state(),
            })
            .collect();
        out.extend(self.copies.iter().map(|c| FileStatus {
            path: c.path.clone(),
            stream: c.of,
            read_offset: 0,
            checkpoint: 0,
            size: 0,
            state: FileState::Copy,
        }));
        out
    }

    /// Lets an unlocated stream (truncated this poll, or a loaded checkpoint not found by inode)
    /// whose first bytes this file starts with continue in it; gives the file back if none does.
    /// Returns the stream if it had ended and has more to read (it goes on under a new id).
    fn claim_by_content(
        &mut self,
        f: &Found,
        o: Opened,
        lim: Limits,
    ) -> Result<Option<StreamId>, Opened> {
        let candidate = self
            .streams
            .values()
            .filter(|s| {
                !s.located
                    && s.fp.len > 0
                    && s.fp.matches(&o.prefix)
                    && o.size >= s.read_offset
                    // A short fingerprint vouches only for the bytes it covers.
                    && (s.fp.len as usize >= lim.fp_bytes || u64::from(s.fp.len) >= s.read_offset)
            })
            .max_by_key(|s| (s.fp.len, std::cmp::Reverse(s.id)))
            .map(|s| s.id);
        let Some(id) = candidate else {
            return Err(o);
        };
        let s = self.streams.get_mut(&id).expect("candidate exists");
        let fp = Fingerprint::of(&o.prefix[..o.prefix.len().min(lim.fp_bytes)]);
        if fp.len > s.fp.len {
            s.fp = fp;
        }
        s.key = f.key;
        s.path = f.paths[0].clone();
        s.located = true;
        s.orphan = false;
        s.present = true;
        s.last_size = o.size;
        s.last_mtime = o.mtime;
        let grew = s.phase == Phase::Ended && o.size > s.read_offset;
        if s.phase == Phase::Reading || grew {
            s.file = Some(o.file);
        }
        Ok(grew.then_some(id))
    }

    fn snapshot(&self) -> state::StateFile {
        let lossy = |p: &Path| p.to_string_lossy().into_owned();
        state::StateFile {
            version: state::VERSION,
            next_stream: self.next_id,
            streams: self
                .streams
                .values()
                .map(|s| state::StreamRecord {
                    stream: s.id.0,
                    path: lossy(&s.path),
                    origin: lossy(&s.origin),
                    dev: s.key.dev,
                    ino: s.key.ino,
                    fingerprint_len: s.fp.len,
                    fingerprint: s.fp.hash,
                    checkpoint: s.checkpoint,
                    ended: s.phase == Phase::Ended,
                })
                .collect(),
            copies: self
                .copies
                .iter()
                .map(|c| state::CopyRecord {
                    path: lossy(&c.path),
                    dev: c.key.dev,
                    ino: c.key.ino,
                    of_stream: c.of.0,
                })
                .collect(),
        }
    }

    /// Regular files matched by the globs and not excluded, one entry per (device, inode).
    fn scan(&self, stats: &mut PollStats) -> Vec<Found> {
        let mut found: Vec<Found> = Vec::new();
        let mut index: HashMap<FileKey, usize> = HashMap::new();
        for pattern in &self.config.include {
            // Patterns were validated in new().
            let Ok(paths) = glob::glob(pattern) else {
                continue;
            };
            for entry in paths {
                let path = match entry {
                    Ok(p) => p,
                    Err(e) => {
                        push_error(stats, e.path(), e.error());
                        continue;
                    }
                };
                if self.exclude.iter().any(|x| x.matches_path(&path)) {
                    continue;
                }
                let meta = match fs::metadata(&path) {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        push_error(stats, &path, &e);
                        continue;
                    }
                };
                if !meta.is_file() {
                    continue;
                }
                let key = FileKey::of(&meta);
                match index.get(&key) {
                    Some(&i) => {
                        if !found[i].paths.contains(&path) {
                            found[i].paths.push(path);
                        }
                    }
                    None => {
                        index.insert(key, found.len());
                        found.push(Found {
                            paths: vec![path],
                            key,
                            size: meta.len(),
                            mtime: meta.modified().ok(),
                        });
                    }
                }
            }
        }
        found
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    fp_bytes: usize,
    prefix_limit: usize,
}

/// A file opened by the scan's second phase, with its first bytes.
struct Opened {
    file: File,
    size: u64,
    mtime: Option<SystemTime>,
    prefix: Vec<u8>,
}

fn open_prefix(path: &Path, key: FileKey, limit: usize) -> io::Result<Option<Opened>> {
    let Some(file) = open_verified(path, key)? else {
        return Ok(None);
    };
    let meta = file.metadata()?;
    let prefix = read_prefix(&file, meta.len(), limit)?;
    Ok(Some(Opened {
        size: meta.len(),
        mtime: meta.modified().ok(),
        prefix,
        file,
    }))
}

/// Compares a known stream with its file (`f`, found by inode; `None` if the scan did not find
/// it): follows content, detects truncation, verifies a loaded checkpoint.
fn check_known(
    s: &mut Stream,
    f: Option<&Found>,
    lim: Limits,
    stats: &mut PollStats,
    claimed: &mut HashSet<FileKey>,
    retired: &mut Vec<StreamId>,
    regrown: &mut Vec<StreamId>,
) {
    if s.file.is_none() {
        let Some(f) = f else {
            // Gone while closed (or not found after a restart): nothing more can be read. A
            // loaded checkpoint may still be found by fingerprint.
            if s.located {
                retired.push(s.id);
            }
            return;
        };
        if s.located && f.size == s.last_size && f.mtime == s.last_mtime {
            claimed.insert(s.key);
            return;
        }
        match open_verified(&f.paths[0], s.key) {
            Ok(Some(file)) => s.file = Some(file),
            Ok(None) => return, // replaced between scan and open: next poll
            Err(e) => {
                push_error(stats, &f.paths[0], &e);
                if s.located {
                    claimed.insert(s.key);
                }
                return;
            }
        }
    }
    // The file is open: compare it with what we know.
    let file = s.file.as_ref().expect("opened above");
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            push_error(stats, &s.path, &e);
            claimed.insert(s.key);
            return;
        }
    };
    let size = meta.len();
    let mtime = meta.modified().ok();
    s.deleted = meta.nlink() == 0;
    let changed = !s.located || size != s.last_size || mtime != s.last_mtime;
    let mut same_content = size >= s.read_offset;
    if same_content && changed {
        match read_prefix(file, size, lim.prefix_limit) {
            Ok(prefix) => {
                same_content = s.fp.matches(&prefix);
                let covered = prefix.len().min(lim.fp_bytes);
                if same_content && covered > s.fp.len as usize {
                    s.fp = Fingerprint::of(&prefix[..covered]);
                }
            }
            Err(e) => {
                push_error(stats, &s.path, &e);
                claimed.insert(s.key);
                return;
            }
        }
    }
    let previous_size = s.last_size;
    s.last_size = size;
    s.last_mtime = mtime;
    if same_content {
        claimed.insert(s.key);
        s.located = true;
        match s.phase {
            Phase::Reading => {}
            Phase::Ended if size > s.read_offset => regrown.push(s.id),
            Phase::Ended => s.file = None,
        }
    } else {
        // Truncated or replaced in place; the file itself is new content (unclaimed).
        s.file = None;
        if s.located && s.phase == Phase::Reading {
            stats.truncated_unread_bytes += previous_size.saturating_sub(s.read_offset);
            s.located = false;
            s.orphan = true;
        } else if s.located {
            retired.push(s.id); // ended long ago; nothing to tell the consumer
        }
        // A loaded checkpoint stays unverified: it may be found by fingerprint.
    }
}

/// Opens `path` if it still is the file `key` (it may have been replaced since the scan).
fn open_verified(path: &Path, key: FileKey) -> io::Result<Option<File>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok((FileKey::of(&file.metadata()?) == key).then_some(file))
}

/// The file's first `min(size, limit)` bytes.
fn read_prefix(file: &File, size: u64, limit: usize) -> io::Result<Vec<u8>> {
    let want = usize::try_from(size).unwrap_or(usize::MAX).min(limit);
    let mut prefix = vec![0; want];
    let mut got = 0;
    while got < want {
        match file.read_at(&mut prefix[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    prefix.truncate(got);
    Ok(prefix)
}

const MAX_ERRORS_PER_POLL: usize = 16;

fn push_error(stats: &mut PollStats, path: &Path, error: &io::Error) {
    if stats.errors.len() < MAX_ERRORS_PER_POLL {
        stats.errors.push(FileError {
            path: path.to_path_buf(),
            problem: error.to_string(),
        });
    }
}

#[cfg(test)]
mod tests;
