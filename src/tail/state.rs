//! The checkpoint file: `<state_dir>/tail-checkpoints.json`, versioned, written atomically.
//!
//! It holds, per stream, the file's identity (device, inode, fingerprint), its last path and the
//! path where it was first seen, and the **checkpoint** (what the consumer applied), never the read
//! offset. A state file that cannot be read or understood is an error naming the file and the
//! problem: silently starting over would count every line again.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::identity::{FileKey, Fingerprint};
use super::{CopyOf, Phase, Stream, StreamId, TailError, Tailer};

/// The version this build writes and reads.
pub(super) const VERSION: u32 = 1;

/// The file name inside `state_dir`.
pub(super) const FILE_NAME: &str = "tail-checkpoints.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateFile {
    pub version: u32,
    /// The next stream id to hand out, so ids are never reused across restarts.
    pub next_stream: u64,
    pub streams: Vec<StreamRecord>,
    /// Files recognised as copies of a stream (never read); kept so a restart does not read them.
    #[serde(default)]
    pub copies: Vec<CopyRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StreamRecord {
    pub stream: u64,
    pub path: String,
    pub origin: String,
    pub dev: u64,
    pub ino: u64,
    pub fingerprint_len: u32,
    pub fingerprint: u64,
    /// Bytes before this offset were applied by the consumer.
    pub checkpoint: u64,
    /// The stream was drained and ended; it is kept only so its file is not read again.
    pub ended: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CopyRecord {
    pub path: String,
    pub dev: u64,
    pub ino: u64,
    pub of_stream: u64,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

/// Reads the state file; `Ok(None)` when there is none yet.
pub(super) fn load(path: &Path) -> Result<Option<StateFile>, TailError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(TailError::StateRead {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let corrupt = |problem: String| TailError::StateCorrupt {
        path: path.to_path_buf(),
        problem,
    };
    let version: VersionOnly = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("not a tailer state file ({e})")))?;
    if version.version != VERSION {
        return Err(corrupt(format!(
            "state version {} is not supported (this build reads version {VERSION})",
            version.version
        )));
    }
    let state: StateFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    check(&state, path)?;
    Ok(Some(state))
}

/// The consistency a state read from `path` must have.
fn check(state: &StateFile, path: &Path) -> Result<(), TailError> {
    let corrupt = |problem: String| TailError::StateCorrupt {
        path: path.to_path_buf(),
        problem,
    };
    if state.version != VERSION {
        return Err(corrupt(format!(
            "state version {} is not supported (this build reads version {VERSION})",
            state.version
        )));
    }
    let mut ids: Vec<u64> = state.streams.iter().map(|s| s.stream).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(corrupt(format!("stream {} appears twice", w[0])));
    }
    if let Some(&max) = ids.last() {
        if state.next_stream <= max {
            return Err(corrupt(format!(
                "next_stream {} is not above the largest stream id {max}",
                state.next_stream
            )));
        }
    }
    Ok(())
}

/// Serializes the state (deterministically, so unchanged state gives identical bytes).
pub(super) fn encode(state: &StateFile) -> Vec<u8> {
    // Serializing plain structs of integers and strings into a Vec cannot fail.
    serde_json::to_vec_pretty(state).expect("state serializes")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename,
/// fsync of the directory. A crash leaves either the old or the new file, never a torn one.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TailError> {
    let err = |source: io::Error| TailError::StateWrite {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let tmp: PathBuf = path.with_extension("json.tmp");
    // A state directory deleted while we run is made again (as at start).
    if !dir.as_os_str().is_empty() && !dir.exists() {
        fs::create_dir_all(&dir).map_err(err)?;
    }
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        // A partial temporary file would hold space a full disk needs back.
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(err)?;
    // The rename is durable only once the directory entry is; not every platform allows opening
    // a directory, and there the rename alone is the best we can do.
    if let Ok(d) = fs::File::open(&dir) {
        d.sync_all().map_err(err)?;
    }
    Ok(())
}

impl Tailer {
    /// The checkpoints, as [`Tailer::save`] writes them, for a state snapshot to save.
    pub fn checkpoint_state(&self) -> serde_json::Value {
        // Plain structs of integers and strings serialize without failing.
        serde_json::to_value(self.snapshot()).expect("state serializes")
    }

    /// Replaces the checkpoints with `saved` (a [`Tailer::checkpoint_state`], from the state
    /// snapshot restored at start; `from` names it in errors), before the first poll. Returns
    /// how many streams it holds. The checkpoint file is rewritten at the next save.
    pub fn resume_from(
        &mut self,
        saved: &serde_json::Value,
        from: &Path,
    ) -> Result<usize, TailError> {
        let state: StateFile =
            serde_json::from_value(saved.clone()).map_err(|e| TailError::StateCorrupt {
                path: from.to_path_buf(),
                problem: format!("not a file source's checkpoints ({e})"),
            })?;
        check(&state, from)?;
        self.streams.clear();
        self.copies.clear();
        self.restore(&state);
        self.last_saved = None;
        Ok(state.streams.len())
    }

    /// Takes over the streams and copies of a loaded state file: every stream is unverified
    /// until a poll finds its file, and resumes at its checkpoint.
    pub(super) fn restore(&mut self, loaded: &StateFile) {
        self.fresh = false;
        self.next_id = loaded.next_stream.max(1);
        for r in &loaded.streams {
            let id = StreamId(r.stream);
            let key = FileKey {
                dev: r.dev,
                ino: r.ino,
            };
            let fp = Fingerprint {
                len: r.fingerprint_len,
                hash: r.fingerprint,
            };
            let (path, origin) = (PathBuf::from(&r.path), PathBuf::from(&r.origin));
            let mut s = Stream::new(id, key, path, origin, fp, r.checkpoint);
            if r.ended {
                s.phase = Phase::Ended;
            }
            self.streams.insert(id, s);
        }
        self.copies = loaded
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
        self.last_saved = Some(encode(&self.snapshot()));
    }

    /// What [`Tailer::save`] persists: the checkpoints, never the read offsets.
    pub(super) fn snapshot(&self) -> StateFile {
        let lossy = |p: &Path| p.to_string_lossy().into_owned();
        StateFile {
            version: VERSION,
            next_stream: self.next_id,
            streams: self
                .streams
                .values()
                .map(|s| StreamRecord {
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
                .map(|c| CopyRecord {
                    path: lossy(&c.path),
                    dev: c.key.dev,
                    ino: c.key.ino,
                    of_stream: c.of.0,
                })
                .collect(),
        }
    }
}
