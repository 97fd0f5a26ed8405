//! What identifies a file: its device and inode ([`FileKey`]) and a fingerprint of its first
//! bytes ([`Fingerprint`]); and how a file is opened and its first bytes read without racing a
//! rename (the path is re-checked against the key it was found with).

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FileKey {
    pub dev: u64,
    pub ino: u64,
}

impl FileKey {
    pub fn of(meta: &Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// `(len, hash of the first len bytes)`; FNV-1a, stable across builds because it is persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    pub len: u32,
    pub hash: u64,
}

impl Fingerprint {
    pub fn of(bytes: &[u8]) -> Fingerprint {
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

    /// The fingerprint of a file's first bytes, `prefix`, cut at `fp_bytes`.
    pub fn of_prefix(prefix: &[u8], fp_bytes: usize) -> Fingerprint {
        Fingerprint::of(&prefix[..prefix.len().min(fp_bytes)])
    }

    /// Whether `prefix` (the file's first bytes, as many as were available) starts with the
    /// fingerprinted bytes.
    pub fn matches(self, prefix: &[u8]) -> bool {
        let len = self.len as usize;
        prefix.len() >= len && Fingerprint::of(&prefix[..len]) == self
    }
}

/// How many first bytes one poll fingerprints and reads.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// [`super::TailConfig::fingerprint_bytes`]: the length of a new fingerprint.
    pub fp_bytes: usize,
    /// At least `fp_bytes`: checkpoints saved with a longer `fingerprint_bytes` keep their
    /// longer fingerprints, and are compared with as many bytes.
    pub prefix_limit: usize,
}

/// A file opened by the claim step, with its first bytes.
pub(super) struct Opened {
    pub file: File,
    pub size: u64,
    pub mtime: Option<SystemTime>,
    pub prefix: Vec<u8>,
}

/// Opens `path` if it still is the file `key`, with its first `limit` bytes.
pub(super) fn open_prefix(path: &Path, key: FileKey, limit: usize) -> io::Result<Option<Opened>> {
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

/// Opens `path` if it still is the file `key` (it may have been replaced since the scan).
pub(super) fn open_verified(path: &Path, key: FileKey) -> io::Result<Option<File>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok((FileKey::of(&file.metadata()?) == key).then_some(file))
}

/// The file's first `min(size, limit)` bytes.
pub(super) fn read_prefix(file: &File, size: u64, limit: usize) -> io::Result<Vec<u8>> {
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
