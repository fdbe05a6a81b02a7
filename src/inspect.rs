//! `mqtls inspect`: the offline preflight of the user's own TLS files.
//!
//! Everything that can be known before connecting: what the CA file, the broker's certificate
//! chain (`--server-cert`, as the broker's `certfile` would send it) and the client identity
//! hold, how the chain links up to the CA file, and which catalogue problems they carry
//! (expiry against the clock passed in, SANs vs the name to check, X.509 v1, CA flags, EKU,
//! weak signatures and keys, key/certificate match). The chain is then verified offline by
//! both stacks, rustls (webpki) and OpenSSL (`X509_verify_cert`), and where they disagree a
//! finding says which accepts and why.
//!
//! The module reads files only through [`inputs::load`] and the one `--server-cert` file, never
//! touches the network and never reads the clock: `checked_at` comes from the caller. Reports
//! are rendered by [`render_text`] and [`render_json`]; only the caller writes them out.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openssl::error::ErrorStack;
use openssl::ssl::{SslContext, SslMethod};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509PurposeId, X509StoreContext};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde::{Deserialize, Serialize};

use crate::classify::{DiagnosisCode as Code, IdentityProblem, TrustFacts, TrustSource};
use crate::error::Error;
use crate::evidence::Backend;
use crate::inputs::{self, InputPaths};
use crate::probe::Anchors;
use crate::report::{SCHEMA_VERSION, Tool};
use crate::x509::{CertSummary, dn_without_cn, read_pem, rfc3339};

/// What to inspect: the user's files and the clock to check them against.
#[derive(Debug, Clone, Default)]
pub struct InspectInput {
    /// `--cafile` (empty: the system trust store), `--cert`, `--key` and the key's password.
    /// The client identity is checked only when both `--cert` and `--key` are given (that is
    /// how [`inputs::load`] reads it).
    pub paths: InputPaths,
    /// `--server-cert`: the broker's certificate file (PEM, leaf first, then intermediates).
    pub server_cert: Option<PathBuf>,
    /// `--expect-name`: the host name or IP address clients connect to.
    pub expect_name: Option<String>,
    /// The clock used for every validity check, UNIX seconds (passed in, never read here).
    pub checked_at: i64,
}

/// The result of `mqtls inspect`: what each file holds, the findings and the stacks' verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InspectReport {
    /// Version of this document's shape (shared with `diagnose`).
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// The clock used, RFC 3339.
    pub checked_at: String,
    /// The name the server certificate was checked against: `--expect-name`, else the leaf's
    /// first DNS (or IP) SAN, else its CN. `None` without `--server-cert`.
    pub name_checked: Option<String>,
    /// The CA file(s); `None` when the system trust store is used.
    pub ca_file: Option<FileReport>,
    /// The broker's certificate file.
    pub server_cert: Option<FileReport>,
    /// How the broker's chain links up to the CA file.
    pub server_chain: Option<ChainExplained>,
    /// The client certificate file.
    pub client_cert: Option<FileReport>,
    /// Problems found, in the order checked (CA file, server chain, verification, client).
    pub findings: Vec<Finding>,
    /// Offline verification of the server chain by each stack (empty without `--server-cert`).
    pub verification: Vec<StackVerdict>,
}

impl InspectReport {
    /// True when a finding is an error or a stack rejects the server chain (exit code 1).
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
            || self.verification.iter().any(|v| !v.ok)
    }
}

/// One file (or several `--cafile`s) and the certificates it holds, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileReport {
    /// The path as given (several CA files are joined with `, `).
    pub path: String,
    /// The certificates.
    pub certs: Vec<CertSummary>,
}

/// One problem in the user's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// The catalogue code.
    pub code: Code,
    /// Whether it breaks connections (`error`) or only some stacks or clients (`warning`).
    pub severity: Severity,
    /// The subject DN of the certificate concerned, when there is one.
    pub subject: Option<String>,
    /// What is wrong: the file, the subject, expected vs presented.
    pub message: String,
    /// What to change, when the fix is clear.
    pub remedy: Option<String>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Connections will fail (on at least one stack).
    Error,
    /// Worth fixing; breaks some clients or stacks, or only in some setups.
    Warning,
}

/// One stack's offline verdict on the server chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StackVerdict {
    /// The stack.
    pub backend: Backend,
    /// True when it accepts the chain for the name checked at the clock used.
    pub ok: bool,
    /// Its error text (OpenSSL: the verify error, its number and depth).
    pub error: Option<String>,
}

/// The path from the broker's leaf up to a trust anchor, as far as it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChainExplained {
    /// Leaf first; each next step is the issuer of the one before.
    pub steps: Vec<ChainStep>,
    /// Why the path stops where it stops.
    pub end: ChainEnd,
}

/// One certificate of the path and where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChainStep {
    /// Its subject.
    pub subject: String,
    /// Its index in the server certificate file, if it is there.
    pub server_file_index: Option<usize>,
    /// Its index in the CA file, if it is there.
    pub ca_file_index: Option<usize>,
    /// True when the CA file holds it and it can anchor a chain (a CA or self-signed; an
    /// end-entity certificate in the CA file anchors nothing in either stack).
    pub trust_anchor: bool,
}

/// How the path ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainEnd {
    /// At a CA or self-signed certificate the CA file holds.
    Anchored,
    /// At a self-signed certificate the CA file does not hold.
    UntrustedSelfSigned,
    /// The next issuer is neither in the server file nor in the CA file.
    IssuerMissing {
        /// The missing issuer's DN.
        issuer: String,
    },
    /// The trust store is the system's: whether it holds `issuer` the stacks' verdicts say.
    SystemStore {
        /// The DN the system store must hold.
        issuer: String,
    },
    /// The path got longer than any real chain (a loop of names).
    TooLong,
}

