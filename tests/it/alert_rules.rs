//! The Prometheus rules in alerts/: `promtool check rules` and `promtool test rules` (the real
//! promtool, Debian package `prometheus`), the alerting conventions of STYLE.md, a runbook
//! section per alert, proof that the unit tests pin every threshold and every `for:` — each is
//! moved by one step either way and the unit tests must then fail — that every range over an
//! exporter counter also counts the series born inside the range, and that the unit tests feed
//! series as the exporter emits them (absent until their first event, never a 0 first).

use std::process::Command;

use serde_yaml_ng::Value;

use crate::support::prometheus::find_bin;
use crate::support::repo_dir;

const RULES: &str = "alerts/kafka-security.rules.yml";
const RUNBOOK_BASE: &str =
    "https://github.com/kafka-security-exporter/kafka-security-exporter/blob/main/alerts/runbook.md";
/// The group of alerts about the exporter itself; every other alert is a security alert.
const HEALTH_GROUP: &str = "kafka-security-exporter.alerts";
/// Where `dashboard_url` points in the file (the chart's prometheusRule.dashboardBaseUrl replaces it).
const GRAFANA_BASE: &str = "http://localhost:3000/d/";
/// Alert `severity` values that kube-prometheus-stack's InfoInhibitor leaves alone.
const LOUD: [&str; 2] = ["critical", "warning"];

fn run_promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new(find_bin("promtool"))
        .args(args)
        .current_dir(repo_dir())
        .output()
        .expect("run promtool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn rules_doc() -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(repo_dir().join(RULES)).unwrap()).unwrap()
}

/// Every rule as a mapping.
fn rules(doc: &Value) -> Vec<&Value> {
    doc["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .collect()
}

fn test_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo_dir().join("alerts/tests"))
        .unwrap()
        .map(|e| format!("alerts/tests/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no unit tests in alerts/tests/");
    files
}

