//! `diagnose` end to end against a real mosquitto: one broker process per run of this file, one
//! loopback listener per case, every case probed with both backends and both codes asserted.
//!
//! Without mosquitto the tests print a note and pass, unless `CI` is set: then a missing broker
//! is a failure. The broker is started by the one test function that loops over the cases and
//! dropped (killed and reaped) at its end; the repeated TLS 1.2 client-certificate test starts a
//! broker of its own.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::Backend;
use mqtls::inputs::{self, InputPaths};
use mqtls::lab::{Listener, ListenerTls, Mosquitto};
use mqtls::pki::{self, CertFiles, Pki};
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion};
use mqtls::probe::{ProbeRequest, TlsVersion};
use mqtls::report::{DiagnoseReport, Outcome};
use mqtls::target::Target;

/// Per-phase deadline of every probe; no case here is meant to time out.
const TIMEOUT: Duration = Duration::from_secs(3);
/// How long the broker may take to open every listener.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// Runs of the TLS 1.3 `require_certificate` case (it used to lose the alert to a reset).
const CLIENT_CERT_RUNS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_cases_on_both_backends() {
    if !mqtls::lab::broker_available(mqtls::lab::BrokerKind::Mosquitto, "diagnose_mosquitto") {
        return;
    }
    mqtls::logging::init(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let broker = start(listeners(&pki)).await;

    let mut failures = Vec::new();
    for case in cases() {
        if let Err(e) = run_case(&case, &broker, &pki).await {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    let repeated = client_cert_required_tls13();
    for run in 1..=CLIENT_CERT_RUNS {
        if let Err(e) = run_case(&repeated, &broker, &pki).await {
            failures.push(format!(
                "{} run {run}/{CLIENT_CERT_RUNS}: {e}",
                repeated.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nmosquitto log tail:\n{}",
        failures.join("\n\n"),
        tail(&broker.log(), 30)
    );
}

/// TLS 1.2 `require_certificate`, repeated: mosquitto's handshake_failure alert must reach
/// both backends every time. It starts its own broker with only that listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_cert_required_under_tls12() {
    if !mqtls::lab::broker_available(mqtls::lab::BrokerKind::Mosquitto, "diagnose_mosquitto") {
        return;
    }
    mqtls::logging::init(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let mtls12 = listeners(&pki)
        .into_iter()
        .find(|l| l.name == "mtls-tls12")
        .expect("the mtls-tls12 listener");
    let broker = start(vec![mtls12]).await;
    let case = Case {
        tls_versions: vec![TlsVersion::Tls12],
        ..Case::new(
            "client_cert_required_tls12",
            "mtls-tls12",
            Code::ClientCertRequired,
        )
    };
    let runs = 30;
    let mut failures = Vec::new();
    for run in 1..=runs {
        if let Err(e) = run_case(&case, &broker, &pki).await {
            failures.push(format!("run {run}/{runs}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Starts one broker serving `listeners`, off the runtime's worker threads (it polls).
async fn start(listeners: Vec<Listener>) -> Mosquitto {
    let started = Instant::now();
    let broker = tokio::task::spawn_blocking(move || Mosquitto::start(&listeners, START_DEADLINE))
        .await
        .expect("start task")
        .unwrap_or_else(|e| panic!("mosquitto does not start: {e}"));
    eprintln!("mosquitto started in {:?}", started.elapsed());
    broker
}

/// One listener per case (names are what [`Case::listener`] refers to).
fn listeners(pki: &Pki) -> Vec<Listener> {
    let tls = |name: &str, cert: &CertFiles| Listener {
        name: name.into(),
        tls: Some(ListenerTls {
            certfile: cert.chain_path().to_path_buf(),
            keyfile: cert.key.clone(),
            ..ListenerTls::default()
        }),
        allow_anonymous: true,
        users: Vec::new(),
    };
    let with_tls = |mut l: Listener, edit: &dyn Fn(&mut ListenerTls)| {
        if let Some(t) = l.tls.as_mut() {
            edit(t);
        }
        l
    };
    let mtls = |t: &mut ListenerTls| {
        t.cafile = Some(pki.ca_bundle.clone());
        t.require_certificate = true;
    };
    vec![
        tls("ok", &pki.server),
        // certfile holds the leaf alone and there is no cafile from which OpenSSL could
        // complete the chain.
        with_tls(tls("leaf-only", &pki.server), &|t| {
            t.certfile = pki.server.cert.clone();
        }),
        tls("good-for-server-as-ca", &pki.server),
        tls("good-for-other-root", &pki.server),
        tls("wrong-name", &pki.server_wrong_name),
        tls("expired", &pki.server_expired),
        with_tls(tls("mtls", &pki.server), &mtls),
        with_tls(tls("mtls-tls12", &pki.server), &|t| {
            mtls(t);
            t.tls_version = Some("tlsv1.2".into());
        }),
        Listener {
            allow_anonymous: false,
            ..tls("closed", &pki.server)
        },
        // A client certificate accepted at TLS, then "not authorized" at MQTT (no user name,
        // no use_identity_as_username).
        Listener {
            allow_anonymous: false,
            ..with_tls(tls("mtls-closed", &pki.server), &mtls)
        },
        Listener {
            allow_anonymous: false,
            users: vec![("alice".into(), "secret".into())],
            ..tls("users", &pki.server)
        },
        Listener {
            name: "plain".into(),
            allow_anonymous: true,
            ..Listener::default()
        },
    ]
}

/// One probe of one listener.
struct Case {
    name: &'static str,
    listener: &'static str,
    cafile: fn(&Pki) -> PathBuf,
    client_cert: bool,
    tls_versions: Vec<TlsVersion>,
    mqtt: MqttVersion,
    login: Option<(&'static str, &'static str)>,
    expect: Code,
    /// For `ok` cases: the TLS version both backends must have negotiated.
    negotiated: Option<&'static str>,
    /// Probe with `mqtt://` (plain MQTT, no TLS).
    plain: bool,
}

impl Case {
    fn new(name: &'static str, listener: &'static str, expect: Code) -> Case {
        Case {
            name,
            listener,
            cafile: |p| p.root.cert.clone(),
            client_cert: false,
            tls_versions: Vec::new(),
            mqtt: MqttVersion::V311,
            login: None,
            expect,
            negotiated: None,
            plain: false,
        }
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            negotiated: Some("TLSv1.3"),
            ..Case::new("ok", "ok", Code::Ok)
        },
        Case::new(
            "missing_intermediate",
            "leaf-only",
            Code::MissingIntermediate,
        ),
        Case {
            cafile: |p| p.server.cert.clone(),
            ..Case::new(
                "server_cert_as_ca",
                "good-for-server-as-ca",
                Code::ServerCertAsCa,
            )
        },
        Case {
            cafile: |p| p.other_root.cert.clone(),
            ..Case::new("unknown_ca", "good-for-other-root", Code::UnknownCa)
        },
        Case::new("hostname_mismatch", "wrong-name", Code::HostnameMismatch),
        Case::new("server_cert_expired", "expired", Code::ServerCertExpired),
        client_cert_required_tls13(),
        // client_cert_required under TLS 1.2 is in `client_cert_required_under_tls12`.
        Case {
            client_cert: true,
            negotiated: Some("TLSv1.3"),
            ..Case::new("ok_with_client_cert", "mtls", Code::Ok)
        },
        Case {
            client_cert: true,
            tls_versions: vec![TlsVersion::Tls12],
            negotiated: Some("TLSv1.2"),
            ..Case::new("ok_with_client_cert_tls12", "mtls-tls12", Code::Ok)
        },
        Case::new(
            "mqtt_not_authorized_v311",
            "closed",
            Code::MqttNotAuthorized,
        ),
        Case {
            mqtt: MqttVersion::V5,
            ..Case::new("mqtt_not_authorized_v5", "closed", Code::MqttNotAuthorized)
        },
        // mosquitto 2.0 answers a wrong password with "not authorized" (rc 5 / 0x87); with a
        // user name in the CONNECT that still means the credentials were refused.
        Case {
            login: Some(("alice", "wrong")),
            ..Case::new(
                "mqtt_bad_credentials_v311",
                "users",
                Code::MqttBadCredentials,
            )
        },
        Case {
            login: Some(("alice", "wrong")),
            mqtt: MqttVersion::V5,
            ..Case::new("mqtt_bad_credentials_v5", "users", Code::MqttBadCredentials)
        },
        Case {
            login: Some(("alice", "secret")),
            negotiated: Some("TLSv1.3"),
            ..Case::new("ok_with_login", "users", Code::Ok)
        },
        Case {
            client_cert: true,
            ..Case::new(
                "mqtt_not_authorized_with_client_cert",
                "mtls-closed",
                Code::MqttNotAuthorized,
            )
        },
        Case::new("plaintext_port", "plain", Code::PlaintextPort),
        // The other way round: `mqtt://` to the TLS listener. mosquitto answers the plain
        // CONNECT by closing; a TLS handshake on the same port completes.
        Case {
            plain: true,
            ..Case::new("tls_port_plain_client", "ok", Code::TlsPortPlainClient)
        },
    ]
}

/// `require_certificate true` under TLS 1.3 without a client certificate.
fn client_cert_required_tls13() -> Case {
    Case::new(
        "client_cert_required_tls13",
        "mtls",
        Code::ClientCertRequired,
    )
}

async fn run_case(case: &Case, broker: &Mosquitto, pki: &Pki) -> Result<(), String> {
    let port = broker
        .port(case.listener)
        .ok_or_else(|| format!("no listener {:?}", case.listener))?;
    let paths = InputPaths {
        cafiles: vec![(case.cafile)(pki)],
        cert: case.client_cert.then(|| pki.client.cert.clone()),
        key: case.client_cert.then(|| pki.client.key.clone()),
        key_password: None,
        untrusted: Vec::new(),
        offline: false,
        psk: None,
    };
    let loaded = inputs::load(&paths).map_err(|e| format!("inputs: {e}"))?;
    let request = ProbeRequest {
        target: Target::parse(&format!(
            "{}localhost:{port}",
            if case.plain { "mqtt://" } else { "" }
        ))
        .expect("target"),
        sni: Some("localhost".into()),
        expect_name: "localhost".into(),
        tls_versions: case.tls_versions.clone(),
        alpn: Vec::new(),
        mqtt: ConnectSettings {
            version: case.mqtt,
            client_id: format!("mqtls-{}", case.name),
            username: case.login.map(|(u, _)| u.to_string()),
            password: case.login.map(|(_, p)| p.to_string()),
        },
        timeout: TIMEOUT,
        verify_at: None,
    };
    let report = mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await;
    check(&report, case).map_err(|e| format!("{e}\n{}", describe(&report)))
}

fn check(report: &DiagnoseReport, case: &Case) -> Result<(), String> {
    let order: Vec<Backend> = report.backends.iter().map(|b| b.backend).collect();
    if order != Backend::ALL {
        return Err(format!("backends {order:?}"));
    }
    let codes: Vec<Code> = report.backends.iter().map(|b| b.diagnosis.code).collect();
    if codes != [case.expect, case.expect] || !report.agreement {
        return Err(format!("expected {} on both", case.expect));
    }
    let want = if case.expect == Code::Ok {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    for b in &report.backends {
        if b.outcome != want {
            return Err(format!("{}: outcome {:?}", b.backend, b.outcome));
        }
        if case.name == "mqtt_not_authorized_with_client_cert"
            && !b
                .diagnosis
                .facts
                .iter()
                .any(|f| f.contains("client certificate sent and accepted at the TLS layer"))
        {
            return Err(format!("{}: the certificate is not named", b.backend));
        }
        // `require_certificate true`: both backends saw the CertificateRequest.
        if case.listener.starts_with("mtls") && b.client_cert_requested != Some(true) {
            return Err(format!(
                "{}: client_cert_requested {:?}",
                b.backend, b.client_cert_requested
            ));
        }
        if let Some(version) = case.negotiated
            && b.tls.version.as_deref() != Some(version)
        {
            return Err(format!("{}: negotiated {:?}", b.backend, b.tls.version));
        }
    }
    Ok(())
}

fn describe(report: &DiagnoseReport) -> String {
    report
        .backends
        .iter()
        .map(|b| {
            format!(
                "  {}: code={} phase={:?} tls={:?} alert={:?} raw_error={:?}",
                b.backend, b.diagnosis.code, b.phase, b.tls.version, b.alerts.received, b.raw_error
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
