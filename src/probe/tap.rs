//! A transparent wrapper around the TCP stream that records what crossed it.
//!
//! Both TLS backends read through a [`Tap`], so evidence that the TLS libraries do not keep
//! (the first bytes a non-TLS peer sent, how many bytes arrived before a timeout, whether the
//! peer closed or reset) is captured the same way for each. The tap also re-arms
//! `TCP_QUICKACK` before every read: brokers running with Nagle on (mosquitto's default) hold
//! the CONNACK until the client ACKs the TLS 1.3 session tickets, which otherwise costs ~40 ms
//! per probe on Linux (measured against mosquitto 2.0 on loopback).

// Bytes from the network and from the user's files: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How many of the peer's first bytes are kept.
const FIRST_BYTES: usize = 32;

/// What the tap saw, shared between the stream and the probe.
#[derive(Debug, Default, Clone)]
pub struct TapRecord {
    /// The peer's first bytes.
    pub first_bytes: Vec<u8>,
    /// Total bytes read from the peer.
    pub bytes_in: u64,
    /// Total bytes written to the peer.
    pub bytes_out: u64,
    /// The peer closed its side (read returned 0).
    pub eof: bool,
    /// The peer reset the connection.
    pub reset: bool,
}

/// A recording stream wrapper.
#[derive(Debug)]
pub struct Tap {
    inner: TcpStream,
    record: Arc<Mutex<TapRecord>>,
}

impl Tap {
    /// Wraps a connected stream; the returned handle reads the record at any time.
    pub fn new(inner: TcpStream) -> (Tap, TapHandle) {
        let record = Arc::new(Mutex::new(TapRecord::default()));
        (
            Tap {
                inner,
                record: Arc::clone(&record),
            },
            TapHandle(record),
        )
    }
}

/// A read handle on a [`Tap`]'s record.
#[derive(Debug, Clone)]
pub struct TapHandle(Arc<Mutex<TapRecord>>);

impl TapHandle {
    /// A copy of the record so far.
    pub fn snapshot(&self) -> TapRecord {
        lock(&self.0).clone()
    }
}

/// A poisoned lock only means another probe task panicked mid-update; the counters are still
/// meaningful, so keep going rather than propagate the panic.
fn lock(m: &Mutex<TapRecord>) -> std::sync::MutexGuard<'_, TapRecord> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Best effort: a socket that refuses the option is still a working socket.
        let _ = socket2::SockRef::from(&self.inner).set_tcp_quickack(true);
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let mut record = lock(&self.record);
        match &poll {
            Poll::Ready(Ok(())) => {
                let new = buf.filled().get(before..).unwrap_or_default();
                if new.is_empty() {
                    record.eof = true;
                } else {
                    let room = FIRST_BYTES.saturating_sub(record.first_bytes.len());
                    record
                        .first_bytes
                        .extend_from_slice(new.get(..room).unwrap_or(new));
                    record.bytes_in += new.len() as u64;
                }
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                record.reset = true;
            }
            _ => {}
        }
        poll
    }
}

impl Tap {
    /// Counts what a write sent, and notes a reset.
    fn note_write(&self, poll: &Poll<io::Result<usize>>) {
        match poll {
            Poll::Ready(Ok(n)) => lock(&self.record).bytes_out += *n as u64,
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                lock(&self.record).reset = true;
            }
            _ => {}
        }
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note_write(&poll);
        poll
    }

    /// Forwarded so that a TLS library's flight leaves in one `writev`: sent record by record,
    /// a broker that rejects the first record resets the connection before the alert it sent
    /// can be read (seen with rustls under TLS 1.2 client authentication).
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note_write(&poll);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
