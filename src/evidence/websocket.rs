//! What the WebSocket upgrade of a `ws://`/`wss://` probe showed: the request's path and
//! subprotocol, the broker's HTTP answer (status, headers, the start of a body), and the close
//! frame if the broker sent one. Facts only; the classifier reads them.

use serde::{Deserialize, Serialize};

use super::ConnAck;

/// The subprotocol MQTT 3.1.1 and 5 register for WebSockets (MQTT 3.1.1 §6, MQTT 5 §6).
pub const MQTT_SUBPROTOCOL: &str = "mqtt";
/// The subprotocol of MQTT 3.1 era brokers and clients (mosquitto 1.x, old Paho JS).
pub const LEGACY_SUBPROTOCOL: &str = "mqttv3.1";

/// One HTTP Upgrade to WebSocket and what came back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebSocketExchange {
    /// The request path, e.g. `/mqtt`.
    pub path: String,
    /// The subprotocols offered in `Sec-WebSocket-Protocol`.
    pub offered: Vec<String>,
    /// The HTTP status of the answer (101 when the upgrade was accepted), if one came.
    pub status: Option<u16>,
    /// The answer's status line as sent, e.g. `HTTP/1.1 404 Not Found`.
    pub status_line: Option<String>,
    /// The answer's headers in the order sent (at most 32, values cut at 200 characters;
    /// cookie values are not kept).
    pub headers: Vec<HttpHeader>,
    /// The start of the answer's body (at most 200 characters, control characters as `.`).
    pub body: Option<String>,
    /// The subprotocol the broker selected (`Sec-WebSocket-Protocol` of a 101).
    pub subprotocol: Option<String>,
    /// The close frame the broker sent after the upgrade, if any.
    pub close: Option<WebSocketClose>,
}

/// One HTTP header of the broker's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HttpHeader {
    /// The name as sent.
    pub name: String,
    /// The value as sent (cut, or `<redacted>` for cookies).
    pub value: String,
}

/// A WebSocket close frame (RFC 6455 §5.5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebSocketClose {
    /// The status code (1000 normal, 1002 protocol error, ...), when the frame had one.
    pub code: Option<u16>,
    /// The reason text, when the frame had one.
    pub reason: String,
}

impl WebSocketExchange {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The headers as one line, `Name: value; Name: value`, for facts.
    pub fn headers_line(&self) -> String {
        let parts: Vec<String> = self
            .headers
            .iter()
            .map(|h| format!("{}: {}", h.name, h.value))
            .collect();
        parts.join("; ")
    }

    /// True when the broker answered with an HTTP status at all.
    pub fn answered(&self) -> bool {
        self.status.is_some()
    }
}
/// What one follow-up upgrade (another path, another subprotocol, or WebSocket on a port probed
/// as MQTT over TCP/TLS) got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpgradeProbe {
    /// The upgrade as sent and answered.
    pub exchange: WebSocketExchange,
    /// The upgrade was accepted with a subprotocol offered.
    pub accepted: bool,
    /// The CONNACK MQTT over the upgraded connection got, if one came.
    pub connack: Option<ConnAck>,
    /// What happened otherwise.
    pub detail: Option<String>,
}
