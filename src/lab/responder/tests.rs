//! Tests of `lab::responder`.

use std::time::Duration;

use openssl::ssl::{SslConnector, SslFiletype};
use rustls::pki_types::ServerName;
use tokio::time::timeout;

use super::*;
use crate::lab::wire::{LEVEL_3_1_1, LEVEL_5, connect_packet};
use crate::pki::{self, Pki};

const STACKS: [ServerStack; 2] = [ServerStack::Openssl, ServerStack::Rustls];
const WAIT: Duration = Duration::from_secs(5);

fn lab_pki() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    (dir, pki)
}

fn tls(pki: &Pki, stack: ServerStack, mqtt: MqttBehaviour) -> TlsServer {
    TlsServer {
        stack,
        chain_pem: pki.server.chain_pem().to_vec(),
        key_pem: pki.server.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt,
    }
}

/// Client-side knobs shared by both client stacks.
#[derive(Default)]
struct ClientOpts<'a> {
    identity: Option<&'a pki::CertFiles>,
    tls12_only: bool,
    alpn: Option<&'a [u8]>,
}

type Stream = Box<dyn AsyncStream>;
trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

#[derive(Debug, Clone, Copy)]
enum ClientStack {
    Rustls,
    Openssl,
}
const CLIENTS: [ClientStack; 2] = [ClientStack::Rustls, ClientStack::Openssl];

async fn client(
    which: ClientStack,
    addr: SocketAddr,
    pki: &Pki,
    opts: &ClientOpts<'_>,
) -> io::Result<Stream> {
    let tcp = TcpStream::connect(addr).await?;
    match which {
        ClientStack::Rustls => rustls_client(tcp, pki, opts).await,
        ClientStack::Openssl => openssl_client(tcp, pki, opts).await,
    }
}

async fn rustls_client(tcp: TcpStream, pki: &Pki, opts: &ClientOpts<'_>) -> io::Result<Stream> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if opts.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&pki.root.cert_pem).expect("root"))
        .expect("add root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match opts.identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let chain = CertificateDer::pem_slice_iter(id.chain_pem())
                .collect::<Result<Vec<_>, _>>()
                .expect("chain");
            let key = PrivateKeyDer::from_pem_slice(&id.key_pem).expect("key");
            builder.with_client_auth_cert(chain, key).expect("identity")
        }
    };
    config.alpn_protocols = opts.alpn.map(|p| vec![p.to_vec()]).unwrap_or_default();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from("localhost").expect("name");
    Ok(Box::new(connector.connect(name, tcp).await?))
}

async fn openssl_client(tcp: TcpStream, pki: &Pki, opts: &ClientOpts<'_>) -> io::Result<Stream> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("builder");
    b.cert_store_mut()
        .add_cert(X509::from_pem(&pki.root.cert_pem).expect("root"))
        .expect("add root");
    if opts.tls12_only {
        b.set_max_proto_version(Some(SslVersion::TLS1_2))
            .expect("max");
    }
    if let Some(id) = opts.identity {
        b.set_certificate_chain_file(id.chain_path())
            .expect("chain");
        b.set_private_key_file(&id.key, SslFiletype::PEM)
            .expect("key");
    }
    if let Some(p) = opts.alpn {
        let mut wire = vec![u8::try_from(p.len()).expect("short")];
        wire.extend_from_slice(p);
        b.set_alpn_protos(&wire).expect("alpn");
    }
    let ssl = b
        .build()
        .configure()
        .expect("configure")
        .into_ssl("localhost")
        .expect("ssl");
    let mut s = tokio_openssl::SslStream::new(ssl, tcp).expect("stream");
    Pin::new(&mut s).connect().await.map_err(io::Error::other)?;
    Ok(Box::new(s))
}

