//! The cardinality guard: a counter or histogram family with a hard limit on distinct label sets,
//! holding its series itself.
//!
//! Label values that come from input (principals, client hosts, resource names, event types) are
//! attacker-controlled. Each [`Capped`] family admits at most `max_series` distinct label sets;
//! an event with a new label set beyond that is counted in one overflow series whose input-derived
//! labels read [`OVERFLOW`], and `kafka_security_series_overflow_total{metric}` rises. Counts are
//! never dropped, series never expire (so no fake counter resets), and memory stays bounded:
//! label values longer than `max_label_value_bytes` are truncated.
//!
//! # Storage
//! These families hold the most series (up to the cap each), so they keep them compactly rather
//! than as `prometheus` children: every distinct label value is stored once per family (an
//! interner: one string arena, a 4-byte id per value), a series is its label value ids, its
//! hash and its atomic value(s), all in flat arrays in the order series were created. Recording
//! into an existing series takes the family's lock shared (so it never waits for a render,
//! which also takes it shared); creating a series takes it exclusively, for the insertion only.
//!
//! # Rendering
//! A render or a state snapshot first copies the values ([`Capped::capture`]: `CHUNK` series
//! per hold of the lock; under a snapshot's cut this is all the sources wait for), then copies
//! the labels of those series the same way (they are only ever appended, so this can happen
//! later) and writes the exposition text from the copies, holding no lock
//! ([`Capped::render`]), in creation order: no protobuf families, no sorting. The family is also a `prometheus` [`Collector`], so the registry's
//! `gather()` still shows it (for OTLP and tests), built from the same copy.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::internal::SeriesOverflowed;
use crate::telemetry::RateLimit;

use hashbrown::HashTable;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, Registry};

mod render;
pub use render::SPILL;

/// The label value that replaces input-derived labels once a metric is full.
pub const OVERFLOW: &str = "__overflow__";

/// What an input value that is literally [`OVERFLOW`] is recorded as.
pub const LITERAL_OVERFLOW: &str = "__overflow__ (literal)";

/// Suffix marking a truncated label value.
const TRUNCATED: &str = "…";

/// Series whose values or labels are copied per hold of a family's lock: the longest a new
/// series waits for a render (some microseconds).
const CHUNK: usize = 1024;

/// Bytes of interned label values copied per hold of a family's lock.
const ARENA_PIECE: usize = 64 * 1024;

/// Limits for one capped metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapLimits {
    /// Distinct label sets admitted before overflow.
    pub max_series: usize,
    /// Longest label value kept, in bytes; longer ones are cut at a character boundary.
    pub max_label_value_bytes: usize,
}

/// What each series holds.
enum Kind {
    /// One value: the count.
    Counter,
    /// Per series `bounds.len() + 2` values: the count of each bucket (not cumulative), that of
    /// `+Inf`, then the sum's `f64` bits. The count is the buckets' total, so a render always
    /// shows a `_count` equal to its `+Inf` bucket.
    Histogram {
        bounds: Box<[f64]>,
        /// Each bound as the exposition writes it (`le="0.005"`).
        le: Box<[Box<str>]>,
    },
}

impl Kind {
    fn width(&self) -> usize {
        match self {
            Kind::Counter => 1,
            Kind::Histogram { bounds, .. } => bounds.len() + 2,
        }
    }
}

/// An interned label value: a span of the arena and its hash.
struct Span {
    start: u32,
    len: u32,
    hash: u64,
}

/// Each distinct label value of a family, once.
#[derive(Default)]
struct Interner {
    arena: String,
    spans: Vec<Span>,
    index: HashTable<u32>,
}

impl Interner {
    fn intern(&mut self, hasher: &ahash::RandomState, value: &str) -> u32 {
        let hash = hasher.hash_one(value);
        let Interner {
            arena,
            spans,
            index,
        } = self;
        let get = |id: u32| {
            let s = &spans[id as usize];
            &arena[s.start as usize..(s.start + s.len) as usize]
        };
        if let Some(id) = index.find(hash, |id| get(*id) == value) {
            return *id;
        }
        let id = spans.len() as u32;
        // Bounded by the caps: max_series × labels × max_label_value_bytes, far below 4 GiB.
        spans.push(Span {
            start: arena.len() as u32,
            len: value.len() as u32,
            hash,
        });
        arena.push_str(value);
        index.insert_unique(hash, id, |id| spans[*id as usize].hash);
        id
    }
}

