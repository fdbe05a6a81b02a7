//! A real mosquitto broker for tests and `mqtls demo`: one process, one loopback listener per
//! [`Listener`], each with its own TLS and authentication settings.
//!
//! [`Mosquitto::start`] writes a config (and password files) into a private temporary directory,
//! starts the broker, and returns once every listener accepts TCP connections. If the broker
//! exits first, the error carries the tail of its log, which is where mosquitto explains itself
//! ("Unable to load server key file"). Dropping a [`Mosquitto`] kills and reaps the process
//! and removes the directory. This module never talks MQTT itself.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use openssl::base64;
use openssl::hash::MessageDigest;

/// Environment variable naming the mosquitto binary to use instead of searching for one.
pub const MOSQUITTO_ENV: &str = "MQTLS_MOSQUITTO";

/// Where Debian installs the broker (`/usr/sbin` is often not on a user's PATH).
const DEBIAN_MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// How many times [`Mosquitto::start`] tries again when a probed free port was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// How often readiness is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// What mosquitto logs once every listener is set up ("mosquitto version 2.0.11 running").
const RUNNING_NOTICE: &str = "mosquitto version * running";

/// Lines of log carried in errors.
const LOG_TAIL_LINES: usize = 20;

/// The mosquitto binary to run: `$MQTLS_MOSQUITTO` if set (even if it does not exist, so a
/// misconfiguration fails loudly), else `mosquitto` on `PATH`, else `/usr/sbin/mosquitto`.
pub fn mosquitto_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(MOSQUITTO_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("mosquitto"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from(DEBIAN_MOSQUITTO)).filter(|p| p.is_file()))
}

/// Errors starting a lab broker (mosquitto, or a RabbitMQ node of [`crate::lab::rabbitmq`]).
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// No mosquitto binary was found.
    #[error(
        "mosquitto not found (set ${MOSQUITTO_ENV}, put `mosquitto` on PATH, or install it at \
         {DEBIAN_MOSQUITTO})"
    )]
    BinaryNotFound,
    /// Preparing the broker's directory or files, or spawning it, failed.
    #[error("cannot {action} ({path})")]
    Io {
        /// What was being done, e.g. "write the mosquitto config".
        action: &'static str,
        /// The file or binary involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// Two listeners share a name, so [`Mosquitto::port`] could not tell them apart.
    #[error("duplicate listener name {0:?}")]
    DuplicateListener(String),
    /// A user name or password cannot go into a mosquitto password file.
    #[error(
        "listener {listener:?}: invalid user {user:?} (must be non-empty, without ':' or newlines)"
    )]
    InvalidUser {
        /// The listener the user belongs to.
        listener: String,
        /// The offending user name.
        user: String,
    },
    /// The broker exited before all listeners were up.
    #[error("mosquitto exited early ({status}); log tail:\n{log_tail}")]
    Exited {
        /// Exit status of the broker.
        status: ExitStatus,
        /// The last lines of its log and stderr.
        log_tail: String,
    },
    /// Some listeners did not accept connections before the deadline.
    #[error("mosquitto listeners {pending:?} not ready after {waited:?}; log tail:\n{log_tail}")]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// Names of the listeners that never accepted a connection.
        pending: Vec<String>,
        /// The last lines of its log and stderr.
        log_tail: String,
    },
    /// No `rabbitmq-server` script was found (see [`crate::lab::rabbitmq_binary`]).
    #[error(
        "rabbitmq-server not found (set $MQTLS_RABBITMQ_SERVER, install it at \
         /usr/lib/rabbitmq/bin/rabbitmq-server with `apt-get install rabbitmq-server`, or put \
         `rabbitmq-server` on PATH)"
    )]
    RabbitmqNotFound,
    /// Running as root, but there is no `rabbitmq` user to run a node as.
    #[error("no `{user}` user in /etc/passwd to run RabbitMQ as (install rabbitmq-server)")]
    NoBrokerUser {
        /// The user looked for.
        user: &'static str,
    },
    /// A directory on the way to the node's files cannot be entered by the broker's user.
    #[error("{path} is not traversable by the `rabbitmq` user (mode {mode:o}); set TMPDIR")]
    NotTraversable {
        /// The directory lacking the others-execute bit.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A RabbitMQ node exited (or its epmd did) before its MQTT TLS listener was up.
    #[error("rabbitmq node {node} exited early ({status}); log tail:\n{log_tail}")]
    NodeExited {
        /// Erlang node name, e.g. `mqtls-1-4242@localhost`.
        node: String,
        /// Exit status of the process that died.
        status: ExitStatus,
        /// The last lines of the node's log and stdout/stderr.
        log_tail: String,
    },
    /// A RabbitMQ node's MQTT TLS listener did not answer a ClientHello before the deadline.
    #[error("rabbitmq node {node} not ready after {waited:?}; log tail:\n{log_tail}")]
    NodeNotReady {
        /// Erlang node name.
        node: String,
        /// How long we waited.
        waited: Duration,
        /// The last lines of the node's log and stdout/stderr.
        log_tail: String,
    },
}

