//! `mqtls inspect` end to end over files: the generated lab PKI plus certificates made here for
//! the cases the lab does not cover (expired, v1, SHA-1 and RSA-1024 CAs, same-subject pairs).
//! Every catalogue code the preflight can raise has a test asserting its code and severity.

use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::symm::Cipher;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

use mqtls::chain::PathEnd;
use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::Backend;
use mqtls::inputs::InputPaths;
use mqtls::inspect::{InspectInput, InspectReport, Severity, inspect};
use mqtls::pki::{Pki, generate};
use mqtls::report::inspect::{render_json, render_text};

/// 2025-06-01T00:00:00Z: after every "good" notBefore, before every "good" notAfter.
const CHECKED_AT: i64 = 1_748_736_000;

struct Lab {
    dir: tempfile::TempDir,
    pki: Pki,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = generate(dir.path()).expect("generate the lab PKI");
    Lab { dir, pki }
}

impl Lab {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }
}

/// What to inspect, built up per test.
#[derive(Default)]
struct Run<'a> {
    ca: Vec<&'a Path>,
    server: Option<&'a Path>,
    client: Option<(&'a Path, &'a Path)>,
    password: Option<&'a str>,
    expect: Option<&'a str>,
}

impl Run<'_> {
    fn input(&self) -> InspectInput {
        InspectInput {
            paths: InputPaths {
                cafiles: self.ca.iter().map(|p| p.to_path_buf()).collect(),
                cert: self.client.map(|c| c.0.to_path_buf()),
                key: self.client.map(|c| c.1.to_path_buf()),
                key_password: self.password.map(str::to_string),
                untrusted: Vec::new(),
                offline: false,
                psk: None,
            },
            server_cert: self.server.map(Path::to_path_buf),
            expect_name: self.expect.map(str::to_string),
            checked_at: CHECKED_AT,
            warn_days: mqtls::classify::DEFAULT_WARN_DAYS,
        }
    }

    fn go(&self) -> InspectReport {
        inspect(&self.input()).expect("inspect")
    }
}

fn ca_server<'a>(ca: &'a Path, server: &'a Path) -> Run<'a> {
    Run {
        ca: vec![ca],
        server: Some(server),
        ..Run::default()
    }
}

fn fullchain(c: &mqtls::pki::CertFiles) -> &Path {
    c.fullchain.as_deref().expect("fullchain")
}

/// Panics with the whole report unless a finding with `code` and `severity` is present.
#[track_caller]
fn assert_finding(r: &InspectReport, code: Code, severity: Severity) {
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == code && f.severity == severity),
        "expected {code} ({severity:?}); report:\n{}",
        text(r)
    );
}

#[track_caller]
fn assert_no_finding(r: &InspectReport, code: Code) {
    assert!(
        !r.findings.iter().any(|f| f.code == code),
        "unexpected {code}; report:\n{}",
        text(r)
    );
}

#[track_caller]
fn verdict(r: &InspectReport, backend: Backend) -> bool {
    r.verification
        .iter()
        .find(|v| v.backend == backend)
        .unwrap_or_else(|| panic!("no {backend} verdict:\n{}", text(r)))
        .ok
}

fn text(r: &InspectReport) -> String {
    let mut out = Vec::new();
    render_text(r, &mut out).expect("render");
    String::from_utf8(out).expect("utf8")
}

// ---------------------------------------------------------------------------------------------
// Certificates made here.

struct Made {
    cert: X509,
    key: PKey<Private>,
}

impl Made {
    fn pem(&self) -> Vec<u8> {
        self.cert.to_pem().expect("pem")
    }
}

struct Spec<'a> {
    cn: &'a str,
    org: &'a str,
    ca: bool,
    v1: bool,
    digest: MessageDigest,
    key: PKey<Private>,
    validity: (&'a str, &'a str),
    sans: &'a [&'a str],
    key_ids: bool,
}

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey")
}

fn rsa_key(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).expect("rsa")).expect("pkey")
}

fn spec(cn: &str, ca: bool) -> Spec<'_> {
    Spec {
        cn,
        org: "made here",
        ca,
        v1: false,
        digest: MessageDigest::sha256(),
        key: ec_key(),
        validity: ("20240101000000Z", "40960101000000Z"),
        sans: if ca { &[] } else { &["localhost"] },
        key_ids: true,
    }
}

