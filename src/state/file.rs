//! The snapshot file, `<state_dir>/state.snapshot`: a one-line header, then the body.
//!
//! ```text
//! {"format":"kafka-security-exporter state snapshot","version":1,"body_bytes":12345,"sha256":"…"}
//! {"written_unix_ms":…,"cluster":…,"metrics":[…],"positions":{…}}
//! ```
//!
//! The header names the format and version and carries the body's length and SHA-256, so a
//! file that is cut short, padded or damaged is refused with the reason, never half-loaded.
//! Written atomically: a temporary file in the same directory, fsync, rename over the old one,
//! fsync of the directory. A crash at any point leaves the old snapshot or the new one, whole.
//!
//! A snapshot whose Kafka offsets must be committed before it counts is written first as
//! `state.snapshot.next` (the same way), and renamed over `state.snapshot` once the commit landed
//! ([`promote`]); see "Two phases" in [`super`].

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metrics::durable::SavedFamily;

/// The file name inside `state_dir`.
pub const FILE_NAME: &str = "state.snapshot";

/// A snapshot written, whose offsets are being committed (see [`promote`]).
pub const NEXT_FILE_NAME: &str = "state.snapshot.next";

/// What the header's `format` says.
const FORMAT: &str = "kafka-security-exporter state snapshot";

/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state snapshot {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// Starting without it would count again what it holds, or from 0: the file is kept.
    #[error("the state snapshot {path} is corrupt: {problem} (the exporter writes it atomically, so it was damaged or replaced; move it away to start from the committed offsets and checkpoints with counters at 0)")]
    Corrupt { path: PathBuf, problem: String },
    #[error("cannot write the state snapshot {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    /// The snapshot at `path` (`state.snapshot.next`) does not count until its offsets are
    /// committed.
    #[error(
        "cannot commit the offsets of the state snapshot {path} for source {source_name}: {reason}"
    )]
    Commit {
        path: PathBuf,
        source_name: String,
        reason: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    body_bytes: u64,
    sha256: String,
}

/// What one snapshot holds: every durable counter and histogram, and each source's position,
/// taken together under the cut (see [`super`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// When it was taken (wall clock, for people reading the file).
    pub written_unix_ms: u64,
    /// The `cluster` label its series carried.
    pub cluster: Option<String>,
    pub metrics: Vec<SavedFamily>,
    /// By source name, in the source's own shape (Kafka: topic → partition → next offset to
    /// apply; files: the tailer's checkpoints).
    pub positions: BTreeMap<String, serde_json::Value>,
    /// Which snapshot this is: its process and sequence number, the tag its offset commits carry.
    /// Absent in snapshots written before commits were tagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<Tag>,
}

/// A snapshot's name in the offset commits that make it count: the process that took it (random
/// per start) and its sequence number in that process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub incarnation: String,
    pub seq: u64,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A [`Snapshot`] as it serializes, borrowing: `metrics` serializes as a list of
/// [`SavedFamily`] (the state store streams it from a cut of the registry).
#[derive(Serialize)]
pub struct SnapshotRef<'a, M: Serialize> {
    pub written_unix_ms: u64,
    pub cluster: &'a Option<String>,
    pub metrics: M,
    pub positions: &'a BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<&'a Tag>,
}

/// The file's bytes.
pub fn encode(snapshot: &Snapshot) -> Vec<u8> {
    encode_ref(&SnapshotRef {
        written_unix_ms: snapshot.written_unix_ms,
        cluster: &snapshot.cluster,
        metrics: &snapshot.metrics,
        positions: &snapshot.positions,
        tag: snapshot.tag.as_ref(),
    })
}

/// The file's bytes, from a borrowed snapshot.
pub fn encode_ref<M: Serialize>(snapshot: &SnapshotRef<'_, M>) -> Vec<u8> {
    // Plain structs of strings and numbers (sums are finite, see `durable::saved`) and JSON
    // values serialize into a Vec without failing.
    let body = serde_json::to_vec(snapshot).expect("snapshot serializes");
    let header = Header {
        format: FORMAT.to_string(),
        version: VERSION,
        body_bytes: body.len() as u64,
        sha256: sha256_hex(&body),
    };
    let mut out = serde_json::to_vec(&header).expect("header serializes");
    out.push(b'\n');
    out.extend_from_slice(&body);
    out
}

/// Reads `bytes` (the file at `path`, named in errors).
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Snapshot, StateError> {
    let corrupt = |problem: String| StateError::Corrupt {
        path: path.to_path_buf(),
        problem,
    };
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(corrupt(format!(
            "no header line ({} bytes, not a snapshot or cut short)",
            bytes.len()
        )));
    };
    let header: Header = serde_json::from_slice(&bytes[..newline])
        .map_err(|e| corrupt(format!("unreadable header ({e})")))?;
    if header.format != FORMAT {
        return Err(corrupt(format!(
            "not a state snapshot (format {:?})",
            header.format
        )));
    }
    if header.version != VERSION {
        return Err(corrupt(format!(
            "version {} is not supported (this build reads version {VERSION})",
            header.version
        )));
    }
    let body = &bytes[newline + 1..];
    if body.len() as u64 != header.body_bytes {
        return Err(corrupt(format!(
            "the body has {} bytes, the header says {} (cut short or appended to)",
            body.len(),
            header.body_bytes
        )));
    }
    if sha256_hex(body) != header.sha256 {
        return Err(corrupt(
            "the body's SHA-256 does not match the header's".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| corrupt(format!("unreadable body ({e})")))
}

/// The snapshot in `dir`; `Ok(None)` when there is none yet. A leftover temporary file (a write
/// cut short by a crash) is never read.
pub fn load(dir: &Path) -> Result<Option<Snapshot>, StateError> {
    load_file(dir, FILE_NAME)
}

/// The snapshot whose commit was under way when the last process stopped, if any.
pub fn load_next(dir: &Path) -> Result<Option<Snapshot>, StateError> {
    load_file(dir, NEXT_FILE_NAME)
}

fn load_file(dir: &Path, name: &str) -> Result<Option<Snapshot>, StateError> {
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => decode(&path, &bytes).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Read { path, source }),
    }
}

