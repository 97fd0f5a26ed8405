//! The layout compiler: a `PatternLayout` (the part before the first NUL byte) compiled for
//! every kind of log, then, when it compiles, the rest read as lines and a stream in it.
#![no_main]
use std::sync::Arc;

use kafka_security_exporter::parse::layout::Layout;
use kafka_security_exporter::parse::log4j::{frame_all, FramerConfig};
use kafka_security_exporter::parse::Input;
use kafka_security_exporter_fuzz::{split, text, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (pattern, lines) = split(data);
    let pattern = text(pattern);
    for input in [Input::BrokerLog, Input::AuthorizerLog] {
        let _ = Layout::for_kind(&pattern, input);
    }
    let Ok(layout) = Layout::parse(&pattern) else {
        return;
    };
    let _ = (
        layout.pattern(),
        layout.anchored(),
        layout.routes_by_logger(),
    );
    for line in lines.split(|&b| b == b'\n') {
        let _ = layout.header(line, 0);
        let _ = layout.header_near(line, -7200, Some(NOW));
        let _ = layout.split_tail(line);
    }
    let config = FramerConfig {
        layout: Some(Arc::new(layout)),
        max_entry_bytes: 512,
        ..FramerConfig::default()
    };
    let _ = frame_all(config, lines);
});
