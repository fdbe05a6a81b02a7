//! What the user's own inputs say, found before and apart from any connection: where the trust
//! anchors came from and what they hold, and why a client identity cannot be used. `inputs`
//! finds these facts; the classifier and the reports read them.

use serde::{Deserialize, Serialize};

use crate::x509::CertSummary;

/// Where the trust anchors came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrustFacts {
    /// Where the anchors came from.
    pub source: TrustSource,
    /// The certificates of the CA file(s); empty for the system store (too many to list).
    pub certs: Vec<CertSummary>,
    /// What each file held when it was not simply certificates (keys, DER, garbage).
    pub notes: Vec<String>,
}

impl TrustFacts {
    /// How the CA file is named in sentences: its path(s), or "the system trust store".
    pub fn describe(&self) -> String {
        match &self.source {
            TrustSource::System => "the system trust store".to_string(),
            TrustSource::Files { paths } => paths.join(", "),
        }
    }

    /// "your CA file X" or "the system trust store", for sentences about what the user trusts.
    pub fn phrase(&self) -> String {
        match &self.source {
            TrustSource::System => "the system trust store".to_string(),
            TrustSource::Files { paths } if paths.len() > 1 => {
                format!("your CA files {}", paths.join(", "))
            }
            TrustSource::Files { paths } => format!("your CA file {}", paths.join(", ")),
        }
    }

    /// The `openssl` option that names this trust: `-CAfile FILE`, or nothing for the system
    /// store (OpenSSL's default verify paths).
    pub fn openssl_option(&self) -> String {
        match &self.source {
            TrustSource::Files { paths } => paths
                .first()
                .map_or(String::new(), |p| format!(" -CAfile {p}")),
            TrustSource::System => String::new(),
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

/// Why the client certificate or key given could not be used; found locally, before connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum IdentityProblem {
    /// The certificate file holds no usable certificate.
    CertUnusable {
        /// The file.
        path: String,
        /// What it holds instead.
        detail: String,
    },
    /// The key file holds no usable private key.
    KeyUnusable {
        /// The file.
        path: String,
        /// What it holds instead.
        detail: String,
    },
    /// The key is encrypted and no password, or a wrong one, was given.
    KeyEncrypted {
        /// The file.
        path: String,
        /// True when a password was given but did not decrypt the key.
        wrong_password: bool,
    },
    /// The key does not belong to the certificate.
    KeyMismatch {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// The certificate's public key vs the key's, described.
        detail: String,
    },
}