/// Send `connect` and return the answer packet as raw bytes.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    connect: &[u8],
) -> io::Result<Vec<u8>> {
    s.write_all(connect).await?;
    s.flush().await?;
    let packet = timeout(WAIT, wire::read_packet(s, 64))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer"))??;
    packet
        .map(|p| p.to_bytes())
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "closed"))
}

fn v311() -> Vec<u8> {
    connect_packet(LEVEL_3_1_1, "t", None)
}

fn v5() -> Vec<u8> {
    connect_packet(LEVEL_5, "t", None)
}

#[tokio::test]
async fn every_stack_pair_gets_a_connack_over_tls() {
    let (_dir, pki) = lab_pki();
    for stack in STACKS {
        let r = Responder::start(Behaviour::Tls(tls(&pki, stack, MqttBehaviour::Accept)))
            .await
            .expect("start");
        for which in CLIENTS {
            let mut s = client(which, r.addr(), &pki, &ClientOpts::default())
                .await
                .unwrap_or_else(|e| panic!("{stack:?} server, {which:?} client: {e}"));
            let answer = exchange(&mut s, &v311()).await.expect("connack");
            assert_eq!(answer, [0x20, 0x02, 0x00, 0x00], "{stack:?}/{which:?}");
            let answer = exchange(&mut s, &[0xc0, 0x00]).await.expect("pingresp");
            assert_eq!(answer, [0xd0, 0x00], "{stack:?}/{which:?}");
        }
    }
}

#[tokio::test]
async fn refuse_answers_in_the_protocol_version_of_the_connect() {
    let (_dir, pki) = lab_pki();
    for stack in STACKS {
        let refuse = |code| Behaviour::Tls(tls(&pki, stack, MqttBehaviour::Refuse(code)));
        let r = Responder::start(refuse(5)).await.expect("start");
        let mut s = client(ClientStack::Rustls, r.addr(), &pki, &ClientOpts::default())
            .await
            .expect("tls");
        assert_eq!(
            exchange(&mut s, &v311()).await.expect("v3"),
            [0x20, 2, 0, 5]
        );
        // The code is raw: a v5 client gets the same byte in the v5 shape.
        let mut s = client(ClientStack::Openssl, r.addr(), &pki, &ClientOpts::default())
            .await
            .expect("tls");
        assert_eq!(
            exchange(&mut s, &v5()).await.expect("v5"),
            [0x20, 3, 0, 5, 0]
        );

        let r = Responder::start(refuse(0x87)).await.expect("start");
        let mut s = client(ClientStack::Rustls, r.addr(), &pki, &ClientOpts::default())
            .await
            .expect("tls");
        assert_eq!(
            exchange(&mut s, &v5()).await.expect("v5"),
            [0x20, 3, 0, 0x87, 0]
        );
        // After a refusal the server closes the connection.
        let mut rest = Vec::new();
        let n = timeout(WAIT, s.read_to_end(&mut rest))
            .await
            .expect("closed");
        assert!(n.is_ok() || n.is_err(), "closed either way");
        assert!(rest.is_empty());
    }
}

#[tokio::test]
async fn plain_mqtt_and_login_checks() {
    let r = Responder::start(Behaviour::PlainMqtt(MqttBehaviour::Accept))
        .await
        .expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    assert_eq!(
        exchange(&mut s, &v311()).await.expect("connack"),
        [0x20, 2, 0, 0]
    );
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    assert_eq!(
        exchange(&mut s, &v5()).await.expect("connack"),
        [0x20, 3, 0, 0, 0]
    );

    let r = Responder::start(Behaviour::PlainMqtt(MqttBehaviour::RequireLogin {
        username: "alice".into(),
        password: "secret".into(),
    }))
    .await
    .expect("start");
    type Login<'a> = Option<(&'a str, &'a str)>;
    let cases: [(u8, Login, u8); 6] = [
        (LEVEL_3_1_1, None, 5),
        (LEVEL_3_1_1, Some(("alice", "wrong")), 4),
        (LEVEL_3_1_1, Some(("alice", "secret")), 0),
        (LEVEL_5, None, 0x87),
        (LEVEL_5, Some(("bob", "secret")), 0x86),
        (LEVEL_5, Some(("alice", "secret")), 0),
    ];
    for (level, login, expected) in cases {
        let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
        let answer = exchange(&mut s, &connect_packet(level, "t", login))
            .await
            .expect("connack");
        assert_eq!(
            wire::connack_code(&answer),
            Some(expected),
            "{level} {login:?}"
        );
    }
}

