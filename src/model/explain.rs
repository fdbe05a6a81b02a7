//! The model of `explain`: the readings of a pasted message, and the groups of a broker log.

use serde::{Deserialize, Serialize};

use crate::classify::DiagnosisCode;

/// Which side refused whom, seen from the process that printed the message.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RejectedBy {
    /// The process that printed the message refused its peer (its own verification failed).
    Local,
    /// The message reports a refusal from the other side (a received alert, a CONNACK refusal).
    Peer,
    /// Nobody refused anything (connection refused, timeouts, closed connections).
    None,
}

impl RejectedBy {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectedBy::Local => "local",
            RejectedBy::Peer => "peer",
            RejectedBy::None => "none",
        }
    }
}

/// The result of `mqtls explain`: every reading of the text, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Explanation {
    /// Version of this document's shape (shared with `diagnose`).
    pub schema_version: u32,
    /// The readings, ranked best first; empty when nothing was recognised.
    pub matches: Vec<Match>,
}

/// One reading of the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Match {
    /// The catalogue code it may mean.
    pub code: DiagnosisCode,
    /// The stack whose wording matched (`openssl`, `rustls`, `python`, `mosquitto`, ...).
    pub stack: String,
    /// Who refused whom, seen from the process that printed the message.
    pub rejected_by: RejectedBy,
    /// What the message means, in plain words.
    pub meaning: String,
    /// What to check next.
    pub next_steps: Vec<String>,
    /// The one check that tells this reading apart from the others of the same text.
    pub tell_apart: String,
    /// The `mqtls diagnose` command that would confirm it.
    pub confirm: String,
    /// The line of the text that matched.
    pub matched: String,
}

/// The result of `mqtls explain --log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogReport {
    /// Version of this document's shape (shared with `diagnose`).
    pub schema_version: u32,
    /// Lines read.
    pub lines: usize,
    /// Failures found (one per connection and cause).
    pub failures: usize,
    /// Failures grouped by client address and cause, most frequent first.
    pub groups: Vec<LogGroup>,
}

/// Failures of one cause from one client address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogGroup {
    /// The client's IP address as the broker logged it, or `unknown`.
    pub client: String,
    /// The catalogue code (from the client's point of view where the broker received an alert).
    pub code: DiagnosisCode,
    /// Who refused whom, seen from the broker.
    pub rejected_by: RejectedBy,
    /// The stack whose wording matched.
    pub stack: String,
    /// How many connections failed this way.
    pub count: usize,
    /// What it means.
    pub meaning: String,
    /// The first log line of this group.
    pub example: String,
}
