//! anomaly: failures and denials far above their hour-of-week baseline.
//!
//! Two series, each its own subject: `authentication_failures` (failed logins) and
//! `authorization_denials`. Each counts events per `interval` (default 1h, aligned to the Unix
//! epoch). When an interval closes (an event or a tick at or past its end, by event time) its
//! count is compared with the baseline of its hour of the week (UTC; 168 slots), then taught to
//! it. Intervals without events count 0, so quiet hours learn that they are quiet (after a gap,
//! at most [`MAX_FILL_WEEKS`] weeks of empty intervals are taught). An event older than the open
//! interval is dropped.
//!
//! The baseline of a slot is robust and online: an exponentially weighted centre and mean
//! absolute deviation (the spread), weight 1/(n+1) for the first observations (a plain mean)
//! and never below [`MIN_WEIGHT`] after. Once warmed up, a count is clipped to the firing
//! threshold before it is taught, so an attack does not teach the slot that attacks are normal.
//!
//! It fires when the count is at least `min_count`, above `centre + deviations × max(spread,
//! 1)`, the slot has been warmed up and the learning period (from the first event ever seen,
//! kept across restarts) is over. Warm-up is read as weeks: a slot must have been taught
//! `warm_up_weeks × (1h / interval)` intervals (with the default 1h interval, exactly
//! `warm_up_weeks` observations). The baselines are saved in the state file; the open interval
//! is not (after a restart counting starts afresh, and the downtime teaches nothing).

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::{
    from_millis, millis, Detect, Detection, Detector, DetectorsConfig, Observation, Severity,
};

/// Adds the detectors of this module that `config` switches on.
pub(super) fn build(config: &DetectorsConfig, out: &mut Vec<Box<dyn Detect>>) {
    let a = &config.anomaly;
    if !a.enabled {
        return;
    }
    let interval = (a.interval.0.as_millis() as u64).clamp(1, HOUR);
    let per_hour = (HOUR / interval).max(1);
    out.push(Box::new(Anomaly {
        severity: a.severity.unwrap_or(Detector::Anomaly.default_severity()),
        interval,
        deviations: a.deviations,
        min_count: a.min_count,
        warm_up: u64::from(a.warm_up_weeks) * per_hour,
        learning: config.learning_period.0.as_millis() as u64,
        learning_start: None,
        series: [
            Series::new("authentication_failures", "authentication failures"),
            Series::new("authorization_denials", "authorization denials"),
        ],
    }));
}

const HOUR: u64 = 3_600_000;
const WEEK_HOURS: u64 = 168;
/// Empty intervals taught after a gap in event time, at most (in weeks).
const MAX_FILL_WEEKS: u64 = 4;
/// The smallest weight of a new observation in a slot's baseline: about the last 8 weeks.
const MIN_WEIGHT: f64 = 1.0 / 8.0;

/// The hour-of-week slot of a time: 0 is Monday 00:00 UTC (the epoch was a Thursday).
fn slot(ms: u64) -> usize {
    ((ms / HOUR + 3 * 24) % WEEK_HOURS) as usize
}

/// `anomaly`.
struct Anomaly {
    severity: Severity,
    /// Interval, millis (at most an hour).
    interval: u64,
    deviations: f64,
    min_count: u64,
    /// Intervals a slot must have learned before it may fire.
    warm_up: u64,
    /// Learning period, millis.
    learning: u64,
    learning_start: Option<u64>,
    series: [Series; 2],
}

/// One counted series and its baseline.
struct Series {
    subject: &'static str,
    /// In words, for the detail.
    what: &'static str,
    /// The open interval, once the first event arrived.
    open: Option<Open>,
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    start: u64,
    count: u64,
    first: u64,
    last: u64,
}

/// The baseline of one hour of the week.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Slot {
    /// Intervals learned.
    n: u64,
    centre: f64,
    spread: f64,
}

impl Series {
    fn new(subject: &'static str, what: &'static str) -> Series {
        Series {
            subject,
            what,
            open: None,
            slots: vec![Slot::default(); WEEK_HOURS as usize],
        }
    }
}

