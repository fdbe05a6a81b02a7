//! Private RabbitMQ nodes with the MQTT plugin for tests: one node per [`SslOptions`], each
//! serving one MQTT-over-TLS listener on 127.0.0.1 (Erlang/OTP's `ssl`, the TLS stack of
//! RabbitMQ, EMQX and VerneMQ).
//!
//! [`RabbitNode::start`] (or [`RabbitNode::start_many`], which boots nodes in parallel) makes a
//! temporary directory owned by the `rabbitmq` user holding the config, the enabled-plugins
//! file, copies of the certificate and key, the mnesia and log directories and the node's own
//! HOME (so its Erlang cookie is private). It starts a private `epmd` and the node as that user
//! in a process group of their own, and returns once the listener answers a ClientHello with a
//! ServerHello. A node boots in about 10 s; if it dies first, the error carries its log tail.
//!
//! Cleanup: dropping a [`RabbitNode`] stops the node (SIGTERM, then SIGKILL to the whole
//! group), reaps the processes it started and removes its directory. A small watchdog shell
//! holds the read end of a pipe whose write end lives in this process; when the process dies
//! for any reason (a panic that skips drops, SIGKILL, Ctrl-C), the pipe closes and the watchdog
//! kills the group and removes the directory. Two things stay out of reach without a
//! subreaper: `erl_child_setup` and `inet_gethost` put themselves in their own sessions (they
//! exit on their own once `beam.smp` is gone), and where PID 1 does not reap orphans (some
//! containers) they linger as zombies. Nothing here talks MQTT, and nothing here prints.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use openssl::base64;
use openssl::sha::sha256;
use openssl::ssl::{HandshakeError, SslConnector, SslMethod, SslVerifyMode};

use crate::lab::LabError;

/// Environment variable naming the `rabbitmq-server` script to use instead of searching.
pub const RABBITMQ_ENV: &str = "MQTLS_RABBITMQ_SERVER";

/// Where Debian installs the unwrapped server script (`/usr/sbin/rabbitmq-server` is a wrapper
/// that `su`s to `rabbitmq` and resets HOME, which a private test node cannot use).
const DEBIAN_RABBITMQ: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// The user a node runs as when we are root (the Debian package's system user).
const BROKER_USER: &str = "rabbitmq";

/// How long a node gets to stop after SIGTERM before its group is killed (it takes ~0.3 s).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How often readiness is polled; a boot takes seconds, so there is no point in spinning.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Timeout of one readiness probe (TCP connect plus the handshake's first flight).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How many times a node is booted again when a probed free port was taken meanwhile.
const START_ATTEMPTS: usize = 2;

/// Lines of log carried in errors.
const LOG_TAIL_LINES: usize = 30;

/// Numbers the nodes of this process so their names never collide.
static NODE_COUNTER: AtomicUsize = AtomicUsize::new(1);

/// The `rabbitmq-server` script to run: `$MQTLS_RABBITMQ_SERVER` if set (even if it does not
/// exist, so a misconfiguration fails loudly), else `/usr/lib/rabbitmq/bin/rabbitmq-server`,
/// else `rabbitmq-server` on `PATH`. Point it at the unwrapped script, not Debian's
/// `/usr/sbin/rabbitmq-server`, whose `su` resets HOME and shares the system node's cookie.
pub fn rabbitmq_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(RABBITMQ_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if Path::new(DEBIAN_RABBITMQ).is_file() {
        return Some(PathBuf::from(DEBIAN_RABBITMQ));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("rabbitmq-server"))
            .find(|candidate| candidate.is_file())
    })
}

