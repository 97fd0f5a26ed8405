//! The config loader: YAML text checked as `check-config` does, every problem reported.
#![no_main]
use kafka_security_exporter::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Config::parse(text);
});
