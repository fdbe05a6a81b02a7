//! MQTT for the lab servers and their tests, on rumqttc's codec (the one the probe uses):
//! read one packet with a size bound, decode a CONNECT, encode CONNECT and CONNACK.
//!
//! Framing is rumqttc's `mqttbytes::check` (fixed header, remaining length, size bound), fed by
//! exact reads of the bytes it says are missing, so a truncated or malformed peer can never make
//! a read wait for more bytes than the header announced, nor make us allocate more than the
//! bound. CONNECT is decoded by rumqttc's v5 or v4 reader and, for the tests, encoded by the probe's
//! encoder.
//!
//! One thing stays by hand, the four or five bytes of the CONNACK the responder sends:
//! `MqttBehaviour::Refuse` answers with whatever code a test asks for, in the layout of the
//! client's version, and rumqttc's types cannot carry that. Its 3.1.1 `ConnectReturnCode` has
//! only 0–5, so a v5 reason code to a 3.1.1 client is not expressible, and its v5 `ConnAck::write`
//! reaches `unreachable!()` for the 3.1.1 codes 1–3 it shares the enum with (the catalogue's
//! `Refuse(1)` answered to the v5 follow-up). This is not an MQTT client or broker.

use std::io;

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{self, Login};
use rumqttc::mqttbytes::{self, FixedHeader, PacketType, Protocol};
use rumqttc::v5::mqttbytes::v5;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest remaining length the lab accepts; a CONNECT is a few dozen bytes.
pub const MAX_REMAINING_LENGTH: usize = 64 * 1024;

/// Protocol level byte of MQTT 3.1.1.
pub const LEVEL_3_1_1: u8 = 4;
/// Protocol level byte of MQTT 5.
pub const LEVEL_5: u8 = 5;

/// One MQTT control packet as it was on the wire, framed by rumqttc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    header: FixedHeader,
    bytes: Bytes,
}

impl Packet {
    /// The control packet type, `None` for the reserved types 0 and 15.
    pub fn packet_type(&self) -> Option<PacketType> {
        self.header.packet_type().ok()
    }

    /// The packet as it was on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }

