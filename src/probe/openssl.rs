//! The OpenSSL backend (system libssl): a handshake that records every verification error with
//! its depth, and the one mapping from OpenSSL errors to [`Failure`].
//!
//! Verification runs at the request's `verify_at` when one is given (`X509_VERIFY_PARAM_set_time`
//! on each connection's parameters). The verify callback records each `X509_V_ERR` and lets the
//! handshake go on, so the whole
//! chain is read and every problem is listed, not only the first. A probe whose verification
//! recorded errors is then a failure exactly as it would be for a normal OpenSSL client (the
//! first error is the one such a client would print), and no CONNECT is ever sent over an
//! unverified connection: credentials must not go to a server we could not authenticate.
//!
//! OpenSSL reports alerts and protocol problems as reason codes in its error stack; reasons
//! of 1000 + n are alert n received (`SSL_AD_REASON_OFFSET`). The numeric `SSL_R_*` codes
//! below are those of OpenSSL 1.1.1 and 3.x, which agree for these reasons.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{ErrorCode, Ssl, SslAlert, SslContext, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use rustls::pki_types::CertificateDer;
use tokio_openssl::SslStream;

use super::tap::Tap;
use super::{Anchors, ProbeRequest, TlsInputs, TlsVersion};
use crate::cert_details::CertDetails;
use crate::evidence::{Alert, CertProblem, Closer, Evidence, Failure, VerifyError};
use crate::x509::CertSummary;

// Reason codes of the SSL library (include/openssl/sslerr.h).
const SSL_R_CERTIFICATE_VERIFY_FAILED: i32 = 134;
const SSL_R_HTTP_REQUEST: i32 = 156;
const SSL_R_HTTPS_PROXY_REQUEST: i32 = 155;
const SSL_R_NO_CIPHERS_AVAILABLE: i32 = 181;
const SSL_R_NO_PROTOCOLS_AVAILABLE: i32 = 191;
const SSL_R_NO_SHARED_CIPHER: i32 = 193;
const SSL_R_PACKET_LENGTH_TOO_LONG: i32 = 198;
const SSL_R_UNKNOWN_PROTOCOL: i32 = 252;
const SSL_R_UNSUPPORTED_PROTOCOL: i32 = 258;
const SSL_R_WRONG_VERSION_NUMBER: i32 = 267;
const SSL_R_UNEXPECTED_EOF_WHILE_READING: i32 = 294;
const SSL_R_RECORD_LAYER_FAILURE: i32 = 313;
/// The broker chose TLS 1.0/1.1 (SHA-1/MD5 handshake signatures) and the security level
/// forbids it.
const SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED: i32 = 333;
/// Alerts received show as reason 1000 + alert number.
const SSL_AD_REASON_OFFSET: i32 = 1000;
/// `X509_V_ERR_EC_KEY_EXPLICIT_PARAMS` (OpenSSL 3.0+, x509_vfy.h), which openssl-sys does not
/// define; 94 means nothing else in earlier versions, which never report it.
const X509_V_ERR_EC_KEY_EXPLICIT_PARAMS: i32 = 94;

/// `OpenSSL 3.0.19 27 Jan 2026` (the library actually loaded).
pub fn library() -> String {
    openssl::version::version().to_string()
}

/// Per-run OpenSSL state: one context with the trust store and the client identity. Cheap to
/// clone (a reference count).
#[derive(Clone)]
pub struct OpensslPrepared {
    context: Result<SslContext, String>,
    psk: Option<super::psk::Psk>,
}

impl OpensslPrepared {
    /// Builds the context once for all probes of a run.
    pub fn new(inputs: &TlsInputs, request: &ProbeRequest) -> OpensslPrepared {
        OpensslPrepared {
            context: build_context(inputs, request),
            psk: inputs.psk.clone(),
        }
    }

