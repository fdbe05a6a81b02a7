//! Findings about the client certificate and key.

use super::*;

// ---------------------------------------------------------------------------------------------
// The client identity.

pub(super) fn identity_finding(problem: &IdentityProblem, cert: Option<&CertSummary>) -> Finding {
    let subject = cert.map(|c| c.subject.as_str());
    let (message, remedy) = match problem {
        IdentityProblem::CertUnusable { path, detail } => (
            format!("client certificate file {path}: expected a PEM certificate, {detail}"),
            format!(
                "Check it: `openssl x509 -in {path} -noout -subject` must print a subject; mosquitto_pub `--cert` and paho `tls_set(certfile=...)` take PEM, leaf first."
            ),
        ),
        IdentityProblem::KeyUnusable { path, detail } => (
            format!("key file {path}: expected a PEM private key, {detail}"),
            format!(
                "Check it: `openssl pkey -in {path} -noout` must succeed; PKCS#8, PKCS#1 and SEC1 PEM keys all work."
            ),
        ),
        IdentityProblem::KeyEncrypted {
            path,
            wrong_password,
        } => (
            if *wrong_password {
                format!("key file {path} is encrypted and the password given does not decrypt it")
            } else {
                format!("key file {path} is encrypted and no password was given")
            },
            format!(
                "Pass the password with `--key-password-env VAR` (paho `tls_set(keyfile_password=...)`); rustls clients (rumqttc) cannot read encrypted keys: `openssl pkey -in {path} -out client-plain.key`."
            ),
        ),
        IdentityProblem::KeyMismatch { cert, key, detail } => (
            format!("the key {key} does not belong to the client certificate {cert}: {detail}"),
            format!(
                "Compare `openssl x509 -in {cert} -noout -pubkey | openssl sha256` with `openssl pkey -in {key} -pubout | openssl sha256`; use the key generated with the certificate's request."
            ),
        ),
    };
    Finding::new(problem.code(), Severity::Error, subject, message).remedy(remedy)
}

pub(super) fn check_client(cert: &CertSummary, file: &str, now: i64, out: &mut Vec<Finding>) {
    if cert.version == 0 {
        return;
    }
    let subject = Some(cert.subject.as_str());
    let clock = rfc3339(now);
    if cert.not_after_unix < now || cert.not_before_unix > now {
        let when = if cert.not_after_unix < now {
            format!("expired on {}", cert.not_after)
        } else {
            format!("is not valid before {}", cert.not_before)
        };
        out.push(Finding::new(
            Code::ClientCertExpired,
            Severity::Error,
            subject,
            format!("{file}: the client certificate {} {when}; checked at {clock}: brokers answer with alert certificate_expired", cert.subject),
        ).remedy("Renew the client certificate from the CA the broker trusts (mosquitto `cafile`, RabbitMQ/EMQX `ssl_options.cacertfile`)."));
    }
    let eku_ok = cert.eku.is_empty() || cert.eku.iter().any(|e| e == "clientAuth" || e == "any");
    if !eku_ok {
        out.push(Finding::new(
            Code::ClientCertRejected,
            Severity::Error,
            subject,
            format!("{file}: the client certificate {} has extendedKeyUsage {}, expected clientAuth: brokers verify client certificates for purpose sslclient and reject it (\"unsupported certificate purpose\", alert unsupported_certificate or bad_certificate)", cert.subject, cert.eku.join(", ")),
        ).remedy("Re-issue it with `extendedKeyUsage=clientAuth`; a server certificate cannot double as a client certificate unless it lists both."));
    }
    if cert.version == 1 {
        out.push(Finding::new(
            Code::ClientCertRejected,
            Severity::Warning,
            subject,
            format!("{file}: the client certificate {} is X.509 v1, expected v3: rustls (0.23.23 and later) refuses to send a v1 client certificate, OpenSSL clients still send it", cert.subject),
        ).remedy("Re-issue it as v3 with `extendedKeyUsage=clientAuth` (`openssl x509 -req ... -extfile v3.ext`)."));
    }
}
