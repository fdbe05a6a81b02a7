//! MQTT over WebSockets (RFC 6455, MQTT 3.1.1 §6): the HTTP Upgrade a `ws://`/`wss://` probe
//! sends over its TCP or TLS stream, and [`WsStream`], which carries MQTT bytes in binary
//! frames so the MQTT exchange runs over it unchanged.
//!
//! Written here rather than taken from a WebSocket crate because the probe needs what such a
//! client hides: the raw status line, headers and body of a refused upgrade, a peer that never
//! answers in HTTP, and a byte stream (not messages) for the CONNECT/CONNACK code. The same
//! framing serves the lab's responder (the server role). Every read is bounded by the caller's
//! deadline and by the sizes below, whatever the peer sends.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::tap::Tap;
use super::{PlainProbe, Prober};
pub use crate::evidence::UpgradeProbe;
use crate::evidence::{
    Backend, Closer, Evidence, Failure, HttpHeader, MQTT_SUBPROTOCOL, Phase, WebSocketClose,
    WebSocketExchange,
};
use crate::x509::hex;

/// The GUID every WebSocket server appends to the client's key (RFC 6455 §1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest HTTP head (status line and headers) read.
const MAX_HEAD: usize = 16 * 1024;
/// The largest frame payload accepted (an MQTT CONNACK is 4 bytes; brokers fragment nothing
/// near this).
const MAX_FRAME: u64 = 1 << 20;
/// Headers kept in the evidence, and the length of each value.
const MAX_HEADERS: usize = 32;
const MAX_VALUE: usize = 200;

/// Which end of the connection a [`WsStream`] is: clients mask what they send, servers do not
/// (RFC 6455 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The probe.
    Client,
    /// The lab's responder.
    Server,
}

/// How the upgrade ended.
#[derive(Debug)]
pub enum Upgrade {
    /// 101 with the `mqtt` subprotocol and a valid accept key; these bytes already followed the
    /// head (the start of the first frame).
    Accepted(Vec<u8>),
    /// An HTTP answer other than 101 (status, headers and body are in the exchange).
    Refused(u16),
    /// 101 without an offered subprotocol selected.
    Subprotocol(Option<String>),
    /// 101 that breaks the handshake.
    Invalid(String),
    /// Bytes that are not HTTP.
    NotHttp(Vec<u8>),
    /// The peer closed before a whole head arrived (with what did arrive).
    Closed(Vec<u8>),
    /// The deadline passed before a whole head arrived (with what did arrive).
    Timeout(Vec<u8>),
    /// A read or write failed (a TLS alert arrives here).
    Io(io::Error),
}

/// The paths MQTT brokers serve WebSockets on, tried by the follow-ups: EMQX, HiveMQ and
/// MQTT.js use `/mqtt`, RabbitMQ `/ws`, mosquitto any path.
pub const COMMON_PATHS: [&str; 3] = ["/mqtt", "/ws", "/"];

impl Prober {
    /// A prober for the same target that speaks MQTT directly, without the WebSocket upgrade:
    /// the follow-up that tells a `ws://`/`wss://` target whose port speaks MQTT over TCP/TLS.
    pub fn without_websocket(&self) -> Prober {
        Prober {
            request: self.request.clone(),
            rustls: self.rustls.clone(),
            openssl: self.openssl.clone(),
            client_ports: std::sync::Mutex::new(Vec::new()),
            no_websocket: true,
            psk: self.psk.clone(),
        }
    }

    /// MQTT without the WebSocket upgrade on a fresh connection (TLS with OpenSSL for
    /// `wss://`), summarised.
    pub async fn probe_direct_mqtt(&self) -> PlainProbe {
        let direct = self.without_websocket();
        let ev = if self.request.target.is_plain() {
            direct.probe_plain_evidence(Backend::Openssl).await
        } else {
            direct.probe(Backend::Openssl).await
        };
        PlainProbe {
            detail: ev.connack.is_none().then(|| {
                ev.raw_error
                    .clone()
                    .unwrap_or_else(|| "no CONNACK".to_string())
            }),
            connack: ev.connack,
        }
    }

