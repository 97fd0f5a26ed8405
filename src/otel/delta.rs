//! Delta temporality for the metric bridge (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
//!
//! The registry only knows cumulative values, so a delta is the cumulative value now minus the
//! value at the last push the collector accepted, per series. With the OpenTelemetry SDK's
//! preferences:
//!
//! | preference | counters we count, histograms | counters read at push time (`process.cpu`…) | gauges |
//! |---|---|---|---|
//! | `cumulative` | cumulative | cumulative | gauge |
//! | `delta` | delta | delta | gauge |
//! | `lowmemory` | delta | cumulative | gauge |
//!
//! (`process_*` and `kafka_security_exporter_log_lines_dropped_total` are read from the process
//! when the registry is gathered: the SDK's asynchronous counters, which `lowmemory` keeps
//! cumulative. The registry has no up-down counters: its gauges stay gauges.)
//!
//! A delta point spans from the last accepted push (the process start for the first) to now. A
//! failed push does not move that baseline, so the next push carries the increase over both
//! intervals and nothing is lost. A series whose value went down (a counter reset) reports its
//! whole value again, as the cumulative-to-delta conversion of the collector does.
//!
//! Memory: one remembered value (a histogram's bucket counts) per series of the last push; the
//! baseline is rebuilt from each push, so a series that left the registry is forgotten. The
//! registry's series are bounded by the label caps (`__overflow__`), and so is this.

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, HistogramDataPoint, Metric, NumberDataPoint,
};

use super::settings::Temporality;
use crate::metrics::{catalogue, names};

/// A series: the OTLP metric name and its attributes (label name and value, in order).
type SeriesKey = (String, Vec<(String, String)>);

/// What a series counted at the baseline.
#[derive(Debug, Clone, PartialEq)]
enum Prev {
    Number(f64),
    Histogram {
        count: u64,
        sum: f64,
        buckets: Vec<u64>,
    },
}

/// The baseline of the delta points: the last accepted push's time and values.
#[derive(Debug)]
pub struct DeltaState {
    temporality: Temporality,
    /// Counters read at push time (kept cumulative by `lowmemory`), by OTLP name.
    asynchronous: Vec<String>,
    /// When the last accepted push was taken; `None` before the first.
    last_unix_nano: Option<u64>,
    values: HashMap<SeriesKey, Prev>,
}

/// The baseline a push would set, committed once the collector accepted it.
#[derive(Debug)]
pub struct Pending {
    time_unix_nano: u64,
    values: HashMap<SeriesKey, Prev>,
}

fn key(name: &str, attributes: &[KeyValue]) -> SeriesKey {
    let labels = attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            (kv.key.clone(), value)
        })
        .collect();
    (name.to_string(), labels)
}

fn number(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        Some(number_data_point::Value::AsDouble(v)) => v,
        None => 0.0,
    }
}

impl DeltaState {
    pub fn new(temporality: Temporality) -> DeltaState {
        let asynchronous = [names::EXPORTER_LOG_LINES_DROPPED]
            .iter()
            .map(|n| catalogue::otlp_name(n, true).0)
            .collect();
        DeltaState {
            temporality,
            asynchronous,
            last_unix_nano: None,
            values: HashMap::new(),
        }
    }

    /// Whether the counter `name` goes as a delta.
    fn counter_is_delta(&self, name: &str) -> bool {
        match self.temporality {
            Temporality::Cumulative => false,
            Temporality::Delta => true,
            Temporality::Lowmemory => {
                !name.starts_with("process.") && !self.asynchronous.iter().any(|a| a == name)
            }
        }
    }

    /// Turns the cumulative sums and histograms of `metrics` (converted at `now_unix_nano`) into
    /// deltas where the preference says so. Returns the baseline to [`commit`](Self::commit)
    /// when the push is accepted; `None` when everything stays cumulative.
    pub fn apply(&self, metrics: &mut [Metric], now_unix_nano: u64) -> Option<Pending> {
        if self.temporality == Temporality::Cumulative {
            return None;
        }
        let mut next = HashMap::new();
        for m in metrics.iter_mut() {
            match &mut m.data {
                Some(metric::Data::Sum(sum))
                    if sum.is_monotonic && self.counter_is_delta(&m.name) =>
                {
                    sum.aggregation_temporality = AggregationTemporality::Delta as i32;
                    for p in &mut sum.data_points {
                        self.number_delta(&m.name, p, &mut next);
                    }
                }
                Some(metric::Data::Histogram(h)) => {
                    h.aggregation_temporality = AggregationTemporality::Delta as i32;
                    for p in &mut h.data_points {
                        self.histogram_delta(&m.name, p, &mut next);
                    }
                }
                _ => {}
            }
        }
        Some(Pending {
            time_unix_nano: now_unix_nano,
            values: next,
        })
    }

