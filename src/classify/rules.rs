//! The ordered rules of the classifier, one small function per code, and the remedies.
//!
//! Every rule states its facts as expected vs presented, with the real subjects and file
//! names from the evidence, and remedies for the broker (mosquitto, RabbitMQ, EMQX) and the
//! client (mosquitto_pub, paho-python, rumqttc), plus an `openssl` command that shows it.

use crate::evidence::{Alert, CertProblem, Evidence, Failure, Phase};
use crate::probe::TlsVersion;
use crate::x509::CertSummary;

use super::{Context, Diagnosis, DiagnosisCode as Code, IdentityProblem, TrustSource};

/// A rule: a diagnosis when it applies to this evidence.
pub(super) type Rule = fn(&Evidence, &Context<'_>) -> Option<Diagnosis>;

/// Most specific first; the first match wins.
pub(super) const RULES: &[Rule] = &[
    ok,
    client_identity_unusable,
    ca_file_unusable,
    dns_failure,
    connection_refused,
    connect_timeout,
    client_identity,
    plaintext_port,
    not_tls,
    handshake_timeout,
    client_cert_required,
    client_cert_rejected_by_broker,
    sni_required,
    legacy_tls_only,
    versions_disjoint,
    ciphers_disjoint,
    server_cert_as_ca,
    intermediate_as_anchor,
    same_subject_ca_and_server,
    self_signed_server_cert,
    missing_intermediate,
    server_cert_expired,
    server_cert_not_yet_valid,
    name_mismatch,
    ca_cert_as_server_cert,
    issuer_not_ca,
    x509_v1_cert,
    server_eku_missing,
    weak_signature,
    weak_key,
    unknown_ca,
    tls_version_mismatch,
    no_shared_cipher,
    alpn_rejected,
    mqtt_refused,
    mqtt_no_connack,
    peer_closed,
];

fn ok(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    ev.is_ok().then(|| {
        let mut d = Diagnosis::new(
            Code::Ok,
            "TCP, TLS and MQTT all succeeded: the broker accepted the connection.",
        );
        if let Some(version) = &ev.tls.version {
            d = d.fact(format!(
                "negotiated {version} with {}",
                ev.tls.cipher.as_deref().unwrap_or("an unknown cipher")
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

/// The client certificate or key could not be used (found before connecting). The probes ran
/// without a client certificate; whatever else they met, this is the first thing to fix.
fn client_identity_unusable(_: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let problem = cx.identity_problem?;
    let d = match problem {
        IdentityProblem::CertUnusable { path, detail } => Diagnosis::new(
            problem.code(),
            format!("The client certificate file {path} holds no usable certificate."),
        )
        .fact(format!("{path}: {detail}"))
        .remedy(format!("Check the file: `openssl x509 -in {path} -noout -subject` must print a subject; a DER file needs `-inform der` and converting to PEM."))
        .remedy("mosquitto_pub `--cert` and paho `tls_set(certfile=...)` take PEM, leaf first, optionally followed by its intermediates."),
        IdentityProblem::KeyUnusable { path, detail } => Diagnosis::new(
            problem.code(),
            format!("The key file {path} holds no usable private key."),
        )
        .fact(format!("{path}: {detail}"))
        .remedy(format!("Check the file: `openssl pkey -in {path} -noout` must succeed; PKCS#1 (`BEGIN RSA PRIVATE KEY`), SEC1 (`BEGIN EC PRIVATE KEY`) and PKCS#8 (`BEGIN PRIVATE KEY`) all work.")),
        IdentityProblem::KeyEncrypted { path, wrong_password } => Diagnosis::new(
            problem.code(),
            if *wrong_password {
                format!("The private key {path} is encrypted and the password given does not decrypt it.")
            } else {
                format!("The private key {path} is encrypted and no password was given.")
            },
        )
        .fact(format!("{path} holds an encrypted PEM key"))
        .remedy("Pass the password in an environment variable: `--key-password-env VAR` (mosquitto_pub prompts for it; paho `tls_set(keyfile_password=...)`).")
        .remedy(format!("rustls-based clients (rumqttc) cannot read encrypted keys at all: decrypt it once with `openssl pkey -in {path} -out client-plain.key` and protect the file instead.")),
        IdentityProblem::KeyMismatch { cert, key, detail } => Diagnosis::new(
            problem.code(),
            format!("The private key {key} does not belong to the client certificate {cert}."),
        )
        .fact(detail.clone())
        .remedy(format!("Compare: `openssl x509 -in {cert} -noout -pubkey | openssl sha256` and `openssl pkey -in {key} -pubout | openssl sha256` must print the same hash."))
        .remedy("Use the key that was generated with the certificate's request; a certificate file that starts with the CA certificate instead of the client's own gives the same error."),
    };
    Some(d.fact("the probes ran without a client certificate"))
}

/// The CA file holds no usable certificate: nothing can be verified.
fn ca_file_unusable(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let TrustSource::Files { paths } = &cx.trust.source else {
        return None;
    };
    if !cx.trust.certs.is_empty() {
        return None;
    }
    let mut d = Diagnosis::new(
        Code::CaFileUnusable,
        format!(
            "The CA file {} holds no usable certificate, so the broker cannot be verified.",
            paths.join(", ")
        ),
    );
    for note in &cx.trust.notes {
        d = d.fact(note.clone());
    }
    if let Some(raw) = &ev.raw_error {
        d = d.fact(format!("{}: {raw}", ev.backend));
    }
    Some(
        d.remedy("Client: pass the PEM certificate of the CA that issued the broker's certificate (`-----BEGIN CERTIFICATE-----`); mosquitto_pub `--cafile`, paho `tls_set(ca_certs=...)`.")
            .remedy(format!("See what the broker sends and who issued it: `openssl s_client -connect {} -showcerts`.", cx.target)),
    )
}

fn dns_failure(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::Resolve { detail }) = &ev.failure else {
        return None;
    };
    let host = host_of(cx.target);
    Some(
        Diagnosis::new(
            Code::DnsFailure,
            format!("The host name `{host}` does not resolve to any address."),
        )
        .fact(format!("resolver: {detail}"))
        .remedy(format!("Check the spelling of `{host}`, or connect by IP address and pass --expect-name with the certificate's name."))
        .remedy(format!("Check the resolver on the client: `getent hosts {host}`.")),
    )
}

fn connection_refused(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(ev.failure, Some(Failure::ConnectionRefused)).then(|| {
        Diagnosis::new(
            Code::ConnectionRefused,
            format!("Nothing accepts connections on {}: the broker is down, the port is wrong, or the broker could not load its TLS files and never opened the listener.", cx.target),
        )
        .fact(format!("every address refused the TCP connection: {}", ev.addresses.join(", ")))
        .remedy("Broker: check that it runs and listens on this port (`ss -ltnp | grep 8883`); mosquitto needs a `listener 8883` line with `certfile`/`keyfile`, and logs \"Unable to load server certificate\" or \"Error: Unable to load CA certificates\" when it cannot read them.")
        .remedy("RabbitMQ: `mqtt.listeners.ssl.default = 8883` with `ssl_options.*`; EMQX: `listeners.ssl.default.bind = \"0.0.0.0:8883\"`.")
        .remedy("Client: MQTT over TLS is usually on 8883, plain MQTT on 1883.")
    })
}

fn connect_timeout(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(ev.failure, Some(Failure::ConnectTimeout)).then(|| {
        Diagnosis::new(
            Code::ConnectTimeout,
            format!("No answer to the TCP connect to {}: a firewall drops the packets, the address is wrong, or the broker's accept queue is full.", cx.target),
        )
        .fact(format!("addresses tried: {}", ev.addresses.join(", ")))
        .fact(ev.raw_error.clone().unwrap_or_default())
        .remedy("Check firewalls and security groups between client and broker for the port.")
        .remedy(format!("Check that the address is the broker's: `nc -vz {}`.", cx.target.replace(':', " ")))
    })
}

fn client_identity(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::ClientIdentity { detail }) = &ev.failure else {
        return None;
    };
    // Key/certificate mismatches are caught before probing (`client_identity_unusable`); what
    // is left is a backend refusing a certificate the other may accept (rustls refuses X.509
    // v1 client certificates since 0.23.23).
    let code = Code::ClientCertUnusable;
    Some(
        Diagnosis::new(code, format!("{} cannot use the client certificate and key.", ev.backend))
            .fact(detail.clone())
            .remedy("Check that --cert and --key belong together: `openssl x509 -noout -pubkey -in client.crt | openssl sha256` must equal `openssl pkey -pubout -in client.key | openssl sha256`."),
    )
}

fn plaintext_port(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !looks_like_plaintext(ev) {
        return None;
    }
    let ack = cx.follow_ups.plain_connect.as_ref()?.connack.as_ref()?;
    Some(
        Diagnosis::new(
            Code::PlaintextPort,
            format!("{} speaks plain MQTT, not TLS: a plain CONNECT on a fresh connection got a CONNACK.", cx.target),
        )
        .fact(format!("TLS attempt: {}", ev.raw_error.as_deref().unwrap_or("the broker closed the connection")))
        .fact(format!("plain MQTT CONNECT: CONNACK {} ({})", ack.code, ack.reason))
        .remedy("Client: use the broker's TLS port (usually 8883), or connect without TLS (mqtt://, no --cafile) if plain MQTT is intended.")
        .remedy("Broker (mosquitto): a TLS listener needs `certfile` and `keyfile` in its `listener` block; with `per_listener_settings true` each listener has its own TLS settings.")
        .remedy(format!("See it: `mosquitto_sub -h {} -p {} -t '$SYS/#' -C 1` succeeds without TLS.", host_of(cx.target), port_of(cx.target))),
    )
}

/// The TLS attempt died before the peer said anything that looks like TLS.
pub(super) fn looks_like_plaintext(ev: &Evidence) -> bool {
    ev.phase == Phase::Tls
        && ev.tls.version.is_none()
        && match &ev.failure {
            Some(Failure::PeerClosed { .. }) => true,
            Some(Failure::HandshakeTimeout { bytes_received }) => *bytes_received == 0,
            // An MQTT broker may answer a ClientHello with an MQTT packet (0x20 CONNACK, 0xe0
            // DISCONNECT) before closing.
            Some(Failure::NotTls) => ev
                .first_bytes
                .as_deref()
                .is_some_and(|b| b.starts_with("20") || b.starts_with("e0")),
            _ => false,
        }
}

fn not_tls(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(ev.failure, Some(Failure::NotTls)).then(|| {
        let first = ev.first_bytes.as_deref().unwrap_or("");
        let what = describe_bytes(first);
        Diagnosis::new(
            Code::NotTls,
            format!("{} answered with bytes that are not TLS ({what}): this is not an MQTT-over-TLS listener.", cx.target),
        )
        .fact(format!("first bytes from the peer: {}", if first.is_empty() { "(none recorded)".to_string() } else { printable(first) }))
        .fact(format!("{}: {}", ev.backend, ev.raw_error.as_deref().unwrap_or("not TLS")))
        .remedy("Client: check the port: MQTT over TLS is usually 8883, MQTT over WebSockets 8083/8084/443 (needs a ws/wss client), HTTP management ports are not MQTT.")
        .remedy(format!("See it: `openssl s_client -connect {}` prints \"wrong version number\".", cx.target))
    })
}

fn handshake_timeout(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::HandshakeTimeout { bytes_received }) = &ev.failure else {
        return None;
    };
    Some(
        Diagnosis::new(
            Code::HandshakeTimeout,
            format!("TCP connected to {} but the TLS handshake did not finish in time.", cx.target),
        )
        .fact(format!("{bytes_received} bytes received from the broker before the deadline"))
        .fact(ev.raw_error.clone().unwrap_or_default())
        .remedy("The port accepts connections but does not speak TLS to us: check that it is the TLS listener, and that no proxy or load balancer in between holds the connection.")
        .remedy("If the broker is overloaded or far away, retry with a longer --timeout.")
        .remedy(format!("See it: `openssl s_client -connect {} -state` stops after \"SSL_connect:SSLv3/TLS write client hello\".", cx.target)),
    )
}

fn client_cert_required(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let alert = ev.alert_received?;
    let requested = cx.all.iter().any(|e| e.client_cert_requested == Some(true));
    let applies = alert == Alert::CERTIFICATE_REQUIRED
        || (alert == Alert::HANDSHAKE_FAILURE
            && requested
            && !ev.client_cert_sent
            && cx.client_cert.is_none());
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
    Some(
        d.remedy("Client: pass a certificate signed by a CA the broker trusts: `mosquitto_pub --cafile ca.crt --cert client.crt --key client.key ...`; paho-python `client.tls_set(ca_certs=\"ca.crt\", certfile=\"client.crt\", keyfile=\"client.key\")`; rumqttc `ClientConfig::builder().with_root_certificates(roots).with_client_auth_cert(chain, key)`.")
            .remedy("Broker, if client certificates are not meant to be required: mosquitto `require_certificate false`; RabbitMQ `ssl_options.fail_if_no_peer_cert = false`; EMQX `listeners.ssl.default.ssl_options.fail_if_no_peer_cert = false`.")
            .remedy(format!("Check with mqtls: `mqtls diagnose {} --cafile {} --cert client.crt --key client.key`.", cx.target, cx.trust.first_path())),
    )
}

fn client_cert_rejected_by_broker(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn server_cert_as_ca(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !chain_untrusted(ev) {
        return None;
    }
    let leaf = leaf(ev, cx)?;
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

fn intermediate_as_anchor(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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
fn same_subject_ca_and_server(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn self_signed_server_cert(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn missing_intermediate(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn server_cert_expired(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn expired_anchor(ev: &Evidence, cx: &Context<'_>, anchor: &CertSummary) -> Diagnosis {
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

fn server_cert_not_yet_valid(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn name_mismatch(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn ca_cert_as_server_cert(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::CaUsedAsEndEntity)).then(|| {
        let subject = leaf(ev, cx).map_or("the broker's certificate".to_string(), |l| l.subject.clone());
        Diagnosis::new(Code::CaCertAsServerCert, format!("The broker's certificate ({subject}) has CA:TRUE and is used as a server certificate; rustls refuses that, OpenSSL accepts it."))
            .fact(failure_fact(ev))
            .remedy("Broker: issue a server certificate with `basicConstraints = CA:FALSE` from that CA (`openssl req -x509` makes CA certificates).")
    })
}

fn issuer_not_ca(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::IssuerNotCa)).then(|| {
        Diagnosis::new(Code::IssuerNotCa, "A certificate that issues another in the broker's chain is not a CA (no basicConstraints CA:TRUE).")
            .fact(format!("presented: {}", chain_text(&chain(ev, cx))))
            .fact(failure_fact(ev))
            .remedy("Broker PKI: reissue the intermediate with `basicConstraints = critical, CA:TRUE` and `keyUsage = keyCertSign, cRLSign`.")
    })
}

fn x509_v1_cert(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::UnsupportedVersion)).then(|| {
        let v1: Vec<String> = chain(ev, cx).iter().filter(|c| c.version == 1).map(|c| c.subject.clone()).collect();
        Diagnosis::new(Code::X509V1Cert, format!("The broker's chain contains an X.509 v1 certificate ({}); rustls refuses v1, OpenSSL accepts it.", v1.join(", ")))
            .fact(failure_fact(ev))
            .remedy("Broker PKI: reissue with extensions (`openssl x509 -req ... -extfile server.ext` with subjectAltName and basicConstraints), which makes a v3 certificate.")
    })
}

fn server_eku_missing(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn weak_signature(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::WeakSignature)).then(|| {
        Diagnosis::new(Code::WeakSignature, "A certificate in the broker's chain is signed with a weak or unsupported algorithm (SHA-1/MD5).")
            .fact(failure_fact(ev))
            .remedy("Broker PKI: reissue with SHA-256 (`-sha256`).")
    })
}

fn weak_key(ev: &Evidence, _cx: &Context<'_>) -> Option<Diagnosis> {
    let small = |c: &&CertSummary| {
        c.key
            .strip_prefix("RSA ")
            .and_then(|b| b.parse::<u32>().ok())
            .is_some_and(|b| b < 2048)
    };
    let chain = chain(ev, _cx);
    let small_key = chain
        .iter()
        .find(small)
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

fn unknown_ca(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let problem = cert_problem(ev)?;
    if !matches!(
        problem,
        CertProblem::UnknownIssuer | CertProblem::SelfSigned { .. }
    ) {
        return None;
    }
    let chain = chain(ev, cx);
    let top = chain.last()?;
    let needed = if top.self_signed {
        top.subject.clone()
    } else {
        top.issuer.clone()
    };
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
    Some(
        d.remedy(format!("Client: use the CA file of the broker's PKI (the certificate whose subject is {needed}); mosquitto_pub `--cafile`, paho-python `tls_set(ca_certs=...)`, rumqttc `RootCertStore::add`."))
            .remedy("Broker: if the broker should use a certificate from the CA clients already trust, point mosquitto `certfile` (RabbitMQ `ssl_options.certfile`, EMQX `listeners.ssl.default.ssl_options.certfile`) at that certificate.")
            .remedy(format!("See it: `openssl s_client -connect {} -CAfile {} -showcerts` prints \"unable to get local issuer certificate\".", cx.target, cx.trust.first_path())),
    )
}

/// The handshake with the other SNI setting got further, or was answered with another
/// certificate: the broker picks its answer by SNI.
fn sni_required(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let probe = cx.follow_ups.sni.as_ref()?;
    if ev.phase != Phase::Tls || ev.failure.is_none() {
        return None;
    }
    let first_leaf = ev.peer_chain.first().map(|c| c.sha256.as_str());
    let other_leaf = probe.leaf.as_ref().map(|c| c.sha256.as_str());
    let further = probe.completed && !matches!(ev.failure, Some(Failure::CertRejected { .. }));
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

/// Versions the broker accepted in the follow-up probes.
fn accepted_versions(cx: &Context<'_>) -> Vec<TlsVersion> {
    cx.follow_ups
        .versions
        .iter()
        .filter(|p| p.accepted)
        .filter_map(|p| p.version)
        .collect()
}

/// Versions this backend offers.
fn offered(ev: &Evidence, cx: &Context<'_>) -> Vec<TlsVersion> {
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

fn names(versions: &[TlsVersion]) -> String {
    versions
        .iter()
        .map(|v| format!("TLS {}", v.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn handshake_refused(ev: &Evidence) -> bool {
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

fn legacy_tls_only(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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

fn versions_disjoint(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let accepted = accepted_versions(cx);
    let offered = offered(ev, cx);
    if !handshake_refused(ev) || accepted.is_empty() || accepted.iter().any(|v| offered.contains(v))
    {
        return None;
    }
    Some(
        Diagnosis::new(
            Code::TlsVersionMismatch,
            format!("The client offers {} but the broker accepts only {}.", names(&offered), names(&accepted)),
        )
        .fact(format!("follow-up handshakes: the broker accepted {}", names(&accepted)))
        .fact(failure_fact(ev))
        .remedy(format!("Client: allow {} (mosquitto_pub `--tls-version tlsv1.{}`; with mqtls, `--tls-version`).", names(&accepted), accepted[0].name().trim_start_matches("1.")))
        .remedy("Broker: mosquitto `tls_version` is a minimum (`tlsv1.2` allows 1.2 and 1.3); RabbitMQ `ssl_options.versions.N`; EMQX `listeners.ssl.default.ssl_options.versions`.")
        .remedy(format!("See it: `openssl s_client -connect {} -tls1_2` and `-tls1_3`.", cx.target)),
    )
}

fn ciphers_disjoint(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
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
fn failure_words(ev: &Evidence) -> String {
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

fn tls_version_mismatch(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let applies = matches!(ev.failure, Some(Failure::ProtocolVersion))
        || ev.alert_received == Some(Alert::PROTOCOL_VERSION);
    applies.then(|| {
        Diagnosis::new(Code::TlsVersionMismatch, "The client and the broker share no TLS version.")
            .fact(failure_fact(ev))
            .remedy("Client: allow TLS 1.2 and 1.3 (mosquitto_pub `--tls-version tlsv1.2`).")
            .remedy("Broker: mosquitto `tls_version tlsv1.2` (a minimum); RabbitMQ `ssl_options.versions.1 = tlsv1.2`; EMQX `listeners.ssl.default.ssl_options.versions = [\"tlsv1.3\",\"tlsv1.2\"]`.")
            .remedy(format!("See it: `openssl s_client -connect {} -tls1_2` and `-tls1_3`.", cx.target))
    })
}

fn no_shared_cipher(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    let applies = matches!(ev.failure, Some(Failure::NoSharedCipher))
        || ev.alert_received == Some(Alert { code: 71 });
    applies.then(|| {
        Diagnosis::new(Code::NoSharedCipher, "The client and the broker share a TLS version but no cipher suite.")
            .fact(failure_fact(ev))
            .remedy("Broker: allow ECDHE with AES-GCM or ChaCha20 (mosquitto `ciphers`, RabbitMQ `ssl_options.ciphers`).")
    })
}

fn alpn_rejected(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    (ev.alert_received == Some(Alert::NO_APPLICATION_PROTOCOL)).then(|| {
        Diagnosis::new(Code::AlpnRejected, "The broker refused the ALPN protocol offered (alert no_application_protocol), or requires one that was not offered.")
            .fact(failure_fact(ev))
            .remedy("Client: offer the protocol the endpoint expects (AWS IoT on 443: `--tls-alpn x-amzn-mqtt-ca`; otherwise usually `mqtt`).")
    })
}

fn mqtt_refused(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::ConnAckRefused { code }) = ev.failure else {
        return None;
    };
    let ack = ev.connack.as_ref()?;
    let v5 = ack.mqtt_version == "5";
    let (diag, summary) = match (v5, code) {
        (false, 4) | (true, 0x86) => (
            Code::MqttBadCredentials,
            "TLS succeeded; the broker refused the user name or password.",
        ),
        // mosquitto (and others) answer "not authorized" to a wrong user name or password as
        // well: with credentials in the CONNECT, the credentials are what was refused.
        (false, 5) | (true, 0x87) if cx.sent_username => (
            Code::MqttBadCredentials,
            "TLS succeeded; the broker refused the user name and password sent (it answered \"not authorized\", which mosquitto also sends for a wrong password).",
        ),
        (false, 5) | (true, 0x87) => (
            Code::MqttNotAuthorized,
            "TLS succeeded; the broker refuses anonymous clients (no user name was sent).",
        ),
        (false, 2) | (true, 0x85) => (
            Code::MqttIdentifierRejected,
            "TLS succeeded; the broker rejected the client identifier.",
        ),
        (false, 1) | (true, 0x84) => (
            Code::MqttProtocolRejected,
            "TLS succeeded; the broker does not accept this MQTT protocol version.",
        ),
        (false, 3) | (true, 0x88) | (true, 0x89) => (
            Code::MqttServerUnavailable,
            "TLS succeeded; the broker says it is unavailable or busy.",
        ),
        _ => (
            Code::MqttRefused,
            "TLS succeeded; the broker refused the CONNECT.",
        ),
    };
    let mut d = Diagnosis::new(diag, summary)
        .fact(format!(
            "CONNACK {code} ({}), MQTT {}",
            ack.reason, ack.mqtt_version
        ))
        .fact(format!(
            "CONNECT carried {}",
            if cx.sent_username {
                "a user name"
            } else {
                "no user name (anonymous)"
            }
        ));
    d = match diag {
        Code::MqttBadCredentials | Code::MqttNotAuthorized => d
            .remedy("Client: pass credentials: `--username USER --password-env VAR` (mosquitto_pub `-u USER -P ...`, paho `username_pw_set`).")
            .remedy("Broker (mosquitto 2.x): anonymous access is off by default; add `allow_anonymous true` to the listener, or a `password_file` (mosquitto_passwd), or `use_identity_as_username true` with `require_certificate true`; RabbitMQ: `mqtt.allow_anonymous`, `mqtt.default_user`; EMQX: authentication settings.")
            .remedy("Broker log: mosquitto writes \"Client <id> disconnected, not authorised.\""),
        Code::MqttProtocolRejected => d.remedy("Client: try the other MQTT version (`--mqtt-version 3.1.1` or `5`)."),
        Code::MqttIdentifierRejected => d.remedy("Client: use a client id the broker accepts (`--client-id`), unique per connection."),
        _ => d.remedy("Check the broker's log for the reason of the refusal."),
    };
    Some(d)
}

fn mqtt_no_connack(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let detail = match &ev.failure {
        Some(Failure::NoConnAck { closed: true }) => "the broker closed the connection".to_string(),
        Some(Failure::NoConnAck { closed: false }) => {
            "the broker stayed silent until the deadline".to_string()
        }
        Some(Failure::MalformedConnAck { detail }) => {
            format!("the answer was not a valid CONNACK: {detail}")
        }
        _ => return None,
    };
    Some(
        Diagnosis::new(Code::MqttNoConnack, format!("TLS succeeded and CONNECT was sent, but no CONNACK came: {detail}."))
            .fact(format!("TLS: {} {}", ev.tls.version.as_deref().unwrap_or("?"), ev.tls.cipher.as_deref().unwrap_or("")))
            .fact(ev.raw_error.clone().unwrap_or_default())
            .remedy("Cloud brokers (AWS IoT) close instead of refusing: check the policy allows iot:Connect for this client id, and that the client id is unique.")
            .remedy("Check that the port is MQTT over TLS and not MQTT over WebSockets (which waits for an HTTP upgrade).")
            .remedy(format!("Check the broker's log; retry with `--mqtt-version 5` to get a reason code: `mqtls diagnose {} --mqtt-version 5`.", cx.target)),
    )
}

fn peer_closed(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::PeerClosed { reset }) = ev.failure else {
        return None;
    };
    Some(
        Diagnosis::new(Code::PeerClosed, format!("{} {} the connection during the TLS handshake without sending an alert.", cx.target, if reset { "reset" } else { "closed" }))
            .fact(format!("{} bytes received before the close", ev.bytes_received))
            .fact(ev.raw_error.clone().unwrap_or_default())
            .remedy("Check the broker's log for why it dropped the connection (a TLS library error, a connection limit, an IP filter).")
            .remedy("A plain MQTT CONNECT did not get a CONNACK either, so this is not simply a plain MQTT port."),
    )
}

/// The explicit fallback: the raw error and the evidence, nothing invented.
pub(super) fn unclassified(ev: &Evidence) -> Diagnosis {
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
    let chain = chain(ev, cx);
    if let Some(leaf) = chain.first() {
        if leaf.sans.is_empty() {
            out.push(Code::CnOnlyNoSan);
        }
        if leaf.is_ca() {
            out.push(Code::CaCertAsServerCert);
        }
    }
    if chain.iter().any(|c| c.version == 1) {
        out.push(Code::X509V1Cert);
    }
    // Connected only because the CA file supplied the intermediate the broker did not send:
    // every client that trusts just the root will fail.
    if let Some(top) = chain.last()
        && !top.self_signed
        && !chain.iter().any(|c| c.subject == top.issuer)
        && cx
            .trust
            .certs
            .iter()
            .any(|c| c.subject == top.issuer && !c.self_signed)
    {
        out.push(Code::MissingIntermediate);
    }
    if chain
        .iter()
        .any(|c| c.signature.contains("sha1") || c.signature.contains("md5"))
    {
        out.push(Code::WeakSignature);
    }
    if chain.iter().any(|c| {
        c.key
            .strip_prefix("RSA ")
            .and_then(|b| b.parse::<u32>().ok())
            .is_some_and(|b| b < 2048)
    }) {
        out.push(Code::WeakKey);
    }
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
    if matches!(ev.tls.version.as_deref(), Some("TLSv1" | "TLSv1.1")) {
        out.push(Code::LegacyTlsOnly);
    }
    out
}

fn cert_problem(ev: &Evidence) -> Option<&CertProblem> {
    match &ev.failure {
        Some(Failure::CertRejected { problem }) => Some(problem),
        _ => None,
    }
}

fn chain_untrusted(ev: &Evidence) -> bool {
    matches!(
        cert_problem(ev),
        Some(CertProblem::UnknownIssuer | CertProblem::SelfSigned { .. })
    )
}

/// The presented chain: this backend's, or another backend's when this one saw none.
fn chain<'a>(ev: &'a Evidence, cx: &Context<'a>) -> Vec<CertSummary> {
    if !ev.peer_chain.is_empty() {
        return ev.peer_chain.clone();
    }
    cx.all
        .iter()
        .find(|e| !e.peer_chain.is_empty())
        .map(|e| e.peer_chain.clone())
        .unwrap_or_default()
}

fn leaf<'a>(ev: &'a Evidence, cx: &Context<'a>) -> Option<&'a CertSummary> {
    ev.peer_chain
        .first()
        .or_else(|| cx.all.iter().find_map(|e| e.peer_chain.first()))
}

/// Two certificates belong to the same PKI when their DNs agree apart from the CN.
fn related(ca: &CertSummary, issuer_dn: &str) -> bool {
    let a = ca.subject_without_cn();
    let b = crate::x509::dn_without_cn(issuer_dn);
    !a.is_empty() && a == b
}

fn chain_text(chain: &[CertSummary]) -> String {
    chain
        .iter()
        .enumerate()
        .map(|(i, c)| format!("[{i}] {} (issued by {})", c.subject, c.issuer))
        .collect::<Vec<_>>()
        .join("; ")
}

fn subjects(certs: &[CertSummary]) -> String {
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

fn ca_flag(c: &CertSummary) -> &'static str {
    match c.ca {
        Some(true) => "TRUE",
        Some(false) => "FALSE",
        None => "absent",
    }
}

fn failure_fact(ev: &Evidence) -> String {
    format!(
        "{}: {}",
        ev.backend,
        ev.raw_error.as_deref().unwrap_or("verification failed")
    )
}

fn host_of(target: &str) -> &str {
    target
        .rsplit_once(':')
        .map_or(target, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
}

fn port_of(target: &str) -> &str {
    target.rsplit_once(':').map_or("8883", |(_, p)| p)
}

/// Names what a peer's first bytes look like.
fn describe_bytes(hex: &str) -> &'static str {
    let bytes = decode_hex(hex);
    if bytes.starts_with(b"HTTP/") || bytes.starts_with(b"<") {
        "an HTTP server"
    } else if bytes.starts_with(b"SSH-") {
        "an SSH server"
    } else if bytes.first() == Some(&0x20) {
        "an MQTT CONNACK"
    } else if bytes.starts_with(b"220") || bytes.starts_with(b"+OK") || bytes.starts_with(b"* OK") {
        "a text protocol banner (SMTP/POP/IMAP)"
    } else if bytes.first() == Some(&0x15) {
        "a TLS alert of an unexpected record version"
    } else if !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "plain text"
    } else {
        "unrecognised binary data"
    }
}

fn printable(hex: &str) -> String {
    let bytes = decode_hex(hex);
    let text: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{hex} (\"{text}\")")
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}
