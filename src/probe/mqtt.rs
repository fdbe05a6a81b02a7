//! MQTT CONNECT and CONNACK over any byte stream, shared by both TLS backends and plain MQTT.
//!
//! Packets are encoded and decoded with rumqttc's codec, but framed here: the fixed header
//! and remaining length are read first and the body is then read exactly, with a size bound.
//! rumqttc's own "read more" loop never finishes on some short answers (a 3.1.1 broker's
//! `20 02 00 01` to a v5 CONNECT), and a probe must never hang on an odd CONNACK.

// Bytes from the network and from the user's files: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::evidence::ConnAck;
pub use crate::evidence::MqttVersion;

/// A CONNACK is tiny; v5 properties (reason string, user properties) stay far below this.
const MAX_CONNACK_BODY: usize = 64 * 1024;

/// What goes into the CONNECT packet.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectSettings {
    /// Protocol version.
    pub version: MqttVersion,
    /// Client identifier.
    pub client_id: String,
    /// User name, if any.
    pub username: Option<String>,
    /// Password, if any. Never printed: `Debug` redacts it.
    pub password: Option<String>,
}

impl std::fmt::Debug for ConnectSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSettings")
            .field("version", &self.version)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why no CONNACK could be read.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// The transport failed (for TLS streams this may carry a TLS alert).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection before a complete CONNACK arrived.
    #[error("the broker closed the connection after {received} bytes, without a CONNACK")]
    Closed {
        /// Bytes of the answer received before the close.
        received: usize,
    },
    /// The answer was not a well-formed CONNACK.
    #[error("malformed CONNACK: {0}")]
    Malformed(String),
}

/// Encodes a CONNECT with rumqttc's codec.
pub fn encode_connect(settings: &ConnectSettings) -> Result<BytesMut, String> {
    let mut buf = BytesMut::with_capacity(64);
    match settings.version {
        MqttVersion::V311 => {
            let mut connect = rumqttc::mqttbytes::v4::Connect::new(settings.client_id.clone());
            connect.keep_alive = 30;
            if let Some(user) = &settings.username {
                connect.set_login(user.clone(), settings.password.clone().unwrap_or_default());
            }
            connect.write(&mut buf).map_err(|e| e.to_string())?;
        }
        MqttVersion::V5 => {
            use rumqttc::v5::mqttbytes::v5::{Connect, Login};
            let connect = Connect {
                keep_alive: 30,
                client_id: settings.client_id.clone(),
                clean_start: true,
                properties: None,
            };
            let login = settings.username.as_ref().map(|user| {
                Login::new(user.clone(), settings.password.clone().unwrap_or_default())
            });
            connect
                .write(&None, &login, &mut buf)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(buf)
}

/// Sends CONNECT and reads one CONNACK. The caller bounds the whole exchange with a deadline.
pub async fn exchange<S>(stream: &mut S, settings: &ConnectSettings) -> Result<ConnAck, MqttError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    exchange_recording(stream, settings, &mut Vec::new()).await
}

/// [`exchange`], keeping in `received` every byte of the answer as it arrives, so that a caller
/// whose deadline cuts the exchange short can still say what came (a truncated CONNACK).
pub async fn exchange_recording<S>(
    stream: &mut S,
    settings: &ConnectSettings,
    received: &mut Vec<u8>,
) -> Result<ConnAck, MqttError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connect = encode_connect(settings).map_err(MqttError::Malformed)?;
    stream.write_all(&connect).await?;
    stream.flush().await?;
    read_frame(stream, received).await?;
    decode_connack(settings.version, received)
}

/// Reads one MQTT packet into `frame`: fixed header, remaining length, then exactly that many
/// bytes.
async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    frame: &mut Vec<u8>,
) -> Result<(), MqttError> {
    frame.clear();
    let first = read_byte(stream, frame.len()).await?;
    frame.push(first);
    let mut remaining: usize = 0;
    for i in 0..4 {
        let b = read_byte(stream, frame.len()).await?;
        frame.push(b);
        remaining |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return Err(MqttError::Malformed(
                "remaining length longer than 4 bytes".into(),
            ));
        }
    }
    if first >> 4 != 2 {
        return Err(MqttError::Malformed(format!(
            "expected a CONNACK (packet type 2), got packet type {} (first byte 0x{first:02x})",
            first >> 4
        )));
    }
    if remaining > MAX_CONNACK_BODY {
        return Err(MqttError::Malformed(format!(
            "CONNACK announces {remaining} bytes (limit {MAX_CONNACK_BODY})"
        )));
    }
    let total = frame.len() + remaining;
    let mut chunk = [0u8; 64];
    while frame.len() < total {
        let want = (total - frame.len()).min(chunk.len());
        let Some(into) = chunk.get_mut(..want) else {
            break;
        };
        let n = stream.read(into).await?;
        if n == 0 {
            return Err(MqttError::Closed {
                received: frame.len(),
            });
        }
        frame.extend_from_slice(into.get(..n).unwrap_or_default());
    }
    Ok(())
}

