//! The committed JSON Schema is the one the types generate, and real output validates against
//! it: `diagnose` against an in-process broker, `run` against mosquitto, `inspect` offline.

use std::process::Command;

use mqtls::lab::{Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer};

fn mqtls() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mqtls"))
}

fn committed() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema.json");
    serde_json::from_slice(&std::fs::read(path).expect("reports/schema.json")).expect("valid JSON")
}

/// The schema narrowed to one document type.
fn validator(document: &str) -> jsonschema::Validator {
    let mut schema = committed();
    let obj = schema.as_object_mut().expect("object");
    obj.remove("anyOf");
    obj.insert(
        "$ref".into(),
        serde_json::json!(format!("#/$defs/{document}")),
    );
    jsonschema::validator_for(&schema).expect("a valid schema")
}

fn assert_valid(document: &str, value: &serde_json::Value) {
    let v = validator(document);
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{document} does not match reports/schema.json:\n{}",
        errors.join("\n")
    );
}

#[test]
fn committed_schema_is_the_generated_one() {
    let out = mqtls().arg("schema").output().expect("runs");
    let generated: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(
        generated == committed(),
        "reports/schema.json is stale: regenerate it with `cargo run -- schema > reports/schema.json`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_json_validates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    let responder = Responder::start(Behaviour::Tls(TlsServer {
        stack: ServerStack::Openssl,
        chain_pem: pki.server.cert_pem.clone(),
        key_pem: pki.server.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }))
    .await
    .expect("responder");
    let port = responder.port();
    for cafile in [&pki.root.cert, &pki.ca_bundle] {
        let cafile = cafile.clone();
        let out = tokio::task::spawn_blocking(move || {
            mqtls()
                .args([
                    "diagnose",
                    &format!("localhost:{port}"),
                    "--format",
                    "json",
                    "--cafile",
                ])
                .arg(&cafile)
                .output()
                .expect("runs")
        })
        .await
        .expect("joins");
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_valid("DiagnoseReport", &value);
    }
}

#[test]
fn inspect_json_validates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    let out = mqtls()
        .args(["inspect", "--format", "json", "--cafile"])
        .arg(&pki.root.cert)
        .arg("--server-cert")
        .arg(&pki.server_v1.cert)
        .output()
        .expect("runs");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_valid("InspectReport", &value);
}

#[test]
fn run_json_validates() {
    if mqtls::lab::mosquitto_binary().is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but mosquitto is not installed"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let status = mqtls()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "scenarios/profiles.yaml",
            "scenarios/seed",
            "--lab",
            "mosquitto",
            "--quiet",
            "--json",
        ])
        .arg(&json)
        .status()
        .expect("runs");
    assert!(status.success());
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("written")).expect("JSON");
    assert_valid("RunReport", &value);
}
