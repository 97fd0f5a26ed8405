//! The summary `replay` prints to stderr: totals, what each format held, the top tables of the
//! metrics, and the detections.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use super::{ReplayStats, Replayed};
use crate::detect::SummaryRow;
use crate::metrics::catalogue::Label;
use crate::metrics::{labels, names, Metrics};

/// The whole summary of `replayed`, which took `elapsed` seconds; `detectors_on` says whether
/// detections were looked for at all.
pub fn summary(replayed: &Replayed, top: usize, elapsed: f64, detectors_on: bool) -> String {
    let stats = &replayed.stats;
    let mut out = String::new();
    let rate = (stats.entries + stats.records) as f64 / elapsed.max(1e-9);
    out.push_str(&format!(
        "Replayed {} file(s), {:.1} MiB, {} log entries and {} archived records in {:.2} s ({:.0} items/s): {} security events, {} unreadable entries or records.\n",
        stats.files,
        stats.bytes as f64 / 1048576.0,
        stats.entries,
        stats.records,
        elapsed,
        rate,
        stats.events,
        stats.rejected
    ));
    out.push_str(&by_format(stats));
    tables(&replayed.metrics, top, &mut out);
    out.push('\n');
    if detectors_on {
        out.push_str(&detections_section(
            &replayed.detections,
            replayed.detections_dropped,
            top,
        ));
    } else {
        out.push_str("Detections: off\n");
    }
    if let Some(o) = &replayed.output {
        out.push_str(&output_line(o));
    }
    out
}

/// `Output topic security-events: 1200 produced, 0 dropped.`, with the reasons of any drop.
pub fn output_line(o: &super::OutputTotals) -> String {
    let dropped = o.dropped_total();
    let mut line = format!(
        "Output topic {}: {} produced, {dropped} dropped",
        o.topic, o.produced
    );
    if dropped > 0 {
        let reasons: Vec<String> = o
            .dropped
            .iter()
            .map(|(reason, n)| format!("{} {n}", reason.as_str()))
            .collect();
        let _ = write!(line, " ({})", reasons.join(", "));
    }
    line.push_str(".\n");
    line
}

/// `By format: broker 3 file(s) 1200 entries; audit 1 file(s) 40 records`, then lines naming
/// the files of no recognized format (not replayed), the layouts broker logs were read in, and
/// how many lines matched no layout, with the `--layout` hint.
pub fn by_format(stats: &ReplayStats) -> String {
    let mut parts: Vec<String> = stats
        .by_format
        .iter()
        .map(|(format, n)| {
            let unit = if matches!(
                format,
                super::FileFormat::Log(_) | super::FileFormat::CloudWatch
            ) {
                "entries"
            } else {
                "records"
            };
            format!("{format} {} file(s) {} {unit}", n.files, n.items)
        })
        .collect();
    if !stats.empty.is_empty() {
        parts.push(format!("empty {} file(s)", stats.empty.len()));
    }
    if !stats.unrecognized.is_empty() {
        parts.push(format!("unrecognized {} file(s)", stats.unrecognized.len()));
    }
    let mut out = format!("By format: {}\n", parts.join("; "));
    if !stats.unrecognized.is_empty() {
        let names: Vec<String> = stats
            .unrecognized
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let _ = writeln!(
            out,
            "NOT REPLAYED: {} file(s) of no recognized format (name it with --format-for PATH=FORMAT): {}",
            names.len(),
            names.join(", ")
        );
    }
    if !stats.layouts.is_empty() {
        let parts: Vec<String> = stats
            .layouts
            .iter()
            .map(|((layout, prefix), n)| match *prefix {
                "none" => format!("{layout} {n} file(s)"),
                _ => format!("{layout} behind {prefix} prefixes {n} file(s)"),
            })
            .collect();
        let _ = writeln!(out, "Layouts: {}", parts.join("; "));
    }
    if stats.partial_lines > 0 {
        let _ = writeln!(
            out,
            "PARTIAL: {} line(s) in no layout were read for the Kafka message they hold; without their header and logger, a forged line cannot be told apart (see kafka_security_partial_lines_total). Give the layout with --layout PATTERN if these are whole log lines.",
            stats.partial_lines
        );
    }
    if stats.unrecognized_lines > 0 {
        let _ = writeln!(
            out,
            "UNRECOGNIZED: {} line(s) matched no layout ({} file(s) gave nothing else). If they are broker logs in another log4j layout, give its pattern with --layout PATTERN (e.g. --layout '%d{{ISO8601}} [%t] %-5p %c %x - %m%n', or the log4j.properties line holding it); name other formats with --format-for PATH=FORMAT.",
            stats.unrecognized_lines, stats.unrecognized_streams
        );
    }
    out
}

