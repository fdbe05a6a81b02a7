//! The probe engine: resolve → TCP → TLS → MQTT CONNECT/CONNACK → [`Evidence`].
//!
//! A probe never fails: refusals, alerts, timeouts and bad certificates are recorded in the
//! evidence. The phases that are the same for every backend (resolution, TCP, MQTT) live
//! here; each TLS backend contributes a handshake and a mapping of its native errors. Every
//! phase has its own deadline, so one probe ends within four timeouts whatever the peer does.
//! Nothing here prints or classifies.

pub mod followup;
pub mod mqtt;
pub mod openssl;
pub mod psk;
pub mod rustls;
pub mod tap;
pub mod ws;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::evidence::{Backend, Closer, Evidence, Failure, Phase};
pub use crate::evidence::{PlainProbe, SILENT_AFTER_HANDSHAKE, TlsVersion};
use crate::target::Target;
use crate::x509::hex;
use mqtt::{ConnectSettings, MqttError};
use tap::{Tap, TapHandle};

/// What to probe and how; the same for every backend.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    /// Where.
    pub target: Target,
    /// The SNI to send; `None` sends none.
    pub sni: Option<String>,
    /// The name the broker's certificate is verified against.
    pub expect_name: String,
    /// Versions to offer; empty means the backend's defaults.
    pub tls_versions: Vec<TlsVersion>,
    /// ALPN protocols to offer.
    pub alpn: Vec<String>,
    /// The CONNECT to send.
    pub mqtt: ConnectSettings,
    /// Deadline of each phase.
    pub timeout: Duration,
    /// The instant the broker's chain is verified at, UNIX seconds; `None` is now. Both
    /// backends check validity periods at this instant, and the diagnosis judges at it, so a
    /// probe can be replayed at the instant a failure happened (or a test case was written for).
    pub verify_at: Option<i64>,
}

/// The trust anchors the probes verify against.
#[derive(Debug, Clone)]
pub enum Anchors {
    /// The system's roots (no `--cafile`).
    System,
    /// The certificates of the user's CA file(s), parsed once per run.
    Certs(Vec<CertificateDer<'static>>),
}

/// A client certificate chain and its private key, decrypted and parsed once per run.
pub struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("chain", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// Trust anchors and client identity, shared by every probe of a run.
#[derive(Debug, Clone)]
pub struct TlsInputs {
    /// What to trust.
    pub anchors: Anchors,
    /// Who to be, if the broker asks.
    pub identity: Option<Identity>,
    /// The external pre-shared key to offer (`--psk-identity`, `--psk-key-env`).
    pub psk: Option<psk::Psk>,
    /// The backend state built from `anchors` and `identity`, shared by every probe that uses
    /// these inputs (inputs are never changed after loading).
    pub prepared: Arc<PreparedCache>,
}

impl TlsInputs {
    /// Inputs with an empty cache of backend state.
    pub fn new(anchors: Anchors, identity: Option<Identity>) -> TlsInputs {
        TlsInputs {
            anchors,
            identity,
            psk: None,
            prepared: Arc::default(),
        }
    }
}

/// Backend state built once per set of inputs, on first use: the rustls verifier (over one
/// parsed root store) and client key, and one OpenSSL context, holding one `X509Store`, per
/// combination of versions and ALPN offered. Without it every case of a suite and every host of
/// a scan re-parsed the CA file (and, with the system roots, re-read the whole system store).
#[derive(Default)]
pub struct PreparedCache {
    rustls: std::sync::OnceLock<rustls::RustlsPrepared>,
    openssl: std::sync::Mutex<Vec<(OpensslKey, openssl::OpensslPrepared)>>,
}

/// What an OpenSSL context depends on besides the inputs.
type OpensslKey = (Vec<TlsVersion>, Vec<String>);

impl std::fmt::Debug for PreparedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCache").finish_non_exhaustive()
    }
}

impl PreparedCache {
    fn rustls(&self, inputs: &TlsInputs) -> rustls::RustlsPrepared {
        self.rustls
            .get_or_init(|| rustls::RustlsPrepared::new(inputs))
            .clone()
    }

    fn openssl(&self, inputs: &TlsInputs, request: &ProbeRequest) -> openssl::OpensslPrepared {
        let key = (request.tls_versions.clone(), request.alpn.clone());
        // A poisoned lock only means another probe panicked while building; build anew.
        let Ok(mut built) = self.openssl.lock() else {
            return openssl::OpensslPrepared::new(inputs, request);
        };
        if let Some((_, prepared)) = built.iter().find(|(k, _)| *k == key) {
            return prepared.clone();
        }
        let prepared = openssl::OpensslPrepared::new(inputs, request);
        built.push((key, prepared.clone()));
        prepared
    }
}

