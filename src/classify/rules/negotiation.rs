//! Rules that rest on follow-up probes or negotiation alerts: SNI, TLS versions, ciphers, ALPN.

use super::*;

/// The handshake with the other SNI setting got further, or was answered with another
/// certificate: the broker picks its answer by SNI.
pub(super) fn sni_required(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let probe = cx.follow_ups.sni.as_ref()?;
    if ev.phase != Phase::Tls || ev.failure.is_none() {
        return None;
    }
    let first_leaf = ev.peer_chain.first().map(|c| c.sha256.as_str());
    let other_leaf = probe.leaf.as_ref().map(|c| c.sha256.as_str());
    let further = probe.completed
        && !matches!(ev.failure, Some(Failure::CertRejected { .. }))
        && !permissive_client_explains(cx);
    let other_cert = first_leaf.is_some() && other_leaf.is_some() && first_leaf != other_leaf;
    if !(further || other_cert) {
        return None;
    }
    let with =
        |sni: Option<&str>| sni.map_or("without SNI".to_string(), |s| format!("with SNI `{s}`"));
    let mut d = Diagnosis::new(
        Code::SniRequired,
        format!(
            "The broker answers differently depending on SNI: {} it {}, {} it {}.",
            with(cx.sni),
            failure_words(ev),
            with(probe.sni.as_deref()),
            if probe.completed {
                "completes the handshake".to_string()
            } else {
                probe.detail.clone().unwrap_or_default()
            }
        ),
    );
    if let (Some(a), Some(b)) = (ev.peer_chain.first(), probe.leaf.as_ref()) {
        d = d.fact(format!(
            "certificate {}: {} (SAN {})",
            with(cx.sni),
            a.subject,
            a.sans.join(", ")
        ));
        d = d.fact(format!(
            "certificate {}: {} (SAN {})",
            with(probe.sni.as_deref()),
            b.subject,
            b.sans.join(", ")
        ));
    }
    Some(
        d.fact(failure_fact(ev))
            .remedy("Client: send the broker's host name as SNI. Connect by name rather than IP (rustls sends no SNI for IP addresses; libmosquitto does); with mqtls, `--sni NAME`.")
            .remedy("Cloud brokers (AWS IoT, HiveMQ Cloud, EMQX Cloud) route by SNI and need it on every connection; old embedded TLS stacks may need SNI enabled explicitly (mbedTLS `mbedtls_ssl_set_hostname`).")
            .remedy(format!("See it: `openssl s_client -connect {} -noservername` vs `-servername NAME`.", cx.target)),
    )
}

/// Whether the SNI follow-up's success proves nothing about SNI. That probe is a permissive
/// OpenSSL client (every version and cipher, security level 0), so it also gets past a
/// broker that refused this backend for its versions or ciphers (a CBC-only broker answers
/// rustls with handshake_failure, as an SNI-routing broker may). It is evidence about SNI only
/// when nothing completed with the SNI setting that was refused: another backend that sent the
/// same SNI and finished its handshake, or a version follow-up (always sent without SNI) the
/// broker accepted when no SNI was sent in the first place, shows the broker takes that setting.
fn permissive_client_explains(cx: &Context<'_>) -> bool {
    // rustls never sends an IP literal as SNI while OpenSSL does, so only a name (or no SNI)
    // was sent identically by every backend.
    let same_sni_everywhere = cx
        .sni
        .is_none_or(|s| s.parse::<std::net::IpAddr>().is_err());
    let other_backend_completed =
        same_sni_everywhere && cx.all.iter().any(|e| e.tls.version.is_some());
    let accepted_without_sni = cx.sni.is_none() && !accepted_versions(cx).is_empty();
    // The user pinned versions and the broker speaks another one: the permissive probe got
    // through on that version, whatever its SNI.
    let pinned_elsewhere = !cx.offered_versions.is_empty()
        && accepted_versions(cx)
            .iter()
            .any(|v| !cx.offered_versions.contains(v));
    other_backend_completed || accepted_without_sni || pinned_elsewhere
}

/// Versions the broker accepted in the follow-up probes.
pub(super) fn accepted_versions(cx: &Context<'_>) -> Vec<TlsVersion> {
    cx.follow_ups
        .versions
        .iter()
        .filter(|p| p.accepted)
        .filter_map(|p| p.version)
        .collect()
}

/// Versions this backend offers.
pub(super) fn offered(ev: &Evidence, cx: &Context<'_>) -> Vec<TlsVersion> {
    let defaults: &[TlsVersion] = match ev.backend {
        crate::evidence::Backend::Rustls => &[TlsVersion::Tls12, TlsVersion::Tls13],
        // Debian's openssl.cnf sets MinProtocol = TLSv1.2.
        crate::evidence::Backend::Openssl => &[TlsVersion::Tls12, TlsVersion::Tls13],
    };
    let base: Vec<TlsVersion> = if cx.offered_versions.is_empty() {
        defaults.to_vec()
    } else {
        cx.offered_versions.to_vec()
    };
    match ev.backend {
        crate::evidence::Backend::Rustls => base
            .into_iter()
            .filter(|v| *v >= TlsVersion::Tls12)
            .collect(),
        crate::evidence::Backend::Openssl => base,
    }
}

