//! OCSF events (Redpanda's audit log).
#![no_main]
use kafka_security_exporter::parse::ocsf;
use kafka_security_exporter_fuzz::record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ocsf::looks_like(data);
    let _ = ocsf::parse(&record(b"", data));
});