async fn read_byte<S: AsyncRead + Unpin>(stream: &mut S, received: usize) -> Result<u8, MqttError> {
    let mut b = [0u8; 1];
    match stream.read(&mut b).await? {
        0 => Err(MqttError::Closed { received }),
        _ => Ok(b[0]),
    }
}

/// Decodes a framed CONNACK. A 2-byte body is always the 3.1.1 layout, also in answer to a v5
/// CONNECT: that is how 3.1.1-only brokers refuse v5 (`20 02 00 01`).
fn decode_connack(asked: MqttVersion, frame: &[u8]) -> Result<ConnAck, MqttError> {
    let header_len = frame.len().saturating_sub(frame_body_len(frame));
    let (Some(&first), Some(body)) = (frame.first(), frame.get(header_len..)) else {
        return Err(MqttError::Malformed("empty CONNACK frame".into()));
    };
    let [flags, raw_code, ..] = *body else {
        return Err(MqttError::Malformed(format!(
            "CONNACK body has {} bytes, at least 2 expected",
            body.len()
        )));
    };
    let raw = (raw_code, flags & 1 == 1);
    let fixed_len = header_len.saturating_sub(1);
    let version = if body.len() == 2 {
        MqttVersion::V311
    } else {
        asked
    };
    let bytes = Bytes::copy_from_slice(frame);
    let (code, session_present) = match version {
        MqttVersion::V311 => {
            let header = rumqttc::mqttbytes::FixedHeader::new(first, fixed_len, body.len());
            match rumqttc::mqttbytes::v4::ConnAck::read(header, bytes) {
                Ok(ack) => (ack.code as u8, ack.session_present),
                // rumqttc rejects codes outside 0..=5; the raw byte is still the answer.
                Err(_) => raw,
            }
        }
        MqttVersion::V5 => {
            let header = rumqttc::v5::mqttbytes::v5::FixedHeader::new(first, fixed_len, body.len());
            match rumqttc::v5::mqttbytes::v5::ConnAck::read(header, bytes) {
                Ok(_) | Err(_) => raw,
            }
        }
    };
    Ok(ConnAck {
        mqtt_version: version.name().to_string(),
        code,
        reason: reason_name(version, code).to_string(),
        session_present,
    })
}

