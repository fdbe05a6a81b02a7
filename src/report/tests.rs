//! Snapshot tests of the renderers over a fixed report (no network, no clock), and a check
//! that the JSON keeps the fields its contract (`reports/schema.json`) fixes.

use super::*;
use crate::chain::{ChainAnalysis, Link, PathEnd, Source};
use crate::classify::{Context, DiagnosisCode, classify};
use crate::evidence::{Alert, Backend, CertProblem, Evidence, Failure, Phase, Timings};
use crate::facts::{TrustFacts, TrustSource};
use crate::x509::CertSummary;

fn cert(subject: &str, issuer: &str, ca: bool) -> CertSummary {
    CertSummary {
        subject: subject.into(),
        issuer: issuer.into(),
        serial: "1a2b".into(),
        version: 3,
        not_before: "2024-01-01T00:00:00Z".into(),
        not_after: "4096-01-01T00:00:00Z".into(),
        not_before_unix: 1_704_067_200,
        not_after_unix: 67_000_000_000,
        sans: if ca {
            vec![]
        } else {
            vec!["DNS:localhost".into(), "IP:127.0.0.1".into()]
        },
        key: "EC P-256".into(),
        signature: "ecdsa-with-SHA256".into(),
        ca: Some(ca),
        eku: Vec::new(),
        ski: None,
        aki: None,
        self_signed: subject == issuer,
        sha256: format!("sha-{subject}"),
    }
}

/// The demo's second situation: leaf only, the CA file holds the root.
fn fixture() -> DiagnoseReport {
    let leaf = cert(
        "CN=localhost, O=mqtls lab",
        "CN=mqtls Lab Signing CA, O=mqtls lab",
        false,
    );
    let root = cert(
        "CN=mqtls Lab Root CA, O=mqtls lab",
        "CN=mqtls Lab Root CA, O=mqtls lab",
        true,
    );
    let mut rustls = Evidence::new(Backend::Rustls, "rustls 0.23.46 (aws-lc-rs)".into());
    rustls.phase = Phase::Tls;
    rustls.failure = Some(Failure::CertRejected {
        problem: CertProblem::UnknownIssuer,
    });
    rustls.raw_error = Some("invalid peer certificate: UnknownIssuer".into());
    rustls.alert_sent = Some(Alert::UNKNOWN_CA);
    rustls.client_cert_requested = Some(false);
    rustls.peer_chain = vec![leaf.clone()];
    rustls.timings = Timings {
        resolve_ms: Some(0.1),
        tcp_ms: Some(0.2),
        tls_ms: Some(1.5),
        mqtt_ms: None,
    };
    rustls.elapsed_ms = 1.8;
    let mut openssl = Evidence::new(Backend::Openssl, "OpenSSL 3.0.19 27 Jan 2026".into());
    openssl.phase = Phase::Tls;
    openssl.failure = rustls.failure.clone();
    openssl.raw_error = Some(
        "certificate verify failed: unable to get local issuer certificate (verify error 20 at depth 0)".into(),
    );
    openssl.tls.version = Some("TLSv1.3".into());
    openssl.tls.cipher = Some("TLS_AES_256_GCM_SHA384".into());
    openssl.peer_chain = vec![leaf];
    openssl.timings = rustls.timings.clone();
    openssl.elapsed_ms = 2.1;
    let all = vec![rustls, openssl];
    let trust = TrustFacts {
        source: TrustSource::Files {
            paths: vec!["certs/root.crt".into()],
        },
        certs: vec![root],
        notes: Vec::new(),
    };
    // What `chain::analyse` finds in the demo: the Signing CA lies beside the CA file.
    let signing = cert(
        "CN=mqtls Lab Signing CA, O=mqtls lab",
        "CN=mqtls Lab Root CA, O=mqtls lab",
        true,
    );
    let chain = ChainAnalysis {
        path: vec![
            Link {
                cert: all[0].peer_chain[0].clone(),
                sources: vec![Source::Broker { index: 0 }],
                ca_issuers: Vec::new(),
            },
            Link {
                cert: signing,
                sources: vec![Source::Beside {
                    path: "certs/intermediate.crt".into(),
                }],
                ca_issuers: Vec::new(),
            },
            Link {
                cert: trust.certs[0].clone(),
                sources: vec![Source::CaFile {
                    path: "certs/root.crt".into(),
                }],
                ca_issuers: Vec::new(),
            },
        ],
        end: PathEnd::Anchored { root: true },
        sent: 1,
        unused_sent: Vec::new(),
        namesakes: Vec::new(),
        searched: vec![
            "what the broker sent (1 certificate(s))".into(),
            "the CA file certs/root.crt (1 certificate(s))".into(),
        ],
    };
    let cx = Context {
        target: "localhost:8883",
        expect_name: "localhost",
        sni: Some("localhost"),
        trust: &trust,
        client_cert: None,
        identity_problem: None,
        sent_username: false,
        plain: false,
        checked_at: 1_795_000_000,
        all: &all,
        offered_versions: &[],
        follow_ups: &FollowUps::default(),
        chain: Some(&chain),
        warn_days: crate::classify::DEFAULT_WARN_DAYS,
    };
    let backends: Vec<BackendReport> = all
        .iter()
        .map(|ev| BackendReport::new(ev.clone(), classify(ev, &cx)))
        .collect();
    let disagreement = explain_disagreement(&backends);
    DiagnoseReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "mqtls".into(),
            version: "0.1.0".into(),
        },
        target: TargetInfo {
            host: "localhost".into(),
            port: 8883,
            sni: Some("localhost".into()),
            expect_name: "localhost".into(),
            scheme: "mqtts".into(),
            mqtt_version: "3.1.1".into(),
            path: None,
        },
        inputs: Inputs {
            trust,
            client_cert: None,
            identity_problem: None,
        },
        agreement: disagreement.is_none(),
        disagreement,
        backends,
        follow_ups: FollowUps::default(),
        chain: Some(chain.clone()),
        meta: Meta {
            checked_at: "2026-11-18T08:53:20Z".into(),
            elapsed_ms: 2.5,
            client_ports: Vec::new(),
        },
    }
}

