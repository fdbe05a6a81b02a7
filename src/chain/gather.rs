//! Gathering the candidates of a chain analysis: the I/O half of [`super`].
//!
//! Files beside the user's own (`--cafile`, `--cert`), `--untrusted` files and the system trust
//! store are read here, bounded in count and size; the AIA caIssuers download is in
//! [`fetch_aia`]. Nothing here decides anything: unreadable files are skipped and said.

// Bytes from the network and from the user's files: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Candidate, Source};
use crate::x509::read_pem;

/// Files read from one directory at most: a `certs/` folder, not a whole file system.
const MAX_FILES_PER_DIR: usize = 200;
/// Largest file read as a candidate: bundles are tens of KiB, this leaves room.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Largest AIA response read: one certificate or a small PKCS#7 bundle.
const MAX_AIA_BYTES: usize = 256 * 1024;
/// File name endings read as certificates beside the user's files.
const CERT_EXTENSIONS: [&str; 5] = ["pem", "crt", "cer", "cert", "der"];

/// The certificates of `paths` (PEM, or one DER certificate), each with `source(path)`.
pub fn read_files(paths: &[PathBuf], source: impl Fn(&Path) -> Source) -> Vec<Candidate> {
    paths
        .iter()
        .flat_map(|p| {
            certificates_in(p)
                .into_iter()
                .map(|der| Candidate {
                    der,
                    source: source(p),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The certificates in the files beside `files` (`--cafile`, `--cert`, `--untrusted`: the
/// directories that hold them), except
/// `files` themselves: where people keep the rest of their PKI (`root.crt`,
/// `intermediate.crt`, `server.crt` in one folder).
pub fn beside(files: &[PathBuf]) -> Vec<Candidate> {
    let own: Vec<PathBuf> = files.iter().filter_map(|f| f.canonicalize().ok()).collect();
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.canonicalize().ok())
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| CERT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .filter(|p| !own.contains(p))
            .collect();
        // Sorted, so the same folder always gives the same analysis.
        names.sort();
        names.truncate(MAX_FILES_PER_DIR);
        // A file that holds one certificate first: where a certificate is found in both
        // `intermediate.crt` and `ca-bundle.crt`, the remedy should name the former.
        let mut files: Vec<Vec<Candidate>> = names
            .iter()
            .map(|p| {
                read_files(std::slice::from_ref(p), |p| Source::Beside {
                    path: p.display().to_string(),
                })
            })
            .collect();
        files.sort_by_key(Vec::len);
        out.extend(files.into_iter().flatten());
    }
    out
}

/// The system trust store, as rustls and OpenSSL clients on this machine see it.
pub fn system_store() -> Vec<Candidate> {
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|der| Candidate {
            der,
            source: Source::SystemStore,
        })
        .collect()
}

fn certificates_in(path: &Path) -> Vec<CertificateDer<'static>> {
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_BYTES);
    if !small {
        return Vec::new();
    }
    std::fs::read(path).map_or_else(|_| Vec::new(), |bytes| certificates_in_bytes(&bytes))
}

/// PEM certificates, a DER certificate, or the certificates of a DER PKCS#7 bundle (what AIA
/// URLs serve as `.p7c`).
pub fn certificates_in_bytes(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    let pem = read_pem(bytes);
    if !pem.certs.is_empty() {
        return pem.certs;
    }
    if bytes.first() != Some(&0x30) {
        return Vec::new();
    }
    if X509Certificate::from_der(bytes).is_ok() {
        return vec![CertificateDer::from(bytes.to_vec())];
    }
    openssl::pkcs7::Pkcs7::from_der(bytes)
        .ok()
        .and_then(|p7| {
            let signed = p7.signed()?;
            let certs = signed.certificates()?;
            Some(
                certs
                    .iter()
                    .filter_map(|c| c.to_der().ok())
                    .map(CertificateDer::from)
                    .collect(),
            )
        })
        .unwrap_or_default()
}

/// The caIssuers URLs of a certificate's Authority Information Access extension.
pub fn ca_issuers(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in &aia.accessdescs {
                if desc.access_method.to_id_string() == "1.3.6.1.5.5.7.48.2"
                    && let GeneralName::URI(uri) = &desc.access_location
                {
                    out.push(uri.to_string());
                }
            }
        }
    }
    out
}

/// Downloads a caIssuers URL over plain HTTP/1.0 within `deadline`, as browsers do to
/// complete a chain; only `http://` URLs (AIA over HTTPS would need the chain it completes).
pub async fn fetch_aia(
    url: &str,
    deadline: Duration,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// caIssuers URLs are fetched".to_string())?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.parse::<u16>().is_ok())
        .map_or(authority, |(h, _)| h);
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(&address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: mqtls/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot send the request: {e}"))?;
        let mut body = Vec::new();
        stream
            .take(MAX_AIA_BYTES as u64 + 1)
            .read_to_end(&mut body)
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        Ok::<Vec<u8>, String>(body)
    };
    let response = tokio::time::timeout(deadline, work)
        .await
        .map_err(|_| format!("no answer within {} s", deadline.as_secs_f64()))??;
    if response.len() > MAX_AIA_BYTES {
        return Err(format!("the answer is larger than {MAX_AIA_BYTES} bytes"));
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer is not HTTP")?;
    let (head, body) = response.split_at(split);
    let body = body.get(4..).unwrap_or_default();
    let status_line =
        String::from_utf8_lossy(head.split(|&b| b == b'\n').next().unwrap_or_default())
            .trim()
            .to_string();
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(format!("the server answered {status_line:?}"));
    }
    let certs = certificates_in_bytes(body);
    if certs.is_empty() {
        return Err(format!(
            "the answer ({} bytes) holds no certificate",
            body.len()
        ));
    }
    Ok(certs)
}