/// Builds a certificate; `issuer: None` means self-signed.
fn make(s: Spec<'_>, issuer: Option<&Made>) -> Made {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", s.cn).expect("cn");
    name.append_entry_by_text("O", s.org).expect("o");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(if s.v1 { 0 } else { 2 }).expect("version");
    let serial = Asn1Integer::from_bn(&BigNum::from_u32(rand_serial()).expect("bn")).expect("int");
    b.set_serial_number(&serial).expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.map_or(&name, |i| i.cert.subject_name()))
        .expect("issuer");
    b.set_pubkey(&s.key).expect("pubkey");
    b.set_not_before(&Asn1Time::from_str_x509(s.validity.0).expect("nb"))
        .expect("nb");
    b.set_not_after(&Asn1Time::from_str_x509(s.validity.1).expect("na"))
        .expect("na");
    if !s.v1 {
        let mut bc = BasicConstraints::new();
        bc.critical();
        if s.ca {
            bc.ca();
        }
        b.append_extension(bc.build().expect("bc")).expect("bc");
        if !s.sans.is_empty() {
            let mut san = SubjectAlternativeName::new();
            for n in s.sans {
                san.dns(n);
            }
            let ext = san.build(&b.x509v3_context(None, None)).expect("san");
            b.append_extension(ext).expect("san");
        }
        if !s.ca {
            let eku = ExtendedKeyUsage::new().server_auth().build().expect("eku");
            b.append_extension(eku).expect("eku");
        }
        if s.key_ids {
            let ski = SubjectKeyIdentifier::new()
                .build(&b.x509v3_context(None, None))
                .expect("ski");
            b.append_extension(ski).expect("ski");
        }
        if let Some(i) = issuer.filter(|_| s.key_ids) {
            let aki = AuthorityKeyIdentifier::new()
                .keyid(true)
                .build(&b.x509v3_context(Some(&i.cert), None))
                .expect("aki");
            b.append_extension(aki).expect("aki");
        }
    }
    let signer = issuer.map_or(&s.key, |i| &i.key);
    b.sign(signer, s.digest).expect("sign");
    Made {
        cert: b.build(),
        key: s.key,
    }
}

fn rand_serial() -> u32 {
    let mut buf = [0u8; 4];
    openssl::rand::rand_bytes(&mut buf).expect("rand");
    u32::from_be_bytes(buf) | 1
}

// ---------------------------------------------------------------------------------------------
// The good setup and the stacks' verdicts.

#[test]
fn clean_setup_has_no_findings_and_both_stacks_accept() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        ca: vec![&p.root.cert],
        server: Some(fullchain(&p.server)),
        client: Some((&p.client.cert, &p.client.key)),
        expect: Some("localhost"),
        ..Run::default()
    }
    .go();
    assert!(r.findings.is_empty(), "{}", text(&r));
    assert!(verdict(&r, Backend::Rustls) && verdict(&r, Backend::Openssl));
    assert!(!r.has_errors());
    assert_eq!(r.name_checked.as_deref(), Some("localhost"));
    let chain = r.server_chain.as_ref().expect("chain");
    assert_eq!(chain.end, PathEnd::Anchored { root: true });
    assert_eq!(chain.path.len(), 3);
    assert_eq!(chain.path[1].broker_index(), Some(1));
    assert!(chain.path[2].anchor() && !chain.path[2].sent());
    assert_eq!(r.server_cert.as_ref().expect("server").certs.len(), 2);
    assert_eq!(r.client_cert.as_ref().expect("client").certs.len(), 1);
    assert_eq!(r.ca_file.as_ref().expect("ca").certs.len(), 1);
    // The ca-bundle (root + intermediate) and the IP the certificate names are just as good.
    let r = Run {
        ca: vec![&p.ca_bundle],
        server: Some(fullchain(&p.server)),
        expect: Some("::1"),
        ..Run::default()
    }
    .go();
    assert!(r.findings.is_empty() && !r.has_errors(), "{}", text(&r));
}

