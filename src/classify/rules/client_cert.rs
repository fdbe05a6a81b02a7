//! Rules for the broker's verdict on our client certificate (mutual TLS).

use super::*;

pub(super) fn client_cert_required(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let requested = cx.all.iter().any(|e| e.client_cert_requested == Some(true));
    let none_sent = !ev.client_cert_sent && cx.client_cert.is_none();
    // A hang-up without an alert is `silent_rejection`'s.
    let alert = ev.alert_received?;
    let applies = alert == Alert::CERTIFICATE_REQUIRED
        || (alert == Alert::HANDSHAKE_FAILURE && requested && none_sent);
    if !applies {
        return None;
    }
    let late = matches!(
        ev.failure,
        Some(Failure::AlertReceived {
            after_handshake: true,
            ..
        })
    );
    let mut d = Diagnosis::new(
        Code::ClientCertRequired,
        "The broker requires a client certificate and none was sent.",
    )
    .fact(format!(
        "alert received: {alert}{}",
        if late {
            ", after the handshake, on the first read (TLS 1.3)"
        } else {
            ""
        }
    ));
    if requested {
        d = d.fact("the broker sent a CertificateRequest during the handshake");
    }
    Some(required_remedies(d, cx))
}

fn required_remedies(d: Diagnosis, cx: &Context<'_>) -> Diagnosis {
    d.remedy("Client: pass a certificate signed by a CA the broker trusts: `mosquitto_pub --cafile ca.crt --cert client.crt --key client.key ...`; paho-python `client.tls_set(ca_certs=\"ca.crt\", certfile=\"client.crt\", keyfile=\"client.key\")`; rumqttc `ClientConfig::builder().with_root_certificates(roots).with_client_auth_cert(chain, key)`.")
            .remedy("Broker, if client certificates are not meant to be required: mosquitto `require_certificate false`; RabbitMQ `ssl_options.fail_if_no_peer_cert = false`; EMQX `listeners.ssl.default.ssl_options.fail_if_no_peer_cert = false`.")
            .remedy(format!("Check with mqtls: `mqtls diagnose {} --cafile {} --cert client.crt --key client.key`.", cx.target, cx.trust.first_path()))
}