/// One `listener PORT 127.0.0.1` block of the broker config.
#[derive(Debug, Clone, Default)]
pub struct Listener {
    /// Name used with [`Mosquitto::port`]; must be unique within one broker.
    pub name: String,
    /// TLS settings; `None` is a plain MQTT listener.
    pub tls: Option<ListenerTls>,
    /// mosquitto `allow_anonymous`.
    pub allow_anonymous: bool,
    /// `(user, password)` pairs written to this listener's `password_file`; empty means no
    /// password file.
    pub users: Vec<(String, String)>,
}

/// TLS options of a [`Listener`] (mosquitto's option names).
#[derive(Debug, Clone, Default)]
pub struct ListenerTls {
    /// `cafile`: CAs trusted for client certificates (and used by OpenSSL to complete the
    /// served chain).
    pub cafile: Option<PathBuf>,
    /// `certfile`: the served certificate (chain).
    pub certfile: PathBuf,
    /// `keyfile`: its private key; must be readable by the broker.
    pub keyfile: PathBuf,
    /// `require_certificate`.
    pub require_certificate: bool,
    /// `tls_version`, a minimum such as `"tlsv1.2"`; `None` keeps mosquitto's default.
    pub tls_version: Option<String>,
    /// `use_identity_as_username`.
    pub use_identity_as_username: bool,
    /// `crlfile`: a PEM CRL checked against client certificates (with `require_certificate`).
    pub crlfile: Option<PathBuf>,
    /// `ciphers`: the OpenSSL cipher list for TLS 1.2 and below; `None` keeps the default.
    pub ciphers: Option<String>,
    /// `psk_hint` and `psk_file`; leave `certfile` empty (mosquitto refuses both on one
    /// listener).
    pub psk: Option<ListenerPsk>,
}

/// A running mosquitto broker. Dropping it kills and reaps the process.
#[derive(Debug)]
pub struct Mosquitto {
    child: Child,
    ports: Vec<(String, u16)>,
    config: String,
    log_path: PathBuf,
    stderr_path: PathBuf,
    /// Kept for the broker's lifetime: it holds the config, password files and logs.
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Start one broker serving `listeners` and wait (up to `deadline` in total) until every
    /// listener accepts a TCP connection.
    pub fn start(listeners: &[Listener], deadline: Duration) -> Result<Mosquitto, LabError> {
        Mosquitto::start_with_websockets(listeners, &[], deadline)
    }

    /// [`Mosquitto::start`], with the listeners named in `websockets` speaking MQTT over
    /// WebSockets (`protocol websockets`; `wss` when the listener has TLS). Debian's mosquitto
    /// is built with libwebsockets, which serves any path.
    pub fn start_with_websockets(
        listeners: &[Listener],
        websockets: &[&str],
        deadline: Duration,
    ) -> Result<Mosquitto, LabError> {
        check_listeners(listeners)?;
        let binary = mosquitto_binary().ok_or(LabError::BinaryNotFound)?;
        let until = Instant::now() + deadline;
        let mut attempt = 1;
        loop {
            match start_once(&binary, listeners, websockets, until, deadline) {
                // A port found free by binding :0 can be taken before mosquitto binds it.
                Err(LabError::Exited { log_tail, .. })
                    if attempt < START_ATTEMPTS && log_tail.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// The port of the listener called `name`.
    pub fn port(&self, name: &str) -> Option<u16> {
        self.ports.iter().find(|(n, _)| n == name).map(|(_, p)| *p)
    }

    /// The address of the listener called `name` (always on 127.0.0.1).
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.port(name)
            .map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p)))
    }

    /// The whole broker log so far, followed by anything it printed to stdout/stderr.
    pub fn log(&self) -> String {
        read_logs(&self.log_path, &self.stderr_path)
    }

    /// The generated `mosquitto.conf`.
    pub fn config(&self) -> String {
        self.config.clone()
    }

    /// Process id of the broker.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        // Errors mean the process is already gone; there is nothing else to do in drop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn check_listeners(listeners: &[Listener]) -> Result<(), LabError> {
    for (i, l) in listeners.iter().enumerate() {
        if listeners[..i].iter().any(|other| other.name == l.name) {
            return Err(LabError::DuplicateListener(l.name.clone()));
        }
        for (user, password) in &l.users {
            let bad = |s: &str| s.contains(['\n', '\r']);
            if user.is_empty() || user.contains(':') || bad(user) || bad(password) {
                return Err(LabError::InvalidUser {
                    listener: l.name.clone(),
                    user: user.clone(),
                });
            }
        }
    }
    Ok(())
}

