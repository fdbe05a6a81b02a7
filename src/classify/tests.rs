//! Table tests of the classifier: one row per rule and at least one negative row per rule,
//! built from small evidence builders (no network).

use super::*;
use crate::chain::ChainAnalysis;
use crate::evidence::{Alert, Backend, CertProblem, ConnAck, Evidence, Failure, Phase};
use crate::evidence::{FollowUps, HandshakeProbe};
use crate::evidence::{PlainProbe, TlsVersion};
use crate::x509::CertSummary;

const NOW: i64 = 1_795_000_000; // 2026-11-18

mod psk;

fn cert(subject: &str, issuer: &str, ca: Option<bool>) -> CertSummary {
    CertSummary {
        subject: subject.into(),
        issuer: issuer.into(),
        serial: "01".into(),
        version: 3,
        not_before: "2024-01-01T00:00:00Z".into(),
        not_after: "4096-01-01T00:00:00Z".into(),
        not_before_unix: 1_704_067_200,
        not_after_unix: 67_000_000_000,
        sans: vec!["DNS:localhost".into()],
        key: "EC P-256".into(),
        signature: "ecdsa-with-SHA256".into(),
        ca,
        eku: Vec::new(),
        ski: None,
        aki: None,
        self_signed: subject == issuer,
        sha256: format!("sha-{subject}"),
    }
}

const LEAF: &str = "CN=localhost, O=lab";
const INTER: &str = "CN=Signing CA, O=lab";
const ROOT: &str = "CN=Root CA, O=lab";

fn leaf() -> CertSummary {
    cert(LEAF, INTER, Some(false))
}
fn inter() -> CertSummary {
    cert(INTER, ROOT, Some(true))
}
fn root() -> CertSummary {
    cert(ROOT, ROOT, Some(true))
}

fn ok() -> Evidence {
    let mut e = Evidence::new(Backend::Rustls, "rustls".into());
    e.phase = Phase::Done;
    e.tls.version = Some("TLSv1.3".into());
    e.peer_chain = vec![leaf(), inter()];
    e.connack = Some(ConnAck {
        mqtt_version: "3.1.1".into(),
        code: 0,
        reason: "success".into(),
        session_present: false,
    });
    e
}

fn failed(phase: Phase, failure: Failure) -> Evidence {
    let mut e = Evidence::new(Backend::Openssl, "openssl".into());
    e.phase = phase;
    e.failure = Some(failure);
    e.raw_error = Some("raw".into());
    e
}

fn rejected(problem: CertProblem, chain: Vec<CertSummary>) -> Evidence {
    let mut e = failed(Phase::Tls, Failure::CertRejected { problem });
    e.peer_chain = chain;
    e
}

fn alert(code: u8, after_handshake: bool) -> Evidence {
    let mut e = failed(
        Phase::Tls,
        Failure::AlertReceived {
            alert: Alert { code },
            after_handshake,
        },
    );
    e.alert_received = Some(Alert { code });
    e
}

fn refused(code: u8, version: &str) -> Evidence {
    let mut e = failed(Phase::Mqtt, Failure::ConnAckRefused { code });
    e.connack = Some(ConnAck {
        mqtt_version: version.into(),
        code,
        reason: String::new(),
        session_present: false,
    });
    e
}

fn files(certs: Vec<CertSummary>) -> TrustFacts {
    TrustFacts {
        source: TrustSource::Files {
            paths: vec!["ca.crt".into()],
        },
        certs,
        notes: Vec::new(),
    }
}

/// What a row varies besides the evidence.
#[derive(Default)]
struct Extra {
    trust: Option<TrustFacts>,
    expect_name: Option<&'static str>,
    username: bool,
    client_cert: bool,
    plain_connack: bool,
    others: Vec<Evidence>,
    identity_problem: Option<IdentityProblem>,
    versions: Vec<HandshakeProbe>,
    sni: Option<HandshakeProbe>,
    mqtt_version: Option<crate::evidence::MqttVersionProbe>,
    offered: Vec<TlsVersion>,
    /// Certificates beside the user's files, for the stand-in analysis.
    beside: Vec<CertSummary>,
    /// No chain analysis at all (evidence replayed without the DER).
    unanalysed: bool,
    /// An `mqtt://` target (plain probes).
    plain: bool,
    /// The TLS follow-up of a plain target.
    tls: Option<HandshakeProbe>,
    /// The TLS 1.2 PSK follow-up.
    psk: Option<crate::evidence::psk::PskProbe>,
}

