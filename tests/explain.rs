//! `mqtls explain` as scripts see it: exit codes (0 recognised, 1 not, 2 unreadable log),
//! text from the arguments or stdin, the JSON shape of `reports/schema.json`, and `--log`.

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

fn json_of(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).expect("valid JSON")
}

/// The committed schema narrowed to one document type.
fn assert_valid(document: &str, value: &Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema.json");
    let mut schema: Value =
        serde_json::from_slice(&std::fs::read(path).expect("reports/schema.json")).expect("JSON");
    let obj = schema.as_object_mut().expect("object");
    obj.remove("anyOf");
    obj.insert(
        "$ref".into(),
        serde_json::json!(format!("#/$defs/{document}")),
    );
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{document}: {errors:?}");
}

#[test]
fn recognised_text_exits_0_and_names_the_code() {
    let out = cargo_bin_cmd!("mqtls")
        .args([
            "explain",
            "TLS:",
            "I/O:",
            "invalid",
            "peer",
            "certificate:",
            "UnknownIssuer",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unknown_ca (rustls)"), "{text}");
    assert!(text.contains("rejected: local"), "{text}");
    assert!(
        text.contains("confirm:  mqtls diagnose mqtts://HOST:8883 --cafile ca.crt"),
        "{text}"
    );
}

#[test]
fn unknown_text_exits_1_and_suggests_diagnose() {
    let out = cargo_bin_cmd!("mqtls")
        .args(["explain", "the", "weather", "is", "nice"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("does not recognise"), "{text}");
    assert!(text.contains("mqtls diagnose"), "{text}");
}

#[test]
fn stdin_and_json_shape() {
    let out = cargo_bin_cmd!("mqtls")
        .args(["explain", "--format", "json"])
        .write_stdin(
            "1732600000: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n\
             1732600000: Client <unknown> disconnected: Protocol error.\n",
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out.stdout);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["matches"][0]["code"], "unknown_ca");
    assert_eq!(v["matches"][0]["rejected_by"], "peer");
    assert_eq!(v["matches"][0]["stack"], "openssl");
    assert!(v["matches"][0]["meaning"].is_string());
    assert!(v["matches"][0]["next_steps"].is_array());
    assert_valid("Explanation", &v);
}

#[test]
fn json_for_unknown_text_is_empty_and_exits_1() {
    let out = cargo_bin_cmd!("mqtls")
        .args(["explain", "--format", "json"])
        .write_stdin("nothing to see here\n")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out.stdout);
    assert_eq!(v["matches"], serde_json::json!([]));
    assert_valid("Explanation", &v);
}

#[test]
fn log_groups_by_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mosquitto.log");
    std::fs::write(
        &path,
        "1732600001: New connection from 10.0.0.5:54321 on port 8883.\n\
         1732600001: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n\
         1732600001: Client <unknown> disconnected: Protocol error.\n\
         1732600002: New connection from 10.0.0.5:54322 on port 8883.\n\
         1732600002: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n",
    )
    .expect("write");
    let out = cargo_bin_cmd!("mqtls")
        .args(["explain", "--format", "json", "--log"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out.stdout);
    assert_eq!(v["groups"][0]["client"], "10.0.0.5");
    assert_eq!(v["groups"][0]["code"], "unknown_ca");
    assert_eq!(v["groups"][0]["count"], 2);
    assert_valid("LogReport", &v);
}

#[test]
fn unreadable_log_exits_2() {
    let out = cargo_bin_cmd!("mqtls")
        .args(["explain", "--log", "/nonexistent/mqtls-broker.log"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/mqtls-broker.log"));
}