/// Inspects the user's files. `Err` only when a file cannot be read, or when `--server-cert`
/// holds no certificate at all (exit code 2); every problem inside the files is a finding.
pub fn inspect(input: &InspectInput) -> Result<InspectReport, Error> {
    let loaded = inputs::load(&input.paths)?;
    let server = input
        .server_cert
        .as_ref()
        .map(read_server_cert)
        .transpose()?;
    let mut findings = Vec::new();
    check_ca_file(&loaded.trust, input.checked_at, &mut findings);

    let mut name_checked = None;
    let mut server_chain = None;
    let mut verification = Vec::new();
    if let Some(server) = &server {
        let name = name_to_check(input.expect_name.as_deref(), &server.summaries[0]);
        let server_held: Vec<Held<'_>> = server
            .summaries
            .iter()
            .zip(&server.ders)
            .map(|(summary, der)| Held {
                summary,
                der: Some(der),
            })
            .collect();
        let anchor_ders = match &loaded.tls.anchors {
            Anchors::Certs(certs) => certs.as_slice(),
            Anchors::System => &[],
        };
        // `inputs::load` summarises the CA file's certificates in the order it parsed them.
        let anchors_held: Vec<Held<'_>> = loaded
            .trust
            .certs
            .iter()
            .enumerate()
            .map(|(i, summary)| Held {
                summary,
                der: anchor_ders.get(i),
            })
            .collect();
        let chain = explain_chain(&server_held, &loaded.trust, &anchors_held);
        let cx = ServerContext {
            file: &server.path,
            certs: &server.summaries,
            trust: &loaded.trust,
            chain: &chain,
            expect_name: input.expect_name.as_deref(),
            checked_at: input.checked_at,
            security_level: openssl_security_level(),
        };
        check_server(&cx, &mut findings);
        verification = vec![
            verify_rustls(
                &loaded.tls.anchors,
                &server.ders,
                name.as_deref(),
                input.checked_at,
            ),
            verify_openssl(
                &loaded.tls.anchors,
                &server.ders,
                name.as_deref(),
                input.checked_at,
            ),
        ];
        explain_verdicts(&cx, &verification, &mut findings);
        name_checked = name;
        server_chain = Some(chain);
    }

    let client_path = input.paths.cert.as_ref().map(|p| p.display().to_string());
    if let Some(problem) = &loaded.identity_problem {
        findings.push(identity_finding(problem, loaded.client_cert.as_ref()));
    }
    if let (Some(cert), Some(path)) = (&loaded.client_cert, &client_path) {
        check_client(cert, path, input.checked_at, &mut findings);
    }
    let client_cert = client_path
        .filter(|_| loaded.client_cert.is_some())
        .map(|path| {
            // The whole chain when the identity loaded; otherwise what `load` summarised.
            let certs = match &loaded.tls.identity {
                Some(id) => id.chain.iter().map(|c| CertSummary::from_der(c)).collect(),
                None => loaded.client_cert.iter().cloned().collect(),
            };
            FileReport { path, certs }
        });
    let ca_file = match &loaded.trust.source {
        TrustSource::Files { .. } => Some(FileReport {
            path: loaded.trust.describe(),
            certs: loaded.trust.certs.clone(),
        }),
        TrustSource::System => None,
    };
    Ok(InspectReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        checked_at: rfc3339(input.checked_at),
        name_checked,
        ca_file,
        server_cert: server.map(|s| FileReport {
            path: s.path,
            certs: s.summaries,
        }),
        server_chain,
        client_cert,
        findings,
        verification,
    })
}

/// Writes the report for a person at a terminal (no colour).
pub fn render_text(r: &InspectReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "mqtls inspect (clock: {})", r.checked_at)?;
    match &r.ca_file {
        Some(ca) => write_file(out, "CA file", ca, |c| ca_role(c, &ca.certs))?,
        None => writeln!(out, "\nCA file: none given; the system trust store is used")?,
    }
    if let Some(server) = &r.server_cert {
        write_file(out, "Server certificate", server, |c| {
            leaf_role(c, &server.certs)
        })?;
    }
    if let (Some(chain), Some(server)) = (&r.server_chain, &r.server_cert) {
        write_chain(out, chain, server)?;
    }
    if let Some(client) = &r.client_cert {
        write_file(out, "Client certificate", client, |c| {
            leaf_role(c, &client.certs)
        })?;
    }
    if !r.verification.is_empty() {
        writeln!(
            out,
            "\nOffline verification of the server chain (name checked: {})",
            r.name_checked.as_deref().unwrap_or("none")
        )?;
        for v in &r.verification {
            match &v.error {
                None => writeln!(out, "  {:<8} accepts", v.backend.name())?,
                Some(e) => writeln!(out, "  {:<8} rejects: {e}", v.backend.name())?,
            }
        }
    }
    if r.findings.is_empty() {
        writeln!(out, "\nNo problems found.")?;
        return Ok(());
    }
    writeln!(out, "\nFindings")?;
    for f in &r.findings {
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(out, "  {severity:<7} [{}] {}", f.code, f.message)?;
        if let Some(remedy) = &f.remedy {
            writeln!(out, "          → {remedy}")?;
        }
    }
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    writeln!(
        out,
        "\n{errors} error(s), {} warning(s)",
        r.findings.len() - errors
    )
}

/// Writes the report as pretty JSON with a trailing newline.
pub fn render_json(r: &InspectReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r).map_err(io::Error::other)?;
    writeln!(out)
}

/// True when one of `sans` (`DNS:x` / `IP:x`, as [`CertSummary::sans`]) covers `name`: exact
/// DNS names case-insensitively, a `*.` wildcard for exactly one left-most label, IP addresses
/// only against `IP:` entries.
pub fn san_covers(sans: &[String], name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = name.parse::<IpAddr>() {
        return sans
            .iter()
            .filter_map(|s| s.strip_prefix("IP:"))
            .any(|s| s.parse::<IpAddr>().is_ok_and(|san| san == ip));
    }
    sans.iter()
        .filter_map(|s| s.strip_prefix("DNS:"))
        .any(|pattern| dns_matches(pattern, name))
}

fn dns_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        // The wildcard stands for one whole non-empty label, and needs two labels after it.
        Some(rest) => {
            rest.contains('.')
                && name
                    .split_once('.')
                    .is_some_and(|(label, tail)| !label.is_empty() && tail == rest)
        }
        None => !pattern.is_empty() && pattern == name,
    }
}

/// The `--server-cert` file, read and parsed once.
struct ServerFile {
    path: String,
    ders: Vec<CertificateDer<'static>>,
    /// Same order as `ders`; never empty.
    summaries: Vec<CertSummary>,
}

fn read_server_cert(path: &PathBuf) -> Result<ServerFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
        what: "--server-cert",
        path: path.clone(),
        source,
    })?;
    let contents = read_pem(&bytes);
    if contents.certs.is_empty() {
        let reason = if bytes.iter().all(u8::is_ascii_whitespace) {
            "the file is empty".to_string()
        } else if contents.private_keys > 0 {
            "it holds a private key and no certificate".to_string()
        } else if bytes.first() == Some(&0x30) {
            "it holds binary DER, and brokers (mosquitto `certfile`, RabbitMQ and EMQX \
             `ssl_options.certfile`) need PEM: `openssl x509 -inform der -in FILE -out FILE.pem`"
                .to_string()
        } else {
            "it holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line)".to_string()
        };
        return Err(Error::Flag {
            flag: "--server-cert",
            value: path.display().to_string(),
            reason,
        });
    }
    let summaries = contents
        .certs
        .iter()
        .map(|c| CertSummary::from_der(c))
        .collect();
    Ok(ServerFile {
        path: path.display().to_string(),
        ders: contents.certs,
        summaries,
    })
}

// ---------------------------------------------------------------------------------------------
// The CA file.

