//! Rules that follow the reason a TLS stack itself gave for refusing the chain: name
//! constraints, pathLen, chain length and path-building limits, a CA's extendedKeyUsage,
//! unknown critical extensions, bad signatures, malformed certificates and unsupported
//! algorithms; plus the boundaries where the two stacks differ (partial wildcards, a check at
//! the very second of notAfter).
//!
//! Each rule fires on the stack's reason, then reads from the certificates themselves
//! ([`CertSummary`] and [`CertDetails`]) which certificate and which value it concerns. What it
//! cannot read there it does not assert: it quotes the stack instead.

use crate::cert_details::CertDetails;
use crate::evidence::Backend;

use super::*;

// ---------------------------------------------------------------------------------------------
// Shared helpers.
// ---------------------------------------------------------------------------------------------

/// The chain and its details as one backend recorded them: this one's, or the first other
/// backend's that saw a chain (so both slices always describe the same certificates).
fn presented<'a>(ev: &'a Evidence, cx: &Context<'a>) -> (&'a [CertSummary], &'a [CertDetails]) {
    let source = if ev.peer_chain.is_empty() {
        cx.all.iter().find(|e| !e.peer_chain.is_empty())
    } else {
        Some(ev)
    };
    source.map_or((&[], &[]), |e| (&e.peer_chain, &e.chain_details))
}

/// A certificate named with its place in what the broker sent.
fn which(i: usize, cert: &CertSummary) -> String {
    if i == 0 {
        format!(
            "the broker's certificate {} (position 0, the leaf)",
            cert.subject
        )
    } else {
        format!(
            "the CA certificate {} (position {i} of the chain the broker sent)",
            cert.subject
        )
    }
}

/// `s` with its first letter upper-case, for summaries that open with [`which`].
fn capitalised(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => s,
    }
}

/// The depth the stack gave, as an index into the presented chain.
fn at_depth(depth: Option<u32>) -> Option<usize> {
    depth.and_then(|d| usize::try_from(d).ok())
}

/// For a depth past the certificates the broker sent: the verifier's own chain continued into
/// the CA file, so that is where the certificate is.
fn beyond_sent(depth: Option<u32>, sent: usize, cx: &Context<'_>) -> Option<String> {
    let d = at_depth(depth)?;
    (d >= sent && sent > 0).then(|| {
        format!(
            "the certificate at depth {d} is not among the {sent} certificate(s) the broker sent: it is a CA from {}",
            cx.trust.describe()
        )
    })
}

/// Whether `backend`'s probe got past the certificate check (`Some(true)`), was refused by
/// it (`Some(false)`), or is not known to have judged the chain (`None`).
fn judged(cx: &Context<'_>, backend: Backend) -> Option<bool> {
    let ev = cx.all.iter().find(|e| e.backend == backend)?;
    if matches!(ev.phase, Phase::Mqtt | Phase::Done) {
        Some(true)
    } else if matches!(ev.failure, Some(Failure::CertRejected { .. })) {
        Some(false)
    } else {
        None
    }
}

/// The other backend of the two.
fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Rustls => Backend::Openssl,
        Backend::Openssl => Backend::Rustls,
    }
}

/// What the OpenSSL probe's verifier printed, when its first error is of the kind `same`
/// names: `error 47 at 0 depth lookup: permitted subtree violation`.
fn openssl_line(cx: &Context<'_>, same: fn(&CertProblem) -> bool) -> Option<String> {
    let ev = cx.all.iter().find(|e| e.backend == Backend::Openssl)?;
    if !cert_problem(ev).is_some_and(same) {
        return None;
    }
    let v = ev.verify_errors.first()?;
    Some(format!(
        "error {} at {} depth lookup: {}",
        v.code?, v.depth?, v.message
    ))
}

/// The "See it" remedy: what `openssl verify` printed in this very run, or that OpenSSL
/// accepted the chain, or OpenSSL's words for the reason when it was not probed.
fn see_it(cx: &Context<'_>, same: fn(&CertProblem) -> bool, words: &str) -> String {
    let cmd = format!(
        "`openssl s_client -connect {} -showcerts` saves the chain (leaf as server.pem, the rest as chain.pem); `openssl verify -CAfile {} -untrusted chain.pem server.pem`",
        cx.target,
        cx.trust.first_path()
    );
    match openssl_line(cx, same) {
        Some(line) => format!("See it: {cmd} prints `{line}`, as the OpenSSL probe did."),
        None if judged(cx, Backend::Openssl) == Some(true) => format!(
            "See it: {cmd} prints `server.pem: OK`: the OpenSSL probe accepted this chain, only rustls refuses it."
        ),
        None => format!("See it: {cmd}; OpenSSL reports this reason as `{words}`."),
    }
}

