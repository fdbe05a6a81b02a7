//! Reads the locked rustls version from Cargo.lock so reports can name the exact library.
//! rustls exposes no version constant, and a version typed by hand would drift.
//!
//! Cargo.lock is TOML, so it is read with the `toml` crate (one `[[package]]` table per crate)
//! rather than by splitting strings, which broke on any change of layout or key order.

use std::fs;

/// Used when Cargo.lock is absent or unreadable (a build from a packaged crate has none).
const FALLBACK: &str = "0.23";

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let version = fs::read_to_string("Cargo.lock")
        .ok()
        .and_then(|lock| locked_version(&lock, "rustls"))
        .unwrap_or_else(|| {
            println!("cargo:warning=no single rustls in Cargo.lock; reports will say {FALLBACK}");
            FALLBACK.to_string()
        });
    println!("cargo:rustc-env=MQTLS_RUSTLS_VERSION={version}");
}

/// The version of the package `name` in a Cargo.lock, if it holds exactly one.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let lock: toml::Table = lock.parse().ok()?;
    let mut versions = lock
        .get("package")?
        .as_array()?
        .iter()
        .filter_map(toml::Value::as_table)
        .filter(|p| p.get("name").and_then(toml::Value::as_str) == Some(name))
        .filter_map(|p| p.get("version")?.as_str());
    match (versions.next(), versions.next()) {
        (Some(version), None) => Some(version.to_string()),
        // Two rustls in the graph: naming either would be a guess.
        _ => None,
    }
}