    /// One upgrade on a fresh connection (TLS unverified with OpenSSL when the target, or
    /// `tls`, says so) for `path` offering `protocols`, then CONNECT when it was accepted.
    /// Bounded by the request's timeout per phase.
    pub async fn probe_upgrade(&self, tls: bool, path: &str, protocols: &[&str]) -> UpgradeProbe {
        let mut result = UpgradeProbe {
            exchange: WebSocketExchange::default(),
            accepted: false,
            connack: None,
            detail: None,
        };
        let mut scratch = Evidence::new(Backend::Openssl, String::new());
        let Some((tcp, _)) = self.connect(&mut scratch).await else {
            result.detail = scratch.raw_error;
            return result;
        };
        let (tap, _) = Tap::new(tcp);
        if tls {
            let ssl = match super::followup::permissive_ssl(None, self.request.sni.as_deref()) {
                Ok(ssl) => ssl,
                Err(e) => {
                    result.detail = Some(e.to_string());
                    return result;
                }
            };
            let mut stream = match tokio_openssl::SslStream::new(ssl, tap) {
                Ok(s) => s,
                Err(e) => {
                    result.detail = Some(e.to_string());
                    return result;
                }
            };
            match tokio::time::timeout(self.request.timeout, Pin::new(&mut stream).connect()).await
            {
                Ok(Ok(())) => {
                    self.upgrade_then_connect(&mut stream, path, protocols, &mut result)
                        .await
                }
                Ok(Err(e)) => result.detail = Some(format!("TLS handshake: {e}")),
                Err(_) => {
                    result.detail = Some("TLS handshake: no answer before the deadline".into())
                }
            }
        } else {
            let mut stream = tap;
            self.upgrade_then_connect(&mut stream, path, protocols, &mut result)
                .await;
        }
        result
    }

    /// The planned upgrades one after another, stopping at the first accepted (each bounded
    /// by the request's timeout per phase).
    pub async fn probe_upgrades(
        &self,
        plans: &[crate::evidence::UpgradePlan],
    ) -> Vec<UpgradeProbe> {
        let mut out = Vec::new();
        for plan in plans {
            let protocols: Vec<&str> = plan.protocols.iter().map(String::as_str).collect();
            let probe = self.probe_upgrade(plan.tls, &plan.path, &protocols).await;
            // Stop at the first accepted, and at the first without an HTTP answer: a peer silent
            // to one upgrade is silent to the next, and each would cost a deadline.
            let done = probe.accepted || probe.exchange.status.is_none();
            out.push(probe);
            if done {
                break;
            }
        }
        out
    }

    async fn upgrade_then_connect<S>(
        &self,
        stream: &mut S,
        path: &str,
        protocols: &[&str],
        result: &mut UpgradeProbe,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let host = self.request.target.authority();
        let timeout = self.request.timeout;
        let outcome = upgrade(
            stream,
            &host,
            path,
            protocols,
            timeout,
            &mut result.exchange,
        )
        .await;
        let leftover = match outcome {
            Upgrade::Accepted(rest) => rest,
            other => {
                result.detail = Some(describe(&other));
                return;
            }
        };
        result.accepted = true;
        let mut ws = WsStream::new(stream, Role::Client, leftover);
        let settings = self.request.mqtt.clone();
        match tokio::time::timeout(timeout, super::mqtt::exchange(&mut ws, &settings)).await {
            Ok(Ok(ack)) => {
                super::disconnect(&mut ws, timeout).await;
                result.connack = Some(ack);
            }
            Ok(Err(e)) => result.detail = Some(e.to_string()),
            Err(_) => result.detail = Some("no CONNACK before the deadline".into()),
        }
    }

    /// The upgrade, then CONNECT/CONNACK in binary frames; every way the upgrade ends is
    /// recorded in `ev` (phase `websocket`).
    pub(super) async fn exchange_ws<S>(
        &self,
        stream: &mut S,
        path: &str,
        ev: &mut Evidence,
        settings: &super::mqtt::ConnectSettings,
        tls_failure: fn(&io::Error) -> Option<Failure>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        ev.phase = Phase::WebSocket;
        let started = std::time::Instant::now();
        let mut exchange = WebSocketExchange::default();
        let host = self.request.target.authority();
        let outcome = upgrade(
            stream,
            &host,
            path,
            &[MQTT_SUBPROTOCOL],
            self.request.timeout,
            &mut exchange,
        )
        .await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            status = ?exchange.status,
            "websocket upgrade answered"
        );
        ev.websocket = Some(exchange);
        let leftover = match outcome {
            Upgrade::Accepted(rest) => rest,
            other => {
                record_failure(other, ev, tls_failure);
                return;
            }
        };
        let mut ws = WsStream::new(&mut *stream, Role::Client, leftover);
        self.exchange_mqtt(&mut ws, ev, settings, false, tls_failure)
            .await;
        if let (Some(close), Some(exchange)) = (ws.close(), ev.websocket.as_mut()) {
            exchange.close = Some(close.clone());
            if ev.connack.is_none() {
                ev.raw_error = Some(format!(
                    "{}; the broker sent a WebSocket close frame: {} {}",
                    ev.raw_error.as_deref().unwrap_or("no CONNACK"),
                    close
                        .code
                        .map_or("without a code".to_string(), |c| c.to_string()),
                    close.reason
                ));
            }
        }
    }
}

