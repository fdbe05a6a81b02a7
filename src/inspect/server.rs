//! Findings about the broker's certificate chain, walked link by link against the CA file.

use super::*;

// ---------------------------------------------------------------------------------------------
// The server chain.

/// Everything the server checks look at.
pub(super) struct ServerContext<'a> {
    pub(super) file: &'a str,
    /// The server file's certificates, leaf first; never empty.
    pub(super) certs: &'a [CertSummary],
    pub(super) trust: &'a TrustFacts,
    pub(super) chain: &'a ChainExplained,
    pub(super) expect_name: Option<&'a str>,
    pub(super) checked_at: i64,
    /// The security level of a default OpenSSL client context on this machine.
    pub(super) security_level: u32,
}

impl ServerContext<'_> {
    pub(super) fn leaf(&self) -> &CertSummary {
        &self.certs[0]
    }

    /// The certificates of the path, leaf first, with their summaries.
    pub(super) fn path(&self) -> Vec<&CertSummary> {
        self.chain
            .steps
            .iter()
            .filter_map(|s| match (s.server_file_index, s.ca_file_index) {
                (Some(i), _) => self.certs.get(i),
                (None, Some(i)) => self.trust.certs.get(i),
                (None, None) => None,
            })
            .collect()
    }

    pub(super) fn user_ca_file(&self) -> bool {
        matches!(self.trust.source, TrustSource::Files { .. }) && !self.trust.certs.is_empty()
    }
}

/// A certificate of one of the user's files with its DER, for the chain walk.
#[derive(Clone, Copy)]
pub(super) struct Held<'a> {
    pub(super) summary: &'a CertSummary,
    pub(super) der: Option<&'a CertificateDer<'static>>,
}

