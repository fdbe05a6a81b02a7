//! The certificates and keys of the lab PKI that rcgen cannot make: X.509 v1, SHA-1 signatures
//! and RSA-1024 keys, all built with OpenSSL's `X509Builder`.
//!
//! Only leaves are built here, always signed by a row that rcgen built earlier. This module knows
//! the table's types but writes no files.

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

use super::{Maker, Role, Variant};

/// A fresh RSA-1024 key as PKCS#8 PEM (aws-lc, behind rcgen, refuses RSA keys under 2048 bits).
pub(super) fn rsa1024_key_pem() -> Result<String, ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(1024)?)?;
    Ok(String::from_utf8_lossy(&key.private_key_to_pem_pkcs8()?).into_owned())
}

/// Build the certificate of `variant` for the key `key_pem`, signed by the issuer's certificate
/// and key (both PEM). `variant.maker` says what is unusual about it.
pub(super) fn cert_pem(
    variant: &Variant,
    serial: u32,
    key_pem: &str,
    issuer_cert_pem: &str,
    issuer_key_pem: &str,
) -> Result<String, ErrorStack> {
    let subject_key = PKey::private_key_from_pem(key_pem.as_bytes())?;
    let issuer_key = PKey::private_key_from_pem(issuer_key_pem.as_bytes())?;
    let issuer_cert = X509::from_pem(issuer_cert_pem.as_bytes())?;

    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", variant.cn)?;
    name.append_entry_by_text("O", variant.org)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    // Serials are unique per issuer because each row gets its own (see `build`).
    let serial = Asn1Integer::from_bn(&*BigNum::from_u32(serial)?)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer_cert.subject_name())?;
    b.set_pubkey(&subject_key)?;
    let (not_before, not_after) = variant.validity.window();
    b.set_not_before(&*Asn1Time::from_unix(not_before.unix_timestamp())?)?;
    b.set_not_after(&*Asn1Time::from_unix(not_after.unix_timestamp())?)?;
    let digest = match variant.maker {
        Maker::OpensslSha1 => MessageDigest::sha1(),
        _ => MessageDigest::sha256(),
    };
    if variant.maker == Maker::OpensslV1 {
        // Version 1 is encoded as 0, and a v1 certificate has no extensions at all.
        b.set_version(0)?;
    } else {
        b.set_version(2)?;
        add_leaf_extensions(&mut b, variant, &issuer_cert)?;
    }
    b.sign(&issuer_key, digest)?;
    Ok(String::from_utf8_lossy(&b.build().to_pem()?).into_owned())
}

/// The extensions rcgen writes for the same row: CA:FALSE, digitalSignature, the role's EKU,
/// the SANs and both key identifiers.
fn add_leaf_extensions(
    b: &mut X509Builder,
    variant: &Variant,
    issuer_cert: &X509,
) -> Result<(), ErrorStack> {
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    let mut eku = ExtendedKeyUsage::new();
    match variant.role {
        Role::Server | Role::ClientWithServerEku => eku.server_auth(),
        Role::Client | Role::ServerWithClientEku => eku.client_auth(),
        // `table_is_consistent` checks that OpenSSL only builds leaves.
        _ => unreachable!("{}: only leaves are built with OpenSSL", variant.stem),
    };
    b.append_extension(eku.build()?)?;
    let dns = variant.sans.dns_names();
    let ips = variant.sans.ips();
    if !dns.is_empty() || !ips.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for name in dns {
            san.dns(name);
        }
        for ip in ips {
            san.ip(&ip.to_string());
        }
        let ext = san.build(&b.x509v3_context(Some(issuer_cert), None))?;
        b.append_extension(ext)?;
    }
    // The pubkey is already set, so the SKI can be computed; the AKI copies the issuer's SKI so
    // OpenSSL picks the right issuer when several share a name.
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(issuer_cert), None))?;
    b.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(issuer_cert), None))?;
    b.append_extension(aki)
}