fn rendered(format: Format, style: Style) -> String {
    let mut out = Vec::new();
    render(format, &fixture(), style, &mut out).expect("rendering to memory cannot fail");
    String::from_utf8(out).expect("renderers write UTF-8")
}

#[test]
fn text_snapshot() {
    insta::assert_snapshot!(rendered(Format::Text, Style::default()));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(rendered(Format::Markdown, Style::default()));
}

#[test]
fn json_snapshot() {
    let value: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, Style::default())).expect("valid JSON");
    insta::assert_json_snapshot!(value);
}

#[test]
fn colour_only_when_asked() {
    assert!(!rendered(Format::Text, Style::default()).contains('\x1b'));
    let coloured = rendered(Format::Text, Style { color: true });
    assert!(
        coloured.starts_with("\x1b[1mmqtls diagnose\x1b[0m "),
        "{coloured}"
    );
    // Colour changes how the text looks, never what it says.
    assert_eq!(
        anstream::adapter::strip_str(&coloured).to_string(),
        rendered(Format::Text, Style::default())
    );
}

#[test]
fn json_has_the_fields_the_contract_fixes() {
    let v: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, Style::default())).expect("valid JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["agreement"], true);
    for (i, name) in ["rustls", "openssl"].iter().enumerate() {
        let b = &v["backends"][i];
        assert_eq!(b["backend"], *name);
        assert_eq!(b["outcome"], "failed");
        assert_eq!(b["phase"], "tls");
        assert_eq!(b["diagnosis"]["code"], "missing_intermediate");
        assert!(b["warnings"].is_array());
        assert!(b["peer_chain"][0]["subject"].is_string());
    }
    // The report round-trips: `mqtls report` and tests can read what `diagnose` wrote.
    let back: DiagnoseReport = serde_json::from_value(v).expect("deserialises");
    assert_eq!(back, fixture());
}

