//! External pre-shared keys (TLS-PSK): the client's identity and key, and OpenSSL's PSK client
//! callback, which records what the broker showed.
//!
//! TLS 1.2 negotiates PSK as a cipher suite (RFC 4279; `PSK-*`, `DHE-PSK-*`, `ECDHE-PSK-*`) and
//! the broker may send an identity hint; TLS 1.3 offers an external PSK in the ClientHello's
//! `pre_shared_key` extension (RFC 8446 §4.2.11) with a binder that proves the key, and has no
//! hint. OpenSSL's legacy client callback serves both (for TLS 1.3 it calls it with no hint and
//! uses the key with SHA-256, as mosquitto's server callback does). rustls implements no
//! external PSK, so its probe records "not supported by this stack" instead of a handshake.
//!
//! The key never leaves this module in readable form: its `Debug` is redacted, no error
//! message quotes it, and evidence holds only the identity.

use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslRef, SslVerifyMode, SslVersion,
};
use tokio_openssl::SslStream;

use super::Prober;
use super::tap::Tap;
use crate::evidence::psk::{PskEvidence, PskProbe};
use crate::evidence::{Backend, Evidence, Failure};

/// The identity of the follow-up probe when the user gave none: it only asks whether the
/// broker speaks PSK, so any identity the broker does not know will do.
pub const THROWAWAY_IDENTITY: &str = "mqtls-psk-probe";

/// The longest key OpenSSL takes (`PSK_MAX_PSK_LEN`, bytes).
pub const MAX_KEY_BYTES: usize = 512;
/// The longest identity OpenSSL takes (`PSK_MAX_IDENTITY_LEN`, bytes, without the NUL).
pub const MAX_IDENTITY_BYTES: usize = 128;

/// A pre-shared key and the identity it is known by at the broker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Psk {
    /// The identity (mosquitto `psk_file`: the part before the colon).
    pub identity: String,
    /// The key.
    pub key: PskKey,
}

/// The key's bytes. Never printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PskKey(Vec<u8>);

impl std::fmt::Debug for PskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PskKey(<redacted, {} bytes>)", self.0.len())
    }
}

/// Why a key or identity cannot be used. No variant carries the key's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PskError {
    /// The key is not hex.
    #[error(
        "not a hex key (expected an even number of hex digits, as in mosquitto's psk_file; {0})"
    )]
    NotHex(&'static str),
    /// The key is empty or longer than OpenSSL takes.
    #[error("a key of {0} bytes (expected 1 to {MAX_KEY_BYTES})")]
    KeyLength(usize),
    /// The identity is empty, too long or holds a NUL.
    #[error("identity of {0} bytes (expected 1 to {MAX_IDENTITY_BYTES}, without NUL bytes)")]
    Identity(usize),
}

impl PskKey {
    /// Parses a hex key (`0x` prefix and surrounding white space allowed, as people paste it).
    pub fn from_hex(text: &str) -> Result<PskKey, PskError> {
        let t = text.trim();
        let t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        if !t.len().is_multiple_of(2) {
            return Err(PskError::NotHex("an odd number of digits"));
        }
        let mut bytes = Vec::with_capacity(t.len() / 2);
        for pair in t.as_bytes().chunks(2) {
            let digit = |b: u8| (b as char).to_digit(16);
            match (
                pair.first().and_then(|&b| digit(b)),
                pair.get(1).and_then(|&b| digit(b)),
            ) {
                (Some(hi), Some(lo)) => bytes.push((hi * 16 + lo) as u8),
                _ => return Err(PskError::NotHex("a character that is not a hex digit")),
            }
        }
        if bytes.is_empty() || bytes.len() > MAX_KEY_BYTES {
            return Err(PskError::KeyLength(bytes.len()));
        }
        Ok(PskKey(bytes))
    }

    /// How many bytes the key has (safe to report).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a parsed key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Psk {
    /// An identity and a hex key, both checked against OpenSSL's limits.
    pub fn new(identity: &str, hex_key: &str) -> Result<Psk, PskError> {
        if identity.is_empty() || identity.len() > MAX_IDENTITY_BYTES || identity.contains('\0') {
            return Err(PskError::Identity(identity.len()));
        }
        Ok(Psk {
            identity: identity.to_string(),
            key: PskKey::from_hex(hex_key)?,
        })
    }
}

