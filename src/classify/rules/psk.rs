//! Rules for external pre-shared keys (TLS-PSK, mosquitto `psk_hint`/`psk_file`).
//!
//! What OpenSSL servers (mosquitto) answer, measured with OpenSSL 3.0 on both sides:
//!
//! | situation                  | TLS 1.2                          | TLS 1.3                         |
//! |----------------------------|----------------------------------|---------------------------------|
//! | unknown identity           | alert 115 unknown_psk_identity   | alert 40 handshake_failure      |
//! | wrong key                  | alert 20 bad_record_mac          | alert 47 illegal_parameter      |
//! | no PSK offered, PSK only   | alert 40 handshake_failure       | alert 40 handshake_failure      |
//! | PSK offered, no PSK served | the broker's certificate         | the broker's certificate        |
//!
//! TLS 1.3 is ambiguous: an unknown identity is simply ignored (RFC 8446 §4.2.11), and the
//! broker then needs a certificate it may not have. So when a PSK handshake fails, the
//! follow-up repeats it in TLS 1.2 offering only PSK suites, where the answer is specific; a
//! broker that refuses TLS 1.2 leaves the reading `likely`.

use crate::evidence::psk::{PskEvidence, PskProbe};

use super::*;

const BAD_RECORD_MAC: Alert = Alert { code: 20 };
const ILLEGAL_PARAMETER: Alert = Alert { code: 47 };
const DECRYPT_ERROR: Alert = Alert { code: 51 };
const UNKNOWN_PSK_IDENTITY: Alert = Alert { code: 115 };

/// Whether the evidence calls for the PSK follow-up: a PSK handshake that failed, or a
/// handshake without PSK that the broker refused with handshake_failure before sending any
/// certificate (a PSK-only broker does exactly that).
pub(crate) fn psk_follow_up_needed(ev: &Evidence) -> bool {
    let failed_in_tls = ev.phase == Phase::Tls && ev.failure.is_some();
    match &ev.psk {
        Some(p) => p.supported && failed_in_tls && !p.used,
        None => {
            failed_in_tls
                && ev.alert_received == Some(Alert::HANDSHAKE_FAILURE)
                && ev.peer_chain.is_empty()
                && ev.tls.version.is_none()
                && ev.client_cert_requested != Some(true)
        }
    }
}

/// rustls implements no external PSK: its column says so, as evidence about the stack.
pub(super) fn not_supported_by_stack(ev: &Evidence, _cx: &Context<'_>) -> Option<Diagnosis> {
    let psk = ev.psk.as_ref().filter(|p| !p.supported)?;
    Some(
        Diagnosis::new(
            Code::NotSupportedByStack,
            format!(
                "Not supported by this stack: {} has no external pre-shared keys (TLS-PSK), so it made no connection; this says nothing about the broker.",
                ev.backend
            ),
        )
        .fact(format!("PSK identity asked for: {}", psk.identity))
        .fact(format!("{}: {}", ev.backend, ev.raw_error.as_deref().unwrap_or("no PSK support")))
        .remedy("Client: PSK needs an OpenSSL-, mbedTLS- or wolfSSL-based client (mosquitto_pub `--psk HEX --psk-identity ID`, Python's ssl `set_psk_client_callback` from 3.13); rustls-based clients (rumqttc) need certificates instead.")
        .remedy("To probe only the stack that can: `--backend openssl`."),
    )
}

