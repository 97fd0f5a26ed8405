//! The cardinality guard: a counter family with a hard limit on distinct label sets.
//!
//! Label values that come from input (principals, client hosts, resource names, event types) are
//! attacker-controlled. Each [`CappedCounterVec`] admits at most `max_series` distinct label sets;
//! an event with a new label set beyond that is counted in one overflow series whose input-derived
//! labels read [`OVERFLOW`], and `kafka_security_series_overflow_total{metric}` rises. Counts are
//! never dropped, series never expire (so no fake counter resets), and memory stays bounded:
//! label values longer than `max_label_value_bytes` are truncated.

use std::borrow::Cow;

use super::internal::SeriesOverflowed;
use crate::telemetry::RateLimit;

use hashbrown::HashTable;
use parking_lot::Mutex;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

/// The label value that replaces input-derived labels once a metric is full.
pub const OVERFLOW: &str = "__overflow__";

/// What an input value that is literally [`OVERFLOW`] is recorded as.
pub const LITERAL_OVERFLOW: &str = "__overflow__ (literal)";

/// Suffix marking a truncated label value.
const TRUNCATED: &str = "…";

/// Limits for one capped metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapLimits {
    /// Distinct label sets admitted before overflow.
    pub max_series: usize,
    /// Longest label value kept, in bytes; longer ones are cut at a character boundary.
    pub max_label_value_bytes: usize,
}

/// A Prometheus metric family whose children the cap hands out.
pub trait Family {
    type Child: Clone;
    fn child(&self, values: &[&str]) -> Self::Child;
}

impl Family for IntCounterVec {
    type Child = IntCounter;
    fn child(&self, values: &[&str]) -> IntCounter {
        self.with_label_values(values)
    }
}

impl Family for HistogramVec {
    type Child = Histogram;
    fn child(&self, values: &[&str]) -> Histogram {
        self.with_label_values(values)
    }
}

struct Entry<C> {
    hash: u64,
    labels: Box<[Box<str>]>,
    child: C,
}

struct Table<C> {
    entries: HashTable<Entry<C>>,
    /// Label sets admitted under the cap (overflow series are not counted).
    admitted: usize,
}

/// A metric family whose distinct label sets are capped. See the module docs.
pub struct Capped<V: Family> {
    vec: V,
    /// `true` for labels whose values come from input and become [`OVERFLOW`] past the cap.
    from_input: Box<[bool]>,
    limits: CapLimits,
    hasher: ahash::RandomState,
    table: Mutex<Table<V::Child>>,
    /// The metric's name, for the overflow warning.
    name: Box<str>,
    overflowed: IntCounter,
    /// This metric's own limit on overflow warnings, so one full metric does not hide another.
    overflow_warning: RateLimit,
}

/// A counter family with capped label sets.
pub type CappedCounterVec = Capped<IntCounterVec>;

/// A histogram family with capped label sets.
pub type CappedHistogramVec = Capped<HistogramVec>;

impl Capped<HistogramVec> {
    /// Creates and registers a histogram family. See [`CappedCounterVec::new`].
    pub fn new_histogram(
        registry: &Registry,
        opts: HistogramOpts,
        labels: &[&str],
        from_input: &[bool],
        limits: CapLimits,
        overflowed: IntCounter,
    ) -> prometheus::Result<Self> {
        let name = opts.common_opts.name.clone();
        let vec = HistogramVec::new(opts, labels);
        Self::register(registry, vec, &name, from_input, limits, overflowed)
    }

    /// Observes `v` in the series for `values`. Overflow counts observations.
    pub fn observe(&self, values: &[&str], v: f64) {
        self.with_child(values, 1, |h| h.observe(v));
    }
}

impl<V: Family + prometheus::core::Collector + Clone + 'static> Capped<V> {
    /// Registers `vec` (named `name`) and wraps it. `vec`'s labels and `from_input` are parallel.
    fn register(
        registry: &Registry,
        vec: prometheus::Result<V>,
        name: &str,
        from_input: &[bool],
        limits: CapLimits,
        overflowed: IntCounter,
    ) -> prometheus::Result<Self> {
        let vec = vec?;
        // A metric vector describes itself with exactly one `Desc`.
        assert_eq!(
            vec.desc()[0].variable_labels.len(),
            from_input.len(),
            "one flag per label"
        );
        registry.register(Box::new(vec.clone()))?;
        Ok(Capped {
            vec,
            from_input: from_input.into(),
            limits,
            hasher: ahash::RandomState::new(),
            table: Mutex::new(Table {
                entries: HashTable::new(),
                admitted: 0,
            }),
            name: name.into(),
            overflowed,
            overflow_warning: SeriesOverflowed::rate_limit(),
        })
    }

    /// The label keys, in the order [`Capped::restore_child`] and the recording methods take
    /// values.
    pub fn label_keys(&self) -> Vec<String> {
        self.vec.desc()[0].variable_labels.clone()
    }
}