/// A run of two cases on one broker, one passing and one failing, from the fixed diagnosis.
fn run_fixture() -> crate::run::RunReport {
    use crate::run::{BackendVerdict, CaseResult, RunReport, Summary};
    let report = fixture();
    let verdicts = |expected: DiagnosisCode| -> Vec<BackendVerdict> {
        report
            .backends
            .iter()
            .map(|b| BackendVerdict {
                backend: b.backend,
                expected: Some(expected),
                got: b.diagnosis.code,
                missing_warnings: Vec::new(),
                pass: b.diagnosis.code == expected,
                summary: b.diagnosis.summary.clone(),
            })
            .collect()
    };
    let case = |name: &str, expected: DiagnosisCode, log: Vec<String>| {
        let verdicts = verdicts(expected);
        CaseResult {
            case: format!("story/{name}"),
            file: "scenarios/seed/story.yaml".into(),
            description: None,
            broker: "mosquitto".into(),
            pass: verdicts.iter().all(|v| v.pass),
            verdicts,
            broker_log: log,
            report: report.clone(),
        }
    };
    RunReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool { name: "mqtls".into(), version: "0.1.0".into() },
        summary: Summary {
            cases: 2,
            passed: 1,
            failed: 1,
            skipped: 0,
            backends: vec![Backend::Rustls, Backend::Openssl],
            brokers: vec!["mosquitto".into()],
        },
        results: vec![
            case("leaf-only-chain", DiagnosisCode::MissingIntermediate, Vec::new()),
            case(
                "claims-ok",
                DiagnosisCode::Ok,
                vec!["1764107040: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca".into()],
            ),
        ],
        elapsed_ms: 12.0,
    }
}

#[test]
fn run_markdown_snapshot() {
    let mut out = Vec::new();
    suite::render_markdown(&run_fixture(), &mut out).expect("renders");
    insta::assert_snapshot!(String::from_utf8(out).expect("UTF-8"));
}

#[test]
fn run_junit_snapshot() {
    let mut out = Vec::new();
    suite::render_junit(&run_fixture(), &mut out).expect("renders");
    insta::assert_snapshot!(String::from_utf8(out).expect("UTF-8"));
}

#[test]
fn run_text_snapshot() {
    let mut out = Vec::new();
    suite::render_text(&run_fixture(), Style::default(), false, &mut out).expect("renders");
    insta::assert_snapshot!(String::from_utf8(out).expect("UTF-8"));
}

/// A stack that cannot make the connection asked for (rustls and TLS-PSK) is shown as such in
/// every format and does not fail the report; the other backend still decides the exit code.
#[test]
fn a_stack_that_cannot_try_is_shown_and_does_not_fail_the_report() {
    let mut report = fixture();
    report.backends[0].outcome = Outcome::NotSupported;
    report.backends[0].diagnosis = crate::classify::Diagnosis::new(
        DiagnosisCode::NotSupportedByStack,
        "Not supported by this stack: rustls has no external pre-shared keys (TLS-PSK).",
    );
    report.backends[0].psk = Some(crate::evidence::psk::PskEvidence {
        identity: "dev1".into(),
        ..Default::default()
    });
    report.backends[1].outcome = Outcome::Ok;
    assert!(report.all_ok());
    let render_to = |format| {
        let mut out = Vec::new();
        render(format, &report, Style::default(), &mut out).expect("renders");
        String::from_utf8(out).expect("UTF-8")
    };
    let text = render_to(Format::Text);
    assert!(text.contains("– not supported by this stack"), "{text}");
    assert!(text.contains("not tried"), "{text}");
    let markdown = render_to(Format::Markdown);
    assert!(
        markdown.contains("➖ not supported by this stack"),
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&render_to(Format::Json)).expect("JSON");
    assert_eq!(json["backends"][0]["outcome"], "not_supported");
    assert_eq!(json["backends"][0]["psk"]["identity"], "dev1");
    let mut metrics = Vec::new();
    crate::report::openmetrics::render(&[&report], &mut metrics).expect("renders");
    let metrics = String::from_utf8(metrics).expect("UTF-8");
    let success = |backend: &str| {
        metrics.lines().any(|l| {
            l.starts_with("probe_success{") && l.contains(&format!("backend=\"{backend}\""))
        })
    };
    assert!(success("openssl"), "{metrics}");
    assert!(!success("rustls"), "no probe, no probe_success: {metrics}");
    assert!(
        metrics.contains("backend=\"rustls\",code=\"not_supported_by_stack\"} 1"),
        "{metrics}"
    );
    report.backends[1].outcome = Outcome::Failed;
    assert!(!report.all_ok());
    // No stack could try: nothing was tested, which is not a pass.
    report.backends[1].outcome = Outcome::NotSupported;
    assert!(!report.all_ok());
}
