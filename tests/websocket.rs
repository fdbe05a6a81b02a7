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
