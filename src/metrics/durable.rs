//! What a crash must not lose, on the metrics side: every counter and histogram value exported
//! with its labels ([`saved`]) and restored into a fresh registry ([`Metrics::restore`]), and
//! the last durable cut that `/metrics` and OTLP serve ([`Metrics::publish_durable`],
//! [`Metrics::gather_served`]). The snapshot itself — when it is taken, how it is written, the
//! source positions saved with it — is [`crate::state`]'s.
//!
//! **Which families.** Every counter and histogram, except those that describe the process rather
//! than what it counted ([`is_durable`]): `process_*`,
//! `kafka_security_exporter_log_lines_dropped_total` (read from the process's own output queues)
//! and `kafka_security_state_snapshot_failures_total` (a failing snapshot cannot save its own
//! count). These start at 0 with each process and are always served live. Gauges (consumer lag,
//! `source_up`, …) describe the present: never saved, served live.
//!
//! **Counters** are restored by adding the saved value to the (fresh) series. **Histograms**: a
//! capped histogram adds the saved buckets and sum to its own series; a `prometheus` histogram
//! cannot be set, so a restored series keeps its saved count, sum and buckets as a baseline that
//! [`Metrics::gather`] adds to the live series. Buckets changed in the
//! config between the two runs: each new bucket gets the saved count of the largest saved bound
//! not above it (exact for bounds that were there before; count and sum stay exact).
//!
//! **Caps.** A capped family restores at most its cap: saved series beyond it (the cap was
//! lowered) are added to their overflow series, and saved overflow series stay overflow series.
//! Memory after a restore is bounded as before it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use prometheus::core::Collector;
use prometheus::proto::{MetricFamily, MetricType};
use prometheus::{HistogramVec, IntCounterVec};
use serde::{Deserialize, Serialize};

use super::capped::{Capped, Captured, SPILL};
use super::catalogue as c;
use super::{labels, CappedCounterVec, CappedHistogramVec, Metrics};

/// One saved family: its name and every series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedFamily {
    pub name: String,
    pub series: Vec<SavedSeries>,
}

/// One saved series: its labels (without the registry-wide `cluster`), sorted by name, and value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedSeries {
    pub labels: Vec<(String, String)>,
    pub value: SavedValue,
}

/// A counter's value, or a histogram's count, sum and cumulative buckets (upper bound, count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SavedValue {
    Counter(u64),
    Histogram {
        count: u64,
        sum: f64,
        buckets: Vec<(f64, u64)>,
    },
}

/// What [`Metrics::restore`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Series restored.
    pub series: usize,
    /// Saved families this build does not have (renamed or gone), skipped.
    pub unknown_families: Vec<String>,
    /// Saved series whose label keys differ from the family's now (an opt-in label switched),
    /// skipped.
    pub mismatched: usize,
}

/// The restored histogram baselines and the last durable cut, held by [`Metrics`].
#[derive(Default)]
pub(super) struct Durable {
    /// By family, then by label values (sorted by label name, without `cluster`).
    baselines: Mutex<HashMap<String, HashMap<Vec<String>, Baseline>>>,
    /// The last cut made durable.
    served: Mutex<Option<Arc<MetricCut>>>,
}

#[derive(Debug, Clone, Default)]
struct Baseline {
    count: u64,
    sum: f64,
    /// Cumulative counts by upper bound, ascending.
    buckets: Vec<(f64, u64)>,
}

impl Baseline {
    /// The saved cumulative count at `bound`: that of the largest saved bound not above it.
    fn cumulative(&self, bound: f64) -> u64 {
        self.buckets
            .iter()
            .take_while(|(b, _)| *b <= bound)
            .last()
            .map_or(0, |(_, c)| *c)
    }

