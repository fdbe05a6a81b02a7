//! `mqtls demo`: the three failures of the original story, reproduced and diagnosed locally
//! with nothing to configure.
//!
//! It writes a test PKI to a temporary directory and starts a broker that sends only its leaf
//! certificate (a real mosquitto when one is installed, otherwise the in-process TLS MQTT
//! responder), then diagnoses: (1) a client that passes the broker's own `server.crt` as CA
//! file, (2) a client that trusts only the root while the broker sends no intermediate, and
//! (3) the fix, a root + intermediate bundle. Then it runs the bundled scenario suite on the
//! lab brokers that are installed (else the in-process responder) and writes its reports to
//! `reports/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::classify::DiagnosisCode;
use crate::cli::DemoArgs;
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::evidence::Backend;
use crate::evidence::MqttVersion;
use crate::inputs::{self, InputPaths};
use crate::lab::BrokerKind;
use crate::lab::Lab;
use crate::lab::{self, Behaviour, Mosquitto, MqttBehaviour, Responder, ServerStack, TlsServer};
use crate::probe::ProbeRequest;
use crate::probe::mqtt::ConnectSettings;
use crate::report::{self, DiagnoseReport, Format, Style};
use crate::run::RunConfig;
use crate::target::Target;

/// One situation of the story.
struct Situation {
    title: &'static str,
    story: &'static str,
    cafile: PathBuf,
    expected: DiagnosisCode,
}

/// One diagnosed situation, for `--format json`.
#[derive(Debug, Serialize)]
struct DemoCase {
    title: &'static str,
    command: String,
    expected: DiagnosisCode,
    report: DiagnoseReport,
}

/// A broker the demo started; dropping it stops it, so it is held until the end.
#[expect(dead_code, reason = "the broker is only held, never read")]
enum Broker {
    Mosquitto(Mosquitto),
    InProcess(Responder),
}

/// Runs the demo; exit code 0 when every situation got the diagnosis it illustrates.
pub async fn run(args: &DemoArgs, style: Style) -> Result<u8, Error> {
    let dir =
        tempfile::tempdir().map_err(|e| Error::Demo(format!("no temporary directory: {e}")))?;
    let pki =
        crate::pki::generate(&dir.path().join("certs")).map_err(|e| Error::Demo(e.to_string()))?;
    let (broker, port, which) = start_broker(&pki, args.no_mosquitto).await?;
    let mut out = std::io::stdout().lock();
    if args.format == Format::Text {
        writeln!(out, "mqtls demo: certificates in {}", dir.path().display())
            .map_err(Error::Output)?;
        writeln!(out, "broker: {which}, sending only its leaf certificate (certfile = server.crt) on 127.0.0.1:{port}\n")
            .map_err(Error::Output)?;
    }
    let situations = [
        Situation {
            title: "1/3  The client passes the broker's own certificate as its CA file",
            story: "`--cafile server.crt`: the file every tutorial hands around, but it is the broker's leaf, not the CA that issued it.",
            cafile: pki.server.cert.clone(),
            expected: DiagnosisCode::ServerCertAsCa,
        },
        Situation {
            title: "2/3  The client trusts the root; the broker sends no intermediate",
            story: "`--cafile root.crt`: the right root, but the broker's certfile holds only its leaf, so nobody has the Signing CA in between.",
            cafile: pki.root.cert.clone(),
            expected: DiagnosisCode::MissingIntermediate,
        },
        Situation {
            title: "3/3  The fix: a root + intermediate bundle",
            story: "`--cafile ca-bundle.crt` (root + intermediate) lets every client build the chain; the better fix is `certfile server-fullchain.crt` on the broker.",
            cafile: pki.ca_bundle.clone(),
            expected: DiagnosisCode::Ok,
        },
    ];
    let mut cases = Vec::new();
    let mut all_expected = true;
    for s in situations {
        let command = format!(
            "mqtls diagnose mqtts://localhost:{port} --cafile {}",
            file_name(&s.cafile)
        );
        let report = diagnose(port, &s.cafile).await?;
        let got_expected = report
            .backends
            .iter()
            .all(|b| b.diagnosis.code == s.expected);
        all_expected &= got_expected;
        match args.format {
            Format::Json => {}
            Format::Text | Format::Markdown => {
                let heading = if args.format == Format::Markdown {
                    "## "
                } else {
                    ""
                };
                writeln!(out, "{heading}{}\n{}\n$ {command}\n", s.title, s.story)
                    .map_err(Error::Output)?;
                report::render(args.format, &report, style, &mut out).map_err(Error::Output)?;
                writeln!(out, "\n{}\n", "─".repeat(100)).map_err(Error::Output)?;
            }
        }
        cases.push(DemoCase {
            title: s.title,
            command,
            expected: s.expected,
            report,
        });
    }
    if args.format == Format::Json {
        let doc = serde_json::json!({ "schema_version": report::SCHEMA_VERSION, "broker": which, "cases": cases });
        serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)?;
    } else {
        let verdict = if all_expected {
            "each situation got the diagnosis it illustrates."
        } else {
            "UNEXPECTED: a situation did not get the diagnosis it illustrates (see above)."
        };
        writeln!(out, "the story with {which}: {verdict}").map_err(Error::Output)?;
    }
    drop(broker);
    drop(out);
    if args.story_only || args.format == Format::Json {
        return Ok(if all_expected { EXIT_OK } else { EXIT_PROBLEM });
    }
    // The suite's reports name the PKI and the scenario files: keep them where they are, so
    // every path in reports/demo.json still exists after the demo.
    let kept = dir.keep();
    let suite_ok = bundled_suite(&kept, args, style).await?;
    Ok(if all_expected && suite_ok {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    })
}