#[test]
fn intermediate_only_in_the_ca_file_is_a_missing_intermediate_warning() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.ca_bundle, &p.server.cert).go();
    assert_finding(&r, Code::MissingIntermediate, Severity::Warning);
    assert!(verdict(&r, Backend::Rustls) && verdict(&r, Backend::Openssl));
    assert!(!r.has_errors(), "{}", text(&r));
    let chain = r.server_chain.as_ref().expect("chain");
    assert_eq!(chain.path.len(), 3);
    assert!(chain.path[1].anchor() && !chain.path[1].sent());
    assert!(chain.path[2].anchor());
}

#[test]
fn v1_server_cert_splits_the_stacks() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.root.cert, fullchain(&p.server_v1)).go();
    assert!(!verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(verdict(&r, Backend::Openssl), "{}", text(&r));
    let rustls = &r.verification[0];
    assert!(
        rustls
            .error
            .as_deref()
            .is_some_and(|e| e.contains("UnsupportedCertVersion")),
        "{rustls:?}"
    );
    // Each stack's verdict carries its own code: the one `diagnose` would give that backend.
    let codes: Vec<(Backend, Code)> = r.verification.iter().map(|v| (v.backend, v.code)).collect();
    assert_eq!(
        codes,
        [
            (Backend::Rustls, Code::X509V1Cert),
            (Backend::Openssl, Code::Ok)
        ],
        "{}",
        text(&r)
    );
    assert_finding(&r, Code::X509V1Cert, Severity::Error);
    let split = r
        .findings
        .iter()
        .find(|f| f.message.contains("disagree"))
        .expect("disagreement finding");
    assert_eq!(split.code, Code::X509V1Cert);
    assert!(
        split
            .message
            .contains("openssl accepts it, rustls rejects it")
    );
    assert!(r.has_errors());
}

#[test]
fn cn_only_server_cert_splits_the_stacks() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        expect: Some("localhost"),
        ..ca_server(&p.root.cert, fullchain(&p.server_cn_only))
    }
    .go();
    assert!(!verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(verdict(&r, Backend::Openssl), "{}", text(&r));
    assert_finding(&r, Code::CnOnlyNoSan, Severity::Error);
    // The CN matches: the name itself is not the problem.
    assert_no_finding(&r, Code::HostnameMismatch);
    // One finding per cause: the rustls refusal and the file check are the same cause.
    let split = r.findings.iter().filter(|f| f.code == Code::CnOnlyNoSan);
    assert_eq!(split.count(), 1, "{}", text(&r));
}

// ---------------------------------------------------------------------------------------------
// The CA file.

#[test]
fn ca_file_unusable_empty_der_or_key() {
    let lab = lab();
    let p = &lab.pki;
    let der = X509::from_pem(&p.root.cert_pem)
        .expect("pem")
        .to_der()
        .expect("der");
    for (name, bytes, says) in [
        ("empty.crt", Vec::new(), "empty"),
        ("root.der", der, "DER"),
        ("key-as-ca.crt", p.root.key_pem.clone(), "private key"),
    ] {
        let ca = lab.write(name, &bytes);
        let r = ca_server(&ca, fullchain(&p.server)).go();
        assert_finding(&r, Code::CaFileUnusable, Severity::Error);
        let f = &r.findings[0];
        assert!(f.message.contains(says), "{name}: {}", f.message);
        assert!(f.message.contains(name), "{name}: {}", f.message);
        // The unusable file is the one finding about trust; both stacks reject.
        assert_no_finding(&r, Code::UnknownCa);
        assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
    }
}

#[test]
fn server_cert_as_ca_is_an_error_alone_and_a_warning_beside_a_root() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.server.cert, fullchain(&p.server)).go();
    assert_finding(&r, Code::ServerCertAsCa, Severity::Error);
    let f = r
        .findings
        .iter()
        .find(|f| f.code == Code::ServerCertAsCa)
        .expect("finding");
    assert_eq!(f.subject.as_deref(), Some("CN=localhost, O=mqtls lab"));
    assert!(f.message.contains("CN=localhost"));
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
    // The leaf in the CA file anchors nothing; the one finding says why nothing verifies.
    let chain = r.server_chain.as_ref().expect("chain");
    assert!(chain.path[0].anchor() && !chain.anchored(), "{chain:?}");
    assert_eq!(r.findings.len(), 1, "{}", text(&r));

    let mut both = p.root.cert_pem.clone();
    both.extend_from_slice(&p.server.cert_pem);
    let ca = lab.write("root-and-server.crt", &both);
    let r = ca_server(&ca, fullchain(&p.server)).go();
    assert_finding(&r, Code::ServerCertAsCa, Severity::Warning);
    assert!(verdict(&r, Backend::Rustls) && verdict(&r, Backend::Openssl));
}