/// The broker does not know the identity: alert 115 in TLS 1.2, or, in TLS 1.3, a
/// handshake_failure without a certificate that the TLS 1.2 follow-up could not explain.
pub(super) fn psk_identity_unknown(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let psk = offered(ev)?;
    let follow = decisive_follow_up(cx);
    let direct = ev.alert_received == Some(UNKNOWN_PSK_IDENTITY);
    let by_follow_up = follow.is_some_and(|f| f.alert == Some(UNKNOWN_PSK_IDENTITY));
    // The key went out in a TLS 1.3 ClientHello (OpenSSL asks for it before sending one; under
    // TLS 1.2 only once the broker chose a PSK suite).
    let tls13_silence = psk.offered
        && ev.alert_received == Some(Alert::HANDSHAKE_FAILURE)
        && ev.peer_chain.is_empty()
        && follow.is_none();
    if !(direct || by_follow_up || tls13_silence) {
        return None;
    }
    let unconfirmed = (!(direct || by_follow_up)).then_some((
        "TLS 1.3 gives no specific alert for an unknown identity: the broker ignores the PSK and, having no certificate to fall back on, answers handshake_failure; the TLS 1.2 follow-up that would name the identity got no PSK answer",
        vec![Code::NoSharedCipher],
    ));
    Some(psk_refusal(
        Code::PskIdentityUnknown,
        format!(
            "The broker does not know the PSK identity `{}`.",
            psk.identity
        ),
        ev,
        cx,
        &psk.identity,
        unconfirmed,
    ))
}

/// The broker knows the identity but the key differs: the Finished message does not decrypt
/// (TLS 1.2, alert 20) or the ClientHello binder does not verify (TLS 1.3, alert 47 from
/// OpenSSL, 51 from others).
pub(super) fn psk_key_mismatch(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let psk = offered(ev)?;
    let follow = decisive_follow_up(cx);
    let direct = ev.alert_received == Some(BAD_RECORD_MAC) && psk.offered;
    let by_follow_up = follow.is_some_and(|f| f.alert == Some(BAD_RECORD_MAC) && f.psk_chosen);
    let binder = psk.offered
        && matches!(ev.alert_received, Some(a) if a == ILLEGAL_PARAMETER || a == DECRYPT_ERROR)
        && ev.peer_chain.is_empty()
        && follow.is_none();
    if !(direct || by_follow_up || binder) {
        return None;
    }
    let unconfirmed = (!(direct || by_follow_up)).then_some((
        "under TLS 1.3 a wrong key shows as a binder the broker cannot verify (OpenSSL answers illegal_parameter, RFC 8446 asks for decrypt_error); the TLS 1.2 follow-up that would confirm it got no PSK answer",
        Vec::new(),
    ));
    Some(psk_refusal(
        Code::PskKeyMismatch,
        format!(
            "The broker knows the PSK identity `{}` but holds another key for it.",
            psk.identity
        ),
        ev,
        cx,
        &psk.identity,
        unconfirmed,
    ))
}

/// The verdict of a broker that refused the PSK offered: the identity, the alert, the
/// follow-up's facts and the remedies. `unconfirmed` is set when neither a specific alert nor
/// the TLS 1.2 follow-up decided: why not, and the other readings (the verdict is then likely).
fn psk_refusal(
    code: Code,
    summary: String,
    ev: &Evidence,
    cx: &Context<'_>,
    identity: &str,
    unconfirmed: Option<(&str, Vec<Code>)>,
) -> Diagnosis {
    let mut d = Diagnosis::new(code, summary)
        .fact(format!("identity offered: {identity}"))
        .fact(alert_fact(ev));
    d = follow_up_facts(d, cx);
    if let Some((why, alternatives)) = unconfirmed {
        d = d.fact(why).likely(alternatives);
    }
    psk_remedies(d, cx, identity)
}

