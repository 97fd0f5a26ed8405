//! Fixed-bucket windows, the building blocks of the windowed detectors:
//! - [`Buckets`]: the geometry of one window (bucket width, buckets per window);
//! - [`Counter`]: events of one subject in the window, a ring of per-bucket counts;
//! - [`Distinct`]: distinct values (their hashes) of one subject in the window, at most `limit`;
//! - [`Subjects`]: the subjects of one detector, capped, with [`OVERFLOW`] past the cap.
//!
//! Everything is in event-time milliseconds ([`super::millis`]). The count "in the window" is the
//! sum of the last `window / bucket` buckets, the newest one included; an event older than that,
//! relative to the newest bucket its counter has seen, is dropped.

use hashbrown::HashTable;

use super::config::Window;
use super::{Key, OVERFLOW};

/// Longest subject name kept, in bytes; a longer one is cut at a character boundary (its hash
/// still covers the whole text, so two long names stay two subjects).
pub(super) const MAX_SUBJECT_BYTES: usize = 256;

/// Buckets per window at most (what the config checks allow).
const MAX_BUCKETS: u64 = 10_000;

/// The geometry of one window counted in fixed buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Buckets {
    /// Bucket width in milliseconds, at least 1.
    width: u64,
    /// Buckets in the window, at least 1: `window / bucket`, rounded down.
    len: u64,
}

impl Buckets {
    /// The geometry of `w`. A config that passed its checks has at most [`MAX_BUCKETS`] buckets
    /// per window; one that did not gets wider buckets rather than a huge ring per subject.
    pub(super) fn new(w: Window) -> Buckets {
        let window = (w.window.0.as_millis() as u64).max(1);
        let mut width = (w.bucket().as_millis() as u64).max(1);
        if window / width > MAX_BUCKETS {
            width = window.div_ceil(MAX_BUCKETS);
        }
        let len = (window / width).max(1);
        Buckets { width, len }
    }

    /// The bucket (its number since the epoch) that `at` falls in.
    pub(super) fn of(&self, at: u64) -> u64 {
        at / self.width
    }

    /// When bucket `b` starts.
    pub(super) fn start(&self, b: u64) -> u64 {
        b.saturating_mul(self.width)
    }

    /// Whether bucket `b` is inside the window whose newest bucket is `newest`.
    pub(super) fn covers(&self, newest: u64, b: u64) -> bool {
        b <= newest && newest - b < self.len
    }

    /// The oldest bucket of the window whose newest bucket is `newest`.
    fn oldest(&self, newest: u64) -> u64 {
        newest.saturating_sub(self.len - 1)
    }

    /// The window in milliseconds: whole buckets.
    pub(super) fn span(&self) -> u64 {
        self.width.saturating_mul(self.len)
    }

    /// Bucket width in milliseconds.
    pub(super) fn width(&self) -> u64 {
        self.width
    }
}

/// Events of one subject in the window: a ring of per-bucket counts, their sum, and the time of
/// the earliest event counted.
///
/// `first` is exact until a bucket holding counted events leaves the window; from then on it is
/// the start of the oldest bucket still holding some (the evidence starts no earlier).
#[derive(Debug, Clone)]
pub(super) struct Counter {
    counts: Box<[u32]>,
    /// The newest bucket counted into (the ring's head).
    newest: u64,
    /// Sum of `counts`.
    total: u64,
    /// Event time of the earliest event counted; `u64::MAX` when none is.
    first: u64,
}

impl Counter {
    pub(super) fn new(g: &Buckets) -> Counter {
        Counter {
            counts: vec![0; g.len as usize].into_boxed_slice(),
            newest: 0,
            total: 0,
            first: u64::MAX,
        }
    }

    /// Counts one event at `at`; `false` (and nothing counted) when it is older than the window.
    pub(super) fn add(&mut self, g: &Buckets, at: u64) -> bool {
        let b = g.of(at);
        self.advance(g, b);
        if !g.covers(self.newest, b) {
            return false;
        }
        let slot = (b % g.len) as usize;
        self.counts[slot] = self.counts[slot].saturating_add(1);
        self.total += 1;
        self.first = self.first.min(at);
        true
    }