impl<V: Family> Capped<V> {
    /// Creates the series for `values` at 0 (a closed label set created when its source
    /// starts), if the cap still has room; never counts as overflow.
    pub fn init(&self, values: &[&str]) {
        debug_assert!(values
            .iter()
            .all(|v| v.len() <= self.limits.max_label_value_bytes && *v != OVERFLOW));
        let hash = self.hash(values);
        let mut table = self.table.lock();
        if table
            .entries
            .find(hash, |e| labels_eq(&e.labels, values))
            .is_none()
            && table.admitted < self.limits.max_series
        {
            table.admitted += 1;
            self.insert(&mut table, hash, values);
        }
    }

    /// The series a saved label set is restored into ([`super::durable`]), with its label values:
    /// the saved series itself when it is admitted already or the cap has room, else its
    /// overflow series. A saved overflow series (every input-derived label [`OVERFLOW`]) stays
    /// one and takes no room under the cap. Restoring never counts an overflow: the saved
    /// `kafka_security_series_overflow_total` is restored with the rest.
    pub fn restore_child(&self, values: &[&str]) -> (V::Child, Vec<String>) {
        let max = self.limits.max_label_value_bytes;
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
        let inputs = values.iter().zip(self.from_input.iter());
        let overflow: Vec<&str> = inputs
            .clone()
            .map(|(v, from_input)| if *from_input { OVERFLOW } else { *v })
            .collect();
        let is_overflow = self.from_input.iter().any(|i| *i) && values == overflow;
        let mut table = self.table.lock();
        let target = if is_overflow {
            overflow
        } else {
            let hash = self.hash(&values);
            if let Some(e) = table.entries.find(hash, |e| labels_eq(&e.labels, &values)) {
                return (e.child.clone(), owned(&values));
            }
            if table.admitted < self.limits.max_series {
                table.admitted += 1;
                return (self.insert(&mut table, hash, &values), owned(&values));
            }
            overflow
        };
        let hash = self.hash(&target);
        if let Some(e) = table.entries.find(hash, |e| labels_eq(&e.labels, &target)) {
            return (e.child.clone(), owned(&target));
        }
        (self.insert(&mut table, hash, &target), owned(&target))
    }

    /// Distinct label sets admitted under the cap so far.
    pub fn admitted(&self) -> usize {
        self.table.lock().admitted
    }

    /// Runs `f` on the child for `values` (or its overflow series); `weight` is what the
    /// overflow counter rises by when the cap applies.
    fn with_child(&self, values: &[&str], weight: u64, f: impl FnOnce(&V::Child)) {
        debug_assert_eq!(values.len(), self.from_input.len());
        let max = self.limits.max_label_value_bytes;
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
    fn with_exact(&self, values: &[&str], weight: u64, f: impl FnOnce(&V::Child)) {
        let hash = self.hash(values);
        let mut table = self.table.lock();
        if let Some(entry) = table.entries.find(hash, |e| labels_eq(&e.labels, values)) {
            f(&entry.child);
            return;
        }
        if table.admitted < self.limits.max_series {
            table.admitted += 1;
            f(&self.insert(&mut table, hash, values));
            return;
        }
        drop(table);
        SeriesOverflowed {
            metric: &self.name,
            max_series: self.limits.max_series,
            count: weight,
        }
        .emit_to(&self.overflowed, &self.overflow_warning);
        let overflow: Vec<&str> = values
            .iter()
            .zip(self.from_input.iter())
            .map(|(value, from_input)| if *from_input { OVERFLOW } else { *value })
            .collect();
        let hash = self.hash(&overflow);
        let mut table = self.table.lock();
        if let Some(entry) = table
            .entries
            .find(hash, |e| labels_eq(&e.labels, &overflow))
        {
            f(&entry.child);
            return;
        }
        f(&self.insert(&mut table, hash, &overflow));
    }

    fn hash(&self, values: &[&str]) -> u64 {
        self.hasher.hash_one(values)
    }

    fn insert(&self, table: &mut Table<V::Child>, hash: u64, values: &[&str]) -> V::Child {
        let child = self.vec.child(values);
        let labels: Box<[Box<str>]> = values.iter().map(|v| Box::from(*v)).collect();
        table.entries.insert_unique(
            hash,
            Entry {
                hash,
                labels,
                child: child.clone(),
            },
            |e| e.hash,
        );
        child
    }
}

impl Capped<IntCounterVec> {
    /// Creates and registers the family. `labels` and `from_input` are parallel slices.
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
        let vec = IntCounterVec::new(Opts::new(name, help), labels);
        Self::register(registry, vec, name, from_input, limits, overflowed)
    }

