//! Expiry watch end to end (issue 16): `cert_expires_soon` from real handshakes on both
//! backends, judged with `--at` ten days before the lab certificates' notAfter (4096-01-01), in
//! every format; `scan` sorting its summary by the earliest expiry; and `--format openmetrics`
//! of `diagnose` and `scan`, checked by `promtool check metrics` when promtool is installed
//! (the Debian `prometheus` package, installed by `.ci/setup`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mqtls::lab::{Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer};
use mqtls::pki::{self, Pki};
use serde_json::Value;

/// Every good lab certificate (root, intermediate, server, client) expires at 4096-01-01.
const LAB_NOT_AFTER: i64 = 67_090_118_400;
/// Ten days before it.
const TEN_DAYS_BEFORE: &str = "4095-12-22T00:00:00Z";

fn lab_pki() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    (dir, pki)
}

/// The full chain, a client certificate required (the lab client, issued by the intermediate).
fn mtls(pki: &Pki) -> TlsServer {
    TlsServer {
        stack: ServerStack::Openssl,
        chain_pem: pki.server.chain_pem().to_vec(),
        key_pem: pki.server.key_pem.clone(),
        client_auth: ClientAuth::Required {
            ca_pem: pki.ca_bundle_pem.clone(),
        },
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }
}

/// `diagnose localhost:PORT` with the lab root and client identity, plus `extra`.
fn diagnose(broker: &Responder, pki: &Pki, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "diagnose".into(),
        format!("localhost:{}", broker.port()),
        "--cafile".into(),
        pki.root.cert.display().to_string(),
        "--cert".into(),
        pki.client.cert.display().to_string(),
        "--key".into(),
        pki.client.key.display().to_string(),
        "--timeout".into(),
        "2".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// Runs mqtls off the runtime's threads, so the in-process broker keeps serving.
async fn mqtls(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mqtls"))
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .output()
            .expect("mqtls runs")
    })
    .await
    .expect("joins")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Validates a `diagnose` document against the committed reports/schema.json.
