//! Table tests of the WebSocket rules (`classify/rules/websocket.rs`) and their follow-up plan:
//! a positive row per code and rows where it must not fire, from evidence built by hand.

use super::*;
use crate::evidence::FollowUps;
use crate::evidence::PlainProbe;
use crate::evidence::UpgradeProbe;
use crate::evidence::{Backend, ConnAck, Evidence, Failure, HttpHeader, Phase, WebSocketExchange};

fn connack() -> ConnAck {
    ConnAck {
        mqtt_version: "3.1.1".into(),
        code: 0,
        reason: "success".into(),
        session_present: false,
    }
}

fn exchange(path: &str, offered: &str, status: Option<(u16, &str)>) -> WebSocketExchange {
    WebSocketExchange {
        path: path.into(),
        offered: vec![offered.into()],
        status: status.map(|(s, _)| s),
        status_line: status.map(|(_, l)| l.to_string()),
        headers: vec![HttpHeader {
            name: "Server".into(),
            value: "Cowboy".into(),
        }],
        ..WebSocketExchange::default()
    }
}

/// A `wss://` probe that got `failure` at the upgrade of `/mqtt`.
fn upgrade(failure: Failure, status: Option<(u16, &str)>) -> Evidence {
    let mut e = Evidence::new(Backend::Rustls, "rustls".into());
    e.phase = Phase::WebSocket;
    e.tls.version = Some("TLSv1.3".into());
    e.websocket = Some(exchange("/mqtt", "mqtt", status));
    e.failure = Some(failure);
    e
}

/// An `mqtts://` probe whose CONNECT got `first` (hex) back.
fn mqtt_answered(first: &str) -> Evidence {
    let mut e = Evidence::new(Backend::Rustls, "rustls".into());
    e.phase = Phase::Mqtt;
    e.tls.version = Some("TLSv1.3".into());
    e.first_bytes = Some(first.into());
    e.failure = Some(Failure::MalformedConnAck {
        detail: "packet type 4".into(),
    });
    e
}

fn accepted(path: &str, offered: &str) -> UpgradeProbe {
    let mut ex = exchange(
        path,
        offered,
        Some((101, "HTTP/1.1 101 Switching Protocols")),
    );
    ex.subprotocol = Some(offered.into());
    UpgradeProbe {
        exchange: ex,
        accepted: true,
        connack: Some(connack()),
        detail: None,
    }
}

fn refused(path: &str, offered: &str, status: (u16, &str)) -> UpgradeProbe {
    UpgradeProbe {
        exchange: exchange(path, offered, Some(status)),
        accepted: false,
        connack: None,
        detail: Some(format!(
            "the WebSocket upgrade was answered with HTTP {}",
            status.0
        )),
    }
}

fn verdict(ev: &Evidence, follow_ups: &FollowUps) -> Diagnosis {
    let trust = TrustFacts {
        source: TrustSource::System,
        certs: Vec::new(),
        notes: Vec::new(),
    };
    let all = vec![ev.clone()];
    let cx = Context {
        target: "localhost:8084",
        expect_name: "localhost",
        sni: Some("localhost"),
        trust: &trust,
        client_cert: None,
        identity_problem: None,
        sent_username: false,
        plain: false,
        checked_at: 1_795_000_000,
        all: &all,
        offered_versions: &[],
        follow_ups,
        chain: None,
        warn_days: DEFAULT_WARN_DAYS,
    };
    classify(ev, &cx).diagnosis
}

const HTTP_400: &str = "485454502f312e3120343030204261642052"; // "HTTP/1.1 400 Bad R"

