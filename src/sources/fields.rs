//! Reading a source's YAML item key by key, so that one wrong key hides none of the others'
//! problems: every key is read on its own, an unreadable one is reported with its path and
//! replaced by its default, and the source's semantic checks still run on the rest.
//!
//! A semantic problem about a value that could not be read would only repeat the structural one
//! (an unreadable `paths` also looks empty), so [`Problems::semantic`] drops problems under a path
//! already reported as unreadable.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

/// Every problem found so far, with the paths whose values could not be read.
#[derive(Debug, Default)]
pub struct Problems {
    messages: Vec<String>,
    unread: Vec<String>,
}

impl Problems {
    /// A problem that stands on its own.
    pub fn push(&mut self, message: String) {
        self.messages.push(message);
    }

    /// The value at `path` could not be read: reports `at: message` and marks `path`.
    pub fn unreadable(&mut self, at: &str, path: String, message: impl Display) {
        self.messages.push(format!("{at}: {message}"));
        self.unread.push(path);
    }

    /// True when the value at `path` could not be read.
    pub fn is_unread(&self, path: &str) -> bool {
        self.unread.iter().any(|u| u == path)
    }

    /// Adds semantic problems (`path: message`), except those about a value that could not be
    /// read (at or under an unreadable path).
    pub fn semantic(&mut self, found: Vec<String>) {
        let repeats = |p: &str| {
            self.unread.iter().any(|u| {
                p.strip_prefix(u.as_str())
                    .is_some_and(|rest| rest.starts_with([':', '.', '[']))
            })
        };
        let kept: Vec<String> = found.into_iter().filter(|p| !repeats(p)).collect();
        self.messages.extend(kept);
    }

    /// Reads `value` as a `T`; on failure reports the error at `at` (plus the path inside the
    /// value) and returns `None`.
    pub fn read<T: DeserializeOwned>(&mut self, at: &str, value: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inside = e.path().to_string();
                let path = match e.path().iter().next() {
                    None => at.to_string(),
                    Some(_) if inside.starts_with('[') => format!("{at}{inside}"),
                    Some(_) => format!("{at}.{inside}"),
                };
                self.unreadable(&path, at.to_string(), e.inner());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn into_messages(self) -> Vec<String> {
        self.messages
    }
}

/// One YAML mapping, read key by key. Keys never asked for are reported as unknown by
/// [`Fields::finish`], in serde's words.
pub struct Fields<'p> {
    at: String,
    entries: Vec<(String, Value)>,
    asked: Vec<&'static str>,
    problems: &'p mut Problems,
}

