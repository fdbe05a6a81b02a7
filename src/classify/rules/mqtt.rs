//! Rules for MQTT after TLS succeeded: refusing CONNACKs and missing ones.

use super::*;

pub(super) fn mqtt_refused(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let Some(Failure::ConnAckRefused { code }) = ev.failure else {
        return None;
    };
    let ack = ev.connack.as_ref()?;
    let v5 = ack.mqtt_version == "5";
    let cert_sent = ev.client_cert_sent && cx.client_cert.is_some();
    let (diag, summary) = match (v5, code) {
        (false, 5) | (true, 0x87) if !cx.sent_username && cert_sent => (
            Code::MqttNotAuthorized,
            "TLS succeeded; the broker refused the client, which sent no user name but a client certificate (the broker may map certificates to users).",
        ),
        (false, 4) | (true, 0x86) if cx.sent_username => (
            Code::MqttBadCredentials,
            "TLS succeeded; the broker refused the user name or password.",
        ),
        // RabbitMQ refuses anonymous clients this way: the credentials it wants are missing.
        (false, 4) | (true, 0x86) => (
            Code::MqttBadCredentials,
            "TLS succeeded; the broker answered \"bad user name or password\" although none was sent: it requires credentials.",
        ),
        // mosquitto (and others) answer "not authorized" to a wrong user name or password as
        // well: with credentials in the CONNECT, the credentials are what was refused.
        (false, 5) | (true, 0x87) if cx.sent_username => (
            Code::MqttBadCredentials,
            "TLS succeeded; the broker refused the user name and password sent (it answered \"not authorized\", which mosquitto also sends for a wrong password).",
        ),
        (false, 5) | (true, 0x87) => (
            Code::MqttNotAuthorized,
            "TLS succeeded; the broker refuses anonymous clients (no user name was sent).",
        ),
        (false, 2) | (true, 0x85) => (
            Code::MqttIdentifierRejected,
            "TLS succeeded; the broker rejected the client identifier.",
        ),
        (false, 1) | (true, 0x84) => (
            Code::MqttProtocolRejected,
            "TLS succeeded; the broker does not accept this MQTT protocol version.",
        ),
        (false, 3) | (true, 0x88) | (true, 0x89) => (
            Code::MqttServerUnavailable,
            "TLS succeeded; the broker says it is unavailable or busy.",
        ),
        _ => (
            Code::MqttRefused,
            "TLS succeeded; the broker refused the CONNECT.",
        ),
    };
    let summary = if cx.plain {
        summary.replacen("TLS succeeded", "Plain MQTT (no TLS)", 1)
    } else {
        summary.to_string()
    };
    let mut d = Diagnosis::new(diag, summary)
        .fact(format!(
            "CONNACK {code} ({}), MQTT {}",
            ack.reason, ack.mqtt_version
        ))
        .fact(format!(
            "CONNECT carried {}",
            if cx.sent_username {
                "a user name"
            } else {
                "no user name (anonymous)"
            }
        ));
    if let (true, Some(cert)) = (cert_sent, cx.client_cert) {
        d = d.fact(format!(
            "client certificate sent and accepted at the TLS layer: {} issued by {}",
            cert.subject, cert.issuer
        ));
    }
    if cert_sent && matches!(diag, Code::MqttBadCredentials | Code::MqttNotAuthorized) {
        let cn = cx
            .client_cert
            .and_then(|c| crate::x509::dn_attr(&c.subject, "CN"))
            .unwrap_or_else(|| "the certificate's CN".into());
        d = d.remedy(format!("Broker: it may map certificates to users: mosquitto `use_identity_as_username true` makes the CN (`{cn}`) the user name, which the ACL (and password file, if any) must allow; `use_subject_as_username true` uses the whole subject; RabbitMQ `mqtt.ssl_cert_login = true` with the rabbitmq_auth_mechanism_ssl plugin needs a user named after the certificate; EMQX `peer_cert_as_username = cn`."));
    }
    d = match diag {
        Code::MqttBadCredentials | Code::MqttNotAuthorized => d
            .remedy("Client: pass credentials: `--username USER --password-env VAR` (mosquitto_pub `-u USER -P ...`, paho `username_pw_set`).")
            .remedy("Broker (mosquitto 2.x): anonymous access is off by default; add `allow_anonymous true` to the listener, or a `password_file` (mosquitto_passwd), or `use_identity_as_username true` with `require_certificate true`; RabbitMQ: `mqtt.allow_anonymous`, `mqtt.default_user`; EMQX: authentication settings.")
            .remedy("Broker log: mosquitto writes \"Client <id> disconnected, not authorised.\""),
        Code::MqttProtocolRejected => d.remedy("Client: try the other MQTT version (`--mqtt-version 3.1.1` or `5`)."),
        Code::MqttIdentifierRejected => d.remedy("Client: use a client id the broker accepts (`--client-id`), unique per connection."),
        _ => d.remedy("Check the broker's log for the reason of the refusal."),
    };
    Some(d)
}