#[tokio::test]
async fn required_client_cert() {
    let (_dir, pki) = lab_pki();
    for stack in STACKS {
        let mut server = tls(&pki, stack, MqttBehaviour::Accept);
        server.client_auth = ClientAuth::Required {
            ca_pem: pki.root.cert_pem.clone(),
        };
        let r = Responder::start(Behaviour::Tls(server))
            .await
            .expect("start");
        for which in CLIENTS {
            let ctx = format!("{stack:?} server, {which:?} client");
            // TLS 1.3: the client finishes its handshake first; the rejection arrives on
            // the first read, where the CONNACK would be.
            let mut s = client(which, r.addr(), &pki, &ClientOpts::default())
                .await
                .unwrap_or_else(|e| panic!("{ctx}: 1.3 handshake should complete: {e}"));
            let err = exchange(&mut s, &v311()).await.expect_err(&ctx);
            eprintln!("{ctx}: TLS 1.3 without client cert, first read: {err:?}");
            assert_ne!(err.kind(), io::ErrorKind::TimedOut, "{ctx}: {err}");
            assert_ne!(
                err.kind(),
                io::ErrorKind::UnexpectedEof,
                "{ctx}: want an alert"
            );

            // TLS 1.2: the handshake itself fails.
            let opts = ClientOpts {
                tls12_only: true,
                ..ClientOpts::default()
            };
            assert!(
                client(which, r.addr(), &pki, &opts).await.is_err(),
                "{ctx} 1.2"
            );

            let opts = ClientOpts {
                identity: Some(&pki.client),
                ..ClientOpts::default()
            };
            let mut s = client(which, r.addr(), &pki, &opts).await.expect(&ctx);
            assert_eq!(
                exchange(&mut s, &v311()).await.expect(&ctx),
                [0x20, 2, 0, 0]
            );

            // A certificate from another CA is rejected too.
            let opts = ClientOpts {
                identity: Some(&pki.other_client),
                ..ClientOpts::default()
            };
            let rejected = match client(which, r.addr(), &pki, &opts).await {
                Err(_) => true,
                Ok(mut s) => exchange(&mut s, &v311()).await.is_err(),
            };
            assert!(rejected, "{ctx}: other-client must be rejected");
        }
    }
}

#[tokio::test]
async fn optional_client_cert_accepts_anonymous_clients() {
    let (_dir, pki) = lab_pki();
    for stack in STACKS {
        let mut server = tls(&pki, stack, MqttBehaviour::Accept);
        server.client_auth = ClientAuth::Optional {
            ca_pem: pki.root.cert_pem.clone(),
        };
        let r = Responder::start(Behaviour::Tls(server))
            .await
            .expect("start");
        for which in CLIENTS {
            let mut s = client(which, r.addr(), &pki, &ClientOpts::default())
                .await
                .expect("tls");
            assert_eq!(
                exchange(&mut s, &v311()).await.expect("ok"),
                [0x20, 2, 0, 0]
            );
        }
    }
}

