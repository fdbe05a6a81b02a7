//! Evidence: what one probe saw, backend-neutral, facts not interpretations.
//!
//! A probe never fails; whatever happens on the wire ends up here. Each backend maps its native
//! errors into [`Failure`] in exactly one function (`probe::rustls::failure_from_rustls`,
//! `probe::openssl::failure_from_openssl`); nothing after the probe knows rustls or OpenSSL types.
//! Everything here is `Serialize + Deserialize` so evidence can be recorded and replayed.

use serde::{Deserialize, Serialize};

mod followups;
mod protocol;

pub use followups::{
    FollowUpPlan, FollowUps, HandshakeProbe, MqttVersionProbe, PlainProbe, SILENT_AFTER_HANDSHAKE,
    UpgradePlan,
};
pub use protocol::{MqttVersion, TlsVersion};

use crate::cert_details::CertDetails;
use crate::x509::CertSummary;

pub mod psk;
mod websocket;

pub use websocket::{
    HttpHeader, LEGACY_SUBPROTOCOL, MQTT_SUBPROTOCOL, UpgradeProbe, WebSocketClose,
    WebSocketExchange,
};

/// A TLS client implementation that mqtls probes with.
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
pub enum Backend {
    /// rustls with the aws-lc-rs provider and webpki verification.
    Rustls,
    /// The system's libssl through the `openssl` crate.
    Openssl,
}

impl Backend {
    /// Both backends, in report order.
    pub const ALL: [Backend; 2] = [Backend::Rustls, Backend::Openssl];

    /// The lower-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Rustls => "rustls",
            Backend::Openssl => "openssl",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How far a connection got. A failed probe records the phase it failed in; a TLS alert that
/// arrives after the handshake (TLS 1.3 client-certificate rejections) still counts as `Tls`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Turning the host name into addresses.
    Resolve,
    /// The TCP connect.
    Tcp,
    /// The TLS handshake (and TLS alerts read after it).
    Tls,
    /// The HTTP Upgrade to WebSocket (`ws://`, `wss://` targets).
    #[serde(rename = "websocket")]
    WebSocket,
    /// MQTT CONNECT and CONNACK.
    Mqtt,
    /// Everything succeeded.
    Done,
}

impl Phase {
    /// The lower-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Tcp => "tcp",
            Phase::Tls => "tls",
            Phase::WebSocket => "websocket",
            Phase::Mqtt => "mqtt",
            Phase::Done => "done",
        }
    }
}

/// A TLS alert (RFC 8446 §6), with its registered name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alert {
    /// The alert description number on the wire.
    pub code: u8,
}

impl Alert {
    /// Well-known alert numbers used by the classifier.
    pub const HANDSHAKE_FAILURE: Alert = Alert { code: 40 };
    /// `bad_certificate` (42).
    pub const BAD_CERTIFICATE: Alert = Alert { code: 42 };
    /// `unsupported_certificate` (43).
    pub const UNSUPPORTED_CERTIFICATE: Alert = Alert { code: 43 };
    /// `certificate_revoked` (44).
    pub const CERTIFICATE_REVOKED: Alert = Alert { code: 44 };
    /// `certificate_expired` (45).
    pub const CERTIFICATE_EXPIRED: Alert = Alert { code: 45 };
    /// `certificate_unknown` (46).
    pub const CERTIFICATE_UNKNOWN: Alert = Alert { code: 46 };
    /// `unknown_ca` (48).
    pub const UNKNOWN_CA: Alert = Alert { code: 48 };
    /// `protocol_version` (70).
    pub const PROTOCOL_VERSION: Alert = Alert { code: 70 };
    /// `certificate_required` (116), TLS 1.3 only.
    pub const CERTIFICATE_REQUIRED: Alert = Alert { code: 116 };
    /// `no_application_protocol` (120).
    pub const NO_APPLICATION_PROTOCOL: Alert = Alert { code: 120 };

    /// The IANA name of the alert, e.g. `unknown_ca`.
    pub fn name(self) -> &'static str {
        match self.code {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            21 => "decryption_failed",
            22 => "record_overflow",
            30 => "decompression_failure",
            40 => "handshake_failure",
            41 => "no_certificate",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            60 => "export_restriction",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            90 => "user_canceled",
            100 => "no_renegotiation",
            109 => "missing_extension",
            110 => "unsupported_extension",
            111 => "certificate_unobtainable",
            112 => "unrecognized_name",
            113 => "bad_certificate_status_response",
            114 => "bad_certificate_hash_value",
            115 => "unknown_psk_identity",
            116 => "certificate_required",
            120 => "no_application_protocol",
            _ => "unassigned",
        }
    }
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code)
    }
}