#[test]
fn intermediate_only_ca_file_splits_the_stacks() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.intermediate.cert, fullchain(&p.server)).go();
    assert_finding(&r, Code::IntermediateAsAnchor, Severity::Warning);
    assert!(verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(!verdict(&r, Backend::Openssl), "{}", text(&r));
    assert_finding(&r, Code::IntermediateAsAnchor, Severity::Error);
    // The CA file alone already says it.
    let r = Run {
        ca: vec![&p.intermediate.cert],
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::IntermediateAsAnchor, Severity::Warning);
    assert!(r.verification.is_empty() && !r.has_errors());
}

#[test]
fn expired_root_splits_the_stacks() {
    let lab = lab();
    let root = make(
        Spec {
            validity: ("20190101000000Z", "20200101000000Z"),
            ..spec("Old Root", true)
        },
        None,
    );
    let leaf = make(spec("localhost", false), Some(&root));
    let ca = lab.write("old-root.crt", &root.pem());
    let server = lab.write("old-leaf.crt", &leaf.pem());
    let r = ca_server(&ca, &server).go();
    assert_finding(&r, Code::ExpiredTrustAnchor, Severity::Error);
    assert!(verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(!verdict(&r, Backend::Openssl), "{}", text(&r));
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == Code::ExpiredTrustAnchor && f.message.contains("disagree"))
    );
}

#[test]
fn v1_root_in_ca_file_is_a_warning() {
    let lab = lab();
    let root = make(
        Spec {
            v1: true,
            ..spec("V1 Root", true)
        },
        None,
    );
    let ca = lab.write("v1-root.crt", &root.pem());
    let r = Run {
        ca: vec![&ca],
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::X509V1Cert, Severity::Warning);
    assert_no_finding(&r, Code::ServerCertAsCa);
}

#[test]
fn weak_signature_in_ca_file_and_in_server_chain() {
    let lab = lab();
    let sha1_root = make(
        Spec {
            digest: MessageDigest::sha1(),
            ..spec("SHA1 Root", true)
        },
        None,
    );
    let ca = lab.write("sha1-root.crt", &sha1_root.pem());
    let r = Run {
        ca: vec![&ca],
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::WeakSignature, Severity::Warning);

    let root = make(spec("Good Root", true), None);
    let leaf = make(
        Spec {
            digest: MessageDigest::sha1(),
            ..spec("localhost", false)
        },
        Some(&root),
    );
    let ca = lab.write("good-root.crt", &root.pem());
    let server = lab.write("sha1-leaf.crt", &leaf.pem());
    let r = ca_server(&ca, &server).go();
    assert_finding(&r, Code::WeakSignature, Severity::Error);
    assert!(!verdict(&r, Backend::Rustls), "{}", text(&r));
}

#[test]
fn weak_key_in_ca_file_and_in_server_chain() {
    let lab = lab();
    let small_root = make(
        Spec {
            key: rsa_key(1024),
            ..spec("Small Root", true)
        },
        None,
    );
    let ca = lab.write("small-root.crt", &small_root.pem());
    let r = Run {
        ca: vec![&ca],
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::WeakKey, Severity::Error);

    let root = make(spec("Good Root", true), None);
    let leaf = make(
        Spec {
            key: rsa_key(1024),
            ..spec("localhost", false)
        },
        Some(&root),
    );
    let ca = lab.write("good-root.crt", &root.pem());
    let server = lab.write("small-leaf.crt", &leaf.pem());
    let r = ca_server(&ca, &server).go();
    assert_finding(&r, Code::WeakKey, Severity::Error);
    // Offline, rustls never uses the leaf's own key; OpenSSL checks its size (level >= 2).
    assert!(verdict(&r, Backend::Rustls), "{}", text(&r));
    if !verdict(&r, Backend::Openssl) {
        let split = r.findings.iter().find(|f| f.message.contains("disagree"));
        assert_eq!(split.map(|f| f.code), Some(Code::WeakKey), "{}", text(&r));
    }
    // An intermediate with a small key: rustls cannot verify what it signed.
    let small_ca = make(
        Spec {
            key: rsa_key(1024),
            ..spec("Small Signing CA", true)
        },
        Some(&root),
    );
    let leaf = make(spec("localhost", false), Some(&small_ca));
    let mut chain = leaf.pem();
    chain.extend_from_slice(&small_ca.pem());
    let server = lab.write("small-ca-chain.crt", &chain);
    let r = ca_server(&ca, &server).go();
    assert_finding(&r, Code::WeakKey, Severity::Error);
    assert!(!verdict(&r, Backend::Rustls), "{}", text(&r));
}

