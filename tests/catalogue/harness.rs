//! How the catalogue table runs: the [`Case`] row and its builders, the concurrent runner,
//! the per-backend assertions, and the servers and files the rows refer to.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::Backend;
use mqtls::inputs::{self, InputPaths};
use mqtls::lab::responder::{SniPolicy, TlsOptions};
use mqtls::lab::{
    Behaviour, ClientAuth, Mosquitto, MqttBehaviour, Responder, ServerStack, TlsServer,
    TlsVersion as ServerVersion,
};
use mqtls::pki::{self, CertFiles, Pki};
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion};
use mqtls::probe::{ProbeRequest, TlsVersion};
use mqtls::report::{DiagnoseReport, Outcome};
use mqtls::target::Target;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Per-phase deadline of every probe. No case is about a timeout; this is headroom for many
/// handshakes at once on two cores.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Cases in flight at once: each runs two probes and possibly a few follow-up handshakes.
const PARALLEL: usize = 6;
/// Both stacks' `[rustls, openssl]` order, as reports list them.
const ORDER: [Backend; 2] = [Backend::Rustls, Backend::Openssl];

/// Where a case's server comes from.
#[derive(Clone, Copy)]
pub enum Server {
    /// An in-process responder on this stack.
    Lab(ServerStack, fn(&Pki, ServerStack) -> Behaviour),
    /// The listener of the shared mosquitto with this name.
    Mosquitto(&'static str),
}

/// An extra assertion on a report; returns what is wrong.
pub type Check = fn(&DiagnoseReport) -> Result<(), String>;

/// A path derived from the PKI.
pub type PathOf = fn(&Pki) -> PathBuf;

/// One row of the table.
pub struct Case {
    pub name: &'static str,
    pub server: Server,
    pub host: &'static str,
    pub sni: bool,
    pub cafile: PathOf,
    pub identity: Option<(PathOf, PathOf)>,
    pub key_password: Option<&'static str>,
    pub tls_versions: &'static [TlsVersion],
    pub alpn: &'static [&'static str],
    pub mqtt: MqttVersion,
    pub login: Option<(&'static str, &'static str)>,
    /// `[rustls, openssl]`.
    pub expect: [Code; 2],
    /// When the codes differ: words the `disagreement` text must contain.
    pub why: &'static [&'static str],
    /// In a ⚡ pair, whether the backend that connected carries the other's code as a warning.
    pub warns: bool,
    pub check: Option<Check>,
}

impl Case {
    /// Both backends get `code`.
    pub fn both(name: &'static str, server: Server, code: Code) -> Case {
        Case::split(name, server, [code, code], &[])
    }

    /// rustls gets `expect[0]`, OpenSSL `expect[1]`; `why` explains the difference.
    pub fn split(
        name: &'static str,
        server: Server,
        expect: [Code; 2],
        why: &'static [&'static str],
    ) -> Case {
        Case {
            name,
            server,
            host: "localhost",
            sni: true,
            cafile: |p| p.root.cert.clone(),
            identity: None,
            key_password: None,
            tls_versions: &[],
            alpn: &[],
            mqtt: MqttVersion::V311,
            login: None,
            expect,
            why,
            warns: true,
            check: None,
        }
    }

    /// The backend that connected has no warning for the other's code (see the row's comment).
    pub fn no_warning(self) -> Case {
        Case {
            warns: false,
            ..self
        }
    }

    pub fn cafile(self, cafile: PathOf) -> Case {
        Case { cafile, ..self }
    }

    pub fn identity(self, cert: PathOf, key: PathOf) -> Case {
        Case {
            identity: Some((cert, key)),
            ..self
        }
    }

    pub fn key_password(self, password: &'static str) -> Case {
        Case {
            key_password: Some(password),
            ..self
        }
    }

    pub fn host(self, host: &'static str) -> Case {
        Case { host, ..self }
    }

    pub fn no_sni(self) -> Case {
        Case { sni: false, ..self }
    }

    pub fn versions(self, tls_versions: &'static [TlsVersion]) -> Case {
        Case {
            tls_versions,
            ..self
        }
    }

    pub fn alpn(self, alpn: &'static [&'static str]) -> Case {
        Case { alpn, ..self }
    }

    pub fn mqtt(self, mqtt: MqttVersion) -> Case {
        Case { mqtt, ..self }
    }

    pub fn login(self, user: &'static str, password: &'static str) -> Case {
        Case {
            login: Some((user, password)),
            ..self
        }
    }

    pub fn check(self, check: Check) -> Case {
        Case {
            check: Some(check),
            ..self
        }
    }

    pub fn label(&self) -> String {
        match self.server {
            Server::Lab(stack, _) => format!("{} [{stack:?} server]", self.name),
            Server::Mosquitto(listener) => format!("{} [mosquitto {listener}]", self.name),
        }
    }
}

