//! MQTT over WebSockets (`wss://`, `ws://`) end to end: every WebSocket code from real
//! connections, on both client backends (and both server TLS stacks for `wss://`), against the
//! responder's WebSocket front; then the same readings against mosquitto's `protocol
//! websockets` listeners and RabbitMQ's web_mqtt plugin.
//!
//! Loopback only; each case is bounded by a 2 s per-phase deadline.

use std::time::{Duration, Instant};

use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::Backend;
use mqtls::inputs::{self, InputPaths, LoadedInputs};
use mqtls::lab::{
    Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsOptions, TlsServer, WsServer,
};
use mqtls::pki::{self, Pki};
use mqtls::probe::ProbeRequest;
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion};
use mqtls::report::DiagnoseReport;
use mqtls::target::Target;

const TIMEOUT: Duration = Duration::from_secs(2);

/// A 403 as nginx sends it when an access rule refuses the client.
const FORBIDDEN: &[u8] =
    b"HTTP/1.1 403 Forbidden\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nForbidden";
/// A web page: an HTTP server that ignores `Upgrade`.
const WEB_PAGE: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: lighttpd\r\nContent-Type: text/html\r\nContent-Length: 26\r\n\r\n<html><h1>Status</h1></html>";

fn tls_server(pki: &Pki, stack: ServerStack) -> TlsServer {
    TlsServer {
        stack,
        chain_pem: pki.server.chain_pem().to_vec(),
        key_pem: pki.server.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    }
}

fn front(pki: &Pki, stack: ServerStack, ws: Option<WsServer>) -> Behaviour {
    Behaviour::TlsWith(
        tls_server(pki, stack),
        TlsOptions {
            websocket: ws.map(Box::new),
            ..TlsOptions::default()
        },
    )
}

fn load(pki: &Pki) -> LoadedInputs {
    inputs::load(&InputPaths {
        cafiles: vec![pki.root.cert.clone()],
        cert: None,
        key: None,
        key_password: None,
        untrusted: Vec::new(),
        offline: false,
        psk: None,
    })
    .expect("inputs")
}

async fn diagnose(target: &str, loaded: &LoadedInputs) -> DiagnoseReport {
    let target = Target::parse(target).expect("target");
    let request = ProbeRequest {
        sni: Some("localhost".into()),
        expect_name: "localhost".into(),
        target,
        tls_versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: ConnectSettings {
            version: MqttVersion::V311,
            client_id: "mqtls-websocket".into(),
            username: None,
            password: None,
        },
        timeout: TIMEOUT,
        verify_at: None,
    };
    mqtls::diagnose::diagnose(request, loaded, &Backend::ALL).await
}

/// Both backends' codes must be `expect`, and every fact list must hold each of `facts`.
/// Diagnoses each target of `rows` and checks its code and facts; the failures, each named by
/// its target.
async fn check_rows(rows: &[(String, Code, &[&str])], loaded: &LoadedInputs) -> Vec<String> {
    let mut failures = Vec::new();
    for (target, code, facts) in rows {
        let report = diagnose(target, loaded).await;
        if let Err(e) = check(&report, *code, facts) {
            failures.push(format!("{target}: {e}"));
        }
    }
    failures
}

fn check(report: &DiagnoseReport, expect: Code, facts: &[&str]) -> Result<(), String> {
    for b in &report.backends {
        let d = &b.diagnosis;
        if d.code != expect {
            return Err(format!(
                "{}: {} instead of {expect}: {} / {:?} / raw {:?}",
                b.backend, d.code, d.summary, d.facts, b.raw_error
            ));
        }
        for want in facts {
            if !d.facts.iter().any(|f| f.contains(want)) {
                return Err(format!(
                    "{}: no fact with {want:?} in {:#?}",
                    b.backend, d.facts
                ));
            }
        }
    }
    if report.backends.len() != 2 {
        return Err(format!("{} backends reported", report.backends.len()));
    }
    Ok(())
}

