//! What the follow-up probes found (extra handshakes and CONNECTs that answer what the first
//! round cannot), and the plan the classifier makes for them. The probes that fill these live
//! in `probe::followup`.

use serde::{Deserialize, Serialize};

use super::{ConnAck, MqttVersion, TlsVersion};
use crate::x509::CertSummary;

/// The follow-up probes run for one diagnosis, and what they found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
pub struct FollowUps {
    /// A plain MQTT CONNECT on a fresh connection (for `plaintext_port`).
    pub plain_connect: Option<PlainProbe>,
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
    /// A TLS 1.2 handshake offering only PSK cipher suites (for the `psk_*` codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psk: Option<super::psk::PskProbe>,
    /// MQTT without the WebSocket upgrade on the port of a `ws://`/`wss://` target whose
    /// upgrade got no HTTP answer (for `mqtt_port_websocket_client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_mqtt: Option<PlainProbe>,
    /// WebSocket upgrades besides the probe's: other paths after a 404, the legacy `mqttv3.1`
    /// subprotocol after a refusal, or WebSocket on a port probed as MQTT that answered in HTTP
    /// (for `websocket_path_not_found`, `websocket_subprotocol_refused`,
    /// `websocket_port_mqtt_client`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub websocket: Vec<super::UpgradeProbe>,
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
    pub connack: Option<ConnAck>,
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
    pub mqtt_version: Option<MqttVersion>,
    /// Try a TLS handshake on a plain (`mqtt://`) target.
    pub tls: bool,
    /// Try a TLS 1.2 PSK-only handshake (the user's PSK, or a throwaway identity).
    pub psk: bool,
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
            && !self.psk
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

/// What a plain (non-TLS) MQTT CONNECT on a fresh connection got: the confirmation probe for
/// `plaintext_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlainProbe {
    /// The CONNACK, if one came.
    pub connack: Option<ConnAck>,
    /// What happened otherwise.
    pub detail: Option<String>,
}

/// The note a probe carries when the broker hung up right after a TLS 1.3 handshake, before
/// any MQTT was sent: the classifier reads it as the broker's verdict on the handshake (its
/// client-certificate check), not on CONNECT.
pub const SILENT_AFTER_HANDSHAKE: &str =
    "the broker hung up after the TLS handshake and before CONNECT was sent, without an alert";
