//! `mqtls run` end to end: the bundled suite against a real mosquitto, reports written, and a
//! wrong expectation that must fail the run with the reason in the table.

use std::process::Command;

fn mqtls() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mqtls"))
}

/// The labs to run the bundled suite on: mosquitto, and RabbitMQ when installed (required
/// when `CI` is set).
fn labs() -> &'static str {
    if mqtls::lab::rabbitmq_binary().is_some() {
        "mosquitto,rabbitmq"
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but rabbitmq-server is not installed"
        );
        eprintln!("note: rabbitmq-server not installed; the bundled suite runs on mosquitto only");
        "mosquitto"
    }
}

#[test]
fn bundled_suite_passes_on_the_lab_brokers_and_writes_every_report() {
    if !mqtls::lab::broker_available(mqtls::lab::BrokerKind::Mosquitto, "run") {
        return;
    }
    let labs = labs();
    let dir = tempfile::tempdir().expect("tempdir");
    let (json, md, xml) = (
        dir.path().join("r.json"),
        dir.path().join("r.md"),
        dir.path().join("r.xml"),
    );
    let out = mqtls()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "scenarios/", "--lab", labs, "--json"])
        .arg(&json)
        .arg("--markdown")
        .arg(&md)
        .arg("--junit")
        .arg(&xml)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid JSON");
    assert_eq!(report["schema_version"], 1);
    let cases = report["summary"]["cases"].as_u64().expect("count");
    assert!(cases >= 20, "the bundled suite has {cases} cases");
    assert_eq!(report["summary"]["failed"], 0);
    let results = report["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .all(|r| r["verdicts"].as_array().is_some_and(|v| v.len() == 2))
    );
    let junit = std::fs::read_to_string(&xml).expect("junit written");
    for broker in labs.split(',') {
        assert!(
            results.iter().any(|r| r["broker"] == broker),
            "no results for {broker}"
        );
        assert!(
            junit.contains(&format!("<testsuite name=\"{broker}\"")),
            "{junit}"
        );
    }
    let markdown = std::fs::read_to_string(&md).expect("markdown written");
    assert!(
        markdown.contains("| case | mosquitto / openssl | mosquitto / rustls |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Where rustls and OpenSSL disagree"),
        "{markdown}"
    );
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");
}

#[test]
fn a_wrong_expectation_fails_the_run_and_says_why() {
    if !mqtls::lab::broker_available(mqtls::lab::BrokerKind::Mosquitto, "run") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let certs = dir.path().join("certs");
    mqtls::pki::generate(&certs).expect("pki");
    let suite = dir.path().join("wrong.yaml");
    std::fs::write(
        &suite,
        "profiles:\n  leaf:\n    certfile: certs/server.crt\n    keyfile: certs/server.key\n\
cases:\n  - name: claims-ok\n    broker: leaf\n    cafile: certs/root.crt\n    expect: ok\n\
\x20 - name: claims-ok-too\n    broker: leaf\n    cafile: certs/root.crt\n    expect: ok\n",
    )
    .expect("write");
    let json = dir.path().join("r.json");
    let out = mqtls()
        .current_dir(root)
        .arg("run")
        .arg(&suite)
        .args(["--lab", "mosquitto", "--json"])
        .arg(&json)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each failing case carries its own broker log lines: never a line naming a connection of
    // the other case on the same listener (by client port).
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid JSON");
    for r in report["results"].as_array().expect("results") {
        let ports: Vec<u64> = r["report"]["meta"]["client_ports"]
            .as_array()
            .expect("client ports")
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .collect();
        let lines: Vec<&str> = r["broker_log"]
            .as_array()
            .expect("broker log")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        let connections: Vec<u64> = lines
            .iter()
            .filter_map(|l| l.split("New connection from 127.0.0.1:").nth(1))
            .filter_map(|rest| rest.split(' ').next()?.parse().ok())
            .collect();
        assert!(
            connections.iter().all(|p| ports.contains(p)),
            "{}: lines of other connections: {lines:?} (own ports {ports:?})",
            r["case"]
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL wrong/claims-ok on mosquitto"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expected ok, got missing_intermediate"),
        "{stdout}"
    );
    assert!(stdout.contains("2 runs: 0 passed, 2 failed"), "{stdout}");
}

#[test]
fn bad_suites_exit_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let suite = dir.path().join("typo.yaml");
    std::fs::write(&suite, "cases:\n  - name: a\n    expct: ok\n").expect("write");
    let out = mqtls().arg("run").arg(&suite).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("typo.yaml:3:") && stderr.contains("unknown field `expct`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// `--list` loads and validates the suites and prints one case id per line, with no broker and
/// no `--lab` needed (what the benchmark times for a 10,000-case suite).
#[test]
fn list_prints_the_case_ids_and_probes_nothing() {
    let out = mqtls()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "scenarios/", "--list"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let ids = String::from_utf8_lossy(&out.stdout);
    assert!(ids.lines().any(|l| l == "story/leaf-only-chain"), "{ids}");
    assert!(ids.lines().count() > 20, "{ids}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