/// The TLS and authentication settings of one node (RabbitMQ's `ssl_options.*` and `mqtt.*`
/// keys). The default has no certificate (set one) and admits nobody.
#[derive(Debug, Clone, Default)]
pub struct SslOptions {
    /// `ssl_options.cacertfile`: CAs trusted for client certificates. When `certfile` holds the
    /// leaf alone, Erlang completes the served chain from these, root included; a `certfile`
    /// with the chain is sent as it is (observed on OTP 25, see the tests).
    pub cacertfile: Option<PathBuf>,
    /// `ssl_options.certfile`: the served certificate, optionally followed by its chain.
    pub certfile: PathBuf,
    /// `ssl_options.keyfile`: its unencrypted private key. It is copied into the node's
    /// directory for the broker's user, so the caller's file may stay private.
    pub keyfile: PathBuf,
    /// `ssl_options.verify = verify_peer` (else `verify_none`).
    pub verify_peer: bool,
    /// `ssl_options.fail_if_no_peer_cert`.
    pub fail_if_no_peer_cert: bool,
    /// `ssl_options.versions.N`, e.g. `"tlsv1.2"`; empty keeps OTP's default (1.2 and 1.3).
    pub versions: Vec<String>,
    /// `mqtt.allow_anonymous`: a CONNECT without credentials logs in as `guest` (allowed from
    /// loopback, `loopback_users = none`).
    pub allow_anonymous: bool,
    /// `(user, password)` pairs with full rights on vhost `/`, imported at boot.
    pub users: Vec<(String, String)>,
}

/// One private RabbitMQ node serving one MQTT TLS listener. Dropping it stops the node and
/// everything it started, and removes its directory.
#[derive(Debug)]
pub struct RabbitNode {
    label: String,
    node_name: String,
    port: u16,
    config: String,
    /// `rabbitmq-server`, which `exec`s into `erl` and then `beam.smp`.
    server: Child,
    /// The private epmd, leader of the node's process group.
    epmd: Child,
    /// Kills the group if this process dies; see the module docs.
    watchdog: Child,
    log_path: PathBuf,
    stdout_path: PathBuf,
    /// The web_mqtt plugin's listeners (MQTT over WebSockets, path `/ws`): TLS, then plain.
    web_mqtt: Option<(u16, u16)>,
    /// Dropped last (fields drop after [`Drop::drop`]), once the processes are gone.
    _dir: tempfile::TempDir,
}

impl RabbitNode {
    /// Start one node and wait (up to `deadline` in total) until its MQTT TLS listener accepts
    /// a connection and answers a ClientHello with a ServerHello. `name` is a label for errors
    /// and [`RabbitNode::label`]; the Erlang node name is `mqtls-<n>-<pid>@localhost`.
    pub fn start(
        name: &str,
        opts: &SslOptions,
        deadline: Duration,
    ) -> Result<RabbitNode, LabError> {
        let mut nodes = RabbitNode::start_many(&[(name.to_string(), opts.clone())], deadline)?;
        match nodes.pop() {
            Some(node) => Ok(node),
            None => unreachable!("start_many returns one node per requested node"),
        }
    }

    /// [`RabbitNode::start`] with the rabbitmq_web_mqtt plugin too: MQTT over WebSockets at
    /// path `/ws` on a TLS listener (`web_mqtt.ssl.*`, the same certificate and key as the
    /// MQTT TLS listener) and a plain one, both on 127.0.0.1; waits until both accept.
    pub fn start_web_mqtt(
        name: &str,
        opts: &SslOptions,
        deadline: Duration,
    ) -> Result<RabbitNode, LabError> {
        let mut nodes = start_nodes(&[(name.to_string(), opts.clone())], true, deadline)?;
        match nodes.pop() {
            Some(node) => Ok(node),
            None => unreachable!("start_nodes returns one node per requested node"),
        }
    }

    /// The port of the web_mqtt TLS listener (`wss://127.0.0.1:PORT/ws`), when started with it.
    pub fn web_mqtt_tls_port(&self) -> Option<u16> {
        self.web_mqtt.map(|(tls, _)| tls)
    }

    /// The port of the plain web_mqtt listener (`ws://127.0.0.1:PORT/ws`), when started with it.
    pub fn web_mqtt_port(&self) -> Option<u16> {
        self.web_mqtt.map(|(_, plain)| plain)
    }

    /// [`RabbitNode::start_many`], with the web_mqtt plugin too when `web_mqtt` is set (its
    /// ports: [`RabbitNode::web_mqtt_tls_port`], [`RabbitNode::web_mqtt_port`]).
    pub fn start_many_with(
        nodes: &[(String, SslOptions)],
        web_mqtt: bool,
        deadline: Duration,
    ) -> Result<Vec<RabbitNode>, LabError> {
        start_nodes(nodes, web_mqtt, deadline)
    }

