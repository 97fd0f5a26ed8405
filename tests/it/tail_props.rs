//! Property test of the file tailer: random sequences of appends, rename rotations (into and out
//! of the globs), copytruncates (copy into or out of the globs), deletions, recreations,
//! checkpoints and restarts, on real files, checked against a model of what the consumer must
//! see.
//!
//! The consumer side checks every event as it comes: a stream's `Data` starts exactly where its
//! delivered bytes end (after a restart: where its checkpoint is), its bytes are exactly the
//! file content at those offsets, nothing arrives after `Ended`/`Truncated`, and no content is
//! delivered by two streams. At the end, every piece of written content ("instance": a file's
//! content from creation or truncation on) must have been delivered in full, except for the
//! losses the model predicts exactly:
//! - copytruncate with no copy in the globs: what the tailer had not read at its last poll;
//! - a file gone (deleted, rotated out of the globs) before any poll saw it: everything;
//! - a file gone before a restart's first poll: everything past the checkpoint.
//!
//! Every instance starts with a unique byte, as real logs start with a timestamp, so content
//! identifies its instance.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use kafka_security_exporter::tail::{StreamId, TailConfig, TailEvent, Tailer};
use proptest::prelude::*;

const FINGERPRINT_BYTES: usize = 8;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    /// `app.log` → `app.log.rN` (in the globs); the writer recreates `app.log` on its next write.
    Rotate,
    /// `app.log` → `old/app.log.rN` (out of the globs).
    RotateOut,
    /// Copy `app.log` to `app.log.cN` (or `old/…`), then truncate it.
    CopyTruncate {
        copy_in_globs: bool,
    },
    Delete,
    /// Delete the i-th (mod count) rotated or copied file in the globs.
    DeleteOld(usize),
    Poll,
    /// The consumer applies this share (of 4) of what it received but has not applied.
    Checkpoint(u8),
    /// Checkpoint, save, drop the tailer, start a new one on the same state directory.
    Restart(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..24).prop_map(Op::Append),
        1 => Just(Op::Rotate),
        1 => Just(Op::RotateOut),
        1 => any::<bool>().prop_map(|copy_in_globs| Op::CopyTruncate { copy_in_globs }),
        1 => Just(Op::Delete),
        1 => any::<usize>().prop_map(Op::DeleteOld),
        4 => Just(Op::Poll),
        1 => (0u8..=4).prop_map(Op::Checkpoint),
        1 => (0u8..=4).prop_map(Op::Restart),
    ]
}

/// A file's content from its creation (or truncation) on.
#[derive(Debug, Default)]
struct Instance {
    content: Vec<u8>,
    /// Where it is in the globs; `None` once deleted or moved out.
    path: Option<PathBuf>,
    /// The running tailer has a stream for it (it was in the globs at a poll, or resumed).
    tracked: bool,
    /// The running tailer holds it open (saw it at a poll since it started).
    held: bool,
    /// Bytes the running tailer has read (its read offset).
    read: usize,
    /// Copytruncated since the last poll (its content now lives only in the copy, if any).
    copied: bool,
    /// Final: what the consumer must end up with, if less than everything.
    cap: Option<usize>,
    done: bool,
}

#[derive(Debug, Default)]
struct Consumer {
    instance: Option<usize>,
    delivered: usize,
    applied: usize,
    over: bool,
}

struct World {
    dir: tempfile::TempDir,
    config: TailConfig,
    tailer: Tailer,
    instances: Vec<Instance>,
    /// The instance at `app.log`, if the file exists.
    active: Option<usize>,
    names: usize,
    streams: HashMap<StreamId, Consumer>,
    /// The stream delivering each instance. Another stream may take an instance over only
    /// while the owner has delivered nothing in this process and applied nothing (after an
    /// empty file's inode is reused, an empty fingerprint cannot tell the files apart).
    owner: HashMap<usize, StreamId>,
}