struct Case {
    name: &'static str,
    /// `None`: the plain (`ws://`) responder; else the TLS front per stack.
    ws: Option<WsServer>,
    plain: bool,
    target: &'static str,
    expect: Code,
    facts: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let only = |path: &str| WsServer::Upgrade {
        path: Some(path.into()),
        protocols: vec!["mqtt".into()],
    };
    vec![
        Case {
            name: "ok",
            ws: Some(WsServer::mqtt()),
            plain: false,
            target: "wss://localhost:PORT/mqtt",
            expect: Code::Ok,
            facts: &[
                "WebSocket upgrade of /mqtt: HTTP/1.1 101 Switching Protocols, subprotocol mqtt",
            ],
        },
        Case {
            name: "path_not_found",
            ws: Some(only("/ws")),
            plain: false,
            target: "wss://localhost:PORT/mqtt",
            expect: Code::WebsocketPathNotFound,
            facts: &[
                "\"HTTP/1.1 404 Not Found\"",
                "follow-up upgrade of /ws offering mqtt: 101, subprotocol mqtt, then CONNACK 0",
            ],
        },
        Case {
            name: "upgrade_refused",
            ws: Some(WsServer::Respond(FORBIDDEN.to_vec())),
            plain: false,
            target: "wss://localhost:PORT/mqtt",
            expect: Code::WebsocketUpgradeRefused,
            facts: &[
                "\"HTTP/1.1 403 Forbidden\" with headers: Server: nginx",
                "body: Forbidden",
            ],
        },
        Case {
            name: "subprotocol_legacy_only",
            ws: Some(WsServer::Upgrade {
                path: None,
                protocols: vec!["mqttv3.1".into()],
            }),
            plain: false,
            target: "wss://localhost:PORT/mqtt",
            expect: Code::WebsocketSubprotocolRefused,
            facts: &["offering mqttv3.1: 101, subprotocol mqttv3.1, then CONNACK 0"],
        },
        Case {
            name: "subprotocol_none_selected",
            ws: Some(WsServer::Upgrade {
                path: None,
                protocols: Vec::new(),
            }),
            plain: false,
            target: "wss://localhost:PORT/",
            expect: Code::WebsocketSubprotocolRefused,
            facts: &["\"HTTP/1.1 101 Switching Protocols\""],
        },
        Case {
            name: "mqtt_port_websocket_client",
            ws: None,
            plain: false,
            target: "wss://localhost:PORT/mqtt",
            expect: Code::MqttPortWebsocketClient,
            facts: &["MQTT over TLS without WebSocket on the same port: CONNACK 0 (success)"],
        },
        Case {
            name: "websocket_port_mqtt_client",
            ws: Some(WsServer::mqtt()),
            plain: false,
            target: "mqtts://localhost:PORT",
            expect: Code::WebsocketPortMqttClient,
            facts: &[
                "(\"HTTP/1.1 400 Bad",
                "follow-up upgrade of /mqtt offering mqtt: 101, subprotocol mqtt, then CONNACK 0",
            ],
        },
        Case {
            name: "plain_http_port_ws",
            ws: Some(WsServer::Respond(WEB_PAGE.to_vec())),
            plain: false,
            target: "wss://localhost:PORT/mqtt",
            expect: Code::PlainHttpPort,
            facts: &["\"HTTP/1.1 200 OK\" with headers: Server: lighttpd"],
        },
        Case {
            name: "plain_http_port_mqtts",
            ws: Some(WsServer::Respond(WEB_PAGE.to_vec())),
            plain: false,
            target: "mqtts://localhost:PORT",
            expect: Code::PlainHttpPort,
            facts: &[
                "(\"HTTP/1.1 400 Bad",
                "follow-up upgrade of / offering mqtt: \"HTTP/1.1 200 OK\"",
            ],
        },
        Case {
            name: "plain_ws_ok",
            ws: Some(WsServer::mqtt()),
            plain: true,
            target: "ws://localhost:PORT/mqtt",
            expect: Code::Ok,
            facts: &["subprotocol mqtt"],
        },
        Case {
            name: "plain_ws_to_mqtt_port",
            ws: None,
            plain: true,
            target: "ws://localhost:PORT",
            expect: Code::MqttPortWebsocketClient,
            facts: &["plain MQTT (no WebSocket) on the same port: CONNACK 0 (success)"],
        },
        Case {
            name: "plain_mqtt_to_ws_port",
            ws: Some(WsServer::mqtt()),
            plain: true,
            target: "mqtt://localhost:PORT",
            expect: Code::WebsocketPortMqttClient,
            facts: &["offering mqtt: 101, subprotocol mqtt, then CONNACK 0"],
        },
    ]
}