    /// The start of a delta point: the last accepted push, else the cumulative start.
    fn start(&self, cumulative_start: u64) -> u64 {
        self.last_unix_nano.unwrap_or(cumulative_start)
    }

    fn number_delta(
        &self,
        name: &str,
        p: &mut NumberDataPoint,
        next: &mut HashMap<SeriesKey, Prev>,
    ) {
        let key = key(name, &p.attributes);
        let now = number(p);
        let before = match self.values.get(&key) {
            Some(Prev::Number(v)) if *v <= now => *v,
            _ => 0.0, // new series, or a reset: its whole value is new
        };
        p.start_time_unix_nano = self.start(p.start_time_unix_nano);
        p.value = Some(super::metrics::number_value(now - before));
        next.insert(key, Prev::Number(now));
    }

    fn histogram_delta(
        &self,
        name: &str,
        p: &mut HistogramDataPoint,
        next: &mut HashMap<SeriesKey, Prev>,
    ) {
        let key = key(name, &p.attributes);
        let now = Prev::Histogram {
            count: p.count,
            sum: p.sum.unwrap_or(0.0),
            buckets: p.bucket_counts.clone(),
        };
        p.start_time_unix_nano = self.start(p.start_time_unix_nano);
        if let Some(Prev::Histogram {
            count,
            sum,
            buckets,
        }) = self.values.get(&key)
        {
            let comparable = *count <= p.count
                && buckets.len() == p.bucket_counts.len()
                && buckets.iter().zip(&p.bucket_counts).all(|(b, n)| b <= n);
            if comparable {
                p.count -= count;
                p.sum = p.sum.map(|s| s - sum);
                for (n, b) in p.bucket_counts.iter_mut().zip(buckets) {
                    *n -= b;
                }
            }
        }
        next.insert(key, now);
    }

    /// Makes `pending` the baseline: its push was accepted.
    pub fn commit(&mut self, pending: Pending) {
        self.last_unix_nano = Some(pending.time_unix_nano);
        self.values = pending.values;
    }

    /// Series remembered (for tests and the memory bound).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, MetricsConfig};

    use crate::event::{Category, Format, Origin, Outcome, SecurityEvent};
    use std::time::{Duration, SystemTime};

    fn event(m: &Metrics, delay: f64) {
        let now = SystemTime::now();
        let mut e = SecurityEvent::new(
            Format::Json,
            Category::Authentication,
            Outcome::Failure,
            "login",
            Origin::Memory,
            now,
        );
        e.event_time = Some(now - Duration::from_secs_f64(delay));
        m.record("s", &e, now);
    }

    fn push(m: &Metrics, state: &DeltaState, now: u64) -> (Vec<Metric>, Option<Pending>) {
        let (mut metrics, _) = super::super::metrics::convert(&m.registry().gather(), 5, now, None);
        let pending = state.apply(&mut metrics, now);
        (metrics, pending)
    }

    fn events_point(metrics: &[Metric]) -> (f64, u64, i32) {
        let m = metrics
            .iter()
            .find(|m| m.name == "kafka_security.events")
            .unwrap();
        let Some(metric::Data::Sum(s)) = &m.data else {
            panic!("not a sum")
        };
        let total = s.data_points.iter().map(number).sum();
        (
            total,
            s.data_points[0].start_time_unix_nano,
            s.aggregation_temporality,
        )
    }