#[tokio::test]
async fn alpn_is_enforced() {
    let (_dir, pki) = lab_pki();
    for stack in STACKS {
        let mut server = tls(&pki, stack, MqttBehaviour::Accept);
        server.alpn = vec![b"mqtt".to_vec()];
        let r = Responder::start(Behaviour::Tls(server))
            .await
            .expect("start");
        for which in CLIENTS {
            let ctx = format!("{stack:?}/{which:?}");
            let good = ClientOpts {
                alpn: Some(b"mqtt"),
                ..ClientOpts::default()
            };
            let mut s = client(which, r.addr(), &pki, &good).await.expect(&ctx);
            assert_eq!(
                exchange(&mut s, &v311()).await.expect(&ctx),
                [0x20, 2, 0, 0]
            );

            let bad = ClientOpts {
                alpn: Some(b"x-amzn-mqtt-ca"),
                ..ClientOpts::default()
            };
            let err = client(which, r.addr(), &pki, &bad).await.err();
            let err = err.unwrap_or_else(|| panic!("{ctx}: wrong ALPN must fail"));
            let text = format!("{err:?}").to_lowercase();
            assert!(text.contains("application"), "{ctx}: {text}");

            let mut s = client(which, r.addr(), &pki, &ClientOpts::default())
                .await
                .expect(&ctx);
            assert!(exchange(&mut s, &v311()).await.is_err(), "{ctx}: no ALPN");
        }
    }
}

#[tokio::test]
async fn openssl_stack_serves_tls_1_1_and_rustls_refuses_it() {
    let (_dir, pki) = lab_pki();
    let mut server = tls(&pki, ServerStack::Openssl, MqttBehaviour::Accept);
    server.versions = vec![TlsVersion::Tls11];
    let r = Responder::start(Behaviour::Tls(server.clone()))
        .await
        .expect("start");
    let tcp = TcpStream::connect(r.addr()).await.expect("tcp");
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("builder");
    b.set_security_level(0);
    b.set_cipher_list("DEFAULT:@SECLEVEL=0").expect("ciphers");
    b.set_min_proto_version(Some(SslVersion::TLS1))
        .expect("min");
    b.set_verify(SslVerifyMode::NONE);
    let ssl = b
        .build()
        .configure()
        .expect("cfg")
        .into_ssl("localhost")
        .expect("ssl");
    let mut s = tokio_openssl::SslStream::new(ssl, tcp).expect("stream");
    Pin::new(&mut s).connect().await.expect("TLS 1.1 handshake");
    assert_eq!(s.ssl().version_str(), "TLSv1.1");
    assert_eq!(
        exchange(&mut s, &v311()).await.expect("connack"),
        [0x20, 2, 0, 0]
    );
    // A default client (TLS 1.2+) cannot talk to it.
    let c = client(ClientStack::Rustls, r.addr(), &pki, &ClientOpts::default()).await;
    assert!(c.is_err());

    server.stack = ServerStack::Rustls;
    let err = Responder::start(Behaviour::Tls(server))
        .await
        .expect_err("rustls 1.1");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn chain_is_served_in_file_order_without_auto_completion() {
    let (_dir, pki) = lab_pki();
    let leaf = pki.server.cert_pem.as_slice();
    let (inter, root) = (pki.intermediate.cert_pem.as_slice(), &pki.root.cert_pem);
    let cases: [(Vec<u8>, &[&str]); 3] = [
        (leaf.to_vec(), &["localhost"]),
        (
            [leaf, inter].concat(),
            &["localhost", "mqtls Lab Signing CA"],
        ),
        (
            [leaf, root, inter].concat(),
            &["localhost", "mqtls Lab Root CA", "mqtls Lab Signing CA"],
        ),
    ];
    for (chain_pem, expected) in cases {
        let mut server = tls(&pki, ServerStack::Openssl, MqttBehaviour::Accept);
        server.chain_pem = chain_pem;
        // The store then holds the intermediate, yet OpenSSL must not add it.
        server.client_auth = ClientAuth::Optional {
            ca_pem: pki.ca_bundle_pem.clone(),
        };
        let r = Responder::start(Behaviour::Tls(server))
            .await
            .expect("start");
        let tcp = TcpStream::connect(r.addr()).await.expect("tcp");
        let mut b = SslConnector::builder(SslMethod::tls_client()).expect("builder");
        b.set_verify(SslVerifyMode::NONE);
        let ssl = b
            .build()
            .configure()
            .expect("cfg")
            .into_ssl("localhost")
            .expect("ssl");
        let mut s = tokio_openssl::SslStream::new(ssl, tcp).expect("stream");
        Pin::new(&mut s).connect().await.expect("handshake");
        let served: Vec<String> = s
            .ssl()
            .peer_cert_chain()
            .expect("chain")
            .iter()
            .map(|c| {
                let cn = c
                    .subject_name()
                    .entries_by_nid(openssl::nid::Nid::COMMONNAME);
                cn.map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
                    .collect()
            })
            .collect();
        assert_eq!(served, expected);
    }
}

#[tokio::test]
async fn non_tls_behaviours() {
    let r = Responder::start(Behaviour::SendBytes(
        b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
    ))
    .await
    .expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    let mut buf = [0u8; 8];
    timeout(WAIT, s.read_exact(&mut buf))
        .await
        .expect("t")
        .expect("banner");
    assert_eq!(&buf, b"HTTP/1.1");

    let r = Responder::start(Behaviour::CloseImmediately)
        .await
        .expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    let n = timeout(WAIT, s.read(&mut buf))
        .await
        .expect("t")
        .expect("fin");
    assert_eq!(n, 0);

    let r = Responder::start(Behaviour::Reset).await.expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    let err = timeout(WAIT, s.read(&mut buf))
        .await
        .expect("t")
        .expect_err("rst");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);

    let r = Responder::start(Behaviour::Silent).await.expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    s.write_all(&v311()).await.expect("write");
    let silent = timeout(Duration::from_millis(200), s.read(&mut buf)).await;
    assert!(silent.is_err(), "silent server must not answer");
}