#[test]
fn promtool_checks_the_rules() {
    let (ok, out) = run_promtool(&["check", "rules", RULES]);
    assert!(ok, "promtool check rules failed:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn promtool_unit_tests_pass() {
    let mut args = vec!["test", "rules"];
    let files = test_files();
    args.extend(files.iter().map(String::as_str));
    let (ok, out) = run_promtool(&args);
    assert!(ok, "promtool test rules failed:\n{out}");
}

#[test]
fn every_rule_follows_the_conventions_and_has_a_runbook_section_and_a_test() {
    let runbook = std::fs::read_to_string(repo_dir().join("alerts/runbook.md")).unwrap();
    let tests: String = test_files()
        .iter()
        .map(|f| std::fs::read_to_string(repo_dir().join(f)).unwrap())
        .collect();
    let doc = rules_doc();
    let security: Vec<&str> = doc["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|g| g["name"].as_str() != Some(HEALTH_GROUP))
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .filter_map(|r| r["alert"].as_str())
        .collect();
    let mut problems = Vec::new();
    let mut alerts = 0;
    for rule in rules(&doc) {
        if let Some(record) = rule["record"].as_str() {
            if record.split(':').count() != 3 || record.split(':').any(str::is_empty) {
                problems.push(format!(
                    "{record}: recording rules are named level:metric:operations"
                ));
            }
            if !tests.contains(&format!("expr: {record}\n")) {
                problems.push(format!("{record}: no promql_expr_test"));
            }
            continue;
        }
        alerts += 1;
        let name = rule["alert"].as_str().unwrap();
        let mut p = |m: &str| problems.push(format!("{name}: {m}"));
        if !name.starts_with("KafkaSecurity") || name.contains('_') {
            p("alert names are CamelCase starting KafkaSecurity");
        }
        let severity = rule["labels"]["severity"].as_str().unwrap_or("");
        if !["critical", "warning", "info"].contains(&severity) {
            p("severity must be critical, warning or info");
        }
        if rule["for"].as_str().is_none() {
            p("no for:");
        }
        let a = &rule["annotations"];
        match a["summary"].as_str() {
            Some(s) if !s.contains("{{") && !s.is_empty() => {}
            _ => p("summary must be static text"),
        }
        if !a["description"].as_str().unwrap_or("").contains("{{") {
            p("description must be templated");
        }
        let anchor = name.to_ascii_lowercase();
        if a["runbook_url"].as_str() != Some(&format!("{RUNBOOK_BASE}#{anchor}")) {
            p(&format!("runbook_url must be {RUNBOOK_BASE}#{anchor}"));
        }
        // The section: a `## Name` heading (GitHub anchors it as the lowercase name) with the
        // investigate / respond / escalate parts.
        let heading = format!("\n## {name}\n");
        match runbook.find(&heading) {
            None => p("no `## <alert>` section in alerts/runbook.md"),
            Some(start) => {
                let body = &runbook[start + heading.len()..];
                let body = &body[..body.find("\n## ").unwrap_or(body.len())];
                for part in ["**Investigate**", "**Respond", "**Escalate"] {
                    if !body.contains(part) {
                        p(&format!("runbook section lacks {part}"));
                    }
                }
            }
        }
        if !tests.contains(&format!("alertname: {name}\n")) {
            p("no alert_rule_test");
        }
        if security.contains(&name) {
            if !LOUD.contains(&severity) {
                p("security alerts are critical or warning (the InfoInhibitor mutes info)");
            }
            for label in ["mitre_tactic", "mitre_technique"] {
                if rule["labels"][label].as_str().unwrap_or("").is_empty() {
                    p(&format!("security alerts carry a {label} label"));
                }
            }
            let url = a["dashboard_url"].as_str().unwrap_or("");
            if !url.starts_with(GRAFANA_BASE) || !url.contains("var-cluster={{ $labels.cluster") {
                p(&format!(
                    "dashboard_url must open {GRAFANA_BASE}<uid> filtered on the cluster, got {url:?}"
                ));
            }
            // Aggregations keep what routes and the InfoInhibitor match on.
            let expr = rule["expr"].as_str().unwrap();
            if expr.contains(" by (") && !expr.contains("by (cluster, namespace, job") {
                p("aggregations keep cluster, namespace and job");
            }
        }
    }
    assert!(alerts >= 15, "expected the full alert set, found {alerts}");
    // No runbook section without an alert.
    for line in runbook.lines().filter(|l| l.starts_with("## ")) {
        let name = &line[3..];
        if !rules(&doc)
            .iter()
            .any(|r| r["alert"].as_str() == Some(name))
        {
            problems.push(format!("runbook section {name:?} has no alert"));
        }
    }
    assert!(
        problems.is_empty(),
        "rule problems:\n  {}",
        problems.join("\n  ")
    );
}

/// Every `increase(x[W])` or `rate(x[W])` over a counter the exporter emits sits beside
/// `(x unless x offset W)`: a label set seen for the first time is born at its count, which a
/// range function alone never sees.
#[test]
fn every_range_over_a_counter_also_counts_series_born_inside_it() {
    let range =
        regex::Regex::new(r"\b(?:increase|rate)\((kafka_security_\w+(?:\{[^}]*\})?)\[(\w+)\]\)")
            .expect("valid regex");
    let doc = rules_doc();
    let mut problems = Vec::new();
    let mut ranges = 0;
    for rule in rules(&doc) {
        let name = rule["alert"].as_str().or(rule["record"].as_str()).unwrap();
        let expr = rule["expr"].as_str().unwrap();
        for m in range.captures_iter(expr) {
            ranges += 1;
            let born = format!("({sel} unless {sel} offset {w})", sel = &m[1], w = &m[2]);
            if !expr.contains(&born) {
                problems.push(format!("{name}: {} without {born}", &m[0]));
            }
        }
    }
    assert!(ranges >= 15, "only {ranges} ranges over counters found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The unit tests' input series are shaped as the exporter emits them: a counter is absent (`_`)
/// until its first event and then starts at its count, never at 0.
#[test]
fn unit_test_counters_are_absent_until_their_first_event() {
    let mut problems = Vec::new();
    for file in test_files() {
        let doc: Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(repo_dir().join(&file)).unwrap())
                .unwrap();
        for case in doc["tests"].as_sequence().unwrap() {
            for s in case["input_series"].as_sequence().unwrap() {
                let series = s["series"].as_str().unwrap();
                let first = s["values"]
                    .as_str()
                    .unwrap()
                    .split_whitespace()
                    .find(|v| !v.starts_with('_'))
                    .unwrap_or("");
                let first = first.split(['+', '-', 'x']).next().unwrap_or("");
                if series.contains("_total{") && first.parse::<f64>() == Ok(0.0) {
                    let case = case["name"].as_str().unwrap();
                    problems.push(format!("{case}: {series} starts at 0"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One mutant of the rules: the rule it changes, a description and the mutated file text.
fn mutants() -> Vec<(String, String, String)> {
    let comparison =
        regex::Regex::new(r"(>=|<=|>|<) ?(-?[0-9]+(?:\.[0-9]+)?)").expect("valid regex");
    let mut out = Vec::new();
    let doc = rules_doc();
    let all = rules(&doc);
    for (i, rule) in all.iter().enumerate() {
        let name = rule["alert"]
            .as_str()
            .or(rule["record"].as_str())
            .unwrap()
            .to_string();
        let expr = rule["expr"].as_str().unwrap().to_string();
        for m in comparison.captures_iter(&expr) {
            let (whole, op, num) = (m.get(0).unwrap(), &m[1], &m[2]);
            let n: f64 = num.parse().unwrap();
            let moved: Vec<String> = if n == 0.0 {
                // `> 0`: the smallest change either way that the data can tell apart.
                vec![format!("{op}= 0").replace("==", "="), format!("{op} 1")]
            } else if num.contains('.') {
                vec![format!("{op} {}", n * 0.5), format!("{op} {}", n * 1.5)]
            } else {
                vec![format!("{op} {}", n - 1.0), format!("{op} {}", n + 1.0)]
            };
            for to in moved {
                if to == whole.as_str() {
                    continue;
                }
                let mutated = format!("{}{}{}", &expr[..whole.start()], to, &expr[whole.end()..]);
                out.push((
                    name.clone(),
                    format!("{name}: `{}` -> `{to}`", whole.as_str()),
                    set_rule(&doc, i, "expr", &mutated),
                ));
            }
        }
        if let Some(f) = rule["for"].as_str() {
            let minutes: u64 = f
                .strip_suffix('m')
                .and_then(|m| m.parse().ok())
                .unwrap_or_else(|| panic!("{name}: for: {f} is not in minutes"));
            for to in [minutes.saturating_sub(1), minutes + 1] {
                if to != minutes {
                    out.push((
                        name.clone(),
                        format!("{name}: for {f} -> {to}m"),
                        set_rule(&doc, i, "for", &format!("{to}m")),
                    ));
                }
            }
        }
    }
    out
}

fn set_rule(doc: &Value, index: usize, key: &str, value: &str) -> String {
    let mut doc = doc.clone();
    let mut k = 0;
    for g in doc["groups"].as_sequence_mut().unwrap() {
        for r in g["rules"].as_sequence_mut().unwrap() {
            if k == index {
                r[key] = Value::String(value.to_string());
            }
            k += 1;
        }
    }
    serde_yaml_ng::to_string(&doc).unwrap()
}

/// The unit-test cases that exercise rule `name`: those testing it, or an alert built on it.
fn unit_tests_of(tests: &Value, name: &str, doc: &Value) -> Value {
    let users: Vec<String> = rules(doc)
        .iter()
        .filter(|r| r["expr"].as_str().is_some_and(|e| e.contains(name)))
        .filter_map(|r| {
            r["alert"]
                .as_str()
                .or(r["record"].as_str())
                .map(String::from)
        })
        .chain([name.to_string()])
        .collect();
    let mut t = tests.clone();
    let cases = t["tests"].as_sequence_mut().unwrap();
    cases.retain(|case| {
        let alerts = case["alert_rule_test"].as_sequence().into_iter().flatten();
        let exprs = case["promql_expr_test"].as_sequence().into_iter().flatten();
        alerts
            .filter_map(|a| a["alertname"].as_str())
            .chain(exprs.filter_map(|e| e["expr"].as_str()))
            .any(|n| users.iter().any(|u| u == n))
    });
    assert!(!cases.is_empty(), "no unit test exercises {name}");
    t
}

#[test]
fn the_unit_tests_pin_every_threshold_and_every_for() {
    let dir = tempfile::tempdir().unwrap();
    let files = test_files();
    assert_eq!(
        files.len(),
        1,
        "the mutation check reads one unit-test file"
    );
    let tests: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(repo_dir().join(&files[0])).unwrap())
            .unwrap();
    let doc = rules_doc();

    // Each mutant runs against the unit tests of its rule only (a full run takes seconds).
    let check = |k: usize, rule: &str, text: &str| -> bool {
        let rules = dir.path().join(format!("rules-{k}.yml"));
        let cases = dir.path().join(format!("tests-{k}.yml"));
        let mut t = unit_tests_of(&tests, rule, &doc);
        t["rule_files"] = Value::Sequence(vec![Value::String(rules.to_str().unwrap().into())]);
        std::fs::write(&rules, text).unwrap();
        std::fs::write(&cases, serde_yaml_ng::to_string(&t).unwrap()).unwrap();
        run_promtool(&["test", "rules", cases.to_str().unwrap()]).0
    };
    // The unmodified rules, re-serialized the same way, pass.
    let original = serde_yaml_ng::to_string(&doc).unwrap();
    for (k, rule) in rules(&doc).iter().enumerate() {
        let name = rule["alert"].as_str().or(rule["record"].as_str()).unwrap();
        assert!(
            check(k, name, &original),
            "the unit tests of {name} fail on the unmodified rules"
        );
    }

    let mutants = mutants();
    assert!(mutants.len() >= 40, "only {} mutants", mutants.len());
    let survived = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for lane in 0..2 {
            let (mutants, survived, check) = (&mutants, &survived, &check);
            scope.spawn(move || {
                for (k, (rule, what, text)) in mutants.iter().enumerate().skip(lane).step_by(2) {
                    if check(1000 + k, rule, text) {
                        survived.lock().unwrap().push(what.clone());
                    }
                }
            });
        }
    });
    let survived = survived.into_inner().unwrap();
    assert!(
        survived.is_empty(),
        "the unit tests still pass with these changes, so they do not check both sides of them:\n  {}",
        survived.join("\n  ")
    );
}