    /// Start several nodes at once (they boot in parallel, in about the time of one) and wait
    /// for all of them, up to `deadline` in total. On error every node started is stopped.
    pub fn start_many(
        nodes: &[(String, SslOptions)],
        deadline: Duration,
    ) -> Result<Vec<RabbitNode>, LabError> {
        start_nodes(nodes, false, deadline)
    }

    /// The port of the MQTT TLS listener on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address of the MQTT TLS listener.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The label given to [`RabbitNode::start`].
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The Erlang node name, e.g. `mqtls-1-4242@localhost` (unique per process and node).
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// Process id of the node's `beam.smp`.
    pub fn pid(&self) -> u32 {
        self.server.id()
    }

    /// The node's log so far, followed by what it printed to stdout/stderr.
    pub fn log(&self) -> String {
        let log = fs::read(&self.log_path).unwrap_or_default();
        let stdout = fs::read(&self.stdout_path).unwrap_or_default();
        let mut out = String::from_utf8_lossy(&log).into_owned();
        out.push_str(&String::from_utf8_lossy(&stdout));
        out
    }

    /// The generated `rabbitmq.conf`.
    pub fn config(&self) -> String {
        self.config.clone()
    }
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        // Errors below mean a process is already gone; there is nothing else to do in drop.
        // SIGTERM makes RabbitMQ stop cleanly, which also lets beam.smp reap erl_child_setup.
        let _ = signal("TERM", &self.server.id().to_string());
        let until = Instant::now() + STOP_GRACE;
        while matches!(self.server.try_wait(), Ok(None)) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Everything left in the group (epmd, a hung beam.smp) dies now.
        let _ = signal("KILL", &format!("-{}", self.epmd.id()));
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = self.epmd.kill();
        let _ = self.epmd.wait();
        // SIGKILL while the pipe is still open, so the watchdog does nothing.
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

/// Uid and gid to run nodes as: the `rabbitmq` user when we are root, else ourselves (then
/// `None`: nothing is chowned).
type Owner = Option<(u32, u32)>;

fn broker_owner() -> Result<Owner, LabError> {
    let me = fs::metadata("/proc/self").map_err(|source| LabError::Io {
        action: "find our effective uid",
        path: PathBuf::from("/proc/self"),
        source,
    })?;
    if me.uid() != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").map_err(|source| LabError::Io {
        action: "read the user database",
        path: PathBuf::from("/etc/passwd"),
        source,
    })?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&BROKER_USER))
        .and_then(|f| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))
        .map(Some)
        .ok_or(LabError::NoBrokerUser { user: BROKER_USER })
}

fn check_users(label: &str, opts: &SslOptions) -> Result<(), LabError> {
    for (user, password) in &opts.users {
        let bad = |s: &str| s.contains(['\n', '\r']);
        if user.is_empty() || user.contains(':') || bad(user) || bad(password) {
            return Err(LabError::InvalidUser {
                listener: label.to_string(),
                user: user.clone(),
            });
        }
    }
    Ok(())
}

/// [`RabbitNode::start_many`], with the web_mqtt listeners when `web`.
fn start_nodes(
    nodes: &[(String, SslOptions)],
    web: bool,
    deadline: Duration,
) -> Result<Vec<RabbitNode>, LabError> {
    for (label, opts) in nodes {
        check_users(label, opts)?;
    }
    let binary = rabbitmq_binary().ok_or(LabError::RabbitmqNotFound)?;
    let owner = broker_owner()?;
    let until = Instant::now() + deadline;
    let mut started = Vec::with_capacity(nodes.len());
    // Three ports per node (five with web_mqtt), all held at once so that no two nodes get
    // the same one.
    let per_node = if web { 5 } else { 3 };
    let ports = free_ports(per_node * nodes.len())?;
    for ((label, opts), ports) in nodes.iter().zip(ports.chunks_exact(per_node)) {
        started.push(launch(&binary, owner, label, opts, ports)?);
    }
    let mut ready = Vec::with_capacity(nodes.len());
    for (mut node, (label, opts)) in started.into_iter().zip(nodes) {
        let mut attempt = 1;
        loop {
            match wait_ready(&mut node, until, deadline) {
                Ok(()) => break,
                // A port found free by binding :0 can be taken before the node binds it.
                Err(LabError::NodeExited { log_tail, .. })
                    if attempt < START_ATTEMPTS && log_tail.contains("eaddrinuse") =>
                {
                    attempt += 1;
                    drop(node);
                    node = launch(&binary, owner, label, opts, &free_ports(per_node)?)?;
                }
                Err(e) => return Err(e),
            }
        }
        ready.push(node);
    }
    Ok(ready)
}

