//! The protocol versions a probe offers and a broker chooses: shared by the probes that speak
//! them, the classifier that reasons about them and the reports that print them.

use serde::{Deserialize, Serialize};

/// A TLS protocol version a probe may offer.
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
pub enum TlsVersion {
    /// TLS 1.0 (OpenSSL only, at security level 0).
    #[serde(rename = "1.0")]
    Tls10,
    /// TLS 1.1 (OpenSSL only, at security level 0).
    #[serde(rename = "1.1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "1.3")]
    Tls13,
}

impl TlsVersion {
    /// Every version, newest first (the order follow-up probes report them in).
    pub const ALL: [TlsVersion; 4] = [
        TlsVersion::Tls13,
        TlsVersion::Tls12,
        TlsVersion::Tls11,
        TlsVersion::Tls10,
    ];

    /// The version as written on the command line (`1.2`).
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "1.0",
            TlsVersion::Tls11 => "1.1",
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }

    /// Parses `1.0`, `1.1`, `1.2`, `1.3` (also `tlsv1.2`).
    pub fn parse(s: &str) -> Option<TlsVersion> {
        let s = s.trim().to_ascii_lowercase();
        match s.trim_start_matches("tlsv").trim_start_matches("tls") {
            "1.0" | "1" => Some(TlsVersion::Tls10),
            "1.1" => Some(TlsVersion::Tls11),
            "1.2" => Some(TlsVersion::Tls12),
            "1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

/// The MQTT protocol version a probe speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (protocol level 4).
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    /// MQTT 5.
    #[serde(rename = "5")]
    V5,
}

impl MqttVersion {
    /// The version as people write it.
    pub fn name(self) -> &'static str {
        match self {
            MqttVersion::V311 => "3.1.1",
            MqttVersion::V5 => "5",
        }
    }
}
