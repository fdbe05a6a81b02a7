//! Which catalogue codes the table covers, and where the others are produced.

use mqtls::classify::DiagnosisCode as Code;

/// Where a code is produced from a real connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Coverage {
    /// A case in this table produces it.
    Table,
    /// Produced from real connections in another test file.
    Elsewhere(&'static str),
}

/// Every code, in catalogue order. A new code must be added here and to [`coverage`] (whose
/// match does not compile without it).
pub const ALL_CODES: [Code; 72] = [
    Code::Ok,
    Code::DnsFailure,
    Code::ConnectionRefused,
    Code::ConnectTimeout,
    Code::HandshakeTimeout,
    Code::PlaintextPort,
    Code::NotTls,
    Code::TlsPortPlainClient,
    Code::PeerClosed,
    Code::UnknownCa,
    Code::ServerCertAsCa,
    Code::MissingIntermediate,
    Code::IntermediateAsAnchor,
    Code::SelfSignedServerCert,
    Code::CaCertAsServerCert,
    Code::IssuerNotCa,
    Code::X509V1Cert,
    Code::SameSubjectCaAndServer,
    Code::ExpiredTrustAnchor,
    Code::ServerCertExpired,
    Code::ServerCertNotYetValid,
    Code::WeakSignature,
    Code::WeakKey,
    Code::ServerEkuMissing,
    Code::NameConstraintViolation,
    Code::PathLengthExceeded,
    Code::ChainTooLong,
    Code::ChainTooComplex,
    Code::IntermediateEkuMissing,
    Code::UnknownCriticalExtension,
    Code::BadSignature,
    Code::MalformedCertificate,
    Code::UnsupportedAlgorithm,
    Code::HostnameMismatch,
    Code::IpNotInSan,
    Code::CnOnlyNoSan,
    Code::SniRequired,
    Code::TlsVersionMismatch,
    Code::LegacyTlsOnly,
    Code::NoSharedCipher,
    Code::AlpnRejected,
    Code::ClientCertRequired,
    Code::ClientCertUnknownCa,
    Code::ClientCertExpired,
    Code::ClientCertRevoked,
    Code::ClientCertRejected,
    Code::ClientKeyMismatch,
    Code::ClientKeyEncrypted,
    Code::CaFileUnusable,
    Code::ClientCertUnusable,
    Code::ClientKeyUnusable,
    Code::MqttBadCredentials,
    Code::MqttNotAuthorized,
    Code::MqttIdentifierRejected,
    Code::MqttProtocolRejected,
    Code::MqttServerUnavailable,
    Code::MqttRefused,
    Code::MqttNoConnack,
    Code::WebsocketPathNotFound,
    Code::WebsocketUpgradeRefused,
    Code::WebsocketSubprotocolRefused,
    Code::MqttPortWebsocketClient,
    Code::WebsocketPortMqttClient,
    Code::PlainHttpPort,
    Code::CertExpiresSoon,
    Code::NotSupportedByStack,
    Code::PskIdentityUnknown,
    Code::PskKeyMismatch,
    Code::PskNotAccepted,
    Code::PskRequired,
    Code::PskCipherMismatch,
    Code::Unclassified,
];

/// Where `code` is produced. Exhaustive, so a new code must be placed before this compiles.
pub fn coverage(code: Code) -> Coverage {
    use Coverage::{Elsewhere, Table};
    const INPROCESS: &str = "tests/diagnose_inprocess.rs";
    match code {
        Code::DnsFailure | Code::ConnectionRefused | Code::ConnectTimeout => Elsewhere(INPROCESS),
        Code::HandshakeTimeout | Code::PlaintextPort | Code::NotTls | Code::PeerClosed => {
            Elsewhere(INPROCESS)
        }
        // `mqtt://` against the responder's TLS port (and mosquitto's, in
        // tests/diagnose_mosquitto.rs).
        Code::TlsPortPlainClient => Elsewhere(INPROCESS),
        // A catalogue gap by definition; the in-process table pins one (an internal_error
        // alert).
        Code::Unclassified => Elsewhere(INPROCESS),
        // A warning: both backends connect at `--at` ten days before the lab's notAfter.
        Code::CertExpiresSoon => Elsewhere("tests/expiry.rs"),
        // TLS-PSK against mosquitto PSK listeners, OpenSSL only (rustls has no external PSK,
        // which is itself `not_supported_by_stack`).
        Code::NotSupportedByStack
        | Code::PskIdentityUnknown
        | Code::PskKeyMismatch
        | Code::PskNotAccepted
        | Code::PskRequired
        | Code::PskCipherMismatch => Elsewhere("tests/diagnose_psk.rs"),
        // wss:// on both backends against the responder's WebSocket front (and mosquitto's and
        // RabbitMQ's WebSocket listeners) in tests/websocket.rs.
        Code::WebsocketPathNotFound
        | Code::WebsocketUpgradeRefused
        | Code::WebsocketSubprotocolRefused
        | Code::MqttPortWebsocketClient
        | Code::WebsocketPortMqttClient
        | Code::PlainHttpPort => Elsewhere("tests/websocket.rs"),
        Code::Ok
        | Code::UnknownCa
        | Code::ServerCertAsCa
        | Code::MissingIntermediate
        | Code::IntermediateAsAnchor
        | Code::SelfSignedServerCert
        | Code::CaCertAsServerCert
        | Code::IssuerNotCa
        | Code::X509V1Cert
        | Code::SameSubjectCaAndServer
        | Code::ExpiredTrustAnchor
        | Code::ServerCertExpired
        | Code::ServerCertNotYetValid
        | Code::WeakSignature
        | Code::WeakKey
        | Code::ServerEkuMissing
        | Code::NameConstraintViolation
        | Code::PathLengthExceeded
        | Code::ChainTooLong
        | Code::ChainTooComplex
        | Code::IntermediateEkuMissing
        | Code::UnknownCriticalExtension
        | Code::BadSignature
        | Code::MalformedCertificate
        | Code::UnsupportedAlgorithm
        | Code::HostnameMismatch
        | Code::IpNotInSan
        | Code::CnOnlyNoSan
        | Code::SniRequired
        | Code::TlsVersionMismatch
        | Code::LegacyTlsOnly
        | Code::NoSharedCipher
        | Code::AlpnRejected
        | Code::ClientCertRequired
        | Code::ClientCertUnknownCa
        | Code::ClientCertExpired
        | Code::ClientCertRevoked
        | Code::ClientCertRejected
        | Code::ClientKeyMismatch
        | Code::ClientKeyEncrypted
        | Code::CaFileUnusable
        | Code::ClientCertUnusable
        | Code::ClientKeyUnusable
        | Code::MqttBadCredentials
        | Code::MqttNotAuthorized
        | Code::MqttIdentifierRejected
        | Code::MqttProtocolRejected
        | Code::MqttServerUnavailable
        | Code::MqttRefused
        | Code::MqttNoConnack => Table,
    }
}
