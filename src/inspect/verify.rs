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
        .or_else(|| leaf.subject_attr("CN"))
        .map(str::to_string)
}

pub(super) fn unix_time(checked_at: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(checked_at).unwrap_or(0)))
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
                unix_time(checked_at),
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
    let (error, problem) = result.err().unzip();
    StackVerdict {
        backend: Backend::Rustls,
        ok: error.is_none(),
        error,
        problem: problem.flatten(),
    }
}

pub(super) fn verify_openssl(
    anchors: &Anchors,
    chain: &[CertificateDer<'static>],
    name: Option<&str>,
    checked_at: i64,
) -> StackVerdict {
    let result = openssl_verify(anchors, chain, name, checked_at)
        .unwrap_or_else(|e| Err((format!("OpenSSL could not run the verification: {e}"), None)));
    let (error, problem) = result.err().unzip();
    StackVerdict {
        backend: Backend::Openssl,
        ok: error.is_none(),
        error,
        problem: problem.flatten(),
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

/// Codes whose certificates rustls rejects and OpenSSL accepts, and why.
pub(super) const RUSTLS_ONLY: &[(Code, &str)] = &[
    (
        Code::X509V1Cert,
        "webpki only accepts X.509 v3 certificates (UnsupportedCertVersion); OpenSSL still accepts v1",
    ),
    (
        Code::CnOnlyNoSan,
        "rustls matches the name only against subjectAltName; OpenSSL falls back to the subject CN when the certificate has no DNS SAN",
    ),
    (
        Code::CaCertAsServerCert,
        "rustls refuses a CA:TRUE certificate as the server's own (CaUsedAsEndEntity); OpenSSL does not check it",
    ),
    (
        Code::WeakSignature,
        "rustls never accepts SHA-1/MD5 signatures; OpenSSL accepted it at this machine's security level",
    ),
    (
        Code::WeakKey,
        "rustls verifies RSA signatures only with keys of 2048 bits or more; OpenSSL accepted it at this machine's security level",
    ),
];

/// Codes whose certificates OpenSSL rejects and rustls accepts, and why.
pub(super) const OPENSSL_ONLY: &[(Code, &str)] = &[
    (
        Code::IntermediateAsAnchor,
        "rustls accepts any certificate of the CA file as a trust anchor; OpenSSL needs the path to end at a self-signed root (no X509_V_FLAG_PARTIAL_CHAIN)",
    ),
    (
        Code::ExpiredTrustAnchor,
        "rustls ignores the validity dates of trust anchors; OpenSSL checks the root's dates too",
    ),
    (
        Code::SameSubjectCaAndServer,
        "OpenSSL takes a certificate whose subject equals its issuer for self-signed; rustls links certificates by signature and accepts it",
    ),
    (
        Code::WeakKey,
        "OpenSSL checks every key of the chain against its security level; rustls checks only the signatures it verifies, so it accepts the chain offline but fails the handshake when the broker signs with a key under 2048 bits",
    ),
];

/// Adds a finding when the stacks disagree (with the known cause), or when both reject a chain
/// for a reason the checks above did not name.
pub(super) fn explain_verdicts(
    cx: &ServerContext<'_>,
    verdicts: &[StackVerdict],
    out: &mut Vec<Finding>,
) {
    let verdict = |b: Backend| verdicts.iter().find(|v| v.backend == b);
    let (Some(rustls), Some(openssl)) = (verdict(Backend::Rustls), verdict(Backend::Openssl))
    else {
        return;
    };
    let leaf = cx.leaf();
    let (rejecting, accepting, known) = match (rustls.ok, openssl.ok) {
        (false, true) => (rustls, openssl, RUSTLS_ONLY),
        (true, false) => (openssl, rustls, OPENSSL_ONLY),
        (false, false) => {
            if !out.iter().any(|f| f.severity == Severity::Error) {
                let reason = [rustls, openssl]
                    .into_iter()
                    .find_map(|v| reason_code(v.problem.as_ref()).map(|c| (c, v.backend)));
                let (code, why) = match (&cx.chain.end, reason) {
                    (ChainEnd::SystemStore { issuer }, _) => (
                        Code::UnknownCa,
                        format!("the system trust store does not hold {issuer}"),
                    ),
                    (_, Some((code, backend))) => (code, format!("{backend}'s own reason")),
                    _ => (
                        Code::Unclassified,
                        "inspect found no reason in the files".to_string(),
                    ),
                };
                out.push(Finding::new(
                    code,
                    Severity::Error,
                    Some(&leaf.subject),
                    format!(
                        "both stacks reject the chain of {} ({why}): rustls: {}; openssl: {}",
                        cx.file,
                        rustls.error.as_deref().unwrap_or("?"),
                        openssl.error.as_deref().unwrap_or("?")
                    ),
                ));
            }
            return;
        }
        (true, true) => return,
    };
    let cause = known
        .iter()
        .find(|(code, _)| out.iter().any(|f| f.code == *code));
    let reason = reason_code(rejecting.problem.as_ref());
    let (code, why) = match (cause, reason) {
        (Some((code, why)), _) => (*code, (*why).to_string()),
        (None, Some(code)) => (
            code,
            format!(
                "this is {}'s own reason for refusing it, a check {} does not make the same way",
                rejecting.backend, accepting.backend
            ),
        ),
        (None, None) => (
            Code::Unclassified,
            "inspect found no known difference between the stacks that explains it".to_string(),
        ),
    };
    out.push(Finding::new(
        code,
        Severity::Error,
        Some(&leaf.subject),
        format!(
            "the stacks disagree on {}: {} accepts it, {} rejects it ({}) because {why} (OpenSSL security level {})",
            cx.file,
            accepting.backend,
            rejecting.backend,
            rejecting.error.as_deref().unwrap_or("?"),
            cx.security_level
        ),
    ).remedy(format!("Fix the {code} finding so that clients on both stacks connect (mosquitto_pub, paho and Python use OpenSSL; rumqttc and most Rust clients use rustls).")));
}

/// The catalogue code of a stack's reason, for the reasons the other checks of `inspect` do
/// not cover themselves (the same codes the probe's reason rules give).
fn reason_code(problem: Option<&CertProblem>) -> Option<Code> {
    Some(match problem? {
        CertProblem::NameConstraint { .. } => Code::NameConstraintViolation,
        CertProblem::PathLength { .. } => Code::PathLengthExceeded,
        CertProblem::ChainTooLong => Code::ChainTooLong,
        CertProblem::PathBuildingLimit { .. } => Code::ChainTooComplex,
        CertProblem::IntermediatePurpose { .. } => Code::IntermediateEkuMissing,
        CertProblem::UnknownCriticalExtension { .. } => Code::UnknownCriticalExtension,
        CertProblem::BadSignature => Code::BadSignature,
        CertProblem::Malformed { .. } => Code::MalformedCertificate,
        CertProblem::UnsupportedAlgorithm { .. } => Code::UnsupportedAlgorithm,
        _ => return None,
    })
}
