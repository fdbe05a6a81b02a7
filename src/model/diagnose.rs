//! The model of a `diagnose` result: what was probed, each backend's evidence and diagnosis,
//! the chain analysis and the follow-ups. Built by `diagnose`, rendered by `report`, embedded
//! in `run` and `scan` results.

use serde::{Deserialize, Serialize};

use crate::classify::{Diagnosis, DiagnosisCode, Verdict};
use crate::evidence::{
    Alert, Backend, Closer, ConnAck, Evidence, FollowUps, Phase, Timings, TlsSession, VerifyError,
};
use crate::facts::TrustFacts;
use crate::x509::CertSummary;

/// The version of the JSON document shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    /// `mqtls`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

impl Tool {
    /// This build of mqtls.
    pub fn current() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// What was probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetInfo {
    /// Host name or IP.
    pub host: String,
    /// Port.
    pub port: u16,
    /// SNI sent, if any.
    pub sni: Option<String>,
    /// The name the certificate was verified against.
    pub expect_name: String,
    /// `mqtts`, `mqtt`, `wss` or `ws`.
    pub scheme: String,
    /// MQTT version of the CONNECT.
    pub mqtt_version: String,
    /// The WebSocket path (`wss`/`ws` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The user's files as mqtls read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Inputs {
    /// The trust anchors.
    pub trust: TrustFacts,
    /// The client certificate, if one was given.
    pub client_cert: Option<CertSummary>,
    /// Why the client certificate or key could not be used, if so.
    pub identity_problem: Option<crate::facts::IdentityProblem>,
}

/// Alerts seen on the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alerts {
    /// Received from the broker.
    pub received: Option<AlertInfo>,
    /// Sent by this client.
    pub sent: Option<AlertInfo>,
}

/// An alert with its name, for readers of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertInfo {
    /// The alert number.
    pub code: u8,
    /// Its IANA name.
    pub name: String,
}

impl From<Alert> for AlertInfo {
    fn from(a: Alert) -> AlertInfo {
        AlertInfo {
            code: a.code,
            name: a.name().to_string(),
        }
    }
}

/// Whether a backend connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// TCP, TLS and CONNACK success.
    Ok,
    /// Anything else.
    Failed,
    /// This stack cannot make the connection asked for (rustls and TLS-PSK): no probe was
    /// made. Not a failure: it does not change the exit code.
    NotSupported,
}

/// One backend's result: the evidence and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BackendReport {
    /// `rustls` or `openssl`.
    pub backend: Backend,
    /// Library and version.
    pub library: String,
    /// Connected or not.
    pub outcome: Outcome,
    /// How far it got.
    pub phase: Phase,
    /// What was negotiated.
    pub tls: TlsSession,
    /// The chain the broker presented.
    pub peer_chain: Vec<CertSummary>,
    /// The verdict.
    pub diagnosis: Diagnosis,
    /// Codes that did not break this backend but will break others.
    pub warnings: Vec<DiagnosisCode>,
    /// The facts of the warnings that carry some (`cert_expires_soon`: which certificate, its
    /// notAfter and the days left), in the order of `warnings`; absent when none do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warning_facts: Vec<crate::classify::WarningFacts>,
    /// The backend's own words.
    pub raw_error: Option<String>,
    /// Wall time of the probe.
    pub elapsed_ms: f64,
    /// Per-phase timings.
    pub timings: Timings,
    /// Alerts received and sent.
    pub alerts: Alerts,
    /// Who closed the connection early.
    pub closed_by: Option<Closer>,
    /// Every certificate verification error, with depth.
    pub verify_errors: Vec<VerifyError>,
    /// Whether the broker asked for a client certificate (`null` when the backend cannot tell).
    pub client_cert_requested: Option<bool>,
    /// The CA names the broker's CertificateRequest listed (the issuers it accepts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_cert_ca_names: Vec<String>,
    /// Whether this client sent one.
    pub client_cert_sent: bool,
    /// The CONNACK, if any.
    pub connack: Option<ConnAck>,
    /// First bytes of a non-TLS answer, hex.
    pub first_bytes: Option<String>,
    /// Addresses tried.
    pub addresses: Vec<String>,
    /// The address connected to.
    pub connected_to: Option<String>,
    /// The PSK side of the probe, when a pre-shared key was given (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psk: Option<crate::evidence::psk::PskEvidence>,
    /// The WebSocket upgrade (`ws://`/`wss://` targets): path, status line, headers, body,
    /// subprotocol, close frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<crate::evidence::WebSocketExchange>,
}

