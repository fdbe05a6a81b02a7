//! The `mqtls` binary as scripts and CI see it: exit codes, the JSON contract of
//! `reports/schema.json`, and the text and Markdown formats (bad input: tests/bad_input.rs).
//!
//! Brokers are in-process responders on the test's tokio runtime; the binary runs on a blocking
//! thread meanwhile so the responder keeps serving.

use std::process::Output;

use assert_cmd::cargo::cargo_bin_cmd;
use mqtls::lab::{Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer};
use mqtls::pki::{self, Pki};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_for_a_good_broker() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(good(&pki)))
        .await
        .expect("responder");
    let out = run(diagnose(&broker, &pki, &["--format", "json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let json = json(&out);
    assert_eq!(json["schema_version"], 1, "{json:#}");
    assert_eq!(json["tool"]["name"], "mqtls", "{json:#}");
    let backends = json["backends"].as_array().expect("backends array");
    let names: Vec<&str> = backends
        .iter()
        .map(|b| b["backend"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["rustls", "openssl"], "{json:#}");
    for b in backends {
        assert_eq!(b["outcome"], "ok", "{b:#}");
        assert_eq!(b["phase"], "done", "{b:#}");
        assert_eq!(b["diagnosis"]["code"], "ok", "{b:#}");
        assert!(b["warnings"].is_array(), "{b:#}");
    }
    assert_eq!(json["agreement"], true, "{json:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_for_a_missing_intermediate() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(leaf_only(&pki)))
        .await
        .expect("responder");
    let out = run(diagnose(&broker, &pki, &["--format", "json"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let json = json(&out);
    let codes: Vec<(&str, &str)> = json["backends"]
        .as_array()
        .expect("backends array")
        .iter()
        .map(|b| {
            (
                b["backend"].as_str().unwrap_or_default(),
                b["diagnosis"]["code"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("rustls", "missing_intermediate"),
            ("openssl", "missing_intermediate")
        ],
        "{json:#}"
    );
    for b in json["backends"].as_array().into_iter().flatten() {
        assert_eq!(
            (&b["outcome"], &b["phase"]),
            (&"failed".into(), &"tls".into())
        );
    }
    assert_eq!(json["agreement"], true, "{json:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_backend_when_asked_for_one() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(good(&pki)))
        .await
        .expect("responder");
    let args = diagnose(&broker, &pki, &["--format", "json", "--backend", "rustls"]);
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let json = json(&out);
    let backends = json["backends"].as_array().expect("backends array");
    assert_eq!(backends.len(), 1, "{json:#}");
    assert_eq!(backends[0]["backend"], "rustls", "{json:#}");
    assert_eq!(backends[0]["diagnosis"]["code"], "ok", "{json:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_shows_both_backends_and_the_code() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(leaf_only(&pki)))
        .await
        .expect("responder");
    let out = run(diagnose(&broker, &pki, &["--format", "text"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // The header row of the backend table: an empty corner cell, then one column per backend.
    let header = text.lines().any(|line| {
        let words: Vec<&str> = line
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words == ["rustls", "openssl"]
    });
    assert!(header, "no rustls/openssl header row:\n{text}");
    assert!(
        text.contains("[rustls, openssl] missing_intermediate"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colour when not a terminal:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_starts_with_its_title() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(leaf_only(&pki)))
        .await
        .expect("responder");
    let out = run(diagnose(&broker, &pki, &["--format", "markdown"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("# mqtls diagnose"), "{md}");
    assert!(md.contains("missing_intermediate"), "{md}");
}

fn lab_pki() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    (dir, pki)
}

fn good(pki: &Pki) -> TlsServer {
    TlsServer {
        stack: ServerStack::Openssl,
        chain_pem: pki.server.chain_pem().to_vec(),
        key_pem: pki.server.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }
}

fn leaf_only(pki: &Pki) -> TlsServer {
    TlsServer {
        chain_pem: pki.server.cert_pem.clone(),
        ..good(pki)
    }
}

/// `diagnose localhost:PORT --cafile root.crt --timeout 2` plus `extra`.
fn diagnose(broker: &Responder, pki: &Pki, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "diagnose".to_string(),
        format!("localhost:{}", broker.port()),
        "--cafile".to_string(),
        pki.root.cert.display().to_string(),
        "--timeout".to_string(),
        "2".to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// Runs the binary off the runtime's worker threads, so in-process responders keep serving.
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || run_blocking(args))
        .await
        .expect("the mqtls task")
}

fn run_blocking(args: Vec<String>) -> Output {
    cargo_bin_cmd!("mqtls")
        .args(&args)
        .env_remove("RUST_LOG")
        .env_remove("UNSET_VAR_XYZ")
        .env("NO_COLOR", "1")
        .output()
        .expect("run mqtls")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", describe(out)))
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn inspect_at_checks_at_that_instant_on_both_stacks() {
    let (_dir, pki) = lab_pki();
    let args = |at: &str| -> Vec<String> {
        vec![
            "inspect".into(),
            "--cafile".into(),
            pki.root.cert.display().to_string(),
            "--server-cert".into(),
            pki.server.chain_path().display().to_string(),
            "--expect-name".into(),
            "localhost".into(),
            "--format".into(),
            "json".into(),
            "--at".into(),
            at.into(),
        ]
    };
    // The lab's certificates are valid from 2024-01-01: a day before, both stacks refuse.
    for at in ["2023-12-31T00:00:00Z", "1703980800"] {
        let out = run_blocking(args(at));
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let json = json(&out);
        assert_eq!(json["checked_at"], "2023-12-31T00:00:00Z", "{json:#}");
        for v in json["verification"].as_array().expect("verification") {
            assert_eq!(v["ok"], false, "{v:#}");
        }
        assert!(
            json["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .any(|f| f["code"] == "server_cert_not_yet_valid" && f["severity"] == "error"),
            "{json:#}"
        );
    }
    let out = run_blocking(args("2025-06-01T00:00:00Z"));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = run_blocking(args("yesterday"));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--at"),
        "{}",
        describe(&out)
    );
}