fn check_ca_file(trust: &TrustFacts, now: i64, out: &mut Vec<Finding>) {
    let TrustSource::Files { .. } = &trust.source else {
        return;
    };
    let file = trust.describe();
    let certs = &trust.certs;
    for note in &trust.notes {
        let severity = if certs.is_empty() {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(Finding::new(
            Code::CaFileUnusable,
            severity,
            None,
            format!("CA file {note}; expected PEM CA certificates (\"-----BEGIN CERTIFICATE-----\")"),
        ).remedy("Pass the PEM certificate of the CA that issued the broker's certificate: mosquitto_pub `--cafile ca.crt`, paho `tls_set(ca_certs=\"ca.crt\")`; convert DER with `openssl x509 -inform der -in ca.der -out ca.crt`."));
    }
    for c in certs.iter().filter(|c| c.version == 0) {
        out.push(Finding::new(
            Code::CaFileUnusable,
            Severity::Warning,
            None,
            format!(
                "CA file {file} holds a certificate that cannot be parsed: {}",
                c.subject
            ),
        ));
    }
    let end_entities: Vec<&CertSummary> = certs
        .iter()
        .filter(|c| c.version != 0 && !c.is_ca() && !c.self_signed)
        .collect();
    let only_end_entities = !certs.is_empty() && end_entities.len() == certs.len();
    for c in &end_entities {
        let severity = if only_end_entities {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(Finding::new(
            Code::ServerCertAsCa,
            severity,
            Some(&c.subject),
            format!(
                "CA file {file} holds the end-entity certificate {} (issued by {}, CA:{}): expected the CA that issued the broker's certificate, presented a certificate that cannot issue others{}",
                c.subject,
                c.issuer,
                ca_flag(c),
                if only_end_entities { "; nothing in the file can verify a broker" } else { "" }
            ),
        ).remedy(format!("Put the issuing CA ({}) or the root it chains to in the CA file, not the server certificate (the broker's `certfile` is the right place for that one).", c.issuer)));
    }
    let has_root = certs.iter().any(|c| c.self_signed);
    let intermediates: Vec<&CertSummary> = certs.iter().filter(|c| c.is_ca()).collect();
    if !has_root && !intermediates.is_empty() {
        let names = intermediates
            .iter()
            .map(|c| format!("{} (issued by {})", c.subject, c.issuer))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(Finding::new(
            Code::IntermediateAsAnchor,
            Severity::Warning,
            Some(&intermediates[0].subject),
            format!("CA file {file} holds no self-signed root, only {names}: rustls accepts an intermediate as a trust anchor, OpenSSL-based clients (mosquitto_pub, paho, Python) reject the chain with \"unable to get issuer certificate\""),
        ).remedy(format!("Add the root {} to the CA file (root + intermediate in one file is fine): `cat root.crt {} > ca-bundle.crt`.", intermediates[0].issuer, trust.first_path())));
    }
    let unexpired_roots = certs
        .iter()
        .filter(|c| c.self_signed && c.not_after_unix >= now)
        .count();
    for c in certs
        .iter()
        .filter(|c| c.version != 0 && c.not_after_unix < now)
    {
        let severity = if unexpired_roots == 0 {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(Finding::new(
            Code::ExpiredTrustAnchor,
            severity,
            Some(&c.subject),
            format!("CA file {file}: {} expired on {} (checked at {}): OpenSSL-based clients reject every chain that ends there, rustls ignores the validity of trust anchors", c.subject, c.not_after, rfc3339(now)),
        ).remedy(format!("Replace {} with its renewed certificate (same key and subject) on every client, and check the brokers' `cafile`s too.", c.subject)));
    }
    for c in certs.iter().filter(|c| c.version == 1) {
        out.push(Finding::new(
            Code::X509V1Cert,
            Severity::Warning,
            Some(&c.subject),
            format!("CA file {file}: {} is an X.509 v1 certificate (no extensions, so no basicConstraints): rustls and OpenSSL accept a v1 self-signed root as an anchor, but every certificate it issues must be v3 for rustls", c.subject),
        ).remedy("Re-issue the CA as v3 with `basicConstraints=critical,CA:TRUE` (`openssl req -x509 ... -addext basicConstraints=critical,CA:TRUE`)."));
    }
    for c in certs.iter().filter(|c| weak_signature(c)) {
        let (severity, why) = if c.self_signed {
            (
                Severity::Warning,
                "neither stack checks a root's own signature, but many tools flag it",
            )
        } else {
            (
                Severity::Error,
                "rustls rejects every chain through it, OpenSSL does at security level 1 and above",
            )
        };
        out.push(Finding::new(
            Code::WeakSignature,
            severity,
            Some(&c.subject),
            format!("CA file {file}: {} is signed with {}, expected SHA-256 or better: {why}", c.subject, c.signature),
        ).remedy("Re-issue the certificate with a SHA-256 signature (`openssl x509 -req -sha256 ...`)."));
    }
    for c in certs.iter().filter(|c| weak_key(c)) {
        out.push(Finding::new(
            Code::WeakKey,
            Severity::Error,
            Some(&c.subject),
            format!("CA file {file}: {} has a {} key, expected RSA 2048 or more (or EC): rustls cannot verify signatures made with it, OpenSSL refuses it at security level 2", c.subject, c.key),
        ).remedy("Create a new CA with an RSA 3072 or EC P-256 key and re-issue what it signed."));
    }
}

// ---------------------------------------------------------------------------------------------
// The server chain.

/// Everything the server checks look at.
struct ServerContext<'a> {
    file: &'a str,
    /// The server file's certificates, leaf first; never empty.
    certs: &'a [CertSummary],
    trust: &'a TrustFacts,
    chain: &'a ChainExplained,
    expect_name: Option<&'a str>,
    checked_at: i64,
    /// The security level of a default OpenSSL client context on this machine.
    security_level: u32,
}

impl ServerContext<'_> {
    fn leaf(&self) -> &CertSummary {
        &self.certs[0]
    }

    /// The certificates of the path, leaf first, with their summaries.
    fn path(&self) -> Vec<&CertSummary> {
        self.chain
            .steps
            .iter()
            .filter_map(|s| match (s.server_file_index, s.ca_file_index) {
                (Some(i), _) => self.certs.get(i),
                (None, Some(i)) => self.trust.certs.get(i),
                (None, None) => None,
            })
            .collect()
    }

    fn user_ca_file(&self) -> bool {
        matches!(self.trust.source, TrustSource::Files { .. }) && !self.trust.certs.is_empty()
    }
}

/// A certificate of one of the user's files with its DER, for the chain walk.
#[derive(Clone, Copy)]
struct Held<'a> {
    summary: &'a CertSummary,
    der: Option<&'a CertificateDer<'static>>,
}

/// Follows the issuers from the leaf: the CA file first (as OpenSSL's trusted-first lookup and
/// webpki's anchors do), then the rest of the server file; once in the CA file, only there.
fn explain_chain(server: &[Held<'_>], trust: &TrustFacts, anchors: &[Held<'_>]) -> ChainExplained {
    const MAX_STEPS: usize = 10;
    let system = trust.source == TrustSource::System;
    let position = |certs: &[Held<'_>], c: &CertSummary| {
        certs.iter().position(|x| x.summary.sha256 == c.sha256)
    };
    let mut steps: Vec<ChainStep> = Vec::new();
    let mut visited: Vec<&str> = Vec::new();
    let mut current = server[0];
    let end = loop {
        let cert = current.summary;
        let ca_file_index = position(anchors, cert);
        steps.push(ChainStep {
            subject: cert.subject.clone(),
            server_file_index: position(server, cert),
            ca_file_index,
            trust_anchor: ca_file_index.is_some() && (cert.is_ca() || cert.self_signed),
        });
        visited.push(cert.sha256.as_str());
        let anchored = steps.iter().any(|s| s.trust_anchor);
        let issuer_of = |c: &&Held<'_>| {
            c.summary.issued(cert)
                && !visited.contains(&c.summary.sha256.as_str())
                // Subject = issuer: only a verified signature tells "issued by a CA with the
                // same name" from "self-signed".
                && (cert.subject != cert.issuer || signed_by(current, **c))
        };
        let next = anchors
            .iter()
            .find(issuer_of)
            .or_else(|| (!anchored).then(|| server.iter().find(issuer_of)).flatten());
        match next {
            Some(_) if steps.len() >= MAX_STEPS => break ChainEnd::TooLong,
            Some(next) => current = *next,
            None if anchored => break ChainEnd::Anchored,
            None if cert.self_signed && system && steps.len() > 1 => {
                break ChainEnd::SystemStore {
                    issuer: cert.subject.clone(),
                };
            }
            None if cert.self_signed => break ChainEnd::UntrustedSelfSigned,
            None if system => {
                break ChainEnd::SystemStore {
                    issuer: cert.issuer.clone(),
                };
            }
            None => {
                break ChainEnd::IssuerMissing {
                    issuer: cert.issuer.clone(),
                };
            }
        }
    };
    ChainExplained { steps, end }
}