    /// Moves the window on to end at `at` (if later), forgetting what leaves it: for a count "now"
    /// without counting an event.
    pub(super) fn advance_to(&mut self, g: &Buckets, at: u64) {
        self.advance(g, g.of(at));
    }

    /// Moves the head up to bucket `b` (if later), forgetting buckets that leave the window.
    fn advance(&mut self, g: &Buckets, b: u64) {
        if b <= self.newest {
            return;
        }
        if self.total > 0 {
            if b - self.newest >= g.len {
                self.counts.fill(0);
                self.total = 0;
            } else {
                for k in self.newest + 1..=b {
                    let slot = (k % g.len) as usize;
                    self.total -= u64::from(self.counts[slot]);
                    self.counts[slot] = 0;
                }
            }
        }
        self.newest = b;
        if self.total == 0 {
            self.first = u64::MAX;
        } else if self.first < g.start(g.oldest(b)) {
            // The earliest counted event left; the evidence now starts in the oldest bucket
            // still holding events.
            let oldest = (g.oldest(b)..=b)
                .find(|k| self.counts[(k % g.len) as usize] > 0)
                .unwrap_or(b);
            self.first = g.start(oldest);
        }
    }

    /// Events in the window ending at the newest bucket counted into.
    pub(super) fn count(&self) -> u64 {
        self.total
    }

    /// Event time of the earliest event counted (`u64::MAX` when none is).
    pub(super) fn first(&self) -> u64 {
        self.first
    }

    /// Forgets every event, keeping the head (so events older than the window stay dropped).
    pub(super) fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.first = u64::MAX;
    }

    /// Whether nothing it counts is in the window ending at `now`.
    pub(super) fn is_expired(&self, g: &Buckets, now: u64) -> bool {
        self.total == 0 || !g.covers(g.of(now), self.newest)
    }
}

/// Distinct values (by hash) of one subject in the window: at most `limit` of them (the
/// detector's threshold, passed to [`Distinct::insert`]: not kept in every subject's set), each
/// with the last bucket it was seen in. Values that left the window are evicted as soon as the
/// newest bucket moves on, so the set holds only values in the window and a new value is dropped
/// only when `limit` values are in the window already (a detector has fired by then and cleared
/// it).
///
/// `first` is exact until a value leaves the window; from then on it is at least the start of
/// the oldest bucket a remaining value was last seen in.
#[derive(Debug, Clone)]
pub(super) struct Distinct {
    items: Vec<(u64, u64)>,
    newest: u64,
    first: u64,
}

impl Distinct {
    /// An empty set, allocated as values come: room for one value first (most subjects of a
    /// flood of new ones bring one value and go), then as a `Vec` grows. Lookups scan the set:
    /// thresholds are meant to be tens, not thousands.
    pub(super) fn new() -> Distinct {
        Distinct {
            items: Vec::new(),
            newest: 0,
            first: u64::MAX,
        }
    }

    /// Adds value `hash` seen at `at` unless `limit` values are held; `false` when the event is
    /// older than the window.
    pub(super) fn insert(&mut self, g: &Buckets, hash: u64, at: u64, limit: u64) -> bool {
        let b = g.of(at);
        self.advance_to(g, at);
        if !g.covers(self.newest, b) {
            return false;
        }
        if let Some(item) = self.items.iter_mut().find(|(h, _)| *h == hash) {
            item.1 = item.1.max(b);
        } else if (self.items.len() as u64) < limit.max(1) {
            if self.items.capacity() == 0 {
                self.items.reserve_exact(1);
            }
            self.items.push((hash, b));
        } else {
            return true;
        }
        self.first = self.first.min(at);
        true
    }

    /// Moves the window on to end at `at` (if later), forgetting values that leave it.
    pub(super) fn advance_to(&mut self, g: &Buckets, at: u64) {
        let b = g.of(at);
        if b > self.newest {
            self.newest = b;
            self.evict_expired(g);
        }
    }

    fn evict_expired(&mut self, g: &Buckets) {
        let newest = self.newest;
        self.items.retain(|&(_, b)| g.covers(newest, b));
        match self.items.iter().map(|&(_, b)| b).min() {
            None => self.first = u64::MAX,
            Some(oldest) if self.first < g.start(g.oldest(newest)) => self.first = g.start(oldest),
            Some(_) => {}
        }
    }

