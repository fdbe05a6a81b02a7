//! Offline verification of the broker's chain by rustls and by OpenSSL, and why they disagree.

use super::*;

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

pub(super) fn verify_rustls(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> StackVerdict {
    let result = (|| -> Result<(), (String, Option<CertProblem>)> {
        let plain = |e: String| (e, None);
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
            .map_err(|e| plain(format!("rustls cannot build a verifier: {e}")))?;
        let name = name.ok_or_else(|| {
            plain("no name to verify: the certificate has no SAN and no CN".into())
        })?;
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|e| plain(format!("{name:?} is not a valid server name: {e}")))?;
        let (leaf, intermediates) = chain
            .split_first()
            .ok_or_else(|| plain("no certificate".into()))?;
        verifier
            .verify_server_cert(
                leaf,
                intermediates,
                &server_name,
                &[],
                crate::probe::unix_time(checked_at),
            )
            .map(|_| ())
            .map_err(|e| {
                let problem = match crate::probe::rustls::failure_from_rustls(&e).0 {
                    crate::evidence::Failure::CertRejected { problem } => Some(problem),
                    _ => None,
                };
                (e.to_string(), problem)
            })
    })();
    StackVerdict::from_result(Backend::Rustls, result)
}

pub(super) fn verify_openssl(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> StackVerdict {
    let result = openssl_verify(anchors, chain, name, checked_at)
        .unwrap_or_else(|e| Err((format!("OpenSSL could not run the verification: {e}"), None)));
    StackVerdict::from_result(Backend::Openssl, result)
}

impl StackVerdict {
    /// One stack's verification outcome: its words and, when the mapping names it, the
    /// normalised reason. The code is filled in by the classifier once both verdicts are in.
    pub(super) fn from_result(
        backend: Backend,
        result: Result<(), (String, Option<CertProblem>)>,
    ) -> StackVerdict {
        let (error, problem) = result.err().unzip();
        StackVerdict {
            backend,
            ok: error.is_none(),
            code: if error.is_none() {
                Code::Ok
            } else {
                Code::Unclassified
            },
            error,
            problem: problem.flatten(),
        }
    }
}

/// `X509_verify_cert` as an OpenSSL TLS client runs it: purpose sslserver, the security level
/// of a default client context, the host or IP check, at the clock passed in.
pub(super) fn openssl_verify(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> Result<Result<(), (String, Option<CertProblem>)>, ErrorStack> {
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
                let text = format!("OpenSSL cannot parse certificate [{i}]: {e}");
                let problem = CertProblem::Malformed {
                    depth: u32::try_from(i).ok(),
                    detail: text.clone(),
                };
                return Ok(Err((text, Some(problem))));
            }
        }
    }
    let mut parsed = parsed.into_iter();
    let Some(leaf) = parsed.next() else {
        return Ok(Err(("no certificate".into(), None)));
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
            let reported = crate::evidence::VerifyError {
                depth: Some(c.error_depth()),
                code: Some(e.as_raw()),
                message: e.error_string().to_string(),
            };
            let problem =
                crate::probe::openssl::problem_from_verify_error(&reported, name.unwrap_or(""));
            Err((
                format!(
                    "{} (verify error {} at depth {})",
                    e.error_string(),
                    e.as_raw(),
                    c.error_depth()
                ),
                Some(problem),
            ))
        })
    })
}

/// The security level of a default OpenSSL client context: what the system configuration
/// (`openssl.cnf`, e.g. Debian's `@SECLEVEL=2`) gives mosquitto_pub or Python; 1 if unknown.
pub(super) fn openssl_security_level() -> u32 {
    SslContext::builder(SslMethod::tls_client()).map_or(1, |b| b.build().security_level())
}
