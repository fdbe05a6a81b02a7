//! Reads the locked rustls version from Cargo.lock so reports can name the exact library.
//! rustls exposes no version constant, and a version typed by hand would drift.

use std::fs;

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"rustls\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_else(|| "0.23".to_string());
    println!("cargo:rustc-env=MQTLS_RUSTLS_VERSION={version}");
}
