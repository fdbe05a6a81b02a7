//! mqtls: diagnose MQTT-over-TLS connections with rustls and OpenSSL side by side.
//!
//! The pipeline is `cli → app → {probe, classify, report}`: a [`probe::Prober`] turns a
//! request into [`evidence::Evidence`] per backend (never an error), the classifier turns
//! evidence plus an independent [`x509`] analysis into a diagnosis, and renderers print it.
#![forbid(unsafe_code)]
// A probe meets broken peers and broken files by design: outside tests nothing may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cert_details;
pub mod chain;
pub mod classify;
pub mod cli;
pub mod commands;

pub mod diagnose;
pub mod error;
pub mod evidence;
pub mod explain;
pub mod facts;
pub mod inputs;
pub mod inspect;
pub mod lab;
pub mod limits;
pub mod logging;
pub mod model;
pub mod pki;
pub mod probe;
pub mod report;
pub mod run;
pub mod scan;
pub mod scenario;
pub mod target;
pub mod x509;