#[test]
fn each_websocket_rule_has_positive_and_negative_rows() {
    use DiagnosisCode as C;
    let none = FollowUps::default();
    let with_upgrades = |u: Vec<UpgradeProbe>| FollowUps {
        websocket: u,
        ..FollowUps::default()
    };
    let direct = FollowUps {
        direct_mqtt: Some(PlainProbe {
            connack: Some(connack()),
            detail: None,
        }),
        ..FollowUps::default()
    };
    let not_found = upgrade(
        Failure::UpgradeRefused { status: 404 },
        Some((404, "HTTP/1.1 404 Not Found")),
    );
    let forbidden = upgrade(
        Failure::UpgradeRefused { status: 403 },
        Some((403, "HTTP/1.1 403 Forbidden")),
    );
    let bad_request = upgrade(
        Failure::UpgradeRefused { status: 400 },
        Some((400, "HTTP/1.1 400 Bad Request")),
    );
    let web_page = upgrade(
        Failure::UpgradeRefused { status: 200 },
        Some((200, "HTTP/1.1 200 OK")),
    );
    let closed = upgrade(Failure::NoUpgradeAnswer { closed: true }, None);
    let mut ok_over_ws = upgrade(
        Failure::Other,
        Some((101, "HTTP/1.1 101 Switching Protocols")),
    );
    ok_over_ws.failure = None;
    ok_over_ws.phase = Phase::Done;
    ok_over_ws.connack = Some(connack());
    let mut silent = Evidence::new(Backend::Rustls, "rustls".into());
    silent.phase = Phase::Mqtt;
    silent.tls.version = Some("TLSv1.3".into());
    silent.failure = Some(Failure::NoConnAck { closed: false });
    let mut hung_up = silent.clone();
    hung_up.failure = Some(Failure::NoConnAck { closed: true });
    // (evidence, follow-ups, expected code, a fact or summary fragment)
    let rows: Vec<(&str, Evidence, FollowUps, C, &str)> = vec![
        // websocket_path_not_found
        (
            "404, /ws works",
            not_found.clone(),
            with_upgrades(vec![accepted("/ws", "mqtt")]),
            C::WebsocketPathNotFound,
            "follow-up upgrade of /ws offering mqtt: 101, subprotocol mqtt, then CONNACK 0",
        ),
        (
            "404, nothing works",
            not_found.clone(),
            none.clone(),
            C::WebsocketPathNotFound,
            "HTTP/1.1 404 Not Found",
        ),
        // websocket_upgrade_refused
        (
            "403",
            forbidden.clone(),
            with_upgrades(vec![refused(
                "/mqtt",
                "mqttv3.1",
                (403, "HTTP/1.1 403 Forbidden"),
            )]),
            C::WebsocketUpgradeRefused,
            "with headers: Server: Cowboy",
        ),
        (
            "broken 101",
            upgrade(
                Failure::UpgradeInvalid {
                    detail: "Sec-WebSocket-Accept \"AAAA\"".into(),
                },
                Some((101, "HTTP/1.1 101 Switching Protocols")),
            ),
            none.clone(),
            C::WebsocketUpgradeRefused,
            "AAAA",
        ),
        // must not fire: 400 whose legacy retry switched is the subprotocol
        (
            "400, mqttv3.1 switches",
            bad_request.clone(),
            with_upgrades(vec![accepted("/mqtt", "mqttv3.1")]),
            C::WebsocketSubprotocolRefused,
            "offering mqttv3.1: 101",
        ),
        (
            "400, nothing switches",
            bad_request,
            none.clone(),
            C::WebsocketUpgradeRefused,
            "400",
        ),
        // websocket_subprotocol_refused
        (
            "101 with mqttv3.1",
            upgrade(
                Failure::SubprotocolRefused {
                    selected: Some("mqttv3.1".into()),
                },
                Some((101, "HTTP/1.1 101 Switching Protocols")),
            ),
            none.clone(),
            C::WebsocketSubprotocolRefused,
            "selected the subprotocol \"mqttv3.1\"",
        ),
        (
            "101 without protocol",
            upgrade(
                Failure::SubprotocolRefused { selected: None },
                Some((101, "HTTP/1.1 101 Switching Protocols")),
            ),
            none.clone(),
            C::WebsocketSubprotocolRefused,
            "without selecting",
        ),
        (
            "closed, mqttv3.1 switches",
            closed.clone(),
            with_upgrades(vec![accepted("/mqtt", "mqttv3.1")]),
            C::WebsocketSubprotocolRefused,
            "got no HTTP answer",
        ),
        // mqtt_port_websocket_client
        (
            "closed, direct MQTT works",
            closed.clone(),
            direct.clone(),
            C::MqttPortWebsocketClient,
            "MQTT over TLS without WebSocket on the same port: CONNACK 0",
        ),
        // must not fire: closed and nothing confirmed stays a gap
        (
            "closed, nothing confirmed",
            closed.clone(),
            none.clone(),
            C::Unclassified,
            "NoUpgradeAnswer",
        ),
        // websocket_port_mqtt_client
        (
            "HTTP to CONNECT, /mqtt switches",
            mqtt_answered(HTTP_400),
            with_upgrades(vec![accepted("/mqtt", "mqtt")]),
            C::WebsocketPortMqttClient,
            "(\"HTTP/1.1 400 Bad R\")",
        ),
        (
            "silent to CONNECT, /ws switches",
            silent.clone(),
            with_upgrades(vec![
                refused("/mqtt", "mqtt", (404, "HTTP/1.1 404 Not Found")),
                accepted("/ws", "mqtt"),
            ]),
            C::WebsocketPortMqttClient,
            "never answered CONNECT",
        ),
        (
            "hang-up on CONNECT, /ws switches",
            hung_up.clone(),
            with_upgrades(vec![accepted("/ws", "mqtt")]),
            C::WebsocketPortMqttClient,
            "hung up on CONNECT",
        ),
        // must not fire: a hang-up on CONNECT where no upgrade is accepted (a broker that
        // drops an unwelcome login) stays mqtt_no_connack
        (
            "hang-up, no upgrade",
            hung_up,
            with_upgrades(vec![refused(
                "/mqtt",
                "mqtt",
                (404, "HTTP/1.1 404 Not Found"),
            )]),
            C::MqttNoConnack,
            "no CONNACK",
        ),
        // must not fire: silence without a WebSocket listener stays mqtt_no_connack
        (
            "silent, no upgrade",
            silent,
            with_upgrades(vec![refused(
                "/mqtt",
                "mqtt",
                (404, "HTTP/1.1 404 Not Found"),
            )]),
            C::MqttNoConnack,
            "no CONNACK",
        ),
        // must not fire: MQTT bytes are not HTTP, whatever the follow-ups say
        (
            "MQTT garbage",
            mqtt_answered("30020000"),
            with_upgrades(vec![accepted("/mqtt", "mqtt")]),
            C::MqttNoConnack,
            "not a valid CONNACK",
        ),
        // plain_http_port
        (
            "200 to the upgrade",
            web_page,
            none.clone(),
            C::PlainHttpPort,
            "\"HTTP/1.1 200 OK\"",
        ),
        (
            "HTTP to CONNECT, nothing switches",
            mqtt_answered(HTTP_400),
            with_upgrades(vec![refused("/", "mqtt", (200, "HTTP/1.1 200 OK"))]),
            C::PlainHttpPort,
            "follow-up upgrade of / offering mqtt: \"HTTP/1.1 200 OK\"",
        ),
        // must not fire: a successful WebSocket probe is ok, with the upgrade as a fact
        (
            "ok over wss",
            ok_over_ws,
            none,
            C::Ok,
            "WebSocket upgrade of /mqtt: HTTP/1.1 101 Switching Protocols",
        ),
    ];
    let mut failures = Vec::new();
    for (name, ev, follow_ups, expect, fragment) in &rows {
        let d = verdict(ev, follow_ups);
        let text = format!("{} {}", d.summary, d.facts.join(" | "));
        if d.code != *expect || !text.contains(fragment) {
            failures.push(format!(
                "{name}: {} (want {expect} with {fragment:?}): {text}",
                d.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn follow_ups_are_planned_from_what_the_wire_showed() {
    let plan = |ev: Evidence| {
        let mut plan = FollowUpPlan::default();
        rules::plan_websocket(&[ev], true, &mut plan);
        plan
    };
    let p = plan(upgrade(
        Failure::UpgradeRefused { status: 404 },
        Some((404, "HTTP/1.1 404 Not Found")),
    ));
    let paths: Vec<&str> = p.upgrades.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/ws", "/"],
        "the path that failed is not tried again"
    );
    let p = plan(upgrade(Failure::NoUpgradeAnswer { closed: true }, None));
    assert!(p.direct_mqtt);
    assert_eq!(p.upgrades.len(), 1);
    assert_eq!(p.upgrades[0].protocols, ["mqttv3.1"]);
    let p = plan(mqtt_answered(HTTP_400));
    assert_eq!(p.upgrades.len(), 3);
    assert!(p.upgrades.iter().all(|u| u.tls && u.protocols == ["mqtt"]));
    // Nothing WebSocket about these: no follow-up.
    assert!(plan(mqtt_answered("30020000")).is_empty());
    let mut refused_connack = mqtt_answered("");
    refused_connack.first_bytes = None;
    refused_connack.failure = Some(Failure::ConnAckRefused { code: 5 });
    assert!(plan(refused_connack).is_empty());
}
