//! The first-seen detectors' memory: hash → last-seen time, capped (the least recently seen
//! forgotten first) and aged out beyond a horizon, in one flat table of 12 bytes a slot.
//!
//! # Times
//!
//! A last-seen time is kept in whole seconds since the UNIX epoch (a `u32`: until 2106), the
//! event time in milliseconds **rounded up** ([`secs_ceil`]). A key last seen at second `s` is
//! known at `at` (millis) while `at <= s·1000 + horizon`. As `s·1000` is never before the event,
//! a key is never unknown earlier than with exact milliseconds; it may stay known up to 999 ms
//! longer. With events at whole seconds nothing changes. Forgetting follows the same rule: at
//! `now`, [`Memory::age_out`] forgets exactly the keys no longer known, those with
//! `s·1000 < now − horizon`, i.e. `s < ⌈(now − horizon) / 1000⌉`. The least recently seen are
//! those of the smallest second; keys of the same second are ordered by hash.
//!
//! # The table
//!
//! Open addressing with linear probing over one array of 12-byte slots (hash, second) at a load
//! of at most 7/8. The table is allocated at the first insert ([`FIRST_SLOTS`] slots) and
//! doubles as it fills while under a sixteenth of the cap's size ([`LAST_STEP`]), then takes
//! the size for the cap (`max + max/7 + 1` slots: 1.37 MB for the default 100,000), which it
//! never outgrows. A few remembered keys thus touch a few hundred bytes, not a page of the cap's
//! table each (a table of the cap's size from the start cost the calm replay 1.2 MB); with the
//! default cap, from about 7,000 keys on the cap's table is there. A hash's home slot is its multiply-high "fastrange"
//! (`hash · slots / 2⁶⁴`), so the slot count need not be a power of two. The hash 0 marks an
//! empty slot: a key of 0 is stored as [`ZERO`] (everywhere: lookups, restore; a save writes
//! [`ZERO`]). Entries are only ever deleted in a sweep that moves the entries after them back
//! (backward shift, as in Knuth's Algorithm R, for all holes at once), so there are no
//! tombstones and the table never degrades.
//!
//! At the cap the least recently seen eighth is forgotten at once, in place: a radix selection
//! over the table finds the last (second, hash) to forget, then one sweep deletes every entry
//! up to it ([`Memory::forget_below`]). No entry is copied out, and nothing is allocated.

use serde_json::{json, Value};

use crate::detect::config::FirstSeen;

/// What a hash of 0 is stored as, 0 marking an empty slot.
const ZERO: u64 = 0x9e37_79b9_7f4a_7c15;

/// The table's size at the first insert (or the cap's, if smaller).
const FIRST_SLOTS: usize = 16;

/// A table at least this fraction of the cap's size is followed by the cap's; a smaller one
/// doubles. With the default cap the table goes from 8,192 slots (96 KiB) to the cap's, so every
/// table it outgrows is one glibc serves from the thread's arena, where a freed block is soon
/// reused: glibc maps blocks of 128 KiB and more on their own, and unmapping one raises its
/// mapping threshold to that block's size, after which more of the large transient buffers stay
/// in the arena (with the tables doubling all the way, the attack replay peaked 1.1 MB higher).
/// Doubling below a sixteenth keeps a table of a large cap no sparser than that: its pages are
/// touched as keys come, not all by the first few thousand.
const LAST_STEP: usize = 16;

/// How few candidates a selection picks from directly (copied to the stack: 16 KiB) rather than
/// taking another radix pass. Fewer in tests, so that they take the radix passes too.
const FEW: usize = if cfg!(test) { 16 } else { 1024 };

/// The hash as stored: 0 is [`ZERO`].
fn stored(key: u64) -> u64 {
    if key == 0 {
        ZERO
    } else {
        key
    }
}

/// Event time in millis → whole seconds, rounded up (the last second a `u32` holds at most).
fn secs_ceil(ms: u64) -> u32 {
    u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX)
}

