//! Follow-up probes: extra handshakes that answer what one handshake cannot tell.
//!
//! They use OpenSSL at security level 0 with every cipher and no certificate verification,
//! because they ask only "does the broker speak this?": which TLS versions it accepts (for
//! `tls_version_mismatch` and `legacy_tls_only`), and whether it answers differently with and
//! without SNI (for `sni_required`). Nothing is sent after the handshake. Each is bounded by
//! the request's timeout, and the caller runs them concurrently.

use std::pin::Pin;

use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode};
use serde::{Deserialize, Serialize};
use tokio_openssl::SslStream;

use super::tap::Tap;
use super::{Prober, TlsVersion};
use crate::evidence::{Backend, Evidence, Failure};
use crate::x509::CertSummary;

/// The follow-up probes run for one diagnosis, and what they found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
pub struct FollowUps {
    /// A plain MQTT CONNECT on a fresh connection (for `plaintext_port`).
    pub plain_connect: Option<super::PlainProbe>,
    /// One handshake per TLS version (for `tls_version_mismatch`, `legacy_tls_only`).
    pub versions: Vec<HandshakeProbe>,
    /// The handshake repeated with the other SNI setting (for `sni_required`).
    pub sni: Option<HandshakeProbe>,
    /// The probe repeated with the other MQTT version (for `mqtt_protocol_rejected`).
    pub mqtt_version: Option<MqttVersionProbe>,
    /// A TLS handshake on the port of an `mqtt://` target whose plain CONNECT got TLS bytes or
    /// a hang-up (for `tls_port_plain_client`).
    #[serde(default)]
    pub tls: Option<HandshakeProbe>,
    /// MQTT without the WebSocket upgrade on the port of a `ws://`/`wss://` target whose
    /// upgrade got no HTTP answer (for `mqtt_port_websocket_client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_mqtt: Option<super::PlainProbe>,
    /// WebSocket upgrades besides the probe's: other paths after a 404, the legacy `mqttv3.1`
    /// subprotocol after a refusal, or WebSocket on a port probed as MQTT that answered in HTTP
    /// (for `websocket_path_not_found`, `websocket_subprotocol_refused`,
    /// `websocket_port_mqtt_client`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub websocket: Vec<super::ws::UpgradeProbe>,
}

/// One follow-up WebSocket upgrade to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradePlan {
    /// Over TLS (unverified) or plain TCP.
    pub tls: bool,
    /// The path.
    pub path: String,
    /// The subprotocols to offer.
    pub protocols: Vec<String>,
}

/// What a CONNECT of the other MQTT version got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MqttVersionProbe {
    /// The version tried (`3.1.1` or `5`).
    pub version: String,
    /// The CONNACK it got, if any.
    pub connack: Option<crate::evidence::ConnAck>,
    /// What happened otherwise.
    pub detail: Option<String>,
}

/// Which follow-up probes the evidence calls for. Decided by the classifier (it knows what
/// each code needs), run by `diagnose`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowUpPlan {
    /// Run a plain MQTT CONNECT.
    pub plain: bool,
    /// Probe each TLS version.
    pub versions: bool,
    /// Repeat the handshake with this SNI (`Some(None)`: without SNI).
    pub sni: Option<Option<String>>,
    /// Repeat the probe with this MQTT version.
    pub mqtt_version: Option<super::mqtt::MqttVersion>,
    /// Try a TLS handshake on a plain (`mqtt://`) target.
    pub tls: bool,
    /// Try MQTT without the WebSocket upgrade (`ws://`/`wss://` targets).
    pub direct_mqtt: bool,
    /// Try these WebSocket upgrades, in order, until one is accepted.
    pub upgrades: Vec<UpgradePlan>,
}

impl FollowUpPlan {
    /// True when nothing needs to run.
    pub fn is_empty(&self) -> bool {
        !self.plain
            && !self.versions
            && self.sni.is_none()
            && self.mqtt_version.is_none()
            && !self.tls
            && !self.direct_mqtt
            && self.upgrades.is_empty()
    }
}