    /// The TLS handshake. Returns the stream only when the handshake succeeded and
    /// verification recorded no error; everything else is recorded in `ev`.
    pub async fn handshake(
        &self,
        tap: Tap,
        request: &ProbeRequest,
        ev: &mut Evidence,
    ) -> Option<SslStream<Tap>> {
        let context = match &self.context {
            Ok(c) => c,
            Err(e) => {
                ev.raw_error = Some(e.clone());
                ev.failure = Some(if e.contains("client") {
                    Failure::ClientIdentity { detail: e.clone() }
                } else {
                    Failure::Other
                });
                ev.closed_by = Some(Closer::Client);
                return None;
            }
        };
        let errors = Arc::new(Mutex::new(Vec::<VerifyError>::new()));
        let mut psk_record = None;
        let ssl = match new_ssl(context, request, Arc::clone(&errors)).and_then(|mut ssl| {
            if self.psk.is_some() {
                psk_record = Some(super::psk::attach(&mut ssl)?);
            }
            Ok(ssl)
        }) {
            Ok(ssl) => ssl,
            Err(e) => {
                ev.raw_error = Some(e.to_string());
                ev.failure = Some(Failure::Other);
                return None;
            }
        };
        let mut stream = match SslStream::new(ssl, tap) {
            Ok(s) => s,
            Err(e) => {
                ev.raw_error = Some(e.to_string());
                ev.failure = Some(Failure::Other);
                return None;
            }
        };
        let result = tokio::time::timeout(request.timeout, Pin::new(&mut stream).connect()).await;
        record_session(stream.ssl(), ev);
        if let Some(psk) = &self.psk {
            super::psk::record(psk, psk_record.as_ref(), stream.ssl(), ev);
        }
        ev.verify_errors = lock(&errors).clone();
        // The certificate callback ran: the broker sent a CertificateRequest (OpenSSL calls it
        // for nothing else), and the configured certificate, if any, was sent in answer.
        let request_seen = mqtls_ossl_certreq::certificate_request(stream.ssl());
        ev.client_cert_requested = Some(request_seen.is_some());
        ev.client_cert_sent = request_seen.is_some() && stream.ssl().certificate().is_some();
        ev.client_cert_ca_names = request_seen
            .map(|r| {
                r.ca_names
                    .iter()
                    .map(|n| crate::x509::dn_from_der(n))
                    .collect()
            })
            .unwrap_or_default();
        match result {
            Ok(Ok(())) => {
                if let Some(first) = ev.verify_errors.first().cloned() {
                    ev.raw_error = Some(format!(
                        "certificate verify failed: {} (verify error {} at depth {})",
                        first.message,
                        first.code.unwrap_or_default(),
                        first.depth.unwrap_or_default()
                    ));
                    ev.failure = Some(Failure::CertRejected {
                        problem: problem_from_verify_error(&first, &request.expect_name),
                    });
                    ev.closed_by = Some(Closer::Client);
                    // A real OpenSSL client would abort here; so do we, without MQTT.
                    let _ = tokio::time::timeout(
                        request.timeout.min(std::time::Duration::from_millis(200)),
                        tokio::io::AsyncWriteExt::shutdown(&mut stream),
                    )
                    .await;
                    return None;
                }
                Some(stream)
            }
            Ok(Err(e)) => {
                ev.raw_error = Some(error_text(&e));
                ev.record_handshake_failure(failure_from_ssl_error(&e));
                None
            }
            Err(_) => {
                ev.record_handshake_timeout(request.timeout);
                None
            }
        }
    }
}