// ---------------------------------------------------------------------------------------------
// The server chain.

#[test]
fn server_cert_expired_states_the_clock() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.root.cert, fullchain(&p.server_expired)).go();
    assert_finding(&r, Code::ServerCertExpired, Severity::Error);
    let f = &r.findings[0];
    let words = format!("{} {}", f.message, f.facts.join(" "));
    assert!(
        words.contains("2020-01-01") && words.contains("2025-06-01"),
        "{words}"
    );
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
}

#[test]
fn server_cert_not_yet_valid() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.root.cert, fullchain(&p.server_not_yet_valid)).go();
    assert_finding(&r, Code::ServerCertNotYetValid, Severity::Error);
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
}

#[test]
fn hostname_mismatch_and_ip_not_in_san() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        expect: Some("localhost"),
        ..ca_server(&p.root.cert, fullchain(&p.server_wrong_name))
    }
    .go();
    assert_finding(&r, Code::HostnameMismatch, Severity::Error);
    let f = &r.findings[0];
    assert!(f.message.contains("localhost") && f.message.contains("DNS:broker.example.com"));
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));

    let r = Run {
        expect: Some("127.0.0.1"),
        ..ca_server(&p.root.cert, fullchain(&p.server_wrong_name))
    }
    .go();
    assert_finding(&r, Code::IpNotInSan, Severity::Error);
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));

    // Without --expect-name the certificate's own first name is checked.
    let r = ca_server(&p.root.cert, fullchain(&p.server_wrong_name)).go();
    assert_eq!(r.name_checked.as_deref(), Some("broker.example.com"));
    assert!(!r.has_errors(), "{}", text(&r));
}

#[test]
fn wildcard_san_covers_one_label() {
    let lab = lab();
    let root = make(spec("Wild Root", true), None);
    let leaf = make(
        Spec {
            sans: &["*.example.com"],
            ..spec("wild", false)
        },
        Some(&root),
    );
    let ca = lab.write("wild-root.crt", &root.pem());
    let server = lab.write("wild.crt", &leaf.pem());
    let ok = Run {
        expect: Some("broker.example.com"),
        ..ca_server(&ca, &server)
    }
    .go();
    assert!(!ok.has_errors(), "{}", text(&ok));
    let deep = Run {
        expect: Some("a.broker.example.com"),
        ..ca_server(&ca, &server)
    }
    .go();
    assert_finding(&deep, Code::HostnameMismatch, Severity::Error);
    assert!(!verdict(&deep, Backend::Rustls) && !verdict(&deep, Backend::Openssl));
}

#[test]
fn ca_true_server_cert_splits_the_stacks() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        expect: Some("localhost"),
        ..ca_server(&p.server_ca_true.cert, &p.server_ca_true.cert)
    }
    .go();
    assert_finding(&r, Code::CaCertAsServerCert, Severity::Error);
    assert!(!verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(verdict(&r, Backend::Openssl), "{}", text(&r));
    // Trusted directly, so not "self-signed and not in the CA file".
    assert_no_finding(&r, Code::SelfSignedServerCert);
}

#[test]
fn server_eku_missing() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.root.cert, fullchain(&p.server_eku_client)).go();
    assert_finding(&r, Code::ServerEkuMissing, Severity::Error);
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
}

#[test]
fn self_signed_server_cert_not_in_ca_file() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.root.cert, &p.server_self_signed.cert).go();
    assert_finding(&r, Code::SelfSignedServerCert, Severity::Error);
    assert_eq!(
        r.server_chain.as_ref().map(|c| &c.end),
        Some(&PathEnd::UntrustedRoot)
    );
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
}

