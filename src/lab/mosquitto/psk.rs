//! The PSK part of a mosquitto TLS listener: `psk_hint` and a `psk_file` of `identity:hexkey`
//! lines (mosquitto's format), written into the broker's private directory.

use std::fmt::Write as _;
use std::path::Path;

use super::{LabError, write};

/// TLS-PSK settings of a [`super::ListenerTls`], whose `certfile` must then be empty: mosquitto
/// 2.0 refuses both on one listener ("Cannot use both certificate and psk encryption in a
/// single listener"), so a PSK listener serves PSK only.
#[derive(Clone, Default)]
pub struct ListenerPsk {
    /// `psk_hint`: mosquitto enables PSK on a listener only when it has one; TLS 1.2 sends it
    /// to the client in the ServerKeyExchange.
    pub hint: String,
    /// `(identity, hex key)` lines of the `psk_file`.
    pub keys: Vec<(String, String)>,
}

impl std::fmt::Debug for ListenerPsk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let identities: Vec<&str> = self.keys.iter().map(|(i, _)| i.as_str()).collect();
        f.debug_struct("ListenerPsk")
            .field("hint", &self.hint)
            .field("identities", &identities)
            .finish_non_exhaustive()
    }
}

/// Appends `psk_hint` and `psk_file` to the config, writing the file for listener `index`.
pub(super) fn write_psk(
    c: &mut String,
    dir: &Path,
    index: usize,
    name: &str,
    psk: &ListenerPsk,
) -> Result<(), LabError> {
    let mut lines = String::new();
    for (identity, key) in &psk.keys {
        let bad = |s: &str| s.is_empty() || s.contains(['\n', '\r', ':']);
        if bad(identity) || bad(key) {
            return Err(LabError::InvalidUser {
                listener: name.to_string(),
                user: identity.clone(),
            });
        }
        let _ = writeln!(lines, "{identity}:{key}");
    }
    let path = dir.join(format!("listener-{index}.psk"));
    write(&path, lines.as_bytes(), "write a psk_file")?;
    let _ = writeln!(c, "psk_hint {}", psk.hint);
    let _ = writeln!(c, "psk_file {}", path.display());
    Ok(())
}