fn build_context(inputs: &TlsInputs, request: &ProbeRequest) -> Result<SslContext, String> {
    let stack = |e: ErrorStack| e.to_string();
    let mut b = SslContext::builder(SslMethod::tls_client()).map_err(stack)?;
    match &inputs.anchors {
        Anchors::System => b.set_default_verify_paths().map_err(stack)?,
        Anchors::Certs(certs) => {
            for der in certs {
                // A certificate OpenSSL cannot parse is simply not an anchor; the independent
                // analysis reports it.
                if let Ok(x509) = X509::from_der(der) {
                    let _ = b.cert_store_mut().add_cert(x509);
                }
            }
        }
    }
    if let Some(identity) = &inputs.identity {
        let mut chain = identity.chain.iter();
        if let Some(leaf) = chain.next() {
            let leaf = X509::from_der(leaf)
                .map_err(|e| format!("OpenSSL cannot read the client certificate: {e}"))?;
            b.set_certificate(&leaf)
                .map_err(|e| format!("OpenSSL refuses the client certificate: {e}"))?;
        }
        for extra in chain {
            if let Ok(x509) = X509::from_der(extra) {
                b.add_extra_chain_cert(x509).map_err(stack)?;
            }
        }
        let key = PKey::private_key_from_der(identity.key.secret_der())
            .map_err(|e| format!("OpenSSL cannot read the client key: {e}"))?;
        b.set_private_key(&key)
            .map_err(|e| format!("OpenSSL refuses the client key: {e}"))?;
        b.check_private_key()
            .map_err(|e| format!("the client key does not match the client certificate: {e}"))?;
    }
    if let Some(psk) = &inputs.psk {
        super::psk::configure(&mut b, psk);
    }
    mqtls_ossl_certreq::record_certificate_requests(&mut b);
    let (min, max) = version_bounds(&request.tls_versions);
    if min.is_some_and(|v| v < TlsVersion::Tls12) {
        // TLS 1.0/1.1 need security level 0 in OpenSSL 3 (SHA-1 signatures in the handshake).
        b.set_security_level(0);
        b.set_cipher_list("DEFAULT:@SECLEVEL=0").map_err(stack)?;
    }
    b.set_min_proto_version(min.map(ssl_version))
        .map_err(stack)?;
    b.set_max_proto_version(max.map(ssl_version))
        .map_err(stack)?;
    if !request.alpn.is_empty() {
        let mut wire = Vec::new();
        for p in &request.alpn {
            let len = u8::try_from(p.len()).map_err(|_| format!("ALPN id {p:?} is too long"))?;
            wire.push(len);
            wire.extend_from_slice(p.as_bytes());
        }
        b.set_alpn_protos(&wire).map_err(stack)?;
    }
    Ok(b.build())
}

fn new_ssl(
    context: &SslContext,
    request: &ProbeRequest,
    errors: Arc<Mutex<Vec<VerifyError>>>,
) -> Result<Ssl, ErrorStack> {
    let mut ssl = Ssl::new(context)?;
    if let Some(sni) = &request.sni {
        // OpenSSL sends an IP literal as SNI when asked to, unlike rustls; libmosquitto does too.
        ssl.set_hostname(sni)?;
    }
    match request.expect_name.parse::<IpAddr>() {
        Ok(ip) => ssl.param_mut().set_ip(ip)?,
        Err(_) => ssl.param_mut().set_host(&request.expect_name)?,
    }
    if let Some(at) = request.verify_at {
        // Per connection, so the context cached for the run does not depend on the instant.
        // time_t is 64 bits on every platform mqtls targets.
        ssl.param_mut().set_time(at as _);
    }
    ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if !ok {
            let e = ctx.error();
            lock(&errors).push(VerifyError {
                depth: Some(ctx.error_depth()),
                code: Some(e.as_raw()),
                message: e.error_string().to_string(),
            });
        }
        // Keep going: the rest of the chain and the negotiated session are evidence too.
        true
    });
    Ok(ssl)
}

fn record_session(ssl: &openssl::ssl::SslRef, ev: &mut Evidence) {
    if let Some(chain) = ssl.peer_cert_chain() {
        ev.peer_chain_der = chain
            .iter()
            .filter_map(|c| c.to_der().ok())
            .map(CertificateDer::from)
            .collect();
        ev.peer_chain = ev
            .peer_chain_der
            .iter()
            .map(|der| CertSummary::from_der(der))
            .collect();
        ev.chain_details = ev
            .peer_chain_der
            .iter()
            .map(|der| CertDetails::from_der(der))
            .collect();
    }
    if ssl.is_init_finished() {
        ev.tls.version = Some(ssl.version_str().to_string());
        ev.tls.cipher = ssl
            .current_cipher()
            .map(|c| c.standard_name().unwrap_or(c.name()).to_string());
        ev.tls.alpn = ssl
            .selected_alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
    }
}

