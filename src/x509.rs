//! Independent X.509 analysis: summaries of certificates and of the user's trust anchors.
//!
//! This module reads DER with x509-parser, which is lenient on purpose: the certificates we
//! explain are often broken. It never verifies signatures and never touches the network; it
//! only states facts that the classifier relates to each other (issuer/subject links, CA flags,
//! version, validity, SANs). It must not depend on either TLS backend.

// Bytes from the network and from the user's files: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::fmt::Write as _;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{self, PemObject, SectionKind};
use serde::{Deserialize, Serialize};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// The facts about one certificate that reports show and the classifier relates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CertSummary {
    /// Subject DN in OpenSSL-like order, e.g. `CN=localhost, O=mqtls lab`.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// X.509 version as people say it: 1 or 3.
    pub version: u32,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// notBefore as UNIX seconds (for comparisons against the probe's clock).
    pub not_before_unix: i64,
    /// notAfter as UNIX seconds.
    pub not_after_unix: i64,
    /// subjectAltName entries as `DNS:name` / `IP:addr`.
    pub sans: Vec<String>,
    /// Public key, e.g. `EC P-256` or `RSA 2048`.
    pub key: String,
    /// Signature algorithm, e.g. `ecdsa-with-SHA256`.
    pub signature: String,
    /// basicConstraints CA flag; `None` when the extension is absent.
    pub ca: Option<bool>,
    /// extendedKeyUsage purposes; empty when the extension is absent.
    pub eku: Vec<String>,
    /// subjectKeyIdentifier, hex.
    pub ski: Option<String>,
    /// authorityKeyIdentifier keyIdentifier, hex.
    pub aki: Option<String>,
    /// Subject equals issuer (and the key identifiers, when present, agree).
    pub self_signed: bool,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

impl CertSummary {
    /// Summarises one DER certificate. Unparseable input yields a summary that says so instead
    /// of an error, because a broken certificate is itself evidence.
    pub fn from_der(der: &[u8]) -> CertSummary {
        let sha256 = hex(&openssl::sha::sha256(der));
        match X509Certificate::from_der(der) {
            Ok((_, cert)) => summarise(&cert, sha256),
            Err(e) => CertSummary::unparseable(sha256, &e.to_string()),
        }
    }

    fn unparseable(sha256: String, why: &str) -> CertSummary {
        CertSummary {
            subject: format!("<unparseable certificate: {why}>"),
            issuer: String::new(),
            serial: String::new(),
            version: 0,
            not_before: String::new(),
            not_after: String::new(),
            not_before_unix: i64::MIN,
            not_after_unix: i64::MAX,
            sans: Vec::new(),
            key: String::new(),
            signature: String::new(),
            ca: None,
            eku: Vec::new(),
            ski: None,
            aki: None,
            self_signed: false,
            sha256,
        }
    }

    /// Signed with SHA-1, MD5 or older: by name, or by OID for algorithms no registry names
    /// (ecdsa-with-SHA1, dsa-with-SHA1, the OIW sha1WithRSA, md2/md4/md5/sha1WithRSAEncryption).
    pub fn has_weak_signature(&self) -> bool {
        const WEAK_OIDS: [&str; 7] = [
            "1.2.840.10045.4.1",
            "1.2.840.10040.4.3",
            "1.2.840.113549.1.1.2",
            "1.2.840.113549.1.1.3",
            "1.2.840.113549.1.1.4",
            "1.2.840.113549.1.1.5",
            "1.3.14.3.2.29",
        ];
        let name = self.signature.to_ascii_lowercase();
        ["sha1", "md5", "md4", "md2"]
            .iter()
            .any(|w| name.contains(w))
            || WEAK_OIDS.contains(&self.signature.as_str())
    }

    /// An RSA key under 2048 bits (refused by rustls and by OpenSSL at security level 2).
    pub fn has_small_rsa_key(&self) -> bool {
        self.key
            .strip_prefix("RSA ")
            .and_then(|b| b.parse::<u32>().ok())
            .is_some_and(|bits| bits < 2048)
    }

    /// True when the certificate may issue others (basicConstraints CA:TRUE).
    pub fn is_ca(&self) -> bool {
        self.ca == Some(true)
    }

