//! Reading the user's own files once per run: CA bundle(s), client certificate and key.
//!
//! A file that does not exist or cannot be read is an input error (exit code 2). A file that
//! exists but holds nothing usable is evidence: it is summarised here and diagnosed by the
//! classifier (`ca_file_unusable`), so the user learns what the file actually holds.

use std::path::{Path, PathBuf};

use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use crate::classify::{TrustFacts, TrustSource};
use crate::error::Error;
use crate::probe::{Anchors, Identity, TlsInputs};
use crate::x509::{CertSummary, read_pem};

/// The user's files, parsed: what the probes use and what the classifier analyses.
#[derive(Debug, Clone)]
pub struct LoadedInputs {
    /// For the probes.
    pub tls: TlsInputs,
    /// For the classifier and reports.
    pub trust: TrustFacts,
    /// The client certificate's summary.
    pub client_cert: Option<CertSummary>,
}

/// Where the user's files are.
#[derive(Debug, Clone, Default)]
pub struct InputPaths {
    /// `--cafile` (empty: system roots).
    pub cafiles: Vec<PathBuf>,
    /// `--cert`.
    pub cert: Option<PathBuf>,
    /// `--key`.
    pub key: Option<PathBuf>,
    /// The key's password, already read from the environment.
    pub key_password: Option<String>,
}

/// Reads and parses every file once.
pub fn load(paths: &InputPaths) -> Result<LoadedInputs, Error> {
    let (anchors, trust) = if paths.cafiles.is_empty() {
        (
            Anchors::System,
            TrustFacts {
                source: TrustSource::System,
                certs: Vec::new(),
            },
        )
    } else {
        let mut certs = Vec::new();
        for path in &paths.cafiles {
            let bytes = read(path, "--cafile")?;
            certs.extend(read_pem(&bytes).certs);
        }
        let summaries = certs.iter().map(|c| CertSummary::from_der(c)).collect();
        (
            Anchors::Certs(certs),
            TrustFacts {
                source: TrustSource::Files {
                    paths: paths
                        .cafiles
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect(),
                },
                certs: summaries,
            },
        )
    };
    let (identity, client_cert) = match (&paths.cert, &paths.key) {
        (Some(cert), Some(key)) => {
            let identity = load_identity(cert, key, paths.key_password.as_deref())?;
            let summary = identity.chain.first().map(|c| CertSummary::from_der(c));
            (Some(identity), summary)
        }
        _ => (None, None),
    };
    Ok(LoadedInputs {
        tls: TlsInputs { anchors, identity },
        trust,
        client_cert,
    })
}

fn load_identity(cert: &Path, key: &Path, password: Option<&str>) -> Result<Identity, Error> {
    let cert_bytes = read(cert, "--cert")?;
    let chain = read_pem(&cert_bytes).certs;
    if chain.is_empty() {
        return Err(Error::Flag {
            flag: "--cert",
            value: cert.display().to_string(),
            reason: "the file holds no PEM certificate".into(),
        });
    }
    let key_bytes = read(key, "--key")?;
    let key_der = match password {
        Some(pw) => {
            let pkey =
                openssl::pkey::PKey::private_key_from_pem_passphrase(&key_bytes, pw.as_bytes())
                    .map_err(|_| Error::Flag {
                        flag: "--key",
                        value: key.display().to_string(),
                        reason: "the key could not be decrypted with the password given".into(),
                    })?;
            let der = pkey.private_key_to_pkcs8().map_err(|e| Error::Flag {
                flag: "--key",
                value: key.display().to_string(),
                reason: e.to_string(),
            })?;
            PrivateKeyDer::Pkcs8(der.into())
        }
        None => PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|_| Error::Flag {
            flag: "--key",
            value: key.display().to_string(),
            reason: if String::from_utf8_lossy(&key_bytes).contains("ENCRYPTED") {
                "the key is encrypted; pass its password with --key-password-env VAR".into()
            } else {
                "the file holds no PEM private key".into()
            },
        })?,
    };
    Ok(Identity {
        chain,
        key: key_der,
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::ReadFile {
        what,
        path: path.to_path_buf(),
        source,
    })
}