/// The `Detections` section: per detector and subject, the first and last event time (UTC),
/// the detections raised and the events behind them; at most `top` subjects per detector, the
/// rest counted on a line of their own.
pub fn detections_section(rows: &[SummaryRow], dropped: u64, top: usize) -> String {
    let mut out = String::from("Detections:\n");
    if rows.is_empty() && dropped == 0 {
        out.push_str("  (none)\n");
        return out;
    }
    let time = |t: SystemTime| humantime::format_rfc3339_millis(t).to_string();
    let mut table = vec![[
        "detector".to_string(),
        "subject".to_string(),
        "first event".to_string(),
        "last event".to_string(),
        "detections".to_string(),
        "events".to_string(),
    ]];
    let mut more: BTreeMap<&str, usize> = BTreeMap::new();
    let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        let detector = row.detector.as_str();
        let n = shown.entry(detector).or_default();
        if *n >= top {
            *more.entry(detector).or_default() += 1;
            continue;
        }
        *n += 1;
        table.push([
            detector.to_string(),
            row.subject.clone(),
            time(row.first_event),
            time(row.last_event),
            row.detections.to_string(),
            row.events.to_string(),
        ]);
    }
    let mut width = [0usize; 6];
    for r in &table {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in &table {
        let _ = writeln!(
            out,
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}  {:>w5$}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4],
            w5 = width[5],
        );
    }
    for (detector, n) in more {
        let _ = writeln!(out, "  … {detector}: {n} more subject(s)");
    }
    if dropped > 0 {
        let _ = writeln!(
            out,
            "  … {dropped} detection(s) beyond the summary's row cap (counted in the metrics)"
        );
    }
    out
}

