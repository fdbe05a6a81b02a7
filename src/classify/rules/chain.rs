//! Rules for the broker's certificate chain as this client verified it, related to the CA file
//! by the independent X.509 analysis.

use super::*;
use crate::chain::{ChainAnalysis, Link, PathEnd};
use crate::x509::ca_flag;

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
    let a = cx.chain?;
    if a.end != (PathEnd::Anchored { root: false }) {
        return None;
    }
    let anchor = &a.top()?.cert;
    Some(
        Diagnosis::new(
            Code::IntermediateAsAnchor,
            format!("{} holds the intermediate {} but not the root {} it chains to: {} refuses an anchor that is not self-signed.", capitalised(&cx.trust.phrase()), anchor.subject, name_or_empty(&anchor.issuer), ev.backend),
        )
        .fact(format!("verified path: {}", a.describe_path()))
        .fact(failure_fact(ev))
        .fact("rustls accepts any certificate in the CA file as a trust anchor; OpenSSL (and Python, mosquitto_pub, paho) needs a self-signed root unless X509_V_FLAG_PARTIAL_CHAIN is set")
        .remedy(format!("Client: put the root {} in the CA file (root + intermediate is fine).", name_or_empty(&anchor.issuer)))
        .remedy(format!("See it: `openssl verify{} -untrusted chain.pem server.crt` prints \"error 2 at 1 depth lookup: unable to get issuer certificate\".", cx.trust.openssl_option())),
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
    // The analysis checked the self-signature; without one, the names say it.
    let self_signed = cx.chain.map_or(leaf.self_signed, |a| {
        a.path.len() == 1 && a.end == PathEnd::UntrustedRoot
    });
    if !self_signed || trusted || chain(ev, cx).len() > 1 {
        return None;
    }
    Some(
        Diagnosis::new(
            Code::SelfSignedServerCert,
            format!("The broker presents a self-signed certificate ({}) that {} does not contain.", leaf.subject, cx.trust.phrase()),
        )
        .fact(format!("presented: {} (self-signed, CA:{})", leaf.subject, ca_flag(leaf)))
        .fact(format!("{} holds: {}", capitalised(&cx.trust.phrase()), subjects(&cx.trust.certs)))
        .fact(failure_fact(ev))
        .remedy("Best: issue the broker a certificate from a small CA (root → server) and give clients the root.")
        .remedy("Or trust this exact certificate on the client (`--cafile broker.crt`); rustls refuses it if it has CA:TRUE (CaUsedAsEndEntity).")
        .remedy(format!("See it: `openssl s_client -connect {}{} -showcerts` shows subject = issuer and prints \"Verify return code: 18 (self-signed certificate)\".", cx.target, cx.trust.openssl_option())),
    )
}

pub(super) fn missing_intermediate(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::UnknownIssuer)) {
        return None;
    }
    let a = cx.chain?;
    match &a.end {
        PathEnd::Anchored { .. } => {
            let found: Vec<&Link> = a.not_sent().into_iter().filter(|l| !l.anchor()).collect();
            (!found.is_empty()).then(|| found_elsewhere(ev, cx, a, &found))
        }
        // A trust anchor with the issuer's name and another key: a regenerated CA, which is
        // unknown_ca's to say.
        PathEnd::IssuerNotFound { .. } if a.namesakes.iter().any(Link::anchor) => None,
        PathEnd::IssuerNotFound { issuer, aki } => {
            let (code, why) = reading(a);
            (code == Code::MissingIntermediate)
                .then(|| issuer_nowhere(ev, cx, a, issuer, aki.as_deref(), why))
        }
        PathEnd::UntrustedRoot | PathEnd::TooLong => None,
    }
}

