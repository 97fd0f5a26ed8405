//! KRaft `controller.log`: replayed metadata records, their de-duplication keys and the
//! controller's lifecycle lines, from a message and from framed entries.
#![no_main]
use kafka_security_exporter::parse::{controller_log, Input};
use kafka_security_exporter_fuzz::{each_message, entries, route_and_parse, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    each_message(data, |m| {
        let _ = controller_log::parse_message(m, Some(NOW), NOW);
        let _ = controller_log::change_key(m);
        let _ = controller_log::lifecycle(m);
    });
    let entries = entries(data);
    for entry in &entries {
        let _ = controller_log::parse(entry);
    }
    route_and_parse(Input::ControllerLog, &entries);
});
