//! Step 2 of a poll: compare every known stream with the file the scan found at its device and
//! inode — follow renames, detect truncation, verify checkpoints loaded from the state file.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;

use super::identity::{open_verified, read_prefix, FileKey, Limits};
use super::scan::{Found, Scan};
use super::{push_error, Phase, PollStats, Stream, StreamId, Tailer};

/// What the identity steps of one poll decided, file by file and stream by stream.
pub(super) struct Claims {
    pub lim: Limits,
    /// Files held by a stream or a copy: not new.
    pub claimed: HashSet<FileKey>,
    /// Streams whose files are gone or hold other content now: dropped (ended first if they
    /// were still reading).
    pub retired: Vec<StreamId>,
    /// Ended streams whose files have more to read: they go on under a new id.
    pub regrown: Vec<StreamId>,
}

impl Claims {
    pub fn new(lim: Limits) -> Claims {
        Claims {
            lim,
            claimed: HashSet::new(),
            retired: Vec::new(),
            regrown: Vec::new(),
        }
    }
}

impl Tailer {
    /// Known streams: follow renames, detect truncation, verify loaded checkpoints. A closed
    /// stream with an empty fingerprint has no evidence but its inode, which may have been
    /// reused: it is returned ("weak") and waits for [`Tailer::match_weak`], once the streams
    /// matching by content have claimed their files.
    pub(super) fn match_known(
        &mut self,
        scan: &Scan,
        claims: &mut Claims,
        stats: &mut PollStats,
    ) -> Vec<StreamId> {
        let mut weak: Vec<StreamId> = Vec::new();
        for s in self.streams.values_mut() {
            let f = scan.get(s.key);
            s.present = f.is_some();
            if let Some(f) = f {
                if !f.paths.contains(&s.path) {
                    s.path = f.paths[0].clone();
                }
                if s.file.is_none() && s.fp.len == 0 && !claims.claimed.contains(&f.key) {
                    weak.push(s.id);
                    continue;
                }
            }
            check_known(s, f, claims, stats);
        }
        weak
    }

    /// The weak inode matches left by [`Tailer::match_known`], against the files nothing claimed.
    pub(super) fn match_weak(
        &mut self,
        weak: Vec<StreamId>,
        scan: &Scan,
        claims: &mut Claims,
        stats: &mut PollStats,
    ) {
        for id in weak {
            // Listed by match_known; no stream is removed before this step.
            let s = self.streams.get_mut(&id).expect("listed above");
            let f = scan.get(s.key).filter(|f| !claims.claimed.contains(&f.key));
            if f.is_none() {
                s.present = false;
            }
            check_known(s, f, claims, stats);
        }
    }
}

/// Compares a known stream with its file (`f`, found by inode; `None` if the scan did not find
/// it): follows content, detects truncation, verifies a loaded checkpoint.
fn check_known(s: &mut Stream, f: Option<&Found>, claims: &mut Claims, stats: &mut PollStats) {
    if s.file.is_none() && !reopen(s, f, claims, stats) {
        return;
    }
    // The file is open (it was, or reopen() opened it): compare it with what we know.
    let file = s.file.as_ref().expect("opened above");
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            push_error(stats, &s.path, &e);
            claims.claimed.insert(s.key);
            return;
        }
    };
    let size = meta.len();
    let mtime = meta.modified().ok();
    s.deleted = meta.nlink() == 0;
    let changed = !s.located || size != s.last_size || mtime != s.last_mtime;
    let mut same_content = size >= s.read_offset;
    if same_content && changed {
        match read_prefix(file, size, claims.lim.prefix_limit) {
            Ok(prefix) => {
                same_content = s.fp.matches(&prefix);
                if same_content {
                    s.grow_fingerprint(&prefix, claims.lim.fp_bytes);
                }
            }
            Err(e) => {
                push_error(stats, &s.path, &e);
                claims.claimed.insert(s.key);
                return;
            }
        }
    }
    let previous_size = s.last_size;
    s.last_size = size;
    s.last_mtime = mtime;
    if same_content {
        claims.claimed.insert(s.key);
        s.located = true;
        match s.phase {
            Phase::Reading => {}
            Phase::Ended if size > s.read_offset => claims.regrown.push(s.id),
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
            claims.retired.push(s.id); // ended long ago; nothing to tell the consumer
        }
        // A loaded checkpoint stays unverified: it may be found by fingerprint.
    }
}

/// Reopens the file of a closed stream when it may have changed; whether it is open now.
fn reopen(s: &mut Stream, f: Option<&Found>, claims: &mut Claims, stats: &mut PollStats) -> bool {
    let Some(f) = f else {
        // Gone while closed (or not found after a restart): nothing more can be read. A loaded
        // checkpoint may still be found by fingerprint.
        if s.located {
            claims.retired.push(s.id);
        }
        return false;
    };
    if s.located && f.size == s.last_size && f.mtime == s.last_mtime {
        claims.claimed.insert(s.key);
        return false;
    }
    match open_verified(&f.paths[0], s.key) {
        Ok(Some(file)) => {
            s.file = Some(file);
            true
        }
        Ok(None) => false, // replaced between scan and open: next poll
        Err(e) => {
            push_error(stats, &f.paths[0], &e);
            if s.located {
                claims.claimed.insert(s.key);
            }
            false
        }
    }
}
