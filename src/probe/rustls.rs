//! The rustls backend: a handshake that records the presented chain even when verification
//! fails, and the one mapping from `rustls::Error` to [`Failure`].
//!
//! rustls keeps the peer chain only after successful verification, so a recording verifier
//! wraps `WebPkiServerVerifier`: it stores the chain and the typed verdict, then returns the
//! verdict unchanged, so rustls behaves exactly like any rustls client would. The verifier
//! also checks the certificate against `--expect-name` rather than the SNI, which lets the two
//! differ, and at the request's `verify_at` rather than rustls's clock when one is given (the
//! verifier is built per probe, so the prepared state shared by a run does not depend on it). A recording client-certificate resolver tells whether the broker asked for one.

use std::io;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::client::TlsStream;

use super::tap::Tap;
use super::{Anchors, ProbeRequest, TlsInputs, TlsVersion};
use crate::cert_details::CertDetails;
use crate::evidence::{Alert, CertProblem, Closer, Evidence, Failure};
use crate::x509::CertSummary;

/// The rustls version this binary was built with (read from Cargo.lock by build.rs).
pub const RUSTLS_VERSION: &str = env!("MQTLS_RUSTLS_VERSION");

/// `rustls 0.23.x (aws-lc-rs)`.
pub fn library() -> String {
    format!("rustls {RUSTLS_VERSION} (aws-lc-rs)")
}

/// Per-run rustls state: provider, verifier over the parsed anchors, client key. Cheap to
/// clone (shared pointers).
#[derive(Clone)]
pub struct RustlsPrepared {
    provider: Arc<CryptoProvider>,
    verifier: Result<Arc<WebPkiServerVerifier>, String>,
    identity: Result<Option<Arc<CertifiedKey>>, String>,
}

impl RustlsPrepared {
    /// Builds the verifier and loads the client key once for all probes of a run.
    pub fn new(inputs: &TlsInputs) -> RustlsPrepared {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        match &inputs.anchors {
            Anchors::System => {
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
            }
            Anchors::Certs(certs) => {
                roots.add_parsable_certificates(certs.iter().cloned());
            }
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|e| format!("rustls cannot build a verifier: {e}"));
        let identity = match &inputs.identity {
            None => Ok(None),
            Some(id) => CertifiedKey::from_der(id.chain.clone(), id.key.clone_key(), &provider)
                .map(|k| Some(Arc::new(k)))
                .map_err(|e| format!("rustls cannot use the client certificate and key: {e}")),
        };
        RustlsPrepared {
            provider,
            verifier,
            identity,
        }
    }

