//! `mqtls explain`: names the catalogue code(s) behind an error message copied from any TLS
//! stack (OpenSSL, rustls/rumqttc, Python, mosquitto, Erlang, Go, Java, Node.js, .NET, mbedTLS,
//! wolfSSL) and says which side rejected whom.
//!
//! The knowledge is data (`patterns::PATTERNS`); this module only decides the context (did a
//! client or a broker print the text?), ranks the readings and renders them. It is pure: no I/O
//! besides the `Write` handed to the renderers.

// Text pasted by the user: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod log;
pub mod patterns;
#[cfg(test)]
mod tests;

use crate::classify::DiagnosisCode;
use crate::model::SCHEMA_VERSION;

pub use crate::model::explain::{Explanation, LogGroup, LogReport, Match, RejectedBy};
pub use log::explain_log;
pub use patterns::{PATTERNS, Pattern, Reading};

/// Who printed the text, as far as the text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A client (mosquitto_pub, an application, `openssl s_client`).
    Client,
    /// A broker log (mosquitto, RabbitMQ, EMQX, VerneMQ, a Go or Java server).
    Broker,
    /// Only a weak hint of a broker (mosquitto's `OpenSSL Error[0]:` is printed by both).
    LeanBroker,
    /// Nothing tells: both readings are ranked, the client's first.
    Unknown,
}

/// Explains a message whose origin is read from the text itself.
pub fn explain(text: &str) -> Explanation {
    explain_in(text, context_of(text))
}

/// Explains a message printed by a known side (used by `--log`, where the side is a broker).
pub fn explain_in(text: &str, context: Context) -> Explanation {
    let lower = text.to_ascii_lowercase();
    let host = patterns::host_in(text);
    let mut found: Vec<(u8, usize, Match)> = Vec::new();
    // Extractors read numbers and names, more precise than words: they rank first.
    let hits = patterns::extract(&lower);
    let offset = hits.len();
    for (order, pattern) in PATTERNS.iter().enumerate() {
        if !pattern.needles.iter().all(|n| lower.contains(n)) {
            continue;
        }
        let Some(tier) = tier(pattern.reading, context) else {
            continue;
        };
        let m = to_match(pattern, text, &lower, host.as_deref());
        found.push((tier, offset + order, m));
    }
    for (i, hit) in hits.into_iter().enumerate() {
        let Some(tier) = tier(hit.reading, context) else {
            continue;
        };
        let m = Match {
            code: hit.code,
            stack: hit.stack.to_string(),
            rejected_by: hit.side,
            meaning: meaning(hit.code, hit.side),
            next_steps: next_steps(hit.code),
            tell_apart: tell_apart(hit.code, hit.side),
            confirm: confirm(hit.code, host.as_deref()),
            matched: line_of(text, &lower, &hit.fragment),
        };
        found.push((tier, i, m));
    }
    // A summary that hides the reason only counts when nothing else matched; fallback
    // readings (generic words) only when nothing specific matched.
    if found.iter().any(|(tier, _, _)| *tier < SUMMARY_TIER) {
        found.retain(|(tier, _, _)| *tier < SUMMARY_TIER);
    }
    if found.iter().any(|(tier, _, _)| *tier < FALLBACK_TIER) {
        found.retain(|(tier, _, _)| *tier < FALLBACK_TIER);
    }
    found.sort_by_key(|(tier, order, _)| (*tier, *order));
    let mut matches: Vec<Match> = Vec::new();
    for (_, _, m) in found {
        if !matches
            .iter()
            .any(|k| k.code == m.code && k.rejected_by == m.rejected_by)
        {
            matches.push(m);
        }
    }
    Explanation {
        schema_version: SCHEMA_VERSION,
        matches,
    }
}

