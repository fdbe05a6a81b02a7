//! Just enough MQTT framing for the lab servers and their tests: read one packet with a size
//! bound, parse a CONNECT (protocol level and login), and encode CONNECT/CONNACK.
//!
//! Frames are read by hand (fixed header + variable remaining length) so a truncated or
//! malformed peer can never make a read hang for more bytes than the header announced, nor
//! make us allocate an attacker-chosen amount. This is not an MQTT client or broker.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest remaining length the lab accepts; a CONNECT is a few dozen bytes.
pub const MAX_REMAINING_LENGTH: usize = 64 * 1024;

/// MQTT control packet type of CONNECT (upper nibble of the first byte).
pub const CONNECT: u8 = 1;
/// MQTT control packet type of CONNACK.
pub const CONNACK: u8 = 2;
/// MQTT control packet type of PINGREQ.
pub const PINGREQ: u8 = 12;
/// MQTT control packet type of DISCONNECT.
pub const DISCONNECT: u8 = 14;

/// Protocol level byte of MQTT 3.1.1.
pub const LEVEL_3_1_1: u8 = 4;
/// Protocol level byte of MQTT 5.
pub const LEVEL_5: u8 = 5;

/// One MQTT control packet: the first byte of the fixed header and the remaining bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// First byte of the fixed header (packet type in the upper nibble, flags in the lower).
    pub header: u8,
    /// The variable header and payload (`remaining length` bytes).
    pub body: Vec<u8>,
}

impl Packet {
    /// The control packet type (upper nibble of the first byte).
    pub fn kind(&self) -> u8 {
        self.header >> 4
    }

    /// The packet as it was on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.header];
        encode_remaining_length(self.body.len(), &mut out);
        out.extend_from_slice(&self.body);
        out
    }
}

/// The parts of a CONNECT packet the lab servers act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol level: 3 (MQTT 3.1), 4 (3.1.1) or 5.
    pub level: u8,
    /// Client identifier (may be empty).
    pub client_id: String,
    /// User name, when the username flag is set.
    pub username: Option<String>,
    /// Password bytes, when the password flag is set.
    pub password: Option<Vec<u8>>,
}

impl Connect {
    /// Whether the client speaks MQTT 5 (and so expects v5 reason codes and properties).
    pub fn is_v5(&self) -> bool {
        self.level >= LEVEL_5
    }
}

/// Read one packet. `Ok(None)` means the peer closed cleanly before sending a byte; a close in
/// the middle of a packet is an `UnexpectedEof` error, and a remaining length above `max` or
/// longer than four bytes is `InvalidData`.
pub async fn read_packet<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> io::Result<Option<Packet>> {
    let mut first = [0u8; 1];
    if reader.read(&mut first).await? == 0 {
        return Ok(None);
    }
    let mut remaining: usize = 0;
    let mut shift = 0;
    loop {
        let byte = reader.read_u8().await?;
        remaining |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        // MQTT allows at most four length bytes (MQTT 3.1.1 section 2.2.3).
        if shift > 21 {
            return Err(invalid("remaining length longer than four bytes"));
        }
    }
    if remaining > max {
        return Err(invalid(&format!(
            "remaining length {remaining} exceeds the limit of {max} bytes"
        )));
    }
    let mut body = vec![0u8; remaining];
    reader.read_exact(&mut body).await?;
    Ok(Some(Packet {
        header: first[0],
        body,
    }))
}

/// Parse the body of a CONNECT packet (MQTT 3.1, 3.1.1 or 5).
pub fn parse_connect(body: &[u8]) -> Result<Connect, String> {
    let mut r = Reader { buf: body, pos: 0 };
    let protocol = r.binary()?;
    if protocol != b"MQTT" && protocol != b"MQIsdp" {
        return Err(format!(
            "unknown protocol name {:?} (expected \"MQTT\" or \"MQIsdp\")",
            String::from_utf8_lossy(protocol)
        ));
    }
    let level = r.byte()?;
    let flags = r.byte()?;
    r.take(2)?; // keep alive
    if level >= LEVEL_5 {
        r.properties()?;
    }
    let client_id = String::from_utf8_lossy(r.binary()?).into_owned();
    if flags & 0x04 != 0 {
        if level >= LEVEL_5 {
            r.properties()?;
        }
        r.binary()?; // will topic
        r.binary()?; // will payload
    }
    let username = match flags & 0x80 {
        0 => None,
        _ => Some(String::from_utf8_lossy(r.binary()?).into_owned()),
    };
    let password = match flags & 0x40 {
        0 => None,
        _ => Some(r.binary()?.to_vec()),
    };
    Ok(Connect {
        level,
        client_id,
        username,
        password,
    })
}

