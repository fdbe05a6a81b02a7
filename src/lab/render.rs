//! A broker profile rendered as each broker's own configuration, for users who run the broker
//! themselves: a mosquitto `listener` block, RabbitMQ `rabbitmq.conf` keys, and EMQX's
//! `listeners.ssl.default` (EMQX is not installable here, so that rendering is untested
//! against a real EMQX). Pure functions of the profile.

use std::fmt::Write as _;

use super::BrokerKind;
use crate::scenario::Profile;

/// The configuration of `profile` for `broker`, listening on `port`; `None` for a broker that
/// has no configuration file (the in-process responder).
pub fn render(broker: BrokerKind, name: &str, profile: &Profile, port: u16) -> Option<String> {
    Some(match broker {
        BrokerKind::Mosquitto => mosquitto(name, profile, port),
        BrokerKind::Rabbitmq => rabbitmq(name, profile, port),
        BrokerKind::Emqx => emqx(name, profile, port),
        BrokerKind::Inprocess => return None,
    })
}

fn mosquitto(name: &str, p: &Profile, port: u16) -> String {
    let mut s = format!("# profile {name}\nper_listener_settings true\nlistener {port}\n");
    if p.websocket {
        // MQTT over WebSockets on this listener (wss with the TLS lines below); any path.
        s.push_str("protocol websockets\n");
    }
    if !p.certfile.is_empty() {
        let _ = writeln!(s, "certfile {}\nkeyfile {}", p.certfile, p.keyfile);
    }
    if let Some(psk) = &p.psk {
        let ids: Vec<&str> = psk.keys.iter().map(|k| k.identity.as_str()).collect();
        // The keys stay where the profile keeps them: the rendering never holds one.
        let _ = writeln!(
            s,
            "psk_hint {}\npsk_file /etc/mosquitto/psk   # one IDENTITY:HEXKEY line each: {}",
            psk.hint,
            ids.join(", ")
        );
    }
    if let Some(ca) = &p.cafile {
        let _ = writeln!(s, "cafile {ca}");
    }
    if p.require_certificate {
        s.push_str("require_certificate true\n");
    }
    if let Some(v) = &p.min_tls_version {
        let _ = writeln!(s, "tls_version tlsv{v}");
    }
    if let Some(c) = &p.ciphers {
        let _ = writeln!(s, "ciphers {c}");
    }
    if let Some(crl) = &p.crlfile {
        let _ = writeln!(s, "crlfile {crl}");
    }
    let _ = writeln!(s, "allow_anonymous {}", p.allow_anonymous);
    if !p.users.is_empty() {
        s.push_str("password_file /etc/mosquitto/passwd   # mosquitto_passwd -c /etc/mosquitto/passwd USER\n");
    }
    s
}

fn rabbitmq(name: &str, p: &Profile, port: u16) -> String {
    // MQTT over WebSockets is the web_mqtt plugin's listener (path /ws), with its own keys.
    let (mut s, ssl) = if p.websocket {
        (
            format!(
                "# profile {name} (rabbitmq-plugins enable rabbitmq_web_mqtt; path /ws)\nweb_mqtt.ssl.port = {port}\n"
            ),
            "web_mqtt.ssl",
        )
    } else {
        (
            format!("# profile {name}\nmqtt.listeners.ssl.default = {port}\n"),
            "ssl_options",
        )
    };
    let _ = writeln!(
        s,
        "{ssl}.certfile = {}\n{ssl}.keyfile = {}",
        p.certfile, p.keyfile
    );
    if let Some(ca) = &p.cafile {
        let _ = writeln!(s, "{ssl}.cacertfile = {ca}");
    }
    let verify = if p.require_certificate {
        "verify_peer"
    } else {
        "verify_none"
    };
    let _ = writeln!(s, "{ssl}.verify = {verify}");
    let _ = writeln!(s, "{ssl}.fail_if_no_peer_cert = {}", p.require_certificate);
    match p.min_tls_version.as_deref() {
        Some("1.3") => {
            let _ = writeln!(s, "{ssl}.versions.1 = tlsv1.3");
        }
        Some("1.2") => {
            let _ = writeln!(s, "{ssl}.versions.1 = tlsv1.3\n{ssl}.versions.2 = tlsv1.2");
        }
        Some(v) => {
            let _ = writeln!(s, "{ssl}.versions.1 = tlsv{v}");
        }
        None => {}
    }
    if let Some(c) = &p.ciphers {
        for (i, cipher) in c.split(':').enumerate() {
            let _ = writeln!(s, "{ssl}.ciphers.{} = {cipher}", i + 1);
        }
    }
    if p.crlfile.is_some() {
        s.push_str(
            "# CRLs: RabbitMQ takes ssl_options.crl_check with a CRL cache directory, not a file\n",
        );
    }
    let _ = writeln!(s, "mqtt.allow_anonymous = {}", p.allow_anonymous);
    s
}

