//! Parallel replay (`--threads N`): broker log files are cut into chunks at entry boundaries,
//! and worker threads frame, route and parse the chunks ([`PreparedEntry`]) while the replay's
//! own thread applies the entries — stream state, metrics, detectors — one at a time, in exactly
//! the order a single-threaded replay applies them (the merge by event time of [`super::merge`],
//! each file in its own order). What is counted, which label sets a capped metric admits before
//! its `__overflow__` series, the sums of the histograms and what the detectors see are
//! therefore those of `--threads 1`, whatever the number of threads.
//!
//! **Cutting a file.** A file is cut near every [`CHUNK_BYTES`], at the first line after the cut
//! that starts an entry in the layout its first entry was read in (a stack trace or the
//! continuation lines of a multi-line message stay with their entry). A chunk after the first is
//! framed by a framer [`Framer::resuming`] at its first line, which assumes the entry before
//! it has shown its logger and absorbed no forged line; the framer of the chunk before checks
//! that assumption at its end ([`Framer::clean_break`]). Where it does not hold (a forged header
//! line in a client-controlled field right at a cut), the chunk is framed again, continuing the
//! framer of the chunk before, as one thread would. Files that cannot be cut — gzip files,
//! CloudWatch records, archived events, files smaller than two chunks or with no entry in their
//! first bytes — are read whole on the replay's thread, as with one thread.
//!
//! **Scheduling.** Chunks are parsed in the order of their position in their file (as a fraction
//! of its size), so every file's chunks are ready about when the merge reaches them; at most
//! [`READY_PER_THREAD`] per thread wait parsed, which bounds memory. When the replay's thread
//! needs a chunk no worker has started, it parses it itself, so it never waits on a chunk nobody
//! works on.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::SystemTime;

use crate::parse::broker_log::PreparedEntry;
use crate::parse::log4j::{Choice, Framer, FramerConfig, LogEntry};
use crate::parse::Input;

/// Bytes of a chunk (before it is moved to the next entry start).
pub const CHUNK_BYTES: u64 = 1 << 20;

/// Parsed chunks that may wait to be applied, per thread.
const READY_PER_THREAD: usize = 4;

/// Bytes looked at after a nominal cut for the next entry start; a cut with none is dropped (the
/// chunk before grows).
const CUT_WINDOW: usize = 256 * 1024;

/// How a file's framer ended: its counts and layout, as the summary and the layout report want
/// them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Framing {
    pub skipped_lines: u64,
    pub partial_lines: u64,
    pub choice: Option<Choice>,
}

impl From<&Framer> for Framing {
    fn from(f: &Framer) -> Framing {
        Framing {
            skipped_lines: f.skipped_lines(),
            partial_lines: f.partial_lines(),
            choice: f.choice(),
        }
    }
}

/// A broker log file to be read in chunks.
pub struct Job {
    pub path: PathBuf,
    pub input: Input,
    pub framer: FramerConfig,
    /// The layout the file's first entry is read in: the framing of every chunk after the first.
    choice: Choice,
    /// Where each chunk starts; the last one runs to the end of the file.
    starts: Vec<u64>,
}

impl Job {
    /// Plans the chunks, of about `chunk` bytes, of the broker log at `path` (`len` bytes,
    /// starting with `head`), framed with `framer`; `None` when it is read whole (see the module
    /// docs).
    pub fn plan(
        path: &Path,
        (len, chunk): (u64, u64),
        head: &[u8],
        input: Input,
        framer: FramerConfig,
    ) -> io::Result<Option<Job>> {
        let chunk = chunk.max(1);
        if len < 2 * chunk || is_gzip(path)? {
            return Ok(None);
        }
        let mut sniffer = Framer::new(framer.clone());
        sniffer.push(head, &mut Vec::new());
        let Some(choice) = sniffer.choice() else {
            return Ok(None);
        };
        let resumed = Framer::resuming(framer.clone(), choice, 0);
        let mut file = File::open(path)?;
        let mut starts = vec![0];
        let mut window = vec![0; CUT_WINDOW.min(chunk as usize)];
        let mut nominal = chunk;
        while nominal + chunk / 2 < len {
            file.seek(SeekFrom::Start(nominal))?;
            let n = read_full(&mut file, &mut window)?;
            let found = entry_start(&resumed, &window[..n]);
            if let Some(at) = found.map(|i| nominal + i as u64) {
                if at > *starts.last().unwrap_or(&0) && at < len {
                    starts.push(at);
                }
            }
            nominal += chunk;
        }
        if starts.len() < 2 {
            return Ok(None);
        }
        Ok(Some(Job {
            path: path.to_path_buf(),
            input,
            framer,
            choice,
            starts,
        }))
    }

    pub fn chunks(&self) -> usize {
        self.starts.len()
    }

    /// The bytes of chunk `index` (the last one to the end of the file).
    fn range(&self, index: usize) -> Range<u64> {
        self.starts[index]..self.starts.get(index + 1).copied().unwrap_or(u64::MAX)
    }

