//! Hostile and broken peers: whatever the server does, `diagnose` ends in bounded time with a
//! catalogue code on both backends, never a hang or a crash. Each peer is a raw loopback
//! listener written here, so the test controls every byte.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::Backend;
use mqtls::inputs::{InputPaths, load};
use mqtls::probe::ProbeRequest;
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion};
use mqtls::target::Target;

/// The per-phase deadline of these probes.
const TIMEOUT: Duration = Duration::from_millis(800);

/// What the peer does with each accepted connection.
#[derive(Clone, Copy)]
enum Peer {
    /// Reads what comes and never answers.
    Silent,
    /// Answers with random-looking bytes.
    Garbage,
    /// Sends a TLS record header announcing 255 bytes, then stalls.
    HeaderThenStall,
    /// Trickles a TLS-looking header one byte every 300 ms (slowloris).
    Trickle,
    /// Announces a record of 65,535 bytes (over the 16 KiB + 2 KiB TLS limit) and sends junk.
    AbsurdLength,
    /// Sends a TLS alert record that is not a valid answer to a ClientHello (then closes).
    StrayAlert,
}

async fn serve(peer: Peer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream, peer));
        }
    });
    addr
}

async fn handle(mut s: TcpStream, peer: Peer) {
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await;
    match peer {
        Peer::Silent => {
            // Swallow everything until the client gives up; never answer.
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
            })
            .await;
        }
        Peer::Garbage => {
            // Deterministic pseudo-random bytes that start outside 0x14..=0x18 (no TLS type).
            let mut x: u32 = 0x9e37_79b9;
            let bytes: Vec<u8> = (0..512)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x >> 24) as u8
                })
                .collect();
            let mut bytes = bytes;
            bytes[0] = 0x7f;
            let _ = s.write_all(&bytes).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        }
        Peer::HeaderThenStall => {
            let _ = s.write_all(&[0x16, 0x03, 0x03, 0x00, 0xff]).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        }
        Peer::Trickle => {
            for b in [
                0x16u8, 0x03, 0x03, 0x00, 0x40, 0x02, 0x00, 0x00, 0x3c, 0x03, 0x03,
            ] {
                if s.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        Peer::AbsurdLength => {
            let mut bytes = vec![0x16, 0x03, 0x03, 0xff, 0xff];
            bytes.extend(std::iter::repeat_n(0x41, 4096));
            let _ = s.write_all(&bytes).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        }
        Peer::StrayAlert => {
            // A fatal internal_error alert in a TLS 1.2 record.
            let _ = s
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50])
                .await;
        }
    }
}

async fn diagnose(addr: SocketAddr) -> (mqtls::report::DiagnoseReport, Duration) {
    diagnose_with(addr, InputPaths::default()).await
}

async fn diagnose_with(
    addr: SocketAddr,
    paths: InputPaths,
) -> (mqtls::report::DiagnoseReport, Duration) {
    mqtls::logging::init(0);
    let loaded = load(&paths).expect("readable files");
    let request = ProbeRequest {
        target: Target::parse(&addr.to_string()).expect("target"),
        sni: Some("localhost".into()),
        expect_name: "localhost".into(),
        tls_versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: ConnectSettings {
            version: MqttVersion::V311,
            client_id: "mqtls-hostile".into(),
            username: None,
            password: None,
        },
        timeout: TIMEOUT,
        verify_at: None,
    };
    let started = Instant::now();
    let report = mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await;
    (report, started.elapsed())
}

/// Runs `peer` and checks both backends get one of `codes`, within `bound` timeouts.
async fn expect(peer: Peer, codes: &[Code], bound: u32) -> Vec<Code> {
    let addr = serve(peer).await;
    let (report, took) = diagnose(addr).await;
    check(&report, took, codes, bound)
}