    fn add(&mut self, count: u64, sum: f64, buckets: &[(f64, u64)]) {
        if self.buckets.is_empty() {
            self.buckets = buckets.to_vec();
        } else {
            // Two saved series folded into one overflow series: same family, same bounds.
            for (mine, theirs) in self.buckets.iter_mut().zip(buckets) {
                mine.1 += theirs.1;
            }
        }
        self.count += count;
        self.sum += sum;
    }
}

/// True for the families a snapshot saves and `/metrics` serves from it (see the module docs).
pub fn is_durable(family: &MetricFamily) -> bool {
    let name = family.name();
    matches!(
        family.get_field_type(),
        MetricType::COUNTER | MetricType::HISTOGRAM
    ) && !name.starts_with("process_")
        && name != c::EXPORTER_LOG_LINES_DROPPED.name
        && name != c::STATE_SNAPSHOT_FAILURES.name
        && name != c::STATE_COMMIT_FAILURES.name
}

/// The durable families of a gather, as saved: labels without `cluster`, sorted by name.
pub fn saved(families: &[MetricFamily]) -> Vec<SavedFamily> {
    families
        .iter()
        .filter(|f| is_durable(f))
        .map(|f| SavedFamily {
            name: f.name().to_string(),
            series: f
                .get_metric()
                .iter()
                .map(|m| SavedSeries {
                    labels: m
                        .get_label()
                        .iter()
                        .filter(|l| l.name() != labels::CLUSTER.key)
                        .map(|l| (l.name().to_string(), l.value().to_string()))
                        .collect(),
                    value: match f.get_field_type() {
                        MetricType::HISTOGRAM => {
                            let h = m.get_histogram();
                            let sum = h.get_sample_sum();
                            SavedValue::Histogram {
                                count: h.get_sample_count(),
                                // JSON has no NaN or infinity; no bucketed quantity observes one.
                                sum: if sum.is_finite() { sum } else { 0.0 },
                                buckets: h
                                    .get_bucket()
                                    .iter()
                                    .map(|b| (b.upper_bound(), b.cumulative_count()))
                                    .collect(),
                            }
                        }
                        // Every durable counter is an integer counter.
                        _ => SavedValue::Counter(m.get_counter().value() as u64),
                    },
                })
                .collect(),
        })
        .collect()
}

