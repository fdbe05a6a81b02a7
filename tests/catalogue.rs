//! The diagnosis catalogue produced from real handshakes: every code of
//! the catalogue that a handshake (or the user's own files) can produce, with the code
//! each backend gets, whether they agree and, for every ⚡ pair, why they disagree.
//!
//! One table of cases. A case names its server (an in-process responder on either server
//! stack, or a listener of one shared mosquitto), the client's options (CA file, identity,
//! SNI, TLS versions, ALPN, MQTT version, credentials) and the expected code per backend,
//! `[rustls, openssl]`. Where the codes differ, `agreement` must be false and `disagreement`
//! must name the reason. Cases run concurrently, a few at a time, so the file stays well under
//! 20 s on two cores. `every_code_is_accounted_for` makes adding a code to the catalogue fail
//! here until it has a case, or names the test file that produces it (the codes about reaching
//! the port, which need no handshake: `tests/diagnose_inprocess.rs`).
//!
//! Where a stack cannot produce the catalogue's ⚡ behaviour on this machine, the row asserts
//! what really happens and says why in a comment (e.g. Debian's OpenSSL runs at security
//! level 2, so the OpenSSL probe rejects SHA-1 and RSA-1024 exactly like rustls unless the
//! user allows TLS 1.0/1.1, which lowers it to level 0).

#[path = "catalogue/coverage.rs"]
mod coverage;
#[path = "catalogue/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mqtls::classify::DiagnosisCode as Code;
use mqtls::lab::responder::{SniPolicy, TlsOptions};
use mqtls::lab::{
    Listener, ListenerTls, Mosquitto, MqttBehaviour, ServerStack, TlsServer,
    TlsVersion as ServerVersion,
};
use mqtls::pki::{CertFiles, KEY_PASSWORD, Pki};
use mqtls::probe::TlsVersion;
use mqtls::probe::mqtt::MqttVersion;

use coverage::{ALL_CODES, Coverage, coverage};
use harness::{
    Case, EMPTY_FILE, GARBAGE_FILE, Server, built_chain, check_sni_follow_up, ed448_key,
    encrypted_key, lab, lab_pki, legacy, level0, mosquitto_available, mtls, openssl_lab, p256_key,
    run_table, serving, sni_options, summary_mentions, tls, tls_with, with_mqtt,
};

