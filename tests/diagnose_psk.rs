//! TLS-PSK end to end against a real mosquitto: one broker with PSK-only listeners (TLS 1.2 and
//! 1.3, and TLS 1.3 only) and a certificate-only listener. OpenSSL probes with the PSK; rustls,
//! which has no external PSK, must say `not_supported_by_stack` without connecting. Every new
//! PSK code is produced here from a real handshake, with the confidence the wire allows:
//! TLS 1.2 names the identity (alert 115) and the key (alert 20); TLS 1.3 does not, and a
//! broker that refuses TLS 1.2 leaves the reading `likely`.
//!
//! Without mosquitto the test prints SKIPPED and passes, unless `CI` is set.

use std::time::{Duration, Instant};

use mqtls::classify::{Confidence, DiagnosisCode as Code};
use mqtls::evidence::Backend;
use mqtls::inputs::{self, InputPaths};
use mqtls::lab::{Listener, ListenerPsk, ListenerTls, Mosquitto};
use mqtls::pki::{self, Pki};
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion};
use mqtls::probe::psk::Psk;
use mqtls::probe::{ProbeRequest, TlsVersion};
use mqtls::report::{DiagnoseReport, Outcome};
use mqtls::target::Target;

const TIMEOUT: Duration = Duration::from_secs(3);
/// The lab's key for `dev1` (a test-only secret, generated per run would do as well).
const KEY: &str = "8f1e6a0c55b2d4e7a93c01f6de2b7c48";
/// The same length, one digit off: what a typo in a device's provisioning looks like.
const WRONG_KEY: &str = "8f1e6a0c55b2d4e7a93c01f6de2b7c49";
const HINT: &str = "mqtls-lab";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psk_cases_against_mosquitto() {
    if !mqtls::lab::broker_available(mqtls::lab::BrokerKind::Mosquitto, "diagnose_psk") {
        return;
    }
    mqtls::logging::init(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let listeners = listeners(&pki);
    let started = Instant::now();
    let broker =
        tokio::task::spawn_blocking(move || Mosquitto::start(&listeners, Duration::from_secs(10)))
            .await
            .expect("start task")
            .unwrap_or_else(|e| panic!("mosquitto does not start: {e}"));
    eprintln!("mosquitto started in {:?}", started.elapsed());

    let mut failures = Vec::new();
    for case in cases() {
        let report = run(&case, &broker, &pki).await;
        if let Err(e) = check(&case, &report) {
            failures.push(format!("{}: {e}\n{}", case.name, describe(&report)));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nmosquitto log tail:\n{}",
        failures.join("\n\n"),
        broker
            .log()
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn psk_listener(name: &str, tls_version: Option<&str>) -> Listener {
    Listener {
        name: name.into(),
        allow_anonymous: true,
        tls: Some(ListenerTls {
            tls_version: tls_version.map(str::to_string),
            psk: Some(ListenerPsk {
                hint: HINT.into(),
                keys: vec![("dev1".into(), KEY.into())],
            }),
            ..ListenerTls::default()
        }),
        ..Listener::default()
    }
}

fn listeners(pki: &Pki) -> Vec<Listener> {
    vec![
        psk_listener("psk", None),
        psk_listener("psk-tls13", Some("tlsv1.3")),
        // TLS 1.2 suites without PSK (TLS 1.3 PSK still works).
        Listener {
            tls: Some(ListenerTls {
                ciphers: Some("ECDHE-RSA-AES128-GCM-SHA256".into()),
                ..psk_listener("", None).tls.expect("tls")
            }),
            ..psk_listener("psk-no-psk-suites", None)
        },
        Listener {
            name: "certs".into(),
            allow_anonymous: true,
            tls: Some(ListenerTls {
                cafile: Some(pki.root.cert.clone()),
                certfile: pki
                    .server
                    .fullchain
                    .clone()
                    .unwrap_or_else(|| pki.server.cert.clone()),
                keyfile: pki.server.key.clone(),
                ..ListenerTls::default()
            }),
            ..Listener::default()
        },
    ]
}

struct Case {
    name: &'static str,
    listener: &'static str,
    /// `(identity, hex key)`; `None`: no PSK offered.
    psk: Option<(&'static str, &'static str)>,
    tls_versions: Vec<TlsVersion>,
    /// What OpenSSL must get, and how sure.
    openssl: (Code, Confidence),
    /// For `ok`: the version negotiated.
    negotiated: Option<&'static str>,
    /// Trust the lab root (a device that also holds the broker's CA).
    trust_lab_root: bool,
    /// Warnings OpenSSL must carry.
    warnings: Vec<Code>,
}

fn case(
    name: &'static str,
    listener: &'static str,
    psk: Option<(&'static str, &'static str)>,
    openssl: (Code, Confidence),
) -> Case {
    Case {
        name,
        listener,
        psk,
        tls_versions: Vec::new(),
        openssl,
        negotiated: None,
        trust_lab_root: false,
        warnings: Vec::new(),
    }
}

fn cases() -> Vec<Case> {
    use Confidence::{Confirmed, Likely};
    let tls12 = vec![TlsVersion::Tls12];
    // (psk-no-psk-suites is used below with its own versions.)
    vec![
        Case {
            negotiated: Some("TLSv1.3"),
            ..case(
                "ok_tls13",
                "psk",
                Some(("dev1", KEY)),
                (Code::Ok, Confirmed),
            )
        },
        Case {
            negotiated: Some("TLSv1.2"),
            tls_versions: tls12.clone(),
            ..case(
                "ok_tls12",
                "psk",
                Some(("dev1", KEY)),
                (Code::Ok, Confirmed),
            )
        },
        // TLS 1.3: alert 40; the TLS 1.2 follow-up gets 115 and confirms it.
        case(
            "identity_unknown_tls13",
            "psk",
            Some(("dev9", KEY)),
            (Code::PskIdentityUnknown, Confirmed),
        ),
        Case {
            tls_versions: tls12.clone(),
            ..case(
                "identity_unknown_tls12",
                "psk",
                Some(("dev9", KEY)),
                (Code::PskIdentityUnknown, Confirmed),
            )
        },
        // TLS 1.3: alert 47 (binder); the TLS 1.2 follow-up gets 20 and confirms it.
        case(
            "key_mismatch_tls13",
            "psk",
            Some(("dev1", WRONG_KEY)),
            (Code::PskKeyMismatch, Confirmed),
        ),
        Case {
            tls_versions: tls12.clone(),
            ..case(
                "key_mismatch_tls12",
                "psk",
                Some(("dev1", WRONG_KEY)),
                (Code::PskKeyMismatch, Confirmed),
            )
        },
        // A TLS 1.3-only broker refuses the TLS 1.2 follow-up: the readings stay likely.
        case(
            "identity_unknown_tls13_only",
            "psk-tls13",
            Some(("dev9", KEY)),
            (Code::PskIdentityUnknown, Likely),
        ),
        case(
            "key_mismatch_tls13_only",
            "psk-tls13",
            Some(("dev1", WRONG_KEY)),
            (Code::PskKeyMismatch, Likely),
        ),
        // A TLS 1.2-only device against a TLS 1.3-only PSK broker: a version problem.
        Case {
            tls_versions: tls12,
            ..case(
                "tls12_device_tls13_broker",
                "psk-tls13",
                Some(("dev1", KEY)),
                (Code::TlsVersionMismatch, Confirmed),
            )
        },
        // A TLS 1.2-only device against a broker whose TLS 1.2 cipher list has no PSK suite.
        Case {
            tls_versions: vec![TlsVersion::Tls12],
            ..case(
                "cipher_mismatch_tls12",
                "psk-no-psk-suites",
                Some(("dev1", KEY)),
                (Code::PskCipherMismatch, Confirmed),
            )
        },
        // The same broker over TLS 1.3: PSK needs no PSK suite there.
        Case {
            negotiated: Some("TLSv1.3"),
            ..case(
                "ok_tls13_without_psk_suites",
                "psk-no-psk-suites",
                Some(("dev1", KEY)),
                (Code::Ok, Confirmed),
            )
        },
        // PSK to a certificate listener (no CA given, as a PSK device has none).
        case(
            "psk_not_accepted",
            "certs",
            Some(("dev1", KEY)),
            (Code::PskNotAccepted, Confirmed),
        ),
        // The same with the broker's CA: it connects on the certificate, the PSK unused.
        Case {
            trust_lab_root: true,
            warnings: vec![Code::PskNotAccepted],
            negotiated: Some("TLSv1.3"),
            ..case(
                "psk_unused_on_certificates",
                "certs",
                Some(("dev1", KEY)),
                (Code::Ok, Confirmed),
            )
        },
        // No PSK to a PSK-only listener: both stacks get the same answer.
        case("psk_required", "psk", None, (Code::PskRequired, Confirmed)),
    ]
}

async fn run(case: &Case, broker: &Mosquitto, pki: &Pki) -> DiagnoseReport {
    let port = broker.port(case.listener).expect("listener");
    let paths = InputPaths {
        cafiles: if case.trust_lab_root {
            vec![pki.root.cert.clone()]
        } else {
            Vec::new()
        },
        psk: case
            .psk
            .map(|(identity, key)| Psk::new(identity, key).expect("valid test key")),
        ..InputPaths::default()
    };
    let loaded = inputs::load(&paths).expect("inputs");
    let request = ProbeRequest {
        target: Target::parse(&format!("localhost:{port}")).expect("target"),
        sni: Some("localhost".into()),
        expect_name: "localhost".into(),
        tls_versions: case.tls_versions.clone(),
        alpn: Vec::new(),
        mqtt: ConnectSettings {
            version: MqttVersion::V311,
            client_id: format!("mqtls-{}", case.name),
            username: None,
            password: None,
        },
        timeout: TIMEOUT,
        verify_at: None,
    };
    mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await
}

fn check(case: &Case, report: &DiagnoseReport) -> Result<(), String> {
    let json = serde_json::to_string(report).map_err(|e| e.to_string())?;
    for secret in [KEY, WRONG_KEY] {
        if json.contains(secret) {
            return Err("the report holds the key".into());
        }
    }
    let rustls = report
        .backends
        .iter()
        .find(|b| b.backend == Backend::Rustls);
    let openssl = report
        .backends
        .iter()
        .find(|b| b.backend == Backend::Openssl);
    let (Some(rustls), Some(openssl)) = (rustls, openssl) else {
        return Err("a backend is missing".into());
    };
    let d = &openssl.diagnosis;
    if (d.code, d.confidence) != case.openssl {
        return Err(format!(
            "openssl: got {} ({:?}), expected {:?}",
            d.code, d.confidence, case.openssl
        ));
    }
    match case.psk {
        Some((identity, _)) => {
            if rustls.diagnosis.code != Code::NotSupportedByStack
                || rustls.outcome != Outcome::NotSupported
                || rustls.connected_to.is_some()
            {
                return Err(format!(
                    "rustls: got {} / {:?}, connected to {:?}",
                    rustls.diagnosis.code, rustls.outcome, rustls.connected_to
                ));
            }
            let psk = openssl.psk.as_ref().ok_or("openssl: no PSK evidence")?;
            if psk.identity != identity || !psk.supported {
                return Err(format!("openssl PSK evidence {psk:?}"));
            }
            if d.code == Code::Ok && psk.used == case.warnings.contains(&Code::PskNotAccepted) {
                return Err(format!("ok, PSK used: {}", psk.used));
            }
        }
        // Both stacks see the same refusal.
        None => {
            if rustls.diagnosis.code != d.code {
                return Err(format!("rustls: got {}", rustls.diagnosis.code));
            }
        }
    }
    if openssl.warnings != case.warnings {
        return Err(format!("openssl warnings {:?}", openssl.warnings));
    }
    if let Some(version) = case.negotiated {
        if openssl.tls.version.as_deref() != Some(version) {
            return Err(format!("negotiated {:?}", openssl.tls.version));
        }
        // TLS 1.2 PSK shows in the suite and carries the broker's hint.
        if version == "TLSv1.2" && case.warnings.is_empty() {
            let cipher = openssl.tls.cipher.as_deref().unwrap_or_default();
            let hint = openssl.psk.as_ref().and_then(|p| p.hint.as_deref());
            if !cipher.contains("PSK") || hint != Some(HINT) {
                return Err(format!("cipher {cipher:?}, hint {hint:?}"));
            }
        }
    }
    // A run with a PSK exits 0 when OpenSSL connects, whatever rustls cannot do.
    if report.all_ok() != (d.code == Code::Ok) {
        return Err(format!("all_ok() is {}", report.all_ok()));
    }
    Ok(())
}

fn describe(report: &DiagnoseReport) -> String {
    report
        .backends
        .iter()
        .map(|b| {
            format!(
                "  {}: {} {:?} raw={:?} facts={:?}",
                b.backend, b.diagnosis.code, b.diagnosis.confidence, b.raw_error, b.diagnosis.facts
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