/// A stand-in for the chain analysis over summaries: links a certificate to the first
/// candidate whose subject is its issuer (and whose key identifier, when both are given,
/// matches) — what `chain::analyse` finds when the signatures verify, which these fake
/// certificates cannot show. The real path building is tested in `chain::tests`.
fn stand_in(
    sent: &[CertSummary],
    trust: &TrustFacts,
    beside: &[CertSummary],
) -> Option<ChainAnalysis> {
    use crate::chain::{Link, PathEnd, Source};
    let mut pool: Vec<Link> = Vec::new();
    let mut add = |cert: &CertSummary, source: Source| match pool
        .iter_mut()
        .find(|l| l.cert.sha256 == cert.sha256)
    {
        Some(l) => l.sources.push(source),
        None => pool.push(Link {
            cert: cert.clone(),
            sources: vec![source],
            ca_issuers: Vec::new(),
        }),
    };
    for (index, c) in sent.iter().enumerate() {
        add(c, Source::Broker { index });
    }
    for c in &trust.certs {
        add(
            c,
            match &trust.source {
                TrustSource::System => Source::SystemStore,
                TrustSource::Files { paths } => Source::CaFile {
                    path: paths[0].clone(),
                },
            },
        );
    }
    for c in beside {
        add(
            c,
            Source::Beside {
                path: "certs/other.crt".into(),
            },
        );
    }
    let mut path = vec![pool.first()?.clone()];
    let end = loop {
        let current = path.last().unwrap().clone();
        if current.cert.self_signed {
            break if current.anchor() {
                PathEnd::Anchored { root: true }
            } else {
                PathEnd::UntrustedRoot
            };
        }
        let issuer = pool.iter().find(|l| {
            l.cert.subject == current.cert.issuer
                && !path.iter().any(|p| p.cert.sha256 == l.cert.sha256)
                && match (&l.cert.ski, &current.cert.aki) {
                    (Some(s), Some(a)) => s == a,
                    _ => true,
                }
        });
        match issuer {
            Some(next) => path.push(next.clone()),
            None if current.anchor() => break PathEnd::Anchored { root: false },
            None => {
                break PathEnd::IssuerNotFound {
                    issuer: current.cert.issuer.clone(),
                    aki: current.cert.aki.clone(),
                };
            }
        }
    };
    let top = path.last().unwrap().clone();
    let namesakes = match &end {
        PathEnd::IssuerNotFound { issuer, .. } => pool
            .iter()
            .filter(|l| &l.cert.subject == issuer && l.cert.sha256 != top.cert.sha256)
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let unused_sent = pool
        .iter()
        .filter(|l| l.sent() && !path.iter().any(|p| p.cert.sha256 == l.cert.sha256))
        .cloned()
        .collect();
    Some(ChainAnalysis {
        path,
        end,
        sent: sent.len(),
        unused_sent,
        namesakes,
        searched: vec!["what the broker sent".into(), "the CA file ca.crt".into()],
    })
}

fn verdict(ev: &Evidence, extra: &Extra) -> Verdict {
    let trust = extra.trust.clone().unwrap_or_else(|| files(vec![root()]));
    let client = leaf();
    let follow_ups = FollowUps {
        plain_connect: Some(PlainProbe {
            connack: extra.plain_connack.then(|| ConnAck {
                mqtt_version: "3.1.1".into(),
                code: 0,
                reason: "success".into(),
                session_present: false,
            }),
            detail: None,
        }),
        versions: extra.versions.clone(),
        sni: extra.sni.clone(),
        mqtt_version: extra.mqtt_version.clone(),
        tls: extra.tls.clone(),
        psk: extra.psk.clone(),
        direct_mqtt: None,
        websocket: Vec::new(),
    };
    let mut all = vec![ev.clone()];
    all.extend(extra.others.iter().cloned());
    let sent = all
        .iter()
        .find(|e| !e.peer_chain.is_empty())
        .map(|e| e.peer_chain.clone())
        .unwrap_or_default();
    let analysis = if extra.unanalysed {
        None
    } else {
        stand_in(&sent, &trust, &extra.beside)
    };
    let cx = Context {
        target: "localhost:8883",
        expect_name: extra.expect_name.unwrap_or("localhost"),
        sni: Some("localhost"),
        trust: &trust,
        client_cert: extra.client_cert.then_some(&client),
        identity_problem: extra.identity_problem.as_ref(),
        sent_username: extra.username,
        plain: extra.plain,
        checked_at: NOW,
        all: &all,
        offered_versions: &extra.offered,
        follow_ups: &follow_ups,
        chain: analysis.as_ref(),
        warn_days: crate::classify::DEFAULT_WARN_DAYS,
    };
    classify(ev, &cx)
}

fn code(ev: Evidence, extra: Extra) -> DiagnosisCode {
    verdict(&ev, &extra).diagnosis.code
}

use DiagnosisCode as C;

#[test]
fn each_rule_has_a_positive_and_a_negative_row() {
    let mut expired_leaf = leaf();
    expired_leaf.not_after_unix = NOW - 10;
    let mut expired_root = root();
    expired_root.not_after_unix = NOW - 10;
    let mut future_leaf = leaf();
    future_leaf.not_before_unix = NOW + 10;
    let mut cn_only = leaf();
    cn_only.sans.clear();
    let mut self_signed_leaf = cert(LEAF, LEAF, Some(false));
    self_signed_leaf.sans = vec!["DNS:localhost".into()];
    let mut plain_reset = failed(Phase::Tls, Failure::PeerClosed { reset: true });
    plain_reset.bytes_received = 0;
    let mut requested = alert(40, false);
    requested.client_cert_requested = Some(true);
    let mut http = failed(Phase::Tls, Failure::NotTls);
    http.first_bytes = Some("485454502f312e31".into());
    let mut ok_with_scary_text = ok();
    ok_with_scary_text.raw_error = Some("certificate has expired".into());

    let rows: Vec<(&str, Evidence, Extra, C)> = vec![
        ("ok", ok(), Extra::default(), C::Ok),
        (
            "ok: scary raw text stays ok",
            ok_with_scary_text,
            Extra::default(),
            C::Ok,
        ),
        (
            "dns",
            failed(
                Phase::Resolve,
                Failure::Resolve {
                    detail: "nx".into(),
                },
            ),
            Extra::default(),
            C::DnsFailure,
        ),
        (
            "refused",
            failed(Phase::Tcp, Failure::ConnectionRefused),
            Extra::default(),
            C::ConnectionRefused,
        ),
        (
            "connect timeout",
            failed(Phase::Tcp, Failure::ConnectTimeout),
            Extra::default(),
            C::ConnectTimeout,
        ),
        (
            "other connect error is not a timeout",
            failed(
                Phase::Tcp,
                Failure::ConnectFailed {
                    detail: "unreachable".into(),
                },
            ),
            Extra::default(),
            C::Unclassified,
        ),
        (
            "handshake timeout with bytes",
            failed(Phase::Tls, Failure::HandshakeTimeout { bytes_received: 5 }),
            Extra {
                plain_connack: true,
                ..Extra::default()
            },
            C::HandshakeTimeout,
        ),
        (
            "handshake timeout, plain port confirmed",
            failed(Phase::Tls, Failure::HandshakeTimeout { bytes_received: 0 }),
            Extra {
                plain_connack: true,
                ..Extra::default()
            },
            C::PlaintextPort,
        ),
        (
            "plaintext confirmed",
            plain_reset.clone(),
            Extra {
                plain_connack: true,
                ..Extra::default()
            },
            C::PlaintextPort,
        ),
        (
            "reset, plain CONNECT not answered: peer closed",
            plain_reset,
            Extra::default(),
            C::PeerClosed,
        ),
        ("http answer", http.clone(), Extra::default(), C::NotTls),
        (
            "http answer even if a plain CONNECT would work",
            http,
            Extra {
                plain_connack: true,
                ..Extra::default()
            },
            C::NotTls,
        ),
        (
            "certificate_required alert",
            alert(116, true),
            Extra::default(),
            C::ClientCertRequired,
        ),
        (
            "handshake_failure after CertificateRequest",
            requested.clone(),
            Extra::default(),
            C::ClientCertRequired,
        ),
        (
            "handshake_failure without CertificateRequest",
            alert(40, false),
            Extra::default(),
            C::Unclassified,
        ),
        (
            "handshake_failure after CertificateRequest, cert sent: Erlang refusing it",
            requested,
            Extra {
                client_cert: true,
                ..Extra::default()
            },
            C::ClientCertRejected,
        ),
        (
            "unknown_ca alert with our client cert",
            alert(48, true),
            Extra {
                client_cert: true,
                ..Extra::default()
            },
            C::ClientCertUnknownCa,
        ),
        (
            "unknown_ca alert without a client cert",
            alert(48, false),
            Extra::default(),
            C::Unclassified,
        ),
        (
            "expired alert with our client cert",
            alert(45, true),
            Extra {
                client_cert: true,
                ..Extra::default()
            },
            C::ClientCertExpired,
        ),
        (
            "CA file holds the leaf",
            rejected(CertProblem::UnknownIssuer, vec![leaf(), inter()]),
            Extra {
                trust: Some(files(vec![leaf()])),
                ..Extra::default()
            },
            C::ServerCertAsCa,
        ),
        (
            "CA file holds another end-entity cert",
            rejected(CertProblem::UnknownIssuer, vec![leaf(), inter()]),
            Extra {
                trust: Some(files(vec![cert("CN=client", INTER, Some(false))])),
                ..Extra::default()
            },
            C::ServerCertAsCa,
        ),
        (
            "CA file holds a root and an end entity: not server_cert_as_ca",
            rejected(CertProblem::UnknownIssuer, vec![leaf(), inter()]),
            Extra {
                trust: Some(files(vec![
                    cert("CN=Other Root", "CN=Other Root", Some(true)),
                    cert("CN=client", "CN=x", Some(false)),
                ])),
                ..Extra::default()
            },
            C::UnknownCa,
        ),
        (
            "CA file holds only the intermediate",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                trust: Some(files(vec![inter()])),
                ..Extra::default()
            },
            C::IntermediateAsAnchor,
        ),
        (
            "intermediate with its root is not intermediate_as_anchor",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                trust: Some(files(vec![inter(), root()])),
                ..Extra::default()
            },
            C::UnknownCa,
        ),
        (
            "self-signed broker cert",
            rejected(
                CertProblem::SelfSigned { depth: 0 },
                vec![self_signed_leaf.clone()],
            ),
            Extra::default(),
            C::SelfSignedServerCert,
        ),
        (
            "self-signed broker cert in the CA file is not self_signed_server_cert",
            rejected(
                CertProblem::SelfSigned { depth: 0 },
                vec![self_signed_leaf.clone()],
            ),
            Extra {
                trust: Some(files(vec![root(), self_signed_leaf])),
                ..Extra::default()
            },
            C::UnknownCa,
        ),
        (
            "leaf only, CA file has the root of the same PKI",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra::default(),
            C::MissingIntermediate,
        ),
        (
            // Names never decide: an unrelated-looking root and a missing intermediate look the
            // same from here; the likely reading follows what the broker sent (see below).
            "leaf only, CA file has an unrelated-looking root, nothing else found",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                trust: Some(files(vec![cert(
                    "CN=Other Root, O=elsewhere",
                    "CN=Other Root, O=elsewhere",
                    Some(true),
                )])),
                ..Extra::default()
            },
            C::MissingIntermediate,
        ),
        (
            "leaf only, its issuer beside the CA file is a root nobody trusts",
            rejected(
                CertProblem::UnknownIssuer,
                vec![cert(LEAF, ROOT, Some(false))],
            ),
            Extra {
                trust: Some(files(vec![cert(
                    "CN=Other Root, O=lab",
                    "CN=Other Root, O=lab",
                    Some(true),
                )])),
                beside: vec![root()],
                ..Extra::default()
            },
            C::UnknownCa,
        ),
        (
            "leaf only, its intermediate beside the CA file: confirmed",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                beside: vec![inter()],
                ..Extra::default()
            },
            C::MissingIntermediate,
        ),
        (
            "no chain analysis: the stack's word only",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                unanalysed: true,
                ..Extra::default()
            },
            C::UnknownCa,
        ),
        (
            "full chain, unrelated root",
            rejected(CertProblem::UnknownIssuer, vec![leaf(), inter()]),
            Extra {
                trust: Some(files(vec![cert(
                    "CN=Other Root, O=lab",
                    "CN=Other Root, O=lab",
                    Some(true),
                )])),
                ..Extra::default()
            },
            C::UnknownCa,
        ),
        (
            "self-signed root sent, untrusted",
            rejected(
                CertProblem::SelfSigned { depth: 2 },
                vec![leaf(), inter(), root()],
            ),
            Extra {
                trust: Some(files(vec![cert("CN=Other", "CN=Other", Some(true))])),
                ..Extra::default()
            },
            C::UnknownCa,
        ),
        (
            "expired leaf",
            rejected(
                CertProblem::Expired { depth: Some(0) },
                vec![expired_leaf, inter()],
            ),
            Extra::default(),
            C::ServerCertExpired,
        ),
        (
            "expired anchor, chain valid",
            rejected(
                CertProblem::Expired { depth: Some(2) },
                vec![leaf(), inter()],
            ),
            Extra {
                trust: Some(files(vec![expired_root.clone()])),
                ..Extra::default()
            },
            C::ExpiredTrustAnchor,
        ),
        (
            "not yet valid",
            rejected(
                CertProblem::NotYetValid { depth: None },
                vec![future_leaf, inter()],
            ),
            Extra::default(),
            C::ServerCertNotYetValid,
        ),
        (
            "name mismatch",
            rejected(
                CertProblem::NameMismatch {
                    expected: "broker".into(),
                    presented: vec![],
                },
                vec![leaf(), inter()],
            ),
            Extra {
                expect_name: Some("broker"),
                ..Extra::default()
            },
            C::HostnameMismatch,
        ),
        (
            "IP without IP SAN",
            rejected(
                CertProblem::NameMismatch {
                    expected: "10.0.0.1".into(),
                    presented: vec![],
                },
                vec![leaf(), inter()],
            ),
            Extra {
                expect_name: Some("10.0.0.1"),
                ..Extra::default()
            },
            C::IpNotInSan,
        ),
        (
            "no SAN at all",
            rejected(
                CertProblem::NameMismatch {
                    expected: "localhost".into(),
                    presented: vec![],
                },
                vec![cn_only.clone(), inter()],
            ),
            Extra::default(),
            C::CnOnlyNoSan,
        ),
        (
            "no SAN, and the CN names another host: the name is the problem",
            rejected(
                CertProblem::NameMismatch {
                    expected: "broker.example".into(),
                    presented: vec![],
                },
                vec![cn_only.clone(), inter()],
            ),
            Extra {
                expect_name: Some("broker.example"),
                ..Extra::default()
            },
            C::HostnameMismatch,
        ),
        (
            "CA used as end entity",
            rejected(CertProblem::CaUsedAsEndEntity, vec![leaf()]),
            Extra::default(),
            C::CaCertAsServerCert,
        ),
        (
            "issuer not CA",
            rejected(CertProblem::IssuerNotCa, vec![leaf(), inter()]),
            Extra::default(),
            C::IssuerNotCa,
        ),
        (
            "v1",
            rejected(CertProblem::UnsupportedVersion, vec![leaf()]),
            Extra::default(),
            C::X509V1Cert,
        ),
        (
            "v1 leaf that the CA file holds: the CA file is the mistake",
            rejected(CertProblem::UnsupportedVersion, vec![leaf()]),
            Extra {
                trust: Some(files(vec![leaf()])),
                ..Extra::default()
            },
            C::ServerCertAsCa,
        ),
        (
            "v1 leaf, another end entity in the CA file: still v1",
            rejected(CertProblem::UnsupportedVersion, vec![leaf()]),
            Extra {
                trust: Some(files(vec![cert("CN=client", INTER, Some(false))])),
                ..Extra::default()
            },
            C::X509V1Cert,
        ),
        (
            "eku",
            rejected(CertProblem::InvalidPurpose, vec![leaf()]),
            Extra::default(),
            C::ServerEkuMissing,
        ),
        (
            "weak signature",
            rejected(CertProblem::WeakSignature, vec![leaf()]),
            Extra::default(),
            C::WeakSignature,
        ),
        (
            "weak key",
            rejected(CertProblem::WeakKey, vec![leaf()]),
            Extra::default(),
            C::WeakKey,
        ),
        (
            "unknown verifier complaint",
            rejected(CertProblem::Other { detail: "x".into() }, vec![leaf()]),
            Extra::default(),
            C::Unclassified,
        ),
        (
            "protocol version",
            failed(Phase::Tls, Failure::ProtocolVersion),
            Extra::default(),
            C::TlsVersionMismatch,
        ),
        (
            "protocol_version alert",
            alert(70, false),
            Extra::default(),
            C::TlsVersionMismatch,
        ),
        (
            "no shared cipher",
            failed(Phase::Tls, Failure::NoSharedCipher),
            Extra::default(),
            C::NoSharedCipher,
        ),
        ("alpn", alert(120, false), Extra::default(), C::AlpnRejected),
        (
            "rc 5 anonymous",
            refused(5, "3.1.1"),
            Extra::default(),
            C::MqttNotAuthorized,
        ),
        (
            "rc 5 with credentials",
            refused(5, "3.1.1"),
            Extra {
                username: true,
                ..Extra::default()
            },
            C::MqttBadCredentials,
        ),
        (
            "rc 4",
            refused(4, "3.1.1"),
            Extra {
                username: true,
                ..Extra::default()
            },
            C::MqttBadCredentials,
        ),
        (
            "v5 0x87 anonymous",
            refused(0x87, "5"),
            Extra::default(),
            C::MqttNotAuthorized,
        ),
        (
            "v5 0x86",
            refused(0x86, "5"),
            Extra::default(),
            C::MqttBadCredentials,
        ),
        (
            "rc 2",
            refused(2, "3.1.1"),
            Extra::default(),
            C::MqttIdentifierRejected,
        ),
        (
            "rc 1",
            refused(1, "3.1.1"),
            Extra::default(),
            C::MqttProtocolRejected,
        ),
        (
            "v5 0x84",
            refused(0x84, "5"),
            Extra::default(),
            C::MqttProtocolRejected,
        ),
        (
            "rc 3",
            refused(3, "3.1.1"),
            Extra::default(),
            C::MqttServerUnavailable,
        ),
        (
            "v5 0x89",
            refused(0x89, "5"),
            Extra::default(),
            C::MqttServerUnavailable,
        ),
        (
            "v5 0x8a banned",
            refused(0x8a, "5"),
            Extra::default(),
            C::MqttRefused,
        ),
        (
            "rc 4 in v5 numbering is not bad credentials",
            refused(4, "5"),
            Extra::default(),
            C::MqttRefused,
        ),
        (
            "no connack, closed",
            failed(Phase::Mqtt, Failure::NoConnAck { closed: true }),
            Extra::default(),
            C::MqttNoConnack,
        ),
        (
            "malformed connack",
            failed(
                Phase::Mqtt,
                Failure::MalformedConnAck { detail: "x".into() },
            ),
            Extra::default(),
            C::MqttNoConnack,
        ),
        (
            "peer closed",
            failed(Phase::Tls, Failure::PeerClosed { reset: false }),
            Extra::default(),
            C::PeerClosed,
        ),
        (
            "anything else",
            failed(Phase::Tls, Failure::Other),
            Extra::default(),
            C::Unclassified,
        ),
    ];
    let mut failures = Vec::new();
    for (name, ev, extra, expected) in rows {
        let got = code(ev, extra);
        if got != expected {
            failures.push(format!("{name}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn handshake(version: TlsVersion, accepted: bool) -> HandshakeProbe {
    HandshakeProbe {
        version: Some(version),
        sni: None,
        accepted,
        completed: accepted,
        negotiated: accepted.then(|| format!("TLSv{}", version.name())),
        cipher: accepted.then(|| "ECDHE-RSA-AES256-SHA".to_string()),
        leaf: None,
        detail: None,
    }
}

fn versions(accepted: &[TlsVersion]) -> Vec<HandshakeProbe> {
    TlsVersion::ALL
        .iter()
        .map(|v| handshake(*v, accepted.contains(v)))
        .collect()
}

#[test]
fn follow_up_rules_have_positive_and_negative_rows() {
    use TlsVersion::*;
    let other_leaf = {
        let mut c = cert("CN=default.example", "CN=default.example", Some(false));
        c.sans = vec!["DNS:default.example".into()];
        c
    };
    let sni_probe = |completed: bool, leaf: Option<CertSummary>| HandshakeProbe {
        version: None,
        sni: Some("localhost".into()),
        accepted: true,
        completed,
        negotiated: Some("TLSv1.3".into()),
        cipher: None,
        leaf,
        detail: None,
    };
    let mut default_cert = rejected(
        CertProblem::NameMismatch {
            expected: "localhost".into(),
            presented: vec![],
        },
        vec![other_leaf.clone()],
    );
    default_cert.tls.version = None;
    let rows: Vec<(&str, Evidence, Extra, C)> = vec![
        (
            "1.1-only broker",
            alert(70, false),
            Extra {
                versions: versions(&[Tls11, Tls10]),
                ..Extra::default()
            },
            C::LegacyTlsOnly,
        ),
        (
            "1.1-only broker, rustls sees protocol_version",
            failed(Phase::Tls, Failure::ProtocolVersion),
            Extra {
                versions: versions(&[Tls11]),
                ..Extra::default()
            },
            C::LegacyTlsOnly,
        ),
        (
            "1.3-only broker, client offers 1.2",
            alert(70, false),
            Extra {
                versions: versions(&[Tls13]),
                offered: vec![Tls12],
                ..Extra::default()
            },
            C::TlsVersionMismatch,
        ),
        (
            "versions overlap: not a version mismatch",
            alert(70, false),
            Extra {
                versions: versions(&[Tls12, Tls13]),
                ..Extra::default()
            },
            C::TlsVersionMismatch,
        ),
        (
            "versions overlap, handshake_failure: ciphers",
            alert(40, false),
            Extra {
                versions: versions(&[Tls12]),
                ..Extra::default()
            },
            C::NoSharedCipher,
        ),
        (
            "handshake_failure, no follow-up data",
            alert(40, false),
            Extra::default(),
            C::Unclassified,
        ),
        (
            "default certificate without SNI",
            default_cert.clone(),
            Extra {
                sni: Some(sni_probe(true, Some(leaf()))),
                ..Extra::default()
            },
            C::SniRequired,
        ),
        (
            "same certificate with SNI: not SNI",
            default_cert,
            Extra {
                sni: Some(sni_probe(true, Some(other_leaf))),
                ..Extra::default()
            },
            C::HostnameMismatch,
        ),
        (
            "alert without SNI, handshake with SNI",
            alert(112, false),
            Extra {
                sni: Some(sni_probe(true, None)),
                ..Extra::default()
            },
            C::SniRequired,
        ),
        (
            "alert both ways: not SNI",
            alert(112, false),
            Extra {
                sni: Some(sni_probe(false, None)),
                ..Extra::default()
            },
            C::Unclassified,
        ),
        (
            "key mismatch beats the failure it causes",
            alert(116, true),
            Extra {
                identity_problem: Some(IdentityProblem::KeyMismatch {
                    cert: "c".into(),
                    key: "k".into(),
                    detail: "d".into(),
                }),
                ..Extra::default()
            },
            C::ClientKeyMismatch,
        ),
        (
            "encrypted key",
            alert(116, true),
            Extra {
                identity_problem: Some(IdentityProblem::KeyEncrypted {
                    path: "k".into(),
                    wrong_password: false,
                }),
                ..Extra::default()
            },
            C::ClientKeyEncrypted,
        ),
        (
            "connected despite an unusable key: ok",
            ok(),
            Extra {
                identity_problem: Some(IdentityProblem::KeyUnusable {
                    path: "k".into(),
                    detail: "d".into(),
                }),
                ..Extra::default()
            },
            C::Ok,
        ),
        (
            "empty CA file",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                trust: Some(files(vec![])),
                ..Extra::default()
            },
            C::CaFileUnusable,
        ),
        (
            "system store is not an unusable CA file: a leaf-only chain is likely missing its intermediate",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                trust: Some(TrustFacts {
                    source: TrustSource::System,
                    certs: vec![],
                    notes: vec![],
                }),
                ..Extra::default()
            },
            C::MissingIntermediate,
        ),
        (
            "system store, the broker sends its intermediate: the root is likely unknown",
            rejected(CertProblem::UnknownIssuer, vec![leaf(), inter()]),
            Extra {
                trust: Some(TrustFacts {
                    source: TrustSource::System,
                    certs: vec![],
                    notes: vec![],
                }),
                ..Extra::default()
            },
            C::UnknownCa,
        ),
    ];
    let mut failures = Vec::new();
    for (name, ev, extra, expected) in rows {
        let got = code(ev, extra);
        if got != expected {
            failures.push(format!("{name}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn follow_ups_are_planned_only_when_the_evidence_needs_them() {
    let plan = |evs: Vec<Evidence>, sni: Option<&str>| {
        plan_follow_ups(&evs, sni, "localhost", crate::evidence::MqttVersion::V311)
    };
    assert!(plan(vec![ok()], Some("localhost")).is_empty());
    assert!(
        plan(
            vec![rejected(CertProblem::UnknownIssuer, vec![leaf()])],
            Some("localhost")
        )
        .is_empty()
    );
    assert!(
        plan(
            vec![failed(Phase::Tls, Failure::PeerClosed { reset: true })],
            Some("localhost")
        )
        .plain
    );
    assert!(plan(vec![alert(70, false)], Some("localhost")).versions);
    let no_sni = plan(
        vec![rejected(
            CertProblem::NameMismatch {
                expected: "localhost".into(),
                presented: vec![],
            },
            vec![leaf()],
        )],
        None,
    );
    assert_eq!(no_sni.sni, Some(Some("localhost".to_string())));
    let with_sni = plan(vec![alert(112, false)], Some("localhost"));
    assert_eq!(with_sni.sni, Some(None));
    // A client-certificate refusal is not about SNI or versions.
    let mut cert_refused = alert(40, false);
    cert_refused.client_cert_requested = Some(true);
    assert!(plan(vec![cert_refused], Some("localhost")).is_empty());
}

#[test]
fn a_ca_regenerated_under_the_same_name_is_unknown_ca() {
    let mut inter_signed_by_old = inter();
    inter_signed_by_old.aki = Some("0ld".into());
    let mut new_root = root();
    new_root.ski = Some("new".into());
    let bad_signature = || {
        rejected(
            CertProblem::BadSignature,
            vec![leaf(), inter_signed_by_old.clone()],
        )
    };
    let got = code(
        bad_signature(),
        Extra {
            trust: Some(files(vec![new_root.clone()])),
            ..Extra::default()
        },
    );
    assert_eq!(got, C::UnknownCa);
    // The same bad signature with no namesake in the CA file: the stack's own reason.
    let got = code(
        bad_signature(),
        Extra {
            trust: Some(files(vec![cert("CN=Other", "CN=Other", Some(true))])),
            ..Extra::default()
        },
    );
    assert_eq!(got, C::BadSignature);
    // OpenSSL says only "unable to get local issuer certificate" for the same thing, on a leaf
    // issued by the root itself: the namesake decides, not the leaf-only reading.
    let mut leaf_by_old_root = cert(LEAF, ROOT, Some(false));
    leaf_by_old_root.aki = Some("0ld".into());
    let d = verdict(
        &rejected(CertProblem::UnknownIssuer, vec![leaf_by_old_root]),
        &Extra {
            trust: Some(files(vec![new_root])),
            ..Extra::default()
        },
    )
    .diagnosis;
    assert_eq!(d.code, C::UnknownCa);
    assert_eq!(d.confidence, Confidence::Confirmed);
    assert!(d.summary.contains("regenerated"), "{}", d.summary);
}

#[test]
fn diagnoses_name_the_real_subjects_and_files() {
    // Nothing but the CA file: the likely reading, with the other one.
    let d = verdict(
        &rejected(CertProblem::UnknownIssuer, vec![leaf()]),
        &Extra::default(),
    )
    .diagnosis;
    assert_eq!(d.code, C::MissingIntermediate);
    assert_eq!(d.confidence, Confidence::Likely);
    assert_eq!(d.alternatives, [C::UnknownCa]);
    assert!(d.summary.contains(INTER), "{}", d.summary);
    assert!(
        d.facts.iter().any(|f| f.contains("--untrusted")),
        "says how to tell the readings apart: {:?}",
        d.facts
    );
    // The intermediate found beside the CA file: confirmed, and where it was found.
    let d = verdict(
        &rejected(CertProblem::UnknownIssuer, vec![leaf()]),
        &Extra {
            beside: vec![inter()],
            ..Extra::default()
        },
    )
    .diagnosis;
    assert_eq!(d.code, C::MissingIntermediate);
    assert_eq!(d.confidence, Confidence::Confirmed);
    assert!(d.alternatives.is_empty());
    assert!(
        d.facts.iter().any(|f| f.contains("certs/other.crt")),
        "{:?}",
        d.facts
    );
    assert!(
        d.summary.contains(INTER) && d.summary.contains(ROOT),
        "{}",
        d.summary
    );
    assert!(
        d.facts.iter().any(|f| f.contains("ca.crt")),
        "{:?}",
        d.facts
    );
    assert!(
        d.remedies.iter().any(|r| r.contains("certfile")),
        "{:?}",
        d.remedies
    );
    assert!(
        d.remedies.iter().any(|r| r.contains("openssl")),
        "{:?}",
        d.remedies
    );
}

#[test]
fn warnings_flag_what_breaks_other_stacks() {
    let mut v1 = ok();
    v1.peer_chain[0].version = 1;
    v1.peer_chain[0].sans.clear();
    let w = verdict(&v1, &Extra::default()).warnings;
    assert!(
        w.contains(&C::X509V1Cert) && w.contains(&C::CnOnlyNoSan),
        "{w:?}"
    );

    let mut leaf_only = ok();
    leaf_only.peer_chain = vec![leaf()];
    let w = verdict(
        &leaf_only,
        &Extra {
            trust: Some(files(vec![root(), inter()])),
            ..Extra::default()
        },
    )
    .warnings;
    assert_eq!(w, vec![C::MissingIntermediate]);

    let w = verdict(
        &ok(),
        &Extra {
            trust: Some(files(vec![inter()])),
            ..Extra::default()
        },
    )
    .warnings;
    assert_eq!(w, vec![C::IntermediateAsAnchor]);

    // A clean connection has no warnings, and a failed one never carries any.
    assert!(verdict(&ok(), &Extra::default()).warnings.is_empty());
    let mut failed_v1 = rejected(CertProblem::UnknownIssuer, vec![leaf()]);
    failed_v1.peer_chain[0].version = 1;
    assert!(verdict(&failed_v1, &Extra::default()).warnings.is_empty());
}

#[test]
fn the_other_backends_evidence_fills_in_what_one_lacks() {
    // rustls saw the CertificateRequest; OpenSSL only saw handshake_failure.
    let mut rustls = alert(40, false);
    rustls.client_cert_requested = Some(true);
    let openssl = alert(40, false);
    let got = code(
        openssl,
        Extra {
            others: vec![rustls],
            ..Extra::default()
        },
    );
    assert_eq!(got, C::ClientCertRequired);
}

#[test]
fn remedy_texts_of_representative_codes() {
    let mut leaf_in_ca = files(vec![leaf()]);
    leaf_in_ca.source = TrustSource::Files {
        paths: vec!["server.crt".into()],
    };
    let cases: Vec<(&str, Evidence, Extra)> = vec![
        (
            "server_cert_as_ca",
            rejected(CertProblem::UnknownIssuer, vec![leaf(), inter()]),
            Extra {
                trust: Some(leaf_in_ca),
                ..Extra::default()
            },
        ),
        (
            "missing_intermediate",
            rejected(CertProblem::UnknownIssuer, vec![leaf()]),
            Extra {
                beside: vec![inter()],
                ..Extra::default()
            },
        ),
        ("client_cert_required", alert(116, true), Extra::default()),
        (
            "hostname_mismatch",
            rejected(
                CertProblem::NameMismatch {
                    expected: "broker.example.com".into(),
                    presented: vec![],
                },
                vec![leaf(), inter()],
            ),
            Extra {
                expect_name: Some("broker.example.com"),
                ..Extra::default()
            },
        ),
        (
            "mqtt_bad_credentials",
            refused(5, "3.1.1"),
            Extra {
                username: true,
                ..Extra::default()
            },
        ),
        (
            "legacy_tls_only",
            alert(70, false),
            Extra {
                versions: versions(&[TlsVersion::Tls11]),
                ..Extra::default()
            },
        ),
    ];
    for (name, ev, extra) in cases {
        let d = verdict(&ev, &extra).diagnosis;
        assert_eq!(d.code.to_string(), name);
        insta::assert_yaml_snapshot!(format!("remedies_{name}"), d);
    }
}

#[test]
fn an_oversized_handshake_stays_unclassified_but_says_what_happened() {
    // (raw error, what the summary must say)
    let rows = [
        (
            "received corrupt message of type HandshakePayloadTooLarge",
            Some("rustls accepts handshake messages up to 64 KiB"),
        ),
        (
            "error:0A000098:SSL routines::excessive message size",
            Some("OpenSSL accepts a certificate message up to 100 KiB"),
        ),
        (
            "error:0A000438:SSL routines::tlsv1 alert internal error",
            None,
        ),
    ];
    for (raw, limit) in rows {
        let mut ev = failed(Phase::Tls, Failure::Other);
        ev.raw_error = Some(raw.into());
        ev.bytes_received = 20_000;
        let d = verdict(&ev, &Extra::default()).diagnosis;
        assert_eq!(d.code, C::Unclassified, "{raw}");
        let facts = d.facts.join(" | ");
        match limit {
            Some(limit) => {
                assert!(
                    d.summary.contains("larger than this TLS stack accepts"),
                    "{raw}"
                );
                assert!(
                    facts.contains(limit) && facts.contains("20000 bytes"),
                    "{facts}"
                );
            }
            None => assert!(d.summary.contains("does not recognise yet"), "{raw}"),
        }
    }
}

/// Issue 13: brokers that hang up without an alert, and ports that speak the other protocol.
/// One row per line of the table, on evidence as each backend records it.
#[test]
fn silent_brokers_are_read_from_the_wire() {
    // TLS 1.3, the broker asked, then hung up before any MQTT (the probe's read-first retry).
    let after_handshake = |backend: Backend, sent: bool| {
        let mut e = failed(Phase::Tls, Failure::PeerClosed { reset: false });
        e.backend = backend;
        e.tls.version = Some("TLSv1.3".into());
        e.client_cert_requested = Some(true);
        e.client_cert_ca_names = vec![ROOT.into()];
        e.client_cert_sent = sent;
        e.notes = vec![crate::evidence::SILENT_AFTER_HANDSHAKE.into()];
        e
    };
    // TLS 1.2, the broker asked, then reset during the handshake.
    let reset_during = |backend: Backend| {
        let mut e = failed(Phase::Tls, Failure::PeerClosed { reset: true });
        e.backend = backend;
        e.client_cert_requested = Some(true);
        e.client_cert_ca_names = vec![ROOT.into()];
        e.client_cert_sent = true;
        e
    };
    for backend in Backend::ALL {
        let d = verdict(&after_handshake(backend, false), &Extra::default()).diagnosis;
        assert_eq!(d.code, C::ClientCertRequired, "{backend}");
        assert_eq!(d.confidence, Confidence::Likely);
        assert!(
            d.facts.iter().any(|f| f.contains("gave no reason")),
            "{d:?}"
        );

        let with_cert = Extra {
            client_cert: true,
            ..Extra::default()
        };
        for ev in [after_handshake(backend, true), reset_during(backend)] {
            let d = verdict(&ev, &with_cert).diagnosis;
            assert_eq!(d.code, C::ClientCertUnknownCa, "{backend}");
            assert_eq!(d.confidence, Confidence::Likely);
            let facts = d.facts.join(" | ");
            assert!(
                facts.contains(&format!("client certificate sent: {LEAF}")),
                "{facts}"
            );
            assert!(
                facts.contains(&format!("asks for certificates issued by: {ROOT}")),
                "{facts}"
            );
            assert!(facts.contains("is not among the CAs"), "{facts}");
        }
    }
    // Not asked for a certificate: a hang-up stays what it was.
    let mut unasked = after_handshake(Backend::Rustls, false);
    unasked.client_cert_requested = Some(false);
    unasked.notes.clear();
    unasked.tls.version = None;
    assert_eq!(code(unasked, Extra::default()), C::PeerClosed);
    // An alert still decides, confirmed.
    let mut alerted = alert(48, true);
    alerted.client_cert_requested = Some(true);
    alerted.client_cert_sent = true;
    let d = verdict(
        &alerted,
        &Extra {
            client_cert: true,
            ..Extra::default()
        },
    )
    .diagnosis;
    assert_eq!(
        (d.code, d.confidence),
        (C::ClientCertUnknownCa, Confidence::Confirmed)
    );

    // A pinned version the broker refuses by closing: the follow-ups tell.
    let closed = failed(Phase::Tls, Failure::PeerClosed { reset: false });
    let d = verdict(
        &closed,
        &Extra {
            offered: vec![TlsVersion::Tls13],
            versions: versions(&[TlsVersion::Tls12]),
            ..Extra::default()
        },
    )
    .diagnosis;
    assert_eq!(d.code, C::TlsVersionMismatch);
    let text = format!("{:?}", d);
    assert!(text.contains("restricted with `--tls-version`"), "{text}");
    assert!(text.contains("pins the versions offered"), "{text}");
    assert!(text.contains("a minimum in mosquitto 2.x"), "{text}");
    // And the plan asks for them without an alert.
    let plan = plan_follow_ups(
        std::slice::from_ref(&closed),
        Some("localhost"),
        "localhost",
        MqttVersion::V311,
    );
    assert!(plan.versions);

    // `mqtt://` to a TLS port: a TLS alert record instead of a CONNACK, or a close.
    let mut alert_reply = failed(
        Phase::Mqtt,
        Failure::MalformedConnAck {
            detail: "expected a CONNACK".into(),
        },
    );
    alert_reply.first_bytes = Some("15030300020232".into());
    let mut closed_reply = failed(Phase::Mqtt, Failure::NoConnAck { closed: true });
    closed_reply.raw_error = Some("connection closed".into());
    let tls_ok = Some(handshake(TlsVersion::Tls13, true));
    for (ev, tls, confirmed) in [
        (alert_reply.clone(), tls_ok.clone(), true),
        (alert_reply.clone(), None, false),
        (closed_reply.clone(), tls_ok.clone(), true),
    ] {
        assert!(plan_plain_follow_ups(std::slice::from_ref(&ev)).tls);
        let d = verdict(
            &ev,
            &Extra {
                plain: true,
                tls,
                ..Extra::default()
            },
        )
        .diagnosis;
        assert_eq!(d.code, C::TlsPortPlainClient, "{d:?}");
        assert_eq!(d.confidence == Confidence::Confirmed, confirmed);
        assert!(!d.summary.contains("TLS succeeded"));
    }
    // A close with no TLS behind it stays mqtt_no_connack, and says no TLS was spoken.
    let d = verdict(
        &closed_reply,
        &Extra {
            plain: true,
            ..Extra::default()
        },
    )
    .diagnosis;
    assert_eq!(d.code, C::MqttNoConnack);
    assert!(!d.summary.contains("TLS succeeded"), "{}", d.summary);
    assert!(d.facts.iter().any(|f| f.contains("TLS: none")));
    let mut plain_ok = ok();
    plain_ok.tls.version = None;
    let d = verdict(
        &plain_ok,
        &Extra {
            plain: true,
            ..Extra::default()
        },
    )
    .diagnosis;
    assert!(
        !d.summary.replace("no TLS", "").contains("TLS"),
        "{}",
        d.summary
    );

    // A wrong password dropped without a CONNACK: credentials first.
    let mut dropped = failed(Phase::Mqtt, Failure::NoConnAck { closed: true });
    dropped.tls.version = Some("TLSv1.2".into());
    let d = verdict(
        &dropped,
        &Extra {
            username: true,
            ..Extra::default()
        },
    )
    .diagnosis;
    assert_eq!(d.code, C::MqttNoConnack);
    assert!(
        d.remedies[0].starts_with("Credentials first"),
        "{:?}",
        d.remedies
    );

    // A certificate sent, accepted at TLS, then CONNACK 5: not "no user name was sent" alone.
    let mut refused_cert = refused(5, "3.1.1");
    refused_cert.client_cert_requested = Some(true);
    refused_cert.client_cert_sent = true;
    let d = verdict(
        &refused_cert,
        &Extra {
            client_cert: true,
            ..Extra::default()
        },
    )
    .diagnosis;
    assert_eq!(d.code, C::MqttNotAuthorized);
    let text = format!("{d:?}");
    assert!(
        text.contains(&format!(
            "client certificate sent and accepted at the TLS layer: {LEAF}"
        )),
        "{text}"
    );
    assert!(text.contains("map certificates to users"), "{text}");
}

#[test]
fn cert_expires_soon_names_each_certificate_and_its_days_left() {
    const DAY: i64 = 86_400;
    let soon = |mut c: CertSummary, days: i64| {
        c.not_after_unix = NOW + days * DAY + 5;
        c.not_after = crate::x509::rfc3339(c.not_after_unix);
        c
    };
    let facts = |v: &Verdict| -> Vec<String> {
        v.warning_facts
            .iter()
            .filter(|w| w.code == C::CertExpiresSoon)
            .flat_map(|w| w.facts.clone())
            .collect()
    };
    // Positive: the leaf in 10 days, the root (trust anchor) in 29; the intermediate is far.
    let mut ev = ok();
    ev.peer_chain[0] = soon(leaf(), 10);
    let v = verdict(
        &ev,
        &Extra {
            trust: Some(files(vec![soon(root(), 29)])),
            ..Extra::default()
        },
    );
    assert!(v.warnings.contains(&C::CertExpiresSoon), "{v:?}");
    let f = facts(&v);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f[0].starts_with(&format!("server certificate {LEAF} expires")),
        "{f:?}"
    );
    assert!(
        f[0].contains("(10 days left, within --warn-days 30)"),
        "{f:?}"
    );
    assert!(f[1].starts_with(&format!("trust anchor {ROOT}")) && f[1].contains("29 days"));

    // Must not fire: 31 days out, already expired (other codes), or a failed connection.
    for (days, connected) in [(31, true), (-1, true), (10, false)] {
        let mut ev = if connected {
            ok()
        } else {
            rejected(CertProblem::UnknownIssuer, vec![leaf(), inter()])
        };
        ev.peer_chain[0] = soon(leaf(), days);
        let v = verdict(&ev, &Extra::default());
        assert!(!v.warnings.contains(&C::CertExpiresSoon), "{days} {v:?}");
        assert!(v.warning_facts.is_empty(), "{days} {v:?}");
    }
}
