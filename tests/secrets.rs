//! No secret in any output: the MQTT password, the key password and the private key itself
//! never appear in text, JSON, Markdown, or the logs at `-vv`, whatever the outcome.

use std::process::Command;

use mqtls::lab::{Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer};

const MQTT_PASSWORD: &str = "s3cret-mqtt-Pa55";
/// Not the PKI's own `mqtls` password: that word is in every report.
const KEY_PASSWORD: &str = "k3y-Pa55-unique";

fn key_body(pem: &[u8]) -> String {
    // The base64 lines of the key: any of them in an output would be a leak.
    String::from_utf8_lossy(pem)
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 20)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_every_format_and_the_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    let key_line = key_body(&pki.client.key_pem);
    assert!(!key_line.is_empty());
    // Right user, wrong password: the broker refuses, the report explains, nothing leaks.
    let responder = Responder::start(Behaviour::Tls(TlsServer {
        stack: ServerStack::Openssl,
        chain_pem: pki.server.chain_pem().to_vec(),
        key_pem: pki.server.key_pem.clone(),
        client_auth: ClientAuth::Required {
            ca_pem: pki.ca_bundle_pem.clone(),
        },
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::RequireLogin {
            username: "alice".into(),
            password: "other".into(),
        },
    }))
    .await
    .expect("responder");
    let port = responder.port();
    let encrypted = dir.path().join("client-unique-password.key");
    let key = openssl::pkey::PKey::private_key_from_pem(&pki.client.key_pem).expect("key");
    let pem = key
        .private_key_to_pem_pkcs8_passphrase(
            openssl::symm::Cipher::aes_256_cbc(),
            KEY_PASSWORD.as_bytes(),
        )
        .expect("encrypts");
    std::fs::write(&encrypted, &pem).expect("write");
    for format in ["text", "json", "markdown"] {
        let (cafile, cert, key) = (
            pki.root.cert.clone(),
            pki.client.cert.clone(),
            encrypted.clone(),
        );
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_mqtls"))
                .args([
                    "-vv",
                    "diagnose",
                    &format!("localhost:{port}"),
                    "--format",
                    format,
                ])
                .arg("--cafile")
                .arg(&cafile)
                .arg("--cert")
                .arg(&cert)
                .arg("--key")
                .arg(&key)
                .args([
                    "--key-password-env",
                    "MQTLS_TEST_KEY_PW",
                    "--username",
                    "alice",
                    "--password-env",
                    "MQTLS_TEST_MQTT_PW",
                ])
                .env("MQTLS_TEST_KEY_PW", KEY_PASSWORD)
                .env("MQTLS_TEST_MQTT_PW", MQTT_PASSWORD)
                .output()
                .expect("runs")
        })
        .await
        .expect("joins");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stdout.contains("mqtt_bad_credentials"),
            "{format}: {stdout}"
        );
        for (what, secret) in [
            ("MQTT password", MQTT_PASSWORD),
            ("key password", KEY_PASSWORD),
            ("private key", key_line.as_str()),
        ] {
            assert!(
                !stdout.contains(secret),
                "{format}: the {what} is in stdout"
            );
            assert!(
                !stderr.contains(secret),
                "{format}: the {what} is in the -vv log"
            );
        }
    }
}