/// The tables of what the metrics counted: top denied principals, top failing client hosts,
/// changes.
fn tables(metrics: &Metrics, top: usize, out: &mut String) {
    let cut = metrics.cut();
    let sum_by = |metric: &str, keys: &[Label]| -> Vec<(String, f64)> {
        let mut by: BTreeMap<String, f64> = BTreeMap::new();
        let mut key = String::new();
        cut.each_count(metric, |labels, count| {
            key.clear();
            let values = keys
                .iter()
                .filter_map(|want| labels.iter().find(|(k, _)| *k == want.key))
                .map(|(_, v)| v);
            for (i, value) in values.enumerate() {
                if i > 0 {
                    key.push_str("  ");
                }
                key.push_str(value);
            }
            match by.get_mut(key.as_str()) {
                Some(n) => *n += count,
                None => {
                    by.insert(key.clone(), count);
                }
            }
        });
        let mut v: Vec<(String, f64)> = by.into_iter().filter(|(_, n)| *n > 0.0).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let mut table = |title: &str, rows: Vec<(String, f64)>| {
        out.push_str(&format!("\n{title}:\n"));
        if rows.is_empty() {
            out.push_str("  (none)\n");
        }
        for (k, n) in rows.into_iter().take(top) {
            out.push_str(&format!("  {n:>10}  {k}\n"));
        }
    };
    table(
        "Top denied principals",
        sum_by(
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            &[labels::PRINCIPAL],
        ),
    );
    table(
        "Top denials (principal  operation  resource_type  resource_name)",
        sum_by(
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            &[
                labels::PRINCIPAL,
                labels::OPERATION,
                labels::RESOURCE_TYPE,
                labels::RESOURCE_NAME,
            ],
        ),
    );
    table(
        "Top client hosts failing authentication",
        sum_by(
            names::AUTHENTICATION_FAILURES_BY_CLIENT,
            &[labels::CLIENT_HOST],
        ),
    );
    table(
        "ACL changes (action permission resource_type)",
        sum_by(
            names::ACL_CHANGES,
            &[labels::ACTION, labels::PERMISSION, labels::RESOURCE_TYPE],
        ),
    );
    table(
        "Credential changes (action mechanism)",
        sum_by(
            names::CREDENTIAL_CHANGES,
            &[labels::ACTION, labels::MECHANISM],
        ),
    );
    table(
        "Config changes (resource_type)",
        sum_by(names::CONFIG_CHANGES, &[labels::RESOURCE_TYPE]),
    );
    table(
        "Rejected connections (reason)",
        sum_by(names::CONNECTIONS_REJECTED, &[labels::REASON]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::output::OutputDrop;
    use crate::replay::OutputTotals;

    #[test]
    fn the_output_line_names_every_reason_of_a_drop() {
        let mut o = OutputTotals {
            topic: "security-events".into(),
            produced: 1200,
            dropped: vec![],
        };
        assert_eq!(
            output_line(&o),
            "Output topic security-events: 1200 produced, 0 dropped.\n"
        );
        o.dropped = vec![(OutputDrop::DeliveryFailed, 3), (OutputDrop::Shutdown, 2)];
        assert_eq!(
            output_line(&o),
            "Output topic security-events: 1200 produced, 5 dropped (delivery_failed 3, shutdown 2).\n"
        );
    }

    /// The tables sum capped series (denials) and the registry's own (rejected connections) by
    /// the labels they name, the largest first.
    #[test]
    fn the_tables_sum_capped_and_registry_series_by_their_labels() {
        use crate::event::{Category, Format, Origin, Outcome, Rejection, SecurityEvent};
        use crate::metrics::MetricsConfig;
        let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
        let now = SystemTime::now();
        let event = |category, outcome| {
            SecurityEvent::new(
                Format::AuthorizerLog,
                category,
                outcome,
                "t",
                Origin::Memory,
                now,
            )
        };
        for (principal, topic) in [
            ("User:a", "x"),
            ("User:a", "y"),
            ("User:b", "x"),
            ("User:a", "x"),
        ] {
            let mut e = event(Category::Authorization, Outcome::Denied);
            e.principal = Some(principal.into());
            e.operation = Some("WRITE".into());
            e.resource_type = Some("Topic".into());
            e.resource_name = Some(topic.into());
            metrics.record("s", &e, now);
        }
        let mut rejected = event(Category::Connection, Outcome::Failure);
        rejected.rejection = Some(Rejection::PerIpLimit);
        metrics.record("s", &rejected, now);
        let mut out = String::new();
        tables(&metrics, 10, &mut out);
        let rows = |rows: &[(u32, &str)]| -> String {
            rows.iter()
                .map(|(n, k)| format!("  {n:>10}  {k}\n"))
                .collect()
        };
        for expected in [
            format!(
                "Top denied principals:\n{}",
                rows(&[(3, "User:a"), (1, "User:b")])
            ),
            rows(&[
                (2, "User:a  WRITE  Topic  x"),
                (1, "User:a  WRITE  Topic  y"),
                (1, "User:b  WRITE  Topic  x"),
            ]),
            "Top client hosts failing authentication:\n  (none)\n".to_string(),
            format!(
                "Rejected connections (reason):\n{}",
                rows(&[(1, "per_ip_limit")])
            ),
        ] {
            assert!(out.contains(&expected), "{expected:?} not in:\n{out}");
        }
    }
}