/// A sentence on what the other backend did with the same chain, only from its evidence.
fn other_stack_fact(ev: &Evidence, cx: &Context<'_>) -> Option<String> {
    let o = other(ev.backend);
    let theirs = cx.all.iter().find(|e| e.backend == o)?;
    match judged(cx, o)? {
        true => Some(format!("{o} accepted the same chain")),
        false => Some(format!("{o} refused it too: {}", failure_fact(theirs))),
    }
}

fn with_other(d: Diagnosis, ev: &Evidence, cx: &Context<'_>) -> Diagnosis {
    match other_stack_fact(ev, cx) {
        Some(f) => d.fact(f),
        None => d,
    }
}

// ---------------------------------------------------------------------------------------------
// Name constraints.
// ---------------------------------------------------------------------------------------------

/// A DNS name inside a DNS constraint: equal, or a subdomain (a leading dot: subdomains only).
fn dns_within(name: &str, base: &str) -> bool {
    let (name, base) = (name.to_ascii_lowercase(), base.to_ascii_lowercase());
    if base.is_empty() {
        return true;
    }
    if base.starts_with('.') {
        return name.ends_with(&base);
    }
    name == base || name.ends_with(&format!(".{base}"))
}

/// An address inside an `a.b.c.d/bits` constraint.
fn ip_within(ip: &str, subnet: &str) -> bool {
    let Some((net, bits)) = subnet.split_once('/') else {
        return false;
    };
    let (Ok(ip), Ok(net), Ok(bits)) = (
        ip.parse::<std::net::IpAddr>(),
        net.parse::<std::net::IpAddr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    let (ip, net, width) = match (ip, net) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => (
            u128::from(u32::from(a)) << 96,
            u128::from(u32::from(b)) << 96,
            32,
        ),
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    ip & mask == net & mask
}

/// The names (`DNS:x`, `IP:x`) outside the constraints, each with the constraint it breaks.
fn violations(names: &[String], constraints: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        let Some((kind, value)) = name.split_once(':') else {
            continue;
        };
        let within = |base: &str| match kind {
            "DNS" => dns_within(value, base),
            "IP" => ip_within(value, base),
            _ => false,
        };
        let of_kind = |prefix: &str| -> Vec<&str> {
            constraints
                .iter()
                .filter_map(|c| c.strip_prefix(prefix))
                .filter_map(|c| c.strip_prefix(&format!("{kind}:")))
                .collect()
        };
        let permitted = of_kind("permitted ");
        if !permitted.is_empty() && !permitted.iter().any(|b| within(b)) {
            out.push(format!(
                "{name} is outside the permitted {}",
                permitted
                    .iter()
                    .map(|b| format!("{kind}:{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for base in of_kind("excluded ") {
            if within(base) {
                out.push(format!("{name} is inside the excluded {kind}:{base}"));
            }
        }
    }
    out
}

pub(super) fn name_constraint_violation(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(CertProblem::NameConstraint { depth, detail }) = cert_problem(ev) else {
        return None;
    };
    let (chain, details) = presented(ev, cx);
    // The nearest CA above the leaf that carries constraints.
    let constraining = details
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, d)| !d.name_constraints.is_empty())
        .and_then(|(i, d)| Some((i, chain.get(i)?, d)));
    let checked_at = at_depth(*depth).unwrap_or(0);
    let checked = chain.get(checked_at);
    let usable = !["unsupported", "malformed", "invalidnetworkmask", "invalid"]
        .iter()
        .any(|w| detail.to_ascii_lowercase().contains(w));
    let names: Vec<String> = checked.map(|c| c.sans.clone()).unwrap_or_default();
    // OpenSSL checks a subject CN that looks like a host name (at least two labels) against
    // DNS constraints when the certificate has no SAN; rustls never reads the CN. Said only
    // when that CN is indeed outside the constraints read from the CA.
    let cn = checked
        .filter(|c| c.sans.is_empty() && ev.backend == Backend::Openssl)
        .and_then(|c| c.subject_attr("CN"))
        .filter(|cn| cn.contains('.'))
        .filter(|cn| {
            constraining.is_some_and(|(_, _, d)| {
                !violations(&[format!("DNS:{cn}")], &d.name_constraints).is_empty()
            })
        });
    let mut checked_names = names.clone();
    if let Some(cn) = &cn {
        checked_names.push(format!("DNS:{cn}"));
    }
    let broken = constraining
        .map(|(_, _, d)| violations(&checked_names, &d.name_constraints))
        .unwrap_or_default();
    let whose = checked.map_or("a certificate in the broker's chain".to_string(), |c| {
        which(checked_at, c)
    });
    let ca_text = match constraining {
        Some((i, ca, d)) => format!("{} ({})", which(i, ca), d.name_constraints.join(", ")),
        None => format!(
            "a CA certificate in {} (none of the certificates the broker sent carries nameConstraints)",
            cx.trust.describe()
        ),
    };
    let summary = if !usable {
        format!(
            "{} cannot use the name constraints of {ca_text}: {detail}.",
            ev.backend
        )
    } else if broken.is_empty() {
        format!("The names of {whose} violate the name constraints of {ca_text}.")
    } else {
        format!(
            "The names of {whose} violate the name constraints of {ca_text}: {}.",
            broken.join("; ")
        )
    };
    let mut d = Diagnosis::new(Code::NameConstraintViolation, summary)
        .fact(format!("{} said: {detail}", ev.backend));
    if let Some(c) = checked {
        d = d.fact(format!(
            "{} has subjectAltName: {}",
            c.subject,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    if let Some(cn) = &cn {
        d = d.fact(format!(
            "the certificate has no subjectAltName, so OpenSSL checked its subject CN ({cn}) against the DNS name constraints as if it were a DNS name"
        ));
        if judged(cx, Backend::Rustls) == Some(true) {
            d = d.fact("rustls never reads the CN, and accepted the chain");
        }
    }
    d = d.fact(format!("the broker presented {}", chain_text(chain)));
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker PKI: issue the broker's certificate only with names inside the CA's permitted subtrees (and outside its excluded ones), e.g. `subjectAltName = DNS:broker.<permitted domain>`; if the broker must be reached by this name, have it issued by a CA whose constraints allow it.")
            .remedy("Client: connect with a name the certificate carries inside the constraint; no client setting lifts a CA's name constraints short of disabling verification, which hides the problem.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::NameConstraint { .. }), "error 47 at 0 depth lookup: permitted subtree violation")),
    )
}

// ---------------------------------------------------------------------------------------------
// Path length, chain length, path building.
// ---------------------------------------------------------------------------------------------

pub(super) fn path_length_exceeded(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(CertProblem::PathLength { depth }) = cert_problem(ev) else {
        return None;
    };
    let (chain, details) = presented(ev, cx);
    // CA i has i - 1 intermediate CAs below it (position 0 is the leaf).
    let culprit = details.iter().enumerate().skip(1).find_map(|(i, d)| {
        let limit = d.path_len?;
        let below = u32::try_from(i - 1).ok()?;
        (below > limit).then(|| Some((i, chain.get(i)?, limit, below)))?
    });
    let summary = match culprit {
        Some((i, ca, limit, below)) => capitalised(format!(
            "{} has pathLenConstraint {limit}, but {below} intermediate CA(s) sit below it in the chain.",
            which(i, ca)
        )),
        None => format!(
            "A CA's pathLenConstraint is exceeded{}; no certificate the broker sent carries a limit that explains it, so it is a CA in {}.",
            depth.map_or(String::new(), |d| format!(" (reported at depth {d})")),
            cx.trust.describe()
        ),
    };
    let mut d = Diagnosis::new(Code::PathLengthExceeded, summary);
    for (i, (c, det)) in chain.iter().zip(details).enumerate() {
        if let Some(limit) = det.path_len {
            d = d.fact(format!("position {i}: {} has pathlen:{limit}", c.subject));
        }
    }
    d = d.fact(format!("the broker presented {}", chain_text(chain)));
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker PKI: issue the broker's certificate directly from the CA whose pathlen is 0 (an intermediate with `pathlen:0` may issue leaves, not further CAs), or reissue that CA with a larger `basicConstraints = critical, CA:TRUE, pathlen:N`.")
            .remedy("Client: nothing to change; the limit is in the broker's PKI.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::PathLength { .. }), "error 25 at 2 depth lookup: path length constraint exceeded")),
    )
}

pub(super) fn chain_too_long(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::ChainTooLong)) {
        return None;
    }
    let (chain, _) = presented(ev, cx);
    let limit = match ev.backend {
        Backend::Rustls => {
            "rustls (webpki) follows at most 6 intermediate CAs between the leaf and a trust anchor"
        }
        Backend::Openssl => {
            "OpenSSL stops at its verify depth (100 by default, less when the client sets `-verify_depth`)"
        }
    };
    let d = Diagnosis::new(
        Code::ChainTooLong,
        format!(
            "The path from the broker's certificate to a trusted root is longer than {} follows; the broker sent {} certificate(s).",
            ev.backend,
            chain.len()
        ),
    )
    .fact(limit)
    .fact(format!("the broker presented {}", chain_text(chain)))
    .fact(failure_fact(ev));
    Some(
        with_other(d, ev, cx)
            .remedy("Broker PKI: shorten the hierarchy (root → one or two intermediates → leaf) and serve only the leaf and the intermediates up to the root clients trust.")
            .remedy("Client: trust a CA closer to the leaf only if your security policy allows it; otherwise nothing to change on this side.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::ChainTooLong), "error 22 at N depth lookup: certificate chain too long")),
    )
}

pub(super) fn chain_too_complex(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(CertProblem::PathBuildingLimit { detail }) = cert_problem(ev) else {
        return None;
    };
    let (chain, details) = presented(ev, cx);
    let constraints: usize = details.iter().map(|d| d.name_constraints.len()).sum();
    let mut d = Diagnosis::new(
        Code::ChainTooComplex,
        format!(
            "{} gave up on the broker's chain within its work limits ({detail}): too many candidate paths, signatures or name-constraint comparisons.",
            ev.backend
        ),
    )
    .fact(format!(
        "the broker sent {} certificate(s): {}",
        chain.len(),
        chain_text(chain)
    ));
    if constraints > 0 {
        d = d.fact(format!(
            "they carry {constraints} name-constraint subtree(s) in all"
        ));
    }
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker PKI: send one path only (leaf, then each issuer once, in order) and no cross-signed duplicates; keep name constraints and SAN lists short.")
            .remedy("Client: a CA file with fewer overlapping roots and intermediates gives the verifier fewer paths to try.")
            .remedy(format!("See it: `openssl s_client -connect {} -showcerts` lists what the broker sends.", cx.target)),
    )
}

// ---------------------------------------------------------------------------------------------
// A CA's extendedKeyUsage.
// ---------------------------------------------------------------------------------------------

/// An EKU list that allows server authentication (absent, serverAuth, or anyExtendedKeyUsage).
fn allows_server(eku: &[String]) -> bool {
    eku.is_empty() || eku.iter().any(|e| e == "serverAuth" || e == "any")
}

pub(super) fn intermediate_eku_missing(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let (chain, _) = presented(ev, cx);
    let ca = match cert_problem(ev)? {
        CertProblem::IntermediatePurpose { depth } => {
            let i = at_depth(*depth)?;
            Some((i, chain.get(i)?))
        }
        // rustls says InvalidPurpose without a depth: it is the CA's when the leaf's EKU
        // allows serverAuth and a CA's does not.
        CertProblem::InvalidPurpose => {
            let leaf = chain.first()?;
            if !allows_server(&leaf.eku) {
                return None;
            }
            chain
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, c)| !allows_server(&c.eku))
        }
        _ => None,
    }?;
    let (i, cert) = ca;
    let eku = if cert.eku.is_empty() {
        "(none)".to_string()
    } else {
        cert.eku.join(", ")
    };
    let d = Diagnosis::new(
        Code::IntermediateEkuMissing,
        capitalised(format!(
            "{} has extendedKeyUsage {eku} without serverAuth, so no certificate it issues may serve TLS, although the broker's own certificate allows it.",
            which(i, cert)
        )),
    )
    .fact(format!(
        "leaf {} has extendedKeyUsage {}",
        chain.first().map_or("", |c| c.subject.as_str()),
        chain
            .first()
            .map(|c| if c.eku.is_empty() { "(none)".to_string() } else { c.eku.join(", ") })
            .unwrap_or_default()
    ))
    .fact("both stacks apply a CA's extendedKeyUsage to everything below it (OpenSSL `-purpose sslserver`, webpki's EKU check on every certificate of the path)")
    .fact(failure_fact(ev));
    Some(
        with_other(d, ev, cx)
            .remedy(format!("Broker PKI: reissue {} with `extendedKeyUsage = serverAuth, clientAuth` (or without extendedKeyUsage), or issue the broker's certificate from a CA that has it.", cert.subject))
            .remedy("Client: nothing to change; the restriction is in the broker's PKI.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::IntermediatePurpose { .. } | CertProblem::InvalidPurpose), "error 26 at 1 depth lookup: unsuitable certificate purpose")),
    )
}

// ---------------------------------------------------------------------------------------------
// Unknown critical extensions.
// ---------------------------------------------------------------------------------------------

pub(super) fn unknown_critical_extension(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(CertProblem::UnknownCriticalExtension { depth }) = cert_problem(ev) else {
        return None;
    };
    let (chain, details) = presented(ev, cx);
    let found = match at_depth(*depth) {
        Some(i) => details
            .get(i)
            .filter(|d| !d.unknown_critical.is_empty())
            .map(|d| (i, d)),
        None => details
            .iter()
            .enumerate()
            .find(|(_, d)| !d.unknown_critical.is_empty()),
    };
    let located = found.and_then(|(i, d)| Some((i, chain.get(i)?, d)));
    let summary = match located {
        Some((i, cert, d)) => capitalised(format!(
            "{} carries the critical extension {}, which {} does not implement, so it must refuse the certificate.",
            which(i, cert),
            d.unknown_critical.join(", "),
            ev.backend
        )),
        None => match beyond_sent(*depth, chain.len(), cx) {
            Some(anchor) => format!(
                "A certificate carries a critical extension {} does not implement: {anchor}.",
                ev.backend
            ),
            None => format!(
                "A certificate in the broker's chain{} carries a critical extension {} does not implement.",
                depth.map_or(String::new(), |d| format!(" (depth {d})")),
                ev.backend
            ),
        },
    };
    let mut d = Diagnosis::new(Code::UnknownCriticalExtension, summary)
        .fact("RFC 5280 §4.2: a verifier must reject a certificate with a critical extension it does not recognise");
    if let Some((_, cert, _)) = located {
        d = d.fact(format!(
            "`openssl x509 -noout -text` on {} lists it as `critical`",
            cert.subject
        ));
    }
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker PKI: reissue the certificate without that extension, or with it marked non-critical (drop `critical,` from its line in the extensions file).")
            .remedy("Client: nothing to change; no TLS client may ignore a critical extension it does not know.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::UnknownCriticalExtension { .. }), "error 34 at 0 depth lookup: unhandled critical extension")),
    )
}

// ---------------------------------------------------------------------------------------------
// Signatures and algorithms.
// ---------------------------------------------------------------------------------------------

pub(super) fn bad_signature(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::BadSignature)) {
        return None;
    }
    let (chain, _) = presented(ev, cx);
    let depth = ev.verify_errors.first().and_then(|v| at_depth(v.depth));
    let located = depth.and_then(|i| Some((i, chain.get(i)?)));
    let summary = match located {
        Some((i, cert)) => format!(
            "The signature on {} does not verify with the key of its issuer {}: the certificate was altered after signing, or signed by another key under that name.",
            which(i, cert),
            cert.issuer
        ),
        None => match beyond_sent(depth.and_then(|d| u32::try_from(d).ok()), chain.len(), cx) {
            Some(anchor) => format!(
                "A signature does not verify: {anchor}; it was altered after signing, or signed by another key under its issuer's name."
            ),
            None => format!(
                "A signature in the broker's chain does not verify ({} does not say which): a certificate was altered after signing, or signed by another key under its issuer's name.",
                ev.backend
            ),
        },
    };
    let mut d = Diagnosis::new(Code::BadSignature, summary);
    for (i, c) in chain.iter().enumerate() {
        d = d.fact(format!(
            "position {i}: {} signed {} by {}, key {}",
            c.subject, c.signature, c.issuer, c.key
        ));
    }
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker: reinstall the certificate exactly as the CA issued it (a file edited, re-encoded or truncated by hand breaks the signature); if the CA was regenerated, reissue the certificate from the current CA.")
            .remedy("Client: if the CA file holds an older CA with the same name, replace it with the current one.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::BadSignature), "error 7 at 0 depth lookup: certificate signature failure")),
    )
}

