//! Rules for the broker's certificate chain as this client verified it, related to the CA file
//! by the independent X.509 analysis.

use super::*;

pub(super) fn server_cert_as_ca(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let leaf = leaf(ev, cx)?;
    // The exact leaf in the CA file is the mistake whatever else the verifier tripped over
    // first (rustls reports a v1 leaf's version before trust); other end-entity certificates
    // in the CA file only explain an untrusted chain.
    let exact_leaf = cx
        .trust
        .certs
        .iter()
        .any(|c| c.sha256 == leaf.sha256 && !c.is_ca());
    if !(chain_untrusted(ev) || (exact_leaf && cert_problem(ev).is_some())) {
        return None;
    }
    let end_entities: Vec<&CertSummary> = cx
        .trust
        .certs
        .iter()
        .filter(|c| !c.is_ca() && !c.self_signed)
        .collect();
    let holds_leaf = cx
        .trust
        .certs
        .iter()
        .any(|c| c.sha256 == leaf.sha256 || (c.subject == leaf.subject && !c.is_ca()));
    if end_entities.is_empty() || !(holds_leaf || end_entities.len() == cx.trust.certs.len()) {
        return None;
    }
    let file = cx.trust.describe();
    let which = if holds_leaf {
        "the broker's own certificate"
    } else {
        "an end-entity certificate"
    };
    let mut d = Diagnosis::new(
        Code::ServerCertAsCa,
        format!(
            "Your CA file {file} holds {which} ({}) instead of the CA that issued it ({}).",
            end_entities[0].subject, leaf.issuer
        ),
    );
    for c in &end_entities {
        d = d.fact(format!(
            "CA file holds {} (issued by {}, CA:{}) — not a CA",
            c.subject,
            c.issuer,
            ca_flag(c)
        ));
    }
    d = d.fact(format!(
        "the broker presented {}",
        chain_text(&chain(ev, cx))
    ));
    d = d.fact(failure_fact(ev));
    Some(
        d.remedy(format!("Client: pass the CA certificate that issued the broker's certificate ({}), or the root it chains to, instead of the server certificate: `mosquitto_pub --cafile ca.crt ...`; paho-python `tls_set(ca_certs=\"ca.crt\")`; rumqttc: add the CA, not the server certificate, to the `RootCertStore`.", leaf.issuer))
            .remedy("Broker: nothing to change; the broker's `certfile` is right, the client has the wrong file.")
            .remedy(format!("See it: `openssl x509 -in {} -noout -subject -issuer -ext basicConstraints` shows a subject that is not a CA.", cx.trust.first_path())),
    )
}

pub(super) fn intermediate_as_anchor(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::UnknownIssuer)) {
        return None;
    }
    let chain = chain(ev, cx);
    let anchor = cx.trust.certs.iter().find(|c| {
        !c.self_signed && c.is_ca() && chain.iter().any(|p| c.issued(p) || c.sha256 == p.sha256)
    })?;
    let has_root = cx
        .trust
        .certs
        .iter()
        .any(|r| r.self_signed && r.issued(anchor));
    if has_root {
        return None;
    }
    Some(
        Diagnosis::new(
            Code::IntermediateAsAnchor,
            format!("Your CA file holds only the intermediate {} and not the root {} it chains to: {} refuses an anchor that is not self-signed.", anchor.subject, anchor.issuer, ev.backend),
        )
        .fact(format!("CA file {} holds {} (issued by {})", cx.trust.describe(), anchor.subject, anchor.issuer))
        .fact(failure_fact(ev))
        .fact("rustls accepts any certificate in the CA file as a trust anchor; OpenSSL (and Python, mosquitto_pub, paho) needs a self-signed root unless X509_V_FLAG_PARTIAL_CHAIN is set")
        .remedy(format!("Client: put the root {} in the CA file (root + intermediate is fine).", anchor.issuer))
        .remedy(format!("See it: `openssl verify -CAfile {} server.crt` says \"unable to get issuer certificate\".", cx.trust.first_path())),
    )
}

