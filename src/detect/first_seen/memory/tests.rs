use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;

use super::{secs_ceil, stored, Memory, ZERO};
use crate::detect::config::{FirstSeen, Span};

fn memory(max: usize, horizon: u64) -> Memory {
    Memory::new(&FirstSeen {
        max_remembered: max,
        horizon: Span(Duration::from_millis(horizon)),
        ..Default::default()
    })
}

/// `(hash, last seen millis)`, by hash.
fn remembered(m: &Memory) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = m
        .entries()
        .map(|e| (e as u64, (e >> 64) as u64 * 1000))
        .collect();
    v.sort_unstable();
    v
}

/// The table's invariants: every entry is found from its home slot (no empty slot between),
/// `len` counts them, `oldest` and `newest` bound their times.
fn check(m: &Memory) {
    let mut count = 0;
    for (i, slot) in m.slots.iter().enumerate() {
        let key = slot.key;
        if key == 0 {
            continue;
        }
        count += 1;
        let mut j = m.home(key);
        while j != i {
            let k = m.slots[j].key;
            assert_ne!(k, 0, "a hole between the home {} and {i}", m.home(key));
            j = m.next(j);
        }
        assert_eq!(m.find(key), Ok(i));
        assert!(m.oldest <= slot.secs && slot.secs <= m.newest);
    }
    assert_eq!(count, m.len);
    assert!(m.len <= m.max);
}

#[test]
fn at_the_cap_the_least_recently_seen_eighth_goes_ties_by_hash() {
    let mut m = memory(16, 1_000_000_000);
    // Hashes 100..116 seen at 10, 10, 20, 20, … seconds: the two seen at 10 are the oldest.
    for k in 0..16u64 {
        m.touch(100 + k, 10_000 * (1 + k / 2));
    }
    m.touch(7, 500_000);
    assert_eq!(m.len(), 15, "16 - 16/8 + 1");
    let kept = remembered(&m);
    assert!(!kept.iter().any(|&(k, _)| k == 100 || k == 101), "{kept:?}");
    // One of a tie goes: with a cap of 8, one entry in eight, the smaller hash first.
    let mut m = memory(8, 1_000_000_000);
    for k in [5u64, 3, 9, 1, 7, 2, 8, 4] {
        m.touch(k, 42_000);
    }
    m.touch(100, 43_000);
    assert_eq!(
        remembered(&m).iter().map(|&(k, _)| k).collect::<Vec<_>>(),
        [2, 3, 4, 5, 7, 8, 9, 100]
    );
    check(&m);
}

#[test]
fn a_cap_of_one_remembers_the_latest() {
    let mut m = memory(1, 1_000_000_000);
    assert!(!m.seen(1, 10_000));
    assert!(!m.seen(2, 20_000));
    assert_eq!(remembered(&m), [(2, 20_000)]);
    assert!(m.seen(2, 30_000));
}

#[test]
fn churn_at_the_cap_keeps_one_table_of_the_cap_s_size() {
    assert_eq!(std::mem::size_of::<super::Slot>(), 12);
    let mut m = memory(1000, u64::MAX / 4);
    assert!(
        m.slots.is_empty(),
        "nothing allocated before the first entry"
    );
    for k in 0..200_000u64 {
        m.touch(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k);
        assert!(m.len() <= 1000);
        assert!(m.slots.len() <= 1143);
    }
    assert_eq!(m.slots.len(), 1143);
    check(&m);
}

#[test]
fn entries_past_the_horizon_are_unseen_and_forgotten() {
    let mut m = memory(100, 64_000);
    assert!(!m.seen(1, 0));
    assert!(m.seen(1, 64_000), "exactly the horizon later: still seen");
    assert!(!m.seen(2, 64_500));
    // Between ticks an expired entry may stay a little (scans every 1/64 of the horizon),
    // but it counts as unseen.
    assert!(!m.seen(1, 129_000));
    m.age_out(200_000);
    assert_eq!(m.len(), 0);
    assert!(!m.seen(3, 200_000));
    assert_eq!(remembered(&m), [(3, 200_000)]);
}

#[test]
fn times_are_kept_to_the_second_rounded_up() {
    let mut m = memory(100, 10_000);
    assert!(!m.seen(1, 5_001));
    assert_eq!(remembered(&m), [(1, 6_000)]);
    // Known while `at <= 6 s + horizon`: up to 999 ms longer than to the millisecond, never
    // shorter.
    assert!(m.seen(1, 16_000));
    assert!(!m.seen(2, 16_000));
    assert!(!m.seen(1, 26_001));
    // A tick forgets exactly what is no longer known.
    m.age_out(26_000);
    assert_eq!(remembered(&m), [(1, 27_000), (2, 16_000)]);
    m.age_out(26_001);
    assert_eq!(remembered(&m), [(1, 27_000)]);
}