    /// Distinct values in the window.
    pub(super) fn len(&self) -> u64 {
        self.items.len() as u64
    }

    /// Event time of the earliest event counted (`u64::MAX` when none is).
    pub(super) fn first(&self) -> u64 {
        self.first
    }

    /// Forgets every value, keeping the head and the allocation.
    pub(super) fn clear(&mut self) {
        self.items.clear();
        self.first = u64::MAX;
    }

    /// Whether no value it holds is in the window ending at `now`.
    pub(super) fn is_expired(&self, g: &Buckets, now: u64) -> bool {
        self.items.is_empty() || !g.covers(g.of(now), self.newest)
    }
}

/// One tracked subject.
#[derive(Debug)]
pub(super) struct Entry<S> {
    hash: u64,
    /// The subject as the input wrote it (cut at [`MAX_SUBJECT_BYTES`]), or [`OVERFLOW`].
    name: Box<str>,
    overflow: bool,
    pub(super) state: S,
}

impl<S> Entry<S> {
    /// The subject, for a detection.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is the [`OVERFLOW`] subject, where subjects beyond the cap are tracked.
    pub(super) fn is_overflow(&self) -> bool {
        self.overflow
    }
}

/// The subjects of one detector, at most `max` of them plus [`OVERFLOW`].
///
/// When full, a new subject first makes the map sweep out subjects whose state the detector says
/// is expired (at most once per `granularity` of event time, so a flood of new subjects costs one
/// sweep per bucket, not one per event); if that frees no room the event is tracked under
/// [`OVERFLOW`] and counted in [`Subjects::overflowed`].
#[derive(Debug)]
pub(super) struct Subjects<S> {
    table: HashTable<Entry<S>>,
    overflow: Option<Entry<S>>,
    max: usize,
    overflowed: u64,
    /// The latest event time (or tick) seen.
    clock: u64,
    /// Sweep period (milliseconds): the detector's narrowest bucket.
    granularity: u64,
    /// `clock / granularity` at the last sweep, `u64::MAX` before the first.
    swept: u64,
}