/// The broker's certificate has the same subject DN as the CA that issued it (mosquitto-tls(7)
/// warns about it): OpenSSL then takes the leaf for a self-signed certificate.
pub(super) fn same_subject_ca_and_server(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !chain_untrusted(ev) {
        return None;
    }
    let leaf = leaf(ev, cx)?;
    let twin = cx
        .trust
        .certs
        .iter()
        .chain(chain(ev, cx).iter().skip(1).collect::<Vec<_>>())
        .find(|c| c.subject == leaf.subject && c.sha256 != leaf.sha256)?
        .clone();
    Some(
        Diagnosis::new(
            Code::SameSubjectCaAndServer,
            format!("The broker's certificate and the CA {} have the identical subject `{}`: verifiers mistake the leaf for the CA or for a self-signed certificate.", if twin.is_ca() { "certificate" } else { "file's certificate" }, leaf.subject),
        )
        .fact(format!("leaf: {} issued by {}", leaf.subject, leaf.issuer))
        .fact(format!("CA: {} ({})", twin.subject, if twin.self_signed { "self-signed" } else { "not self-signed" }))
        .fact(failure_fact(ev))
        .fact("OpenSSL finds the leaf's issuer by name and, without distinct key identifiers, treats the leaf as self-signed (error 18); rustls fails only when the certificate is also v1")
        .remedy("Broker PKI: give the CA and the server different subjects, e.g. CA `CN=Example MQTT CA`, server `CN=broker.example.com`, as mosquitto-tls(7) asks.")
        .remedy("See it: `openssl x509 -in ca.crt -noout -subject` and `openssl x509 -in server.crt -noout -subject` print the same line."),
    )
}

pub(super) fn self_signed_server_cert(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !chain_untrusted(ev) {
        return None;
    }
    let leaf = leaf(ev, cx)?;
    let trusted = cx.trust.certs.iter().any(|c| c.sha256 == leaf.sha256);
    if !leaf.self_signed || trusted || chain(ev, cx).len() > 1 {
        return None;
    }
    Some(
        Diagnosis::new(
            Code::SelfSignedServerCert,
            format!("The broker presents a self-signed certificate ({}) that your CA file does not contain.", leaf.subject),
        )
        .fact(format!("presented: {} (self-signed, CA:{})", leaf.subject, ca_flag(leaf)))
        .fact(format!("CA file {} holds: {}", cx.trust.describe(), subjects(&cx.trust.certs)))
        .fact(failure_fact(ev))
        .remedy("Best: issue the broker a certificate from a small CA (root → server) and give clients the root.")
        .remedy("Or trust this exact certificate on the client (`--cafile broker.crt`); rustls refuses it if it has CA:TRUE (CaUsedAsEndEntity).")
        .remedy(format!("See it: `openssl s_client -connect {} -showcerts` shows subject = issuer.", cx.target)),
    )
}

pub(super) fn missing_intermediate(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::UnknownIssuer)) {
        return None;
    }
    let chain = chain(ev, cx);
    let top = chain.last()?;
    let missing = &top.issuer;
    // A broker that sent a CA certificate on top of its leaf did send its intermediate; what
    // it omits then is the root, which is the CA file's job: that is `unknown_ca`.
    if top.self_signed
        || top.is_ca()
        || chain.iter().any(|c| &c.subject == missing)
        || cx.trust.certs.iter().any(|c| &c.subject == missing)
    {
        return None;
    }
    let root = cx
        .trust
        .certs
        .iter()
        .find(|c| c.is_ca() && related(c, missing))?;
    Some(
        Diagnosis::new(
            Code::MissingIntermediate,
            format!("The broker's certificate was issued by {missing}, but your CA file only holds {} and the broker did not send the intermediate.", root.subject),
        )
        .fact(format!("the broker presented {} certificate(s): {}", chain.len(), chain_text(&chain)))
        .fact(format!("{missing} is neither in what the broker sent nor in the CA file {}", cx.trust.describe()))
        .fact(format!("the CA file holds {} ({}), from the same PKI as {missing}", root.subject, if root.self_signed { "self-signed root" } else { "CA" }))
        .fact(failure_fact(ev))
        .remedy("Broker (mosquitto): `certfile` must hold the server certificate followed by the intermediate (a fullchain file), or put the intermediate into the listener's `cafile` — OpenSSL servers then send it themselves.")
        .remedy("RabbitMQ: `ssl_options.certfile` = leaf + intermediate, or the intermediate in `ssl_options.cacertfile`; EMQX: the same under `listeners.ssl.default.ssl_options`.")
        .remedy(format!("Client workaround: a CA file holding both {} and {missing} (`cat root.crt intermediate.crt > ca-bundle.crt`).", root.subject))
        .remedy(format!("See it: `openssl s_client -connect {} -showcerts` lists one certificate; `openssl verify -CAfile {} -untrusted intermediate.crt server.crt` succeeds.", cx.target, cx.trust.first_path())),
    )
}

