//! MQTT framing on arbitrary bytes from the peer: the probe's CONNECT/CONNACK exchange (3.1.1
//! and 5, the answer delivered whole and one byte per read), and the lab's packet reader and
//! rumqttc's CONNECT readers behind it, which read what a client sends.
#![no_main]

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use mqtls::lab::wire;
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion, exchange};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Runtime;

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        for version in [MqttVersion::V311, MqttVersion::V5] {
            for chunk in [usize::MAX, 1] {
                let settings = ConnectSettings {
                    version,
                    client_id: "mqtls-fuzz".into(),
                    username: Some("user".into()),
                    password: Some("secret".into()),
                };
                let mut peer = Scripted { input: data, chunk };
                let _ = exchange(&mut peer, &settings).await;
            }
        }
        let mut peer = Scripted {
            input: data,
            chunk: usize::MAX,
        };
        if let Ok(Some(packet)) = wire::read_packet(&mut peer, wire::MAX_REMAINING_LENGTH).await {
            let _ = packet.connect();
            let _ = wire::connack_code(&packet.to_bytes());
        }
    });
    let _ = wire::connack_code(data);
});

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A peer that answers with `input`, at most `chunk` bytes per read, then closes; it accepts
/// whatever is written to it.
struct Scripted<'a> {
    input: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Scripted<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.chunk.min(buf.remaining()).min(self.input.len());
        let (head, tail) = self.input.split_at(n);
        buf.put_slice(head);
        self.input = tail;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
