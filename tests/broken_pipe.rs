//! A reader that goes away (`mqtls … | head -1`) ends every command quietly: no panic (exit
//! 101), no "Broken pipe" message, whether stderr is the terminal or the same closed pipe.
//!
//! Each command runs under bash with its stdout (and, in the second form, its stderr) piped
//! into `true`, which exits without reading: every write mqtls makes meets a closed pipe.

use std::process::Command;

fn mqtls() -> String {
    env!("CARGO_BIN_EXE_mqtls").to_string()
}

/// Runs `mqtls ARGS | true` (and with `2>&1`), returning mqtls's exit status and what it wrote
/// to stderr in the first form.
fn closed(args: &str, with_stderr: bool) -> (i32, String) {
    let redirect = if with_stderr { "2>&1" } else { "2>\"$ERR\"" };
    let dir = tempfile::tempdir().expect("tempdir");
    let err = dir.path().join("stderr");
    let script = format!("\"$MQTLS\" {args} {redirect} | true; exit ${{PIPESTATUS[0]}}");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("MQTLS", mqtls())
        .env("ERR", &err)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bash runs");
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn every_command_stops_quietly_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    // A port nothing listens on: diagnose and scan still print a full report.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("127.0.0.1:{port}\n")).expect("targets");
    let root = pki.root.cert.display().to_string();
    let server = pki.server.cert.display().to_string();
    let commands = [
        "schema".to_string(),
        "--help".to_string(),
        "explain 'unable to get local issuer certificate'".to_string(),
        format!("diagnose 127.0.0.1:{port} --cafile {root} --timeout 1"),
        format!("diagnose 127.0.0.1:{port} --cafile {root} --timeout 1 --format json"),
        format!("inspect --cafile {root} --server-cert {server}"),
        format!("scan {} --timeout 1", targets.display()),
        "run scenarios --list".to_string(),
        format!("certs generate {}", dir.path().join("again").display()),
    ];
    for args in &commands {
        for with_stderr in [false, true] {
            let (code, stderr) = closed(args, with_stderr);
            assert_ne!(code, 101, "`mqtls {args}` panicked: {stderr}");
            assert!(
                [0, 1].contains(&code),
                "`mqtls {args}` (stderr on the pipe too: {with_stderr}) exited {code}: {stderr}"
            );
            assert!(
                !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
                "`mqtls {args}` complained: {stderr}"
            );
        }
    }
}