/// The name and version of the TLS library behind `backend`, as evidence records it.
pub fn library(backend: Backend) -> String {
    match backend {
        Backend::Rustls => rustls::library(),
        Backend::Openssl => openssl::library(),
    }
}

/// A prepared prober: request plus backend state (configs, trust stores) built once.
pub struct Prober {
    request: ProbeRequest,
    rustls: rustls::RustlsPrepared,
    openssl: openssl::OpensslPrepared,
    /// The PSK offered, if any: rustls then records "not supported by this stack".
    psk: Option<psk::Psk>,
    /// The local port of every connection made, follow-ups included: what ties a broker's log
    /// lines ("New connection from 127.0.0.1:PORT") to this diagnosis.
    client_ports: std::sync::Mutex<Vec<u16>>,
    /// Speak MQTT directly even to a `ws://`/`wss://` target: the follow-up that tells a port
    /// speaking MQTT over TCP or TLS (see [`Prober::without_websocket`]).
    no_websocket: bool,
}

impl Prober {
    /// Prepares both backends from the run's inputs. Backend-specific trouble (a key rustls
    /// cannot load, an empty trust store) is kept and reported as evidence by the probe.
    pub fn new(request: ProbeRequest, inputs: &TlsInputs) -> Prober {
        Prober {
            client_ports: std::sync::Mutex::new(Vec::new()),
            no_websocket: false,
            rustls: inputs.prepared.rustls(inputs),
            openssl: inputs.prepared.openssl(inputs, &request),
            psk: inputs.psk.clone(),
            request,
        }
    }

    /// The request this prober runs.
    pub fn request(&self) -> &ProbeRequest {
        &self.request
    }

