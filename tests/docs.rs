//! The documents the repository carries that are generated from the code stay equal to it:
//! `docs/codes.md` is `mqtls codes --format markdown` (the schema has its own test in
//! tests/schema.rs).

use std::process::Command;

#[test]
fn docs_codes_md_is_the_generated_catalogue() {
    let out = Command::new(env!("CARGO_BIN_EXE_mqtls"))
        .args(["codes", "--format", "markdown"])
        .output()
        .expect("mqtls runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/codes.md");
    let committed = std::fs::read_to_string(&path).expect("docs/codes.md");
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "docs/codes.md is stale: regenerate it with `cargo run -- codes --format markdown > docs/codes.md`"
    );
    // Every code a diagnosis can carry is on the page.
    for code in [
        "missing_intermediate",
        "unknown_ca",
        "name_constraint_violation",
        "unclassified",
    ] {
        assert!(committed.contains(&format!("`{code}`")), "{code} missing");
    }
}