#[test]
fn same_subject_for_ca_and_server() {
    let lab = lab();
    let root = make(spec("localhost", true), None);
    let leaf = make(spec("localhost", false), Some(&root));
    let ca = lab.write("same-root.crt", &root.pem());
    let server = lab.write("same-leaf.crt", &leaf.pem());
    let r = ca_server(&ca, &server).go();
    // Different key identifiers tell them apart: both stacks accept, the finding warns.
    assert_finding(&r, Code::SameSubjectCaAndServer, Severity::Warning);
    assert!(verdict(&r, Backend::Rustls) && verdict(&r, Backend::Openssl));
    assert!(!r.has_errors(), "{}", text(&r));
    // Without key identifiers OpenSSL takes the leaf for self-signed; rustls checks signatures.
    let root = make(
        Spec {
            key_ids: false,
            ..spec("localhost", true)
        },
        None,
    );
    let leaf = make(
        Spec {
            key_ids: false,
            ..spec("localhost", false)
        },
        Some(&root),
    );
    let ca = lab.write("same-root2.crt", &root.pem());
    let server = lab.write("same-leaf2.crt", &leaf.pem());
    let r = ca_server(&ca, &server).go();
    assert_finding(&r, Code::SameSubjectCaAndServer, Severity::Error);
    assert_no_finding(&r, Code::SelfSignedServerCert);
    assert_eq!(r.server_chain.as_ref().map(|c| c.path.len()), Some(2));
    assert!(verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(!verdict(&r, Backend::Openssl), "{}", text(&r));
    let split = r.findings.iter().find(|f| f.message.contains("disagree"));
    assert_eq!(split.map(|f| f.code), Some(Code::SameSubjectCaAndServer));
}

#[test]
fn missing_intermediate_when_the_ca_file_holds_the_root() {
    let lab = lab();
    let p = &lab.pki;
    // The lab's folder holds the Signing CA beside root.crt: the path is verified through it.
    let r = ca_server(&p.root.cert, &p.server.cert).go();
    assert_finding(&r, Code::MissingIntermediate, Severity::Error);
    assert_no_finding(&r, Code::UnknownCa);
    let chain = r.server_chain.as_ref().expect("chain");
    assert_eq!(chain.end, PathEnd::Anchored { root: true }, "{}", text(&r));
    assert_eq!(chain.not_sent().len(), 1);
    assert_eq!(
        chain.not_sent()[0].cert.subject,
        "CN=mqtls Lab Signing CA, O=mqtls lab"
    );
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
    // The root alone in its own folder: the intermediate is found nowhere, so the reading is
    // only likely, with the other one and how to tell them apart.
    let alone = tempfile::tempdir().expect("tempdir");
    let root = alone.path().join("root.crt");
    std::fs::copy(&p.root.cert, &root).expect("copy");
    let r = ca_server(&root, &p.server.cert).go();
    assert_finding(&r, Code::MissingIntermediate, Severity::Error);
    assert!(
        matches!(
            r.server_chain.as_ref().map(|c| &c.end),
            Some(PathEnd::IssuerNotFound { issuer, .. }) if issuer == "CN=mqtls Lab Signing CA, O=mqtls lab"
        ),
        "{}",
        text(&r)
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.code == Code::MissingIntermediate)
        .expect("finding");
    assert!(
        f.facts.iter().any(|x| x.contains("unknown_ca")),
        "{}",
        text(&r)
    );
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
}

#[test]
fn unknown_ca_when_the_ca_file_is_another_pki() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.other_root.cert, fullchain(&p.server)).go();
    assert_finding(&r, Code::UnknownCa, Severity::Error);
    assert_no_finding(&r, Code::MissingIntermediate);
    // The other way round: a leaf of the other PKI against the lab root.
    let r = ca_server(&p.root.cert, &p.other_server.cert).go();
    assert_finding(&r, Code::UnknownCa, Severity::Error);
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
}

#[test]
fn issuer_not_ca() {
    let lab = lab();
    let p = &lab.pki;
    let r = ca_server(&p.root.cert, fullchain(&p.server_by_not_ca)).go();
    assert_finding(&r, Code::IssuerNotCa, Severity::Error);
    let f = r
        .findings
        .iter()
        .find(|f| f.code == Code::IssuerNotCa)
        .expect("finding");
    assert_eq!(
        f.subject.as_deref(),
        Some("CN=mqtls Lab Not-a-CA Issuer, O=mqtls lab")
    );
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
}