/// Maps an I/O error from tokio-openssl (after the handshake) to a failure when it carries an
/// OpenSSL error; plain socket errors return `None`.
pub fn failure_from_io(e: &io::Error) -> Option<Failure> {
    let ssl_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<openssl::ssl::Error>())?;
    match failure_from_ssl_error(ssl_error) {
        Failure::AlertReceived { alert, .. } => Some(Failure::AlertReceived {
            alert,
            after_handshake: true,
        }),
        Failure::PeerClosed { .. } | Failure::Other => None,
        other => Some(other),
    }
}

/// The one mapping from an OpenSSL handshake error to a backend-neutral failure.
pub fn failure_from_ssl_error(e: &openssl::ssl::Error) -> Failure {
    if let Some(stack) = e.ssl_error() {
        for err in stack.errors() {
            if let Some(f) = failure_from_reason(err.reason_code()) {
                return f;
            }
        }
    }
    match e.code() {
        ErrorCode::ZERO_RETURN => Failure::PeerClosed { reset: false },
        ErrorCode::SYSCALL => match e.io_error().map(io::Error::kind) {
            Some(io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe) => {
                Failure::PeerClosed { reset: true }
            }
            Some(io::ErrorKind::UnexpectedEof) | None => Failure::PeerClosed { reset: false },
            Some(_) => Failure::Other,
        },
        _ => Failure::Other,
    }
}

/// One reason code of the SSL library to a failure, when it names one.
fn failure_from_reason(reason: i32) -> Option<Failure> {
    if reason > SSL_AD_REASON_OFFSET && SslAlert::from_reason_code(reason).is_some() {
        let code = u8::try_from(reason - SSL_AD_REASON_OFFSET).ok()?;
        return Some(Failure::AlertReceived {
            alert: Alert { code },
            after_handshake: false,
        });
    }
    Some(match reason {
        SSL_R_WRONG_VERSION_NUMBER
        | SSL_R_PACKET_LENGTH_TOO_LONG
        | SSL_R_HTTP_REQUEST
        | SSL_R_HTTPS_PROXY_REQUEST
        | SSL_R_UNKNOWN_PROTOCOL
        | SSL_R_RECORD_LAYER_FAILURE => Failure::NotTls,
        SSL_R_UNSUPPORTED_PROTOCOL
        | SSL_R_NO_PROTOCOLS_AVAILABLE
        | SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED => Failure::ProtocolVersion,
        SSL_R_NO_SHARED_CIPHER | SSL_R_NO_CIPHERS_AVAILABLE => Failure::NoSharedCipher,
        SSL_R_UNEXPECTED_EOF_WHILE_READING => Failure::PeerClosed { reset: false },
        SSL_R_CERTIFICATE_VERIFY_FAILED => Failure::CertRejected {
            problem: CertProblem::UnknownIssuer,
        },
        _ => return None,
    })
}