/// The bundled scenario suite, compiled in so that the demo runs anywhere; a test keeps this
/// list equal to the files under `scenarios/` (suites, and the test-only `.psk` key files they
/// name).
pub const BUNDLED_SCENARIOS: &[(&str, &str)] = &[
    (
        "profiles.yaml",
        include_str!("../../scenarios/profiles.yaml"),
    ),
    (
        "seed/story.yaml",
        include_str!("../../scenarios/seed/story.yaml"),
    ),
    (
        "seed/negotiation.yaml",
        include_str!("../../scenarios/seed/negotiation.yaml"),
    ),
    (
        "chain/chain.yaml",
        include_str!("../../scenarios/chain/chain.yaml"),
    ),
    (
        "chain/names.yaml",
        include_str!("../../scenarios/chain/names.yaml"),
    ),
    (
        "client/mtls.yaml",
        include_str!("../../scenarios/client/mtls.yaml"),
    ),
    (
        "mqtt/auth.yaml",
        include_str!("../../scenarios/mqtt/auth.yaml"),
    ),
    ("psk/psk.yaml", include_str!("../../scenarios/psk/psk.yaml")),
    (
        "websocket/websocket.yaml",
        include_str!("../../scenarios/websocket/websocket.yaml"),
    ),
    (
        "psk/no-psk.yaml",
        include_str!("../../scenarios/psk/no-psk.yaml"),
    ),
    // The lab's public test-only keys, which the PSK cases name as key_file.
    (
        "psk/lab-test-only.psk",
        include_str!("../../scenarios/psk/lab-test-only.psk"),
    ),
    (
        "psk/lab-wrong.psk",
        include_str!("../../scenarios/psk/lab-wrong.psk"),
    ),
];

