//! THE table: what each TLS stack prints for each failure, as needles (all must appear,
//! case-insensitive), the catalogue code, the side that refused, and a real example message.
//!
//! Sources: failures reproduced on this project's lab brokers, public issue threads, and the
//! stacks' own error strings (OpenSSL `x509_txt.c`/`ssl_err.c`, rustls `Error` Display/Debug,
//! CPython `_ssl.c`, mosquitto `lib/`, OTP `ssl_alert.erl`, Go `crypto/tls`/`crypto/x509`, JSSE,
//! Node.js `tls`, .NET `SslPolicyErrors`, mbedTLS `x509_crt.c`, wolfSSL `error-ssl.h`).
//!
//! Order matters: the first matching row is the best reading, so specific rows come before
//! generic ones. A few numeric forms (OpenSSL verify numbers, reason codes, alert numbers and
//! alert names) are read by the small extractors at the bottom instead of one row per number.

use crate::classify::DiagnosisCode as C;

use super::RejectedBy as S;

/// Which printer a row's reading assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The words mean the same whoever printed them.
    Any,
    /// The reading when a client printed the words (dropped in a broker log).
    Client,
    /// The reading when a broker printed the words (dropped in a client log).
    Broker,
    /// Generic words: counted only when no specific row matched.
    Fallback,
    /// Generic words, client reading.
    ClientFallback,
    /// Generic words, broker reading.
    BrokerFallback,
    /// A client's summary that hides the reason (mosquitto_pub's `A TLS error occurred.`):
    /// counted only when nothing else matched, not even generic words such as an OpenSSL
    /// reason `-d` prints beside it.
    ClientSummary,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Pattern {
    /// The stack whose wording this is.
    pub stack: &'static str,
    /// Lower-case fragments that must all appear.
    pub needles: &'static [&'static str],
    /// The catalogue code.
    pub code: C,
    /// Who refused whom, seen from the printer.
    pub side: S,
    /// Which printer the reading assumes.
    pub reading: Reading,
    /// What it means; empty: the code's default sentence.
    pub meaning: &'static str,
    /// What to do; empty: the code's default steps (for rows whose fix is not the code's).
    pub steps: &'static [&'static str],
    /// A real message of this stack, as printed.
    pub example: &'static str,
}

const fn p(
    stack: &'static str,
    needles: &'static [&'static str],
    code: C,
    side: S,
    reading: Reading,
    example: &'static str,
) -> Pattern {
    Pattern {
        stack,
        needles,
        code,
        side,
        reading,
        meaning: "",
        steps: &[],
        example,
    }
}

const fn pm(
    stack: &'static str,
    needles: &'static [&'static str],
    code: C,
    side: S,
    reading: Reading,
    meaning: &'static str,
    example: &'static str,
) -> Pattern {
    Pattern {
        stack,
        needles,
        code,
        side,
        reading,
        meaning,
        steps: &[],
        example,
    }
}

use Reading::{Any, Broker, BrokerFallback, Client, ClientFallback, ClientSummary, Fallback};
use S::{Local, None as Nobody, Peer};

/// Words only a broker's log holds.
pub const BROKER_MARKERS: &[&str] = &[
    "client <unknown>",
    "new connection from",
    "socket error on client",
    "client connection from",
    "tls server:",
    "sending connack",
    "unable to load server",
    "tls handshake error from",
    "ssl_handshake_failure",
    "tls verify failed",
    "rumqttd",
    "failed to accept",
    "esockd",
];

/// OpenSSL 1.0.x/1.1.x functions (`SSL_F_*`: number, name as printed) that only one side calls.
/// A `14xxxxxx` code carries the number in bits 12..24; 1.1.x and 3.x print the name, LibreSSL
/// its state names (`CONNECT_CR_CERT`, `ACCEPT_SR_CERT`). The function tells the side: a
/// `certificate verify failed` in `SSL3_GET_SERVER_CERTIFICATE` is the client checking the
/// broker, in `SSL3_GET_CLIENT_CERTIFICATE` the broker checking the client.
pub const CLIENT_FUNCTIONS: &[(u32, &str)] = &[
    (0x090, "ssl3_get_server_certificate"),
    (0x092, "ssl3_get_server_hello"),
    (0x077, "ssl23_get_server_hello"),
    (0x084, "ssl3_connect"),
    (0x075, "ssl23_connect"),
    (0x087, "ssl3_get_certificate_request"),
    (0x08D, "ssl3_get_key_exchange"),
    (0x16F, "tls_process_server_certificate"),
    (0x1E7, "tls_construct_client_hello"),
    (0, "tls_post_process_server_certificate"),
    (0, "tls_process_server_hello"),
    (0, "ssl_choose_client_version"),
    (0, "connect_cr_"),
    (0, ":st_connect:"),
];

/// The broker's side of [`CLIENT_FUNCTIONS`].
pub const BROKER_FUNCTIONS: &[(u32, &str)] = &[
    (0x089, "ssl3_get_client_certificate"),
    (0x08A, "ssl3_get_client_hello"),
    (0x076, "ssl23_get_client_hello"),
    (0x080, "ssl3_accept"),
    (0x073, "ssl23_accept"),
    (0x17C, "tls_process_client_certificate"),
    (0x17A, "tls_post_process_client_hello"),
    (0, "tls_early_post_process_client_hello"),
    (0, "accept_sr_"),
    (0, ":st_accept:"),
];

/// The side a `14xxxxxx` code or a function name in `lower` tells, if any.
pub fn function_side(lower: &str) -> Option<Reading> {
    let named = |table: &[(u32, &str)]| table.iter().any(|(_, name)| lower.contains(name));
    let numbered = |table: &[(u32, &str)]| {
        legacy_functions(lower).any(|f| table.iter().any(|(n, _)| *n != 0 && *n == f))
    };
    let client = named(CLIENT_FUNCTIONS) || numbered(CLIENT_FUNCTIONS);
    let broker = named(BROKER_FUNCTIONS) || numbered(BROKER_FUNCTIONS);
    match (client, broker) {
        (true, false) => Some(Reading::Client),
        (false, true) => Some(Reading::Broker),
        _ => None,
    }
}

/// The function numbers of every OpenSSL 1.0.x/1.1.x SSL-library code (`error:14090086`).
fn legacy_functions(lower: &str) -> impl Iterator<Item = u32> + '_ {
    lower.match_indices("error:").filter_map(|(at, _)| {
        let after = lower.get(at + 6..)?;
        let hex = after.get(..8)?;
        if after.as_bytes().get(8).is_some_and(u8::is_ascii_hexdigit) {
            return None;
        }
        let value = u32::from_str_radix(hex, 16).ok()?;
        (value >> 24 == 0x14).then_some((value >> 12) & 0xFFF)
    })
}

/// Words only a client prints.
pub const CLIENT_MARKERS: &[&str] = &[
    "tls client:",
    "unable to connect",
    "connection error:",
    "a tls error occurred",
    "sslcertverificationerror",
    "ssl.sslerror",
    "[ssl:",
    "verify error:",
    "verify return code",
    "openssl s_client",
    "invalid peer certificate",
    "received fatal alert",
    "alertreceived(",
    "rumqttc",
    "mosquitto_pub",
    "mosquitto_sub",
    "sslhandshakeexception",
    "mbedtls_ssl_handshake",
    "esp-tls",
    "wolfssl_connect",
    "sending connect",
    "the connection was lost",
    "error: protocol error",
    "traceback (most recent call last)",
    // Not `paho` alone: brokers log paho's generated client ids. Not Node's stack frames
    // (`at TLSSocket`, `node:internal`): a Node broker prints them too.
    "paho/mqtt",
    "paho.mqtt",
    "client network socket",
];

