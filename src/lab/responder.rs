//! In-process test servers: a tokio listener on `127.0.0.1:0` that serves every connection
//! according to a [`Behaviour`] (TLS with OpenSSL or rustls, plain MQTT, silence, a banner,
//! a close or a reset).
//!
//! Used by `mqtls demo` when mosquitto is absent and by the probe tests. Each connection runs in
//! its own task, and nothing a client sends may panic the server: handshake failures and
//! malformed packets just close that connection. The responder never prints and never judges
//! what the client did; tests assert on what the client sees.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use openssl::pkey::PKey;
use openssl::ssl::{
    AlpnError, NameType, SniError, Ssl, SslAlert, SslContext, SslContextBuilder, SslFiletype,
    SslMethod, SslMode, SslVerifyMode, SslVersion,
};
use openssl::stack::Stack;
use openssl::x509::X509;
use openssl::x509::store::X509Lookup;
use openssl::x509::verify::X509VerifyFlags;
use rumqttc::mqttbytes::PacketType;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::lab::wire;

mod websocket;

pub use websocket::WsServer;

/// Which TLS library terminates TLS on the server side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStack {
    /// OpenSSL through `tokio-openssl` (like mosquitto); the only stack that can serve TLS 1.0/1.1.
    Openssl,
    /// rustls with the aws-lc-rs provider through `tokio-rustls`.
    Rustls,
}

/// A TLS protocol version the server may be limited to (the probes' own type).
pub use crate::evidence::TlsVersion;

/// Whether and how the server asks for a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// No CertificateRequest is sent.
    None,
    /// A certificate is requested and verified against `ca_pem` if sent, but may be omitted.
    Optional {
        /// PEM CA certificates trusted for client certificates.
        ca_pem: Vec<u8>,
    },
    /// A certificate verified against `ca_pem` is required (like mosquitto
    /// `require_certificate true`).
    Required {
        /// PEM CA certificates trusted for client certificates.
        ca_pem: Vec<u8>,
    },
}

/// A TLS endpoint, then MQTT inside it.
#[derive(Debug, Clone)]
pub struct TlsServer {
    /// TLS library to use.
    pub stack: ServerStack,
    /// PEM certificates sent to the client, exactly in file order (leaf first, normally).
    pub chain_pem: Vec<u8>,
    /// PEM private key of the first certificate.
    pub key_pem: Vec<u8>,
    /// Client certificate policy.
    pub client_auth: ClientAuth,
    /// Versions to allow; empty means the library default. The allowed range spans from the
    /// lowest to the highest listed version.
    pub versions: Vec<TlsVersion>,
    /// If non-empty, the client must offer one of these ALPN protocols: a mismatch gets alert
    /// `no_application_protocol`, and a client offering no ALPN at all is disconnected right
    /// after the handshake (neither library alerts on a missing extension).
    pub alpn: Vec<Vec<u8>>,
    /// What to do with MQTT once TLS is up.
    pub mqtt: MqttBehaviour,
}

