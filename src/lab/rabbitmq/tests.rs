//! Tests of `lab::rabbitmq`.

use std::pin::Pin;
use std::sync::Arc;

use openssl::ssl::{SslFiletype, SslVersion};
use openssl::x509::X509;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::lab::wire::{self, LEVEL_3_1_1, LEVEL_5, connect_packet};
use crate::pki::{self, CertFiles, Pki};

/// Generous: two nodes boot at once on two cores while other tests run.
const DEADLINE: Duration = Duration::from_secs(90);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

fn lab_pki() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    (dir, pki)
}

fn der(pem: &[u8]) -> Vec<u8> {
    X509::from_pem(pem).expect("pem").to_der().expect("der")
}

/// What a client saw: the handshake result, the negotiated version and the served chain.
struct Seen<S> {
    stream: S,
    version: String,
    chain: Vec<Vec<u8>>,
}

async fn openssl_client(
    node: &RabbitNode,
    pki: &Pki,
    identity: Option<(&Path, &Path)>,
    max: Option<SslVersion>,
) -> Result<Seen<tokio_openssl::SslStream<tokio::net::TcpStream>>, String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("builder");
    b.cert_store_mut()
        .add_cert(X509::from_pem(&pki.root.cert_pem).expect("root"))
        .expect("add root");
    b.set_max_proto_version(max).expect("max version");
    if let Some((chain, key)) = identity {
        b.set_certificate_chain_file(chain).expect("chain");
        b.set_private_key_file(key, SslFiletype::PEM).expect("key");
    }
    let ssl = b
        .build()
        .configure()
        .expect("configure")
        .into_ssl("localhost")
        .expect("ssl");
    let tcp = tokio::net::TcpStream::connect(node.addr())
        .await
        .expect("connect");
    let mut s = tokio_openssl::SslStream::new(ssl, tcp).expect("stream");
    let handshake = tokio::time::timeout(IO_TIMEOUT, Pin::new(&mut s).connect()).await;
    match handshake {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("{e}")),
        Err(_) => return Err("handshake timed out".into()),
    }
    let chain = s
        .ssl()
        .peer_cert_chain()
        .map(|c| c.iter().map(|x| x.to_der().expect("der")).collect())
        .unwrap_or_default();
    Ok(Seen {
        version: s.ssl().version_str().to_string(),
        chain,
        stream: s,
    })
}

async fn rustls_client(
    node: &RabbitNode,
    pki: &Pki,
    identity: Option<&CertFiles>,
) -> Result<Seen<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(der(&pki.root.cert_pem)))
        .expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some(id) => {
            let chain = CertificateDer::pem_slice_iter(id.chain_pem())
                .collect::<Result<Vec<_>, _>>()
                .expect("chain");
            let key = PrivateKeyDer::from_pem_slice(&id.key_pem).expect("key");
            builder.with_client_auth_cert(chain, key).expect("identity")
        }
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(node.addr())
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let s = match tokio::time::timeout(IO_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(rustls_error(&e)),
        Err(_) => return Err("handshake timed out".into()),
    };
    let (_, conn) = s.get_ref();
    Ok(Seen {
        version: format!("{:?}", conn.protocol_version().expect("version")),
        chain: conn
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.to_vec()).collect())
            .unwrap_or_default(),
        stream: s,
    })
}

/// The typed rustls error inside an `io::Error`, else the I/O error itself.
fn rustls_error(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => format!("rustls {tls:?}"),
        None => format!("io {:?}: {e}", e.kind()),
    }
}

/// Send `connect` and read one packet back, as raw bytes, or what happened instead.
async fn exchange<S>(s: &mut S, connect: &[u8]) -> Result<Vec<u8>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    s.write_all(connect).await.map_err(|e| rustls_error(&e))?;
    s.flush().await.map_err(|e| rustls_error(&e))?;
    let read = tokio::time::timeout(IO_TIMEOUT, wire::read_packet(s, 1024)).await;
    match read {
        Ok(Ok(Some(p))) => Ok(p.to_bytes()),
        Ok(Ok(None)) => Err("closed without a packet".into()),
        Ok(Err(e)) => Err(rustls_error(&e)),
        Err(_) => Err("no answer before the deadline".into()),
    }
}

