//! `server.log`: authentication failures and rejected connections, from a message with its
//! continuation lines and from framed entries.
#![no_main]
use kafka_security_exporter::parse::{server_log, Input};
use kafka_security_exporter_fuzz::{entries, route_and_parse, text, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = server_log::parse_parts(first, rest, Some(NOW), NOW);
    let _ = server_log::reason_for(&text);
    let entries = entries(data);
    for entry in &entries {
        let _ = server_log::parse(entry);
    }
    route_and_parse(Input::ServerLog, &entries);
});