#[tokio::test]
async fn mqtt_misbehaviours() {
    let start = |m| Responder::start(Behaviour::PlainMqtt(m));
    let r = start(MqttBehaviour::Silent).await.expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    s.write_all(&v311()).await.expect("write");
    let mut buf = [0u8; 1];
    let silent = timeout(Duration::from_millis(300), s.read(&mut buf)).await;
    assert!(silent.is_err(), "no CONNACK and no close: {silent:?}");

    let r = start(MqttBehaviour::CloseAfterConnect)
        .await
        .expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    let err = exchange(&mut s, &v311()).await.expect_err("closed");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

    let r = start(MqttBehaviour::Raw(vec![0x20, 0x02, 0x00]))
        .await
        .expect("start");
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    s.write_all(&v311()).await.expect("write");
    let mut buf = [0u8; 3];
    timeout(WAIT, s.read_exact(&mut buf))
        .await
        .expect("t")
        .expect("raw");
    assert_eq!(buf, [0x20, 0x02, 0x00]);

    // Garbage and oversized packets close that connection; the server keeps serving.
    let r = start(MqttBehaviour::Accept).await.expect("start");
    for junk in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0x10, 0xff, 0xff, 0xff, 0x7f],
        &[0x10, 0x03, 0x00, 0x04, b'M'],
        &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5],
    ] {
        let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
        s.write_all(junk).await.expect("write");
        s.shutdown().await.expect("shutdown");
        let mut rest = Vec::new();
        let _ = timeout(WAIT, s.read_to_end(&mut rest))
            .await
            .expect("closed");
        assert!(rest.is_empty(), "{junk:?} got {rest:?}");
    }
    let mut s = TcpStream::connect(r.addr()).await.expect("tcp");
    assert_eq!(
        exchange(&mut s, &v311()).await.expect("still up"),
        [0x20, 2, 0, 0]
    );
}

#[tokio::test]
async fn drop_stops_the_listener() {
    let r = Responder::start(Behaviour::PlainMqtt(MqttBehaviour::Accept))
        .await
        .expect("start");
    let addr = r.addr();
    assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_eq!(r.port(), addr.port());
    let mut open = TcpStream::connect(addr).await.expect("tcp");
    drop(r);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    // Open connections are closed too.
    let mut buf = [0u8; 1];
    let n = timeout(WAIT, open.read(&mut buf)).await.expect("t");
    assert!(matches!(n, Ok(0) | Err(_)));
}

