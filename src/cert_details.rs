//! The facts about a presented certificate that the constraint rules need and [`CertSummary`]
//! does not carry: its name constraints, its pathLenConstraint, its critical extensions and
//! the faults in its encoding.
//!
//! A TLS stack that rejects a chain for one of these reasons names the reason, often without
//! saying which certificate or which value; the classifier reads them here so that a diagnosis
//! can name both. Like `x509`, this module parses leniently with x509-parser, never verifies
//! anything and never touches the network or either TLS backend.
//!
//! [`CertSummary`]: crate::x509::CertSummary

// Bytes from the network: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use serde::{Deserialize, Serialize};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The extensions webpki processes when they are critical (OpenSSL processes these and more);
/// any other critical extension is listed in [`CertDetails::unknown_critical`].
const UNDERSTOOD: [&str; 6] = [
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName
    "2.5.29.19", // basicConstraints
    "2.5.29.30", // nameConstraints
    "2.5.29.31", // cRLDistributionPoints
    "2.5.29.37", // extKeyUsage
];

/// What one certificate holds beyond its summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CertDetails {
    /// nameConstraints subtrees, e.g. `permitted DNS:example.com`, `excluded IP:10.0.0.0/8`.
    pub name_constraints: Vec<String>,
    /// basicConstraints pathLenConstraint, when present.
    pub path_len: Option<u32>,
    /// OIDs of critical extensions other than keyUsage, subjectAltName, basicConstraints,
    /// nameConstraints, cRLDistributionPoints and extKeyUsage (dotted, e.g. `1.3.6.1.4.1.99999.1`).
    pub unknown_critical: Vec<String>,
    /// Why the subjectAltName extension, present, could not be read; `None` when it is absent
    /// or readable.
    pub san_error: Option<String>,
    /// Every encoding fault found (the SAN's included), in words.
    pub faults: Vec<String>,
}

impl CertDetails {
    /// Reads one DER certificate. An unreadable certificate is itself a fault, not an error.
    pub fn from_der(der: &[u8]) -> CertDetails {
        let cert = match X509Certificate::from_der(der) {
            Ok((rest, cert)) => {
                let mut details = read(&cert);
                if !rest.is_empty() {
                    details
                        .faults
                        .push(format!("{} byte(s) after the certificate", rest.len()));
                }
                return details;
            }
            Err(e) => e,
        };
        CertDetails {
            faults: vec![format!("X.509 parse failed: {cert}")],
            ..CertDetails::default()
        }
    }
}

fn read(cert: &X509Certificate<'_>) -> CertDetails {
    let mut d = CertDetails::default();
    d.faults.extend(ber_booleans(cert.as_raw()));
    // An EC key with its curve spelled out instead of named (RFC 5480 allows only names).
    let spki = &cert.public_key().algorithm;
    if spki.algorithm.to_id_string() == "1.2.840.10045.2.1"
        && spki
            .parameters
            .as_ref()
            .is_some_and(|p| p.tag() != x509_parser::der_parser::asn1_rs::Tag::Oid)
    {
        d.faults.push(
            "its EC public key has explicit curve parameters instead of a named curve".into(),
        );
    }
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        match ext.parsed_extension() {
            ParsedExtension::NameConstraints(nc) => {
                for (kind, subtrees) in [
                    ("permitted", &nc.permitted_subtrees),
                    ("excluded", &nc.excluded_subtrees),
                ] {
                    for subtree in subtrees.iter().flatten() {
                        d.name_constraints
                            .push(format!("{kind} {}", general_name(&subtree.base)));
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) => d.path_len = bc.path_len_constraint,
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    if let GeneralName::DNSName(dns) = name
                        && !valid_dns_name(dns)
                    {
                        d.faults
                            .push(format!("subjectAltName DNS:{dns} is not a valid DNS name"));
                    }
                    if let GeneralName::Invalid(tag, _) = name {
                        let fault = format!(
                            "subjectAltName holds an entry that cannot be read (tag {})",
                            tag.0
                        );
                        d.san_error.get_or_insert_with(|| fault.clone());
                        d.faults.push(fault);
                    }
                }
            }
            ParsedExtension::ParseError { error } => {
                let fault = format!("extension {oid} cannot be read: {error}");
                if oid == "2.5.29.17" {
                    d.san_error = Some(fault.clone());
                }
                d.faults.push(fault);
            }
            _ => {}
        }
        if ext.critical && !UNDERSTOOD.contains(&oid.as_str()) {
            d.unknown_critical.push(oid);
        }
    }
    d
}