/// Records how an upgrade that did not switch ended.
fn record_failure(
    outcome: Upgrade,
    ev: &mut Evidence,
    tls_failure: fn(&io::Error) -> Option<Failure>,
) {
    ev.raw_error = Some(describe(&outcome));
    let failure = match outcome {
        Upgrade::Accepted(_) => return,
        Upgrade::Refused(status) => Failure::UpgradeRefused { status },
        Upgrade::Subprotocol(selected) => Failure::SubprotocolRefused { selected },
        Upgrade::Invalid(detail) => Failure::UpgradeInvalid { detail },
        Upgrade::NotHttp(bytes) => {
            ev.first_bytes = Some(hex(bytes.get(..bytes.len().min(32)).unwrap_or_default()));
            Failure::NotHttp
        }
        Upgrade::Closed(bytes) => {
            if !bytes.is_empty() {
                ev.first_bytes = Some(hex(bytes.get(..bytes.len().min(32)).unwrap_or_default()));
            }
            ev.closed_by = Some(Closer::Peer);
            Failure::NoUpgradeAnswer { closed: true }
        }
        Upgrade::Timeout(bytes) => {
            if !bytes.is_empty() {
                ev.first_bytes = Some(hex(bytes.get(..bytes.len().min(32)).unwrap_or_default()));
            }
            ev.closed_by = Some(Closer::Client);
            Failure::NoUpgradeAnswer { closed: false }
        }
        Upgrade::Io(e) => {
            ev.closed_by = Some(Closer::Peer);
            match tls_failure(&e) {
                // A TLS alert (a TLS 1.3 client-certificate rejection) is a TLS failure.
                Some(failure) => {
                    if let Failure::AlertReceived { alert, .. } = &failure {
                        ev.alert_received = Some(*alert);
                    }
                    ev.phase = Phase::Tls;
                    failure
                }
                None => Failure::NoUpgradeAnswer { closed: true },
            }
        }
    };
    ev.failure = Some(failure);
}

/// How an upgrade ended, in words (the probe's raw error).
pub fn describe(outcome: &Upgrade) -> String {
    match outcome {
        Upgrade::Accepted(_) => "101 Switching Protocols, subprotocol mqtt".into(),
        Upgrade::Refused(status) => format!("the WebSocket upgrade was answered with HTTP {status}"),
        Upgrade::Subprotocol(Some(p)) => format!("101 Switching Protocols with subprotocol \"{p}\", not one offered"),
        Upgrade::Subprotocol(None) => "101 Switching Protocols without a Sec-WebSocket-Protocol: the broker selected no subprotocol".into(),
        Upgrade::Invalid(d) => format!("invalid WebSocket handshake: {d}"),
        Upgrade::NotHttp(b) => format!("the answer to the WebSocket upgrade is not HTTP: {}", hex(b.get(..b.len().min(16)).unwrap_or_default())),
        Upgrade::Closed(b) if b.is_empty() => "the peer closed the connection without answering the WebSocket upgrade".into(),
        Upgrade::Closed(b) => format!("the peer closed the connection after {} byte(s) of an HTTP answer", b.len()),
        Upgrade::Timeout(b) if b.is_empty() => "no answer to the WebSocket upgrade before the deadline".into(),
        Upgrade::Timeout(b) => format!("no complete HTTP answer to the WebSocket upgrade before the deadline ({} byte(s) arrived)", b.len()),
        Upgrade::Io(e) => format!("the WebSocket upgrade failed: {e}"),
    }
}