impl Anomaly {
    /// The count above which a warmed-up slot fires.
    fn limit(&self, s: &Slot) -> f64 {
        s.centre + self.deviations * s.spread.max(1.0)
    }

    /// Closes every interval of series `i` that ended by `now`.
    fn advance(&mut self, i: usize, now: u64, out: &mut Vec<Detection>) {
        let Some(open) = self.series[i].open else {
            return;
        };
        let end = open.start + self.interval;
        if now < end {
            return;
        }
        self.close(i, &open, out);
        let current = now - now % self.interval;
        let max_fill = MAX_FILL_WEEKS * WEEK_HOURS * (HOUR / self.interval).max(1);
        let gaps = (current - end) / self.interval;
        let mut start = current - gaps.min(max_fill) * self.interval;
        while start < current {
            let empty = Open {
                start,
                count: 0,
                first: start,
                last: start,
            };
            self.close(i, &empty, out);
            start += self.interval;
        }
        self.series[i].open = Some(Open {
            start: current,
            count: 0,
            first: current,
            last: current,
        });
    }

    /// Compares a finished interval with its slot's baseline, then teaches it.
    fn close(&mut self, i: usize, open: &Open, out: &mut Vec<Detection>) {
        let end = open.start + self.interval;
        let learned = self
            .learning_start
            .is_some_and(|s| end >= s.saturating_add(self.learning));
        let k = slot(open.start);
        let s = self.series[i].slots[k];
        let limit = self.limit(&s);
        let warm = s.n >= self.warm_up;
        let x = open.count as f64;
        if learned && warm && open.count >= self.min_count && x > limit {
            let series = &self.series[i];
            out.push(Detection {
                detector: Detector::Anomaly,
                severity: self.severity,
                subject: series.subject.to_string(),
                first_event: from_millis(open.first),
                last_event: from_millis(open.last),
                count: open.count,
                detail: format!(
                    "{} {} in {}, usually {:.1} ± {:.1} at this hour of the week",
                    open.count,
                    series.what,
                    humantime::format_duration(Duration::from_millis(self.interval)),
                    s.centre,
                    s.spread
                ),
            });
        }
        let x = if warm { x.min(limit) } else { x };
        let slot = &mut self.series[i].slots[k];
        if slot.n == 0 {
            *slot = Slot {
                n: 1,
                centre: x,
                spread: 0.0,
            };
        } else {
            let w = (1.0 / (slot.n as f64 + 1.0)).max(MIN_WEIGHT);
            let deviation = (x - slot.centre).abs();
            slot.centre += w * (x - slot.centre);
            slot.spread += w * (deviation - slot.spread);
            slot.n = slot.n.saturating_add(1);
        }
    }

    fn count(&mut self, i: usize, at: u64) {
        let interval = self.interval;
        let open = self.series[i].open.get_or_insert_with(|| {
            let start = at - at % interval;
            Open {
                start,
                count: 0,
                first: at,
                last: at,
            }
        });
        if at < open.start {
            return;
        }
        if open.count == 0 {
            open.first = at;
            open.last = at;
        }
        open.count += 1;
        open.first = open.first.min(at);
        open.last = open.last.max(at);
    }
}

impl Detect for Anomaly {
    fn detector(&self) -> Detector {
        Detector::Anomaly
    }

    fn observe(&mut self, o: &Observation<'_>, out: &mut Vec<Detection>) {
        let at = o.ms;
        self.learning_start.get_or_insert(at);
        for i in 0..self.series.len() {
            self.advance(i, at, out);
        }
        if o.is_login_failure() {
            self.count(0, at);
        } else if o.is_denial() {
            self.count(1, at);
        }
    }

    fn tick(&mut self, now: SystemTime, out: &mut Vec<Detection>) {
        let now = millis(now);
        for i in 0..self.series.len() {
            self.advance(i, now, out);
        }
    }

    /// The two series.
    fn tracked(&self) -> usize {
        self.series.len()
    }

