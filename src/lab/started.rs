//! The lab brokers started for one `run` (or the demo): one mosquitto with a listener per
//! profile, a RabbitMQ node per profile, an in-process responder per profile. Dropping it stops
//! them.

use std::collections::BTreeMap;

use super::profile::{mosquitto_listener, rabbitmq_options, renders, responder_behaviour};
use super::{BrokerKind, Mosquitto};
use crate::error::Error;
use crate::scenario::Profile;

/// Brokers started for a run; dropping it stops them.
pub struct Lab {
    mosquitto: Option<Mosquitto>,
    rabbitmq: BTreeMap<String, super::RabbitNode>,
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
                    let broker = tokio::task::spawn_blocking(move || {
                        Mosquitto::start(&listeners, std::time::Duration::from_secs(15))
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
                    let nodes: Vec<(String, super::SslOptions)> = profiles
                        .iter()
                        .filter(|(_, p)| renders(p, *kind))
                        .map(|(name, p)| Ok((name.clone(), rabbitmq_options(p)?)))
                        .collect::<Result<_, Error>>()?;
                    // A node boots in ~10 s of mostly one core; more than a few at once on a
                    // small machine starve each other (15 at once missed a 60 s deadline on
                    // 2 cores), so boot them in waves.
                    let wave =
                        (2 * std::thread::available_parallelism().map_or(2, usize::from)).max(2);
                    for chunk in nodes.chunks(wave) {
                        let chunk = chunk.to_vec();
                        let names: Vec<String> = chunk.iter().map(|(n, _)| n.clone()).collect();
                        let started = tokio::task::spawn_blocking(move || {
                            super::RabbitNode::start_many(
                                &chunk,
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
