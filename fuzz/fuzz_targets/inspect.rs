//! `mqtls inspect` on arbitrary files: the CA file, the broker's chain, the client certificate
//! and its key, then both renderers. The input holds the four files separated by lines of
//! `%%` (missing parts are not given), so seeds are readable PEM.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mqtls::inputs::InputPaths;
use mqtls::inspect::{InspectInput, inspect};
use mqtls::report::inspect::{render_json, render_text};

/// 2025-06-15, inside the seed certificates' validity.
const CHECKED_AT: i64 = 1_750_000_000;

fuzz_target!(|data: &[u8]| {
    let mut parts = split(data).into_iter();
    let dir = scratch_dir();
    let mut write = |name: &str| -> Option<PathBuf> {
        let part = parts.next()?;
        let path = dir.join(name);
        std::fs::write(&path, part).ok()?;
        Some(path)
    };
    let cafile = write("ca.pem");
    let server_cert = write("server.pem");
    let cert = write("client.pem");
    let key = write("client.key");
    let input = InspectInput {
        paths: InputPaths {
            cafiles: cafile.into_iter().collect(),
            cert,
            key,
            key_password: Some("fuzz".into()),
            untrusted: Vec::new(),
            // The chain analysis never touches the network here.
            offline: true,
            psk: None,
        },
        server_cert,
        expect_name: None,
        checked_at: CHECKED_AT,
        warn_days: 30,
    };
    if let Ok(report) = inspect(&input) {
        let _ = render_text(&report, &mut std::io::sink());
        let _ = render_json(&report, &mut std::io::sink());
    }
});

/// Splits at lines holding only `%%`.
fn split(data: &[u8]) -> Vec<&[u8]> {
    const SEPARATOR: &[u8] = b"\n%%\n";
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        parts.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

/// A private temporary folder for the four files, rewritten for each input.
fn scratch_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::tempdir()
            .expect("a temporary folder for the fuzz input")
            .keep()
    })
}