fn assert_schema(value: &Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(path).expect("schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_days_before_not_after_both_backends_connect_and_warn() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(mtls(&pki)))
        .await
        .expect("responder");
    let out = mqtls(diagnose(
        &broker,
        &pki,
        &["--at", TEN_DAYS_BEFORE, "--format", "json"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_schema(&json);
    let backends = json["backends"].as_array().expect("backends");
    assert_eq!(backends.len(), 2, "{json:#}");
    for b in backends {
        assert_eq!(b["diagnosis"]["code"], "ok", "{b:#}");
        let warnings: Vec<&str> = b["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(warnings.contains(&"cert_expires_soon"), "{b:#}");
        let facts = b["warning_facts"]
            .as_array()
            .expect("warning_facts")
            .iter()
            .find(|w| w["code"] == "cert_expires_soon")
            .expect("the facts of cert_expires_soon")["facts"]
            .to_string();
        for which in ["server certificate", "trust anchor", "client certificate"] {
            assert!(facts.contains(which), "{which}: {facts}");
        }
        assert!(facts.contains("10 days left"), "{facts}");
        assert!(facts.contains("4096-01-01"), "{facts}");
    }

    // Text and Markdown show the warning and its facts too.
    for format in ["text", "markdown"] {
        let out = mqtls(diagnose(
            &broker,
            &pki,
            &["--at", TEN_DAYS_BEFORE, "--format", format],
        ))
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let text = stdout(&out);
        assert!(text.contains("cert_expires_soon"), "{format}: {text}");
        assert!(text.contains("10 days left"), "{format}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_warning_outside_the_window() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(mtls(&pki)))
        .await
        .expect("responder");
    for extra in [
        vec!["--at", TEN_DAYS_BEFORE, "--warn-days", "9"],
        // Now: the lab certificates have two thousand years left.
        vec![],
    ] {
        let mut args = extra.clone();
        args.extend(["--format", "json"]);
        let out = mqtls(diagnose(&broker, &pki, &args)).await;
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        for b in json["backends"].as_array().expect("backends") {
            assert!(
                !b["warnings"].to_string().contains("cert_expires_soon"),
                "{extra:?}: {b:#}"
            );
            assert!(b.get("warning_facts").is_none(), "{extra:?}: {b:#}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_openmetrics_is_a_valid_exposition() {
    let (_dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(mtls(&pki)))
        .await
        .expect("responder");
    let out = mqtls(diagnose(
        &broker,
        &pki,
        &["--at", TEN_DAYS_BEFORE, "--format", "openmetrics"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    assert_exposition(&text);
    let target = format!("localhost:{}", broker.port());
    for backend in ["rustls", "openssl"] {
        let labels = format!("target=\"{target}\",backend=\"{backend}\"");
        assert!(
            text.contains(&format!("probe_success{{{labels}}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("mqtls_diagnosis_info{{{labels},code=\"ok\"}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "mqtls_warning_info{{{labels},code=\"cert_expires_soon\"}} 1\n"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("probe_tls_handshake_seconds{{{labels}}} ")),
            "{text}"
        );
    }
    assert!(
        text.contains(&format!(
            "probe_ssl_earliest_cert_expiry{{target=\"{target}\"}} {LAB_NOT_AFTER}\n"
        )),
        "{text}"
    );
    promtool_check(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_sorts_by_earliest_expiry_and_writes_openmetrics() {
    let (dir, pki) = lab_pki();
    // One broker with the lab chain (notAfter 4096-01-01), one with a dead port: its summary
    // lists only the host that showed certificates, with the days left.
    let broker = Responder::start(Behaviour::Tls(mtls(&pki)))
        .await
        .expect("responder");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let targets = dir.path().join("targets.txt");
    std::fs::write(
        &targets,
        format!("localhost:{}\n127.0.0.1:{dead}\n", broker.port()),
    )
    .expect("targets file");
    let scan = |format: &str| {
        vec![
            "scan".to_string(),
            targets.display().to_string(),
            "--cafile".into(),
            pki.root.cert.display().to_string(),
            "--cert".into(),
            pki.client.cert.display().to_string(),
            "--key".into(),
            pki.client.key.display().to_string(),
            "--timeout".into(),
            "2".into(),
            "--at".into(),
            TEN_DAYS_BEFORE.into(),
            "--format".into(),
            format.into(),
        ]
    };
    let out = mqtls(scan("jsonl")).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("earliest certificate expiry, soonest first:"),
        "{}",
        describe(&out)
    );
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!("localhost:{}", broker.port())))
        .unwrap_or_default();
    assert!(line.contains("10 days"), "{stderr}");
    assert!(
        stdout(&out).contains("cert_expires_soon"),
        "{}",
        describe(&out)
    );
    // The merged report lists the same, soonest first.
    let lines = dir.path().join("fleet.jsonl");
    std::fs::write(&lines, &out.stdout).expect("jsonl");
    let merged = mqtls(vec!["report".into(), lines.display().to_string()]).await;
    let md = stdout(&merged);
    assert!(
        md.contains(&format!(
            "| localhost:{} | 10 | server certificate CN=localhost, O=mqtls lab | 4096-01-01T00:00:00Z |",
            broker.port()
        )),
        "{}",
        describe(&merged)
    );

    let out = mqtls(scan("openmetrics")).await;
    let text = stdout(&out);
    assert_exposition(&text);
    assert!(
        text.contains(&format!(
            "probe_success{{target=\"127.0.0.1:{dead}\",backend=\"rustls\"}} 0\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "mqtls_diagnosis_info{{target=\"127.0.0.1:{dead}\",backend=\"openssl\",code=\"connection_refused\"}} 1\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "probe_ssl_earliest_cert_expiry{{target=\"localhost:{}\"}} {LAB_NOT_AFTER}\n",
            broker.port()
        )),
        "{text}"
    );
    promtool_check(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_warns_about_each_file_ten_days_before() {
    let (_dir, pki) = lab_pki();
    let fullchain = pki
        .server
        .fullchain
        .clone()
        .expect("the server's full chain");
    let args = |warn_days: &str| -> Vec<String> {
        [
            "inspect",
            "--cafile",
            &pki.root.cert.display().to_string(),
            "--server-cert",
            &fullchain.display().to_string(),
            "--cert",
            &pki.client.cert.display().to_string(),
            "--key",
            &pki.client.key.display().to_string(),
            "--expect-name",
            "localhost",
            "--at",
            TEN_DAYS_BEFORE,
            "--warn-days",
            warn_days,
            "--format",
            "json",
        ]
        .map(str::to_string)
        .to_vec()
    };
    let out = mqtls(args("30")).await;
    // Warnings only: exit 0.
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let messages: Vec<String> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "cert_expires_soon")
        .map(|f| {
            assert_eq!(f["severity"], "warning", "{f:#}");
            f["message"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for file in [
        "CA file",
        "server certificate file",
        "client certificate file",
    ] {
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with(file) && m.contains("10 days left")),
            "{file}: {messages:#?}"
        );
    }
    let out = mqtls(args("9")).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        !stdout(&out).contains("cert_expires_soon"),
        "{}",
        describe(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_cases_set_their_window_with_warn_days() {
    let (dir, pki) = lab_pki();
    let broker = Responder::start(Behaviour::Tls(mtls(&pki)))
        .await
        .expect("responder");
    // `run` judges now: the lab certificates have about 2070 years left, so a window of
    // 800,000 days (about 2190 years) holds them, and the default of 30 does not.
    let suite = |warn_days: &str| {
        format!(
            "defaults:\n  target: mqtts://localhost:{port}\n  cafile: {ca}\n  cert: {cert}\n  key: {key}\n  timeout: 2\ncases:\n  - name: expires-within-window\n{warn_days}    expect: {{ all: ok, warnings: [cert_expires_soon] }}\n",
            port = broker.port(),
            ca = pki.root.cert.display(),
            cert = pki.client.cert.display(),
            key = pki.client.key.display(),
        )
    };
    for (warn_days, exit) in [("    warn_days: 800000\n", 0), ("", 1)] {
        let file = dir.path().join("expiry.yaml");
        std::fs::write(&file, suite(warn_days)).expect("suite");
        let out = mqtls(vec!["run".into(), file.display().to_string()]).await;
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{warn_days:?}: {}",
            describe(&out)
        );
    }
}

/// The shape promtool and node_exporter's textfile collector expect: every family's `# HELP`
/// and `# TYPE` before its samples, all of a family's samples together, one sample per line
/// (`name{labels} value`), and `# EOF` last.
fn assert_exposition(text: &str) {
    assert!(text.ends_with("# EOF\n"), "{text}");
    let mut declared: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default().to_string();
            assert!(!declared.contains(&name), "{name} declared twice:\n{text}");
            declared.push(name.clone());
            current = Some(name);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            assert_eq!(parts.next(), current.as_deref(), "{text}");
            assert_eq!(parts.next(), Some("gauge"), "{text}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name{labels} value");
        value
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let name = series.split('{').next().unwrap_or_default();
        assert_eq!(Some(name), current.as_deref(), "{line} outside its family");
        assert!(
            series.ends_with('}') && series.contains("target=\""),
            "{line}"
        );
    }
    for name in [
        "probe_success",
        "probe_duration_seconds",
        "probe_tls_handshake_seconds",
        "probe_ssl_earliest_cert_expiry",
        "mqtls_diagnosis_info",
    ] {
        assert!(declared.iter().any(|d| d == name), "{name}:\n{text}");
    }
}

/// `promtool check metrics` over `text`, when promtool is installed; CI (`CI` set) requires it.
fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is required in CI (.ci/setup installs the prometheus package): {e}"
            );
            eprintln!(
                "skipping `promtool check metrics`: promtool not found ({e}); install the Debian `prometheus` package"
            );
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
