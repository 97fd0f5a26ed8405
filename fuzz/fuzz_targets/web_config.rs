//! The web-config loader (exporter-toolkit's format), as `--web.config.file` reads it: from a
//! file in a directory of its own, whose relative certificate paths find nothing.
#![no_main]
use std::path::PathBuf;
use std::sync::OnceLock;

use kafka_security_exporter::export::web_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kse-fuzz-web-config-{}", std::process::id()));
        // A fuzzing run cannot go on without its scratch directory.
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        dir.join("web-config.yml")
    });
    // As above: without the file, no input reaches the loader.
    std::fs::write(file, data).expect("write the web config");
    let _ = web_config::load(file);
});