/// Encode a CONNECT (clean session, keep alive 60 s) for MQTT 3.1.1 (`level` 4) or 5.
pub fn connect_packet(level: u8, client_id: &str, login: Option<(&str, &str)>) -> Vec<u8> {
    let mut body = Vec::new();
    put_binary(&mut body, b"MQTT");
    body.push(level);
    let mut flags = 0x02; // clean session / clean start
    if login.is_some() {
        flags |= 0xc0;
    }
    body.push(flags);
    body.extend_from_slice(&60u16.to_be_bytes());
    if level >= LEVEL_5 {
        body.push(0); // no properties
    }
    put_binary(&mut body, client_id.as_bytes());
    if let Some((user, pass)) = login {
        put_binary(&mut body, user.as_bytes());
        put_binary(&mut body, pass.as_bytes());
    }
    Packet {
        header: CONNECT << 4,
        body,
    }
    .to_bytes()
}

/// Encode a CONNACK in the protocol version of the CONNECT it answers: `20 02 00 rc` for
/// MQTT 3.x, `20 03 00 rc 00` (no properties) for MQTT 5.
pub fn connack(level: u8, code: u8) -> Vec<u8> {
    if level >= LEVEL_5 {
        vec![0x20, 0x03, 0x00, code, 0x00]
    } else {
        vec![0x20, 0x02, 0x00, code]
    }
}

/// The return/reason code of a CONNACK packet, if `packet` is a well-formed one.
pub fn connack_code(packet: &Packet) -> Option<u8> {
    match (packet.kind(), packet.body.as_slice()) {
        (CONNACK, [_session_present, code, ..]) => Some(*code),
        _ => None,
    }
}

fn encode_remaining_length(mut len: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
}

fn put_binary(out: &mut Vec<u8>, data: &[u8]) {
    // Lab strings are short; clamp rather than panic if a caller passes something huge.
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&data[..usize::from(len)]);
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Bounds-checked cursor over a packet body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let end = end.ok_or_else(|| {
            format!(
                "CONNECT truncated: needed {n} bytes at offset {}, have {}",
                self.pos,
                self.buf.len()
            )
        })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn binary(&mut self) -> Result<&'a [u8], String> {
        let len = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        self.take(len)
    }

    /// Skip an MQTT 5 property block (variable byte integer length, then the properties).
    fn properties(&mut self) -> Result<(), String> {
        let mut len = 0usize;
        for i in 0..4 {
            let b = self.byte()?;
            len |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.take(len)?;
                return Ok(());
            }
        }
        Err("MQTT 5 property length longer than four bytes".to_owned())
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
        for level in [LEVEL_3_1_1, LEVEL_5] {
            let bytes = connect_packet(level, "probe", Some(("alice", "secret")));
            let packet = read(&bytes).await.expect("read").expect("packet");
            assert_eq!(packet.kind(), CONNECT);
            assert_eq!(packet.to_bytes(), bytes);
            let c = parse_connect(&packet.body).expect("parse");
            assert_eq!(c.level, level);
            assert_eq!(c.client_id, "probe");
            assert_eq!(c.username.as_deref(), Some("alice"));
            assert_eq!(c.password.as_deref(), Some(&b"secret"[..]));
        }
        let anon = connect_packet(LEVEL_3_1_1, "x", None);
        assert_eq!(anon[..4], [0x10, 13, 0x00, 0x04]);
        let c = parse_connect(&anon[2..]).expect("parse");
        assert_eq!((c.username, c.password), (None, None));
    }

    #[tokio::test]
    async fn reads_multi_byte_lengths_and_rejects_bad_ones() {
        let mut long = vec![0x30, 0x80, 0x01];
        long.extend(std::iter::repeat_n(7u8, 128));
        let p = read(&long).await.expect("read").expect("packet");
        assert_eq!(p.body.len(), 128);
        assert_eq!(p.to_bytes(), long);

        assert!(read(&[]).await.expect("eof").is_none());
        let err = read(&[0x20, 0x02, 0x00]).await.expect_err("truncated");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = read(&[0x20, 0xff, 0xff, 0xff, 0xff, 0x01])
            .await
            .expect_err("5 bytes");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = read(&[0x20, 0xff, 0xff, 0x7f]).await.expect_err("too big");
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
    }

    #[test]
    fn connack_shapes_and_codes() {
        assert_eq!(connack(LEVEL_3_1_1, 5), [0x20, 0x02, 0x00, 0x05]);
        assert_eq!(connack(LEVEL_5, 0x87), [0x20, 0x03, 0x00, 0x87, 0x00]);
        let p = Packet {
            header: 0x20,
            body: vec![0, 0x86, 0],
        };
        assert_eq!(connack_code(&p), Some(0x86));
        let short = Packet {
            header: 0x20,
            body: vec![0],
        };
        assert_eq!(connack_code(&short), None);
    }

    #[test]
    fn malformed_connects_are_errors_not_panics() {
        let good = connect_packet(LEVEL_5, "abc", Some(("u", "p")));
        // Every truncation of a valid CONNECT body must be rejected cleanly.
        for cut in 0..good.len() - 2 {
            assert!(parse_connect(&good[2..2 + cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_connect(b"\x00\x04HTTP\x04\x02\x00\x3c").is_err());
        assert!(parse_connect(b"\x00\x04MQTT\x05\x02\x00\x3c\xff\xff\xff\xff\xff").is_err());
    }
}
