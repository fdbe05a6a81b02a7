//! Tests of `pki`.

use std::sync::Arc;
use std::time::Instant;

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use openssl::ssl::{SslContextBuilder, SslFiletype, SslMethod};
use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{CrlStatus, X509, X509Crl, X509PurposeId, X509StoreContext};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, SignatureScheme};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use super::*;

fn pki() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let pki = generate(dir.path()).expect("generate");
    eprintln!("pki::generate took {:?}", started.elapsed());
    (dir, pki)
}

fn der(pem: &[u8]) -> Vec<u8> {
    X509::from_pem(pem).expect("pem").to_der().expect("der")
}

/// Run `f` on the parsed certificate of `files`.
fn with_cert<T>(files: &CertFiles, f: impl FnOnce(&X509Certificate<'_>) -> T) -> T {
    let der = der(&files.cert_pem);
    let (_, cert) = X509Certificate::from_der(&der).expect("parse");
    f(&cert)
}

fn subject(files: &CertFiles) -> String {
    with_cert(files, |c| c.subject().to_string())
}

fn issuer(files: &CertFiles) -> String {
    with_cert(files, |c| c.issuer().to_string())
}

fn sans(files: &CertFiles) -> Option<Vec<String>> {
    with_cert(files, |c| {
        c.subject_alternative_name().expect("san ext").map(|san| {
            san.value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => format!("DNS:{d}"),
                    GeneralName::IPAddress(ip) => format!("IP:{ip:?}"),
                    other => format!("{other:?}"),
                })
                .collect()
        })
    })
}

/// `Some((ca, pathlen))`, or `None` without basicConstraints.
fn basic_constraints(files: &CertFiles) -> Option<(bool, Option<u32>)> {
    with_cert(files, |c| {
        c.basic_constraints()
            .expect("bc ext")
            .map(|bc| (bc.value.ca, bc.value.path_len_constraint))
    })
}

fn eku(files: &CertFiles) -> (bool, bool) {
    with_cert(files, |c| {
        let e = c.extended_key_usage().expect("eku").expect("has eku");
        (e.value.server_auth, e.value.client_auth)
    })
}

fn years(files: &CertFiles) -> (i32, i32) {
    with_cert(files, |c| {
        (
            c.validity().not_before.to_datetime().year(),
            c.validity().not_after.to_datetime().year(),
        )
    })
}

/// Verify `leaf` against `anchor` with the untrusted intermediates `chain` at the current time.
/// The error is the raw `X509_V_ERR_*` code.
fn openssl_verify(anchor: &[u8], leaf: &[u8], chain: &[&[u8]]) -> Result<(), i32> {
    openssl_verify_with(anchor, leaf, chain, |_| ())
}

/// [`openssl_verify`] with a store that `configure` adjusted (flags, CRLs, parameters).
fn openssl_verify_with(
    anchor: &[u8],
    leaf: &[u8],
    chain: &[&[u8]],
    configure: impl FnOnce(&mut X509StoreBuilder),
) -> Result<(), i32> {
    let mut store = X509StoreBuilder::new().expect("store");
    configure(&mut store);
    store
        .add_cert(X509::from_pem(anchor).expect("anchor"))
        .expect("add");
    let store = store.build();
    let mut untrusted = Stack::new().expect("stack");
    for c in chain {
        untrusted
            .push(X509::from_pem(c).expect("chain"))
            .expect("push");
    }
    let leaf = X509::from_pem(leaf).expect("leaf");
    let mut ctx = X509StoreContext::new().expect("ctx");
    ctx.init(&store, &leaf, &untrusted, |c| {
        let ok = c.verify_cert()?;
        Ok(if ok { Ok(()) } else { Err(c.error()) })
    })
    .expect("verify ran")
    .map_err(|e| e.as_raw())
}

