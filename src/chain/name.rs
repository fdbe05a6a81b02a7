//! Distinguished names compared as RFC 5280 §7.1 asks: RDN by RDN, attribute by attribute, with
//! string values compared after case folding and whitespace normalisation (the simplified
//! LDAP StringPrep profile that OpenSSL's canonical encoding also applies). Never by splitting
//! a formatted string.

use x509_parser::x509::X509Name;

/// A name in comparable form: one entry per RDN, each a sorted set of (attribute OID, value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKey(Vec<Vec<(String, Value)>>);

/// One attribute value, normalised when it is a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Value {
    /// A directory string: trimmed, inner whitespace collapsed, lower case.
    Text(String),
    /// Anything else, compared byte for byte.
    Raw(Vec<u8>),
}

impl NameKey {
    /// The comparable form of a parsed name.
    pub fn of(name: &X509Name<'_>) -> NameKey {
        let rdns = name
            .iter_rdn()
            .map(|rdn| {
                let mut attrs: Vec<(String, Value)> = rdn
                    .iter()
                    .map(|attr| {
                        let value = match attr.as_str() {
                            Ok(text) => Value::Text(normalise(text)),
                            Err(_) => Value::Raw(attr.attr_value().data.to_vec()),
                        };
                        (attr.attr_type().to_id_string(), value)
                    })
                    .collect();
                // A multi-valued RDN is a set: its order carries no meaning.
                attrs.sort();
                attrs
            })
            .collect();
        NameKey(rdns)
    }

    /// True for the empty name (no RDN at all), which names nothing and matches nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Case folding and whitespace handling of RFC 4518 for the common cases: leading and
/// trailing spaces dropped, runs of inner spaces made one, letters compared in lower case.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    fn key(der: &[u8]) -> NameKey {
        let (_, name) = X509Name::from_der(der).expect("name");
        NameKey::of(&name)
    }

    fn name_der(attrs: &[(&str, &str)]) -> Vec<u8> {
        let mut dn = rcgen::DistinguishedName::new();
        for (k, v) in attrs {
            let ty = match *k {
                "CN" => rcgen::DnType::CommonName,
                "O" => rcgen::DnType::OrganizationName,
                "OU" => rcgen::DnType::OrganizationalUnitName,
                _ => rcgen::DnType::CountryName,
            };
            dn.push(ty, *v);
        }
        let params = {
            let mut p = rcgen::CertificateParams::default();
            p.distinguished_name = dn;
            p
        };
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let (_, parsed) =
            x509_parser::certificate::X509Certificate::from_der(cert.der()).expect("parse");
        parsed.subject().as_raw().to_vec()
    }

    #[test]
    fn case_and_spaces_do_not_matter_order_of_rdns_does() {
        let a = key(&name_der(&[("CN", "Blog  Root CA "), ("O", "Acme")]));
        let b = key(&name_der(&[("CN", "blog root ca"), ("O", "ACME")]));
        let c = key(&name_der(&[("O", "Acme"), ("CN", "Blog Root CA")]));
        let d = key(&name_der(&[
            ("CN", "Blog Root CA"),
            ("O", "Acme"),
            ("OU", "Ops"),
        ]));
        assert_eq!(a, b);
        assert_ne!(a, c, "RDN order is part of the name");
        assert_ne!(a, d, "an extra OU is another name");
        assert!(!a.is_empty());
    }
}