#[tokio::test]
async fn bad_configuration_is_an_error() {
    let (_dir, pki) = lab_pki();
    for stack in STACKS {
        let mut server = tls(&pki, stack, MqttBehaviour::Accept);
        server.key_pem = pki.client.key_pem.clone();
        let err = Responder::start(Behaviour::Tls(server))
            .await
            .expect_err("mismatch");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{stack:?}: {err}");
        let mut server = tls(&pki, stack, MqttBehaviour::Accept);
        server.chain_pem = b"not pem".to_vec();
        let err = Responder::start(Behaviour::Tls(server))
            .await
            .expect_err("pem");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{stack:?}: {err}");
    }
}

/// A TLS client that verifies nothing and sends `sni` (or none): the tests below look at
/// what the server serves, not at whether it is trusted.
async fn raw_openssl(
    addr: SocketAddr,
    sni: Option<&str>,
) -> Result<tokio_openssl::SslStream<TcpStream>, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("builder");
    b.set_verify(SslVerifyMode::NONE);
    let mut cfg = b.build().configure().expect("configure");
    cfg.set_use_server_name_indication(sni.is_some());
    cfg.set_verify_hostname(false);
    let ssl = cfg.into_ssl(sni.unwrap_or("localhost")).expect("ssl");
    let mut s = tokio_openssl::SslStream::new(ssl, tcp).expect("stream");
    Pin::new(&mut s)
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(s)
}

fn leaf_der(s: &tokio_openssl::SslStream<TcpStream>) -> Vec<u8> {
    let cert = s.ssl().peer_certificate().expect("peer certificate");
    cert.to_der().expect("der")
}

#[tokio::test]
async fn sni_policies_on_the_openssl_stack() {
    let (_dir, pki) = lab_pki();
    let server = tls(&pki, ServerStack::Openssl, MqttBehaviour::Accept);
    let require = TlsOptions {
        sni: SniPolicy::Require("localhost".into()),
        ..TlsOptions::default()
    };
    let r = Responder::start(Behaviour::TlsWith(server.clone(), require))
        .await
        .expect("start");
    let mut s = raw_openssl(r.addr(), Some("localhost")).await.expect("SNI");
    assert_eq!(
        exchange(&mut s, &v311()).await.expect("ok"),
        [0x20, 2, 0, 0]
    );
    for sni in [None, Some("other.example")] {
        let err = raw_openssl(r.addr(), sni).await.expect_err("refused");
        assert!(err.contains("unrecognized name"), "{sni:?}: {err}");
    }

    let fallback = TlsOptions {
        sni: SniPolicy::Fallback {
            name: "localhost".into(),
            chain_pem: pki.other_server.cert_pem.clone(),
            key_pem: pki.other_server.key_pem.clone(),
        },
        ..TlsOptions::default()
    };
    let r = Responder::start(Behaviour::TlsWith(server, fallback))
        .await
        .expect("start");
    let own = X509::from_pem(&pki.server.cert_pem).expect("server");
    let other = X509::from_pem(&pki.other_server.cert_pem).expect("other");
    let s = raw_openssl(r.addr(), Some("localhost")).await.expect("SNI");
    assert_eq!(leaf_der(&s), own.to_der().expect("der"));
    for sni in [None, Some("other.example")] {
        let mut s = raw_openssl(r.addr(), sni).await.expect("default chain");
        assert_eq!(leaf_der(&s), other.to_der().expect("der"), "{sni:?}");
        assert_eq!(
            exchange(&mut s, &v311()).await.expect("ok"),
            [0x20, 2, 0, 0]
        );
    }
}