/// Sends the upgrade request for `path` offering `protocols`, and reads the answer's head
/// (and the start of a refusal's body) within `timeout`. Fills `exchange`.
pub async fn upgrade<S>(
    stream: &mut S,
    host: &str,
    path: &str,
    protocols: &[&str],
    timeout: Duration,
    exchange: &mut WebSocketExchange,
) -> Upgrade
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    exchange.path = path.to_string();
    exchange.offered = protocols.iter().map(|p| p.to_string()).collect();
    let key = client_key();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if !protocols.is_empty() {
        request.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            protocols.join(", ")
        ));
    }
    request.push_str(concat!(
        "User-Agent: mqtls/",
        env!("CARGO_PKG_VERSION"),
        "\r\n\r\n"
    ));
    let deadline = tokio::time::Instant::now() + timeout;
    match tokio::time::timeout_at(deadline, async {
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await
    })
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Upgrade::Io(e),
        Err(_) => return Upgrade::Timeout(Vec::new()),
    }
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if !buf.is_empty() && !b"HTTP/".starts_with(&buf[..buf.len().min(5)]) {
            return Upgrade::NotHttp(buf);
        }
        if buf.len() > MAX_HEAD {
            return Upgrade::Invalid(format!("the HTTP head exceeds {MAX_HEAD} bytes"));
        }
        let mut chunk = [0u8; 2048];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return Upgrade::Closed(buf),
            Ok(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            // Bytes that came before the failure are still evidence of what the peer is.
            Ok(Err(e)) if buf.is_empty() => return Upgrade::Io(e),
            Ok(Err(_)) => return Upgrade::Closed(buf),
            Err(_) => return Upgrade::Timeout(buf),
        }
    };
    let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default()).into_owned();
    let rest = buf.get(head_end + 4..).unwrap_or_default().to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    exchange.status_line = Some(cut(&status_line));
    exchange.status = status;
    for line in lines.take(MAX_HEADERS) {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_string();
            let value = if name.eq_ignore_ascii_case("set-cookie") {
                "<redacted>".to_string()
            } else {
                cut(value.trim())
            };
            exchange.headers.push(HttpHeader { name, value });
        }
    }
    let Some(status) = status else {
        return Upgrade::Invalid(format!("no status code in \"{}\"", cut(&status_line)));
    };
    if status != 101 {
        exchange.body = refusal_body(stream, rest, exchange, deadline).await;
        return Upgrade::Refused(status);
    }
    let upgrade_header = exchange.header("upgrade").unwrap_or_default();
    if !upgrade_header.eq_ignore_ascii_case("websocket") {
        return Upgrade::Invalid(format!(
            "101 without \"Upgrade: websocket\" (Upgrade: \"{upgrade_header}\")"
        ));
    }
    let expected = accept_key(&key);
    match exchange.header("sec-websocket-accept") {
        Some(accept) if accept == expected => {}
        other => {
            return Upgrade::Invalid(format!(
                "Sec-WebSocket-Accept {} (expected {expected})",
                other.map_or("missing".to_string(), |a| format!("\"{a}\""))
            ));
        }
    }
    exchange.subprotocol = exchange
        .header("sec-websocket-protocol")
        .map(|p| p.trim().to_string());
    match &exchange.subprotocol {
        Some(p) if protocols.iter().any(|o| o.eq_ignore_ascii_case(p)) => Upgrade::Accepted(rest),
        other => Upgrade::Subprotocol(other.clone()),
    }
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let digest = openssl::sha::sha1(format!("{}{GUID}", key.trim()).as_bytes());
    STANDARD.encode(digest)
}

/// A fresh random `Sec-WebSocket-Key`.
fn client_key() -> String {
    let mut nonce = [0u8; 16];
    // The key only has to differ between connections; a failed RNG still gives a valid key.
    let _ = openssl::rand::rand_bytes(&mut nonce);
    STANDARD.encode(nonce)
}

/// The start of a refusal's body: what came with the head, plus what arrives within 200 ms
/// (a body is sent at once), cut at [`MAX_VALUE`] characters.
async fn refusal_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut body: Vec<u8>,
    exchange: &WebSocketExchange,
    deadline: tokio::time::Instant,
) -> Option<String> {
    let length = exchange
        .header("content-length")
        .and_then(|l| l.trim().parse::<usize>().ok());
    let wanted = length.unwrap_or(MAX_VALUE).min(MAX_VALUE);
    let until = deadline.min(tokio::time::Instant::now() + Duration::from_millis(200));
    while body.len() < wanted {
        let mut chunk = [0u8; 512];
        match tokio::time::timeout_at(until, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            _ => break,
        }
    }
    (!body.is_empty()).then(|| printable(body.get(..body.len().min(MAX_VALUE)).unwrap_or_default()))
}