#[test]
fn writes_every_file_with_mode_0644() {
    let (dir, pki) = pki();
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let readme = fs::read_to_string(&pki.readme).expect("readme");
    for name in &names {
        let meta = fs::metadata(dir.path().join(name)).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o644, "{name}");
        if name != "README.md" {
            assert!(readme.contains(&format!("`{name}`")), "README lists {name}");
        }
    }
    for stem in [
        "root",
        "intermediate",
        "server",
        "client",
        "other-root",
        "other-server",
        "other-client",
        "server-expired",
        "server-wrong-name",
        "server-not-yet-valid",
        "server-cn-only",
        "server-v1",
        "server-ca-true",
        "server-self-signed",
        "server-eku-client",
        "issuer-not-ca",
        "server-by-not-ca",
        "server-issued-ca-true",
        "server-sha1",
        "server-rsa1024",
        "server-dns-only",
        "expired-root",
        "server-by-expired-root",
        "same-subject-ca",
        "server-same-subject",
        "client-eku-server",
        "client-expired",
        "client-revoked",
        "constrained-ca",
        "server-outside-constraints",
        "sub-intermediate",
        "server-below-pathlen",
        "client-only-ca",
        "server-by-client-only-ca",
        "server-unknown-critical",
        "server-bad-signature",
        "server-ber-boolean",
        "many-constraints-ca",
        "server-many-names",
    ] {
        assert!(names.contains(&format!("{stem}.crt")), "{stem}.crt");
        assert!(names.contains(&format!("{stem}.key")), "{stem}.key");
        assert!(pki.by_stem(stem).is_some(), "{stem} in Pki");
    }
    let fullchains: Vec<&String> = names.iter().filter(|n| n.contains("fullchain")).collect();
    assert_eq!(
        fullchains,
        [
            "client-eku-server-fullchain.crt",
            "client-expired-fullchain.crt",
            "client-fullchain.crt",
            "client-revoked-fullchain.crt",
            "server-bad-signature-fullchain.crt",
            "server-below-pathlen-fullchain.crt",
            "server-ber-boolean-fullchain.crt",
            "server-by-client-only-ca-fullchain.crt",
            "server-by-not-ca-fullchain.crt",
            "server-cn-only-fullchain.crt",
            "server-dns-only-fullchain.crt",
            "server-eku-client-fullchain.crt",
            "server-expired-fullchain.crt",
            "server-fullchain.crt",
            "server-issued-ca-true-fullchain.crt",
            "server-many-names-fullchain.crt",
            "server-not-yet-valid-fullchain.crt",
            "server-outside-constraints-fullchain.crt",
            "server-rsa1024-fullchain.crt",
            "server-sha1-fullchain.crt",
            "server-unknown-critical-fullchain.crt",
            "server-v1-fullchain.crt",
            "server-wrong-name-fullchain.crt",
            "sub-intermediate-fullchain.crt",
        ]
    );
    let extras: Vec<&String> = names
        .iter()
        .filter(|n| n.ends_with(".der") || n.ends_with("-encrypted.key") || n.ends_with(".pem"))
        .collect();
    assert_eq!(
        extras,
        ["client-encrypted.key", "crl.pem", "root.der", "server.der"]
    );
    assert!(names.contains(&"ca-bundle.crt".to_owned()));
    // The returned bytes are what is on disk.
    for f in pki.all() {
        assert_eq!(fs::read(&f.cert).expect("cert"), f.cert_pem, "{}", f.stem);
        assert_eq!(fs::read(&f.key).expect("key"), f.key_pem, "{}", f.stem);
        assert!(PKey::private_key_from_pem(&f.key_pem).is_ok(), "{}", f.stem);
    }
    let fullchain = fs::read_to_string(pki.server.fullchain.as_ref().expect("fc")).expect("fc");
    assert_eq!(fullchain.matches("BEGIN CERTIFICATE").count(), 2);
    assert!(fullchain.starts_with(std::str::from_utf8(&pki.server.cert_pem).expect("utf8")));
    let bundle = String::from_utf8(pki.ca_bundle_pem.clone()).expect("utf8");
    assert!(bundle.starts_with(std::str::from_utf8(&pki.root.cert_pem).expect("utf8")));
    assert!(bundle.ends_with(std::str::from_utf8(&pki.intermediate.cert_pem).expect("utf8")));
}