/// Extension `critical` flags encoded as BER booleans (DER allows only `FF`, and omits FALSE),
/// which x509-parser reads and webpki refuses: `06 03 55 1D id` then `01 01 xx`.
fn ber_booleans(der: &[u8]) -> Vec<String> {
    der.windows(8)
        .filter(|w| {
            w.starts_with(&[0x06, 0x03, 0x55, 0x1d])
                && w.get(5..7) == Some(&[0x01, 0x01])
                && w.get(7).is_some_and(|b| *b != 0xff)
        })
        .filter_map(|w| {
            let (id, flag) = (w.get(4)?, w.get(7)?);
            Some(format!(
                "extension 2.5.29.{id} has its critical flag encoded {flag:02X}, not DER's FF"
            ))
        })
        .collect()
}

/// A presented DNS name as RFC 5280 §4.2.1.6 and the CA/B Forum allow it: labels of letters,
/// digits and hyphens (no leading or trailing hyphen), 63 bytes at most, no empty label, and
/// `*` only as the whole leftmost label.
fn valid_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A constraint's base as people write it in an OpenSSL config (`DNS:`, `IP:a/mask`, ...).
fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(n) => format!("DNS:{n}"),
        GeneralName::RFC822Name(n) => format!("email:{n}"),
        GeneralName::URI(n) => format!("URI:{n}"),
        GeneralName::DirectoryName(dn) => format!("dirName:{dn}"),
        GeneralName::IPAddress(bytes) => format!("IP:{}", ip_subnet(bytes)),
        GeneralName::RegisteredID(oid) => format!("RID:{}", oid.to_id_string()),
        GeneralName::OtherName(oid, _) => format!("otherName:{}", oid.to_id_string()),
        other => format!("{other:?}"),
    }
}

/// An iPAddress constraint is address then mask (8 or 32 bytes); anything else is shown raw.
fn ip_subnet(bytes: &[u8]) -> String {
    let half = bytes.len() / 2;
    let (Some(addr), Some(mask)) = (bytes.get(..half), bytes.get(half..)) else {
        return crate::x509::hex(bytes);
    };
    let ip = match half {
        4 => <[u8; 4]>::try_from(addr).map(|a| std::net::IpAddr::from(a).to_string()),
        16 => <[u8; 16]>::try_from(addr).map(|a| std::net::IpAddr::from(a).to_string()),
        _ => return crate::x509::hex(bytes),
    };
    let bits: u32 = mask.iter().map(|b| b.count_ones()).sum();
    match ip {
        Ok(ip) => format!("{ip}/{bits}"),
        Err(_) => crate::x509::hex(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ip_subnets_and_garbage() {
        assert_eq!(ip_subnet(&[10, 0, 0, 0, 255, 0, 0, 0]), "10.0.0.0/8");
        assert_eq!(ip_subnet(&[1, 2, 3]), "010203");
        assert_eq!(
            ber_booleans(&[0x30, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0x01, 0x04]),
            vec!["extension 2.5.29.19 has its critical flag encoded 01, not DER's FF".to_string()]
        );
        assert!(ber_booleans(&[0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff]).is_empty());
        assert!(valid_dns_name("broker.example.com"));
        assert!(valid_dns_name("*.example.com"));
        assert!(!valid_dns_name("ba*.example.com"));
        assert!(!valid_dns_name("example..com"));
        assert!(!valid_dns_name("exa mple.com"));
        let d = CertDetails::from_der(b"not a certificate");
        assert!(d.faults[0].starts_with("X.509 parse failed"), "{d:?}");
    }
}
