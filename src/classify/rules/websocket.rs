//! Rules for MQTT over WebSockets (`ws://`, `wss://`): the upgrade's path, status and
//! subprotocol, and a port that speaks the other transport than the client (MQTT over TCP/TLS
//! vs MQTT over WebSockets), or plain HTTP. Each decides from the broker's HTTP answer and the
//! follow-up probes, never from the port number or a name.

use super::transport::{decode_hex, printable};
use super::*;
use crate::evidence::{FollowUpPlan, UpgradePlan};
use crate::evidence::{LEGACY_SUBPROTOCOL, MQTT_SUBPROTOCOL, WebSocketExchange};
use crate::probe::ws::{COMMON_PATHS, UpgradeProbe};

/// The follow-ups WebSocket evidence calls for. `tls` is whether the target spoke TLS.
pub(in crate::classify) fn plan_websocket(all: &[Evidence], tls: bool, plan: &mut FollowUpPlan) {
    let legacy = |path: &str| UpgradePlan {
        tls,
        path: path.to_string(),
        protocols: vec![LEGACY_SUBPROTOCOL.to_string()],
    };
    let mqtt_on = |tls: bool, path: &str| UpgradePlan {
        tls,
        path: path.to_string(),
        protocols: vec![MQTT_SUBPROTOCOL.to_string()],
    };
    let mut upgrades: Vec<UpgradePlan> = Vec::new();
    for ev in all {
        match (&ev.websocket, &ev.failure) {
            (Some(ws), Some(Failure::NoUpgradeAnswer { .. } | Failure::NotHttp)) => {
                plan.direct_mqtt = true;
                upgrades.push(legacy(&ws.path));
            }
            (Some(ws), Some(Failure::UpgradeRefused { status: 404 })) => {
                upgrades.extend(
                    COMMON_PATHS
                        .iter()
                        .filter(|p| **p != ws.path)
                        .map(|p| mqtt_on(tls, p)),
                );
            }
            (Some(ws), Some(Failure::UpgradeRefused { status })) if (400..500).contains(status) => {
                upgrades.push(legacy(&ws.path));
            }
            (Some(ws), Some(Failure::SubprotocolRefused { .. })) => upgrades.push(legacy(&ws.path)),
            // MQTT over TCP/TLS that got HTTP back: is it a WebSocket listener?
            (None, _) if http_answer(ev) || unanswered_connect(ev) => {
                let over_tls = tls && ev.tls.version.is_some();
                upgrades.extend(COMMON_PATHS.iter().map(|p| mqtt_on(over_tls, p)));
            }
            _ => {}
        }
    }
    for u in upgrades {
        if !plan.upgrades.contains(&u) {
            plan.upgrades.push(u);
        }
    }
}

/// The peer answered in HTTP where MQTT or TLS was expected (a CONNECT, or a ClientHello).
fn http_answer(ev: &Evidence) -> bool {
    ev.first_bytes
        .as_deref()
        .is_some_and(|b| decode_hex(b).starts_with(b"HTTP/"))
        && matches!(
            ev.failure,
            Some(Failure::MalformedConnAck { .. } | Failure::NotTls)
        )
}

/// MQTT over TCP/TLS whose CONNECT got no answer at all before the deadline: an HTTP server
/// (Cowboy, RabbitMQ web_mqtt) still waiting for the rest of a request line does that.
/// MQTT over TCP/TLS whose CONNECT got no answer: silence until the deadline, or a hang-up
/// (RabbitMQ's web_mqtt does either to a CONNECT on its WebSocket port).
fn unanswered_connect(ev: &Evidence) -> bool {
    ev.websocket.is_none() && matches!(ev.failure, Some(Failure::NoConnAck { .. }))
}

/// The first follow-up upgrade that was accepted.
fn accepted<'a>(cx: &'a Context<'a>) -> Option<&'a UpgradeProbe> {
    cx.follow_ups.websocket.iter().find(|u| u.accepted)
}