/// Confirmed: a path to a trust anchor exists through certificates the broker did not send.
fn found_elsewhere(
    ev: &Evidence,
    cx: &Context<'_>,
    a: &ChainAnalysis,
    found: &[&Link],
) -> Diagnosis {
    let names: Vec<&str> = found.iter().map(|l| l.cert.subject.as_str()).collect();
    let anchor = a
        .top()
        .map_or("a trust anchor".to_string(), |l| l.cert.subject.clone());
    let (what, them) = if found.len() == 1 {
        ("the intermediate", "it")
    } else {
        ("the intermediates", "them")
    };
    let mut d = Diagnosis::new(
        Code::MissingIntermediate,
        format!(
            "The broker does not send {what} {} that link{} its certificate to {anchor} in {}.",
            names.join(" and "),
            if found.len() == 1 { "s" } else { "" },
            cx.trust.phrase()
        ),
    )
    .fact(format!(
        "the broker presented {} certificate(s): {}",
        a.sent,
        sent_text(a)
    ));
    for l in found {
        d = d.fact(format!(
            "{} (issued by {}) is not among them; found in {}",
            l.cert.subject,
            name_or_empty(&l.cert.issuer),
            l.found_in()
        ));
    }
    d = d
        .fact(format!("verified path: {}", a.describe_path()))
        .fact(failure_fact(ev));
    let files: Vec<String> = found.iter().filter_map(|l| file_of(l)).collect();
    let urls: Vec<String> = found.iter().filter_map(|l| url_of(l)).collect();
    let cat = if files.len() == found.len() {
        format!("`cat server.crt {} > fullchain.crt`", files.join(" "))
    } else {
        "`cat server.crt intermediate.crt > fullchain.crt`".to_string()
    };
    let mut d = d
        .remedy(format!("Broker (mosquitto): make `certfile` the server certificate followed by {what} ({cat}) and reload; or put {them} into the listener's `cafile`, from which an OpenSSL server completes its chain."))
        .remedy("RabbitMQ: `ssl_options.certfile` = leaf + intermediates, or the intermediates in `ssl_options.cacertfile`; EMQX: the same under `listeners.ssl.default.ssl_options`. The broker never needs to send the root.");
    for url in urls {
        d = d.remedy(format!("The intermediate can be downloaded from {url} (DER: `openssl x509 -inform der -in FILE -out intermediate.pem`)."));
    }
    d.remedy(format!(
        "Client workaround: a CA file holding {anchor} and {} ({}); the broker's fix is better, every client needs it otherwise.",
        names.join(", "),
        if files.len() == found.len() {
            format!("`cat {} {} > ca-bundle.crt`", cx.trust.first_path(), files.join(" "))
        } else {
            "`cat root.crt intermediate.crt > ca-bundle.crt`".to_string()
        }
    ))
    .remedy(format!(
        "See it: `openssl s_client -connect {}{} -showcerts` lists {} certificate(s) and prints \"Verify return code: 20 (unable to get local issuer certificate)\"; `openssl verify{} -untrusted {} server.crt` prints \"server.crt: OK\".",
        cx.target,
        cx.trust.openssl_option(),
        a.sent,
        cx.trust.openssl_option(),
        files.first().map_or("intermediate.crt", String::as_str)
    ))
}

