//! Tests of `lab::mosquitto`.

use std::io::{Read, Write};

use openssl::ssl::{SslConnector, SslFiletype, SslMethod};
use openssl::x509::X509;

use super::*;
use crate::lab::wire::{LEVEL_3_1_1, LEVEL_5, connect_packet};
use crate::pki::{self, Pki};

const DEADLINE: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

fn lab_pki() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    (dir, pki)
}

fn start(listeners: &[Listener]) -> Mosquitto {
    let started = Instant::now();
    let broker = Mosquitto::start(listeners, DEADLINE).expect("mosquitto starts");
    eprintln!(
        "Mosquitto::start with {} listener(s) took {:?}",
        listeners.len(),
        started.elapsed()
    );
    broker
}

fn tls_listener(name: &str, pki: &Pki) -> Listener {
    Listener {
        name: name.into(),
        tls: Some(ListenerTls {
            certfile: pki.server.chain_path().to_path_buf(),
            keyfile: pki.server.key.clone(),
            ..ListenerTls::default()
        }),
        allow_anonymous: true,
        users: Vec::new(),
    }
}

fn tcp(broker: &Mosquitto, name: &str) -> TcpStream {
    let addr = broker.addr(name).expect("listener");
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s
}

fn tls(
    broker: &Mosquitto,
    name: &str,
    pki: &Pki,
    identity: Option<&pki::CertFiles>,
) -> io::Result<openssl::ssl::SslStream<TcpStream>> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("builder");
    b.cert_store_mut()
        .add_cert(X509::from_pem(&pki.root.cert_pem).expect("root"))
        .expect("add root");
    if let Some(id) = identity {
        b.set_certificate_chain_file(id.chain_path())
            .expect("chain");
        b.set_private_key_file(&id.key, SslFiletype::PEM)
            .expect("key");
    }
    b.build()
        .connect("localhost", tcp(broker, name))
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Send a CONNECT and read one short packet back.
fn exchange(s: &mut (impl Read + Write), connect: &[u8]) -> io::Result<Vec<u8>> {
    s.write_all(connect)?;
    s.flush()?;
    let mut head = [0u8; 2];
    s.read_exact(&mut head)?;
    assert_eq!(head[1] & 0x80, 0, "short packets only");
    let mut body = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut body)?;
    Ok([&head[..], &body].concat())
}

#[test]
fn plain_and_tls_listeners_answer_connect() {
    if !crate::lab::broker_available(crate::lab::BrokerKind::Mosquitto, module_path!()) {
        return;
    }
    let (_dir, pki) = lab_pki();
    let mut mtls = tls_listener("mtls", &pki);
    if let Some(t) = mtls.tls.as_mut() {
        t.cafile = Some(pki.ca_bundle.clone());
        t.require_certificate = true;
    }
    let plain = Listener {
        name: "plain".into(),
        allow_anonymous: true,
        ..Listener::default()
    };
    let broker = start(&[plain, tls_listener("tls", &pki), mtls]);
    let config = broker.config();
    assert!(config.contains("per_listener_settings true"), "{config}");
    assert_eq!(config.matches("\nlistener ").count(), 3, "{config}");
    for name in ["plain", "tls", "mtls"] {
        let port = broker.port(name).expect(name);
        assert!(
            config.contains(&format!("listener {port} 127.0.0.1")),
            "{config}"
        );
    }
    assert_eq!(broker.port("nope"), None);

    let v311 = connect_packet(LEVEL_3_1_1, "plain-probe", None);
    let answer = exchange(&mut tcp(&broker, "plain"), &v311).expect("plain CONNACK");
    assert_eq!(answer, [0x20, 0x02, 0x00, 0x00]);

    let mut s = tls(&broker, "tls", &pki, None).expect("TLS handshake");
    assert_eq!(s.ssl().version_str(), "TLSv1.3");
    assert_eq!(
        exchange(&mut s, &v311).expect("TLS CONNACK"),
        [0x20, 2, 0, 0]
    );

    // require_certificate under TLS 1.3: the handshake completes and the rejection (alert
    // 116 certificate_required) waits in the socket. Reading before writing sees it.
    let mut s = tls(&broker, "mtls", &pki, None).expect("1.3 handshake completes");
    let err = s.read(&mut [0u8; 1]).expect_err("no client cert");
    assert!(
        format!("{err:?}").contains("certificate required"),
        "{err:?}"
    );
    // Writing the CONNECT first races with mosquitto's close: the RST answering our
    // CONNECT makes the kernel drop the queued alert, so the read may only say
    // ECONNRESET (observed 7 of 20 right after the handshake, 20 of 20 after 20 ms).
    let mut s = tls(&broker, "mtls", &pki, None).expect("1.3 handshake completes");
    let err = exchange(&mut s, &v311).expect_err("no client cert");
    assert!(
        format!("{err:?}").contains("certificate required")
            || err.kind() == io::ErrorKind::ConnectionReset,
        "{err:?}"
    );
    let mut s = tls(&broker, "mtls", &pki, Some(&pki.client)).expect("mTLS handshake");
    assert_eq!(
        exchange(&mut s, &v311).expect("mTLS CONNACK"),
        [0x20, 2, 0, 0]
    );

    let log = broker.log();
    assert!(log.contains("mosquitto version"), "{log}");
    assert!(log.contains("plain-probe"), "connection_messages: {log}");

    // Drop kills and reaps the broker, freeing its ports.
    let (pid, port) = (broker.pid(), broker.port("plain").expect("plain"));
    drop(broker);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} reaped"
    );
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
}