/// A PSK was offered and the broker answered with a certificate: this listener authenticates
/// with certificates, not PSK.
pub(super) fn psk_not_accepted(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let psk = offered(ev)?;
    if ev.peer_chain.is_empty() {
        return None;
    }
    let follow = cx.follow_ups.psk.as_ref().filter(|f| !f.throwaway);
    // The broker does speak PSK in TLS 1.2: another rule (or the certificate) explains it.
    if follow.is_some_and(|f| f.completed || f.psk_chosen) {
        return None;
    }
    let no_psk_suite = follow.is_some_and(|f| f.alert == Some(Alert::HANDSHAKE_FAILURE));
    let leaf = &ev.peer_chain[0];
    let mut d = Diagnosis::new(
        Code::PskNotAccepted,
        "A pre-shared key was offered but the broker answered with a certificate: this listener expects certificate-based TLS, not PSK.",
    )
    .fact(format!("identity offered: {}", psk.identity))
    .fact(format!(
        "the broker sent a certificate: {} (issued by {})",
        leaf.subject, leaf.issuer
    ))
    .fact(failure_fact(ev));
    d = follow_up_facts(d, cx);
    if !no_psk_suite {
        d = d
            .fact("under TLS 1.3 a broker that serves both ignores an unknown identity and falls back to its certificate; the TLS 1.2 follow-up that would tell got no answer")
            .likely([Code::PskIdentityUnknown]);
    }
    Some(
        d.remedy("Broker, if PSK is meant to work here: mosquitto needs `psk_hint` and `psk_file` on this listener (with `per_listener_settings true`, in its block); a listener without `psk_hint` never does PSK.")
            .remedy(format!("Client, if this listener is meant for certificates: drop the PSK and verify the broker, `mqtls diagnose {} --cafile ca.crt`.", cx.target))
            .remedy(format!("See it: `openssl s_client -connect {} -tls1_2 -cipher PSK -psk_identity {} -psk HEX` fails with handshake_failure when no PSK suite is served.", cx.target, psk.identity)),
    )
}

/// A PSK was offered only in TLS 1.2 cipher suites (OpenSSL never asked for the key: the broker
/// chose none of them) and the broker answered handshake_failure without a certificate.
pub(super) fn psk_cipher_mismatch(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let psk = offered(ev)?;
    if psk.offered
        || ev.alert_received != Some(Alert::HANDSHAKE_FAILURE)
        || !ev.peer_chain.is_empty()
    {
        return None;
    }
    let follow = cx.follow_ups.psk.as_ref().filter(|f| !f.throwaway);
    if follow.is_some_and(|f| f.psk_chosen || f.completed) {
        return None;
    }
    let mut d = Diagnosis::new(
        Code::PskCipherMismatch,
        "A pre-shared key was offered under TLS 1.2 and the broker chose none of the PSK cipher suites offered.",
    )
    .fact(format!("identity offered: {}", psk.identity))
    .fact(alert_fact(ev))
    .fact("the key was never asked for: under TLS 1.2 a PSK is used only once the broker picks a PSK suite (TLS 1.3 needs none)");
    d = follow_up_facts(d, cx);
    if !follow.is_some_and(|f| f.alert == Some(Alert::HANDSHAKE_FAILURE)) {
        d = d
            .fact("no TLS 1.2 follow-up offering only PSK suites confirmed that the broker serves none")
            .likely([Code::NoSharedCipher]);
    }
    Some(
        d.remedy("Broker: mosquitto `ciphers` must list PSK suites for TLS 1.2 devices (e.g. `ECDHE-PSK-AES128-CBC-SHA256:DHE-PSK-AES128-GCM-SHA256:PSK-AES128-GCM-SHA256`), or be left out; `openssl ciphers -v PSK` lists them.")
            .remedy("Client: allow TLS 1.3 if the device can (its PSK needs no PSK cipher suite), or offer the suite the broker serves.")
            .remedy(format!("See it: `openssl s_client -connect {} -tls1_2 -cipher PSK -psk_identity {} -psk HEX` fails with handshake_failure.", cx.target, psk.identity)),
    )
}