pub(super) fn names(versions: &[TlsVersion]) -> String {
    versions
        .iter()
        .map(|v| format!("TLS {}", v.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn handshake_refused(ev: &Evidence) -> bool {
    ev.phase == Phase::Tls
        && ev.tls.version.is_none()
        && matches!(
            ev.failure,
            Some(
                Failure::ProtocolVersion
                    | Failure::NoSharedCipher
                    | Failure::AlertReceived { .. }
                    | Failure::PeerClosed { .. }
            )
        )
}

pub(super) fn legacy_tls_only(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let accepted = accepted_versions(cx);
    if !handshake_refused(ev)
        || accepted.is_empty()
        || accepted.iter().any(|v| *v >= TlsVersion::Tls12)
    {
        return None;
    }
    let rustls_note = if ev.backend == crate::evidence::Backend::Rustls {
        "rustls implements only TLS 1.2 and 1.3 and can never connect to this broker"
    } else {
        "OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; it connects only with `@SECLEVEL=0` and MinProtocol lowered"
    };
    Some(
        Diagnosis::new(Code::LegacyTlsOnly, format!("The broker speaks only {}, which current clients refuse.", names(&accepted)))
            .fact(format!("follow-up handshakes (OpenSSL, security level 0): accepted {}; refused the others", names(&accepted)))
            .fact(rustls_note)
            .fact(failure_fact(ev))
            .remedy("Broker: enable TLS 1.2 (mosquitto `tls_version tlsv1.2`; RabbitMQ `ssl_options.versions.1 = tlsv1.2`; EMQX `listeners.ssl.default.ssl_options.versions = [\"tlsv1.3\",\"tlsv1.2\"]`) — TLS 1.0/1.1 are deprecated (RFC 8996).")
            .remedy(format!("See it: `openssl s_client -connect {} -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'` connects; `-tls1_2` does not.", cx.target)),
    )
}

pub(super) fn versions_disjoint(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let accepted = accepted_versions(cx);
    let offered = offered(ev, cx);
    if !handshake_refused(ev) || accepted.is_empty() || accepted.iter().any(|v| offered.contains(v))
    {
        return None;
    }
    let d = Diagnosis::new(
        Code::TlsVersionMismatch,
        format!(
            "The client offers {} but the broker accepts only {}.",
            names(&offered),
            names(&accepted)
        ),
    )
    .fact(format!(
        "follow-up handshakes: the broker accepted {}",
        names(&accepted)
    ))
    .fact(failure_fact(ev));
    let d = match restricted_fact(cx) {
        Some(fact) => d.fact(fact),
        None => d,
    };
    Some(version_remedies(d, cx, &accepted))
}

pub(super) fn ciphers_disjoint(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let accepted = accepted_versions(cx);
    let offered = offered(ev, cx);
    let common: Vec<TlsVersion> = accepted
        .iter()
        .copied()
        .filter(|v| offered.contains(v))
        .collect();
    let refused_kind = matches!(ev.failure, Some(Failure::NoSharedCipher))
        || matches!(ev.alert_received, Some(a) if a == Alert::HANDSHAKE_FAILURE || a.code == 71);
    if !handshake_refused(ev) || common.is_empty() || !refused_kind {
        return None;
    }
    let chosen: Vec<String> = cx
        .follow_ups
        .versions
        .iter()
        .filter(|p| p.accepted)
        .filter_map(|p| {
            Some(format!(
                "{} {}",
                p.negotiated.as_deref()?,
                p.cipher.as_deref().unwrap_or("?")
            ))
        })
        .collect();
    Some(
        Diagnosis::new(
            Code::NoSharedCipher,
            format!("The client and the broker share {} but no cipher suite.", names(&common)),
        )
        .fact(format!("with every cipher offered (OpenSSL, security level 0) the broker chose: {}", chosen.join("; ")))
        .fact(if ev.backend == crate::evidence::Backend::Rustls {
            "rustls offers only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305; no CBC, no DHE, no static RSA"
        } else {
            "OpenSSL at the default security level refuses weak suites"
        })
        .fact(failure_fact(ev))
        .remedy("Broker: allow ECDHE-ECDSA/ECDHE-RSA with AES-GCM or ChaCha20 (mosquitto `ciphers`, RabbitMQ `ssl_options.ciphers`, EMQX `listeners.ssl.default.ssl_options.ciphers`).")
        .remedy(format!("See it: `openssl s_client -connect {} -cipher 'ECDHE+AESGCM'`.", cx.target)),
    )
}

/// A few words on how a probe failed, for sentences.
pub(super) fn failure_words(ev: &Evidence) -> String {
    match &ev.failure {
        Some(Failure::AlertReceived { alert, .. }) => format!("sends alert {alert}"),
        Some(Failure::PeerClosed { reset: true }) => "resets the connection".into(),
        Some(Failure::PeerClosed { reset: false }) => "closes the connection".into(),
        Some(Failure::CertRejected { .. }) => {
            "presents a certificate that fails verification".into()
        }
        _ => "fails".into(),
    }
}

pub(super) fn tls_version_mismatch(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let applies = matches!(ev.failure, Some(Failure::ProtocolVersion))
        || ev.alert_received == Some(Alert::PROTOCOL_VERSION);
    applies.then(|| {
        let mut d = Diagnosis::new(
            Code::TlsVersionMismatch,
            "The client and the broker share no TLS version.",
        )
        .fact(failure_fact(ev));
        if let Some(fact) = restricted_fact(cx) {
            d = d.fact(fact);
        }
        version_remedies(d, cx, &[TlsVersion::Tls12, TlsVersion::Tls13])
    })
}

/// "mqtls was told to offer only ...", when the user pinned versions.
fn restricted_fact(cx: &Context<'_>) -> Option<String> {
    (!cx.offered_versions.is_empty()).then(|| {
        format!(
            "the versions offered were restricted with `--tls-version` to {}",
            names(cx.offered_versions)
        )
    })
}

/// The remedies of `tls_version_mismatch`: how to offer `accepted` with each client, and what
/// the broker settings mean.
fn version_remedies(d: Diagnosis, cx: &Context<'_>, accepted: &[TlsVersion]) -> Diagnosis {
    let low = accepted.iter().min().copied().unwrap_or(TlsVersion::Tls12);
    let high = accepted.iter().max().copied().unwrap_or(TlsVersion::Tls13);
    let mqtls_flags: Vec<String> = accepted
        .iter()
        .map(|v| format!("--tls-version {}", v.name()))
        .collect();
    let mut d = d;
    if !cx.offered_versions.is_empty() {
        d = d.remedy(format!(
            "mqtls: `--tls-version` pins the versions offered (it is not a minimum); drop it, or give {} (`{}`).",
            names(accepted),
            mqtls_flags.join(" ")
        ));
    }
    let mosquitto = if low >= TlsVersion::Tls12 {
        format!(
            "mosquitto_pub `--tls-version tlsv{}` (a minimum in mosquitto 2.x: it allows TLS {} and newer)",
            low.name(),
            low.name()
        )
    } else {
        "mosquitto_pub cannot go below TLS 1.2 with OpenSSL 3 defaults (`--tls-version tlsv1.1` also needs `--ciphers 'DEFAULT:@SECLEVEL=0'`)".to_string()
    };
    d.remedy(format!(
        "Client: offer {}: {mosquitto}; paho-python `ctx = ssl.create_default_context(cafile=\"ca.crt\"); ctx.minimum_version = ssl.TLSVersion.{}; ctx.maximum_version = ssl.TLSVersion.{}; client.tls_set_context(ctx)`; rumqttc (rustls) `ClientConfig::builder_with_protocol_versions(&[{}])` (rustls has only TLS 1.2 and 1.3).",
        names(accepted),
        python_version(low),
        python_version(high),
        accepted
            .iter()
            .filter(|v| **v >= TlsVersion::Tls12)
            .map(|v| if *v == TlsVersion::Tls13 { "&rustls::version::TLS13" } else { "&rustls::version::TLS12" })
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .remedy("Broker: mosquitto `tls_version` is a minimum (`tlsv1.2` allows 1.2 and 1.3); RabbitMQ lists each version allowed (`ssl_options.versions.1 = tlsv1.3`, `ssl_options.versions.2 = tlsv1.2`); EMQX `listeners.ssl.default.ssl_options.versions = [\"tlsv1.3\",\"tlsv1.2\"]`.")
    .remedy(format!("See it: `openssl s_client -connect {} -tls1_2`, then `-tls1_3`: the broker completes only the versions it speaks.", cx.target))
}

fn python_version(v: TlsVersion) -> &'static str {
    match v {
        TlsVersion::Tls10 => "TLSv1",
        TlsVersion::Tls11 => "TLSv1_1",
        TlsVersion::Tls12 => "TLSv1_2",
        TlsVersion::Tls13 => "TLSv1_3",
    }
}

pub(super) fn no_shared_cipher(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    let applies = matches!(ev.failure, Some(Failure::NoSharedCipher))
        || ev.alert_received == Some(Alert { code: 71 });
    applies.then(|| {
        Diagnosis::new(Code::NoSharedCipher, "The client and the broker share a TLS version but no cipher suite.")
            .fact(failure_fact(ev))
            .remedy("Broker: allow ECDHE with AES-GCM or ChaCha20 (mosquitto `ciphers`, RabbitMQ `ssl_options.ciphers`).")
    })
}

pub(super) fn alpn_rejected(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    (ev.alert_received == Some(Alert::NO_APPLICATION_PROTOCOL)).then(|| {
        Diagnosis::new(Code::AlpnRejected, "The broker refused the ALPN protocol offered (alert no_application_protocol), or requires one that was not offered.")
            .fact(failure_fact(ev))
            .remedy("Client: offer the protocol the endpoint expects (AWS IoT on 443: `--tls-alpn x-amzn-mqtt-ca`; otherwise usually `mqtt`).")
    })
}
