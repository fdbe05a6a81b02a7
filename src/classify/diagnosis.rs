//! The diagnosis model: stable codes (the public contract: never renamed, only added to) and the
//! four parts of a diagnosis (code, summary, facts, remedies).

use serde::{Deserialize, Serialize};

/// A stable diagnosis code. Serialized in snake_case; never renamed, only added to.
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
pub enum DiagnosisCode {
    /// TCP, TLS and MQTT CONNECT/CONNACK all succeeded.
    Ok,
    /// The host name does not resolve.
    DnsFailure,
    /// Nothing listens on the port.
    ConnectionRefused,
    /// No answer to the TCP connect.
    ConnectTimeout,
    /// TCP connected but the TLS handshake never completed.
    HandshakeTimeout,
    /// The port speaks plain MQTT.
    PlaintextPort,
    /// The peer answered with bytes that are neither TLS nor MQTT.
    NotTls,
    /// A plain MQTT client (`mqtt://`) reached a port that speaks TLS: its CONNECT got a TLS
    /// record (an alert) or a hang-up, and a TLS handshake on the same port succeeds.
    TlsPortPlainClient,
    /// The peer closed during the handshake without an alert.
    PeerClosed,
    /// No certificate in the CA file issued the presented chain.
    UnknownCa,
    /// The CA file holds the broker's own (or another end-entity) certificate.
    ServerCertAsCa,
    /// The broker did not send the intermediate that links its leaf to the trusted root.
    MissingIntermediate,
    /// The CA file holds an intermediate but not the root above it: rustls accepts it as an
    /// anchor, OpenSSL-based clients do not.
    IntermediateAsAnchor,
    /// The broker presents a self-signed certificate that the CA file does not contain.
    SelfSignedServerCert,
    /// The broker's certificate has CA:TRUE and is used as the leaf.
    CaCertAsServerCert,
    /// A certificate that issues another is not a CA.
    IssuerNotCa,
    /// A certificate the client validates is X.509 v1.
    X509V1Cert,
    /// The CA and the broker certificate have an identical subject DN.
    SameSubjectCaAndServer,
    /// The root in the CA file has expired.
    ExpiredTrustAnchor,
    /// A certificate on the broker's path is past its notAfter (or the client's clock is wrong).
    ServerCertExpired,
    /// A certificate on the broker's path is before its notBefore: almost always a wrong clock.
    ServerCertNotYetValid,
    /// A certificate on the path is signed with SHA-1 or MD5, which rustls never accepts and
    /// OpenSSL refuses at security level 1 and above.
    WeakSignature,
    /// A key on the path is too weak for the stack (RSA under 2048 bits, P-192, DSA).
    WeakKey,
    /// The broker's certificate has an extendedKeyUsage without serverAuth.
    ServerEkuMissing,
    /// The SANs do not cover the host name.
    HostnameMismatch,
    /// Connected by IP and no matching IP SAN.
    IpNotInSan,
    /// No SAN; the host is only in the CN.
    CnOnlyNoSan,
    /// The broker refuses (or serves another certificate) without the right SNI.
    SniRequired,
    /// The client and the broker share no TLS version.
    TlsVersionMismatch,
    /// The broker speaks only TLS 1.0/1.1.
    LegacyTlsOnly,
    /// The client and the broker share no cipher suite (or key exchange group, or signature
    /// scheme).
    NoSharedCipher,
    /// The broker refused the ALPN protocol offered, or requires one the client did not offer.
    AlpnRejected,
    /// The broker demands a client certificate and none was sent.
    ClientCertRequired,
    /// The broker does not trust the client certificate's issuer.
    ClientCertUnknownCa,
    /// The broker rejected an expired client certificate.
    ClientCertExpired,
    /// The broker rejected a revoked client certificate.
    ClientCertRevoked,
    /// The broker rejected the client certificate for another reason.
    ClientCertRejected,
    /// The private key does not belong to the client certificate.
    ClientKeyMismatch,
    /// The private key is encrypted and no (or a wrong) password was given.
    ClientKeyEncrypted,
    /// The CA file holds no usable certificate.
    CaFileUnusable,
    /// The client certificate file holds no usable certificate.
    ClientCertUnusable,
    /// The key file holds no usable private key.
    ClientKeyUnusable,
    /// CONNACK: bad user name or password.
    MqttBadCredentials,
    /// CONNACK: not authorized.
    MqttNotAuthorized,
    /// CONNACK: client identifier rejected.
    MqttIdentifierRejected,
    /// CONNACK: unacceptable protocol version.
    MqttProtocolRejected,
    /// CONNACK: server unavailable or busy.
    MqttServerUnavailable,
    /// The broker refused CONNECT with another CONNACK code.
    MqttRefused,
    /// TLS completed, CONNECT was sent, and no CONNACK came: the broker closed or stayed silent.
    MqttNoConnack,
    /// A name in the broker's certificate is outside the name constraints of a CA above it
    /// (or the constraints cannot be used).
    NameConstraintViolation,
    /// A CA's basicConstraints pathLenConstraint forbids the CAs below it.
    PathLengthExceeded,
    /// The chain has more certificates than the verifier follows.
    ChainTooLong,
    /// The verifier gave up on the chain within its work limits (too many candidate paths,
    /// signatures or name-constraint comparisons).
    ChainTooComplex,
    /// An intermediate CA's extendedKeyUsage does not allow server authentication.
    IntermediateEkuMissing,
    /// A certificate carries a critical extension the verifier does not know.
    UnknownCriticalExtension,
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature,
    /// A certificate is not well-formed DER/X.509 (or holds an unreadable field).
    MalformedCertificate,
    /// A signature or key algorithm the verifier does not implement (DSA, P-192, Ed448, ...).
    UnsupportedAlgorithm,
    /// A certificate the connection rests on (the broker's path up to its trust anchor, or the
    /// client certificate) expires within `--warn-days` (default 30): a warning, with the
    /// certificate and the days left as facts.
    CertExpiresSoon,
    /// This TLS stack cannot make the connection asked for (rustls has no external pre-shared
    /// keys): no probe was made, which says nothing about the broker.
    NotSupportedByStack,
    /// The broker does not know the TLS-PSK identity offered (TLS 1.2 alert
    /// unknown_psk_identity; under TLS 1.3 a handshake_failure, confirmed by a TLS 1.2 retry).
    PskIdentityUnknown,
    /// The broker knows the TLS-PSK identity but holds another key for it (TLS 1.2
    /// bad_record_mac on the Finished; TLS 1.3 a binder it cannot verify).
    PskKeyMismatch,
    /// A pre-shared key was offered and the broker answered with a certificate: the listener
    /// expects certificate-based TLS, not PSK (a warning when the certificate verified and the
    /// connection succeeded without the key).
    PskNotAccepted,
    /// The broker expects a pre-shared key (TLS-PSK) and the client offered certificates only.
    PskRequired,
    /// A pre-shared key was offered under TLS 1.2 and the broker chose no PSK cipher suite
    /// (its cipher list has none the client offers); TLS 1.3 needs no PSK suite.
    PskCipherMismatch,
    /// MQTT over WebSockets: the broker has nothing at the upgrade's path (HTTP 404); the
    /// follow-ups try the common paths (`/mqtt`, `/ws`, `/`) and name the one that works.
    WebsocketPathNotFound,
    /// MQTT over WebSockets: the broker (or a proxy) refused the upgrade with an HTTP error
    /// status, or answered with a broken handshake; status line and headers are the facts.
    WebsocketUpgradeRefused,
    /// MQTT over WebSockets: the broker does not select the subprotocol `mqtt` (it selects
    /// another or none), or refuses it and accepts the legacy `mqttv3.1`.
    WebsocketSubprotocolRefused,
    /// A `ws://`/`wss://` client reached a port that speaks MQTT over TCP/TLS: the upgrade got
    /// no HTTP answer, and a CONNECT without WebSocket got a CONNACK.
    MqttPortWebsocketClient,
    /// An `mqtt://`/`mqtts://` client reached a port that speaks MQTT over WebSockets: the
    /// broker answered in HTTP, and a WebSocket upgrade on the same port was accepted.
    WebsocketPortMqttClient,
    /// The port is an HTTP server that does not switch to WebSocket: it answered the upgrade
    /// with 2xx/3xx, or answered MQTT in HTTP and refused every WebSocket upgrade.
    PlainHttpPort,
    /// No code fits: the report carries each stack's own words (please report it).
    Unclassified,
}