    /// The local ports of the connections made so far.
    pub fn client_ports(&self) -> Vec<u16> {
        self.client_ports
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// [`connect`], remembering the local port.
    pub(crate) async fn connect(&self, ev: &mut Evidence) -> Option<(TcpStream, SocketAddr)> {
        let connected = connect(&self.request, ev).await;
        if let Some((tcp, _)) = &connected
            && let Ok(local) = tcp.local_addr()
            && let Ok(mut ports) = self.client_ports.lock()
        {
            ports.push(local.port());
        }
        connected
    }

    /// Runs one probe on one backend. Never fails; never takes longer than four timeouts, or
    /// twice that when the retry below runs.
    ///
    /// Under TLS 1.3 a broker rejects our client certificate only after our handshake ends,
    /// with an alert and a close. If our CONNECT reaches the broker after that close, its RST
    /// makes the kernel drop the queued alert and we see a bare reset. When a TLS 1.3 probe
    /// ends that way, it is repeated once reading before writing, so the alert is not lost.
    pub async fn probe(&self, backend: Backend) -> Evidence {
        let first = self.probe_once(backend, false, &self.request.mqtt).await;
        let lost_alert = first.tls.version.as_deref() == Some("TLSv1.3")
            && matches!(first.failure, Some(Failure::NoConnAck { closed: true }));
        if !lost_alert {
            return first;
        }
        let mut second = self.probe_once(backend, true, &self.request.mqtt).await;
        // A silent hang-up before CONNECT is evidence about the handshake only when the broker
        // asked for a certificate; otherwise the first attempt, which did send CONNECT, is the
        // better evidence (a broker that closes on an MQTT version it does not speak, where a
        // second connection may be dropped early for its own reasons).
        let silent = second.notes.iter().any(|n| n == SILENT_AFTER_HANDSHAKE);
        if silent && second.client_cert_requested != Some(true) {
            let mut first = first;
            first.notes.push(
                "a second attempt that read before sending CONNECT saw the broker hang up without an alert; no certificate was requested, so that says nothing about the handshake and this first attempt stands".to_string(),
            );
            return first;
        }
        second.notes.push(format!(
            "the first attempt ended with \"{}\" right after a TLS 1.3 handshake; this second attempt read before sending CONNECT",
            first.raw_error.as_deref().unwrap_or("a close")
        ));
        second
    }

    /// The probe again with another MQTT version in the CONNECT: the follow-up that tells a
    /// broker that does not speak the version asked for (`mqtt_protocol_rejected`).
    pub async fn probe_mqtt_version(
        &self,
        backend: Backend,
        version: mqtt::MqttVersion,
    ) -> Evidence {
        let settings = ConnectSettings {
            version,
            ..self.request.mqtt.clone()
        };
        self.probe_once(backend, false, &settings).await
    }

    async fn probe_once(
        &self,
        backend: Backend,
        read_first: bool,
        settings: &ConnectSettings,
    ) -> Evidence {
        let started = Instant::now();
        let mut ev = Evidence::new(backend, library(backend));
        if let (Backend::Rustls, Some(psk)) = (backend, &self.psk) {
            // Nothing to try: a certificate handshake would not test what the user asked.
            psk::unsupported(psk, &mut ev);
            ev.phase = Phase::Tls;
            return ev;
        }
        if let Some((tcp, _)) = self.connect(&mut ev).await {
            let (tap, handle) = Tap::new(tcp);
            ev.phase = Phase::Tls;
            let tls_started = Instant::now();
            match backend {
                Backend::Rustls => {
                    let stream = self.rustls.handshake(tap, &self.request, &mut ev).await;
                    ev.timings.tls_ms = Some(ms(tls_started));
                    if let Some(mut s) = stream {
                        self.exchange(
                            &mut s,
                            &mut ev,
                            settings,
                            read_first,
                            rustls::failure_from_io,
                        )
                        .await;
                    }
                }
                Backend::Openssl => {
                    let stream = self.openssl.handshake(tap, &self.request, &mut ev).await;
                    ev.timings.tls_ms = Some(ms(tls_started));
                    if let Some(mut s) = stream {
                        self.exchange(
                            &mut s,
                            &mut ev,
                            settings,
                            read_first,
                            openssl::failure_from_io,
                        )
                        .await;
                    }
                }
            }
            record_tap(&handle, &mut ev);
        }
        ev.elapsed_ms = ms(started);
        ev
    }

    /// A plain MQTT CONNECT on a fresh connection (no TLS), bounded like any phase.
    pub async fn probe_plain(&self) -> PlainProbe {
        let mut scratch = Evidence::new(Backend::Openssl, String::new());
        let Some((tcp, _)) = self.connect(&mut scratch).await else {
            return PlainProbe {
                connack: None,
                detail: Some(format!("no TCP connection: {:?}", scratch.failure)),
            };
        };
        let (mut tap, _) = Tap::new(tcp);
        let settings = self.request.mqtt.clone();
        match tokio::time::timeout(self.request.timeout, mqtt::exchange(&mut tap, &settings)).await
        {
            Ok(Ok(ack)) => {
                disconnect(&mut tap, self.request.timeout).await;
                PlainProbe {
                    connack: Some(ack),
                    detail: None,
                }
            }
            Ok(Err(e)) => PlainProbe {
                connack: None,
                detail: Some(e.to_string()),
            },
            Err(_) => PlainProbe {
                connack: None,
                detail: Some("no answer to a plain CONNECT before the deadline".into()),
            },
        }
    }

    /// A plain MQTT probe recorded as evidence (for `mqtt://` targets).
    pub async fn probe_plain_evidence(&self, backend: Backend) -> Evidence {
        let started = Instant::now();
        let mut ev = Evidence::new(backend, "plain MQTT (no TLS)".into());
        if let Some((tcp, _)) = self.connect(&mut ev).await {
            let (mut tap, handle) = Tap::new(tcp);
            self.exchange(&mut tap, &mut ev, &self.request.mqtt, false, |_| None)
                .await;
            record_tap(&handle, &mut ev);
        }
        ev.elapsed_ms = ms(started);
        ev
    }

    /// CONNECT → CONNACK over an established stream (after the WebSocket upgrade for
    /// `ws://`/`wss://` targets), classifying late TLS alerts as TLS.
    async fn exchange<S>(
        &self,
        stream: &mut S,
        ev: &mut Evidence,
        settings: &ConnectSettings,
        read_first: bool,
        tls_failure: fn(&io::Error) -> Option<Failure>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match self.request.target.ws_path() {
            Some(path) if !self.no_websocket => {
                let path = path.to_string();
                self.exchange_ws(stream, &path, ev, settings, tls_failure)
                    .await;
            }
            _ => {
                self.exchange_mqtt(stream, ev, settings, read_first, tls_failure)
                    .await
            }
        }
    }

    /// CONNECT → CONNACK over an established stream, classifying late TLS alerts as TLS.
    async fn exchange_mqtt<S>(
        &self,
        stream: &mut S,
        ev: &mut Evidence,
        settings: &ConnectSettings,
        read_first: bool,
        tls_failure: fn(&io::Error) -> Option<Failure>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        ev.phase = Phase::Mqtt;
        let started = Instant::now();
        if read_first {
            // Wait briefly for anything the broker sends unprompted (an alert, or nothing).
            let wait = self.request.timeout.min(Duration::from_secs(1));
            let mut byte = [0u8; 1];
            match tokio::time::timeout(wait, stream.read(&mut byte)).await {
                Ok(Err(e)) => {
                    ev.raw_error = Some(e.to_string());
                    ev.phase = Phase::Tls;
                    ev.closed_by = Some(Closer::Peer);
                    if let Some(failure @ Failure::AlertReceived { alert, .. }) = tls_failure(&e) {
                        ev.alert_received = Some(alert);
                        ev.failure = Some(failure);
                    } else {
                        // No alert: the broker hung up on its own, before CONNECT was sent.
                        let reset = matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                        ) || e.to_string().contains("reset");
                        ev.failure = Some(Failure::PeerClosed { reset });
                        ev.notes.push(SILENT_AFTER_HANDSHAKE.to_string());
                    }
                    return;
                }
                Ok(Ok(0)) => {
                    ev.raw_error = Some(
                        "the broker closed the connection after the TLS handshake, before CONNECT was sent, without an alert".into(),
                    );
                    ev.phase = Phase::Tls;
                    ev.closed_by = Some(Closer::Peer);
                    ev.failure = Some(Failure::PeerClosed { reset: false });
                    ev.notes.push(SILENT_AFTER_HANDSHAKE.to_string());
                    return;
                }
                // Data (unprompted) or nothing within the wait: go on with CONNECT.
                _ => {}
            }
        }
        let mut received = Vec::new();
        let result = tokio::time::timeout(
            self.request.timeout,
            mqtt::exchange_recording(stream, settings, &mut received),
        )
        .await;
        ev.timings.mqtt_ms = Some(ms(started));
        match result {
            Ok(Ok(ack)) => {
                if ack.code == 0 {
                    ev.phase = Phase::Done;
                    disconnect(stream, self.request.timeout).await;
                } else {
                    ev.failure = Some(Failure::ConnAckRefused { code: ack.code });
                    ev.raw_error = Some(format!(
                        "CONNACK {} ({}), MQTT {}",
                        ack.code, ack.reason, ack.mqtt_version
                    ));
                }
                ev.connack = Some(ack);
            }
            Ok(Err(MqttError::Io(e))) => {
                ev.raw_error = Some(e.to_string());
                if let Some(failure) = tls_failure(&e) {
                    // A TLS 1.3 rejection of our client certificate arrives here, after the
                    // handshake: it is a TLS failure, not an MQTT one.
                    if let Failure::AlertReceived { alert, .. } = &failure {
                        ev.alert_received = Some(*alert);
                    }
                    ev.phase = Phase::Tls;
                    ev.closed_by = Some(Closer::Peer);
                    ev.failure = Some(failure);
                } else {
                    ev.closed_by = Some(Closer::Peer);
                    ev.failure = Some(Failure::NoConnAck { closed: true });
                }
            }
            Ok(Err(MqttError::Closed { received })) => {
                ev.raw_error = Some(MqttError::Closed { received }.to_string());
                ev.closed_by = Some(Closer::Peer);
                ev.failure = Some(Failure::NoConnAck { closed: true });
            }
            Ok(Err(MqttError::Malformed(detail))) => {
                ev.raw_error = Some(format!("malformed CONNACK: {detail}"));
                if !received.is_empty() {
                    // What came instead of a CONNACK (a TLS alert record, for a plain client on
                    // a TLS port): the rest of it, if it comes at once.
                    let mut more = [0u8; 16];
                    if let Ok(Ok(n)) =
                        tokio::time::timeout(Duration::from_millis(100), stream.read(&mut more))
                            .await
                    {
                        received.extend_from_slice(more.get(..n).unwrap_or_default());
                    }
                    ev.first_bytes = Some(hex(&received));
                }
                ev.failure = Some(Failure::MalformedConnAck { detail });
            }
            Err(_) => {
                let deadline = self.request.timeout.as_secs_f64();
                ev.raw_error = Some(if received.is_empty() {
                    format!("no CONNACK within {deadline} s")
                } else {
                    let hex: Vec<String> = received.iter().map(|b| format!("{b:02x}")).collect();
                    format!(
                        "no complete CONNACK within {deadline} s: {} byte(s) of a packet arrived ({}), then nothing",
                        received.len(),
                        hex.join(" ")
                    )
                });
                ev.closed_by = Some(Closer::Client);
                ev.failure = Some(Failure::NoConnAck { closed: false });
            }
        }
    }
}

