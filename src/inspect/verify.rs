//! Offline verification of the broker's chain by rustls and by OpenSSL, and why they disagree.

use super::*;
use crate::evidence::{CertProblem, VerifyError};
use crate::probe::openssl::problem_from_verify_error;

// ---------------------------------------------------------------------------------------------
// Offline verification by both stacks.

/// `--expect-name`, else the leaf's first DNS SAN, first IP SAN, or CN.
pub(super) fn name_to_check(expect_name: Option<&str>, leaf: &CertSummary) -> Option<String> {
    if let Some(name) = expect_name {
        return Some(
            name.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        );
    }
    let san = |prefix: &str| leaf.sans.iter().find_map(|s| s.strip_prefix(prefix));
    san("DNS:")
        .or_else(|| san("IP:"))
        .map(str::to_string)
        .or_else(|| leaf.subject_attr("CN"))
}

pub(super) fn unix_time(checked_at: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(checked_at).unwrap_or(0)))
}

/// One stack's offline verdict and, when it refused, its reason as the probes normalise it.
pub(super) struct Checked {
    pub(super) verdict: StackVerdict,
    pub(super) problem: Option<CertProblem>,
}

pub(super) fn verify_rustls(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> Checked {
    let mut problem = None;
    let result = (|| -> Result<(), String> {
        let mut roots = rustls::RootCertStore::empty();
        match anchors {
            Anchors::System => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
            Anchors::Certs(certs) => {
                roots.add_parsable_certificates(certs.iter().cloned());
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("rustls cannot build a verifier: {e}"))?;
        let name = name.ok_or("no name to verify: the certificate has no SAN and no CN")?;
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|e| format!("{name:?} is not a valid server name: {e}"))?;
        let (leaf, intermediates) = chain.split_first().ok_or("no certificate")?;
        verifier
            .verify_server_cert(
                leaf,
                intermediates,
                &server_name,
                &[],
                unix_time(checked_at),
            )
            .map(|_| ())
            .map_err(|e| {
                if let rustls::Error::InvalidCertificate(ce) = &e {
                    problem = Some(crate::probe::rustls::problem_from_certificate_error(ce).0);
                }
                e.to_string()
            })
    })();
    Checked {
        problem: result.as_ref().err().map(|e| {
            problem
                .take()
                .unwrap_or_else(|| CertProblem::Other { detail: e.clone() })
        }),
        verdict: StackVerdict {
            backend: Backend::Rustls,
            ok: result.is_ok(),
            error: result.err(),
        },
    }
}

pub(super) fn verify_openssl(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> Checked {
    let result = openssl_verify(anchors, chain, name, checked_at).unwrap_or_else(|e| {
        Err(VerifyError {
            depth: None,
            code: None,
            message: format!("OpenSSL could not run the verification: {e}"),
        })
    });
    let problem = result.as_ref().err().map(|e| match e.code {
        Some(_) => problem_from_verify_error(e, name.unwrap_or_default()),
        None => CertProblem::Other {
            detail: e.message.clone(),
        },
    });
    Checked {
        problem,
        verdict: StackVerdict {
            backend: Backend::Openssl,
            ok: result.is_ok(),
            error: result.err().map(|e| match (e.code, e.depth) {
                (Some(code), Some(depth)) => {
                    format!("{} (verify error {code} at depth {depth})", e.message)
                }
                _ => e.message,
            }),
        },
    }
}

/// `X509_verify_cert` as an OpenSSL TLS client runs it: purpose sslserver, the security level
/// of a default client context, the host or IP check, at the clock passed in.
pub(super) fn openssl_verify(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> Result<Result<(), VerifyError>, ErrorStack> {
    let mut store = X509StoreBuilder::new()?;
    match anchors {
        Anchors::System => store.set_default_paths()?,
        Anchors::Certs(certs) => {
            for der in certs {
                // Unparseable anchors are findings already; a duplicate is not an error.
                if let Ok(cert) = X509::from_der(der) {
                    let _ = store.add_cert(cert);
                }
            }
        }
    }
    let mut param = X509VerifyParam::new()?;
    // time_t is 64 bits on every platform mqtls targets (it is i64 on Linux and macOS).
    param.set_time(checked_at as _);
    param.set_purpose(X509PurposeId::SSL_SERVER)?;
    param.set_auth_level(i32::try_from(openssl_security_level()).unwrap_or(1));
    match name.map(|n| (n, n.parse::<IpAddr>())) {
        Some((_, Ok(ip))) => param.set_ip(ip)?,
        Some((host, Err(_))) => param.set_host(host)?,
        None => {}
    }
    store.set_param(&param)?;
    let store = store.build();
    let mut parsed = Vec::with_capacity(chain.len());
    for (i, der) in chain.iter().enumerate() {
        match X509::from_der(der) {
            Ok(cert) => parsed.push(cert),
            Err(e) => {
                return Ok(Err(VerifyError {
                    depth: None,
                    code: None,
                    message: format!("OpenSSL cannot parse certificate [{i}]: {e}"),
                }));
            }
        }
    }
    let mut parsed = parsed.into_iter();
    let Some(leaf) = parsed.next() else {
        return Ok(Err(VerifyError {
            depth: None,
            code: None,
            message: "no certificate".into(),
        }));
    };
    let mut untrusted = Stack::new()?;
    for cert in parsed {
        untrusted.push(cert)?;
    }
    let mut ctx = X509StoreContext::new()?;
    ctx.init(&store, &leaf, &untrusted, |c| {
        let ok = c.verify_cert()?;
        Ok(if ok {
            Ok(())
        } else {
            let e = c.error();
            Err(VerifyError {
                depth: Some(c.error_depth()),
                code: Some(e.as_raw()),
                message: e.error_string().to_string(),
            })
        })
    })
}

/// The security level of a default OpenSSL client context: what the system configuration
/// (`openssl.cnf`, e.g. Debian's `@SECLEVEL=2`) gives mosquitto_pub or Python; 1 if unknown.
pub(super) fn openssl_security_level() -> u32 {
    SslContext::builder(SslMethod::tls_client()).map_or(1, |b| b.build().security_level())
}
