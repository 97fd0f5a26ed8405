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
//! [`PollStats::open_files`] says by how much). A poll opens new files only while fewer than
//! `max_open_files` are open (and at least 16, so busy files never starve new ones); the others
//! wait for the next polls ([`PollStats::deferred_files`]), so a glob matching thousands of files
//! never needs thousands of descriptors at once. Until every file has been looked at, no
//! checkpoint is given up as lost and `start_at: end` still applies.

// A poll, step by step (see `Tailer::poll`), and the checkpoint file.
mod claim; // 3. files no stream holds: followed content, copies, new streams
mod identity; // device + inode, fingerprints, opening a file found by the scan
mod known; // 2. known streams against their files: renames, truncation, restarts
mod read; // 4.-6. reading, ending drained rotated files, max_open_files
mod scan; // 1. globs to files
mod state; // the checkpoint file

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use identity::{FileKey, Fingerprint, Limits};
use known::Claims;
use scan::Scan;

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
    /// New files not opened by this poll because `max_open_files` were open already: the next
    /// poll opens them (`more_pending` is set).
    pub deferred_files: usize,
    /// Files that could not be read this poll (they are retried on the next one); at most
    /// [`MAX_ERRORS_PER_POLL`] are listed, [`PollStats::unreadable`] counts them all.
    pub errors: Vec<FileError>,
    /// Paths that could not be read or stat'ed this poll (all of them).
    pub unreadable: usize,
    /// Paths the globs matched that are not regular files (never opened: reading a FIFO would
    /// block and steal another reader's data, a device never ends); at most
    /// [`MAX_ERRORS_PER_POLL`] are listed, [`PollStats::not_files`] counts them by kind.
    pub skipped: Vec<(PathBuf, NotAFile)>,
    /// Matched paths that are not regular files, by kind (indexed by [`NotAFile::index`]).
    pub not_files: [usize; NotAFile::ALL.len()],
}

/// What a matched path that is not a regular file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAFile {
    Directory,
    Fifo,
    Socket,
    Device,
}

impl NotAFile {
    pub const ALL: [NotAFile; 4] = [
        NotAFile::Directory,
        NotAFile::Fifo,
        NotAFile::Socket,
        NotAFile::Device,
    ];

    pub fn of(file_type: std::fs::FileType) -> NotAFile {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_dir() {
            NotAFile::Directory
        } else if file_type.is_fifo() {
            NotAFile::Fifo
        } else if file_type.is_socket() {
            NotAFile::Socket
        } else {
            NotAFile::Device
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The `reason` label of `kafka_security_log_files_skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotAFile::Directory => "directory",
            NotAFile::Fifo => "fifo",
            NotAFile::Socket => "socket",
            NotAFile::Device => "device",
        }
    }
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
    /// A stream of the file `key`, to be read from `offset`; not open, not yet found.
    fn new(
        id: StreamId,
        key: FileKey,
        path: PathBuf,
        origin: PathBuf,
        fp: Fingerprint,
        offset: u64,
    ) -> Stream {
        Stream {
            id,
            key,
            path,
            origin,
            fp,
            read_offset: offset,
            checkpoint: offset,
            file: None,
            phase: Phase::Reading,
            located: false,
            orphan: false,
            present: false,
            deleted: false,
            last_size: 0,
            last_mtime: None,
            idle_since: None,
        }
    }

    /// Extends the fingerprint over more of `prefix` (the file's first bytes, which the
    /// fingerprint matches) as a short file grows, up to `fp_bytes`.
    fn grow_fingerprint(&mut self, prefix: &[u8], fp_bytes: usize) {
        let covered = prefix.len().min(fp_bytes);
        if covered > self.fp.len as usize {
            self.fp = Fingerprint::of(&prefix[..covered]);
        }
    }

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
                tailer.restore(&loaded);
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
        // 1. Scan: the files the globs match now, by device and inode.
        let scan = Scan::run(&self.config.include, &self.exclude, &mut stats);
        // 2. Known streams: follow renames, detect truncation, verify loaded checkpoints.
        let mut claims = Claims::new(self.limits());
        let weak = self.match_known(&scan, &mut claims, &mut stats);
        // 3. Files no stream holds, opened once: first a truncated stream's copy or a loaded
        // checkpoint found by fingerprint, then the weak inode matches, then copies of live
        // streams and new streams.
        self.keep_copies(&scan, &mut claims);
        let opened = self.open_unclaimed(&scan, &mut claims, &mut stats);
        self.match_weak(weak, &scan, &mut claims, &mut stats);
        self.renew(std::mem::take(&mut claims.regrown), &mut stats);
        self.retire(std::mem::take(&mut claims.retired), on, &mut stats);
        self.start_new(&scan, opened, &claims, &mut stats);
        // A stream is lost only once every file was looked at: a deferred file may be its.
        if stats.deferred_files == 0 {
            self.drop_lost(on, &mut stats);
        }
        // 4. Read.
        self.read(now, on, &mut stats);
        // 5. End rotated-away and deleted streams that have been idle long enough.
        self.end_rotated(now, on, &mut stats);
        // 6. Respect max_open_files.
        self.close_for_limit(&mut stats);
        stats.open_files = self.open_files();
        stats.files_matched = scan.found.len();
        // `start_at: end` holds for every file of the first complete poll.
        self.polled |= stats.deferred_files == 0;
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

    /// How many first bytes this poll fingerprints and reads.
    fn limits(&self) -> Limits {
        let fp_bytes = self.config.fingerprint_bytes;
        // Checkpoints saved with a longer fingerprint_bytes keep their longer fingerprints.
        let prefix_limit = self
            .streams
            .values()
            .map(|s| s.fp.len as usize)
            .fold(fp_bytes, usize::max);
        Limits {
            fp_bytes,
            prefix_limit,
        }
    }

    /// A stream id never handed out before.
    fn new_id(&mut self) -> StreamId {
        let id = StreamId(self.next_id);
        self.next_id += 1;
        id
    }
}

const MAX_ERRORS_PER_POLL: usize = 16;

fn push_error(stats: &mut PollStats, path: &Path, error: &io::Error) {
    stats.unreadable += 1;
    if stats.errors.len() < MAX_ERRORS_PER_POLL {
        stats.errors.push(FileError {
            path: path.to_path_buf(),
            problem: error.to_string(),
        });
    }
}

#[cfg(test)]
mod tests;