pub(super) fn unsupported_algorithm(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(CertProblem::UnsupportedAlgorithm { detail }) = cert_problem(ev) else {
        return None;
    };
    let (chain, details) = presented(ev, cx);
    // The certificate signed with the algorithm the stack named (by OID or by name).
    let signed_with = signature_oid(detail).and_then(|oid| {
        let name = algorithm_name(&oid);
        chain
            .iter()
            .enumerate()
            .find(|(_, c)| c.signature == oid || name.as_deref() == Some(c.signature.as_str()))
            .map(|(i, c)| (i, c, name.unwrap_or(oid)))
    });
    let summary = match signed_with {
        Some((i, cert, alg)) => capitalised(format!(
            "{} is signed with {alg} by {}, an algorithm {} does not implement ({detail}).",
            which(i, cert),
            cert.issuer,
            ev.backend
        )),
        None => format!(
            "{} does not implement an algorithm used in the broker's chain ({detail}).",
            ev.backend
        ),
    };
    let mut d = Diagnosis::new(Code::UnsupportedAlgorithm, summary);
    for (i, c) in chain.iter().enumerate() {
        d = d.fact(format!(
            "position {i}: {} — signature {}, key {}",
            c.subject, c.signature, c.key
        ));
        for fault in details
            .get(i)
            .map(|d| d.faults.as_slice())
            .unwrap_or_default()
        {
            d = d.fact(format!("position {i}: {fault}"));
        }
    }
    d = d.fact(match ev.backend {
        Backend::Rustls => "rustls (aws-lc-rs) verifies ECDSA P-256/P-384/P-521, Ed25519 and RSA 2048+ (PKCS#1 v1.5 and PSS) with SHA-256/384/512; DSA, P-192 and Ed448 are not among them",
        Backend::Openssl => "OpenSSL refused the algorithm at its current security level or build",
    });
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker PKI: reissue the chain with ECDSA P-256 (or RSA 2048+) and SHA-256.")
            .remedy("Client: nothing to change that would stay safe; rustls has no setting for these algorithms.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::UnsupportedAlgorithm { .. }), "error 7 at 0 depth lookup: certificate signature failure")),
    )
}