/// An entry's place in the least-recently-seen order: its second, then its hash.
fn order(secs: u32, key: u64) -> u128 {
    (u128::from(secs) << 64) | u128::from(key)
}

/// A hash (0: the slot is empty) and when it was last seen, in seconds since the epoch
/// (rounded up). Packed: 12 bytes, not 16.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Slot {
    key: u64,
    secs: u32,
}

impl Slot {
    const EMPTY: Slot = Slot { key: 0, secs: 0 };
}

/// Hash → last-seen second, capped at `max`, least recently seen forgotten first.
///
/// At the cap, the least recently seen eighth is forgotten at once (the oldest by last-seen
/// second, ties by hash: the larger hashes are kept). Entries past the horizon are forgotten by
/// [`Memory::age_out`] (exactly, on every tick) and, between ticks, by a scan at most every 1/64
/// of the horizon of event time; an entry past the horizon and not yet forgotten still counts as
/// unseen.
pub(super) struct Memory {
    /// No slots (no allocation) until the first insert.
    slots: Box<[Slot]>,
    len: usize,
    max: usize,
    /// Millis.
    horizon: u64,
    /// No entry was last seen before this second (a lower bound: exact after each sweep).
    oldest: u32,
    /// No entry was last seen after this second (an upper bound: exact after each sweep).
    newest: u32,
    /// Event time (millis) before which inserting a key does not scan for entries past the
    /// horizon.
    next_scan: u64,
}

impl Memory {
    pub(super) fn new(config: &FirstSeen) -> Memory {
        Memory {
            slots: Box::default(),
            len: 0,
            max: config.max_remembered.max(1),
            horizon: config.horizon.0.as_millis() as u64,
            oldest: u32::MAX,
            newest: 0,
            next_scan: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether `key` was seen within the horizon before `at` (millis); remembers it as seen at
    /// `at`, in the same lookup.
    pub(super) fn seen(&mut self, key: u64, at: u64) -> bool {
        let key = stored(key);
        match self.find(key) {
            Ok(i) => {
                let last = self.slots[i].secs;
                self.slots[i].secs = last.max(secs_ceil(at));
                self.newest = self.newest.max(self.slots[i].secs);
                at <= (u64::from(last) * 1000).saturating_add(self.horizon)
            }
            Err(empty) => {
                self.insert_new(key, at, empty);
                false
            }
        }
    }

    /// Remembers `key` as seen at `at` (millis).
    #[cfg(test)]
    fn touch(&mut self, key: u64, at: u64) {
        let key = stored(key);
        match self.find(key) {
            Ok(i) => {
                self.slots[i].secs = self.slots[i].secs.max(secs_ceil(at));
                self.newest = self.newest.max(self.slots[i].secs);
            }
            Err(empty) => self.insert_new(key, at, empty),
        }
    }

    /// Forgets everything last seen more than the horizon before `now` (millis).
    pub(super) fn age_out(&mut self, now: u64) {
        let cutoff = secs_ceil(now.saturating_sub(self.horizon));
        if self.oldest >= cutoff {
            return;
        }
        // Hashes are never 0, so this is "last seen before the cutoff second".
        self.forget_below(order(cutoff, 0));
    }

    /// `[[hash, last_seen_millis], …]`, the least recently seen first.
    pub(super) fn save(&self) -> Value {
        let mut entries: Vec<u128> = self.entries().collect();
        entries.sort_unstable();
        Value::Array(
            entries
                .into_iter()
                .map(|e| json!([e as u64, (e >> 64) as u64 * 1000]))
                .collect(),
        )
    }

    /// Replaces the memory by a saved one (millis rounded up to the second). A hash listed twice
    /// keeps its later time; over the cap, the most recently seen are kept.
    pub(super) fn restore(&mut self, state: &Value) -> Result<(), String> {
        let entries = state.as_array().ok_or("not a list of [hash, millis]")?;
        let mut restored = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let (key, last) = entry
                .as_array()
                .filter(|p| p.len() == 2)
                .and_then(|p| Some((p[0].as_u64()?, p[1].as_u64()?)))
                .ok_or_else(|| format!("entry {i} is not [hash, millis]"))?;
            restored.push(order(secs_ceil(last), stored(key)));
        }
        // By hash, the latest first, then one per hash.
        restored.sort_unstable_by_key(|&e| (e as u64, std::cmp::Reverse(e)));
        restored.dedup_by_key(|e| *e as u64);
        // A smaller cap than the run that saved it: keep the most recently seen.
        if restored.len() > self.max {
            let first_kept = restored.len() - self.max;
            restored.select_nth_unstable(first_kept);
            restored.drain(..first_kept);
        }
        self.clear();
        self.next_scan = 0;
        if !restored.is_empty() {
            self.reserve(restored.len());
        }
        for e in restored {
            let key = e as u64;
            let empty = self.find(key).expect_err("each hash is restored once");
            self.insert(key, (e >> 64) as u32, empty);
        }
        Ok(())
    }

    /// Every entry as its [`order`].
    fn entries(&self) -> impl Iterator<Item = u128> + '_ {
        self.slots
            .iter()
            .filter(|slot| slot.key != 0)
            .map(|slot| order(slot.secs, slot.key))
    }