/// Maps one recorded `X509_V_ERR_*` to a problem, through openssl-sys's cfg-aware constants
/// (numbers differ between OpenSSL versions, e.g. INVALID_CA is 24 before 3.0 and 79 after).
///
/// `mqtls inspect` reads its offline verdicts through this mapping too, so both name the
/// same reason; `expect_name` is the name the chain was checked for.
pub(crate) fn problem_from_verify_error(err: &VerifyError, expect_name: &str) -> CertProblem {
    use openssl_sys as s;
    let depth = err.depth;
    match err.code.unwrap_or_default() {
        s::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        | s::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | s::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE => CertProblem::UnknownIssuer,
        s::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT | s::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN => {
            CertProblem::SelfSigned {
                depth: depth.unwrap_or_default(),
            }
        }
        s::X509_V_ERR_CERT_HAS_EXPIRED => CertProblem::Expired { depth },
        s::X509_V_ERR_CERT_NOT_YET_VALID => CertProblem::NotYetValid { depth },
        s::X509_V_ERR_HOSTNAME_MISMATCH | s::X509_V_ERR_IP_ADDRESS_MISMATCH => {
            CertProblem::NameMismatch {
                expected: expect_name.to_string(),
                presented: Vec::new(),
            }
        }
        s::X509_V_ERR_INVALID_CA => CertProblem::IssuerNotCa,
        // The purpose is checked on every certificate; above the leaf it is a CA's EKU.
        s::X509_V_ERR_INVALID_PURPOSE => match depth {
            Some(d) if d > 0 => CertProblem::IntermediatePurpose { depth },
            _ => CertProblem::InvalidPurpose,
        },
        s::X509_V_ERR_CERT_REVOKED => CertProblem::Revoked,
        s::X509_V_ERR_CA_MD_TOO_WEAK => CertProblem::WeakSignature,
        s::X509_V_ERR_EE_KEY_TOO_SMALL | s::X509_V_ERR_CA_KEY_TOO_SMALL => CertProblem::WeakKey,
        s::X509_V_ERR_PERMITTED_VIOLATION
        | s::X509_V_ERR_EXCLUDED_VIOLATION
        | s::X509_V_ERR_SUBTREE_MINMAX
        | s::X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE
        | s::X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX
        | s::X509_V_ERR_UNSUPPORTED_NAME_SYNTAX => CertProblem::NameConstraint {
            depth,
            detail: err.message.clone(),
        },
        s::X509_V_ERR_PATH_LENGTH_EXCEEDED => CertProblem::PathLength { depth },
        s::X509_V_ERR_CERT_CHAIN_TOO_LONG => CertProblem::ChainTooLong,
        s::X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION => {
            CertProblem::UnknownCriticalExtension { depth }
        }
        s::X509_V_ERR_CERT_SIGNATURE_FAILURE
        | s::X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE
        | s::X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY => CertProblem::BadSignature,
        s::X509_V_ERR_UNSPECIFIED
        | s::X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD
        | s::X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD => CertProblem::Malformed {
            depth,
            detail: err.message.clone(),
        },
        X509_V_ERR_EC_KEY_EXPLICIT_PARAMS if openssl::version::number() >= 0x3000_0000 => {
            CertProblem::Malformed {
                depth,
                detail: err.message.clone(),
            }
        }
        code => CertProblem::Other {
            detail: format!("{} (X509_V_ERR {code})", err.message),
        },
    }
}

