//! Rules for the broker's verdict on our client certificate (mutual TLS).

use super::*;

pub(super) fn client_cert_required(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let requested = cx.all.iter().any(|e| e.client_cert_requested == Some(true));
    let none_sent = !ev.client_cert_sent && cx.client_cert.is_none();
    // The broker asked, we had nothing to send, and it hung up during the handshake: under
    // TLS 1.2 its handshake_failure alert can be lost to the reset that follows it.
    let closed_after_request = requested
        && none_sent
        && ev.phase == Phase::Tls
        && matches!(ev.failure, Some(Failure::PeerClosed { .. }));
    let alert = match ev.alert_received {
        Some(alert) => alert,
        None if closed_after_request => Alert::HANDSHAKE_FAILURE,
        None => return None,
    };
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
        "alert {}: {alert}{}",
        if ev.alert_received.is_some() {
            "received"
        } else {
            "implied"
        },
        if late {
            ", after the handshake, on the first read (TLS 1.3)"
        } else {
            ""
        }
    ));
    if ev.alert_received.is_none() {
        d = d.fact(format!(
            "the broker closed the connection right after asking for a client certificate ({}); its alert was lost to the reset",
            ev.raw_error.as_deref().unwrap_or("no alert read")
        ));
    }
    if requested {
        d = d.fact("the broker sent a CertificateRequest during the handshake");
    }
    Some(
        d.remedy("Client: pass a certificate signed by a CA the broker trusts: `mosquitto_pub --cafile ca.crt --cert client.crt --key client.key ...`; paho-python `client.tls_set(ca_certs=\"ca.crt\", certfile=\"client.crt\", keyfile=\"client.key\")`; rumqttc `ClientConfig::builder().with_root_certificates(roots).with_client_auth_cert(chain, key)`.")
            .remedy("Broker, if client certificates are not meant to be required: mosquitto `require_certificate false`; RabbitMQ `ssl_options.fail_if_no_peer_cert = false`; EMQX `listeners.ssl.default.ssl_options.fail_if_no_peer_cert = false`.")
            .remedy(format!("Check with mqtls: `mqtls diagnose {} --cafile {} --cert client.crt --key client.key`.", cx.target, cx.trust.first_path())),
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