/// One boot of two nodes covers every broker behaviour, to keep the suite fast (a boot
/// takes 10-15 s). Observed on RabbitMQ 3.10.8, Erlang/OTP 25.2.3, OpenSSL 3.0.19.
#[test]
fn two_nodes_boot_in_parallel_and_speak_mqtt_over_tls() {
    if !crate::lab::broker_available(crate::lab::BrokerKind::Rabbitmq, module_path!()) {
        return;
    }
    let (_dir, pki) = lab_pki();
    // The good node serves the leaf alone and completes the chain from its CA bundle; the
    // mTLS node serves leaf + intermediate and trusts only the root. Together they show
    // when Erlang adds the root to the chain it sends.
    let good = SslOptions {
        cacertfile: Some(pki.ca_bundle.clone()),
        certfile: pki.server.cert.clone(),
        keyfile: pki.server.key.clone(),
        allow_anonymous: true,
        ..SslOptions::default()
    };
    let mtls = SslOptions {
        cacertfile: Some(pki.root.cert.clone()),
        certfile: pki.server.chain_path().to_path_buf(),
        verify_peer: true,
        fail_if_no_peer_cert: true,
        allow_anonymous: false,
        users: vec![("alice".into(), "secret".into())],
        ..good.clone()
    };
    let started = Instant::now();
    let nodes = RabbitNode::start_many(&[("good".into(), good), ("mtls".into(), mtls)], DEADLINE)
        .unwrap_or_else(|e| panic!("nodes start: {e}"));
    eprintln!(
        "RabbitNode::start_many with 2 nodes took {:?}",
        started.elapsed()
    );
    let [good, mtls] = &nodes[..] else {
        panic!("two nodes");
    };
    assert_eq!((good.label(), mtls.label()), ("good", "mtls"));
    assert_ne!(good.node_name(), mtls.node_name());
    assert_ne!(good.port(), mtls.port());
    let config = mtls.config();
    for line in [
        "listeners.tcp = none",
        "mqtt.listeners.tcp = none",
        &format!("mqtt.listeners.ssl.default = 127.0.0.1:{}", mtls.port()),
        "ssl_options.verify = verify_peer",
        "ssl_options.fail_if_no_peer_cert = true",
        "mqtt.allow_anonymous = false",
    ] {
        assert!(config.lines().any(|l| l == line), "{line:?} in {config}");
    }
    assert!(good.log().contains(good.node_name()), "{}", good.log());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        served_chains(&pki, good, mtls).await;
        mqtt_answers(&pki, good, mtls).await;
        client_certificate_rejections(&pki, mtls).await;
    });

    // Drop stops each node and everything it started.
    let names: Vec<String> = nodes.iter().map(|n| n.node_name().to_string()).collect();
    let trees: Vec<Vec<u32>> = nodes.iter().map(|n| process_tree(n.pid())).collect();
    let stopping = Instant::now();
    drop(nodes);
    eprintln!("dropping 2 nodes took {:?}", stopping.elapsed());
    for name in &names {
        let pgrep = Command::new("pgrep")
            .args(["-af", name])
            .output()
            .expect("pgrep");
        assert!(
            pgrep.stdout.is_empty(),
            "{name} still running:\n{}",
            String::from_utf8_lossy(&pgrep.stdout)
        );
    }
    // beam.smp's helpers (erl_child_setup, inet_gethost) sit in sessions of their own and
    // exit once beam.smp has gone; where PID 1 does not reap orphans they stay zombies.
    std::thread::sleep(Duration::from_millis(300));
    for pid in trees.iter().flatten() {
        let left = parent_and_state(*pid);
        assert!(
            matches!(left, None | Some((_, 'Z'))),
            "pid {pid} left: {left:?}"
        );
    }
}

/// Erlang sends the certfile's chain as it is when it holds more than the leaf; given the
/// leaf alone, it completes the chain from `cacertfile`, root included.
async fn served_chains(pki: &Pki, good: &RabbitNode, mtls: &RabbitNode) {
    let server = der(&pki.server.cert_pem);
    let (root, intermediate) = (der(&pki.root.cert_pem), der(&pki.intermediate.cert_pem));
    let client = pki.client.fullchain.as_deref().expect("client fullchain");
    let identity = Some((client, pki.client.key.as_path()));

    let seen = openssl_client(good, pki, None, None)
        .await
        .expect("good handshake");
    assert_eq!(seen.version, "TLSv1.3");
    assert_eq!(
        seen.chain,
        [server.clone(), intermediate.clone(), root.clone()],
        "leaf + bundle: whole chain"
    );
    let seen = rustls_client(good, pki, None)
        .await
        .expect("good rustls handshake");
    assert_eq!(seen.version, "TLSv1_3");
    assert_eq!(
        seen.chain,
        [server.clone(), intermediate.clone(), root.clone()]
    );

    let seen = openssl_client(mtls, pki, identity, None)
        .await
        .expect("mtls handshake");
    assert_eq!(
        seen.chain,
        [server.clone(), intermediate.clone()],
        "fullchain: sent as is, no root"
    );
}

