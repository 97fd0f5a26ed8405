//! Qubership's authorizer decision lines (`Principal = [User:a] is Denied …`), from a message
//! and from framed entries.
#![no_main]
use kafka_security_exporter::parse::{qubership, Input};
use kafka_security_exporter_fuzz::{each_message, entries, route_and_parse, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    each_message(data, |m| {
        let _ = qubership::is_logger(m);
        let _ = qubership::is_decision(m);
        let _ = qubership::parse_message(m, Some(NOW), NOW);
    });
    let entries = entries(data);
    for entry in &entries {
        let _ = qubership::parse(entry);
    }
    route_and_parse(Input::AuthorizerLog, &entries);
});
