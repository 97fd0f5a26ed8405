//! Step 3 of a poll: the files no stream holds. Each is opened once: first a truncated stream's
//! copy or a loaded checkpoint found by fingerprint, then (after the weak inode matches) copies
//! of live streams and new streams. Then the streams the identity steps gave up on end.

use super::identity::{open_prefix, Fingerprint, Opened};
use super::known::Claims;
use super::scan::{Found, Scan};
use super::{push_error, CopyOf, Phase, PollStats, StartAt, Stream, StreamId, TailEvent, Tailer};

/// New files a poll opens even when `max_open_files` are open already.
pub(super) const MIN_NEW_OPENS_PER_POLL: usize = 16;

impl Tailer {
    /// Copies stay copies while their file is found and their stream's content is where it was;
    /// their files are claimed.
    pub(super) fn keep_copies(&mut self, scan: &Scan, claims: &mut Claims) {
        let streams = &self.streams;
        self.copies.retain(|c| {
            // A copy of a stream whose file was just truncated is where its content went.
            scan.contains(c.key) && streams.get(&c.of).is_none_or(|s| s.located)
        });
        for c in &mut self.copies {
            claims.claimed.insert(c.key);
            if let Some(f) = scan.get(c.key) {
                c.path = f.paths[0].clone();
            }
        }
    }

    /// Opens every file nothing claimed (as many as `max_open_files` allows: the others are
    /// [`PollStats::deferred_files`], opened by the next polls) and lets an unlocated stream continue in it (see
    /// [`Tailer::claim_by_content`]). Returns the files left, opened, by their index in the scan.
    pub(super) fn open_unclaimed(
        &mut self,
        scan: &Scan,
        claims: &mut Claims,
        stats: &mut PollStats,
    ) -> Vec<Option<Opened>> {
        let mut opened: Vec<Option<Opened>> = Vec::with_capacity(scan.found.len());
        // Each opened file holds a descriptor until the poll ends: open no more than
        // max_open_files allows (at least a few, so new files are never starved by busy ones),
        // and leave the rest to the next polls.
        let mut budget = self
            .config
            .max_open_files
            .saturating_sub(self.open_files())
            .max(MIN_NEW_OPENS_PER_POLL);
        for f in &scan.found {
            if claims.claimed.contains(&f.key) {
                opened.push(None);
                continue;
            }
            if budget == 0 {
                stats.deferred_files += 1;
                stats.more_pending = true;
                opened.push(None);
                continue;
            }
            let o = match open_prefix(&f.paths[0], f.key, claims.lim.prefix_limit) {
                Ok(o) => {
                    budget -= usize::from(o.is_some());
                    o
                }
                Err(e) => {
                    push_error(stats, &f.paths[0], &e);
                    None
                }
            };
            let o = match o {
                Some(o) => match self.claim_by_content(f, o, claims.lim.fp_bytes) {
                    Ok(grew) => {
                        claims.regrown.extend(grew);
                        claims.claimed.insert(f.key);
                        stats.copies_followed += 1;
                        None
                    }
                    Err(o) => Some(o),
                },
                None => None,
            };
            opened.push(o);
        }
        opened
    }

    /// Lets an unlocated stream (truncated this poll, or a loaded checkpoint not found by inode)
    /// whose first bytes this file starts with continue in it; gives the file back if none does.
    /// Returns the stream if it had ended and has more to read (it goes on under a new id).
    fn claim_by_content(
        &mut self,
        f: &Found,
        o: Opened,
        fp_bytes: usize,
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
                    && (s.fp.len as usize >= fp_bytes || u64::from(s.fp.len) >= s.read_offset)
            })
            .max_by_key(|s| (s.fp.len, std::cmp::Reverse(s.id)))
            .map(|s| s.id);
        let Some(id) = candidate else {
            return Err(o);
        };
        // Found in the map just above.
        let s = self.streams.get_mut(&id).expect("candidate exists");
        s.grow_fingerprint(&o.prefix, fp_bytes);
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

    /// Ended streams with more to read: their writer kept writing after the rotation, or the
    /// consumer had not checkpointed all of them before a restart. They read on under a new id,
    /// so the consumer (which flushed the old one) sees a fresh stream.
    pub(super) fn renew(&mut self, regrown: Vec<StreamId>, stats: &mut PollStats) {
        for id in regrown {
            if let Some(mut s) = self.streams.remove(&id) {
                let new = self.new_id();
                s.id = new;
                s.phase = Phase::Reading;
                s.checkpoint = s.read_offset;
                s.idle_since = None;
                self.streams.insert(new, s);
                stats.new_streams += 1;
            }
        }
    }

    /// Drops the streams whose files are gone; one still reading ends.
    pub(super) fn retire(
        &mut self,
        retired: Vec<StreamId>,
        on: &mut dyn FnMut(TailEvent<'_>),
        stats: &mut PollStats,
    ) {
        for id in retired {
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
    }

    /// The files still unclaimed: a copy of a live stream's whole fingerprint is recorded as a
    /// copy; any other is a new stream (from its end only on a fresh tailer's first poll with
    /// `start_at: end`).
    pub(super) fn start_new(
        &mut self,
        scan: &Scan,
        opened: Vec<Option<Opened>>,
        claims: &Claims,
        stats: &mut PollStats,
    ) {
        let fp_bytes = claims.lim.fp_bytes;
        let start_at_end = self.fresh && !self.polled && self.config.start_at == StartAt::End;
        for (f, o) in scan.found.iter().zip(opened) {
            let Some(o) = o else { continue };
            if claims.claimed.contains(&f.key) {
                continue;
            }
            let path = &f.paths[0];
            let fp = Fingerprint::of_prefix(&o.prefix, fp_bytes);
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
            let id = self.new_id();
            let offset = if start_at_end { o.size } else { 0 };
            let mut s = Stream::new(id, f.key, path.clone(), path.clone(), fp, offset);
            s.file = Some(o.file);
            s.located = true;
            s.present = true;
            s.last_size = o.size;
            s.last_mtime = o.mtime;
            self.streams.insert(id, s);
            stats.new_streams += 1;
        }
    }

    /// Truncated streams whose content was not found elsewhere end; loaded checkpoints whose
    /// files are gone are dropped.
    pub(super) fn drop_lost(&mut self, on: &mut dyn FnMut(TailEvent<'_>), stats: &mut PollStats) {
        let lost: Vec<StreamId> = self
            .streams
            .values()
            .filter(|s| !s.located)
            .map(|s| s.id)
            .collect();
        for id in lost {
            // Listed just above.
            let s = self.streams.remove(&id).expect("listed above");
            if s.orphan {
                on(TailEvent::Truncated {
                    stream: s.id,
                    path: &s.path,
                });
                stats.truncations += 1;
            }
        }
    }
}