    /// The home slot of a (stored) hash.
    fn home(&self, key: u64) -> usize {
        ((u128::from(key) * self.slots.len() as u128) >> 64) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() {
            0
        } else {
            i + 1
        }
    }

    /// The slot of `key`, else the empty slot where it would go (`usize::MAX` before the table
    /// is allocated).
    fn find(&self, key: u64) -> Result<usize, usize> {
        if self.slots.is_empty() {
            return Err(usize::MAX);
        }
        let mut i = self.home(key);
        loop {
            // A copy: the packed field cannot be borrowed.
            let k = self.slots[i].key;
            if k == key {
                return Ok(i);
            }
            if k == 0 {
                return Err(i);
            }
            i = self.next(i);
        }
    }

    /// Remembers a `key` not remembered, at `empty`, the slot [`Memory::find`] gave it, making
    /// room first if need be.
    fn insert_new(&mut self, key: u64, at: u64, mut empty: usize) {
        let before = (self.len, self.slots.len());
        if at >= self.next_scan {
            self.next_scan = at.saturating_add((self.horizon / 64).max(1));
            self.age_out(at);
        }
        if self.len >= self.max {
            self.forget_oldest((self.max / 8).max(1));
        }
        self.reserve(self.len + 1);
        if (self.len, self.slots.len()) != before {
            // Entries moved (or the table did): look again.
            empty = self.find(key).expect_err("the key is not remembered");
        }
        self.insert(key, secs_ceil(at), empty);
    }

