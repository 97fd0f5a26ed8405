//! Plain-text events with the built-in phrasings; the first NUL byte separates the record key
//! (the event type) from the payload.
#![no_main]
use kafka_security_exporter::parse::text::{self, TextConfig, TextRules};
use kafka_security_exporter_fuzz::{record, split};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static RULES: OnceLock<TextRules> = OnceLock::new();
    // The built-in rules alone are valid (unit tests build them).
    let rules = RULES.get_or_init(|| TextRules::new(&TextConfig::default()).unwrap());
    let (payload, key) = split(data);
    let _ = text::parse(rules, &record(key, payload));
    let _ = text::parse(rules, &record(b"", data));
});