#[tokio::test]
async fn cipher_list_and_security_level() {
    let (_dir, pki) = lab_pki();
    let mut server = tls(&pki, ServerStack::Openssl, MqttBehaviour::Accept);
    server.chain_pem = pki.server_sha1.chain_pem().to_vec();
    server.key_pem = pki.server_sha1.key_pem.clone();
    server.versions = vec![TlsVersion::Tls12];
    // Debian's default level 2 refuses to load a SHA-1 signed certificate.
    let err = Responder::start(Behaviour::Tls(server.clone()))
        .await
        .expect_err("level 2");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let options = TlsOptions {
        ciphers: Some("ECDHE-ECDSA-AES256-SHA".into()),
        security_level: Some(0),
        ..TlsOptions::default()
    };
    let r = Responder::start(Behaviour::TlsWith(server, options))
        .await
        .expect("level 0");
    let mut s = raw_openssl(r.addr(), Some("localhost")).await.expect("CBC");
    let cipher = s.ssl().current_cipher().map(|c| c.name());
    assert_eq!(cipher, Some("ECDHE-ECDSA-AES256-SHA"));
    assert_eq!(
        exchange(&mut s, &v311()).await.expect("ok"),
        [0x20, 2, 0, 0]
    );
    // rustls offers no CBC suite.
    let c = client(ClientStack::Rustls, r.addr(), &pki, &ClientOpts::default()).await;
    let err = c.err().expect("no shared cipher");
    assert!(format!("{err}").contains("HandshakeFailure"), "{err}");
}

#[tokio::test]
async fn crl_rejects_revoked_client_certificates() {
    let (_dir, pki) = lab_pki();
    for stack in STACKS {
        let mut server = tls(&pki, stack, MqttBehaviour::Accept);
        server.client_auth = ClientAuth::Required {
            ca_pem: pki.root.cert_pem.clone(),
        };
        let options = TlsOptions {
            crl_file: Some(pki.crl.clone()),
            ..TlsOptions::default()
        };
        let r = Responder::start(Behaviour::TlsWith(server, options))
            .await
            .expect("start");
        for which in CLIENTS {
            let ctx = format!("{stack:?} server, {which:?} client");
            let good = ClientOpts {
                identity: Some(&pki.client),
                ..ClientOpts::default()
            };
            let mut s = client(which, r.addr(), &pki, &good).await.expect(&ctx);
            assert_eq!(
                exchange(&mut s, &v311()).await.expect(&ctx),
                [0x20, 2, 0, 0]
            );
            let revoked = ClientOpts {
                identity: Some(&pki.client_revoked),
                ..ClientOpts::default()
            };
            let err = match client(which, r.addr(), &pki, &revoked).await {
                Err(e) => e,
                Ok(mut s) => exchange(&mut s, &v311()).await.expect_err(&ctx),
            };
            let text = format!("{err:?}").to_lowercase();
            assert!(text.contains("revoked"), "{ctx}: {text}");
        }
    }
}

#[tokio::test]
async fn openssl_only_options_are_refused_by_the_rustls_stack() {
    let (_dir, pki) = lab_pki();
    let server = tls(&pki, ServerStack::Rustls, MqttBehaviour::Accept);
    let refused = [
        TlsOptions {
            sni: SniPolicy::Require("localhost".into()),
            ..TlsOptions::default()
        },
        TlsOptions {
            ciphers: Some("ECDHE-ECDSA-AES256-SHA".into()),
            ..TlsOptions::default()
        },
        TlsOptions {
            security_level: Some(0),
            ..TlsOptions::default()
        },
        // A CRL without client authentication has nothing to check.
        TlsOptions {
            crl_file: Some(pki.crl.clone()),
            ..TlsOptions::default()
        },
    ];
    for options in refused {
        let err = Responder::start(Behaviour::TlsWith(server.clone(), options.clone()))
            .await
            .expect_err("refused");
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidInput,
            "{options:?}: {err}"
        );
    }
}
