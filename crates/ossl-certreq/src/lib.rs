//! The one piece of mqtls that needs `unsafe`: the `openssl` crate exposes neither
//! `SSL_CTX_set_cert_cb` nor `SSL_get_client_CA_list`, and these are the only way for an
//! OpenSSL client to learn that the server sent a CertificateRequest (OpenSSL calls the
//! certificate callback of a client exactly when one arrived, in TLS 1.2 and 1.3 alike) and
//! which CA names it listed. mqtls itself keeps `#![forbid(unsafe_code)]`.
//!
//! Usage: [`record_certificate_requests`] on the context, then after the handshake (failed or
//! not) [`certificate_request`] on the connection.

use std::os::raw::{c_int, c_void};
use std::sync::OnceLock;

use foreign_types::ForeignTypeRef;
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslContextBuilder, SslRef};
use openssl::stack::StackRef;
use openssl::x509::X509Name;

/// What the server's CertificateRequest carried: the DER of each CA name it listed (empty when
/// it listed none, which is allowed and common).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateRequest {
    /// `certificate_authorities`, each a DER-encoded X.509 `Name` (with its SEQUENCE).
    pub ca_names: Vec<Vec<u8>>,
}

unsafe extern "C" {
    fn SSL_CTX_set_cert_cb(
        ctx: *mut openssl_sys::SSL_CTX,
        cb: Option<unsafe extern "C" fn(*mut openssl_sys::SSL, *mut c_void) -> c_int>,
        arg: *mut c_void,
    );
    fn SSL_get_client_CA_list(ssl: *const openssl_sys::SSL)
    -> *mut openssl_sys::stack_st_X509_NAME;
}

fn index() -> Option<Index<Ssl, CertificateRequest>> {
    static INDEX: OnceLock<Option<Index<Ssl, CertificateRequest>>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().ok())
}

/// Makes every connection of this client context remember the CertificateRequest it receives.
/// Replaces any certificate callback set before (mqtls sets none); the certificate configured
/// on the context is still the one sent.
pub fn record_certificate_requests(ctx: &mut SslContextBuilder) {
    // Allocate the index now, outside any handshake.
    let _ = index();
    // SAFETY: `ctx` is a live SSL_CTX owned by the builder; the callback is a plain function
    // that needs no argument (NULL).
    unsafe { SSL_CTX_set_cert_cb(ctx.as_ptr(), Some(on_cert_request), std::ptr::null_mut()) }
}

/// The CertificateRequest this connection received, or `None` when the server sent none (or
/// the handshake ended before it).
pub fn certificate_request(ssl: &SslRef) -> Option<CertificateRequest> {
    ssl.ex_data(index()?).cloned()
}

unsafe extern "C" fn on_cert_request(ssl: *mut openssl_sys::SSL, _arg: *mut c_void) -> c_int {
    if ssl.is_null() {
        return 1;
    }
    let mut request = CertificateRequest::default();
    // SAFETY: OpenSSL calls this with the connection being handshaken; the CA list it returns
    // belongs to the connection and lives at least until the callback returns.
    unsafe {
        let list = SSL_get_client_CA_list(ssl);
        if !list.is_null() {
            let names: &StackRef<X509Name> = StackRef::from_ptr(list);
            request.ca_names = names.iter().filter_map(|n| n.to_der().ok()).collect();
        }
        let ssl = SslRef::from_ptr_mut(ssl);
        if let Some(index) = index() {
            ssl.set_ex_data(index, request);
        }
    }
    // 1: go on with the certificate configured on the context (or none).
    1
}