/// Runs the bundled suite on the installed lab brokers (or the in-process responder) and
/// writes its reports to `reports/`. Returns whether every case met its expectation.
async fn bundled_suite(dir: &Path, args: &DemoArgs, style: Style) -> Result<bool, Error> {
    let scenarios = dir.join("scenarios");
    for (name, text) in BUNDLED_SCENARIOS {
        let path = scenarios.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Demo(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::Demo(format!("{}: {e}", path.display())))?;
    }
    let labs = if args.lab.is_empty() {
        let mut labs = Vec::new();
        if !args.no_mosquitto && lab::mosquitto_binary().is_some() {
            labs.push(BrokerKind::Mosquitto);
        }
        if lab::rabbitmq_binary().is_some() {
            labs.push(BrokerKind::Rabbitmq);
        }
        if labs.is_empty() {
            labs.push(BrokerKind::Inprocess);
        }
        labs
    } else {
        args.lab.clone()
    };
    let names: Vec<&str> = labs.iter().map(|l| l.name()).collect();
    let suite = crate::scenario::load_with(&[scenarios], Some(&dir.join("certs")))?;
    super::write_stdout(&format!(
        "\nThe bundled suite: {} scenarios on {}, both backends{}\n",
        suite.cases.len(),
        names.join(" and "),
        if labs.contains(&BrokerKind::Rabbitmq) {
            " (RabbitMQ nodes take ~10 s each to boot)"
        } else {
            ""
        }
    ))?;
    let config = RunConfig {
        suites: Vec::new(),
        target: None,
        lab: labs.clone(),
        jobs: 8,
    };
    let booting = std::time::Instant::now();
    let lab = Lab::start(&labs, &suite.profiles).await?;
    let boot = booting.elapsed();
    let report = crate::run::run(&config, &suite, &lab, |_| {}).await?;
    drop(lab);
    let reports = args.reports.clone();
    std::fs::create_dir_all(&reports).map_err(|source| Error::WriteReport {
        path: reports.clone(),
        source,
    })?;
    let write = |name: &str,
                 render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>|
     -> Result<PathBuf, Error> {
        let path = reports.join(name);
        let mut buf = Vec::new();
        render(&mut buf)
            .and_then(|()| std::fs::write(&path, &buf))
            .map_err(|source| Error::WriteReport {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    };
    let json = write("demo.json", &|buf| {
        serde_json::to_writer_pretty(&mut *buf, &report).map_err(std::io::Error::other)
    })?;
    let md = write("demo.md", &|buf| {
        report::suite::render_markdown(&report, buf)
    })?;
    let xml = write("demo.xml", &|buf| report::suite::render_junit(&report, buf))?;
    let mut out = std::io::stdout().lock();
    // Only failures in the table: the whole matrix is in reports/demo.md.
    report::suite::render_text(&report, style, true, &mut out).map_err(Error::Output)?;
    writeln!(
        out,
        "brokers booted in {:.1} s, the cases ran in {:.1} s; the files they name are kept in {}",
        boot.as_secs_f64(),
        report.elapsed_ms / 1000.0,
        dir.display()
    )
    .map_err(Error::Output)?;
    writeln!(
        out,
        "reports: {}, {}, {}",
        json.display(),
        md.display(),
        xml.display()
    )
    .map_err(Error::Output)?;
    Ok(report.summary.failed == 0)
}

/// Starts mosquitto when installed (and allowed), else the in-process responder.
async fn start_broker(
    pki: &crate::pki::Pki,
    no_mosquitto: bool,
) -> Result<(Broker, u16, String), Error> {
    if !no_mosquitto && let Some(binary) = lab::mosquitto_binary() {
        let listener = lab::Listener {
            name: "leaf-only".into(),
            tls: Some(lab::ListenerTls {
                certfile: pki.server.cert.clone(),
                keyfile: pki.server.key.clone(),
                // No cafile: an OpenSSL broker completes its chain from its cafile, which
                // would hide the missing intermediate.
                ..lab::ListenerTls::default()
            }),
            allow_anonymous: true,
            users: Vec::new(),
        };
        let broker = Mosquitto::start(&[listener], Duration::from_secs(10))
            .map_err(|e| Error::Demo(format!("mosquitto did not start: {e}")))?;
        let port = broker
            .port("leaf-only")
            .ok_or_else(|| Error::Demo("mosquitto has no port for its listener".into()))?;
        return Ok((
            Broker::Mosquitto(broker),
            port,
            format!("mosquitto ({})", binary.display()),
        ));
    }
    let responder = Responder::start(Behaviour::Tls(TlsServer {
        stack: ServerStack::Openssl,
        chain_pem: pki.server.cert_pem.clone(),
        key_pem: pki.server.key_pem.clone(),
        client_auth: lab::ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }))
    .await
    .map_err(|e| Error::Demo(format!("the in-process responder did not start: {e}")))?;
    let port = responder.port();
    let why = if no_mosquitto {
        "--no-mosquitto"
    } else {
        "mosquitto is not installed"
    };
    Ok((
        Broker::InProcess(responder),
        port,
        format!("the in-process TLS MQTT responder ({why})"),
    ))
}

async fn diagnose(port: u16, cafile: &Path) -> Result<DiagnoseReport, Error> {
    let loaded = inputs::load(&InputPaths {
        cafiles: vec![cafile.to_path_buf()],
        ..InputPaths::default()
    })?;
    let request = ProbeRequest {
        target: Target::parse(&format!("mqtts://localhost:{port}"))?,
        sni: Some("localhost".into()),
        expect_name: "localhost".into(),
        tls_versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: ConnectSettings {
            version: MqttVersion::V311,
            client_id: format!("mqtls-demo-{}", std::process::id()),
            username: None,
            password: None,
        },
        timeout: Duration::from_secs(5),
        verify_at: None,
    };
    Ok(crate::diagnose::diagnose(request, &loaded, &Backend::ALL).await)
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo runs the suite compiled into the binary: it must be the whole of `scenarios/`.
    #[test]
    fn bundled_scenarios_are_every_file_under_scenarios() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("scenarios/ is readable")
                .flatten()
            {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "psk")
                {
                    let rel = path.strip_prefix(&root).expect("under scenarios/");
                    on_disk.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut bundled: Vec<String> = BUNDLED_SCENARIOS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        bundled.sort();
        assert_eq!(bundled, on_disk, "update BUNDLED_SCENARIOS in src/demo.rs");
        for (name, text) in BUNDLED_SCENARIOS {
            let on_disk = std::fs::read_to_string(root.join(name)).expect("readable");
            assert_eq!(*text, on_disk, "{name}");
        }
    }
}