    /// `{"learning_start": millis, "<subject>": [[n, centre, spread] × 168], …}`.
    fn save(&self) -> Option<Value> {
        let mut state = serde_json::Map::new();
        state.insert("learning_start".into(), json!(self.learning_start));
        for s in &self.series {
            let slots: Vec<Value> = s
                .slots
                .iter()
                .map(|b| json!([b.n, b.centre, b.spread]))
                .collect();
            state.insert(s.subject.into(), Value::Array(slots));
        }
        Some(Value::Object(state))
    }

    fn restore(&mut self, state: &Value) -> Result<(), String> {
        let state = state.as_object().ok_or("state is not an object")?;
        self.learning_start = match state.get("learning_start") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or("`learning_start` is not a time in milliseconds")?,
            ),
        };
        for series in &mut self.series {
            let Some(slots) = state.get(series.subject) else {
                continue;
            };
            let name = series.subject;
            let slots = slots
                .as_array()
                .filter(|s| s.len() == WEEK_HOURS as usize)
                .ok_or_else(|| format!("`{name}` is not a list of {WEEK_HOURS} slots"))?;
            for (k, v) in slots.iter().enumerate() {
                let slot = v
                    .as_array()
                    .filter(|v| v.len() == 3)
                    .and_then(|v| {
                        Some(Slot {
                            n: v[0].as_u64()?,
                            centre: v[1].as_f64()?,
                            spread: v[2].as_f64()?,
                        })
                    })
                    .filter(|s| {
                        s.centre.is_finite()
                            && s.spread.is_finite()
                            && s.centre >= 0.0
                            && s.spread >= 0.0
                    })
                    .ok_or_else(|| {
                        format!("`{name}` slot {k} is not [count, centre, spread] (numbers >= 0)")
                    })?;
                series.slots[k] = slot;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::config::Span;
    use super::super::{Detection, Detector, DetectorsConfig, Engine};
    use super::{slot, HOUR};
    use crate::event::{Category, Format, Origin, Outcome, SecurityEvent};

    const WEEK: u64 = 168 * HOUR;

    /// Only the anomaly detector (1h interval, 6 deviations, min_count 50, warm-up 2 weeks),
    /// learning for `learning` millis.
    fn config(learning: u64) -> DetectorsConfig {
        let mut c = DetectorsConfig {
            learning_period: Span(Duration::from_millis(learning)),
            ..Default::default()
        };
        c.brute_force.enabled = false;
        c.password_spraying.enabled = false;
        c.credential_stuffing.enabled = false;
        c.slow_brute_force.enabled = false;
        c.success_after_failures.enabled = false;
        c.privilege_probing.enabled = false;
        c.new_principal.enabled = false;
        c.new_client_for_principal.enabled = false;
        c.log_tampering.enabled = false;
        c.log_injection.enabled = false;
        c
    }

    /// `ms` after a time on a whole hour.
    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_699_999_200_000 + ms)
    }

    /// `n` events spread over the hour starting at `start`; what they raised.
    fn hour_of(
        engine: &mut Engine,
        category: Category,
        outcome: Outcome,
        start: u64,
        n: u64,
    ) -> Vec<Detection> {
        let mut out = Vec::new();
        for i in 0..n {
            let t = start + i * (HOUR / n);
            let mut e = SecurityEvent::new(
                Format::AuthorizerLog,
                category,
                outcome,
                "test",
                Origin::Memory,
                at(t + 1),
            );
            e.event_time = Some(at(t));
            e.principal = Some("User:x".into());
            engine.observe(&e, &mut out);
        }
        out
    }

    fn failures(engine: &mut Engine, start: u64, n: u64) -> Vec<Detection> {
        hour_of(engine, Category::Authentication, Outcome::Failure, start, n)
    }

    fn tick(engine: &mut Engine, ms: u64) -> Vec<Detection> {
        let mut out = Vec::new();
        engine.tick(at(ms), &mut out);
        out
    }

    fn brief(out: &[Detection]) -> Vec<(&str, u64)> {
        out.iter().map(|d| (d.subject.as_str(), d.count)).collect()
    }

    /// An engine whose slot of hour 0 learned `per_week` failures in each of `weeks` weeks;
    /// the time now is the start of hour 0 of the next week.
    fn taught(config: &DetectorsConfig, weeks: u64, per_week: u64) -> Engine {
        let mut engine = Engine::new(config);
        for w in 0..weeks {
            assert_eq!(brief(&failures(&mut engine, w * WEEK, per_week)), []);
        }
        assert_eq!(brief(&tick(&mut engine, weeks * WEEK)), []);
        engine
    }

    /// Failures in hour 0 of week `week`, and the tick that closes it.
    fn attack(engine: &mut Engine, week: u64, n: u64) -> Vec<(String, u64)> {
        let mut out = failures(engine, week * WEEK, n);
        out.extend(tick(engine, week * WEEK + HOUR));
        out.into_iter().map(|d| (d.subject, d.count)).collect()
    }

    fn fired(n: u64) -> Vec<(String, u64)> {
        vec![("authentication_failures".to_string(), n)]
    }

    #[test]
    fn hour_of_week_starts_on_monday() {
        // 2023-11-13 was a Monday.
        let monday = 1_699_833_600_000;
        assert_eq!(slot(monday), 0);
        assert_eq!(slot(monday + HOUR - 1), 0);
        assert_eq!(slot(monday + 25 * HOUR), 25);
        assert_eq!(slot(monday + WEEK - 1), 167);
    }

    #[test]
    fn min_count_both_sides() {
        let c = config(0);
        assert_eq!(attack(&mut taught(&c, 2, 10), 2, 49), []);
        assert_eq!(attack(&mut taught(&c, 2, 10), 2, 50), fired(50));
    }

    #[test]
    fn deviations_both_sides() {
        let c = config(0);
        // Centre 100, spread 0 → limit 100 + 6 × 1.
        assert_eq!(attack(&mut taught(&c, 2, 100), 2, 106), []);
        assert_eq!(attack(&mut taught(&c, 2, 100), 2, 107), fired(107));
        // A noisy slot: 80 and 120 → centre 100, spread 20 → limit 220.
        let mut engine = Engine::new(&c);
        failures(&mut engine, 0, 80);
        failures(&mut engine, WEEK, 120);
        assert_eq!(attack(&mut engine, 2, 220), []);
        let mut engine = Engine::new(&c);
        failures(&mut engine, 0, 80);
        failures(&mut engine, WEEK, 120);
        assert_eq!(attack(&mut engine, 2, 221), fired(221));
    }

    #[test]
    fn warm_up_both_sides() {
        let c = config(0);
        assert_eq!(attack(&mut taught(&c, 1, 10), 1, 500), []);
        assert_eq!(attack(&mut taught(&c, 2, 10), 2, 500), fired(500));
    }

    #[test]
    fn learning_period_both_sides() {
        // The first event is at 0; hour 0 of week 2 closes at 2 weeks + 1h.
        let quiet = config(2 * WEEK + HOUR + 1);
        assert_eq!(attack(&mut taught(&quiet, 2, 10), 2, 500), []);
        let over = config(2 * WEEK + HOUR);
        assert_eq!(attack(&mut taught(&over, 2, 10), 2, 500), fired(500));
    }

    #[test]
    fn the_detection_tells_the_story() {
        let mut engine = taught(&config(0), 2, 10);
        let mut out = failures(&mut engine, 2 * WEEK, 60);
        assert!(out.is_empty());
        // An interval closes with the first event past its end, too.
        out = failures(&mut engine, 2 * WEEK + HOUR, 1);
        assert_eq!(out.len(), 1);
        let d = &out[0];
        assert_eq!(d.detector, Detector::Anomaly);
        assert_eq!(d.severity, Detector::Anomaly.default_severity());
        assert_eq!(d.first_event, at(2 * WEEK));
        assert_eq!(d.last_event, at(2 * WEEK + 59 * (HOUR / 60)));
        assert_eq!(
            d.detail,
            "60 authentication failures in 1h, usually 10.0 ± 0.0 at this hour of the week"
        );
    }

    #[test]
    fn a_tick_closes_the_interval_at_its_end() {
        let mut engine = taught(&config(0), 2, 10);
        failures(&mut engine, 2 * WEEK, 60);
        assert_eq!(brief(&tick(&mut engine, 2 * WEEK + HOUR - 1)), []);
        assert_eq!(
            brief(&tick(&mut engine, 2 * WEEK + HOUR)),
            [("authentication_failures", 60)]
        );
    }

    #[test]
    fn denials_are_their_own_series() {
        let c = config(0);
        let mut engine = Engine::new(&c);
        for w in 0..2 {
            hour_of(
                &mut engine,
                Category::Authorization,
                Outcome::Denied,
                w * WEEK,
                5,
            );
        }
        // Many failures at the same time do not make denials anomalous, and allowed requests
        // count for nothing.
        let mut out = failures(&mut engine, 2 * WEEK, 5);
        out.extend(hour_of(
            &mut engine,
            Category::Authorization,
            Outcome::Allowed,
            2 * WEEK,
            500,
        ));
        out.extend(hour_of(
            &mut engine,
            Category::Authorization,
            Outcome::Denied,
            2 * WEEK,
            80,
        ));
        out.extend(tick(&mut engine, 2 * WEEK + HOUR));
        assert_eq!(brief(&out), [("authorization_denials", 80)]);
    }

    #[test]
    fn quiet_hours_learn_zero() {
        let mut engine = Engine::new(&config(0));
        // Events only in hour 0; hour 5 stays empty for two weeks.
        for w in 0..2 {
            failures(&mut engine, w * WEEK, 10);
        }
        let hour5 = 2 * WEEK + 5 * HOUR;
        assert_eq!(brief(&tick(&mut engine, hour5)), []);
        let mut out = failures(&mut engine, hour5, 50);
        out.extend(tick(&mut engine, hour5 + HOUR));
        assert_eq!(brief(&out), [("authentication_failures", 50)]);
    }

    #[test]
    fn an_attack_does_not_teach_the_baseline() {
        let c = config(0);
        let mut engine = taught(&c, 2, 10);
        assert_eq!(attack(&mut engine, 2, 1000), fired(1000));
        assert_eq!(attack(&mut engine, 3, 1000), fired(1000));
        assert_eq!(attack(&mut engine, 4, 1000), fired(1000));
    }

    #[test]
    fn a_restart_keeps_the_baseline_and_learning_start() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(2 * WEEK);
        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        for w in 0..2 {
            failures(&mut engine, w * WEEK, 10);
        }
        tick(&mut engine, 2 * WEEK);
        engine.save().unwrap();
        drop(engine);
        // A fresh engine would still be warming up and learning.
        assert_eq!(attack(&mut Engine::new(&c), 2, 500), []);
        let mut engine = Engine::new(&c).with_state_dir(dir.path()).unwrap();
        assert_eq!(attack(&mut engine, 2, 500), fired(500));
    }

    #[test]
    fn a_corrupt_baseline_names_the_detector() {
        let dir = tempfile::tempdir().unwrap();
        for state in [
            r#"{"authentication_failures": [[1, 2.0, 0.5]]}"#,
            r#"{"learning_start": -1}"#,
            r#"[]"#,
        ] {
            let file = format!(r#"{{"version": 1, "detectors": {{"anomaly": {state}}}}}"#);
            std::fs::write(dir.path().join(super::super::STATE_FILE), file).unwrap();
            let Err(e) = Engine::new(&config(0)).with_state_dir(dir.path()) else {
                panic!("{state} was accepted");
            };
            let e = e.to_string();
            assert!(e.contains(": anomaly: "), "{e}");
        }
        // One bad slot among good ones.
        let mut slots = vec![serde_json::json!([1, 2.0, 0.5]); 168];
        slots[7] = serde_json::json!([1, -2.0, 0.5]);
        let file = serde_json::json!({"version": 1, "detectors": {"anomaly": {
            "authorization_denials": slots}}});
        std::fs::write(dir.path().join(super::super::STATE_FILE), file.to_string()).unwrap();
        let Err(e) = Engine::new(&config(0)).with_state_dir(dir.path()) else {
            panic!("accepted");
        };
        assert!(
            e.to_string()
                .contains(": anomaly: `authorization_denials` slot 7 is not"),
            "{e}"
        );
    }
}