/// Sends DISCONNECT and closes, so the broker logs a clean disconnect rather than an error.
async fn disconnect<S: AsyncWrite + Unpin>(stream: &mut S, timeout: Duration) {
    let bound = timeout.min(Duration::from_millis(500));
    let _ = tokio::time::timeout(bound, async {
        stream.write_all(&[0xe0, 0x00]).await?;
        stream.shutdown().await
    })
    .await;
}

/// Resolution and TCP connect, each under its own deadline. Records everything in `ev`.
async fn connect(request: &ProbeRequest, ev: &mut Evidence) -> Option<(TcpStream, SocketAddr)> {
    ev.phase = Phase::Resolve;
    let started = Instant::now();
    let lookup = tokio::time::timeout(
        request.timeout,
        tokio::net::lookup_host((request.target.host.as_str(), request.target.port)),
    )
    .await;
    ev.timings.resolve_ms = Some(ms(started));
    let addrs: Vec<SocketAddr> = match lookup {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            ev.raw_error = Some(e.to_string());
            ev.failure = Some(Failure::Resolve {
                detail: e.to_string(),
            });
            return None;
        }
        Err(_) => {
            ev.raw_error = Some("name resolution timed out".into());
            ev.failure = Some(Failure::Resolve {
                detail: "timed out".into(),
            });
            return None;
        }
    };
    if addrs.is_empty() {
        ev.failure = Some(Failure::Resolve {
            detail: "no addresses".into(),
        });
        return None;
    }
    ev.addresses = addrs.iter().map(SocketAddr::to_string).collect();
    ev.phase = Phase::Tcp;
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + request.timeout;
    let mut last_error: Option<io::Error> = None;
    for addr in &addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                ev.timings.tcp_ms = Some(ms(started));
                // Small packets, sent at once: the probe measures the broker, not Nagle.
                let _ = stream.set_nodelay(true);
                ev.connected_to = Some(addr.to_string());
                return Some((stream, *addr));
            }
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => {
                last_error = None;
                break;
            }
        }
    }
    ev.timings.tcp_ms = Some(ms(started));
    match last_error {
        Some(e) => {
            ev.raw_error = Some(e.to_string());
            ev.failure = Some(if e.kind() == io::ErrorKind::ConnectionRefused {
                Failure::ConnectionRefused
            } else if e.kind() == io::ErrorKind::ConnectionReset {
                // Accepted, then reset before the connect was seen to complete: a broker at its
                // connection limit or behind an IP filter.
                ev.closed_by = Some(Closer::Peer);
                Failure::PeerClosed { reset: true }
            } else {
                Failure::ConnectFailed {
                    detail: e.to_string(),
                }
            });
        }
        None => {
            ev.raw_error = Some(format!(
                "TCP connect timed out after {} s",
                request.timeout.as_secs_f64()
            ));
            ev.failure = Some(Failure::ConnectTimeout);
        }
    }
    None
}