#[test]
fn refusals_for_anonymous_and_bad_credentials() {
    if !crate::lab::broker_available(crate::lab::BrokerKind::Mosquitto, module_path!()) {
        return;
    }
    let closed = Listener {
        name: "closed".into(),
        allow_anonymous: false,
        ..Listener::default()
    };
    let users = Listener {
        name: "users".into(),
        allow_anonymous: false,
        users: vec![("alice".into(), "secret".into())],
        ..Listener::default()
    };
    let users_or_anonymous = Listener {
        name: "users-or-anonymous".into(),
        allow_anonymous: true,
        ..users.clone()
    };
    let broker = start(&[closed, users, users_or_anonymous]);
    type Login<'a> = Option<(&'a str, &'a str)>;
    // (listener, login, expected 3.1.1 rc, expected v5 reason code), as observed on
    // mosquitto 2.0.11: bad credentials get "not authorized" (5 / 0x87), never
    // "bad user name or password" (4 / 0x86).
    let cases: [(&str, Login, u8, u8); 8] = [
        ("closed", None, 5, 0x87),
        ("users", None, 5, 0x87),
        ("users", Some(("alice", "wrong")), 5, 0x87),
        ("users", Some(("mallory", "secret")), 5, 0x87),
        ("users", Some(("alice", "secret")), 0, 0),
        ("users-or-anonymous", None, 0, 0),
        ("users-or-anonymous", Some(("alice", "wrong")), 5, 0x87),
        ("users-or-anonymous", Some(("alice", "secret")), 0, 0),
    ];
    for (listener, login, want_v311, want_v5) in cases {
        for (level, want) in [(LEVEL_3_1_1, want_v311), (LEVEL_5, want_v5)] {
            let connect = connect_packet(level, "auth-probe", login);
            let answer = exchange(&mut tcp(&broker, listener), &connect).expect("CONNACK");
            eprintln!("mosquitto {listener} level {level} login {login:?}: {answer:02x?}");
            let code = crate::lab::wire::connack_code(&answer);
            assert_eq!(code, Some(want), "{listener} level {level} {login:?}");
            // Refusals carry no properties; v5 success adds receive/topic-alias maximums.
            match (level, want) {
                (LEVEL_5, 0) => assert_eq!(answer[1], 9, "{answer:02x?}"),
                (LEVEL_5, _) => assert_eq!(answer, [0x20, 3, 0, want, 0]),
                _ => assert_eq!(answer, [0x20, 2, 0, want]),
            }
        }
    }
}