/// Server behaviours beyond [`TlsServer`], for [`Behaviour::TlsWith`]. The default changes
/// nothing. They live apart from [`TlsServer`] so that its existing struct literals (the demo)
/// keep compiling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// What the server does with the SNI the client sends (OpenSSL stack only).
    pub sni: SniPolicy,
    /// An OpenSSL cipher list for TLS 1.2 and below (`SSL_CTX_set_cipher_list`), e.g.
    /// `ECDHE-ECDSA-AES256-SHA`, a CBC suite rustls never offers (OpenSSL stack only).
    pub ciphers: Option<String>,
    /// OpenSSL security level, set before the certificate is loaded: level 0 lets the server
    /// load what Debian's default level 2 refuses (`ca md too weak` for a SHA-1 signed leaf,
    /// `ee key too small` for RSA-1024), like a broker configured with `@SECLEVEL=0`
    /// (OpenSSL stack only).
    pub security_level: Option<u32>,
    /// A PEM CRL file checked against client certificates (OpenSSL `X509_V_FLAG_CRL_CHECK`,
    /// like mosquitto's `crlfile`; rustls: end-entity revocation). Needs client auth.
    pub crl_file: Option<PathBuf>,
    /// How a refusal at the TLS layer ends the connection: the library's alert (default), or a
    /// silent close or reset, as brokers that hang up without saying why do.
    pub hangup: Hangup,
    /// When the client certificate is checked (needs client auth).
    pub client_cert_check: CertCheck,
    /// Bytes to answer a client whose first byte is not a TLS handshake record (a plain MQTT
    /// CONNECT) with, then close: e.g. `15 03 03 00 02 02 32`, the fatal decode_error alert
    /// record an Erlang listener sends. `None`: the TLS library handles it.
    pub plain_reply: Option<Vec<u8>>,
    /// Chain completion: PEM CA certificates the server may complete the chain it sends from,
    /// as mosquitto does from its `cafile` (OpenSSL auto-chain; the rustls stack appends the
    /// ones that are not self-signed). `None`: the chain is served exactly as given.
    pub complete_chain_from: Option<Vec<u8>>,
    /// A WebSocket front after the handshake (a `wss` listener, or an HTTPS server): the
    /// client's HTTP request is answered per [`WsServer`] before MQTT. `None`: MQTT directly.
    /// Boxed to keep [`Behaviour::TlsWith`] near the size of the other variants.
    pub websocket: Option<Box<WsServer>>,
}

/// How the server ends a connection it refuses at the TLS layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Hangup {
    /// The TLS library's fatal alert, then a close.
    #[default]
    Alert,
    /// No alert: the alert record the library writes is swallowed, then FIN.
    Close,
    /// No alert: SO_LINGER 0, so the client gets a TCP RST.
    Reset,
}

/// When the server checks the client certificate against its CA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CertCheck {
    /// The TLS library checks it during the handshake (mosquitto, Python `ssl`).
    #[default]
    DuringHandshake,
    /// The handshake accepts any certificate (or none); the server checks afterwards and hangs
    /// up per [`Hangup`] (an alert then means a close: no library sends one after the
    /// handshake on request). Node.js `requestCert: true, rejectUnauthorized: false` brokers
    /// that look at `socket.authorized` themselves.
    AfterHandshake,
    /// A certificate is requested and never checked (the broker decides at MQTT).
    Never,
}

/// How the server reacts to the client's SNI, as cloud brokers and multi-tenant proxies do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SniPolicy {
    /// SNI does not matter.
    #[default]
    Ignore,
    /// The client must send this name: no SNI or another name gets a fatal
    /// `unrecognized_name` alert (112).
    Require(String),
    /// A client sending SNI `name` gets the server's own chain; no SNI or another name gets
    /// this other chain (a default certificate, e.g. `other-server`).
    Fallback {
        /// The SNI that selects the server's own chain.
        name: String,
        /// PEM chain served otherwise.
        chain_pem: Vec<u8>,
        /// Its PEM private key.
        key_pem: Vec<u8>,
    },
}

/// How the server answers the first MQTT packet (the CONNECT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttBehaviour {
    /// CONNACK success, then answer PINGREQ until the client leaves.
    Accept,
    /// CONNACK with this raw return/reason code (in the CONNECT's protocol version), then close.
    Refuse(u8),
    /// Anonymous CONNECT gets "not authorized" (3.1.1 rc 5, v5 0x87), wrong credentials get
    /// "bad user name or password" (3.1.1 rc 4, v5 0x86), the right ones succeed.
    RequireLogin {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: String,
    },
    /// Read the CONNECT and never answer (keep the connection open).
    Silent,
    /// Like [`MqttBehaviour::RequireLogin`], but anything other than the right credentials
    /// gets no CONNACK: the connection is closed (brokers that drop bad logins).
    CloseOnBadLogin {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: String,
    },
    /// Close the connection right after reading the CONNECT.
    CloseAfterConnect,
    /// Send these bytes instead of a CONNACK (truncated or malformed answers), then keep open.
    Raw(Vec<u8>),
}

