//! What a probe that offered an external pre-shared key (TLS-PSK) saw: the facts the PSK rules
//! read. It never holds the key.

use serde::{Deserialize, Serialize};

/// The PSK side of one probe, present only when the user gave `--psk-identity`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PskEvidence {
    /// The identity offered (not secret: it travels in clear in the ClientHello or
    /// ClientKeyExchange).
    pub identity: String,
    /// False when this TLS stack cannot offer an external PSK at all (rustls): no handshake
    /// was made, and that is a property of the stack, not of the broker.
    pub supported: bool,
    /// The stack asked for the key during the handshake: the PSK was really offered (TLS 1.3,
    /// before the ClientHello) or the broker chose a PSK cipher suite (TLS 1.2).
    pub offered: bool,
    /// The identity hint the broker sent in its TLS 1.2 ServerKeyExchange (mosquitto
    /// `psk_hint`); TLS 1.3 has no hint.
    pub hint: Option<String>,
    /// The handshake completed on the PSK: a PSK cipher suite (TLS 1.2) or a PSK session
    /// without a certificate (TLS 1.3).
    pub used: bool,
}

/// The PSK follow-up probe: one OpenSSL handshake pinned to TLS 1.2 that offers only PSK cipher
/// suites, with the user's identity and key, or with a throwaway identity when the user gave
/// none. TLS 1.2 is where the broker's answer is specific: alert 115 (unknown_psk_identity)
/// names the identity, alert 20 (bad_record_mac) on its Finished names the key, alert 40
/// (handshake_failure) says no PSK suite is served, and a ServerKeyExchange carries the hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PskProbe {
    /// The identity sent.
    pub identity: String,
    /// True when the identity was a throwaway one (the user gave no PSK): the probe asks only
    /// whether the broker speaks PSK.
    pub throwaway: bool,
    /// The broker chose a PSK cipher suite (its ServerHello came, and the callback ran).
    pub psk_chosen: bool,
    /// The handshake completed.
    pub completed: bool,
    /// The cipher suite chosen, when one was.
    pub cipher: Option<String>,
    /// The identity hint the broker sent.
    pub hint: Option<String>,
    /// The alert the broker sent, if any.
    pub alert: Option<crate::evidence::Alert>,
    /// What went wrong, in OpenSSL's words.
    pub detail: Option<String>,
}
