//! Rules for reaching the port and speaking TLS at all: DNS, TCP, plain MQTT ports, non-TLS
//! peers, timeouts and silent closes.

use super::*;

pub(super) fn dns_failure(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::Resolve { detail }) = &ev.failure else {
        return None;
    };
    let host = host_of(cx.target);
    Some(
        Diagnosis::new(
            Code::DnsFailure,
            format!("The host name `{host}` does not resolve to any address."),
        )
        .fact(format!("resolver: {detail}"))
        .remedy(format!("Check the spelling of `{host}`, or connect by IP address and pass --expect-name with the certificate's name."))
        .remedy(format!("Check the resolver on the client: `getent hosts {host}`.")),
    )
}

pub(super) fn connection_refused(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(ev.failure, Some(Failure::ConnectionRefused)).then(|| {
        Diagnosis::new(
            Code::ConnectionRefused,
            format!("Nothing accepts connections on {}: the broker is down, the port is wrong, or the broker could not load its TLS files and never opened the listener.", cx.target),
        )
        .fact(format!("every address refused the TCP connection: {}", ev.addresses.join(", ")))
        .remedy("Broker: check that it runs and listens on this port (`ss -ltnp | grep 8883`); mosquitto needs a `listener 8883` line with `certfile`/`keyfile`, and logs \"Unable to load server certificate\" or \"Error: Unable to load CA certificates\" when it cannot read them.")
        .remedy("RabbitMQ: `mqtt.listeners.ssl.default = 8883` with `ssl_options.*`; EMQX: `listeners.ssl.default.bind = \"0.0.0.0:8883\"`.")
        .remedy("Client: MQTT over TLS is usually on 8883, plain MQTT on 1883.")
    })
}

pub(super) fn connect_timeout(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(ev.failure, Some(Failure::ConnectTimeout)).then(|| {
        Diagnosis::new(
            Code::ConnectTimeout,
            format!("No answer to the TCP connect to {}: a firewall drops the packets, the address is wrong, or the broker's accept queue is full.", cx.target),
        )
        .fact(format!("addresses tried: {}", ev.addresses.join(", ")))
        .fact(ev.raw_error.clone().unwrap_or_default())
        .remedy("Check firewalls and security groups between client and broker for the port.")
        .remedy(format!("Check that the address is the broker's: `nc -vz {}`.", cx.target.replace(':', " ")))
    })
}

pub(super) fn plaintext_port(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !looks_like_plaintext(ev) {
        return None;
    }
    let ack = cx.follow_ups.plain_connect.as_ref()?.connack.as_ref()?;
    Some(
        Diagnosis::new(
            Code::PlaintextPort,
            format!("{} speaks plain MQTT, not TLS: a plain CONNECT on a fresh connection got a CONNACK.", cx.target),
        )
        .fact(format!("TLS attempt: {}", ev.raw_error.as_deref().unwrap_or("the broker closed the connection")))
        .fact(format!("plain MQTT CONNECT: CONNACK {} ({})", ack.code, ack.reason))
        .remedy("Client: use the broker's TLS port (usually 8883), or connect without TLS (mqtt://, no --cafile) if plain MQTT is intended.")
        .remedy("Broker (mosquitto): a TLS listener needs `certfile` and `keyfile` in its `listener` block; with `per_listener_settings true` each listener has its own TLS settings.")
        .remedy(format!("See it: `mosquitto_sub -h {} -p {} -t '$SYS/#' -C 1` succeeds without TLS.", host_of(cx.target), port_of(cx.target))),
    )
}

/// A plain probe's CONNECT was answered with a TLS record, or with a hang-up: the port may
/// speak TLS (the follow-up handshake tells).
pub(in crate::classify) fn tls_answer_to_plain(ev: &Evidence) -> bool {
    ev.tls.version.is_none()
        && (tls_record(ev.first_bytes.as_deref()).is_some()
            || matches!(
                ev.failure,
                Some(Failure::NoConnAck { closed: true } | Failure::PeerClosed { .. })
            ))
}

