//! A small PromQL reader for the shipped dashboards and rules: which metrics and labels an
//! expression names, where counters are used without a range, and Grafana's variables replaced.
//! Not a full parser: it tokenizes exactly (strings, durations, brackets) and walks the tokens,
//! which is all the name and label checks need.
#![allow(dead_code)]

use std::collections::BTreeSet;

/// One vector selector: `name{label="v", …}`, with the label names its matchers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Empty for a selector without a name (`{__name__=~"…"}`).
    pub name: String,
    /// (label, operator, value) of every matcher.
    pub matchers: Vec<(String, String, String)>,
    /// A range follows (`[5m]`), so it is a range-vector selector.
    pub ranged: bool,
}

/// What an expression refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    pub selectors: Vec<Selector>,
    /// Labels named in `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    pub grouping_labels: BTreeSet<String>,
    /// Functions called.
    pub functions: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num,
    Punct(char),
    /// An operator such as `=~`, `!=`, `>=`.
    Op(String),
    /// The contents of `[...]`.
    Range(String),
}

fn tokenize(expr: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return Err(format!("unterminated string in {expr:?}"));
                };
                i += 1;
                if d == quote {
                    break;
                }
                if d == '\\' && quote != '`' {
                    let Some(&e) = chars.get(i) else {
                        return Err(format!("dangling escape in {expr:?}"));
                    };
                    i += 1;
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        other => s.push(other),
                    }
                } else {
                    s.push(d);
                }
            }
            out.push(Tok::Str(s));
        } else if c == '[' {
            let start = i + 1;
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            if i == chars.len() {
                return Err(format!("unclosed [ in {expr:?}"));
            }
            out.push(Tok::Range(chars[start..i].iter().collect()));
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '+' || chars[i] == '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(Tok::Num);
        } else if c == '$' {
            // A Grafana variable standing for a duration or a number (`offset $__range`,
            // `$__rate_interval_ms`); variables in strings and ranges are read above.
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_{}".contains(chars[i]))
            {
                i += 1;
            }
            out.push(Tok::Num);
        } else if "=!<>".contains(c) {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "=~", "!~", ">=", "<="].contains(&two.as_str()) {
                out.push(Tok::Op(two));
                i += 2;
            } else {
                out.push(Tok::Op(c.to_string()));
                i += 1;
            }
        } else if "(){},+-*/%^@".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(format!("unexpected {c:?} in {expr:?}"));
        }
    }
    Ok(out)
}

const KEYWORDS: [&str; 10] = [
    "and", "or", "unless", "offset", "bool", "inf", "nan", "atan2", "start", "end",
];
const LABEL_LISTS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metrics, labels and functions `expr` refers to.
pub fn refs(expr: &str) -> Result<Refs, String> {
    let toks = tokenize(expr)?;
    let mut refs = Refs::default();
    let mut i = 0;
    // Depth of `{` that belong to a selector (we are inside matchers).
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(id) if LABEL_LISTS.contains(&id.as_str()) => {
                i += 1;
                if toks.get(i) == Some(&Tok::Punct('(')) {
                    i += 1;
                    while let Some(t) = toks.get(i) {
                        i += 1;
                        match t {
                            Tok::Punct(')') => break,
                            Tok::Punct(',') => {}
                            Tok::Ident(l) => {
                                refs.grouping_labels.insert(l.clone());
                            }
                            other => {
                                return Err(format!(
                                    "unexpected {other:?} in label list of {expr:?}"
                                ))
                            }
                        }
                    }
                }
            }
            Tok::Ident(id) if KEYWORDS.contains(&id.to_ascii_lowercase().as_str()) => i += 1,
            Tok::Ident(id) => {
                i += 1;
                match toks.get(i) {
                    Some(Tok::Punct('(')) => {
                        refs.functions.insert(id.clone());
                    }
                    // An aggregation written `sum by (x) (…)`: the label list comes next.
                    Some(Tok::Ident(kw))
                        if LABEL_LISTS.contains(&kw.as_str())
                            && matches!(
                                id.as_str(),
                                "sum"
                                    | "avg"
                                    | "min"
                                    | "max"
                                    | "count"
                                    | "stddev"
                                    | "stdvar"
                                    | "topk"
                                    | "bottomk"
                                    | "quantile"
                                    | "count_values"
                                    | "group"
                            ) =>
                    {
                        refs.functions.insert(id.clone());
                    }
                    _ => {
                        let (sel, next) = selector(&toks, i, id.clone(), expr)?;
                        refs.selectors.push(sel);
                        i = next;
                    }
                }
            }
            Tok::Punct('{') => {
                let (sel, next) = selector(&toks, i, String::new(), expr)?;
                refs.selectors.push(sel);
                i = next;
            }
            Tok::Punct('}') => return Err(format!("unbalanced }} in {expr:?}")),
            _ => i += 1,
        }
    }
    Ok(refs)
}