/// Runs `cases` a few at a time and fails once at the end with every mismatch.
pub async fn run_table(cases: Vec<Case>, pki: Arc<Pki>, broker: Option<Arc<Mosquitto>>) {
    assert!(!cases.is_empty());
    let started = Instant::now();
    let total = cases.len();
    let gate = Arc::new(Semaphore::new(PARALLEL));
    let mut set = JoinSet::new();
    for case in cases {
        let (gate, pki, broker) = (Arc::clone(&gate), Arc::clone(&pki), broker.clone());
        set.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore");
            let t = Instant::now();
            let result = run_case(&case, &pki, broker.as_deref()).await;
            (case.label(), t.elapsed(), result)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (label, took, result) = joined.expect("case task");
        // Shown with --nocapture: the table as it ran.
        match &result {
            Ok(line) => eprintln!("{label}: {line} ({took:?})"),
            Err(e) => {
                eprintln!("{label}: FAILED ({took:?})");
                failures.push(format!("{label}: {e}"));
            }
        }
    }
    eprintln!("{total} cases in {:?}", started.elapsed());
    let log = broker.map(|b| tail(&b.log(), 40)).unwrap_or_default();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}\n{log}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Runs one case; on success returns the one-line summary of its codes.
async fn run_case(case: &Case, pki: &Pki, broker: Option<&Mosquitto>) -> Result<String, String> {
    let (port, _responder) = match case.server {
        Server::Lab(stack, make) => {
            let r = Responder::start(make(pki, stack))
                .await
                .map_err(|e| format!("responder: {e}"))?;
            (r.port(), Some(r))
        }
        Server::Mosquitto(listener) => {
            let broker = broker.ok_or("no broker")?;
            let port = broker
                .port(listener)
                .ok_or_else(|| format!("no listener {listener:?}"))?;
            (port, None)
        }
    };
    let paths = InputPaths {
        cafiles: vec![(case.cafile)(pki)],
        cert: case.identity.map(|(cert, _)| cert(pki)),
        key: case.identity.map(|(_, key)| key(pki)),
        key_password: case.key_password.map(str::to_string),
        untrusted: Vec::new(),
        offline: false,
        psk: None,
    };
    let loaded = inputs::load(&paths).map_err(|e| format!("inputs: {e}"))?;
    let target = Target::parse(&format!("{}:{port}", case.host)).expect("target");
    // Like the CLI: SNI is the host name, never an IP literal.
    let sni = (case.sni && target.ip().is_none()).then(|| case.host.to_string());
    let request = ProbeRequest {
        target,
        sni,
        expect_name: case.host.to_string(),
        tls_versions: case.tls_versions.to_vec(),
        alpn: case.alpn.iter().map(|a| a.to_string()).collect(),
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
    check_report(&report, case).map_err(|e| format!("{e}\n{}", describe(&report)))?;
    if let Some(check) = case.check {
        check(&report).map_err(|e| format!("{e}\n{}", describe(&report)))?;
    }
    let codes = format!("rustls={} openssl={}", case.expect[0], case.expect[1]);
    Ok(match &report.disagreement {
        Some(why) => format!("{codes} ⚡ {why}"),
        None => codes,
    })
}

/// The codes per backend, `agreement`, the outcomes and, for a disagreement, its text.
fn check_report(report: &DiagnoseReport, case: &Case) -> Result<(), String> {
    let order: Vec<Backend> = report.backends.iter().map(|b| b.backend).collect();
    if order != ORDER {
        return Err(format!("backends {order:?}"));
    }
    let codes: Vec<Code> = report.backends.iter().map(|b| b.diagnosis.code).collect();
    if codes != case.expect {
        return Err(format!(
            "expected rustls={} openssl={}",
            case.expect[0], case.expect[1]
        ));
    }
    for b in &report.backends {
        let want = if b.diagnosis.code == Code::Ok {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        if b.outcome != want {
            return Err(format!("{}: outcome {:?}", b.backend, b.outcome));
        }
    }
    let agree = case.expect[0] == case.expect[1];
    if report.agreement != agree {
        return Err(format!("agreement {} (expected {agree})", report.agreement));
    }
    match (&report.disagreement, agree) {
        (None, true) => Ok(()),
        (Some(text), false) => {
            let missing: Vec<&&str> = case.why.iter().filter(|w| !text.contains(**w)).collect();
            if case.why.is_empty() || !missing.is_empty() {
                return Err(format!(
                    "disagreement {text:?} does not mention {missing:?} (of {:?})",
                    case.why
                ));
            }
            if case.warns {
                check_warning(report)
            } else {
                Ok(())
            }
        }
        (other, _) => Err(format!("disagreement {other:?}")),
    }
}

/// In a ⚡ pair the backend that connected carries the other's code as a warning: it works
/// here and will break the other stack.
fn check_warning(report: &DiagnoseReport) -> Result<(), String> {
    let [a, b] = &report.backends[..] else {
        return Err("two backends".into());
    };
    let (ok, failed) = match (a.outcome, b.outcome) {
        (Outcome::Ok, Outcome::Failed) => (a, b),
        (Outcome::Failed, Outcome::Ok) => (b, a),
        _ => return Ok(()),
    };
    if ok.warnings.contains(&failed.diagnosis.code) {
        Ok(())
    } else {
        Err(format!(
            "{} connected without warning {} (warnings {:?})",
            ok.backend, failed.diagnosis.code, ok.warnings
        ))
    }
}

/// The SNI follow-up ran with the name and completed the handshake.
pub fn check_sni_follow_up(report: &DiagnoseReport) -> Result<(), String> {
    match &report.follow_ups.sni {
        Some(p) if p.sni.as_deref() == Some("localhost") && p.completed => Ok(()),
        other => Err(format!("SNI follow-up {other:?}")),
    }
}

/// Every failed backend's summary names each of `words` (which certificate, which value).
pub fn summary_mentions(report: &DiagnoseReport, words: &[&str]) -> Result<(), String> {
    for b in report
        .backends
        .iter()
        .filter(|b| b.outcome == Outcome::Failed)
    {
        let missing: Vec<&&str> = words
            .iter()
            .filter(|w| !b.diagnosis.summary.contains(**w))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{} summary {:?} lacks {missing:?}",
                b.backend, b.diagnosis.summary
            ));
        }
    }
    Ok(())
}