/// What one handshake-only attempt saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HandshakeProbe {
    /// The only version offered, or `None` for the library's full range.
    pub version: Option<TlsVersion>,
    /// The SNI sent, if any.
    pub sni: Option<String>,
    /// The broker answered with a ServerHello for a version we offered.
    pub accepted: bool,
    /// The whole handshake completed.
    pub completed: bool,
    /// The version the broker chose, e.g. `TLSv1.1`.
    pub negotiated: Option<String>,
    /// The cipher suite the broker chose.
    pub cipher: Option<String>,
    /// The broker's certificate, when it sent one.
    pub leaf: Option<CertSummary>,
    /// What went wrong, in OpenSSL's words.
    pub detail: Option<String>,
}

impl Prober {
    /// One handshake with OpenSSL at security level 0, offering only `version` (or every
    /// version) and sending `sni`.
    pub async fn probe_handshake(
        &self,
        version: Option<TlsVersion>,
        sni: Option<String>,
    ) -> HandshakeProbe {
        let mut result = HandshakeProbe {
            version,
            sni: sni.clone(),
            accepted: false,
            completed: false,
            negotiated: None,
            cipher: None,
            leaf: None,
            detail: None,
        };
        let mut scratch = Evidence::new(Backend::Openssl, String::new());
        let Some((tcp, _)) = self.connect(&mut scratch).await else {
            result.detail = scratch.raw_error;
            return result;
        };
        let ssl = match permissive_ssl(version, sni.as_deref()) {
            Ok(ssl) => ssl,
            Err(e) => {
                result.detail = Some(e.to_string());
                return result;
            }
        };
        let (tap, record) = Tap::new(tcp);
        let mut stream = match SslStream::new(ssl, tap) {
            Ok(s) => s,
            Err(e) => {
                result.detail = Some(e.to_string());
                return result;
            }
        };
        let outcome =
            tokio::time::timeout(self.request().timeout, Pin::new(&mut stream).connect()).await;
        let ssl = stream.ssl();
        // The broker accepted what we offered when its first record is a ServerHello
        // (a handshake record, 0x16, whose first message is type 2), also when the handshake
        // failed later, e.g. for a client certificate. A refusal starts with an alert (0x15).
        // A ServerHello for another version than offered is refused by our side as
        // "unsupported protocol": that version is not accepted either.
        let first = record.snapshot().first_bytes;
        let server_hello = first.first() == Some(&0x16) && first.get(5) == Some(&0x02);
        let version_refused = matches!(
            &outcome,
            Ok(Err(e)) if super::openssl::failure_from_ssl_error(e) == Failure::ProtocolVersion
        );
        result.accepted = server_hello && !version_refused;
        result.negotiated = result.accepted.then(|| ssl.version_str().to_string());
        result.cipher = ssl
            .current_cipher()
            .map(|c| c.standard_name().unwrap_or(c.name()).to_string());
        result.leaf = ssl
            .peer_certificate()
            .and_then(|c| c.to_der().ok())
            .map(|der| CertSummary::from_der(&der));
        match outcome {
            Ok(Ok(())) => result.completed = true,
            Ok(Err(e)) => {
                result.detail = Some(match super::openssl::failure_from_ssl_error(&e) {
                    Failure::AlertReceived { alert, .. } => format!("alert {alert}"),
                    _ => e.to_string(),
                });
            }
            Err(_) => result.detail = Some("no answer before the deadline".into()),
        }
        result
    }
}

pub(super) fn permissive_ssl(
    version: Option<TlsVersion>,
    sni: Option<&str>,
) -> Result<Ssl, openssl::error::ErrorStack> {
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    b.set_verify(SslVerifyMode::NONE);
    b.set_security_level(0);
    b.set_cipher_list("ALL:@SECLEVEL=0")?;
    let v = version.map(super::openssl::ssl_version);
    b.set_min_proto_version(v)?;
    b.set_max_proto_version(v)?;
    if version.is_none() {
        b.set_min_proto_version(Some(openssl::ssl::SslVersion::TLS1))?;
    }
    let mut ssl = Ssl::new(&b.build())?;
    if let Some(name) = sni {
        ssl.set_hostname(name)?;
    }
    Ok(ssl)
}