/// What went wrong, normalised across backends. `None` in [`Evidence::failure`] means success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The host name did not resolve.
    Resolve {
        /// The resolver's message.
        detail: String,
    },
    /// Every address refused the TCP connection (RST to the SYN).
    ConnectionRefused,
    /// No address answered the TCP connect within the deadline.
    ConnectTimeout,
    /// The TCP connect failed for another reason (unreachable network, ...).
    ConnectFailed {
        /// The OS error.
        detail: String,
    },
    /// TCP connected but the handshake did not finish within the deadline.
    HandshakeTimeout {
        /// Bytes received from the peer before the deadline.
        bytes_received: u64,
    },
    /// The peer answered with something that is not TLS.
    NotTls,
    /// The peer closed (FIN) or reset (RST) the connection during the handshake, without an alert.
    PeerClosed {
        /// True for a reset, false for an orderly close.
        reset: bool,
    },
    /// The peer sent a fatal alert. `after_handshake` marks TLS 1.3 rejections that arrive on
    /// the first read after the client's handshake completed.
    AlertReceived {
        /// The alert.
        alert: Alert,
        /// Whether the client's side of the handshake had already completed.
        after_handshake: bool,
    },
    /// This client refused the broker's certificate chain.
    CertRejected {
        /// The normalised reason.
        problem: CertProblem,
    },
    /// The two sides share no protocol version.
    ProtocolVersion,
    /// The two sides share no cipher suite (or key exchange group / signature scheme).
    NoSharedCipher,
    /// The client's own certificate or key could not be used.
    ClientIdentity {
        /// What was wrong.
        detail: String,
    },
    /// The broker answered CONNECT with a refusing CONNACK.
    ConnAckRefused {
        /// The raw return code (3.1.1) or reason code (5).
        code: u8,
    },
    /// TLS completed, CONNECT was sent, and no CONNACK came: the broker closed or stayed silent.
    NoConnAck {
        /// True when the broker closed the connection, false when the deadline passed.
        closed: bool,
    },
    /// The broker answered CONNECT with bytes that are not a well-formed CONNACK.
    MalformedConnAck {
        /// What was wrong with it.
        detail: String,
    },
    /// The WebSocket upgrade got an HTTP answer other than 101 Switching Protocols
    /// ([`Evidence::websocket`] has the status line, headers and the start of the body).
    UpgradeRefused {
        /// The HTTP status code.
        status: u16,
    },
    /// The broker switched to WebSocket without selecting the `mqtt` subprotocol offered.
    SubprotocolRefused {
        /// The subprotocol it selected instead, if any.
        selected: Option<String>,
    },
    /// The broker answered the upgrade with 101 but broke the handshake (a wrong
    /// `Sec-WebSocket-Accept`, no `Upgrade: websocket`).
    UpgradeInvalid {
        /// What was wrong.
        detail: String,
    },
    /// No HTTP answer to the upgrade request: the peer closed, or said nothing before the
    /// deadline.
    NoUpgradeAnswer {
        /// True when the peer closed the connection, false when the deadline passed.
        closed: bool,
    },
    /// The peer answered the upgrade request with bytes that are not HTTP
    /// ([`Evidence::first_bytes`] has them).
    NotHttp,
    /// Anything else; `Evidence::raw_error` has the backend's words.
    Other,
}