fn describe(report: &DiagnoseReport) -> String {
    let mut lines: Vec<String> = report
        .backends
        .iter()
        .map(|b| {
            format!(
                "  {}: code={} outcome={:?} phase={:?} tls={:?} alert={:?} warnings={:?} \
                 raw_error={:?}",
                b.backend,
                b.diagnosis.code,
                b.outcome,
                b.phase,
                b.tls.version,
                b.alerts.received,
                b.warnings,
                b.raw_error
            )
        })
        .collect();
    lines.push(format!(
        "  agreement={} disagreement={:?}",
        report.agreement, report.disagreement
    ));
    lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// Servers and files.
// ---------------------------------------------------------------------------------------------

pub const EMPTY_FILE: &str = "empty.crt";
pub const GARBAGE_FILE: &str = "garbage.key";

/// The lab PKI plus the broken files the local cases need.
pub fn lab_pki(dir: &std::path::Path) -> Pki {
    let pki = pki::generate(dir).expect("pki");
    std::fs::write(pki.dir.join(EMPTY_FILE), b"").expect("empty file");
    std::fs::write(
        pki.dir.join(GARBAGE_FILE),
        b"this is not a key\n\x00\x01\x02",
    )
    .expect("garbage file");
    pki
}

/// A case on the in-process responder's OpenSSL stack (the library mosquitto uses). The
/// server stack matters only for the broker's verdict on client certificates, and those
/// cases are listed once per stack.
pub fn lab(make: fn(&Pki, ServerStack) -> Behaviour) -> Server {
    Server::Lab(ServerStack::Openssl, make)
}

/// A setup only the OpenSSL stack can serve (TLS 1.1, cipher lists, SNI callbacks, security
/// level 0 for SHA-1 and RSA-1024 certificates); `make` ignores its stack argument.
pub fn openssl_lab(make: fn(&Pki, ServerStack) -> Behaviour) -> Server {
    Server::Lab(ServerStack::Openssl, make)
}

pub fn tls(server: TlsServer) -> Behaviour {
    Behaviour::Tls(server)
}

pub fn tls_with(server: TlsServer, options: TlsOptions) -> Behaviour {
    Behaviour::TlsWith(server, options)
}

pub fn serving(cert: &CertFiles, stack: ServerStack) -> TlsServer {
    TlsServer {
        stack,
        chain_pem: cert.chain_pem().to_vec(),
        key_pem: cert.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }
}

/// `require_certificate true`, trusting the lab root.
pub fn mtls(pki: &Pki, stack: ServerStack) -> TlsServer {
    TlsServer {
        client_auth: ClientAuth::Required {
            ca_pem: pki.root.cert_pem.clone(),
        },
        ..serving(&pki.server, stack)
    }
}

pub fn with_mqtt(pki: &Pki, stack: ServerStack, mqtt: MqttBehaviour) -> TlsServer {
    TlsServer {
        mqtt,
        ..serving(&pki.server, stack)
    }
}

/// A TLS 1.1-only broker (the responder lowers its security level to 0 for it).
pub fn legacy(pki: &Pki) -> TlsServer {
    TlsServer {
        versions: vec![ServerVersion::Tls11],
        ..serving(&pki.server, ServerStack::Openssl)
    }
}

/// Security level 0, so the OpenSSL server loads SHA-1 and RSA-1024 certificates.
pub fn level0() -> TlsOptions {
    TlsOptions {
        security_level: Some(0),
        ..TlsOptions::default()
    }
}

pub fn sni_options(sni: SniPolicy) -> TlsOptions {
    TlsOptions {
        sni,
        ..TlsOptions::default()
    }
}

/// A chain the lab table does not hold, built under the lab root: `cas` CAs in a line (the
/// first issued by the root, each next by the one before), their keys from `ca_key`, then a
/// localhost leaf (EC P-256, serverAuth) from the last. Serves the leaf, then the CAs nearest
/// first. Built with OpenSSL, which signs with any key (Ed448 included), at each call.
pub fn built_chain(
    pki: &Pki,
    stack: ServerStack,
    cas: usize,
    ca_key: fn() -> PKey<Private>,
) -> TlsServer {
    let mut issuer_cert = X509::from_pem(&pki.root.cert_pem).expect("root");
    let mut issuer_key = PKey::private_key_from_pem(&pki.root.key_pem).expect("root key");
    let mut chain = Vec::new();
    for i in 1..=cas {
        let key = ca_key();
        let cert = sign(
            &format!("mqtls Lab Line CA {i}"),
            &key,
            &issuer_cert,
            &issuer_key,
            true,
        );
        chain.push(cert.clone());
        (issuer_cert, issuer_key) = (cert, key);
    }
    let leaf_key = p256_key();
    let leaf = sign("localhost", &leaf_key, &issuer_cert, &issuer_key, false);
    let mut chain_pem = leaf.to_pem().expect("pem");
    for ca in chain.iter().rev() {
        chain_pem.extend(ca.to_pem().expect("pem"));
    }
    TlsServer {
        chain_pem,
        key_pem: leaf_key.private_key_to_pem_pkcs8().expect("key"),
        ..serving(&pki.server, stack)
    }
}

/// One certificate of [`built_chain`]: a CA without path length, or the localhost leaf.
fn sign(
    cn: &str,
    key: &PKey<Private>,
    issuer: &X509,
    issuer_key: &PKey<Private>,
    ca: bool,
) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    name.append_entry_by_text("O", pki::LAB_ORG).expect("o");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("v3");
    let serial = BigNum::from_u32(rand_serial()).and_then(|n| n.to_asn1_integer());
    b.set_serial_number(&serial.expect("serial"))
        .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.subject_name()).expect("issuer");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("now"))
        .expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(365).expect("later"))
        .expect("na");
    let context = b.x509v3_context(Some(issuer), None);
    let ski = SubjectKeyIdentifier::new().build(&context).expect("ski");
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&context)
        .expect("aki");
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&context)
        .expect("san");
    b.append_extension(ski).expect("ski");
    b.append_extension(aki).expect("aki");
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
            .expect("bc");
        let usage = KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build();
        b.append_extension(usage.expect("ku")).expect("ku");
    } else {
        b.append_extension(BasicConstraints::new().critical().build().expect("bc"))
            .expect("bc");
        b.append_extension(san).expect("san");
        let eku = ExtendedKeyUsage::new().server_auth().build().expect("eku");
        b.append_extension(eku).expect("eku");
    }
    // Ed25519/Ed448 sign without a separate digest.
    let digest = match issuer_key.id() {
        Id::ED25519 | Id::ED448 => MessageDigest::null(),
        _ => MessageDigest::sha256(),
    };
    b.sign(issuer_key, digest).expect("sign");
    b.build()
}

/// Serials need only differ between the certificates of one run.
fn rand_serial() -> u32 {
    let mut bytes = [0u8; 4];
    openssl::rand::rand_bytes(&mut bytes).expect("rand");
    u32::from_be_bytes(bytes) >> 1
}

/// An EC P-256 key (what every lab CA has).
pub fn p256_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey")
}

/// An Ed448 key: OpenSSL signs and verifies with it; rustls implements no Ed448 at all.
pub fn ed448_key() -> PKey<Private> {
    PKey::generate_ed448().expect("ed448")
}

pub fn encrypted_key(pki: &Pki) -> PathBuf {
    pki.client
        .encrypted_key
        .clone()
        .expect("client-encrypted.key")
}

/// Broker tests run wherever mosquitto exists; in CI a missing broker is a failure.
pub fn mosquitto_available() -> bool {
    mqtls::lab::broker_available(mqtls::lab::BrokerKind::Mosquitto, "catalogue_on_mosquitto")
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
