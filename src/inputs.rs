//! Reading the user's own files once per run: CA bundle(s), client certificate and key.
//!
//! A file that does not exist or cannot be read is an input error (exit code 2). A file that
//! exists but holds nothing usable is evidence: it is described here and diagnosed by the
//! classifier (`ca_file_unusable`, `client_cert_unusable`, `client_key_unusable`,
//! `client_key_encrypted`, `client_key_mismatch`), so the user learns what the file holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rustls::pki_types::PrivateKeyDer;

use rustls::pki_types::CertificateDer;

use crate::chain::{Candidate, Pool, Source, gather};
use crate::error::Error;
use crate::facts::{IdentityProblem, TrustFacts, TrustSource};
use crate::probe::{Anchors, Identity, TlsInputs};
use crate::x509::{CertSummary, PemContents, read_pem};

/// The user's files, parsed: what the probes use and what the classifier analyses.
#[derive(Debug, Clone)]
pub struct LoadedInputs {
    /// For the probes.
    pub tls: TlsInputs,
    /// For the classifier and reports.
    pub trust: TrustFacts,
    /// The client certificate's summary.
    pub client_cert: Option<CertSummary>,
    /// Why the client identity could not be used (the probes then run without one).
    pub identity_problem: Option<IdentityProblem>,
    /// The files behind it, for the chain analysis's candidates.
    pub paths: InputPaths,
    /// Each CA file with its certificates, in file order.
    pub ca_files: Vec<(String, Vec<CertificateDer<'static>>)>,
    /// What the chain analysis may build paths through besides the broker's chain and the CA
    /// file(s): the system store when it is the trust, certificates beside the user's files
    /// and `--untrusted` files. Read on first need: a connection that succeeds never needs it.
    candidates: OnceLock<Vec<(String, Vec<Candidate>)>>,
}

impl LoadedInputs {
    /// A chain-analysis pool of `broker` (the chain the broker sent) and the CA file(s); with
    /// `search` also every other candidate (the system store when it is the trust, the files
    /// beside the user's, `--untrusted`), for a chain that failed.
    pub fn chain_pool(&self, broker: &[CertificateDer<'static>], search: bool) -> Pool {
        let mut pool = Pool::new();
        pool.add_place(
            "what the broker sent",
            broker
                .iter()
                .enumerate()
                .map(|(index, der)| Candidate {
                    der: der.clone(),
                    source: Source::Broker { index },
                })
                .collect(),
        );
        for (path, certs) in &self.ca_files {
            pool.add_place(
                format!("the CA file {path}"),
                certs
                    .iter()
                    .map(|der| Candidate {
                        der: der.clone(),
                        source: Source::CaFile { path: path.clone() },
                    })
                    .collect(),
            );
        }
        if search {
            let more = self.candidates.get_or_init(|| {
                let mut more = chain_candidates(&self.paths);
                if self.trust.source == TrustSource::System {
                    more.insert(
                        0,
                        ("the system trust store".to_string(), gather::system_store()),
                    );
                }
                more
            });
            for (place, candidates) in more {
                pool.add_place(place.clone(), candidates.clone());
            }
        }
        pool
    }
}

/// Where the user's files are.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputPaths {
    /// `--cafile` (empty: system roots).
    pub cafiles: Vec<PathBuf>,
    /// `--cert`.
    pub cert: Option<PathBuf>,
    /// `--key`.
    pub key: Option<PathBuf>,
    /// The key's password, already read from the environment.
    pub key_password: Option<String>,
    /// `--untrusted`: files of intermediates the chain analysis may use (never trusted).
    pub untrusted: Vec<PathBuf>,
    /// `--offline`: the chain analysis downloads no AIA caIssuers URL.
    pub offline: bool,
    /// The pre-shared key to offer, already read from the environment (redacted in `Debug`).
    pub psk: Option<crate::probe::psk::Psk>,
}

/// Each distinct set of files, loaded once and shared by every probe that names it: the cases
/// of a run, the hosts of a scan. The key password is part of the set: the same key file under
/// another password is another identity.
#[derive(Debug, Default)]
pub struct LoadedOnce(BTreeMap<InputPaths, Arc<LoadedInputs>>);

impl LoadedOnce {
    /// The inputs for `paths`, loading them on first use.
    pub fn get_or_load(&mut self, paths: &InputPaths) -> Result<Arc<LoadedInputs>, Error> {
        if let Some(loaded) = self.0.get(paths) {
            return Ok(Arc::clone(loaded));
        }
        let loaded = Arc::new(load(paths)?);
        self.0.insert(paths.clone(), Arc::clone(&loaded));
        Ok(loaded)
    }
}

/// Reads and parses every file once.
pub fn load(paths: &InputPaths) -> Result<LoadedInputs, Error> {
    let (anchors, trust, ca_files) = load_trust(&paths.cafiles)?;
    let mut client_cert = None;
    let mut identity = None;
    let mut identity_problem = None;
    if let (Some(cert), Some(key)) = (&paths.cert, &paths.key) {
        let cert_bytes = read(cert, "--cert")?;
        let key_bytes = read(key, "--key")?;
        let chain = read_pem(&cert_bytes);
        client_cert = chain.certs.first().map(|c| CertSummary::from_der(c));
        let files = IdentityFiles {
            cert,
            cert_bytes: &cert_bytes,
            chain: &chain,
            key,
            key_bytes: &key_bytes,
        };
        match load_identity(&files, paths.key_password.as_deref()) {
            Ok(id) => identity = Some(id),
            Err(problem) => identity_problem = Some(problem),
        }
    }
    let mut tls = TlsInputs::new(anchors, identity);
    tls.psk = paths.psk.clone();
    Ok(LoadedInputs {
        tls,
        trust,
        client_cert,
        identity_problem,
        paths: paths.clone(),
        ca_files,
        candidates: OnceLock::new(),
    })
}

/// The `--untrusted` files and the certificates beside the user's files, each place with its
/// certificates.
fn chain_candidates(paths: &InputPaths) -> Vec<(String, Vec<Candidate>)> {
    let mut out = Vec::new();
    for path in &paths.untrusted {
        out.push((
            format!("{} (--untrusted)", path.display()),
            gather::read_files(std::slice::from_ref(path), |p| Source::Untrusted {
                path: p.display().to_string(),
            }),
        ));
    }
    let own: Vec<PathBuf> = paths
        .cafiles
        .iter()
        .chain(&paths.cert)
        .chain(&paths.untrusted)
        .cloned()
        .collect();
    let beside = gather::beside(&own);
    if !beside.is_empty() {
        out.push((
            "the certificate files beside your files".to_string(),
            beside,
        ));
    }
    out
}

/// The trust anchors for the probes, the facts about them, and each CA file's certificates.
type Trust = (
    Anchors,
    TrustFacts,
    Vec<(String, Vec<CertificateDer<'static>>)>,
);

fn load_trust(cafiles: &[PathBuf]) -> Result<Trust, Error> {
    if cafiles.is_empty() {
        let trust = TrustFacts {
            source: TrustSource::System,
            certs: Vec::new(),
            notes: Vec::new(),
        };
        return Ok((Anchors::System, trust, Vec::new()));
    }
    let mut certs = Vec::new();
    let mut notes = Vec::new();
    let mut per_file = Vec::new();
    for path in cafiles {
        let bytes = read(path, "--cafile")?;
        let contents = read_pem(&bytes);
        if contents.certs.is_empty() {
            notes.push(format!(
                "{}: {}",
                path.display(),
                describe_unusable(&bytes, &contents)
            ));
        }
        per_file.push((path.display().to_string(), contents.certs.clone()));
        certs.extend(contents.certs);
    }
    let trust = TrustFacts {
        source: TrustSource::Files {
            paths: cafiles.iter().map(|p| p.display().to_string()).collect(),
        },
        certs: certs.iter().map(|c| CertSummary::from_der(c)).collect(),
        notes,
    };
    Ok((Anchors::Certs(certs), trust, per_file))
}

/// Says what a file that should hold PEM certificates holds instead.
fn describe_unusable(bytes: &[u8], contents: &PemContents) -> String {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return "the file is empty".into();
    }
    if contents.private_keys > 0 {
        return format!(
            "holds {} private key(s) and no certificate — a key was given where a certificate was expected",
            contents.private_keys
        );
    }
    if bytes.first() == Some(&0x30) {
        return if X509::from_der(bytes).is_ok() {
            "holds a DER (binary) certificate, not PEM; convert it: `openssl x509 -inform der -in FILE -out FILE.pem`".into()
        } else {
            "holds binary DER data that is not a certificate".into()
        };
    }
    if let Some(e) = &contents.error {
        return format!("PEM framing is broken: {e}");
    }
    if contents.other_sections > 0 {
        return format!(
            "holds {} PEM section(s) that are not certificates (CSR, CRL, parameters)",
            contents.other_sections
        );
    }
    "holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line)".into()
}

/// The client identity files, read once.
struct IdentityFiles<'a> {
    cert: &'a Path,
    cert_bytes: &'a [u8],
    chain: &'a PemContents,
    key: &'a Path,
    key_bytes: &'a [u8],
}

