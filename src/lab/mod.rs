//! Test servers for the lab: in-process TLS/MQTT responders ([`responder`]), a real mosquitto
//! broker ([`mosquitto`]), private RabbitMQ nodes with the MQTT plugin ([`rabbitmq`]) and the
//! bit of MQTT framing they need ([`wire`]).
//!
//! Used by `mqtls demo`, by the probe tests and by broker-backed integration tests. Nothing
//! here listens beyond 127.0.0.1, and nothing here prints.

pub mod mosquitto;
pub mod rabbitmq;
pub mod render;
pub mod responder;
pub mod wire;

pub use mosquitto::{LabError, Listener, ListenerTls, Mosquitto, mosquitto_binary};
pub use rabbitmq::{RabbitNode, SslOptions, rabbitmq_binary};
pub use responder::{
    Behaviour, CertCheck, ClientAuth, Hangup, MqttBehaviour, Responder, ServerStack, SniPolicy,
    TlsOptions, TlsServer, TlsVersion, WsServer,
};

/// A broker a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// The `mosquitto` binary.
    Mosquitto,
    /// `rabbitmq-server` with its MQTT plugin.
    Rabbitmq,
}

/// The one way a broker test decides whether it can run: true when the broker is installed;
/// otherwise, under CI (`CI` set) a failure, elsewhere a "SKIPPED" line on stderr naming the
/// test and the reason, and false, so the test returns without asserting anything. A skipped
/// test never counts as evidence: CI installs the brokers and fails without them.
pub fn broker_available(needed: Needed, test: &str) -> bool {
    let (found, what, how) = match needed {
        Needed::Mosquitto => (
            mosquitto_binary().is_some(),
            "mosquitto is not installed",
            format!(
                "apt-get install mosquitto, or set {}",
                mosquitto::MOSQUITTO_ENV
            ),
        ),
        Needed::Rabbitmq => (
            rabbitmq_binary().is_some(),
            "rabbitmq-server is not installed",
            format!(
                "apt-get install rabbitmq-server, or set {}",
                rabbitmq::RABBITMQ_ENV
            ),
        ),
    };
    if found {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI is set but {what} ({how})"
    );
    eprintln!("SKIPPED {test}: {what} ({how}); this test proved nothing");
    false
}