/// What the responder does with each accepted TCP connection.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// TLS handshake, then MQTT.
    Tls(TlsServer),
    /// TLS handshake with extra server behaviours, then MQTT.
    TlsWith(TlsServer, TlsOptions),
    /// MQTT without TLS.
    PlainMqtt(MqttBehaviour),
    /// A WebSocket front without TLS (a `ws` listener, or a plain HTTP server), then MQTT.
    PlainWebSocket(WsServer, MqttBehaviour),
    /// Accept and never send anything; keep the connection open until the client closes.
    Silent,
    /// Write these bytes once (e.g. an HTTP banner), then keep open until the client closes.
    SendBytes(Vec<u8>),
    /// Close the connection right after accepting it (FIN).
    CloseImmediately,
    /// Set SO_LINGER to 0 and close, so the client gets a TCP RST.
    Reset,
}

/// A running test server. Dropping it stops the listener and every open connection.
#[derive(Debug)]
pub struct Responder {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Responder {
    /// Bind `127.0.0.1:0` and start serving `behaviour`. Fails if binding fails or the TLS
    /// configuration is unusable (bad PEM, key mismatch, TLS 1.0/1.1 asked of rustls); such
    /// configuration errors have kind `InvalidInput`.
    pub async fn start(behaviour: Behaviour) -> io::Result<Responder> {
        let plan = Arc::new(Plan::from_behaviour(behaviour)?);
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, plan));
        Ok(Responder { addr, task })
    }

    /// The listening address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

/// A [`Behaviour`] with its TLS configuration already built, shared by all connections.
enum Plan {
    Tls {
        acceptor: Acceptor,
        alpn_required: bool,
        mqtt: MqttBehaviour,
        after: AfterHandshake,
    },
    PlainMqtt(MqttBehaviour),
    PlainWebSocket(WsServer, MqttBehaviour),
    Silent,
    SendBytes(Vec<u8>),
    CloseImmediately,
    Reset,
}

enum Acceptor {
    Openssl(SslContext),
    Rustls(tokio_rustls::TlsAcceptor),
}

/// What [`TlsOptions`] asks of a connection beyond the handshake itself.
struct AfterHandshake {
    hangup: Hangup,
    /// `Some(required)`: check the client certificate after the handshake.
    check: Option<bool>,
    /// The real client verifier of the rustls stack, for that check.
    rustls_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
    plain_reply: Option<Vec<u8>>,
    websocket: Option<WsServer>,
}

impl Plan {
    fn from_behaviour(behaviour: Behaviour) -> io::Result<Plan> {
        Ok(match behaviour {
            Behaviour::Tls(server) => Plan::tls(server, &TlsOptions::default())?,
            Behaviour::TlsWith(server, options) => Plan::tls(server, &options)?,
            Behaviour::PlainMqtt(mqtt) => Plan::PlainMqtt(mqtt),
            Behaviour::PlainWebSocket(ws, mqtt) => Plan::PlainWebSocket(ws, mqtt),
            Behaviour::Silent => Plan::Silent,
            Behaviour::SendBytes(bytes) => Plan::SendBytes(bytes),
            Behaviour::CloseImmediately => Plan::CloseImmediately,
            Behaviour::Reset => Plan::Reset,
        })
    }

    fn tls(server: TlsServer, options: &TlsOptions) -> io::Result<Plan> {
        let requested = server.client_auth != ClientAuth::None;
        if options.client_cert_check != CertCheck::DuringHandshake && !requested {
            return Err(config_error(
                "client certificate check",
                "checking a client certificate needs client auth",
            ));
        }
        let mut rustls_verifier = None;
        let acceptor = match server.stack {
            ServerStack::Openssl => Acceptor::Openssl(openssl_context(&server, options)?),
            ServerStack::Rustls => {
                let (acceptor, verifier) = rustls_acceptor(&server, options)?;
                rustls_verifier = verifier;
                Acceptor::Rustls(acceptor)
            }
        };
        Ok(Plan::Tls {
            acceptor,
            alpn_required: !server.alpn.is_empty(),
            mqtt: server.mqtt,
            after: AfterHandshake {
                hangup: options.hangup,
                check: (options.client_cert_check == CertCheck::AfterHandshake)
                    .then_some(matches!(server.client_auth, ClientAuth::Required { .. })),
                rustls_verifier,
                plain_reply: options.plain_reply.clone(),
                websocket: options.websocket.as_deref().cloned(),
            },
        })
    }
}

