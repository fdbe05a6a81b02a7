//! Loader tests: good files resolve, bad files fail with file:line:column and the valid choices.

use std::path::{Path, PathBuf};

use super::*;
use crate::classify::DiagnosisCode;
use crate::evidence::Backend;

fn parse_err(text: &str) -> String {
    load::parse(Path::new("s.yaml"), text)
        .expect_err(text)
        .to_string()
}

#[test]
fn parse_errors_name_file_line_column_and_choices() {
    let cases = [
        (
            "cases:\n  - name: a\n    expect: okay\n",
            "s.yaml:3:",
            "unknown variant `okay`",
        ),
        (
            "cases:\n  - name: a\n    cafle: x\n",
            "s.yaml:3:",
            "unknown field `cafle`",
        ),
        (
            "cases:\n  - name: a\n    backends: [opensll]\n",
            "s.yaml:3:",
            "rustls",
        ),
        (
            "cases:\n  - name: a\n    expect: {rustls: ok, bogus: ok}\n",
            "s.yaml:3:",
            "unknown field `bogus`",
        ),
        ("cases: [\n", "s.yaml:", ""),
        ("", "s.yaml:1:1:", "empty"),
        ("cases:\n  - name: a\n    timeout: soon\n", "s.yaml:3:", ""),
    ];
    for (text, place, words) in cases {
        let e = parse_err(text);
        assert!(e.starts_with(place) && e.contains(words), "{text:?} → {e}");
    }
}

#[test]
fn expectations_accept_a_code_or_a_map() {
    let f = load::parse(
        Path::new("s.yaml"),
        "cases:\n  - name: a\n    expect: ok\n  - name: b\n    expect: {rustls: x509_v1_cert, openssl: ok, warnings: [x509_v1_cert], brokers: {rabbitmq: {all: unknown_ca}}}\n",
    )
    .expect("valid");
    let a = f.cases[0].expect.clone().expect("expect");
    assert_eq!(
        a.code_for("mosquitto", Backend::Openssl),
        Some(DiagnosisCode::Ok)
    );
    let b = f.cases[1].expect.clone().expect("expect");
    assert_eq!(
        b.code_for("mosquitto", Backend::Rustls),
        Some(DiagnosisCode::X509V1Cert)
    );
    assert_eq!(
        b.code_for("mosquitto", Backend::Openssl),
        Some(DiagnosisCode::Ok)
    );
    assert_eq!(
        b.code_for("rabbitmq", Backend::Openssl),
        Some(DiagnosisCode::UnknownCa)
    );
    assert_eq!(b.warnings_for("mosquitto"), &[DiagnosisCode::X509V1Cert]);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn loader_resolves_defaults_paths_env_and_profiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    crate::pki::generate(&certs).expect("pki");
    let suite_dir = dir.path().join("suite");
    std::fs::create_dir_all(&suite_dir).expect("mkdir");
    write(
        &suite_dir,
        "a.yaml",
        r#"profiles:
  leaf-only:
    certfile: ../certs/server.crt
    keyfile: ../certs/server.key
defaults:
  cafile: ../certs/root.crt
  timeout: 2
  expect_name: ${env:CARGO_PKG_NAME}
cases:
  - name: leaf
    broker: leaf-only
    expect: missing_intermediate
  - name: url
    target: mqtts://localhost:1
    tls_versions: ["1.3"]
    no_sni: true
    untrusted: [../certs/intermediate.crt]
    expect: ok
"#,
    );
    let suite = load(std::slice::from_ref(&suite_dir)).expect("loads");
    assert_eq!(suite.cases.len(), 2);
    let leaf = &suite.cases[0];
    assert_eq!(leaf.id, "a/leaf");
    assert_eq!(leaf.target, CaseTarget::Profile("leaf-only".into()));
    assert!(leaf.inputs.cafiles[0].ends_with("root.crt") && leaf.inputs.cafiles[0].exists());
    assert_eq!(leaf.timeout.as_secs(), 2);
    // cargo sets CARGO_PKG_NAME for test runs; the crate forbids the unsafe set_var.
    assert_eq!(leaf.expect_name.as_deref(), Some("mqtls"));
    let url = &suite.cases[1];
    assert!(matches!(&url.target, CaseTarget::Url(t) if t.port == 1));
    assert_eq!(url.sni, Some(None));
    // Intermediates for the chain analysis resolve like every file, per case.
    assert!(leaf.inputs.untrusted.is_empty());
    assert!(
        url.inputs.untrusted[0].ends_with("intermediate.crt") && url.inputs.untrusted[0].exists()
    );
    assert!(suite.profiles["leaf-only"].certfile.ends_with("server.crt"));
}