/// A registered family a saved one is restored into.
enum Handle<'a> {
    Counter(&'a IntCounterVec),
    Capped(&'a CappedCounterVec),
    Histogram(&'a HistogramVec),
    CappedHistogram(&'a CappedHistogramVec),
}

impl Handle<'_> {
    fn keys(&self) -> Vec<String> {
        match self {
            Handle::Counter(v) => v.desc()[0].variable_labels.clone(),
            Handle::Histogram(v) => v.desc()[0].variable_labels.clone(),
            Handle::Capped(v) => v.label_keys(),
            Handle::CappedHistogram(v) => v.label_keys(),
        }
    }
}

impl Metrics {
    /// The registered family named `name`, among those a snapshot saves.
    fn durable_handle(&self, name: &str) -> Option<Handle<'_>> {
        let (events, dropped) = self.output.counters();
        let all: [(&str, Handle<'_>); 30] = [
            (c::EVENTS.name, Handle::Capped(&self.events)),
            (c::AUTHENTICATION.name, Handle::Capped(&self.authentication)),
            (
                c::AUTHENTICATION_FAILURES_BY_CLIENT.name,
                Handle::Capped(&self.authentication_failures_by_client),
            ),
            (c::AUTHORIZATION.name, Handle::Capped(&self.authorization)),
            (
                c::AUTHORIZATION_DENIALS_BY_PRINCIPAL.name,
                Handle::Capped(&self.denials_by_principal),
            ),
            (c::LOG_INJECTION.name, Handle::Capped(&self.log_injection)),
            (c::EVENT_DELAY.name, Handle::Histogram(&self.delay)),
            (c::PARSE_ERRORS.name, Handle::Counter(&self.parse_errors)),
            (c::REDELIVERED.name, Handle::Counter(&self.redelivered)),
            (
                c::SERIES_OVERFLOW.name,
                Handle::Counter(&self.series_overflow),
            ),
            (c::ACL_CHANGES.name, Handle::Capped(&self.acl_changes)),
            (
                c::CREDENTIAL_CHANGES.name,
                Handle::Capped(&self.credential_changes),
            ),
            (c::CONFIG_CHANGES.name, Handle::Capped(&self.config_changes)),
            (
                c::CONNECTIONS_REJECTED.name,
                Handle::Counter(&self.connections_rejected),
            ),
            (
                c::REQUEST_DURATION.name,
                Handle::CappedHistogram(&self.request_duration),
            ),
            (c::LOG_LINES.name, Handle::Counter(&self.log_lines)),
            (
                c::UNRECOGNIZED_LINES.name,
                Handle::Counter(&self.unrecognized_lines),
            ),
            (
                c::CHECKPOINT_FAILURES.name,
                Handle::Counter(&self.checkpoint_failures),
            ),
            (c::PARTIAL_LINES.name, Handle::Counter(&self.partial_lines)),
            (c::CLOCK_JUMPS.name, Handle::Counter(&self.clock_jumps)),
            (
                c::CONTROLLER_REPLAYS_SKIPPED.name,
                Handle::Counter(&self.controller_replays_skipped),
            ),
            (
                c::OTLP_EXPORT_FAILURES.name,
                Handle::Counter(&self.otlp_export_failures),
            ),
            (c::OTLP_DROPPED.name, Handle::Counter(&self.otlp_dropped)),
            (c::OUTPUT_EVENTS.name, Handle::Counter(events)),
            (c::OUTPUT_DROPPED.name, Handle::Counter(dropped)),
            (c::DETECTIONS.name, Handle::Capped(&self.detections)),
            (
                c::DETECTOR_OVERFLOW.name,
                Handle::Counter(&self.detector_overflow),
            ),
            (
                c::DETECTIONS_SUPPRESSED.name,
                Handle::Counter(&self.detections_suppressed),
            ),
            (
                c::DETECTOR_STATE_FAILURES.name,
                Handle::Counter(&self.detector_state_failures),
            ),
            (
                c::WEB_CONFIG_RELOAD_FAILURES.name,
                Handle::Counter(&self.web_config_reload_failures),
            ),
        ];
        all.into_iter().find_map(|(n, h)| (n == name).then_some(h))
    }

    /// Adds saved values to this (fresh) registry; see the module docs. Call once, before any
    /// source applies anything.
    pub fn restore(&self, families: &[SavedFamily]) -> Restored {
        let mut restored = Restored::default();
        for family in families {
            let Some(handle) = self.durable_handle(&family.name) else {
                restored.unknown_families.push(family.name.clone());
                continue;
            };
            let keys = handle.keys();
            for series in &family.series {
                // Values in the family's key order; a series whose keys differ is skipped.
                let values: Option<Vec<&str>> = (series.labels.len() == keys.len())
                    .then(|| {
                        keys.iter()
                            .map(|k| {
                                series
                                    .labels
                                    .iter()
                                    .find(|(name, _)| name == k)
                                    .map(|(_, v)| v.as_str())
                            })
                            .collect()
                    })
                    .flatten();
                let Some(values) = values else {
                    restored.mismatched += 1;
                    continue;
                };
                if self.restore_series(&handle, &keys, &values, &family.name, &series.value) {
                    restored.series += 1;
                } else {
                    restored.mismatched += 1;
                }
            }
        }
        restored
    }

    /// Restores one series; false when its value is not of its family's kind.
    fn restore_series(
        &self,
        handle: &Handle<'_>,
        keys: &[String],
        values: &[&str],
        family: &str,
        value: &SavedValue,
    ) -> bool {
        match (handle, value) {
            (Handle::Counter(v), SavedValue::Counter(n)) => {
                v.with_label_values(values).inc_by(*n);
            }
            (Handle::Capped(v), SavedValue::Counter(n)) => v.restore_counter(values, *n),
            (
                Handle::CappedHistogram(v),
                SavedValue::Histogram {
                    count,
                    sum,
                    buckets,
                },
            ) => v.restore_histogram(values, *count, *sum, buckets),
            (
                Handle::Histogram(v),
                SavedValue::Histogram {
                    count,
                    sum,
                    buckets,
                },
            ) => {
                v.with_label_values(values);
                let mut by_key: Vec<(&String, &str)> =
                    keys.iter().zip(values.iter().copied()).collect();
                by_key.sort();
                let key = by_key.into_iter().map(|(_, v)| v.to_string()).collect();
                self.durable
                    .baselines
                    .lock()
                    .entry(family.to_string())
                    .or_default()
                    .entry(key)
                    .or_default()
                    .add(*count, *sum, buckets);
            }
            _ => return false,
        }
        true
    }

    /// Every family of the registry, restored histogram baselines added.
    pub fn gather(&self) -> Vec<MetricFamily> {
        let mut families = self.registry.gather();
        self.add_baselines(&mut families);
        families
    }

    /// Every family but the capped ones, restored histogram baselines added.
    fn gather_rest(&self) -> Vec<MetricFamily> {
        let mut families = self.rest.gather();
        self.add_baselines(&mut families);
        families
    }

    fn add_baselines(&self, families: &mut [MetricFamily]) {
        let baselines = self.durable.baselines.lock();
        if baselines.is_empty() {
            return;
        }
        for family in families {
            let Some(saved) = baselines.get(family.name()) else {
                continue;
            };
            for m in family.mut_metric() {
                let key: Vec<String> = m
                    .get_label()
                    .iter()
                    .filter(|l| l.name() != labels::CLUSTER.key)
                    .map(|l| l.value().to_string())
                    .collect();
                let Some(b) = saved.get(&key) else { continue };
                let h = m.histogram.mut_or_insert_default();
                h.sample_count = Some(h.get_sample_count() + b.count);
                h.sample_sum = Some(h.get_sample_sum() + b.sum);
                for bucket in &mut h.bucket {
                    let base = b.cumulative(bucket.upper_bound());
                    bucket.cumulative_count = Some(bucket.cumulative_count() + base);
                }
            }
        }
    }

    /// The capped families, which keep and render their series themselves.
    fn capped(&self) -> [&Capped; 11] {
        [
            &self.events,
            &self.authentication,
            &self.authentication_failures_by_client,
            &self.authorization,
            &self.denials_by_principal,
            &self.log_injection,
            &self.acl_changes,
            &self.credential_changes,
            &self.config_changes,
            &self.request_duration,
            &self.detections,
        ]
    }

    /// Every value now, cheaply: the small families gathered, the capped ones' values copied
    /// ([`super::capped::Capped::capture`]). What a state snapshot takes while the sources
    /// wait, and what a render formats.
    pub fn cut(&self) -> MetricCut {
        let mut capped: Vec<(Capped, Captured)> = self
            .capped()
            .into_iter()
            .map(|c| (c.clone(), c.capture()))
            .collect();
        capped.sort_by(|a, b| a.0.name().cmp(b.0.name()));
        MetricCut {
            rest: self.gather_rest(),
            capped,
            cluster: self.cluster.clone(),
        }
    }

    /// Makes `cut` (a [`Metrics::cut`] now durable) what [`Metrics::gather_served`] and
    /// [`Metrics::render_served`] show of the durable families from now on.
    pub fn publish_durable(&self, cut: Arc<MetricCut>) {
        *self.durable.served.lock() = Some(cut);
    }

    /// What OTLP shows: the live registry, whose durable families are replaced by those of the
    /// last published cut once one was published (a series born since is not shown until a cut
    /// holds it). Before any publication, the live registry.
    pub fn gather_served(&self) -> Vec<MetricFamily> {
        let served = self.durable.served.lock().clone();
        match served {
            Some(cut) => cut.families_with(merge(&cut.rest, self.gather_rest())),
            None => self.gather(),
        }
    }

    /// What `/metrics` shows: [`Metrics::gather_served`], in the Prometheus text format.
    pub fn render_served(&self) -> Vec<u8> {
        let served = self.durable.served.lock().clone();
        match served {
            Some(cut) => cut.render_with(&merge(&cut.rest, self.gather_rest())),
            None => self.render(),
        }
    }

    /// Creates the snapshot's failure counter at 0 (when a snapshot is kept).
    pub fn init_state(&self) {
        self.state_snapshot_failures
            .with_label_values(&[] as &[&str]);
    }

    /// Creates a Kafka source's commit failure counter at 0 (when a snapshot is kept).
    pub fn init_state_commits(&self, source: &str) {
        self.state_commit_failures.with_label_values(&[source]);
    }

    /// Counts a snapshot whose offsets `source` could not commit; emit
    /// [`super::internal::StateCommitFailed`].
    pub(super) fn record_state_commit_failure(&self, source: &str) {
        self.state_commit_failures
            .with_label_values(&[source])
            .inc();
    }

    /// Counts a failed snapshot; emit [`super::internal::StateSnapshotFailed`].
    pub(super) fn record_state_snapshot_failure(&self) {
        self.state_snapshot_failures
            .with_label_values(&[] as &[&str])
            .inc();
    }
}

/// Every value at one moment ([`Metrics::cut`]): the families of the small registry as gathered,
/// and the capped families' values as copied.
pub struct MetricCut {
    /// Every family but the capped ones, sorted by name.
    rest: Vec<MetricFamily>,
    /// The capped families and their values, sorted by name.
    capped: Vec<(Capped, Captured)>,
    /// The registry-wide `cluster` label's value.
    cluster: Option<String>,
}

impl MetricCut {
    /// The durable families, as a state snapshot saves them (a list of [`SavedFamily`]),
    /// serialized straight from the cut: the capped families' series without an owned copy.
    pub fn saved(&self) -> impl Serialize + '_ {
        SavedCut(self)
    }

    /// Calls `f` with the labels and count of every series of the counter family `name`, capped
    /// or not (nothing for other kinds), in no set order. For summing series up, without the
    /// `prometheus` families of the capped ones ([`MetricCut::families`]: several MB for
    /// 10,000 series).
    pub fn each_count(&self, name: &str, mut f: impl FnMut(&[(&str, &str)], f64)) {
        for (c, values) in self.capped.iter().filter(|(c, _)| c.name() == name) {
            let keys = c.label_keys();
            c.each_count(values, |values, count| {
                let mut labels: Vec<(&str, &str)> = keys
                    .iter()
                    .map(|k| k.as_str())
                    .zip(values.iter().copied())
                    .collect();
                labels.extend(self.extra());
                f(&labels, count as f64);
            });
        }
        for family in self.rest.iter().filter(|f| f.name() == name) {
            if family.get_field_type() != MetricType::COUNTER {
                continue;
            }
            for m in family.get_metric() {
                let labels: Vec<(&str, &str)> = m
                    .get_label()
                    .iter()
                    .map(|l| (l.name(), l.value()))
                    .collect();
                f(&labels, m.get_counter().value());
            }
        }
    }

    /// Every family of the cut, in the Prometheus text format.
    pub fn render(&self) -> Vec<u8> {
        self.render_with(&self.rest)
    }

    /// [`MetricCut::render`], written to `w` as it is rendered: the text of a family of many
    /// series is never held whole (10,000 series of one family are 1.5 MB of text).
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut result = Ok(());
        let mut spill = |out: &mut Vec<u8>| {
            if result.is_ok() {
                result = w.write_all(out);
            }
            out.clear();
        };
        let mut out = Vec::with_capacity(SPILL + 4096);
        self.render_into(&self.rest, &mut out, &mut spill);
        spill(&mut out);
        result
    }

    /// Every family of the cut as `prometheus` families (slow with many series: for OTLP and
    /// tests).
    pub fn families(&self) -> Vec<MetricFamily> {
        self.families_with(self.rest.clone())
    }

    fn extra(&self) -> Option<(&str, &str)> {
        self.cluster
            .as_deref()
            .map(|cluster| (labels::CLUSTER.key, cluster))
    }

    /// `rest` (families sorted by name, none of them capped) and the cut's capped families.
    fn families_with(&self, rest: Vec<MetricFamily>) -> Vec<MetricFamily> {
        let mut families = rest;
        families.extend(
            self.capped
                .iter()
                .map(|(c, values)| c.family(values, self.extra()))
                .filter(|f| !f.get_metric().is_empty()),
        );
        families.sort_by(|a, b| a.name().cmp(b.name()));
        families
    }

    /// `rest` (families sorted by name, none of them capped) and the cut's capped families in
    /// the text format, in name order as the registry orders them.
    fn render_with(&self, rest: &[MetricFamily]) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 1024);
        self.render_into(rest, &mut out, &mut |_| {});
        out
    }

    /// [`MetricCut::render_with`] into `out`, which is handed to `spill` as it fills (see
    /// [`Capped::render`]).
    fn render_into(
        &self,
        rest: &[MetricFamily],
        out: &mut Vec<u8>,
        spill: &mut dyn FnMut(&mut Vec<u8>),
    ) {
        use prometheus::Encoder;
        let mut capped = self.capped.iter().peekable();
        let encoder = prometheus::TextEncoder::new();
        for family in rest {
            while let Some((c, values)) = capped.next_if(|(c, _)| c.name() < family.name()) {
                c.render(values, self.extra(), out, spill);
            }
            // Encoding into a Vec cannot fail on I/O; a metric family with inconsistent
            // labels would be a programming error caught by the tests.
            if let Err(error) = encoder.encode(std::slice::from_ref(family), out) {
                tracing::error!(%error, "Failed to render metrics.");
            }
        }
        for (c, values) in capped {
            c.render(values, self.extra(), out, spill);
        }
    }
}

