//! One exact parser for the Prometheus text exposition, used for every `/metrics` the tests read
//! (the exporter's, `replay`'s output, the collector's Prometheus exporter).

use std::collections::BTreeMap;

/// The label every series of a running exporter carries (`metrics.cluster`).
pub const CLUSTER: &str = "cluster";

/// One sample of the exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed `/metrics` response.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    /// Metric family name -> its `# TYPE` (counter, gauge, histogram, …).
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses the Prometheus text format exactly (escapes included); panics on a malformed line.
    pub fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(decl) = line.strip_prefix("# TYPE ") {
                let (name, kind) = decl
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("bad line: {line:?}"));
                types.insert(name.to_string(), kind.trim().to_string());
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            samples.push(parse_sample(line).unwrap_or_else(|| panic!("bad line: {line:?}")));
        }
        Scrape { samples, types }
    }

    /// The value of the series with exactly these labels, if present. The `cluster` label a
    /// running exporter puts on every series is matched only when `labels` names it.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let cluster_given = want.contains_key(CLUSTER);
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len()
                        - usize::from(!cluster_given && s.labels.contains_key(CLUSTER))
                        == want.len()
                    && want.iter().all(|(k, v)| s.labels.get(k) == Some(v))
            })
            .map(|s| s.value)
    }

    /// The value of the series with exactly these labels, or 0 when absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// Sum over every series of `name` whose labels include `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                filter
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// The `# TYPE` of the family `name`, if declared.
    pub fn kind(&self, name: &str) -> Option<&str> {
        self.types.get(name).map(String::as_str)
    }

    pub fn series(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => (&line[..i], &line[i..]),
        None => return None,
    };
    let mut labels = BTreeMap::new();
    let mut rest = rest;
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let end;
        loop {
            let (i, c) = chars.next()?;
            if c == '}' {
                end = i;
                break;
            }
            if c == ',' || c == ' ' {
                continue;
            }
            // key
            let mut key = String::from(c);
            loop {
                let (_, c) = chars.next()?;
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        other => {
                            value.push('\\');
                            value.push(other)
                        }
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
        }
        rest = &body[end + 1..];
    }
    let value_text = rest.split_whitespace().next()?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}
