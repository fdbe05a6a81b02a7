//! Parsing a broker address as users type it: `mqtts://host[:port]`, `mqtt://host:port`,
//! `host:port`, `[::1]:8883`, a bare host, or MQTT over WebSockets: `wss://host[:port][/path]`
//! and `ws://host[:port][/path]` (path `/mqtt` when none is given).
//!
//! Parsing only; resolving the name is the probe's job (a DNS failure is evidence, not an
//! input error).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The default port for MQTT over TLS.
pub const MQTTS_PORT: u16 = 8883;
/// The default port for plain MQTT.
pub const MQTT_PORT: u16 = 1883;
/// The default port of `wss://` (the URL scheme's, as MQTT.js and browsers use it).
pub const WSS_PORT: u16 = 443;
/// The default port of `ws://`.
pub const WS_PORT: u16 = 80;
/// The WebSocket path when a `ws://`/`wss://` target names none (EMQX, HiveMQ, MQTT.js).
pub const DEFAULT_WS_PATH: &str = "/mqtt";

/// Whether the target is probed with TLS or as plain MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// MQTT over TLS (`mqtts://`, the default).
    Mqtts,
    /// Plain MQTT (`mqtt://`), for comparison.
    Mqtt,
    /// MQTT over WebSockets over TLS (`wss://`): TLS, an HTTP Upgrade, then MQTT in binary
    /// WebSocket frames.
    Wss,
    /// MQTT over WebSockets without TLS (`ws://`).
    Ws,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Mqtts => "mqtts",
            Scheme::Mqtt => "mqtt",
            Scheme::Wss => "wss",
            Scheme::Ws => "ws",
        }
    }
}

/// A parsed broker address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// TLS or plain.
    pub scheme: Scheme,
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The HTTP path of the WebSocket upgrade (`ws://`/`wss://` only; `None` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Why a target string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Nothing where a host name was expected.
    #[error("target \"{input}\" has no host name (expected mqtts://host[:port] or host:port)")]
    MissingHost {
        /// The whole input.
        input: String,
    },
    /// A scheme other than mqtts/mqtt/ssl/tcp/wss/ws.
    #[error(
        "target \"{input}\" has unsupported scheme \"{scheme}\" (expected one of: mqtts, mqtt, wss, ws)"
    )]
    Scheme {
        /// The whole input.
        input: String,
        /// The scheme given.
        scheme: String,
    },
    /// A port that is not a number in 1..=65535.
    #[error("target \"{input}\" has invalid port \"{port}\" (expected 1-65535)")]
    Port {
        /// The whole input.
        input: String,
        /// The port text.
        port: String,
    },
    /// `[::1` without the closing bracket, or junk after it.
    #[error("target \"{input}\" has a malformed IPv6 literal (expected [addr]:port)")]
    Bracket {
        /// The whole input.
        input: String,
    },
    /// A WebSocket path with characters an HTTP request line cannot carry.
    #[error(
        "target \"{input}\" has an invalid WebSocket path \"{path}\" (no spaces or control characters)"
    )]
    Path {
        /// The whole input.
        input: String,
        /// The path given.
        path: String,
    },
    /// Characters that cannot be in a host name.
    #[error("target \"{input}\" has an invalid host name \"{host}\"")]
    Host {
        /// The whole input.
        input: String,
        /// The host part.
        host: String,
    },
}

impl Target {
    /// Parses a target as typed on the command line.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        let trimmed = input.trim();
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, rest)) => (parse_scheme(input, s)?, rest),
            None => (Scheme::Mqtts, trimmed),
        };
        // A path (mqtts://host:8883/) is tolerated; nothing after it matters for MQTT. Over
        // WebSockets it is the path of the HTTP upgrade.
        let (authority, path) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i..)),
            None => (rest, None),
        };
        let default_port = match scheme {
            Scheme::Mqtts => MQTTS_PORT,
            Scheme::Mqtt => MQTT_PORT,
            Scheme::Wss => WSS_PORT,
            Scheme::Ws => WS_PORT,
        };
        let path = match scheme {
            Scheme::Wss | Scheme::Ws => Some(ws_path(input, path)?),
            Scheme::Mqtts | Scheme::Mqtt => None,
        };
        let (host, port) = split_host_port(input, authority)?;
        if host.is_empty() {
            return Err(TargetError::MissingHost {
                input: input.to_string(),
            });
        }
        let is_ip = host.parse::<IpAddr>().is_ok();
        if !is_ip
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(TargetError::Host {
                input: input.to_string(),
                host: host.to_string(),
            });
        }
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(TargetError::Port {
                        input: input.to_string(),
                        port: p.to_string(),
                    });
                }
            },
        };
        Ok(Target {
            scheme,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The host as an IP address, when it is a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The SNI sent when none is asked for: the host name, and none for an IP literal (SNI
    /// carries no addresses; rustls and most clients send none then).
    pub fn default_sni(&self) -> Option<String> {
        self.ip().is_none().then(|| self.host.clone())
    }

    /// True when the target speaks no TLS (`mqtt://`, `ws://`).
    pub fn is_plain(&self) -> bool {
        matches!(self.scheme, Scheme::Mqtt | Scheme::Ws)
    }

    /// True when MQTT goes over WebSockets (`ws://`, `wss://`).
    pub fn is_websocket(&self) -> bool {
        matches!(self.scheme, Scheme::Ws | Scheme::Wss)
    }

    /// The path of the WebSocket upgrade, for `ws://`/`wss://` targets.
    pub fn ws_path(&self) -> Option<&str> {
        self.path.as_deref().filter(|_| self.is_websocket())
    }

    /// `host:port`, with brackets for IPv6 literals.
    pub fn authority(&self) -> String {
        match self.ip() {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme.name(), self.authority())?;
        match self.ws_path() {
            Some(path) => f.write_str(path),
            None => Ok(()),
        }
    }
}

fn parse_scheme(input: &str, scheme: &str) -> Result<Scheme, TargetError> {
    match scheme.to_ascii_lowercase().as_str() {
        "mqtts" | "ssl" | "tls" | "mqtt+ssl" => Ok(Scheme::Mqtts),
        "mqtt" | "tcp" => Ok(Scheme::Mqtt),
        "wss" | "mqtt+wss" => Ok(Scheme::Wss),
        "ws" | "mqtt+ws" => Ok(Scheme::Ws),
        _ => Err(TargetError::Scheme {
            input: input.to_string(),
            scheme: scheme.to_string(),
        }),
    }
}

/// The upgrade path of a WebSocket target: `/mqtt` when none is given (`/` is a path); no
/// spaces or control characters, which cannot go on an HTTP request line.
fn ws_path(input: &str, path: Option<&str>) -> Result<String, TargetError> {
    let path = match path {
        None => return Ok(DEFAULT_WS_PATH.to_string()),
        Some(p) => p,
    };
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TargetError::Path {
            input: input.to_string(),
            path: path.to_string(),
        });
    }
    Ok(path.to_string())
}

