//! Findings about the broker's certificate chain, walked link by link against the CA file.

use super::*;
use crate::x509::ca_flag;
use crate::x509::dns_matches;

// ---------------------------------------------------------------------------------------------
// The server chain.

/// Everything the server checks look at.
pub(super) struct ServerContext<'a> {
    pub(super) file: &'a str,
    /// The server file's certificates, leaf first; never empty.
    pub(super) certs: &'a [CertSummary],
    pub(super) trust: &'a TrustFacts,
    /// The path the chain analysis built from the leaf.
    pub(super) chain: &'a ChainAnalysis,
    pub(super) expect_name: Option<&'a str>,
    pub(super) checked_at: i64,
    /// The security level of a default OpenSSL client context on this machine.
    pub(super) security_level: u32,
}

impl ServerContext<'_> {
    pub(super) fn leaf(&self) -> &CertSummary {
        &self.certs[0]
    }

    /// True when `c` is on the verified path.
    fn on_path(&self, c: &CertSummary) -> bool {
        self.chain.path.iter().any(|l| l.cert.sha256 == c.sha256)
    }
}

/// The independent checks of the broker's files. Their severities are the files' own; the
/// caller keeps an error only where a stack refused the chain for that reason.
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
    let cn = cn.as_deref();
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

/// Identical subjects, issuers that are not CAs, and intermediates only the CA file supplies,
/// along the verified path.
pub(super) fn check_path(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let leaf = cx.leaf();
    let subject = Some(leaf.subject.as_str());
    let same = cx
        .trust
        .certs
        .iter()
        .chain(cx.chain.path.iter().skip(1).map(|l| &l.cert))
        .find(|c| c.subject == leaf.subject && c.sha256 != leaf.sha256);
    if let Some(ca) = same {
        // Without key identifiers that tell them apart OpenSSL takes the broker certificate
        // for self-signed (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT); the verdicts say whether
        // that happened here.
        let in_ca_file = cx.trust.certs.iter().any(|c| c.sha256 == ca.sha256);
        let place = if in_ca_file {
            cx.trust.describe()
        } else {
            cx.file.to_string()
        };
        out.push(Finding::new(
            Code::SameSubjectCaAndServer,
            Severity::Error,
            subject,
            format!("{}: the broker certificate and {} in {place} have the identical subject {}, expected different DNs: OpenSSL finds issuers by name, and releases or settings without key identifiers to tell them apart take the broker certificate for self-signed; mosquitto-tls(7) warns against it", cx.file, if ca.is_ca() { "the CA certificate" } else { "the certificate" }, leaf.subject),
        ).remedy("Give the CA and the broker certificate different subjects (e.g. CN=My MQTT CA vs CN=broker.example.com) and re-issue the broker certificate."));
    }
    for pair in cx.chain.path.windows(2) {
        let (child, issuer) = (&pair[0].cert, &pair[1].cert);
        // OpenSSL accepts a self-signed v1 root as a CA; rustls never looks at an anchor's
        // flags: a trust anchor's flags are the verdicts' business.
        if issuer.is_ca() || pair[1].anchor() || issuer.version == 0 {
            continue;
        }
        out.push(Finding::new(
            Code::IssuerNotCa,
            Severity::Error,
            Some(&issuer.subject),
            format!("{} issued {} but has basicConstraints CA:{}, expected CA:TRUE for any certificate that issues others", issuer.subject, child.subject, ca_flag(issuer)),
        ).remedy(format!("Re-issue {} with `basicConstraints=critical,CA:TRUE` and `keyUsage=keyCertSign`, then re-issue what it signed.", issuer.subject)));
    }
    // Intermediates that only the CA file supplies: this setup verifies, but clients that
    // trust just the root (the usual case) fail with `missing_intermediate`.
    if cx.chain.anchored() {
        for l in cx.chain.not_sent().into_iter().filter(|l| l.anchor()) {
            out.push(Finding::new(
                Code::MissingIntermediate,
                Severity::Warning,
                Some(&l.cert.subject),
                format!("{} does not hold the intermediate {}; the chain verifies only because {} holds it, and clients that trust just the root will fail", cx.file, l.cert.subject, l.found_in()),
            ).remedy(format!("Broker: append {} to its certificate file (a fullchain: leaf, then intermediate) — mosquitto `certfile`, RabbitMQ/EMQX `ssl_options.certfile`.", l.cert.subject)));
        }
    }
}

/// Validity, version, signature and key of every certificate of the server file on the path.
pub(super) fn check_server_certs(cx: &ServerContext<'_>, out: &mut Vec<Finding>) {
    let now = cx.checked_at;
    let clock = rfc3339(now);
    let before = out.len();
    let mut unused = Vec::new();
    for (i, c) in cx.certs.iter().enumerate().filter(|(_, c)| c.version != 0) {
        let what = if i == 0 {
            "the broker certificate".to_string()
        } else {
            format!("certificate [{i}] of the chain")
        };
        if !cx.on_path(c) {
            unused.push(c.sha256.clone());
        }
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
    // A certificate no path uses breaks nobody: say so, as a warning.
    for f in out.iter_mut().skip(before) {
        let cert = cx
            .certs
            .iter()
            .find(|c| Some(c.subject.as_str()) == f.subject.as_deref());
        if cert.is_some_and(|c| unused.contains(&c.sha256)) {
            f.severity = Severity::Warning;
            f.message
                .push_str("; it is not on the verified path, so no stack uses it");
        }
    }
}
