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
//! are rendered by `report::inspect`; only the command writes them out.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use openssl::error::ErrorStack;
use openssl::ssl::{SslContext, SslMethod};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509PurposeId, X509StoreContext};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::chain::{self, ChainAnalysis};
use crate::classify::{
    self, Context, Diagnosis, DiagnosisCode as Code, IdentityProblem, TrustFacts, TrustSource,
    Verdict,
};
use crate::error::Error;
use crate::evidence::FollowUps;
use crate::evidence::{Backend, CertProblem, Evidence, Failure, Phase};
use crate::inputs::{self, InputPaths};
pub use crate::model::inspect::{FileReport, Finding, InspectReport, Severity, StackVerdict};
use crate::model::{SCHEMA_VERSION, Tool};
use crate::probe::Anchors;
use crate::x509::{CertSummary, read_pem, rfc3339};

mod ca_file;
mod client;
mod expiry;
mod server;
mod verify;

use ca_file::check_ca_file;
use client::{check_client, identity_finding};
use server::{ServerContext, check_server};

use verify::{name_to_check, openssl_security_level, verify_openssl, verify_rustls};

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
    /// `--warn-days`: a certificate that expires within this many days of `checked_at` is a
    /// `cert_expires_soon` warning.
    pub warn_days: u32,
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
        // The two stacks verify side by side, as `diagnose` probes them: on a hostile chain
        // webpki's path building alone takes tens of milliseconds.
        let (anchors, ders, at) = (&loaded.tls.anchors, &server.ders, input.checked_at);
        let name_ref = name.as_deref();
        let checked = std::thread::scope(|scope| {
            let timed = |backend: Backend, verify: &dyn Fn() -> StackVerdict| {
                let started = std::time::Instant::now();
                let verdict = verify();
                tracing::debug!(
                    %backend,
                    ok = verdict.ok,
                    elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "verified offline"
                );
                verdict
            };
            let rustls = scope.spawn(move || {
                timed(Backend::Rustls, &|| {
                    verify_rustls(anchors, ders, name_ref, at)
                })
            });
            let openssl = timed(Backend::Openssl, &|| {
                verify_openssl(anchors, ders, name_ref, at)
            });
            let rustls = rustls.join().unwrap_or_else(|_| {
                StackVerdict::from_result(
                    Backend::Rustls,
                    Err((
                        "internal error: the rustls verification panicked".into(),
                        None,
                    )),
                )
            });
            [rustls, openssl]
        });
        let refused = checked.iter().any(|c| !c.ok);
        let analysis = chain::analyse(&loaded.chain_pool(&server.ders, refused));
        let evidence: Vec<Evidence> = checked
            .iter()
            .map(|c| offline_evidence(c, server))
            .collect();
        let target = format!("{}:8883", name.as_deref().unwrap_or("broker"));
        let follow_ups = FollowUps::default();
        let cx = Context {
            target: &target,
            expect_name: name.as_deref().unwrap_or_default(),
            sni: None,
            trust: &loaded.trust,
            client_cert: None,
            identity_problem: None,
            sent_username: false,
            plain: false,
            checked_at: input.checked_at,
            all: &evidence,
            offered_versions: &[],
            follow_ups: &follow_ups,
            chain: analysis.as_ref(),
            warn_days: input.warn_days,
        };
        let verdicts: Vec<(Backend, Verdict)> = evidence
            .iter()
            .map(|ev| (ev.backend, classify::classify(ev, &cx)))
            .collect();
        if let Some(analysis) = &analysis {
            let scx = ServerContext {
                file: &server.path,
                certs: &server.summaries,
                trust: &loaded.trust,
                chain: analysis,
                expect_name: input.expect_name.as_deref(),
                checked_at: input.checked_at,
                security_level: openssl_security_level(),
            };
            let mut checks = Vec::new();
            check_server(&scx, &mut checks);
            reconcile(&verdicts, &checked, checks, &mut findings);
        }
        verification = checked
            .into_iter()
            .zip(&verdicts)
            .map(|(c, (_, v))| StackVerdict {
                code: v.diagnosis.code,
                ..c
            })
            .collect();
        name_checked = name;
        server_chain = analysis;
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
    let server_cert = server.map(|s| FileReport {
        path: s.path,
        certs: s.summaries,
    });
    expiry::check(
        &[
            ("CA file", ca_file.as_ref()),
            ("server certificate file", server_cert.as_ref()),
            ("client certificate file", client_cert.as_ref()),
        ],
        input.checked_at,
        input.warn_days,
        &mut findings,
    );
    Ok(InspectReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        checked_at: rfc3339(input.checked_at),
        name_checked,
        ca_file,
        server_cert,
        server_chain,
        client_cert,
        findings,
        verification,
    })
}