/// Copies what the tap saw into the evidence, and turns an early close into `PeerClosed`.
fn record_tap(handle: &TapHandle, ev: &mut Evidence) {
    let record = handle.snapshot();
    ev.bytes_received = record.bytes_in;
    if matches!(ev.failure, Some(Failure::NotTls)) && !record.first_bytes.is_empty() {
        ev.first_bytes = Some(hex(&record.first_bytes));
    }
    if let Some(Failure::HandshakeTimeout { bytes_received }) = &mut ev.failure {
        *bytes_received = record.bytes_in;
        if !record.first_bytes.is_empty() {
            ev.first_bytes = Some(hex(&record.first_bytes));
        }
    }
    if ev.closed_by.is_none() && (record.eof || record.reset) && ev.failure.is_some() {
        ev.closed_by = Some(Closer::Peer);
    }
}

/// UNIX seconds as rustls's clock type; an instant before 1970 is 1970.
pub fn unix_time(seconds: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// Milliseconds since `since`.
fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A request for `name` on a dummy port, with a short timeout.
    pub fn request(name: &str) -> ProbeRequest {
        ProbeRequest {
            target: Target::parse(&format!("{name}:8883")).expect("valid test target"),
            sni: Some(name.to_string()),
            expect_name: name.to_string(),
            tls_versions: Vec::new(),
            alpn: Vec::new(),
            mqtt: ConnectSettings {
                version: mqtt::MqttVersion::V311,
                client_id: "mqtls-test".into(),
                username: None,
                password: None,
            },
            timeout: Duration::from_secs(2),
            verify_at: None,
        }
    }
}