#[test]
fn subjects_issuers_and_extensions() {
    let (_dir, pki) = pki();
    let root = "CN=mqtls Lab Root CA, O=mqtls lab";
    let inter = "CN=mqtls Lab Signing CA, O=mqtls lab";
    let localhost = "CN=localhost, O=mqtls lab";
    assert_eq!(subject(&pki.root), root);
    assert_eq!(issuer(&pki.root), root);
    assert_eq!(basic_constraints(&pki.root), Some((true, None)));
    with_cert(&pki.root, |c| {
        let ku = c.key_usage().expect("ku").expect("has ku").value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
    });
    assert_eq!(subject(&pki.intermediate), inter);
    assert_eq!(issuer(&pki.intermediate), root);
    assert_eq!(basic_constraints(&pki.intermediate), Some((true, Some(0))));

    let good_sans = Some(vec![
        "DNS:localhost".to_owned(),
        "IP:[127, 0, 0, 1]".to_owned(),
        "IP:[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]".to_owned(),
    ]);
    assert_eq!(subject(&pki.server), localhost);
    assert_eq!(issuer(&pki.server), inter);
    assert_eq!(sans(&pki.server), good_sans);
    assert_eq!(basic_constraints(&pki.server), Some((false, None)));
    assert_eq!(eku(&pki.server), (true, false));

    assert_eq!(subject(&pki.client), "CN=mqtls-client, O=mqtls lab");
    assert_eq!(issuer(&pki.client), inter);
    assert_eq!(eku(&pki.client), (false, true));

    let elsewhere = "CN=Elsewhere Root CA, O=elsewhere";
    assert_eq!(subject(&pki.other_root), elsewhere);
    assert_eq!(issuer(&pki.other_root), elsewhere);
    assert_eq!(issuer(&pki.other_server), elsewhere);
    assert_eq!(sans(&pki.other_server), good_sans);
    assert_eq!(issuer(&pki.other_client), elsewhere);
    assert_eq!(eku(&pki.other_client), (false, true));
    assert!(pki.other_server.fullchain.is_none());

    assert_eq!(
        sans(&pki.server_wrong_name),
        Some(vec!["DNS:broker.example.com".to_owned()])
    );
    assert_eq!(sans(&pki.server_cn_only), None);
    assert_eq!(subject(&pki.server_cn_only), localhost);

    with_cert(&pki.server_v1, |c| {
        assert_eq!(c.version().0, 0, "X.509 v1");
        assert!(c.extensions().is_empty());
    });
    assert_eq!(subject(&pki.server_v1), localhost);
    assert_eq!(issuer(&pki.server_v1), inter);

    assert_eq!(issuer(&pki.server_ca_true), localhost);
    assert_eq!(basic_constraints(&pki.server_ca_true), Some((true, None)));
    assert_eq!(sans(&pki.server_ca_true), good_sans);
    assert_eq!(issuer(&pki.server_self_signed), localhost);
    assert_eq!(
        basic_constraints(&pki.server_self_signed),
        Some((false, None))
    );
    assert_eq!(eku(&pki.server_eku_client), (false, true));

    assert_eq!(issuer(&pki.issuer_not_ca), root);
    assert_eq!(basic_constraints(&pki.issuer_not_ca), None);
    assert_eq!(
        issuer(&pki.server_by_not_ca),
        "CN=mqtls Lab Not-a-CA Issuer, O=mqtls lab"
    );

    assert_eq!(issuer(&pki.server_issued_ca_true), inter);
    assert_eq!(
        basic_constraints(&pki.server_issued_ca_true),
        Some((true, None))
    );
    assert_eq!(sans(&pki.server_issued_ca_true), good_sans);
    let expired_root = "CN=mqtls Expired Root CA, O=mqtls lab";
    assert_eq!(subject(&pki.expired_root), expired_root);
    assert_eq!(issuer(&pki.expired_root), expired_root);
    assert_eq!(basic_constraints(&pki.expired_root), Some((true, None)));
    assert_eq!(issuer(&pki.server_by_expired_root), expired_root);
    assert_eq!(sans(&pki.server_by_expired_root), good_sans);
    for f in [
        &pki.client_eku_server,
        &pki.client_expired,
        &pki.client_revoked,
    ] {
        assert_eq!(issuer(f), inter, "{}", f.stem);
        assert_eq!(sans(f), None, "{}", f.stem);
    }
    assert_eq!(eku(&pki.client_eku_server), (true, false));
    assert_eq!(eku(&pki.client_expired), (false, true));
    assert_eq!(eku(&pki.client_revoked), (false, true));
}

#[test]
fn validity_windows() {
    let (_dir, pki) = pki();
    for f in pki.all() {
        let (from, to) = years(f);
        match f.stem {
            "server-expired" | "client-expired" => assert_eq!((from, to), (2019, 2020)),
            "expired-root" => assert_eq!((from, to), (2015, 2020)),
            "server-not-yet-valid" => assert_eq!((from, to), (2090, 4096)),
            _ => assert_eq!((from, to), (2024, 4096), "{}", f.stem),
        }
    }
    with_cert(&pki.server_expired, |c| {
        assert_eq!(c.validity().not_before.timestamp(), 1_546_300_800); // 2019-01-01
        assert_eq!(c.validity().not_after.timestamp(), 1_577_836_800); // 2020-01-01
    });
    with_cert(&pki.expired_root, |c| {
        assert_eq!(c.validity().not_before.timestamp(), 1_420_070_400); // 2015-01-01
        assert_eq!(c.validity().not_after.timestamp(), 1_577_836_800); // 2020-01-01
    });
}

