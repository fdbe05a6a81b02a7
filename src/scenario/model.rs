//! The scenario file format. The doc comments here are its reference (the README links to
//! this file).
//!
//! A scenario file is a suite: optional broker `profiles`, optional `defaults` applied to every
//! case, and a list of `cases`. Every struct denies unknown fields, so a typo is an error that
//! names the file, line and column, and the valid keys.
//!
//! ```yaml
//! profiles:
//!   leaf-only:                       # a broker that sends only its leaf certificate
//!     certfile: ../../certs/server.crt
//!     keyfile: ../../certs/server.key
//! defaults:
//!   cafile: ../../certs/root.crt
//! cases:
//!   - name: server-crt-as-ca
//!     broker: leaf-only
//!     cafile: ../../certs/server.crt
//!     expect: server_cert_as_ca
//!   - name: x509-v1
//!     target: mqtts://localhost:8883
//!     expect: { rustls: x509_v1_cert, openssl: ok }
//! ```
//!
//! Paths are relative to the file. `${env:VAR}` in any string is replaced by the variable's
//! value; passwords are only ever taken from environment variables (`*_env` keys).

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::classify::DiagnosisCode;
use crate::evidence::Backend;

/// One YAML file: profiles, defaults and cases.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Broker TLS setups, by name, that lab brokers render (`--lab`).
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Values every case of this file inherits unless it sets its own.
    #[serde(default)]
    pub defaults: CaseSpec,
    /// The cases.
    #[serde(default)]
    pub cases: Vec<CaseSpec>,
}

/// One case as written; every field is optional so that `defaults` can supply it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Case id (kebab-case), unique within the file; reports are sorted by it.
    pub name: Option<String>,
    /// One line saying what the case shows.
    pub description: Option<String>,
    /// Probe this broker URL (`mqtts://host:port`); overrides `--target`.
    pub target: Option<String>,
    /// Probe a lab broker rendered from this profile (needs `--lab`).
    pub broker: Option<String>,
    /// Probe the profile's port as a plain MQTT client (`mqtt://`, no TLS), as a client that
    /// forgot TLS does.
    pub plain_client: Option<bool>,
    /// Probe MQTT over WebSockets at this path (`wss://…/PATH`, or `ws://` with
    /// `plain_client`), as a browser or MQTTX does.
    pub websocket: Option<String>,
    /// CA file (PEM) the client trusts; absent: the system roots.
    pub cafile: Option<String>,
    /// Intermediates the chain analysis may use to find a path (never trusted).
    pub untrusted: Option<Vec<String>>,
    /// Client certificate (PEM).
    pub cert: Option<String>,
    /// Client private key (PEM).
    pub key: Option<String>,
    /// Environment variable holding the key's password.
    pub key_password_env: Option<String>,
    /// A TLS-PSK identity and where its hex key is: `{identity: dev1, key_env: VAR}` or
    /// `{identity: dev1, key_file: keys/dev1.hex}` (relative to this file; `${lab:...}` works).
    /// Never the key itself: a suite is committed and shared.
    pub psk: Option<PskSpec>,
    /// TLS versions offered: `"1.2"`, `"1.3"` (quote them: unquoted `1.2` is a number).
    pub tls_versions: Option<Vec<String>>,
    /// SNI to send (default: the host name).
    pub sni: Option<String>,
    /// Send no SNI.
    pub no_sni: Option<bool>,
    /// Name the certificate is checked against (default: the host).
    pub expect_name: Option<String>,
    /// ALPN protocols offered.
    pub alpn: Option<Vec<String>>,
    /// The MQTT CONNECT.
    pub mqtt: Option<MqttSpec>,
    /// Backends to probe with (default both).
    pub backends: Option<Vec<Backend>>,
    /// Per-phase deadline in seconds (default 5).
    pub timeout: Option<f64>,
    /// Warn (`cert_expires_soon`) about a certificate that expires within this many days
    /// (default 30).
    pub warn_days: Option<u32>,
    /// What each backend must get.
    pub expect: Option<Expectation>,
}

/// A pre-shared key by reference: exactly one of `key_env` and `key_file`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PskSpec {
    /// The identity (mosquitto `psk_file`: the part before the colon).
    pub identity: String,
    /// Environment variable holding the key in hex.
    #[serde(default)]
    pub key_env: Option<String>,
    /// File whose first line that is not a `#` comment is the key in hex.
    #[serde(default)]
    pub key_file: Option<String>,
}

/// The TLS-PSK side of a lab broker profile (rendered by the mosquitto lab only).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfilePsk {
    /// mosquitto `psk_hint` (sent to TLS 1.2 clients).
    pub hint: String,
    /// The identities the broker knows, each with its key by reference.
    pub keys: Vec<PskSpec>,
}

/// The MQTT CONNECT of a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSpec {
    /// `"3.1.1"` (default) or `"5"`.
    pub version: Option<String>,
    /// Client identifier (default `mqtls-<case>`).
    pub client_id: Option<String>,
    /// User name.
    pub username: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
}