    /// Frames and parses chunk `index`, with `carried` (the framer of the chunk before, which
    /// did not end in a clean break) or else a framer of its own.
    fn run(
        &self,
        index: usize,
        carried: Option<Box<Framer>>,
        observed: SystemTime,
    ) -> io::Result<Chunk> {
        thread_local! {
            // Each thread's chunk buffer, kept: a fresh MiB per chunk costs page faults.
            static BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BYTES.with_borrow_mut(|bytes| self.frame(index, carried, observed, bytes))
    }

    fn frame(
        &self,
        index: usize,
        carried: Option<Box<Framer>>,
        observed: SystemTime,
        bytes: &mut Vec<u8>,
    ) -> io::Result<Chunk> {
        let range = self.range(index);
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(range.start))?;
        bytes.clear();
        file.take(range.end - range.start).read_to_end(bytes)?;
        let mut framer = match carried {
            Some(framer) => *framer,
            None if index == 0 => Framer::new(self.framer.clone()),
            None => Framer::resuming(self.framer.clone(), self.choice, range.start),
        };
        let mut entries: Vec<LogEntry> = Vec::new();
        framer.push(bytes, &mut entries);
        let last = index + 1 == self.starts.len();
        let end = if last || framer.clean_break() {
            framer.flush(&mut entries);
            End::Finished(Framing::from(&framer))
        } else {
            End::Carry(Box::new(framer))
        };
        let entries = entries
            .into_iter()
            .map(|e| PreparedEntry::prepare(self.input, e, observed))
            .collect();
        Ok(Chunk {
            entries,
            bytes: bytes.len() as u64,
            end,
        })
    }
}

/// The offset in `window` (read just after a nominal cut) of the first whole line after its
/// first newline that starts an entry.
fn entry_start(framer: &Framer, window: &[u8]) -> Option<usize> {
    let mut at = memchr::memchr(b'\n', window)? + 1;
    while let Some(nl) = memchr::memchr(b'\n', &window[at..]) {
        if framer.starts_entry(&window[at..at + nl]) {
            return Some(at);
        }
        at += nl + 1;
    }
    None
}

