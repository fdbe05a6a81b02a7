//! Rules for the user's own files, found before connecting: CA file, client certificate and key.

use super::*;
use crate::facts::{IdentityProblem, TrustSource};

/// The client certificate or key could not be used (found before connecting). The probes ran
/// without a client certificate; whatever else they met, this is the first thing to fix.
pub(super) fn client_identity_unusable(_: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let problem = cx.identity_problem?;
    let d = match problem {
        IdentityProblem::CertUnusable { path, detail } => Diagnosis::new(
            problem.code(),
            format!("The client certificate file {path} holds no usable certificate."),
        )
        .fact(format!("{path}: {detail}"))
        .remedy(format!("Check the file: `openssl x509 -in {path} -noout -subject` must print a subject; a DER file needs `-inform der` and converting to PEM."))
        .remedy("mosquitto_pub `--cert` and paho `tls_set(certfile=...)` take PEM, leaf first, optionally followed by its intermediates."),
        IdentityProblem::KeyUnusable { path, detail } => Diagnosis::new(
            problem.code(),
            format!("The key file {path} holds no usable private key."),
        )
        .fact(format!("{path}: {detail}"))
        .remedy(format!("Check the file: `openssl pkey -in {path} -noout` must succeed; PKCS#1 (`BEGIN RSA PRIVATE KEY`), SEC1 (`BEGIN EC PRIVATE KEY`) and PKCS#8 (`BEGIN PRIVATE KEY`) all work.")),
        IdentityProblem::KeyEncrypted { path, wrong_password } => Diagnosis::new(
            problem.code(),
            if *wrong_password {
                format!("The private key {path} is encrypted and the password given does not decrypt it.")
            } else {
                format!("The private key {path} is encrypted and no password was given.")
            },
        )
        .fact(format!("{path} holds an encrypted PEM key"))
        .remedy("Pass the password in an environment variable: `--key-password-env VAR` (mosquitto_pub prompts for it; paho `tls_set(keyfile_password=...)`).")
        .remedy(format!("rustls-based clients (rumqttc) cannot read encrypted keys at all: decrypt it once with `openssl pkey -in {path} -out client-plain.key` and protect the file instead.")),
        IdentityProblem::KeyMismatch { cert, key, detail } => Diagnosis::new(
            problem.code(),
            format!("The private key {key} does not belong to the client certificate {cert}."),
        )
        .fact(detail.clone())
        .remedy(format!("Compare: `openssl x509 -in {cert} -noout -pubkey | openssl sha256` and `openssl pkey -in {key} -pubout | openssl sha256` must print the same hash."))
        .remedy("Use the key that was generated with the certificate's request; a certificate file that starts with the CA certificate instead of the client's own gives the same error."),
    };
    Some(d.fact("the probes ran without a client certificate"))
}

/// The CA file holds no usable certificate: nothing can be verified.
pub(super) fn ca_file_unusable(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let TrustSource::Files { paths } = &cx.trust.source else {
        return None;
    };
    if !cx.trust.certs.is_empty() {
        return None;
    }
    let mut d = Diagnosis::new(
        Code::CaFileUnusable,
        format!(
            "The CA file {} holds no usable certificate, so the broker cannot be verified.",
            paths.join(", ")
        ),
    );
    for note in &cx.trust.notes {
        d = d.fact(note.clone());
    }
    if let Some(raw) = &ev.raw_error {
        d = d.fact(format!("{}: {raw}", ev.backend));
    }
    Some(
        d.remedy("Client: pass the PEM certificate of the CA that issued the broker's certificate (`-----BEGIN CERTIFICATE-----`); mosquitto_pub `--cafile`, paho `tls_set(ca_certs=...)`.")
            .remedy(format!("See what the broker sends and who issued it: `openssl s_client -connect {} -showcerts`.", cx.target)),
    )
}

pub(super) fn client_identity(ev: &Evidence, _: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::ClientIdentity { detail }) = &ev.failure else {
        return None;
    };
    // Key/certificate mismatches are caught before probing (`client_identity_unusable`); what
    // is left is a backend refusing a certificate the other may accept (rustls refuses X.509
    // v1 client certificates since 0.23.23).
    let code = Code::ClientCertUnusable;
    Some(
        Diagnosis::new(code, format!("{} cannot use the client certificate and key.", ev.backend))
            .fact(detail.clone())
            .remedy("Check that --cert and --key belong together: `openssl x509 -noout -pubkey -in client.crt | openssl sha256` must equal `openssl pkey -pubout -in client.key | openssl sha256`."),
    )
}