/// The series of one family, in creation order.
#[derive(Default)]
struct Table {
    strings: Interner,
    /// Series ids by the hash of their label values.
    index: HashTable<u32>,
    /// By series id: the hash of its label values.
    hashes: Vec<u64>,
    /// By series id: its label value ids, one per label.
    keys: Vec<u32>,
    /// By series id: its values, [`Kind::width`] each.
    values: Vec<AtomicU64>,
    /// Label sets admitted under the cap (overflow series are not counted).
    admitted: usize,
}

impl Table {
    fn len(&self) -> usize {
        self.hashes.len()
    }

    fn key(&self, id: u32, labels: usize) -> &[u32] {
        &self.keys[id as usize * labels..(id as usize + 1) * labels]
    }

    fn find(&self, hash: u64, values: &[&str]) -> Option<u32> {
        let arena = self.strings.arena.as_bytes();
        self.index
            .find(hash, |id| {
                self.key(*id, values.len())
                    .iter()
                    .zip(values)
                    .all(|(v, value)| {
                        // Bytes, not `str` slicing: no character boundary checks on the hot path.
                        let s = &self.strings.spans[*v as usize];
                        s.len as usize == value.len()
                            && arena.get(s.start as usize..(s.start + s.len) as usize)
                                == Some(value.as_bytes())
                    })
            })
            .copied()
    }

    fn slots(&self, id: u32, width: usize) -> &[AtomicU64] {
        &self.values[id as usize * width..(id as usize + 1) * width]
    }
}

/// The label values of a family's first series, copied (`Capped::copy_labels`).
struct LabelCopy {
    arena: String,
    /// By value id: its span of `arena`.
    spans: Vec<(u32, u32)>,
    /// By series id: its value ids, `labels` each.
    keys: Vec<u32>,
    labels: usize,
}

impl LabelCopy {
    fn value(&self, id: u32) -> &str {
        let (start, len) = self.spans[id as usize];
        &self.arena[start as usize..(start + len) as usize]
    }
}

/// A family's values copied at one moment ([`Capped::capture`]): the series that existed then
/// and their values. Labels are read from the family when needed (they never change).
pub struct Captured {
    series: usize,
    values: Vec<u64>,
}

impl Captured {
    /// How many series were captured.
    pub fn series(&self) -> usize {
        self.series
    }
}

/// A capped counter or histogram family. A cheap handle: clones share the series. See the
/// module docs.
#[derive(Clone)]
pub struct Capped(Arc<Inner>);

struct Inner {
    name: Box<str>,
    help: Box<str>,
    desc: Desc,
    /// Label keys, in the order the recording methods take values.
    keys: Box<[Box<str>]>,
    /// Label positions sorted by key: the order the exposition writes them.
    by_key: Box<[usize]>,
    kind: Kind,
    /// `true` for labels whose values come from input and become [`OVERFLOW`] past the cap.
    from_input: Box<[bool]>,
    limits: CapLimits,
    hasher: ahash::RandomState,
    table: RwLock<Table>,
    overflowed: IntCounter,
    /// This metric's own limit on overflow warnings, so one full metric does not hide another.
    overflow_warning: RateLimit,
}

/// A counter family with capped label sets.
pub type CappedCounterVec = Capped;

/// A histogram family with capped label sets.
pub type CappedHistogramVec = Capped;

impl Capped {
    /// Creates and registers a counter family. `labels` and `from_input` are parallel slices.
    /// `overflowed` is this metric's child of `kafka_security_series_overflow_total`.
    pub fn new(
        registry: &Registry,
        name: &'static str,
        help: &'static str,
        labels: &[&str],
        from_input: &[bool],
        limits: CapLimits,
        overflowed: IntCounter,
    ) -> prometheus::Result<Self> {
        Self::register(
            registry,
            name,
            help,
            Kind::Counter,
            labels,
            from_input,
            limits,
            overflowed,
        )
    }