/// Why a client refused the broker's certificate, normalised across backends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum CertProblem {
    /// No trust anchor issued the chain (rustls `UnknownIssuer`, OpenSSL 2/20/21).
    UnknownIssuer,
    /// The chain ends in a self-signed certificate that is not trusted (OpenSSL 18/19).
    SelfSigned {
        /// Depth of the self-signed certificate (0 = the broker's own).
        depth: u32,
    },
    /// A certificate is past its notAfter.
    Expired {
        /// Depth in the chain (0 = the broker's own), when the backend says.
        depth: Option<u32>,
    },
    /// A certificate is before its notBefore.
    NotYetValid {
        /// Depth in the chain, when the backend says.
        depth: Option<u32>,
    },
    /// The certificate does not cover the name checked.
    NameMismatch {
        /// The host name or IP address checked.
        expected: String,
        /// The names the certificate carries, as the backend reports them.
        presented: Vec<String>,
    },
    /// A CA certificate is used as the end entity (rustls `CaUsedAsEndEntity`).
    CaUsedAsEndEntity,
    /// A certificate that issues another is not a CA (rustls `EndEntityUsedAsCa`, OpenSSL 79/24).
    IssuerNotCa,
    /// X.509 v1 (rustls `UnsupportedCertVersion`).
    UnsupportedVersion,
    /// extendedKeyUsage does not allow server authentication.
    InvalidPurpose,
    /// A signature algorithm too weak or unsupported (SHA-1, MD5).
    WeakSignature,
    /// A key too small (RSA < 2048).
    WeakKey,
    /// A signature that does not verify (rustls `BadSignature`, OpenSSL 4/6/7 with the depth
    /// in [`Evidence::verify_errors`]; rustls reports an RSA-1024 leaf's handshake signature
    /// this way too).
    BadSignature,
    /// The certificate was revoked.
    Revoked,
    /// A name in a certificate violates the name constraints of a CA above it, or the
    /// constraints themselves cannot be used (rustls `NameConstraintViolation`,
    /// `InvalidNetworkMaskConstraint`, `MalformedNameConstraint`; OpenSSL 47/48/49/51/53).
    NameConstraint {
        /// Depth of the certificate whose names were checked, when the backend says.
        depth: Option<u32>,
        /// The verifier's reason, e.g. `permitted subtree violation`.
        detail: String,
    },
    /// A CA's basicConstraints pathLenConstraint is exceeded (rustls
    /// `PathLenConstraintViolated`, OpenSSL 25).
    PathLength {
        /// Depth of the certificate the verifier blamed, when the backend says.
        depth: Option<u32>,
    },
    /// The chain is longer than the verifier accepts (rustls `MaximumPathDepthExceeded`,
    /// OpenSSL 22).
    ChainTooLong,
    /// A CA certificate's extendedKeyUsage does not allow server authentication (OpenSSL 26
    /// at depth >= 1; rustls reports it as `InvalidPurpose` without a depth).
    IntermediatePurpose {
        /// Depth of the CA certificate.
        depth: Option<u32>,
    },
    /// A certificate carries a critical extension the verifier does not implement (rustls
    /// `UnsupportedCriticalExtension`, OpenSSL 34).
    UnknownCriticalExtension {
        /// Depth of the certificate, when the backend says.
        depth: Option<u32>,
    },
    /// A certificate's encoding is invalid (rustls `BadEncoding`, `MalformedDnsIdentifier`,
    /// `EmptyEkuExtension`, ...; OpenSSL 1, 94, decoding errors).
    Malformed {
        /// Depth of the certificate, when the backend says.
        depth: Option<u32>,
        /// The verifier's reason.
        detail: String,
    },
    /// A signature or key algorithm the verifier does not implement (DSA, P-192, Ed448), as
    /// opposed to a known but weak one ([`CertProblem::WeakSignature`]).
    UnsupportedAlgorithm {
        /// The verifier's reason.
        detail: String,
    },
    /// The verifier gave up building or checking the path within its work limits (rustls
    /// `MaximumPathBuildCallsExceeded`, `MaximumNameConstraintComparisonsExceeded`,
    /// `MaximumSignatureChecksExceeded`).
    PathBuildingLimit {
        /// The verifier's reason.
        detail: String,
    },
    /// Anything else the verifier said.
    Other {
        /// The verifier's words.
        detail: String,
    },
}

/// One error reported by a certificate verifier, with where in the chain it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VerifyError {
    /// Depth in the presented chain (0 = the broker's own certificate), when known.
    pub depth: Option<u32>,
    /// OpenSSL's `X509_V_ERR_*` number, when the backend is OpenSSL.
    pub code: Option<i32>,
    /// The verifier's text, e.g. `unable to get local issuer certificate`.
    pub message: String,
}

/// What was negotiated. Fields are `None` when the handshake did not get that far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TlsSession {
    /// `TLSv1.3`, `TLSv1.2`, ...
    pub version: Option<String>,
    /// The IANA cipher suite name.
    pub cipher: Option<String>,
    /// The ALPN protocol the broker selected.
    pub alpn: Option<String>,
}

/// The CONNACK the broker sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConnAck {
    /// The MQTT version of the exchange (`3.1.1` or `5`).
    pub mqtt_version: String,
    /// The raw return code (3.1.1) or reason code (5).
    pub code: u8,
    /// The code's name, e.g. `not_authorized`.
    pub reason: String,
    /// The session-present flag.
    pub session_present: bool,
}

/// Which side ended the connection, when it ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Closer {
    /// The broker closed (FIN) or reset (RST) the connection.
    Peer,
    /// This client closed it (after refusing the broker, or at a deadline).
    Client,
}

/// Milliseconds spent in each phase; `None` for phases not reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Timings {
    /// Name resolution.
    pub resolve_ms: Option<f64>,
    /// TCP connect.
    pub tcp_ms: Option<f64>,
    /// TLS handshake.
    pub tls_ms: Option<f64>,
    /// CONNECT to CONNACK.
    pub mqtt_ms: Option<f64>,
}