/// A cut's durable families as they serialize.
struct SavedCut<'a>(&'a MetricCut);

impl Serialize for SavedCut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let rest = saved(&self.0.rest);
        let mut seq = serializer.serialize_seq(None)?;
        for family in &rest {
            seq.serialize_element(family)?;
        }
        for (c, values) in self.0.capped.iter().filter(|(_, v)| v.series() > 0) {
            seq.serialize_element(&c.saved(values))?;
        }
        seq.end()
    }
}

/// `live`'s families, the durable ones taken from `cut` instead (absent from `cut`: left out).
pub fn merge(cut: &[MetricFamily], live: Vec<MetricFamily>) -> Vec<MetricFamily> {
    let by_name: HashMap<&str, &MetricFamily> = cut.iter().map(|f| (f.name(), f)).collect();
    live.into_iter()
        .filter_map(|f| {
            if is_durable(&f) {
                by_name.get(f.name()).map(|d| (*d).clone())
            } else {
                Some(f)
            }
        })
        .collect()
}

/// Families in the Prometheus text format.
pub fn encode(families: &[MetricFamily]) -> Vec<u8> {
    use prometheus::Encoder;
    let mut out = Vec::with_capacity(16 * 1024);
    // Encoding into a Vec cannot fail on I/O; a metric family with inconsistent labels would
    // be a programming error caught by the tests.
    if let Err(error) = prometheus::TextEncoder::new().encode(families, &mut out) {
        tracing::error!(%error, "Failed to render metrics.");
    }
    out
}
