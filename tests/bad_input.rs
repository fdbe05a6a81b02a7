//! Bad input, as a user types it: every case pins the exit code and the exact message.
//!
//! Flags and targets that cannot work are exit 2 with one sentence naming the value and where it
//! came from. Files that exist but hold nothing usable are not errors of the tool: they are the
//! catalogue's `*_unusable` / `client_key_*` diagnoses (exit 1), with a fact saying what the file
//! holds instead. Scenario files name file:line:column. Everything runs in a temporary folder
//! with relative paths, so the messages are stable.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin_cmd;

/// A temporary folder holding the test PKI (`pki/`) and one broken file per kind.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let pki = mqtls::pki::generate(&root.join("pki")).expect("pki");
    let write = |name: &str, bytes: &[u8]| std::fs::write(root.join(name), bytes).expect("write");
    write("empty.pem", b"");
    write("blank.pem", b"\n  \n");
    write("garbage.pem", &pseudo_random(300));
    let der = openssl::x509::X509::from_pem(&pki.root.cert_pem)
        .and_then(|c| c.to_der())
        .expect("der");
    write("root.der", &der);
    write("truncated.pem", &pki.root.cert_pem[..400]);
    write("key.pem", &pki.server.key_pem);
    // Five megabytes of base64 noise: no PEM line anywhere.
    let noise: Vec<u8> = pseudo_random(5 << 20)
        .iter()
        .map(|b| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[usize::from(b & 63)]
        })
        .collect();
    write("big.pem", &noise);
    std::fs::create_dir(root.join("folder")).expect("mkdir");
    dir
}

fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn mqtls(dir: &Path, args: &[&str]) -> Output {
    cargo_bin_cmd!("mqtls")
        .current_dir(dir)
        .env_remove("MQTLS_TEST_UNSET")
        .args(args)
        .output()
        .expect("run mqtls")
}

/// Exit 2, nothing on stdout, and stderr exactly `error: {message}` on one line.
fn check_error(out: &Output, message: &str) -> Result<(), String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!("error: {message}\n");
    if out.status.code() != Some(2) || !out.stdout.is_empty() || stderr != want {
        return Err(format!(
            "exit {:?}, stdout {} bytes, stderr:\n{stderr}want:\n{want}",
            out.status.code(),
            out.stdout.len()
        ));
    }
    Ok(())
}