async fn run(
    case: &Case,
    stack: ServerStack,
    pki: &Pki,
    loaded: &LoadedInputs,
) -> Result<(), String> {
    let behaviour = match (&case.ws, case.plain) {
        (Some(ws), true) => Behaviour::PlainWebSocket(ws.clone(), MqttBehaviour::Accept),
        (None, true) => Behaviour::PlainMqtt(MqttBehaviour::Accept),
        (ws, false) => front(pki, stack, ws.clone()),
    };
    let responder = Responder::start(behaviour)
        .await
        .map_err(|e| e.to_string())?;
    let target = case.target.replace("PORT", &responder.port().to_string());
    let started = Instant::now();
    let report = diagnose(&target, loaded).await;
    let elapsed = started.elapsed();
    check(&report, case.expect, case.facts)?;
    // No case waits for a deadline: every answer is immediate.
    if elapsed > TIMEOUT {
        return Err(format!("took {elapsed:?}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_cases_on_both_server_stacks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let loaded = load(&pki);
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases() {
        let stacks: &[ServerStack] = if case.plain {
            &[ServerStack::Openssl]
        } else {
            &[ServerStack::Openssl, ServerStack::Rustls]
        };
        for &stack in stacks {
            ran += 1;
            if let Err(e) = run(&case, stack, &pki, &loaded).await {
                failures.push(format!("{} [{stack:?}]: {e}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// mosquitto 2.0 with `protocol websockets` listeners (wss and ws) beside an MQTT TLS
/// listener: the right transport works, each wrong one gets its code, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_websocket_listeners() {
    use mqtls::lab::{BrokerKind, Listener, ListenerTls, Mosquitto, broker_available};
    if !broker_available(BrokerKind::Mosquitto, "mosquitto_websocket_listeners") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let loaded = load(&pki);
    let tls = || {
        Some(ListenerTls {
            certfile: pki.server.chain_path().to_path_buf(),
            keyfile: pki.server.key.clone(),
            ..ListenerTls::default()
        })
    };
    let listener = |name: &str, tls: Option<ListenerTls>| Listener {
        name: name.into(),
        tls,
        allow_anonymous: true,
        users: Vec::new(),
    };
    let broker = Mosquitto::start_with_websockets(
        &[
            listener("wss", tls()),
            listener("ws", None),
            listener("mqtts", tls()),
        ],
        &["wss", "ws"],
        Duration::from_secs(10),
    )
    .expect("mosquitto starts");
    let port = |name: &str| broker.port(name).expect("listener port");
    let rows: [(String, Code, &[&str]); 5] = [
        (
            format!("wss://localhost:{}/mqtt", port("wss")),
            Code::Ok,
            &["WebSocket upgrade of /mqtt: HTTP/1.1 101 Switching Protocols, subprotocol mqtt"],
        ),
        (
            format!("ws://localhost:{}/any/path", port("ws")),
            Code::Ok,
            &["WebSocket upgrade of /any/path"],
        ),
        (
            format!("wss://localhost:{}/mqtt", port("mqtts")),
            Code::MqttPortWebsocketClient,
            &["MQTT over TLS without WebSocket on the same port: CONNACK 0 (success)"],
        ),
        (
            // libwebsockets answers a raw CONNECT with 403 Forbidden.
            format!("mqtts://localhost:{}", port("wss")),
            Code::WebsocketPortMqttClient,
            &[
                "(\"HTTP/1.",
                "follow-up upgrade of /mqtt offering mqtt: 101, subprotocol mqtt, then CONNACK 0",
            ],
        ),
        (
            format!("mqtt://localhost:{}", port("ws")),
            Code::WebsocketPortMqttClient,
            &["follow-up upgrade of /mqtt offering mqtt: 101"],
        ),
    ];
    let failures = check_rows(&rows, &loaded).await;
    assert!(
        failures.is_empty(),
        "{}\n--- broker log:\n{}",
        failures.join("\n\n"),
        broker.log()
    );
}

/// RabbitMQ's web_mqtt plugin (Cowboy, path `/ws`) with TLS: the right path works on both
/// backends; `/mqtt`, the usual default elsewhere, is a 404 whose follow-ups find `/ws`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_web_mqtt() {
    use mqtls::lab::{BrokerKind, RabbitNode, SslOptions, broker_available};
    if !broker_available(BrokerKind::Rabbitmq, "rabbitmq_web_mqtt") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let loaded = load(&pki);
    let opts = SslOptions {
        certfile: pki.server.chain_path().to_path_buf(),
        keyfile: pki.server.key.clone(),
        allow_anonymous: true,
        ..SslOptions::default()
    };
    let node = RabbitNode::start_web_mqtt("web_mqtt", &opts, Duration::from_secs(60))
        .expect("rabbitmq starts");
    let wss = node.web_mqtt_tls_port().expect("web_mqtt TLS port");
    let ws = node.web_mqtt_port().expect("web_mqtt port");
    let rows: [(String, Code, &[&str]); 4] = [
        (
            format!("wss://localhost:{wss}/ws"),
            Code::Ok,
            &["WebSocket upgrade of /ws: HTTP/1.1 101 Switching Protocols, subprotocol mqtt"],
        ),
        (
            format!("wss://localhost:{wss}/mqtt"),
            Code::WebsocketPathNotFound,
            &[
                "404",
                "follow-up upgrade of /ws offering mqtt: 101, subprotocol mqtt, then CONNACK 0",
            ],
        ),
        (
            format!("ws://localhost:{ws}/mqtt"),
            Code::WebsocketPathNotFound,
            &["follow-up upgrade of /ws offering mqtt: 101"],
        ),
        (
            format!("mqtts://localhost:{wss}"),
            Code::WebsocketPortMqttClient,
            &["follow-up upgrade of /ws offering mqtt: 101, subprotocol mqtt, then CONNACK 0"],
        ),
    ];
    let failures = check_rows(&rows, &loaded).await;
    assert!(
        failures.is_empty(),
        "{}\n--- node log:\n{}",
        failures.join("\n\n"),
        node.log()
    );
}