#[test]
fn openssl_verifies_the_good_chain_and_rejects_the_broken_ones() {
    let (_dir, pki) = pki();
    let root = &pki.root.cert_pem;
    let inter = pki.intermediate.cert_pem.as_slice();
    assert_eq!(openssl_verify(root, &pki.server.cert_pem, &[inter]), Ok(()));
    assert_eq!(openssl_verify(root, &pki.client.cert_pem, &[inter]), Ok(()));
    assert_eq!(
        openssl_verify(root, &pki.server_v1.cert_pem, &[inter]),
        Ok(())
    );
    assert_eq!(
        openssl_verify(root, &pki.server_expired.cert_pem, &[inter]),
        Err(openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED)
    );
    assert_eq!(
        openssl_verify(root, &pki.server_not_yet_valid.cert_pem, &[inter]),
        Err(openssl_sys::X509_V_ERR_CERT_NOT_YET_VALID)
    );
    assert_eq!(
        openssl_verify(root, &pki.other_server.cert_pem, &[]),
        Err(openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
    );
    // Without the intermediate the good leaf has no path to the root either.
    assert_eq!(
        openssl_verify(root, &pki.server.cert_pem, &[]),
        Err(openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
    );
    let not_ca = pki.issuer_not_ca.cert_pem.as_slice();
    assert_eq!(
        openssl_verify(root, &pki.server_by_not_ca.cert_pem, &[not_ca]),
        Err(openssl_sys::X509_V_ERR_INVALID_CA)
    );
}

fn rustls_verify_server(
    anchor: &[u8],
    leaf: &[u8],
    chain: &[&[u8]],
    name: &str,
) -> Result<(), rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(der(anchor)))
        .expect("anchor");
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .expect("verifier");
    let chain: Vec<CertificateDer<'static>> = chain.iter().map(|c| der(c).into()).collect();
    let name = ServerName::try_from(name.to_owned()).expect("name");
    verifier
        .verify_server_cert(&der(leaf).into(), &chain, &name, &[], UnixTime::now())
        .map(|_| ())
}

fn rustls_verify_client(
    anchor: &[u8],
    leaf: &[u8],
    chain: &[&[u8]],
    crl: &[u8],
) -> Result<(), rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(der(anchor)))
        .expect("anchor");
    let crl = CertificateRevocationListDer::from_pem_slice(crl).expect("crl");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .with_crls([crl])
        // Like OpenSSL's CRL_CHECK (and mosquitto's `crlfile`): the leaf only. By default
        // webpki also wants the intermediate's status, which no lab CRL gives, and then
        // rejects every client with UnknownRevocationStatus.
        .only_check_end_entity_revocation()
        .build()
        .expect("verifier");
    let chain: Vec<CertificateDer<'static>> = chain.iter().map(|c| der(c).into()).collect();
    verifier
        .verify_client_cert(&der(leaf).into(), &chain, UnixTime::now())
        .map(|_| ())
}

/// An [`openssl_verify_with`] configuration that sets a verify parameter.
fn with_param(set: impl FnOnce(&mut X509VerifyParam)) -> impl FnOnce(&mut X509StoreBuilder) {
    |store| {
        let mut param = X509VerifyParam::new().expect("param");
        set(&mut param);
        store.set_param(&param).expect("set_param");
    }
}

#[test]
fn sha1_and_rsa1024_leaves() {
    let (_dir, pki) = pki();
    let inter = "CN=mqtls Lab Signing CA, O=mqtls lab";
    let good_sans = sans(&pki.server);
    for f in [&pki.server_sha1, &pki.server_rsa1024] {
        with_cert(f, |c| assert_eq!(c.version().0, 2, "{} is v3", f.stem));
        assert_eq!(issuer(f), inter, "{}", f.stem);
        assert_eq!(sans(f), good_sans, "{}", f.stem);
        assert_eq!(eku(f), (true, false), "{}", f.stem);
        assert_eq!(basic_constraints(f), Some((false, None)), "{}", f.stem);
        assert!(f.fullchain.is_some(), "{}", f.stem);
    }
    let sha1 = X509::from_pem(&pki.server_sha1.cert_pem).expect("sha1");
    let nid = sha1.signature_algorithm().object().nid();
    assert_eq!(nid, Nid::ECDSA_WITH_SHA1);
    let intermediate_key = X509::from_pem(&pki.intermediate.cert_pem)
        .and_then(|c| c.public_key())
        .expect("intermediate key");
    assert!(sha1.verify(&intermediate_key).expect("verify"));

    let rsa = X509::from_pem(&pki.server_rsa1024.cert_pem).expect("rsa");
    let nid = rsa.signature_algorithm().object().nid();
    assert_eq!(nid, Nid::ECDSA_WITH_SHA256);
    let public = rsa.public_key().expect("public key");
    assert_eq!((public.id(), public.bits()), (Id::RSA, 1024));
    let private = PKey::private_key_from_pem(&pki.server_rsa1024.key_pem).expect("key");
    assert!(
        public.public_eq(&private),
        "key file matches the certificate"
    );
}