/// `HTTP/1.1 404 Not Found (Server: Cowboy; ...)`, for facts.
fn answer(ws: &WebSocketExchange) -> String {
    let mut s = format!(
        "the upgrade of {} offering subprotocol {} was answered \"{}\"",
        ws.path,
        ws.offered.join(", "),
        ws.status_line.as_deref().unwrap_or("?")
    );
    if !ws.headers.is_empty() {
        s.push_str(&format!(" with headers: {}", ws.headers_line()));
    }
    if let Some(body) = &ws.body {
        s.push_str(&format!("; body: {body}"));
    }
    s
}

fn url(cx: &Context<'_>, path: &str) -> String {
    format!(
        "{}://{}{path}",
        if cx.plain { "ws" } else { "wss" },
        cx.target
    )
}

fn tried(probe: &UpgradeProbe) -> String {
    let ws = &probe.exchange;
    let outcome = if probe.accepted {
        match &probe.connack {
            Some(ack) => format!(
                "101, subprotocol {}, then CONNACK {} ({})",
                ws.subprotocol.as_deref().unwrap_or("none"),
                ack.code,
                ack.reason
            ),
            None => format!(
                "101, then {}",
                probe.detail.as_deref().unwrap_or("no CONNACK")
            ),
        }
    } else {
        match &ws.status_line {
            Some(line) => format!("\"{line}\""),
            None => probe.detail.clone().unwrap_or_else(|| "no answer".into()),
        }
    };
    format!(
        "follow-up upgrade of {} offering {}: {outcome}",
        ws.path,
        ws.offered.join(", ")
    )
}

pub(super) fn websocket_path_not_found(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let (Some(ws), Some(Failure::UpgradeRefused { status: 404 })) = (&ev.websocket, &ev.failure)
    else {
        return None;
    };
    let mut d = Diagnosis::new(
        Code::WebsocketPathNotFound,
        format!("{} serves HTTP but has nothing at the path {}: the WebSocket upgrade got 404 Not Found.", cx.target, ws.path),
    )
    .fact(answer(ws));
    for probe in &cx.follow_ups.websocket {
        d = d.fact(tried(probe));
    }
    if let Some(ok) = accepted(cx) {
        d = d.remedy(format!("Client: use the path the broker serves MQTT on: `mqtls diagnose {}`; MQTT.js/MQTTX take it in the URL, paho-python `client.ws_set_options(path=\"{}\")`.", url(cx, &ok.exchange.path), ok.exchange.path));
    } else {
        d = d.remedy(format!("Client: find the broker's WebSocket path (none of {} answered with an upgrade) and put it in the URL.", COMMON_PATHS.join(", ")));
    }
    Some(
        d.remedy("Broker paths: EMQX `/mqtt` (listeners.wss.default.websocket.mqtt_path), RabbitMQ `/ws` (web_mqtt.ws_path), HiveMQ `/mqtt`, mosquitto any path; a reverse proxy must forward the path it exposes.")
            .remedy(format!("See it: `curl -i --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: mqtt' {}://{}{}`.", if cx.plain { "http" } else { "https" }, cx.target, ws.path)),
    )
}