fn start_once(
    binary: &Path,
    listeners: &[Listener],
    websockets: &[&str],
    until: Instant,
    deadline: Duration,
) -> Result<Mosquitto, LabError> {
    let dir = tempfile::Builder::new()
        .prefix("mqtls-mosquitto-")
        .tempdir()
        .map_err(|source| LabError::Io {
            action: "create a temporary directory",
            path: std::env::temp_dir(),
            source,
        })?;
    let ports = free_ports(listeners.len()).map_err(|source| LabError::Io {
        action: "find free loopback ports",
        path: PathBuf::from("127.0.0.1:0"),
        source,
    })?;
    let log_path = dir.path().join("mosquitto.log");
    let stderr_path = dir.path().join("stderr.log");
    let config = write_config(dir.path(), listeners, websockets, &ports, &log_path)?;
    let config_path = dir.path().join("mosquitto.conf");
    write(
        &config_path,
        config.as_bytes(),
        "write the mosquitto config",
    )?;

    let io_err = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| LabError::Io {
            action,
            path,
            source,
        }
    };
    let stderr = fs::File::create(&stderr_path).map_err(io_err("create", &stderr_path))?;
    let stdout = stderr.try_clone().map_err(io_err("create", &stderr_path))?;
    let child = Command::new(binary)
        .arg("-c")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(io_err("run mosquitto", binary))?;

    let mut broker = Mosquitto {
        child,
        ports: listeners
            .iter()
            .zip(&ports)
            .map(|(l, p)| (l.name.clone(), *p))
            .collect(),
        config,
        log_path,
        stderr_path,
        _dir: dir,
    };
    wait_ready(&mut broker, until, deadline)?;
    Ok(broker)
}