/// True when `issuer`'s key verifies `child`'s signature (OpenSSL; false when unparseable).
fn signed_by(child: Held<'_>, issuer: Held<'_>) -> bool {
    let (Some(child), Some(issuer)) = (child.der, issuer.der) else {
        return false;
    };
    let (Ok(child), Ok(issuer)) = (X509::from_der(child), X509::from_der(issuer)) else {
        return false;
    };
    issuer
        .public_key()
        .and_then(|key| child.verify(&key))
        .unwrap_or(false)
}

fn check_server(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    check_leaf(cx, out);
    check_names(cx, out);
    check_path(cx, out);
    check_server_certs(cx, out);
}

fn check_leaf(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let (leaf, file) = (cx.leaf(), cx.file);
    let subject = Some(leaf.subject.as_str());
    if leaf.is_ca() {
        out.push(Finding::new(
            Code::CaCertAsServerCert,
            Severity::Error,
            subject,
            format!("{file}: the broker certificate {} has basicConstraints CA:TRUE, expected CA:FALSE for a server certificate: rustls rejects it (CaUsedAsEndEntity), OpenSSL accepts it", leaf.subject),
        ).remedy("Issue the broker a leaf from a CA (`basicConstraints=CA:FALSE`, `extendedKeyUsage=serverAuth`, subjectAltName); `openssl req -x509` makes CA certificates, sign a CSR with `openssl x509 -req -extfile` instead."));
    }
    let eku_ok = leaf.eku.is_empty() || leaf.eku.iter().any(|e| e == "serverAuth" || e == "any");
    if !eku_ok {
        out.push(Finding::new(
            Code::ServerEkuMissing,
            Severity::Error,
            subject,
            format!("{file}: the broker certificate {} has extendedKeyUsage {}, expected serverAuth: both stacks reject it for a server", leaf.subject, leaf.eku.join(", ")),
        ).remedy("Re-issue the broker certificate with `extendedKeyUsage=serverAuth` (or without the extension)."));
    }
}

fn check_names(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let (leaf, file) = (cx.leaf(), cx.file);
    let subject = Some(leaf.subject.as_str());
    let cn = leaf.subject_attr("CN");
    let bare = cx
        .expect_name
        .map(|n| n.trim_start_matches('[').trim_end_matches(']'));
    let is_ip = bare.is_some_and(|n| n.parse::<IpAddr>().is_ok());
    // OpenSSL falls back to the CN whenever there is no DNS SAN (IP SANs do not count).
    let dns_sans = leaf.sans.iter().any(|s| s.starts_with("DNS:"));
    let cn_fallback =
        !dns_sans && !is_ip && bare.is_some_and(|n| cn.is_some_and(|cn| dns_matches(cn, n)));
    if leaf.version != 0 && (leaf.sans.is_empty() || cn_fallback) {
        let what = if leaf.sans.is_empty() {
            "no subjectAltName".to_string()
        } else {
            format!("no DNS subjectAltName ({})", leaf.sans.join(", "))
        };
        out.push(Finding::new(
            Code::CnOnlyNoSan,
            Severity::Error,
            subject,
            format!("{file}: the broker certificate {} has {what}, expected the broker's names as DNS: SANs; presented only CN={}: OpenSSL falls back to the CN, rustls (and Go, Python 3.7+) do not", leaf.subject, cn.unwrap_or("(none)")),
        ).remedy(format!("Re-issue it with `-addext subjectAltName=DNS:{}` (add `,IP:...` for addresses clients use).", cn.unwrap_or("broker.example.com"))));
    }
    let Some(bare) = bare else {
        return;
    };
    if san_covers(&leaf.sans, bare) || cn_fallback {
        return;
    }
    let presented = if leaf.sans.is_empty() {
        format!("no SAN (CN={})", cn.unwrap_or("none"))
    } else {
        leaf.sans.join(", ")
    };
    if is_ip {
        out.push(Finding::new(
            Code::IpNotInSan,
            Severity::Error,
            subject,
            format!("{file}: clients connect to the IP address {bare}, expected an IP:{bare} SAN in {}; presented {presented} (a DNS: SAN or CN never matches an address)", leaf.subject),
        ).remedy(format!("Connect by a name the certificate holds, or re-issue it with `subjectAltName=IP:{bare}` next to its DNS names.")));
    } else {
        out.push(Finding::new(
            Code::HostnameMismatch,
            Severity::Error,
            subject,
            format!("{file}: clients check the name {bare}, expected it among the SANs of {}; presented {presented}", leaf.subject),
        ).remedy(format!("Connect with a name the certificate holds (mosquitto_pub `-h`, or `--expect-name`), or re-issue it with `subjectAltName=DNS:{bare}`.")));
    }
}