fn check(
    report: &mqtls::report::DiagnoseReport,
    took: Duration,
    codes: &[Code],
    bound: u32,
) -> Vec<Code> {
    assert_eq!(report.backends.len(), 2, "both backends ran");
    // The closing note quotes the longest of these.
    eprintln!(
        "hostile peer: {took:?} for {:?}",
        report
            .backends
            .iter()
            .map(|b| (b.diagnosis.code, &b.diagnosis.facts))
            .collect::<Vec<_>>()
    );
    let got: Vec<Code> = report.backends.iter().map(|b| b.diagnosis.code).collect();
    for b in &report.backends {
        assert!(
            codes.contains(&b.diagnosis.code),
            "{} got {} ({:?}), expected one of {codes:?}",
            b.backend,
            b.diagnosis.code,
            b.raw_error
        );
    }
    assert!(
        took <= TIMEOUT * bound,
        "took {took:?}, more than {bound} timeouts of {TIMEOUT:?}"
    );
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_a_handshake_timeout() {
    // Handshake deadline, then the plain CONNECT follow-up's deadline.
    expect(Peer::Silent, &[Code::HandshakeTimeout], 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_not_tls() {
    expect(Peer::Garbage, &[Code::NotTls], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_then_silence_is_a_handshake_timeout() {
    expect(Peer::HeaderThenStall, &[Code::HandshakeTimeout], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_peer_is_cut_at_the_deadline() {
    expect(Peer::Trickle, &[Code::HandshakeTimeout], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_record_length_is_not_tls() {
    expect(Peer::AbsurdLength, &[Code::NotTls], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_alert_is_reported_with_its_alert() {
    let addr = serve(Peer::StrayAlert).await;
    let (report, took) = diagnose(addr).await;
    assert!(took <= TIMEOUT * 2, "took {took:?}");
    for b in &report.backends {
        let alert = b.alerts.received.as_ref().map(|a| a.code);
        assert_eq!(alert, Some(80), "{}: {:?}", b.backend, b.raw_error);
        assert_eq!(b.diagnosis.code, Code::Unclassified, "{}", b.backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_certificate_chain_ends_quickly_and_says_why() {
    use mqtls::lab::{Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer};
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    // The leaf, then its intermediate 3,000 times: about 1.5 MB of chain.
    let mut chain = pki.server.cert_pem.clone();
    for _ in 0..3000 {
        chain.extend_from_slice(&pki.intermediate.cert_pem);
    }
    assert!(chain.len() > 1_000_000);
    let responder = Responder::start(Behaviour::Tls(TlsServer {
        stack: ServerStack::Openssl,
        chain_pem: chain,
        key_pem: pki.server.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }))
    .await
    .expect("responder");
    let (report, took) = diagnose(responder.addr()).await;
    assert!(took <= TIMEOUT * 2, "took {took:?}");
    // No catalogue code names an oversized chain: it is the explicit fallback, saying what
    // happened, with each stack's own words (rustls: HandshakePayloadTooLarge; OpenSSL:
    // excessive message size).
    check(&report, took, &[Code::Unclassified], 2);
    for b in &report.backends {
        assert_eq!(b.outcome, mqtls::report::Outcome::Failed, "{}", b.backend);
        assert!(
            b.diagnosis
                .summary
                .contains("larger than this TLS stack accepts"),
            "{}: {}",
            b.backend,
            b.diagnosis.summary
        );
        let raw = b.raw_error.clone().unwrap_or_default();
        assert!(
            raw.contains("TooLarge") || raw.contains("excessive message size"),
            "{}: {raw}",
            b.backend
        );
    }
}

/// A responder that does `behaviour`; the tests below drive the peers that need a real TLS
/// handshake (the MQTT ones) or exact socket behaviour (RST) through it.
async fn responder(behaviour: mqtls::lab::Behaviour) -> mqtls::lab::Responder {
    mqtls::lab::Responder::start(behaviour)
        .await
        .expect("responder")
}

/// Runs `behaviour` without any CA file: enough for peers that never finish a handshake.
async fn expect_behaviour(behaviour: mqtls::lab::Behaviour, codes: &[Code], bound: u32) {
    let server = responder(behaviour).await;
    let (report, took) = diagnose(server.addr()).await;
    check(&report, took, codes, bound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_closes_at_once_is_peer_closed() {
    expect_behaviour(
        mqtls::lab::Behaviour::CloseImmediately,
        &[Code::PeerClosed],
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_is_peer_closed() {
    expect_behaviour(mqtls::lab::Behaviour::Reset, &[Code::PeerClosed], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_banner_is_not_tls_and_named() {
    let server = responder(mqtls::lab::Behaviour::SendBytes(
        b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n".to_vec(),
    ))
    .await;
    let (report, took) = diagnose(server.addr()).await;
    check(&report, took, &[Code::NotTls], 2);
    for b in &report.backends {
        let said = format!("{} {:?}", b.diagnosis.summary, b.diagnosis.facts);
        assert!(said.contains("an HTTP server"), "{}: {said}", b.backend);
    }
}

/// A TLS server that completes the handshake with the test PKI, then answers CONNECT with
/// `mqtt`; each backend is probed with the PKI's root as CA file. Returns each backend's facts,
/// joined, for each server stack.
async fn expect_mqtt(mqtt: mqtls::lab::MqttBehaviour, codes: &[Code], bound: u32) -> Vec<String> {
    let mut said = Vec::new();
    use mqtls::lab::{Behaviour, ClientAuth, ServerStack, TlsServer};
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = mqtls::pki::generate(dir.path()).expect("pki");
    for stack in [ServerStack::Openssl, ServerStack::Rustls] {
        let server = responder(Behaviour::Tls(TlsServer {
            stack,
            chain_pem: pki.server.chain_pem().to_vec(),
            key_pem: pki.server.key_pem.clone(),
            client_auth: ClientAuth::None,
            versions: Vec::new(),
            alpn: Vec::new(),
            mqtt: mqtt.clone(),
        }))
        .await;
        let paths = InputPaths {
            cafiles: vec![pki.root.cert.clone()],
            ..InputPaths::default()
        };
        let (report, took) = diagnose_with(server.addr(), paths).await;
        for b in &report.backends {
            assert_eq!(b.outcome, mqtls::report::Outcome::Failed, "{}", b.backend);
            assert_eq!(b.phase, mqtls::evidence::Phase::Mqtt, "{}", b.backend);
            said.push(b.diagnosis.facts.join(" | "));
        }
        check(&report, took, codes, bound);
    }
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_connack_is_no_connack_and_shows_what_came() {
    // The fixed header promises two bytes; one comes.
    let facts = expect_mqtt(
        mqtls::lab::MqttBehaviour::Raw(vec![0x20, 0x02, 0x00]),
        &[Code::MqttNoConnack],
        2,
    )
    .await;
    for said in facts {
        assert!(
            said.contains("3 byte(s) of a packet arrived (20 02 00), then nothing"),
            "{said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connack_with_an_absurd_length_is_no_connack() {
    // A remaining length that never ends (five continuation bytes): malformed framing.
    expect_mqtt(
        mqtls::lab::MqttBehaviour::Raw(vec![0x20, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        &[Code::MqttNoConnack],
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_packet_type_instead_of_connack_is_no_connack() {
    // A PINGRESP where the CONNACK should be.
    expect_mqtt(
        mqtls::lab::MqttBehaviour::Raw(vec![0xd0, 0x00]),
        &[Code::MqttNoConnack],
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connack_that_closes_after_connect_is_no_connack() {
    expect_mqtt(
        mqtls::lab::MqttBehaviour::CloseAfterConnect,
        &[Code::MqttNoConnack],
        2,
    )
    .await;
}

/// A whole `run` ends even when every target stalls, and `--jobs 1000` under a soft limit of
/// 200 descriptors is clamped (and says so) instead of failing cases with EMFILE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_stalling_peers_ends_within_the_descriptor_limit() {
    let addr = serve(Peer::Silent).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = 100;
    let mut yaml = format!(
        "defaults:\n  target: {addr}\n  timeout: 0.3\n  expect: handshake_timeout\ncases:\n"
    );
    for i in 0..cases {
        yaml.push_str(&format!("  - name: stall-{i}\n"));
    }
    let suite = dir.path().join("stall.yaml");
    std::fs::write(&suite, yaml).expect("write suite");
    let json = dir.path().join("run.json");
    let bin = assert_cmd::cargo::cargo_bin("mqtls");
    let script = format!(
        "ulimit -n 200 && exec {} run {} --jobs 1000 --json {}",
        bin.display(),
        suite.display(),
        json.display()
    );
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-c", &script])
            .output()
            .expect("bash")
    })
    .await
    .expect("join");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "note: --jobs 1000 needs about 4064 file descriptors but RLIMIT_NOFILE allows 200; running 34 jobs at once"
        ),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("json");
    let results = report["results"].as_array().expect("results");
    let missed: Vec<String> = results
        .iter()
        .filter(|r| r["pass"] != true)
        .map(|r| r.to_string())
        .take(2)
        .collect();
    assert_eq!(output.status.code(), Some(0), "{missed:?}");
    assert_eq!(results.len(), cases);
    // 100 cases, 34 at a time, each about two 0.3 s deadlines: about 2 s; never a hang.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    eprintln!("hostile run: {cases} stalling cases in {took:?}");
}