    /// True when `self` plausibly issued `child`: names chain and key identifiers, when both
    /// are present, agree. No signature is checked.
    pub fn issued(&self, child: &CertSummary) -> bool {
        if self.subject != child.issuer {
            return false;
        }
        match (&self.ski, &child.aki) {
            (Some(ski), Some(aki)) => ski == aki,
            _ => true,
        }
    }

    /// The value of one attribute (e.g. `CN`) of the subject, if present.
    pub fn subject_attr(&self, key: &str) -> Option<String> {
        dn_attr(&self.subject, key)
    }
}

/// The value of one attribute of a DN string as this module formats it (RFC 4514 escapes
/// undone), e.g. `dn_attr("CN=a\\, b, O=x", "CN")` is `a, b`.
pub fn dn_attr(dn: &str, key: &str) -> Option<String> {
    rdn_parts(dn).into_iter().find_map(|part| {
        part.strip_prefix(key)
            .and_then(|r| r.strip_prefix('='))
            .map(unescape)
    })
}

/// The `key=value` parts of a DN string, split at the separators this module writes (`, `
/// not preceded by a backslash escape), never inside an escaped value.
fn rdn_parts(dn: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    let bytes = dn.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b',' if bytes.get(i + 1) == Some(&b' ') => {
                parts.push(dn.get(start..i).unwrap_or_default());
                start = i + 2;
            }
            _ => {}
        }
    }
    parts.push(dn.get(start..).unwrap_or_default());
    parts
}

/// Escapes an attribute value as RFC 4514 §2.4 asks, so a `,` or `+` inside a value never
/// reads as a separator.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for c in value.chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// What a PEM file held, section by section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PemContents {
    /// The certificates, in file order.
    pub certs: Vec<CertificateDer<'static>>,
    /// Number of private-key sections (a key where a certificate was expected is a classic).
    pub private_keys: usize,
    /// Number of other sections (CRLs, CSRs, ...).
    pub other_sections: usize,
    /// A PEM framing error, if the file stopped parsing part-way.
    pub error: Option<String>,
}

/// Splits PEM bytes into sections without failing: what could be read is returned.
pub fn read_pem(bytes: &[u8]) -> PemContents {
    let mut contents = PemContents::default();
    for section in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
        match section {
            Ok((SectionKind::Certificate, der)) => contents.certs.push(CertificateDer::from(der)),
            Ok((
                SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey,
                _,
            )) => contents.private_keys += 1,
            Ok(_) => contents.other_sections += 1,
            Err(pem::Error::NoItemsFound) => break,
            Err(e) => {
                contents.error = Some(describe_pem_error(&e));
                break;
            }
        }
    }
    contents
}

/// pki-types prints a missing END line as a list of byte values; say it in words.
fn describe_pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "no \"-----END {}-----\" line (the file is cut short?)",
            String::from_utf8_lossy(end_marker)
        ),
        other => other.to_string(),
    }
}

fn summarise(cert: &X509Certificate<'_>, sha256: String) -> CertSummary {
    let mut sans = Vec::new();
    let mut eku = Vec::new();
    let mut ca = None;
    let mut ski = None;
    let mut aki = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                sans.extend(san.general_names.iter().filter_map(general_name));
            }
            // A SAN that does not parse is still a SAN: never report it as absent.
            ParsedExtension::ParseError { error }
                if ext.oid == x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME =>
            {
                sans.push(format!("malformed:{error}"));
            }
            ParsedExtension::BasicConstraints(bc) => ca = Some(bc.ca),
            ParsedExtension::ExtendedKeyUsage(e) => {
                let flags = [
                    (e.any, "any"),
                    (e.server_auth, "serverAuth"),
                    (e.client_auth, "clientAuth"),
                    (e.code_signing, "codeSigning"),
                    (e.email_protection, "emailProtection"),
                    (e.time_stamping, "timeStamping"),
                    (e.ocsp_signing, "OCSPSigning"),
                ];
                eku.extend(
                    flags
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, n)| n.to_string()),
                );
                eku.extend(e.other.iter().map(|oid| oid.to_id_string()));
            }
            ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(hex(id.0)),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|id| hex(id.0));
            }
            _ => {}
        }
    }
    let subject = dn(cert.subject());
    let issuer = dn(cert.issuer());
    let self_signed = subject == issuer && (aki.is_none() || ski.is_none() || aki == ski);
    let validity = cert.validity();
    CertSummary {
        subject,
        issuer,
        serial: cert.raw_serial_as_string().replace(':', ""),
        version: cert.version().0 + 1,
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(validity.not_after.timestamp()),
        not_before_unix: validity.not_before.timestamp(),
        not_after_unix: validity.not_after.timestamp(),
        sans,
        key: key_description(cert),
        signature: signature_name(&cert.signature_algorithm.algorithm),
        ca,
        eku,
        ski,
        aki,
        self_signed,
        sha256,
    }
}