/// Reads the matchers at `toks[i]` (if `{`) and a following range; returns the selector and the
/// index after it.
fn selector(
    toks: &[Tok],
    mut i: usize,
    name: String,
    expr: &str,
) -> Result<(Selector, usize), String> {
    let mut matchers = Vec::new();
    if toks.get(i) == Some(&Tok::Punct('{')) {
        i += 1;
        loop {
            match toks.get(i) {
                Some(Tok::Punct('}')) => {
                    i += 1;
                    break;
                }
                Some(Tok::Punct(',')) => i += 1,
                Some(Tok::Ident(label)) => {
                    let (Some(Tok::Op(op)), Some(Tok::Str(value))) =
                        (toks.get(i + 1), toks.get(i + 2))
                    else {
                        return Err(format!("bad matcher after {label:?} in {expr:?}"));
                    };
                    if !["=", "!=", "=~", "!~"].contains(&op.as_str()) {
                        return Err(format!("bad matcher operator {op:?} in {expr:?}"));
                    }
                    matchers.push((label.clone(), op.clone(), value.clone()));
                    i += 3;
                }
                other => return Err(format!("unexpected {other:?} in matchers of {expr:?}")),
            }
        }
    }
    let ranged = matches!(toks.get(i), Some(Tok::Range(_)));
    if ranged {
        i += 1;
    }
    Ok((
        Selector {
            name,
            matchers,
            ranged,
        },
        i,
    ))
}

/// Milliseconds of a Prometheus duration such as `10s` or `1m30s`.
fn duration_ms(d: &str) -> u64 {
    let (mut total, mut n) = (0, 0);
    let mut chars = d.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(digit) = c.to_digit(10) {
            n = n * 10 + u64::from(digit);
            continue;
        }
        let unit = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            other => panic!("unit {other:?} in duration {d:?}"),
        };
        total += n * unit;
        n = 0;
    }
    total
}

/// Grafana's variables in a dashboard query, replaced by concrete values so Prometheus can run it.
pub struct GrafanaVars<'a> {
    pub job: &'a str,
    pub instance: &'a str,
    pub rate_interval: &'a str,
    pub interval: &'a str,
    pub range: &'a str,
    /// Any other variables (name without `$`, value), e.g. textbox defaults.
    pub custom: Vec<(String, String)>,
}

impl GrafanaVars<'_> {
    pub fn apply(&self, expr: &str) -> String {
        let rate_interval_ms = duration_ms(self.rate_interval).to_string();
        let mut out = expr
            .replace("$__rate_interval_ms", &rate_interval_ms)
            .replace("${__rate_interval_ms}", &rate_interval_ms)
            .replace("$__rate_interval", self.rate_interval)
            .replace("${__rate_interval}", self.rate_interval)
            .replace("$__interval", self.interval)
            .replace("${__interval}", self.interval)
            .replace("$__range", self.range)
            .replace("${__range}", self.range);
        let mut vars: Vec<(String, String)> = vec![
            ("job".into(), self.job.into()),
            ("instance".into(), self.instance.into()),
        ];
        vars.extend(self.custom.iter().cloned());
        // Longest names first, so `$instance` is not eaten by a `$in…` variable.
        vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        for (name, value) in vars {
            out = out
                .replace(&format!("${{{name}}}"), &value)
                .replace(&format!("${name}"), &value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_selectors_grouping_and_ranges() {
        let r = refs(r#"topk(5, sum by (client_host) (rate(kafka_security_authentication_failures_by_client_total{job=~"a", instance=~".+"}[5m]))) / on (job) group_left (x) up"#).unwrap();
        assert_eq!(r.selectors.len(), 2);
        assert_eq!(
            r.selectors[0].name,
            "kafka_security_authentication_failures_by_client_total"
        );
        assert!(r.selectors[0].ranged);
        assert_eq!(
            r.selectors[0].matchers[0],
            ("job".into(), "=~".into(), "a".into())
        );
        assert_eq!(r.selectors[1].name, "up");
        assert!(!r.selectors[1].ranged);
        assert_eq!(
            r.grouping_labels,
            ["client_host", "job", "x"]
                .into_iter()
                .map(String::from)
                .collect()
        );
        assert!(r.functions.contains("rate") && r.functions.contains("topk"));
    }

    #[test]
    fn handles_offsets_numbers_and_keywords() {
        let r = refs(
            "(a unless a offset 10m) or increase(b[10m]) > 1e-3 and sum without (le) (c) >= 0.5",
        )
        .unwrap();
        let names: Vec<_> = r.selectors.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "a", "b", "c"]);
        assert!(r.grouping_labels.contains("le"));
    }

    #[test]
    fn rejects_broken_matchers() {
        assert!(refs(r#"a{job=}"#).is_err());
        assert!(refs(r#"a{job="x""#).is_err());
    }
}
