//! Findings about the CA file: what it holds and what each stack makes of it.

use super::*;
use crate::x509::ca_flag;

// ---------------------------------------------------------------------------------------------
// The CA file.

pub(super) fn check_ca_file(trust: &TrustFacts, now: i64, out: &mut Vec<Finding>) {
    let TrustSource::Files { .. } = &trust.source else {
        return;
    };
    let file = trust.describe();
    let certs = &trust.certs;
    for note in &trust.notes {
        let severity = if certs.is_empty() {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(Finding::new(
            Code::CaFileUnusable,
            severity,
            None,
            format!("CA file {note}; expected PEM CA certificates (\"-----BEGIN CERTIFICATE-----\")"),
        ).remedy("Pass the PEM certificate of the CA that issued the broker's certificate: mosquitto_pub `--cafile ca.crt`, paho `tls_set(ca_certs=\"ca.crt\")`; convert DER with `openssl x509 -inform der -in ca.der -out ca.crt`."));
    }
    for c in certs.iter().filter(|c| c.version == 0) {
        out.push(Finding::new(
            Code::CaFileUnusable,
            Severity::Warning,
            None,
            format!(
                "CA file {file} holds a certificate that cannot be parsed: {}",
                c.subject
            ),
        ));
    }
    let end_entities: Vec<&CertSummary> = certs
        .iter()
        .filter(|c| c.version != 0 && !c.is_ca() && !c.self_signed)
        .collect();
    let only_end_entities = !certs.is_empty() && end_entities.len() == certs.len();
    for c in &end_entities {
        let severity = if only_end_entities {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(Finding::new(
            Code::ServerCertAsCa,
            severity,
            Some(&c.subject),
            format!(
                "CA file {file} holds the end-entity certificate {} (issued by {}, CA:{}): expected the CA that issued the broker's certificate, presented a certificate that cannot issue others{}",
                c.subject,
                c.issuer,
                ca_flag(c),
                if only_end_entities { "; nothing in the file can verify a broker" } else { "" }
            ),
        ).remedy(format!("Put the issuing CA ({}) or the root it chains to in the CA file, not the server certificate (the broker's `certfile` is the right place for that one).", c.issuer)));
    }
    let has_root = certs.iter().any(|c| c.self_signed);
    let intermediates: Vec<&CertSummary> = certs.iter().filter(|c| c.is_ca()).collect();
    if !has_root && !intermediates.is_empty() {
        let names = intermediates
            .iter()
            .map(|c| format!("{} (issued by {})", c.subject, c.issuer))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(Finding::new(
            Code::IntermediateAsAnchor,
            Severity::Warning,
            Some(&intermediates[0].subject),
            format!("CA file {file} holds no self-signed root, only {names}: rustls takes any certificate of the CA file as a trust anchor, OpenSSL-based clients (mosquitto_pub, paho, Python) reject the chain with \"unable to get issuer certificate\""),
        ).remedy(format!("Add the root {} to the CA file (root + intermediate in one file is fine): `cat root.crt {} > ca-bundle.crt`.", intermediates[0].issuer, trust.first_path())));
    }
    let unexpired_roots = certs
        .iter()
        .filter(|c| c.self_signed && c.not_after_unix >= now)
        .count();
    for c in certs
        .iter()
        .filter(|c| c.version != 0 && c.not_after_unix < now)
    {
        let severity = if unexpired_roots == 0 {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(Finding::new(
            Code::ExpiredTrustAnchor,
            severity,
            Some(&c.subject),
            format!("CA file {file}: {} expired on {} (checked at {}): OpenSSL-based clients reject every chain that ends there, rustls ignores the validity of trust anchors", c.subject, c.not_after, rfc3339(now)),
        ).remedy(format!("Replace {} with its renewed certificate (same key and subject) on every client, and check the brokers' `cafile`s too.", c.subject)));
    }
    for c in certs.iter().filter(|c| c.version == 1) {
        out.push(Finding::new(
            Code::X509V1Cert,
            Severity::Warning,
            Some(&c.subject),
            format!("CA file {file}: {} is an X.509 v1 certificate (no extensions, so no basicConstraints): rustls and OpenSSL accept a v1 self-signed root as an anchor, but every certificate it issues must be v3 for rustls", c.subject),
        ).remedy("Re-issue the CA as v3 with `basicConstraints=critical,CA:TRUE` (`openssl req -x509 ... -addext basicConstraints=critical,CA:TRUE`)."));
    }
    for c in certs.iter().filter(|c| c.has_weak_signature()) {
        let (severity, why) = if c.self_signed {
            (
                Severity::Warning,
                "neither stack checks a root's own signature, but many tools flag it",
            )
        } else {
            (
                Severity::Error,
                "rustls rejects every chain through it, OpenSSL does at security level 1 and above",
            )
        };
        out.push(Finding::new(
            Code::WeakSignature,
            severity,
            Some(&c.subject),
            format!("CA file {file}: {} is signed with {}, expected SHA-256 or better: {why}", c.subject, c.signature),
        ).remedy("Re-issue the certificate with a SHA-256 signature (`openssl x509 -req -sha256 ...`)."));
    }
    for c in certs.iter().filter(|c| c.has_small_rsa_key()) {
        out.push(Finding::new(
            Code::WeakKey,
            Severity::Error,
            Some(&c.subject),
            format!("CA file {file}: {} has a {} key, expected RSA 2048 or more (or EC): rustls cannot verify signatures made with it, OpenSSL refuses it at security level 2", c.subject, c.key),
        ).remedy("Create a new CA with an RSA 3072 or EC P-256 key and re-issue what it signed."));
    }
}
