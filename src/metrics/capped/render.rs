//! How a capped family's captured series are written out: the Prometheus text format (as the
//! `prometheus` text encoder writes it), a `prometheus` family for `gather()`, and the state
//! snapshot's saved series, each from the copies [`Capped::capture`] and
//! `Capped::copy_labels` make, holding no lock.

use prometheus::proto::{self, MetricFamily, MetricType};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use super::{Capped, Captured, Kind};
use crate::metrics::durable::SavedValue;

/// How much text [`Capped::render`] gathers before it hands it on.
pub const SPILL: usize = 64 * 1024;

impl Capped {
    /// Writes the captured series in the Prometheus text format, as the `prometheus` text
    /// encoder would (labels sorted by key, then `extra` — the registry-wide `cluster` label),
    /// in creation order. Writes nothing for a family without series, as the registry does.
    /// Hands `out` to `spill` whenever it holds [`SPILL`] bytes or more (after a whole series),
    /// so that a writer can take the text as it comes and clear it.
    pub fn render(
        &self,
        captured: &Captured,
        extra: Option<(&str, &str)>,
        out: &mut Vec<u8>,
        spill: &mut dyn FnMut(&mut Vec<u8>),
    ) {
        if captured.series == 0 {
            return;
        }
        let name = &*self.0.name;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        escape(&self.0.help, false, out);
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(match self.0.kind {
            Kind::Counter => b" counter\n",
            Kind::Histogram { .. } => b" histogram\n",
        });
        let mut labels = Vec::with_capacity(256);
        let mut value = Vec::with_capacity(20);
        self.each(captured, |values, slots| {
            labels.clear();
            for i in &self.0.by_key {
                label(&mut labels, &self.0.keys[*i], values[*i]);
            }
            if let Some((key, value)) = extra {
                label(&mut labels, key, value);
            }
            match &self.0.kind {
                Kind::Counter => {
                    value.clear();
                    write_u64(slots[0], &mut value);
                    sample(out, name, "", &labels, &value);
                }
                Kind::Histogram { bounds, le } => {
                    let mut cumulative = 0;
                    for (i, le) in le.iter().map(|l| &**l).chain(["+Inf"]).enumerate() {
                        cumulative += slots[i];
                        out.extend_from_slice(name.as_bytes());
                        out.extend_from_slice(b"_bucket{");
                        out.extend_from_slice(&labels);
                        if !labels.is_empty() {
                            out.push(b',');
                        }
                        out.extend_from_slice(b"le=\"");
                        out.extend_from_slice(le.as_bytes());
                        out.extend_from_slice(b"\"} ");
                        write_u64(cumulative, out);
                        out.push(b'\n');
                    }
                    for (suffix, value) in [
                        ("_sum", f64::from_bits(slots[bounds.len() + 1]).to_string()),
                        ("_count", cumulative.to_string()),
                    ] {
                        sample(out, name, suffix, &labels, value.as_bytes());
                    }
                }
            }
            if out.len() >= SPILL {
                spill(out);
            }
        });
    }

    /// The captured series as a `prometheus` family (labels sorted by key, then `extra`), for
    /// the registry's `gather()` and OTLP.
    pub fn family(&self, captured: &Captured, extra: Option<(&str, &str)>) -> MetricFamily {
        let mut family = MetricFamily::default();
        family.set_name(self.0.name.to_string());
        family.set_help(self.0.help.to_string());
        let mut metrics = Vec::with_capacity(captured.series);
        let pair = |name: &str, value: &str| {
            let mut l = proto::LabelPair::default();
            l.set_name(name.to_string());
            l.set_value(value.to_string());
            l
        };
        self.each(captured, |values, slots| {
            let mut labels: Vec<proto::LabelPair> = self
                .0
                .by_key
                .iter()
                .map(|i| pair(&self.0.keys[*i], values[*i]))
                .collect();
            labels.extend(extra.map(|(k, v)| pair(k, v)));
            let mut m = proto::Metric::from_label(labels);
            match &self.0.kind {
                Kind::Counter => {
                    let mut c = proto::Counter::default();
                    c.set_value(slots[0] as f64);
                    m.set_counter(c);
                }
                Kind::Histogram { bounds, .. } => {
                    let mut h = proto::Histogram::default();
                    let mut cumulative = 0;
                    let buckets = bounds
                        .iter()
                        .zip(slots)
                        .map(|(bound, n)| {
                            cumulative += n;
                            let mut b = proto::Bucket::default();
                            b.set_upper_bound(*bound);
                            b.set_cumulative_count(cumulative);
                            b
                        })
                        .collect();
                    h.set_bucket(buckets);
                    h.set_sample_count(cumulative + slots[bounds.len()]);
                    h.set_sample_sum(f64::from_bits(slots[bounds.len() + 1]));
                    m.set_histogram(h);
                }
            }
            metrics.push(m);
        });
        family.set_field_type(match self.0.kind {
            Kind::Counter => MetricType::COUNTER,
            Kind::Histogram { .. } => MetricType::HISTOGRAM,
        });
        family.set_metric(metrics);
        family
    }