fn emqx(name: &str, p: &Profile, port: u16) -> String {
    let mut s = format!(
        "# profile {name} (EMQX 5, untested here: EMQX is not installable on this machine)\n"
    );
    let _ = writeln!(
        s,
        "listeners.{}.default {{\n  bind = \"0.0.0.0:{port}\"\n  ssl_options {{",
        if p.websocket { "wss" } else { "ssl" }
    );
    let _ = writeln!(
        s,
        "    certfile = \"{}\"\n    keyfile = \"{}\"",
        p.certfile, p.keyfile
    );
    if let Some(ca) = &p.cafile {
        let _ = writeln!(s, "    cacertfile = \"{ca}\"");
    }
    let verify = if p.require_certificate {
        "verify_peer"
    } else {
        "verify_none"
    };
    let _ = writeln!(
        s,
        "    verify = {verify}\n    fail_if_no_peer_cert = {}",
        p.require_certificate
    );
    match p.min_tls_version.as_deref() {
        Some("1.3") => s.push_str("    versions = [tlsv1.3]\n"),
        Some("1.2") => s.push_str("    versions = [tlsv1.3, tlsv1.2]\n"),
        Some(v) => {
            let _ = writeln!(s, "    versions = [tlsv{v}]");
        }
        None => {}
    }
    if let Some(c) = &p.ciphers {
        let list: Vec<String> = c.split(':').map(|x| format!("\"{x}\"")).collect();
        let _ = writeln!(s, "    ciphers = [{}]", list.join(", "));
    }
    s.push_str("  }\n}\n");
    if !p.allow_anonymous {
        s.push_str("# anonymous access is governed by EMQX authentication settings (authentication = [...])\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mtls() -> Profile {
        Profile {
            certfile: "/etc/certs/server-fullchain.crt".into(),
            keyfile: "/etc/certs/server.key".into(),
            cafile: Some("/etc/certs/ca.crt".into()),
            require_certificate: true,
            min_tls_version: Some("1.2".into()),
            ciphers: None,
            crlfile: None,
            allow_anonymous: true,
            users: Vec::new(),
            plain: false,
            psk: None,
            websocket: false,
            labs: None,
        }
    }

    #[test]
    fn each_broker_gets_its_own_keys() {
        let m = render(BrokerKind::Mosquitto, "mtls", &mtls(), 8883).expect("mosquitto.conf");
        assert!(
            m.contains("listener 8883")
                && m.contains("require_certificate true")
                && m.contains("tls_version tlsv1.2"),
            "{m}"
        );
        let r = render(BrokerKind::Rabbitmq, "mtls", &mtls(), 8883).expect("rabbitmq.conf");
        assert!(
            r.contains("ssl_options.verify = verify_peer")
                && r.contains("ssl_options.fail_if_no_peer_cert = true"),
            "{r}"
        );
        assert!(r.contains("ssl_options.versions.2 = tlsv1.2"), "{r}");
        let e = render(BrokerKind::Emqx, "mtls", &mtls(), 8883).expect("emqx.conf");
        assert!(render(BrokerKind::Inprocess, "mtls", &mtls(), 8883).is_none());
        assert!(
            e.contains("listeners.ssl.default {")
                && e.contains("cacertfile = \"/etc/certs/ca.crt\""),
            "{e}"
        );
        assert!(
            e.contains("versions = [tlsv1.3, tlsv1.2]")
                && e.contains("fail_if_no_peer_cert = true"),
            "{e}"
        );
    }

    #[test]
    fn a_websocket_profile_is_each_brokers_websocket_listener() {
        let ws = Profile {
            websocket: true,
            ..mtls()
        };
        let m = render(BrokerKind::Mosquitto, "ws", &ws, 8084).expect("mosquitto.conf");
        assert!(m.contains("listener 8084\nprotocol websockets\n"), "{m}");
        let r = render(BrokerKind::Rabbitmq, "ws", &ws, 15676).expect("rabbitmq.conf");
        assert!(
            r.contains("web_mqtt.ssl.port = 15676")
                && r.contains("web_mqtt.ssl.verify = verify_peer")
                && !r.contains("mqtt.listeners.ssl")
                && !r.contains("ssl_options."),
            "{r}"
        );
        let e = render(BrokerKind::Emqx, "ws", &ws, 8084).expect("emqx.conf");
        assert!(e.contains("listeners.wss.default {"), "{e}");
    }
}