pub(super) fn server_cert_expired(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::Expired { .. })) {
        return None;
    }
    let chain = chain(ev, cx);
    let expired: Vec<&CertSummary> = chain
        .iter()
        .filter(|c| c.not_after_unix < cx.checked_at)
        .collect();
    let anchor_expired = cx
        .trust
        .certs
        .iter()
        .find(|c| c.not_after_unix < cx.checked_at);
    if let (true, Some(anchor)) = (expired.is_empty(), anchor_expired) {
        return Some(expired_anchor(ev, cx, anchor));
    }
    let cert = expired.first().copied().or(chain.first())?;
    let which = if std::ptr::eq(cert, &chain[0]) {
        "The broker's certificate"
    } else {
        "A certificate the broker sent"
    };
    Some(
        Diagnosis::new(
            Code::ServerCertExpired,
            format!("{which} ({}) expired on {}.", cert.subject, cert.not_after),
        )
        .fact(format!("notAfter {} ; checked at {} (this machine's clock)", cert.not_after, crate::x509::rfc3339(cx.checked_at)))
        .fact(failure_fact(ev))
        .remedy("Broker: renew the certificate and reload the broker (mosquitto reloads certificates on SIGHUP); check that the new file is the one `certfile` points to.")
        .remedy("If the date looks wrong, check the clock of the client (`date -u`) — embedded devices often boot in 1970 without NTP.")
        .remedy(format!("See it: `openssl s_client -connect {} </dev/null 2>/dev/null | openssl x509 -noout -dates`.", cx.target)),
    )
}

pub(super) fn expired_anchor(ev: &Evidence, cx: &Context<'_>, anchor: &CertSummary) -> Diagnosis {
    Diagnosis::new(
        Code::ExpiredTrustAnchor,
        format!(
            "The root in your CA file ({}) expired on {}.",
            anchor.subject, anchor.not_after
        ),
    )
    .fact(format!(
        "notAfter {} ; checked at {}",
        anchor.not_after,
        crate::x509::rfc3339(cx.checked_at)
    ))
    .fact(failure_fact(ev))
    .fact("OpenSSL checks the validity of trust anchors; rustls (webpki) does not")
    .remedy("Client: replace the CA file with the current root of the broker's PKI.")
}

pub(super) fn server_cert_not_yet_valid(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::NotYetValid { .. })) {
        return None;
    }
    let chain = chain(ev, cx);
    let cert = chain
        .iter()
        .find(|c| c.not_before_unix > cx.checked_at)
        .or(chain.first())?;
    Some(
        Diagnosis::new(
            Code::ServerCertNotYetValid,
            format!("The certificate {} is not valid before {}: almost always a wrong clock on the client or the broker.", cert.subject, cert.not_before),
        )
        .fact(format!("notBefore {} ; checked at {} (this machine's clock)", cert.not_before, crate::x509::rfc3339(cx.checked_at)))
        .fact(failure_fact(ev))
        .remedy("Client: set the clock (NTP/SNTP before connecting; ESP32: wait for `sntp_get_sync_status()`).")
        .remedy("Broker: if the certificate was just issued with a future notBefore, reissue it with a notBefore in the past."),
    )
}