/// CONNACKs: 3.1.1 refusals all say 4 (bad user name or password), never 5; MQTT 5 is not
/// supported by the 3.10 plugin, which closes the connection without a CONNACK.
async fn mqtt_answers(pki: &Pki, good: &RabbitNode, mtls: &RabbitNode) {
    let mut s = openssl_client(good, pki, None, None)
        .await
        .expect("good handshake");
    let v311 = connect_packet(LEVEL_3_1_1, "rabbit-probe", None);
    assert_eq!(
        exchange(&mut s.stream, &v311).await,
        Ok(vec![0x20, 2, 0, 0])
    );
    let mut s = rustls_client(good, pki, None)
        .await
        .expect("good rustls handshake");
    assert_eq!(
        exchange(&mut s.stream, &v311).await,
        Ok(vec![0x20, 2, 0, 0])
    );

    let client = pki.client.fullchain.as_deref().expect("client fullchain");
    let identity = Some((client, pki.client.key.as_path()));
    type Login<'a> = Option<(&'a str, &'a str)>;
    let cases: [(&RabbitNode, Login, Option<u8>); 6] = [
        (good, None, None),
        (good, Some(("alice", "secret")), None),
        (mtls, None, Some(4)),
        (mtls, Some(("alice", "wrong")), Some(4)),
        (mtls, Some(("mallory", "secret")), Some(4)),
        (mtls, Some(("alice", "secret")), Some(0)),
    ];
    for (node, login, want_v311) in cases {
        for level in [LEVEL_3_1_1, LEVEL_5] {
            let mut s = openssl_client(node, pki, identity, None)
                .await
                .expect("handshake");
            let connect = connect_packet(level, "rabbit-probe", login);
            let answer = exchange(&mut s.stream, &connect).await;
            eprintln!(
                "{} level {level} login {login:?}: {answer:02x?}",
                node.label()
            );
            match (level, want_v311) {
                (LEVEL_5, _) => assert_eq!(answer, Err("closed without a packet".into())),
                // alice does not exist on the good node: a login is refused with 4 too.
                (_, None) if login.is_some() => assert_eq!(answer, Ok(vec![0x20, 2, 0, 4])),
                (_, None) => assert_eq!(answer, Ok(vec![0x20, 2, 0, 0])),
                (_, Some(rc)) => assert_eq!(answer, Ok(vec![0x20, 2, 0, rc])),
            }
        }
    }
}

/// `fail_if_no_peer_cert`: TLS 1.3 completes the client's handshake and sends alert 116
/// (certificate_required) after it; TLS 1.2 fails the handshake with alert 40
/// (handshake_failure). A leaf without its intermediate gets alert 48 (unknown_ca).
async fn client_certificate_rejections(pki: &Pki, mtls: &RabbitNode) {
    let mut s = openssl_client(mtls, pki, None, None)
        .await
        .expect("1.3 completes");
    assert_eq!(s.version, "TLSv1.3");
    let err = first_read(&mut s.stream).await;
    assert!(err.contains("SSL alert number 116"), "{err}");

    let err = openssl_client(mtls, pki, None, Some(SslVersion::TLS1_2))
        .await
        .err()
        .expect("1.2 handshake fails");
    assert!(err.contains("SSL alert number 40"), "{err}");

    let mut s = rustls_client(mtls, pki, None).await.expect("1.3 completes");
    let err = first_read(&mut s.stream).await;
    assert_eq!(err, "rustls AlertReceived(CertificateRequired)");

    let leaf_only = Some((pki.client.cert.as_path(), pki.client.key.as_path()));
    let mut s = openssl_client(mtls, pki, leaf_only, None)
        .await
        .expect("1.3 completes");
    let err = first_read(&mut s.stream).await;
    assert!(err.contains("SSL alert number 48"), "{err}");

    let mut s = rustls_client(mtls, pki, Some(&pki.client))
        .await
        .expect("mTLS");
    let login = connect_packet(LEVEL_3_1_1, "rabbit-probe", Some(("alice", "secret")));
    assert_eq!(
        exchange(&mut s.stream, &login).await,
        Ok(vec![0x20, 2, 0, 0])
    );
}