async fn accept_loop(listener: TcpListener, plan: Arc<Plan>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // Accept errors (e.g. EMFILE) are transient for a test server: keep listening.
                if let Ok((tcp, _peer)) = accepted {
                    connections.spawn(serve(tcp, Arc::clone(&plan)));
                }
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serve one connection. Errors only mean "this client went away or misbehaved".
async fn serve(tcp: TcpStream, plan: Arc<Plan>) {
    // Without NODELAY the CONNACK after a TLS 1.3 handshake can sit ~40 ms behind Nagle.
    let _ = tcp.set_nodelay(true);
    let _ = match &*plan {
        Plan::Tls {
            acceptor,
            alpn_required,
            mqtt,
            after,
        } => serve_tls(tcp, acceptor, *alpn_required, mqtt, after).await,
        Plan::PlainMqtt(mqtt) => {
            let mut tcp = tcp;
            serve_mqtt(&mut tcp, mqtt).await
        }
        Plan::PlainWebSocket(ws, mqtt) => {
            let mut tcp = tcp;
            websocket::serve(&mut tcp, ws, mqtt).await
        }
        Plan::Silent => drain(tcp).await,
        Plan::SendBytes(bytes) => {
            let mut tcp = tcp;
            match tcp.write_all(bytes).await {
                Ok(()) => drain(tcp).await,
                Err(e) => Err(e),
            }
        }
        Plan::CloseImmediately => Ok(()),
        Plan::Reset => tcp.set_zero_linger(),
    };
}

async fn serve_tls(
    tcp: TcpStream,
    acceptor: &Acceptor,
    alpn_required: bool,
    mqtt: &MqttBehaviour,
    after: &AfterHandshake,
) -> io::Result<()> {
    if let Some(reply) = &after.plain_reply {
        let mut first = [0u8; 1];
        if tcp.peek(&mut first).await? == 1 && first[0] != 0x16 {
            let mut tcp = tcp;
            tcp.write_all(reply).await?;
            return tcp.shutdown().await;
        }
    }
    if after.hangup == Hangup::Reset {
        // Every close of this connection is then a reset, the refusals included.
        tcp.set_zero_linger()?;
    }
    let tcp = Muzzle::new(tcp, after.hangup != Hangup::Alert);
    let muzzle = Arc::clone(&tcp.handshaking);
    let rejected = |muzzle: &std::sync::atomic::AtomicBool| {
        muzzle.store(false, std::sync::atomic::Ordering::Relaxed);
    };
    match acceptor {
        Acceptor::Openssl(ctx) => {
            let ssl = Ssl::new(ctx).map_err(io::Error::other)?;
            let mut tls = tokio_openssl::SslStream::new(ssl, tcp).map_err(io::Error::other)?;
            // A failed handshake (bad client cert, no shared version...) already sent its alert
            // (or, muzzled, none).
            Pin::new(&mut tls)
                .accept()
                .await
                .map_err(io::Error::other)?;
            rejected(&muzzle);
            if let Some(required) = after.check {
                let ok = match tls.ssl().peer_certificate() {
                    None => !required,
                    Some(_) => tls.ssl().verify_result() == openssl::x509::X509VerifyResult::OK,
                };
                if !ok {
                    // Hang up without a word (a reset when asked for: zero linger is set).
                    return Ok(());
                }
            }
            if alpn_required && tls.ssl().selected_alpn_protocol().is_none() {
                return tls.shutdown().await;
            }
            match &after.websocket {
                Some(ws) => websocket::serve(&mut tls, ws, mqtt).await,
                None => serve_mqtt(&mut tls, mqtt).await,
            }
        }
        Acceptor::Rustls(acceptor) => {
            let mut tls = acceptor.accept(tcp).await?;
            rejected(&muzzle);
            if let (Some(required), Some(verifier)) = (after.check, &after.rustls_verifier) {
                let ok = match tls.get_ref().1.peer_certificates() {
                    Some([leaf, rest @ ..]) => verifier
                        .verify_client_cert(leaf, rest, rustls::pki_types::UnixTime::now())
                        .is_ok(),
                    _ => !required,
                };
                if !ok {
                    return Ok(());
                }
            }
            if alpn_required && tls.get_ref().1.alpn_protocol().is_none() {
                return tls.shutdown().await;
            }
            match &after.websocket {
                Some(ws) => websocket::serve(&mut tls, ws, mqtt).await,
                None => serve_mqtt(&mut tls, mqtt).await,
            }
        }
    }
}

/// The server's TCP stream, which during the handshake can swallow the alert the TLS library
/// writes when it refuses ([`Hangup::Close`], [`Hangup::Reset`]): a plaintext alert record
/// (type 0x15), or a TLS 1.3 encrypted one (a lone type-0x17 record of 24 bytes: a 2-byte
/// alert, its content type and a 16-byte tag).
struct Muzzle {
    inner: TcpStream,
    /// Swallow alerts (set while the handshake runs, for a silent hang-up).
    handshaking: Arc<std::sync::atomic::AtomicBool>,
}

impl Muzzle {
    fn new(inner: TcpStream, silent: bool) -> Muzzle {
        Muzzle {
            inner,
            handshaking: Arc::new(std::sync::atomic::AtomicBool::new(silent)),
        }
    }

    fn swallows(&self, buf: &[u8]) -> bool {
        self.handshaking.load(std::sync::atomic::Ordering::Relaxed)
            && match buf {
                [0x15, 0x03, ..] => true,
                [0x17, 0x03, _, 0x00, 19] => true,
                _ => buf.len() == 24 && buf.starts_with(&[0x17, 0x03]),
            }
    }
}

impl AsyncRead for Muzzle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Muzzle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        if self.swallows(buf) {
            return std::task::Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> std::task::Poll<io::Result<usize>> {
        // rustls writes each record as its own slice: an alert is swallowed alone.
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && self.swallows(first)
        {
            return std::task::Poll::Ready(Ok(first.len()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Read the CONNECT and answer it per `behaviour`.
async fn serve_mqtt<S>(stream: &mut S, behaviour: &MqttBehaviour) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(packet) = wire::read_packet(stream, wire::MAX_REMAINING_LENGTH).await? else {
        return Ok(());
    };
    if packet.packet_type() != Some(PacketType::Connect) {
        return stream.shutdown().await;
    }
    let connect = match packet.connect() {
        Ok(c) => c,
        Err(_) => return stream.shutdown().await,
    };
    let code = match behaviour {
        MqttBehaviour::Accept => 0,
        MqttBehaviour::Refuse(code) => *code,
        MqttBehaviour::RequireLogin { username, password } => {
            login_code(&connect, username, password)
        }
        MqttBehaviour::Silent => return drain(stream).await,
        MqttBehaviour::CloseOnBadLogin { username, password } => {
            match login_code(&connect, username, password) {
                0 => 0,
                // No CONNACK: just hang up.
                _ => return stream.shutdown().await,
            }
        }
        MqttBehaviour::CloseAfterConnect => return stream.shutdown().await,
        MqttBehaviour::Raw(bytes) => {
            stream.write_all(bytes).await?;
            stream.flush().await?;
            return drain(stream).await;
        }
    };
    stream
        .write_all(&wire::connack(connect.protocol, code))
        .await?;
    stream.flush().await?;
    if code != 0 {
        // A server closes the connection after a refusing CONNACK (MQTT 3.1.1 section 3.2.2.3).
        return stream.shutdown().await;
    }
    // Stay connected like a broker: answer pings until the client disconnects.
    while let Some(p) = wire::read_packet(stream, wire::MAX_REMAINING_LENGTH).await? {
        match p.packet_type() {
            Some(PacketType::PingReq) => {
                stream.write_all(&wire::pingresp()).await?;
                stream.flush().await?;
            }
            Some(PacketType::Disconnect) => break,
            _ => {}
        }
    }
    stream.shutdown().await
}

/// The CONNACK code for a login check, in the CONNECT's protocol version.
fn login_code(connect: &wire::Connect, username: &str, password: &str) -> u8 {
    let (not_authorized, bad_credentials) = if connect.is_v5() {
        (0x87, 0x86)
    } else {
        (5, 4)
    };
    match &connect.login {
        None => not_authorized,
        Some(login) if login.validate(username, password) => 0,
        Some(_) => bad_credentials,
    }
}

/// Read and discard until the peer closes, keeping the connection open meanwhile.
async fn drain<S: AsyncRead + Unpin>(mut stream: S) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

fn config_error(what: &str, err: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {err}"))
}

fn openssl_context(server: &TlsServer, options: &TlsOptions) -> io::Result<SslContext> {
    let e = |what: &'static str| move |err: openssl::error::ErrorStack| config_error(what, err);
    let mut b = SslContextBuilder::new(SslMethod::tls_server()).map_err(e("openssl context"))?;
    if let Some(level) = options.security_level {
        // Before the certificate: SSL_CTX_use_certificate applies the level to it.
        b.set_security_level(level);
    }
    let mut chain = X509::stack_from_pem(&server.chain_pem)
        .map_err(e("server chain PEM"))?
        .into_iter();
    let leaf = chain
        .next()
        .ok_or_else(|| config_error("server chain PEM", "no certificate"))?;
    b.set_certificate(&leaf).map_err(e("server certificate"))?;
    for cert in chain {
        b.add_extra_chain_cert(cert).map_err(e("server chain"))?;
    }
    match &options.complete_chain_from {
        // Serve the chain exactly as given: OpenSSL would otherwise complete it from the store.
        None => {
            b.set_mode(SslMode::NO_AUTO_CHAIN);
        }
        // OpenSSL builds the chain it sends from the context's store.
        Some(pem) => {
            for ca in X509::stack_from_pem(pem).map_err(e("chain completion PEM"))? {
                b.cert_store_mut()
                    .add_cert(ca)
                    .map_err(e("chain completion store"))?;
            }
        }
    }
    let key = PKey::private_key_from_pem(&server.key_pem).map_err(e("server key PEM"))?;
    b.set_private_key(&key).map_err(e("server key"))?;
    b.check_private_key()
        .map_err(e("server key does not match the certificate"))?;
    // Needed for client-cert verification with session resumption ("session id context
    // uninitialized").
    b.set_session_id_context(b"mqtls-lab")
        .map_err(e("session id context"))?;

    if let Some((lowest, highest)) = version_range(&server.versions) {
        if lowest < TlsVersion::Tls12 {
            // Debian's OpenSSL defaults to security level 2, which refuses TLS 1.0/1.1.
            b.set_security_level(0);
            b.set_cipher_list("DEFAULT:@SECLEVEL=0")
                .map_err(e("cipher list"))?;
        }
        b.set_min_proto_version(Some(ssl_version(lowest)))
            .map_err(e("min version"))?;
        b.set_max_proto_version(Some(ssl_version(highest)))
            .map_err(e("max version"))?;
    }
    if let Some(ciphers) = &options.ciphers {
        b.set_cipher_list(ciphers).map_err(e("cipher list"))?;
    }

    let (mode, ca_pem) = match &server.client_auth {
        ClientAuth::None => (SslVerifyMode::NONE, None),
        ClientAuth::Optional { ca_pem } => (SslVerifyMode::PEER, Some(ca_pem)),
        // Checked later (or never): ask, and let the handshake through whatever comes.
        ClientAuth::Required { ca_pem }
            if options.client_cert_check != CertCheck::DuringHandshake =>
        {
            (SslVerifyMode::PEER, Some(ca_pem))
        }
        ClientAuth::Required { ca_pem } => (
            SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
            Some(ca_pem),
        ),
    };
    if let Some(ca_pem) = ca_pem {
        let cas = X509::stack_from_pem(ca_pem).map_err(e("client CA PEM"))?;
        let mut names = Stack::new().map_err(e("client CA names"))?;
        for ca in cas {
            let name = ca.subject_name().to_owned().map_err(e("client CA name"))?;
            names.push(name).map_err(e("client CA names"))?;
            // The context's own store, as mosquitto's `cafile` does; NO_AUTO_CHAIN keeps it
            // out of the served chain.
            b.cert_store_mut()
                .add_cert(ca)
                .map_err(e("client CA store"))?;
        }
        b.set_client_ca_list(names);
    }
    if let Some(crl) = &options.crl_file {
        if ca_pem.is_none() {
            return Err(config_error("CRL", "a CRL needs client authentication"));
        }
        let store = b.cert_store_mut();
        store
            .add_lookup(X509Lookup::file())
            .map_err(e("CRL lookup"))?
            .load_crl_file(crl, SslFiletype::PEM)
            .map_err(e("CRL file"))?;
        // Leaf only, like mosquitto's `crlfile`: the CRL is the leaf issuer's.
        store
            .set_flags(X509VerifyFlags::CRL_CHECK)
            .map_err(e("CRL flags"))?;
    }
    if options.client_cert_check == CertCheck::DuringHandshake {
        b.set_verify(mode);
    } else {
        // The verdict stays in SSL_get_verify_result for a check after the handshake.
        b.set_verify_callback(mode, |_, _| true);
    }
    openssl_sni(&mut b, server, options)?;

    if !server.alpn.is_empty() {
        let ours = server.alpn.clone();
        b.set_alpn_select_callback(move |_ssl, offered| {
            alpn_pick(&ours, offered).ok_or(AlpnError::ALERT_FATAL)
        });
    }
    Ok(b.build())
}

/// Installs the servername callback of [`TlsOptions::sni`]. OpenSSL calls it for every
/// ClientHello, with or without the extension.
fn openssl_sni(
    b: &mut SslContextBuilder,
    server: &TlsServer,
    options: &TlsOptions,
) -> io::Result<()> {
    match &options.sni {
        SniPolicy::Ignore => {}
        SniPolicy::Require(name) => {
            let name = name.clone();
            b.set_servername_callback(move |ssl, alert| {
                if ssl.servername(NameType::HOST_NAME) == Some(name.as_str()) {
                    Ok(())
                } else {
                    *alert = SslAlert::UNRECOGNIZED_NAME;
                    Err(SniError::ALERT_FATAL)
                }
            });
        }
        SniPolicy::Fallback {
            name,
            chain_pem,
            key_pem,
        } => {
            let other = TlsServer {
                chain_pem: chain_pem.clone(),
                key_pem: key_pem.clone(),
                ..server.clone()
            };
            let plain = TlsOptions {
                sni: SniPolicy::Ignore,
                ..options.clone()
            };
            let fallback = openssl_context(&other, &plain)?;
            let name = name.clone();
            b.set_servername_callback(move |ssl, _alert| {
                if ssl.servername(NameType::HOST_NAME) == Some(name.as_str()) {
                    return Ok(());
                }
                // Switching the context switches the certificate and key served.
                ssl.set_ssl_context(&fallback)
                    .map_err(|_| SniError::ALERT_FATAL)
            });
        }
    }
    Ok(())
}

/// Pick the first protocol of the client's ALPN list (wire format) that we support.
fn alpn_pick<'a>(ours: &[Vec<u8>], mut offered: &'a [u8]) -> Option<&'a [u8]> {
    while let Some((&len, rest)) = offered.split_first() {
        let len = usize::from(len);
        let proto = rest.get(..len)?;
        if ours.iter().any(|p| p.as_slice() == proto) {
            return Some(proto);
        }
        offered = &rest[len..];
    }
    None
}

type RustlsAcceptor = (
    tokio_rustls::TlsAcceptor,
    Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
);

fn rustls_acceptor(server: &TlsServer, options: &TlsOptions) -> io::Result<RustlsAcceptor> {
    if options.sni != SniPolicy::Ignore
        || options.ciphers.is_some()
        || options.security_level.is_some()
    {
        return Err(config_error(
            "rustls server options",
            "SNI policies, cipher lists and security levels are OpenSSL-stack options",
        ));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    for v in &server.versions {
        match v {
            TlsVersion::Tls12 => versions.push(&rustls::version::TLS12),
            TlsVersion::Tls13 => versions.push(&rustls::version::TLS13),
            old => {
                return Err(config_error(
                    "rustls server versions",
                    format!("{old:?} is not supported by rustls (use ServerStack::Openssl)"),
                ));
            }
        }
    }
    if versions.is_empty() {
        versions = rustls::DEFAULT_VERSIONS.to_vec();
    }
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|err| config_error("rustls versions", err))?;
    let mut real_verifier = None;
    let builder = match &server.client_auth {
        ClientAuth::None if options.crl_file.is_some() => {
            return Err(config_error("CRL", "a CRL needs client authentication"));
        }
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Optional { ca_pem } | ClientAuth::Required { ca_pem } => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca_pem) {
                let cert = cert.map_err(|err| config_error("client CA PEM", err))?;
                roots
                    .add(cert)
                    .map_err(|err| config_error("client CA", err))?;
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            if matches!(server.client_auth, ClientAuth::Optional { .. }) {
                verifier = verifier.allow_unauthenticated();
            }
            if let Some(path) = &options.crl_file {
                let crl = CertificateRevocationListDer::from_pem_file(path)
                    .map_err(|err| config_error("CRL file", err))?;
                verifier = verifier.with_crls([crl]).only_check_end_entity_revocation();
            }
            let verifier = verifier
                .build()
                .map_err(|err| config_error("client verifier", err))?;
            if options.client_cert_check == CertCheck::DuringHandshake {
                builder.with_client_cert_verifier(verifier)
            } else {
                real_verifier = Some(Arc::clone(&verifier));
                builder.with_client_cert_verifier(Arc::new(AcceptAnyClientCert(verifier)))
            }
        }
    };
    let mut chain = CertificateDer::pem_slice_iter(&server.chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| config_error("server chain PEM", err))?;
    if let Some(pem) = &options.complete_chain_from {
        // rustls sends what it is given: append the intermediates (not the self-signed roots).
        for ca in
            X509::stack_from_pem(pem).map_err(|err| config_error("chain completion PEM", err))?
        {
            let self_signed = ca.issued(&ca) == openssl::x509::X509VerifyResult::OK;
            let der = ca
                .to_der()
                .map_err(|err| config_error("chain completion", err))?;
            if !self_signed && !chain.iter().any(|c| c.as_ref() == der.as_slice()) {
                chain.push(CertificateDer::from(der));
            }
        }
    }
    let key = PrivateKeyDer::from_pem_slice(&server.key_pem)
        .map_err(|err| config_error("server key PEM", err))?;
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|err| config_error("server certificate/key", err))?;
    config.alpn_protocols = server.alpn.clone();
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        real_verifier,
    ))
}

/// Asks for a client certificate with the real verifier's CA names and lets any (or none)
/// through; handshake signatures are still checked. For [`CertCheck::AfterHandshake`] and
/// [`CertCheck::Never`].
#[derive(Debug)]
struct AcceptAnyClientCert(Arc<dyn rustls::server::danger::ClientCertVerifier>);

impl rustls::server::danger::ClientCertVerifier for AcceptAnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn version_range(versions: &[TlsVersion]) -> Option<(TlsVersion, TlsVersion)> {
    Some((*versions.iter().min()?, *versions.iter().max()?))
}

fn ssl_version(v: TlsVersion) -> SslVersion {
    match v {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

#[cfg(test)]
mod tests;