    /// The TLS handshake. Returns the stream only when the handshake succeeded and the broker
    /// was verified; everything else is recorded in `ev`.
    pub async fn handshake(
        &self,
        tap: Tap,
        request: &ProbeRequest,
        ev: &mut Evidence,
    ) -> Option<TlsStream<Tap>> {
        let setup = self.config(request);
        let (config, record, client_auth) = match setup {
            Ok(parts) => parts,
            Err(failure) => {
                ev.raw_error = Some(failure.1);
                ev.failure = Some(failure.0);
                ev.closed_by = Some(Closer::Client);
                return None;
            }
        };
        // rustls takes one name for SNI and verification; the verifier checks `expect_name`,
        // so the name passed here only matters as SNI (disabled by `enable_sni = false`).
        let sni = request.sni.as_deref().unwrap_or(&request.expect_name);
        let server_name = match ServerName::try_from(sni.to_string()) {
            Ok(n) => n,
            Err(e) => {
                ev.raw_error = Some(format!("invalid server name {sni:?}: {e}"));
                ev.failure = Some(Failure::Other);
                return None;
            }
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let result =
            tokio::time::timeout(request.timeout, connector.connect(server_name, tap)).await;
        let recorded = lock(&record).clone();
        ev.peer_chain = recorded
            .chain
            .iter()
            .map(|c| CertSummary::from_der(c))
            .collect();
        ev.chain_details = recorded
            .chain
            .iter()
            .map(|c| CertDetails::from_der(c))
            .collect();
        ev.peer_chain_der = recorded.chain;
        let asked = lock(&client_auth.asked).clone();
        ev.client_cert_requested = Some(asked.is_some());
        ev.client_cert_ca_names = asked
            .unwrap_or_default()
            .iter()
            .map(|n| crate::x509::dn_from_der(n))
            .collect();
        ev.client_cert_sent = *lock(&client_auth.sent);
        match result {
            Ok(Ok(stream)) => {
                let (_, conn) = stream.get_ref();
                ev.tls.version = conn.protocol_version().map(version_name);
                ev.tls.cipher = conn
                    .negotiated_cipher_suite()
                    .map(|s| iana_suite_name(s.suite()));
                ev.tls.alpn = conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                Some(stream)
            }
            Ok(Err(e)) => {
                ev.raw_error = Some(e.to_string());
                let failure = failure_from_io(&e).unwrap_or_else(|| failure_from_plain_io(&e));
                record_failure(ev, failure, &e);
                if let Some(err) = &recorded.error {
                    ev.verify_errors.push(crate::evidence::VerifyError {
                        depth: None,
                        code: None,
                        message: err.to_string(),
                    });
                }
                None
            }
            Err(_) => {
                ev.record_handshake_timeout(request.timeout);
                None
            }
        }
    }

    #[expect(clippy::type_complexity, reason = "a private constructor's tuple")]
    fn config(
        &self,
        request: &ProbeRequest,
    ) -> Result<
        (
            rustls::ClientConfig,
            Arc<Mutex<VerifierRecord>>,
            Arc<ClientAuthRecorder>,
        ),
        (Failure, String),
    > {
        let inner = self.verifier.clone().map_err(|e| (Failure::Other, e))?;
        let identity = self
            .identity
            .clone()
            .map_err(|e| (Failure::ClientIdentity { detail: e.clone() }, e))?;
        let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
        if request.tls_versions.is_empty() || request.tls_versions.contains(&TlsVersion::Tls13) {
            versions.push(&rustls::version::TLS13);
        }
        if request.tls_versions.is_empty() || request.tls_versions.contains(&TlsVersion::Tls12) {
            versions.push(&rustls::version::TLS12);
        }
        if versions.is_empty() {
            return Err((
                Failure::ProtocolVersion,
                "rustls implements only TLS 1.2 and 1.3, and neither was allowed".into(),
            ));
        }
        let verify_name = ServerName::try_from(request.expect_name.clone()).map_err(|e| {
            (
                Failure::Other,
                format!("invalid name {:?}: {e}", request.expect_name),
            )
        })?;
        let record = Arc::new(Mutex::new(VerifierRecord::default()));
        let verifier = Arc::new(RecordingVerifier {
            inner,
            verify_name,
            verify_at: request.verify_at.map(super::unix_time),
            record: Arc::clone(&record),
        });
        let client_auth = Arc::new(ClientAuthRecorder {
            identity,
            asked: Mutex::new(None),
            sent: Mutex::new(false),
        });
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&versions)
            .map_err(|e| (Failure::Other, e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::clone(&client_auth) as _);
        config.enable_sni = request.sni.is_some();
        config.alpn_protocols = request.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Ok((config, record, client_auth))
    }
}

/// Maps an I/O error from tokio-rustls to a failure, when it carries a typed `rustls::Error`.
/// Plain socket errors (EOF, reset) return `None` so the caller decides what they mean.
pub fn failure_from_io(e: &io::Error) -> Option<Failure> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(|err| failure_from_rustls(err).0)
}

