//! Confluent audit-log CloudEvents.
#![no_main]
use kafka_security_exporter::parse::audit;
use kafka_security_exporter_fuzz::record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = audit::parse(&record(b"", data));
});