/// The broker asked for a client certificate and then hung up without an alert: during the
/// handshake (a reset or a close instead of `handshake_failure`/`unknown_ca`), or, under TLS
/// 1.3, right after it, before any MQTT was exchanged (Node.js `rejectUnauthorized: false`
/// brokers that check `socket.authorized` themselves, brokers whose alert is lost to a reset).
/// The wire shows when, not why: the reading rests on the request and on what was sent.
pub(super) fn silent_rejection(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if ev.alert_received.is_some() {
        return None;
    }
    let requested_here = ev.client_cert_requested == Some(true);
    let requested = requested_here || cx.all.iter().any(|e| e.client_cert_requested == Some(true));
    if !requested {
        return None;
    }
    let tls13 = ev.tls.version.as_deref() == Some("TLSv1.3");
    let before_connect = ev
        .notes
        .iter()
        .any(|n| n == crate::evidence::SILENT_AFTER_HANDSHAKE);
    let sent = ev.client_cert_sent || (cx.client_cert.is_some() && !requested_here);
    let (when, alternatives) = match ev.failure {
        Some(Failure::PeerClosed { reset }) if ev.phase == Phase::Tls => {
            let how = if reset { "reset" } else { "closed" };
            if tls13 || before_connect {
                (
                    format!("the broker {how} the connection right after the TLS 1.3 handshake, before any MQTT was exchanged, without an alert"),
                    vec![Code::PeerClosed],
                )
            } else {
                (
                    format!("the broker {how} the connection during the handshake, after asking for a client certificate, without an alert"),
                    vec![Code::PeerClosed],
                )
            }
        }
        // CONNECT went out before the close: only without a certificate is the request the
        // likelier reason (a broker checking the certificate when CONNECT arrives).
        Some(Failure::NoConnAck { closed: true }) if tls13 && requested_here && !sent => (
            "the broker closed the connection after the TLS 1.3 handshake and the CONNECT, without an alert or a CONNACK".to_string(),
            vec![Code::MqttNoConnack],
        ),
        _ => return None,
    };
    let asked_for = if cx.all.iter().any(|e| !e.client_cert_ca_names.is_empty()) {
        let names: Vec<String> = ev
            .client_cert_ca_names
            .iter()
            .chain(cx.all.iter().flat_map(|e| e.client_cert_ca_names.iter()))
            .fold(Vec::new(), |mut acc: Vec<String>, n| {
                if !acc.contains(n) {
                    acc.push(n.clone());
                }
                acc
            });
        Some(names)
    } else {
        None
    };
    let asked_fact = match &asked_for {
        Some(names) => format!(
            "the broker asks for certificates issued by: {}",
            elide(names.clone())
        ),
        None => "the broker sent a CertificateRequest that names no CA".to_string(),
    };
    if !sent {
        let d = Diagnosis::new(
            Code::ClientCertRequired,
            "The broker asked for a client certificate, none was sent, and it hung up without saying why: it most likely requires one.",
        )
        .likely(alternatives)
        .fact(when)
        .fact(asked_fact)
        .fact("no client certificate was sent (none was given)")
        .fact(format!("{}: {}", ev.backend, ev.raw_error.as_deref().unwrap_or("no alert")))
        .fact("the broker gave no reason (no TLS alert): its log says why");
        return Some(required_remedies(d, cx));
    }
    let mut d = Diagnosis::new(
        Code::ClientCertUnknownCa,
        "The broker asked for a client certificate, got one, and hung up without saying why: it most likely does not trust the CA that issued it.",
    )
    .likely(
        [Code::ClientCertRejected, Code::ClientCertExpired]
            .into_iter()
            .chain(alternatives),
    )
    .fact(when);
    if let Some(cert) = cx.client_cert {
        d = d.fact(format!(
            "client certificate sent: {} issued by {}, valid {} to {}",
            cert.subject, cert.issuer, cert.not_before, cert.not_after
        ));
        if let Some(names) = &asked_for {
            if names.contains(&cert.issuer) {
                d = d.fact(format!("its issuer {} is among the CAs the broker names: look for another reason (expiry, extendedKeyUsage, a missing intermediate, revocation)", cert.issuer));
            } else {
                d = d.fact(format!(
                    "its issuer {} is not among the CAs the broker names",
                    cert.issuer
                ));
            }
        }
        if cert.not_after_unix < cx.checked_at {
            d = d.fact(format!(
                "the client certificate expired on {}",
                cert.not_after
            ));
        }
    }
    Some(
        d.fact(asked_fact)
            .fact(format!("{}: {}", ev.backend, ev.raw_error.as_deref().unwrap_or("no alert")))
            .fact("the broker gave no reason (no TLS alert): its log says why")
            .remedy("Broker: its CA file must hold the CA that issued the client certificate: mosquitto `cafile` (with `require_certificate true`), RabbitMQ `ssl_options.cacertfile`, EMQX `listeners.ssl.default.ssl_options.cacertfile`; the names it lists above are what it trusts.")
            .remedy("Client: use a certificate issued by one of the CAs the broker names; send the intermediate too (leaf then intermediate in the `--cert` file) when the broker's CA file holds only the root.")
            .remedy(format!("See it: `openssl s_client -connect {} -cert client.crt -key client.key` prints \"Acceptable client certificate CA names\"; `openssl verify -CAfile broker-ca.crt -purpose sslclient client.crt` with the broker's CA file.", cx.target)),
    )
}