    fn delay_point(metrics: &[Metric]) -> HistogramDataPoint {
        let m = metrics
            .iter()
            .find(|m| m.name == "kafka_security.event_delay")
            .unwrap();
        let Some(metric::Data::Histogram(h)) = &m.data else {
            panic!("not a histogram")
        };
        assert_eq!(
            h.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        h.data_points[0].clone()
    }

    #[test]
    fn deltas_carry_the_increase_since_the_last_accepted_push() {
        let m = Metrics::new(&MetricsConfig::default()).unwrap();
        let mut state = DeltaState::new(Temporality::Delta);
        event(&m, 0.001);
        event(&m, 3.0);
        let (first, pending) = push(&m, &state, 100);
        assert_eq!(
            events_point(&first),
            (2.0, 5, AggregationTemporality::Delta as i32)
        );
        let h = delay_point(&first);
        assert_eq!((h.count, h.start_time_unix_nano), (2, 5));
        state.commit(pending.unwrap());

        event(&m, 3.0);
        let (second, pending) = push(&m, &state, 200);
        assert_eq!(
            events_point(&second),
            (1.0, 100, AggregationTemporality::Delta as i32)
        );
        let h = delay_point(&second);
        assert_eq!((h.count, h.start_time_unix_nano), (1, 100));
        assert_eq!(h.bucket_counts.iter().sum::<u64>(), 1);
        assert!((h.sum.unwrap() - 3.0).abs() < 0.1, "{h:?}");
        // This push fails (not committed): the next one carries its increase too.
        drop(pending);
        event(&m, 3.0);
        let (third, pending) = push(&m, &state, 300);
        assert_eq!(
            events_point(&third),
            (2.0, 100, AggregationTemporality::Delta as i32)
        );
        state.commit(pending.unwrap());
        let (fourth, _) = push(&m, &state, 400);
        assert_eq!(
            events_point(&fourth),
            (0.0, 300, AggregationTemporality::Delta as i32)
        );
        assert_eq!(delay_point(&fourth).count, 0);
        // Gauges stay gauges.
        assert!(fourth
            .iter()
            .filter(|x| x.name == "kafka_security.build_info")
            .all(|x| matches!(x.data, Some(metric::Data::Gauge(_)))));
    }

    #[test]
    fn lowmemory_keeps_counters_read_at_push_time_cumulative() {
        let m = Metrics::new(&MetricsConfig::default()).unwrap();
        event(&m, 1.0);
        for (temporality, process_delta) in
            [(Temporality::Lowmemory, false), (Temporality::Delta, true)]
        {
            let state = DeltaState::new(temporality);
            let (metrics, _) = push(&m, &state, 100);
            for metric in &metrics {
                let Some(metric::Data::Sum(s)) = &metric.data else {
                    continue;
                };
                let read_at_push = metric.name.starts_with("process.")
                    || metric.name == "kafka_security.exporter_log_lines_dropped";
                let delta = s.aggregation_temporality == AggregationTemporality::Delta as i32;
                assert_eq!(
                    delta,
                    !read_at_push || process_delta,
                    "{temporality:?} {}",
                    metric.name
                );
            }
        }
        let state = DeltaState::new(Temporality::Cumulative);
        let (mut metrics, _) = push(&m, &state, 100);
        assert!(state.apply(&mut metrics, 100).is_none());
        assert_eq!(
            events_point(&metrics).2,
            AggregationTemporality::Cumulative as i32
        );
    }

    #[test]
    fn a_reset_or_a_new_series_reports_its_whole_value_and_gone_series_are_forgotten() {
        let mut state = DeltaState::new(Temporality::Delta);
        let point = |labels: &str, v: i64| NumberDataPoint {
            attributes: vec![super::super::string_kv("source", labels)],
            value: Some(number_data_point::Value::AsInt(v)),
            ..Default::default()
        };
        let sum = |points| Metric {
            name: "kafka_security.events".into(),
            data: Some(metric::Data::Sum(
                opentelemetry_proto::tonic::metrics::v1::Sum {
                    data_points: points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                },
            )),
            ..Default::default()
        };
        let mut first = vec![sum(vec![point("a", 10), point("b", 4)])];
        state.commit(state.apply(&mut first, 1).unwrap());
        assert_eq!(state.len(), 2);
        let mut second = vec![sum(vec![point("a", 3), point("c", 7)])];
        state.commit(state.apply(&mut second, 2).unwrap());
        let Some(metric::Data::Sum(s)) = &second[0].data else {
            panic!()
        };
        let values: Vec<f64> = s.data_points.iter().map(number).collect();
        assert_eq!(
            values,
            [3.0, 7.0],
            "reset `a` and new `c` report all they hold"
        );
        assert_eq!(state.len(), 2, "`b` left the registry and is forgotten");
    }
}