/// Reads who printed the text from words only one side prints.
pub fn context_of(text: &str) -> Context {
    let lower = text.to_ascii_lowercase();
    // The OpenSSL function that failed is decisive: a mosquitto bridge logs its client side.
    match patterns::function_side(&lower) {
        Some(Reading::Client) => return Context::Client,
        Some(Reading::Broker) => return Context::Broker,
        _ => {}
    }
    let broker = patterns::BROKER_MARKERS.iter().any(|m| lower.contains(m))
        || lower.lines().any(starts_with_unix_time);
    let client = patterns::CLIENT_MARKERS.iter().any(|m| lower.contains(m));
    match (broker, client) {
        (true, false) => Context::Broker,
        (false, true) => Context::Client,
        (true, true) => Context::Unknown,
        (false, false) if lower.contains("openssl error") => Context::LeanBroker,
        (false, false) => Context::Unknown,
    }
}

/// mosquitto's log lines start with a Unix timestamp (`1732600000: `); no client prints one.
fn starts_with_unix_time(line: &str) -> bool {
    let line = line.trim_start();
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    (9..=10).contains(&digits) && line.get(digits..).is_some_and(|r| r.starts_with(": "))
}

const FALLBACK_TIER: u8 = 10;
const SUMMARY_TIER: u8 = 20;

/// Rank of a reading in a context: lower is better, `None` drops it.
fn tier(reading: Reading, context: Context) -> Option<u8> {
    match (reading, context) {
        (Reading::Any, _) => Some(0),
        (Reading::Client, Context::Client) | (Reading::Broker, Context::Broker) => Some(0),
        (Reading::Client, Context::Broker) | (Reading::Broker, Context::Client) => None,
        (Reading::Client, Context::Unknown) | (Reading::Broker, Context::LeanBroker) => Some(1),
        (Reading::Client, Context::LeanBroker) | (Reading::Broker, Context::Unknown) => Some(2),
        (Reading::Fallback, _) => Some(FALLBACK_TIER),
        (Reading::ClientFallback, Context::Broker) => None,
        (Reading::ClientFallback, Context::Client | Context::Unknown) => Some(FALLBACK_TIER),
        (Reading::ClientFallback, Context::LeanBroker) => Some(FALLBACK_TIER + 2),
        (Reading::BrokerFallback, Context::Client) => None,
        (Reading::BrokerFallback, Context::Broker | Context::LeanBroker) => Some(FALLBACK_TIER + 1),
        (Reading::BrokerFallback, Context::Unknown) => Some(FALLBACK_TIER + 3),
        (Reading::ClientSummary, Context::Broker) => None,
        (Reading::ClientSummary, _) => Some(SUMMARY_TIER),
    }
}

fn to_match(pattern: &Pattern, text: &str, lower: &str, host: Option<&str>) -> Match {
    let longest = pattern
        .needles
        .iter()
        .max_by_key(|n| n.len())
        .copied()
        .unwrap_or_default();
    Match {
        code: pattern.code,
        stack: pattern.stack.to_string(),
        rejected_by: pattern.side,
        meaning: if pattern.meaning.is_empty() {
            meaning(pattern.code, pattern.side)
        } else {
            pattern.meaning.to_string()
        },
        next_steps: if pattern.steps.is_empty() {
            next_steps(pattern.code)
        } else {
            pattern.steps.iter().map(|s| (*s).to_string()).collect()
        },
        tell_apart: tell_apart(pattern.code, pattern.side),
        confirm: confirm(pattern.code, host),
        matched: line_of(text, lower, longest),
    }
}