impl BackendReport {
    /// Combines one backend's evidence and verdict.
    pub fn new(ev: Evidence, verdict: Verdict) -> BackendReport {
        BackendReport {
            backend: ev.backend,
            library: ev.library,
            outcome: if ev.failure.is_none() && ev.phase == Phase::Done {
                Outcome::Ok
            } else if ev.psk.as_ref().is_some_and(|p| !p.supported) {
                Outcome::NotSupported
            } else {
                Outcome::Failed
            },
            phase: ev.phase,
            tls: ev.tls,
            peer_chain: ev.peer_chain,
            diagnosis: verdict.diagnosis,
            warnings: verdict.warnings,
            warning_facts: verdict.warning_facts,
            raw_error: ev.raw_error,
            elapsed_ms: ev.elapsed_ms,
            timings: ev.timings,
            alerts: Alerts {
                received: ev.alert_received.map(AlertInfo::from),
                sent: ev.alert_sent.map(AlertInfo::from),
            },
            closed_by: ev.closed_by,
            verify_errors: ev.verify_errors,
            client_cert_requested: ev.client_cert_requested,
            client_cert_ca_names: ev.client_cert_ca_names,
            client_cert_sent: ev.client_cert_sent,
            connack: ev.connack,
            first_bytes: ev.first_bytes,
            addresses: ev.addresses,
            connected_to: ev.connected_to,
            psk: ev.psk,
            websocket: ev.websocket,
        }
    }
}

/// Values that differ from run to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Meta {
    /// The clock the verdicts used, RFC 3339.
    pub checked_at: String,
    /// Wall time of the whole command.
    pub elapsed_ms: f64,
    /// The local port of every connection the probes made (follow-ups included), to find this
    /// diagnosis's lines in a broker log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ports: Vec<u16>,
}

/// The whole `diagnose` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DiagnoseReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// mqtls and its version.
    pub tool: Tool,
    /// What was probed.
    pub target: TargetInfo,
    /// The user's files.
    pub inputs: Inputs,
    /// One entry per backend, in backend order.
    pub backends: Vec<BackendReport>,
    /// True when every backend got the same diagnosis code.
    pub agreement: bool,
    /// Why the backends disagree, when they do.
    pub disagreement: Option<String>,
    /// Follow-up probes.
    pub follow_ups: FollowUps,
    /// The broker's certification path as mqtls built it (absent when no chain was seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<crate::chain::ChainAnalysis>,
    /// Run-dependent values.
    pub meta: Meta,
}

impl DiagnoseReport {
    /// True when every backend connected or could not try, and at least one connected (exit
    /// code 0): a run where no stack could try tested nothing.
    pub fn all_ok(&self) -> bool {
        self.backends.iter().all(|b| b.outcome != Outcome::Failed)
            && self.backends.iter().any(|b| b.outcome == Outcome::Ok)
    }

    /// The diagnoses, deduplicated by code, in backend order: what the user must act on.
    pub fn distinct_diagnoses(&self) -> Vec<(Vec<Backend>, &Diagnosis)> {
        let mut out: Vec<(Vec<Backend>, &Diagnosis)> = Vec::new();
        for b in &self.backends {
            match out.iter_mut().find(|(_, d)| d.code == b.diagnosis.code) {
                Some((backends, _)) => backends.push(b.backend),
                None => out.push((vec![b.backend], &b.diagnosis)),
            }
        }
        out
    }

    /// The facts to show for a diagnosis shared by `backends`: its own facts, then each other
    /// backend's raw error, so the user sees every stack's words (the strings people search).
    pub fn facts_for(&self, backends: &[Backend], diagnosis: &Diagnosis) -> Vec<String> {
        let mut facts: Vec<String> = diagnosis
            .facts
            .iter()
            .filter(|f| !f.is_empty())
            .cloned()
            .collect();
        for b in self
            .backends
            .iter()
            .filter(|b| backends.contains(&b.backend))
        {
            if let Some(raw) = &b.raw_error
                && !facts.iter().any(|f| f.contains(raw.as_str()))
            {
                facts.push(format!("{}: {raw}", b.backend));
            }
        }
        facts
    }

    /// The warnings that carry facts, deduplicated across backends, in backend order.
    pub fn distinct_warning_facts(&self) -> Vec<(Vec<Backend>, &crate::classify::WarningFacts)> {
        let mut out: Vec<(Vec<Backend>, &crate::classify::WarningFacts)> = Vec::new();
        for b in &self.backends {
            for w in &b.warning_facts {
                match out.iter_mut().find(|(_, seen)| *seen == w) {
                    Some((backends, _)) => backends.push(b.backend),
                    None => out.push((vec![b.backend], w)),
                }
            }
        }
        out
    }

    /// The earliest notAfter (Unix seconds) on the broker's certification path as the chain
    /// analysis built it, else on the chain presented: what blackbox_exporter reports as
    /// `probe_ssl_earliest_cert_expiry`.
    pub fn earliest_path_expiry(&self) -> Option<i64> {
        match &self.chain {
            Some(a) if !a.path.is_empty() => a.path.iter().map(|l| l.cert.not_after_unix).min(),
            _ => self
                .backends
                .iter()
                .flat_map(|b| &b.peer_chain)
                .map(|c| c.not_after_unix)
                .min(),
        }
    }

