//! Table tests of the rules that follow the stacks' own reasons (`rules/reasons.rs`): for each
//! code, evidence as each stack reports it (rustls's typed reason, OpenSSL's `error N at D`), the
//! code out and the words that must name the certificate and the value; and rows where the rule
//! must not fire.

use super::*;
use crate::cert_details::CertDetails;
use crate::evidence::FollowUps;
use crate::evidence::{Backend, CertProblem, ConnAck, Evidence, Failure, Phase, VerifyError};
use crate::x509::CertSummary;

const NOW: i64 = 1_795_000_000;
const LEAF: &str = "CN=localhost, O=lab";
const INTER: &str = "CN=Signing CA, O=lab";
const SUB: &str = "CN=Sub CA, O=lab";
const ROOT: &str = "CN=Root CA, O=lab";

fn cert(subject: &str, issuer: &str, ca: bool) -> CertSummary {
    CertSummary {
        subject: subject.into(),
        issuer: issuer.into(),
        serial: "01".into(),
        version: 3,
        not_before: "2024-01-01T00:00:00Z".into(),
        not_after: "4096-01-01T00:00:00Z".into(),
        not_before_unix: 1_704_067_200,
        not_after_unix: 67_000_000_000,
        sans: if ca {
            Vec::new()
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

fn leaf() -> CertSummary {
    cert(LEAF, INTER, false)
}

fn inter() -> CertSummary {
    cert(INTER, ROOT, true)
}

/// A refusal by `backend`, with the chain, its details and (OpenSSL) the verify error.
fn refused(
    backend: Backend,
    problem: CertProblem,
    chain: Vec<CertSummary>,
    details: Vec<CertDetails>,
    verify: Option<(i32, u32, &str)>,
) -> Evidence {
    let mut e = Evidence::new(backend, backend.name().into());
    e.phase = Phase::Tls;
    e.raw_error = Some(format!("{problem:?}"));
    e.failure = Some(Failure::CertRejected { problem });
    e.peer_chain = chain;
    e.chain_details = details;
    if let Some((code, depth, message)) = verify {
        e.verify_errors.push(VerifyError {
            depth: Some(depth),
            code: Some(code),
            message: message.into(),
        });
    }
    e
}

/// A probe that got through (the chain was accepted).
fn accepted(backend: Backend) -> Evidence {
    let mut e = Evidence::new(backend, backend.name().into());
    e.phase = Phase::Done;
    e.peer_chain = vec![leaf(), inter()];
    e.connack = Some(ConnAck {
        mqtt_version: "3.1.1".into(),
        code: 0,
        reason: "success".into(),
        session_present: false,
    });
    e
}

fn diagnose(ev: &Evidence, others: &[Evidence], expect_name: &str, at: i64) -> Diagnosis {
    let trust = TrustFacts {
        source: TrustSource::Files {
            paths: vec!["ca.crt".into()],
        },
        certs: vec![cert(ROOT, ROOT, true)],
        notes: Vec::new(),
    };
    let follow_ups = FollowUps::default();
    let mut all = vec![ev.clone()];
    all.extend(others.iter().cloned());
    let cx = Context {
        target: "broker:8883",
        expect_name,
        sni: Some(expect_name),
        trust: &trust,
        client_cert: None,
        identity_problem: None,
        sent_username: false,
        plain: false,
        checked_at: at,
        all: &all,
        offered_versions: &[],
        follow_ups: &follow_ups,
        chain: None,
        warn_days: crate::classify::DEFAULT_WARN_DAYS,
    };
    classify(ev, &cx).diagnosis
}

fn text(d: &Diagnosis) -> String {
    format!(
        "{}\n{}\n{}",
        d.summary,
        d.facts.join("\n"),
        d.remedies.join("\n")
    )
}

fn nc(constraints: &[&str]) -> CertDetails {
    CertDetails {
        name_constraints: constraints.iter().map(|c| (*c).to_string()).collect(),
        ..CertDetails::default()
    }
}

fn plain() -> CertDetails {
    CertDetails::default()
}

use Backend::{Openssl, Rustls};
use DiagnosisCode as C;

/// One row: the evidence, the others, the name checked, the clock, the code and the words.
struct Row {
    name: &'static str,
    ev: Evidence,
    others: Vec<Evidence>,
    expect_name: &'static str,
    at: i64,
    code: C,
    words: &'static [&'static str],
    absent: &'static [&'static str],
}

fn row(name: &'static str, ev: Evidence, code: C, words: &'static [&'static str]) -> Row {
    Row {
        name,
        ev,
        others: Vec::new(),
        expect_name: "localhost",
        at: NOW,
        code,
        words,
        absent: &[],
    }
}

#[test]
fn each_reason_rule_fires_on_the_stacks_reason_and_names_the_certificate() {
    let constrained = vec![plain(), nc(&["permitted DNS:example.com"])];
    let nc_openssl = || {
        refused(
            Openssl,
            CertProblem::NameConstraint {
                depth: Some(0),
                detail: "permitted subtree violation".into(),
            },
            vec![leaf(), inter()],
            constrained.clone(),
            Some((47, 0, "permitted subtree violation")),
        )
    };
    let mut cn_only = leaf();
    cn_only.sans.clear();
    let mut cn_nc = nc_openssl();
    let mut dotted_cn_only = cert("CN=broker.other.org, O=lab", INTER, false);
    dotted_cn_only.sans.clear();
    cn_nc.peer_chain = vec![dotted_cn_only, inter()];
    // OpenSSL does not treat a one-label CN as a host name: no claim that it checked it.
    let mut plain_cn_nc = nc_openssl();
    plain_cn_nc.peer_chain = vec![cn_only.clone(), inter()];

    let mut sub = cert(SUB, INTER, true);
    sub.issuer = INTER.into();
    let mut below_sub = leaf();
    below_sub.issuer = SUB.into();
    let pathlen_details = vec![
        plain(),
        plain(),
        CertDetails {
            path_len: Some(0),
            ..plain()
        },
    ];

    let mut server_leaf = leaf();
    server_leaf.eku = vec!["serverAuth".into()];
    let mut client_ca = inter();
    client_ca.eku = vec!["clientAuth".into()];
    let mut client_leaf = leaf();
    client_leaf.eku = vec!["clientAuth".into()];

    let critical = vec![
        CertDetails {
            unknown_critical: vec!["1.3.6.1.4.1.55555.1".into()],
            ..plain()
        },
        plain(),
    ];
    let mut dsa_signed = leaf();
    dsa_signed.signature = "2.16.840.1.101.3.4.3.2".into();
    let mut rsa1024 = leaf();
    rsa1024.key = "RSA 1024".into();
    let unreadable_san = vec![
        CertDetails {
            san_error: Some("extension 2.5.29.17 cannot be read: BER error".into()),
            faults: vec!["extension 2.5.29.17 cannot be read: BER error".into()],
            ..plain()
        },
        plain(),
    ];
    let mut wildcard = leaf();
    wildcard.sans = vec!["DNS:f*.example.com".into()];
    let mut at_not_after = leaf();
    at_not_after.not_after_unix = NOW;
    at_not_after.not_after = crate::x509::rfc3339(NOW);
    let name_mismatch = CertProblem::NameMismatch {
        expected: "foo.example.com".into(),
        presented: vec![],
    };

    let rows = vec![
        // --- name constraints ---
        row(
            "NC, OpenSSL 47 at 0",
            nc_openssl(),
            C::NameConstraintViolation,
            &[
                "the broker's certificate CN=localhost, O=lab (position 0",
                "CN=Signing CA, O=lab (position 1",
                "DNS:localhost is outside the permitted DNS:example.com",
                "prints `error 47 at 0 depth lookup: permitted subtree violation`",
            ],
        ),
        row(
            "NC, rustls NameConstraintViolation",
            refused(
                Rustls,
                CertProblem::NameConstraint {
                    depth: None,
                    detail: "NameConstraintViolation".into(),
                },
                vec![leaf(), inter()],
                constrained.clone(),
                None,
            ),
            C::NameConstraintViolation,
            &[
                "DNS:localhost is outside the permitted DNS:example.com",
                "rustls said: NameConstraintViolation",
                "OpenSSL reports this reason as `error 47 at 0 depth lookup: permitted subtree violation`",
            ],
        ),
        row(
            "NC, rustls InvalidNetworkMaskConstraint: the constraint is unusable",
            refused(
                Rustls,
                CertProblem::NameConstraint {
                    depth: None,
                    detail: "InvalidNetworkMaskConstraint".into(),
                },
                vec![leaf(), inter()],
                vec![plain(), nc(&["permitted IP:10.0.0.0/8"])],
                None,
            ),
            C::NameConstraintViolation,
            &[
                "rustls cannot use the name constraints",
                "permitted IP:10.0.0.0/8",
            ],
        ),
        Row {
            others: vec![accepted(Rustls)],
            absent: &["subjectAltName: DNS"],
            ..row(
                "NC, OpenSSL checked the CN of a certificate without SAN; rustls accepted",
                cn_nc,
                C::NameConstraintViolation,
                &[
                    "OpenSSL checked its subject CN (broker.other.org)",
                    "rustls never reads the CN, and accepted the chain",
                    "DNS:broker.other.org is outside the permitted DNS:example.com",
                ],
            )
        },
        Row {
            absent: &["checked its subject CN"],
            ..row(
                "NC without SAN, one-label CN: nothing said about the CN",
                plain_cn_nc,
                C::NameConstraintViolation,
                &["subjectAltName: none"],
            )
        },
        Row {
            absent: &["name_constraint"],
            ..row(
                "not NC: the same chain refused as unknown issuer",
                refused(
                    Rustls,
                    CertProblem::UnknownIssuer,
                    vec![leaf(), inter()],
                    constrained.clone(),
                    None,
                ),
                C::UnknownCa,
                &[],
            )
        },
        // --- path length ---
        row(
            "pathlen, OpenSSL 25 at 2",
            refused(
                Openssl,
                CertProblem::PathLength { depth: Some(2) },
                vec![below_sub.clone(), sub.clone(), inter()],
                pathlen_details.clone(),
                Some((25, 2, "path length constraint exceeded")),
            ),
            C::PathLengthExceeded,
            &[
                "CN=Signing CA, O=lab (position 2",
                "pathLenConstraint 0, but 1 intermediate",
                "`error 25 at 2 depth lookup: path length constraint exceeded`",
            ],
        ),
        row(
            "pathlen, rustls PathLenConstraintViolated, limit not in the chain",
            refused(
                Rustls,
                CertProblem::PathLength { depth: None },
                vec![below_sub.clone(), sub.clone(), inter()],
                vec![plain(), plain(), plain()],
                None,
            ),
            C::PathLengthExceeded,
            &["no certificate the broker sent carries a limit", "ca.crt"],
        ),
        // --- chain length and path building ---
        row(
            "chain too long, rustls MaximumPathDepthExceeded",
            refused(
                Rustls,
                CertProblem::ChainTooLong,
                vec![leaf(), inter()],
                vec![],
                None,
            ),
            C::ChainTooLong,
            &[
                "at most 6 intermediate CAs",
                "the broker sent 2 certificate(s)",
            ],
        ),
        row(
            "chain too long, OpenSSL 22",
            refused(
                Openssl,
                CertProblem::ChainTooLong,
                vec![leaf(), inter()],
                vec![],
                Some((22, 1, "certificate chain too long")),
            ),
            C::ChainTooLong,
            &[
                "verify depth",
                "`error 22 at 1 depth lookup: certificate chain too long`",
            ],
        ),
        row(
            "too complex, rustls MaximumPathBuildCallsExceeded",
            refused(
                Rustls,
                CertProblem::PathBuildingLimit {
                    detail: "MaximumPathBuildCallsExceeded".into(),
                },
                vec![leaf(), inter()],
                vec![],
                None,
            ),
            C::ChainTooComplex,
            &[
                "MaximumPathBuildCallsExceeded",
                "the broker sent 2 certificate(s)",
            ],
        ),
        // --- a CA's EKU ---
        row(
            "CA EKU, OpenSSL 26 at 1",
            refused(
                Openssl,
                CertProblem::IntermediatePurpose { depth: Some(1) },
                vec![server_leaf.clone(), client_ca.clone()],
                vec![],
                Some((26, 1, "unsuitable certificate purpose")),
            ),
            C::IntermediateEkuMissing,
            &[
                "CN=Signing CA, O=lab (position 1",
                "extendedKeyUsage clientAuth without serverAuth",
                "`error 26 at 1 depth lookup: unsuitable certificate purpose`",
            ],
        ),
        row(
            "CA EKU, rustls InvalidPurpose without depth: the chain tells",
            refused(
                Rustls,
                CertProblem::InvalidPurpose,
                vec![server_leaf.clone(), client_ca.clone()],
                vec![],
                None,
            ),
            C::IntermediateEkuMissing,
            &["CN=Signing CA, O=lab (position 1", "clientAuth"],
        ),
        Row {
            absent: &["position 1"],
            ..row(
                "not CA EKU: the leaf itself lacks serverAuth",
                refused(
                    Rustls,
                    CertProblem::InvalidPurpose,
                    vec![client_leaf, client_ca],
                    vec![],
                    None,
                ),
                C::ServerEkuMissing,
                &[],
            )
        },
        // --- critical extensions ---
        row(
            "critical extension, OpenSSL 34 at 0",
            refused(
                Openssl,
                CertProblem::UnknownCriticalExtension { depth: Some(0) },
                vec![leaf(), inter()],
                critical.clone(),
                Some((34, 0, "unhandled critical extension")),
            ),
            C::UnknownCriticalExtension,
            &[
                "The broker's certificate CN=localhost, O=lab (position 0",
                "1.3.6.1.4.1.55555.1",
                "`error 34 at 0 depth lookup: unhandled critical extension`",
            ],
        ),
        row(
            "critical extension, rustls, no details: only what the stack said",
            refused(
                Rustls,
                CertProblem::UnknownCriticalExtension { depth: None },
                vec![leaf(), inter()],
                vec![],
                None,
            ),
            C::UnknownCriticalExtension,
            &["A certificate in the broker's chain carries a critical extension rustls"],
        ),
        row(
            "critical extension in the CA file's root: OpenSSL's depth is past what was sent",
            refused(
                Openssl,
                CertProblem::UnknownCriticalExtension { depth: Some(1) },
                vec![leaf()],
                vec![plain()],
                Some((34, 1, "unhandled critical extension")),
            ),
            C::UnknownCriticalExtension,
            &[
                "the certificate at depth 1 is not among the 1 certificate(s) the broker sent: it is a CA from ca.crt",
            ],
        ),
        // --- signatures and algorithms ---
        row(
            "bad signature, OpenSSL 7 at 0",
            refused(
                Openssl,
                CertProblem::BadSignature,
                vec![leaf(), inter()],
                vec![],
                Some((7, 0, "certificate signature failure")),
            ),
            C::BadSignature,
            &[
                "The signature on the broker's certificate CN=localhost, O=lab (position 0",
                "its issuer CN=Signing CA, O=lab",
                "`error 7 at 0 depth lookup: certificate signature failure`",
            ],
        ),
        row(
            "not bad signature: rustls BadSignature of an RSA-1024 leaf is weak_key",
            refused(
                Rustls,
                CertProblem::BadSignature,
                vec![rsa1024, inter()],
                vec![],
                None,
            ),
            C::WeakKey,
            &["RSA 1024"],
        ),
        row(
            "unsupported algorithm, rustls",
            refused(
                Rustls,
                CertProblem::UnsupportedAlgorithm {
                    detail: "UnsupportedSignatureAlgorithmContext: signature algorithm 1.3.101.113"
                        .into(),
                },
                vec![leaf(), inter()],
                vec![],
                None,
            ),
            C::UnsupportedAlgorithm,
            &[
                "1.3.101.113",
                "position 0: CN=localhost, O=lab — signature ecdsa-with-SHA256, key EC P-256",
            ],
        ),
        row(
            "unsupported algorithm, rustls: the certificate signed with it is named",
            refused(
                Rustls,
                CertProblem::UnsupportedAlgorithm {
                    detail: "UnsupportedSignatureAlgorithmContext: signature algorithm 2.16.840.1.101.3.4.3.2"
                        .into(),
                },
                vec![dsa_signed, inter()],
                vec![],
                None,
            ),
            C::UnsupportedAlgorithm,
            &["The broker's certificate CN=localhost, O=lab (position 0, the leaf) is signed with", "by CN=Signing CA, O=lab"],
        ),
        // --- malformed ---
        row(
            "malformed, rustls BadEncoding",
            refused(
                Rustls,
                CertProblem::Malformed {
                    depth: None,
                    detail: "BadEncoding".into(),
                },
                vec![leaf(), inter()],
                vec![],
                None,
            ),
            C::MalformedCertificate,
            &["its DER encoding is invalid"],
        ),
        row(
            "malformed, OpenSSL 94 at 0",
            refused(
                Openssl,
                CertProblem::Malformed {
                    depth: Some(0),
                    detail: "Certificate public key has explicit ECC parameters".into(),
                },
                vec![leaf(), inter()],
                vec![],
                Some((94, 0, "Certificate public key has explicit ECC parameters")),
            ),
            C::MalformedCertificate,
            &["CN=localhost, O=lab (position 0", "explicit ECC parameters"],
        ),
        Row {
            absent: &["no subjectAltName"],
            ..row(
                "malformed, not cn_only_no_san: the SAN exists but cannot be read",
                refused(
                    Rustls,
                    CertProblem::NameMismatch {
                        expected: "localhost".into(),
                        presented: vec![],
                    },
                    vec![cn_only.clone(), inter()],
                    unreadable_san,
                    None,
                ),
                C::MalformedCertificate,
                &["has a subjectAltName extension that cannot be read"],
            )
        },
        row(
            "not malformed: a certificate without any SAN stays cn_only_no_san",
            refused(
                Rustls,
                CertProblem::NameMismatch {
                    expected: "localhost".into(),
                    presented: vec![],
                },
                vec![cn_only, inter()],
                vec![plain(), plain()],
                None,
            ),
            C::CnOnlyNoSan,
            &[],
        ),
        // --- where the stacks differ ---
        Row {
            expect_name: "foo.example.com",
            others: vec![accepted(Openssl)],
            ..row(
                "partial wildcard, rustls refuses, OpenSSL accepted",
                refused(
                    Rustls,
                    name_mismatch.clone(),
                    vec![wildcard.clone(), inter()],
                    vec![],
                    None,
                ),
                C::HostnameMismatch,
                &[
                    "partial wildcard `f*.example.com`",
                    "OpenSSL accepted the same certificate",
                ],
            )
        },
        Row {
            expect_name: "foo.example.com",
            others: vec![refused(
                Openssl,
                name_mismatch.clone(),
                vec![wildcard.clone(), inter()],
                vec![],
                Some((62, 0, "hostname mismatch")),
            )],
            absent: &["OpenSSL accepted", "connect, as the OpenSSL probe did"],
            ..row(
                "partial wildcard: no claim about OpenSSL when it refused too",
                refused(
                    Rustls,
                    name_mismatch.clone(),
                    vec![wildcard.clone(), inter()],
                    vec![],
                    None,
                ),
                C::HostnameMismatch,
                &["partial wildcard"],
            )
        },
        Row {
            expect_name: "bar.example.org",
            absent: &["partial wildcard"],
            ..row(
                "not partial wildcard: the pattern does not cover the name",
                refused(Rustls, name_mismatch, vec![wildcard, inter()], vec![], None),
                C::HostnameMismatch,
                &[],
            )
        },
        Row {
            others: vec![accepted(Rustls)],
            ..row(
                "notAfter boundary: OpenSSL expired, rustls accepted",
                refused(
                    Openssl,
                    CertProblem::Expired { depth: Some(0) },
                    vec![at_not_after.clone(), inter()],
                    vec![],
                    Some((10, 0, "certificate has expired")),
                ),
                C::ServerCertExpired,
                &[
                    "the very second of the check",
                    "checked at 2026-11-18T11:06:40Z: equal",
                    "the stacks differ on this boundary",
                    "rustls accepted the same chain",
                ],
            )
        },
        Row {
            at: NOW + 1,
            absent: &["the very second"],
            ..row(
                "not the boundary: a second later it is simply expired",
                refused(
                    Openssl,
                    CertProblem::Expired { depth: Some(0) },
                    vec![at_not_after, inter()],
                    vec![],
                    Some((10, 0, "certificate has expired")),
                ),
                C::ServerCertExpired,
                &[],
            )
        },
    ];
    for r in rows {
        let d = diagnose(&r.ev, &r.others, r.expect_name, r.at);
        assert_eq!(d.code, r.code, "{}: {}", r.name, text(&d));
        let all = text(&d);
        for w in r.words {
            assert!(all.contains(w), "{}: lacks {w:?}:\n{all}", r.name);
        }
        for w in r.absent {
            assert!(!all.contains(w), "{}: says {w:?}:\n{all}", r.name);
        }
    }
}

/// A diagnosis never says OpenSSL accepted a chain unless OpenSSL's own evidence shows it.
#[test]
fn no_claim_about_the_other_stack_without_its_evidence() {
    let ev = refused(
        Rustls,
        CertProblem::Malformed {
            depth: None,
            detail: "BadEncoding".into(),
        },
        vec![leaf(), inter()],
        vec![],
        None,
    );
    let alone = text(&diagnose(&ev, &[], "localhost", NOW));
    assert!(!alone.contains("accepted"), "{alone}");
    let with_openssl = text(&diagnose(&ev, &[accepted(Openssl)], "localhost", NOW));
    assert!(
        with_openssl.contains("openssl accepted the same chain")
            && with_openssl.contains("the OpenSSL probe accepted this chain"),
        "{with_openssl}"
    );
}
