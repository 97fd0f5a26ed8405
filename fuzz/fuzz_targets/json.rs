//! Applications' JSON security events with the default field mapping, and the streaming
//! reader's depth check; the first NUL byte separates a record key from the payload.
#![no_main]
use kafka_security_exporter::parse::json::{self, JsonConfig, JsonMapping};
use kafka_security_exporter::parse::{check_json_depth, detect};
use kafka_security_exporter_fuzz::{record, split};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static MAPPING: OnceLock<JsonMapping> = OnceLock::new();
    // The default mapping is valid (unit tests build it).
    let mapping = MAPPING.get_or_init(|| JsonMapping::new(&JsonConfig::default()).unwrap());
    let _ = check_json_depth(data);
    let _ = detect(data);
    let (payload, key) = split(data);
    let _ = json::parse(mapping, &record(key, payload));
    let _ = json::parse(mapping, &record(b"", data));
});