/// The one mapping from `rustls::Error` to a backend-neutral failure, plus the alert rustls
/// sends for it (so a report can say what the broker will have logged).
pub fn failure_from_rustls(err: &rustls::Error) -> (Failure, Option<Alert>) {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(ce) => {
            let (problem, alert) = problem_from_certificate_error(ce);
            (Failure::CertRejected { problem }, Some(alert))
        }
        E::AlertReceived(desc) => (
            Failure::AlertReceived {
                alert: Alert {
                    code: u8::from(*desc),
                },
                after_handshake: false,
            },
            None,
        ),
        // Record-level nonsense means the peer does not speak TLS; a malformed message inside
        // well-formed records (an oversized certificate list, a bad extension) is a TLS peer
        // misbehaving, which the raw error describes.
        E::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
            | rustls::InvalidMessage::UnknownProtocolVersion
            | rustls::InvalidMessage::MessageTooLarge,
        ) => (Failure::NotTls, None),
        E::InvalidMessage(_) => (Failure::Other, None),
        E::PeerIncompatible(p) => {
            use rustls::PeerIncompatible as P;
            match p {
                P::NoCipherSuitesInCommon
                | P::NoKxGroupsInCommon
                | P::NoSignatureSchemesInCommon => (Failure::NoSharedCipher, None),
                P::ServerDoesNotSupportTls12Or13
                | P::ServerTlsVersionIsDisabledByOurConfig
                | P::Tls12NotOffered
                | P::Tls12NotOfferedOrEnabled
                | P::Tls13RequiredForQuic
                | P::SupportedVersionsExtensionRequired => (Failure::ProtocolVersion, None),
                _ => (Failure::Other, None),
            }
        }
        E::NoApplicationProtocol => (
            Failure::AlertReceived {
                alert: Alert::NO_APPLICATION_PROTOCOL,
                after_handshake: false,
            },
            None,
        ),
        _ => (Failure::Other, None),
    }
}

/// Maps a webpki/rustls certificate error to a problem and the alert rustls sends for it.
pub(crate) fn problem_from_certificate_error(ce: &CertificateError) -> (CertProblem, Alert) {
    use CertificateError as C;
    match ce {
        C::UnknownIssuer => (CertProblem::UnknownIssuer, Alert::UNKNOWN_CA),
        C::Expired | C::ExpiredContext { .. } => (
            CertProblem::Expired { depth: None },
            Alert::CERTIFICATE_EXPIRED,
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => (
            CertProblem::NotYetValid { depth: None },
            Alert::CERTIFICATE_EXPIRED,
        ),
        C::NotValidForName => (
            CertProblem::NameMismatch {
                expected: String::new(),
                presented: Vec::new(),
            },
            Alert::BAD_CERTIFICATE,
        ),
        C::NotValidForNameContext {
            expected,
            presented,
        } => (
            CertProblem::NameMismatch {
                expected: server_name_text(expected),
                presented: presented.clone(),
            },
            Alert::BAD_CERTIFICATE,
        ),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            (CertProblem::InvalidPurpose, Alert::UNSUPPORTED_CERTIFICATE)
        }
        C::Revoked => (CertProblem::Revoked, Alert::CERTIFICATE_REVOKED),
        C::BadSignature => (CertProblem::BadSignature, Alert { code: 51 }),
        // rustls folds webpki's BadDer, BadDerTime and TrailingData into BadEncoding.
        C::BadEncoding => (
            CertProblem::Malformed {
                depth: None,
                detail: "BadEncoding".into(),
            },
            Alert::BAD_CERTIFICATE,
        ),
        C::UnhandledCriticalExtension => (
            CertProblem::UnknownCriticalExtension { depth: None },
            Alert::UNSUPPORTED_CERTIFICATE,
        ),
        #[expect(deprecated, reason = "older rustls releases still produce it")]
        C::UnsupportedSignatureAlgorithm => (CertProblem::WeakSignature, Alert { code: 51 }),
        // The same error for SHA-1 (known, refused as weak) and for algorithms webpki does not
        // implement at all (DSA, Ed448, RSA-PSS parameters it does not take): the OID tells.
        C::UnsupportedSignatureAlgorithmContext {
            signature_algorithm_id,
            ..
        } => {
            let problem = if is_weak_digest(signature_algorithm_id.as_ref()) {
                CertProblem::WeakSignature
            } else {
                CertProblem::UnsupportedAlgorithm {
                    detail: format!(
                        "UnsupportedSignatureAlgorithmContext: signature algorithm {}",
                        algorithm_oid(signature_algorithm_id.as_ref())
                    ),
                }
            };
            (problem, Alert { code: 51 })
        }
        C::UnsupportedSignatureAlgorithmForPublicKeyContext {
            signature_algorithm_id,
            public_key_algorithm_id,
        } => (
            CertProblem::UnsupportedAlgorithm {
                detail: format!(
                    "UnsupportedSignatureAlgorithmForPublicKeyContext: signature algorithm {} \
                     with public key {}",
                    algorithm_oid(signature_algorithm_id.as_ref()),
                    algorithm_oid(public_key_algorithm_id.as_ref())
                ),
            },
            Alert { code: 51 },
        ),
        C::Other(other) => {
            let problem = match other.0.downcast_ref::<webpki::Error>() {
                Some(e) => problem_from_webpki(e),
                None => CertProblem::Other {
                    detail: other.to_string(),
                },
            };
            (problem, Alert::CERTIFICATE_UNKNOWN)
        }
        other => (
            CertProblem::Other {
                detail: format!("{other:?}"),
            },
            Alert::CERTIFICATE_UNKNOWN,
        ),
    }
}