#[derive(Debug)]
enum Ev {
    Data(StreamId, u64, Vec<u8>),
    Over(StreamId),
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("old")).unwrap();
        let mut config = TailConfig::new(vec![dir
            .path()
            .join("app.log*")
            .to_string_lossy()
            .into_owned()]);
        config.state_dir = Some(dir.path().join("state"));
        config.read_chunk_bytes = 5;
        config.fingerprint_bytes = FINGERPRINT_BYTES;
        config.rotate_wait = Duration::ZERO;
        config.max_open_files = 10_000;
        let tailer = Tailer::new(config.clone()).unwrap();
        World {
            dir,
            config,
            tailer,
            instances: Vec::new(),
            active: None,
            names: 0,
            streams: HashMap::new(),
            owner: HashMap::new(),
        }
    }

    fn app(&self) -> PathBuf {
        self.dir.path().join("app.log")
    }

    fn fresh_name(&mut self, in_globs: bool, kind: &str) -> PathBuf {
        self.names += 1;
        if in_globs {
            self.dir
                .path()
                .join(format!("app.log.{kind}{}", self.names))
        } else {
            self.dir
                .path()
                .join("old")
                .join(format!("app.log.{kind}{}", self.names))
        }
    }

    fn new_instance(&mut self) -> usize {
        self.instances.push(Instance {
            path: Some(self.app()),
            ..Instance::default()
        });
        self.instances.len() - 1
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Append(bytes) => {
                let i = match self.active {
                    Some(i) => i,
                    None => {
                        let i = self.new_instance();
                        self.active = Some(i);
                        i
                    }
                };
                let mut write = Vec::new();
                if self.instances[i].content.is_empty() {
                    write.push(u8::try_from(i).expect("fewer than 256 instances"));
                }
                write.extend_from_slice(bytes);
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.app())
                    .unwrap();
                f.write_all(&write).unwrap();
                self.instances[i].content.extend_from_slice(&write);
            }
            Op::Rotate | Op::RotateOut => {
                if let Some(i) = self.active.take() {
                    let in_globs = matches!(op, Op::Rotate);
                    let to = self.fresh_name(in_globs, "r");
                    fs::rename(self.app(), &to).unwrap();
                    self.instances[i].path = in_globs.then_some(to);
                }
            }
            Op::CopyTruncate { copy_in_globs } => {
                if let Some(i) = self.active {
                    let to = self.fresh_name(*copy_in_globs, "c");
                    fs::copy(self.app(), &to).unwrap();
                    OpenOptions::new()
                        .write(true)
                        .open(self.app())
                        .unwrap()
                        .set_len(0)
                        .unwrap();
                    let x = &mut self.instances[i];
                    x.path = copy_in_globs.then_some(to);
                    x.copied = true;
                    // The truncated file is the same inode: a stream that had read nothing of it
                    // cannot tell, and reads on into the new content.
                    let inherits = x.held && x.read == 0;
                    let y = self.new_instance();
                    self.instances[y].held = inherits;
                    self.instances[y].tracked = inherits;
                    self.active = Some(y);
                }
            }
            Op::Delete => {
                if let Some(i) = self.active.take() {
                    fs::remove_file(self.app()).unwrap();
                    self.instances[i].path = None;
                }
            }
            Op::DeleteOld(k) => {
                let app = self.app();
                let old: Vec<usize> = (0..self.instances.len())
                    .filter(|&i| self.instances[i].path.as_ref().is_some_and(|p| *p != app))
                    .collect();
                if !old.is_empty() {
                    let i = old[k % old.len()];
                    let path = self.instances[i].path.take().unwrap();
                    fs::remove_file(path).unwrap();
                }
            }
            Op::Poll => self.poll()?,
            Op::Checkpoint(share) => self.checkpoint(*share),
            Op::Restart(share) => {
                self.checkpoint(*share);
                self.tailer.save().unwrap();
                self.tailer = Tailer::new(self.config.clone()).unwrap();
                for c in self.streams.values_mut() {
                    c.delivered = c.applied;
                }
                // Streams not over: the consumer keeps what it applied, the new tailer resumes
                // there if it can find the file.
                let applied: HashMap<usize, Option<usize>> = self
                    .owner
                    .iter()
                    .map(|(i, s)| {
                        let c = &self.streams[s];
                        (*i, (!c.over).then_some(c.applied))
                    })
                    .collect();
                for (i, x) in self.instances.iter_mut().enumerate() {
                    if !x.tracked {
                        continue;
                    }
                    let Some(c) = applied.get(&i).copied().unwrap_or(Some(0)) else {
                        continue; // its stream ended or was truncated: all applied
                    };
                    x.read = c;
                    x.held = false;
                    if x.path.is_none() {
                        x.cap = Some(c);
                        x.done = true;
                    }
                }
            }
        }
        Ok(())
    }

    fn checkpoint(&mut self, share: u8) {
        for (id, c) in self.streams.iter_mut() {
            if c.over {
                continue;
            }
            c.applied += (c.delivered - c.applied) * usize::from(share) / 4;
            self.tailer.checkpoint(*id, c.applied as u64);
        }
    }

    /// Polls until nothing is pending, checks every event, then updates the model.
    fn poll(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..1000 {
            let mut evs = Vec::new();
            let stats =
                self.tailer
                    .poll(&mut |e| {
                        evs.push(match e {
                            TailEvent::Data {
                                stream,
                                offset,
                                bytes,
                                ..
                            } => Ev::Data(stream, offset, bytes.to_vec()),
                            TailEvent::Truncated { stream, .. }
                            | TailEvent::Ended { stream, .. } => Ev::Over(stream),
                        })
                    })
                    .unwrap();
            prop_assert!(stats.errors.is_empty(), "{:?}", stats.errors);
            for e in evs {
                self.consume(e)?;
            }
            if !stats.more_pending {
                break;
            }
        }
        for x in self.instances.iter_mut().filter(|x| !x.done) {
            if x.path.is_some() {
                // In the globs (at its path, or its copy's): read in full, by the stream that
                // had it or a new one.
                x.tracked = true;
                x.held = true;
                x.read = x.content.len();
            } else {
                // Drained through the open handle, unless it was copytruncated with no copy to
                // follow (the race) or the tailer did not hold it (gone before any poll of this
                // tailer saw it): then what the tailer had read (or resumes from) is all.
                x.cap = Some(if x.held && !x.copied {
                    x.content.len()
                } else {
                    x.read
                });
                x.done = true;
            }
            x.copied = false;
        }
        Ok(())
    }

    fn consume(&mut self, e: Ev) -> Result<(), TestCaseError> {
        match e {
            Ev::Data(id, offset, bytes) => {
                prop_assert!(!bytes.is_empty());
                let owner = self.owner.clone();
                let idle: Vec<StreamId> = self
                    .streams
                    .iter()
                    .filter(|(_, c)| c.delivered == 0 && c.applied == 0)
                    .map(|(s, _)| *s)
                    .collect();
                let c = self.streams.entry(id).or_default();
                prop_assert!(!c.over, "data for stream {id} after it ended");
                prop_assert_eq!(offset, c.delivered as u64, "stream {} not contiguous", id);
                if c.delivered == 0 {
                    // The first byte names the instance.
                    let i = usize::from(bytes[0]);
                    prop_assert!(i < self.instances.len(), "unknown content {:?}", bytes);
                    if let Some(other) = owner.get(&i) {
                        prop_assert!(
                            *other == id || idle.contains(other),
                            "instance {} delivered by streams {} and {}",
                            i,
                            other,
                            id
                        );
                    }
                    c.instance = Some(i);
                    self.owner.insert(i, id);
                }
                let i = c.instance.unwrap();
                let content = &self.instances[i].content;
                let end = c.delivered + bytes.len();
                prop_assert!(end <= content.len(), "stream {id} beyond instance {i}");
                prop_assert_eq!(
                    &content[c.delivered..end],
                    &bytes[..],
                    "stream {} instance {}",
                    id,
                    i
                );
                c.delivered = end;
            }
            Ev::Over(id) => {
                let c = self.streams.entry(id).or_default();
                prop_assert!(!c.over, "stream {id} ended twice");
                c.over = true;
                c.applied = c.delivered;
                self.tailer.checkpoint(id, c.applied as u64);
            }
        }
        Ok(())
    }

    fn check_final(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..3 {
            self.poll()?;
        }
        let delivered: HashMap<usize, usize> = self
            .owner
            .iter()
            .map(|(i, s)| (*i, self.streams[s].delivered))
            .collect();
        for (i, x) in self.instances.iter().enumerate() {
            let expected = x.cap.unwrap_or(x.content.len()).min(x.content.len());
            let got = delivered.get(&i).copied().unwrap_or(0);
            prop_assert_eq!(
                got,
                expected,
                "instance {} ({} bytes written)",
                i,
                x.content.len()
            );
        }
        Ok(())
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut w = World::new();
    for op in ops {
        w.apply(op)?;
    }
    w.check_final()
}

proptest! {
    #![proptest_config(crate::support::proptest_config(256))]

    #[test]
    fn tailer_delivers_every_byte_once(ops in proptest::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}

#[test]
fn model_sees_copytruncate_losses() {
    // The model's loss rule is exercised: bytes written after the last poll and truncated away
    // with the copy out of the globs are not delivered, and the check expects exactly that.
    let ops = [
        Op::Append(b"abc".to_vec()),
        Op::Poll,
        Op::Append(b"lost".to_vec()),
        Op::CopyTruncate {
            copy_in_globs: false,
        },
        Op::Append(b"next".to_vec()),
    ];
    let mut w = World::new();
    for op in &ops {
        w.apply(op).unwrap();
    }
    w.check_final().unwrap();
    assert_eq!(w.instances[0].cap, Some(4));
    assert_eq!(w.instances[0].content.len(), 8);
}