#[test]
fn loader_errors_name_the_case_and_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "cases:\n  - name: a\n    cafile: nope.crt\n    expect: ok\n",
            "case \"a\": cafile \"nope.crt\" does not exist",
        ),
        (
            "cases:\n  - name: a\n    broker: ghost\n    expect: ok\n",
            "unknown broker profile \"ghost\"",
        ),
        ("cases:\n  - name: a\n", "no expect"),
        (
            "cases:\n  - name: a\n    tls_versions: [\"1.4\"]\n    expect: ok\n",
            "expected one of: 1.0, 1.1, 1.2, 1.3",
        ),
        (
            "cases:\n  - name: a\n    mqtt: {password_env: MQTLS_SURELY_UNSET}\n    expect: ok\n",
            "MQTLS_SURELY_UNSET is not set",
        ),
        (
            "cases:\n  - name: a\n    expect: ok\n  - name: a\n    expect: ok\n",
            "unique",
        ),
        ("cases: []\n", "no cases"),
        (
            "cases:\n  - name: a\n    target: mqtts://\n    expect: ok\n",
            "no host name",
        ),
    ];
    for (i, (text, words)) in cases.iter().enumerate() {
        let path = write(dir.path(), &format!("bad{i}.yaml"), text);
        let err = load(std::slice::from_ref(&path))
            .expect_err(text)
            .to_string();
        assert!(
            err.starts_with(&path.display().to_string()) && err.contains(words),
            "{text:?} → {err}"
        );
    }
    let empty = dir.path().join("nothing");
    std::fs::create_dir_all(&empty).expect("mkdir");
    assert!(
        load(&[empty])
            .expect_err("empty dir")
            .to_string()
            .contains("no scenario files")
    );
}

#[test]
fn a_missing_file_is_an_error_and_nothing_is_written_beside_it() {
    // A typo in a user's suite: the folder is called `certs`, but it is the user's own.
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).expect("mkdir");
    std::fs::write(certs.join("company-ca.pem"), "").expect("write");
    let suite = write(
        dir.path(),
        "t.yaml",
        "cases:\n  - name: a\n    target: mqtts://localhost:1\n    cafile: certs/company-ca.pm\n    expect: ok\n",
    );
    let err = load(&[suite]).expect_err("a missing file").to_string();
    assert!(
        err.contains("certs/company-ca.pm") && err.contains("does not exist"),
        "{err}"
    );
    let files: Vec<_> = std::fs::read_dir(&certs).expect("read").collect();
    assert_eq!(files.len(), 1, "mqtls wrote into the user's folder");
}

#[test]
fn lab_files_resolve_in_the_folder_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = dir.path().join("lab");
    crate::pki::generate(&lab).expect("pki");
    let suite = write(
        dir.path(),
        "t.yaml",
        "cases:\n  - name: a\n    target: mqtts://localhost:1\n    cafile: ${lab:root.crt}\n    expect: ok\n",
    );
    let loaded = load_with(&[suite], Some(&lab)).expect("loads");
    assert!(loaded.cases[0].inputs.cafiles[0].starts_with(std::fs::canonicalize(&lab).unwrap()));
}

#[test]
fn expectations_must_constrain_every_backend_they_run_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = |expect: &str| {
        format!("cases:\n  - name: a\n    target: mqtts://localhost:1\n    expect: {expect}\n")
    };
    for (expect, missing) in [
        ("{}", "rustls"),
        ("{ warnings: [weak_key] }", "rustls"),
        ("{ rustls: ok }", "openssl"),
        (
            "{ openssl: ok, brokers: { rabbitmq: { rustls: ok } } }",
            "rustls",
        ),
    ] {
        let file = write(dir.path(), "t.yaml", &case(expect));
        let err = load(&[file]).expect_err(expect).to_string();
        assert!(
            err.contains(&format!("expect says nothing about {missing}"))
                && err.contains("t.yaml:2"),
            "{expect}: {err}"
        );
    }
    // `any` on purpose, a code for all, or a case that runs on one backend only are fine.
    for (expect, backends) in [
        ("{ rustls: ok, openssl: any }", ""),
        ("any", ""),
        ("{ all: ok, warnings: [missing_intermediate] }", ""),
        ("{ rustls: ok }", "    backends: [rustls]\n"),
    ] {
        let text = format!(
            "cases:\n  - name: a\n    target: mqtts://localhost:1\n{backends}    expect: {expect}\n"
        );
        let file = write(dir.path(), "ok.yaml", &text);
        let suite = load(&[file]).unwrap_or_else(|e| panic!("{expect}: {e}"));
        assert_eq!(suite.cases.len(), 1);
    }
    let file = write(
        dir.path(),
        "any.yaml",
        &case("{ rustls: ok, openssl: any }"),
    );
    let suite = load(&[file]).expect("loads");
    let expect = &suite.cases[0].expect;
    assert_eq!(
        expect.code_for("", Backend::Rustls),
        Some(DiagnosisCode::Ok)
    );
    assert_eq!(expect.code_for("", Backend::Openssl), None);
}

#[test]
fn a_plain_profile_needs_no_certificate_files_and_a_tls_one_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "plain.yaml",
        "profiles:\n  plain-1883:\n    plain: true\ncases:\n  - name: a\n    broker: plain-1883\n    expect: plaintext_port\n",
    );
    let suite = load(&[dir.path().join("plain.yaml")]).expect("a plain profile loads");
    assert!(suite.profiles["plain-1883"].plain);
    let tls = tempfile::tempdir().expect("tempdir");
    write(
        tls.path(),
        "tls.yaml",
        "profiles:\n  no-files: {}\ncases:\n  - name: a\n    broker: no-files\n    expect: ok\n",
    );
    let e = load(&[tls.path().join("tls.yaml")])
        .expect_err("a TLS profile needs its files")
        .to_string();
    assert!(e.contains("certfile is required"), "{e}");
}