#[test]
fn saved_oldest_first_and_restored_under_a_smaller_cap() {
    let mut m = memory(10, 1_000_000_000);
    for (k, at) in [(5u64, 30_000u64), (6, 10_000), (7, 20_000)] {
        m.touch(k, at);
    }
    let saved = m.save();
    assert_eq!(saved, json!([[6, 10_000], [7, 20_000], [5, 30_000]]));
    let mut small = memory(2, 1_000_000_000);
    small.restore(&saved).unwrap();
    assert_eq!(remembered(&small), [(5, 30_000), (7, 20_000)]);
    check(&small);
}

#[test]
fn a_restore_rounds_up_keeps_a_hash_s_latest_time_and_the_newest_over_the_cap() {
    let mut m = memory(3, 1_000_000_000);
    // 12 is listed twice; 14 is the oldest (5 ms: 1 s); 10 and 11 tie at 3 s, the smaller
    // hash goes.
    let saved = json!([
        [12, 1_000],
        [10, 2_001],
        [11, 2_500],
        [13, 4_000],
        [12, 9_000],
        [14, 5]
    ]);
    m.restore(&saved).unwrap();
    assert_eq!(remembered(&m), [(11, 3_000), (12, 9_000), (13, 4_000)]);
    check(&m);
    // A restore replaces what was remembered.
    m.restore(&json!([[1, 1_000]])).unwrap();
    assert_eq!(remembered(&m), [(1, 1_000)]);
}

#[test]
fn a_hash_of_0_is_remembered_as_zero() {
    let mut m = memory(10, 1_000_000_000);
    assert!(!m.seen(0, 1_000));
    assert!(m.seen(0, 2_000));
    assert!(m.seen(ZERO, 2_000), "the two are one");
    let saved = m.save();
    assert_eq!(saved, json!([[ZERO, 2_000]]));
    let mut restored = memory(10, 1_000_000_000);
    restored
        .restore(&json!([[0, 1_000], [ZERO, 3_000]]))
        .unwrap();
    assert_eq!(remembered(&restored), [(ZERO, 3_000)]);
    assert!(restored.seen(0, 4_000));
    check(&restored);
}

#[test]
fn a_save_restores_to_the_same_memory() {
    let mut m = memory(50, 30_000);
    let mut at = 1_700_000_000_000u64;
    for k in 0..400u64 {
        at += k % 7 * 150;
        m.touch(k.wrapping_mul(0xff51_afd7_ed55_8ccd) % 60, at);
    }
    let saved = m.save();
    let mut restored = memory(50, 30_000);
    restored.restore(&saved).unwrap();
    assert_eq!(remembered(&restored), remembered(&m));
    assert_eq!(restored.save(), saved);
    check(&restored);
}

#[test]
fn runs_that_wrap_around_the_table_s_end_survive_deletions() {
    // 7 entries: 9 slots. Hashes near 2^64 all have the last slot as home.
    let mut m = memory(7, 1_000_000_000);
    for (i, k) in [u64::MAX, u64::MAX - 1, 1, u64::MAX - 2, 2]
        .into_iter()
        .enumerate()
    {
        m.touch(k, 1_000 * (i as u64 + 1));
    }
    assert_eq!(m.home(u64::MAX), 8);
    assert_eq!(m.home(1), 0);
    check(&m);
    // Forget the oldest two (the first two in the last slot's run): the rest move back.
    m.forget_oldest(2);
    check(&m);
    assert_eq!(
        remembered(&m),
        [(1, 3_000), (2, 5_000), (u64::MAX - 2, 4_000)]
    );
}

#[test]
fn nothing_is_allocated_until_the_first_entry() {
    let mut m = memory(100_000, 1_000);
    m.age_out(1_000_000);
    m.restore(&json!([])).unwrap();
    assert_eq!(m.save(), json!([]));
    assert!(m.slots.is_empty());
    m.touch(1, 1);
    assert_eq!(m.slots.len(), 16);
}

#[test]
fn the_table_doubles_up_to_the_cap_s_size() {
    let mut m = memory(1000, u64::MAX / 4);
    let mut sizes = vec![];
    for k in 1..=1000u64 {
        m.touch(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k);
        if sizes.last() != Some(&m.slots.len()) {
            sizes.push(m.slots.len());
        }
    }
    assert_eq!(sizes, [16, 32, 64, 128, 1143]);
    assert_eq!(m.len(), 1000);
    check(&m);
    let mut restored = memory(1000, u64::MAX / 4);
    restored.restore(&m.save()).unwrap();
    assert_eq!(restored.slots.len(), 1143);
    assert_eq!(remembered(&restored), remembered(&m));
}