/// How long mosquitto may take to open every listener.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// A CBC suite with ECDHE-ECDSA (the lab keys are P-256): in OpenSSL's default list, never
/// offered by rustls, which has only AEAD suites.
const CBC_ONLY: &str = "ECDHE-ECDSA-AES256-SHA";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_on_in_process_servers() {
    mqtls::logging::init(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Arc::new(lab_pki(dir.path()));
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| matches!(c.server, Server::Lab(..)))
        .collect();
    run_table(cases, pki, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_on_mosquitto() {
    if !mosquitto_available() {
        return;
    }
    mqtls::logging::init(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Arc::new(lab_pki(dir.path()));
    let listeners = mosquitto_listeners(&pki);
    let started = Instant::now();
    let broker = tokio::task::spawn_blocking(move || Mosquitto::start(&listeners, START_DEADLINE))
        .await
        .expect("start task")
        .unwrap_or_else(|e| panic!("mosquitto does not start: {e}"));
    eprintln!("mosquitto started in {:?}", started.elapsed());
    let broker = Arc::new(broker);
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| matches!(c.server, Server::Mosquitto(_)))
        .collect();
    run_table(cases, pki, Some(broker)).await;
}

/// Every catalogue code has a case in this table or in the test file [`coverage`] names. Its
/// match is exhaustive on purpose: a new code does not compile here until it is placed.
#[test]
fn every_code_is_accounted_for() {
    let mut produced = BTreeSet::new();
    for case in cases() {
        produced.extend(case.expect);
    }
    let listed: BTreeSet<Code> = ALL_CODES.into_iter().collect();
    assert_eq!(
        listed.len(),
        ALL_CODES.len(),
        "ALL_CODES lists a code twice"
    );
    let mut missing = Vec::new();
    for code in ALL_CODES {
        match coverage(code) {
            Coverage::Table if !produced.contains(&code) => missing.push(code.to_string()),
            Coverage::Table | Coverage::Elsewhere(_) => {}
        }
    }
    assert!(missing.is_empty(), "no case produces {missing:?}");
    for code in &produced {
        assert_eq!(
            coverage(*code),
            Coverage::Table,
            "{code} has a case here but is listed as covered elsewhere"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------------

fn cases() -> Vec<Case> {
    use Code as C;
    let mut cases = vec![
        // --- Baseline and the chain codes every stack agrees on. ---
        Case::both("ok", lab(|p, s| tls(serving(&p.server, s))), C::Ok),
        Case::both(
            "unknown_ca",
            lab(|p, s| tls(serving(&p.server, s))),
            C::UnknownCa,
        )
        .cafile(|p| p.other_root.cert.clone()),
        Case::both(
            "server_cert_as_ca",
            lab(|p, s| tls(serving(&p.server, s))),
            C::ServerCertAsCa,
        )
        .cafile(|p| p.server.cert.clone()),
        Case::both(
            "missing_intermediate",
            lab(|p, s| {
                tls(TlsServer {
                    chain_pem: p.server.cert_pem.clone(),
                    ..serving(&p.server, s)
                })
            }),
            C::MissingIntermediate,
        ),
        Case::both(
            "self_signed_server_cert",
            lab(|p, s| tls(serving(&p.server_self_signed, s))),
            C::SelfSignedServerCert,
        ),
        Case::both(
            "issuer_not_ca",
            lab(|p, s| tls(serving(&p.server_by_not_ca, s))),
            C::IssuerNotCa,
        ),
        Case::both(
            "server_cert_expired",
            lab(|p, s| tls(serving(&p.server_expired, s))),
            C::ServerCertExpired,
        ),
        Case::both(
            "server_cert_not_yet_valid",
            lab(|p, s| tls(serving(&p.server_not_yet_valid, s))),
            C::ServerCertNotYetValid,
        ),
        Case::both(
            "server_eku_missing",
            lab(|p, s| tls(serving(&p.server_eku_client, s))),
            C::ServerEkuMissing,
        ),
        // --- The stacks' own reasons (rustls's words / OpenSSL's `error N at D`). ---
        // NameConstraintViolation / 47 at 0 (permitted subtree violation).
        Case::both(
            "name_constraint_violation",
            lab(|p, s| tls(serving(&p.server_outside_constraints, s))),
            C::NameConstraintViolation,
        )
        .check(|r| {
            summary_mentions(
                r,
                &[
                    "DNS:localhost is outside the permitted DNS:example.com",
                    "position 1",
                ],
            )
        }),
        // PathLenConstraintViolated / 25 at 2 (path length constraint exceeded).
        Case::both(
            "path_length_exceeded",
            lab(|p, s| tls(serving(&p.server_below_pathlen, s))),
            C::PathLengthExceeded,
        )
        .check(|r| summary_mentions(r, &["pathLenConstraint 0", "position 2"])),
        // rustls: InvalidPurposeContext (no depth; the chain shows it is the CA's EKU);
        // OpenSSL: 26 at 1 (unsuitable certificate purpose).
        Case::both(
            "intermediate_eku_missing",
            lab(|p, s| tls(serving(&p.server_by_client_only_ca, s))),
            C::IntermediateEkuMissing,
        )
        .check(|r| summary_mentions(r, &["clientAuth", "position 1"])),
        // UnsupportedCriticalExtension / 34 at 0 (unhandled critical extension).
        Case::both(
            "unknown_critical_extension",
            lab(|p, s| tls(serving(&p.server_unknown_critical, s))),
            C::UnknownCriticalExtension,
        )
        .check(|r| summary_mentions(r, &["1.3.6.1.4.1.55555.1"])),
        // BadSignature / 7 at 0 (certificate signature failure).
        Case::both(
            "bad_signature",
            lab(|p, s| tls(serving(&p.server_bad_signature, s))),
            C::BadSignature,
        ),
        // webpki reads strict DER only (BadDer, reported as BadEncoding); OpenSSL reads the BER
        // boolean and connects. No warning rule looks for BER in a chain that worked.
        Case::split(
            "malformed_certificate",
            lab(|p, s| tls(serving(&p.server_ber_boolean, s))),
            [C::MalformedCertificate, C::Ok],
            &[
                "rustls failed with malformed_certificate",
                "openssl connected",
                "DER",
            ],
        )
        .no_warning()
        .check(|r| {
            summary_mentions(
                r,
                &[
                    "(position 0, the leaf) is malformed",
                    "its DER encoding is invalid",
                ],
            )
        }),
        // Seven CAs between the leaf and the root: webpki follows at most six
        // (MaximumPathDepthExceeded); OpenSSL's default verify depth is 100, so it connects.
        Case::split(
            "chain_too_long",
            lab(|p, s| tls(built_chain(p, s, 7, p256_key))),
            [C::ChainTooLong, C::Ok],
            &[
                "rustls failed with chain_too_long",
                "openssl connected",
                "at most 6",
            ],
        )
        .no_warning(),
        // 1,000 DNS names under a CA with 300 permitted subtrees: webpki stops at 250,000
        // name-constraint comparisons (MaximumNameConstraintComparisonsExceeded); OpenSSL's
        // limit is 2^20, so it checks them all and connects.
        Case::split(
            "chain_too_complex",
            lab(|p, s| tls(serving(&p.server_many_names, s))),
            [C::ChainTooComplex, C::Ok],
            &["rustls failed with chain_too_complex", "openssl connected"],
        )
        .no_warning()
        .check(|r| summary_mentions(r, &["MaximumNameConstraintComparisonsExceeded"])),
        // A CA with an Ed448 key signs the leaf: rustls has no Ed448 verifier
        // (UnsupportedSignatureAlgorithmContext, OID 1.3.101.113); OpenSSL verifies it.
        Case::split(
            "unsupported_algorithm",
            lab(|p, s| tls(built_chain(p, s, 1, ed448_key))),
            [C::UnsupportedAlgorithm, C::Ok],
            &[
                "rustls failed with unsupported_algorithm",
                "openssl connected",
                "Ed448",
            ],
        )
        .no_warning()
        .check(|r| summary_mentions(r, &["1.3.101.113", "(position 0, the leaf) is signed with"])),
        // --- ⚡ chain pairs. ---
        // webpki takes any CA-file certificate as an anchor; OpenSSL needs a self-signed
        // root (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, 2).
        Case::split(
            "intermediate_as_anchor",
            lab(|p, s| tls(serving(&p.server, s))),
            [C::Ok, C::IntermediateAsAnchor],
            &["anchor", "self-signed root"],
        )
        .cafile(|p| p.intermediate.cert.clone()),
        // A CA:TRUE leaf issued by the intermediate: webpki CaUsedAsEndEntity, OpenSSL
        // accepts.
        Case::split(
            "ca_cert_as_server_cert",
            lab(|p, s| tls(serving(&p.server_issued_ca_true, s))),
            [C::CaCertAsServerCert, C::Ok],
            &["CA:TRUE"],
        ),
        // The `openssl req -x509` variant: the self-signed CA:TRUE certificate is its own CA
        // file. OpenSSL accepts the one-element chain, rustls still refuses it as a leaf.
        Case::split(
            "ca_cert_as_server_cert_self_signed",
            lab(|p, s| tls(serving(&p.server_ca_true, s))),
            [C::CaCertAsServerCert, C::Ok],
            &["CA:TRUE"],
        )
        .cafile(|p| p.server_ca_true.cert.clone()),
        Case::split(
            "x509_v1_cert",
            lab(|p, s| tls(serving(&p.server_v1, s))),
            [C::X509V1Cert, C::Ok],
            &["v3"],
        ),
        // The server certificate shares its issuer's subject and has no AKI: OpenSSL takes it
        // for self-signed (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 18); webpki finds the
        // issuer by name and verifies the signature, so rustls connects. The catalogue lists
        // no ⚡ for this code and `explain_disagreement` has no reason for it, so only the
        // backends' verdicts are in the text.
        Case::split(
            "same_subject_ca_and_server",
            lab(|p, s| tls(serving(&p.server_same_subject, s))),
            [C::Ok, C::SameSubjectCaAndServer],
            &[
                "rustls connected",
                "openssl failed with same_subject_ca_and_server",
            ],
        )
        .cafile(|p| p.same_subject_ca.cert.clone()),
        Case::split(
            "expired_trust_anchor",
            lab(|p, s| tls(serving(&p.server_by_expired_root, s))),
            [C::Ok, C::ExpiredTrustAnchor],
            &["anchor"],
        )
        .cafile(|p| p.expired_root.cert.clone()),
        // Not ⚡ here: the OpenSSL probe runs at Debian's security level 2, which refuses a
        // SHA-1 signature (X509_V_ERR_CA_MD_TOO_WEAK, 68) as rustls always does. The server
        // runs at level 0 so that it can load the certificate at all.
        Case::both(
            "weak_signature",
            openssl_lab(|p, _| tls_with(serving(&p.server_sha1, ServerStack::Openssl), level0())),
            C::WeakSignature,
        ),
        // ⚡ once the user allows TLS 1.0/1.1: the OpenSSL probe then runs at level 0 and
        // accepts SHA-1; rustls never does.
        Case::split(
            "weak_signature_at_security_level_0",
            openssl_lab(|p, _| tls_with(serving(&p.server_sha1, ServerStack::Openssl), level0())),
            [C::WeakSignature, C::Ok],
            &["security level"],
        )
        .versions(&[TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13]),
        // The same for RSA-1024: OpenSSL at level 2 says X509_V_ERR_EE_KEY_TOO_SMALL (66);
        // rustls says BadSignature (it cannot verify the handshake signature), which the
        // key size turns into weak_key. rustls cannot serve this key, hence OpenSSL only.
        Case::both(
            "weak_key",
            openssl_lab(|p, _| {
                tls_with(serving(&p.server_rsa1024, ServerStack::Openssl), level0())
            }),
            C::WeakKey,
        ),
        Case::split(
            "weak_key_at_security_level_0",
            openssl_lab(|p, _| {
                tls_with(serving(&p.server_rsa1024, ServerStack::Openssl), level0())
            }),
            [C::WeakKey, C::Ok],
            &["security level"],
        )
        .versions(&[TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13]),
        // --- Names. ---
        Case::both(
            "hostname_mismatch",
            lab(|p, s| tls(serving(&p.server_wrong_name, s))),
            C::HostnameMismatch,
        ),
        Case::both(
            "ip_not_in_san",
            lab(|p, s| tls(serving(&p.server_dns_only, s))),
            C::IpNotInSan,
        )
        .host("127.0.0.1"),
        Case::split(
            "cn_only_no_san",
            lab(|p, s| tls(serving(&p.server_cn_only, s))),
            [C::CnOnlyNoSan, C::Ok],
            &["CN"],
        ),
        // A broker that refuses a ClientHello without its name (alert 112), probed without
        // SNI; the follow-up with SNI completes.
        Case::both(
            "sni_required_alert",
            openssl_lab(|p, _| {
                let sni = SniPolicy::Require("localhost".into());
                tls_with(serving(&p.server, ServerStack::Openssl), sni_options(sni))
            }),
            C::SniRequired,
        )
        .no_sni()
        .check(check_sni_follow_up),
        // A broker that serves a default certificate (from another PKI) without SNI.
        Case::both(
            "sni_required_default_certificate",
            openssl_lab(|p, _| {
                let sni = SniPolicy::Fallback {
                    name: "localhost".into(),
                    chain_pem: p.other_server.cert_pem.clone(),
                    key_pem: p.other_server.key_pem.clone(),
                };
                tls_with(serving(&p.server, ServerStack::Openssl), sni_options(sni))
            }),
            C::SniRequired,
        )
        .no_sni()
        .check(check_sni_follow_up),
        // --- Protocol negotiation. ---
        Case::both(
            "tls_version_mismatch",
            lab(|p, s| {
                tls(TlsServer {
                    versions: vec![ServerVersion::Tls13],
                    ..serving(&p.server, s)
                })
            }),
            C::TlsVersionMismatch,
        )
        .versions(&[TlsVersion::Tls12]),
        // Not ⚡ with default client settings: Debian's OpenSSL offers TLS 1.2+ only, so both
        // probes are refused; the version follow-ups find TLS 1.1.
        Case::both(
            "legacy_tls_only",
            openssl_lab(|p, _| tls(legacy(p))),
            C::LegacyTlsOnly,
        ),
        // ⚡ once the user allows TLS 1.1: OpenSSL connects at level 0, rustls cannot.
        Case::split(
            "legacy_tls_only_allowed",
            openssl_lab(|p, _| tls(legacy(p))),
            [C::LegacyTlsOnly, C::Ok],
            &["TLS 1.2 and 1.3"],
        )
        .versions(&[TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13]),
        // A CBC-only TLS 1.2 broker: rustls gets handshake_failure, the version follow-ups
        // (every cipher) show TLS 1.2 works, OpenSSL connects with the CBC suite. No warning
        // on the OpenSSL side: a connection over a CBC suite does not tell whether the
        // broker also has an AEAD one that rustls could use (no warning rule for it).
        Case::split(
            "no_shared_cipher",
            openssl_lab(|p, _| {
                let server = TlsServer {
                    versions: vec![ServerVersion::Tls12],
                    ..serving(&p.server, ServerStack::Openssl)
                };
                let options = TlsOptions {
                    ciphers: Some(CBC_ONLY.into()),
                    ..TlsOptions::default()
                };
                tls_with(server, options)
            }),
            [C::NoSharedCipher, C::Ok],
            &["CBC"],
        )
        .no_warning(),
        Case::both(
            "alpn_rejected",
            lab(|p, s| {
                tls(TlsServer {
                    alpn: vec![b"mqtt".to_vec()],
                    ..serving(&p.server, s)
                })
            }),
            C::AlpnRejected,
        )
        .alpn(&["x-amzn-mqtt-ca"]),
        // --- The client's certificate, as the broker judges it. ---
        Case::both(
            "client_cert_required",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientCertRequired,
        ),
        // --- The user's own files (found before connecting). ---
        Case::both(
            "client_key_mismatch",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientKeyMismatch,
        )
        .identity(
            |p| p.client.chain_path().to_path_buf(),
            |p| p.other_client.key.clone(),
        ),
        Case::both(
            "client_key_encrypted_no_password",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientKeyEncrypted,
        )
        .identity(|p| p.client.chain_path().to_path_buf(), encrypted_key),
        Case::both(
            "client_key_encrypted_wrong_password",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientKeyEncrypted,
        )
        .identity(|p| p.client.chain_path().to_path_buf(), encrypted_key)
        .key_password("not-the-password"),
        // With the right password the key is usable by both stacks.
        Case::both(
            "client_key_encrypted_right_password",
            lab(|p, s| tls(mtls(p, s))),
            C::Ok,
        )
        .identity(|p| p.client.chain_path().to_path_buf(), encrypted_key)
        .key_password(KEY_PASSWORD),
        Case::both(
            "ca_file_unusable_empty",
            lab(|p, s| tls(serving(&p.server, s))),
            C::CaFileUnusable,
        )
        .cafile(|p| p.dir.join(EMPTY_FILE)),
        Case::both(
            "ca_file_unusable_der",
            lab(|p, s| tls(serving(&p.server, s))),
            C::CaFileUnusable,
        )
        .cafile(|p| p.root.der.clone().expect("root.der")),
        Case::both(
            "ca_file_unusable_key",
            lab(|p, s| tls(serving(&p.server, s))),
            C::CaFileUnusable,
        )
        .cafile(|p| p.root.key.clone()),
        Case::both(
            "client_cert_unusable_key_as_cert",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientCertUnusable,
        )
        .identity(|p| p.client.key.clone(), |p| p.client.key.clone()),
        Case::both(
            "client_cert_unusable_der",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientCertUnusable,
        )
        .identity(
            |p| p.server.der.clone().expect("server.der"),
            |p| p.server.key.clone(),
        ),
        Case::both(
            "client_key_unusable_cert_as_key",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientKeyUnusable,
        )
        .identity(
            |p| p.client.chain_path().to_path_buf(),
            |p| p.client.cert.clone(),
        ),
        Case::both(
            "client_key_unusable_garbage",
            lab(|p, s| tls(mtls(p, s))),
            C::ClientKeyUnusable,
        )
        .identity(
            |p| p.client.chain_path().to_path_buf(),
            |p| p.dir.join(GARBAGE_FILE),
        ),
        // --- MQTT after TLS. ---
        Case::both(
            "mqtt_not_authorized",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(5)))),
            C::MqttNotAuthorized,
        ),
        Case::both(
            "mqtt_bad_credentials",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(4)))),
            C::MqttBadCredentials,
        )
        .login("alice", "wrong"),
        Case::both(
            "mqtt_identifier_rejected_v311",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(2)))),
            C::MqttIdentifierRejected,
        ),
        Case::both(
            "mqtt_identifier_rejected_v5",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(0x85)))),
            C::MqttIdentifierRejected,
        )
        .mqtt(MqttVersion::V5),
        Case::both(
            "mqtt_protocol_rejected_v311",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(1)))),
            C::MqttProtocolRejected,
        ),
        Case::both(
            "mqtt_protocol_rejected_v5",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(0x84)))),
            C::MqttProtocolRejected,
        )
        .mqtt(MqttVersion::V5),
        Case::both(
            "mqtt_server_unavailable_v311",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(3)))),
            C::MqttServerUnavailable,
        ),
        Case::both(
            "mqtt_server_unavailable_v5_busy",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(0x89)))),
            C::MqttServerUnavailable,
        )
        .mqtt(MqttVersion::V5),
        Case::both(
            "mqtt_refused_v5_banned",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::Refuse(0x8a)))),
            C::MqttRefused,
        )
        .mqtt(MqttVersion::V5),
        Case::both(
            "mqtt_no_connack",
            lab(|p, s| tls(with_mqtt(p, s, MqttBehaviour::CloseAfterConnect))),
            C::MqttNoConnack,
        ),
    ];
    // The broker's verdict on our certificate, on both server stacks: each sends its own
    // alert (unknown_ca 48, certificate_expired 45, certificate_revoked 44,
    // unsupported_certificate 43), under TLS 1.3 after the client's handshake ended.
    for stack in [ServerStack::Openssl, ServerStack::Rustls] {
        cases.extend([
            Case::both(
                "client_cert_unknown_ca",
                Server::Lab(stack, |p, s| tls(mtls(p, s))),
                C::ClientCertUnknownCa,
            )
            .identity(
                |p| p.other_client.cert.clone(),
                |p| p.other_client.key.clone(),
            ),
            Case::both(
                "client_cert_expired",
                Server::Lab(stack, |p, s| tls(mtls(p, s))),
                C::ClientCertExpired,
            )
            .identity(
                |p| p.client_expired.chain_path().to_path_buf(),
                |p| p.client_expired.key.clone(),
            ),
            Case::both(
                "client_cert_revoked",
                Server::Lab(stack, |p, s| {
                    let options = TlsOptions {
                        crl_file: Some(p.crl.clone()),
                        ..TlsOptions::default()
                    };
                    tls_with(mtls(p, s), options)
                }),
                C::ClientCertRevoked,
            )
            .identity(
                |p| p.client_revoked.chain_path().to_path_buf(),
                |p| p.client_revoked.key.clone(),
            ),
            Case::both(
                "client_cert_rejected_eku",
                Server::Lab(stack, |p, s| tls(mtls(p, s))),
                C::ClientCertRejected,
            )
            .identity(
                |p| p.client_eku_server.chain_path().to_path_buf(),
                |p| p.client_eku_server.key.clone(),
            ),
        ]);
    }
    cases.extend(mosquitto_cases());
    cases
}