/// The signature algorithm OID in a rustls reason (`signature algorithm 1.3.101.113`).
fn signature_oid(detail: &str) -> Option<String> {
    let rest = detail.split("signature algorithm ").nth(1)?;
    let oid: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!oid.is_empty()).then_some(oid)
}

/// The registered short name of a dotted OID (what [`CertSummary::signature`] shows).
fn algorithm_name(oid: &str) -> Option<String> {
    let parsed: x509_parser::der_parser::oid::Oid<'static> = oid.parse().ok()?;
    x509_parser::objects::oid2sn(&parsed, x509_parser::objects::oid_registry())
        .ok()
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// Malformed certificates.
// ---------------------------------------------------------------------------------------------

/// webpki's reasons in words.
fn malformed_words(detail: &str) -> &'static str {
    match detail {
        "BadEncoding" | "BadDer" => "its DER encoding is invalid",
        "BadDerTime" => "a time field (notBefore/notAfter) is not valid DER",
        "MalformedDnsIdentifier" => {
            "a DNS name in it (subjectAltName or a name constraint) is not a valid DNS name"
        }
        "EmptyEkuExtension" => "its extendedKeyUsage extension is present but empty",
        "MalformedExtensions" => "its extensions are malformed",
        "ExtensionValueInvalid" => "an extension value is invalid",
        "InvalidSerialNumber" => "its serial number is invalid (negative, or longer than 20 bytes)",
        "SignatureAlgorithmMismatch" => {
            "the signature algorithm inside it differs from the one outside it"
        }
        d if d.starts_with("TrailingData") => "there are bytes after the end of a DER structure",
        _ => "it is not well-formed",
    }
}

