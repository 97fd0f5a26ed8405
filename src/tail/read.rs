//! Steps 4 to 6 of a poll: read what is new in every open stream (bounded per file), end the
//! rotated-away and deleted streams that have been drained long enough, and close idle files
//! beyond `max_open_files`.

use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use super::identity::FileKey;
use super::{
    push_error, Phase, PollStats, Stream, StreamId, TailEvent, Tailer, CHUNKS_PER_FILE_PER_POLL,
};

impl Tailer {
    /// Reads every open stream in `Reading`, at most [`CHUNKS_PER_FILE_PER_POLL`] chunks each.
    pub(super) fn read(
        &mut self,
        now: Instant,
        on: &mut dyn FnMut(TailEvent<'_>),
        stats: &mut PollStats,
    ) {
        let budget = self.config.read_chunk_bytes * CHUNKS_PER_FILE_PER_POLL;
        let Tailer { streams, buf, .. } = self;
        for s in streams.values_mut() {
            if s.phase != Phase::Reading {
                continue;
            }
            let Some((read, at_eof)) = read_stream(s, buf, budget, on, stats) else {
                continue; // closed
            };
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
    }

    /// Ends the rotated-away and deleted streams that have been idle at EOF for `rotate_wait`
    /// and whose first path now holds another file (or that were deleted).
    pub(super) fn end_rotated(
        &mut self,
        now: Instant,
        on: &mut dyn FnMut(TailEvent<'_>),
        stats: &mut PollStats,
    ) {
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
            // Listed just above.
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
    }

    /// Respects `max_open_files`: closes the longest-idle files that can be reopened by path.
    pub(super) fn close_for_limit(&mut self, stats: &mut PollStats) {
        let max = self.config.max_open_files;
        let open = self.open_files();
        if open > max {
            let mut closable: Vec<(Instant, StreamId)> = self
                .streams
                .values()
                .filter(|s| s.file.is_some() && s.present && !s.deleted)
                .filter_map(|s| s.idle_since.map(|t| (t, s.id)))
                .collect();
            closable.sort();
            for (_, id) in closable.into_iter().take(open - max) {
                // Listed just above.
                self.streams.get_mut(&id).expect("listed above").file = None;
                stats.closed_for_limit += 1;
            }
        }
    }

    pub(super) fn open_files(&self) -> usize {
        self.streams.values().filter(|s| s.file.is_some()).count()
    }
}

/// Reads `s` from its read offset through `buf` until EOF or `budget` bytes, handing each chunk
/// to `on`. Returns the bytes read and whether EOF was reached; `None` if the file is closed.
fn read_stream(
    s: &mut Stream,
    buf: &mut [u8],
    budget: usize,
    on: &mut dyn FnMut(TailEvent<'_>),
    stats: &mut PollStats,
) -> Option<(usize, bool)> {
    let file = s.file.as_ref()?;
    let mut read = 0usize;
    while read < budget {
        match file.read_at(buf, s.read_offset) {
            Ok(0) => return Some((read, true)),
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
                push_error(stats, &s.path, &e);
                break;
            }
        }
    }
    Some((read, false))
}
