//! Certificates no issuing tool writes on purpose, made by editing what rcgen wrote: a
//! signature with one bit flipped, and a BER boolean in a certificate that is otherwise DER.
//!
//! Both stay parseable by OpenSSL, so the lab broker loads and sends them; the verifiers then
//! refuse them for the reason the row is about. This module reads only DER that rcgen just
//! wrote, and answers `None` when it does not have the expected shape.

use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// basicConstraints (2.5.29.19) followed by `critical BOOLEAN TRUE` in DER.
const BASIC_CONSTRAINTS_CRITICAL: [u8; 8] = [0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff];

/// Flips the lowest bit of the last byte of the certificate, which is the last byte of the
/// signature value: the DER stays valid, the signature no longer verifies.
pub(super) fn flip_signature_bit(mut der: Vec<u8>) -> Option<Vec<u8>> {
    let last = der.last_mut()?;
    *last ^= 0x01;
    Some(der)
}

/// Rewrites basicConstraints' critical flag from DER `FF` to BER `01` (same length), then
/// signs the edited TBSCertificate again with the issuer's key (ECDSA-SHA256, as rcgen did).
pub(super) fn ber_boolean(der: &[u8], issuer_key_pem: &str) -> Result<Option<Vec<u8>>, ErrorStack> {
    let Some((tbs, sig_alg)) = split(der) else {
        return Ok(None);
    };
    let mut tbs = tbs.to_vec();
    let Some(at) = tbs
        .windows(BASIC_CONSTRAINTS_CRITICAL.len())
        .position(|w| w == BASIC_CONSTRAINTS_CRITICAL)
    else {
        return Ok(None);
    };
    let Some(flag) = tbs.get_mut(at + BASIC_CONSTRAINTS_CRITICAL.len() - 1) else {
        return Ok(None);
    };
    *flag = 0x01;
    let key = PKey::private_key_from_pem(issuer_key_pem.as_bytes())?;
    let signature = Signer::new(MessageDigest::sha256(), &key)?.sign_oneshot_to_vec(&tbs)?;
    let mut bits = vec![0x00];
    bits.extend_from_slice(&signature);
    let mut body = tbs;
    body.extend_from_slice(sig_alg);
    body.extend(tlv(0x03, &bits));
    Ok(Some(tlv(0x30, &body)))
}

/// The TBSCertificate and signatureAlgorithm elements (with their headers) of a certificate.
fn split(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (header, len) = header(der)?;
    let body = der.get(header..header + len)?;
    let (tbs_header, tbs_len) = header_of(body)?;
    let (tbs, rest) = body.split_at_checked(tbs_header + tbs_len)?;
    let (alg_header, alg_len) = header_of(rest)?;
    Some((tbs, rest.get(..alg_header + alg_len)?))
}

/// A SEQUENCE's header length and content length.
fn header(der: &[u8]) -> Option<(usize, usize)> {
    (der.first() == Some(&0x30)).then(|| header_of(der))?
}

/// Any element's header length and content length (definite lengths only).
fn header_of(der: &[u8]) -> Option<(usize, usize)> {
    let first = usize::from(*der.get(1)?);
    if first < 0x80 {
        return Some((2, first));
    }
    let n = first & 0x7f;
    let bytes = der.get(2..2 + n)?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((2 + n, len))
}

/// One DER element.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}
