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
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
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
    mqtls::logging::init(0);
    let loaded = load(&InputPaths::default()).expect("no files to read");
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
    };
    let started = Instant::now();
    let report = mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await;
    (report, started.elapsed())
}

/// Runs `peer` and checks both backends get one of `codes`, within `bound` timeouts.
async fn expect(peer: Peer, codes: &[Code], bound: u32) -> Vec<Code> {
    let addr = serve(peer).await;
    let (report, took) = diagnose(addr).await;
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
    // No catalogue code names an oversized chain yet: it is the explicit fallback, with each
    // stack's own words (rustls: HandshakePayloadTooLarge; OpenSSL: excessive message size).
    for b in &report.backends {
        assert_eq!(b.outcome, mqtls::report::Outcome::Failed, "{}", b.backend);
        assert_eq!(b.diagnosis.code, Code::Unclassified, "{}", b.backend);
        let raw = b.raw_error.clone().unwrap_or_default();
        assert!(
            raw.contains("TooLarge") || raw.contains("excessive message size"),
            "{}: {raw}",
            b.backend
        );
    }
}
