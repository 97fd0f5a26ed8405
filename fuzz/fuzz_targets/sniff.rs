//! Layout sniffing: which layout and line prefix read a line, at any UTC offset.
#![no_main]
use kafka_security_exporter::parse::sniff::{sniff_line, LinePrefix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick a UTC offset within a day either way, as a config could.
    let (offset, line) = match data {
        [a, b, rest @ ..] => ((i16::from_le_bytes([*a, *b]) as i32) * 3, rest),
        _ => (0, data),
    };
    let _ = sniff_line(line, offset);
    let _ = sniff_line(data, 0);
    for prefix in LinePrefix::ALL {
        let _ = prefix.strip(data);
    }
});
