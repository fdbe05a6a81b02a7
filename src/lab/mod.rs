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
    TlsOptions, TlsServer, TlsVersion,
};