#[test]
fn past_a_small_table_the_cap_s_size_is_next() {
    let mut m = memory(100_000, u64::MAX / 4);
    let mut sizes = vec![];
    for k in 1..=10_000u64 {
        m.touch(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k);
        if sizes.last() != Some(&m.slots.len()) {
            sizes.push(m.slots.len());
        }
    }
    let doubling = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
    assert_eq!(sizes, [&doubling[..], &[114_286]].concat());
    check(&m); // A much larger cap: the table keeps doubling, no sparser than half full.
    let mut m = memory(10_000_000, u64::MAX / 4);
    for k in 1..=10_000u64 {
        m.touch(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k);
    }
    assert_eq!(m.slots.len(), 16_384);
}

/// The memory as it was, but for the second: a map, the order worked out by sorting.
struct Model {
    last: BTreeMap<u64, u32>,
    max: usize,
    horizon: u64,
    next_scan: u64,
}

impl Model {
    fn seen(&mut self, key: u64, at: u64) -> bool {
        let key = stored(key);
        if let Some(last) = self.last.get_mut(&key) {
            let known = at <= (u64::from(*last) * 1000).saturating_add(self.horizon);
            *last = (*last).max(secs_ceil(at));
            return known;
        }
        self.insert_new(key, at);
        false
    }

    fn touch(&mut self, key: u64, at: u64) {
        let key = stored(key);
        match self.last.get_mut(&key) {
            Some(last) => *last = (*last).max(secs_ceil(at)),
            None => self.insert_new(key, at),
        }
    }

    fn insert_new(&mut self, key: u64, at: u64) {
        if at >= self.next_scan {
            self.next_scan = at.saturating_add((self.horizon / 64).max(1));
            self.age_out(at);
        }
        if self.last.len() >= self.max {
            let mut by_age: Vec<(u32, u64)> = self.last.iter().map(|(&k, &s)| (s, k)).collect();
            by_age.sort_unstable();
            for (_, k) in &by_age[..(self.max / 8).max(1)] {
                self.last.remove(k);
            }
        }
        self.last.insert(key, secs_ceil(at));
    }

    fn age_out(&mut self, now: u64) {
        let cutoff = now.saturating_sub(self.horizon);
        self.last
            .retain(|_, &mut s| (u64::from(s) * 1000) >= cutoff);
    }

    fn remembered(&self) -> Vec<(u64, u64)> {
        self.last
            .iter()
            .map(|(&k, &s)| (k, u64::from(s) * 1000))
            .collect()
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A key of the pool, and how far event time moves (it may go back).
    Seen(usize, i64),
    Touch(usize, i64),
    /// A tick this far ahead of event time.
    AgeOut(u64),
    SaveRestore,
}

/// Keys in the pool; most operations pick among the first [`RECURRING`].
const POOL: usize = 400;
const RECURRING: usize = 80;

fn op() -> impl Strategy<Value = Op> {
    let index = || prop_oneof![3 => 0..RECURRING, 1 => 0..POOL];
    prop_oneof![
        5 => (index(), -1_500..2_500i64).prop_map(|(k, dt)| Op::Seen(k, dt)),
        2 => (index(), -1_500..2_500i64).prop_map(|(k, dt)| Op::Touch(k, dt)),
        1 => (0..40_000u64).prop_map(Op::AgeOut),
        1 => Just(Op::SaveRestore),
    ]
}

/// Hashes spread over the table, crowded at either end (runs wrapping around it), and 0.
fn key() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => any::<u64>(),
        1 => 0..4u64,
        1 => (0..4u64).prop_map(|d| u64::MAX - d),
        1 => Just(ZERO),
    ]
}

proptest! {
    #[test]
    fn the_memory_behaves_as_the_model(
        // Small caps (evicting often), and larger ones (the table doubles before its last size).
        max in prop_oneof![3 => 1..50usize, 1 => 250..400usize],
        horizon in 1..20_000u64,
        keys in prop::collection::vec(key(), POOL),
        start in 0..5_000u64,
        ops in prop::collection::vec(op(), 1..400),
    ) {
        let mut m = memory(max, horizon);
        let mut model = Model { last: BTreeMap::new(), max, horizon, next_scan: 0 };
        let mut at = start;
        for op in ops {
            match op {
                Op::Seen(k, dt) => {
                    at = at.saturating_add_signed(dt);
                    prop_assert_eq!(m.seen(keys[k], at), model.seen(keys[k], at), "{:?}", op);
                }
                Op::Touch(k, dt) => {
                    at = at.saturating_add_signed(dt);
                    m.touch(keys[k], at);
                    model.touch(keys[k], at);
                }
                Op::AgeOut(ahead) => {
                    m.age_out(at + ahead);
                    model.age_out(at + ahead);
                }
                Op::SaveRestore => {
                    let saved = m.save();
                    m = memory(max, horizon);
                    m.restore(&saved).unwrap();
                    model.next_scan = 0;
                }
            }
            check(&m);
            prop_assert_eq!(remembered(&m), model.remembered());
        }
    }
}
