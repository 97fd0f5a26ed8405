//! Log lines as a log shipper delivers them to a topic (plain, or wrapped in Docker's,
//! Fluent Bit's, ECS's or journald's JSON), then routed and parsed as a broker log is.
#![no_main]
use kafka_security_exporter::parse::log4j::FramerConfig;
use kafka_security_exporter::parse::{shipped, Input};
use kafka_security_exporter_fuzz::{record, route_and_parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let record = record(b"", data);
    if let Ok((entries, _)) = shipped::log_entries_choosing(&record, &FramerConfig::default()) {
        route_and_parse(Input::BrokerLog, &entries);
    }
});
