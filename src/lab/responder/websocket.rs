//! The responder's WebSocket front: reads an HTTP upgrade request and answers it the way a
//! broker's WebSocket listener (or an HTTP server that is not one) does, then serves MQTT in
//! binary frames. For the setups real brokers cannot show: a refused subprotocol, an HTTP
//! error status, plain HTTP on the port.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{MqttBehaviour, serve_mqtt};
use crate::probe::ws::{Role, WsStream, accept_key};

/// How the WebSocket front answers an upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsServer {
    /// A WebSocket listener. A request for another path than `path` (any path when `None`)
    /// gets `404 Not Found`; one offering none of `protocols` is closed without an answer, as
    /// mosquitto's libwebsockets does; otherwise `101` selecting the first offered protocol
    /// listed (no `Sec-WebSocket-Protocol` when `protocols` is empty), then MQTT.
    Upgrade {
        /// The only path served, or any.
        path: Option<String>,
        /// The subprotocols accepted, or empty to select none.
        protocols: Vec<String>,
    },
    /// Answer every request with these bytes (an HTTP response), then close.
    Respond(Vec<u8>),
}

impl WsServer {
    /// A listener like mosquitto's: any path, `mqtt` and `mqttv3.1`.
    pub fn mqtt() -> WsServer {
        WsServer::Upgrade {
            path: None,
            protocols: vec!["mqtt".into(), "mqttv3.1".into()],
        }
    }
}

/// Serves one connection: the upgrade, then MQTT per `mqtt`. A first line that is not an
/// HTTP request (an MQTT CONNECT) gets `400 Bad Request`, as HTTP servers answer garbage.
pub(super) async fn serve<S>(stream: &mut S, ws: &WsServer, mqtt: &MqttBehaviour) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let looks_http = buf.len() < 4 || buf.starts_with(b"GET ");
        if !looks_http || buf.len() > 16 * 1024 {
            stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                )
                .await?;
            return stream.shutdown().await;
        }
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let (path_allowed, protocols) = match ws {
        WsServer::Respond(bytes) => {
            stream.write_all(bytes).await?;
            return stream.shutdown().await;
        }
        WsServer::Upgrade { path, protocols } => (path, protocols),
    };
    let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
    let leftover = buf.get(end + 4..).unwrap_or_default().to_vec();
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if path_allowed.as_deref().is_some_and(|p| p != path) {
        let body = "<html><body><h1>404 Not Found</h1></body></html>";
        let reply = format!(
            "HTTP/1.1 404 Not Found\r\nServer: mqtls-responder\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(reply.as_bytes()).await?;
        return stream.shutdown().await;
    }
    let Some(key) = header("sec-websocket-key") else {
        stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return stream.shutdown().await;
    };
    let offered: Vec<String> = header("sec-websocket-protocol")
        .map(|p| p.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let selected = offered
        .iter()
        .find(|o| protocols.iter().any(|p| p.eq_ignore_ascii_case(o)));
    if !protocols.is_empty() && selected.is_none() {
        return Ok(());
    }
    let mut reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(&key)
    );
    if let Some(p) = selected {
        reply.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    reply.push_str("\r\n");
    stream.write_all(reply.as_bytes()).await?;
    let mut framed = WsStream::new(stream, Role::Server, leftover);
    serve_mqtt(&mut framed, mqtt).await
}
