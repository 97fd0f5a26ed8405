//! Step 1 of a poll: expand the globs and stat what they match.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use super::identity::FileKey;
use super::{push_error, PollStats};

/// One file found by the scan.
pub(super) struct Found {
    /// Every matched path of this file (hard links, symlinks), in glob order.
    pub paths: Vec<PathBuf>,
    pub key: FileKey,
    pub size: u64,
    pub mtime: Option<SystemTime>,
}

/// What the scan found, one entry per (device, inode).
pub(super) struct Scan {
    pub found: Vec<Found>,
    by_key: HashMap<FileKey, usize>,
}

impl Scan {
    /// Regular files matched by `include` and not by `exclude`, in glob order; other matched
    /// paths (directories, FIFOs, sockets, devices) are counted in `stats` and never opened.
    pub fn run(include: &[String], exclude: &[glob::Pattern], stats: &mut PollStats) -> Scan {
        let mut scan = Scan {
            found: Vec::new(),
            by_key: HashMap::new(),
        };
        for pattern in include {
            // Patterns were validated in Tailer::new().
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
                if exclude.iter().any(|x| x.matches_path(&path)) {
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
                if meta.is_file() {
                    scan.add(path, &meta);
                } else {
                    let kind = super::NotAFile::of(meta.file_type());
                    stats.not_files[kind.index()] += 1;
                    if stats.skipped.len() < super::MAX_ERRORS_PER_POLL {
                        stats.skipped.push((path, kind));
                    }
                }
            }
        }
        scan
    }

    fn add(&mut self, path: PathBuf, meta: &fs::Metadata) {
        let key = FileKey::of(meta);
        match self.by_key.get(&key) {
            Some(&i) => {
                if !self.found[i].paths.contains(&path) {
                    self.found[i].paths.push(path);
                }
            }
            None => {
                self.by_key.insert(key, self.found.len());
                self.found.push(Found {
                    paths: vec![path],
                    key,
                    size: meta.len(),
                    mtime: meta.modified().ok(),
                });
            }
        }
    }

    /// The file with this device and inode, if the scan found it.
    pub fn get(&self, key: FileKey) -> Option<&Found> {
        self.by_key.get(&key).map(|&i| &self.found[i])
    }

    pub fn contains(&self, key: FileKey) -> bool {
        self.by_key.contains_key(&key)
    }
}