pub(super) fn websocket_subprotocol_refused(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let ws = ev.websocket.as_ref()?;
    let legacy_ok = cx
        .follow_ups
        .websocket
        .iter()
        .find(|u| u.accepted && u.exchange.offered.iter().any(|p| p == LEGACY_SUBPROTOCOL));
    let summary = match (&ev.failure, legacy_ok) {
        (Some(Failure::SubprotocolRefused { selected: Some(p) }), _) => format!(
            "{} switched to WebSocket but selected the subprotocol \"{p}\" instead of \"mqtt\".",
            cx.target
        ),
        (Some(Failure::SubprotocolRefused { selected: None }), _) => format!(
            "{} switched to WebSocket without selecting the subprotocol \"mqtt\": clients that insist on it (MQTT.js, browsers) close the connection.",
            cx.target
        ),
        (
            Some(
                Failure::UpgradeRefused { .. } | Failure::NoUpgradeAnswer { .. } | Failure::NotHttp,
            ),
            Some(_),
        ) => format!(
            "{} refuses the WebSocket subprotocol \"mqtt\" and accepts only the legacy \"{LEGACY_SUBPROTOCOL}\".",
            cx.target
        ),
        _ => return None,
    };
    let mut d = Diagnosis::new(Code::WebsocketSubprotocolRefused, summary).fact(match &ws.status {
        Some(_) => answer(ws),
        None => format!(
            "the upgrade of {} offering subprotocol {} got no HTTP answer: {}",
            ws.path,
            ws.offered.join(", "),
            ev.raw_error.as_deref().unwrap_or("closed")
        ),
    });
    for probe in &cx.follow_ups.websocket {
        d = d.fact(tried(probe));
    }
    Some(
        d.remedy("Client: MQTT 3.1.1 and 5 register the subprotocol `mqtt` (MQTT 3.1.1 §6); an MQTT 3.1 era broker wants `mqttv3.1`: MQTT.js `protocolId: 'MQIsdp', protocolVersion: 3`, Paho JS uses `mqttv3.1` for MQTT 3.1.")
            .remedy("Broker: upgrade it or its WebSocket front end to select `mqtt` (mosquitto 1.4+ and 2.x accept both; a proxy in front must pass Sec-WebSocket-Protocol through).")
            .remedy(format!("See it: `curl -i --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: mqtt' {}://{}{}` shows the Sec-WebSocket-Protocol answered.", if cx.plain { "http" } else { "https" }, cx.target, ws.path)),
    )
}

pub(super) fn mqtt_port_websocket_client(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let ws = ev.websocket.as_ref()?;
    if !matches!(
        ev.failure,
        Some(Failure::NoUpgradeAnswer { .. } | Failure::NotHttp)
    ) {
        return None;
    }
    let ack = cx.follow_ups.direct_mqtt.as_ref()?.connack.as_ref()?;
    let (direct, scheme) = if cx.plain {
        ("plain MQTT (no WebSocket)", "mqtt")
    } else {
        ("MQTT over TLS without WebSocket", "mqtts")
    };
    Some(
        Diagnosis::new(
            Code::MqttPortWebsocketClient,
            format!("{} speaks {direct}, not MQTT over WebSockets: the upgrade got no HTTP answer, and a CONNECT without it got a CONNACK.", cx.target),
        )
        .fact(format!("WebSocket upgrade of {}: {}", ws.path, ev.raw_error.as_deref().unwrap_or("no answer")))
        .fact(match &ev.first_bytes {
            Some(hex) => format!("the peer's answer instead of HTTP: {}", printable(hex)),
            None => "no byte of an answer arrived".to_string(),
        })
        .fact(format!("{direct} on the same port: CONNACK {} ({})", ack.code, ack.reason))
        .remedy(format!("Client: connect with `{scheme}://{}` (no WebSocket), or use the broker's WebSocket port (often 8083 ws / 8084 wss / 443, RabbitMQ 15675/15676).", cx.target))
        .remedy("Broker (mosquitto): a WebSocket listener needs its own `listener PORT` block with `protocol websockets`; RabbitMQ needs the rabbitmq_web_mqtt plugin; EMQX `listeners.ws`/`listeners.wss`.")
    )
}

pub(super) fn websocket_port_mqtt_client(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let http = http_answer(ev);
    if ev.websocket.is_some() || !(http || unanswered_connect(ev)) {
        return None;
    }
    let ok = accepted(cx)?;
    let ws = &ok.exchange;
    let scheme = if ev.tls.version.is_some() {
        "wss"
    } else {
        "ws"
    };
    let mut d = Diagnosis::new(
        Code::WebsocketPortMqttClient,
        format!(
            "{} speaks MQTT over WebSockets ({scheme}://), but the client spoke MQTT directly: the broker {}.",
            cx.target,
            if http {
                "answered in HTTP"
            } else if matches!(ev.failure, Some(Failure::NoConnAck { closed: true })) {
                "hung up on CONNECT without an answer, as a WebSocket listener does with bytes that are not HTTP"
            } else {
                "waited for an HTTP request and never answered CONNECT"
            }
        ),
    )
    .fact(if http {
        format!(
            "the answer to {}: {}",
            if matches!(ev.failure, Some(Failure::NotTls)) { "the TLS ClientHello" } else { "CONNECT" },
            ev.first_bytes.as_deref().map(printable).unwrap_or_default()
        )
    } else {
        format!("no answer to CONNECT: {}", ev.raw_error.as_deref().unwrap_or("none before the deadline"))
    });
    for probe in &cx.follow_ups.websocket {
        d = d.fact(tried(probe));
    }
    Some(
        d.remedy(format!("Client: connect with `mqtls diagnose {scheme}://{}{}`; MQTT.js/MQTTX `{scheme}://{}{}`, paho-python `mqtt.Client(transport=\"websockets\")` with `ws_set_options(path=\"{}\")`, mosquitto_pub has no WebSocket client.", cx.target, ws.path, cx.target, ws.path, ws.path))
            .remedy("Or use the broker's MQTT port (usually 8883 with TLS, 1883 without).")
    )
}