pub(super) fn name_mismatch(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(CertProblem::NameMismatch { .. }) = cert_problem(ev) else {
        return None;
    };
    let leaf = leaf(ev, cx)?;
    let expected = cx.expect_name;
    let is_ip = expected.parse::<std::net::IpAddr>().is_ok();
    let sans = if leaf.sans.is_empty() {
        "none".to_string()
    } else {
        leaf.sans.join(", ")
    };
    let (code, summary) = if leaf.sans.is_empty() {
        (
            Code::CnOnlyNoSan,
            format!(
                "The broker's certificate has no subjectAltName; it names the host only in its CN ({}), which {} does not accept for `{expected}`.",
                leaf.subject, ev.backend
            ),
        )
    } else if is_ip && !leaf.sans.iter().any(|s| s.starts_with("IP:")) {
        (
            Code::IpNotInSan,
            format!(
                "You connect by IP address `{expected}`, but the broker's certificate has no IP entry in its subjectAltName."
            ),
        )
    } else {
        (
            Code::HostnameMismatch,
            format!("The broker's certificate is valid for {sans}, not for `{expected}`."),
        )
    };
    Some(
        Diagnosis::new(code, summary)
            .fact(format!("name checked: {expected}"))
            .fact(format!("certificate {} has SAN: {sans}", leaf.subject))
            .fact(failure_fact(ev))
            .remedy(format!("Client: connect with a name the certificate covers ({sans}), or pass --expect-name / set the verified host name; `--insecure` (mosquitto_pub) and `tls_insecure_set(True)` (paho) only hide the problem."))
            .remedy(format!("Broker: reissue the certificate with `subjectAltName = DNS:{expected}`{} and reload it.", if is_ip { format!(", IP:{expected}") } else { String::new() }))
            .remedy(format!("See it: `openssl s_client -connect {} -verify_hostname {expected}` prints \"hostname mismatch\".", cx.target)),
    )
}

pub(super) fn ca_cert_as_server_cert(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::CaUsedAsEndEntity)).then(|| {
        let subject = leaf(ev, cx).map_or("the broker's certificate".to_string(), |l| l.subject.clone());
        Diagnosis::new(Code::CaCertAsServerCert, format!("The broker's certificate ({subject}) has CA:TRUE and is used as a server certificate; rustls refuses that, OpenSSL accepts it."))
            .fact(failure_fact(ev))
            .remedy("Broker: issue a server certificate with `basicConstraints = CA:FALSE` from that CA (`openssl req -x509` makes CA certificates).")
    })
}

pub(super) fn issuer_not_ca(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::IssuerNotCa)).then(|| {
        Diagnosis::new(Code::IssuerNotCa, "A certificate that issues another in the broker's chain is not a CA (no basicConstraints CA:TRUE).")
            .fact(format!("presented: {}", chain_text(&chain(ev, cx))))
            .fact(failure_fact(ev))
            .remedy("Broker PKI: reissue the intermediate with `basicConstraints = critical, CA:TRUE` and `keyUsage = keyCertSign, cRLSign`.")
    })
}

pub(super) fn x509_v1_cert(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::UnsupportedVersion)).then(|| {
        let chain = chain(ev, cx);
        let v1: Vec<&CertSummary> = chain.iter().filter(|c| c.version == 1).collect();
        let subjects: Vec<&str> = v1.iter().map(|c| c.subject.as_str()).collect();
        let no_san = v1.iter().any(|c| c.sans.is_empty());
        let name = cx.expect_name;
        let san = if name.parse::<std::net::IpAddr>().is_ok() { format!("IP:{name}") } else { format!("DNS:{name}") };
        let mut d = Diagnosis::new(Code::X509V1Cert, format!("The broker's chain contains an X.509 v1 certificate ({}); rustls refuses v1, OpenSSL accepts it.", subjects.join(", ")))
            .fact(format!("{} is version 1: it carries no extensions at all (no subjectAltName, no basicConstraints), which is what `openssl x509 -req` makes without `-extfile`", subjects.join(", ")))
            .fact(failure_fact(ev));
        if no_san {
            d = d.fact(format!("without a SAN, rustls would refuse it for `{name}` even as v3 (cn_only_no_san): the reissued certificate needs `subjectAltName = {san}`"));
        }
        d.remedy(format!("Broker PKI: reissue as v3 with the name clients use: `printf 'subjectAltName={san}\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > server.ext` then `openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -out server.crt -extfile server.ext`; restart the broker."))
            .remedy("Client: there is no rustls setting that accepts v1 certificates (rumqttc and most Rust clients use rustls); OpenSSL-based clients (mosquitto_pub, paho, Python) accept it, which is why it works for them.")
            .remedy(format!("See it: `openssl s_client -connect {} </dev/null 2>/dev/null | openssl x509 -noout -text | grep Version`.", cx.target))
    })
}

