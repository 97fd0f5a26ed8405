//! Aiven's authorizer decision lines (`[DENY] Auth request …`), from a message and from
//! framed entries.
#![no_main]
use kafka_security_exporter::parse::{aiven, Input};
use kafka_security_exporter_fuzz::{each_message, entries, route_and_parse, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    each_message(data, |m| {
        let _ = aiven::is_decision(m);
        let _ = aiven::parse_message(m, Some(NOW), NOW);
    });
    let entries = entries(data);
    for entry in &entries {
        let _ = aiven::parse(entry);
    }
    route_and_parse(Input::AuthorizerLog, &entries);
});