    /// The captured series as a state snapshot saves them (a [`crate::metrics::durable::SavedFamily`]:
    /// labels sorted by key), serialized straight from the copies.
    pub fn saved<'a>(&'a self, captured: &'a Captured) -> impl Serialize + 'a {
        SavedFamilyRef {
            name: &self.0.name,
            series: SeriesRef {
                capped: self,
                captured,
            },
        }
    }

    fn saved_value(&self, slots: &[u64]) -> SavedValue {
        match &self.0.kind {
            Kind::Counter => SavedValue::Counter(slots[0]),
            Kind::Histogram { bounds, .. } => {
                let mut cumulative = 0;
                let buckets = bounds
                    .iter()
                    .zip(slots)
                    .map(|(bound, n)| {
                        cumulative += n;
                        (*bound, cumulative)
                    })
                    .collect();
                let sum = f64::from_bits(slots[bounds.len() + 1]);
                SavedValue::Histogram {
                    count: cumulative + slots[bounds.len()],
                    // JSON has no NaN or infinity; no bucketed quantity observes one.
                    sum: if sum.is_finite() { sum } else { 0.0 },
                    buckets,
                }
            }
        }
    }
}

/// A [`crate::metrics::durable::SavedFamily`] as it serializes, borrowing.
#[derive(Serialize)]
struct SavedFamilyRef<'a> {
    name: &'a str,
    series: SeriesRef<'a>,
}

/// The saved series of a captured family, serialized one by one.
struct SeriesRef<'a> {
    capped: &'a Capped,
    captured: &'a Captured,
}

impl Serialize for SeriesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.captured.series))?;
        let mut failed = None;
        let inner = &self.capped.0;
        self.capped.each(self.captured, |values, slots| {
            if failed.is_some() {
                return;
            }
            let series = SavedSeriesRef {
                labels: LabelsRef {
                    keys: &inner.keys,
                    by_key: &inner.by_key,
                    values,
                },
                value: self.capped.saved_value(slots),
            };
            if let Err(error) = seq.serialize_element(&series) {
                failed = Some(error);
            }
        });
        match failed {
            Some(error) => Err(error),
            None => seq.end(),
        }
    }
}

/// A [`SavedSeries`] as it serializes, borrowing.
#[derive(Serialize)]
struct SavedSeriesRef<'a> {
    labels: LabelsRef<'a>,
    value: SavedValue,
}

/// `(key, value)` pairs sorted by key.
struct LabelsRef<'a> {
    keys: &'a [Box<str>],
    by_key: &'a [usize],
    values: &'a [&'a str],
}

impl Serialize for LabelsRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.by_key
                .iter()
                .map(|i| (&*self.keys[*i], self.values[*i])),
        )
    }
}

/// Writes `v` in decimal.
/// Appends `key="value"` (escaped) to a sample's label text, after a comma when it has some.
fn label(labels: &mut Vec<u8>, key: &str, value: &str) {
    if !labels.is_empty() {
        labels.push(b',');
    }
    labels.extend_from_slice(key.as_bytes());
    labels.extend_from_slice(b"=\"");
    escape(value, true, labels);
    labels.push(b'"');
}

/// Writes one sample line: `<name><suffix>{<labels>} <value>`, without braces when unlabelled.
fn sample(out: &mut Vec<u8>, name: &str, suffix: &str, labels: &[u8], value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    if !labels.is_empty() {
        out.push(b'{');
        out.extend_from_slice(labels);
        out.push(b'}');
    }
    out.push(b' ');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn write_u64(v: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Writes `v` escaped as the text format wants: `\` and newline always, `"` in label values.
fn escape(v: &str, quote: bool, out: &mut Vec<u8>) {
    let bytes = v.as_bytes();
    if !bytes
        .iter()
        .any(|b| *b == b'\\' || *b == b'\n' || (quote && *b == b'"'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quote => out.extend_from_slice(b"\\\""),
            _ => out.push(*b),
        }
    }
}
