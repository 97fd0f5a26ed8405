//! `kafka-authorizer.log`: decisions read from a message, from framed entries, and the
//! completion of a decision whose tail is doubtful by the entry after it.
#![no_main]
use kafka_security_exporter::parse::{authorizer, Input};
use kafka_security_exporter_fuzz::{each_message, entries, route_and_parse, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    each_message(data, |m| {
        let _ = authorizer::parse_message(m, Some(NOW), NOW);
    });
    let entries = entries(data);
    let mut held = None;
    for entry in &entries {
        if let Some(held) = &held {
            let _ = authorizer::completion(held, entry);
        }
        let _ = authorizer::parse_decision(entry);
        if let Ok(Some(event)) = authorizer::parse(entry) {
            held = Some(event);
        }
    }
    route_and_parse(Input::AuthorizerLog, &entries);
});