fn load_identity(
    files: &IdentityFiles<'_>,
    password: Option<&str>,
) -> Result<Identity, IdentityProblem> {
    let (cert_path, key_path, chain) = (files.cert, files.key, files.chain);
    let cert_name = cert_path.display().to_string();
    let key_name = key_path.display().to_string();
    let Some(leaf_der) = chain.certs.first() else {
        return Err(IdentityProblem::CertUnusable {
            path: cert_name,
            detail: describe_unusable(files.cert_bytes, chain),
        });
    };
    let key = parse_key(&key_name, files.key_bytes, password)?;
    let leaf = X509::from_der(leaf_der).map_err(|e| IdentityProblem::CertUnusable {
        path: cert_name.clone(),
        detail: format!("the first certificate cannot be parsed: {e}"),
    })?;
    let matches = leaf
        .public_key()
        .map(|public| public.public_eq(&key))
        .unwrap_or(false);
    if !matches {
        let summary = CertSummary::from_der(leaf_der);
        return Err(IdentityProblem::KeyMismatch {
            cert: cert_name,
            key: key_name,
            detail: format!(
                "{} holds the certificate of {} ({}); {} holds an {} key that is not its private key",
                cert_path.display(),
                summary.subject,
                summary.key,
                key_path.display(),
                key_kind(&key)
            ),
        });
    }
    let pkcs8 = key
        .private_key_to_pkcs8()
        .map_err(|e| IdentityProblem::KeyUnusable {
            path: key_name,
            detail: e.to_string(),
        })?;
    Ok(Identity {
        chain: chain.certs.clone(),
        key: PrivateKeyDer::Pkcs8(pkcs8.into()),
    })
}