fn is_gzip(path: &Path) -> io::Result<bool> {
    let mut magic = [0; 2];
    let n = read_full(&mut File::open(path)?, &mut magic)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// One chunk framed and parsed.
pub struct Chunk {
    entries: Vec<PreparedEntry>,
    bytes: u64,
    end: End,
}

/// How a chunk's framer ended.
enum End {
    /// At a clean break or the end of the file: its counts.
    Finished(Framing),
    /// Not at a clean break: the next chunk is framed again by this framer.
    Carry(Box<Framer>),
}

enum Slot {
    Pending,
    Running,
    Done(io::Result<Chunk>),
    Taken,
}

struct Queue {
    slots: Vec<Slot>,
    /// Task ids in the order workers take them.
    order: Vec<usize>,
    next: usize,
    /// Chunks parsed and not yet taken.
    ready: usize,
    /// Entries applied, for a worker to free.
    spent: Vec<Vec<PreparedEntry>>,
    closed: bool,
}

/// The chunks of every job, parsed by workers ahead of the replay's thread.
pub struct Pool {
    jobs: Vec<Job>,
    /// Each task's job and chunk index; a job's tasks are consecutive, from `first[job]`.
    tasks: Vec<(usize, usize)>,
    first: Vec<usize>,
    queue: Mutex<Queue>,
    changed: Condvar,
    max_ready: usize,
    /// When the entries count as read: the replay's clock, as for entries read on its thread.
    observed: SystemTime,
}

impl Pool {
    pub fn new(jobs: Vec<Job>, threads: usize, observed: SystemTime) -> Pool {
        let mut tasks = Vec::new();
        let mut first = Vec::new();
        let mut keyed = Vec::new();
        for (j, job) in jobs.iter().enumerate() {
            first.push(tasks.len());
            let len = job.starts.last().copied().unwrap_or(0).max(1) as f64;
            for c in 0..job.chunks() {
                keyed.push((job.starts[c] as f64 / len, j, tasks.len()));
                tasks.push((j, c));
            }
        }
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let slots = tasks.iter().map(|_| Slot::Pending).collect();
        Pool {
            jobs,
            tasks,
            first,
            queue: Mutex::new(Queue {
                slots,
                order: keyed.into_iter().map(|(_, _, t)| t).collect(),
                next: 0,
                ready: 0,
                spent: Vec::new(),
                closed: false,
            }),
            changed: Condvar::new(),
            max_ready: READY_PER_THREAD * threads.max(1),
            observed,
        }
    }

    /// Chunks in all.
    pub fn tasks(&self) -> usize {
        self.tasks.len()
    }

    pub fn job(&self, job: usize) -> &Job {
        &self.jobs[job]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A worker that panicked while holding the lock left the queue consistent: each
        // change under the lock is a single assignment.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker's loop: parses chunks in order, and frees the entries applied, until the pool is
    /// closed.
    pub fn work(&self) {
        let mut q = self.lock();
        loop {
            if q.closed {
                return;
            }
            if !q.spent.is_empty() {
                let spent = std::mem::take(&mut q.spent);
                drop(q);
                drop(spent);
                q = self.lock();
                continue;
            }
            while q.next < q.order.len() && !matches!(q.slots[q.order[q.next]], Slot::Pending) {
                q.next += 1;
            }
            if q.next == q.order.len() || q.ready >= self.max_ready {
                q = self.changed.wait(q).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let task = q.order[q.next];
            q.next += 1;
            q.slots[task] = Slot::Running;
            drop(q);
            let chunk = self.run(task, None);
            q = self.lock();
            q.slots[task] = Slot::Done(chunk);
            q.ready += 1;
            self.changed.notify_all();
        }
    }

    /// Hands applied entries to a worker to free.
    fn discard(&self, entries: Vec<PreparedEntry>) {
        if entries.is_empty() {
            return;
        }
        self.lock().spent.push(entries);
        self.changed.notify_all();
    }

    fn run(&self, task: usize, carried: Option<Box<Framer>>) -> io::Result<Chunk> {
        let (job, index) = self.tasks[task];
        let run = || self.jobs[job].run(index, carried, self.observed);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
            .unwrap_or_else(|_| Err(io::Error::other("a replay worker thread panicked")))
    }

    /// Chunk `index` of `job`, parsed by a worker, or here when no worker has started it; with
    /// `carried` (the chunk before did not end at a clean break) it is framed again, here, by
    /// that framer.
    fn take(&self, job: usize, index: usize, carried: Option<Box<Framer>>) -> io::Result<Chunk> {
        let task = self.first[job] + index;
        let mut q = self.lock();
        loop {
            match std::mem::replace(&mut q.slots[task], Slot::Taken) {
                Slot::Running => {
                    q.slots[task] = Slot::Running;
                    q = self.changed.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                Slot::Done(chunk) => {
                    q.ready -= 1;
                    self.changed.notify_all();
                    drop(q);
                    return match carried {
                        None => chunk,
                        Some(framer) => self.run(task, Some(framer)),
                    };
                }
                Slot::Pending | Slot::Taken => {
                    drop(q);
                    return self.run(task, carried);
                }
            }
        }
    }

    /// Stops the workers (the replay has ended or failed).
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// One chunked file's entries in order, chunk after chunk.
pub struct ChunkedLog {
    job: usize,
    next_chunk: usize,
    /// The current chunk's entries; `entries[next - 1]` is the current one.
    entries: Vec<PreparedEntry>,
    next: usize,
    carried: Option<Box<Framer>>,
    pub bytes: u64,
    framing: Option<Framing>,
    skipped_lines: u64,
    partial_lines: u64,
    /// Chunks framed again by the framer of the chunk before (no clean break between them).
    pub reframed: u64,
}

impl ChunkedLog {
    pub fn new(job: usize) -> ChunkedLog {
        ChunkedLog {
            job,
            next_chunk: 0,
            entries: Vec::new(),
            next: 0,
            carried: None,
            bytes: 0,
            framing: None,
            skipped_lines: 0,
            partial_lines: 0,
            reframed: 0,
        }
    }

    /// Moves to the next entry; `None` at the end of the file.
    pub fn advance(&mut self, pool: &Pool) -> io::Result<Option<SystemTime>> {
        loop {
            if let Some(next) = self.entries.get(self.next) {
                self.next += 1;
                return Ok(Some(next.entry().timestamp));
            }
            // Freed by a worker: the memory is theirs.
            pool.discard(std::mem::take(&mut self.entries));
            self.next = 0;
            if self.next_chunk == pool.job(self.job).chunks() {
                return Ok(None);
            }
            let carried = self.carried.take();
            self.reframed += u64::from(carried.is_some());
            let chunk = pool.take(self.job, self.next_chunk, carried)?;
            self.next_chunk += 1;
            self.bytes += chunk.bytes;
            self.entries = chunk.entries;
            match chunk.end {
                End::Finished(f) => {
                    self.framing.get_or_insert(f);
                    self.skipped_lines += f.skipped_lines;
                    self.partial_lines += f.partial_lines;
                }
                End::Carry(framer) => self.carried = Some(framer),
            }
        }
    }

    /// The current entry (`None` before the first or after the last).
    pub fn current(&self) -> Option<&PreparedEntry> {
        self.next.checked_sub(1).and_then(|i| self.entries.get(i))
    }

    /// Its chunks.
    pub fn chunks(&self) -> usize {
        self.next_chunk
    }

    /// How the file was framed: the first chunk's layout, every chunk's counts.
    pub fn framing(&self) -> Framing {
        Framing {
            skipped_lines: self.skipped_lines,
            partial_lines: self.partial_lines,
            choice: self.framing.and_then(|f| f.choice),
        }
    }
}