pub(super) fn malformed_certificate(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let problem = cert_problem(ev)?;
    let (chain, details) = presented(ev, cx);
    // A SAN that is present but unreadable makes stacks report a name mismatch; it is not a
    // certificate without SAN (cn_only_no_san).
    let unreadable_san = details
        .first()
        .and_then(|d| d.san_error.clone())
        .filter(|_| chain.first().is_some_and(|c| c.sans.is_empty()));
    let (depth, said) = match problem {
        CertProblem::Malformed { depth, detail } => (*depth, detail.clone()),
        CertProblem::NameMismatch { .. } if unreadable_san.is_some() => {
            (Some(0), "the name check found no usable name".to_string())
        }
        _ => return None,
    };
    // The certificate: the one at the stack's depth, else the first one with a fault.
    let index = at_depth(depth)
        .or_else(|| details.iter().position(|d| !d.faults.is_empty()))
        .filter(|i| *i < chain.len());
    let faults: Vec<String> = index
        .and_then(|i| details.get(i))
        .map(|d| d.faults.clone())
        .unwrap_or_default();
    let words = match ev.backend {
        Backend::Rustls => malformed_words(&said).to_string(),
        Backend::Openssl => said.clone(),
    };
    let summary = match (
        index.and_then(|i| Some((i, chain.get(i)?))),
        &unreadable_san,
    ) {
        (Some((i, cert)), Some(san)) => capitalised(format!(
            "{} has a subjectAltName extension that cannot be read ({san}), so no name in it can match.",
            which(i, cert)
        )),
        (Some((i, cert)), None) => {
            capitalised(format!("{} is malformed: {words}.", which(i, cert)))
        }
        (None, _) => format!("A certificate in the broker's chain is malformed: {words}."),
    };
    let mut d = Diagnosis::new(Code::MalformedCertificate, summary)
        .fact(format!("{} said: {said}", ev.backend));
    for f in &faults {
        d = d.fact(format!("mqtls's own parser: {f}"));
    }
    if unreadable_san.is_some() {
        d = d.fact("the certificate does have a subjectAltName extension: adding a SAN is not the fix, making it readable is");
    }
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker PKI: reissue the certificate with a standard tool (openssl x509 -req with an extensions file, cfssl, step) instead of hand-built or patched DER; check it with `openssl asn1parse -in server.crt -i`.")
            .remedy("Client: nothing to change; a verifier must refuse a certificate it cannot read unambiguously.")
            .remedy(see_it(cx, |p| matches!(p, CertProblem::Malformed { .. }), "error 1 at 0 depth lookup: unspecified certificate verification error")),
    )
}

