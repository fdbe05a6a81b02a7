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
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::lab::wire;

/// Which TLS library terminates TLS on the server side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStack {
    /// OpenSSL through `tokio-openssl` (like mosquitto); the only stack that can serve TLS 1.0/1.1.
    Openssl,
    /// rustls with the aws-lc-rs provider through `tokio-rustls`.
    Rustls,
}

/// A TLS protocol version the server may be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.0 (OpenSSL stack only; lowers the security level to 0).
    Tls1_0,
    /// TLS 1.1 (OpenSSL stack only; lowers the security level to 0).
    Tls1_1,
    /// TLS 1.2.
    Tls1_2,
    /// TLS 1.3.
    Tls1_3,
}

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
    },
    PlainMqtt(MqttBehaviour),
    Silent,
    SendBytes(Vec<u8>),
    CloseImmediately,
    Reset,
}

enum Acceptor {
    Openssl(SslContext),
    Rustls(tokio_rustls::TlsAcceptor),
}

impl Plan {
    fn from_behaviour(behaviour: Behaviour) -> io::Result<Plan> {
        Ok(match behaviour {
            Behaviour::Tls(server) => Plan::tls(server, &TlsOptions::default())?,
            Behaviour::TlsWith(server, options) => Plan::tls(server, &options)?,
            Behaviour::PlainMqtt(mqtt) => Plan::PlainMqtt(mqtt),
            Behaviour::Silent => Plan::Silent,
            Behaviour::SendBytes(bytes) => Plan::SendBytes(bytes),
            Behaviour::CloseImmediately => Plan::CloseImmediately,
            Behaviour::Reset => Plan::Reset,
        })
    }

    fn tls(server: TlsServer, options: &TlsOptions) -> io::Result<Plan> {
        Ok(Plan::Tls {
            acceptor: match server.stack {
                ServerStack::Openssl => Acceptor::Openssl(openssl_context(&server, options)?),
                ServerStack::Rustls => Acceptor::Rustls(rustls_acceptor(&server, options)?),
            },
            alpn_required: !server.alpn.is_empty(),
            mqtt: server.mqtt,
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
        } => serve_tls(tcp, acceptor, *alpn_required, mqtt).await,
        Plan::PlainMqtt(mqtt) => {
            let mut tcp = tcp;
            serve_mqtt(&mut tcp, mqtt).await
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
) -> io::Result<()> {
    match acceptor {
        Acceptor::Openssl(ctx) => {
            let ssl = Ssl::new(ctx).map_err(io::Error::other)?;
            let mut tls = tokio_openssl::SslStream::new(ssl, tcp).map_err(io::Error::other)?;
            // A failed handshake (bad client cert, no shared version...) already sent its alert.
            Pin::new(&mut tls)
                .accept()
                .await
                .map_err(io::Error::other)?;
            if alpn_required && tls.ssl().selected_alpn_protocol().is_none() {
                return tls.shutdown().await;
            }
            serve_mqtt(&mut tls, mqtt).await
        }
        Acceptor::Rustls(acceptor) => {
            let mut tls = acceptor.accept(tcp).await?;
            if alpn_required && tls.get_ref().1.alpn_protocol().is_none() {
                return tls.shutdown().await;
            }
            serve_mqtt(&mut tls, mqtt).await
        }
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
    if packet.kind() != wire::CONNECT {
        return stream.shutdown().await;
    }
    let connect = match wire::parse_connect(&packet.body) {
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
        MqttBehaviour::CloseAfterConnect => return stream.shutdown().await,
        MqttBehaviour::Raw(bytes) => {
            stream.write_all(bytes).await?;
            stream.flush().await?;
            return drain(stream).await;
        }
    };
    stream
        .write_all(&wire::connack(connect.level, code))
        .await?;
    stream.flush().await?;
    if code != 0 {
        // A server closes the connection after a refusing CONNACK (MQTT 3.1.1 section 3.2.2.3).
        return stream.shutdown().await;
    }
    // Stay connected like a broker: answer pings until the client disconnects.
    while let Some(p) = wire::read_packet(stream, wire::MAX_REMAINING_LENGTH).await? {
        match p.kind() {
            wire::PINGREQ => {
                stream.write_all(&[0xd0, 0x00]).await?;
                stream.flush().await?;
            }
            wire::DISCONNECT => break,
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
    match (&connect.username, &connect.password) {
        (None, _) => not_authorized,
        (Some(u), Some(p)) if u == username && p.as_slice() == password.as_bytes() => 0,
        _ => bad_credentials,
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
    // Serve the chain exactly as given: OpenSSL would otherwise complete it from the store.
    b.set_mode(SslMode::NO_AUTO_CHAIN);
    let key = PKey::private_key_from_pem(&server.key_pem).map_err(e("server key PEM"))?;
    b.set_private_key(&key).map_err(e("server key"))?;
    b.check_private_key()
        .map_err(e("server key does not match the certificate"))?;
    // Needed for client-cert verification with session resumption ("session id context
    // uninitialized").
    b.set_session_id_context(b"mqtls-lab")
        .map_err(e("session id context"))?;

    if let Some((lowest, highest)) = version_range(&server.versions) {
        if lowest < TlsVersion::Tls1_2 {
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
    b.set_verify(mode);
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

fn rustls_acceptor(
    server: &TlsServer,
    options: &TlsOptions,
) -> io::Result<tokio_rustls::TlsAcceptor> {
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
            TlsVersion::Tls1_2 => versions.push(&rustls::version::TLS12),
            TlsVersion::Tls1_3 => versions.push(&rustls::version::TLS13),
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
            builder.with_client_cert_verifier(verifier)
        }
    };
    let chain = CertificateDer::pem_slice_iter(&server.chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| config_error("server chain PEM", err))?;
    let key = PrivateKeyDer::from_pem_slice(&server.key_pem)
        .map_err(|err| config_error("server key PEM", err))?;
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|err| config_error("server certificate/key", err))?;
    config.alpn_protocols = server.alpn.clone();
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

fn version_range(versions: &[TlsVersion]) -> Option<(TlsVersion, TlsVersion)> {
    Some((*versions.iter().min()?, *versions.iter().max()?))
}

fn ssl_version(v: TlsVersion) -> SslVersion {
    match v {
        TlsVersion::Tls1_0 => SslVersion::TLS1,
        TlsVersion::Tls1_1 => SslVersion::TLS1_1,
        TlsVersion::Tls1_2 => SslVersion::TLS1_2,
        TlsVersion::Tls1_3 => SslVersion::TLS1_3,
    }
}

#[cfg(test)]
mod tests {
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

    async fn openssl_client(
        tcp: TcpStream,
        pki: &Pki,
        opts: &ClientOpts<'_>,
    ) -> io::Result<Stream> {
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
            let packet = wire::Packet {
                header: answer[0],
                body: answer[2..].to_vec(),
            };
            assert_eq!(
                wire::connack_code(&packet),
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
        server.versions = vec![TlsVersion::Tls1_1];
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
        server.versions = vec![TlsVersion::Tls1_2];
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
}
