//! The lab brokers started for one `run` (or the demo): one mosquitto with a listener per
//! profile, a RabbitMQ node per profile, an in-process responder per profile. Dropping it stops
//! them.

use std::collections::{BTreeMap, BTreeSet};

use super::profile::{mosquitto_listener, rabbitmq_options, renders, responder_behaviour};
use super::{BrokerKind, Mosquitto};
use crate::error::Error;
use crate::scenario::Profile;

/// Brokers started for a run; dropping it stops them.
pub struct Lab {
    mosquitto: Option<Mosquitto>,
    rabbitmq: BTreeMap<String, super::RabbitNode>,
    /// Profiles served as MQTT over WebSockets (their port is the WebSocket listener's).
    websocket: BTreeSet<String>,
    inprocess: BTreeMap<String, super::Responder>,
}

impl Lab {
    /// Starts the requested brokers with one listener (or node) per profile used.
    pub async fn start(
        kinds: &[BrokerKind],
        profiles: &BTreeMap<String, Profile>,
    ) -> Result<Lab, Error> {
        let mut lab = Lab {
            mosquitto: None,
            rabbitmq: BTreeMap::new(),
            inprocess: BTreeMap::new(),
            websocket: profiles
                .iter()
                .filter(|(_, p)| p.websocket)
                .map(|(name, _)| name.clone())
                .collect(),
        };
        if profiles.is_empty() {
            return Ok(lab);
        }
        for kind in kinds {
            match kind {
                BrokerKind::Emqx => {
                    return Err(Error::Lab(
                        "EMQX cannot be started by mqtls; run it yourself and pass --target".into(),
                    ));
                }
                BrokerKind::Mosquitto => {
                    let listeners = profiles
                        .iter()
                        .filter(|(_, p)| renders(p, *kind))
                        .map(|(name, p)| mosquitto_listener(name, p))
                        .collect::<Result<Vec<_>, Error>>()?;
                    let websocket: Vec<String> = lab.websocket.iter().cloned().collect();
                    let broker = tokio::task::spawn_blocking(move || {
                        let websocket: Vec<&str> = websocket.iter().map(String::as_str).collect();
                        Mosquitto::start_with_websockets(
                            &listeners,
                            &websocket,
                            std::time::Duration::from_secs(15),
                        )
                    })
                    .await
                    .map_err(|e| Error::Lab(e.to_string()))?
                    .map_err(|e| Error::Lab(format!("mosquitto: {e}")))?;
                    lab.mosquitto = Some(broker);
                }
                BrokerKind::Inprocess => {
                    for (name, p) in profiles.iter().filter(|(_, p)| renders(p, *kind)) {
                        let responder = super::Responder::start(responder_behaviour(p)?)
                            .await
                            .map_err(|e| {
                                Error::Lab(format!("in-process responder for {name}: {e}"))
                            })?;
                        lab.inprocess.insert(name.clone(), responder);
                    }
                }
                BrokerKind::Rabbitmq => {
                    let nodes: Vec<(String, super::SslOptions, bool)> = profiles
                        .iter()
                        .filter(|(_, p)| renders(p, *kind))
                        .map(|(name, p)| Ok((name.clone(), rabbitmq_options(p)?, p.websocket)))
                        .collect::<Result<_, Error>>()?;
                    // A node boots in ~10 s of mostly one core; more than a few at once on a
                    // small machine starve each other (15 at once missed a 60 s deadline on
                    // 2 cores), so boot them in waves.
                    let wave =
                        (2 * std::thread::available_parallelism().map_or(2, usize::from)).max(2);
                    // Nodes of WebSocket profiles also run the web_mqtt plugin.
                    let (web, tcp): (Vec<_>, Vec<_>) = nodes.into_iter().partition(|n| n.2);
                    let waves = [(false, tcp), (true, web)];
                    for (web_mqtt, chunk) in waves.iter().flat_map(|(web_mqtt, nodes)| {
                        nodes.chunks(wave).map(move |chunk| (*web_mqtt, chunk))
                    }) {
                        let chunk: Vec<(String, super::SslOptions)> = chunk
                            .iter()
                            .map(|(n, o, _)| (n.clone(), o.clone()))
                            .collect();
                        let names: Vec<String> = chunk.iter().map(|(n, _)| n.clone()).collect();
                        let started = tokio::task::spawn_blocking(move || {
                            super::RabbitNode::start_many_with(
                                &chunk,
                                web_mqtt,
                                std::time::Duration::from_secs(90),
                            )
                        })
                        .await
                        .map_err(|e| Error::Lab(e.to_string()))?
                        .map_err(|e| Error::Lab(format!("rabbitmq: {e}")))?;
                        lab.rabbitmq.extend(names.into_iter().zip(started));
                    }
                }
            }
        }
        Ok(lab)
    }

    /// The address of `profile` on the broker `kind`.
    pub fn port(&self, kind: BrokerKind, profile: &str) -> Option<u16> {
        match kind {
            BrokerKind::Mosquitto => self.mosquitto.as_ref()?.port(profile),
            BrokerKind::Rabbitmq if self.websocket.contains(profile) => {
                self.rabbitmq.get(profile)?.web_mqtt_tls_port()
            }
            BrokerKind::Rabbitmq => self.rabbitmq.get(profile).map(super::RabbitNode::port),
            BrokerKind::Inprocess => self.inprocess.get(profile).map(super::Responder::port),
            BrokerKind::Emqx => None,
        }
    }

    /// Waits (at most a second) until the brokers' logs stop growing: a broker logs a
    /// connection when its event loop gets to it, which can be after the client gave up.
    pub async fn settle_logs(&self) {
        let total = |lab: &Lab| {
            lab.mosquitto.as_ref().map_or(0, |m| m.log().len())
                + lab.rabbitmq.values().map(|n| n.log().len()).sum::<usize>()
        };
        let mut last = total(self);
        for _ in 0..10 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = total(self);
            if now == last {
                return;
            }
            last = now;
        }
    }

    pub fn log_len(&self, kind: BrokerKind, profile: &str) -> usize {
        self.log(kind, profile).len()
    }

    pub fn log(&self, kind: BrokerKind, profile: &str) -> String {
        match kind {
            BrokerKind::Mosquitto => self
                .mosquitto
                .as_ref()
                .map(Mosquitto::log)
                .unwrap_or_default(),
            BrokerKind::Inprocess | BrokerKind::Emqx => String::new(),
            BrokerKind::Rabbitmq => self
                .rabbitmq
                .get(profile)
                .map(super::RabbitNode::log)
                .unwrap_or_default(),
        }
    }
}
