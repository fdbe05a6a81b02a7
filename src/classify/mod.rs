//! The classifier: a pure function from evidence (of every backend) plus local facts to one
//! [`Diagnosis`] per backend.
//!
//! Rules are ordered most specific first; each returns `Option<Diagnosis>` and the first match
//! wins, with `unclassified` as the explicit fallback. No I/O, no clock (the probe's clock is
//! passed in [`Context::checked_at`]), no globals, no backend types.

pub mod diagnosis;
mod rules;

use serde::{Deserialize, Serialize};

pub use diagnosis::{Confidence, Diagnosis, DiagnosisCode};

use crate::chain::ChainAnalysis;
use crate::evidence::Evidence;
use crate::evidence::MqttVersion;
use crate::evidence::TlsVersion;
use crate::evidence::{Alert, Failure, Phase};
use crate::evidence::{FollowUpPlan, FollowUps};
pub use crate::facts::{IdentityProblem, TrustFacts, TrustSource};
use crate::x509::CertSummary;

impl IdentityProblem {
    /// The catalogue code of this problem.
    pub fn code(&self) -> DiagnosisCode {
        match self {
            IdentityProblem::CertUnusable { .. } => DiagnosisCode::ClientCertUnusable,
            IdentityProblem::KeyUnusable { .. } => DiagnosisCode::ClientKeyUnusable,
            IdentityProblem::KeyEncrypted { .. } => DiagnosisCode::ClientKeyEncrypted,
            IdentityProblem::KeyMismatch { .. } => DiagnosisCode::ClientKeyMismatch,
        }
    }
}

/// Everything besides one backend's evidence that a verdict may rest on.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `host:port` as probed.
    pub target: &'a str,
    /// The host name or IP the certificate was checked against.
    pub expect_name: &'a str,
    /// The SNI sent, if any.
    pub sni: Option<&'a str>,
    /// What the user trusts.
    pub trust: &'a TrustFacts,
    /// The client certificate's summary, when one was given.
    pub client_cert: Option<&'a CertSummary>,
    /// Why the client identity given could not be used, if it could not.
    pub identity_problem: Option<&'a IdentityProblem>,
    /// Whether a user name was sent in CONNECT.
    pub sent_username: bool,
    /// Whether the target is plain MQTT (`mqtt://`): the probes spoke no TLS.
    pub plain: bool,
    /// The clock the probes used, UNIX seconds.
    pub checked_at: i64,
    /// The evidence of every backend probed (for differential verdicts).
    pub all: &'a [Evidence],
    /// The TLS versions the user restricted the probes to (empty: each backend's defaults).
    pub offered_versions: &'a [TlsVersion],
    /// What the follow-up probes found.
    pub follow_ups: &'a FollowUps,
    /// The broker's certification path as the chain analysis built it, when a chain was seen.
    pub chain: Option<&'a ChainAnalysis>,
    /// `--warn-days`: a certificate that expires within this many days of `checked_at` is a
    /// `cert_expires_soon` warning.
    pub warn_days: u32,
}

/// `--warn-days` when not given.
pub const DEFAULT_WARN_DAYS: u32 = 30;

/// The facts behind one warning (the warning's code is also in [`Verdict::warnings`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WarningFacts {
    /// The warning's code.
    pub code: DiagnosisCode,
    /// What was observed, one sentence each.
    pub facts: Vec<String>,
}

/// The verdict for one backend: its diagnosis and its warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// The diagnosis.
    pub diagnosis: Diagnosis,
    /// Codes of problems that did not break this backend but will break others.
    pub warnings: Vec<DiagnosisCode>,
    /// The facts of the warnings that carry some (e.g. `cert_expires_soon`: which certificate,
    /// days left), in the order of `warnings`.
    pub warning_facts: Vec<WarningFacts>,
}

/// Classifies one backend's evidence.
pub fn classify(evidence: &Evidence, cx: &Context<'_>) -> Verdict {
    let diagnosis = rules::RULES
        .iter()
        .find_map(|rule| rule(evidence, cx))
        .unwrap_or_else(|| rules::unclassified(evidence));
    let warnings = rules::warnings(evidence, cx);
    let warning_facts = rules::warning_facts(&warnings, evidence, cx);
    tracing::debug!(
        backend = %evidence.backend,
        code = %diagnosis.code,
        confidence = diagnosis.confidence.name(),
        alternatives = ?diagnosis.alternatives,
        ?warnings,
        "classified"
    );
    Verdict {
        diagnosis,
        warnings,
        warning_facts,
    }
}