/// What OpenSSL's PSK callback saw on one connection.
#[derive(Debug, Default)]
pub(super) struct PskRecord {
    offered: bool,
    hint: Option<String>,
}

/// Per-connection records, attached to each `Ssl` (the context, and its callback, is shared by
/// every probe of a run).
pub(super) type SharedRecord = Arc<Mutex<PskRecord>>;

fn record_index() -> Result<Index<Ssl, SharedRecord>, ErrorStack> {
    static INDEX: OnceLock<Result<Index<Ssl, SharedRecord>, ErrorStack>> = OnceLock::new();
    INDEX.get_or_init(Ssl::new_ex_index).clone()
}

/// Makes the context offer `psk`: OpenSSL then adds the PSK cipher suites of its default list
/// (TLS 1.2) and the `pre_shared_key` extension (TLS 1.3).
pub(super) fn configure(builder: &mut SslContextBuilder, psk: &Psk) {
    let psk = psk.clone();
    builder.set_psk_client_callback(move |ssl, hint, identity_out, key_out| {
        if let Some(record) = record_of(ssl) {
            let mut r = lock(&record);
            r.offered = true;
            r.hint = hint.map(|h| String::from_utf8_lossy(h).into_owned());
        }
        let id = psk.identity.as_bytes();
        // `Psk::new` bounds both lengths below OpenSSL's buffers; a longer one fails the
        // handshake here rather than being cut.
        if id.len() >= identity_out.len() || psk.key.0.len() > key_out.len() {
            return Ok(0);
        }
        identity_out[..id.len()].copy_from_slice(id);
        identity_out[id.len()] = 0;
        key_out[..psk.key.0.len()].copy_from_slice(&psk.key.0);
        Ok(psk.key.0.len())
    });
}

/// Attaches a fresh record to one connection.
pub(super) fn attach(ssl: &mut Ssl) -> Result<SharedRecord, ErrorStack> {
    let record = SharedRecord::default();
    ssl.set_ex_data(record_index()?, Arc::clone(&record));
    Ok(record)
}

fn record_of(ssl: &SslRef) -> Option<SharedRecord> {
    ssl.ex_data(record_index().ok()?).cloned()
}

/// Copies what the callback and the session showed into the evidence.
pub(super) fn record(psk: &Psk, record: Option<&SharedRecord>, ssl: &SslRef, ev: &mut Evidence) {
    let (offered, hint) = record
        .map(|r| {
            let r = lock(r);
            (r.offered, r.hint.clone())
        })
        .unwrap_or_default();
    let cipher = ssl.current_cipher().map(|c| c.name().to_string());
    // TLS 1.2 names PSK in the suite; TLS 1.3 suites do not, but a PSK session is a resumed one
    // with no certificate from the broker.
    let used = ssl.is_init_finished()
        && (cipher.as_deref().is_some_and(|c| c.contains("PSK"))
            || (ssl.version_str() == "TLSv1.3"
                && ssl.session_reused()
                && ssl.peer_certificate().is_none()));
    ev.psk = Some(PskEvidence {
        identity: psk.identity.clone(),
        supported: true,
        offered,
        hint,
        used,
    });
}

/// The evidence of a stack that cannot offer an external PSK (rustls): no connection made.
pub fn unsupported(psk: &Psk, ev: &mut Evidence) {
    ev.psk = Some(PskEvidence {
        identity: psk.identity.clone(),
        supported: false,
        offered: false,
        hint: None,
        used: false,
    });
    ev.raw_error = Some(
        "not supported by this stack: rustls implements no external pre-shared keys (TLS-PSK)"
            .into(),
    );
}