// ---------------------------------------------------------------------------------------------
// Where the stacks differ: partial wildcards, the notAfter second.
// ---------------------------------------------------------------------------------------------

/// A wildcard that is not the whole leftmost label (`f*.example.com`, `*f.example.com`),
/// matching `name` the way OpenSSL's `wildcard_match` does: the label must start with what
/// precedes `*` and end with what follows it (`*` may stand for nothing), the rest be equal.
fn partial_wildcard_matches(pattern: &str, name: &str) -> bool {
    let (Some((first, rest)), Some((label, name_rest))) =
        (pattern.split_once('.'), name.split_once('.'))
    else {
        return false;
    };
    if first == "*" || !first.contains('*') || !rest.eq_ignore_ascii_case(name_rest) {
        return false;
    }
    let Some((pre, post)) = first.split_once('*') else {
        return false;
    };
    let label = label.to_ascii_lowercase();
    label.len() >= pre.len() + post.len()
        && label.starts_with(&pre.to_ascii_lowercase())
        && label.ends_with(&post.to_ascii_lowercase())
}

pub(super) fn partial_wildcard(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::NameMismatch { .. })) {
        return None;
    }
    let leaf = leaf(ev, cx)?;
    let expected = cx.expect_name;
    let pattern = leaf
        .sans
        .iter()
        .filter_map(|s| s.strip_prefix("DNS:"))
        .find(|p| partial_wildcard_matches(p, expected))?;
    let sans = leaf.sans.join(", ");
    let mut d = Diagnosis::new(
        Code::HostnameMismatch,
        format!(
            "The broker's certificate covers `{expected}` only through the partial wildcard `{pattern}`, which {} does not accept.",
            ev.backend
        ),
    )
    .fact(format!("name checked: {expected}"))
    .fact(format!("certificate {} has SAN: {sans}", leaf.subject))
    .fact(format!(
        "rustls (webpki) accepts `*` only as the whole leftmost label (`*.{}`); a `*` inside a label, as in `{pattern}`, is refused",
        pattern.split_once('.').map_or("", |(_, r)| r)
    ));
    if judged(cx, Backend::Openssl) == Some(true) {
        d = d.fact("OpenSSL accepted the same certificate: it lets `*` stand for part of the leftmost label");
    }
    d = d.fact(failure_fact(ev));
    let client = if judged(cx, Backend::Openssl) == Some(true) {
        "Client: no rustls setting accepts partial wildcards; OpenSSL-based clients (mosquitto_pub, paho) connect, as the OpenSSL probe did, rustls-based ones (rumqttc) not until the certificate is reissued."
    } else {
        "Client: no rustls setting accepts partial wildcards; rustls-based clients (rumqttc) connect only once the certificate is reissued."
    };
    Some(
        d.remedy(format!("Broker: reissue the certificate with `subjectAltName = DNS:{expected}` (or a whole-label wildcard `*.{}`).", pattern.split_once('.').map_or("", |(_, r)| r)))
            .remedy(client)
            .remedy(format!("See it: `openssl x509 -in server.crt -noout -ext subjectAltName` shows `DNS:{pattern}`.")),
    )
}