#[test]
fn a_node_that_cannot_boot_explains_why() {
    if !crate::lab::broker_available(crate::lab::BrokerKind::Rabbitmq, module_path!()) {
        return;
    }
    let (_dir, pki) = lab_pki();
    // An empty version makes a config line without a value: rejected in prelaunch, ~2 s
    // into the boot (an unknown version such as "tlsv9" fails only when the listener
    // starts, after the whole boot).
    let broken = SslOptions {
        certfile: pki.server.cert.clone(),
        keyfile: pki.server.key.clone(),
        versions: vec!["".into()],
        ..SslOptions::default()
    };
    let started = Instant::now();
    let err = RabbitNode::start("broken", &broken, DEADLINE).expect_err("must fail");
    eprintln!("failed start took {:?}: {err}", started.elapsed());
    match &err {
        LabError::NodeExited { node, log_tail, .. } => {
            assert!(node.starts_with("mqtls-"), "{node}");
            assert!(
                log_tail.contains("failed_to_parse_configuration_file"),
                "{log_tail}"
            );
        }
        other => panic!("expected NodeExited, got {other:?}"),
    }
    assert!(
        started.elapsed() < DEADLINE,
        "exit is detected, not waited out"
    );
}

#[test]
fn bad_users_are_rejected_before_starting() {
    let opts = SslOptions {
        users: vec![("al:ice".into(), "x".into())],
        ..SslOptions::default()
    };
    let err = RabbitNode::start("bad", &opts, DEADLINE).expect_err("bad user");
    assert!(
        matches!(err, LabError::InvalidUser { ref user, .. } if user == "al:ice"),
        "{err}"
    );
}

#[test]
fn config_and_definitions() {
    let (_dir, pki) = lab_pki();
    let root = tempfile::tempdir().expect("tempdir");
    let opts = SslOptions {
        cacertfile: Some(pki.root.cert.clone()),
        certfile: pki.server.cert.clone(),
        keyfile: pki.server.key.clone(),
        versions: vec!["tlsv1.2".into(), "tlsv1.3".into()],
        allow_anonymous: true,
        users: vec![("alice".into(), "secret".into())],
        ..SslOptions::default()
    };
    let config = write_files(root.path(), &opts, 8883, None).expect("files");
    let tls = root.path().join("tls");
    for line in [
        "mqtt.listeners.ssl.default = 127.0.0.1:8883".to_string(),
        format!(
            "ssl_options.cacertfile = {}",
            tls.join("cacert.pem").display()
        ),
        format!("ssl_options.keyfile = {}", tls.join("key.pem").display()),
        "ssl_options.verify = verify_none".into(),
        "ssl_options.versions.1 = tlsv1.2".into(),
        "ssl_options.versions.2 = tlsv1.3".into(),
        "mqtt.allow_anonymous = true".into(),
        "loopback_users = none".into(),
        format!(
            "load_definitions = {}",
            root.path().join("definitions.json").display()
        ),
    ] {
        assert!(config.lines().any(|l| l == line), "{line:?} in {config}");
    }
    let key_mode = fs::metadata(tls.join("key.pem")).expect("key").mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let plugins = fs::read_to_string(root.path().join("enabled_plugins")).expect("plugins");
    assert_eq!(plugins, "[rabbitmq_mqtt].\n");

    let defs: serde_json::Value = serde_json::from_str(&definitions(&opts)).expect("json");
    let users: Vec<&str> = defs["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["name"].as_str().expect("name"))
        .collect();
    assert_eq!(users, ["alice", "guest"], "guest kept for anonymous logins");
    assert_eq!(defs["permissions"][0]["configure"], ".*");
}

#[test]
fn password_hash_is_rabbitmq_sha256() {
    let decoded = base64::decode_block(&password_hash("secret")).expect("base64");
    let (salt, digest) = decoded.split_at(4);
    assert_eq!(digest, sha256(&[salt, b"secret"].concat()));
}

#[test]
fn readiness_needs_a_server_hello() {
    // A closed port and a listener that answers with junk are both "not ready".
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    assert!(!answers_client_hello(addr));
    let junk = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = junk.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (mut s, _) = junk.accept().expect("accept");
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    assert!(!answers_client_hello(addr));
    server.join().expect("server");
}

#[test]
fn tail_keeps_the_last_lines() {
    assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    assert_eq!(tail("", 5), "");
}

/// Read once without writing: what the broker sent after the handshake.
async fn first_read<S>(s: &mut S) -> String
where
    S: tokio::io::AsyncRead + Unpin,
{
    let mut byte = [0u8; 1];
    match tokio::time::timeout(IO_TIMEOUT, s.read(&mut byte)).await {
        Ok(Ok(0)) => "closed".into(),
        Ok(Ok(_)) => format!("data {byte:02x?}"),
        Ok(Err(e)) => rustls_error(&e),
        Err(_) => "nothing before the deadline".into(),
    }
}

/// Process ids of `pid` and its descendants (from /proc).
fn process_tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, parent_and_state(p)?.0)))
        .collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// Parent pid and state letter of a live process, from `/proc/<pid>/stat`.
fn parent_and_state(pid: u32) -> Option<(u32, char)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split(' ');
    let state = fields.next()?.chars().next()?;
    Some((fields.next()?.parse().ok()?, state))
}