impl Prober {
    /// The PSK follow-up: one TLS 1.2 handshake offering only PSK cipher suites, with the
    /// user's PSK or a throwaway identity and random key. Nothing is sent after the handshake.
    pub async fn probe_psk(&self) -> PskProbe {
        let (psk, throwaway) = match &self.psk {
            Some(p) => (p.clone(), false),
            None => (throwaway_psk(), true),
        };
        let mut result = PskProbe {
            identity: psk.identity.clone(),
            throwaway,
            psk_chosen: false,
            completed: false,
            cipher: None,
            hint: None,
            alert: None,
            detail: None,
        };
        let mut scratch = Evidence::new(Backend::Openssl, String::new());
        let Some((tcp, _)) = self.connect(&mut scratch).await else {
            result.detail = scratch.raw_error;
            return result;
        };
        let (ssl, record) = match psk_only_ssl(&psk, self.request().sni.as_deref()) {
            Ok(parts) => parts,
            Err(e) => {
                result.detail = Some(e.to_string());
                return result;
            }
        };
        let (tap, _) = Tap::new(tcp);
        let mut stream = match SslStream::new(ssl, tap) {
            Ok(s) => s,
            Err(e) => {
                result.detail = Some(e.to_string());
                return result;
            }
        };
        let timeout = self.request().timeout;
        let outcome = tokio::time::timeout(timeout, Pin::new(&mut stream).connect()).await;
        {
            let r = lock(&record);
            result.psk_chosen = r.offered;
            result.hint = r.hint.clone();
        }
        result.cipher = stream
            .ssl()
            .current_cipher()
            .map(|c| c.standard_name().unwrap_or(c.name()).to_string());
        match outcome {
            Ok(Ok(())) => {
                result.completed = true;
                let bound = timeout.min(std::time::Duration::from_millis(200));
                let _ =
                    tokio::time::timeout(bound, tokio::io::AsyncWriteExt::shutdown(&mut stream))
                        .await;
            }
            Ok(Err(e)) => {
                if let Failure::AlertReceived { alert, .. } =
                    super::openssl::failure_from_ssl_error(&e)
                {
                    result.alert = Some(alert);
                }
                result.detail = Some(e.to_string());
            }
            Err(_) => result.detail = Some("no answer before the deadline".into()),
        }
        result
    }
}

/// A random key under [`THROWAWAY_IDENTITY`].
fn throwaway_psk() -> Psk {
    let mut key = vec![0u8; 32];
    // Without randomness a fixed key would do as well: the broker cannot know either.
    let _ = openssl::rand::rand_bytes(&mut key);
    Psk {
        identity: THROWAWAY_IDENTITY.to_string(),
        key: PskKey(key),
    }
}

fn psk_only_ssl(psk: &Psk, sni: Option<&str>) -> Result<(Ssl, SharedRecord), ErrorStack> {
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    b.set_verify(SslVerifyMode::NONE);
    b.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    b.set_max_proto_version(Some(SslVersion::TLS1_2))?;
    // Every PSK suite (plain, DHE, ECDHE, RSA key exchange), and nothing else: a broker that
    // has no PSK cannot fall back to a certificate suite.
    b.set_cipher_list("PSK:@SECLEVEL=0")?;
    configure(&mut b, psk);
    let mut ssl = Ssl::new(&b.build())?;
    let record = attach(&mut ssl)?;
    if let Some(name) = sni {
        ssl.set_hostname(name)?;
    }
    Ok((ssl, record))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_keys_parse_and_bad_ones_name_no_digits() {
        assert_eq!(
            PskKey::from_hex(" 0x0A1b ").map(|k| k.0),
            Ok(vec![0x0a, 0x1b])
        );
        assert_eq!(PskKey::from_hex("00ff").map(|k| k.len()), Ok(2));
        for bad in ["abc", "zz11", "", "é1"] {
            let e = PskKey::from_hex(bad).expect_err(bad);
            assert!(!bad.is_empty() && !e.to_string().contains(bad) || bad.is_empty());
        }
        let secret = "deadbeefcafe0g";
        let e = PskKey::from_hex(secret).expect_err("not hex");
        assert!(!e.to_string().contains("deadbeef"), "{e}");
        assert_eq!(
            PskKey::from_hex(&"00".repeat(MAX_KEY_BYTES + 1)),
            Err(PskError::KeyLength(MAX_KEY_BYTES + 1))
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let psk = Psk::new("dev1", "00112233445566778899aabbccddeeff").expect("valid");
        let shown = format!("{psk:?}");
        assert!(
            shown.contains("dev1") && shown.contains("16 bytes"),
            "{shown}"
        );
        assert!(!shown.contains("112233"), "{shown}");
        assert_eq!(Psk::new("", "00"), Err(PskError::Identity(0)));
        assert_eq!(Psk::new("a\0b", "00"), Err(PskError::Identity(3)));
    }
}