fn split_host_port<'a>(
    input: &str,
    authority: &'a str,
) -> Result<(&'a str, Option<&'a str>), TargetError> {
    if let Some(rest) = authority.strip_prefix('[') {
        let bracket = || TargetError::Bracket {
            input: input.to_string(),
        };
        let (host, after) = rest.split_once(']').ok_or_else(bracket)?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bracket());
        }
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(bracket()),
            },
        };
    }
    // A bare IPv6 literal (::1) has several colons and no port.
    if authority.matches(':').count() > 1 {
        return Ok((authority, None));
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_forms_users_type() {
        let cases = [
            (
                "mqtts://broker.local:8883",
                Scheme::Mqtts,
                "broker.local",
                8883,
            ),
            ("mqtts://broker.local", Scheme::Mqtts, "broker.local", 8883),
            ("mqtt://localhost:1884", Scheme::Mqtt, "localhost", 1884),
            ("mqtt://localhost", Scheme::Mqtt, "localhost", 1883),
            ("localhost:8884", Scheme::Mqtts, "localhost", 8884),
            ("[::1]:8883", Scheme::Mqtts, "::1", 8883),
            ("mqtts://[::1]", Scheme::Mqtts, "::1", 8883),
            ("::1", Scheme::Mqtts, "::1", 8883),
            ("127.0.0.1", Scheme::Mqtts, "127.0.0.1", 8883),
            ("ssl://h:1/", Scheme::Mqtts, "h", 1),
            (
                "wss://broker.local:8084/mqtt",
                Scheme::Wss,
                "broker.local",
                8084,
            ),
            ("wss://broker.local", Scheme::Wss, "broker.local", 443),
            ("ws://localhost:15675/ws", Scheme::Ws, "localhost", 15675),
            ("ws://[::1]", Scheme::Ws, "::1", 80),
        ];
        for (input, scheme, host, port) in cases {
            let t = Target::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(
                (t.scheme, t.host.as_str(), t.port),
                (scheme, host, port),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_malformed_targets_with_a_message_naming_them() {
        let cases = [
            ("mqtts://", "has no host name"),
            ("host:99999", "invalid port \"99999\""),
            ("host:0", "invalid port \"0\""),
            ("host:abc", "invalid port \"abc\""),
            ("[::1", "malformed IPv6 literal"),
            ("[::1]8883", "malformed IPv6 literal"),
            ("http://host", "unsupported scheme \"http\""),
            ("bad host:1", "invalid host name"),
        ];
        for (input, message) in cases {
            let err = Target::parse(input).expect_err(input).to_string();
            assert!(err.contains(message), "{input}: {err}");
            assert!(err.contains(input.trim()), "{input}: {err}");
        }
    }

    #[test]
    fn websocket_targets_carry_their_path() {
        let cases = [
            ("wss://b:8084/mqtt", Some("/mqtt"), "wss://b:8084/mqtt"),
            ("wss://b:8084", Some("/mqtt"), "wss://b:8084/mqtt"),
            ("ws://b/", Some("/"), "ws://b:80/"),
            ("ws://b:1/ws?x=1", Some("/ws?x=1"), "ws://b:1/ws?x=1"),
            ("mqtts://b:1/ignored", None, "mqtts://b:1"),
        ];
        for (input, path, shown) in cases {
            let t = Target::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(t.ws_path(), path, "{input}");
            assert_eq!(t.to_string(), shown, "{input}");
        }
        assert!(Target::parse("ws://b").unwrap().is_plain());
        assert!(!Target::parse("wss://b").unwrap().is_plain());
        let err = Target::parse("wss://b/a\tb").unwrap_err().to_string();
        assert!(err.contains("invalid WebSocket path"), "{err}");
    }

    #[test]
    fn authority_brackets_ipv6() {
        assert_eq!(Target::parse("[::1]:1").unwrap().authority(), "[::1]:1");
        assert_eq!(Target::parse("a:1").unwrap().to_string(), "mqtts://a:1");
    }
}