/// The webpki errors rustls passes through untranslated (inside `CertificateError::Other`).
fn problem_from_webpki(e: &webpki::Error) -> CertProblem {
    use webpki::Error as W;
    let detail = || format!("{e:?}");
    match e {
        W::CaUsedAsEndEntity => CertProblem::CaUsedAsEndEntity,
        W::EndEntityUsedAsCa => CertProblem::IssuerNotCa,
        W::UnsupportedCertVersion => CertProblem::UnsupportedVersion,
        W::NameConstraintViolation
        | W::InvalidNetworkMaskConstraint
        | W::MalformedNameConstraint => CertProblem::NameConstraint {
            depth: None,
            detail: detail(),
        },
        W::PathLenConstraintViolated => CertProblem::PathLength { depth: None },
        W::MaximumPathDepthExceeded => CertProblem::ChainTooLong,
        W::MaximumPathBuildCallsExceeded
        | W::MaximumNameConstraintComparisonsExceeded
        | W::MaximumSignatureChecksExceeded => CertProblem::PathBuildingLimit { detail: detail() },
        W::UnsupportedCriticalExtension => CertProblem::UnknownCriticalExtension { depth: None },
        W::InvalidSignatureForPublicKey => CertProblem::BadSignature,
        W::BadDer
        | W::BadDerTime
        | W::TrailingData(_)
        | W::MalformedDnsIdentifier
        | W::MalformedExtensions
        | W::EmptyEkuExtension
        | W::ExtensionValueInvalid
        | W::InvalidSerialNumber
        | W::SignatureAlgorithmMismatch => CertProblem::Malformed {
            depth: None,
            detail: detail(),
        },
        _ => CertProblem::Other { detail: detail() },
    }
}

/// The DER of the OID that opens an AlgorithmIdentifier's contents (`06 len bytes...`).
fn oid_tlv(alg: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*alg.get(1)?);
    (alg.first() == Some(&0x06) && len < 0x80).then(|| alg.get(2..2 + len))?
}

/// SHA-1 and MD5-era signature algorithms, which webpki refuses as unsupported although they
/// are simply weak: ecdsa-with-SHA1, dsa-with-SHA1, md2/md4/md5/sha1WithRSAEncryption and the
/// OIW sha1WithRSA.
fn is_weak_digest(alg: &[u8]) -> bool {
    const WEAK: [&[u8]; 7] = [
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01],
        &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x02],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x03],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
        &[0x2b, 0x0e, 0x03, 0x02, 0x1d],
    ];
    oid_tlv(alg).is_some_and(|oid| WEAK.contains(&oid))
}

/// The dotted OID of an AlgorithmIdentifier's contents, for the words of a problem.
fn algorithm_oid(alg: &[u8]) -> String {
    oid_tlv(alg)
        .map(|bytes| {
            x509_parser::der_parser::oid::Oid::new(std::borrow::Cow::Borrowed(bytes)).to_id_string()
        })
        .unwrap_or_else(|| crate::x509::hex(alg))
}