    /// The certificate that expires first among the broker's path (or chain presented) and the
    /// client certificate: (notAfter in Unix seconds, which certificate, its subject).
    pub fn earliest_expiry(&self) -> Option<(i64, &'static str, &str)> {
        let path: Vec<(&'static str, &CertSummary)> = match &self.chain {
            Some(a) if !a.path.is_empty() => a
                .path
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let role = match (i, l.anchor()) {
                        (_, true) => "trust anchor",
                        (0, false) => "server certificate",
                        _ => "intermediate",
                    };
                    (role, &l.cert)
                })
                .collect(),
            _ => self
                .common_chain()
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        if i == 0 {
                            "server certificate"
                        } else {
                            "intermediate"
                        },
                        c,
                    )
                })
                .collect(),
        };
        path.into_iter()
            .chain(
                self.inputs
                    .client_cert
                    .iter()
                    .map(|c| ("client certificate", c)),
            )
            .min_by_key(|(_, c)| c.not_after_unix)
            .map(|(role, c)| (c.not_after_unix, role, c.subject.as_str()))
    }

    /// The chain presented, if every backend that saw one saw the same.
    pub fn common_chain(&self) -> Option<&[CertSummary]> {
        let mut chains = self
            .backends
            .iter()
            .map(|b| &b.peer_chain)
            .filter(|c| !c.is_empty());
        let first = chains.next()?;
        let same = chains.all(|c| {
            c.len() == first.len() && c.iter().zip(first).all(|(a, b)| a.sha256 == b.sha256)
        });
        same.then_some(first.as_slice())
    }
}

/// Explains a disagreement between backends from their diagnoses: which accepts, which
/// rejects, and why (the stacks' known differences).
pub fn explain_disagreement(backends: &[BackendReport]) -> Option<String> {
    let codes: Vec<DiagnosisCode> = backends.iter().map(|b| b.diagnosis.code).collect();
    if codes.windows(2).all(|w| w[0] == w[1]) {
        return None;
    }
    let parts: Vec<String> = backends
        .iter()
        .map(|b| match b.outcome {
            Outcome::Ok => format!("{} connected", b.backend),
            Outcome::Failed => format!("{} failed with {}", b.backend, b.diagnosis.code),
            Outcome::NotSupported => {
                format!("{} could not try (not supported by this stack)", b.backend)
            }
        })
        .collect();
    let why = backends.iter().find_map(|b| match b.diagnosis.code {
        DiagnosisCode::X509V1Cert => Some("rustls (webpki) accepts only X.509 v3; OpenSSL still accepts v1"),
        DiagnosisCode::CnOnlyNoSan => Some("rustls checks only subjectAltName; OpenSSL falls back to the CN when there is no SAN"),
        DiagnosisCode::CaCertAsServerCert => Some("rustls refuses a CA:TRUE certificate as end entity; OpenSSL accepts it"),
        DiagnosisCode::IntermediateAsAnchor => Some("rustls trusts any certificate in the CA file as an anchor; OpenSSL requires a self-signed root"),
        DiagnosisCode::ExpiredTrustAnchor => Some("OpenSSL checks the trust anchor's validity; rustls does not"),
        DiagnosisCode::WeakSignature | DiagnosisCode::WeakKey => Some("rustls always refuses SHA-1 and small RSA keys; OpenSSL decides by its security level"),
        DiagnosisCode::LegacyTlsOnly => Some("rustls implements only TLS 1.2 and 1.3"),
        DiagnosisCode::NotSupportedByStack => Some("rustls implements no external pre-shared keys (TLS-PSK); OpenSSL does"),
        DiagnosisCode::SameSubjectCaAndServer => Some("OpenSSL looks the issuer up by name and, without distinct key identifiers, takes a leaf named like its CA for self-signed; rustls follows the signature"),
        DiagnosisCode::NoSharedCipher => Some("rustls offers only AEAD suites with ECDHE; OpenSSL also offers CBC and DHE"),
        DiagnosisCode::MalformedCertificate => Some("rustls (webpki) reads certificates as strict DER and refuses what it cannot parse unambiguously; OpenSSL is more lenient"),
        DiagnosisCode::UnsupportedAlgorithm => Some("rustls implements fewer signature algorithms than OpenSSL (no DSA, P-192 or Ed448)"),
        DiagnosisCode::ChainTooComplex => Some("rustls (webpki) stops path building and name-constraint checks at fixed budgets (e.g. 250,000 comparisons); OpenSSL's limits are higher"),
        DiagnosisCode::ChainTooLong => Some("rustls (webpki) follows at most 6 intermediate CAs; OpenSSL follows up to its verify depth (100 by default)"),
        _ => None,
    });
    Some(match why {
        Some(why) => format!("{}: {why}.", parts.join(", ")),
        None => format!("{}.", parts.join(", ")),
    })
}