/// The broker closed on (or refused) our protocol level and answered the other one: it does
/// not speak the version asked for. Any CONNACK to the other version proves it is spoken.
pub(super) fn mqtt_version_unsupported(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let refused_level = matches!(
        ev.failure,
        Some(Failure::NoConnAck { closed: true })
            | Some(Failure::ConnAckRefused { code: 1 | 0x84 })
    );
    let other = cx.follow_ups.mqtt_version.as_ref()?;
    let ack = other.connack.as_ref()?;
    if !refused_level {
        return None;
    }
    let asked = if other.version == "5" { "3.1.1" } else { "5" };
    Some(
        Diagnosis::new(
            Code::MqttProtocolRejected,
            format!("The broker does not accept MQTT {asked}; MQTT {} works (CONNACK {} {}).", other.version, ack.code, ack.reason),
        )
        .fact(format!("MQTT {asked} CONNECT: {}", ev.raw_error.as_deref().unwrap_or("no CONNACK")))
        .fact(format!("MQTT {} CONNECT on a fresh connection: CONNACK {} ({})", other.version, ack.code, ack.reason))
        .remedy(format!("Client: connect with MQTT {} (mosquitto_pub `-V {}`; paho `protocol=MQTTv{}`; rumqttc: the `{}` module).", other.version, if other.version == "5" { "mqttv5" } else { "mqttv311" }, if other.version == "5" { "5" } else { "311" }, if other.version == "5" { "v5" } else { "v4 (crate root)" }))
        .remedy("Broker: MQTT 5 needs mosquitto ≥ 1.6, EMQX ≥ 4, RabbitMQ ≥ 3.13 (3.12 and older speak only 3.1.1 and 3.1)."),
    )
}

pub(super) fn mqtt_no_connack(ev: &Evidence, cx: &Context<'_>) -> Option<Diagnosis> {
    let detail = match &ev.failure {
        Some(Failure::NoConnAck { closed: true }) => "the broker closed the connection".to_string(),
        Some(Failure::NoConnAck { closed: false }) => {
            "no complete answer came before the deadline".to_string()
        }
        Some(Failure::MalformedConnAck { detail }) => {
            format!("the answer was not a valid CONNACK: {detail}")
        }
        _ => return None,
    };
    let lead = if cx.plain {
        "Plain MQTT (no TLS): CONNECT was sent"
    } else {
        "TLS succeeded and CONNECT was sent"
    };
    let mut d = Diagnosis::new(
        Code::MqttNoConnack,
        format!("{lead}, but no CONNACK came: {detail}."),
    )
    .fact(if cx.plain {
        "TLS: none (mqtt://, plain MQTT)".to_string()
    } else {
        format!(
            "TLS: {} {}",
            ev.tls.version.as_deref().unwrap_or("?"),
            ev.tls.cipher.as_deref().unwrap_or("")
        )
    })
    .fact(ev.raw_error.clone().unwrap_or_default());
    let cert_sent = ev.client_cert_sent && cx.client_cert.is_some();
    if cx.sent_username {
        d = d
            .fact("CONNECT carried a user name and password")
            .remedy("Credentials first: some brokers drop the connection instead of answering CONNACK 4/5 to a wrong user name or password (and log why). Check the user name and the password sent (`--username`, `--password-env`); try without them, or with a known-good pair, to tell.");
    }
    if let (true, Some(cert)) = (cert_sent, cx.client_cert) {
        d = d
            .fact(format!("client certificate sent and accepted at the TLS layer: {} issued by {}", cert.subject, cert.issuer))
            .remedy("Broker: it may map certificates to users (mosquitto `use_identity_as_username`, RabbitMQ `mqtt.ssl_cert_login`, EMQX `peer_cert_as_username`): the user the certificate maps to must exist and be allowed.");
    }
    if ev.client_cert_requested == Some(true) && !ev.client_cert_sent {
        d = d.fact("the broker asked for a client certificate and none was sent: a broker that checks it only when CONNECT arrives closes like this");
    }
    Some(
        d.remedy("Cloud brokers (AWS IoT) close instead of refusing: check the policy allows iot:Connect for this client id, and that the client id is unique.")
            .remedy("Check that the port is MQTT over TLS and not MQTT over WebSockets (which waits for an HTTP upgrade).")
            .remedy(format!("Check the broker's log; retry with `--mqtt-version 5` to get a reason code: `mqtls diagnose {} --mqtt-version 5`.", cx.target)),
    )
}
