//! The ordered rules of the classifier, one small function per code, and the remedies.
//!
//! Every rule states its facts as expected vs presented, with the real subjects and file
//! names from the evidence, and remedies for the broker (mosquitto, RabbitMQ, EMQX) and the
//! client (mosquitto_pub, paho-python, rumqttc), plus an `openssl` command that shows it.

use crate::chain::PathEnd;
use crate::evidence::TlsVersion;
use crate::evidence::{Alert, CertProblem, Evidence, Failure, Phase};
use crate::x509::CertSummary;

use super::{Context, Diagnosis, DiagnosisCode as Code, WarningFacts};

mod chain;
mod client_cert;
mod expiry;
mod local;
mod mqtt;
mod negotiation;
mod psk;
mod reasons;
mod transport;
mod websocket;

pub(crate) use psk::psk_follow_up_needed;
pub(super) use transport::{looks_like_plaintext, tls_answer_to_plain};
pub(super) use websocket::plan_websocket;

/// A rule: a diagnosis when it applies to this evidence.
pub(super) type Rule = fn(&Evidence, &Context<'_>) -> Option<Diagnosis>;

/// Most specific first; the first match wins.
pub(super) const RULES: &[Rule] = &[
    psk::not_supported_by_stack,
    ok,
    local::client_identity_unusable,
    local::ca_file_unusable,
    transport::dns_failure,
    transport::connection_refused,
    transport::connect_timeout,
    local::client_identity,
    websocket::mqtt_port_websocket_client,
    websocket::websocket_subprotocol_refused,
    websocket::websocket_path_not_found,
    websocket::websocket_port_mqtt_client,
    websocket::plain_http_port,
    websocket::websocket_upgrade_refused,
    transport::plaintext_port,
    transport::tls_port_plain_client,
    transport::not_tls,
    transport::handshake_timeout,
    psk::psk_key_mismatch,
    psk::psk_identity_unknown,
    psk::psk_not_accepted,
    psk::psk_cipher_mismatch,
    psk::psk_required,
    client_cert::client_cert_required,
    client_cert::client_cert_rejected_by_broker,
    client_cert::silent_rejection,
    negotiation::sni_required,
    negotiation::legacy_tls_only,
    negotiation::versions_disjoint,
    negotiation::ciphers_disjoint,
    chain::server_cert_as_ca,
    chain::intermediate_as_anchor,
    chain::same_subject_ca_and_server,
    chain::self_signed_server_cert,
    chain::missing_intermediate,
    reasons::expired_at_boundary,
    chain::server_cert_expired,
    chain::server_cert_not_yet_valid,
    reasons::malformed_certificate,
    reasons::partial_wildcard,
    chain::name_mismatch,
    chain::ca_cert_as_server_cert,
    chain::issuer_not_ca,
    chain::x509_v1_cert,
    reasons::intermediate_eku_missing,
    chain::server_eku_missing,
    chain::weak_signature,
    chain::weak_key,
    chain::unknown_ca,
    reasons::name_constraint_violation,
    reasons::path_length_exceeded,
    reasons::chain_too_long,
    reasons::chain_too_complex,
    reasons::unknown_critical_extension,
    reasons::bad_signature,
    reasons::unsupported_algorithm,
    negotiation::tls_version_mismatch,
    negotiation::no_shared_cipher,
    negotiation::alpn_rejected,
    mqtt::mqtt_version_unsupported,
    mqtt::mqtt_refused,
    mqtt::mqtt_no_connack,
    transport::peer_closed,
];

pub(super) fn ok(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    ev.is_ok().then(|| {
        let mut d = Diagnosis::new(
            Code::Ok,
            if cx.plain {
                "TCP and MQTT succeeded over plain MQTT (no TLS): the broker accepted the connection."
            } else {
                "TCP, TLS and MQTT all succeeded: the broker accepted the connection."
            },
        );
        if let Some(version) = &ev.tls.version {
            d = d.fact(format!(
                "negotiated {version} with {}",
                ev.tls.cipher.as_deref().unwrap_or("an unknown cipher")
            ));
        }
        if let Some(ws) = &ev.websocket {
            d = d.fact(format!(
                "WebSocket upgrade of {}: {}, subprotocol {}",
                ws.path,
                ws.status_line.as_deref().unwrap_or("?"),
                ws.subprotocol.as_deref().unwrap_or("none")
            ));
        }
        if let Some(ack) = &ev.connack {
            d = d.fact(format!(
                "CONNACK {} ({}), MQTT {}",
                ack.code, ack.reason, ack.mqtt_version
            ));
        }
        d
    })
}

/// The explicit fallback: the raw error and the evidence, nothing invented.
pub(super) fn unclassified(ev: &Evidence) -> Diagnosis {
    if let Some(d) = oversized_handshake(ev) {
        return d;
    }
    Diagnosis::new(
        Code::Unclassified,
        format!(
            "The {} probe failed in the {} phase in a way mqtls does not recognise yet.",
            ev.backend,
            ev.phase.name()
        ),
    )
    .fact(format!("failure: {:?}", ev.failure))
    .fact(format!(
        "raw error: {}",
        ev.raw_error.as_deref().unwrap_or("none")
    ))
    .remedy("Please report this output: every unclassified failure is a gap in mqtls's catalogue.")
}

/// No catalogue code names a handshake message too large for the client (a chain of
/// megabytes): it stays the explicit fallback, but says what happened instead of "not
/// recognised".
fn oversized_handshake(ev: &Evidence) -> Option<Diagnosis> {
    let raw = ev.raw_error.as_deref()?;
    let limit = if raw.contains("HandshakePayloadTooLarge") {
        "rustls accepts handshake messages up to 64 KiB"
    } else if raw.contains("excessive message size") {
        "OpenSSL accepts a certificate message up to 100 KiB by default (max_cert_list)"
    } else {
        return None;
    };
    Some(
        Diagnosis::new(
            Code::Unclassified,
            "The broker sent a handshake message (normally its certificate chain) larger than this TLS stack accepts.",
        )
        .fact(format!(
            "{} bytes received before the client gave up; {limit}",
            ev.bytes_received
        ))
        .fact(format!("raw error: {raw}"))
        .remedy("Broker: serve only the leaf and its intermediates (a few KiB); a certfile that concatenates a whole CA bundle, or the same certificate many times, is the usual cause.")
        .remedy("Client: nothing to fix on this side; a larger limit would only hide the broker's mistake."),
    )
}

/// Problems that did not break this backend but will break another stack or common clients.
pub(super) fn warnings(ev: &Evidence, cx: &Context<'_>) -> Vec<Code> {
    let mut out = Vec::new();
    if !ev.is_ok() {
        return out;
    }
    if let Some(problem) = cx.identity_problem {
        // Connected without the client certificate the user meant to send.
        out.push(problem.code());
    }
    if ev.psk.as_ref().is_some_and(|p| p.supported && !p.used) {
        // Connected on the broker's certificate: the pre-shared key the device relies on was
        // not used, so a device without the CA file would fail.
        out.push(Code::PskNotAccepted);
    }
    let chain = chain(ev, cx);
    if let Some(leaf) = chain.first() {
        if leaf.sans.is_empty() {
            out.push(Code::CnOnlyNoSan);
        }
        if leaf.is_ca() {
            out.push(Code::CaCertAsServerCert);
        }
        // The CA (in the CA file or the chain) has the leaf's subject: OpenSSL takes such a
        // leaf without distinct key identifiers for self-signed (verify error 18).
        if cx
            .trust
            .certs
            .iter()
            .chain(chain.iter().skip(1))
            .any(|c| c.is_ca() && c.subject == leaf.subject && c.sha256 != leaf.sha256)
        {
            out.push(Code::SameSubjectCaAndServer);
        }
    }
    // What the path uses: a certificate the broker sent but no path needs (a stale cross-sign)
    // breaks nobody.
    let used: Vec<CertSummary> = match cx.chain {
        Some(a) => a.path.iter().map(|l| l.cert.clone()).collect(),
        None => chain.clone(),
    };
    // A self-signed root's own signature is never checked.
    let signed = |c: &&CertSummary| !(c.self_signed && c.is_ca());
    // rustls never looks at an anchor's version; a v1 root above the leaf is fine.
    if used
        .iter()
        .enumerate()
        .any(|(i, c)| c.version == 1 && !(i > 0 && c.self_signed))
    {
        out.push(Code::X509V1Cert);
    }
    if let Some(a) = cx.chain {
        // Connected only because the CA file supplied an intermediate the broker did not send:
        // every client that trusts just the root will fail.
        if a.anchored() && !a.not_sent().is_empty() {
            out.push(Code::MissingIntermediate);
        }
    }
    if used
        .iter()
        .filter(signed)
        .any(CertSummary::has_weak_signature)
    {
        out.push(Code::WeakSignature);
    }
    if used.iter().any(CertSummary::has_small_rsa_key) {
        out.push(Code::WeakKey);
    }
    match cx.chain {
        Some(a) => {
            if a.end == (PathEnd::Anchored { root: false }) {
                out.push(Code::IntermediateAsAnchor);
            }
            if a.top()
                .is_some_and(|t| t.anchor() && t.cert.not_after_unix < cx.checked_at)
            {
                out.push(Code::ExpiredTrustAnchor);
            }
        }
        None => {
            if !cx.trust.certs.is_empty() && !cx.trust.certs.iter().any(|c| c.self_signed) {
                out.push(Code::IntermediateAsAnchor);
            }
            if cx
                .trust
                .certs
                .iter()
                .any(|c| c.not_after_unix < cx.checked_at)
            {
                out.push(Code::ExpiredTrustAnchor);
            }
        }
    }
    if matches!(ev.tls.version.as_deref(), Some("TLSv1" | "TLSv1.1")) {
        out.push(Code::LegacyTlsOnly);
    }
    if !expiry::expiring(ev, cx).is_empty() {
        out.push(Code::CertExpiresSoon);
    }
    out
}

/// The facts of the warnings that carry some, in the order of `warnings`.
pub(super) fn warning_facts(
    warnings: &[Code],
    ev: &Evidence,
    cx: &Context<'_>,
) -> Vec<WarningFacts> {
    warnings
        .iter()
        .filter_map(|&code| match code {
            Code::CertExpiresSoon => Some(WarningFacts {
                code,
                facts: expiry::facts(ev, cx),
            }),
            _ => None,
        })
        .collect()
}

pub(super) fn cert_problem(ev: &Evidence) -> Option<&CertProblem> {
    match &ev.failure {
        Some(Failure::CertRejected { problem }) => Some(problem),
        _ => None,
    }
}

pub(super) fn chain_untrusted(ev: &Evidence) -> bool {
    matches!(
        cert_problem(ev),
        Some(CertProblem::UnknownIssuer | CertProblem::SelfSigned { .. })
    )
}

/// The presented chain: this backend's, or another backend's when this one saw none.
pub(super) fn chain<'a>(ev: &'a Evidence, cx: &Context<'a>) -> Vec<CertSummary> {
    if !ev.peer_chain.is_empty() {
        return ev.peer_chain.clone();
    }
    cx.all
        .iter()
        .find(|e| !e.peer_chain.is_empty())
        .map(|e| e.peer_chain.clone())
        .unwrap_or_default()
}

