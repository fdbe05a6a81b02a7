//! The one list of brokers mqtls knows: which it can start for a run, which it can write a
//! configuration for, and their names in flags, reports and `expect.brokers`.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

/// A broker mqtls can start, render a configuration for, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BrokerKind {
    /// mosquitto (Debian package): one process, one listener per profile.
    Mosquitto,
    /// RabbitMQ's MQTT plugin (Erlang/OTP TLS): one node per profile.
    Rabbitmq,
    /// mqtls's in-process OpenSSL TLS/MQTT responder: no broker needed, serves exactly the
    /// files of the profile (it never completes a chain). Started, never rendered.
    Inprocess,
    /// EMQX 5: rendered (`emqx.conf`), never started (it cannot be installed here).
    Emqx,
}

impl BrokerKind {
    /// Every broker, in the order reports list them.
    pub const ALL: [BrokerKind; 4] = [
        BrokerKind::Mosquitto,
        BrokerKind::Rabbitmq,
        BrokerKind::Inprocess,
        BrokerKind::Emqx,
    ];

    /// The name used in flags, reports and in `expect.brokers`.
    pub fn name(self) -> &'static str {
        match self {
            BrokerKind::Mosquitto => "mosquitto",
            BrokerKind::Rabbitmq => "rabbitmq",
            BrokerKind::Inprocess => "inprocess",
            BrokerKind::Emqx => "emqx",
        }
    }

    /// One line for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            BrokerKind::Mosquitto => "mosquitto (mosquitto.conf)",
            BrokerKind::Rabbitmq => "RabbitMQ's MQTT plugin on Erlang/OTP TLS (rabbitmq.conf)",
            BrokerKind::Inprocess => "mqtls's in-process TLS/MQTT responder, no broker needed",
            BrokerKind::Emqx => "EMQX 5 (emqx.conf HOCON)",
        }
    }

    /// True when `run --lab` can start it.
    pub fn can_start(self) -> bool {
        self != BrokerKind::Emqx
    }

    /// True when `lab render` can write its configuration.
    pub fn can_render(self) -> bool {
        self != BrokerKind::Inprocess
    }

    /// The parser of a flag that takes the brokers `keep` accepts, with their help lines.
    fn parser(keep: fn(BrokerKind) -> bool) -> impl TypedValueParser<Value = BrokerKind> {
        let kinds: Vec<BrokerKind> = BrokerKind::ALL.into_iter().filter(|k| keep(*k)).collect();
        let values: Vec<PossibleValue> = kinds
            .iter()
            .map(|k| PossibleValue::new(k.name()).help(k.about()))
            .collect();
        PossibleValuesParser::new(values).try_map(move |name: String| {
            kinds
                .iter()
                .copied()
                .find(|k| k.name() == name)
                .ok_or_else(|| format!("unknown broker {name:?}"))
        })
    }

    /// The parser of `--lab`: the brokers mqtls can start.
    pub fn startable() -> impl TypedValueParser<Value = BrokerKind> {
        BrokerKind::parser(BrokerKind::can_start)
    }

    /// The parser of `lab render --broker`: the brokers mqtls can configure.
    pub fn renderable() -> impl TypedValueParser<Value = BrokerKind> {
        BrokerKind::parser(BrokerKind::can_render)
    }
}

impl std::fmt::Display for BrokerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::BrokerKind;
    use clap::builder::TypedValueParser;

    fn parse(
        parser: impl TypedValueParser<Value = BrokerKind>,
        value: &str,
    ) -> Result<BrokerKind, String> {
        let cmd = clap::Command::new("t");
        parser
            .parse_ref(&cmd, None, std::ffi::OsStr::new(value))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_flag_takes_only_what_it_can_do() {
        assert_eq!(
            parse(BrokerKind::startable(), "inprocess"),
            Ok(BrokerKind::Inprocess)
        );
        assert!(parse(BrokerKind::startable(), "emqx").is_err());
        assert_eq!(
            parse(BrokerKind::renderable(), "emqx"),
            Ok(BrokerKind::Emqx)
        );
        assert!(parse(BrokerKind::renderable(), "inprocess").is_err());
        for kind in BrokerKind::ALL {
            assert!(
                kind.can_start() || kind.can_render(),
                "{kind} is good for nothing"
            );
        }
    }
}