/// Which follow-up probes the plain probes of an `mqtt://` target call for: a TLS handshake
/// when the answer to CONNECT was a TLS record or a hang-up (the port may speak TLS).
pub fn plan_plain_follow_ups(all: &[Evidence]) -> FollowUpPlan {
    let mut plan = FollowUpPlan {
        tls: all.iter().any(rules::tls_answer_to_plain),
        ..FollowUpPlan::default()
    };
    rules::plan_websocket(all, false, &mut plan);
    plan
}

/// Which follow-up probes the evidence of the first round calls for.
///
/// - a plain CONNECT when a TLS attempt died before the peer said anything TLS-like;
/// - one handshake per TLS version when the failure may be about versions or ciphers;
/// - the handshake again with the other SNI setting when the broker refused, closed, or
///   presented a certificate that does not fit, and SNI could be why.
pub fn plan_follow_ups(
    all: &[Evidence],
    sni: Option<&str>,
    expect_name: &str,
    mqtt: MqttVersion,
) -> FollowUpPlan {
    let plain = all.iter().any(rules::looks_like_plaintext);
    let no_cert_request = !all.iter().any(|e| e.client_cert_requested == Some(true));
    let version_trouble = |e: &Evidence| {
        matches!(
            e.failure,
            Some(Failure::ProtocolVersion | Failure::NoSharedCipher)
        ) || matches!(e.alert_received, Some(a) if a == Alert::PROTOCOL_VERSION || a.code == 71)
            || (e.alert_received == Some(Alert::HANDSHAKE_FAILURE)
                && e.tls.version.is_none()
                && no_cert_request)
            // A broker that refuses a version may hang up instead of alerting.
            || (e.phase == Phase::Tls
                && e.tls.version.is_none()
                && matches!(e.failure, Some(Failure::PeerClosed { .. }))
                && e.client_cert_requested != Some(true))
    };
    let versions = all.iter().any(version_trouble);
    let sni_trouble = |e: &Evidence| {
        e.phase == Phase::Tls
            && match &e.failure {
                Some(Failure::AlertReceived {
                    alert,
                    after_handshake: false,
                }) => alert.code == 112 || (*alert == Alert::HANDSHAKE_FAILURE && no_cert_request),
                Some(Failure::PeerClosed { .. }) => true,
                Some(Failure::CertRejected { problem }) => {
                    sni.is_none()
                        && matches!(
                            problem,
                            crate::evidence::CertProblem::NameMismatch { .. }
                                | crate::evidence::CertProblem::UnknownIssuer
                                | crate::evidence::CertProblem::SelfSigned { .. }
                        )
                }
                _ => false,
            }
    };
    let other_sni = match sni {
        Some(_) => Some(None),
        // Without SNI, try the verified name, when it is a name (SNI carries no IP addresses).
        None if expect_name.parse::<std::net::IpAddr>().is_err() => {
            Some(Some(expect_name.to_string()))
        }
        None => None,
    };
    // A broker that closes on CONNECT, or refuses its protocol level, may speak the other one.
    let mqtt_trouble = all.iter().any(|e| {
        matches!(
            e.failure,
            Some(Failure::NoConnAck { closed: true })
                | Some(Failure::ConnAckRefused { code: 1 | 0x84 })
        )
    });
    let other_mqtt = match mqtt {
        MqttVersion::V311 => MqttVersion::V5,
        MqttVersion::V5 => MqttVersion::V311,
    };
    let mut plan = FollowUpPlan {
        mqtt_version: mqtt_trouble.then_some(other_mqtt),
        plain,
        versions,
        sni: other_sni.filter(|_| all.iter().any(sni_trouble)),
        psk: all.iter().any(rules::psk_follow_up_needed),
        ..FollowUpPlan::default()
    };
    rules::plan_websocket(all, true, &mut plan);
    plan
}

#[cfg(test)]
mod reasons_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod websocket_tests;
