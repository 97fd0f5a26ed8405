//! The log framer: a stream framed in one piece and in two pieces split where the first byte
//! says gives the same entries; headers, logger suffixes, prefixes and partial lines.
#![no_main]
use kafka_security_exporter::parse::log4j::{
    frame_all, parse_header, split_logger, strip_prefix, Framer, FramerConfig,
};
use kafka_security_exporter::parse::partial;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let config = FramerConfig {
        // Small enough that fuzzed entries reach it.
        max_entry_bytes: 256,
        ..FramerConfig::default()
    };
    let whole = frame_all(config.clone(), stream);
    let cut = usize::from(cut) * stream.len() / 256;
    let mut framer = Framer::new(config);
    let mut pieces = Vec::new();
    framer.push(&stream[..cut], &mut pieces);
    framer.push(&stream[cut..], &mut pieces);
    framer.flush(&mut pieces);
    assert_eq!(whole, pieces, "framing depends on where the stream was cut");
    for line in stream.split(|&b| b == b'\n') {
        let _ = parse_header(line, 3600);
        let _ = split_logger(line);
        let _ = strip_prefix(line);
        let _ = partial::read_line(line, -3600);
    }
});