/// The signature algorithm's name; x509-parser's registry lacks some legacy ones, which are
/// named here so reports never show a bare OID for them.
fn signature_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    if let Ok(name) = x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry()) {
        return name.to_string();
    }
    let id = oid.to_id_string();
    match id.as_str() {
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1".into(),
        "1.2.840.10040.4.3" => "dsa-with-SHA1".into(),
        "1.3.14.3.2.29" => "sha1WithRSA".into(),
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption".into(),
        "1.2.840.113549.1.1.3" => "md4WithRSAEncryption".into(),
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption".into(),
        _ => id,
    }
}

/// Formats a DN in encoding order, as OpenSSL's one-line form does (`openssl x509 -subject`).
fn dn(name: &x509_parser::x509::X509Name<'_>) -> String {
    let parts = name
        .iter_attributes()
        .map(|attr| {
            let key = x509_parser::objects::oid2abbrev(
                attr.attr_type(),
                x509_parser::objects::oid_registry(),
            )
            .map(str::to_string)
            .unwrap_or_else(|_| attr.attr_type().to_id_string());
            let value = attr
                .as_str()
                .map(escape)
                .unwrap_or_else(|_| format!("#{}", hex(attr.attr_value().data)));
            format!("{key}={value}")
        })
        .collect::<Vec<_>>();
    if parts.is_empty() {
        // An empty name is legal and names nothing; say so instead of printing nothing.
        return EMPTY_DN.to_string();
    }
    parts.join(", ")
}

/// Formats a DER-encoded X.509 `Name` (a CertificateRequest's CA names) like certificate subjects (RFC 4514, in encoding order); the
/// contents without the outer SEQUENCE (as rustls hands them over) are accepted too.
pub fn dn_from_der(der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    if let Ok((_, name)) = x509_parser::x509::X509Name::from_der(der) {
        return dn(&name);
    }
    let mut wrapped = vec![0x30];
    let len = der.len();
    if len < 0x80 {
        wrapped.push(len as u8);
    } else if len <= 0xff {
        wrapped.extend([0x81, len as u8]);
    } else if len <= 0xffff {
        wrapped.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    wrapped.extend_from_slice(der);
    match x509_parser::x509::X509Name::from_der(&wrapped) {
        Ok((_, name)) => dn(&name),
        Err(_) => format!("<unparseable name {}>", hex(der)),
    }
}

/// How an empty distinguished name is written.
pub const EMPTY_DN: &str = "(empty name)";

fn general_name(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
        GeneralName::IPAddress(bytes) => Some(match bytes.len() {
            4 => {
                let b: [u8; 4] = <[u8; 4]>::try_from(*bytes).unwrap_or_default();
                format!("IP:{}", std::net::Ipv4Addr::from(b))
            }
            16 => {
                let b: [u8; 16] = <[u8; 16]>::try_from(*bytes).unwrap_or_default();
                format!("IP:{}", std::net::Ipv6Addr::from(b))
            }
            _ => format!("IP:#{}", hex(bytes)),
        }),
        GeneralName::RFC822Name(m) => Some(format!("email:{m}")),
        GeneralName::URI(u) => Some(format!("URI:{u}")),
        GeneralName::DirectoryName(n) => Some(format!("DirName:{}", dn(n))),
        GeneralName::RegisteredID(oid) => Some(format!("RID:{}", oid.to_id_string())),
        GeneralName::OtherName(oid, _) => Some(format!("othername:{}", oid.to_id_string())),
        _ => None,
    }
}