    /// Makes the table big enough for `entries` (at most `max`) at a load of at most 7/8:
    /// [`FIRST_SLOTS`], doubled while under a [`LAST_STEP`]th of the cap's size, then the cap's.
    fn reserve(&mut self, entries: usize) {
        let full = self.max + self.max / 7 + 1;
        let mut slots = self.slots.len().max(FIRST_SLOTS.min(full));
        while entries * 8 > slots * 7 && slots < full {
            slots = if full <= slots.saturating_mul(LAST_STEP) {
                full
            } else {
                slots * 2
            };
        }
        if slots == self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; slots].into_boxed_slice());
        for slot in old.iter().filter(|slot| slot.key != 0) {
            let empty = self
                .find(slot.key)
                .expect_err("each hash is in the table once");
            self.slots[empty] = *slot;
        }
    }

    fn insert(&mut self, key: u64, secs: u32, empty: usize) {
        debug_assert!(self.slots[empty].key == 0 && key != 0 && self.len < self.max);
        self.slots[empty] = Slot { key, secs };
        self.len += 1;
        self.oldest = self.oldest.min(secs);
        self.newest = self.newest.max(secs);
    }

    fn clear(&mut self) {
        self.slots.fill(Slot::EMPTY);
        self.len = 0;
        self.oldest = u32::MAX;
        self.newest = 0;
    }

    /// Forgets the `count` least recently seen (ties: the smaller hashes).
    fn forget_oldest(&mut self, count: usize) {
        if count >= self.len {
            self.clear();
        } else if count > 0 {
            let last_forgotten = self.select(count - 1);
            self.forget_below(last_forgotten + 1);
        }
    }

    /// The entry of rank `rank` (from 0) in [`order`], by a radix selection over the table in
    /// place: the candidates start as every entry, between `oldest` and `newest`; each pass
    /// counts them by the next 8 bits below their common prefix and keeps the bucket where the
    /// rank falls. Once at most [`FEW`] remain, one more pass copies them out and picks. Event
    /// times of a flood lie within a few bits of each other: in the attack replay (1,000 new
    /// keys a second) one radix pass leaves about 500, so a selection takes two passes.
    fn select(&self, mut rank: usize) -> u128 {
        debug_assert!(rank < self.len);
        let mut lo = order(self.oldest, 0);
        let mut hi = order(self.newest, u64::MAX);
        let mut count = self.len;
        loop {
            if count <= FEW {
                let mut few = [0u128; FEW];
                let candidates = self.entries().filter(|e| (lo..=hi).contains(e));
                for (slot, e) in few.iter_mut().zip(candidates) {
                    *slot = e;
                }
                return *few[..count].select_nth_unstable(rank).1;
            }
            // Entries are at most 96 bits, so `below` is at most 96.
            let below = 128 - (lo ^ hi).leading_zeros();
            let shift = below.saturating_sub(8);
            let mut counts = [0usize; 256];
            for e in self.entries().filter(|e| (lo..=hi).contains(e)) {
                counts[((e >> shift) & 0xff) as usize] += 1;
            }
            let mut digit = 0;
            while rank >= counts[digit] {
                rank -= counts[digit];
                digit += 1;
            }
            count = counts[digit];
            let bucket = ((lo >> below) << below) | ((digit as u128) << shift);
            lo = lo.max(bucket);
            hi = hi.min(bucket | ((1u128 << shift) - 1));
        }
    }

    /// Forgets every entry whose [`order`] is below `bound`, in one sweep over the table.
    ///
    /// The sweep starts after an empty slot `s` and goes once round the table. At each slot it
    /// empties an entry to forget; an entry kept moves back to the first empty slot from its
    /// home on, if there is one before its own slot (the holes left behind are filled this way,
    /// as deleting one entry by backward shift would, but in one pass for all of them). Why the
    /// table is sound after it (every entry reachable from its home, no empty slot between):
    /// since `s` is empty, every entry's home lies between `s` and the entry, before the sweep
    /// and (as entries only move back towards their home) throughout. An entry kept is placed,
    /// when the sweep reaches it, at the first empty slot from its home, so none lies between;
    /// afterwards slots are only emptied further on (where the sweep is), past that entry and
    /// before `s`, so none ever comes between. Each entry is met once (a moved one goes behind
    /// the sweep), which is where `oldest` is taken.
    fn forget_below(&mut self, bound: u128) {
        // The table is never full, unless it has no slots at all.
        let Some(start) = self.slots.iter().position(|slot| slot.key == 0) else {
            return;
        };
        let (mut oldest, mut newest) = (u32::MAX, 0);
        let mut j = start;
        for _ in 1..self.slots.len() {
            j = self.next(j);
            let slot = self.slots[j];
            if slot.key == 0 {
                continue;
            }
            if order(slot.secs, slot.key) < bound {
                self.slots[j] = Slot::EMPTY;
                self.len -= 1;
                continue;
            }
            oldest = oldest.min(slot.secs);
            newest = newest.max(slot.secs);
            let mut to = self.home(slot.key);
            while to != j && self.slots[to].key != 0 {
                to = self.next(to);
            }
            if to != j {
                self.slots[to] = slot;
                self.slots[j] = Slot::EMPTY;
            }
        }
        self.oldest = oldest;
        self.newest = newest;
    }
}

#[cfg(test)]
mod tests;