// ---------------------------------------------------------------------------------------------
// The client identity.

#[test]
fn client_key_mismatch() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        client: Some((&p.client.cert, &p.server.key)),
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::ClientKeyMismatch, Severity::Error);
    assert!(r.has_errors());
}

#[test]
fn client_key_encrypted_without_and_with_a_wrong_password() {
    let lab = lab();
    let p = &lab.pki;
    let key = PKey::private_key_from_pem(&p.client.key_pem).expect("key");
    let encrypted = key
        .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"secret")
        .expect("encrypt");
    let key_path = lab.write("client-encrypted.key", &encrypted);
    let mut run = Run {
        client: Some((&p.client.cert, &key_path)),
        ..Run::default()
    };
    assert_finding(&run.go(), Code::ClientKeyEncrypted, Severity::Error);
    run.password = Some("wrong");
    assert_finding(&run.go(), Code::ClientKeyEncrypted, Severity::Error);
    run.password = Some("secret");
    let r = run.go();
    assert!(r.findings.is_empty(), "{}", text(&r));
}

#[test]
fn client_key_and_cert_unusable() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        client: Some((&p.client.cert, &p.client.cert)),
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::ClientKeyUnusable, Severity::Error);
    let empty = lab.write("empty-client.crt", b"");
    let r = Run {
        client: Some((&empty, &p.client.key)),
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::ClientCertUnusable, Severity::Error);
    assert!(r.client_cert.is_none());
}

#[test]
fn client_cert_expired() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        client: Some((&p.server_expired.cert, &p.server_expired.key)),
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::ClientCertExpired, Severity::Error);
}

#[test]
fn client_cert_without_client_auth_or_v1_is_rejected() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        client: Some((&p.server.cert, &p.server.key)),
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::ClientCertRejected, Severity::Error);
    let f = &r.findings[0];
    assert!(f.message.contains("serverAuth") && f.message.contains("clientAuth"));

    let r = Run {
        client: Some((&p.server_v1.cert, &p.server_v1.key)),
        ..Run::default()
    }
    .go();
    assert_finding(&r, Code::ClientCertRejected, Severity::Warning);
    assert!(!r.has_errors(), "{}", text(&r));
}

// ---------------------------------------------------------------------------------------------
// Inputs and output.

#[test]
fn unreadable_or_certificate_less_files_are_errors() {
    let lab = lab();
    let p = &lab.pki;
    let missing = lab.path("missing.crt");
    let run = Run {
        ca: vec![&missing],
        ..Run::default()
    };
    let err = inspect(&run.input()).expect_err("missing CA file");
    assert!(err.to_string().contains("missing.crt"), "{err}");
    let run = ca_server(&p.root.cert, &missing);
    assert!(inspect(&run.input()).is_err());
    let run = ca_server(&p.root.cert, &p.server.key);
    let err = inspect(&run.input()).expect_err("key as server cert");
    assert!(err.to_string().contains("private key"), "{err}");
}

#[test]
fn renders_text_and_json() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        expect: Some("localhost"),
        ..ca_server(&p.root.cert, fullchain(&p.server_v1))
    }
    .go();
    let t = text(&r);
    for needle in [
        "mqtls inspect (clock: 2025-06-01T00:00:00Z)",
        "CN=mqtls Lab Root CA, O=mqtls lab — self-signed root CA",
        "(the CA file ",
        "ends at a trusted root",
        "rustls   rejects",
        "openssl  accepts",
        "[x509_v1_cert]",
    ] {
        assert!(t.contains(needle), "{needle:?} not in:\n{t}");
    }
    let mut json = Vec::new();
    render_json(&r, &mut json).expect("json");
    let back: InspectReport = serde_json::from_slice(&json).expect("round trip");
    assert_eq!(back, r);
    let value: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["verification"][0]["backend"], "rustls");
    assert_eq!(value["server_chain"]["end"]["kind"], "anchored");
    assert!(
        value["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "x509_v1_cert" && f["severity"] == "error")
    );
}