pub(super) fn websocket_upgrade_refused(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let ws = ev.websocket.as_ref()?;
    let (summary, detail) = match &ev.failure {
        Some(Failure::UpgradeRefused { status }) if !(200..400).contains(status) => (
            format!(
                "{} refused the WebSocket upgrade with HTTP {status}.",
                cx.target
            ),
            answer(ws),
        ),
        Some(Failure::UpgradeInvalid { detail }) => (
            format!(
                "{} answered the WebSocket upgrade with a broken handshake.",
                cx.target
            ),
            format!("{}: {detail}", answer(ws)),
        ),
        _ => return None,
    };
    let mut d = Diagnosis::new(Code::WebsocketUpgradeRefused, summary).fact(detail);
    for probe in &cx.follow_ups.websocket {
        d = d.fact(tried(probe));
    }
    let status = ws.status.unwrap_or(0);
    d = match status {
        401 | 403 => d.remedy("The server or a proxy in front of it refuses this client: check its access rules (IP allow lists, Origin checks, an authentication header or token the WebSocket endpoint wants)."),
        400 | 426 => d.remedy("The server did not accept the upgrade request: a proxy in front of the broker must pass `Upgrade` and `Connection` through (nginx: `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\";`)."),
        500..=599 => d.remedy("A server error: check the broker's (or the proxy's) log; a 502/503/504 is a proxy that cannot reach the broker behind it."),
        _ => d.remedy("Check the broker's WebSocket listener configuration and any proxy in front of it."),
    };
    Some(d.remedy(format!("See it: `curl -i --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: mqtt' {}://{}{}`.", if cx.plain { "http" } else { "https" }, cx.target, ws.path)))
}

pub(super) fn plain_http_port(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let ws = ev.websocket.as_ref();
    let lead = match (ws, &ev.failure) {
        (Some(ws), Some(Failure::UpgradeRefused { status })) if (200..400).contains(status) => {
            answer(ws)
        }
        // Only once the WebSocket follow-ups ran and none switched: before that it is an
        // HTTP answer (`not_tls` says so), not yet "no WebSocket here".
        // A ClientHello answered in HTTP stays `not_tls` (it names the HTTP server too).
        (None, Some(Failure::MalformedConnAck { .. }))
            if http_answer(ev) && !cx.follow_ups.websocket.is_empty() && accepted(cx).is_none() =>
        {
            format!(
                "the answer to {}: {}",
                if matches!(ev.failure, Some(Failure::NotTls)) {
                    "the TLS ClientHello"
                } else {
                    "CONNECT"
                },
                ev.first_bytes.as_deref().map(printable).unwrap_or_default()
            )
        }
        _ => return None,
    };
    let mut d = Diagnosis::new(
        Code::PlainHttpPort,
        format!("{} is an HTTP server that does not speak MQTT: it answers HTTP requests but does not switch to WebSocket.", cx.target),
    )
    .fact(lead);
    for probe in &cx.follow_ups.websocket {
        d = d.fact(tried(probe));
    }
    Some(
        d.remedy("Client: this port serves web pages or an API (a dashboard, a management UI, a health check): use the broker's MQTT port, or its WebSocket port and path.")
            .remedy("If a proxy should forward WebSockets to the broker here, it serves the request itself instead: route the MQTT path to the broker and pass `Upgrade`/`Connection` through."),
    )
}