/// The issuer is nowhere to be found: the most likely reading, the other one, and how to tell
/// them apart.
fn issuer_nowhere(
    ev: &Evidence,
    cx: &Context<'_>,
    a: &ChainAnalysis,
    issuer: &str,
    aki: Option<&str>,
    why: String,
) -> Diagnosis {
    let issuer = name_or_empty(issuer);
    let (summary, other) = match reading(a).0 {
        Code::MissingIntermediate => (
            format!(
                "Most likely the broker does not send the intermediate {issuer} that issued its certificate: it is in neither what the broker sent nor {}.",
                cx.trust.phrase()
            ),
            Code::UnknownCa,
        ),
        _ => (
            format!(
                "Most likely {} does not hold the CA {issuer} that issued the broker's chain.",
                cx.trust.phrase()
            ),
            Code::MissingIntermediate,
        ),
    };
    let code = if other == Code::UnknownCa {
        Code::MissingIntermediate
    } else {
        Code::UnknownCa
    };
    let mut d = Diagnosis::new(code, summary)
        .likely([other])
        .fact(format!("the broker presented {} certificate(s): {}", a.sent, sent_text(a)))
        .fact(format!(
            "{issuer}{} was looked for in {}: no certificate there has that name and a key that verifies the signature",
            aki.map_or(String::new(), |k| format!(" (key identifier {k})")),
            a.searched.join(", ")
        ))
        .fact(why)
        .fact(format!("to tell them apart: get {issuer}'s certificate and run `openssl x509 -in FILE -noout -subject -issuer`: an intermediate (issuer differs from subject) is what the broker must send, a root (subject = issuer) is what clients must trust; `mqtls diagnose ... --untrusted FILE` then confirms the path"))
        .fact(failure_fact(ev));
    for url in a.top().map(|t| t.ca_issuers.clone()).unwrap_or_default() {
        let subject = a.top().map_or("", |t| t.cert.subject.as_str());
        // A download that was tried and failed is in `searched` with its reason.
        let tried = a.searched.iter().find(|s| s.contains(url.as_str()));
        d = d.fact(match tried {
            Some(outcome) => format!("{subject} names its issuer's download URL {url} (AIA caIssuers); mqtls tried it: {outcome}"),
            None => format!("{subject} names its issuer's download URL {url} (AIA caIssuers), which mqtls did not download (--offline, or not an http:// URL)"),
        });
    }
    if code == Code::MissingIntermediate {
        d.remedy(format!("Broker (mosquitto): make `certfile` the server certificate followed by {issuer} (a fullchain file) and reload; RabbitMQ/EMQX: `ssl_options.certfile` the same. The broker never needs to send the root."))
            .remedy(format!("If {issuer} turns out to be a root: clients must trust it (`--cafile` with it), or the broker needs a certificate from the CA clients trust."))
            .remedy(format!("See it: `openssl s_client -connect {}{} -showcerts` lists {} certificate(s) and prints \"Verify return code: 20 (unable to get local issuer certificate)\".", cx.target, cx.trust.openssl_option(), a.sent))
    } else {
        d.remedy(format!("Client: trust the root of the broker's PKI, the CA above {issuer} (mosquitto_pub `--cafile`, paho-python `tls_set(ca_certs=...)`, rumqttc `RootCertStore::add`)."))
            .remedy(format!("If {issuer} turns out to be an intermediate: the broker must send it after its certificate (mosquitto `certfile` as a fullchain)."))
            .remedy(format!("See it: `openssl s_client -connect {}{} -showcerts` prints \"Verify return code: 20 (unable to get local issuer certificate)\".", cx.target, cx.trust.openssl_option()))
    }
}

/// The likelier reading when the missing issuer is found nowhere, and why: from what the broker
/// sent, never from how the names look.
fn reading(a: &ChainAnalysis) -> (Code, String) {
    match a.top() {
        Some(top) if top.sent() && top.cert.is_ca() && a.path.len() > 1 => (
            Code::UnknownCa,
            format!(
                "the broker sends its chain up to the CA {}; what is missing above a CA the broker sends is usually the root, which only the client's trust can supply",
                top.cert.subject
            ),
        ),
        Some(top) if !top.ca_issuers.is_empty() => (
            Code::MissingIntermediate,
            format!(
                "{} names a caIssuers URL, as CAs that issue from intermediates do, and the broker sent no CA certificate",
                top.cert.subject
            ),
        ),
        _ => (
            Code::MissingIntermediate,
            format!(
                "the broker sent {} certificate(s) and no CA certificate; most PKIs issue server certificates from an intermediate, which the broker must send",
                a.sent
            ),
        ),
    }
}