/// A broker's TLS setup, independent of the broker that renders it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Certificate chain the broker serves (leaf first; include the intermediate or not).
    /// Required unless `plain: true`.
    #[serde(default)]
    pub certfile: String,
    /// Its private key. Required unless `plain: true`.
    #[serde(default)]
    pub keyfile: String,
    /// CA file for client certificates (mosquitto also completes its chain from it).
    #[serde(default)]
    pub cafile: Option<String>,
    /// Demand a client certificate.
    #[serde(default)]
    pub require_certificate: bool,
    /// Lowest TLS version allowed (`"1.2"`, `"1.3"`); absent: the broker's default.
    #[serde(default)]
    pub min_tls_version: Option<String>,
    /// OpenSSL cipher list (TLS 1.2).
    #[serde(default)]
    pub ciphers: Option<String>,
    /// CRL file for client certificates.
    #[serde(default)]
    pub crlfile: Option<String>,
    /// Allow clients without a user name (default true).
    #[serde(default = "yes")]
    pub allow_anonymous: bool,
    /// Users and the environment variables holding their passwords.
    #[serde(default)]
    pub users: Vec<ProfileUser>,
    /// Serve plain MQTT, no TLS (a 1883-style port that clients probe as mqtts);
    /// `certfile`/`keyfile` are then not used. The RabbitMQ lab renders TLS listeners only.
    #[serde(default)]
    pub plain: bool,
    /// Accept TLS-PSK (mosquitto `psk_hint`, `psk_file`), without `certfile`: mosquitto serves
    /// PSK or certificates on a listener, never both. Rendered by the mosquitto lab only.
    #[serde(default)]
    pub psk: Option<ProfilePsk>,
    /// Serve MQTT over WebSockets instead of MQTT over TLS: a mosquitto `protocol websockets`
    /// listener (any path), RabbitMQ's web_mqtt plugin (path `/ws`). Not rendered by the
    /// in-process responder.
    #[serde(default)]
    pub websocket: bool,
    /// Lab brokers that render this profile (`mosquitto`, `rabbitmq`, `inprocess`); default: every one
    /// given to `--lab`. Cases using the profile are skipped on the others.
    #[serde(default)]
    pub labs: Option<Vec<String>>,
}

/// A user of a lab broker.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileUser {
    /// User name.
    pub name: String,
    /// Environment variable holding the password.
    pub password_env: String,
}

fn yes() -> bool {
    true
}

/// What a case must get: one code for every backend (`expect: ok`), or a map with `all`,
/// `rustls`, `openssl`, expected `warnings`, and per-broker overrides under `brokers`
/// (`mosquitto`, `rabbitmq`, or `target`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Expectation {
    /// The code every backend must get unless overridden.
    pub all: Option<Want>,
    /// The code rustls must get.
    pub rustls: Option<Want>,
    /// The code OpenSSL must get.
    pub openssl: Option<Want>,
    /// Warnings every backend that connected must carry (others are allowed).
    pub warnings: Vec<DiagnosisCode>,
    /// Overrides for one broker kind, for brokers that behave differently.
    pub brokers: BTreeMap<String, Expectation>,
}

/// One backend's expectation: a code, or `any` said on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// This code.
    Code(DiagnosisCode),
    /// Whatever the backend gets (`any`): the case checks the other backend, or warnings only.
    Any,
}

impl Serialize for Want {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Want::Code(code) => code.serialize(serializer),
            Want::Any => serializer.serialize_str("any"),
        }
    }
}

impl<'de> Deserialize<'de> for Want {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "any" {
            return Ok(Want::Any);
        }
        DiagnosisCode::deserialize(de::value::StrDeserializer::<D::Error>::new(&text))
            .map(Want::Code)
            .map_err(|e: D::Error| {
                // The parser adds its own position to the message; the caller adds the value's.
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or_default();
                de::Error::custom(format!("{message}, or `any`"))
            })
    }
}

impl Expectation {
    /// The code `backend` must get on `broker`; `None` when the case says `any` for it (or
    /// nothing: the loader refuses such a case).
    pub fn code_for(&self, broker: &str, backend: Backend) -> Option<DiagnosisCode> {
        match self.want_for(broker, backend) {
            Some(Want::Code(code)) => Some(code),
            Some(Want::Any) | None => None,
        }
    }

    /// What the case says about `backend` on `broker`, if anything.
    pub fn want_for(&self, broker: &str, backend: Backend) -> Option<Want> {
        if let Some(over) = self.brokers.get(broker)
            && let Some(want) = over.want_for("", backend)
        {
            return Some(want);
        }
        match backend {
            Backend::Rustls => self.rustls,
            Backend::Openssl => self.openssl,
        }
        .or(self.all)
    }

    /// The warnings required on `broker`.
    pub fn warnings_for(&self, broker: &str) -> &[DiagnosisCode] {
        match self.brokers.get(broker) {
            Some(over) if !over.warnings.is_empty() => &over.warnings,
            _ => &self.warnings,
        }
    }
}

/// The map form of [`Expectation`], strict about its keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectationMap {
    #[serde(default)]
    all: Option<Want>,
    #[serde(default)]
    rustls: Option<Want>,
    #[serde(default)]
    openssl: Option<Want>,
    #[serde(default)]
    warnings: Vec<DiagnosisCode>,
    #[serde(default)]
    brokers: BTreeMap<String, Expectation>,
}

impl<'de> Deserialize<'de> for Expectation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpectationVisitor;
        impl<'de> Visitor<'de> for ExpectationVisitor {
            type Value = Expectation;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a diagnosis code, or a map with all/rustls/openssl/warnings/brokers")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expectation, E> {
                let want = Want::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(Expectation {
                    all: Some(want),
                    ..Expectation::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Expectation, A::Error> {
                let m = ExpectationMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Expectation {
                    all: m.all,
                    rustls: m.rustls,
                    openssl: m.openssl,
                    warnings: m.warnings,
                    brokers: m.brokers,
                })
            }
        }
        deserializer.deserialize_any(ExpectationVisitor)
    }
}