/// Everything one probe of one backend observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    /// The backend that produced this evidence.
    pub backend: Backend,
    /// Library name and version, e.g. `rustls 0.23.46`.
    pub library: String,
    /// The last phase reached: where it failed, or `Done`.
    pub phase: Phase,
    /// The normalised failure; `None` when the probe connected and got CONNACK success.
    pub failure: Option<Failure>,
    /// Addresses the name resolved to, in the order tried.
    pub addresses: Vec<String>,
    /// The address the TCP connection was made to.
    pub connected_to: Option<String>,
    /// What was negotiated.
    pub tls: TlsSession,
    /// The chain the broker presented, in the order sent, also when verification failed.
    pub peer_chain: Vec<CertSummary>,
    /// The same chain as DER, for the chain analysis (signatures are checked on it). Not
    /// serialised: the summaries are the report's record of it.
    #[serde(skip)]
    #[schemars(skip)]
    pub peer_chain_der: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// What the constraint rules need from each certificate of `peer_chain` beyond its
    /// summary (name constraints, pathLen, critical extensions, encoding faults), same order.
    #[serde(default)]
    pub chain_details: Vec<CertDetails>,
    /// Every error the certificate verifier reported (OpenSSL reports one per depth).
    pub verify_errors: Vec<VerifyError>,
    /// True when the broker sent a CertificateRequest (asked for a client certificate).
    pub client_cert_requested: Option<bool>,
    /// The CA names the broker's CertificateRequest listed (`certificate_authorities`), in
    /// OpenSSL's one-line form: the issuers it accepts client certificates from. Empty when it
    /// listed none or asked for nothing.
    #[serde(default)]
    pub client_cert_ca_names: Vec<String>,
    /// True when this client sent a certificate.
    pub client_cert_sent: bool,
    /// The alert received from the broker, if any.
    pub alert_received: Option<Alert>,
    /// The alert this client sent, if any.
    pub alert_sent: Option<Alert>,
    /// Who ended the connection early, if anyone.
    pub closed_by: Option<Closer>,
    /// The first bytes the peer sent when they were not TLS (hex), for `not_tls`.
    pub first_bytes: Option<String>,
    /// Total bytes received from the peer.
    pub bytes_received: u64,
    /// The CONNACK, when one arrived.
    pub connack: Option<ConnAck>,
    /// The backend's own words for the failure.
    pub raw_error: Option<String>,
    /// Per-phase timings.
    pub timings: Timings,
    /// Wall time of the whole probe in milliseconds.
    pub elapsed_ms: f64,
    /// Observations about how the probe ran (retries and why).
    pub notes: Vec<String>,
    /// What the PSK handshake showed, when the user gave a pre-shared key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psk: Option<psk::PskEvidence>,
    /// The WebSocket upgrade of a `ws://`/`wss://` probe; `None` for MQTT over TCP/TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WebSocketExchange>,
}

impl Evidence {
    /// Empty evidence for a probe that has not started yet.
    pub fn new(backend: Backend, library: String) -> Evidence {
        Evidence {
            backend,
            library,
            phase: Phase::Resolve,
            failure: None,
            addresses: Vec::new(),
            connected_to: None,
            tls: TlsSession::default(),
            peer_chain: Vec::new(),
            peer_chain_der: Vec::new(),
            chain_details: Vec::new(),
            verify_errors: Vec::new(),
            client_cert_requested: None,
            client_cert_ca_names: Vec::new(),
            client_cert_sent: false,
            alert_received: None,
            alert_sent: None,
            closed_by: None,
            first_bytes: None,
            bytes_received: 0,
            connack: None,
            raw_error: None,
            timings: Timings::default(),
            elapsed_ms: 0.0,
            notes: Vec::new(),
            psk: None,
            websocket: None,
        }
    }

    /// Records a handshake failure with who ended the connection: the peer for an alert or a
    /// close, this client for everything it refused itself.
    pub fn record_handshake_failure(&mut self, failure: Failure) {
        match &failure {
            Failure::AlertReceived { alert, .. } => {
                self.alert_received = Some(*alert);
                self.closed_by = Some(Closer::Peer);
            }
            Failure::PeerClosed { .. } => self.closed_by = Some(Closer::Peer),
            _ => self.closed_by = Some(Closer::Client),
        }
        self.failure = Some(failure);
    }

    /// Records that the handshake did not finish within `timeout`.
    pub fn record_handshake_timeout(&mut self, timeout: std::time::Duration) {
        self.raw_error = Some(format!(
            "TLS handshake not finished after {} s",
            timeout.as_secs_f64()
        ));
        self.closed_by = Some(Closer::Client);
        // The bytes received are filled in from the tap by the engine.
        self.failure = Some(Failure::HandshakeTimeout { bytes_received: 0 });
    }

    /// True when the probe got all the way to a successful CONNACK.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none() && self.phase == Phase::Done
    }
}