#[test]
fn system_store_without_ca_file() {
    let lab = lab();
    let p = &lab.pki;
    let r = Run {
        server: Some(fullchain(&p.server)),
        ..Run::default()
    }
    .go();
    assert!(r.ca_file.is_none());
    assert!(
        matches!(
            r.server_chain.as_ref().map(|c| &c.end),
            Some(PathEnd::IssuerNotFound { issuer, .. }) if issuer == "CN=mqtls Lab Root CA, O=mqtls lab"
        ),
        "{}",
        text(&r)
    );
    assert!(!verdict(&r, Backend::Rustls) && !verdict(&r, Backend::Openssl));
    assert_finding(&r, Code::UnknownCa, Severity::Error);
}

#[test]
fn ip_only_sans_fall_back_to_the_cn_in_openssl_only() {
    let lab = lab();
    let root = make(spec("IP Root", true), None);
    // `make` writes DNS SANs only; this leaf has CN=localhost and an IP SAN, nothing else.
    let key = ec_key();
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "localhost").expect("cn");
    let name = name.build();
    let mut x = X509Builder::new().expect("builder");
    x.set_version(2).expect("v3");
    x.set_serial_number(&Asn1Integer::from_bn(&BigNum::from_u32(7).expect("bn")).expect("int"))
        .expect("serial");
    x.set_subject_name(&name).expect("subject");
    x.set_issuer_name(root.cert.subject_name()).expect("issuer");
    x.set_pubkey(&key).expect("pubkey");
    x.set_not_before(&Asn1Time::from_str_x509("20240101000000Z").expect("nb"))
        .expect("nb");
    x.set_not_after(&Asn1Time::from_str_x509("40960101000000Z").expect("na"))
        .expect("na");
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .build(&x.x509v3_context(Some(&root.cert), None))
        .expect("san");
    x.append_extension(san).expect("san");
    x.sign(&root.key, MessageDigest::sha256()).expect("sign");
    let ca = lab.write("ip-root.crt", &root.pem());
    let server = lab.write("ip-only.crt", &x.build().to_pem().expect("pem"));
    let r = Run {
        expect: Some("localhost"),
        ..ca_server(&ca, &server)
    }
    .go();
    assert_finding(&r, Code::CnOnlyNoSan, Severity::Error);
    assert_no_finding(&r, Code::HostnameMismatch);
    assert!(!verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(verdict(&r, Backend::Openssl), "{}", text(&r));
    // By IP it is fine for both.
    let r = Run {
        expect: Some("127.0.0.1"),
        ..ca_server(&ca, &server)
    }
    .go();
    assert!(!r.has_errors(), "{}", text(&r));
}

/// Chains both stacks refuse for a reason the file checks do not look for: the finding follows
/// the stacks' own reason (the mapping the probe uses), not `unclassified`.
#[test]
fn the_stacks_reasons_name_the_finding() {
    let lab = lab();
    let p = &lab.pki;
    let rows = [
        (&p.server_outside_constraints, Code::NameConstraintViolation),
        (&p.server_below_pathlen, Code::PathLengthExceeded),
        (&p.server_by_client_only_ca, Code::IntermediateEkuMissing),
        (&p.server_unknown_critical, Code::UnknownCriticalExtension),
        (&p.server_bad_signature, Code::BadSignature),
    ];
    for (files, code) in rows {
        let r = ca_server(&p.root.cert, fullchain(files)).go();
        assert!(
            !verdict(&r, Backend::Rustls),
            "{}: {}",
            files.stem,
            text(&r)
        );
        assert!(
            !verdict(&r, Backend::Openssl),
            "{}: {}",
            files.stem,
            text(&r)
        );
        assert_finding(&r, code, Severity::Error);
        assert_no_finding(&r, Code::Unclassified);
    }
    // Only rustls refuses the BER boolean: the disagreement names rustls's reason.
    let r = ca_server(&p.root.cert, fullchain(&p.server_ber_boolean)).go();
    assert!(!verdict(&r, Backend::Rustls), "{}", text(&r));
    assert!(verdict(&r, Backend::Openssl), "{}", text(&r));
    assert_finding(&r, Code::MalformedCertificate, Severity::Error);
    let split = r
        .findings
        .iter()
        .find(|f| f.message.contains("disagree"))
        .expect("disagreement finding");
    assert_eq!(split.code, Code::MalformedCertificate);
    assert!(
        split
            .message
            .contains("openssl accepts it, rustls rejects it"),
        "{}",
        split.message
    );
}