/// The TLS record a peer's first bytes start with: content type 0x15 (alert) or 0x16
/// (handshake), version 0x03 0x0N. With an alert, its level and description.
fn tls_record(hex: Option<&str>) -> Option<String> {
    let bytes = decode_hex(hex?);
    match bytes.as_slice() {
        [0x15, 0x03, minor, _, _, level, desc, ..] if *minor <= 4 => Some(format!(
            "a TLS alert record ({} {})",
            if *level == 2 { "fatal" } else { "warning" },
            Alert { code: *desc }
        )),
        [0x15, 0x03, ..] => Some("a TLS alert record".into()),
        [0x16, 0x03, ..] => Some("a TLS handshake record".into()),
        _ => None,
    }
}

/// `mqtt://` to a port that speaks TLS: the CONNECT got a TLS record or a hang-up, and a TLS
/// handshake on the same port completed (or the reply itself was a TLS record).
pub(super) fn tls_port_plain_client(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    if !cx.plain || ev.is_ok() || !tls_answer_to_plain(ev) {
        return None;
    }
    let record = tls_record(ev.first_bytes.as_deref());
    let handshake = cx.follow_ups.tls.as_ref();
    let tls_spoken = handshake.is_some_and(|h| h.accepted || h.completed);
    if record.is_none() && !tls_spoken {
        return None;
    }
    let reply = match (&record, &ev.first_bytes) {
        (Some(what), Some(hex)) => {
            format!("the broker answered the plain CONNECT with {what}: {hex}")
        }
        _ => format!(
            "the broker answered the plain CONNECT by closing the connection ({})",
            ev.raw_error.as_deref().unwrap_or("no CONNACK")
        ),
    };
    let mut d = Diagnosis::new(
        Code::TlsPortPlainClient,
        format!(
            "{} speaks MQTT over TLS, but the client connected without TLS (mqtt://).",
            cx.target
        ),
    )
    .fact(reply);
    d = match handshake {
        Some(h) if tls_spoken => d.fact(format!(
            "a TLS handshake on the same port: {}",
            if h.completed {
                format!(
                    "completed ({} {})",
                    h.negotiated.as_deref().unwrap_or("?"),
                    h.cipher.as_deref().unwrap_or("")
                )
            } else {
                format!(
                    "the broker answered with a ServerHello ({})",
                    h.detail.as_deref().unwrap_or("")
                )
            }
        )),
        Some(h) => d
            .fact(format!(
                "a TLS handshake on the same port failed too: {}",
                h.detail.as_deref().unwrap_or("?")
            ))
            .likely([Code::MqttNoConnack]),
        None => d.likely([Code::MqttNoConnack]),
    };
    Some(
        d.remedy(format!("Client: connect with TLS: `mqtls diagnose mqtts://{} --cafile ca.crt`; mosquitto_pub `-p {} --cafile ca.crt` (giving `--cafile` turns TLS on); paho-python `client.tls_set(ca_certs=\"ca.crt\")`; rumqttc `Transport::tls_with_config(...)`.", cx.target, port_of(cx.target)))
            .remedy("Or use the broker's plain MQTT port (usually 1883), if the broker has one and plain MQTT is acceptable.")
            .remedy(format!("See it: `openssl s_client -connect {}` shows the broker's certificate.", cx.target)),
    )
}

/// The TLS attempt died before the peer said anything that looks like TLS.
pub(in crate::classify) fn looks_like_plaintext(ev: &Evidence) -> bool {
    ev.phase == Phase::Tls
        && ev.tls.version.is_none()
        && match &ev.failure {
            Some(Failure::PeerClosed { .. }) => true,
            Some(Failure::HandshakeTimeout { bytes_received }) => *bytes_received == 0,
            // An MQTT broker may answer a ClientHello with an MQTT packet (0x20 CONNACK, 0xe0
            // DISCONNECT) before closing.
            Some(Failure::NotTls) => ev
                .first_bytes
                .as_deref()
                .is_some_and(|b| b.starts_with("20") || b.starts_with("e0")),
            _ => false,
        }
}