#[test]
fn openssl_security_levels_reject_sha1_and_rsa1024() {
    let (_dir, pki) = pki();
    let root = &pki.root.cert_pem;
    let inter = pki.intermediate.cert_pem.as_slice();
    let sha1 = &pki.server_sha1.cert_pem;
    let rsa = &pki.server_rsa1024.cert_pem;
    let level = |n| with_param(move |p| p.set_auth_level(n));
    // A bare X509_STORE has no security level (auth_level -1): both verify. TLS sets the
    // level from the SSL_CTX, which is where they fail.
    assert_eq!(openssl_verify(root, sha1, &[inter]), Ok(()));
    assert_eq!(openssl_verify(root, rsa, &[inter]), Ok(()));
    assert_eq!(
        openssl_verify_with(root, sha1, &[inter], level(1)),
        Err(openssl_sys::X509_V_ERR_CA_MD_TOO_WEAK)
    );
    assert_eq!(openssl_verify_with(root, rsa, &[inter], level(1)), Ok(()));
    assert_eq!(
        openssl_verify_with(root, rsa, &[inter], level(2)),
        Err(openssl_sys::X509_V_ERR_EE_KEY_TOO_SMALL)
    );
    assert_eq!(
        openssl_verify_with(root, &pki.server.cert_pem, &[inter], level(2)),
        Ok(())
    );
    // A broker on OpenSSL at level 2 refuses to load either one as its certificate.
    for (f, loads) in [
        (&pki.server, true),
        (&pki.server_sha1, false),
        (&pki.server_rsa1024, false),
    ] {
        let mut ctx = SslContextBuilder::new(SslMethod::tls()).expect("ctx");
        ctx.set_security_level(2);
        let cert = X509::from_pem(&f.cert_pem).expect("cert");
        assert_eq!(ctx.set_certificate(&cert).is_ok(), loads, "{}", f.stem);
    }
}