fn check_path(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let leaf = cx.leaf();
    let path = cx.path();
    let ca_file = cx.trust.describe();
    let subject = Some(leaf.subject.as_str());
    let same = cx
        .trust
        .certs
        .iter()
        .chain(path.iter().skip(1).copied())
        .find(|c| c.subject == leaf.subject && c.sha256 != leaf.sha256);
    if let Some(ca) = same {
        // With key identifiers that differ, OpenSSL 3 and rustls tell the two apart; without
        // them OpenSSL takes the leaf for self-signed (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT).
        let told_apart = matches!((&leaf.aki, &leaf.ski), (Some(aki), Some(ski)) if aki != ski);
        let (severity, why) = if told_apart {
            (
                Severity::Warning,
                "OpenSSL 3 and rustls accept it because the key identifiers tell them apart, but older OpenSSL releases take the broker certificate for self-signed, and mosquitto-tls(7) warns against it",
            )
        } else {
            (
                Severity::Error,
                "without key identifiers to tell them apart OpenSSL takes the broker certificate for self-signed and rejects it (\"self-signed certificate\"); rustls checks the signature and accepts it",
            )
        };
        let in_ca_file = cx.trust.certs.iter().any(|c| c.sha256 == ca.sha256);
        let place = if in_ca_file {
            ca_file.as_str()
        } else {
            cx.file
        };
        out.push(Finding::new(
            Code::SameSubjectCaAndServer,
            severity,
            subject,
            format!("{}: the broker certificate and {} in {place} have the identical subject {}, expected different DNs: {why}", cx.file, if ca.is_ca() { "the CA certificate" } else { "the certificate" }, leaf.subject),
        ).remedy("Give the CA and the broker certificate different subjects (e.g. CN=My MQTT CA vs CN=broker.example.com) and re-issue the broker certificate."));
    }
    for pair in path.windows(2) {
        let (child, issuer) = (pair[0], pair[1]);
        // OpenSSL accepts a self-signed v1 root as a CA; rustls never looks at an anchor's flags.
        if issuer.is_ca() || (issuer.version == 1 && issuer.self_signed) || issuer.version == 0 {
            continue;
        }
        out.push(Finding::new(
            Code::IssuerNotCa,
            Severity::Error,
            Some(&issuer.subject),
            format!("{} issued {} but has basicConstraints CA:{}, expected CA:TRUE for any certificate that issues others: both stacks reject the chain", issuer.subject, child.subject, ca_flag(issuer)),
        ).remedy(format!("Re-issue {} with `basicConstraints=critical,CA:TRUE` and `keyUsage=keyCertSign`, then re-issue what it signed.", issuer.subject)));
    }
    // A CA file of end-entity certificates only is the finding; what the chain lacks follows.
    let ca_file_is_the_problem = out
        .iter()
        .any(|f| f.code == Code::ServerCertAsCa && f.severity == Severity::Error);
    if !cx.user_ca_file() || ca_file_is_the_problem {
        // System store: the stacks' verdicts say whether it holds the issuer. An unusable CA
        // file is already a finding of its own.
        if cx.chain.end == ChainEnd::UntrustedSelfSigned && cx.chain.steps.len() == 1 {
            out.push(self_signed(cx, &ca_file));
        }
        return;
    }
    match &cx.chain.end {
        ChainEnd::UntrustedSelfSigned if cx.chain.steps.len() == 1 => {
            out.push(self_signed(cx, &ca_file));
        }
        ChainEnd::UntrustedSelfSigned => {
            let root = path.last().map_or("?", |c| c.subject.as_str());
            out.push(Finding::new(
                Code::UnknownCa,
                Severity::Error,
                subject,
                format!("the chain in {} ends at the root {root}, expected one of the CA file {ca_file}: it holds {}", cx.file, subjects(&cx.trust.certs)),
            ).remedy(format!("Give clients the root {root} as `--cafile` (mosquitto_pub `--cafile`, paho `tls_set(ca_certs=...)`), or have the broker certificate issued by a CA the clients trust.")));
        }
        ChainEnd::IssuerMissing { issuer } => out.push(issuer_missing(cx, &path, issuer)),
        ChainEnd::Anchored => {
            supplied_by_ca_file(cx, &path, out);
            let anchor = path.last().copied().unwrap_or(leaf);
            let already = out.iter().any(|f| f.code == Code::IntermediateAsAnchor);
            if !anchor.self_signed && anchor.is_ca() && !already {
                out.push(Finding::new(
                    Code::IntermediateAsAnchor,
                    Severity::Warning,
                    Some(&anchor.subject),
                    format!("the chain of {} ends at {} in the CA file {ca_file}, expected a self-signed root: rustls accepts it as the anchor, OpenSSL-based clients look for its issuer {} and fail", cx.file, anchor.subject, anchor.issuer),
                ).remedy(format!("Add the root {} to the CA file.", anchor.issuer)));
            }
        }
        ChainEnd::SystemStore { .. } | ChainEnd::TooLong => {}
    }
}

/// Intermediates that only the CA file supplies: this setup verifies, but clients that trust
/// just the root (the usual case) fail with `missing_intermediate`.
fn supplied_by_ca_file(cx: &ServerContext<'_>, path: &[&CertSummary], out: &mut Vec<Finding>) {
    let only_in_ca_file = cx
        .chain
        .steps
        .iter()
        .zip(path)
        .skip(1)
        .filter(|(step, c)| step.server_file_index.is_none() && !c.self_signed);
    for (_, c) in only_in_ca_file {
        out.push(Finding::new(
            Code::MissingIntermediate,
            Severity::Warning,
            Some(&c.subject),
            format!("{} does not hold the intermediate {}; the chain verifies only because the CA file {} holds it, and clients that trust just the root will fail", cx.file, c.subject, cx.trust.describe()),
        ).remedy(format!("Broker: append {} to its certificate file (a fullchain: leaf, then intermediate) — mosquitto `certfile`, RabbitMQ/EMQX `ssl_options.certfile`.", c.subject)));
    }
}

fn self_signed(cx: &ServerContext<'_>, ca_file: &str) -> Finding {
    let leaf = cx.leaf();
    Finding::new(
        Code::SelfSignedServerCert,
        Severity::Error,
        Some(&leaf.subject),
        format!("{}: the broker certificate {} is self-signed (CA:{}) and the CA file {ca_file} does not hold it; expected a certificate issued by a CA the clients trust", cx.file, leaf.subject, ca_flag(leaf)),
    )
    .remedy(format!("Best: issue the broker a certificate from a small CA (root → server) and give clients the root; or trust this exact certificate (`--cafile {}`), which rustls refuses if it has CA:TRUE.", cx.file))
}

fn issuer_missing(cx: &ServerContext<'_>, path: &[&CertSummary], issuer: &str) -> Finding {
    let top = path.last().copied().unwrap_or(cx.leaf());
    let ca_file = cx.trust.describe();
    let related = cx
        .trust
        .certs
        .iter()
        .find(|c| c.is_ca() && same_organisation(c, issuer) && (!top.is_ca() || c.self_signed));
    match related {
        Some(root) => Finding::new(
            Code::MissingIntermediate,
            Severity::Error,
            Some(&top.subject),
            format!("{} holds {} certificate(s) and {} was issued by {issuer}, which is neither in it nor in the CA file {ca_file}; the CA file holds {} of the same PKI, so the intermediate is missing", cx.file, cx.certs.len(), top.subject, root.subject),
        ).remedy(format!("Broker: make its certificate file a fullchain (leaf, then {issuer}): mosquitto `certfile`, RabbitMQ/EMQX `ssl_options.certfile`; or add {issuer} to the CA file (`cat root.crt intermediate.crt > ca-bundle.crt`).")),
        None => Finding::new(
            Code::UnknownCa,
            Severity::Error,
            Some(&top.subject),
            format!("the chain in {}: {} was issued by {issuer}, expected a CA the CA file {ca_file} holds; it holds {}", cx.file, top.subject, subjects(&cx.trust.certs)),
        ).remedy(format!("Give clients the CA that issued the broker certificate ({issuer}) or its root as `--cafile`.")),
    }
}

