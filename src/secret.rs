//! Values that may be secrets: written in the config as text, `{ file: PATH }` or
//! `{ env: NAME }` ([`PropertyValue`]), resolved into a [`Secret`] that never prints itself.
//!
//! Used by the Kafka sources' librdkafka properties and by the OTLP headers; depends on nothing
//! else in the crate, so both can use it without depending on each other.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// A config value that may be a secret: a string, a number, a boolean, the content of a file
/// (trailing newline removed) or the value of an environment variable.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PropertyValue {
    Text(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    File { file: PathBuf },
    Env { env: String },
}

impl PropertyValue {
    /// The value as text, reading files and environment variables.
    pub fn resolve(&self) -> Result<Secret, String> {
        Ok(Secret(match self {
            PropertyValue::Text(s) => s.clone(),
            PropertyValue::Bool(b) => b.to_string(),
            PropertyValue::Int(i) => i.to_string(),
            PropertyValue::Float(x) => x.to_string(),
            PropertyValue::File { file } => std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            PropertyValue::Env { env } => {
                std::env::var(env).map_err(|_| format!("environment variable {env} is not set"))?
            }
        }))
    }
}

/// A resolved secret-bearing string that never prints itself (`Debug` and `Display` show
/// `"[redacted]"`). Read it with [`Secret::expose`], only where it is handed to a client.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value itself, by value. Never log it.
    pub fn into_exposed(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// True for librdkafka property names whose values must never be logged.
pub fn is_sensitive(property: &str) -> bool {
    ["password", "secret", "jaas", "key", "token", "credentials"]
        .iter()
        .any(|w| property.contains(w))
        && !property.ends_with(".location")
        && property != "ssl.key.location"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let v = PropertyValue::File { file };
        let s = v.resolve().unwrap();
        assert_eq!(s.expose(), "s3cret");
        assert_eq!(format!("{s:?}"), "\"[redacted]\"");
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(is_sensitive("sasl.password"));
        assert!(is_sensitive("sasl.jaas.config"));
        assert!(!is_sensitive("ssl.key.location"));
        assert!(!is_sensitive("bootstrap.servers"));
    }
}
