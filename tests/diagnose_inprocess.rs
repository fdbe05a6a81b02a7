//! `diagnose` end to end against in-process servers: one table of catalogue cases, each run on
//! both server stacks (OpenSSL and rustls) when TLS is involved, each asserting the diagnosis
//! code of both client backends.
//!
//! Nothing here leaves 127.0.0.1 (the DNS case uses the reserved `.invalid` TLD). Timeout
//! cases use 1 s deadlines so the whole file stays within a few seconds.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::{Backend, Phase};
use mqtls::inputs::{self, InputPaths};
use mqtls::lab::{
    Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer,
    TlsVersion as ServerVersion,
};
use mqtls::pki::{self, Pki};
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion};
use mqtls::probe::{ProbeRequest, TlsVersion};
use mqtls::report::{DiagnoseReport, Outcome};
use mqtls::target::Target;
use socket2::{Domain, Socket, Type};

/// The default per-phase deadline of cases that should not time out.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The deadline of cases that are about timeouts.
const SHORT: Duration = Duration::from_secs(1);
/// A fatal `internal_error` alert record (TLS 1.2 record version): what a broker's TLS
/// library sends when it fails on its own side (e.g. its key cannot sign).
const INTERNAL_ERROR_ALERT: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cases_on_an_openssl_server() {
    run_table(Some(ServerStack::Openssl)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cases_on_a_rustls_server() {
    run_table(Some(ServerStack::Rustls)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_without_a_tls_server() {
    run_table(None).await;
}

/// TLS 1.2 `require_certificate`, repeated: the broker's handshake_failure (OpenSSL) or
/// certificate_required (rustls) alert must reach both backends every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_cert_required_under_tls12() {
    let case = Case::new(
        "client_cert_required_tls12",
        Server::Tls(|p, s| TlsServer {
            versions: vec![ServerVersion::Tls12],
            ..mtls(p, s)
        }),
        Code::ClientCertRequired,
    );
    repeat(
        &case,
        &[Some(ServerStack::Openssl), Some(ServerStack::Rustls)],
        25,
    )
    .await;
}

/// A server that resets every connection right after accepting it (SO_LINGER 0), as brokers
/// at their connection limit or behind an IP filter do: the connection was made, then reset
/// without an alert, which the catalogue calls `peer_closed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_after_accept_is_peer_closed() {
    let case = Case::new(
        "peer_closed_reset",
        Server::Other(|| Behaviour::Reset),
        Code::PeerClosed,
    );
    repeat(&case, &[None], 30).await;
}

/// Runs one case `times` times on each of `stacks` and fails with every mismatch.
async fn repeat(case: &Case, stacks: &[Option<ServerStack>], times: usize) {
    mqtls::logging::init(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let mut failures = Vec::new();
    for &stack in stacks {
        for run in 0..times {
            if let Err(e) = run_case(case, stack, &pki).await {
                failures.push(format!("{} run {run} [{stack:?}]: {e}", case.name));
            }
        }
    }
    let total = stacks.len() * times;
    assert!(
        failures.is_empty(),
        "{} of {total} runs failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Where a case's server comes from.
#[derive(Clone, Copy)]
enum Server {
    /// A TLS responder, built once per server stack.
    Tls(fn(&Pki, ServerStack) -> TlsServer),
    /// A responder that does not do TLS: the stack does not matter, so it runs once.
    Other(fn() -> Behaviour),
    /// A loopback port that was bound and released: nothing listens there.
    Closed,
    /// A listener with backlog 0 whose accept queue is full, so the kernel drops new SYNs.
    FullBacklog,
    /// No server at all (the host name does not resolve).
    None,
}

/// An extra assertion on a report; returns what is wrong.
type Check = fn(&DiagnoseReport) -> Result<(), String>;

/// One row of the table.
struct Case {
    name: &'static str,
    server: Server,
    host: &'static str,
    cafile: fn(&Pki) -> PathBuf,
    client_cert: bool,
    mqtt: MqttVersion,
    login: Option<(&'static str, &'static str)>,
    timeout: Duration,
    expect: Code,
    /// Bound on the whole `diagnose` call.
    max_elapsed: Option<Duration>,
    /// Further assertions on the report; returns what is wrong.
    check: Option<Check>,
}

impl Case {
    fn new(name: &'static str, server: Server, expect: Code) -> Case {
        Case {
            name,
            server,
            host: "localhost",
            cafile: |p| p.root.cert.clone(),
            client_cert: false,
            mqtt: MqttVersion::V311,
            login: None,
            timeout: TIMEOUT,
            expect,
            max_elapsed: None,
            check: None,
        }
    }
}

fn cases() -> Vec<Case> {
    use Server::{Closed, FullBacklog, Other, Tls};
    vec![
        Case {
            check: Some(check_ok),
            ..Case::new("ok", Tls(good), Code::Ok)
        },
        Case {
            client_cert: true,
            check: Some(check_ok),
            ..Case::new("ok_with_client_cert", Tls(mtls), Code::Ok)
        },
        Case {
            cafile: |p| p.server.cert.clone(),
            ..Case::new("server_cert_as_ca", Tls(good), Code::ServerCertAsCa)
        },
        Case::new(
            "missing_intermediate",
            Tls(|p, s| TlsServer {
                chain_pem: p.server.cert_pem.clone(),
                ..good(p, s)
            }),
            Code::MissingIntermediate,
        ),
        Case {
            cafile: |p| p.other_root.cert.clone(),
            ..Case::new("unknown_ca", Tls(good), Code::UnknownCa)
        },
        Case::new(
            "hostname_mismatch",
            Tls(|p, s| serving(&p.server_wrong_name, s)),
            Code::HostnameMismatch,
        ),
        Case::new(
            "server_cert_expired",
            Tls(|p, s| serving(&p.server_expired, s)),
            Code::ServerCertExpired,
        ),
        Case::new(
            "client_cert_required_tls13",
            Tls(mtls),
            Code::ClientCertRequired,
        ),
        Case::new(
            "mqtt_not_authorized_v311",
            Tls(|p, s| with_mqtt(p, s, MqttBehaviour::Refuse(5))),
            Code::MqttNotAuthorized,
        ),
        Case {
            mqtt: MqttVersion::V5,
            ..Case::new(
                "mqtt_not_authorized_v5",
                Tls(|p, s| with_mqtt(p, s, MqttBehaviour::Refuse(0x87))),
                Code::MqttNotAuthorized,
            )
        },
        Case {
            login: Some(("alice", "wrong")),
            ..Case::new(
                "mqtt_bad_credentials_v311",
                Tls(login),
                Code::MqttBadCredentials,
            )
        },
        Case {
            login: Some(("alice", "wrong")),
            mqtt: MqttVersion::V5,
            ..Case::new(
                "mqtt_bad_credentials_v5",
                Tls(login),
                Code::MqttBadCredentials,
            )
        },
        Case {
            login: Some(("alice", "secret")),
            ..Case::new("ok_with_login", Tls(login), Code::Ok)
        },
        Case {
            timeout: SHORT,
            ..Case::new(
                "mqtt_no_connack_silent",
                Tls(|p, s| with_mqtt(p, s, MqttBehaviour::Silent)),
                Code::MqttNoConnack,
            )
        },
        Case {
            timeout: SHORT,
            ..Case::new(
                "mqtt_no_connack_close_after_connect",
                Tls(|p, s| with_mqtt(p, s, MqttBehaviour::CloseAfterConnect)),
                Code::MqttNoConnack,
            )
        },
        Case {
            timeout: SHORT,
            ..Case::new(
                "mqtt_no_connack_truncated_connack",
                Tls(|p, s| with_mqtt(p, s, MqttBehaviour::Raw(vec![0x20, 0x02, 0x00]))),
                Code::MqttNoConnack,
            )
        },
        Case::new(
            "plaintext_port",
            Other(|| Behaviour::PlainMqtt(MqttBehaviour::Accept)),
            Code::PlaintextPort,
        ),
        Case::new(
            "not_tls",
            Other(|| Behaviour::SendBytes(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())),
            Code::NotTls,
        ),
        Case {
            timeout: SHORT,
            max_elapsed: Some(Duration::from_secs(4)),
            ..Case::new(
                "handshake_timeout",
                Other(|| Behaviour::Silent),
                Code::HandshakeTimeout,
            )
        },
        Case::new(
            "peer_closed_fin",
            Other(|| Behaviour::CloseImmediately),
            Code::PeerClosed,
        ),
        // No catalogue entry covers a fatal alert other than the ones that name a cause
        // (certificate_required, unknown_ca, protocol_version, ...): `unclassified` is the
        // documented answer, with the alert in the evidence.
        Case {
            check: Some(check_internal_error_alert),
            ..Case::new(
                "unclassified_internal_error_alert",
                Other(|| Behaviour::SendBytes(INTERNAL_ERROR_ALERT.to_vec())),
                Code::Unclassified,
            )
        },
        Case::new("connection_refused", Closed, Code::ConnectionRefused),
        Case {
            host: "nonexistent.invalid",
            ..Case::new("dns_failure", Server::None, Code::DnsFailure)
        },
        Case {
            timeout: SHORT,
            max_elapsed: Some(Duration::from_secs(4)),
            ..Case::new("connect_timeout", FullBacklog, Code::ConnectTimeout)
        },
    ]
}

/// The good server: fullchain (leaf + intermediate), no client authentication, MQTT accepts.
fn good(pki: &Pki, stack: ServerStack) -> TlsServer {
    serving(&pki.server, stack)
}

fn serving(cert: &pki::CertFiles, stack: ServerStack) -> TlsServer {
    TlsServer {
        stack,
        chain_pem: cert.chain_pem().to_vec(),
        key_pem: cert.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }
}

fn mtls(pki: &Pki, stack: ServerStack) -> TlsServer {
    TlsServer {
        client_auth: ClientAuth::Required {
            ca_pem: pki.root.cert_pem.clone(),
        },
        ..good(pki, stack)
    }
}

fn login(pki: &Pki, stack: ServerStack) -> TlsServer {
    with_mqtt(
        pki,
        stack,
        MqttBehaviour::RequireLogin {
            username: "alice".into(),
            password: "secret".into(),
        },
    )
}

fn with_mqtt(pki: &Pki, stack: ServerStack, mqtt: MqttBehaviour) -> TlsServer {
    TlsServer {
        mqtt,
        ..good(pki, stack)
    }
}

fn check_ok(report: &DiagnoseReport) -> Result<(), String> {
    for b in &report.backends {
        if b.outcome != Outcome::Ok || b.phase != Phase::Done {
            return Err(format!(
                "{}: outcome {:?} phase {:?}",
                b.backend, b.outcome, b.phase
            ));
        }
        if b.tls.version.as_deref() != Some("TLSv1.3") {
            return Err(format!("{}: TLS version {:?}", b.backend, b.tls.version));
        }
        match &b.connack {
            Some(ack) if ack.code == 0 => {}
            other => return Err(format!("{}: CONNACK {other:?}", b.backend)),
        }
        if b.peer_chain.len() != 2 {
            return Err(format!(
                "{}: peer chain of {}",
                b.backend,
                b.peer_chain.len()
            ));
        }
    }
    Ok(())
}

fn check_internal_error_alert(report: &DiagnoseReport) -> Result<(), String> {
    for b in &report.backends {
        let got = b.alerts.received.as_ref().map(|a| a.code);
        if got != Some(80) {
            return Err(format!("{}: alert received {got:?}, want 80", b.backend));
        }
    }
    Ok(())
}

/// Runs the cases of one server stack (`Some`) or the stack-independent ones (`None`), and
/// fails once at the end with every mismatch.
async fn run_table(stack: Option<ServerStack>) {
    mqtls::logging::init(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases() {
        let runs_here = match (case.server, stack) {
            (Server::Tls(_), Some(_)) => true,
            (Server::Tls(_), None) | (_, Some(_)) => false,
            (_, None) => true,
        };
        if !runs_here {
            continue;
        }
        ran += 1;
        let label = match stack {
            Some(s) => format!("{} [{s:?} server]", case.name),
            None => case.name.to_string(),
        };
        let started = Instant::now();
        if let Err(e) = run_case(&case, stack, &pki).await {
            failures.push(format!("{label}: {e}"));
        }
        // Shown with --nocapture: where the file's time goes.
        eprintln!("{label}: {:?}", started.elapsed());
    }
    assert!(ran > 0, "the table has cases for {stack:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Whatever must stay alive while the probe runs.
#[expect(dead_code, reason = "the fields are held only for their Drop")]
enum Guard {
    Responder(Responder),
    Backlog(Socket, Vec<TcpStream>),
    Nothing,
}

async fn run_case(case: &Case, stack: Option<ServerStack>, pki: &Pki) -> Result<(), String> {
    let (port, _guard) = match case.server {
        Server::Tls(make) => {
            let stack = stack.expect("TLS cases run per stack");
            let r = Responder::start(Behaviour::Tls(make(pki, stack)))
                .await
                .map_err(|e| format!("responder: {e}"))?;
            (r.port(), Guard::Responder(r))
        }
        Server::Other(make) => {
            let r = Responder::start(make())
                .await
                .map_err(|e| format!("responder: {e}"))?;
            (r.port(), Guard::Responder(r))
        }
        Server::Closed => {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            (l.local_addr().expect("addr").port(), Guard::Nothing)
        }
        Server::FullBacklog => {
            let (socket, held) = full_backlog();
            let port = socket
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .expect("addr")
                .port();
            (port, Guard::Backlog(socket, held))
        }
        Server::None => (8883, Guard::Nothing),
    };
    let paths = InputPaths {
        cafiles: vec![(case.cafile)(pki)],
        cert: case
            .client_cert
            .then(|| pki.client.chain_path().to_path_buf()),
        key: case.client_cert.then(|| pki.client.key.clone()),
        key_password: None,
        untrusted: Vec::new(),
        offline: false,
        psk: None,
    };
    let loaded = inputs::load(&paths).map_err(|e| format!("inputs: {e}"))?;
    let request = ProbeRequest {
        target: Target::parse(&format!("{}:{port}", case.host)).expect("target"),
        sni: Some(case.host.to_string()),
        expect_name: case.host.to_string(),
        tls_versions: Vec::<TlsVersion>::new(),
        alpn: Vec::new(),
        mqtt: ConnectSettings {
            version: case.mqtt,
            client_id: "mqtls-inprocess".into(),
            username: case.login.map(|(u, _)| u.to_string()),
            password: case.login.map(|(_, p)| p.to_string()),
        },
        timeout: case.timeout,
        verify_at: None,
    };
    let started = Instant::now();
    let report = mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await;
    let elapsed = started.elapsed();
    check_codes(&report, case.expect)?;
    if let Some(max) = case.max_elapsed
        && elapsed >= max
    {
        return Err(format!("took {elapsed:?}, more than {max:?}"));
    }
    if let Some(check) = case.check {
        check(&report).map_err(|e| format!("{e}\n{}", describe(&report)))?;
    }
    Ok(())
}

/// Both backends, in order, with the expected code and a consistent outcome.
fn check_codes(report: &DiagnoseReport, expect: Code) -> Result<(), String> {
    let order: Vec<Backend> = report.backends.iter().map(|b| b.backend).collect();
    let codes: Vec<Code> = report.backends.iter().map(|b| b.diagnosis.code).collect();
    let outcome = if expect == Code::Ok {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    let consistent = report.backends.iter().all(|b| b.outcome == outcome);
    if order != Backend::ALL || codes != [expect, expect] || !consistent || !report.agreement {
        return Err(format!("expected {expect} on both\n{}", describe(report)));
    }
    Ok(())
}

/// One line per backend with what a failure message needs.
fn describe(report: &DiagnoseReport) -> String {
    report
        .backends
        .iter()
        .map(|b| {
            format!(
                "  {}: code={} outcome={:?} phase={:?} tls={:?} alert={:?} raw_error={:?}",
                b.backend,
                b.diagnosis.code,
                b.outcome,
                b.phase,
                b.tls.version,
                b.alerts.received,
                b.raw_error
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A listener with backlog 0 and its accept queue filled by connections nobody accepts:
/// Linux then drops further SYNs, so a connect neither succeeds nor is refused.
fn full_backlog() -> (Socket, Vec<TcpStream>) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    socket.bind(&addr.into()).expect("bind");
    socket.listen(0).expect("listen");
    let addr = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .expect("addr");
    let mut held = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (socket, held),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    panic!(
        "the kernel accepted {} connections on a backlog-0 listener without dropping a SYN",
        held.len()
    );
}

/// `verify_at` moves both backends' verification clock and the verdicts' clock: the lab's good
/// chain (valid 2024 to 4096) is accepted at 2030 and refused as expired after 4096, on both
/// server stacks, and the report says which instant it judged at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_at_moves_the_verification_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let loaded = inputs::load(&InputPaths {
        cafiles: vec![pki.root.cert.clone()],
        offline: true,
        psk: None,
        ..InputPaths::default()
    })
    .expect("inputs");
    // 2030-01-01 and 4097-01-01.
    let cases = [
        (1_893_456_000, Code::Ok, "2030-01-01T00:00:00Z"),
        (
            67_121_740_800,
            Code::ServerCertExpired,
            "4097-01-01T00:00:00Z",
        ),
    ];
    for stack in [ServerStack::Openssl, ServerStack::Rustls] {
        let broker = Responder::start(Behaviour::Tls(good(&pki, stack)))
            .await
            .expect("responder");
        for (at, expect, shown) in cases {
            let request = ProbeRequest {
                target: Target::parse(&format!("localhost:{}", broker.port())).expect("target"),
                sni: Some("localhost".into()),
                expect_name: "localhost".into(),
                tls_versions: Vec::new(),
                alpn: Vec::new(),
                mqtt: ConnectSettings {
                    version: MqttVersion::V311,
                    client_id: "mqtls-clock".into(),
                    username: None,
                    password: None,
                },
                timeout: TIMEOUT,
                verify_at: Some(at),
            };
            let report = mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await;
            let label = format!("{stack:?} server at {shown}");
            check_codes(&report, expect).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(report.meta.checked_at, shown, "{label}");
        }
    }
}

/// Issue 13: brokers that hang up without an alert, and ports that speak the other protocol.
/// Every row of the issue's table, against the responder on both server stacks, diagnosed by
/// both client backends.
mod silent_brokers {
    use super::*;
    use mqtls::lab::{CertCheck, Hangup, TlsOptions};
    use mqtls::report::BackendReport;

    /// The fatal decode_error alert record an Erlang TLS listener answers a plain CONNECT with.
    const DECODE_ERROR_ALERT: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32];

    #[derive(Clone, Copy)]
    enum Identity {
        None,
        Good,
        UnknownCa,
    }

    struct Row {
        name: &'static str,
        server: fn(&Pki, ServerStack) -> (TlsServer, TlsOptions),
        identity: Identity,
        pinned: Vec<TlsVersion>,
        login: Option<(&'static str, &'static str)>,
        plain: bool,
        expect: Code,
        check: fn(&BackendReport) -> Result<(), String>,
    }

    fn row(
        name: &'static str,
        server: fn(&Pki, ServerStack) -> (TlsServer, TlsOptions),
        expect: Code,
    ) -> Row {
        Row {
            name,
            server,
            identity: Identity::None,
            pinned: Vec::new(),
            login: None,
            plain: false,
            expect,
            check: |_| Ok(()),
        }
    }

    fn requested_with_names(b: &BackendReport) -> Result<(), String> {
        if b.client_cert_requested != Some(true) {
            return Err(format!(
                "client_cert_requested {:?}",
                b.client_cert_requested
            ));
        }
        if !b.client_cert_ca_names.iter().any(|n| n.contains("Root")) {
            return Err(format!("CA names {:?}", b.client_cert_ca_names));
        }
        let facts = b.diagnosis.facts.join(" | ");
        if !facts.contains("asks for certificates issued by") || !facts.contains("gave no reason") {
            return Err(format!("facts: {facts}"));
        }
        if b.diagnosis.confidence != mqtls::classify::Confidence::Likely {
            return Err("not likely".into());
        }
        Ok(())
    }

    fn mtls_with(pki: &Pki, stack: ServerStack, version: ServerVersion) -> TlsServer {
        TlsServer {
            versions: vec![version],
            ..mtls(pki, stack)
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                check: requested_with_names,
                ..row(
                    "tls13_required_none_sent_silent_close_after_handshake",
                    |p, s| {
                        (
                            mtls_with(p, s, ServerVersion::Tls13),
                            TlsOptions {
                                hangup: Hangup::Close,
                                client_cert_check: CertCheck::AfterHandshake,
                                ..TlsOptions::default()
                            },
                        )
                    },
                    Code::ClientCertRequired,
                )
            },
            Row {
                identity: Identity::UnknownCa,
                check: |b| {
                    requested_with_names(b)?;
                    let facts = b.diagnosis.facts.join(" | ");
                    if !facts.contains("client certificate sent") {
                        return Err(format!("facts: {facts}"));
                    }
                    Ok(())
                },
                ..row(
                    "tls13_unknown_ca_silent_close_after_handshake",
                    |p, s| {
                        (
                            mtls_with(p, s, ServerVersion::Tls13),
                            TlsOptions {
                                hangup: Hangup::Close,
                                client_cert_check: CertCheck::AfterHandshake,
                                ..TlsOptions::default()
                            },
                        )
                    },
                    Code::ClientCertUnknownCa,
                )
            },
            Row {
                identity: Identity::UnknownCa,
                check: requested_with_names,
                ..row(
                    "tls12_unknown_ca_reset_during_handshake",
                    |p, s| {
                        (
                            mtls_with(p, s, ServerVersion::Tls12),
                            TlsOptions {
                                hangup: Hangup::Reset,
                                ..TlsOptions::default()
                            },
                        )
                    },
                    Code::ClientCertUnknownCa,
                )
            },
            Row {
                pinned: vec![TlsVersion::Tls13],
                check: |b| {
                    let text = b.diagnosis.facts.join(" | ") + &b.diagnosis.remedies.join(" | ");
                    if !text.contains("restricted with `--tls-version`")
                        || !text.contains("a minimum in mosquitto 2.x")
                    {
                        return Err(text);
                    }
                    Ok(())
                },
                ..row(
                    "pinned_version_refused_without_alert",
                    |p, s| {
                        (
                            TlsServer {
                                versions: vec![ServerVersion::Tls12],
                                ..good(p, s)
                            },
                            TlsOptions {
                                hangup: Hangup::Close,
                                ..TlsOptions::default()
                            },
                        )
                    },
                    Code::TlsVersionMismatch,
                )
            },
            Row {
                plain: true,
                check: |b| {
                    if b.diagnosis.summary.contains("TLS succeeded") {
                        return Err(b.diagnosis.summary.clone());
                    }
                    let facts = b.diagnosis.facts.join(" | ");
                    if !facts.contains("15030300020232") || !facts.contains("completed") {
                        return Err(facts);
                    }
                    Ok(())
                },
                ..row(
                    "plain_connect_answered_with_a_tls_alert_record",
                    |p, s| {
                        (
                            good(p, s),
                            TlsOptions {
                                plain_reply: Some(DECODE_ERROR_ALERT.to_vec()),
                                ..TlsOptions::default()
                            },
                        )
                    },
                    Code::TlsPortPlainClient,
                )
            },
            Row {
                plain: true,
                ..row(
                    "plain_connect_to_a_tls_port",
                    |p, s| (good(p, s), TlsOptions::default()),
                    Code::TlsPortPlainClient,
                )
            },
            Row {
                login: Some(("alice", "wrong")),
                check: |b| match b.diagnosis.remedies.first() {
                    Some(r) if r.starts_with("Credentials first") => Ok(()),
                    other => Err(format!("first remedy {other:?}")),
                },
                ..row(
                    "wrong_password_dropped_without_connack",
                    |p, s| {
                        (
                            with_mqtt(
                                p,
                                s,
                                MqttBehaviour::CloseOnBadLogin {
                                    username: "alice".into(),
                                    password: "secret".into(),
                                },
                            ),
                            TlsOptions::default(),
                        )
                    },
                    Code::MqttNoConnack,
                )
            },
            Row {
                identity: Identity::Good,
                check: |b| {
                    let text = format!("{:?}", b.diagnosis);
                    if !text.contains("client certificate sent and accepted at the TLS layer")
                        || !text.contains("map certificates to users")
                        || b.diagnosis.summary.contains("no user name was sent")
                    {
                        return Err(text);
                    }
                    if b.client_cert_requested != Some(true) || !b.client_cert_sent {
                        return Err("certificate not requested or not sent".into());
                    }
                    Ok(())
                },
                ..row(
                    "certificate_requested_unenforced_then_connack_5",
                    |p, s| {
                        (
                            TlsServer {
                                client_auth: ClientAuth::Optional {
                                    ca_pem: p.root.cert_pem.clone(),
                                },
                                mqtt: MqttBehaviour::Refuse(5),
                                ..good(p, s)
                            },
                            TlsOptions {
                                client_cert_check: CertCheck::Never,
                                ..TlsOptions::default()
                            },
                        )
                    },
                    Code::MqttNotAuthorized,
                )
            },
            // Chain completion off: the leaf alone; on: completed from the CA certificates.
            row(
                "leaf_only_without_chain_completion",
                |p, s| {
                    (
                        TlsServer {
                            chain_pem: p.server.cert_pem.clone(),
                            ..good(p, s)
                        },
                        TlsOptions::default(),
                    )
                },
                Code::MissingIntermediate,
            ),
            row(
                "leaf_only_with_chain_completion",
                |p, s| {
                    (
                        TlsServer {
                            chain_pem: p.server.cert_pem.clone(),
                            ..good(p, s)
                        },
                        TlsOptions {
                            complete_chain_from: Some(
                                [p.intermediate.cert_pem.clone(), p.root.cert_pem.clone()].concat(),
                            ),
                            ..TlsOptions::default()
                        },
                    )
                },
                Code::Ok,
            ),
        ]
    }

    async fn run_row(row: &Row, stack: ServerStack, pki: &Pki) -> Result<(), String> {
        let (server, options) = (row.server)(pki, stack);
        let responder = Responder::start(Behaviour::TlsWith(server, options))
            .await
            .map_err(|e| format!("responder: {e}"))?;
        let identity = match row.identity {
            Identity::None => None,
            Identity::Good => Some(&pki.client),
            Identity::UnknownCa => Some(&pki.other_client),
        };
        let paths = InputPaths {
            cafiles: vec![pki.root.cert.clone()],
            cert: identity.map(|c| c.chain_path().to_path_buf()),
            key: identity.map(|c| c.key.clone()),
            key_password: None,
            untrusted: Vec::new(),
            offline: true,
            psk: None,
        };
        let loaded = inputs::load(&paths).map_err(|e| format!("inputs: {e}"))?;
        let scheme = if row.plain { "mqtt" } else { "mqtts" };
        let request = ProbeRequest {
            target: Target::parse(&format!("{scheme}://localhost:{}", responder.port()))
                .map_err(|e| e.to_string())?,
            sni: Some("localhost".into()),
            expect_name: "localhost".into(),
            tls_versions: row.pinned.clone(),
            alpn: Vec::new(),
            mqtt: ConnectSettings {
                version: MqttVersion::V311,
                client_id: "mqtls-silent".into(),
                username: row.login.map(|(u, _)| u.to_string()),
                password: row.login.map(|(_, p)| p.to_string()),
            },
            timeout: TIMEOUT,
            verify_at: None,
        };
        let report = mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await;
        let codes: Vec<Code> = report.backends.iter().map(|b| b.diagnosis.code).collect();
        if codes != [row.expect, row.expect] {
            return Err(format!(
                "expected {} on both\n{}",
                row.expect,
                describe(&report)
            ));
        }
        for b in &report.backends {
            (row.check)(b).map_err(|e| format!("{}: {e}\n{}", b.backend, describe(&report)))?;
        }
        Ok(())
    }

    async fn run_rows(stack: ServerStack) {
        mqtls::logging::init(0);
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = pki::generate(dir.path()).expect("pki");
        let mut failures = Vec::new();
        for row in rows() {
            let started = Instant::now();
            if let Err(e) = run_row(&row, stack, &pki).await {
                failures.push(format!("{} [{stack:?} server]: {e}", row.name));
            }
            eprintln!("{} [{stack:?}]: {:?}", row.name, started.elapsed());
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issue13_rows_on_an_openssl_server() {
        run_rows(ServerStack::Openssl).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issue13_rows_on_a_rustls_server() {
        run_rows(ServerStack::Rustls).await;
    }
}