impl<'p> Fields<'p> {
    /// `None` (reported) when `value` is not a mapping; an empty value reads as an empty mapping.
    pub fn new(at: &str, value: Value, problems: &'p mut Problems) -> Option<Fields<'p>> {
        let map = match value {
            Value::Null => Mapping::new(),
            other => problems.read::<Mapping>(at, other)?,
        };
        let mut entries = Vec::with_capacity(map.len());
        for (key, value) in map {
            match key {
                Value::String(key) => entries.push((key, value)),
                other => problems.push(format!("{at}: key {other:?} is not a string")),
            }
        }
        Some(Fields {
            at: at.to_string(),
            entries,
            asked: Vec::new(),
            problems,
        })
    }

    /// Where `key` is.
    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.at)
    }

    /// True when the mapping has `key` (not yet read).
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// The raw value of `key`, if present.
    pub fn raw(&mut self, key: &'static str) -> Option<Value> {
        self.asked.push(key);
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(i).1)
    }

    /// `key` read as a `T`; `None` when absent or unreadable (reported).
    pub fn optional<T: DeserializeOwned>(&mut self, key: &'static str) -> Option<T> {
        let value = self.raw(key)?;
        let path = self.path(key);
        self.problems.read(&path, value)
    }

    /// An `Option` field: absent and `~` (null) both read as `None`, as serde reads them.
    pub fn nullable<T: DeserializeOwned>(&mut self, key: &'static str) -> Option<T> {
        self.optional::<Option<T>>(key).flatten()
    }

    /// Like [`Fields::optional`], and a missing key is reported as serde does.
    pub fn required<T: DeserializeOwned>(&mut self, key: &'static str) -> Option<T> {
        if !self.has(key) {
            self.asked.push(key);
            let path = self.path(key);
            let at = self.at.clone();
            self.problems
                .unreadable(&at, path, format_args!("missing field `{key}`"));
            return None;
        }
        self.optional(key)
    }

    /// `key` as a list, each item read by `item` (which gets the item's path, reports its own
    /// problems and returns a placeholder for an unreadable item, so indices stay true).
    pub fn list<T>(
        &mut self,
        key: &'static str,
        required: bool,
        mut item: impl FnMut(&str, Value, &mut Problems) -> T,
    ) -> Option<Vec<T>> {
        let items: Vec<Value> = if required {
            self.required(key)?
        } else {
            self.optional(key)?
        };
        let path = self.path(key);
        Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| item(&format!("{path}[{i}]"), v, self.problems))
                .collect(),
        )
    }

    /// `key` as a mapping from names to values, each read by `item` (as for [`Fields::list`]).
    pub fn map<T>(
        &mut self,
        key: &'static str,
        mut item: impl FnMut(&str, Value, &mut Problems) -> T,
    ) -> Option<BTreeMap<String, T>> {
        let entries: BTreeMap<String, Value> = self.optional(key)?;
        let path = self.path(key);
        Some(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let value = item(&format!("{path}.{k}"), v, self.problems);
                    (k, value)
                })
                .collect(),
        )
    }

    /// Reports every key that was never asked for.
    pub fn finish(self) {
        for (key, _) in self.entries {
            let path = format!("{}.{key}", self.at);
            let message = unknown_field(&key, &self.asked);
            self.problems.unreadable(&path, path.clone(), message);
        }
    }
}

/// serde's own message for an unknown field (`deny_unknown_fields`).
fn unknown_field(key: &str, expected: &[&str]) -> String {
    let quoted: Vec<String> = expected.iter().map(|f| format!("`{f}`")).collect();
    match quoted.as_slice() {
        [] => format!("unknown field `{key}`, there are no fields"),
        [one] => format!("unknown field `{key}`, expected {one}"),
        [a, b] => format!("unknown field `{key}`, expected {a} or {b}"),
        more => format!("unknown field `{key}`, expected one of {}", more.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn every_key_is_read_on_its_own() {
        let mut problems = Problems::default();
        let mut f = Fields::new(
            "x",
            yaml("{a: 1, b: nope, c: [1, [2]], d: 4, n: ~}"),
            &mut problems,
        )
        .expect("a mapping");
        assert_eq!(f.optional::<u32>("a"), Some(1));
        assert_eq!(f.nullable::<u32>("n"), None);
        assert_eq!(f.optional::<u32>("b"), None);
        assert_eq!(f.optional::<Vec<u32>>("c"), None);
        assert_eq!(f.required::<u32>("e"), None);
        f.finish();
        problems.semantic(vec![
            "x.b: must be positive".into(),
            "x.c[0]: too small".into(),
            "x.bb: kept".into(),
            "x.e: must be set".into(),
        ]);
        assert_eq!(
            problems.into_messages(),
            [
                "x.b: invalid type: string \"nope\", expected u32",
                "x.c[1]: invalid type: sequence, expected u32",
                "x: missing field `e`",
                "x.d: unknown field `d`, expected one of `a`, `n`, `b`, `c`, `e`",
                "x.bb: kept",
            ]
        );
    }

    #[test]
    fn unknown_fields_read_as_serde_writes_them() {
        assert_eq!(
            unknown_field("k", &["kafka", "file"]),
            "unknown field `k`, expected `kafka` or `file`"
        );
        assert_eq!(
            unknown_field("k", &["a"]),
            "unknown field `k`, expected `a`"
        );
    }
}
