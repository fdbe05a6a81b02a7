//! No secret in any output: the MQTT password, the key password and the private key itself
//! never appear in text, JSON, Markdown, JUnit, or the logs at `-vv`, whatever the outcome:
//! `diagnose`, `run` (terminal and every report file), `report` merging them, and `inspect`.

use std::process::Command;

use mqtls::lab::{Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer};

const MQTT_PASSWORD: &str = "s3cret-mqtt-Pa55";
/// Not the PKI's own `mqtls` password: that word is in every report.
const KEY_PASSWORD: &str = "k3y-Pa55-unique";

fn key_body(pem: &[u8]) -> String {
    // The base64 lines of the key: any of them in an output would be a leak.
    key_lines(pem).into_iter().next().unwrap_or_default()
}

fn key_lines(pem: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(pem)
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(str::to_string)
        .collect()
}

/// Every secret of these tests, named.
fn secrets(key_pem: &[u8], encrypted_pem: &[u8]) -> Vec<(String, String)> {
    let mut all = vec![
        ("MQTT password".to_string(), MQTT_PASSWORD.to_string()),
        ("key password".to_string(), KEY_PASSWORD.to_string()),
    ];
    for (i, line) in key_lines(key_pem).into_iter().enumerate() {
        all.push((format!("private key line {}", i + 1), line));
    }
    for (i, line) in key_lines(encrypted_pem).into_iter().enumerate() {
        all.push((format!("encrypted key line {}", i + 1), line));
    }
    all
}

fn assert_clean(what: &str, output: &str, secrets: &[(String, String)]) {
    for (name, secret) in secrets {
        assert!(
            !output.contains(secret.as_str()),
            "{what}: the {name} is in it"
        );
    }
}