/// Validity, version, signature and key of every certificate of the server file on the path.
fn check_server_certs(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let now = cx.checked_at;
    let clock = rfc3339(now);
    for (i, c) in cx.certs.iter().enumerate().filter(|(_, c)| c.version != 0) {
        let what = if i == 0 {
            "the broker certificate".to_string()
        } else {
            format!("certificate [{i}] of the chain")
        };
        let subject = Some(c.subject.as_str());
        let file = cx.file;
        if c.not_after_unix < now {
            out.push(Finding::new(
                Code::ServerCertExpired,
                Severity::Error,
                subject,
                format!("{file}: {what} {} expired on {}; checked at {clock} (this machine's clock, or the clock passed in)", c.subject, c.not_after),
            ).remedy("Renew it and reload the broker (mosquitto: `certfile` is re-read on SIGHUP); if the date looks wrong, check the clocks."));
        } else if c.not_before_unix > now {
            out.push(Finding::new(
                Code::ServerCertNotYetValid,
                Severity::Error,
                subject,
                format!("{file}: {what} {} is not valid before {}; checked at {clock}", c.subject, c.not_before),
            ).remedy("Almost always a wrong clock: check NTP on the clients and on the machine that issued the certificate."));
        }
        if c.version == 1 && !(i > 0 && c.self_signed) {
            out.push(Finding::new(
                Code::X509V1Cert,
                Severity::Error,
                subject,
                format!("{file}: {what} {} is X.509 v1, expected v3: rustls rejects it (UnsupportedCertVersion), OpenSSL accepts it; v1 also means no SAN and no CA flag", c.subject),
            ).remedy("Re-issue it as v3: `openssl x509 -req ... -extfile v3.ext` with `subjectAltName` and `basicConstraints=CA:FALSE` in v3.ext."));
        }
        if weak_signature(c) && !(i > 0 && c.self_signed) {
            out.push(Finding::new(
                Code::WeakSignature,
                Severity::Error,
                subject,
                format!("{file}: {what} {} is signed with {}, expected SHA-256 or better: rustls always rejects it, OpenSSL at security level 1 and above", c.subject, c.signature),
            ).remedy("Re-issue it with a SHA-256 signature (`openssl x509 -req -sha256 ...`)."));
        }
        if weak_key(c) {
            out.push(Finding::new(
                Code::WeakKey,
                Severity::Error,
                subject,
                format!("{file}: {what} {} has a {} key, expected RSA 2048 or more (or EC): OpenSSL refuses it at security level 2 and above (this machine: {}); {}", c.subject, c.key, cx.security_level, if i == 0 {
                    "rustls fails the handshake when the broker signs with it (aws-lc-rs verifies RSA signatures only with 2048- to 8192-bit keys)"
                } else {
                    "rustls cannot verify the signatures made with it"
                }),
            ).remedy("Generate a new key (RSA 3072 or EC P-256) and re-issue the certificate."));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Offline verification by both stacks.

/// `--expect-name`, else the leaf's first DNS SAN, first IP SAN, or CN.
fn name_to_check(expect_name: Option<&str>, leaf: &CertSummary) -> Option<String> {
    if let Some(name) = expect_name {
        return Some(
            name.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        );
    }
    let san = |prefix: &str| leaf.sans.iter().find_map(|s| s.strip_prefix(prefix));
    san("DNS:")
        .or_else(|| san("IP:"))
        .or_else(|| leaf.subject_attr("CN"))
        .map(str::to_string)
}

fn unix_time(checked_at: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(checked_at).unwrap_or(0)))
}

fn verify_rustls(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> StackVerdict {
    let result = (|| -> Result<(), String> {
        let mut roots = rustls::RootCertStore::empty();
        match anchors {
            Anchors::System => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
            Anchors::Certs(certs) => {
                roots.add_parsable_certificates(certs.iter().cloned());
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("rustls cannot build a verifier: {e}"))?;
        let name = name.ok_or("no name to verify: the certificate has no SAN and no CN")?;
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|e| format!("{name:?} is not a valid server name: {e}"))?;
        let (leaf, intermediates) = chain.split_first().ok_or("no certificate")?;
        verifier
            .verify_server_cert(
                leaf,
                intermediates,
                &server_name,
                &[],
                unix_time(checked_at),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    })();
    StackVerdict {
        backend: Backend::Rustls,
        ok: result.is_ok(),
        error: result.err(),
    }
}

fn verify_openssl(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> StackVerdict {
    let result = openssl_verify(anchors, chain, name, checked_at)
        .unwrap_or_else(|e| Err(format!("OpenSSL could not run the verification: {e}")));
    StackVerdict {
        backend: Backend::Openssl,
        ok: result.is_ok(),
        error: result.err(),
    }
}

/// `X509_verify_cert` as an OpenSSL TLS client runs it: purpose sslserver, the security level
/// of a default client context, the host or IP check, at the clock passed in.
fn openssl_verify(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> Result<Result<(), String>, ErrorStack> {
    let mut store = X509StoreBuilder::new()?;
    match anchors {
        Anchors::System => store.set_default_paths()?,
        Anchors::Certs(certs) => {
            for der in certs {
                // Unparseable anchors are findings already; a duplicate is not an error.
                if let Ok(cert) = X509::from_der(der) {
                    let _ = store.add_cert(cert);
                }
            }
        }
    }
    let mut param = X509VerifyParam::new()?;
    // time_t is 64 bits on every platform mqtls targets (it is i64 on Linux and macOS).
    param.set_time(checked_at as _);
    param.set_purpose(X509PurposeId::SSL_SERVER)?;
    param.set_auth_level(i32::try_from(openssl_security_level()).unwrap_or(1));
    match name.map(|n| (n, n.parse::<IpAddr>())) {
        Some((_, Ok(ip))) => param.set_ip(ip)?,
        Some((host, Err(_))) => param.set_host(host)?,
        None => {}
    }
    store.set_param(&param)?;
    let store = store.build();
    let mut parsed = Vec::with_capacity(chain.len());
    for (i, der) in chain.iter().enumerate() {
        match X509::from_der(der) {
            Ok(cert) => parsed.push(cert),
            Err(e) => return Ok(Err(format!("OpenSSL cannot parse certificate [{i}]: {e}"))),
        }
    }
    let mut parsed = parsed.into_iter();
    let Some(leaf) = parsed.next() else {
        return Ok(Err("no certificate".into()));
    };
    let mut untrusted = Stack::new()?;
    for cert in parsed {
        untrusted.push(cert)?;
    }
    let mut ctx = X509StoreContext::new()?;
    ctx.init(&store, &leaf, &untrusted, |c| {
        let ok = c.verify_cert()?;
        Ok(if ok {
            Ok(())
        } else {
            let e = c.error();
            Err(format!(
                "{} (verify error {} at depth {})",
                e.error_string(),
                e.as_raw(),
                c.error_depth()
            ))
        })
    })
}

/// The security level of a default OpenSSL client context: what the system configuration
/// (`openssl.cnf`, e.g. Debian's `@SECLEVEL=2`) gives mosquitto_pub or Python; 1 if unknown.
fn openssl_security_level() -> u32 {
    SslContext::builder(SslMethod::tls_client()).map_or(1, |b| b.build().security_level())
}

/// Codes whose certificates rustls rejects and OpenSSL accepts, and why.
const RUSTLS_ONLY: &[(Code, &str)] = &[
    (
        Code::X509V1Cert,
        "webpki only accepts X.509 v3 certificates (UnsupportedCertVersion); OpenSSL still accepts v1",
    ),
    (
        Code::CnOnlyNoSan,
        "rustls matches the name only against subjectAltName; OpenSSL falls back to the subject CN when the certificate has no DNS SAN",
    ),
    (
        Code::CaCertAsServerCert,
        "rustls refuses a CA:TRUE certificate as the server's own (CaUsedAsEndEntity); OpenSSL does not check it",
    ),
    (
        Code::WeakSignature,
        "rustls never accepts SHA-1/MD5 signatures; OpenSSL accepted it at this machine's security level",
    ),
    (
        Code::WeakKey,
        "rustls verifies RSA signatures only with keys of 2048 bits or more; OpenSSL accepted it at this machine's security level",
    ),
];

/// Codes whose certificates OpenSSL rejects and rustls accepts, and why.
const OPENSSL_ONLY: &[(Code, &str)] = &[
    (
        Code::IntermediateAsAnchor,
        "rustls accepts any certificate of the CA file as a trust anchor; OpenSSL needs the path to end at a self-signed root (no X509_V_FLAG_PARTIAL_CHAIN)",
    ),
    (
        Code::ExpiredTrustAnchor,
        "rustls ignores the validity dates of trust anchors; OpenSSL checks the root's dates too",
    ),
    (
        Code::SameSubjectCaAndServer,
        "OpenSSL takes a certificate whose subject equals its issuer for self-signed; rustls links certificates by signature and accepts it",
    ),
    (
        Code::WeakKey,
        "OpenSSL checks every key of the chain against its security level; rustls checks only the signatures it verifies, so it accepts the chain offline but fails the handshake when the broker signs with a key under 2048 bits",
    ),
];

/// Adds a finding when the stacks disagree (with the known cause), or when both reject a chain
/// for a reason the checks above did not name.
fn explain_verdicts(cx: &ServerContext<'_>, verdicts: &[StackVerdict], out: &mut Vec<Finding>) {
    let verdict = |b: Backend| verdicts.iter().find(|v| v.backend == b);
    let (Some(rustls), Some(openssl)) = (verdict(Backend::Rustls), verdict(Backend::Openssl))
    else {
        return;
    };
    let leaf = cx.leaf();
    let (rejecting, accepting, known) = match (rustls.ok, openssl.ok) {
        (false, true) => (rustls, openssl, RUSTLS_ONLY),
        (true, false) => (openssl, rustls, OPENSSL_ONLY),
        (false, false) => {
            if !out.iter().any(|f| f.severity == Severity::Error) {
                let (code, why) = match &cx.chain.end {
                    ChainEnd::SystemStore { issuer } => (
                        Code::UnknownCa,
                        format!("the system trust store does not hold {issuer}"),
                    ),
                    _ => (
                        Code::Unclassified,
                        "inspect found no reason in the files".to_string(),
                    ),
                };
                out.push(Finding::new(
                    code,
                    Severity::Error,
                    Some(&leaf.subject),
                    format!(
                        "both stacks reject the chain of {} ({why}): rustls: {}; openssl: {}",
                        cx.file,
                        rustls.error.as_deref().unwrap_or("?"),
                        openssl.error.as_deref().unwrap_or("?")
                    ),
                ));
            }
            return;
        }
        (true, true) => return,
    };
    let cause = known
        .iter()
        .find(|(code, _)| out.iter().any(|f| f.code == *code));
    let (code, why) = match cause {
        Some((code, why)) => (*code, (*why).to_string()),
        None => (
            Code::Unclassified,
            "inspect found no known difference between the stacks that explains it".to_string(),
        ),
    };
    out.push(Finding::new(
        code,
        Severity::Error,
        Some(&leaf.subject),
        format!(
            "the stacks disagree on {}: {} accepts it, {} rejects it ({}) because {why} (OpenSSL security level {})",
            cx.file,
            accepting.backend,
            rejecting.backend,
            rejecting.error.as_deref().unwrap_or("?"),
            cx.security_level
        ),
    ).remedy(format!("Fix the {code} finding so that clients on both stacks connect (mosquitto_pub, paho and Python use OpenSSL; rumqttc and most Rust clients use rustls).")));
}

// ---------------------------------------------------------------------------------------------
// The client identity.

fn identity_finding(problem: &IdentityProblem, cert: Option<&CertSummary>) -> Finding {
    let subject = cert.map(|c| c.subject.as_str());
    let (message, remedy) = match problem {
        IdentityProblem::CertUnusable { path, detail } => (
            format!("client certificate file {path}: expected a PEM certificate, {detail}"),
            format!(
                "Check it: `openssl x509 -in {path} -noout -subject` must print a subject; mosquitto_pub `--cert` and paho `tls_set(certfile=...)` take PEM, leaf first."
            ),
        ),
        IdentityProblem::KeyUnusable { path, detail } => (
            format!("key file {path}: expected a PEM private key, {detail}"),
            format!(
                "Check it: `openssl pkey -in {path} -noout` must succeed; PKCS#8, PKCS#1 and SEC1 PEM keys all work."
            ),
        ),
        IdentityProblem::KeyEncrypted {
            path,
            wrong_password,
        } => (
            if *wrong_password {
                format!("key file {path} is encrypted and the password given does not decrypt it")
            } else {
                format!("key file {path} is encrypted and no password was given")
            },
            format!(
                "Pass the password with `--key-password-env VAR` (paho `tls_set(keyfile_password=...)`); rustls clients (rumqttc) cannot read encrypted keys: `openssl pkey -in {path} -out client-plain.key`."
            ),
        ),
        IdentityProblem::KeyMismatch { cert, key, detail } => (
            format!("the key {key} does not belong to the client certificate {cert}: {detail}"),
            format!(
                "Compare `openssl x509 -in {cert} -noout -pubkey | openssl sha256` with `openssl pkey -in {key} -pubout | openssl sha256`; use the key generated with the certificate's request."
            ),
        ),
    };
    Finding::new(problem.code(), Severity::Error, subject, message).remedy(remedy)
}

fn check_client(cert: &CertSummary, file: &str, now: i64, out: &mut Vec<Finding>) {
    if cert.version == 0 {
        return;
    }
    let subject = Some(cert.subject.as_str());
    let clock = rfc3339(now);
    if cert.not_after_unix < now || cert.not_before_unix > now {
        let when = if cert.not_after_unix < now {
            format!("expired on {}", cert.not_after)
        } else {
            format!("is not valid before {}", cert.not_before)
        };
        out.push(Finding::new(
            Code::ClientCertExpired,
            Severity::Error,
            subject,
            format!("{file}: the client certificate {} {when}; checked at {clock}: brokers answer with alert certificate_expired", cert.subject),
        ).remedy("Renew the client certificate from the CA the broker trusts (mosquitto `cafile`, RabbitMQ/EMQX `ssl_options.cacertfile`)."));
    }
    let eku_ok = cert.eku.is_empty() || cert.eku.iter().any(|e| e == "clientAuth" || e == "any");
    if !eku_ok {
        out.push(Finding::new(
            Code::ClientCertRejected,
            Severity::Error,
            subject,
            format!("{file}: the client certificate {} has extendedKeyUsage {}, expected clientAuth: brokers verify client certificates for purpose sslclient and reject it (\"unsupported certificate purpose\", alert unsupported_certificate or bad_certificate)", cert.subject, cert.eku.join(", ")),
        ).remedy("Re-issue it with `extendedKeyUsage=clientAuth`; a server certificate cannot double as a client certificate unless it lists both."));
    }
    if cert.version == 1 {
        out.push(Finding::new(
            Code::ClientCertRejected,
            Severity::Warning,
            subject,
            format!("{file}: the client certificate {} is X.509 v1, expected v3: rustls (0.23.23 and later) refuses to send a v1 client certificate, OpenSSL clients still send it", cert.subject),
        ).remedy("Re-issue it as v3 with `extendedKeyUsage=clientAuth` (`openssl x509 -req ... -extfile v3.ext`)."));
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

impl Finding {
    fn new(code: Code, severity: Severity, subject: Option<&str>, message: String) -> Finding {
        Finding {
            code,
            severity,
            subject: subject.map(str::to_string),
            message,
            remedy: None,
        }
    }

    fn remedy(mut self, remedy: impl Into<String>) -> Finding {
        self.remedy = Some(remedy.into());
        self
    }
}

/// Signature algorithms x509-parser may not name, by OID: ecdsa-with-SHA1, dsa-with-SHA1,
/// md2/md4/md5/sha1WithRSAEncryption and the OIW sha1WithRSA.
const WEAK_SIGNATURE_OIDS: &[&str] = &[
    "1.2.840.10045.4.1",
    "1.2.840.10040.4.3",
    "1.2.840.113549.1.1.2",
    "1.2.840.113549.1.1.3",
    "1.2.840.113549.1.1.4",
    "1.2.840.113549.1.1.5",
    "1.3.14.3.2.29",
];

fn weak_signature(c: &CertSummary) -> bool {
    let s = c.signature.to_ascii_lowercase();
    ["sha1", "md5", "md4", "md2"].iter().any(|w| s.contains(w))
        || WEAK_SIGNATURE_OIDS.contains(&c.signature.as_str())
}

fn weak_key(c: &CertSummary) -> bool {
    c.key
        .strip_prefix("RSA ")
        .and_then(|b| b.parse::<u32>().ok())
        .is_some_and(|bits| bits < 2048)
}

/// Same organisation: equal `O=`, or equal DNs apart from the CN.
fn same_organisation(ca: &CertSummary, dn: &str) -> bool {
    match (ca.subject_attr("O"), crate::x509::dn_attr(dn, "O")) {
        (Some(a), Some(b)) => a == b,
        _ => {
            let a = ca.subject_without_cn();
            !a.is_empty() && a == dn_without_cn(dn)
        }
    }
}

fn ca_flag(c: &CertSummary) -> &'static str {
    match c.ca {
        Some(true) => "TRUE",
        Some(false) => "FALSE",
        None => "absent",
    }
}

fn subjects(certs: &[CertSummary]) -> String {
    if certs.is_empty() {
        return "no certificate".into();
    }
    certs
        .iter()
        .map(|c| c.subject.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

fn write_file(
    out: &mut dyn Write,
    title: &str,
    file: &FileReport,
    role: impl Fn(&CertSummary) -> String,
) -> io::Result<()> {
    writeln!(
        out,
        "\n{title} {}: {} certificate(s)",
        file.path,
        file.certs.len()
    )?;
    for (i, c) in file.certs.iter().enumerate() {
        writeln!(out, "  [{i}] {} — {}", c.subject, role(c))?;
        if c.version == 0 {
            continue;
        }
        writeln!(
            out,
            "      valid {} → {} · {} · {} · v{}",
            c.not_before, c.not_after, c.key, c.signature, c.version
        )?;
        let mut extras = Vec::new();
        if !c.sans.is_empty() {
            extras.push(format!("SAN {}", c.sans.join(", ")));
        }
        if !c.eku.is_empty() {
            extras.push(format!("EKU {}", c.eku.join(", ")));
        }
        extras.push(format!("CA:{}", ca_flag(c)));
        writeln!(out, "      {}", extras.join(" · "))?;
    }
    Ok(())
}

fn ca_role(c: &CertSummary, all: &[CertSummary]) -> String {
    if c.self_signed && (c.is_ca() || c.version == 1) {
        "self-signed root CA".into()
    } else if c.self_signed {
        "self-signed end-entity certificate".into()
    } else if c.is_ca() {
        let held = all.iter().any(|x| x.issued(c) && x.sha256 != c.sha256);
        format!(
            "intermediate CA issued by {} ({})",
            c.issuer,
            if held {
                "in this file"
            } else {
                "not in this file"
            }
        )
    } else {
        format!("end-entity certificate issued by {} (not a CA)", c.issuer)
    }
}

fn leaf_role(c: &CertSummary, all: &[CertSummary]) -> String {
    let first = all.first().is_some_and(|f| f.sha256 == c.sha256);
    match (first, c.self_signed, c.is_ca()) {
        (true, true, _) => "leaf, self-signed".into(),
        (true, false, _) => format!("leaf, issued by {}", c.issuer),
        (false, true, _) => "root CA".into(),
        (false, false, true) => format!("intermediate CA, issued by {}", c.issuer),
        (false, false, false) => format!("issued by {} (CA:{})", c.issuer, ca_flag(c)),
    }
}

fn write_chain(out: &mut dyn Write, chain: &ChainExplained, server: &FileReport) -> io::Result<()> {
    writeln!(out, "\nChain")?;
    for (i, step) in chain.steps.iter().enumerate() {
        let mut found = Vec::new();
        if let Some(n) = step.server_file_index {
            found.push(format!("server file [{n}]"));
        }
        match (step.ca_file_index, step.trust_anchor) {
            (Some(n), true) => found.push(format!("CA file [{n}], trusted")),
            (Some(n), false) => found.push(format!("CA file [{n}], not a CA: anchors nothing")),
            (None, _) => {}
        }
        let arrow = if i == 0 { " " } else { "↑" };
        writeln!(out, "  {arrow} {} ({})", step.subject, found.join(", "))?;
    }
    let end = match &chain.end {
        ChainEnd::Anchored => "ends at a trust anchor of the CA file".to_string(),
        ChainEnd::UntrustedSelfSigned => {
            "ends at a self-signed certificate the CA file does not hold".to_string()
        }
        ChainEnd::IssuerMissing { issuer } => format!(
            "stops: the issuer {issuer} is neither in {} nor in the CA file",
            server.path
        ),
        ChainEnd::SystemStore { issuer } => {
            format!("continues in the system trust store, if it holds {issuer}")
        }
        ChainEnd::TooLong => "stops: longer than any real chain".to_string(),
    };
    writeln!(out, "  {end}")
}

#[cfg(test)]
mod tests {
    use super::san_covers;

    fn sans(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dns_names_and_wildcards() {
        let s = sans(&[
            "DNS:*.example.com",
            "DNS:Broker.Local",
            "IP:127.0.0.1",
            "IP:::1",
        ]);
        assert!(san_covers(&s, "a.example.com"));
        assert!(san_covers(&s, "A.Example.COM."));
        assert!(!san_covers(&s, "example.com"));
        assert!(!san_covers(&s, "a.b.example.com"));
        assert!(san_covers(&s, "broker.local"));
        assert!(!san_covers(&s, "other.local"));
        assert!(!san_covers(&sans(&["DNS:*.com"]), "example.com"));
    }

    #[test]
    fn ip_addresses_only_match_ip_sans() {
        let s = sans(&["DNS:127.0.0.2", "IP:127.0.0.1", "IP:::1"]);
        assert!(san_covers(&s, "127.0.0.1"));
        assert!(san_covers(&s, "::1"));
        assert!(san_covers(&s, "[::1]"));
        assert!(san_covers(&s, "0:0:0:0:0:0:0:1"));
        assert!(!san_covers(&s, "127.0.0.2"));
    }
}
