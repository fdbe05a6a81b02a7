//! `mqtls report`: merging the JSON results of two real runs into one matrix, and refusing
//! results of another schema version. The JUnit output must satisfy xmllint.

use std::path::Path;
use std::process::Command;

fn mqtls() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mqtls"))
}

fn run_suite(lab: &str, json: &Path) {
    let status = mqtls()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "scenarios/", "--quiet", "--lab", lab, "--json"])
        .arg(json)
        .status()
        .expect("runs");
    assert!(status.success(), "the bundled suite failed on {lab}");
}

#[test]
fn two_runs_merge_into_one_matrix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    // The in-process responder needs no broker; mosquitto when installed (required in CI).
    run_suite("inprocess", &a);
    let second = if mqtls::lab::mosquitto_binary().is_some() {
        "mosquitto"
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but mosquitto is not installed"
        );
        "inprocess"
    };
    run_suite(second, &b);
    let out = mqtls()
        .arg("report")
        .arg(&a)
        .arg(&b)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let markdown = String::from_utf8_lossy(&out.stdout);
    assert!(
        markdown.contains("inprocess / openssl | inprocess / rustls"),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!("{second} / openssl")),
        "{markdown}"
    );
    let json_out = mqtls()
        .arg("report")
        .arg(&a)
        .arg(&b)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let merged: serde_json::Value = serde_json::from_slice(&json_out.stdout).expect("JSON");
    let single: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&a).expect("a")).expect("JSON");
    let per_run = single["summary"]["cases"].as_u64().expect("count");
    // Cases of mosquitto-only profiles (TLS-PSK) run on mosquitto alone, so the second run
    // may have more cases than the in-process one: the merge holds both, each once.
    let other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&b).expect("b")).expect("JSON");
    let expected = if second == "inprocess" {
        per_run
    } else {
        per_run + other["summary"]["cases"].as_u64().expect("count")
    };
    assert_eq!(merged["summary"]["cases"].as_u64(), Some(expected));
    let xml = dir.path().join("merged.xml");
    let junit = mqtls()
        .arg("report")
        .arg(&a)
        .arg(&b)
        .args(["--format", "junit", "-o"])
        .arg(&xml)
        .status()
        .expect("runs");
    assert!(junit.success());
    let text = std::fs::read_to_string(&xml).expect("written");
    assert!(text.contains("<testsuite name=\"inprocess\""), "{text}");
    match Command::new("xmllint").arg("--noout").arg(&xml).output() {
        Ok(check) => assert!(
            check.status.success(),
            "xmllint: {}",
            String::from_utf8_lossy(&check.stderr)
        ),
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but xmllint is not installed"
        ),
    }
}

#[test]
fn results_of_another_schema_version_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = dir.path().join("old.json");
    std::fs::write(&old, r#"{"schema_version": 2, "results": []}"#).expect("write");
    let out = mqtls().arg("report").arg(&old).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("old.json") && stderr.contains("schema_version 2"),
        "{stderr}"
    );
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "[]").expect("write");
    let out = mqtls().arg("report").arg(&junk).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a `mqtls run --json` result"));
}
