//! Test servers for the lab: in-process TLS/MQTT responders ([`responder`]), a real mosquitto
//! broker ([`mosquitto`]), private RabbitMQ nodes with the MQTT plugin ([`rabbitmq`]) and the
//! bit of MQTT framing they need ([`wire`]).
//!
//! Used by `mqtls demo`, by the probe tests and by broker-backed integration tests. Nothing
//! here listens beyond 127.0.0.1, and nothing here prints.

pub mod kind;
pub mod mosquitto;
pub mod profile;
pub mod rabbitmq;
pub mod render;
pub mod responder;
pub mod started;
pub mod wire;

pub use kind::BrokerKind;
pub use mosquitto::{LabError, Listener, ListenerPsk, ListenerTls, Mosquitto, mosquitto_binary};
pub use rabbitmq::{RabbitNode, SslOptions, rabbitmq_binary};
pub use responder::{
    Behaviour, CertCheck, ClientAuth, Hangup, MqttBehaviour, Responder, ServerStack, SniPolicy,
    TlsOptions, TlsServer, TlsVersion, WsServer,
};
pub use started::Lab;

/// The one way a broker test decides whether it can run: true when the broker is installed;
/// otherwise, under CI (`CI` set) a failure, elsewhere a "SKIPPED" line on stderr naming the
/// test and the reason, and false, so the test returns without asserting anything. A skipped
/// test never counts as evidence: CI installs the brokers and fails without them.
pub fn broker_available(needed: BrokerKind, test: &str) -> bool {
    let (found, what, how) = match needed {
        BrokerKind::Mosquitto => (
            mosquitto_binary().is_some(),
            "mosquitto is not installed",
            format!(
                "apt-get install mosquitto, or set {}",
                mosquitto::MOSQUITTO_ENV
            ),
        ),
        BrokerKind::Rabbitmq => (
            rabbitmq_binary().is_some(),
            "rabbitmq-server is not installed",
            format!(
                "apt-get install rabbitmq-server, or set {}",
                rabbitmq::RABBITMQ_ENV
            ),
        ),
        BrokerKind::Inprocess => return true,
        BrokerKind::Emqx => (
            false,
            "EMQX cannot be started by mqtls",
            "run it yourself and pass --target".to_string(),
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
