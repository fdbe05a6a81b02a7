//! The classifier: a pure function from evidence (of every backend) plus local facts to one
//! [`Diagnosis`] per backend.
//!
//! Rules are ordered most specific first; each returns `Option<Diagnosis>` and the first match
//! wins, with `unclassified` as the explicit fallback. No I/O, no clock (the probe's clock is
//! passed in [`Context::checked_at`]), no globals, no backend types.

pub mod diagnosis;
mod rules;

use serde::{Deserialize, Serialize};

pub use diagnosis::{Diagnosis, DiagnosisCode};

use crate::evidence::Evidence;
use crate::probe::PlainProbe;
use crate::x509::CertSummary;

/// Where the trust anchors came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrustSource {
    /// The system's root store.
    System,
    /// The user's `--cafile` files.
    Files {
        /// The paths, as given.
        paths: Vec<String>,
    },
}

/// What the user trusts, analysed independently of either TLS stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustFacts {
    /// Where the anchors came from.
    pub source: TrustSource,
    /// The certificates of the CA file(s); empty for the system store (too many to list).
    pub certs: Vec<CertSummary>,
}

impl TrustFacts {
    /// How the CA file is named in sentences: its path(s), or "the system trust store".
    pub fn describe(&self) -> String {
        match &self.source {
            TrustSource::System => "the system trust store".to_string(),
            TrustSource::Files { paths } => paths.join(", "),
        }
    }

    /// The flag people pass it with, for remedies.
    pub fn first_path(&self) -> &str {
        match &self.source {
            TrustSource::Files { paths } => paths.first().map_or("ca.crt", String::as_str),
            TrustSource::System => "ca.crt",
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
    /// Whether a user name was sent in CONNECT.
    pub sent_username: bool,
    /// The clock the probes used, UNIX seconds.
    pub checked_at: i64,
    /// The evidence of every backend probed (for differential verdicts).
    pub all: &'a [Evidence],
    /// The plain-MQTT confirmation probe, when one was run.
    pub plain: Option<&'a PlainProbe>,
}

/// The verdict for one backend: its diagnosis and its warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The diagnosis.
    pub diagnosis: Diagnosis,
    /// Codes of problems that did not break this backend but will break others.
    pub warnings: Vec<DiagnosisCode>,
}

/// Classifies one backend's evidence.
pub fn classify(evidence: &Evidence, cx: &Context<'_>) -> Verdict {
    let diagnosis = rules::RULES
        .iter()
        .find_map(|rule| rule(evidence, cx))
        .unwrap_or_else(|| rules::unclassified(evidence));
    let warnings = rules::warnings(evidence, cx);
    Verdict {
        diagnosis,
        warnings,
    }
}

/// True when the plain-MQTT follow-up is worth running: the TLS attempt died before the peer
/// said anything that looks like TLS.
pub fn needs_plain_probe(all: &[Evidence]) -> bool {
    all.iter().any(rules::looks_like_plaintext)
}

#[cfg(test)]
mod tests;