fn key_description(cert: &X509Certificate<'_>) -> String {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(point)) => match point.key_size() {
            256 => "EC P-256".to_string(),
            384 => "EC P-384".to_string(),
            521 | 528 => "EC P-521".to_string(),
            n => format!("EC {n}"),
        },
        Ok(PublicKey::DSA(_)) => "DSA".to_string(),
        Ok(_) | Err(_) => x509_parser::objects::oid2sn(
            &cert.public_key().algorithm.algorithm,
            x509_parser::objects::oid_registry(),
        )
        .map(str::to_string)
        .unwrap_or_else(|_| "unknown".to_string()),
    }
}

/// Formats UNIX seconds as RFC 3339 UTC; out-of-range values are shown as raw seconds.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{unix}"))
}

/// Lower-case hex without separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The basicConstraints CA flag as certificates print it: `TRUE`, `FALSE` or `absent`.
pub fn ca_flag(c: &CertSummary) -> &'static str {
    match c.ca {
        Some(true) => "TRUE",
        Some(false) => "FALSE",
        None => "absent",
    }
}

/// True when one of `sans` (`DNS:x` / `IP:x`, as [`CertSummary::sans`]) covers `name`: exact
/// DNS names case-insensitively, a `*.` wildcard for exactly one left-most label, IP addresses
/// only against `IP:` entries.
pub fn san_covers(sans: &[String], name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return sans
            .iter()
            .filter_map(|s| s.strip_prefix("IP:"))
            .any(|s| s.parse::<std::net::IpAddr>().is_ok_and(|san| san == ip));
    }
    sans.iter()
        .filter_map(|s| s.strip_prefix("DNS:"))
        .any(|pattern| dns_matches(pattern, name))
}

/// True when the DNS name `pattern` (possibly `*.` for one left-most label) covers `name`,
/// case-insensitively and ignoring a trailing dot.
pub fn dns_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        // The wildcard stands for one whole non-empty label, and needs two labels after it.
        Some(rest) => {
            rest.contains('.')
                && name
                    .split_once('.')
                    .is_some_and(|(label, tail)| !label.is_empty() && tail == rest)
        }
        None => !pattern.is_empty() && pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_values_are_escaped_and_read_back_whole() {
        assert_eq!(escape("Acme, Inc."), "Acme\\, Inc.");
        assert_eq!(escape(" lead+trail "), "\\ lead\\+trail\\ ");
        let dn = format!("CN={}, O={}", escape("a, b"), escape("Acme, Inc."));
        assert_eq!(dn_attr(&dn, "CN").as_deref(), Some("a, b"));
        assert_eq!(dn_attr(&dn, "O").as_deref(), Some("Acme, Inc."));
        assert_eq!(dn_attr(&dn, "OU"), None);
        assert_eq!(dn_attr("", "CN"), None);
    }
}

#[cfg(test)]
mod san_tests {
    use super::san_covers;

    fn sans(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dns_names_and_wildcards() {
        let s = sans(&[
            "DNS:*.example.com",
            "DNS:Broker.Local",
            "IP:127.0.0.1",
            "IP:::1",
        ]);
        assert!(san_covers(&s, "a.example.com"));
        assert!(san_covers(&s, "A.Example.COM."));
        assert!(!san_covers(&s, "example.com"));
        assert!(!san_covers(&s, "a.b.example.com"));
        assert!(san_covers(&s, "broker.local"));
        assert!(!san_covers(&s, "other.local"));
        assert!(!san_covers(&sans(&["DNS:*.com"]), "example.com"));
    }

    #[test]
    fn ip_addresses_only_match_ip_sans() {
        let s = sans(&["DNS:127.0.0.2", "IP:127.0.0.1", "IP:::1"]);
        assert!(san_covers(&s, "127.0.0.1"));
        assert!(san_covers(&s, "::1"));
        assert!(san_covers(&s, "[::1]"));
        assert!(san_covers(&s, "0:0:0:0:0:0:0:1"));
        assert!(!san_covers(&s, "127.0.0.2"));
    }
}