#[test]
fn openssl_verdicts_for_names_roots_and_clients() {
    let (dir, pki) = pki();
    let root = &pki.root.cert_pem;
    let inter = pki.intermediate.cert_pem.as_slice();
    let dns_only = &pki.server_dns_only.cert_pem;
    let ip = with_param(|p| p.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("set_ip"));
    assert_eq!(
        openssl_verify_with(root, dns_only, &[inter], ip),
        Err(openssl_sys::X509_V_ERR_IP_ADDRESS_MISMATCH)
    );
    let host = with_param(|p| p.set_host("localhost").expect("set_host"));
    assert_eq!(openssl_verify_with(root, dns_only, &[inter], host), Ok(()));

    let ssl_server =
        |s: &mut X509StoreBuilder| s.set_purpose(X509PurposeId::SSL_SERVER).expect("purpose");
    let issued_ca_true = &pki.server_issued_ca_true.cert_pem;
    assert_eq!(
        openssl_verify_with(root, issued_ca_true, &[inter], ssl_server),
        Ok(())
    );
    assert_eq!(
        openssl_verify(
            &pki.expired_root.cert_pem,
            &pki.server_by_expired_root.cert_pem,
            &[]
        ),
        Err(openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED)
    );
    assert_eq!(
        openssl_verify(
            &pki.same_subject_ca.cert_pem,
            &pki.server_same_subject.cert_pem,
            &[]
        ),
        Err(openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
    );

    let ssl_client =
        || |s: &mut X509StoreBuilder| s.set_purpose(X509PurposeId::SSL_CLIENT).expect("purpose");
    let client = &pki.client.cert_pem;
    assert_eq!(
        openssl_verify_with(root, client, &[inter], ssl_client()),
        Ok(())
    );
    assert_eq!(
        openssl_verify_with(
            root,
            &pki.client_eku_server.cert_pem,
            &[inter],
            ssl_client()
        ),
        Err(openssl_sys::X509_V_ERR_INVALID_PURPOSE)
    );
    assert_eq!(
        openssl_verify(root, &pki.client_expired.cert_pem, &[inter]),
        Err(openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED)
    );
    let revoked = &pki.client_revoked.cert_pem;
    assert_eq!(
        openssl_verify(root, revoked, &[inter]),
        Ok(()),
        "no CRL, no check"
    );
    let crl_check = || {
        let crl = dir.path().join("crl.pem");
        move |s: &mut X509StoreBuilder| {
            let lookup = s.add_lookup(X509Lookup::file()).expect("lookup");
            lookup
                .load_crl_file(&crl, SslFiletype::PEM)
                .expect("load crl");
            s.set_flags(X509VerifyFlags::CRL_CHECK).expect("flags");
        }
    };
    assert_eq!(
        openssl_verify_with(root, revoked, &[inter], crl_check()),
        Err(openssl_sys::X509_V_ERR_CERT_REVOKED)
    );
    assert_eq!(
        openssl_verify_with(root, client, &[inter], crl_check()),
        Ok(())
    );
}

#[test]
fn rustls_verdicts_for_the_new_rows() {
    let (_dir, pki) = pki();
    let root = pki.root.cert_pem.as_slice();
    let inter = pki.intermediate.cert_pem.as_slice();
    let server = |f: &CertFiles, name| rustls_verify_server(root, &f.cert_pem, &[inter], name);
    assert!(matches!(
        server(&pki.server_sha1, "localhost"),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        ))
    ));
    assert!(matches!(
        server(&pki.server_dns_only, "127.0.0.1"),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForNameContext { .. }
        ))
    ));
    assert_eq!(server(&pki.server_dns_only, "localhost"), Ok(()));
    match server(&pki.server_issued_ca_true, "localhost") {
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(other))) => assert_eq!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(&webpki::Error::CaUsedAsEndEntity)
        ),
        other => panic!("server-issued-ca-true: {other:?}"),
    }
    let expired_root = &pki.expired_root.cert_pem;
    let by_expired_root = &pki.server_by_expired_root.cert_pem;
    assert_eq!(
        rustls_verify_server(expired_root, by_expired_root, &[], "localhost"),
        Ok(())
    );
    let same_subject = &pki.server_same_subject.cert_pem;
    let same_ca = &pki.same_subject_ca.cert_pem;
    assert_eq!(
        rustls_verify_server(same_ca, same_subject, &[], "localhost"),
        Ok(())
    );

    // The RSA-1024 chain verifies: the leaf key is only used for the handshake signature,
    // which webpki refuses (it takes RSA keys of 2048 to 8192 bits), and a rustls server
    // cannot load the key at all.
    assert_eq!(server(&pki.server_rsa1024, "localhost"), Ok(()));
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let key = PrivateKeyDer::from_pem_slice(&pki.server_rsa1024.key_pem).expect("key");
    assert!(provider.key_provider.load_private_key(key).is_err());
    let pkey = PKey::private_key_from_pem(&pki.server_rsa1024.key_pem).expect("pkey");
    let mut signer = Signer::new(MessageDigest::sha256(), &pkey).expect("signer");
    signer.set_rsa_padding(Padding::PKCS1_PSS).expect("pss");
    signer
        .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
        .expect("salt");
    let signature = signer.sign_oneshot_to_vec(b"transcript").expect("sign");
    let cert = CertificateDer::from(der(&pki.server_rsa1024.cert_pem));
    let (_, pss) = provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == SignatureScheme::RSA_PSS_SHA256)
        .expect("rsa_pss_rsae_sha256");
    let leaf = webpki::EndEntityCert::try_from(&cert).expect("leaf");
    assert_eq!(
        leaf.verify_signature(pss[0], b"transcript", &signature),
        Err(webpki::Error::InvalidSignatureForPublicKey)
    );

    let client = |f: &CertFiles| rustls_verify_client(root, &f.cert_pem, &[inter], &pki.crl_pem);
    assert_eq!(client(&pki.client), Ok(()));
    assert!(matches!(
        client(&pki.client_eku_server),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::InvalidPurposeContext { .. }
        ))
    ));
    assert!(matches!(
        client(&pki.client_expired),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext { .. }
        ))
    ));
    assert_eq!(
        client(&pki.client_revoked),
        Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
    );
}

#[test]
fn crl_revokes_client_revoked_and_verifies_with_the_intermediate() {
    let (_dir, pki) = pki();
    assert_eq!(fs::read(&pki.crl).expect("crl"), pki.crl_pem);
    let crl = X509Crl::from_pem(&pki.crl_pem).expect("crl");
    let intermediate = X509::from_pem(&pki.intermediate.cert_pem).expect("intermediate");
    let root = X509::from_pem(&pki.root.cert_pem).expect("root");
    assert!(
        crl.verify(&intermediate.public_key().expect("key"))
            .expect("verify")
    );
    assert!(
        !crl.verify(&root.public_key().expect("key"))
            .expect("verify")
    );
    assert_eq!(
        crl.issuer_name().to_der().expect("der"),
        intermediate.subject_name().to_der().expect("der")
    );
    let far = Asn1Time::from_str_x509("40960101000000Z").expect("time");
    assert!(crl.next_update().is_some_and(|t| t == far));
    let revoked = X509::from_pem(&pki.client_revoked.cert_pem).expect("revoked");
    let client = X509::from_pem(&pki.client.cert_pem).expect("client");
    assert!(matches!(
        crl.get_by_serial(revoked.serial_number()),
        CrlStatus::Revoked(_)
    ));
    assert!(matches!(
        crl.get_by_serial(client.serial_number()),
        CrlStatus::NotRevoked
    ));
    assert_eq!(crl.get_revoked().map(|r| r.len()), Some(1));
}