/// Write the node's files and start epmd, the watchdog and the node; does not wait.
fn launch(
    binary: &Path,
    owner: Owner,
    label: &str,
    opts: &SslOptions,
    ports: &[u16],
) -> Result<RabbitNode, LabError> {
    let &[port, dist_port, epmd_port, ref web_ports @ ..] = ports else {
        unreachable!("callers pass three ports per node, five with web_mqtt");
    };
    let web_mqtt = match web_ports {
        &[tls, plain] => Some((tls, plain)),
        _ => None,
    };
    let node_name = format!(
        "mqtls-{}-{}@localhost",
        NODE_COUNTER.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    );
    let dir = node_dir(owner)?;
    let root = dir.path();
    let config = write_files(root, opts, port, web_mqtt)?;
    if let Some((uid, gid)) = owner {
        chown_tree(root, uid, gid)?;
    }
    let log_path = root.join("log").join(format!("{node_name}.log"));
    let stdout_path = root.join("stdout.log");
    let stdout = create(&stdout_path)?;

    // epmd first: it leads the process group that the node joins. Its own `-daemon` epmd
    // would escape into a session of its own.
    let mut epmd = Command::new("epmd");
    epmd.args(["-address", "127.0.0.1", "-port", &epmd_port.to_string()])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(clone(&stdout, &stdout_path)?)
        .stderr(clone(&stdout, &stdout_path)?)
        .process_group(0);
    let epmd = run_as(&mut epmd, owner)
        .spawn()
        .map_err(io_err("run epmd", Path::new("epmd")))?;
    let pgid = epmd.id();
    let watchdog = Command::new("sh")
        .args(["-c", WATCHDOG, "mqtls-rabbitmq-watchdog", &pgid.to_string()])
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // A group of its own: Ctrl-C in a terminal must not kill it along with the tests.
        .process_group(0)
        .spawn();
    let watchdog = match watchdog {
        Ok(w) => w,
        Err(source) => {
            let mut epmd = epmd;
            let _ = epmd.kill();
            let _ = epmd.wait();
            return Err(LabError::Io {
                action: "run the cleanup watchdog",
                path: PathBuf::from("sh"),
                source,
            });
        }
    };

    let mut server = Command::new(binary);
    server
        .current_dir(root)
        .env_clear()
        .envs(node_env(root, &node_name, dist_port, epmd_port))
        .stdin(Stdio::null())
        .stdout(clone(&stdout, &stdout_path)?)
        .stderr(stdout)
        // Linux pids fit in an i32 (pid_max is at most 2^22), so the fallback never applies.
        .process_group(i32::try_from(pgid).unwrap_or(0));
    let server = match run_as(&mut server, owner).spawn() {
        Ok(server) => server,
        Err(source) => {
            let _ = signal("KILL", &format!("-{pgid}"));
            for mut child in [epmd, watchdog] {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(LabError::Io {
                action: "run rabbitmq-server",
                path: binary.to_path_buf(),
                source,
            });
        }
    };
    Ok(RabbitNode {
        label: label.to_string(),
        node_name,
        port,
        config,
        server,
        epmd,
        watchdog,
        log_path,
        stdout_path,
        web_mqtt,
        _dir: dir,
    })
}

/// The watchdog: block until this process's end of the pipe closes, then kill the node's
/// process group (`$1`) and remove its directory (`$2`). No `--` before the negative pid:
/// dash's built-in `kill` rejects it.
const WATCHDOG: &str = r#"read -r _; kill -KILL "-$1" 2>/dev/null; sleep 0.2; rm -rf -- "$2""#;

/// The node's environment (the process starts from an empty one, so the caller's `RABBITMQ_*`
/// variables and HOME cannot leak in).
fn node_env(root: &Path, node_name: &str, dist_port: u16, epmd_port: u16) -> Vec<(String, String)> {
    let path = |p: &str| root.join(p).display().to_string();
    let inherited = std::env::var("PATH").unwrap_or_default();
    vec![
        (
            "PATH".into(),
            format!("/usr/sbin:/usr/bin:/sbin:/bin:{inherited}"),
        ),
        ("LANG".into(), "C.UTF-8".into()),
        ("HOME".into(), path("home")),
        ("RABBITMQ_NODENAME".into(), node_name.into()),
        ("RABBITMQ_CONFIG_FILE".into(), path("rabbitmq")),
        (
            "RABBITMQ_ADVANCED_CONFIG_FILE".into(),
            path("advanced.config"),
        ),
        ("RABBITMQ_CONF_ENV_FILE".into(), path("rabbitmq-env.conf")),
        (
            "RABBITMQ_ENABLED_PLUGINS_FILE".into(),
            path("enabled_plugins"),
        ),
        ("RABBITMQ_MNESIA_BASE".into(), path("mnesia")),
        ("RABBITMQ_LOG_BASE".into(), path("log")),
        ("RABBITMQ_PID_FILE".into(), path("rabbitmq.pid")),
        ("RABBITMQ_DIST_PORT".into(), dist_port.to_string()),
        ("ERL_EPMD_PORT".into(), epmd_port.to_string()),
        // With input allowed the script `exec`s erl instead of waiting on it in a shell, so
        // our child is beam.smp itself; `-noinput` keeps the Erlang shell off stdin.
        ("RABBITMQ_ALLOW_INPUT".into(), "true".into()),
        ("RABBITMQ_SERVER_START_ARGS".into(), "-noinput".into()),
        // Keep distribution on loopback (it listens on 0.0.0.0 by default). Idle schedulers
        // must not busy-wait: a lab runs many nodes on few cores, and spinning schedulers of
        // fifteen booting nodes starved each other past a 60 s deadline on 2 cores.
        (
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS".into(),
            "-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
                .into(),
        ),
    ]
}

/// A fresh temporary directory the broker's user can reach.
fn node_dir(owner: Owner) -> Result<tempfile::TempDir, LabError> {
    let base = std::env::temp_dir();
    if owner.is_some() {
        // The node runs as another user: every ancestor must let it through.
        for dir in base.ancestors() {
            let mode = fs::metadata(dir).map(|m| m.mode()).unwrap_or(0o755);
            if mode & 0o001 == 0 {
                return Err(LabError::NotTraversable {
                    path: dir.to_path_buf(),
                    mode: mode & 0o7777,
                });
            }
        }
    }
    tempfile::Builder::new()
        .prefix("mqtls-rabbitmq-")
        .tempdir_in(&base)
        .map_err(io_err("create a temporary directory", &base))
}

/// Write config, plugins, definitions and TLS files; returns the config text.
fn write_files(
    root: &Path,
    opts: &SslOptions,
    port: u16,
    web_mqtt: Option<(u16, u16)>,
) -> Result<String, LabError> {
    for sub in ["mnesia", "log", "home", "tls"] {
        let path = root.join(sub);
        fs::create_dir(&path).map_err(io_err("create a directory", &path))?;
    }
    let tls = root.join("tls");
    let certfile = copy_into(&opts.certfile, &tls.join("cert.pem"), 0o644)?;
    let keyfile = copy_into(&opts.keyfile, &tls.join("key.pem"), 0o600)?;
    let cacertfile = match &opts.cacertfile {
        Some(ca) => Some(copy_into(ca, &tls.join("cacert.pem"), 0o644)?),
        None => None,
    };

    // Writing into a String cannot fail, hence the ignored fmt results.
    let mut c = String::from("# generated by mqtls (src/lab/rabbitmq.rs)\n");
    c.push_str("listeners.tcp = none\nmqtt.listeners.tcp = none\n");
    let _ = writeln!(c, "mqtt.listeners.ssl.default = 127.0.0.1:{port}");
    c.push_str("management.tcp.port = 0\n");
    if let Some(ca) = &cacertfile {
        let _ = writeln!(c, "ssl_options.cacertfile = {}", ca.display());
    }
    let _ = writeln!(c, "ssl_options.certfile = {}", certfile.display());
    let _ = writeln!(c, "ssl_options.keyfile = {}", keyfile.display());
    let verify = if opts.verify_peer {
        "verify_peer"
    } else {
        "verify_none"
    };
    let _ = writeln!(c, "ssl_options.verify = {verify}");
    let _ = writeln!(
        c,
        "ssl_options.fail_if_no_peer_cert = {}",
        opts.fail_if_no_peer_cert
    );
    for (i, v) in opts.versions.iter().enumerate() {
        let _ = writeln!(c, "ssl_options.versions.{} = {v}", i + 1);
    }
    let _ = writeln!(c, "mqtt.allow_anonymous = {}", opts.allow_anonymous);
    c.push_str("loopback_users = none\n");
    if let Some((tls_port, plain_port)) = web_mqtt {
        // rabbitmq_web_mqtt (path /ws): its TLS listener takes its own ssl options.
        let _ = writeln!(
            c,
            "web_mqtt.tcp.ip = 127.0.0.1\nweb_mqtt.tcp.port = {plain_port}"
        );
        let _ = writeln!(
            c,
            "web_mqtt.ssl.ip = 127.0.0.1\nweb_mqtt.ssl.port = {tls_port}"
        );
        let _ = writeln!(c, "web_mqtt.ssl.certfile = {}", certfile.display());
        let _ = writeln!(c, "web_mqtt.ssl.keyfile = {}", keyfile.display());
        if let Some(ca) = &cacertfile {
            let _ = writeln!(c, "web_mqtt.ssl.cacertfile = {}", ca.display());
        }
    }
    if !opts.users.is_empty() {
        let defs = root.join("definitions.json");
        write(&defs, definitions(opts).as_bytes(), "write the definitions")?;
        let _ = writeln!(c, "load_definitions = {}", defs.display());
    }
    write(
        &root.join("rabbitmq.conf"),
        c.as_bytes(),
        "write rabbitmq.conf",
    )?;
    let plugins: &[u8] = if web_mqtt.is_some() {
        b"[rabbitmq_mqtt,rabbitmq_web_mqtt].\n"
    } else {
        b"[rabbitmq_mqtt].\n"
    };
    write(
        &root.join("enabled_plugins"),
        plugins,
        "write enabled_plugins",
    )?;
    write(
        &root.join("rabbitmq-env.conf"),
        b"",
        "write rabbitmq-env.conf",
    )?;
    Ok(c)
}

/// Definitions imported at boot: vhost `/`, the users (plus `guest` when anonymous logins map
/// to it) and full permissions. Importing at boot is seconds faster than `rabbitmqctl
/// add_user` after it, and needs no CLI talking to the node.
fn definitions(opts: &SslOptions) -> String {
    let mut users: Vec<(&str, &str)> = opts
        .users
        .iter()
        .map(|(u, p)| (u.as_str(), p.as_str()))
        .collect();
    if opts.allow_anonymous && !users.iter().any(|(u, _)| *u == "guest") {
        users.push(("guest", "guest"));
    }
    let json = serde_json::json!({
        "vhosts": [{ "name": "/" }],
        "users": users.iter().map(|(name, password)| serde_json::json!({
            "name": name,
            "password_hash": password_hash(password),
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": "",
        })).collect::<Vec<_>>(),
        "permissions": users.iter().map(|(name, _)| serde_json::json!({
            "user": name, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*",
        })).collect::<Vec<_>>(),
    });
    json.to_string()
}

/// RabbitMQ's SHA-256 password hash: base64(salt ‖ SHA-256(salt ‖ password)) with a 4-byte
/// salt (see RabbitMQ's "Credentials and Passwords" guide). The salt is fixed: these are lab
/// passwords, and a deterministic hash keeps the definitions reproducible.
fn password_hash(password: &str) -> String {
    let salt = *b"mqts";
    let digest = sha256(&[&salt[..], password.as_bytes()].concat());
    base64::encode_block(&[&salt[..], &digest[..]].concat())
}

fn copy_into(from: &Path, to: &Path, mode: u32) -> Result<PathBuf, LabError> {
    let bytes = fs::read(from).map_err(io_err("read a TLS file", from))?;
    write(to, &bytes, "copy a TLS file")?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(io_err("chmod", to))?;
    Ok(to.to_path_buf())
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), LabError> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io_err("chown", path))?;
    if path.is_dir() {
        for entry in fs::read_dir(path).map_err(io_err("list", path))? {
            let entry = entry.map_err(io_err("list", path))?;
            chown_tree(&entry.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn run_as(cmd: &mut Command, owner: Owner) -> &mut Command {
    if let Some((uid, gid)) = owner {
        // std drops supplementary groups when root changes uid.
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Poll until the node's listener answers a ClientHello with a ServerHello, or a process of
/// the node exits, or time runs out.
fn wait_ready(node: &mut RabbitNode, until: Instant, deadline: Duration) -> Result<(), LabError> {
    loop {
        let exited = [&mut node.server, &mut node.epmd]
            .into_iter()
            .find_map(|child| child.try_wait().ok().flatten());
        if let Some(status) = exited {
            return Err(LabError::NodeExited {
                node: node.node_name.clone(),
                status,
                log_tail: tail(&node.log(), LOG_TAIL_LINES),
            });
        }
        let web_up = node.web_mqtt.is_none_or(|(tls, plain)| {
            [tls, plain].iter().all(|p| {
                TcpStream::connect_timeout(
                    &SocketAddr::from((Ipv4Addr::LOCALHOST, *p)),
                    PROBE_TIMEOUT,
                )
                .is_ok()
            })
        });
        if web_up && answers_client_hello(node.addr()) {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(LabError::NodeNotReady {
                node: node.node_name.clone(),
                waited: deadline,
                log_tail: tail(&node.log(), LOG_TAIL_LINES),
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Whether `addr` accepts a connection and answers a ClientHello with a ServerHello: its first
/// record is a handshake record (0x16) whose first message is a ServerHello (2). A rejection
/// later in the handshake (no client certificate) still counts: the listener is up.
fn answers_client_hello(addr: SocketAddr) -> bool {
    let Ok(tcp) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    if tcp.set_read_timeout(Some(PROBE_TIMEOUT)).is_err() {
        return false;
    }
    let Ok(mut builder) = SslConnector::builder(SslMethod::tls_client()) else {
        return false;
    };
    // Offer every version and cipher, so a TLS 1.0/1.1-only node still answers.
    builder.set_verify(SslVerifyMode::NONE);
    let _ = builder.set_min_proto_version(None);
    let _ = builder.set_cipher_list("ALL:@SECLEVEL=0");
    builder.set_security_level(0);
    let Ok(config) = builder.build().configure() else {
        return false;
    };
    let recorder = FirstBytes {
        inner: tcp,
        first: Vec::new(),
    };
    let first = match config.verify_hostname(false).connect("localhost", recorder) {
        Ok(stream) => stream.get_ref().first.clone(),
        Err(HandshakeError::Failure(mid) | HandshakeError::WouldBlock(mid)) => {
            mid.get_ref().first.clone()
        }
        Err(HandshakeError::SetupFailure(_)) => return false,
    };
    first.first() == Some(&0x16) && first.get(5) == Some(&0x02)
}

/// A stream that keeps the first bytes it reads.
struct FirstBytes {
    inner: TcpStream,
    first: Vec<u8>,
}

impl Read for FirstBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let keep = 6usize.saturating_sub(self.first.len()).min(n);
        self.first.extend_from_slice(&buf[..keep]);
        Ok(n)
    }
}

impl Write for FirstBytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reserve `n` distinct free loopback ports by binding them all at once, then release them.
fn free_ports(n: usize) -> Result<Vec<u16>, LabError> {
    let found = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()
        .and_then(|held| {
            held.iter()
                .map(|l| l.local_addr().map(|a| a.port()))
                .collect()
        });
    found.map_err(io_err("find free loopback ports", Path::new("127.0.0.1:0")))
}

/// Send `signal` (e.g. "TERM") to `target` (a pid, or `-pgid` for a group) with kill(1).
fn signal(signal: &str, target: &str) -> io::Result<()> {
    let status = Command::new("kill")
        .args(["-s", signal, "--", target])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "kill -s {signal} {target}: {status}"
        )))
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LabError {
    let path = path.to_path_buf();
    move |source| LabError::Io {
        action,
        path,
        source,
    }
}

fn write(path: &Path, contents: &[u8], action: &'static str) -> Result<(), LabError> {
    fs::write(path, contents).map_err(io_err(action, path))
}

fn create(path: &Path) -> Result<fs::File, LabError> {
    fs::File::create(path).map_err(io_err("create", path))
}

fn clone(file: &fs::File, path: &Path) -> Result<fs::File, LabError> {
    file.try_clone()
        .map_err(io_err("duplicate a handle of", path))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests;