/// Bytes as text, control characters (and non-ASCII) as `.`.
pub fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

fn cut(value: &str) -> String {
    value.chars().take(MAX_VALUE).collect()
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// A byte stream over WebSocket frames: what is written goes out as one binary frame per
/// write, what is read is the payload of the data frames received. Pings are answered, a
/// close frame ends the stream (it is kept in [`WsStream::close`]), and shutting down sends a
/// close frame (1000) first.
#[derive(Debug)]
pub struct WsStream<S> {
    inner: S,
    role: Role,
    /// Raw bytes received and not yet parsed into frames.
    raw: Vec<u8>,
    /// Payload received and not yet read.
    payload: Vec<u8>,
    /// A frame being written, how much of it is out, and the length of the write it carries.
    pending: Vec<u8>,
    written: usize,
    pending_len: usize,
    /// Control frames (pongs) to send before the next data frame.
    control: Vec<u8>,
    close: Option<WebSocketClose>,
    closing_sent: bool,
    eof: bool,
}

impl<S> WsStream<S> {
    /// Wraps an upgraded stream; `leftover` is what followed the HTTP head.
    pub fn new(inner: S, role: Role, leftover: Vec<u8>) -> WsStream<S> {
        WsStream {
            inner,
            role,
            raw: leftover,
            payload: Vec::new(),
            pending: Vec::new(),
            written: 0,
            pending_len: 0,
            control: Vec::new(),
            close: None,
            closing_sent: false,
            eof: false,
        }
    }

    /// The close frame the peer sent, if any.
    pub fn close(&self) -> Option<&WebSocketClose> {
        self.close.as_ref()
    }

    /// Parses every whole frame in `raw`; an error for frames no peer may send.
    fn parse_frames(&mut self) -> io::Result<()> {
        while let Some((frame, used)) = parse_frame(&self.raw)? {
            self.raw.drain(..used);
            match frame.opcode {
                // Continuation, text and binary frames all carry MQTT bytes; MQTT requires
                // binary, but what matters here is what the broker said.
                0x0..=0x2 => self.payload.extend_from_slice(&frame.payload),
                0x8 => {
                    let code = frame
                        .payload
                        .get(..2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]));
                    let reason = printable(frame.payload.get(2..).unwrap_or_default());
                    self.close = Some(WebSocketClose { code, reason });
                    self.eof = true;
                    return Ok(());
                }
                0x9 => {
                    let pong = encode_frame(0xa, &frame.payload, self.role);
                    self.control.extend_from_slice(&pong);
                }
                0xa => {}
                other => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("WebSocket frame with reserved opcode {other:#x}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// Writes out the pending control frames and the pending data frame.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.control.is_empty() && self.written == 0 {
            // Control frames go between data frames, never inside one.
            let mut control = std::mem::take(&mut self.control);
            control.append(&mut self.pending);
            self.pending = control;
        }
        while self.written < self.pending.len() {
            let rest = self.pending.get(self.written..).unwrap_or_default();
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.payload.is_empty() {
                let n = this.payload.len().min(buf.remaining());
                buf.put_slice(this.payload.get(..n).unwrap_or_default());
                this.payload.drain(..n);
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            this.parse_frames()?;
            if !this.control.is_empty() {
                // A pong owed: sent now when the socket takes it, by the next write otherwise
                // (before returning data, or a ping answered with data would never be ponged).
                let _ = this.poll_drain(cx);
            }
            if !this.payload.is_empty() || this.eof {
                continue;
            }
            let mut chunk = [0u8; 4096];
            let mut chunk_buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk_buf))?;
            if chunk_buf.filled().is_empty() {
                this.eof = true;
            } else {
                this.raw.extend_from_slice(chunk_buf.filled());
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            this.pending = encode_frame(0x2, buf, this.role);
            this.pending_len = buf.len();
        }
        // A write that returned Pending is called again with the same bytes (write_all does):
        // the frame built the first time is finished, not built again.
        ready!(this.poll_drain(cx))?;
        Poll::Ready(Ok(std::mem::take(&mut this.pending_len)))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing_sent {
            ready!(this.poll_drain(cx))?;
            this.pending = encode_frame(0x8, &1000u16.to_be_bytes(), this.role);
            this.closing_sent = true;
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

struct Frame {
    opcode: u8,
    payload: Vec<u8>,
}

/// One whole frame at the start of `raw` and its length on the wire, `None` when more bytes
/// are needed.
fn parse_frame(raw: &[u8]) -> io::Result<Option<(Frame, usize)>> {
    let (Some(&b0), Some(&b1)) = (raw.first(), raw.get(1)) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7f {
        126 => match raw.get(2..4) {
            Some(l) => (u64::from(u16::from_be_bytes([l[0], l[1]])), 4),
            None => return Ok(None),
        },
        127 => match raw.get(2..10) {
            Some(l) => (
                u64::from_be_bytes([l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7]]),
                10,
            ),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("WebSocket frame of {len} bytes (mqtls accepts up to {MAX_FRAME})"),
        ));
    }
    let mask = if masked {
        let Some(m) = raw.get(at..at + 4) else {
            return Ok(None);
        };
        at += 4;
        Some([m[0], m[1], m[2], m[3]])
    } else {
        None
    };
    // Bounded by MAX_FRAME above.
    let end = at + len as usize;
    let Some(payload) = raw.get(at..end) else {
        return Ok(None);
    };
    let mut payload = payload.to_vec();
    if let Some(mask) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok(Some((
        Frame {
            opcode: b0 & 0x0f,
            payload,
        },
        end,
    )))
}

/// One final frame with `opcode`, masked when a client sends it.
fn encode_frame(opcode: u8, payload: &[u8], role: Role) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    let mask_bit = if role == Role::Client { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => frame.push(mask_bit | n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if role == Role::Client {
        let mut mask = [0u8; 4];
        // Masking defends proxies against cache poisoning; a failed RNG leaves a zero mask,
        // which is still a valid frame.
        let _ = openssl::rand::rand_bytes(&mut mask);
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        frame.extend_from_slice(payload);
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        // RFC 6455 §1.3: the sample nonce and its accept value.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn frames_round_trip_in_both_roles_and_all_length_forms() {
        for role in [Role::Client, Role::Server] {
            for len in [0usize, 4, 125, 126, 65535, 65536] {
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let wire = encode_frame(0x2, &payload, role);
                let (frame, used) = parse_frame(&wire).unwrap().expect("a whole frame");
                assert_eq!((frame.opcode, used), (0x2, wire.len()), "{role:?} {len}");
                assert_eq!(frame.payload, payload, "{role:?} {len}");
                // One byte short is "need more", never an error or a panic.
                assert!(parse_frame(&wire[..wire.len() - 1]).unwrap().is_none());
            }
        }
    }

    #[test]
    fn oversized_frames_are_refused_before_buffering() {
        let mut wire = vec![0x82, 127];
        wire.extend_from_slice(&(MAX_FRAME + 1).to_be_bytes());
        let err = parse_frame(&wire).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[tokio::test]
    async fn stream_carries_bytes_answers_pings_and_reports_close() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut ws = WsStream::new(client, Role::Client, Vec::new());
        ws.write_all(&[0x10, 0x02, 0xaa, 0xbb]).await.unwrap();
        ws.flush().await.unwrap();
        let mut wire = [0u8; 10];
        server.read_exact(&mut wire).await.unwrap();
        let (frame, _) = parse_frame(&wire).unwrap().unwrap();
        assert_eq!(frame.payload, [0x10, 0x02, 0xaa, 0xbb]);
        // A ping, a CONNACK in two frames, then a close with a reason.
        let mut out = encode_frame(0x9, b"hi", Role::Server);
        out.extend(encode_frame(0x2, &[0x20, 0x02], Role::Server));
        out.extend(encode_frame(0x0, &[0x00, 0x00], Role::Server));
        let mut close = 1002u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"bad");
        out.extend(encode_frame(0x8, &close, Role::Server));
        server.write_all(&out).await.unwrap();
        let mut ack = Vec::new();
        ws.read_to_end(&mut ack).await.unwrap();
        assert_eq!(ack, [0x20, 0x02, 0x00, 0x00]);
        let close = ws.close().expect("close frame kept");
        assert_eq!((close.code, close.reason.as_str()), (Some(1002), "bad"));
        let mut pong = [0u8; 8];
        server.read_exact(&mut pong).await.unwrap();
        let (frame, _) = parse_frame(&pong).unwrap().unwrap();
        assert_eq!((frame.opcode, frame.payload.as_slice()), (0xa, &b"hi"[..]));
    }

    #[tokio::test]
    async fn upgrade_records_a_refusal_with_its_headers_and_body() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let serve = tokio::spawn(async move {
            let mut req = vec![0u8; 1024];
            let n = server.read(&mut req).await.unwrap();
            let req = String::from_utf8_lossy(&req[..n]).into_owned();
            server
                .write_all(b"HTTP/1.1 404 Not Found\r\nServer: Cowboy\r\nSet-Cookie: s=1\r\nContent-Length: 9\r\n\r\nnot found")
                .await
                .unwrap();
            req
        });
        let mut ex = WebSocketExchange::default();
        let outcome = upgrade(
            &mut client,
            "h:1",
            "/mqtt",
            &["mqtt"],
            Duration::from_secs(2),
            &mut ex,
        )
        .await;
        let req = serve.await.unwrap();
        assert!(
            req.starts_with("GET /mqtt HTTP/1.1\r\nHost: h:1\r\n"),
            "{req}"
        );
        assert!(req.contains("Sec-WebSocket-Protocol: mqtt\r\n"), "{req}");
        assert!(matches!(outcome, Upgrade::Refused(404)), "{outcome:?}");
        assert_eq!(ex.status_line.as_deref(), Some("HTTP/1.1 404 Not Found"));
        assert_eq!(ex.header("server"), Some("Cowboy"));
        assert_eq!(ex.header("set-cookie"), Some("<redacted>"));
        assert_eq!(ex.body.as_deref(), Some("not found"));
    }

    #[tokio::test]
    async fn upgrade_tells_a_wrong_subprotocol_a_bad_accept_and_not_http() {
        async fn answer(reply: impl Into<String>) -> (Upgrade, WebSocketExchange) {
            let reply: String = reply.into();
            let (mut client, mut server) = tokio::io::duplex(4096);
            tokio::spawn(async move {
                let mut req = vec![0u8; 1024];
                let n = server.read(&mut req).await.unwrap();
                let req = String::from_utf8_lossy(&req[..n]).into_owned();
                let key = req
                    .lines()
                    .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                    .unwrap()
                    .to_string();
                let reply = reply.replace("{accept}", &accept_key(&key));
                server.write_all(reply.as_bytes()).await.unwrap();
                server.shutdown().await.unwrap();
            });
            let mut ex = WebSocketExchange::default();
            let o = upgrade(
                &mut client,
                "h",
                "/",
                &["mqtt"],
                Duration::from_secs(2),
                &mut ex,
            )
            .await;
            (o, ex)
        }
        let switch = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n";
        let (o, _) = answer(format!(
            "{switch}Sec-WebSocket-Protocol: mqtt\r\n\r\n\x20\x02"
        ))
        .await;
        assert!(
            matches!(&o, Upgrade::Accepted(rest) if rest == &[0x20, 0x02]),
            "{o:?}"
        );
        let (o, ex) = answer(format!("{switch}Sec-WebSocket-Protocol: mqttv3.1\r\n\r\n")).await;
        assert!(
            matches!(&o, Upgrade::Subprotocol(Some(p)) if p == "mqttv3.1"),
            "{o:?}"
        );
        assert_eq!(ex.subprotocol.as_deref(), Some("mqttv3.1"));
        let (o, _) = answer(format!("{switch}\r\n")).await;
        assert!(matches!(o, Upgrade::Subprotocol(None)), "{o:?}");
        let (o, _) = answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: AAAA\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n").await;
        assert!(
            matches!(&o, Upgrade::Invalid(d) if d.contains("AAAA")),
            "{o:?}"
        );
        let (o, _) = answer("\x20\x02\x00\x00").await;
        assert!(
            matches!(&o, Upgrade::NotHttp(b) if b.first() == Some(&0x20)),
            "{o:?}"
        );
        let (o, _) = answer("").await;
        assert!(matches!(&o, Upgrade::Closed(b) if b.is_empty()), "{o:?}");
    }
}
