//! `kafka-request.log`: `Completed request:` lines in their JSON and their text forms.
#![no_main]
use kafka_security_exporter::parse::{request_log, Input};
use kafka_security_exporter_fuzz::{each_message, entries, route_and_parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    each_message(data, |m| {
        let _ = request_log::parse_message(m);
        // Most fuzzed inputs lack the prefix; give every one a chance at the body.
        let _ = request_log::parse_message(&format!("Completed request:{m}"));
    });
    route_and_parse(Input::RequestLog, &entries(data));
});
