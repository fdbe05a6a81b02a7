//! `mqtls lab render`: a suite's broker profiles as each broker's own configuration.

use std::path::PathBuf;

use super::write_stdout;
use crate::error::{EXIT_OK, Error};
use crate::lab::BrokerKind;
use crate::lab::render::render as render_profile;

pub(super) fn render(
    suites: &[PathBuf],
    broker: BrokerKind,
    profile: Option<String>,
    port: u16,
) -> Result<u8, Error> {
    let suite = crate::scenario::load(suites)?;
    let mut found = false;
    for (name, p) in &suite.profiles {
        if profile.as_deref().is_none_or(|want| want == name) {
            found = true;
            if let Some(config) = render_profile(broker, name, p, port) {
                write_stdout(&format!("{config}\n"))?;
            }
        }
    }
    if !found {
        let known: Vec<&str> = suite.profiles.keys().map(String::as_str).collect();
        return Err(Error::Flag {
            flag: "--profile",
            value: profile.unwrap_or_default(),
            reason: format!("no such profile (expected one of: {})", known.join(", ")),
        });
    }
    Ok(EXIT_OK)
}