pub(super) fn leaf<'a>(ev: &'a Evidence, cx: &Context<'a>) -> Option<&'a CertSummary> {
    ev.peer_chain
        .first()
        .or_else(|| cx.all.iter().find_map(|e| e.peer_chain.first()))
}

pub(super) fn chain_text(chain: &[CertSummary]) -> String {
    let items: Vec<String> = chain
        .iter()
        .enumerate()
        .map(|(i, c)| format!("[{i}] {} (issued by {})", c.subject, c.issuer))
        .collect();
    elide(items)
}

/// Joins a list for a sentence, keeping the first and last few of a long one: a hostile broker
/// sends a hundred certificates, a fact lists six and says how many it left out.
pub(super) fn elide(items: Vec<String>) -> String {
    const HEAD: usize = 4;
    const TAIL: usize = 2;
    if items.len() <= HEAD + TAIL + 1 {
        return items.join("; ");
    }
    let left_out = items.len() - HEAD - TAIL;
    let mut shown: Vec<String> = items.iter().take(HEAD).cloned().collect();
    shown.push(format!("… {left_out} more …"));
    shown.extend(items.iter().skip(items.len() - TAIL).cloned());
    shown.join("; ")
}

pub(super) fn subjects(certs: &[CertSummary]) -> String {
    if certs.is_empty() {
        return "(no certificates listed)".into();
    }
    certs
        .iter()
        .map(|c| {
            format!(
                "{} ({})",
                c.subject,
                if c.self_signed {
                    "self-signed".to_string()
                } else {
                    format!("issued by {}", c.issuer)
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn failure_fact(ev: &Evidence) -> String {
    format!(
        "{}: {}",
        ev.backend,
        ev.raw_error.as_deref().unwrap_or("verification failed")
    )
}

pub(super) fn host_of(target: &str) -> &str {
    target
        .rsplit_once(':')
        .map_or(target, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
}

pub(super) fn port_of(target: &str) -> &str {
    target.rsplit_once(':').map_or("8883", |(_, p)| p)
}