/// No PSK was offered and the broker refused before sending a certificate; the follow-up with a
/// throwaway identity shows the broker speaks PSK.
pub(super) fn psk_required(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if ev.psk.is_some() || !ev.peer_chain.is_empty() || ev.phase != Phase::Tls {
        return None;
    }
    let f = cx.follow_ups.psk.as_ref().filter(|f| f.throwaway)?;
    if !(f.psk_chosen || f.alert == Some(UNKNOWN_PSK_IDENTITY)) {
        return None;
    }
    let mut d = Diagnosis::new(
        Code::PskRequired,
        "The broker expects a pre-shared key (TLS-PSK) and this client offered certificates only.",
    )
    .fact(failure_fact(ev))
    .fact(if ev.client_cert_sent || cx.client_cert.is_some() {
        "no PSK was offered; a client certificate was given, and the broker never asked for one"
    } else {
        "no PSK was offered, and the broker sent no certificate of its own"
    });
    d = follow_up_facts(d, cx);
    Some(
        d.remedy(format!(
            "Client: offer the device's identity and key: `mqtls diagnose {} --psk-identity ID --psk-key-env VAR`; mosquitto_pub `--psk HEX --psk-identity ID` (no --cafile); rustls-based clients (rumqttc) cannot do PSK.",
            cx.target
        ))
        .remedy("Broker, if certificates are meant to work too: serve them on a second listener (mosquitto refuses `certfile` and `psk_hint` on one listener: \"Cannot use both certificate and psk encryption in a single listener\").")
        .remedy(format!("See it: `openssl s_client -connect {} -tls1_2 -psk_identity ID -psk HEX` prints the broker's hint and its verdict on the identity.", cx.target)),
    )
}

/// The user's PSK as this backend offered it.
fn offered(ev: &Evidence) -> Option<&PskEvidence> {
    let psk = ev.psk.as_ref().filter(|p| p.supported)?;
    (ev.phase == Phase::Tls && ev.failure.is_some() && !psk.used).then_some(psk)
}

/// The follow-up with the user's PSK, when the broker answered it as a PSK server would (a
/// PSK suite chosen, or alert 115); `None` when it could not tell (a TLS 1.3-only broker).
fn decisive_follow_up<'a>(cx: &Context<'a>) -> Option<&'a PskProbe> {
    cx.follow_ups
        .psk
        .as_ref()
        .filter(|f| !f.throwaway && (f.psk_chosen || f.alert == Some(UNKNOWN_PSK_IDENTITY)))
}

fn alert_fact(ev: &Evidence) -> String {
    match ev.alert_received {
        Some(alert) => format!(
            "{} received alert {alert}{}",
            ev.backend,
            if ev.peer_chain.is_empty() {
                ", and no certificate from the broker"
            } else {
                ""
            }
        ),
        None => failure_fact(ev),
    }
}

fn follow_up_facts(mut d: Diagnosis, cx: &Context<'_>) -> Diagnosis {
    let Some(f) = &cx.follow_ups.psk else {
        return d;
    };
    let outcome = if f.completed {
        format!(
            "completed with {}",
            f.cipher.as_deref().unwrap_or("a PSK suite")
        )
    } else if let Some(alert) = f.alert {
        format!("got alert {alert}")
    } else {
        f.detail.clone().unwrap_or_else(|| "got no answer".into())
    };
    d = d.fact(format!(
        "TLS 1.2 follow-up offering only PSK suites as `{}`{}: {outcome}",
        f.identity,
        if f.throwaway {
            " (a throwaway identity)"
        } else {
            ""
        }
    ));
    if let Some(hint) = &f.hint {
        d = d.fact(format!("the broker's PSK identity hint: `{hint}`"));
    }
    d
}

fn psk_remedies(d: Diagnosis, cx: &Context<'_>, identity: &str) -> Diagnosis {
    d.remedy(format!("Broker: mosquitto's `psk_file` needs the line `{identity}:HEXKEY` with the device's key (hex, no 0x), in the block of the listener the device uses."))
        .remedy("Client: the key is hex on both sides (mosquitto_pub `--psk`, mqtls `--psk-key-env`); a key given as text or base64 on one side never matches.")
        .remedy(format!("See it: `openssl s_client -connect {} -tls1_2 -psk_identity {identity} -psk HEX` (TLS 1.2 names the problem: alert 115 for the identity, 20 for the key).", cx.target))
}
