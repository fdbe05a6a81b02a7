//! The model of `inspect`: what each file holds, the findings, and each stack's offline
//! verdict on the server chain.

use serde::{Deserialize, Serialize};

use super::diagnose::Tool;
use crate::chain::ChainAnalysis;
use crate::classify::DiagnosisCode as Code;
use crate::evidence::{Backend, CertProblem};
use crate::x509::CertSummary;

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
    /// The broker's certification path as the chain analysis built it.
    pub server_chain: Option<ChainAnalysis>,
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
    /// The evidence behind it, when it comes from a stack's refusal (the diagnosis's facts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
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
    /// The error as the probe normalises it (the same mapping), when it is a refusal of the
    /// chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<CertProblem>,
    /// The diagnosis of this stack's verdict by the same rules as `diagnose` (`ok` when it
    /// accepts): the code `diagnose` gives this backend for a broker that sends this chain.
    pub code: Code,
}