pub(super) fn not_tls(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    matches!(ev.failure, Some(Failure::NotTls)).then(|| {
        let first = ev.first_bytes.as_deref().unwrap_or("");
        let what = describe_bytes(first);
        Diagnosis::new(
            Code::NotTls,
            format!("{} answered with bytes that are not TLS ({what}): this is not an MQTT-over-TLS listener.", cx.target),
        )
        .fact(format!("first bytes from the peer: {}", if first.is_empty() { "(none recorded)".to_string() } else { printable(first) }))
        .fact(format!("{}: {}", ev.backend, ev.raw_error.as_deref().unwrap_or("not TLS")))
        .remedy("Client: check the port: MQTT over TLS is usually 8883, MQTT over WebSockets 8083/8084/443 (needs a ws/wss client), HTTP management ports are not MQTT.")
        .remedy(format!("See it: `openssl s_client -connect {}` prints \"wrong version number\".", cx.target))
    })
}

pub(super) fn handshake_timeout(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::HandshakeTimeout { bytes_received }) = &ev.failure else {
        return None;
    };
    Some(
        Diagnosis::new(
            Code::HandshakeTimeout,
            format!("TCP connected to {} but the TLS handshake did not finish in time.", cx.target),
        )
        .fact(format!("{bytes_received} bytes received from the broker before the deadline"))
        .fact(ev.raw_error.clone().unwrap_or_default())
        .remedy("The port accepts connections but does not speak TLS to us: check that it is the TLS listener, and that no proxy or load balancer in between holds the connection.")
        .remedy("If the broker is overloaded or far away, retry with a longer --timeout.")
        .remedy(format!("See it: `openssl s_client -connect {} -state` stops after \"SSL_connect:SSLv3/TLS write client hello\".", cx.target)),
    )
}

pub(super) fn peer_closed(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::PeerClosed { reset }) = ev.failure else {
        return None;
    };
    Some(
        Diagnosis::new(Code::PeerClosed, format!("{} {} the connection {} without sending an alert.", cx.target, if reset { "reset" } else { "closed" }, if ev.notes.iter().any(|n| n == crate::evidence::SILENT_AFTER_HANDSHAKE) { "right after the TLS handshake, before CONNECT was sent," } else { "during the TLS handshake" }))
            .fact(format!("{} bytes received before the close", ev.bytes_received))
            .fact(ev.raw_error.clone().unwrap_or_default())
            .remedy("Check the broker's log for why it dropped the connection (a TLS library error, a connection limit, an IP filter).")
            .remedy("A plain MQTT CONNECT did not get a CONNACK either, so this is not simply a plain MQTT port."),
    )
}

/// Names what a peer's first bytes look like.
pub(super) fn describe_bytes(hex: &str) -> &'static str {
    let bytes = decode_hex(hex);
    if bytes.starts_with(b"HTTP/") || bytes.starts_with(b"<") {
        "an HTTP server"
    } else if bytes.starts_with(b"SSH-") {
        "an SSH server"
    } else if bytes.first() == Some(&0x20) {
        "an MQTT CONNACK"
    } else if bytes.starts_with(b"220") || bytes.starts_with(b"+OK") || bytes.starts_with(b"* OK") {
        "a text protocol banner (SMTP/POP/IMAP)"
    } else if bytes.first() == Some(&0x15) {
        "a TLS alert of an unexpected record version"
    } else if !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "plain text"
    } else {
        "unrecognised binary data"
    }
}

pub(super) fn printable(hex: &str) -> String {
    let bytes = decode_hex(hex);
    let text: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{hex} (\"{text}\")")
}

pub(super) fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}