/// Socket-level handshake errors: resets and EOFs before any alert.
fn failure_from_plain_io(e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
            Failure::PeerClosed { reset: true }
        }
        io::ErrorKind::UnexpectedEof => Failure::PeerClosed { reset: false },
        _ => Failure::Other,
    }
}

fn record_failure(ev: &mut Evidence, failure: Failure, e: &io::Error) {
    if let Some(rustls_err) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        let (_, sent) = failure_from_rustls(rustls_err);
        ev.alert_sent = sent;
    }
    ev.record_handshake_failure(failure);
}

fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// The IANA name of a suite, as OpenSSL's `standard_name` gives it (rustls names TLS 1.3
/// suites `TLS13_*`).
fn iana_suite_name(suite: rustls::CipherSuite) -> String {
    match suite.as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_string(),
        },
        None => format!("{suite:?}"),
    }
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// A poisoned lock only means a handshake task panicked; the record is still readable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the recording verifier saw.
#[derive(Debug, Default, Clone)]
struct VerifierRecord {
    chain: Vec<CertificateDer<'static>>,
    error: Option<rustls::Error>,
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verify_name: ServerName<'static>,
    /// The instant to verify at instead of the handshake's; `None` keeps rustls's clock.
    verify_at: Option<UnixTime>,
    record: Arc<Mutex<VerifierRecord>>,
}

impl RecordingVerifier {
    fn note<T>(&self, result: Result<T, rustls::Error>) -> Result<T, rustls::Error> {
        if let Err(e) = &result {
            lock(&self.record).error.get_or_insert_with(|| e.clone());
        }
        result
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        {
            let mut record = lock(&self.record);
            record.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        self.note(self.inner.verify_server_cert(
            end_entity,
            intermediates,
            &self.verify_name,
            ocsp_response,
            self.verify_at.unwrap_or(now),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.note(self.inner.verify_tls12_signature(message, cert, dss))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.note(self.inner.verify_tls13_signature(message, cert, dss))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Answers the broker's CertificateRequest with the configured identity (or none) and records
/// that it was asked, which is the evidence behind `client_cert_required` under TLS 1.2.
#[derive(Debug)]
struct ClientAuthRecorder {
    identity: Option<Arc<CertifiedKey>>,
    /// The CA names of the CertificateRequest (DER), once one arrived.
    asked: Mutex<Option<Vec<Vec<u8>>>>,
    sent: Mutex<bool>,
}

impl rustls::client::ResolvesClientCert for ClientAuthRecorder {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        *lock(&self.asked) = Some(root_hint_subjects.iter().map(|s| s.to_vec()).collect());
        *lock(&self.sent) = self.identity.is_some();
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        // Always say yes so that rustls calls `resolve` and we learn the broker asked.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_typed_rustls_errors() {
        use rustls::Error as E;
        let cases: Vec<(E, Failure)> = vec![
            (
                E::InvalidCertificate(CertificateError::UnknownIssuer),
                Failure::CertRejected {
                    problem: CertProblem::UnknownIssuer,
                },
            ),
            (
                E::InvalidCertificate(CertificateError::Expired),
                Failure::CertRejected {
                    problem: CertProblem::Expired { depth: None },
                },
            ),
            (
                E::AlertReceived(rustls::AlertDescription::CertificateRequired),
                Failure::AlertReceived {
                    alert: Alert::CERTIFICATE_REQUIRED,
                    after_handshake: false,
                },
            ),
            (
                E::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                Failure::NotTls,
            ),
            (
                E::InvalidMessage(rustls::InvalidMessage::CertificatePayloadTooLarge),
                Failure::Other,
            ),
            (
                E::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
                Failure::NoSharedCipher,
            ),
            (
                E::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
                    webpki::Error::UnsupportedCertVersion,
                )))),
                Failure::CertRejected {
                    problem: CertProblem::UnsupportedVersion,
                },
            ),
            (E::General("x".into()), Failure::Other),
        ];
        for (err, expected) in cases {
            assert_eq!(failure_from_rustls(&err).0, expected, "{err:?}");
        }
    }