/// Poll until the broker says it is running and every listener accepts a connection, or the
/// broker exits, or time runs out.
///
/// An accepting port alone is not enough: mosquitto binds each listener *before* loading its
/// certificate and key, and exits right after if they are unusable. Its "mosquitto version X
/// running" notice comes only once every listener is fully set up.
fn wait_ready(broker: &mut Mosquitto, until: Instant, deadline: Duration) -> Result<(), LabError> {
    let mut pending: Vec<(String, u16)> = broker.ports.clone();
    let mut running = false;
    loop {
        running = running || has_running_notice(&broker.log());
        if let Ok(Some(status)) = broker.child.try_wait() {
            return Err(LabError::Exited {
                status,
                log_tail: tail(&broker.log(), LOG_TAIL_LINES),
            });
        }
        pending.retain(|(_, port)| {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, *port));
            TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err()
        });
        if running && pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= until {
            let mut pending: Vec<String> = pending.into_iter().map(|(n, _)| n).collect();
            if !running {
                pending.push(format!("(no {RUNNING_NOTICE:?} in the log)"));
            }
            return Err(LabError::NotReady {
                waited: deadline,
                pending,
                log_tail: tail(&broker.log(), LOG_TAIL_LINES),
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Reserve `n` distinct free loopback ports by binding them all at once, then release them.
fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let held = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    held.iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

fn write_config(
    dir: &Path,
    listeners: &[Listener],
    websockets: &[&str],
    ports: &[u16],
    log_path: &Path,
) -> Result<String, LabError> {
    // Writing into a String cannot fail, hence the ignored fmt results.
    let mut c = String::new();
    let _ = writeln!(c, "# generated by mqtls (src/lab/mosquitto.rs)");
    c.push_str("per_listener_settings true\n");
    // Started as root, mosquitto would switch to the `mosquitto` user and lose access to the
    // test files; as non-root this line is ignored.
    c.push_str("user root\n");
    c.push_str("persistence false\n");
    let _ = writeln!(c, "log_dest file {}", log_path.display());
    // Timestamps stay UNIX seconds: `mqtls run` matches a case's lines by time.
    c.push_str("log_type all\nconnection_messages true\n");
    for (i, (l, port)) in listeners.iter().zip(ports).enumerate() {
        let _ = writeln!(c, "\n# {}\nlistener {port} 127.0.0.1", l.name);
        if websockets.contains(&l.name.as_str()) {
            c.push_str("protocol websockets\n");
        }
        let _ = writeln!(c, "allow_anonymous {}", l.allow_anonymous);
        if !l.users.is_empty() {
            let path = dir.join(format!("listener-{i}.passwd"));
            write(
                &path,
                password_file(&l.users)?.as_bytes(),
                "write a password file",
            )?;
            let _ = writeln!(c, "password_file {}", path.display());
        }
        if let Some(tls) = &l.tls {
            if let Some(ca) = &tls.cafile {
                let _ = writeln!(c, "cafile {}", ca.display());
            }
            if !tls.certfile.as_os_str().is_empty() {
                let _ = writeln!(c, "certfile {}", tls.certfile.display());
                let _ = writeln!(c, "keyfile {}", tls.keyfile.display());
            }
            if let Some(psk) = &tls.psk {
                psk::write_psk(&mut c, dir, i, &l.name, psk)?;
            }
            let _ = writeln!(c, "require_certificate {}", tls.require_certificate);
            if let Some(v) = &tls.tls_version {
                let _ = writeln!(c, "tls_version {v}");
            }
            if let Some(crl) = &tls.crlfile {
                let _ = writeln!(c, "crlfile {}", crl.display());
            }
            if let Some(ciphers) = &tls.ciphers {
                let _ = writeln!(c, "ciphers {ciphers}");
            }
            let _ = writeln!(
                c,
                "use_identity_as_username {}",
                tls.use_identity_as_username
            );
        }
    }
    Ok(c)
}

/// A password file in mosquitto 2.0's `$7$` format: PBKDF2-HMAC-SHA512, 101 iterations,
/// 12-byte salt, 64-byte hash, both base64 (what `mosquitto_passwd -b` writes), so tests do
/// not depend on the `mosquitto_passwd` binary.
fn password_file(users: &[(String, String)]) -> Result<String, LabError> {
    let crypto = |source: openssl::error::ErrorStack| LabError::Io {
        action: "hash a password",
        path: PathBuf::from("password_file"),
        source: io::Error::other(source),
    };
    let mut out = String::new();
    for (user, password) in users {
        let mut salt = [0u8; 12];
        openssl::rand::rand_bytes(&mut salt).map_err(crypto)?;
        let mut hash = [0u8; 64];
        openssl::pkcs5::pbkdf2_hmac(
            password.as_bytes(),
            &salt,
            101,
            MessageDigest::sha512(),
            &mut hash,
        )
        .map_err(crypto)?;
        let _ = writeln!(
            out,
            "{user}:$7$101${}${}",
            base64::encode_block(&salt),
            base64::encode_block(&hash)
        );
    }
    Ok(out)
}

fn write(path: &Path, contents: &[u8], action: &'static str) -> Result<(), LabError> {
    fs::write(path, contents).map_err(|source| LabError::Io {
        action,
        path: path.to_path_buf(),
        source,
    })
}

fn read_logs(log_path: &Path, stderr_path: &Path) -> String {
    // Missing files just mean the broker has not written anything yet.
    let log = fs::read(log_path).unwrap_or_default();
    let stderr = fs::read(stderr_path).unwrap_or_default();
    let mut out = String::from_utf8_lossy(&log).into_owned();
    out.push_str(&String::from_utf8_lossy(&stderr));
    out
}

/// Whether the log has the [`RUNNING_NOTICE`] line.
fn has_running_notice(log: &str) -> bool {
    log.lines()
        .any(|l| l.contains("mosquitto version ") && l.trim_end().ends_with(" running"))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

mod psk;
pub use psk::ListenerPsk;

#[cfg(test)]
mod tests;