pub(super) fn expired_at_boundary(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !matches!(cert_problem(ev), Some(CertProblem::Expired { .. })) {
        return None;
    }
    let chain = chain(ev, cx);
    // Nothing strictly past its notAfter, one certificate at exactly that second.
    if chain.iter().any(|c| c.not_after_unix < cx.checked_at) {
        return None;
    }
    let (i, cert) = chain
        .iter()
        .enumerate()
        .find(|(_, c)| c.not_after_unix == cx.checked_at)?;
    let mut d = Diagnosis::new(
        Code::ServerCertExpired,
        capitalised(format!(
            "{} expires at {}, the very second of the check, and {} counts that second as expired.",
            which(i, cert),
            cert.not_after,
            ev.backend
        )),
    )
    .fact(format!(
        "notAfter {} ; checked at {}: equal",
        cert.not_after,
        crate::x509::rfc3339(cx.checked_at)
    ))
    .fact("RFC 5280 §4.1.2.5 includes the notAfter second in the validity period");
    let o = other(ev.backend);
    if judged(cx, o) == Some(true) {
        d = d.fact(format!(
            "the stacks differ on this boundary: {o} counted the same second as valid"
        ));
    }
    d = with_other(d.fact(failure_fact(ev)), ev, cx);
    Some(
        d.remedy("Broker: renew the certificate now; a second later every stack refuses it.")
            .remedy(format!("See it: `openssl s_client -connect {} </dev/null 2>/dev/null | openssl x509 -noout -enddate`.", cx.target)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_matching() {
        assert!(dns_within("a.example.com", "example.com"));
        assert!(dns_within("example.com", "example.com"));
        assert!(!dns_within("badexample.com", "example.com"));
        assert!(!dns_within("example.com", ".example.com"));
        assert!(ip_within("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_within("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_within("::1", "::/0"));
        let v = violations(
            &["DNS:localhost".into(), "IP:127.0.0.1".into()],
            &["permitted DNS:example.com".into()],
        );
        assert_eq!(
            v,
            vec!["DNS:localhost is outside the permitted DNS:example.com".to_string()]
        );
    }

    #[test]
    fn partial_wildcards() {
        assert!(partial_wildcard_matches(
            "f*.example.com",
            "foo.example.com"
        ));
        assert!(partial_wildcard_matches(
            "*o.example.com",
            "foo.example.com"
        ));
        assert!(!partial_wildcard_matches(
            "*.example.com",
            "foo.example.com"
        ));
        assert!(!partial_wildcard_matches(
            "f*.example.com",
            "bar.example.com"
        ));
        assert!(partial_wildcard_matches("f*.example.com", "f.example.com"));
        assert!(!partial_wildcard_matches(
            "f*.example.com",
            "foo.example.org"
        ));
    }
}