/// Cases against the shared mosquitto (listener names are those of [`mosquitto_listeners`]).
///
/// What mosquitto 2.0.11 cannot be made to do, so only the in-process servers show it:
/// `legacy_tls_only` (`tls_version` is a minimum and nothing sets a maximum, so TLS 1.2/1.3
/// stay on), `sni_required` (no SNI routing or per-name certificates) and `alpn_rejected` (no
/// ALPN setting on listeners). The CONNACK refusals come from the responder, which can send
/// any code; `tests/diagnose_mosquitto.rs` has mosquitto's own "not authorized".
fn mosquitto_cases() -> Vec<Case> {
    use Code as C;
    vec![
        Case::both("ok", Server::Mosquitto("ok"), C::Ok),
        Case::split(
            "intermediate_as_anchor",
            Server::Mosquitto("ok"),
            [C::Ok, C::IntermediateAsAnchor],
            &["anchor", "self-signed root"],
        )
        .cafile(|p| p.intermediate.cert.clone()),
        Case::split(
            "ca_cert_as_server_cert",
            Server::Mosquitto("ca-true"),
            [C::CaCertAsServerCert, C::Ok],
            &["CA:TRUE"],
        ),
        Case::split(
            "x509_v1_cert",
            Server::Mosquitto("v1"),
            [C::X509V1Cert, C::Ok],
            &["v3"],
        ),
        Case::split(
            "cn_only_no_san",
            Server::Mosquitto("cn-only"),
            [C::CnOnlyNoSan, C::Ok],
            &["CN"],
        ),
        Case::split(
            "expired_trust_anchor",
            Server::Mosquitto("expired-root"),
            [C::Ok, C::ExpiredTrustAnchor],
            &["anchor"],
        )
        .cafile(|p| p.expired_root.cert.clone()),
        // mosquitto loads SHA-1 and RSA-1024 certificates only with `@SECLEVEL=0` in
        // `ciphers`; the probes then answer as against the in-process server.
        Case::both(
            "weak_signature",
            Server::Mosquitto("sha1"),
            C::WeakSignature,
        ),
        Case::both("weak_key", Server::Mosquitto("rsa1024"), C::WeakKey),
        Case::split(
            "weak_signature_at_security_level_0",
            Server::Mosquitto("sha1"),
            [C::WeakSignature, C::Ok],
            &["security level"],
        )
        .versions(&[TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13]),
        Case::split(
            "weak_key_at_security_level_0",
            Server::Mosquitto("rsa1024"),
            [C::WeakKey, C::Ok],
            &["security level"],
        )
        .versions(&[TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13]),
        Case::split(
            "same_subject_ca_and_server",
            Server::Mosquitto("same-subject"),
            [C::Ok, C::SameSubjectCaAndServer],
            &[
                "rustls connected",
                "openssl failed with same_subject_ca_and_server",
            ],
        )
        .cafile(|p| p.same_subject_ca.cert.clone()),
        Case::both(
            "tls_version_mismatch",
            Server::Mosquitto("tls13-only"),
            C::TlsVersionMismatch,
        )
        .versions(&[TlsVersion::Tls12]),
        // `ciphers` only limits TLS 1.2 (mosquitto's `tls_version` is a minimum, 1.3 stays
        // on), so the client offers TLS 1.2 only.
        Case::split(
            "no_shared_cipher",
            Server::Mosquitto("cbc-only"),
            [C::NoSharedCipher, C::Ok],
            &["CBC"],
        )
        .versions(&[TlsVersion::Tls12])
        .no_warning(),
        Case::both(
            "client_cert_unknown_ca",
            Server::Mosquitto("mtls"),
            C::ClientCertUnknownCa,
        )
        .identity(
            |p| p.other_client.cert.clone(),
            |p| p.other_client.key.clone(),
        ),
        Case::both(
            "client_cert_expired",
            Server::Mosquitto("mtls"),
            C::ClientCertExpired,
        )
        .identity(
            |p| p.client_expired.cert.clone(),
            |p| p.client_expired.key.clone(),
        ),
        Case::both(
            "client_cert_rejected_eku",
            Server::Mosquitto("mtls"),
            C::ClientCertRejected,
        )
        .identity(
            |p| p.client_eku_server.cert.clone(),
            |p| p.client_eku_server.key.clone(),
        ),
        Case::both(
            "client_cert_revoked",
            Server::Mosquitto("mtls-crl"),
            C::ClientCertRevoked,
        )
        .identity(
            |p| p.client_revoked.cert.clone(),
            |p| p.client_revoked.key.clone(),
        ),
        // The reason codes on a real broker (mosquitto loads each of these chains).
        Case::both(
            "name_constraint_violation",
            Server::Mosquitto("outside-constraints"),
            C::NameConstraintViolation,
        ),
        Case::both(
            "path_length_exceeded",
            Server::Mosquitto("below-pathlen"),
            C::PathLengthExceeded,
        ),
        Case::both(
            "intermediate_eku_missing",
            Server::Mosquitto("client-only-ca"),
            C::IntermediateEkuMissing,
        ),
        Case::both(
            "unknown_critical_extension",
            Server::Mosquitto("unknown-critical"),
            C::UnknownCriticalExtension,
        ),
        Case::both(
            "bad_signature",
            Server::Mosquitto("bad-signature"),
            C::BadSignature,
        ),
        Case::split(
            "malformed_certificate",
            Server::Mosquitto("ber-boolean"),
            [C::MalformedCertificate, C::Ok],
            &[
                "rustls failed with malformed_certificate",
                "openssl connected",
            ],
        )
        .no_warning(),
        // The CRL does not refuse everyone: the good client still connects.
        Case::both("ok_with_crl", Server::Mosquitto("mtls-crl"), C::Ok)
            .identity(|p| p.client.cert.clone(), |p| p.client.key.clone()),
    ]
}