pub(super) fn server_eku_missing(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::InvalidPurpose)).then(|| {
        let eku = leaf(ev, cx).map_or(String::new(), |l| l.eku.join(", "));
        Diagnosis::new(
            Code::ServerEkuMissing,
            format!("The broker's certificate has an extendedKeyUsage without serverAuth ({eku})."),
        )
        .fact(failure_fact(ev))
        .remedy("Broker PKI: reissue with `extendedKeyUsage = serverAuth`.")
    })
}

pub(super) fn weak_signature(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::WeakSignature)).then(|| {
        Diagnosis::new(Code::WeakSignature, "A certificate in the broker's chain is signed with a weak or unsupported algorithm (SHA-1/MD5).")
            .fact(failure_fact(ev))
            .remedy("Broker PKI: reissue with SHA-256 (`-sha256`).")
    })
}

pub(super) fn weak_key(ev: &Evidence, _cx: &Context<'_>) -> Option<Diagnosis> {
    let chain = chain(ev, _cx);
    let small_key = chain
        .iter()
        .find(|c| c.has_small_rsa_key())
        .map(|c| format!("{} has a {} key", c.subject, c.key));
    // rustls reports an RSA-1024 leaf as a bad handshake signature; the key size tells why.
    let applies = matches!(cert_problem(ev), Some(CertProblem::WeakKey))
        || (matches!(cert_problem(ev), Some(CertProblem::BadSignature)) && small_key.is_some());
    applies.then(|| {
        Diagnosis::new(
            Code::WeakKey,
            "A key in the broker's chain is too small (RSA under 2048 bits).",
        )
        .fact(small_key.unwrap_or_default())
        .fact("rustls refuses RSA keys under 2048 bits; OpenSSL 3 refuses them at security level 2 (Debian's default) and accepts them at level 1 or 0")
        .fact(failure_fact(ev))
        .remedy("Broker PKI: reissue with RSA 2048+ or ECDSA P-256.")
    })
}

pub(super) fn unknown_ca(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let problem = cert_problem(ev)?;
    let chain = chain(ev, cx);
    let top = chain.last()?;
    let needed = if top.self_signed {
        top.subject.clone()
    } else {
        top.issuer.clone()
    };
    // A CA file certificate with the right name but another key (a CA regenerated under the
    // same name): rustls finds the anchor by name and reports the signature as bad.
    let namesake = cx.trust.certs.iter().find(|c| {
        c.subject == needed && !c.issued(top) && !(top.self_signed && c.sha256 == top.sha256)
    });
    let applies = matches!(
        problem,
        CertProblem::UnknownIssuer | CertProblem::SelfSigned { .. }
    ) || (matches!(problem, CertProblem::BadSignature) && namesake.is_some());
    if !applies {
        return None;
    }
    let mut d = Diagnosis::new(
        Code::UnknownCa,
        format!(
            "No certificate in your CA file {} issued the broker's chain: it needs {needed}.",
            cx.trust.describe()
        ),
    )
    .fact(format!("the broker presented {}", chain_text(&chain)))
    .fact(format!("the CA file holds: {}", subjects(&cx.trust.certs)))
    .fact(failure_fact(ev));
    if !top.self_signed && !chain.iter().any(|c| c.subject == top.issuer) {
        d = d.fact(format!("the broker did not send {needed} either"));
    }
    if let Some(twin) = namesake {
        d = d.fact(format!(
            "the CA file holds a certificate named {needed}, but not the one that signed the chain (key identifier {} vs {}): the CA was probably regenerated under the same name",
            twin.ski.as_deref().unwrap_or("none"),
            top.aki.as_deref().unwrap_or("none")
        ));
    }
    Some(
        d.remedy(format!("Client: use the CA file of the broker's PKI (the certificate whose subject is {needed}); mosquitto_pub `--cafile`, paho-python `tls_set(ca_certs=...)`, rumqttc `RootCertStore::add`."))
            .remedy("Broker: if the broker should use a certificate from the CA clients already trust, point mosquitto `certfile` (RabbitMQ `ssl_options.certfile`, EMQX `listeners.ssl.default.ssl_options.certfile`) at that certificate.")
            .remedy(format!("See it: `openssl s_client -connect {} -CAfile {} -showcerts` prints \"unable to get local issuer certificate\".", cx.target, cx.trust.first_path())),
    )
}