    /// Creates and registers a histogram family with `buckets` (finite, ascending upper
    /// bounds; `+Inf` is implicit). See [`Capped::new`].
    #[allow(clippy::too_many_arguments)]
    pub fn new_histogram(
        registry: &Registry,
        name: &'static str,
        help: &'static str,
        buckets: &[f64],
        labels: &[&str],
        from_input: &[bool],
        limits: CapLimits,
        overflowed: IntCounter,
    ) -> prometheus::Result<Self> {
        let bounds: Box<[f64]> = buckets.iter().copied().filter(|b| b.is_finite()).collect();
        let le = bounds.iter().map(|b| b.to_string().into()).collect();
        Self::register(
            registry,
            name,
            help,
            Kind::Histogram { bounds, le },
            labels,
            from_input,
            limits,
            overflowed,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn register(
        registry: &Registry,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[&str],
        from_input: &[bool],
        limits: CapLimits,
        overflowed: IntCounter,
    ) -> prometheus::Result<Self> {
        assert_eq!(labels.len(), from_input.len(), "one flag per label");
        let desc = Desc::new(
            name.to_string(),
            help.to_string(),
            labels.iter().map(|l| l.to_string()).collect(),
            HashMap::new(),
        )?;
        let mut by_key: Vec<usize> = (0..labels.len()).collect();
        by_key.sort_by_key(|i| labels[*i]);
        let capped = Capped(Arc::new(Inner {
            name: name.into(),
            help: help.into(),
            desc,
            keys: labels.iter().map(|l| Box::from(*l)).collect(),
            by_key: by_key.into(),
            kind,
            from_input: from_input.into(),
            limits,
            hasher: ahash::RandomState::new(),
            table: RwLock::new(Table::default()),
            overflowed,
            overflow_warning: SeriesOverflowed::rate_limit(),
        }));
        registry.register(Box::new(capped.clone()))?;
        Ok(capped)
    }

    /// The metric's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The label keys, in the order [`Capped::restore_counter`] and the recording methods take
    /// values.
    pub fn label_keys(&self) -> Vec<String> {
        self.0.keys.iter().map(|k| k.to_string()).collect()
    }

    /// Adds `v` to the series for `values` (one per label, in order).
    pub fn inc_by(&self, values: &[&str], v: u64) {
        debug_assert!(matches!(self.0.kind, Kind::Counter), "{}", self.0.name);
        self.with_child(values, v, |slots| {
            slots[0].fetch_add(v, Ordering::Relaxed);
        });
    }

    pub fn inc(&self, values: &[&str]) {
        self.inc_by(values, 1);
    }

    /// Adds 1 to the overflow series of `values`' closed labels: for a count whose input-derived
    /// labels are already known to be beyond a cap elsewhere (a detector's own `__overflow__`
    /// subject). Unlike a client-given `__overflow__`, it is not recorded as literal.
    pub fn inc_overflow(&self, values: &[&str]) {
        let overflow = self.overflow_values(values);
        self.with_exact(&overflow, 1, |slots| {
            slots[0].fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Observes `v` in the series for `values`. Overflow counts observations.
    pub fn observe(&self, values: &[&str], v: f64) {
        let Kind::Histogram { bounds, .. } = &self.0.kind else {
            debug_assert!(false, "{} is not a histogram", self.0.name);
            return;
        };
        // Like the `prometheus` histogram: the first bucket whose bound is not below `v`, else
        // `+Inf` (NaN too).
        let bucket = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
        self.with_child(values, 1, |slots| {
            slots[bucket].fetch_add(1, Ordering::Relaxed);
            add_f64(&slots[slots.len() - 1], v);
        });
    }

    /// Creates the series for `values` at 0 (a closed label set created when its source
    /// starts), if the cap still has room; never counts as overflow.
    pub fn init(&self, values: &[&str]) {
        debug_assert!(values
            .iter()
            .all(|v| v.len() <= self.0.limits.max_label_value_bytes && *v != OVERFLOW));
        let hash = self.hash(values);
        let mut table = self.0.table.write();
        if table.find(hash, values).is_none() && table.admitted < self.0.limits.max_series {
            table.admitted += 1;
            self.insert(&mut table, hash, values);
        }
    }

    /// Adds a saved counter value ([`super::durable`]) to the series its label set is restored
    /// into (the saved series itself, or its overflow series past the cap).
    pub fn restore_counter(&self, values: &[&str], n: u64) {
        let (table, id) = self.restore_target(values);
        table.slots(id, 1)[0].fetch_add(n, Ordering::Relaxed);
    }

    /// Adds a saved histogram (count, sum and cumulative `(upper bound, count)` buckets) to the
    /// series its label set is restored into. Buckets changed in the config between the two
    /// runs: each bucket gets the saved count of the largest saved bound not above it (exact for
    /// bounds that were there before; count and sum stay exact).
    pub fn restore_histogram(&self, values: &[&str], count: u64, sum: f64, buckets: &[(f64, u64)]) {
        let Kind::Histogram { bounds, .. } = &self.0.kind else {
            return;
        };
        let saved_at = |bound: f64| {
            buckets
                .iter()
                .take_while(|(b, _)| *b <= bound)
                .last()
                .map_or(0, |(_, c)| *c)
        };
        let (table, id) = self.restore_target(values);
        let slots = table.slots(id, bounds.len() + 2);
        let mut below = 0;
        for (slot, bound) in slots.iter().zip(bounds.iter()) {
            let cumulative = saved_at(*bound).max(below);
            slot.fetch_add(cumulative - below, Ordering::Relaxed);
            below = cumulative;
        }
        slots[bounds.len()].fetch_add(count.saturating_sub(below), Ordering::Relaxed);
        add_f64(&slots[bounds.len() + 1], sum);
    }

    /// The series a saved label set is restored into: the saved series itself when it is
    /// admitted already or the cap has room, else its overflow series. A saved overflow series
    /// (every input-derived label [`OVERFLOW`]) stays one and takes no room under the cap.
    /// Restoring never counts an overflow: the saved `kafka_security_series_overflow_total` is
    /// restored with the rest.
    fn restore_target(&self, values: &[&str]) -> (RwLockReadGuard<'_, Table>, u32) {
        let max = self.0.limits.max_label_value_bytes;
        let cut: Vec<Cow<'_, str>> = values
            .iter()
            .map(|v| {
                if *v == OVERFLOW {
                    Cow::Borrowed(*v)
                } else {
                    truncate(v, max)
                }
            })
            .collect();
        let values: Vec<&str> = cut.iter().map(|c| &**c).collect();
        let overflow = self.overflow_values(&values);
        let is_overflow = self.0.from_input.iter().any(|i| *i) && values == overflow;
        let mut table = self.0.table.write();
        let target = if is_overflow {
            overflow
        } else {
            let hash = self.hash(&values);
            if let Some(id) = table.find(hash, &values) {
                return (RwLockWriteGuard::downgrade(table), id);
            }
            if table.admitted < self.0.limits.max_series {
                table.admitted += 1;
                let id = self.insert(&mut table, hash, &values);
                return (RwLockWriteGuard::downgrade(table), id);
            }
            overflow
        };
        let hash = self.hash(&target);
        let id = match table.find(hash, &target) {
            Some(id) => id,
            None => self.insert(&mut table, hash, &target),
        };
        (RwLockWriteGuard::downgrade(table), id)
    }

    /// Distinct label sets admitted under the cap so far.
    pub fn admitted(&self) -> usize {
        self.0.table.read().admitted
    }

    /// Runs `f` on the values of the series for `values` (or its overflow series); `weight` is
    /// what the overflow counter rises by when the cap applies.
    fn with_child(&self, values: &[&str], weight: u64, f: impl FnOnce(&[AtomicU64])) {
        debug_assert_eq!(values.len(), self.0.from_input.len());
        let max = self.0.limits.max_label_value_bytes;
        if values
            .iter()
            .any(|value| value.len() > max || *value == OVERFLOW)
        {
            let cut: Vec<Cow<'_, str>> = values
                .iter()
                .map(|value| {
                    if *value == OVERFLOW {
                        // A client named `__overflow__` must not hide in the overflow series.
                        Cow::Borrowed(LITERAL_OVERFLOW)
                    } else {
                        truncate(value, max)
                    }
                })
                .collect();
            let refs: Vec<&str> = cut.iter().map(|c| &**c).collect();
            self.with_exact(&refs, weight, f);
        } else {
            self.with_exact(values, weight, f);
        }
    }

    /// `with_child` for values already within the length limit.
    fn with_exact(&self, values: &[&str], weight: u64, f: impl FnOnce(&[AtomicU64])) {
        let width = self.0.kind.width();
        let hash = self.hash(values);
        {
            let table = self.0.table.read();
            if let Some(id) = table.find(hash, values) {
                f(table.slots(id, width));
                return;
            }
        }
        let mut table = self.0.table.write();
        if let Some(id) = table.find(hash, values) {
            // Created by another thread meanwhile.
            f(table.slots(id, width));
            return;
        }
        if table.admitted < self.0.limits.max_series {
            table.admitted += 1;
            let id = self.insert(&mut table, hash, values);
            f(table.slots(id, width));
            return;
        }
        drop(table);
        SeriesOverflowed {
            metric: &self.0.name,
            max_series: self.0.limits.max_series,
            count: weight,
        }
        .emit_to(&self.0.overflowed, &self.0.overflow_warning);
        let overflow = self.overflow_values(values);
        let hash = self.hash(&overflow);
        let mut table = self.0.table.write();
        let id = match table.find(hash, &overflow) {
            Some(id) => id,
            None => self.insert(&mut table, hash, &overflow),
        };
        f(table.slots(id, width));
    }

    /// `values` with every input-derived label [`OVERFLOW`].
    fn overflow_values<'v>(&self, values: &[&'v str]) -> Vec<&'v str> {
        values
            .iter()
            .zip(self.0.from_input.iter())
            .map(|(value, from_input)| if *from_input { OVERFLOW } else { *value })
            .collect()
    }

    fn hash(&self, values: &[&str]) -> u64 {
        self.0.hasher.hash_one(values)
    }

    /// Appends a series at 0; returns its id.
    fn insert(&self, table: &mut Table, hash: u64, values: &[&str]) -> u32 {
        let id = table.len() as u32;
        for value in values {
            let v = table.strings.intern(&self.0.hasher, value);
            table.keys.push(v);
        }
        table.hashes.push(hash);
        let width = self.0.kind.width();
        table.values.extend((0..width).map(|_| AtomicU64::new(0)));
        let Table { index, hashes, .. } = table;
        index.insert_unique(hash, id, |id| hashes[*id as usize]);
        id
    }

    /// Copies every series' values, `CHUNK` series per hold of the lock.
    pub fn capture(&self) -> Captured {
        let width = self.0.kind.width();
        let series = self.0.table.read().len();
        let mut values = Vec::with_capacity(series * width);
        let mut start = 0;
        while start < series {
            let end = (start + CHUNK).min(series);
            let table = self.0.table.read();
            values.extend(
                table.values[start * width..end * width]
                    .iter()
                    .map(|v| v.load(Ordering::Relaxed)),
            );
            drop(table);
            start = end;
        }
        Captured { series, values }
    }

    /// Copies the label values of the first `series` series, in pieces of `CHUNK` series or
    /// [`ARENA_PIECE`] bytes per hold of the lock: series, their label ids and the interned
    /// strings are only ever appended, so a prefix copied in pieces is the prefix at any moment.
    /// Formatting then needs no lock, so a render that is preempted holds no one up.
    fn copy_labels(&self, series: usize) -> LabelCopy {
        let labels = self.0.keys.len();
        let (strings, bytes) = {
            let table = self.0.table.read();
            // Every value a series refers to was interned before the series was added.
            (table.strings.spans.len(), table.strings.arena.len())
        };
        let mut copy = LabelCopy {
            arena: String::with_capacity(bytes),
            spans: Vec::with_capacity(strings),
            keys: Vec::with_capacity(series * labels),
            labels,
        };
        let mut done = (0, 0, 0);
        while done != (series * labels, strings, bytes) {
            let table = self.0.table.read();
            let keys = (done.0 + CHUNK * labels).min(series * labels);
            copy.keys.extend_from_slice(&table.keys[done.0..keys]);
            let spans = (done.1 + CHUNK).min(strings);
            copy.spans.extend(
                table.strings.spans[done.1..spans]
                    .iter()
                    .map(|s| (s.start, s.len)),
            );
            let mut arena = (done.2 + ARENA_PIECE).min(bytes);
            while !table.strings.arena.is_char_boundary(arena) {
                arena += 1;
            }
            copy.arena.push_str(&table.strings.arena[done.2..arena]);
            drop(table);
            done = (keys, spans, arena);
        }
        copy
    }

    /// Calls `f` with each captured counter series' label values (in the order of
    /// [`Capped::label_keys`]) and count; nothing for a histogram.
    pub(crate) fn each_count(&self, captured: &Captured, mut f: impl FnMut(&[&str], u64)) {
        if let Kind::Counter = self.0.kind {
            self.each(captured, |values, slots| f(values, slots[0]));
        }
    }

    /// Calls `f` with each captured series' label values (in label order) and values, from a
    /// copy of the labels: no lock is held while `f` runs.
    fn each(&self, captured: &Captured, mut f: impl FnMut(&[&str], &[u64])) {
        let width = self.0.kind.width();
        let copy = self.copy_labels(captured.series);
        let mut values: Vec<&str> = Vec::with_capacity(copy.labels);
        for id in 0..captured.series {
            values.clear();
            values.extend(
                copy.keys[id * copy.labels..(id + 1) * copy.labels]
                    .iter()
                    .map(|v| copy.value(*v)),
            );
            f(&values, &captured.values[id * width..(id + 1) * width]);
        }
    }

    /// The value of the series for `values` exactly (a counter's count, a histogram's sample
    /// count), if it exists.
    #[cfg(test)]
    pub(super) fn get(&self, values: &[&str]) -> Option<u64> {
        let width = self.0.kind.width();
        let table = self.0.table.read();
        let id = table.find(self.hash(values), values)?;
        let slots = table.slots(id, width);
        Some(match self.0.kind {
            Kind::Counter => slots[0].load(Ordering::Relaxed),
            Kind::Histogram { .. } => slots[..width - 1]
                .iter()
                .map(|s| s.load(Ordering::Relaxed))
                .sum(),
        })
    }
}

impl Collector for Capped {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.0.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        vec![self.family(&self.capture(), None)]
    }
}

/// Adds `v` to the `f64` whose bits `slot` holds.
fn add_f64(slot: &AtomicU64, v: f64) {
    // The closure always returns Some, so the update cannot fail.
    let _ = slot.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
        Some((f64::from_bits(bits) + v).to_bits())
    });
}