    /// Adds `v` to the series for `values` (one per label, in order).
    pub fn inc_by(&self, values: &[&str], v: u64) {
        self.with_child(values, v, |c| c.inc_by(v));
    }

    pub fn inc(&self, values: &[&str]) {
        self.inc_by(values, 1);
    }

    /// Adds 1 to the overflow series of `values`' closed labels: for a count whose input-derived
    /// labels are already known to be beyond a cap elsewhere (a detector's own `__overflow__`
    /// subject). Unlike a client-given `__overflow__`, it is not recorded as literal.
    pub fn inc_overflow(&self, values: &[&str]) {
        let overflow: Vec<&str> = values
            .iter()
            .zip(self.from_input.iter())
            .map(|(value, from_input)| if *from_input { OVERFLOW } else { *value })
            .collect();
        self.with_exact(&overflow, 1, |c| c.inc());
    }
}

fn owned(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn labels_eq(stored: &[Box<str>], values: &[&str]) -> bool {
    stored.len() == values.len() && stored.iter().zip(values).all(|(s, v)| **s == **v)
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

    fn render(registry: &Registry) -> String {
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
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
        let text = render(&registry);
        assert!(
            text.contains(
                "test_total{client_host=\"10.0.0.1\",reason=\"invalid_credentials\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "test_total{client_host=\"__overflow__\",reason=\"invalid_credentials\"} 1\n"
        ));
        assert!(
            text.contains("test_total{client_host=\"__overflow__\",reason=\"ssl_handshake\"} 2\n")
        );
        assert!(!text.contains("10.0.0.3"));
    }

    #[test]
    fn admitted_series_keep_counting_after_the_cap_is_reached() {
        let (_registry, vec, overflow) = family(1);
        for host in ["a", "b", "a"] {
            vec.inc(&[host, "r"]);
        }
        assert_eq!(overflow.get(), 1);
        assert_eq!(vec.vec.with_label_values(&["a", "r"]).get(), 2);
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
        assert_eq!(full.overflow_warning.check(), None);
        // Another metric's warning has its own limit.
        assert_eq!(other.overflow_warning.check(), Some(0));
    }

    #[test]
    fn long_values_are_truncated_and_still_hit_their_series() {
        let (registry, vec, _overflow) = family(10);
        let long = "x".repeat(100);
        vec.inc(&[&long, "r"]);
        vec.inc(&[&long, "r"]);
        assert_eq!(vec.admitted(), 1);
        let text = render(&registry);
        assert!(
            text.contains("client_host=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\",reason=\"r\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn hostile_label_values_are_escaped_in_the_exposition() {
        let (registry, vec, _overflow) = family(10);
        vec.inc(&["a\"b\\c\nd", "r"]);
        let text = render(&registry);
        assert!(text.contains(r#"client_host="a\"b\\c\nd""#), "{text}");
    }

    #[test]
    fn a_literal_overflow_value_is_kept_apart_from_the_overflow_series() {
        let (registry, vec, overflow) = family(10);
        vec.inc(&[OVERFLOW, "r"]);
        assert_eq!(overflow.get(), 0);
        let text = render(&registry);
        assert!(
            text.contains("client_host=\"__overflow__ (literal)\",reason=\"r\"} 1"),
            "{text}"
        );
        assert!(!text.contains("client_host=\"__overflow__\""), "{text}");
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("ééééééééé", 8), "éé…");
        assert_eq!(truncate("short", 8), "short");
    }
}