#[test]
fn a_broker_that_cannot_start_explains_why() {
    if !crate::lab::broker_available(crate::lab::BrokerKind::Mosquitto, module_path!()) {
        return;
    }
    let (_dir, pki) = lab_pki();
    let mut broken = tls_listener("broken", &pki);
    if let Some(t) = broken.tls.as_mut() {
        t.keyfile = pki.dir.join("does-not-exist.key");
    }
    let started = Instant::now();
    let err = Mosquitto::start(&[broken], DEADLINE).expect_err("must fail");
    eprintln!("failed start took {:?}: {err}", started.elapsed());
    match &err {
        LabError::Exited { log_tail, .. } => {
            assert!(
                log_tail.contains("Unable to load server key file"),
                "{log_tail}"
            );
        }
        other => panic!("expected Exited, got {other:?}"),
    }
    assert!(
        started.elapsed() < DEADLINE,
        "exit is detected, not waited out"
    );
}

#[test]
fn rejects_bad_listener_lists_before_starting() {
    let a = Listener {
        name: "a".into(),
        ..Listener::default()
    };
    let err = Mosquitto::start(&[a.clone(), a.clone()], DEADLINE).expect_err("dup");
    if mosquitto_binary().is_some() {
        assert!(
            matches!(err, LabError::DuplicateListener(ref n) if n == "a"),
            "{err}"
        );
    }
    let bad_user = Listener {
        users: vec![("al:ice".into(), "x".into())],
        ..a
    };
    let err = Mosquitto::start(&[bad_user], DEADLINE).expect_err("bad user");
    assert!(matches!(err, LabError::InvalidUser { .. }), "{err}");
}

#[test]
fn password_file_matches_mosquitto_passwd_format() {
    let file = password_file(&[("alice".into(), "secret".into())]).expect("hash");
    let line = file.trim_end();
    let parts: Vec<&str> = line.split('$').collect();
    assert_eq!(parts[..3], ["alice:", "7", "101"], "{line}");
    let salt = base64::decode_block(parts[3]).expect("salt");
    let hash = base64::decode_block(parts[4]).expect("hash");
    assert_eq!((salt.len(), hash.len()), (12, 64));
    let mut expected = [0u8; 64];
    openssl::pkcs5::pbkdf2_hmac(
        b"secret",
        &salt,
        101,
        MessageDigest::sha512(),
        &mut expected,
    )
    .expect("pbkdf2");
    assert_eq!(hash, expected);
}

#[test]
fn running_notice_detection() {
    let log = "12:00:00: mosquitto version 2.0.11 starting\n\
               12:00:00: Opening ipv4 listen socket on port 1883.\n";
    assert!(!has_running_notice(log));
    assert!(has_running_notice(&format!(
        "{log}12:00:00: mosquitto version 2.0.11 running\n"
    )));
}

#[test]
fn tail_keeps_the_last_lines() {
    assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    assert_eq!(tail("a", 5), "a");
    assert_eq!(tail("", 5), "");
}

#[test]
fn crlfile_and_ciphers_are_written_only_when_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = ListenerTls {
        certfile: PathBuf::from("/pki/server.crt"),
        keyfile: PathBuf::from("/pki/server.key"),
        ..ListenerTls::default()
    };
    let listener = |name: &str, tls: ListenerTls| Listener {
        name: name.into(),
        tls: Some(tls),
        ..Listener::default()
    };
    let listeners = [
        listener("plain-tls", tls.clone()),
        listener(
            "crl",
            ListenerTls {
                crlfile: Some(PathBuf::from("/pki/crl.pem")),
                ciphers: Some("DEFAULT:@SECLEVEL=0".into()),
                ..tls
            },
        ),
    ];
    let log = dir.path().join("log");
    let config = write_config(dir.path(), &listeners, &[], &[1, 2], &log).expect("config");
    let (first, second) = config.split_once("# crl").expect("two listeners");
    assert!(
        !first.contains("crlfile") && !first.contains("ciphers"),
        "{config}"
    );
    assert!(second.contains("\ncrlfile /pki/crl.pem\n"), "{config}");
    assert!(
        second.contains("\nciphers DEFAULT:@SECLEVEL=0\n"),
        "{config}"
    );
}