    /// Decode a CONNECT (MQTT 3.1.1 or 5). MQTT 3.1 (`MQIsdp`, level 3) is refused, as rumqttc
    /// refuses it: no client the lab serves sends it.
    pub fn connect(&self) -> Result<Connect, String> {
        // The v5 reader checks the level first, so a 3.1.1 CONNECT costs one failed attempt;
        // the v4 reader would accept level 5 and misread its properties as the client id.
        // The same frame, its header read by the v5 module's own (identical) framing.
        let v5_header = v5::check(self.bytes.iter(), None).map_err(|e| e.to_string())?;
        match v5::Connect::read(v5_header, self.bytes.clone()) {
            Ok((connect, _will, login)) => Ok(Connect {
                protocol: Protocol::V5,
                client_id: connect.client_id,
                login: login.map(|l| Login::new(l.username, l.password)),
            }),
            Err(rumqttc::v5::mqttbytes::Error::InvalidProtocolLevel(LEVEL_3_1_1)) => {
                let connect = v4::Connect::read(self.header, self.bytes.clone())
                    .map_err(|e| e.to_string())?;
                Ok(Connect {
                    protocol: connect.protocol,
                    client_id: connect.client_id,
                    login: connect.login,
                })
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The parts of a CONNECT packet the lab servers act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol version: 3.1.1 (`V4`) or 5.
    pub protocol: Protocol,
    /// Client identifier (may be empty).
    pub client_id: String,
    /// User name and password; rumqttc reads both as UTF-8 and folds "flag set, empty" into
    /// "absent".
    pub login: Option<Login>,
}

impl Connect {
    /// Whether the client speaks MQTT 5 (and so expects v5 reason codes and properties).
    pub fn is_v5(&self) -> bool {
        self.protocol == Protocol::V5
    }
}

/// Read one packet. `Ok(None)` means the peer closed cleanly before sending a byte; a close in
/// the middle of a packet is an `UnexpectedEof` error, and a remaining length above `max` or
/// longer than four bytes is `InvalidData`.
pub async fn read_packet<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> io::Result<Option<Packet>> {
    let mut buf = BytesMut::zeroed(1);
    if reader.read(&mut buf).await? == 0 {
        return Ok(None);
    }
    loop {
        match mqttbytes::check(buf.iter(), max) {
            Ok(header) => {
                return Ok(Some(Packet {
                    header,
                    bytes: buf.freeze(),
                }));
            }
            // `check` asks for the missing bytes only once the length is known to be within
            // `max`, so this never allocates more than the bound.
            Err(mqttbytes::Error::InsufficientBytes(missing)) => {
                let have = buf.len();
                buf.resize(have + missing, 0);
                reader.read_exact(&mut buf[have..]).await?;
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
}

/// Encode a CONNECT (clean session) for MQTT 3.1.1 (`level` 4) or 5, with the probe's encoder.
/// The lab tests' client side.
#[cfg(test)]
pub fn connect_packet(level: u8, client_id: &str, login: Option<(&str, &str)>) -> Vec<u8> {
    use crate::probe::mqtt::{ConnectSettings, MqttVersion, encode_connect};

    let settings = ConnectSettings {
        version: match level {
            LEVEL_5 => MqttVersion::V5,
            _ => MqttVersion::V311,
        },
        client_id: client_id.to_owned(),
        username: login.map(|(user, _)| user.to_owned()),
        password: login.map(|(_, pass)| pass.to_owned()),
    };
    // Only an oversized field fails to encode, and lab client ids and logins are short.
    encode_connect(&settings)
        .expect("a lab CONNECT encodes")
        .to_vec()
}

/// Encode a CONNACK in the protocol version of the CONNECT it answers: `20 02 00 rc` for
/// MQTT 3.x, `20 03 00 rc 00` (no properties) for MQTT 5. By hand: see the module doc.
pub fn connack(protocol: Protocol, code: u8) -> Vec<u8> {
    match protocol {
        Protocol::V5 => vec![0x20, 0x03, 0x00, code, 0x00],
        Protocol::V4 => vec![0x20, 0x02, 0x00, code],
    }
}

/// Encode a PINGRESP.
pub fn pingresp() -> Vec<u8> {
    let mut out = BytesMut::new();
    // rumqttc's PINGRESP writer puts two constant bytes and always returns `Ok(2)`.
    let _ = v4::PingResp.write(&mut out);
    out.to_vec()
}

/// The return/reason code of a CONNACK packet (a whole frame), if `frame` is a well-formed one,
/// in either version's layout and with any code (rumqttc's readers refuse undefined codes).
pub fn connack_code(frame: &[u8]) -> Option<u8> {
    let header = mqttbytes::check(frame.iter(), MAX_REMAINING_LENGTH).ok()?;
    if header.packet_type().ok()? != PacketType::ConnAck {
        return None;
    }
    // The body starts after the last remaining-length byte (the first without the high bit).
    let length_bytes = frame.iter().skip(1).position(|b| b & 0x80 == 0)? + 1;
    let body = frame.get(1 + length_bytes..header.frame_length())?;
    match body {
        [_session_present, code, ..] => Some(*code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8]) -> io::Result<Option<Packet>> {
        let mut r = bytes;
        read_packet(&mut r, MAX_REMAINING_LENGTH).await
    }

    #[tokio::test]
    async fn round_trips_connect_for_both_versions() {
        for (level, protocol) in [(LEVEL_3_1_1, Protocol::V4), (LEVEL_5, Protocol::V5)] {
            let bytes = connect_packet(level, "probe", Some(("alice", "secret")));
            let packet = read(&bytes).await.expect("read").expect("packet");
            assert_eq!(packet.packet_type(), Some(PacketType::Connect));
            assert_eq!(packet.to_bytes(), bytes);
            let c = packet.connect().expect("parse");
            assert_eq!(c.protocol, protocol);
            assert_eq!(c.client_id, "probe");
            assert_eq!(c.login, Some(Login::new("alice", "secret")));
        }
        let anon = connect_packet(LEVEL_3_1_1, "x", None);
        assert_eq!(anon[..4], [0x10, 13, 0x00, 0x04]);
        let c = read(&anon).await.expect("read").expect("packet");
        assert_eq!(c.connect().expect("parse").login, None);
    }

    #[tokio::test]
    async fn reads_multi_byte_lengths_and_rejects_bad_ones() {
        let mut long = vec![0x30, 0x80, 0x01];
        long.extend(std::iter::repeat_n(7u8, 128));
        let p = read(&long).await.expect("read").expect("packet");
        assert_eq!(p.to_bytes(), long);

        assert!(read(&[]).await.expect("eof").is_none());
        let err = read(&[0x20, 0x02, 0x00]).await.expect_err("truncated");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = read(&[0x20, 0xff, 0xff, 0xff, 0xff, 0x01])
            .await
            .expect_err("5 bytes");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = read(&[0x20, 0xff, 0xff, 0x7f]).await.expect_err("too big");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("limit exceeded"), "{err}");
    }

    #[test]
    fn connack_shapes_and_codes() {
        assert_eq!(connack(Protocol::V4, 5), [0x20, 0x02, 0x00, 0x05]);
        assert_eq!(connack(Protocol::V5, 0x87), [0x20, 0x03, 0x00, 0x87, 0x00]);
        assert_eq!(pingresp(), [0xd0, 0x00]);
        assert_eq!(connack_code(&[0x20, 3, 0, 0x86, 0]), Some(0x86));
        assert_eq!(connack_code(&[0x20, 1, 0]), None);
        assert_eq!(connack_code(&[0x20, 2, 0]), None, "truncated");
        assert_eq!(connack_code(&[0xd0, 0]), None, "not a CONNACK");
    }

    #[tokio::test]
    async fn malformed_connects_are_errors_not_panics() {
        let good = connect_packet(LEVEL_5, "abc", Some(("u", "p")));
        // Every truncation of a valid CONNECT body, framed as a whole packet, must be rejected.
        for cut in 0..good.len() - 2 {
            let mut frame = vec![0x10, u8::try_from(cut).expect("short")];
            frame.extend_from_slice(&good[2..2 + cut]);
            let packet = read(&frame).await.expect("read").expect("packet");
            if let Ok(c) = packet.connect() {
                panic!("cut at {cut}: {c:?}");
            }
        }
        for body in [
            &b"\x00\x04HTTP\x04\x02\x00\x3c"[..],
            b"\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x01x",
            b"\x00\x04MQTT\x05\x02\x00\x3c\xff\xff\xff\xff\xff",
        ] {
            let mut frame = vec![0x10, u8::try_from(body.len()).expect("short")];
            frame.extend_from_slice(body);
            let packet = read(&frame).await.expect("read").expect("packet");
            assert!(packet.connect().is_err(), "{body:02x?}");
        }
    }
}