fn cut(text: &str) -> &str {
    if text.len() <= MAX_SUBJECT_BYTES {
        return text;
    }
    let mut end = MAX_SUBJECT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Drops the entries (the overflow one too) that `expired(state, clock)` says are over.
fn sweep<S>(
    table: &mut HashTable<Entry<S>>,
    overflow: &mut Option<Entry<S>>,
    clock: u64,
    expired: &impl Fn(&S, u64) -> bool,
) {
    table.retain(|e| !expired(&e.state, clock));
    if overflow.as_ref().is_some_and(|e| expired(&e.state, clock)) {
        *overflow = None;
    }
}

impl<S> Subjects<S> {
    pub(super) fn new(max: usize, granularity: u64) -> Subjects<S> {
        Subjects {
            table: HashTable::new(),
            overflow: None,
            max: max.max(1),
            overflowed: 0,
            clock: 0,
            granularity: granularity.max(1),
            swept: u64::MAX,
        }
    }

    /// The entry of `key`, created by `new` if it is not tracked yet; past the cap (after a
    /// sweep of what `expired(state, clock)` says is over) the [`OVERFLOW`] entry. `at` is the
    /// event's time; it moves the clock on. Allocates only for a new subject.
    pub(super) fn get_or_insert(
        &mut self,
        key: Key<'_>,
        at: u64,
        new: impl FnOnce() -> S,
        expired: impl Fn(&S, u64) -> bool,
    ) -> &mut Entry<S> {
        self.clock = self.clock.max(at);
        let name = cut(key.text);
        let eq = |e: &Entry<S>| e.hash == key.hash && *e.name == *name;
        let table = match self.table.find_entry(key.hash, eq) {
            Ok(found) => return found.into_mut(),
            Err(absent) => absent.into_table(),
        };
        if table.len() >= self.max && self.swept != self.clock / self.granularity {
            self.swept = self.clock / self.granularity;
            sweep(table, &mut self.overflow, self.clock, &expired);
        }
        if table.len() >= self.max {
            self.overflowed += 1;
            return self.overflow.get_or_insert_with(|| Entry {
                hash: 0,
                name: OVERFLOW.into(),
                overflow: true,
                state: new(),
            });
        }
        let entry = Entry {
            hash: key.hash,
            name: name.into(),
            overflow: false,
            state: new(),
        };
        table.insert_unique(key.hash, entry, |e| e.hash).into_mut()
    }

    /// The entry of `key` if it is tracked; never creates one.
    pub(super) fn find_mut(&mut self, key: Key<'_>) -> Option<&mut Entry<S>> {
        let name = cut(key.text);
        self.table
            .find_mut(key.hash, |e| e.hash == key.hash && *e.name == *name)
    }

    /// The entry of `key` if it is tracked, else the [`OVERFLOW`] entry if some event went
    /// there (an untracked subject may be one of those); never creates one.
    pub(super) fn find_or_overflow(&mut self, key: Key<'_>) -> Option<&mut Entry<S>> {
        let name = cut(key.text);
        self.table
            .find_mut(key.hash, |e| e.hash == key.hash && *e.name == *name)
            .or(self.overflow.as_mut())
    }

    /// Time has passed up to `now`: drops every subject `expired(state, clock)` says is over.
    pub(super) fn tick(&mut self, now: u64, expired: impl Fn(&S, u64) -> bool) {
        self.clock = self.clock.max(now);
        self.swept = self.clock / self.granularity;
        sweep(&mut self.table, &mut self.overflow, self.clock, &expired);
    }

    /// Subjects tracked now, [`OVERFLOW`] included.
    pub(super) fn len(&self) -> usize {
        self.table.len() + usize::from(self.overflow.is_some())
    }

    /// Events tracked under [`OVERFLOW`] since start.
    pub(super) fn overflowed(&self) -> u64 {
        self.overflowed
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::config::Span;
    use super::*;

    /// A 5 s window in 1 s buckets.
    fn five_by_one() -> Buckets {
        Buckets::new(Window {
            window: Span(Duration::from_secs(5)),
            bucket: Some(Span(Duration::from_secs(1))),
        })
    }

    fn key(text: &str) -> Key<'_> {
        Key {
            hash: ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(text),
            text,
        }
    }

    #[test]
    fn buckets_cover_the_last_window_over_bucket_buckets() {
        let g = five_by_one();
        assert_eq!(g.of(4_999), 4);
        assert!(g.covers(9, 5) && g.covers(9, 9));
        assert!(!g.covers(9, 4) && !g.covers(9, 10));
        // A window that is no multiple of its bucket counts the whole buckets inside it.
        let g = Buckets::new(Window {
            window: Span(Duration::from_secs(5)),
            bucket: Some(Span(Duration::from_secs(2))),
        });
        assert!(g.covers(10, 9) && !g.covers(10, 8));
        // Default bucket: a tenth of the window.
        let g = Buckets::new(Window {
            window: Span(Duration::from_secs(300)),
            bucket: None,
        });
        assert_eq!((g.width(), g.len), (30_000, 10));
        // An unchecked config with a million buckets per window gets wider ones.
        let g = Buckets::new(Window {
            window: Span(Duration::from_secs(1000)),
            bucket: Some(Span(Duration::from_millis(1))),
        });
        assert_eq!((g.width(), g.len, g.span()), (100, 10_000, 1_000_000));
    }

    #[test]
    fn a_counter_counts_the_window_and_forgets_what_leaves_it() {
        let g = five_by_one();
        let mut c = Counter::new(&g);
        for at in [1_000, 1_500, 3_000] {
            assert!(c.add(&g, at));
        }
        assert_eq!((c.count(), c.first()), (3, 1_000));
        // Bucket 5 still covers buckets 1..=5.
        assert!(c.add(&g, 5_999));
        assert_eq!((c.count(), c.first()), (4, 1_000));
        // Bucket 6 drops bucket 1: the evidence now starts in bucket 3.
        assert!(c.add(&g, 6_000));
        assert_eq!((c.count(), c.first()), (3, 3_000));
        // Late, but inside the window: counted in its own bucket.
        assert!(c.add(&g, 2_100));
        assert_eq!((c.count(), c.first()), (4, 2_100));
        // Older than the window: dropped.
        assert!(!c.add(&g, 1_999));
        assert_eq!(c.count(), 4);
        // A jump past the whole window forgets everything.
        assert!(c.add(&g, 60_000));
        assert_eq!((c.count(), c.first()), (1, 60_000));
        assert!(!c.is_expired(&g, 64_999));
        assert!(c.is_expired(&g, 65_000));
        c.clear();
        assert_eq!((c.count(), c.first()), (0, u64::MAX));
        assert!(c.is_expired(&g, 60_000));
        assert!(!c.add(&g, 1_000), "the head survives a clear");
    }

    #[test]
    fn a_distinct_set_holds_at_most_its_limit_and_only_the_window() {
        let g = five_by_one();
        let mut d = Distinct::new();
        assert!(d.insert(&g, 1, 1_000, 3));
        assert_eq!(d.items.capacity(), 1, "room for one value first");
        assert!(d.insert(&g, 1, 2_000, 3));
        assert!(d.insert(&g, 2, 2_000, 3));
        assert_eq!((d.len(), d.first()), (2, 1_000));
        assert!(d.insert(&g, 3, 2_500, 3));
        assert!(d.insert(&g, 4, 2_600, 3), "counted as seen, but no room");
        assert_eq!(d.len(), 3);
        assert!(d.items.capacity() <= 16 && d.items.len() <= 3);
        // Value 1 was last seen in bucket 2; bucket 7 leaves buckets 2 and older behind.
        assert!(d.insert(&g, 5, 7_000, 3));
        assert_eq!(d.len(), 1);
        assert_eq!(d.first(), 7_000);
        assert!(!d.insert(&g, 6, 2_999, 3));
        assert!(d.is_expired(&g, 12_000) && !d.is_expired(&g, 11_999));
        d.clear();
        assert!(d.is_expired(&g, 7_000));
    }

    #[test]
    fn subjects_are_capped_with_expired_ones_evicted_first() {
        let g = five_by_one();
        let mut s: Subjects<Counter> = Subjects::new(2, g.width());
        let expired = |c: &Counter, now| c.is_expired(&g, now);
        s.get_or_insert(key("a"), 1_000, || Counter::new(&g), expired)
            .state
            .add(&g, 1_000);
        s.get_or_insert(key("b"), 3_000, || Counter::new(&g), expired)
            .state
            .add(&g, 3_000);
        let c = s.get_or_insert(key("c"), 3_000, || Counter::new(&g), expired);
        assert!(c.is_overflow() && c.name() == OVERFLOW);
        c.state.add(&g, 3_000);
        assert_eq!((s.len(), s.overflowed()), (3, 1));
        // A known subject still finds its own entry when full.
        let a = s.get_or_insert(key("a"), 3_100, || Counter::new(&g), expired);
        assert_eq!((a.name(), a.state.count()), ("a", 1));
        // At 6 s `a` (bucket 1) has left the window: `d` takes its place.
        let d = s.get_or_insert(key("d"), 6_000, || Counter::new(&g), expired);
        assert!(!d.is_overflow() && d.name() == "d");
        assert!(s.find_mut(key("a")).is_none());
        assert!(s.find_mut(key("b")).is_some());
        assert_eq!(s.overflowed(), 1);
        // A tick sweeps the rest (and the overflow entry) once they are over.
        s.tick(60_000, expired);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn long_subject_names_are_cut_but_stay_distinct() {
        let g = five_by_one();
        let mut s: Subjects<Counter> = Subjects::new(10, g.width());
        let long_a = format!("{}a", "é".repeat(200));
        let long_b = format!("{}b", "é".repeat(200));
        let expired = |c: &Counter, now| c.is_expired(&g, now);
        let a = s.get_or_insert(key(&long_a), 0, || Counter::new(&g), expired);
        assert!(a.name().len() <= MAX_SUBJECT_BYTES && long_a.starts_with(a.name()));
        a.state.add(&g, 0);
        let b = s.get_or_insert(key(&long_b), 0, || Counter::new(&g), expired);
        assert_eq!(b.state.count(), 0);
        assert_eq!(s.len(), 2);
    }
}