/// The snake_case name comes from serde, the single source of the code names.
impl std::fmt::Display for DiagnosisCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        f.write_str(value.as_str().unwrap_or("unclassified"))
    }
}

/// How sure a diagnosis is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Every fact the diagnosis rests on was checked: a verified path, the stack's own reason,
    /// what the wire showed.
    #[default]
    Confirmed,
    /// The evidence points this way but cannot decide; `alternatives` lists the other readings
    /// and the facts say how to tell them apart.
    Likely,
}

impl Confidence {
    /// The lower-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Confirmed => "confirmed",
            Confidence::Likely => "likely",
        }
    }
}

/// A diagnosis: what happened, the evidence it rests on, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Diagnosis {
    /// The stable code.
    pub code: DiagnosisCode,
    /// Whether the evidence decides (`confirmed`) or only points to this code (`likely`).
    #[serde(default)]
    pub confidence: Confidence,
    /// Other codes the evidence cannot rule out, most likely first (empty when confirmed).
    #[serde(default)]
    pub alternatives: Vec<DiagnosisCode>,
    /// One plain sentence.
    pub summary: String,
    /// Expected vs presented, as observed.
    pub facts: Vec<String>,
    /// What to change, broker side and client side, plus a command that shows the problem.
    pub remedies: Vec<String>,
}

impl Diagnosis {
    /// A diagnosis with a code and summary; facts and remedies are added with the builders.
    pub fn new(code: DiagnosisCode, summary: impl Into<String>) -> Diagnosis {
        Diagnosis {
            code,
            confidence: Confidence::Confirmed,
            alternatives: Vec::new(),
            summary: summary.into(),
            facts: Vec::new(),
            remedies: Vec::new(),
        }
    }

    /// Adds a fact.
    pub fn fact(mut self, fact: impl Into<String>) -> Diagnosis {
        self.facts.push(fact.into());
        self
    }

    /// Marks the diagnosis as the most likely reading, with the others it cannot rule out.
    pub fn likely(mut self, alternatives: impl IntoIterator<Item = DiagnosisCode>) -> Diagnosis {
        self.confidence = Confidence::Likely;
        self.alternatives = alternatives.into_iter().collect();
        self
    }

    /// "likely; it may also be x or y", for renderers; `None` when confirmed.
    pub fn uncertainty(&self) -> Option<String> {
        if self.confidence == Confidence::Confirmed {
            return None;
        }
        let others: Vec<String> = self.alternatives.iter().map(|c| c.to_string()).collect();
        Some(if others.is_empty() {
            "likely: the evidence cannot confirm it".to_string()
        } else {
            format!(
                "likely: the evidence cannot rule out {}",
                others.join(" or ")
            )
        })
    }

    /// Adds a remedy.
    pub fn remedy(mut self, remedy: impl Into<String>) -> Diagnosis {
        self.remedies.push(remedy.into());
        self
    }
}