/// A broker that demands a client certificate and knows alice under another password.
async fn refusing_broker(pki: &mqtls::pki::Pki, stack: ServerStack) -> Responder {
    Responder::start(Behaviour::Tls(TlsServer {
        stack,
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
    .expect("responder")
}

/// The client key, encrypted under [`KEY_PASSWORD`]: its path and its PEM.
fn encrypted_key(pki: &mqtls::pki::Pki, dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.join("client-unique-password.key");
    let key = openssl::pkey::PKey::private_key_from_pem(&pki.client.key_pem).expect("key");
    let pem = key
        .private_key_to_pem_pkcs8_passphrase(
            openssl::symm::Cipher::aes_256_cbc(),
            KEY_PASSWORD.as_bytes(),
        )
        .expect("encrypts");
    std::fs::write(&path, &pem).expect("write");
    (path, pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_every_format_and_the_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    let key_line = key_body(&pki.client.key_pem);
    assert!(!key_line.is_empty());
    // Right user, wrong password: the broker refuses, the report explains, nothing leaks.
    let responder = refusing_broker(&pki, ServerStack::Openssl).await;
    let port = responder.port();
    let (encrypted, _) = encrypted_key(&pki, dir.path());
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

/// The same secrets through `run` (terminal at -vv, JSON, Markdown, JUnit), `report` merging
/// the JSON into every format, and `inspect` reading the encrypted key with its password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_run_reports_merges_and_inspect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    let responder = refusing_broker(&pki, ServerStack::Rustls).await;
    let (encrypted, encrypted_pem) = encrypted_key(&pki, dir.path());
    let secrets = secrets(&pki.client.key_pem, &encrypted_pem);
    // One case meets its expectation, one misses it: the failure path prints the most.
    let suite = dir.path().join("secret.yaml");
    let case = |name: &str, expect: &str| {
        format!(
            "  - name: {name}\n    mqtt: {{ username: alice, password_env: MQTLS_TEST_MQTT_PW }}\n    expect: {expect}\n"
        )
    };
    let yaml = format!(
        "defaults:\n  target: localhost:{}\n  cafile: {}\n  cert: {}\n  key: {}\n  key_password_env: MQTLS_TEST_KEY_PW\ncases:\n{}{}",
        responder.port(),
        pki.root.cert.display(),
        pki.client.cert.display(),
        encrypted.display(),
        case("refused", "mqtt_bad_credentials"),
        case("expected-ok", "ok"),
    );
    std::fs::write(&suite, yaml).expect("write suite");
    let file = |name: &str| dir.path().join(name);
    let run = {
        let (suite, json, md, junit) = (
            suite.clone(),
            file("run.json"),
            file("run.md"),
            file("run.xml"),
        );
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_mqtls"))
                .arg("-vv")
                .arg("run")
                .arg(&suite)
                .arg("--json")
                .arg(&json)
                .arg("--markdown")
                .arg(&md)
                .arg("--junit")
                .arg(&junit)
                .env("MQTLS_TEST_KEY_PW", KEY_PASSWORD)
                .env("MQTLS_TEST_MQTT_PW", MQTT_PASSWORD)
                .output()
                .expect("runs")
        })
        .await
        .expect("joins")
    };
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "one case misses: {stdout}");
    assert!(stdout.contains("mqtt_bad_credentials"), "{stdout}");
    assert_clean("run terminal output", &stdout, &secrets);
    assert_clean(
        "run -vv log",
        &String::from_utf8_lossy(&run.stderr),
        &secrets,
    );
    for name in ["run.json", "run.md", "run.xml"] {
        let text = std::fs::read_to_string(file(name)).expect("report written");
        assert!(text.contains("mqtt_bad_credentials"), "{name}: {text}");
        assert_clean(name, &text, &secrets);
    }
    for format in ["markdown", "json", "junit"] {
        let out = Command::new(env!("CARGO_BIN_EXE_mqtls"))
            .args(["-vv", "report", "--format", format])
            .arg(file("run.json"))
            .output()
            .expect("report runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("mqtt_bad_credentials"),
            "report {format}: {text}"
        );
        assert_clean(&format!("report --format {format}"), &text, &secrets);
        assert_clean(
            &format!("report --format {format} log"),
            &String::from_utf8_lossy(&out.stderr),
            &secrets,
        );
    }
    for format in ["text", "json"] {
        let out = Command::new(env!("CARGO_BIN_EXE_mqtls"))
            .args(["-vv", "inspect", "--format", format, "--cafile"])
            .arg(&pki.root.cert)
            .arg("--cert")
            .arg(&pki.client.cert)
            .arg("--key")
            .arg(&encrypted)
            .args(["--key-password-env", "MQTLS_TEST_KEY_PW"])
            .env("MQTLS_TEST_KEY_PW", KEY_PASSWORD)
            .output()
            .expect("inspect runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.is_empty(), "inspect {format} printed nothing");
        assert_clean(&format!("inspect --format {format}"), &text, &secrets);
        assert_clean(
            &format!("inspect --format {format} log"),
            &String::from_utf8_lossy(&out.stderr),
            &secrets,
        );
    }
}

/// A pre-shared key (a wrong one and the right one, in lower and upper case) never appears in
/// `diagnose` (every format, `-vv`), `run` (terminal and reports, keys from a variable and a
/// file) or `scan` (CSV columns), against a real mosquitto PSK listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psk_keys_stay_out_of_diagnose_run_and_scan() {
    if !mqtls::lab::broker_available(mqtls::lab::BrokerKind::Mosquitto, "secrets (PSK)") {
        return;
    }
    const KEY: &str = "5eed0fc0ffee5eed0fc0ffee5eed0fc0";
    const WRONG: &str = "5eed0fc0ffee5eed0fc0ffee5eed0fc1";
    let secrets: Vec<(String, String)> = [KEY, WRONG]
        .iter()
        .flat_map(|k| [k.to_string(), k.to_uppercase()])
        .map(|k| ("PSK".to_string(), k))
        .collect();
    let listener = mqtls::lab::Listener {
        name: "psk".into(),
        allow_anonymous: true,
        tls: Some(mqtls::lab::ListenerTls {
            psk: Some(mqtls::lab::ListenerPsk {
                hint: "lab".into(),
                keys: vec![("dev1".into(), KEY.into())],
            }),
            ..mqtls::lab::ListenerTls::default()
        }),
        ..mqtls::lab::Listener::default()
    };
    let broker = tokio::task::spawn_blocking(move || {
        mqtls::lab::Mosquitto::start(&[listener], std::time::Duration::from_secs(10))
    })
    .await
    .expect("joins")
    .expect("mosquitto starts");
    let target = format!("localhost:{}", broker.port("psk").expect("port"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mqtls = |args: Vec<String>| {
        let out = Command::new(env!("CARGO_BIN_EXE_mqtls"))
            .args(args)
            .current_dir(dir.path())
            .env("MQTLS_TEST_PSK", KEY)
            .env("MQTLS_TEST_PSK_WRONG", WRONG)
            .output()
            .expect("runs");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for format in ["text", "json", "markdown"] {
        for var in ["MQTLS_TEST_PSK", "MQTLS_TEST_PSK_WRONG"] {
            let (stdout, stderr) = mqtls(args(&[
                "-vv",
                "diagnose",
                &target,
                "--format",
                format,
                "--psk-identity",
                "dev1",
                "--psk-key-env",
                var,
            ]));
            // The wrong key is diagnosed; the right one connects (and rustls says it cannot try).
            let want = if var == "MQTLS_TEST_PSK" {
                "not supported by this stack"
            } else {
                "psk_key_mismatch"
            };
            assert!(stdout.contains(want), "{format} {var}: {stdout}");
            assert_clean(&format!("diagnose {format} {var}"), &stdout, &secrets);
            assert_clean(
                &format!("diagnose {format} {var} -vv log"),
                &stderr,
                &secrets,
            );
        }
    }
    std::fs::write(dir.path().join("dev1.hex"), format!("# test key\n{KEY}\n")).expect("write");
    std::fs::write(
        dir.path().join("psk.yaml"),
        format!(
            "defaults:\n  target: {target}\n  backends: [openssl]\ncases:\n  - name: from-file\n    psk: {{identity: dev1, key_file: dev1.hex}}\n    expect: ok\n  - name: wrong-from-env\n    psk: {{identity: dev1, key_env: MQTLS_TEST_PSK_WRONG}}\n    expect: ok\n"
        ),
    )
    .expect("write suite");
    let (stdout, stderr) = mqtls(args(&[
        "-vv",
        "run",
        "psk.yaml",
        "--json",
        "run.json",
        "--markdown",
        "run.md",
        "--junit",
        "run.xml",
    ]));
    assert!(stdout.contains("psk_key_mismatch"), "{stdout}");
    assert_clean("run terminal output", &stdout, &secrets);
    assert_clean("run -vv log", &stderr, &secrets);
    for name in ["run.json", "run.md", "run.xml"] {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("report written");
        assert!(text.contains("psk_key_mismatch"), "{name}");
        assert_clean(name, &text, &secrets);
    }
    std::fs::write(
        dir.path().join("fleet.csv"),
        format!("target,psk_identity,psk_key_env\n{target},dev1,MQTLS_TEST_PSK_WRONG\n"),
    )
    .expect("write csv");
    let (stdout, stderr) = mqtls(args(&["-vv", "scan", "fleet.csv", "--backend", "openssl"]));
    assert!(stdout.contains("psk_key_mismatch"), "{stdout}\n{stderr}");
    assert_clean("scan output", &stdout, &secrets);
    assert_clean("scan -vv log", &stderr, &secrets);
}