pub(super) fn client_cert_rejected_by_broker(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let alert = ev.alert_received?;
    if !(ev.client_cert_sent || cx.client_cert.is_some()) {
        return None;
    }
    let (code, what) = match alert {
        Alert::UNKNOWN_CA => (
            Code::ClientCertUnknownCa,
            "does not trust the CA that issued the client certificate",
        ),
        Alert::CERTIFICATE_EXPIRED => (
            Code::ClientCertExpired,
            "rejected the client certificate as expired",
        ),
        Alert::CERTIFICATE_REVOKED => (
            Code::ClientCertRevoked,
            "rejected the client certificate as revoked",
        ),
        Alert::BAD_CERTIFICATE | Alert::UNSUPPORTED_CERTIFICATE | Alert::CERTIFICATE_UNKNOWN => {
            (Code::ClientCertRejected, "rejected the client certificate")
        }
        // Erlang/OTP brokers (RabbitMQ, EMQX, VerneMQ) answer any client certificate they
        // refuse with handshake_failure; it means that only when ours was asked for and sent.
        Alert::HANDSHAKE_FAILURE
            if (ev.client_cert_sent || cx.client_cert.is_some())
                && cx.all.iter().any(|e| e.client_cert_requested == Some(true)) =>
        {
            (
                Code::ClientCertRejected,
                "refused the handshake after receiving the client certificate",
            )
        }
        _ => return None,
    };
    let mut d = Diagnosis::new(code, format!("The broker {what}."))
        .fact(format!("alert received: {alert}"));
    if let Some(cert) = cx.client_cert {
        d = d.fact(format!(
            "client certificate: {} issued by {}, valid {} to {}",
            cert.subject, cert.issuer, cert.not_before, cert.not_after
        ));
        // What the local analysis finds, so the user is not left guessing the reason.
        if cert.not_after_unix < cx.checked_at {
            d = d.fact(format!(
                "the client certificate expired on {} (checked at {})",
                cert.not_after,
                crate::x509::rfc3339(cx.checked_at)
            ));
        }
        if !cert.eku.is_empty() && !cert.eku.iter().any(|e| e == "clientAuth" || e == "any") {
            d = d.fact(format!("its extendedKeyUsage is {} — no clientAuth, so brokers refuse it for client authentication", cert.eku.join(", ")));
        }
        if cert.version == 1 {
            d = d.fact("it is an X.509 v1 certificate");
        }
    }
    d = match code {
        Code::ClientCertUnknownCa => d
            .remedy("Broker: its CA file must hold the CA that issued the client certificate: mosquitto `cafile` (with `require_certificate true`), RabbitMQ `ssl_options.cacertfile`, EMQX `listeners.ssl.default.ssl_options.cacertfile`.")
            .remedy("Client: use a certificate issued by the CA the broker trusts; send the intermediate too (leaf then intermediate in the `--cert` file) when the broker's CA file holds only the root."),
        Code::ClientCertExpired => d
            .remedy("Client: renew the client certificate; check the device clock first if the dates look right."),
        Code::ClientCertRevoked => d
            .remedy("The certificate is on the broker's CRL (mosquitto `crlfile`, RabbitMQ `ssl_options.crl_check`): issue the client a new certificate.")
            .remedy("If it should not be revoked, check the CRL the broker loads: `openssl crl -in crl.pem -noout -text`; a stale CRL (past nextUpdate) makes OpenSSL brokers refuse every client."),
        _ => d
            .remedy("Client: use a certificate with `extendedKeyUsage = clientAuth`, X.509 v3, issued by the CA the broker trusts.")
            .remedy("Broker: with mosquitto `use_identity_as_username true`, the certificate's CN becomes the user name and must be allowed by the ACL."),
    };
    Some(d.remedy(format!(
        "See it: `openssl verify -CAfile broker-ca.crt -purpose sslclient {}` with the broker's CA file.",
        cx.client_cert.map_or("client.crt".to_string(), |_| "client.crt".to_string())
    )))
}