#[test]
fn bad_flags_and_targets_exit_2_with_one_exact_sentence() {
    let dir = workspace();
    let cases: &[(&[&str], &str)] = &[
        (
            &["diagnose", "localhost:1", "--cafile", "missing.crt"],
            "cannot read --cafile \"missing.crt\": No such file or directory (os error 2)",
        ),
        (
            &["diagnose", "localhost:1", "--cafile", "folder"],
            "cannot read --cafile \"folder\": Is a directory (os error 21)",
        ),
        (
            &["diagnose", "mqtts://"],
            "target \"mqtts://\" has no host name (expected mqtts://host[:port] or host:port)",
        ),
        (
            &["diagnose", "host:99999"],
            "target \"host:99999\" has invalid port \"99999\" (expected 1-65535)",
        ),
        (
            &["diagnose", "[::1"],
            "target \"[::1\" has a malformed IPv6 literal (expected [addr]:port)",
        ),
        (
            &["diagnose", "http://host:1"],
            "target \"http://host:1\" has unsupported scheme \"http\" (expected one of: mqtts, mqtt, wss, ws)",
        ),
        (
            &["diagnose", "localhost:1", "--timeout", "-1"],
            "invalid --timeout \"-1\": must be greater than 0",
        ),
        (
            &["diagnose", "localhost:1", "--timeout", "0"],
            "invalid --timeout \"0\": must be greater than 0",
        ),
        (
            &["diagnose", "localhost:1", "--timeout", "1e9"],
            "invalid --timeout \"1e9\": must be at most 3600 seconds",
        ),
        (
            &["diagnose", "localhost:1", "--timeout", "inf"],
            "invalid --timeout \"inf\": must be a finite number of seconds",
        ),
        (
            &["diagnose", "localhost:1", "--timeout", "soon"],
            "invalid --timeout \"soon\": expected a number of seconds, e.g. 5 or 0.5",
        ),
        (
            &["diagnose", "localhost:1", "--at", "yesterday"],
            "invalid --at \"yesterday\": not an RFC 3339 time (2024-01-01T00:00:00Z) or Unix seconds: the 'year' component could not be parsed",
        ),
        (
            &["diagnose", "localhost:1", "--cert", "pki/client.crt"],
            "invalid --cert \"pki/client.crt\": given without --key (the client certificate needs its private key)",
        ),
        (
            &["diagnose", "localhost:1", "--key", "pki/client.key"],
            "invalid --key \"pki/client.key\": given without --cert (the private key needs its certificate)",
        ),
        (
            &[
                "diagnose",
                "localhost:1",
                "--password-env",
                "MQTLS_TEST_UNSET",
            ],
            "environment variable MQTLS_TEST_UNSET (named by --password-env) is not set",
        ),
        (
            &["diagnose", "localhost:1", "--tls-version", "1.4"],
            "invalid --tls-version \"1.4\": expected one of: 1.0, 1.1, 1.2, 1.3",
        ),
        (
            &["run", "scenarios-that-do-not-exist"],
            "cannot read scenarios-that-do-not-exist: No such file or directory (os error 2)",
        ),
        (
            &["run", "folder"],
            "folder: no scenario files (*.yaml, *.yml) found",
        ),
        (
            &["run", "folder", "--jobs", "0"],
            "invalid --jobs \"0\": must be at least 1",
        ),
        (
            &["report", "garbage.pem"],
            "invalid RESULT.json \"garbage.pem\": not a `mqtls run --json` result: expected value at line 1 column 1",
        ),
        (
            &["report", "missing.json"],
            "cannot read result \"missing.json\": No such file or directory (os error 2)",
        ),
        (
            &["inspect", "--server-cert", "garbage.pem"],
            "invalid --server-cert \"garbage.pem\": it holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line)",
        ),
        (
            &["explain", "--log", "missing.log"],
            "cannot read --log \"missing.log\": No such file or directory (os error 2)",
        ),
        (
            &["certs", "generate", "empty.pem/pki"],
            "certs: cannot write empty.pem/pki: Not a directory (os error 20)",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(args, message)| {
            check_error(&mqtls(dir.path(), args), message)
                .err()
                .map(|e| format!("mqtls {}: {e}", args.join(" ")))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unusable_files_are_diagnoses_saying_what_the_file_holds() {
    let dir = workspace();
    let ca = ["--cafile", "pki/root.crt"];
    let id = |cert: &'static str, key: &'static str| ["--cert", cert, "--key", key];
    // (extra args, the code on both backends, a fact that must be there)
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--cafile", "empty.pem"],
            "ca_file_unusable",
            "empty.pem: the file is empty",
        ),
        (
            vec!["--cafile", "blank.pem"],
            "ca_file_unusable",
            "blank.pem: the file is empty",
        ),
        (
            vec!["--cafile", "garbage.pem"],
            "ca_file_unusable",
            "garbage.pem: holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line)",
        ),
        (
            vec!["--cafile", "root.der"],
            "ca_file_unusable",
            "root.der: holds a DER (binary) certificate, not PEM; convert it: `openssl x509 -inform der -in FILE -out FILE.pem`",
        ),
        (
            vec!["--cafile", "truncated.pem"],
            "ca_file_unusable",
            "truncated.pem: PEM framing is broken: no \"-----END CERTIFICATE-----\" line (the file is cut short?)",
        ),
        (
            vec!["--cafile", "key.pem"],
            "ca_file_unusable",
            "key.pem: holds 1 private key(s) and no certificate — a key was given where a certificate was expected",
        ),
        (
            vec!["--cafile", "big.pem"],
            "ca_file_unusable",
            "big.pem: holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line)",
        ),
        (
            [ca.as_slice(), &id("empty.pem", "pki/client.key")].concat(),
            "client_cert_unusable",
            "empty.pem: the file is empty",
        ),
        (
            [ca.as_slice(), &id("pki/client.key", "pki/client.key")].concat(),
            "client_cert_unusable",
            "pki/client.key: holds 1 private key(s) and no certificate — a key was given where a certificate was expected",
        ),
        (
            [ca.as_slice(), &id("pki/client.crt", "pki/client.crt")].concat(),
            "client_key_unusable",
            "pki/client.crt: holds 1 certificate(s) and no private key — a certificate was given where the key was expected",
        ),
        (
            [ca.as_slice(), &id("pki/client.crt", "garbage.pem")].concat(),
            "client_key_unusable",
            "garbage.pem",
        ),
        (
            [ca.as_slice(), &id("pki/client.crt", "pki/server.key")].concat(),
            "client_key_mismatch",
            "pki/server.key",
        ),
    ];
    let mut failures = Vec::new();
    for (extra, code, fact) in &cases {
        let mut args = vec!["diagnose", "127.0.0.1:1", "--format", "json"];
        args.extend(extra);
        let started = Instant::now();
        let out = mqtls(dir.path(), &args);
        let took = started.elapsed();
        let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "{extra:?}: no JSON ({e}): {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        if out.status.code() != Some(1) {
            failures.push(format!("{extra:?}: exit {:?}", out.status.code()));
        }
        for b in json["backends"].as_array().into_iter().flatten() {
            let facts = b["diagnosis"]["facts"].to_string();
            if b["diagnosis"]["code"] != *code || !facts.contains(&fact.replace('"', "\\\"")) {
                failures.push(format!(
                    "{extra:?} on {}: want {code} with fact {fact:?}, got {} {facts}",
                    b["backend"], b["diagnosis"]["code"]
                ));
            }
        }
        // Even five megabytes of noise is read once and judged quickly.
        if took > Duration::from_secs(5) {
            failures.push(format!("{extra:?}: took {took:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A bad pre-shared key is named by the variable (or file) that holds it, never quoted.
#[test]
fn bad_psk_keys_name_the_variable_never_the_key() {
    let dir = workspace();
    std::fs::write(dir.path().join("key.hex"), "# test key\nsecretsecret\n").expect("write");
    std::fs::write(
        dir.path().join("psk.yaml"),
        "cases:\n  - name: a\n    target: localhost:1\n    psk: {identity: dev1, key_file: key.hex}\n    expect: ok\n",
    )
    .expect("write");
    let run = |args: &[&str]| {
        cargo_bin_cmd!("mqtls")
            .current_dir(dir.path())
            .env("MQTLS_TEST_PSK", "secretsecret")
            .env("MQTLS_TEST_PSK_ODD", "abc")
            .env_remove("MQTLS_TEST_UNSET")
            .args(args)
            .output()
            .expect("run mqtls")
    };
    let not_hex = "not a hex key (expected an even number of hex digits, as in mosquitto's psk_file; a character that is not a hex digit)";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["diagnose", "localhost:1", "--psk-identity", "dev1", "--psk-key-env", "MQTLS_TEST_PSK"],
            format!("invalid --psk-key-env \"MQTLS_TEST_PSK\": {not_hex}"),
        ),
        (
            vec!["diagnose", "localhost:1", "--psk-identity", "dev1", "--psk-key-env", "MQTLS_TEST_PSK_ODD"],
            "invalid --psk-key-env \"MQTLS_TEST_PSK_ODD\": not a hex key (expected an even number of hex digits, as in mosquitto's psk_file; an odd number of digits)".into(),
        ),
        (
            vec!["diagnose", "localhost:1", "--psk-identity", "dev1", "--psk-key-env", "MQTLS_TEST_UNSET"],
            "environment variable MQTLS_TEST_UNSET (named by --psk-key-env) is not set".into(),
        ),
        (
            vec!["run", "psk.yaml"],
            format!("psk.yaml:2: case \"a\": psk \"dev1\": {not_hex}"),
        ),
    ];
    let mut failures = Vec::new();
    for (args, message) in &cases {
        let out = run(args);
        if let Err(e) = check_error(&out, message) {
            failures.push(format!("{args:?}: {e}"));
        }
        if String::from_utf8_lossy(&out.stderr).contains("secretsecret") {
            failures.push(format!("{args:?}: the key is in the message"));
        }
    }
    // clap: one flag without the other.
    let out = run(&["diagnose", "localhost:1", "--psk-identity", "dev1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(2) || !stderr.contains("--psk-key-env <VAR>") {
        failures.push(format!("--psk-identity alone: {stderr}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_scenario_files_name_the_file_the_line_and_the_value() {
    let dir = workspace();
    let files: &[(&str, &str, &str)] = &[
        (
            "syntax.yaml",
            "cases:\n  - name: a\n    target: localhost:1\n    expect: ok\n  - name: [b\n",
            "syntax.yaml:5:11: expected string scalar (in `- name: [b`)",
        ),
        (
            "unknown.yaml",
            "cases:\n  - name: a\n    target: localhost:1\n    expct: ok\n",
            "unknown.yaml:4:5: unknown field `expct`, expected one of name, description, target, broker, plain_client, websocket, cafile, untrusted, cert, key, key_password_env, psk, tls_versions, sni, no_sni, expect_name, alpn, mqtt, backends, timeout, warn_days, expect (in `expct: ok`)",
        ),
        (
            "type.yaml",
            "cases:\n  - name: a\n    target: localhost:1\n    timeout: soon\n    expect: ok\n",
            "type.yaml:4:14: invalid floating point (in `timeout: soon`)",
        ),
        (
            "cases-not-a-list.yaml",
            "cases: 5\n",
            "cases-not-a-list.yaml:1:8: expected sequence start (in `cases: 5`)",
        ),
        (
            "empty.yaml",
            "",
            "empty.yaml:1:1: the file is empty (expected `cases:` with at least one case)",
        ),
        (
            "negative.yaml",
            "cases:\n  - name: first\n    target: localhost:1\n    expect: ok\n  - name: second\n    target: localhost:1\n    timeout: -1\n    expect: ok\n",
            "negative.yaml:5: case \"second\": timeout -1 (expected seconds, more than 0, at most 3600)",
        ),
        (
            "missing-ca.yaml",
            "cases:\n  - name: a\n    target: localhost:1\n    cafile: nowhere/ca.crt\n    expect: ok\n",
            "missing-ca.yaml:2: case \"a\": cafile \"nowhere/ca.crt\" does not exist (resolved to nowhere/ca.crt)",
        ),
        (
            "bad-target.yaml",
            "cases:\n  - name: a\n    target: mqtts://\n    expect: ok\n",
            "bad-target.yaml:2: case \"a\": target \"mqtts://\" has no host name (expected mqtts://host[:port] or host:port)",
        ),
        (
            "bad-code.yaml",
            "cases:\n  - name: a\n    target: localhost:1\n    expect: okay\n",
            "bad-code.yaml:4:13: unknown variant `okay`",
        ),
        (
            "psk-two-keys.yaml",
            "cases:\n  - name: a\n    target: localhost:1\n    psk: {identity: dev1, key_env: A, key_file: k.hex}\n    expect: ok\n",
            "psk-two-keys.yaml:2: case \"a\": psk: give exactly one of key_env and key_file",
        ),
        (
            "psk-with-cert.yaml",
            "profiles:\n  both:\n    certfile: x.crt\n    keyfile: x.key\n    psk: {hint: h, keys: []}\n    labs: [mosquitto]\ncases:\n  - name: a\n    broker: both\n    expect: ok\n",
            "psk-with-cert.yaml:2: case \"both\": psk with certfile: mosquitto refuses both on one listener (\"Cannot use both certificate and psk encryption in a single listener\"); use two profiles",
        ),
        (
            "psk-unset.yaml",
            "cases:\n  - name: a\n    target: localhost:1\n    psk: {identity: dev1, key_env: MQTLS_TEST_UNSET}\n    expect: ok\n",
            "psk-unset.yaml:2: case \"a\": psk.key_env: environment variable MQTLS_TEST_UNSET is not set",
        ),
        (
            "no-profile.yaml",
            "cases:\n  - name: a\n    broker: nosuch\n    expect: ok\n",
            "no-profile.yaml:2: case \"a\": unknown broker profile \"nosuch\" (no profiles are loaded: also pass the file that defines them, e.g. scenarios/profiles.yaml)",
        ),
    ];
    let mut failures = Vec::new();
    for (name, text, message) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
        let out = mqtls(dir.path(), &["run", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let exact = check_error(&out, message);
        // A long list of choices may follow a prefix: pin the prefix then.
        let prefixed =
            out.status.code() == Some(2) && stderr.starts_with(&format!("error: {message}"));
        if exact.is_err() && !(message.ends_with('`') && prefixed) {
            failures.push(format!("{name}: {}", exact.err().unwrap_or_default()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A generated suite of 10,000 cases loads and validates in seconds (a debug build here), and
/// the cost is linear: 10,000 cases take no more than 20× what 1,000 take (10× plus noise).
#[test]
fn ten_thousand_cases_load_in_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let time = |cases: usize| {
        let mut yaml = String::from("defaults:\n  target: localhost:8883\n  timeout: 2\ncases:\n");
        for i in 0..cases {
            yaml.push_str(&format!(
                "  - name: case-{i}\n    tls_versions: [\"1.2\", \"1.3\"]\n    mqtt: {{ version: \"5\", client_id: c{i} }}\n    expect: {{ rustls: ok, openssl: unknown_ca }}\n"
            ));
        }
        let path = dir.path().join(format!("suite-{cases}.yaml"));
        std::fs::write(&path, yaml).expect("write");
        let started = Instant::now();
        let suite = mqtls::scenario::load(&[path]).expect("loads");
        let took = started.elapsed();
        assert_eq!(suite.cases.len(), cases);
        took
    };
    let small = time(1_000);
    let large = time(10_000);
    eprintln!("1,000 cases: {small:?}; 10,000 cases: {large:?}");
    assert!(
        large < Duration::from_secs(10),
        "10,000 cases took {large:?}"
    );
    assert!(
        large < small * 20 + Duration::from_millis(200),
        "not linear: {small:?} for 1,000, {large:?} for 10,000"
    );
}