fn parse_key(
    name: &str,
    bytes: &[u8],
    password: Option<&str>,
) -> Result<PKey<Private>, IdentityProblem> {
    let text = String::from_utf8_lossy(bytes);
    let encrypted = text.contains("ENCRYPTED");
    if encrypted {
        let Some(pw) = password else {
            return Err(IdentityProblem::KeyEncrypted {
                path: name.into(),
                wrong_password: false,
            });
        };
        return PKey::private_key_from_pem_passphrase(bytes, pw.as_bytes()).map_err(|_| {
            IdentityProblem::KeyEncrypted {
                path: name.into(),
                wrong_password: true,
            }
        });
    }
    if let Ok(key) = PKey::private_key_from_pem(bytes) {
        return Ok(key);
    }
    if let Ok(key) = PKey::private_key_from_der(bytes) {
        return Ok(key);
    }
    let contents = read_pem(bytes);
    let detail = if contents.certs.is_empty() {
        describe_unusable(bytes, &contents).replace("no PEM certificate", "no PEM private key")
    } else {
        format!(
            "holds {} certificate(s) and no private key — a certificate was given where the key was expected",
            contents.certs.len()
        )
    };
    Err(IdentityProblem::KeyUnusable {
        path: name.into(),
        detail,
    })
}

fn key_kind(key: &PKey<Private>) -> String {
    match key.id() {
        openssl::pkey::Id::RSA => format!("RSA {}", key.bits()),
        // Named like CertSummary::key, so the two sides of a mismatch read alike.
        openssl::pkey::Id::EC => match key.bits() {
            256 => "EC P-256".into(),
            384 => "EC P-384".into(),
            521 => "EC P-521".into(),
            bits => format!("EC {bits}"),
        },
        openssl::pkey::Id::ED25519 => "Ed25519".into(),
        other => format!("{other:?}"),
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::ReadFile {
        what,
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_of_files_is_loaded_once_and_the_password_is_part_of_the_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = crate::pki::generate(dir.path()).expect("pki");
        let paths = |password: Option<&str>| InputPaths {
            cafiles: vec![pki.root.cert.clone()],
            cert: Some(pki.client.cert.clone()),
            key: Some(pki.client.key.clone()),
            key_password: password.map(str::to_string),
            untrusted: Vec::new(),
            offline: false,
            psk: None,
        };
        let mut once = LoadedOnce::default();
        let first = once.get_or_load(&paths(None)).expect("loads");
        let again = once.get_or_load(&paths(None)).expect("loads");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same files are parsed once"
        );
        let other = once.get_or_load(&paths(Some("other"))).expect("loads");
        assert!(
            !Arc::ptr_eq(&first, &other),
            "another password is another set"
        );
        let missing = InputPaths {
            cafiles: vec![dir.path().join("missing.crt")],
            ..InputPaths::default()
        };
        assert!(matches!(
            once.get_or_load(&missing),
            Err(Error::ReadFile { .. })
        ));
    }
}
