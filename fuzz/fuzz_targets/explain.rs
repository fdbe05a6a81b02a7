//! `mqtls explain` on arbitrary text: pasted error output (the side read from the text) and a
//! whole broker log (`--log`), each through both renderers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtls::explain;

fuzz_target!(|data: &[u8]| {
    // The CLI reads both inputs lossily too.
    let text = String::from_utf8_lossy(data);
    let explanation = explain::explain(&text);
    let _ = mqtls::report::explain::render_text(&explanation, &mut std::io::sink());
    let _ = mqtls::report::explain::render_json(&explanation, &mut std::io::sink());
    let report = explain::explain_log(&text);
    let _ = mqtls::report::explain::render_log_text(&report, &mut std::io::sink());
    let _ = mqtls::report::explain::render_log_json(&report, &mut std::io::sink());
});