/// The table, best reading first.
// One row per line reads as a table; rustfmt would split every row over eight lines.
#[rustfmt::skip]
pub const PATTERNS: &[Pattern] = &[
    // --- rustls / webpki / rumqttc (Display and Debug, old and new variant names) ---
    p("rustls", &["not valid for any names"], C::CnOnlyNoSan, Local, Any,
        "invalid peer certificate: certificate not valid for name \"localhost\"; certificate is not valid for any names (according to its subjectAltName extension)"),
    p("rustls", &["notvalidfornamecontext", "expected: ipaddress"], C::IpNotInSan, Local, Any,
        "InvalidCertificate(NotValidForNameContext { expected: IpAddress(V4(Ipv4Addr([127, 0, 0, 1]))), presented: [\"DnsName(\\\"localhost\\\")\"] })"),
    p("rustls", &["certificate not valid for name"], C::HostnameMismatch, Local, Any,
        "invalid peer certificate: certificate not valid for name \"localhost\"; certificate is only valid for DnsName(\"broker.example.com\")"),
    p("rustls", &["notvalidforname"], C::HostnameMismatch, Local, Any,
        "Tls(Io(Custom { kind: InvalidData, error: InvalidCertificateData(\"invalid peer certificate: CertNotValidForName\") }))"),
    p("rustls", &["invaliddnsnameerror"], C::IpNotInSan, Local, Any,
        "Network(DNSName(InvalidDNSNameError))"),
    p("rustls", &["unknownissuer"], C::UnknownCa, Local, Client,
        "TLS: I/O: invalid peer certificate: UnknownIssuer"),
    p("rustls", &["unknownissuer"], C::ClientCertUnknownCa, Local, Broker,
        "2026-11-25T10:00:00Z ERROR rumqttd::server::broker: Failed to accept TLS connection: InvalidCertificate(UnknownIssuer)"),
    p("rustls", &["nocertificatespresented"], C::ClientCertRequired, Local, Any,
        "2026-11-25T10:00:00Z ERROR rumqttd::server::broker: Failed to accept TLS connection: NoCertificatesPresented"),
    p("rustls", &["invalidauth"], C::MqttBadCredentials, Local, Any,
        "2026-11-25T10:00:00Z ERROR rumqttd::link::remote: Connection error: InvalidAuth"),
    p("rustls", &["causedasendentity"], C::CaCertAsServerCert, Local, Any,
        "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"),
    p("rustls", &["unsupportedcertversion"], C::X509V1Cert, Local, Any,
        "TLS: I/O: invalid peer certificate: Other(UnsupportedCertVersion)"),
    p("rustls", &["webpkierror(badder)"], C::X509V1Cert, Local, Any,
        "Network(Io(Custom { kind: InvalidData, error: WebPKIError(BadDER) }))"),
    p("rustls", &["endentityusedasca"], C::IssuerNotCa, Local, Any,
        "invalid peer certificate: Other(OtherError(EndEntityUsedAsCa))"),
    p("rustls", &["certificate not valid yet"], C::ServerCertNotYetValid, Local, Any,
        "invalid peer certificate: certificate not valid yet: verification time 1795641434 (UNIX), but certificate is not valid before 4070908800 (2275267366 seconds in future)"),
    p("rustls", &["notvalidyet"], C::ServerCertNotYetValid, Local, Any,
        "InvalidCertificate(NotValidYetContext { time: UnixTime(1795641434), not_before: UnixTime(4070908800) })"),
    p("rustls", &["invalid peer certificate: certificate expired"], C::ServerCertExpired, Local, Any,
        "invalid peer certificate: certificate expired: verification time 1795641433 (UNIX), but certificate is not valid after 1609459200 (186182233 seconds ago)"),
    p("rustls", &["expiredcontext"], C::ServerCertExpired, Local, Any,
        "InvalidCertificate(ExpiredContext { time: UnixTime(1795641433), not_after: UnixTime(1609459200) })"),
    p("rustls", &["invalidcertificate(expired)"], C::ServerCertExpired, Local, Any,
        "Tls(Io(Custom { kind: InvalidData, error: InvalidCertificate(Expired) }))"),
    p("rustls", &["certexpired"], C::ServerCertExpired, Local, Any,
        "Network(Io(Custom { kind: InvalidData, error: WebPKIError(CertExpired) }))"),
    p("rustls", &["does not allow extended key usage for server authentication"], C::ServerEkuMissing, Local, Any,
        "invalid peer certificate: certificate does not allow extended key usage for server authentication, allows client authentication"),
    p("rustls", &["invalidpurpose"], C::ServerEkuMissing, Local, Any,
        "InvalidCertificate(InvalidPurposeContext { required: ServerAuth, presented: [ClientAuth] })"),
    p("rustls", &["requiredekunotfound"], C::ServerEkuMissing, Local, Any,
        "WebPKIError(RequiredEkuNotFound)"),
    p("rustls", &["nameconstraintviolation"], C::NameConstraintViolation, Local, Any,
        "invalid peer certificate: Other(OtherError(NameConstraintViolation))"),
    p("rustls", &["invalidnetworkmaskconstraint"], C::NameConstraintViolation, Local, Any,
        "invalid peer certificate: Other(OtherError(InvalidNetworkMaskConstraint))"),
    p("rustls", &["malformednameconstraint"], C::NameConstraintViolation, Local, Any,
        "invalid peer certificate: Other(OtherError(MalformedNameConstraint))"),
    p("rustls", &["pathlenconstraintviolated"], C::PathLengthExceeded, Local, Any,
        "invalid peer certificate: Other(OtherError(PathLenConstraintViolated))"),
    p("rustls", &["maximumpathdepthexceeded"], C::ChainTooLong, Local, Any,
        "invalid peer certificate: Other(OtherError(MaximumPathDepthExceeded))"),
    p("rustls", &["maximumpathbuildcallsexceeded"], C::ChainTooComplex, Local, Any,
        "invalid peer certificate: Other(OtherError(MaximumPathBuildCallsExceeded))"),
    p("rustls", &["maximumnameconstraintcomparisonsexceeded"], C::ChainTooComplex, Local, Any,
        "invalid peer certificate: Other(OtherError(MaximumNameConstraintComparisonsExceeded))"),
    p("rustls", &["maximumsignaturechecksexceeded"], C::ChainTooComplex, Local, Any,
        "invalid peer certificate: Other(OtherError(MaximumSignatureChecksExceeded))"),
    p("rustls", &["unsupportedcriticalextension"], C::UnknownCriticalExtension, Local, Any,
        "invalid peer certificate: Other(OtherError(UnsupportedCriticalExtension))"),
    p("rustls", &["unhandledcriticalextension"], C::UnknownCriticalExtension, Local, Any,
        "InvalidCertificate(UnhandledCriticalExtension)"),
    p("rustls", &["invalidsignatureforpublickey"], C::BadSignature, Local, Any,
        "webpki: InvalidSignatureForPublicKey"),
    p("rustls", &["invalid peer certificate: badencoding"], C::MalformedCertificate, Local, Any,
        "invalid peer certificate: BadEncoding"),
    p("rustls", &["invalidcertificate(badencoding)"], C::MalformedCertificate, Local, Any,
        "Tls(Io(Custom { kind: InvalidData, error: InvalidCertificate(BadEncoding) }))"),
    p("rustls", &["badder"], C::MalformedCertificate, Local, Any,
        "webpki: BadDerTime"),
    p("rustls", &["malformeddnsidentifier"], C::MalformedCertificate, Local, Any,
        "invalid peer certificate: Other(OtherError(MalformedDnsIdentifier))"),
    p("rustls", &["emptyekuextension"], C::MalformedCertificate, Local, Any,
        "invalid peer certificate: Other(OtherError(EmptyEkuExtension))"),
    p("rustls", &["trailingdata("], C::MalformedCertificate, Local, Any,
        "invalid peer certificate: Other(OtherError(TrailingData(Certificate)))"),
    p("rustls", &["unsupportedsignaturealgorithmforpublickey"], C::UnsupportedAlgorithm, Local, Any,
        "invalid peer certificate: UnsupportedSignatureAlgorithmForPublicKeyContext { signature_algorithm_id: [6, 7, 42, 134, 72, 206, 56, 4, 3], public_key_algorithm_id: [6, 7, 42, 134, 72, 206, 56, 4, 1] }"),
    p("rustls", &["unsupportedsignaturealgorithm"], C::WeakSignature, Local, Any,
        "invalid peer certificate: UnsupportedSignatureAlgorithmContext { signature_algorithm_id: [6, 9, 42, 134, 72, 134, 247, 13, 1, 1, 5, 5, 0], supported_algorithms: [] }"),
    p("rustls", &["invalid peer certificate: badsignature"], C::WeakKey, Local, Any,
        "invalid peer certificate: BadSignature"),
    p("rustls", &["invalidcertificate(badsignature)"], C::WeakKey, Local, Any,
        "Tls(Io(Custom { kind: InvalidData, error: InvalidCertificate(BadSignature) }))"),
    p("rustls", &["no valid ca certificate provided"], C::CaFileUnusable, Local, Any,
        "TLS: No valid CA certificate provided"),
    p("rustls", &["no valid certificate for client authentication"], C::ClientCertUnusable, Local, Any,
        "TLS: No valid certificate for client authentication in chain"),
    p("rustls", &["no valid key in chain"], C::ClientKeyUnusable, Local, Any,
        "TLS: No valid key in chain"),
    p("rustls", &["keymismatch"], C::ClientKeyMismatch, Local, Any,
        "TLS: TLS error: keys may not be consistent: KeyMismatch"),
    p("rustls", &["invalidcharacter(45)"], C::ClientKeyEncrypted, Local, Any,
        "TLS: I/O: InvalidCharacter(45)"),
    p("rustls", &["invalidcontenttype"], C::NotTls, Local, Any,
        "received corrupt message of type InvalidContentType"),
    p("rustls", &["connection closed by peer abruptly"], C::MqttNoConnack, Peer, Any,
        "Mqtt state: Connection closed by peer abruptly"),
    p("rustls", &["peer closed connection without sending tls close_notify"], C::PeerClosed, Nobody, Any,
        "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof"),
    p("rustls", &["return code", "badusernamepassword"], C::MqttBadCredentials, Peer, Any,
        "Connection refused, return code: `BadUserNamePassword`"),
    p("rustls", &["notauthorized"], C::MqttNotAuthorized, Peer, Any,
        "Connection refused, return code: `NotAuthorized`"),
    // --- Python ssl / paho-mqtt ---
    p("python", &["certificate_verify_failed", "hostname mismatch"], C::HostnameMismatch, Local, Client,
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'. (_ssl.c:1006)"),
    p("python", &["certificate_verify_failed", "ip address mismatch"], C::IpNotInSan, Local, Client,
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:1006)"),
    p("python", &["certificate_verify_failed", "local issuer"], C::UnknownCa, Local, Client,
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)"),
    p("python", &["certificate_verify_failed", "local issuer"], C::MissingIntermediate, Local, Client,
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)"),
    p("python", &["certificate_verify_failed", "local issuer"], C::ServerCertAsCa, Local, Client,
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)"),
    p("python", &["certificate_verify_failed", "certificate has expired"], C::ServerCertExpired, Local, Client,
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)"),
    p("python", &["certificate subject does not match remote hostname"], C::HostnameMismatch, Local, Any,
        "ssl.CertificateError: Certificate subject does not match remote hostname."),
    p("python", &["tlsv1_alert_unknown_ca"], C::ClientCertUnknownCa, Peer, Client,
        "ssl.SSLError: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)"),
    p("python", &["tlsv13_alert_certificate_required"], C::ClientCertRequired, Peer, Any,
        "ssl.SSLError: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)"),
    p("python", &["sslv3_alert_handshake_failure"], C::ClientCertRequired, Peer, Client,
        "ssl.SSLError: [SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)"),
    p("python", &["tlsv1_alert_protocol_version"], C::TlsVersionMismatch, Peer, Any,
        "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)"),
    // In the handshake (`_ssl.c:1006`, UNEXPECTED_EOF_WHILE_READING) the broker closed without
    // an alert; after it (`_ssl.c:2427`, a read) it is TLS 1.3's late client-certificate refusal,
    // whose alert Python reports as EOF (captured against mosquitto require_certificate).
    pm("python", &["unexpected_eof_while_reading"], C::PlaintextPort, Nobody, Client,
        "The broker closed the connection during the handshake without an alert: a port that does not speak TLS may read the ClientHello as a bad packet and close.",
        "ssl.SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)"),
    pm("python", &["unexpected_eof_while_reading"], C::PeerClosed, Nobody, Client,
        "The broker closed the connection during the handshake without an alert, so the client cannot say why: the broker's own log holds the reason.",
        "ssl.SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)"),
    pm("python", &["eof occurred in violation of protocol"], C::ClientCertRequired, Peer, Client,
        "After the TLS 1.3 handshake the broker refused the client for sending no certificate; Python reports the closed connection as EOF, not as the alert.",
        "ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:2427)"),
    pm("python", &["eof occurred in violation of protocol"], C::ClientCertUnknownCa, Peer, Client,
        "After the TLS 1.3 handshake the broker refused the client's certificate (its issuer is not in the broker's CA file); Python may report the closed connection as EOF.",
        "ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:2427)"),
    pm("python", &["eof occurred in violation of protocol"], C::PeerClosed, Nobody, Client,
        "The broker closed the connection without an alert; its own log holds the reason.",
        "ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:2427)"),
    pm("python", &["the handshake operation timed out"], C::HandshakeTimeout, Nobody, Any,
        "TCP connected but the TLS handshake did not finish in time: the port accepts connections and does not answer TLS (a silent plain MQTT port, a proxy, an overloaded broker).",
        "TimeoutError: _ssl.c:989: The handshake operation timed out"),
    // Rows are data; this one's fix is in the client's code, not in the TLS versions.
    Pattern {
        stack: "python",
        needles: &["typeerror: an integer is required", "wrap_socket"],
        code: C::TlsVersionMismatch,
        side: Nobody,
        reading: Client,
        meaning: "paho-mqtt on Python 2.7 passed no TLS version to ssl.wrap_socket: the `tls` dict lacks 'tls_version'. Nothing was refused; the client failed before its first byte. Pass 'tls_version': ssl.PROTOCOL_TLSv1_2 (today ssl.PROTOCOL_TLS_CLIENT; in paho 2.x tls_set(tls_version=ssl.PROTOCOL_TLS_CLIENT)).",
        steps: &[
            "paho 1.x: tls={'ca_certs': 'ca.crt', 'tls_version': ssl.PROTOCOL_TLSv1_2} (ssl.PROTOCOL_TLS_CLIENT where the ssl module has it).",
            "paho 2.x: client.tls_set(ca_certs='ca.crt', tls_version=ssl.PROTOCOL_TLS_CLIENT).",
            "Better: leave Python 2.7, whose ssl module has no TLS 1.3.",
        ],
        example: "  File \"/usr/lib/python2.7/ssl.py\", line 381, in wrap_socket\n    ciphers=ciphers)\n  File \"/usr/lib/python2.7/ssl.py\", line 141, in __init__\n    ciphers)\nTypeError: an integer is required",
    },
    p("python", &["result code bad user name or password"], C::MqttBadCredentials, Peer, Any,
        "Connected with result code Bad user name or password"),
    pm("python", &["unspecified error"], C::ClientCertRequired, Peer, ClientSummary,
        "paho 2.x reports a connection the broker closed as 'Unspecified error'. Over TLS 1.3 the broker refuses a missing client certificate after connect() returned, so the refusal looks like a lost connection.",
        "Disconnected: Unspecified error"),
    pm("python", &["unspecified error"], C::ClientCertUnknownCa, Peer, ClientSummary,
        "paho 2.x reports a connection the broker closed as 'Unspecified error': the broker may have refused the client certificate after the TLS 1.3 handshake.",
        "Disconnected: Unspecified error"),
    pm("python", &["unspecified error"], C::MqttNoConnack, Peer, ClientSummary,
        "paho 2.x reports a connection the broker closed as 'Unspecified error': the broker may have closed after the CONNECT (its log says why).",
        "Disconnected: Unspecified error"),
    pm("python", &["unspecified error"], C::MqttRefused, Peer, ClientSummary,
        "An MQTT 5 CONNACK or DISCONNECT with reason 0x80 reads 'Unspecified error' too: the broker refused after TLS worked (its log says why).",
        "Disconnected: Unspecified error"),
    pm("python", &["bad user name or password"], C::MqttBadCredentials, Peer, Fallback,
        "",
        "Bad user name or password"),
    pm("python", &["not authorized"], C::MqttNotAuthorized, Peer, Fallback,
        "",
        "Not authorized"),
    p("python", &["key_values_mismatch"], C::ClientKeyMismatch, Local, Any,
        "ssl.SSLError: [X509: KEY_VALUES_MISMATCH] key values mismatch (_ssl.c:3926)"),
    p("python", &["connectionrefusederror"], C::ConnectionRefused, Nobody, Any,
        "ConnectionRefusedError: [Errno 111] Connection refused"),
    p("python", &["connectionreseterror"], C::PlaintextPort, Nobody, Any,
        "ConnectionResetError: [Errno 104] Connection reset by peer"),
    p("python", &["connected with result code 5"], C::MqttNotAuthorized, Peer, Any,
        "Connected with result code 5"),
    p("python", &["connected with result code not authorized"], C::MqttNotAuthorized, Peer, Any,
        "Connected with result code Not authorized"),
    p("python", &["connected with result code 4"], C::MqttBadCredentials, Peer, Any,
        "Connected with result code 4"),
    p("python", &["certificate_verify_failed"], C::UnknownCa, Local, ClientFallback,
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:997)"),
    // --- mosquitto (client and broker) ---
    p("mosquitto", &["host name verification failed"], C::HostnameMismatch, Local, Any,
        "Error: host name verification failed."),
    p("mosquitto", &["connection refused: not authorised"], C::MqttNotAuthorized, Peer, Any,
        "Connection error: Connection Refused: not authorised."),
    p("mosquitto", &["connection refused: bad user name or password"], C::MqttBadCredentials, Peer, Any,
        "Connection error: Connection Refused: bad user name or password."),
    p("mosquitto", &["connection refused: identifier rejected"], C::MqttIdentifierRejected, Peer, Any,
        "Connection error: Connection Refused: identifier rejected."),
    p("mosquitto", &["connection refused: unacceptable protocol version"], C::MqttProtocolRejected, Peer, Any,
        "Connection error: Connection Refused: unacceptable protocol version."),
    p("mosquitto", &["connection refused: broker unavailable"], C::MqttServerUnavailable, Peer, Any,
        "Connection error: Connection Refused: broker unavailable."),
    p("mosquitto", &["disconnected, not authorised"], C::MqttNotAuthorized, Local, Any,
        "1732600000: Client <unknown> disconnected, not authorised."),
    p("mosquitto", &["sending connack", "(0, 5)"], C::MqttNotAuthorized, Local, Any,
        "1732600000: Sending CONNACK to 127.0.0.1 (0, 5)"),
    p("mosquitto", &["sending connack", "(0, 4)"], C::MqttBadCredentials, Local, Any,
        "1732600000: Sending CONNACK to probe-rustls (0, 4)"),
    p("mosquitto", &["unable to load server key file"], C::ConnectionRefused, Nobody, Any,
        "Error: Unable to load server key file \"/etc/mosquitto/certs/server.key\". Check keyfile."),
    p("mosquitto", &["unable to load server certificate"], C::ConnectionRefused, Nobody, Any,
        "Error: Unable to load server certificate \"/etc/mosquitto/certs/server.crt\". Check certfile."),
    p("mosquitto", &["unable to load ca certificates"], C::ConnectionRefused, Nobody, Any,
        "Error: Unable to load CA certificates. Check cafile \"/nonexistent/ca.crt\"."),
    p("mosquitto", &["disconnected due to protocol error"], C::PlaintextPort, Nobody, Broker,
        "1732600000: Client <unknown> disconnected due to protocol error."),
    // --- Erlang/OTP ssl (EMQX, RabbitMQ, VerneMQ): "generated" = local, "received" = peer ---
    p("erlang", &["tls server", "received client alert", "unknown ca"], C::UnknownCa, Peer, Any,
        "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Unknown CA"),
    p("erlang", &["tls server", "received client alert", "unknown ca"], C::MissingIntermediate, Peer, Any,
        "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Unknown CA"),
    p("erlang", &["tls server", "received client alert", "unknown ca"], C::ServerCertAsCa, Peer, Any,
        "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Unknown CA"),
    p("erlang", &["tls server", "received client alert", "certificate unknown"], C::UnknownCa, Peer, Any,
        "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Certificate Unknown"),
    p("erlang", &["tls server", "received client alert", "certificate unknown"], C::X509V1Cert, Peer, Any,
        "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Certificate Unknown"),
    p("erlang", &["tls server", "received client alert", "bad certificate"], C::HostnameMismatch, Peer, Any,
        "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Bad Certificate"),
    p("erlang", &["tls server", "received client alert", "certificate expired"], C::ServerCertExpired, Peer, Any,
        "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Certificate Expired"),
    p("erlang", &["tls server", "generated server alert", "unknown ca"], C::ClientCertUnknownCa, Local, Any,
        "{tls_alert,{unknown_ca,\"TLS server: In state wait_cert at ssl_handshake.erl:2111 generated SERVER ALERT: Fatal - Unknown CA\\n\"}}"),
    p("erlang", &["tls server", "generated server alert", "certificate expired"], C::ClientCertExpired, Local, Any,
        "{tls_alert,{certificate_expired,\"TLS server: In state wait_cert at ssl_handshake.erl:2094 generated SERVER ALERT: Fatal - Certificate Expired\\n\"}}"),
    p("erlang", &["tls server", "generated server alert", "certificate revoked"], C::ClientCertRevoked, Local, Any,
        "{tls_alert,{certificate_revoked,\"TLS server: In state wait_cert at ssl_handshake.erl:2104 generated SERVER ALERT: Fatal - Certificate Revoked\\n\"}}"),
    p("erlang", &["tls server", "invalid_ext_key_usage"], C::ClientCertRejected, Local, Any,
        "{tls_alert,{handshake_failure,\"TLS server: In state wait_cert at ssl_handshake.erl:2113 generated SERVER ALERT: Fatal - Handshake Failure\\n {bad_cert,invalid_ext_key_usage}\"}}"),
    p("erlang", &["no_client_certificate_provided"], C::ClientCertRequired, Local, Any,
        "{tls_alert,{handshake_failure,\"TLS server: In state certify at tls_dtls_connection.erl:315 generated SERVER ALERT: Fatal - Handshake Failure\\n no_client_certificate_provided\"}}"),
    p("erlang", &["tls server", "generated server alert", "certificate required"], C::ClientCertRequired, Local, Any,
        "{tls_alert,{certificate_required,\"TLS server: In state wait_cert at tls_handshake_1_3.erl:1484 generated SERVER ALERT: Fatal - Certificate required\\n certificate_required\"}}"),
    p("erlang", &["tls server", "generated server alert", "protocol version"], C::TlsVersionMismatch, Local, Any,
        "{tls_alert,{protocol_version,\"TLS server: In state start at tls_connection_1_3.erl:301 generated SERVER ALERT: Fatal - Protocol Version\\n\"}}"),
    p("erlang", &["tls server", "received client alert", "protocol version"], C::TlsVersionMismatch, Peer, Any,
        "TLS server: In state hello received CLIENT ALERT: Fatal - Protocol Version"),
    p("erlang", &["tls server", "generated server alert", "insufficient security"], C::NoSharedCipher, Local, Any,
        "TLS server: In state hello at tls_handshake.erl:346 generated SERVER ALERT: Fatal - Insufficient Security\n no_suitable_ciphers"),
    p("erlang", &["unsupported_record_type"], C::NotTls, Local, Any,
        "{tls_alert,{unexpected_message,\"TLS server: In state hello at tls_record.erl:564 generated SERVER ALERT: Fatal - Unexpected Message\\n {unsupported_record_type,16}\"}}"),
    p("erlang", &["tls server", "unexpected message"], C::NotTls, Local, Any,
        "TLS server: In state hello received UNDEFINED ALERT: Fatal - Unexpected Message"),
    p("erlang", &["hostname_check_failed"], C::HostnameMismatch, Local, Any,
        "{tls_alert,{handshake_failure,\"TLS client: In state wait_cert_cr at ssl_handshake.erl:2113 generated CLIENT ALERT: Fatal - Handshake Failure\\n {bad_cert,hostname_check_failed}\"}}"),
    p("erlang", &["tls client", "generated client alert", "unknown ca"], C::UnknownCa, Local, Any,
        "{tls_alert,{unknown_ca,\"TLS client: In state wait_cert_cr at ssl_handshake.erl:2111 generated CLIENT ALERT: Fatal - Unknown CA\\n\"}}"),
    p("erlang", &["tls client", "generated client alert", "certificate expired"], C::ServerCertExpired, Local, Any,
        "{tls_alert,{certificate_expired,\"TLS client: In state wait_cert_cr at ssl_handshake.erl:2094 generated CLIENT ALERT: Fatal - Certificate Expired\\n\"}}"),
    p("erlang", &["tls client", "generated client alert", "bad certificate"], C::CaCertAsServerCert, Local, Any,
        "{tls_alert,{bad_certificate,\"TLS client: In state wait_cert_cr at ssl_handshake.erl:2109 generated CLIENT ALERT: Fatal - Bad Certificate\\n\"}}"),
    p("erlang", &["tls client", "received server alert", "unknown ca"], C::ClientCertUnknownCa, Peer, Any,
        "TLS client: In state connection received SERVER ALERT: Fatal - Unknown CA"),
    p("erlang", &["tls client", "received server alert", "insufficient security"], C::NoSharedCipher, Peer, Any,
        "TLS client: In state hello received SERVER ALERT: Fatal - Insufficient Security"),
    p("erlang", &["tls client", "received server alert", "handshake failure"], C::ClientCertRequired, Peer, Any,
        "TLS client: In state certify received SERVER ALERT: Fatal - Handshake Failure"),
    p("erlang", &["tls client", "received server alert", "certificate required"], C::ClientCertRequired, Peer, Any,
        "TLS client: In state connection received SERVER ALERT: Fatal - Certificate required"),
    p("erlang", &["tls_alert,\"unknown ca\""], C::UnknownCa, Peer, Broker,
        "{ssl_error,{tls_alert,\"unknown ca\"}}"),
    p("erlang", &["tls_alert,\"certificate unknown\""], C::UnknownCa, Peer, Broker,
        "{ssl_error,{tls_alert,\"certificate unknown\"}}"),
    p("erlang", &["fatal error: unknown ca"], C::UnknownCa, Peer, Broker,
        "SSL: certify: ssl_alert.erl:97:Fatal error: unknown ca"),
    p("erlang", &["{options,{cacertfile"], C::ConnectionRefused, Nobody, Any,
        "{ssl_error,{options,{cacertfile,\"/root/ca.pem\",{error,eacces}}}}"),
    // --- Go crypto/tls and crypto/x509 ---
    p("go", &["x509: certificate signed by unknown authority"], C::UnknownCa, Local, Any,
        "x509: certificate signed by unknown authority"),
    p("go", &["x509: cannot validate certificate for", "doesn't contain any ip sans"], C::IpNotInSan, Local, Any,
        "x509: cannot validate certificate for 192.168.1.10 because it doesn't contain any IP SANs"),
    p("go", &["x509: certificate is valid for", ", not"], C::HostnameMismatch, Local, Any,
        "tls: failed to verify certificate: x509: certificate is valid for broker.example.com, not localhost"),
    p("go", &["x509: certificate is not valid for any names"], C::CnOnlyNoSan, Local, Any,
        "x509: certificate is not valid for any names, but wanted to match localhost"),
    p("go", &["legacy common name field"], C::CnOnlyNoSan, Local, Any,
        "x509: certificate relies on legacy Common Name field, use SANs instead"),
    p("go", &["has expired or is not yet valid", "is before"], C::ServerCertNotYetValid, Local, Any,
        "x509: certificate has expired or is not yet valid: current time 1970-01-01T00:00:12Z is before 2024-01-01T00:00:00Z"),
    p("go", &["has expired or is not yet valid"], C::ServerCertExpired, Local, Any,
        "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-11-25T10:00:00Z is after 2025-02-23T12:00:00Z"),
    p("go", &["x509: certificate specifies an incompatible key usage"], C::ServerEkuMissing, Local, Any,
        "x509: certificate specifies an incompatible key usage"),
    p("go", &["not authorized to sign other certificates"], C::IssuerNotCa, Local, Any,
        "x509: certificate is not authorized to sign other certificates"),
    p("go", &["insecure algorithm"], C::WeakSignature, Local, Any,
        "x509: cannot verify signature: insecure algorithm SHA1-RSA (temporarily override with GODEBUG=x509sha1=1)"),
    p("go", &["tls: first record does not look like a tls handshake"], C::NotTls, Local, Any,
        "tls: first record does not look like a TLS handshake"),
    p("go", &["tls: client didn't provide a certificate"], C::ClientCertRequired, Local, Any,
        "http: TLS handshake error from 10.0.0.5:51234: tls: client didn't provide a certificate"),
    p("go", &["no supported versions satisfy minversion and maxversion"], C::TlsVersionMismatch, Local, Any,
        "tls: no supported versions satisfy MinVersion and MaxVersion"),
    p("go", &["remote error: tls: certificate required"], C::ClientCertRequired, Peer, Any,
        "remote error: tls: certificate required"),
    p("go", &["remote error: tls: protocol version not supported"], C::TlsVersionMismatch, Peer, Any,
        "remote error: tls: protocol version not supported"),
    p("go", &["remote error: tls: unknown certificate authority"], C::ClientCertUnknownCa, Peer, Client,
        "remote error: tls: unknown certificate authority"),
    p("go", &["remote error: tls: unknown certificate authority"], C::UnknownCa, Peer, Broker,
        "2026/11/25 10:00:00 http: TLS handshake error from 10.0.0.5:51234: remote error: tls: unknown certificate authority"),
    p("go", &["remote error: tls: bad certificate"], C::ClientCertRejected, Peer, Client,
        "remote error: tls: bad certificate"),
    p("go", &["remote error: tls: bad certificate"], C::HostnameMismatch, Peer, Broker,
        "http: TLS handshake error from 10.0.0.5:51234: remote error: tls: bad certificate"),
    p("go", &["remote error: tls: expired certificate"], C::ClientCertExpired, Peer, Client,
        "remote error: tls: expired certificate"),
    p("go", &["remote error: tls: handshake failure"], C::ClientCertRequired, Peer, Client,
        "remote error: tls: handshake failure"),
    p("go", &["remote error: tls: handshake failure"], C::NoSharedCipher, Peer, Client,
        "remote error: tls: handshake failure"),
    p("go", &["i/o timeout"], C::ConnectTimeout, Nobody, Any,
        "dial tcp 10.0.0.1:8883: i/o timeout"),
    p("go", &["no such host"], C::DnsFailure, Nobody, Any,
        "dial tcp: lookup broker.example.invalid: no such host"),
    // --- Java JSSE (and Java MQTT clients) ---
    p("java", &["no subject alternative names matching ip address"], C::IpNotInSan, Local, Any,
        "java.security.cert.CertificateException: No subject alternative names matching IP address 192.168.1.10 found"),
    p("java", &["no subject alternative names present"], C::CnOnlyNoSan, Local, Any,
        "javax.net.ssl.SSLHandshakeException: No subject alternative names present"),
    p("java", &["no subject alternative dns name matching"], C::HostnameMismatch, Local, Any,
        "javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching localhost found."),
    p("java", &["no name matching", "found"], C::HostnameMismatch, Local, Any,
        "java.security.cert.CertificateException: No name matching broker.local found"),
    p("java", &["pkix path validation failed", "timestamp check failed"], C::ServerCertExpired, Local, Any,
        "sun.security.validator.ValidatorException: PKIX path validation failed: java.security.cert.CertPathValidatorException: timestamp check failed"),
    p("java", &["certificatenotyetvalidexception"], C::ServerCertNotYetValid, Local, Any,
        "java.security.cert.CertificateNotYetValidException: NotBefore: Thu Jan 01 00:00:00 UTC 2099"),
    p("java", &["certificateexpiredexception"], C::ServerCertExpired, Local, Any,
        "java.security.cert.CertificateExpiredException: NotAfter: Sun Feb 23 12:00:00 UTC 2025"),
    p("java", &["pkix path building failed"], C::UnknownCa, Local, Any,
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"),
    p("java", &["unable to find valid certification path"], C::UnknownCa, Local, Any,
        "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"),
    p("java", &["basic constraints check failed"], C::IssuerNotCa, Local, Any,
        "java.security.cert.CertPathValidatorException: basic constraints check failed: this is not a CA certificate"),
    p("java", &["extended key usage does not permit use for tls server authentication"], C::ServerEkuMissing, Local, Any,
        "java.security.cert.CertificateException: Extended key usage does not permit use for TLS server authentication"),
    p("java", &["algorithm constraints check failed"], C::WeakSignature, Local, Any,
        "java.security.cert.CertPathValidatorException: Algorithm constraints check failed on signature algorithm: SHA1withRSA"),
    p("java", &["no appropriate protocol"], C::TlsVersionMismatch, Local, Any,
        "javax.net.ssl.SSLHandshakeException: No appropriate protocol (protocol is disabled or cipher suites are inappropriate)"),
    p("java", &["unrecognized ssl message"], C::NotTls, Local, Any,
        "javax.net.ssl.SSLException: Unrecognized SSL message, plaintext connection?"),
    p("java", &["remote host terminated the handshake"], C::PeerClosed, Nobody, Any,
        "javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake"),
    p("java", &["not authorized to connect"], C::MqttNotAuthorized, Peer, Any,
        "MqttSecurityException: Not authorized to connect (5)"),
    p("java", &["bad user name or password (4)"], C::MqttBadCredentials, Peer, Any,
        "MqttSecurityException: Bad user name or password (4)"),
    p("java", &["connack contained an error code: not_authorized"], C::MqttNotAuthorized, Peer, Any,
        "Mqtt5ConnAckException: CONNECT failed as CONNACK contained an Error Code: NOT_AUTHORIZED."),
    p("java", &["connack contained an error code: bad_user_name_or_password"], C::MqttBadCredentials, Peer, Any,
        "Mqtt5ConnAckException: CONNECT failed as CONNACK contained an Error Code: BAD_USER_NAME_OR_PASSWORD."),
    // --- Node.js (tls error codes, MQTT.js) ---
    p("nodejs", &["unable_to_verify_leaf_signature"], C::MissingIntermediate, Local, Any,
        "Error: unable to verify the first certificate { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }"),
    p("nodejs", &["unable_to_verify_leaf_signature"], C::UnknownCa, Local, Client,
        "Error: unable to verify the first certificate { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }"),
    p("nodejs", &["unable_to_get_issuer_cert_locally"], C::UnknownCa, Local, Any,
        "Error: unable to get local issuer certificate { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }"),
    p("nodejs", &["unable_to_get_issuer_cert_locally"], C::MissingIntermediate, Local, Client,
        "Error: unable to get local issuer certificate { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }"),
    p("nodejs", &["unable_to_get_issuer_cert_locally"], C::ServerCertAsCa, Local, Client,
        "Error: unable to get local issuer certificate { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }"),
    p("nodejs", &["self_signed_cert_in_chain"], C::UnknownCa, Local, Any,
        "Error: self-signed certificate in certificate chain { code: 'SELF_SIGNED_CERT_IN_CHAIN' }"),
    p("nodejs", &["depth_zero_self_signed_cert"], C::SelfSignedServerCert, Local, Any,
        "Error: self-signed certificate { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }"),
    p("nodejs", &["cert_has_expired"], C::ServerCertExpired, Local, Any,
        "Error: certificate has expired { code: 'CERT_HAS_EXPIRED' }"),
    p("nodejs", &["cert_not_yet_valid"], C::ServerCertNotYetValid, Local, Any,
        "Error: certificate is not yet valid { code: 'CERT_NOT_YET_VALID' }"),
    p("nodejs", &["does not match certificate's altnames: ip:"], C::IpNotInSan, Local, Any,
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 192.168.1.10 is not in the cert's list: "),
    p("nodejs", &["err_tls_cert_altname_invalid"], C::HostnameMismatch, Local, Any,
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:broker.example.com"),
    p("nodejs", &["does not match certificate's altnames"], C::HostnameMismatch, Local, Any,
        "Hostname/IP does not match certificate's altnames: Host: broker.local. is not cert's CN: broker"),
    p("nodejs", &["econnrefused"], C::ConnectionRefused, Nobody, Any,
        "Error: connect ECONNREFUSED 127.0.0.1:8883"),
    p("nodejs", &["etimedout"], C::ConnectTimeout, Nobody, Any,
        "Error: connect ETIMEDOUT 10.0.0.1:8883"),
    p("nodejs", &["enotfound"], C::DnsFailure, Nobody, Any,
        "Error: getaddrinfo ENOTFOUND broker.example.invalid"),
    p("nodejs", &["connection refused: not authorized"], C::MqttNotAuthorized, Peer, Any,
        "Error: Connection refused: Not authorized"),
    p("nodejs", &["connection refused: bad username or password"], C::MqttBadCredentials, Peer, Any,
        "Error: Connection refused: Bad username or password"),
    // --- .NET (SslPolicyErrors, X509ChainStatusFlags, MQTTnet) ---
    p("dotnet", &["remotecertificatenamemismatch"], C::HostnameMismatch, Local, Any,
        "The remote certificate is invalid according to the validation procedure: RemoteCertificateNameMismatch"),
    p("dotnet", &["partialchain"], C::MissingIntermediate, Local, Any,
        "The remote certificate is invalid because of errors in the certificate chain: PartialChain"),
    p("dotnet", &["notsignaturevalid"], C::UnknownCa, Local, Any,
        "The remote certificate is invalid because of errors in the certificate chain: NotSignatureValid"),
    p("dotnet", &["untrustedroot"], C::UnknownCa, Local, Any,
        "The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot"),
    p("dotnet", &["notvalidforusage"], C::ServerEkuMissing, Local, Any,
        "The remote certificate is invalid because of errors in the certificate chain: NotValidForUsage"),
    p("dotnet", &["nottimevalid"], C::ServerCertExpired, Local, Any,
        "The remote certificate is invalid because of errors in the certificate chain: NotTimeValid"),
    p("dotnet", &["remotecertificatenotavailable"], C::ClientCertRequired, Local, Any,
        "The remote certificate is invalid according to the validation procedure: RemoteCertificateNotAvailable"),
    p("dotnet", &["do not possess a common algorithm"], C::TlsVersionMismatch, Local, Any,
        "System.ComponentModel.Win32Exception: The client and server cannot communicate, because they do not possess a common algorithm."),
    p("dotnet", &["target machine actively refused it"], C::ConnectionRefused, Nobody, Any,
        "System.Net.Sockets.SocketException: No connection could be made because the target machine actively refused it. 127.0.0.1:8883"),
    p("dotnet", &["badusernameorpassword"], C::MqttBadCredentials, Peer, Any,
        "MQTTnet.Adapter.MqttConnectingFailedException: Connecting with MQTT server failed (BadUserNameOrPassword)."),
    p("dotnet", &["remotecertificatechainerrors"], C::UnknownCa, Local, ClientFallback,
        "The remote certificate is invalid according to the validation procedure: RemoteCertificateChainErrors"),
    p("dotnet", &["rejected by the provided remotecertificatevalidationcallback"], C::UnknownCa, Local, ClientFallback,
        "System.Security.Authentication.AuthenticationException: The remote certificate was rejected by the provided RemoteCertificateValidationCallback."),
    p("dotnet", &["the remote certificate is invalid"], C::UnknownCa, Local, ClientFallback,
        "System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure."),
    // --- mbedTLS / ESP-IDF (verify info strings, error codes) ---
    p("mbedtls", &["common name (cn) does not match"], C::HostnameMismatch, Local, Any,
        "! The certificate Common Name (CN) does not match with the expected CN"),
    p("mbedtls", &["validity starts in the future"], C::ServerCertNotYetValid, Local, Any,
        "! The certificate validity starts in the future"),
    p("mbedtls", &["the certificate validity has expired"], C::ServerCertExpired, Local, Any,
        "! The certificate validity has expired"),
    p("mbedtls", &["not correctly signed by the trusted ca"], C::UnknownCa, Local, Any,
        "! The certificate is not correctly signed by the trusted CA"),
    p("mbedtls", &["signed with an unacceptable hash"], C::WeakSignature, Local, Any,
        "! The certificate is signed with an unacceptable hash."),
    p("mbedtls", &["signed with an unacceptable key"], C::WeakKey, Local, Any,
        "! The certificate is signed with an unacceptable key (eg bad curve, RSA too short)."),
    p("mbedtls", &["does not match the extendedkeyusage"], C::ServerEkuMissing, Local, Any,
        "! Usage does not match the extendedKeyUsage extension"),
    p("mbedtls", &["mbedtls_err_ssl_fatal_alert_message"], C::ClientCertRequired, Peer, Any,
        "E (5320) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x7780 (MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)"),
    p("mbedtls", &["mbedtls_ssl_handshake returned -0x7780"], C::ClientCertRequired, Peer, Any,
        "E (5320) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x7780"),
    p("mbedtls", &["mbedtls_err_pk_password_required"], C::ClientKeyEncrypted, Local, Any,
        "mbedtls_pk_parse_key returned -0x3C80 (MBEDTLS_ERR_PK_PASSWORD_REQUIRED)"),
    p("mbedtls", &["mbedtls_err_ssl_invalid_record"], C::NotTls, Local, Any,
        "mbedtls_ssl_handshake returned -0x7200 (MBEDTLS_ERR_SSL_INVALID_RECORD)"),
    p("mbedtls", &["mbedtls_err_net_connect_failed"], C::ConnectionRefused, Nobody, Any,
        "mbedtls_net_connect returned -0x0044 (MBEDTLS_ERR_NET_CONNECT_FAILED)"),
    p("mbedtls", &["mbedtls_err_x509_cert_verify_failed"], C::UnknownCa, Local, ClientFallback,
        "E (5310) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700 (MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)"),
    p("mbedtls", &["mbedtls_ssl_handshake returned -0x2700"], C::UnknownCa, Local, ClientFallback,
        "E (4523) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700"),
    p("mbedtls", &["failed to verify peer certificate"], C::UnknownCa, Local, ClientFallback,
        "E (4534) esp-tls-mbedtls: Failed to verify peer certificate!"),
    // --- wolfSSL (wolfSSL_ERR_reason_error_string texts and codes) ---
    p("wolfssl", &["asn no signer error to confirm failure"], C::UnknownCa, Local, Any,
        "wolfSSL_connect error -188, ASN no signer error to confirm failure"),
    p("wolfssl", &["wolfssl", "-188"], C::UnknownCa, Local, Any,
        "wolfSSL_connect failed: -188"),
    p("wolfssl", &["peer subject name mismatch"], C::HostnameMismatch, Local, Any,
        "wolfSSL error -322: peer subject name mismatch"),
    p("wolfssl", &["domain_name_mismatch"], C::HostnameMismatch, Local, Any,
        "wolfSSL_connect returned DOMAIN_NAME_MISMATCH (-322)"),
    p("wolfssl", &["peer ip address mismatch"], C::IpNotInSan, Local, Any,
        "wolfSSL error -323: peer ip address mismatch"),
    p("wolfssl", &["asn date error, current date after"], C::ServerCertExpired, Local, Any,
        "wolfSSL_connect error -151, ASN date error, current date after"),
    p("wolfssl", &["asn date error, current date before"], C::ServerCertNotYetValid, Local, Any,
        "wolfSSL_connect error -150, ASN date error, current date before"),
    p("wolfssl", &["asn_after_date_e"], C::ServerCertExpired, Local, Any,
        "wolfSSL: ASN_AFTER_DATE_E (-151)"),
    p("wolfssl", &["asn_before_date_e"], C::ServerCertNotYetValid, Local, Any,
        "wolfSSL: ASN_BEFORE_DATE_E (-150)"),
    p("wolfssl", &["can't match cipher suite"], C::NoSharedCipher, Local, Any,
        "wolfSSL_accept error -501, can't match cipher suite"),
    p("wolfssl", &["record layer version error"], C::TlsVersionMismatch, Local, Any,
        "wolfSSL_connect error -326, record layer version error"),
    p("wolfssl", &["peer didn't send cert"], C::ClientCertRequired, Local, Any,
        "wolfSSL_accept error -330, peer didn't send cert"),
    p("wolfssl", &["received alert fatal error"], C::ClientCertRejected, Peer, Any,
        "wolfSSL_connect error -313, received alert fatal error"),
    // --- OpenSSL 1.0.2 / 1.1.1 / 3.x: verify strings (X509_verify_cert_error_string) ---
    p("openssl", &["signed certificate in certificate chain"], C::UnknownCa, Local, Client,
        "verify error:num=19:self-signed certificate in certificate chain"),
    p("openssl", &["unable to get local issuer certificate"], C::UnknownCa, Local, Client,
        "verify error:num=20:unable to get local issuer certificate"),
    p("openssl", &["unable to get local issuer certificate"], C::MissingIntermediate, Local, Client,
        "verify error:num=20:unable to get local issuer certificate"),
    p("openssl", &["unable to get local issuer certificate"], C::ServerCertAsCa, Local, Client,
        "verify error:num=20:unable to get local issuer certificate"),
    p("openssl", &["unable to verify the first certificate"], C::MissingIntermediate, Local, Client,
        "verify error:num=21:unable to verify the first certificate"),
    p("openssl", &["unable to verify the first certificate"], C::UnknownCa, Local, Client,
        "verify error:num=21:unable to verify the first certificate"),
    p("openssl", &["unable to get issuer certificate"], C::IntermediateAsAnchor, Local, Client,
        "verify error:num=2:unable to get issuer certificate"),
    p("openssl", &["self-signed certificate"], C::SelfSignedServerCert, Local, Client,
        "verify error:num=18:self-signed certificate"),
    p("openssl", &["self signed certificate"], C::SelfSignedServerCert, Local, Client,
        "verify error:num=18:self signed certificate"),
    p("openssl", &["certificate has expired"], C::ServerCertExpired, Local, Client,
        "verify error:num=10:certificate has expired"),
    p("openssl", &["certificate is not yet valid"], C::ServerCertNotYetValid, Local, Client,
        "verify error:num=9:certificate is not yet valid"),
    p("openssl", &["hostname mismatch"], C::HostnameMismatch, Local, Client,
        "verify error:num=62:hostname mismatch"),
    p("openssl", &["ip address mismatch"], C::IpNotInSan, Local, Client,
        "verify error:num=64:IP address mismatch"),
    p("openssl", &["invalid ca certificate"], C::IssuerNotCa, Local, Client,
        "verify error:num=79:invalid CA certificate"),
    p("openssl", &["certificate purpose"], C::ServerEkuMissing, Local, Client,
        "verify error:num=26:unsuitable certificate purpose"),
    p("openssl", &["ca signature digest algorithm too weak"], C::WeakSignature, Local, Any,
        "verify error:num=68:CA signature digest algorithm too weak"),
    p("openssl", &["ee certificate key too weak"], C::WeakKey, Local, Any,
        "verify error:num=66:EE certificate key too weak"),
    p("openssl", &["permitted subtree violation"], C::NameConstraintViolation, Local, Client,
        "error 47 at 0 depth lookup: permitted subtree violation"),
    p("openssl", &["excluded subtree violation"], C::NameConstraintViolation, Local, Client,
        "verify error:num=48:excluded subtree violation"),
    p("openssl", &["unsupported name constraint type"], C::NameConstraintViolation, Local, Client,
        "verify error:num=51:unsupported name constraint type"),
    p("openssl", &["unsupported or invalid name syntax"], C::NameConstraintViolation, Local, Client,
        "verify error:num=53:unsupported or invalid name syntax"),
    p("openssl", &["unsupported or invalid name constraint syntax"], C::NameConstraintViolation, Local, Client,
        "verify error:num=52:unsupported or invalid name constraint syntax"),
    p("openssl", &["path length constraint exceeded"], C::PathLengthExceeded, Local, Client,
        "error 25 at 2 depth lookup: path length constraint exceeded"),
    p("openssl", &["certificate chain too long"], C::ChainTooLong, Local, Client,
        "verify error:num=22:certificate chain too long"),
    p("openssl", &["unhandled critical extension"], C::UnknownCriticalExtension, Local, Client,
        "error 34 at 0 depth lookup: unhandled critical extension"),
    p("openssl", &["certificate signature failure"], C::BadSignature, Local, Client,
        "error 7 at 0 depth lookup: certificate signature failure"),
    p("openssl", &["unable to decrypt certificate's signature"], C::BadSignature, Local, Client,
        "verify error:num=4:unable to decrypt certificate's signature"),
    p("openssl", &["unable to decode issuer public key"], C::BadSignature, Local, Client,
        "verify error:num=6:unable to decode issuer public key"),
    p("openssl", &["explicit ecc parameters"], C::MalformedCertificate, Local, Client,
        "error 94 at 0 depth lookup: Certificate public key has explicit ECC parameters"),
    // --- OpenSSL reason strings (ERR_reason_error_string) ---
    p("openssl", &["ca md too weak"], C::WeakSignature, Local, Any,
        "OpenSSL Error[0]: error:0A00018E:SSL routines::ca md too weak"),
    p("openssl", &["ee key too small"], C::WeakKey, Local, Any,
        "error:140AB18F:SSL routines:SSL_CTX_use_certificate:ee key too small"),
    p("openssl", &["peer did not return a certificate"], C::ClientCertRequired, Local, Any,
        "OpenSSL Error[0]: error:0A0000C7:SSL routines::peer did not return a certificate"),
    p("openssl", &["no shared cipher"], C::NoSharedCipher, Local, Any,
        "OpenSSL Error[0]: error:0A0000C1:SSL routines::no shared cipher"),
    p("openssl", &["legacy sigalg disallowed"], C::LegacyTlsOnly, Local, Any,
        "error:0A00014D:SSL routines:tls_process_key_exchange:legacy sigalg disallowed or unsupported"),
    p("openssl", &["no suitable signature algorithm"], C::LegacyTlsOnly, Local, Any,
        "OpenSSL Error[0]: error:0A000076:SSL routines::no suitable signature algorithm"),
    // A PSK-only listener has no certificate to sign with: a TLS 1.3 client without a PSK (or
    // with an identity the broker does not know) leaves it nothing to authenticate with.
    pm("openssl", &["no suitable signature algorithm"], C::PskRequired, Local, Broker,
        "On a PSK-only listener (mosquitto psk_hint without certfile): a TLS 1.3 client offered no pre-shared key the broker knows, and the broker has no certificate to fall back on.",
        "OpenSSL Error[0]: error:0A000076:SSL routines::no suitable signature algorithm"),
    // --- TLS-PSK, captured from mosquitto 2.0.11 (OpenSSL 3.0) and its clients ---
    pm("openssl", &["psk identity not found"], C::PskIdentityUnknown, Local, Broker,
        "The broker has no key for the PSK identity the client sent (no line for it in mosquitto's psk_file); TLS 1.2 clients see alert 115 unknown_psk_identity.",
        "1796578374: OpenSSL Error[0]: error:0A0000DF:SSL routines::psk identity not found\n1796578374: Client connection from 127.0.0.1 failed: error:0A0000DF:SSL routines::psk identity not found."),
    pm("openssl", &["binder does not verify"], C::PskKeyMismatch, Local, Broker,
        "TLS 1.3: the broker knows the PSK identity but the client's key differs (the ClientHello's PSK binder does not verify); OpenSSL answers with alert 47 illegal_parameter.",
        "1796578373: Client connection from 127.0.0.1 failed: error:0A0000FD:SSL routines::binder does not verify."),
    pm("openssl", &["alert unknown psk identity"], C::PskIdentityUnknown, Peer, Any,
        "The broker does not know the PSK identity this client sent (TLS 1.2 alert 115).",
        "OpenSSL Error[0]: error:0A00045B:SSL routines::tlsv1 alert unknown psk identity"),
    pm("openssl", &["alert bad record mac"], C::PskKeyMismatch, Peer, Client,
        "With a pre-shared key under TLS 1.2, the broker could not decrypt this client's Finished: the broker holds another key for the identity (alert 20).",
        "OpenSSL Error[0]: error:0A0003FC:SSL routines::sslv3 alert bad record mac\nError: A TLS error occurred."),
    pm("openssl", &["alert illegal parameter"], C::PskKeyMismatch, Peer, Client,
        "With a pre-shared key under TLS 1.3, an OpenSSL broker answers a binder it cannot verify (a wrong key) with alert 47 illegal_parameter; without a PSK it is a malformed handshake message.",
        "Client (null) sending CONNECT\nOpenSSL Error[0]: error:0A000417:SSL routines::sslv3 alert illegal parameter\nError: A TLS error occurred."),
    pm("mqtls", &["rustls implements no external pre-shared keys"], C::NotSupportedByStack, Nobody, Any,
        "rustls has no TLS-PSK: mqtls made no connection with it; probe with OpenSSL.",
        "not supported by this stack: rustls implements no external pre-shared keys (TLS-PSK)"),
    p("openssl", &["no protocols available"], C::TlsVersionMismatch, Local, Any,
        "error:141E70BF:SSL routines:tls_construct_client_hello:no protocols available"),
    p("openssl", &["unsupported protocol"], C::TlsVersionMismatch, Local, Any,
        "OpenSSL Error[0]: error:0A000102:SSL routines::unsupported protocol"),
    p("openssl", &["wrong version number"], C::NotTls, Local, Any,
        "error:0A00010B:SSL routines:ssl3_get_record:wrong version number"),
    p("openssl", &["unknown protocol"], C::NotTls, Local, Any,
        "error:140760FC:SSL routines:SSL23_GET_CLIENT_HELLO:unknown protocol"),
    p("openssl", &["packet length too long"], C::NotTls, Local, Any,
        "error:0A0000C6:SSL routines:tls_get_more_records:packet length too long"),
    p("openssl", &["key values mismatch"], C::ClientKeyMismatch, Local, Any,
        "error:05800074:x509 certificate routines:X509_check_private_key:key values mismatch"),
    p("openssl", &["bad password read"], C::ClientKeyEncrypted, Local, Any,
        "OpenSSL Error[0]: error:04800068:PEM routines::bad password read"),
    p("openssl", &["problems getting password"], C::ClientKeyEncrypted, Local, Any,
        "error:0480006D:PEM routines::problems getting password"),
    p("openssl", &["no certificate or crl found"], C::CaFileUnusable, Local, Any,
        "OpenSSL Error[0]: error:05800088:x509 certificate routines::no certificate or crl found"),
    p("openssl", &["no start line"], C::CaFileUnusable, Local, Any,
        "error:0909006C:PEM routines:get_name:no start line"),
    p("openssl", &["connect:errno=111"], C::ConnectionRefused, Nobody, Any,
        "40C7B1F5D67F0000:error:8000006F:system library:BIO_connect:Connection refused:../crypto/bio/bio_sock2.c:114:calling connect()\nconnect:errno=111"),
    pm("openssl", &["unexpected eof while reading"], C::PlaintextPort, Nobody, Client,
        "The broker closed the connection during the handshake without an alert: most often a port that does not speak TLS read the ClientHello as a bad packet (captured with mosquitto_pub -d against a plain listener).",
        "Client (null) sending CONNECT\nOpenSSL Error[0]: error:0A000126:SSL routines::unexpected eof while reading\nError: A TLS error occurred."),
    p("openssl", &["unexpected eof while reading"], C::PeerClosed, Nobody, Any,
        "OpenSSL Error[0]: error:0A000126:SSL routines::unexpected eof while reading"),
    // --- OpenSSL alert texts: the same words mean opposite things in a client and a broker ---
    p("openssl", &["alert unknown ca"], C::ClientCertUnknownCa, Peer, Client,
        "error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1605:SSL alert number 48"),
    p("openssl", &["alert unknown ca"], C::UnknownCa, Peer, Broker,
        "1732600000: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n1732600000: Client <unknown> disconnected: Protocol error."),
    // The client could not build a path to its CA file: no such root, a leaf sent without its
    // intermediate, or a CA file holding the broker's own certificate (seen against mosquitto).
    p("openssl", &["alert unknown ca"], C::MissingIntermediate, Peer, Broker,
        "1732600000: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n1732600000: Client <unknown> disconnected: Protocol error."),
    p("openssl", &["alert unknown ca"], C::ServerCertAsCa, Peer, Broker,
        "1732600000: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n1732600000: Client <unknown> disconnected: Protocol error."),
    p("openssl", &["alert bad certificate"], C::ClientCertRejected, Peer, Client,
        "Unable to connect: error:14094412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate"),
    p("openssl", &["alert bad certificate"], C::HostnameMismatch, Peer, Broker,
        "OpenSSL Error[0]: error:0A000412:SSL routines::sslv3 alert bad certificate"),
    p("openssl", &["alert certificate expired"], C::ClientCertExpired, Peer, Client,
        "error:0A000415:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired:../ssl/record/rec_layer_s3.c:1605:SSL alert number 45\nverify return code: 0 (ok)"),
    p("openssl", &["alert certificate expired"], C::ServerCertExpired, Peer, Broker,
        "OpenSSL Error[0]: error:0A000415:SSL routines::sslv3 alert certificate expired"),
    p("openssl", &["alert certificate revoked"], C::ClientCertRevoked, Peer, Any,
        "error:0A000414:SSL routines:ssl3_read_bytes:sslv3 alert certificate revoked:../ssl/record/rec_layer_s3.c:1605:SSL alert number 44"),
    p("openssl", &["alert certificate unknown"], C::ClientCertRejected, Peer, Client,
        "Unable to connect: error:0A000416:SSL routines:ssl3_read_bytes:sslv3 alert certificate unknown"),
    p("openssl", &["alert certificate unknown"], C::X509V1Cert, Peer, Broker,
        "OpenSSL Error[0]: error:0A000416:SSL routines::sslv3 alert certificate unknown"),
    p("openssl", &["alert certificate unknown"], C::CaCertAsServerCert, Peer, Broker,
        "OpenSSL Error[0]: error:0A000416:SSL routines::sslv3 alert certificate unknown"),
    p("openssl", &["alert unsupported certificate"], C::ClientCertRejected, Peer, Client,
        "OpenSSL Error: error:14094413:SSL routines:ssl3_read_bytes:sslv3 alert unsupported certificate\nError: A TLS error occurred."),
    p("openssl", &["alert unsupported certificate"], C::ServerEkuMissing, Peer, Broker,
        "OpenSSL Error[0]: error:0A000413:SSL routines::sslv3 alert unsupported certificate"),
    p("openssl", &["alert handshake failure"], C::ClientCertRequired, Peer, Client,
        "error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1605:SSL alert number 40"),
    p("openssl", &["alert handshake failure"], C::NoSharedCipher, Peer, Client,
        "error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1605:SSL alert number 40"),
    p("openssl", &["alert handshake failure"], C::HostnameMismatch, Peer, Broker,
        "OpenSSL Error[0]: error:0A000410:SSL routines::sslv3 alert handshake failure"),
    p("openssl", &["alert protocol version"], C::TlsVersionMismatch, Peer, Any,
        "error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1605:SSL alert number 70"),
    p("openssl", &["alert decrypt error"], C::ClientKeyMismatch, Peer, Client,
        "error:0A00041B:SSL routines:ssl3_read_bytes:tlsv1 alert decrypt error:../ssl/record/rec_layer_s3.c:1605:SSL alert number 51"),
    p("openssl", &["alert decrypt error"], C::WeakSignature, Peer, Broker,
        "OpenSSL Error[0]: error:0A00041B:SSL routines::tlsv1 alert decrypt error"),
    p("openssl", &["alert decrypt error"], C::WeakKey, Peer, Broker,
        "OpenSSL Error[0]: error:0A00041B:SSL routines::tlsv1 alert decrypt error"),
    p("openssl", &["alert internal error"], C::LegacyTlsOnly, Peer, Client,
        "error:0A000438:SSL routines:ssl3_read_bytes:tlsv1 alert internal error:../ssl/record/rec_layer_s3.c:1605:SSL alert number 80"),
    p("openssl", &["alert internal error"], C::HostnameMismatch, Peer, Broker,
        "OpenSSL Error[0]: error:0A000438:SSL routines::tlsv1 alert internal error"),
    p("openssl", &["alert certificate required"], C::ClientCertRequired, Peer, Any,
        "error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:1605:SSL alert number 116"),
    p("openssl", &["alert no application protocol"], C::AlpnRejected, Peer, Any,
        "error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol:../ssl/record/rec_layer_s3.c:1605:SSL alert number 120"),
    p("openssl", &["alert insufficient security"], C::NoSharedCipher, Peer, Any,
        "error:0A000417:SSL routines:ssl3_read_bytes:tlsv1 alert insufficient security:SSL alert number 71"),
    p("openssl", &["unrecognized name"], C::SniRequired, Peer, Any,
        "error:0A000458:SSL routines:ssl3_read_bytes:tlsv1 unrecognized name:SSL alert number 112"),
    // --- OpenSSL 1.0.x: the peer abandoned the handshake (the 2015 note's broker log) ---
    pm("openssl", &["ssl handshake failure"], C::PeerClosed, Nobody, Any,
        "The peer abandoned the handshake: it closed the connection without an alert, so this side's log cannot say why. Read the peer's own error (the client's output when a broker printed this): it crashed, timed out or refused the chain without alerting.",
        "OpenSSL Error: error:140780E5:SSL routines:SSL23_READ:ssl handshake failure\nSocket error on client <unknown>, disconnecting."),
    // --- BoringSSL (upper-case reasons, `OPENSSL_internal`) ---
    p("boringssl", &["openssl_internal", "wrong_version_number"], C::NotTls, Local, Any,
        "error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER"),
    p("boringssl", &["openssl_internal", "certificate_verify_failed"], C::UnknownCa, Local, Client,
        "error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED"),
    p("boringssl", &["openssl_internal", "sslv3_alert_bad_certificate"], C::ClientCertRejected, Peer, Client,
        "error:10000412:SSL routines:OPENSSL_internal:SSLV3_ALERT_BAD_CERTIFICATE"),
    p("boringssl", &["openssl_internal", "peer_did_not_return_a_certificate"], C::ClientCertRequired, Local, Any,
        "error:100000c7:SSL routines:OPENSSL_internal:PEER_DID_NOT_RETURN_A_CERTIFICATE"),
    p("boringssl", &["openssl_internal", "no_shared_cipher"], C::NoSharedCipher, Local, Any,
        "error:100000b8:SSL routines:OPENSSL_internal:NO_SHARED_CIPHER"),
    // --- mosquitto_pub/_sub without -d: the OpenSSL reason is hidden ---
    pm("mosquitto", &["a tls error occurred"], C::UnknownCa, Local, ClientSummary,
        "mosquitto_pub hides the TLS reason: most often its CA file does not verify the broker's chain. Run it again with -d to print the OpenSSL error, or probe with mqtls diagnose.",
        "Error: A TLS error occurred."),
    pm("mosquitto", &["a tls error occurred"], C::HostnameMismatch, Local, ClientSummary,
        "mosquitto_pub hides the TLS reason: the broker certificate may not name the host given to -h. Run it again with -d, or probe with mqtls diagnose.",
        "Error: A TLS error occurred."),
    pm("mosquitto", &["a tls error occurred"], C::ServerCertExpired, Local, ClientSummary,
        "mosquitto_pub hides the TLS reason: the broker certificate may have expired. Run it again with -d, or probe with mqtls diagnose.",
        "Error: A TLS error occurred."),
    pm("mosquitto", &["a tls error occurred"], C::MissingIntermediate, Local, ClientSummary,
        "mosquitto_pub hides the TLS reason: the broker may send its certificate without the intermediate. Run it again with -d, or probe with mqtls diagnose.",
        "Error: A TLS error occurred."),
    pm("mosquitto", &["a tls error occurred"], C::ServerCertAsCa, Local, ClientSummary,
        "mosquitto_pub hides the TLS reason: --cafile may hold the broker's own certificate rather than its CA. Run it again with -d, or probe with mqtls diagnose.",
        "Error: A TLS error occurred."),
    pm("mosquitto", &["a tls error occurred"], C::PlaintextPort, Nobody, ClientSummary,
        "mosquitto_pub hides the TLS reason: the port may speak plain MQTT (1883), which closes on the ClientHello. Run it again with -d, or probe with mqtls diagnose.",
        "Error: A TLS error occurred."),
    pm("mosquitto", &["the connection was lost"], C::ClientCertRequired, Peer, ClientSummary,
        "The broker closed the connection after the TLS 1.3 handshake: most often it required a client certificate and got none (-d shows the alert).",
        "Error: The connection was lost."),
    pm("mosquitto", &["the connection was lost"], C::ClientCertUnknownCa, Peer, ClientSummary,
        "The broker closed the connection after the TLS 1.3 handshake: it may have refused the client certificate (-d shows the alert).",
        "Error: The connection was lost."),
    pm("mosquitto", &["the connection was lost"], C::MqttNoConnack, Peer, ClientSummary,
        "The broker closed the connection before answering the CONNECT (its log says why: ACL, client id, protocol).",
        "Error: The connection was lost."),
    pm("mosquitto", &["error: protocol error"], C::ClientCertUnknownCa, Peer, ClientSummary,
        "mosquitto_pub read the broker's alert as a protocol error: with --cert, most often the broker does not trust the client certificate's issuer (-d shows the alert).",
        "Error: Protocol error"),
    pm("mosquitto", &["error: protocol error"], C::ClientCertRequired, Peer, ClientSummary,
        "mosquitto_pub read the broker's alert as a protocol error: without --cert, the broker most likely requires a client certificate (-d shows the alert).",
        "Error: Protocol error"),
    pm("mosquitto", &["error: protocol error"], C::ClientCertRejected, Peer, ClientSummary,
        "mosquitto_pub read the broker's alert as a protocol error: the broker refused the client certificate (expired, revoked, wrong EKU; -d shows the alert).",
        "Error: Protocol error"),
    pm("mosquitto", &["socket error on client"], C::PeerClosed, Nobody, BrokerFallback,
        "The client dropped the connection; the broker's log has no reason. Read the client's own error.",
        "1732600000: Socket error on client <unknown>, disconnecting."),
    // --- Node.js sockets, MQTT.js / mqtt-packet ---
    pm("nodejs", &["socket disconnected before secure tls connection"], C::PlaintextPort, Nobody, Client,
        "The broker closed the TCP connection before the TLS handshake finished, without an alert: most often the port speaks plain MQTT.",
        "Error: Client network socket disconnected before secure TLS connection was established { code: 'ECONNRESET' }"),
    pm("nodejs", &["socket disconnected before secure tls connection"], C::PeerClosed, Nobody, Client,
        "The broker closed the TCP connection before the TLS handshake finished, without an alert: its own log holds the reason.",
        "Error: Client network socket disconnected before secure TLS connection was established { code: 'ECONNRESET' }"),
    pm("nodejs", &["socket disconnected before secure tls connection"], C::ClientCertRequired, Peer, Client,
        "Some brokers close instead of alerting when no client certificate comes.",
        "Error: Client network socket disconnected before secure TLS connection was established { code: 'ECONNRESET' }"),
    // mqtt.js's connectTimeout spans TCP, TLS and the CONNACK (captured against a server that
    // accepts and never answers).
    pm("nodejs", &["connack timeout"], C::HandshakeTimeout, Nobody, Client,
        "mqtt.js gave up waiting (connectTimeout, 30 s by default): the TLS handshake or the CONNACK never came. A port that accepts TCP and never answers TLS (a proxy, a firewall, an overloaded broker) times out here.",
        "Error: connack timeout\n    at MqttClient._onConnackTimeout (/usr/lib/node_modules/mqtt/build/lib/client.js:447:28)"),
    pm("nodejs", &["connack timeout"], C::MqttNoConnack, Peer, Client,
        "mqtt.js gave up waiting for the CONNACK: TLS may have worked and the broker never answered the CONNECT.",
        "Error: connack timeout\n    at MqttClient._onConnackTimeout (/usr/lib/node_modules/mqtt/build/lib/client.js:447:28)"),
    p("nodejs", &["read econnreset"], C::PlaintextPort, Nobody, Client,
        "Error: read ECONNRESET"),
    pm("nodejs", &["invalid header flag bits"], C::PlaintextPort, Local, Any,
        "An MQTT parser read TLS bytes: a TLS client on a plain MQTT port (the ClientHello's first byte 0x16 reads as a CONNECT with flags 6). Point the client at the TLS port, or give this listener TLS.",
        "Error: Invalid header flag bits, must be 0x0 for connect packet"),
    // --- Erlang brokers' own verify wording (EMQX): the broker checking a client certificate ---
    pm("erlang", &["tls verify failed", "unable to verify the first certificate"], C::ClientCertUnknownCa, Local, Any,
        "The broker could not verify the client's certificate: the client sent its leaf without the intermediate, or the broker's CA file lacks it.",
        "2026-11-25T10:00:00.000000+00:00 [error] supervisor: 'esockd_connection_sup', reason: {ssl_error,{tls_alert,{unknown_ca,\"TLS verify failed: unable to verify the first certificate\"}}}"),
    // --- MQTT over WebSockets: the HTTP upgrade (ws/wss URLs) ---
    // Node.js `ws` (MQTT.js, MQTTX, Node-RED) reports the status of a refused upgrade.
    p("nodejs", &["unexpected server response: 404"], C::WebsocketPathNotFound, Peer, Client,
        "Error: Unexpected server response: 404"),
    p("nodejs", &["unexpected server response: 200"], C::PlainHttpPort, Peer, Client,
        "Error: Unexpected server response: 200"),
    p("nodejs", &["unexpected server response"], C::WebsocketUpgradeRefused, Peer, Client,
        "Error: Unexpected server response: 403"),
    p("nodejs", &["server sent no subprotocol"], C::WebsocketSubprotocolRefused, Peer, Client,
        "Error: Server sent no subprotocol"),
    p("nodejs", &["server sent an invalid subprotocol"], C::WebsocketSubprotocolRefused, Peer, Client,
        "Error: Server sent an invalid subprotocol"),
    p("nodejs", &["invalid sec-websocket-accept header"], C::WebsocketUpgradeRefused, Peer, Client,
        "Error: Invalid Sec-WebSocket-Accept header"),
    // Browsers (Chromium's console wording).
    p("browser", &["error during websocket handshake", "unexpected response code: 404"], C::WebsocketPathNotFound, Peer, Client,
        "WebSocket connection to 'wss://broker.example.com:8084/mqtt' failed: Error during WebSocket handshake: Unexpected response code: 404"),
    p("browser", &["error during websocket handshake", "unexpected response code: 200"], C::PlainHttpPort, Peer, Client,
        "WebSocket connection to 'wss://broker.example.com/mqtt' failed: Error during WebSocket handshake: Unexpected response code: 200"),
    p("browser", &["sent non-empty 'sec-websocket-protocol' header but no response was received"], C::WebsocketSubprotocolRefused, Peer, Client,
        "WebSocket connection to 'wss://broker.example.com:8084/mqtt' failed: Error during WebSocket handshake: Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received"),
    p("browser", &["error during websocket handshake", "unexpected response code"], C::WebsocketUpgradeRefused, Peer, Client,
        "WebSocket connection to 'wss://broker.example.com/mqtt' failed: Error during WebSocket handshake: Unexpected response code: 403"),
    // paho-mqtt (Python) with transport="websockets"; Go's gorilla/websocket (paho.mqtt.golang).
    p("python", &["websocket handshake error, connection not upgraded"], C::WebsocketUpgradeRefused, Peer, Client,
        "paho.mqtt.client.WebsocketConnectionError: WebSocket handshake error, connection not upgraded"),
    p("go", &["websocket: bad handshake"], C::WebsocketUpgradeRefused, Peer, Client,
        "websocket: bad handshake"),
    // mqtls's own words for what the upgrade got.
    p("mqtls", &["the websocket upgrade was answered with http 404"], C::WebsocketPathNotFound, Peer, Client,
        "the WebSocket upgrade was answered with HTTP 404"),
    p("mqtls", &["the websocket upgrade was answered with http 200"], C::PlainHttpPort, Peer, Client,
        "the WebSocket upgrade was answered with HTTP 200"),
    p("mqtls", &["the websocket upgrade was answered with http"], C::WebsocketUpgradeRefused, Peer, Client,
        "the WebSocket upgrade was answered with HTTP 403"),
    p("mqtls", &["101 switching protocols", "subprotocol"], C::WebsocketSubprotocolRefused, Peer, Client,
        "101 Switching Protocols without a Sec-WebSocket-Protocol: the broker selected no subprotocol"),
    pm("mqtls", &["without answering the websocket upgrade"], C::MqttPortWebsocketClient, Nobody, Client,
        "The port closed on the HTTP upgrade without a word: MQTT brokers do that to a WebSocket client on their MQTT port (a broker refusing the subprotocol can too; `mqtls diagnose` tells them apart with follow-ups).",
        "the peer closed the connection without answering the WebSocket upgrade"),
    // --- generic words, counted only when nothing specific matched ---
    p("openssl", &["certificate verify failed"], C::UnknownCa, Local, ClientFallback,
        "Unable to connect: error:0A000086:SSL routines::certificate verify failed"),
    p("openssl", &["certificate verify failed"], C::MissingIntermediate, Local, ClientFallback,
        "Unable to connect: error:0A000086:SSL routines::certificate verify failed"),
    p("openssl", &["certificate verify failed"], C::ServerCertAsCa, Local, ClientFallback,
        "Unable to connect: error:0A000086:SSL routines::certificate verify failed"),
    // Without the verify result (mosquitto_pub -d prints only the reason), a wrong name or
    // dates fail the same way.
    p("openssl", &["certificate verify failed"], C::HostnameMismatch, Local, ClientFallback,
        "Unable to connect: error:0A000086:SSL routines::certificate verify failed"),
    p("openssl", &["certificate verify failed"], C::ServerCertExpired, Local, ClientFallback,
        "Unable to connect: error:0A000086:SSL routines::certificate verify failed"),
    p("openssl", &["certificate verify failed"], C::ClientCertUnknownCa, Local, BrokerFallback,
        "1732600000: OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed\n1732600000: Client <unknown> disconnected: Protocol error."),
    p("any", &["connection refused"], C::ConnectionRefused, Nobody, Fallback,
        "Error: Connection refused"),
    p("any", &["connection reset by peer"], C::PlaintextPort, Nobody, Fallback,
        "Connection reset by peer (os error 104)"),
    p("any", &["timed out"], C::ConnectTimeout, Nobody, Fallback,
        "Connection timed out (os error 110)"),
];

/// A reading found by an extractor (numbers and alert names rather than words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The stack whose format was recognised.
    pub stack: &'static str,
    /// The code.
    pub code: C,
    /// Who refused whom.
    pub side: S,
    /// Which printer the reading assumes.
    pub reading: Reading,
    /// The text the extractor read.
    pub fragment: String,
}

/// TLS alerts (RFC 8446 §6): number, name as rustls/JSSE spell it (lower case, no
/// underscores), the reading when a client received it, and when a broker received it.
#[rustfmt::skip]
const ALERTS: &[(u32, &str, &[C], &[C])] = &[
    (40, "handshakefailure", &[C::ClientCertRequired, C::NoSharedCipher], &[C::HostnameMismatch]),
    (42, "badcertificate", &[C::ClientCertRejected], &[C::HostnameMismatch]),
    (43, "unsupportedcertificate", &[C::ClientCertRejected], &[C::ServerEkuMissing]),
    (44, "certificaterevoked", &[C::ClientCertRevoked], &[]),
    (45, "certificateexpired", &[C::ClientCertExpired], &[C::ServerCertExpired]),
    (46, "certificateunknown", &[C::ClientCertRejected], &[C::X509V1Cert, C::CaCertAsServerCert]),
    (48, "unknownca", &[C::ClientCertUnknownCa], &[C::UnknownCa, C::MissingIntermediate, C::ServerCertAsCa]),
    (51, "decrypterror", &[C::ClientKeyMismatch], &[C::WeakSignature, C::WeakKey]),
    (70, "protocolversion", &[C::TlsVersionMismatch, C::LegacyTlsOnly], &[C::TlsVersionMismatch]),
    (71, "insufficientsecurity", &[C::NoSharedCipher], &[C::NoSharedCipher]),
    (80, "internalerror", &[C::LegacyTlsOnly], &[C::HostnameMismatch]),
    (112, "unrecognisedname", &[C::SniRequired], &[]),
    (112, "unrecognizedname", &[C::SniRequired], &[]),
    (116, "certificaterequired", &[C::ClientCertRequired], &[]),
    (120, "noapplicationprotocol", &[C::AlpnRejected], &[C::AlpnRejected]),
    (115, "unknownpskidentity", &[C::PskIdentityUnknown], &[]),
    // Measured with a pre-shared key (TLS 1.2 and 1.3): the key differs.
    (20, "badrecordmac", &[C::PskKeyMismatch], &[]),
    (47, "illegalparameter", &[C::PskKeyMismatch], &[]),
];

/// OpenSSL verify results (`X509_V_ERR_*`): number, constant name and the reading.
const VERIFY: &[(u32, &str, C)] = &[
    (
        2,
        "x509_v_err_unable_to_get_issuer_cert",
        C::IntermediateAsAnchor,
    ),
    (9, "x509_v_err_cert_not_yet_valid", C::ServerCertNotYetValid),
    (10, "x509_v_err_cert_has_expired", C::ServerCertExpired),
    (
        18,
        "x509_v_err_depth_zero_self_signed_cert",
        C::SelfSignedServerCert,
    ),
    (19, "x509_v_err_self_signed_cert_in_chain", C::UnknownCa),
    (
        20,
        "x509_v_err_unable_to_get_issuer_cert_locally",
        C::UnknownCa,
    ),
    (
        21,
        "x509_v_err_unable_to_verify_leaf_signature",
        C::MissingIntermediate,
    ),
    (24, "x509_v_err_invalid_ca", C::IssuerNotCa),
    (26, "x509_v_err_invalid_purpose", C::ServerEkuMissing),
    (62, "x509_v_err_hostname_mismatch", C::HostnameMismatch),
    (64, "x509_v_err_ip_address_mismatch", C::IpNotInSan),
    (66, "x509_v_err_ee_key_too_small", C::WeakKey),
    (67, "x509_v_err_ca_key_too_small", C::WeakKey),
    (68, "x509_v_err_ca_md_too_weak", C::WeakSignature),
    (79, "x509_v_err_invalid_ca", C::IssuerNotCa),
    (
        4,
        "x509_v_err_unable_to_decrypt_cert_signature",
        C::BadSignature,
    ),
    (
        6,
        "x509_v_err_unable_to_decode_issuer_public_key",
        C::BadSignature,
    ),
    (7, "x509_v_err_cert_signature_failure", C::BadSignature),
    (22, "x509_v_err_cert_chain_too_long", C::ChainTooLong),
    (25, "x509_v_err_path_length_exceeded", C::PathLengthExceeded),
    (
        34,
        "x509_v_err_unhandled_critical_extension",
        C::UnknownCriticalExtension,
    ),
    (
        47,
        "x509_v_err_permitted_violation",
        C::NameConstraintViolation,
    ),
    (
        48,
        "x509_v_err_excluded_violation",
        C::NameConstraintViolation,
    ),
    (49, "x509_v_err_subtree_minmax", C::NameConstraintViolation),
    (
        51,
        "x509_v_err_unsupported_constraint_type",
        C::NameConstraintViolation,
    ),
    (
        52,
        "x509_v_err_unsupported_constraint_syntax",
        C::NameConstraintViolation,
    ),
    (
        53,
        "x509_v_err_unsupported_name_syntax",
        C::NameConstraintViolation,
    ),
    (
        94,
        "x509_v_err_ec_key_explicit_params",
        C::MalformedCertificate,
    ),
];

/// OpenSSL SSL-library reason numbers (the low 12 bits of `0A0000xx` / `14xxxxxx`) that name a
/// cause on their own; 1000 + n is "alert n received".
const SSL_REASONS: &[(u32, C, S, Reading)] = &[
    (0x0C7, C::ClientCertRequired, Local, Any),
    (0x0C1, C::NoSharedCipher, Local, Any),
    (0x0DF, C::PskIdentityUnknown, Local, Any),
    (0x0FD, C::PskKeyMismatch, Local, Any),
    (0x10B, C::NotTls, Local, Any),
    (0x0FC, C::NotTls, Local, Any),
    (0x102, C::TlsVersionMismatch, Local, Any),
    (0x0BF, C::TlsVersionMismatch, Local, Any),
    (0x14D, C::LegacyTlsOnly, Local, Any),
    (0x076, C::LegacyTlsOnly, Local, Any),
    (0x18E, C::WeakSignature, Local, Any),
    (0x18F, C::WeakKey, Local, Any),
    // A client meeting EOF in the handshake: most often a port that does not speak TLS.
    (0x126, C::PlaintextPort, Nobody, Client),
    (0x126, C::PeerClosed, Nobody, Any),
    (0x0E5, C::PeerClosed, Nobody, Any),
    (0x086, C::UnknownCa, Local, ClientFallback),
    (0x086, C::ClientCertUnknownCa, Local, BrokerFallback),
];

/// Runs every extractor over lower-case text.
pub fn extract(lower: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    verify_numbers(lower, &mut hits);
    reason_codes(lower, &mut hits);
    for (fragment, n) in numbers_after(lower, "ssl alert number ") {
        alert_hits(n, "openssl", &fragment, &mut hits);
    }
    alert_names(lower, &mut hits);
    rustls_ip_name(lower, &mut hits);
    // One hit per reading, the first: a repeat ranks below it and `explain` drops it anyway,
    // but each repeat was built into a match with a scan for its line, so a text of one
    // number repeated was quadratic (fuzzing: 960 KB of `error:0a000418: ` took 25 s).
    let mut kept: Vec<Hit> = Vec::new();
    for hit in hits {
        let repeat = kept
            .iter()
            .any(|k| (k.code, k.side, k.reading) == (hit.code, hit.side, hit.reading));
        if !repeat {
            kept.push(hit);
        }
    }
    kept
}

/// `verify error:num=20`, `error 20 at 0 depth lookup`, `Verify return code: 20 (...)`,
/// `X509_V_ERR_*` names.
fn verify_numbers(lower: &str, hits: &mut Vec<Hit>) {
    let mut found: Vec<(String, u32)> = numbers_after(lower, "num=");
    found.extend(numbers_after(lower, "verify return code: "));
    // `error 20 at 0 depth lookup`: the number must be followed by ` at ` right there. Looking
    // for `error 20 at ` anywhere in the text, once per `error N`, was quadratic (fuzzing: 400 KB
    // of `error 1 ` took 31 s).
    let mut rest = lower;
    while let Some(at) = rest.find("error ") {
        let after = &rest[at + "error ".len()..];
        rest = after;
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if after[digits..].starts_with(" at ")
            && let Ok(n) = after[..digits].parse::<u32>()
        {
            // An unsuitable purpose above the leaf is a CA's extendedKeyUsage.
            let depth = &after[digits + 4..];
            let depth_digits = depth.bytes().take_while(u8::is_ascii_digit).count();
            if n == 26 && depth[..depth_digits].parse::<u32>().is_ok_and(|d| d > 0) {
                hits.push(Hit {
                    stack: "openssl",
                    code: C::IntermediateEkuMissing,
                    side: Local,
                    reading: Client,
                    fragment: format!("error 26 at {}", &depth[..depth_digits]),
                });
            }
            found.push((format!("error {}", &after[..digits]), n));
        }
    }
    for (n, name, _) in VERIFY {
        if lower.contains(name) {
            found.push(((*name).to_string(), *n));
        }
    }
    for (fragment, n) in found {
        if let Some((_, _, code)) = VERIFY.iter().find(|(v, _, _)| *v == n) {
            hits.push(Hit {
                stack: "openssl",
                code: *code,
                side: Local,
                reading: Client,
                fragment,
            });
        }
    }
}

/// `error:0A000086:` (OpenSSL 3: library 20 in bits 23..) and `error:14090086:` (1.0.2/1.1.1:
/// library 0x14 in the top byte): the reason is the low 12 bits.
fn reason_codes(lower: &str, hits: &mut Vec<Hit>) {
    let mut rest = lower;
    while let Some(at) = rest.find("error:") {
        let after = &rest[at + 6..];
        rest = after;
        let Some(hex) = after.get(..8) else { break };
        if after.as_bytes().get(8).is_some_and(u8::is_ascii_hexdigit) {
            continue;
        }
        let Ok(value) = u32::from_str_radix(hex, 16) else {
            continue;
        };
        let is_ssl = value >> 23 == 20 || value >> 24 == 0x14;
        if !is_ssl {
            continue;
        }
        let reason = value & 0xFFF;
        let fragment = format!("error:{hex}");
        if reason >= 1000 {
            alert_hits(reason - 1000, "openssl", &fragment, hits);
        }
        for (r, code, side, reading) in SSL_REASONS {
            if *r == reason {
                hits.push(Hit {
                    stack: "openssl",
                    code: *code,
                    side: *side,
                    reading: *reading,
                    fragment: fragment.clone(),
                });
            }
        }
    }
}

/// rustls `received fatal alert: UnknownCA` / `AlertReceived(UnknownCA)` and JSSE
/// `Received fatal alert: unknown_ca`: a client received them.
fn alert_names(lower: &str, hits: &mut Vec<Hit>) {
    for marker in ["received fatal alert: ", "alertreceived("] {
        let mut rest = lower;
        while let Some(at) = rest.find(marker) {
            let after = &rest[at + marker.len()..];
            rest = after;
            let raw: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let word = raw.replace('_', "");
            let stack = if raw.contains('_') { "java" } else { "rustls" };
            if let Some((_, _, client, _)) = ALERTS.iter().find(|(_, name, _, _)| *name == word) {
                for code in *client {
                    hits.push(Hit {
                        stack,
                        code: *code,
                        side: Peer,
                        reading: Any,
                        fragment: format!("{marker}{word}"),
                    });
                }
            }
        }
    }
}

/// rustls names the expected name in `certificate not valid for name "127.0.0.1"`: an IP
/// literal there means a missing IP SAN rather than a wrong DNS name.
fn rustls_ip_name(lower: &str, hits: &mut Vec<Hit>) {
    let marker = "not valid for name \"";
    if let Some(at) = lower.find(marker) {
        let name: String = lower[at + marker.len()..]
            .chars()
            .take_while(|c| *c != '"')
            .collect();
        if !name.is_empty() && name.parse::<std::net::IpAddr>().is_ok() {
            hits.push(Hit {
                stack: "rustls",
                code: C::IpNotInSan,
                side: Local,
                reading: Any,
                fragment: format!("{marker}{name}\""),
            });
        }
    }
}

fn alert_hits(number: u32, stack: &'static str, fragment: &str, hits: &mut Vec<Hit>) {
    for (n, _, client, broker) in ALERTS {
        if *n != number {
            continue;
        }
        for (codes, reading) in [(*client, Client), (*broker, Broker)] {
            for code in codes {
                hits.push(Hit {
                    stack,
                    code: *code,
                    side: Peer,
                    reading,
                    fragment: fragment.to_string(),
                });
            }
        }
        return;
    }
}

/// Every decimal number right after `prefix`, with the fragment `prefix` + digits.
fn numbers_after(lower: &str, prefix: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut rest = lower;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        rest = after;
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<u32>() {
            out.push((format!("{prefix}{digits}"), n));
        }
    }
    out
}

/// The broker host named in a message, for the confirm command: rustls `for name "X"`,
/// Python `not valid for 'X'`, Go `..., not X`, Node `Host: X.`, Java `matching X found`,
/// or an `mqtts://X:port` URL.
pub fn host_in(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let probes: [(&str, &[char]); 8] = [
        ("mqtts://", &[':', '/', ' ', '\n']),
        ("for name \"", &['"']),
        ("not valid for '", &['\'']),
        ("x509: cannot validate certificate for ", &[' ']),
        ("host: ", &[' ', '\n']),
        ("ip: ", &[' ', '\n']),
        ("matching ", &[' ', '\n']),
        (", not ", &[' ', '\n', '"']),
    ];
    for (marker, ends) in probes {
        let Some(at) = lower.find(marker) else {
            continue;
        };
        let start = at + marker.len();
        let candidate: String = text[start..]
            .chars()
            .take_while(|c| !ends.contains(c))
            .collect();
        let candidate = candidate.trim_end_matches('.').to_string();
        let ok = !candidate.is_empty()
            && candidate.len() < 254
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            && candidate.chars().any(|c| c.is_ascii_alphanumeric())
            && candidate != "ip"
            && candidate != "address";
        if ok {
            return Some(candidate);
        }
    }
    None
}