pub use crate::x509::san_covers;

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

/// What one offline verification amounts to as evidence for the classifier: the chain, and
/// the refusal as the probes normalise it.
fn offline_evidence(checked: &StackVerdict, server: &ServerFile) -> Evidence {
    let backend = checked.backend;
    let mut ev = Evidence::new(backend, crate::probe::library(backend));
    ev.peer_chain = server.summaries.clone();
    ev.peer_chain_der = server.ders.clone();
    if checked.ok {
        ev.phase = Phase::Done;
    } else {
        ev.phase = Phase::Tls;
        // A refusal the mapping could not name is still a refusal, in the stack's words.
        let problem = checked
            .problem
            .clone()
            .unwrap_or_else(|| CertProblem::Other {
                detail: checked.error.clone().unwrap_or_default(),
            });
        ev.failure = Some(Failure::CertRejected { problem });
        ev.raw_error = checked.error.clone();
    }
    ev
}

/// One finding per cause: the diagnosis of each stack that refused the chain is an error
/// (merged when both name the same code); a check of the files is kept as an error only when a
/// stack refused for that very reason, and otherwise becomes a warning, since no stack broke
/// on it here. Where both stacks accept there is no error.
fn reconcile(
    verdicts: &[(Backend, Verdict)],
    checked: &[StackVerdict],
    checks: Vec<Finding>,
    out: &mut Vec<Finding>,
) {
    let mut refused: Vec<(Code, Vec<Backend>, &Diagnosis)> = Vec::new();
    for (backend, verdict) in verdicts {
        if verdict.diagnosis.code == Code::Ok {
            continue;
        }
        match refused
            .iter_mut()
            .find(|(code, ..)| *code == verdict.diagnosis.code)
        {
            Some((_, backends, _)) => backends.push(*backend),
            None => refused.push((verdict.diagnosis.code, vec![*backend], &verdict.diagnosis)),
        }
    }
    let accepting: Vec<Backend> = checked.iter().filter(|c| c.ok).map(|c| c.backend).collect();
    for (code, backends, d) in &refused {
        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
        let errors: Vec<String> = checked
            .iter()
            .filter(|c| backends.contains(&c.backend))
            .filter_map(|c| c.error.as_ref().map(|e| format!("{}: {e}", c.backend)))
            .collect();
        let split = if accepting.is_empty() {
            String::new()
        } else {
            let ok: Vec<&str> = accepting.iter().map(|b| b.name()).collect();
            format!(
                "; the stacks disagree: {} accepts it, {} rejects it",
                ok.join(", "),
                names.join(", ")
            )
        };
        let mut finding = Finding::new(
            *code,
            Severity::Error,
            None,
            format!("{} ({}{split})", d.summary, errors.join("; ")),
        );
        finding.facts = d.facts.clone();
        if let Some(doubt) = d.uncertainty() {
            finding.facts.insert(0, doubt);
        }
        if !d.remedies.is_empty() {
            finding.remedy = Some(d.remedies.join(" "));
        }
        // The file checks say which certificate; keep the most specific subject.
        finding.subject = checks
            .iter()
            .find(|f| f.code == *code)
            .and_then(|f| f.subject.clone());
        // A CA-file finding of the same code already says it: the stacks' words join it.
        match out
            .iter_mut()
            .find(|f| f.code == *code && f.severity == Severity::Error)
        {
            Some(existing) => {
                if let Some(split) = split.strip_prefix("; ") {
                    existing.message.push_str(&format!(" ({split})"));
                }
                existing.facts.push(finding.message);
                existing.facts.extend(finding.facts);
            }
            None => out.push(finding),
        }
    }
    for mut f in checks {
        if refused.iter().any(|(code, ..)| *code == f.code) {
            continue;
        }
        let duplicate = out
            .iter()
            .any(|g| g.code == f.code && g.subject == f.subject);
        if duplicate {
            continue;
        }
        f.severity = Severity::Warning;
        out.push(f);
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
            facts: Vec::new(),
            remedy: None,
        }
    }

    fn remedy(mut self, remedy: impl Into<String>) -> Finding {
        self.remedy = Some(remedy.into());
        self
    }
}
