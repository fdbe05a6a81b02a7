//! Follow-up probes: extra handshakes that answer what one handshake cannot tell.
//!
//! They use OpenSSL at security level 0 with every cipher and no certificate verification,
//! because they ask only "does the broker speak this?": which TLS versions it accepts (for
//! `tls_version_mismatch` and `legacy_tls_only`), and whether it answers differently with and
//! without SNI (for `sni_required`). Nothing is sent after the handshake. Each is bounded by
//! the request's timeout, and the caller runs them concurrently.

use std::pin::Pin;

use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode};

use tokio_openssl::SslStream;

use super::tap::Tap;
use super::{Prober, TlsVersion};
use crate::evidence::{Backend, Evidence, Failure};
pub use crate::evidence::{FollowUpPlan, FollowUps, HandshakeProbe, MqttVersionProbe};
use crate::x509::CertSummary;

impl Prober {
    /// One handshake with OpenSSL at security level 0, offering only `version` (or every
    /// version) and sending `sni`.
    pub async fn probe_handshake(
        &self,
        version: Option<TlsVersion>,
        sni: Option<String>,
    ) -> HandshakeProbe {
        let mut result = HandshakeProbe {
            version,
            sni: sni.clone(),
            accepted: false,
            completed: false,
            negotiated: None,
            cipher: None,
            leaf: None,
            detail: None,
        };
        let mut scratch = Evidence::new(Backend::Openssl, String::new());
        let Some((tcp, _)) = self.connect(&mut scratch).await else {
            result.detail = scratch.raw_error;
            return result;
        };
        let ssl = match permissive_ssl(version, sni.as_deref()) {
            Ok(ssl) => ssl,
            Err(e) => {
                result.detail = Some(e.to_string());
                return result;
            }
        };
        let (tap, record) = Tap::new(tcp);
        let mut stream = match SslStream::new(ssl, tap) {
            Ok(s) => s,
            Err(e) => {
                result.detail = Some(e.to_string());
                return result;
            }
        };
        let outcome =
            tokio::time::timeout(self.request().timeout, Pin::new(&mut stream).connect()).await;
        let ssl = stream.ssl();
        // The broker accepted what we offered when its first record is a ServerHello
        // (a handshake record, 0x16, whose first message is type 2), also when the handshake
        // failed later, e.g. for a client certificate. A refusal starts with an alert (0x15).
        // A ServerHello for another version than offered is refused by our side as
        // "unsupported protocol": that version is not accepted either.
        let first = record.snapshot().first_bytes;
        let server_hello = first.first() == Some(&0x16) && first.get(5) == Some(&0x02);
        let version_refused = matches!(
            &outcome,
            Ok(Err(e)) if super::openssl::failure_from_ssl_error(e) == Failure::ProtocolVersion
        );
        result.accepted = server_hello && !version_refused;
        result.negotiated = result.accepted.then(|| ssl.version_str().to_string());
        result.cipher = ssl
            .current_cipher()
            .map(|c| c.standard_name().unwrap_or(c.name()).to_string());
        result.leaf = ssl
            .peer_certificate()
            .and_then(|c| c.to_der().ok())
            .map(|der| CertSummary::from_der(&der));
        match outcome {
            Ok(Ok(())) => result.completed = true,
            Ok(Err(e)) => {
                result.detail = Some(match super::openssl::failure_from_ssl_error(&e) {
                    Failure::AlertReceived { alert, .. } => format!("alert {alert}"),
                    _ => e.to_string(),
                });
            }
            Err(_) => result.detail = Some("no answer before the deadline".into()),
        }
        result
    }
}

pub(super) fn permissive_ssl(
    version: Option<TlsVersion>,
    sni: Option<&str>,
) -> Result<Ssl, openssl::error::ErrorStack> {
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    b.set_verify(SslVerifyMode::NONE);
    b.set_security_level(0);
    b.set_cipher_list("ALL:@SECLEVEL=0")?;
    let v = version.map(super::openssl::ssl_version);
    b.set_min_proto_version(v)?;
    b.set_max_proto_version(v)?;
    if version.is_none() {
        b.set_min_proto_version(Some(openssl::ssl::SslVersion::TLS1))?;
    }
    let mut ssl = Ssl::new(&b.build())?;
    if let Some(name) = sni {
        ssl.set_hostname(name)?;
    }
    Ok(ssl)
}