#[test]
fn encrypted_key_decrypts_only_with_the_password() {
    let (_dir, pki) = pki();
    let path = pki
        .client
        .encrypted_key
        .as_ref()
        .expect("client-encrypted.key");
    assert!(path.ends_with("client-encrypted.key"));
    let pem = pki.client.encrypted_key_pem.as_deref().expect("pem");
    assert_eq!(&fs::read(path).expect("read"), pem);
    let text = std::str::from_utf8(pem).expect("utf8");
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = openssl::base64::decode_block(&body).expect("base64");
    // id-aes256-CBC, 2.16.840.1.101.3.4.1.42, as the PBES2 encryption scheme.
    let aes_256_cbc = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a,
    ];
    assert!(der.windows(aes_256_cbc.len()).any(|w| w == aes_256_cbc));

    let key = PKey::private_key_from_pem_passphrase(pem, KEY_PASSWORD.as_bytes()).expect("key");
    let plain = PKey::private_key_from_pem(&pki.client.key_pem).expect("plain");
    assert!(key.public_eq(&plain));
    for wrong in [&b""[..], b"wrong", b"MQTLS"] {
        assert!(PKey::private_key_from_pem_passphrase(pem, wrong).is_err());
    }
    // Loaders without a password see no private key at all.
    assert!(PrivateKeyDer::from_pem_slice(pem).is_err());
    // Only the client row has one.
    let with_encrypted: Vec<_> = pki
        .all()
        .into_iter()
        .filter(|f| f.encrypted_key.is_some())
        .map(|f| f.stem)
        .collect();
    assert_eq!(with_encrypted, ["client"]);
}

#[test]
fn der_copies_equal_the_pem_certificates() {
    let (_dir, pki) = pki();
    for f in [&pki.root, &pki.server] {
        let path = f.der.as_ref().expect("der path");
        assert!(path.ends_with(format!("{}.der", f.stem)));
        let bytes = fs::read(path).expect("read");
        assert_eq!(Some(&bytes), f.der_bytes.as_ref(), "{}", f.stem);
        assert_eq!(bytes, der(&f.cert_pem), "{}", f.stem);
        assert!(X509::from_der(&bytes).is_ok(), "{}", f.stem);
        assert!(X509::from_pem(&bytes).is_err(), "{} is not PEM", f.stem);
        assert_eq!(
            bytes.first(),
            Some(&0x30),
            "{} starts with a SEQUENCE",
            f.stem
        );
    }
    let with_der: Vec<_> = pki
        .all()
        .into_iter()
        .filter(|f| f.der.is_some())
        .map(|f| f.stem)
        .collect();
    assert_eq!(with_der, ["root", "server"]);
}

#[test]
fn same_subject_pair_and_dns_only() {
    let (_dir, pki) = pki();
    let localhost = "CN=localhost, O=mqtls lab";
    assert_eq!(subject(&pki.same_subject_ca), localhost);
    assert_eq!(issuer(&pki.same_subject_ca), localhost);
    assert_eq!(basic_constraints(&pki.same_subject_ca), Some((true, None)));
    assert_eq!(subject(&pki.server_same_subject), localhost);
    assert_eq!(issuer(&pki.server_same_subject), localhost);
    assert_eq!(
        basic_constraints(&pki.server_same_subject),
        Some((false, None))
    );
    let only_localhost = Some(vec!["DNS:localhost".to_owned()]);
    assert_eq!(sans(&pki.server_same_subject), only_localhost);
    with_cert(&pki.server_same_subject, |c| {
        let has_aki = c.extensions().iter().any(|e| {
            matches!(
                e.parsed_extension(),
                ParsedExtension::AuthorityKeyIdentifier(_)
            )
        });
        assert!(
            !has_aki,
            "server-same-subject has no authorityKeyIdentifier"
        );
    });
    assert!(pki.server_same_subject.fullchain.is_none());

    assert_eq!(sans(&pki.server_dns_only), only_localhost);
    assert_eq!(
        issuer(&pki.server_dns_only),
        "CN=mqtls Lab Signing CA, O=mqtls lab"
    );
}