pub(super) fn server_cert_expired(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::Expired { .. })) {
        return None;
    }
    // The certificates the verifier used: the analysed path (an expired cross-sign the broker
    // also sends is not why it failed), else what the broker sent and the CA file.
    let (chain, anchors): (Vec<CertSummary>, Vec<CertSummary>) = match cx.chain {
        Some(a) => a.path.iter().map(|l| l.cert.clone()).partition(|c| {
            !a.path
                .iter()
                .any(|l| l.anchor() && l.cert.sha256 == c.sha256)
        }),
        None => (chain(ev, cx), cx.trust.certs.clone()),
    };
    let expired: Vec<&CertSummary> = chain
        .iter()
        .filter(|c| c.not_after_unix <= cx.checked_at)
        .collect();
    let anchor_expired = anchors.iter().find(|c| c.not_after_unix <= cx.checked_at);
    if let (true, Some(anchor)) = (expired.is_empty(), anchor_expired) {
        return Some(expired_anchor(ev, cx, anchor));
    }
    let cert = expired.first().copied().or(chain.first())?;
    let which = if chain.first().is_some_and(|c| c.sha256 == cert.sha256) {
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
            "The root in {} ({}) expired on {}.",
            cx.trust.phrase(),
            anchor.subject,
            anchor.not_after
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
    let cn = leaf.subject_attr("CN");
    let cn_names_it = !is_ip
        && cn
            .as_deref()
            .is_some_and(|cn| crate::x509::san_covers(&[format!("DNS:{cn}")], expected));
    let (code, summary) = if leaf.sans.is_empty() && cn_names_it {
        (
            Code::CnOnlyNoSan,
            format!(
                "The broker's certificate has no subjectAltName; it names the host only in its CN ({}), which {} does not accept for `{expected}`.",
                leaf.subject, ev.backend
            ),
        )
    } else if leaf.sans.is_empty() {
        // OpenSSL compared the CN (it falls back to it without a DNS SAN) and it differs; for
        // rustls the CN would not have counted anyway, but it does not name the host either.
        (
            Code::HostnameMismatch,
            format!(
                "The broker's certificate has no subjectAltName, and its CN ({}) does not name `{expected}` either.",
                cn.as_deref().unwrap_or("none")
            ),
        )
    } else if !is_ip
        && !leaf.sans.iter().any(|s| s.starts_with("DNS:"))
        && leaf
            .subject_attr("CN")
            .is_some_and(|cn| crate::x509::san_covers(&[format!("DNS:{cn}")], expected))
    {
        (
            Code::CnOnlyNoSan,
            format!(
                "The broker's certificate has no DNS subjectAltName (only {sans}); it names `{expected}` only in its CN ({}), which {} does not accept; OpenSSL falls back to the CN when there is no DNS SAN.",
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
            .remedy(if is_ip {
                format!("Broker: reissue the certificate with `subjectAltName = IP:{expected}` (keep its DNS: entries) and reload it; a DNS: entry or the CN never matches an address.")
            } else {
                format!("Broker: reissue the certificate with `subjectAltName = DNS:{expected}` and reload it.")
            })
            .remedy(if is_ip {
                format!("See it: `openssl s_client -connect {} -verify_ip {expected}{}` prints \"Verify return code: 64 (IP address mismatch)\".", cx.target, cx.trust.openssl_option())
            } else {
                format!("See it: `openssl s_client -connect {} -verify_hostname {expected}{}` prints \"Verify return code: 62 (hostname mismatch)\".", cx.target, cx.trust.openssl_option())
            }),
    )
}

pub(super) fn ca_cert_as_server_cert(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(cert_problem(ev), Some(CertProblem::CaUsedAsEndEntity)).then(|| {
        let subject = leaf(ev, cx).map_or("the broker's certificate".to_string(), |l| l.subject.clone());
        Diagnosis::new(Code::CaCertAsServerCert, format!("The broker's certificate ({subject}) has CA:TRUE and is used as a server certificate; rustls refuses that{}.", openssl_view(cx, "OpenSSL does not check it")))
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
        let mut d = Diagnosis::new(Code::X509V1Cert, format!("The broker's chain contains an X.509 v1 certificate ({}); rustls refuses v1{}.", subjects.join(", "), openssl_view(cx, "OpenSSL accepts v1")))
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

pub(super) fn weak_key(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let chain = chain(ev, cx);
    let small_rsa = chain.iter().find(|c| c.has_small_rsa_key());
    // rustls reports an RSA-1024 leaf as a bad handshake signature; the key size tells why.
    let applies = matches!(cert_problem(ev), Some(CertProblem::WeakKey))
        || (matches!(cert_problem(ev), Some(CertProblem::BadSignature)) && small_rsa.is_some());
    if !applies {
        return None;
    }
    // OpenSSL's "key too small" also covers small curves (P-192) and DSA at its security level:
    // name the key the certificate has, never a size it does not have.
    let weak = small_rsa.or_else(|| {
        chain.iter().find(|c| {
            !c.key.starts_with("RSA")
                && !matches!(c.key.as_str(), "EC P-256" | "EC P-384" | "EC P-521")
        })
    });
    let what = weak.map_or("a key in the chain".to_string(), |c| {
        format!("{} has a {} key", c.subject, c.key)
    });
    Some(
        Diagnosis::new(
            Code::WeakKey,
            format!("A key in the broker's chain is too weak for {}: {what}.", ev.backend),
        )
        .fact("rustls verifies RSA signatures only with 2048- to 8192-bit keys and ECDSA only on P-256 and P-384; OpenSSL 3 refuses keys under 112 bits of security (RSA < 2048, P-192) at security level 2, Debian's default, and accepts them at level 1 or 0")
        .fact(failure_fact(ev))
        .remedy("Broker PKI: reissue with RSA 2048+ or ECDSA P-256."),
    )
}

pub(super) fn unknown_ca(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let problem = cert_problem(ev)?;
    let untrusted = matches!(
        problem,
        CertProblem::UnknownIssuer | CertProblem::SelfSigned { .. }
    );
    let Some(a) = cx.chain else {
        return untrusted.then(|| unknown_ca_unanalysed(ev, cx));
    };
    // rustls finds an anchor by name and reports a CA regenerated under the same name as a bad
    // signature: that is only unknown_ca when the analysis saw the namesake.
    let namesake = a.namesakes.iter().find(|l| l.anchor());
    if !(untrusted || (matches!(problem, CertProblem::BadSignature) && namesake.is_some())) {
        return None;
    }
    match &a.end {
        PathEnd::UntrustedRoot => Some(untrusted_root(ev, cx, a)),
        PathEnd::IssuerNotFound { issuer, aki } => match namesake {
            Some(twin) => Some(regenerated_ca(ev, cx, a, twin, aki.as_deref())),
            None => {
                let (code, why) = reading(a);
                (code == Code::UnknownCa)
                    .then(|| issuer_nowhere(ev, cx, a, issuer, aki.as_deref(), why))
            }
        },
        PathEnd::Anchored { .. } => Some(
            Diagnosis::new(
                Code::UnknownCa,
                format!("{} refused the chain as untrusted, although mqtls verified a path to {} in {}.", ev.backend, a.top().map_or("", |l| l.cert.subject.as_str()), cx.trust.phrase()),
            )
            .likely([])
            .fact(format!("verified path: {}", a.describe_path()))
            .fact(failure_fact(ev))
            .fact("the stack's own checks differ from a plain signature path: an anchor it cannot parse or use, or a key identifier it relies on")
            .remedy(format!("See it: `openssl verify{} -untrusted chain.pem server.crt` runs OpenSSL's own path building on the same files.", cx.trust.openssl_option())),
        ),
        PathEnd::TooLong => match problem {
            // OpenSSL stops at the first certificate whose subject equals its issuer and calls
            // it a self-signed root; the analysis followed the signatures further and never
            // reached an anchor.
            CertProblem::SelfSigned { depth } => {
                let at = chain(ev, cx)
                    .get(*depth as usize)
                    .map_or_else(|| format!("depth {depth}"), |c| c.subject.clone());
                Some(
                    Diagnosis::new(
                        Code::UnknownCa,
                        format!("{} stopped at {at} (depth {depth}), which it takes for a self-signed root that {} does not hold.", ev.backend, cx.trust.phrase()),
                    )
                    .likely([Code::ChainTooLong])
                    .fact(format!("the broker sent {} certificate(s); following their signatures, mqtls found no trust anchor within {} links", a.sent, crate::chain::MAX_LINKS))
                    .fact(failure_fact(ev))
                    .remedy("Broker: send only the leaf and the intermediates up to the root the clients trust (a few certificates, not the whole chain of a long or looping PKI).")
                    .remedy(format!("See it: `openssl s_client -connect {}{} -showcerts` prints \"Verify return code: 19 (self-signed certificate in certificate chain)\".", cx.target, cx.trust.openssl_option())),
                )
            }
            _ => None,
        },
    }
}

/// Confirmed: the path ends at a self-signed root that no trust anchor holds.
fn untrusted_root(ev: &Evidence, cx: &Context<'_>, a: &ChainAnalysis) -> Diagnosis {
    let root = a.top().map_or(String::new(), |l| l.cert.subject.clone());
    let where_root = a.top().map_or(String::new(), Link::found_in);
    let sent_root = a.top().is_some_and(Link::sent);
    let trusted = match &cx.trust.source {
        crate::facts::TrustSource::System => String::new(),
        crate::facts::TrustSource::Files { .. } => {
            format!(
                "; {} holds: {}",
                cx.trust.phrase(),
                subjects(&cx.trust.certs)
            )
        }
    };
    let root_file = a.top().and_then(file_of);
    Diagnosis::new(
        Code::UnknownCa,
        format!("The broker's chain ends at the root {root}, which {} does not hold.", cx.trust.phrase()),
    )
    .fact(format!("the broker presented {} certificate(s): {}", a.sent, sent_text(a)))
    .fact(format!("verified path: {}", a.describe_path()))
    .fact(format!("the root {root} was found in {where_root}{trusted}"))
    .fact(failure_fact(ev))
    .remedy(format!(
        "Client: trust {root}: {}; mosquitto_pub `--cafile`, paho-python `tls_set(ca_certs=...)`, rumqttc `RootCertStore::add`.",
        match &root_file {
            Some(f) => format!("pass `--cafile {f}` or append it to your CA file (`cat {f} >> {}`)", cx.trust.first_path()),
            None => "get it from whoever runs the broker's PKI and pass it as `--cafile`".to_string(),
        }
    ))
    .remedy("Broker: if clients should keep the CA they trust, issue the broker a certificate from that CA and point `certfile` (RabbitMQ/EMQX `ssl_options.certfile`) at it.")
    .remedy(format!(
        "See it: `openssl s_client -connect {}{} -showcerts` prints \"Verify return code: {}\".",
        cx.target,
        cx.trust.openssl_option(),
        if sent_root {
            "19 (self-signed certificate in certificate chain)"
        } else {
            "20 (unable to get local issuer certificate)"
        }
    ))
}

/// Confirmed: a trust anchor has the issuer's name but another key.
fn regenerated_ca(
    ev: &Evidence,
    cx: &Context<'_>,
    a: &ChainAnalysis,
    twin: &Link,
    aki: Option<&str>,
) -> Diagnosis {
    let name = twin.cert.subject.clone();
    Diagnosis::new(
        Code::UnknownCa,
        format!("{} holds a CA named {name}, but not the one that signed the broker's chain: the CA was probably regenerated under the same name.", capitalised(&cx.trust.phrase())),
    )
    .fact(format!("the broker presented {} certificate(s): {}", a.sent, sent_text(a)))
    .fact(format!(
        "the key of {name} in {} does not verify the signature of {} (key identifier {} vs {})",
        twin.found_in(),
        a.top().map_or("", |l| l.cert.subject.as_str()),
        twin.cert.ski.as_deref().unwrap_or("none"),
        aki.unwrap_or("none")
    ))
    .fact(failure_fact(ev))
    .remedy(format!("Client: replace {name} in {} with the current certificate of that CA (compare `openssl x509 -noout -fingerprint -sha256` with the broker's PKI).", cx.trust.first_path()))
    .remedy("Broker: if the CA was regenerated by mistake, re-issue the broker's certificate from the CA clients have.")
}

/// Without an analysis (no chain was seen): the stack's word, and what cannot be decided.
fn unknown_ca_unanalysed(ev: &Evidence, cx: &Context<'_>) -> Diagnosis {
    Diagnosis::new(
        Code::UnknownCa,
        format!(
            "{} does not verify the broker's chain, and no chain was captured to tell why.",
            capitalised(&cx.trust.phrase())
        ),
    )
    .likely([Code::MissingIntermediate])
    .fact(failure_fact(ev))
    .remedy(format!(
        "See it: `openssl s_client -connect {}{} -showcerts` shows the chain the broker sends.",
        cx.target,
        cx.trust.openssl_option()
    ))
}

/// The chain as sent, each with its issuer.
fn sent_text(a: &ChainAnalysis) -> String {
    let mut sent: Vec<&Link> = a
        .path
        .iter()
        .chain(&a.unused_sent)
        .filter(|l| l.sent())
        .collect();
    sent.sort_by_key(|l| l.broker_index());
    elide(
        sent.iter()
            .map(|l| {
                format!(
                    "[{}] {} (issued by {})",
                    l.broker_index().unwrap_or(0),
                    l.cert.subject,
                    name_or_empty(&l.cert.issuer)
                )
            })
            .collect(),
    )
}

/// What the OpenSSL probe made of the same chain, for sentences that contrast the stacks:
/// `, {accepts}` when it accepted the certificate, what it said instead when it refused it,
/// nothing when OpenSSL was not probed.
fn openssl_view(cx: &Context<'_>, accepts: &str) -> String {
    let Some(openssl) = cx
        .all
        .iter()
        .find(|e| e.backend == crate::evidence::Backend::Openssl)
    else {
        return String::new();
    };
    match &openssl.failure {
        Some(Failure::CertRejected { .. }) => format!(
            "; OpenSSL refused the chain too ({})",
            openssl
                .raw_error
                .as_deref()
                .unwrap_or("its verification failed")
        ),
        _ => format!(", {accepts}"),
    }
}

/// The phrase with its first letter in upper case, to start a sentence.
fn capitalised(phrase: &str) -> String {
    let mut chars = phrase.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A DN for sentences: the empty DN says so instead of printing nothing.
fn name_or_empty(dn: &str) -> String {
    if dn.is_empty() {
        crate::x509::EMPTY_DN.to_string()
    } else {
        dn.to_string()
    }
}

/// The user's file that holds a certificate, if one does.
fn file_of(l: &Link) -> Option<String> {
    l.sources.iter().find_map(|s| match s {
        crate::chain::Source::Beside { path }
        | crate::chain::Source::Untrusted { path }
        | crate::chain::Source::CaFile { path } => Some(path.clone()),
        _ => None,
    })
}

/// The AIA URL a certificate was downloaded from, if it was.
fn url_of(l: &Link) -> Option<String> {
    l.sources.iter().find_map(|s| match s {
        crate::chain::Source::Aia { url } => Some(url.clone()),
        _ => None,
    })
}