/// OpenSSL's own words: the error stack's reasons, or the I/O error.
fn error_text(e: &openssl::ssl::Error) -> String {
    match (e.ssl_error(), e.io_error()) {
        (Some(stack), _) => stack
            .errors()
            .iter()
            .map(|err| {
                let mut s = format!("error:{:08X}:", err.code());
                s.push_str(err.library().unwrap_or("?"));
                s.push_str("::");
                s.push_str(err.reason().unwrap_or("?"));
                if let Some(data) = err.data() {
                    s.push(':');
                    s.push_str(data);
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; "),
        (None, Some(io)) => io.to_string(),
        (None, None) => match e.code() {
            ErrorCode::SYSCALL => "unexpected EOF (the peer closed the connection)".into(),
            code => format!("OpenSSL error code {}", code.as_raw()),
        },
    }
}

fn version_bounds(versions: &[TlsVersion]) -> (Option<TlsVersion>, Option<TlsVersion>) {
    (
        versions.iter().min().copied(),
        versions.iter().max().copied(),
    )
}

pub(super) fn ssl_version(v: TlsVersion) -> SslVersion {
    match v {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

/// A poisoned lock only means a callback panicked; the recorded errors are still valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_map_to_failures() {
        let cases = [
            (
                1048,
                Some(Failure::AlertReceived {
                    alert: Alert::UNKNOWN_CA,
                    after_handshake: false,
                }),
            ),
            (
                1116,
                Some(Failure::AlertReceived {
                    alert: Alert::CERTIFICATE_REQUIRED,
                    after_handshake: false,
                }),
            ),
            (
                1040,
                Some(Failure::AlertReceived {
                    alert: Alert::HANDSHAKE_FAILURE,
                    after_handshake: false,
                }),
            ),
            (SSL_R_WRONG_VERSION_NUMBER, Some(Failure::NotTls)),
            (SSL_R_PACKET_LENGTH_TOO_LONG, Some(Failure::NotTls)),
            (SSL_R_UNSUPPORTED_PROTOCOL, Some(Failure::ProtocolVersion)),
            (SSL_R_NO_SHARED_CIPHER, Some(Failure::NoSharedCipher)),
            (
                SSL_R_UNEXPECTED_EOF_WHILE_READING,
                Some(Failure::PeerClosed { reset: false }),
            ),
            (12345, None),
        ];
        for (reason, expected) in cases {
            assert_eq!(failure_from_reason(reason), expected, "reason {reason}");
        }
    }

    #[test]
    fn verify_codes_map_through_openssl_sys() {
        let request = super::super::tests_support::request("localhost");
        let cases = [
            (
                openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                CertProblem::UnknownIssuer,
            ),
            (
                openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
                CertProblem::UnknownIssuer,
            ),
            (
                openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
                CertProblem::SelfSigned { depth: 0 },
            ),
            (
                openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED,
                CertProblem::Expired { depth: Some(0) },
            ),
            (openssl_sys::X509_V_ERR_INVALID_CA, CertProblem::IssuerNotCa),
            (
                openssl_sys::X509_V_ERR_PERMITTED_VIOLATION,
                CertProblem::NameConstraint {
                    depth: Some(0),
                    detail: "msg".into(),
                },
            ),
            (
                openssl_sys::X509_V_ERR_EXCLUDED_VIOLATION,
                CertProblem::NameConstraint {
                    depth: Some(0),
                    detail: "msg".into(),
                },
            ),
            (
                openssl_sys::X509_V_ERR_UNSUPPORTED_NAME_SYNTAX,
                CertProblem::NameConstraint {
                    depth: Some(0),
                    detail: "msg".into(),
                },
            ),
            (
                openssl_sys::X509_V_ERR_PATH_LENGTH_EXCEEDED,
                CertProblem::PathLength { depth: Some(0) },
            ),
            (
                openssl_sys::X509_V_ERR_CERT_CHAIN_TOO_LONG,
                CertProblem::ChainTooLong,
            ),
            (
                openssl_sys::X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION,
                CertProblem::UnknownCriticalExtension { depth: Some(0) },
            ),
            (
                openssl_sys::X509_V_ERR_CERT_SIGNATURE_FAILURE,
                CertProblem::BadSignature,
            ),
            (
                openssl_sys::X509_V_ERR_UNSPECIFIED,
                CertProblem::Malformed {
                    depth: Some(0),
                    detail: "msg".into(),
                },
            ),
            (
                X509_V_ERR_EC_KEY_EXPLICIT_PARAMS,
                CertProblem::Malformed {
                    depth: Some(0),
                    detail: "msg".into(),
                },
            ),
            // At depth 0 the purpose is the leaf's (server_eku_missing).
            (
                openssl_sys::X509_V_ERR_INVALID_PURPOSE,
                CertProblem::InvalidPurpose,
            ),
            (
                openssl_sys::X509_V_ERR_HOSTNAME_MISMATCH,
                CertProblem::NameMismatch {
                    expected: "localhost".into(),
                    presented: vec![],
                },
            ),
        ];
        for (code, expected) in cases {
            let err = VerifyError {
                depth: Some(0),
                code: Some(code),
                message: "msg".into(),
            };
            assert_eq!(
                problem_from_verify_error(&err, &request.expect_name),
                expected,
                "code {code}"
            );
        }
        // Above the leaf, an unsuitable purpose is a CA's extendedKeyUsage.
        let ca = VerifyError {
            depth: Some(1),
            code: Some(openssl_sys::X509_V_ERR_INVALID_PURPOSE),
            message: "unsuitable certificate purpose".into(),
        };
        assert_eq!(
            problem_from_verify_error(&ca, &request.expect_name),
            CertProblem::IntermediatePurpose { depth: Some(1) }
        );
    }
}