/// Cuts `value` to at most `max` bytes at a character boundary, marking the cut.
fn truncate(value: &str, max: usize) -> Cow<'_, str> {
    if value.len() <= max {
        return Cow::Borrowed(value);
    }
    let mut end = max.saturating_sub(TRUNCATED.len());
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{}", &value[..end], TRUNCATED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Encoder;

    fn family(max_series: usize) -> (Registry, CappedCounterVec, IntCounter) {
        let registry = Registry::new();
        let overflow = IntCounter::new("overflowed", "test").unwrap();
        let vec = CappedCounterVec::new(
            &registry,
            "test_total",
            "test",
            &["client_host", "reason"],
            &[true, false],
            CapLimits {
                max_series,
                max_label_value_bytes: 32,
            },
            overflow.clone(),
        )
        .unwrap();
        (registry, vec, overflow)
    }

    /// The registry's rendering (through `gather()`).
    fn render(registry: &Registry) -> String {
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The direct rendering.
    fn direct(vec: &Capped, extra: Option<(&str, &str)>) -> String {
        let mut out = Vec::new();
        vec.render(&vec.capture(), extra, &mut out, &mut |_| {});
        String::from_utf8(out).unwrap()
    }

    /// Lines sorted, for comparing renderings that order series differently.
    fn sorted(text: &str) -> Vec<&str> {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        lines
    }

    #[test]
    fn counts_beyond_the_cap_go_to_the_overflow_series() {
        let (registry, vec, overflow) = family(2);
        for host in ["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.3"] {
            vec.inc(&[host, "invalid_credentials"]);
        }
        for host in ["10.0.0.4", "10.0.0.5"] {
            vec.inc(&[host, "ssl_handshake"]);
        }
        assert_eq!(vec.admitted(), 2);
        assert_eq!(overflow.get(), 3);
        for text in [render(&registry), direct(&vec, None)] {
            assert!(
                text.contains(
                    "test_total{client_host=\"10.0.0.1\",reason=\"invalid_credentials\"} 2\n"
                ),
                "{text}"
            );
            assert!(text.contains(
                "test_total{client_host=\"__overflow__\",reason=\"invalid_credentials\"} 1\n"
            ));
            assert!(text
                .contains("test_total{client_host=\"__overflow__\",reason=\"ssl_handshake\"} 2\n"));
            assert!(!text.contains("10.0.0.3"));
        }
    }

    #[test]
    fn admitted_series_keep_counting_after_the_cap_is_reached() {
        let (_registry, vec, overflow) = family(1);
        for host in ["a", "b", "a"] {
            vec.inc(&[host, "r"]);
        }
        assert_eq!(overflow.get(), 1);
        assert_eq!(vec.get(&["a", "r"]), Some(2));
    }

    #[test]
    fn overflow_is_warned_about_once_per_period_and_per_metric() {
        let (_registry, full, overflow) = family(1);
        let (_registry2, other, _overflow2) = family(1);
        for host in ["a", "b", "c"] {
            full.inc(&[host, "r"]);
        }
        assert_eq!(overflow.get(), 2);
        // The first overflow warned; the second was suppressed and is reported with the next.
        assert_eq!(full.0.overflow_warning.check(), None);
        // Another metric's warning has its own limit.
        assert_eq!(other.0.overflow_warning.check(), Some(0));
    }

    #[test]
    fn long_values_are_truncated_and_still_hit_their_series() {
        let (registry, vec, _overflow) = family(10);
        let long = "x".repeat(100);
        vec.inc(&[&long, "r"]);
        vec.inc(&[&long, "r"]);
        assert_eq!(vec.admitted(), 1);
        for text in [render(&registry), direct(&vec, None)] {
            assert!(
                text.contains("client_host=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\",reason=\"r\"} 2"),
                "{text}"
            );
        }
    }

    #[test]
    fn hostile_label_values_are_escaped_in_the_exposition() {
        let (registry, vec, _overflow) = family(10);
        vec.inc(&["a\"b\\c\nd", "r"]);
        for text in [render(&registry), direct(&vec, None)] {
            assert!(text.contains(r#"client_host="a\"b\\c\nd""#), "{text}");
        }
    }

    #[test]
    fn a_literal_overflow_value_is_kept_apart_from_the_overflow_series() {
        let (registry, vec, overflow) = family(10);
        vec.inc(&[OVERFLOW, "r"]);
        assert_eq!(overflow.get(), 0);
        for text in [render(&registry), direct(&vec, None)] {
            assert!(
                text.contains("client_host=\"__overflow__ (literal)\",reason=\"r\"} 1"),
                "{text}"
            );
            assert!(!text.contains("client_host=\"__overflow__\""), "{text}");
        }
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("ééééééééé", 8), "éé…");
        assert_eq!(truncate("short", 8), "short");
    }

    #[test]
    fn the_direct_rendering_is_the_text_encoders_in_creation_order() {
        let registry = Registry::new_custom(
            None,
            Some([("cluster".to_string(), "c\"1".to_string())].into()),
        )
        .unwrap();
        let overflow = IntCounter::new("overflowed", "test").unwrap();
        let limits = CapLimits {
            max_series: 3,
            max_label_value_bytes: 32,
        };
        let counter = Capped::new(
            &registry,
            "b_total",
            "Help with \\ and\nnewline.",
            &["zone", "api"],
            &[true, false],
            limits,
            overflow.clone(),
        )
        .unwrap();
        let histogram = Capped::new_histogram(
            &registry,
            "a_seconds",
            "Durations.",
            &[0.005, 0.1, 1.0, 30.0],
            &["principal", "api"],
            &[true, false],
            limits,
            overflow,
        )
        .unwrap();
        for (i, zone) in ["z", "a", "m", "q", "a"].iter().enumerate() {
            counter.inc_by(&[zone, "Fetch"], i as u64 + 1);
        }
        for (p, v) in [
            ("u", 0.001),
            ("u", 0.1),
            ("v", 7.0),
            ("w", 99.0),
            ("u", 0.0),
        ] {
            histogram.observe(&[p, "Produce"], v);
        }
        let encoded = render(&registry);
        let extra = Some(("cluster", "c\"1"));
        let mut direct = super::tests::direct(&histogram, extra);
        direct.push_str(&super::tests::direct(&counter, extra));
        assert_eq!(
            sorted(&direct),
            sorted(&encoded),
            "{direct}\n---\n{encoded}"
        );
        // Creation order, not sorted: `z` first.
        assert!(direct.find("zone=\"z\"").unwrap() < direct.find("zone=\"a\"").unwrap());
    }

    #[test]
    fn the_saved_series_read_back_as_a_saved_family() {
        use crate::metrics::durable::{SavedFamily, SavedSeries, SavedValue};
        let (_registry, vec, _overflow) = family(10);
        vec.inc_by(&["h\"1", "r"], 3);
        let json = serde_json::to_string(&vec.saved(&vec.capture())).unwrap();
        let back: SavedFamily = serde_json::from_str(&json).unwrap();
        let labels = vec![
            ("client_host".to_string(), "h\"1".to_string()),
            ("reason".to_string(), "r".to_string()),
        ];
        assert_eq!(
            back,
            SavedFamily {
                name: "test_total".into(),
                series: vec![SavedSeries {
                    labels,
                    value: SavedValue::Counter(3),
                }],
            }
        );
    }

    #[test]
    fn a_family_without_series_renders_nothing() {
        let (registry, vec, _overflow) = family(10);
        assert_eq!(direct(&vec, None), "");
        assert_eq!(render(&registry), "");
    }

    #[test]
    fn restored_histograms_add_to_the_live_buckets() {
        let registry = Registry::new();
        let overflow = IntCounter::new("overflowed", "test").unwrap();
        let h = Capped::new_histogram(
            &registry,
            "h_seconds",
            "test",
            &[0.1, 1.0, 10.0],
            &["api"],
            &[false],
            CapLimits {
                max_series: 10,
                max_label_value_bytes: 32,
            },
            overflow,
        )
        .unwrap();
        h.observe(&["Fetch"], 0.5);
        // Saved under other bounds: 0.1 → 1 observation, 5 → 3, count 4 (one beyond 5).
        h.restore_histogram(&["Fetch"], 4, 12.0, &[(0.1, 1), (5.0, 3)]);
        let text = direct(&h, None);
        for line in [
            "h_seconds_bucket{api=\"Fetch\",le=\"0.1\"} 1\n",
            "h_seconds_bucket{api=\"Fetch\",le=\"1\"} 2\n",
            "h_seconds_bucket{api=\"Fetch\",le=\"10\"} 4\n",
            "h_seconds_bucket{api=\"Fetch\",le=\"+Inf\"} 5\n",
            "h_seconds_sum{api=\"Fetch\"} 12.5\n",
            "h_seconds_count{api=\"Fetch\"} 5\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