/// The line of `text` holding `needle` (already lower case), trimmed to 200 characters.
fn line_of(text: &str, lower: &str, needle: &str) -> String {
    let at = lower.find(needle).unwrap_or(0);
    let start = lower[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = lower[at..].find('\n').map_or(lower.len(), |i| at + i);
    let line = text.get(start..end).unwrap_or(text).trim();
    line.chars().take(200).collect()
}

/// A plain sentence for a code read from one side.
pub fn meaning(code: DiagnosisCode, side: RejectedBy) -> String {
    use DiagnosisCode as C;
    let text = match code {
        C::UnknownCa if side == RejectedBy::Peer => {
            "The client refused the broker's certificate chain: no certificate in the client's CA file issued it (the broker received the alert)."
        }
        C::UnknownCa => {
            "The client's verification of the broker's chain failed: no certificate in its CA file issued the chain the broker presented."
        }
        C::MissingIntermediate => {
            "The broker sent its leaf without the intermediate that links it to the trusted root."
        }
        C::IntermediateAsAnchor => {
            "The CA file holds an intermediate but not the self-signed root; OpenSSL needs the root (rustls does not)."
        }
        C::SelfSignedServerCert => {
            "The broker presents a self-signed certificate that the client's CA file does not contain."
        }
        C::CaCertAsServerCert => {
            "The broker's certificate has CA:TRUE and is used as the leaf; rustls rejects it, OpenSSL accepts it."
        }
        C::IssuerNotCa => {
            "A certificate that issues another in the chain is not a CA (no basicConstraints CA:TRUE)."
        }
        C::X509V1Cert => {
            "A certificate in the chain is X.509 v1 (made without extensions); rustls rejects it, OpenSSL accepts it."
        }
        C::ServerCertExpired => "The broker's certificate (or one in its chain) has expired.",
        C::ServerCertNotYetValid => {
            "The broker's certificate is not valid yet: almost always a wrong clock on the client."
        }
        C::WeakSignature => "The chain is signed with SHA-1 or MD5, which the verifier refuses.",
        C::WeakKey => "A key in the chain is too small (e.g. RSA 1024) for the verifier's policy.",
        C::ServerEkuMissing => {
            "The broker's certificate has an extendedKeyUsage without serverAuth."
        }
        C::HostnameMismatch => {
            "The names in the broker certificate's subjectAltName do not cover the host name the client connected to."
        }
        C::IpNotInSan => {
            "The client connected by IP address and the certificate has no matching IP subjectAltName."
        }
        C::CnOnlyNoSan => {
            "The certificate names the host only in its CN and has no subjectAltName; rustls and modern stacks ignore the CN."
        }
        C::SniRequired => "The broker needs SNI (a server name) and did not get a usable one.",
        C::TlsVersionMismatch => "Client and broker share no TLS version.",
        C::LegacyTlsOnly => {
            "One side speaks only TLS 1.0/1.1 (or SHA-1 signatures) and the other refuses it."
        }
        C::NoSharedCipher => "Client and broker share no cipher suite.",
        C::AlpnRejected => "The broker refused the ALPN protocol offered, or requires one.",
        C::ClientCertRequired => {
            "The broker demands a client certificate and the client sent none."
        }
        C::ClientCertUnknownCa if side == RejectedBy::Local => {
            "The broker could not verify the client's certificate: its CA file does not hold the client certificate's issuer."
        }
        C::ClientCertUnknownCa => {
            "The broker refused the client's certificate: it does not trust its issuer (alert unknown_ca received)."
        }
        C::ClientCertExpired => "The client's certificate has expired and was refused.",
        C::ClientCertRevoked => "The client's certificate is revoked (or the CRL is stale).",
        C::ClientCertRejected => {
            "The client's certificate was refused for another reason (bad_certificate, certificate_unknown, wrong EKU)."
        }
        C::ClientKeyMismatch => "The private key does not belong to the client certificate.",
        C::ClientKeyEncrypted => {
            "The private key is encrypted and no (or a wrong) password was given."
        }
        C::CaFileUnusable => {
            "The CA file holds no usable certificate (empty, DER, a key, garbage)."
        }
        C::ClientCertUnusable => "The client certificate file holds no usable certificate.",
        C::ClientKeyUnusable => "The key file holds no usable private key.",
        C::MqttBadCredentials => "TLS worked; the broker refused the user name or password.",
        C::MqttNotAuthorized => "TLS worked; the broker refused the client as not authorised.",
        C::MqttIdentifierRejected => "TLS worked; the broker refused the client identifier.",
        C::MqttProtocolRejected => "TLS worked; the broker refused the MQTT protocol version.",
        C::MqttServerUnavailable => "TLS worked; the broker said it is unavailable or busy.",
        C::MqttRefused => "TLS worked; the broker refused the CONNECT.",
        C::MqttNoConnack => "TLS worked; the broker closed without sending a CONNACK.",
        C::DnsFailure => "The host name does not resolve.",
        C::ConnectionRefused => {
            "Nothing listens on that port (broker down, wrong port, or the broker failed to load its TLS files)."
        }
        C::ConnectTimeout => "The TCP connect got no answer (firewall, wrong address).",
        C::HandshakeTimeout => "TCP connected but the TLS handshake never completed.",
        C::PlaintextPort => "The port speaks plain MQTT, not TLS.",
        C::TlsPortPlainClient => {
            "A plain MQTT client (no TLS) connected to a port that speaks MQTT over TLS."
        }
        C::WebsocketPathNotFound => {
            "The WebSocket upgrade's path does not exist on the server (HTTP 404): the URL names the wrong path for the broker's MQTT endpoint."
        }
        C::WebsocketUpgradeRefused => {
            "The server (or a proxy in front of it) refused the WebSocket upgrade with an HTTP error status, or broke the handshake."
        }
        C::WebsocketSubprotocolRefused => {
            "The two sides do not agree on the WebSocket subprotocol: MQTT 3.1.1 and 5 use `mqtt`, MQTT 3.1 era software `mqttv3.1`."
        }
        C::MqttPortWebsocketClient => {
            "A WebSocket client (ws://, wss://) connected to a port that speaks MQTT over TCP or TLS, which never answers the HTTP upgrade."
        }
        C::WebsocketPortMqttClient => {
            "An MQTT client connected to a port that speaks MQTT over WebSockets: the broker answered the CONNECT in HTTP."
        }
        C::PlainHttpPort => {
            "The port is an HTTP server that does not speak MQTT or switch to WebSocket."
        }
        C::NotTls => "The other side did not speak TLS (plain MQTT, HTTP, or another protocol).",
        C::PeerClosed => {
            "The peer closed the connection without an alert: it abandoned the handshake, so this side cannot say why. Read the peer's own error (the client's output when a broker printed this)."
        }
        C::SameSubjectCaAndServer => {
            "The CA and the broker certificate have the same subject, so the leaf looks self-signed."
        }
        C::ServerCertAsCa => "The CA file holds the broker's own certificate instead of its CA.",
        C::ExpiredTrustAnchor => "The root in the CA file has expired.",
        C::CertExpiresSoon => {
            "A certificate the connection rests on expires within the warning window (--warn-days)."
        }
        C::NameConstraintViolation => {
            "A name in the broker's certificate is outside the name constraints of a CA above it (or the constraints cannot be used)."
        }
        C::PathLengthExceeded => {
            "A CA's pathLenConstraint forbids the intermediates below it in the chain."
        }
        C::ChainTooLong => "The chain has more certificates than the verifier follows.",
        C::ChainTooComplex => {
            "The verifier gave up on the chain within its work limits (too many candidate paths or constraint comparisons)."
        }
        C::IntermediateEkuMissing => {
            "An intermediate CA's extendedKeyUsage does not include serverAuth, so nothing it issues may serve TLS."
        }
        C::UnknownCriticalExtension => {
            "A certificate carries a critical extension the verifier does not implement, so it must refuse it."
        }
        C::BadSignature => {
            "A certificate's signature does not verify with its issuer's key (corrupted, or signed by another key)."
        }
        C::MalformedCertificate => {
            "A certificate is not well-formed (bad DER, an unreadable extension or name)."
        }
        C::UnsupportedAlgorithm => {
            "A certificate uses a signature or key algorithm the verifier does not implement (DSA, P-192, Ed448)."
        }
        C::NotSupportedByStack => {
            "This TLS stack cannot make the connection asked for (rustls has no TLS-PSK); it says nothing about the broker."
        }
        C::PskIdentityUnknown => {
            "The broker does not know the PSK identity the client offered (no line for it in mosquitto's psk_file)."
        }
        C::PskKeyMismatch => {
            "The broker knows the PSK identity but holds another key for it: the handshake's Finished (TLS 1.2) or binder (TLS 1.3) does not verify."
        }
        C::PskNotAccepted => {
            "The client offered a pre-shared key to a listener that does certificate-based TLS only."
        }
        C::PskRequired => {
            "The listener expects a pre-shared key (TLS-PSK) and the client offered certificates only."
        }
        C::PskCipherMismatch => {
            "Under TLS 1.2 the broker serves no PSK cipher suite the client offers, so the pre-shared key is never used."
        }
        C::Ok | C::Unclassified => "See the catalogue.",
    };
    text.to_string()
}

/// What to check next, per code.
pub fn next_steps(code: DiagnosisCode) -> Vec<String> {
    use DiagnosisCode as C;
    let steps: &[&str] = match code {
        C::UnknownCa | C::SelfSignedServerCert | C::ServerCertAsCa => &[
            "Show the chain the broker sends: openssl s_client -connect HOST:8883 -showcerts",
            "Check that the client's CA file holds the root that issued it: openssl verify -CAfile ca.crt -untrusted chain.pem server.pem",
        ],
        C::MissingIntermediate | C::IntermediateAsAnchor => &[
            "Serve the full chain on the broker (certfile fullchain.pem) and keep the self-signed root in the client's CA file.",
            "Count the certificates the broker sends: openssl s_client -connect HOST:8883 -showcerts",
        ],
        C::HostnameMismatch | C::IpNotInSan | C::CnOnlyNoSan => &[
            "List the certificate's names: openssl x509 -in server.crt -noout -ext subjectAltName",
            "Connect with a name in the SAN, or re-issue the certificate with subjectAltName=DNS:host,IP:addr.",
        ],
        C::CertExpiresSoon => &[
            "See which certificate expires next: mqtls diagnose HOST:8883 --cafile ca.crt --warn-days 30",
            "Renew it and install the new certificate (and chain) before its notAfter: openssl x509 -in cert.pem -noout -enddate",
        ],
        C::ServerCertExpired | C::ServerCertNotYetValid | C::ExpiredTrustAnchor => &[
            "Check the dates: openssl x509 -in server.crt -noout -dates",
            "Check the clocks of the client and the broker (SNTP before TLS on devices).",
        ],
        C::ClientCertRequired => &[
            "Send a client certificate (mosquitto_pub --cert client.crt --key client.key), or set require_certificate false on the broker.",
        ],
        C::ClientCertUnknownCa
        | C::ClientCertRejected
        | C::ClientCertExpired
        | C::ClientCertRevoked => &[
            "Check the client certificate against the broker's CA file: openssl verify -CAfile broker-ca.crt client.crt",
            "Check its dates and EKU: openssl x509 -in client.crt -noout -dates -ext extendedKeyUsage",
            "Check the broker's cafile/crlfile (mosquitto) or ssl_options.cacertfile (RabbitMQ/EMQX).",
        ],
        C::X509V1Cert | C::CaCertAsServerCert | C::IssuerNotCa | C::ServerEkuMissing => &[
            "Inspect the certificate: openssl x509 -in server.crt -noout -text (version, basicConstraints, extendedKeyUsage)",
            "Re-issue it with a v3 extensions file: basicConstraints=CA:FALSE, subjectAltName, extendedKeyUsage=serverAuth.",
        ],
        C::WeakSignature | C::WeakKey => &[
            "Check the signature algorithm and key size: openssl x509 -in server.crt -noout -text",
            "Re-issue with SHA-256 and RSA 2048+ or ECDSA P-256; do not lower the security level.",
        ],
        C::TlsVersionMismatch | C::LegacyTlsOnly | C::NoSharedCipher => &[
            "Compare the versions and ciphers: openssl s_client -connect HOST:8883 -tls1_2 (and -tls1_3)",
            "Check tls_version/ciphers on the broker (mosquitto) or ssl_options.versions (Erlang).",
        ],
        C::AlpnRejected | C::SniRequired => &[
            "Connect by host name (not IP) so SNI is sent, and offer the ALPN the broker expects (AWS IoT on 443: x-amzn-mqtt-ca).",
        ],
        C::ClientKeyMismatch
        | C::ClientKeyEncrypted
        | C::ClientKeyUnusable
        | C::ClientCertUnusable
        | C::CaFileUnusable => &[
            "Check the files offline: mqtls inspect --cafile ca.crt --cert client.crt --key client.key",
        ],
        C::MqttBadCredentials
        | C::MqttNotAuthorized
        | C::MqttIdentifierRejected
        | C::MqttRefused
        | C::MqttNoConnack => &[
            "TLS is fine: check the user name, password, client id and the broker's ACL/policy (use_identity_as_username, AWS IoT policy).",
        ],
        C::MqttProtocolRejected | C::MqttServerUnavailable => &[
            "TLS is fine: try the other MQTT version (--mqtt-version 5) and check the broker's state.",
        ],
        C::ConnectionRefused | C::ConnectTimeout | C::DnsFailure => &[
            "Check that the broker runs and listens on that port (ss -ltnp), and its log for TLS files it could not load.",
        ],
        C::PeerClosed => &[
            "Read the error the other side printed (the client's output, or its debug log: mosquitto_pub -d): it names why it left the handshake.",
            "Check which protocol the port speaks: 1883 is plain MQTT, 8883 MQTT over TLS, 8083/8084/443 often WebSockets.",
        ],
        C::TlsPortPlainClient => &[
            "Connect with TLS (mqtts://, mosquitto_pub --cafile ca.crt), or use the broker's plain port (usually 1883).",
        ],
        C::WebsocketPathNotFound => &[
            "Use the broker's WebSocket path: EMQX and HiveMQ /mqtt, RabbitMQ /ws (web_mqtt.ws_path), mosquitto any path.",
            "Probe it: mqtls diagnose wss://HOST:PORT/PATH tries the common paths when one is wrong.",
        ],
        C::WebsocketUpgradeRefused => &[
            "Read the status line and headers: 400/426 from a proxy that drops Upgrade/Connection, 401/403 from access rules, 502/503 from a proxy that cannot reach the broker.",
        ],
        C::WebsocketSubprotocolRefused => &[
            "Offer the subprotocol the broker selects (mqtt for MQTT 3.1.1/5, mqttv3.1 for MQTT 3.1), or make a proxy in front pass Sec-WebSocket-Protocol through.",
        ],
        C::MqttPortWebsocketClient => &[
            "Connect with mqtt:// or mqtts:// to this port, or use the broker's WebSocket listener (mosquitto `protocol websockets`, RabbitMQ web_mqtt, EMQX listeners.ws/wss).",
        ],
        C::WebsocketPortMqttClient => &[
            "Connect with ws:// or wss:// and the broker's path (mqtls diagnose wss://HOST:PORT/mqtt), or use the broker's MQTT port (8883/1883).",
        ],
        C::PlainHttpPort => &[
            "This port serves HTTP (a dashboard, an API, a health check): use the broker's MQTT or WebSocket port.",
        ],
        C::PlaintextPort | C::NotTls | C::HandshakeTimeout => &[
            "Check which protocol the port speaks: 1883 is plain MQTT, 8883 MQTT over TLS, 8083/8084/443 often WebSockets.",
        ],
        C::SameSubjectCaAndServer => {
            &["Give the CA its own subject (CN) and re-issue the broker certificate as v3."]
        }
        C::NameConstraintViolation
        | C::PathLengthExceeded
        | C::IntermediateEkuMissing
        | C::UnknownCriticalExtension => &[
            "Inspect every certificate the broker sends: openssl s_client -connect HOST:8883 -showcerts, then openssl x509 -noout -text on each (nameConstraints, basicConstraints pathlen, extendedKeyUsage, critical extensions)",
            "Verify the chain offline and read the error and depth: openssl verify -CAfile ca.crt -untrusted chain.pem server.pem",
        ],
        C::ChainTooLong | C::ChainTooComplex => &[
            "Count the certificates the broker sends: openssl s_client -connect HOST:8883 -showcerts",
            "Serve only the leaf and the intermediates up to the root clients trust.",
        ],
        C::BadSignature | C::MalformedCertificate | C::UnsupportedAlgorithm => &[
            "Check the chain offline with both stacks: mqtls inspect --cafile ca.crt --server-cert fullchain.pem",
            "Re-issue it from the CA with a standard tool (openssl x509 -req, cfssl, step) and ECDSA P-256 or RSA 2048+.",
        ],
        C::NotSupportedByStack => &[
            "Probe with a stack that has TLS-PSK: mqtls diagnose HOST:PORT --backend openssl --psk-identity ID --psk-key-env VAR",
        ],
        C::PskIdentityUnknown | C::PskKeyMismatch => &[
            "Ask in TLS 1.2, where the broker names the problem: openssl s_client -connect HOST:PORT -tls1_2 -psk_identity ID -psk HEX (alert 115: identity, alert 20: key)",
            "Compare with the broker's psk_file line for the identity: ID:HEXKEY, hex on both sides.",
        ],
        C::PskNotAccepted => &[
            "See what the listener serves: openssl s_client -connect HOST:PORT -tls1_2 -cipher PSK -psk_identity ID -psk HEX fails with handshake_failure without PSK suites.",
            "mosquitto: psk_hint and psk_file in this listener's block enable PSK.",
        ],
        C::PskCipherMismatch => &[
            "List the suites each side has: openssl ciphers -v PSK, and the broker's ciphers option; TLS 1.3 PSK needs none.",
        ],
        C::PskRequired => &[
            "Offer the device's identity and key: mosquitto_pub --psk HEX --psk-identity ID, or mqtls diagnose HOST:PORT --psk-identity ID --psk-key-env VAR",
        ],
        C::Ok | C::Unclassified => &[],
    };
    steps.iter().map(|s| (*s).to_string()).collect()
}

/// The one check that tells a reading apart from the others the same words allow: what to look
/// at, and what it shows when this reading is the right one.
pub fn tell_apart(code: DiagnosisCode, side: RejectedBy) -> String {
    use DiagnosisCode as C;
    let text = match code {
        C::WebsocketPathNotFound | C::WebsocketUpgradeRefused | C::PlainHttpPort => {
            "The HTTP status of the upgrade tells them apart: 404 a wrong path, 2xx/3xx a web server that ignores Upgrade, other 4xx/5xx a refusal (curl -i --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: mqtt' https://HOST:PORT/PATH)."
        }
        C::WebsocketSubprotocolRefused => {
            "The same curl with -H 'Sec-WebSocket-Protocol: mqttv3.1' switches (101) where mqtt does not."
        }
        C::MqttPortWebsocketClient => {
            "mosquitto_pub -p PORT (with --cafile for TLS) connects where the WebSocket client gets no HTTP answer."
        }
        C::WebsocketPortMqttClient => {
            "openssl s_client -connect HOST:PORT -quiet, then typing 'GET / HTTP/1.1' and two Enters, gets an HTTP answer."
        }
        C::UnknownCa if side == RejectedBy::Peer => {
            "In the client's output: it names the broker's certificate (unknown authority, local issuer) when this is the cause."
        }
        C::UnknownCa => {
            "openssl s_client -connect HOST:8883 -showcerts: the issuer of the last certificate sent is in no certificate of the client's CA file (compare with openssl x509 -in ca.crt -noout -subject)."
        }
        C::MissingIntermediate => {
            "openssl s_client -connect HOST:8883 -showcerts: the broker sends one certificate, whose issuer is an intermediate, not the root in the client's CA file."
        }
        C::ServerCertAsCa => {
            "openssl x509 -in ca.crt -noout -subject -issuer -ext basicConstraints: subject and issuer differ and CA is not TRUE, so the CA file holds a leaf (the broker's own certificate)."
        }
        C::IntermediateAsAnchor => {
            "openssl x509 -in ca.crt -noout -subject -issuer: subject and issuer differ, so the CA file holds an intermediate, not a root."
        }
        C::SelfSignedServerCert => {
            "openssl s_client -showcerts: one certificate whose subject equals its issuer, absent from the client's CA file."
        }
        C::HostnameMismatch | C::IpNotInSan | C::CnOnlyNoSan => {
            "openssl x509 -in server.crt -noout -ext subjectAltName: the host the client dials is not listed."
        }
        C::ServerCertExpired | C::ServerCertNotYetValid | C::ExpiredTrustAnchor => {
            "openssl x509 -in server.crt -noout -dates, against date -u on the client."
        }
        C::ClientCertRequired => {
            "The broker's log says no certificate came (peer did not return a certificate); sending one with --cert/--key makes this reading go away."
        }
        C::ClientCertUnknownCa => {
            "openssl verify -CAfile broker-ca.crt client.crt fails with the broker's CA file: the broker does not trust the client certificate's issuer."
        }
        C::ClientCertRejected | C::ClientCertExpired | C::ClientCertRevoked => {
            "The broker's log names the reason it refused the client certificate (expired, revoked, purpose)."
        }
        C::PlaintextPort | C::NotTls => {
            "mosquitto_pub -p PORT without TLS options connects: the port speaks plain MQTT."
        }
        C::PeerClosed => {
            "The other side's own log or output names the reason; this side saw only a closed connection."
        }
        C::HandshakeTimeout => {
            "openssl s_client -connect HOST:PORT hangs after CONNECTED: TCP works, TLS gets no answer."
        }
        C::ConnectTimeout => "nc -vz HOST PORT times out too: TCP itself gets no answer.",
        C::MqttNoConnack => {
            "The TLS handshake succeeds with mqtls diagnose; the broker's log names why it closed after the CONNECT."
        }
        C::MqttBadCredentials | C::MqttNotAuthorized => {
            "The broker's log shows the CONNECT and its CONNACK refusal: TLS itself worked."
        }
        C::TlsVersionMismatch | C::LegacyTlsOnly => {
            "openssl s_client -connect HOST:8883 -tls1_2, then -tls1_3: one of them connects."
        }
        _ => "",
    };
    if text.is_empty() {
        next_steps(code).into_iter().next().unwrap_or_default()
    } else {
        text.to_string()
    }
}

/// The `mqtls diagnose` command that confirms a code.
pub fn confirm(code: DiagnosisCode, host: Option<&str>) -> String {
    use DiagnosisCode as C;
    let host = match host {
        Some(h) if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        Some(h) => h.to_string(),
        None => "HOST".to_string(),
    };
    let client_files = matches!(
        code,
        C::ClientCertRequired
            | C::ClientCertUnknownCa
            | C::ClientCertExpired
            | C::ClientCertRevoked
            | C::ClientCertRejected
            | C::ClientKeyMismatch
            | C::ClientKeyEncrypted
            | C::ClientCertUnusable
            | C::ClientKeyUnusable
    );
    let websocket = matches!(
        code,
        C::WebsocketPathNotFound
            | C::WebsocketUpgradeRefused
            | C::WebsocketSubprotocolRefused
            | C::MqttPortWebsocketClient
            | C::PlainHttpPort
    );
    let mut cmd = if websocket {
        // The WebSocket URL the client used; the follow-ups try the other paths and transports.
        format!("mqtls diagnose wss://{host}:PORT/PATH --cafile ca.crt")
    } else {
        format!("mqtls diagnose mqtts://{host}:8883 --cafile ca.crt")
    };
    if client_files {
        cmd.push_str(" --cert client.crt --key client.key");
    }
    if matches!(
        code,
        C::MqttBadCredentials | C::MqttNotAuthorized | C::MqttIdentifierRejected
    ) {
        cmd.push_str(" --username USER --password-env MQTT_PASSWORD");
    }
    cmd
}