    #[test]
    fn maps_the_reasons_webpki_gives() {
        let other = |e: webpki::Error| CertificateError::Other(rustls::OtherError(Arc::new(e)));
        let nc = |detail: &str| CertProblem::NameConstraint {
            depth: None,
            detail: detail.into(),
        };
        let malformed = |detail: &str| CertProblem::Malformed {
            depth: None,
            detail: detail.into(),
        };
        // An AlgorithmIdentifier's contents: OID, then NULL parameters.
        let sha1_rsa: &[u8] = &[6, 9, 42, 134, 72, 134, 247, 13, 1, 1, 5, 5, 0];
        let dsa_sha256: &[u8] = &[6, 9, 96, 134, 72, 1, 101, 3, 4, 3, 2];
        let cases: Vec<(CertificateError, CertProblem)> = vec![
            (
                other(webpki::Error::NameConstraintViolation),
                nc("NameConstraintViolation"),
            ),
            (
                other(webpki::Error::InvalidNetworkMaskConstraint),
                nc("InvalidNetworkMaskConstraint"),
            ),
            (
                other(webpki::Error::MalformedNameConstraint),
                nc("MalformedNameConstraint"),
            ),
            (
                other(webpki::Error::PathLenConstraintViolated),
                CertProblem::PathLength { depth: None },
            ),
            (
                other(webpki::Error::MaximumPathDepthExceeded),
                CertProblem::ChainTooLong,
            ),
            (
                other(webpki::Error::MaximumPathBuildCallsExceeded),
                CertProblem::PathBuildingLimit {
                    detail: "MaximumPathBuildCallsExceeded".into(),
                },
            ),
            (
                other(webpki::Error::MaximumNameConstraintComparisonsExceeded),
                CertProblem::PathBuildingLimit {
                    detail: "MaximumNameConstraintComparisonsExceeded".into(),
                },
            ),
            (
                other(webpki::Error::UnsupportedCriticalExtension),
                CertProblem::UnknownCriticalExtension { depth: None },
            ),
            (
                CertificateError::UnhandledCriticalExtension,
                CertProblem::UnknownCriticalExtension { depth: None },
            ),
            (CertificateError::BadEncoding, malformed("BadEncoding")),
            (
                other(webpki::Error::MalformedDnsIdentifier),
                malformed("MalformedDnsIdentifier"),
            ),
            (
                other(webpki::Error::EmptyEkuExtension),
                malformed("EmptyEkuExtension"),
            ),
            (
                other(webpki::Error::InvalidSignatureForPublicKey),
                CertProblem::BadSignature,
            ),
            (CertificateError::BadSignature, CertProblem::BadSignature),
            (
                CertificateError::UnsupportedSignatureAlgorithmContext {
                    signature_algorithm_id: sha1_rsa.to_vec(),
                    supported_algorithms: vec![],
                },
                CertProblem::WeakSignature,
            ),
            (
                CertificateError::UnsupportedSignatureAlgorithmContext {
                    signature_algorithm_id: dsa_sha256.to_vec(),
                    supported_algorithms: vec![],
                },
                CertProblem::UnsupportedAlgorithm {
                    detail: "UnsupportedSignatureAlgorithmContext: signature algorithm \
                             2.16.840.1.101.3.4.3.2"
                        .into(),
                },
            ),
            // The existing mappings stay.
            (
                other(webpki::Error::CaUsedAsEndEntity),
                CertProblem::CaUsedAsEndEntity,
            ),
            (
                other(webpki::Error::EndEntityUsedAsCa),
                CertProblem::IssuerNotCa,
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(problem_from_certificate_error(&err).0, expected, "{err:?}");
        }
    }

    #[test]
    fn unwraps_rustls_errors_from_io_errors() {
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            failure_from_io(&wrapped),
            Some(Failure::CertRejected {
                problem: CertProblem::UnknownIssuer
            })
        );
        let plain = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(failure_from_io(&plain), None);
        assert_eq!(
            failure_from_plain_io(&plain),
            Failure::PeerClosed { reset: false }
        );
    }
}