/// Follows the issuers from the leaf: the CA file first (as OpenSSL's trusted-first lookup and
/// webpki's anchors do), then the rest of the server file; once in the CA file, only there.
pub(super) fn explain_chain(
    server: &[Held<'_>],
    trust: &TrustFacts,
    anchors: &[Held<'_>],
) -> ChainExplained {
    const MAX_STEPS: usize = 10;
    let system = trust.source == TrustSource::System;
    let position = |certs: &[Held<'_>], c: &CertSummary| {
        certs.iter().position(|x| x.summary.sha256 == c.sha256)
    };
    let mut steps: Vec<ChainStep> = Vec::new();
    let mut visited: Vec<&str> = Vec::new();
    let mut current = server[0];
    let end = loop {
        let cert = current.summary;
        let ca_file_index = position(anchors, cert);
        steps.push(ChainStep {
            subject: cert.subject.clone(),
            server_file_index: position(server, cert),
            ca_file_index,
            trust_anchor: ca_file_index.is_some() && (cert.is_ca() || cert.self_signed),
        });
        visited.push(cert.sha256.as_str());
        let anchored = steps.iter().any(|s| s.trust_anchor);
        let issuer_of = |c: &&Held<'_>| {
            c.summary.issued(cert)
                && !visited.contains(&c.summary.sha256.as_str())
                // Subject = issuer: only a verified signature tells "issued by a CA with the
                // same name" from "self-signed".
                && (cert.subject != cert.issuer || signed_by(current, **c))
        };
        let next = anchors
            .iter()
            .find(issuer_of)
            .or_else(|| (!anchored).then(|| server.iter().find(issuer_of)).flatten());
        match next {
            Some(_) if steps.len() >= MAX_STEPS => break ChainEnd::TooLong,
            Some(next) => current = *next,
            None if anchored => break ChainEnd::Anchored,
            None if cert.self_signed && system && steps.len() > 1 => {
                break ChainEnd::SystemStore {
                    issuer: cert.subject.clone(),
                };
            }
            None if cert.self_signed => break ChainEnd::UntrustedSelfSigned,
            None if system => {
                break ChainEnd::SystemStore {
                    issuer: cert.issuer.clone(),
                };
            }
            None => {
                break ChainEnd::IssuerMissing {
                    issuer: cert.issuer.clone(),
                };
            }
        }
    };
    ChainExplained { steps, end }
}

/// True when `issuer`'s key verifies `child`'s signature (OpenSSL; false when unparseable).
pub(super) fn signed_by(child: Held<'_>, issuer: Held<'_>) -> bool {
    let (Some(child), Some(issuer)) = (child.der, issuer.der) else {
        return false;
    };
    let (Ok(child), Ok(issuer)) = (X509::from_der(child), X509::from_der(issuer)) else {
        return false;
    };
    issuer
        .public_key()
        .and_then(|key| child.verify(&key))
        .unwrap_or(false)
}

pub(super) fn check_server(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    check_leaf(cx, out);
    check_names(cx, out);
    check_path(cx, out);
    check_server_certs(cx, out);
}

pub(super) fn check_leaf(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let (leaf, file) = (cx.leaf(), cx.file);
    let subject = Some(leaf.subject.as_str());
    if leaf.is_ca() {
        out.push(Finding::new(
            Code::CaCertAsServerCert,
            Severity::Error,
            subject,
            format!("{file}: the broker certificate {} has basicConstraints CA:TRUE, expected CA:FALSE for a server certificate: rustls rejects it (CaUsedAsEndEntity), OpenSSL accepts it", leaf.subject),
        ).remedy("Issue the broker a leaf from a CA (`basicConstraints=CA:FALSE`, `extendedKeyUsage=serverAuth`, subjectAltName); `openssl req -x509` makes CA certificates, sign a CSR with `openssl x509 -req -extfile` instead."));
    }
    let eku_ok = leaf.eku.is_empty() || leaf.eku.iter().any(|e| e == "serverAuth" || e == "any");
    if !eku_ok {
        out.push(Finding::new(
            Code::ServerEkuMissing,
            Severity::Error,
            subject,
            format!("{file}: the broker certificate {} has extendedKeyUsage {}, expected serverAuth: both stacks reject it for a server", leaf.subject, leaf.eku.join(", ")),
        ).remedy("Re-issue the broker certificate with `extendedKeyUsage=serverAuth` (or without the extension)."));
    }
}

pub(super) fn check_names(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let (leaf, file) = (cx.leaf(), cx.file);
    let subject = Some(leaf.subject.as_str());
    let cn = leaf.subject_attr("CN");
    let bare = cx
        .expect_name
        .map(|n| n.trim_start_matches('[').trim_end_matches(']'));
    let is_ip = bare.is_some_and(|n| n.parse::<IpAddr>().is_ok());
    // OpenSSL falls back to the CN whenever there is no DNS SAN (IP SANs do not count).
    let dns_sans = leaf.sans.iter().any(|s| s.starts_with("DNS:"));
    let cn_fallback =
        !dns_sans && !is_ip && bare.is_some_and(|n| cn.is_some_and(|cn| dns_matches(cn, n)));
    if leaf.version != 0 && (leaf.sans.is_empty() || cn_fallback) {
        let what = if leaf.sans.is_empty() {
            "no subjectAltName".to_string()
        } else {
            format!("no DNS subjectAltName ({})", leaf.sans.join(", "))
        };
        out.push(Finding::new(
            Code::CnOnlyNoSan,
            Severity::Error,
            subject,
            format!("{file}: the broker certificate {} has {what}, expected the broker's names as DNS: SANs; presented only CN={}: OpenSSL falls back to the CN, rustls (and Go, Python 3.7+) do not", leaf.subject, cn.unwrap_or("(none)")),
        ).remedy(format!("Re-issue it with `-addext subjectAltName=DNS:{}` (add `,IP:...` for addresses clients use).", cn.unwrap_or("broker.example.com"))));
    }
    let Some(bare) = bare else {
        return;
    };
    if san_covers(&leaf.sans, bare) || cn_fallback {
        return;
    }
    let presented = if leaf.sans.is_empty() {
        format!("no SAN (CN={})", cn.unwrap_or("none"))
    } else {
        leaf.sans.join(", ")
    };
    if is_ip {
        out.push(Finding::new(
            Code::IpNotInSan,
            Severity::Error,
            subject,
            format!("{file}: clients connect to the IP address {bare}, expected an IP:{bare} SAN in {}; presented {presented} (a DNS: SAN or CN never matches an address)", leaf.subject),
        ).remedy(format!("Connect by a name the certificate holds, or re-issue it with `subjectAltName=IP:{bare}` next to its DNS names.")));
    } else {
        out.push(Finding::new(
            Code::HostnameMismatch,
            Severity::Error,
            subject,
            format!("{file}: clients check the name {bare}, expected it among the SANs of {}; presented {presented}", leaf.subject),
        ).remedy(format!("Connect with a name the certificate holds (mosquitto_pub `-h`, or `--expect-name`), or re-issue it with `subjectAltName=DNS:{bare}`.")));
    }
}

pub(super) fn check_path(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let leaf = cx.leaf();
    let path = cx.path();
    let ca_file = cx.trust.describe();
    let subject = Some(leaf.subject.as_str());
    let same = cx
        .trust
        .certs
        .iter()
        .chain(path.iter().skip(1).copied())
        .find(|c| c.subject == leaf.subject && c.sha256 != leaf.sha256);
    if let Some(ca) = same {
        // With key identifiers that differ, OpenSSL 3 and rustls tell the two apart; without
        // them OpenSSL takes the leaf for self-signed (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT).
        let told_apart = matches!((&leaf.aki, &leaf.ski), (Some(aki), Some(ski)) if aki != ski);
        let (severity, why) = if told_apart {
            (
                Severity::Warning,
                "OpenSSL 3 and rustls accept it because the key identifiers tell them apart, but older OpenSSL releases take the broker certificate for self-signed, and mosquitto-tls(7) warns against it",
            )
        } else {
            (
                Severity::Error,
                "without key identifiers to tell them apart OpenSSL takes the broker certificate for self-signed and rejects it (\"self-signed certificate\"); rustls checks the signature and accepts it",
            )
        };
        let in_ca_file = cx.trust.certs.iter().any(|c| c.sha256 == ca.sha256);
        let place = if in_ca_file {
            ca_file.as_str()
        } else {
            cx.file
        };
        out.push(Finding::new(
            Code::SameSubjectCaAndServer,
            severity,
            subject,
            format!("{}: the broker certificate and {} in {place} have the identical subject {}, expected different DNs: {why}", cx.file, if ca.is_ca() { "the CA certificate" } else { "the certificate" }, leaf.subject),
        ).remedy("Give the CA and the broker certificate different subjects (e.g. CN=My MQTT CA vs CN=broker.example.com) and re-issue the broker certificate."));
    }
    for pair in path.windows(2) {
        let (child, issuer) = (pair[0], pair[1]);
        // OpenSSL accepts a self-signed v1 root as a CA; rustls never looks at an anchor's flags.
        if issuer.is_ca() || (issuer.version == 1 && issuer.self_signed) || issuer.version == 0 {
            continue;
        }
        out.push(Finding::new(
            Code::IssuerNotCa,
            Severity::Error,
            Some(&issuer.subject),
            format!("{} issued {} but has basicConstraints CA:{}, expected CA:TRUE for any certificate that issues others: both stacks reject the chain", issuer.subject, child.subject, ca_flag(issuer)),
        ).remedy(format!("Re-issue {} with `basicConstraints=critical,CA:TRUE` and `keyUsage=keyCertSign`, then re-issue what it signed.", issuer.subject)));
    }
    // A CA file of end-entity certificates only is the finding; what the chain lacks follows.
    let ca_file_is_the_problem = out
        .iter()
        .any(|f| f.code == Code::ServerCertAsCa && f.severity == Severity::Error);
    if !cx.user_ca_file() || ca_file_is_the_problem {
        // System store: the stacks' verdicts say whether it holds the issuer. An unusable CA
        // file is already a finding of its own.
        if cx.chain.end == ChainEnd::UntrustedSelfSigned && cx.chain.steps.len() == 1 {
            out.push(self_signed(cx, &ca_file));
        }
        return;
    }
    match &cx.chain.end {
        ChainEnd::UntrustedSelfSigned if cx.chain.steps.len() == 1 => {
            out.push(self_signed(cx, &ca_file));
        }
        ChainEnd::UntrustedSelfSigned => {
            let root = path.last().map_or("?", |c| c.subject.as_str());
            out.push(Finding::new(
                Code::UnknownCa,
                Severity::Error,
                subject,
                format!("the chain in {} ends at the root {root}, expected one of the CA file {ca_file}: it holds {}", cx.file, subjects(&cx.trust.certs)),
            ).remedy(format!("Give clients the root {root} as `--cafile` (mosquitto_pub `--cafile`, paho `tls_set(ca_certs=...)`), or have the broker certificate issued by a CA the clients trust.")));
        }
        ChainEnd::IssuerMissing { issuer } => out.push(issuer_missing(cx, &path, issuer)),
        ChainEnd::Anchored => {
            supplied_by_ca_file(cx, &path, out);
            let anchor = path.last().copied().unwrap_or(leaf);
            let already = out.iter().any(|f| f.code == Code::IntermediateAsAnchor);
            if !anchor.self_signed && anchor.is_ca() && !already {
                out.push(Finding::new(
                    Code::IntermediateAsAnchor,
                    Severity::Warning,
                    Some(&anchor.subject),
                    format!("the chain of {} ends at {} in the CA file {ca_file}, expected a self-signed root: rustls accepts it as the anchor, OpenSSL-based clients look for its issuer {} and fail", cx.file, anchor.subject, anchor.issuer),
                ).remedy(format!("Add the root {} to the CA file.", anchor.issuer)));
            }
        }
        ChainEnd::SystemStore { .. } | ChainEnd::TooLong => {}
    }
}

/// Intermediates that only the CA file supplies: this setup verifies, but clients that trust
/// just the root (the usual case) fail with `missing_intermediate`.
pub(super) fn supplied_by_ca_file(
    cx: &ServerContext<'_>,
    path: &[&CertSummary],
    out: &mut Vec<Finding>,
) {
    let only_in_ca_file = cx
        .chain
        .steps
        .iter()
        .zip(path)
        .skip(1)
        .filter(|(step, c)| step.server_file_index.is_none() && !c.self_signed);
    for (_, c) in only_in_ca_file {
        out.push(Finding::new(
            Code::MissingIntermediate,
            Severity::Warning,
            Some(&c.subject),
            format!("{} does not hold the intermediate {}; the chain verifies only because the CA file {} holds it, and clients that trust just the root will fail", cx.file, c.subject, cx.trust.describe()),
        ).remedy(format!("Broker: append {} to its certificate file (a fullchain: leaf, then intermediate) — mosquitto `certfile`, RabbitMQ/EMQX `ssl_options.certfile`.", c.subject)));
    }
}

pub(super) fn self_signed(cx: &ServerContext<'_>, ca_file: &str) -> Finding {
    let leaf = cx.leaf();
    Finding::new(
        Code::SelfSignedServerCert,
        Severity::Error,
        Some(&leaf.subject),
        format!("{}: the broker certificate {} is self-signed (CA:{}) and the CA file {ca_file} does not hold it; expected a certificate issued by a CA the clients trust", cx.file, leaf.subject, ca_flag(leaf)),
    )
    .remedy(format!("Best: issue the broker a certificate from a small CA (root → server) and give clients the root; or trust this exact certificate (`--cafile {}`), which rustls refuses if it has CA:TRUE.", cx.file))
}

pub(super) fn issuer_missing(
    cx: &ServerContext<'_>,
    path: &[&CertSummary],
    issuer: &str,
) -> Finding {
    let top = path.last().copied().unwrap_or(cx.leaf());
    let ca_file = cx.trust.describe();
    let related = cx
        .trust
        .certs
        .iter()
        .find(|c| c.is_ca() && same_organisation(c, issuer) && (!top.is_ca() || c.self_signed));
    match related {
        Some(root) => Finding::new(
            Code::MissingIntermediate,
            Severity::Error,
            Some(&top.subject),
            format!("{} holds {} certificate(s) and {} was issued by {issuer}, which is neither in it nor in the CA file {ca_file}; the CA file holds {} of the same PKI, so the intermediate is missing", cx.file, cx.certs.len(), top.subject, root.subject),
        ).remedy(format!("Broker: make its certificate file a fullchain (leaf, then {issuer}): mosquitto `certfile`, RabbitMQ/EMQX `ssl_options.certfile`; or add {issuer} to the CA file (`cat root.crt intermediate.crt > ca-bundle.crt`).")),
        None => Finding::new(
            Code::UnknownCa,
            Severity::Error,
            Some(&top.subject),
            format!("the chain in {}: {} was issued by {issuer}, expected a CA the CA file {ca_file} holds; it holds {}", cx.file, top.subject, subjects(&cx.trust.certs)),
        ).remedy(format!("Give clients the CA that issued the broker certificate ({issuer}) or its root as `--cafile`.")),
    }
}

/// Validity, version, signature and key of every certificate of the server file on the path.
pub(super) fn check_server_certs(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let now = cx.checked_at;
    let clock = rfc3339(now);
    for (i, c) in cx.certs.iter().enumerate().filter(|(_, c)| c.version != 0) {
        let what = if i == 0 {
            "the broker certificate".to_string()
        } else {
            format!("certificate [{i}] of the chain")
        };
        let subject = Some(c.subject.as_str());
        let file = cx.file;
        if c.not_after_unix < now {
            out.push(Finding::new(
                Code::ServerCertExpired,
                Severity::Error,
                subject,
                format!("{file}: {what} {} expired on {}; checked at {clock} (this machine's clock, or the clock passed in)", c.subject, c.not_after),
            ).remedy("Renew it and reload the broker (mosquitto: `certfile` is re-read on SIGHUP); if the date looks wrong, check the clocks."));
        } else if c.not_before_unix > now {
            out.push(Finding::new(
                Code::ServerCertNotYetValid,
                Severity::Error,
                subject,
                format!("{file}: {what} {} is not valid before {}; checked at {clock}", c.subject, c.not_before),
            ).remedy("Almost always a wrong clock: check NTP on the clients and on the machine that issued the certificate."));
        }
        if c.version == 1 && !(i > 0 && c.self_signed) {
            out.push(Finding::new(
                Code::X509V1Cert,
                Severity::Error,
                subject,
                format!("{file}: {what} {} is X.509 v1, expected v3: rustls rejects it (UnsupportedCertVersion), OpenSSL accepts it; v1 also means no SAN and no CA flag", c.subject),
            ).remedy("Re-issue it as v3: `openssl x509 -req ... -extfile v3.ext` with `subjectAltName` and `basicConstraints=CA:FALSE` in v3.ext."));
        }
        if c.has_weak_signature() && !(i > 0 && c.self_signed) {
            out.push(Finding::new(
                Code::WeakSignature,
                Severity::Error,
                subject,
                format!("{file}: {what} {} is signed with {}, expected SHA-256 or better: rustls always rejects it, OpenSSL at security level 1 and above", c.subject, c.signature),
            ).remedy("Re-issue it with a SHA-256 signature (`openssl x509 -req -sha256 ...`)."));
        }
        if c.has_small_rsa_key() {
            out.push(Finding::new(
                Code::WeakKey,
                Severity::Error,
                subject,
                format!("{file}: {what} {} has a {} key, expected RSA 2048 or more (or EC): OpenSSL refuses it at security level 2 and above (this machine: {}); {}", c.subject, c.key, cx.security_level, if i == 0 {
                    "rustls fails the handshake when the broker signs with it (aws-lc-rs verifies RSA signatures only with 2048- to 8192-bit keys)"
                } else {
                    "rustls cannot verify the signatures made with it"
                }),
            ).remedy("Generate a new key (RSA 3072 or EC P-256) and re-issue the certificate."));
        }
    }
}