/// Length of the body of a complete frame (the part after the remaining-length bytes).
fn frame_body_len(frame: &[u8]) -> usize {
    let mut len = 0usize;
    for (i, b) in frame.iter().skip(1).take(4).enumerate() {
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    len.min(frame.len().saturating_sub(2))
}

/// The name of a CONNACK code in the given protocol version.
pub fn reason_name(version: MqttVersion, code: u8) -> &'static str {
    match (version, code) {
        (_, 0) => "success",
        (MqttVersion::V311, 1) => "unacceptable_protocol_version",
        (MqttVersion::V311, 2) => "identifier_rejected",
        (MqttVersion::V311, 3) => "server_unavailable",
        (MqttVersion::V311, 4) => "bad_user_name_or_password",
        (MqttVersion::V311, 5) => "not_authorized",
        (MqttVersion::V5, 0x80) => "unspecified_error",
        (MqttVersion::V5, 0x81) => "malformed_packet",
        (MqttVersion::V5, 0x82) => "protocol_error",
        (MqttVersion::V5, 0x83) => "implementation_specific_error",
        (MqttVersion::V5, 0x84) => "unsupported_protocol_version",
        (MqttVersion::V5, 0x85) => "client_identifier_not_valid",
        (MqttVersion::V5, 0x86) => "bad_user_name_or_password",
        (MqttVersion::V5, 0x87) => "not_authorized",
        (MqttVersion::V5, 0x88) => "server_unavailable",
        (MqttVersion::V5, 0x89) => "server_busy",
        (MqttVersion::V5, 0x8a) => "banned",
        (MqttVersion::V5, 0x8c) => "bad_authentication_method",
        (MqttVersion::V5, 0x90) => "topic_name_invalid",
        (MqttVersion::V5, 0x95) => "packet_too_large",
        (MqttVersion::V5, 0x97) => "quota_exceeded",
        (MqttVersion::V5, 0x99) => "payload_format_invalid",
        (MqttVersion::V5, 0x9a) => "retain_not_supported",
        (MqttVersion::V5, 0x9b) => "qos_not_supported",
        (MqttVersion::V5, 0x9c) => "use_another_server",
        (MqttVersion::V5, 0x9d) => "server_moved",
        (MqttVersion::V5, 0x9f) => "connection_rate_exceeded",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(version: MqttVersion) -> ConnectSettings {
        ConnectSettings {
            version,
            client_id: "id".into(),
            username: None,
            password: None,
        }
    }

    async fn answer(version: MqttVersion, reply: &[u8]) -> Result<ConnAck, MqttError> {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let reply = reply.to_vec();
        let server_task = tokio::spawn(async move {
            let mut buf = [0u8; 256];
            let _ = server.read(&mut buf).await;
            let _ = server.write_all(&reply).await;
            // Dropping the server half closes the stream.
        });
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            exchange(&mut client, &settings(version)),
        )
        .await
        .expect("exchange must never hang");
        let _ = server_task.await;
        result
    }

    #[test]
    fn encodes_connect_like_the_reference_bytes() {
        let v4 = encode_connect(&settings(MqttVersion::V311)).unwrap();
        assert_eq!(&v4[..], b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x1e\x00\x02id");
        let v5 = encode_connect(&settings(MqttVersion::V5)).unwrap();
        assert_eq!(
            &v5[..],
            b"\x10\x0f\x00\x04MQTT\x05\x02\x00\x1e\x00\x00\x02id"
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let mut s = settings(MqttVersion::V311);
        s.password = Some("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn decodes_connacks_of_both_versions() {
        let cases: &[(MqttVersion, &[u8], &str, u8)] = &[
            (MqttVersion::V311, b"\x20\x02\x00\x00", "3.1.1", 0),
            (MqttVersion::V311, b"\x20\x02\x00\x05", "3.1.1", 5),
            (MqttVersion::V311, b"\x20\x02\x00\x04", "3.1.1", 4),
            // Out-of-range 3.1.1 code: rumqttc refuses it, the raw byte is kept.
            (MqttVersion::V311, b"\x20\x02\x00\x87", "3.1.1", 0x87),
            (MqttVersion::V5, b"\x20\x03\x00\x00\x00", "5", 0),
            (MqttVersion::V5, b"\x20\x03\x00\x87\x00", "5", 0x87),
            // A 3.1.1 broker refusing a v5 CONNECT: must not hang, must say 3.1.1.
            (MqttVersion::V5, b"\x20\x02\x00\x01", "3.1.1", 1),
        ];
        for (version, reply, expect_version, code) in cases {
            let ack = answer(*version, reply).await.unwrap();
            assert_eq!(
                (ack.mqtt_version.as_str(), ack.code),
                (*expect_version, *code)
            );
        }
    }

    #[tokio::test]
    async fn odd_answers_are_errors_not_hangs() {
        let closed = answer(MqttVersion::V311, b"").await.unwrap_err();
        assert!(
            matches!(closed, MqttError::Closed { received: 0 }),
            "{closed}"
        );
        let truncated = answer(MqttVersion::V311, b"\x20\x02\x00")
            .await
            .unwrap_err();
        assert!(
            matches!(truncated, MqttError::Closed { received: 3 }),
            "{truncated}"
        );
        let other = answer(MqttVersion::V311, b"\x30\x02\x00\x00")
            .await
            .unwrap_err();
        assert!(other.to_string().contains("packet type 3"), "{other}");
        let huge = answer(MqttVersion::V311, b"\x20\xff\xff\xff\x7f")
            .await
            .unwrap_err();
        assert!(huge.to_string().contains("announces"), "{huge}");
        let short = answer(MqttVersion::V311, b"\x20\x01\x00")
            .await
            .unwrap_err();
        assert!(short.to_string().contains("at least 2"), "{short}");
    }
}
