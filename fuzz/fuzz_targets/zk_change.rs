//! ZooKeeper-era ACL and SCRAM change notifications, from a message and from framed entries of
//! a broker's own log (where they are routed by their message).
#![no_main]
use kafka_security_exporter::parse::{zk_change, Input};
use kafka_security_exporter_fuzz::{each_message, entries, route_and_parse, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    each_message(data, |m| {
        let _ = zk_change::is_change(m);
        let _ = zk_change::parse_message(m, Some(NOW), NOW);
    });
    route_and_parse(Input::BrokerLog, &entries(data));
});