/// One listener per server setup the mosquitto cases use.
fn mosquitto_listeners(pki: &Pki) -> Vec<Listener> {
    let tls = |name: &str, cert: &CertFiles, edit: &dyn Fn(&mut ListenerTls)| {
        let mut t = ListenerTls {
            certfile: cert.chain_path().to_path_buf(),
            keyfile: cert.key.clone(),
            ..ListenerTls::default()
        };
        edit(&mut t);
        Listener {
            name: name.into(),
            tls: Some(t),
            allow_anonymous: true,
            users: Vec::new(),
        }
    };
    let mtls = |t: &mut ListenerTls| {
        t.cafile = Some(pki.ca_bundle.clone());
        t.require_certificate = true;
    };
    let level0 = |t: &mut ListenerTls| t.ciphers = Some("DEFAULT:@SECLEVEL=0".into());
    vec![
        tls("ok", &pki.server, &|_| {}),
        tls("ca-true", &pki.server_issued_ca_true, &|_| {}),
        tls("v1", &pki.server_v1, &|_| {}),
        tls("cn-only", &pki.server_cn_only, &|_| {}),
        tls("expired-root", &pki.server_by_expired_root, &|_| {}),
        tls("same-subject", &pki.server_same_subject, &|_| {}),
        tls("sha1", &pki.server_sha1, &level0),
        tls("rsa1024", &pki.server_rsa1024, &level0),
        tls("tls13-only", &pki.server, &|t| {
            t.tls_version = Some("tlsv1.3".into());
        }),
        tls("cbc-only", &pki.server, &|t| {
            t.ciphers = Some(CBC_ONLY.into())
        }),
        tls(
            "outside-constraints",
            &pki.server_outside_constraints,
            &|_| {},
        ),
        tls("below-pathlen", &pki.server_below_pathlen, &|_| {}),
        tls("client-only-ca", &pki.server_by_client_only_ca, &|_| {}),
        tls("unknown-critical", &pki.server_unknown_critical, &|_| {}),
        tls("bad-signature", &pki.server_bad_signature, &|_| {}),
        tls("ber-boolean", &pki.server_ber_boolean, &|_| {}),
        tls("mtls", &pki.server, &mtls),
        tls("mtls-crl", &pki.server, &|t| {
            mtls(t);
            t.crlfile = Some(pki.crl.clone());
        }),
    ]
}
