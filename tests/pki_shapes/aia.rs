//! A caIssuers URL on loopback: a thread answering every GET with `HTTP/1.0 200 OK` and one
//! DER certificate, counting the connections so a test can prove `--offline` sent none.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest request read: a GET with a few headers.
const MAX_REQUEST: usize = 8 * 1024;

pub struct AiaServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AiaServer {
    /// Serves `der` at every path of `http://127.0.0.1:PORT/`.
    pub fn start(der: Vec<u8>) -> AiaServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the AIA server");
        let addr = listener.local_addr().expect("AIA server address");
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopping) = (Arc::clone(&connections), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                // Counted before answering, so a client that got its answer is counted.
                count.fetch_add(1, Ordering::SeqCst);
                answer(stream, &der);
            }
        });
        AiaServer {
            addr,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    /// The URL to put in a certificate's authorityInfoAccess.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    /// Connections accepted so far (each a request, or an attempt at one).
    pub fn connections(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.connections)
    }
}

impl Drop for AiaServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request head and answers a GET.
fn answer(mut stream: TcpStream, der: &[u8]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    if !head.starts_with(b"GET ") {
        return;
    }
    let mut response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: {}\r\n\r\n",
        der.len()
    )
    .into_bytes();
    response.extend_from_slice(der);
    let _ = stream.write_all(&response);
}