/// The rows that make each stack name its reason: what each verifier says about them.
#[test]
fn reason_rows_get_the_stacks_reasons() {
    use openssl_sys as e;
    let (_dir, pki) = pki();
    let root = pki.root.cert_pem.as_slice();
    let intermediates = |f: &CertFiles| -> Vec<Vec<u8>> {
        let chain = X509::stack_from_pem(f.chain_pem()).expect("chain");
        chain
            .iter()
            .skip(1)
            .map(|c| c.to_pem().expect("pem"))
            .collect()
    };
    let ossl = |f: &CertFiles| {
        let chain = intermediates(f);
        let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        openssl_verify_with(root, &f.cert_pem, &refs, |store| {
            store
                .set_purpose(openssl::x509::X509PurposeId::SSL_SERVER)
                .expect("purpose");
        })
    };
    let webpki_says = |f: &CertFiles| {
        let chain = intermediates(f);
        let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        match rustls_verify_server(root, &f.cert_pem, &refs, "localhost") {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(other))) => {
                format!("{:?}", other.0.downcast_ref::<webpki::Error>())
            }
            other => format!("{other:?}"),
        }
    };
    assert_eq!(
        intermediates(&pki.server_below_pathlen).len(),
        2,
        "both intermediates"
    );
    let rows: [(&CertFiles, Result<(), i32>, &str); 7] = [
        (
            &pki.server_outside_constraints,
            Err(e::X509_V_ERR_PERMITTED_VIOLATION),
            "Some(NameConstraintViolation)",
        ),
        (
            &pki.server_below_pathlen,
            Err(e::X509_V_ERR_PATH_LENGTH_EXCEEDED),
            "Some(PathLenConstraintViolated)",
        ),
        (
            &pki.server_by_client_only_ca,
            Err(e::X509_V_ERR_INVALID_PURPOSE),
            "InvalidPurposeContext",
        ),
        (
            &pki.server_unknown_critical,
            Err(e::X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION),
            "Some(UnsupportedCriticalExtension)",
        ),
        (
            &pki.server_bad_signature,
            Err(e::X509_V_ERR_CERT_SIGNATURE_FAILURE),
            "BadSignature",
        ),
        // OpenSSL reads the BER boolean; webpki's DER reader does not.
        (&pki.server_ber_boolean, Ok(()), "BadEncoding"),
        // OpenSSL makes the 300,000 comparisons; webpki stops at 250,000.
        (
            &pki.server_many_names,
            Ok(()),
            "Some(MaximumNameConstraintComparisonsExceeded)",
        ),
    ];
    for (f, openssl, rustls) in rows {
        assert_eq!(ossl(f), openssl, "{} (openssl)", f.stem);
        let said = webpki_says(f);
        assert!(said.contains(rustls), "{} (rustls): {said}", f.stem);
    }
}

#[test]
fn table_is_consistent() {
    let stems = [(ROOT, "root"), (INTERMEDIATE, "intermediate")];
    let more = [(OTHER_ROOT, "other-root"), (ISSUER_NOT_CA, "issuer-not-ca")];
    let new = [
        (EXPIRED_ROOT, "expired-root"),
        (SAME_SUBJECT_CA, "same-subject-ca"),
    ];
    for (i, stem) in stems.into_iter().chain(more).chain(new) {
        assert_eq!(VARIANTS[i].stem, stem);
    }
    for (i, v) in VARIANTS.iter().enumerate() {
        assert!(
            v.issuer.is_none_or(|issuer| issuer < i),
            "{} signed by a later row",
            v.stem
        );
        if let Some(issuer) = v.issuer {
            // `Built::issuer` relies on this: issuers hold an rcgen key.
            assert_eq!(VARIANTS[issuer].maker, Maker::Rcgen, "{} issuer", v.stem);
        }
        if v.maker != Maker::Rcgen {
            // `build` and `openssl_builder` rely on this: OpenSSL only builds signed leaves.
            assert!(v.issuer.is_some(), "{} has no issuer", v.stem);
            assert!(
                matches!(v.role, Role::Server | Role::Client),
                "{} is not a leaf",
                v.stem
            );
        }
        if v.extras.revoked {
            // crl.pem is the intermediate's CRL only.
            assert_eq!(v.issuer, Some(INTERMEDIATE), "{} revoked", v.stem);
        }
        let duplicates = VARIANTS.iter().filter(|o| o.stem == v.stem).count();
        assert_eq!(duplicates, 1, "{}", v.stem);
    }
}

#[test]
fn generation_is_fast() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    generate(dir.path()).expect("generate");
    let took = started.elapsed();
    eprintln!("pki::generate took {took:?}");
    assert!(took.as_millis() < 2000, "took {took:?}");
}