/// Writes `bytes` as the snapshot in `dir` atomically (see the module docs). `pause`, for tests
/// only, holds the write half-way through the temporary file, so a test can kill the process
/// there.
pub fn write_atomic(dir: &Path, bytes: &[u8], pause: Option<Duration>) -> Result<(), StateError> {
    write_atomic_as(dir, FILE_NAME, bytes, pause)
}

/// [`write_atomic`] under another name (`state.snapshot.next`).
pub fn write_atomic_as(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    pause: Option<Duration>,
) -> Result<(), StateError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let err = |source: io::Error| StateError::Write {
        path: path.clone(),
        source,
    };
    // A state directory deleted while we run is made again (as at start).
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        match pause {
            Some(pause) => {
                let half = bytes.len() / 2;
                f.write_all(&bytes[..half])?;
                f.sync_all()?;
                std::thread::sleep(pause);
                f.write_all(&bytes[half..])?;
            }
            None => f.write_all(bytes)?,
        }
        f.sync_all()?;
        fs::rename(&tmp, &path)
    })();
    if written.is_err() {
        // A partial temporary file would hold space a full disk needs back.
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(err)?;
    // The rename is durable only once the directory entry is.
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err)?;
    Ok(())
}

/// Makes `state.snapshot.next` the snapshot (a rename, then an fsync of the directory).
pub fn promote(dir: &Path) -> Result<(), StateError> {
    let path = dir.join(FILE_NAME);
    let err = |source: io::Error| StateError::Write {
        path: path.clone(),
        source,
    };
    fs::rename(dir.join(NEXT_FILE_NAME), &path).map_err(err)?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)
}

/// Removes `state.snapshot.next` (a commit that did not land). Absent is fine.
pub fn discard_next(dir: &Path) -> Result<(), StateError> {
    let path = dir.join(NEXT_FILE_NAME);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StateError::Write { path, source: e }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::durable::{SavedSeries, SavedValue};

    fn snapshot() -> Snapshot {
        Snapshot {
            written_unix_ms: 1,
            cluster: Some("c1".into()),
            metrics: vec![SavedFamily {
                name: "kafka_security_events_total".into(),
                series: vec![SavedSeries {
                    labels: vec![("source".into(), "audit".into())],
                    value: SavedValue::Counter(42),
                }],
            }],
            positions: [("audit".to_string(), serde_json::json!({"t": {"0": 17}}))].into(),
            tag: Some(Tag {
                incarnation: "00ff".into(),
                seq: 3,
            }),
        }
    }

    #[test]
    fn a_snapshot_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        write_atomic(dir.path(), &encode(&snapshot()), None).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(snapshot()));
        assert!(!dir.path().join("state.snapshot.tmp").exists());
    }

    /// Every way a file can be damaged is refused with the reason, naming the file.
    #[test]
    fn a_damaged_snapshot_is_refused_with_the_reason() {
        let good = encode(&snapshot());
        let newline = good.iter().position(|&b| b == b'\n').unwrap();
        let mut flipped = good.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x01;
        let other_version =
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"version\":1", "\"version\":9", 1);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", Vec::new(), "no header line"),
            ("header only", good[..newline].to_vec(), "no header line"),
            ("cut short", good[..good.len() - 10].to_vec(), "cut short"),
            ("appended to", [&good[..], b"x"].concat(), "appended to"),
            ("a flipped bit", flipped, "SHA-256 does not match"),
            (
                "another file",
                b"{\"a\":1}\n{}".to_vec(),
                "unreadable header",
            ),
            (
                "a newer version",
                other_version.into_bytes(),
                "version 9 is not supported",
            ),
        ];
        for (what, bytes, needle) in cases {
            let error = decode(Path::new("/s/state.snapshot"), &bytes).unwrap_err();
            let text = error.to_string();
            assert!(text.contains("/s/state.snapshot"), "{what}: {text}");
            assert!(text.contains(needle), "{what}: {text}");
            assert!(text.contains("move it away"), "{what}: {text}");
        }
    }

    /// A write cut short leaves the temporary file, which is never read: the last whole
    /// snapshot is loaded.
    #[test]
    fn a_torn_temporary_file_is_never_loaded() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), &encode(&snapshot()), None).unwrap();
        let mut newer = snapshot();
        newer.written_unix_ms = 2;
        let bytes = encode(&newer);
        fs::write(
            dir.path().join("state.snapshot.tmp"),
            &bytes[..bytes.len() / 2],
        )
        .unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(snapshot()));
        // The next write replaces the leftover.
        write_atomic(dir.path(), &bytes, None).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(newer));
    }

    #[test]
    fn a_failed_write_keeps_the_old_snapshot_and_removes_its_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), &encode(&snapshot()), None).unwrap();
        // A directory in the snapshot's place makes the rename fail.
        let blocked = tempfile::tempdir().unwrap();
        fs::create_dir(blocked.path().join(FILE_NAME)).unwrap();
        fs::write(blocked.path().join(FILE_NAME).join("x"), "x").unwrap();
        let error = write_atomic(blocked.path(), &encode(&snapshot()), None).unwrap_err();
        assert!(error
            .to_string()
            .contains("cannot write the state snapshot"));
        assert!(!blocked.path().join("state.snapshot.tmp").exists());
        assert_eq!(load(dir.path()).unwrap(), Some(snapshot()));
    }
}
