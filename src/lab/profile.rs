//! A suite's broker profile translated into each lab broker's own terms: a mosquitto listener,
//! a RabbitMQ node's `ssl_options`, an in-process responder's behaviour. Only the translation:
//! starting them is [`super::started`]'s job.

use std::path::PathBuf;

use super::BrokerKind;
use crate::error::Error;
use crate::scenario::Profile;

/// True when `profile` is rendered on `kind` (its `labs` list, if any, names it).
pub fn renders(profile: &Profile, kind: BrokerKind) -> bool {
    let plain_ok = !(profile.plain && kind == BrokerKind::Rabbitmq);
    let websocket_ok = !(profile.websocket && kind == BrokerKind::Inprocess);
    plain_ok
        && websocket_ok
        && profile
            .labs
            .as_ref()
            .is_none_or(|labs| labs.iter().any(|l| l == kind.name()))
}

/// The profile's users with their passwords, read from the environment.
pub fn profile_users(p: &Profile) -> Result<Vec<(String, String)>, Error> {
    p.users
        .iter()
        .map(|u| {
            std::env::var(&u.password_env)
                .map(|pw| (u.name.clone(), pw))
                .map_err(|_| Error::MissingEnv {
                    flag: "profile users.password_env",
                    var: u.password_env.clone(),
                })
        })
        .collect()
}

/// The profile's PSK identities with their keys, read again from their variables or files
/// (the loaded profile holds only the references, so no key sits in a report or a log).
pub fn profile_psk(p: &Profile) -> Result<Option<super::ListenerPsk>, Error> {
    let Some(psk) = &p.psk else { return Ok(None) };
    let mut keys = Vec::new();
    for k in &psk.keys {
        let hex = match (&k.key_env, &k.key_file) {
            (Some(var), _) => std::env::var(var).map_err(|_| Error::MissingEnv {
                flag: "profile psk.keys.key_env",
                var: var.clone(),
            })?,
            (None, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| Error::Lab(format!("psk key_file {file}: {e}")))?
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .unwrap_or_default()
                .to_string(),
            (None, None) => String::new(),
        };
        keys.push((k.identity.clone(), hex));
    }
    Ok(Some(super::ListenerPsk {
        hint: psk.hint.clone(),
        keys,
    }))
}

pub fn mosquitto_listener(name: &str, p: &Profile) -> Result<super::Listener, Error> {
    let users = profile_users(p)?;
    let psk = profile_psk(p)?;
    Ok(super::Listener {
        name: name.to_string(),
        tls: (!p.plain).then(|| super::ListenerTls {
            cafile: p.cafile.as_ref().map(PathBuf::from),
            certfile: PathBuf::from(&p.certfile),
            keyfile: PathBuf::from(&p.keyfile),
            require_certificate: p.require_certificate,
            tls_version: p.min_tls_version.as_deref().map(|v| format!("tlsv{v}")),
            use_identity_as_username: false,
            ciphers: p.ciphers.clone(),
            crlfile: p.crlfile.as_ref().map(PathBuf::from),
            psk,
        }),
        allow_anonymous: p.allow_anonymous,
        users,
    })
}

pub fn rabbitmq_options(p: &Profile) -> Result<super::SslOptions, Error> {
    let users = profile_users(p)?;
    let versions = match p.min_tls_version.as_deref() {
        Some("1.3") => vec!["tlsv1.3".to_string()],
        Some("1.2") => vec!["tlsv1.3".to_string(), "tlsv1.2".to_string()],
        Some(v) => vec![format!("tlsv{v}")],
        None => Vec::new(),
    };
    Ok(super::SslOptions {
        cacertfile: p.cafile.as_ref().map(PathBuf::from),
        certfile: PathBuf::from(&p.certfile),
        keyfile: PathBuf::from(&p.keyfile),
        verify_peer: p.require_certificate,
        fail_if_no_peer_cert: p.require_certificate,
        versions,
        allow_anonymous: p.allow_anonymous,
        users,
    })
}

/// A profile as an in-process OpenSSL responder: the same files, served exactly as given.
pub fn responder_behaviour(p: &Profile) -> Result<super::Behaviour, Error> {
    if p.plain {
        return Ok(super::Behaviour::PlainMqtt(super::MqttBehaviour::Accept));
    }
    let read = |path: &str| {
        std::fs::read(path).map_err(|source| Error::ReadFile {
            what: "profile file",
            path: PathBuf::from(path),
            source,
        })
    };
    let client_auth = match (&p.cafile, p.require_certificate) {
        (Some(ca), true) => super::ClientAuth::Required { ca_pem: read(ca)? },
        (Some(ca), false) => super::ClientAuth::Optional { ca_pem: read(ca)? },
        (None, _) => super::ClientAuth::None,
    };
    let versions = match p.min_tls_version.as_deref() {
        Some("1.3") => vec![super::TlsVersion::Tls13],
        Some("1.2") => vec![super::TlsVersion::Tls12, super::TlsVersion::Tls13],
        Some("1.1") => vec![super::TlsVersion::Tls11, super::TlsVersion::Tls13],
        Some("1.0") => vec![super::TlsVersion::Tls10, super::TlsVersion::Tls13],
        _ => Vec::new(),
    };
    let mqtt = match (p.allow_anonymous, profile_users(p)?.into_iter().next()) {
        (true, _) => super::MqttBehaviour::Accept,
        (false, Some((username, password))) => {
            super::MqttBehaviour::RequireLogin { username, password }
        }
        // No users: nobody gets in; anonymous clients get "not authorized" like mosquitto.
        (false, None) => super::MqttBehaviour::RequireLogin {
            username: String::from("\u{0}no user"),
            password: String::from("\u{0}no password"),
        },
    };
    Ok(super::Behaviour::TlsWith(
        super::TlsServer {
            stack: super::ServerStack::Openssl,
            chain_pem: read(&p.certfile)?,
            key_pem: read(&p.keyfile)?,
            client_auth,
            versions,
            alpn: Vec::new(),
            mqtt,
        },
        super::TlsOptions {
            // An `@SECLEVEL=N` in the cipher string must apply before the certificate is
            // loaded, or OpenSSL refuses a SHA-1 or RSA-1024 certificate as mosquitto would not.
            security_level: p
                .ciphers
                .as_deref()
                .and_then(|c| c.split("@SECLEVEL=").nth(1))
                .and_then(|n| n.get(..1)?.parse().ok()),
            ciphers: p.ciphers.clone(),
            crl_file: p.crlfile.as_ref().map(PathBuf::from),
            ..super::TlsOptions::default()
        },
    ))
}
