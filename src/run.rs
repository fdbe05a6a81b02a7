//! `mqtls run`: every case of the suites, on every broker it names, on every backend,
//! concurrently with a bound on probes in flight; the verdicts against the expectations.
//!
//! The lab brokers are started first (from the profiles the cases use) and stopped when the
//! [`Lab`] is dropped, also on failure. Each case's CA file and client identity are parsed
//! once and shared. Nothing here prints; `app` renders the [`RunReport`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::classify::DiagnosisCode;
use crate::error::Error;
use crate::evidence::Backend;
use crate::inputs::{LoadedInputs, LoadedOnce};
use crate::lab::{self, Mosquitto};
use crate::probe::ProbeRequest;
use crate::report::{DiagnoseReport, SCHEMA_VERSION, Tool};
use crate::scenario::{Case, CaseTarget, Profile, Suite};
use crate::target::Target;

/// A broker kind the lab can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum LabKind {
    /// mosquitto (Debian package): one process, one listener per profile.
    Mosquitto,
    /// RabbitMQ's MQTT plugin (Erlang/OTP TLS): one node per profile.
    Rabbitmq,
    /// mqtls's in-process OpenSSL TLS/MQTT responder: no broker needed, serves exactly the
    /// files of the profile (it never completes a chain).
    Inprocess,
}

impl LabKind {
    /// The name used in reports and in `expect.brokers`.
    pub fn name(self) -> &'static str {
        match self {
            LabKind::Mosquitto => "mosquitto",
            LabKind::Rabbitmq => "rabbitmq",
            LabKind::Inprocess => "inprocess",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Suite files and folders.
    pub suites: Vec<PathBuf>,
    /// Target for cases that name none.
    pub target: Option<Target>,
    /// Lab brokers to start for cases with a broker profile.
    pub lab: Vec<LabKind>,
    /// Cases in flight at once.
    pub jobs: usize,
}

/// One backend's verdict in one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BackendVerdict {
    /// The backend.
    pub backend: Backend,
    /// The code the case expects.
    pub expected: Option<DiagnosisCode>,
    /// The code it got.
    pub got: DiagnosisCode,
    /// Expected warnings it did not carry.
    pub missing_warnings: Vec<DiagnosisCode>,
    /// Expected code and warnings met.
    pub pass: bool,
    /// The diagnosis summary, for the table.
    pub summary: String,
}

/// One case on one broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseResult {
    /// `<file stem>/<name>`.
    pub case: String,
    /// The scenario file.
    pub file: String,
    /// What the case shows.
    pub description: Option<String>,
    /// `mosquitto`, `rabbitmq` or `target`.
    pub broker: String,
    /// Every backend met its expectation.
    pub pass: bool,
    /// Per backend.
    pub verdicts: Vec<BackendVerdict>,
    /// The broker's log lines written while the case ran (failing cases only).
    pub broker_log: Vec<String>,
    /// The full diagnosis.
    pub report: DiagnoseReport,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// Case × broker runs.
    pub cases: usize,
    /// Runs that met their expectation on every backend.
    pub passed: usize,
    /// Runs that did not.
    pub failed: usize,
    /// Cases not run: their profile is rendered by none of the lab brokers given.
    pub skipped: usize,
    /// Backends used.
    pub backends: Vec<Backend>,
    /// Brokers used.
    pub brokers: Vec<String>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// The document version.
    pub schema_version: u32,
    /// mqtls and its version.
    pub tool: Tool,
    /// Totals.
    pub summary: Summary,
    /// Sorted by case, then broker.
    pub results: Vec<CaseResult>,
    /// Wall time of the run, ms.
    pub elapsed_ms: f64,
}

/// Brokers started for a run; dropping it stops them.
pub struct Lab {
    mosquitto: Option<Mosquitto>,
    rabbitmq: BTreeMap<String, lab::RabbitNode>,
    inprocess: BTreeMap<String, lab::Responder>,
}

impl Lab {
    /// Starts the requested brokers with one listener (or node) per profile used.
    pub async fn start(
        kinds: &[LabKind],
        profiles: &BTreeMap<String, Profile>,
    ) -> Result<Lab, Error> {
        let mut lab = Lab {
            mosquitto: None,
            rabbitmq: BTreeMap::new(),
            inprocess: BTreeMap::new(),
        };
        if profiles.is_empty() {
            return Ok(lab);
        }
        for kind in kinds {
            match kind {
                LabKind::Mosquitto => {
                    let listeners = profiles
                        .iter()
                        .filter(|(_, p)| renders(p, *kind))
                        .map(|(name, p)| mosquitto_listener(name, p))
                        .collect::<Result<Vec<_>, Error>>()?;
                    let broker = tokio::task::spawn_blocking(move || {
                        Mosquitto::start(&listeners, std::time::Duration::from_secs(15))
                    })
                    .await
                    .map_err(|e| Error::Lab(e.to_string()))?
                    .map_err(|e| Error::Lab(format!("mosquitto: {e}")))?;
                    lab.mosquitto = Some(broker);
                }
                LabKind::Inprocess => {
                    for (name, p) in profiles.iter().filter(|(_, p)| renders(p, *kind)) {
                        let responder = lab::Responder::start(responder_behaviour(p)?)
                            .await
                            .map_err(|e| {
                                Error::Lab(format!("in-process responder for {name}: {e}"))
                            })?;
                        lab.inprocess.insert(name.clone(), responder);
                    }
                }
                LabKind::Rabbitmq => {
                    let nodes: Vec<(String, lab::SslOptions)> = profiles
                        .iter()
                        .filter(|(_, p)| renders(p, *kind))
                        .map(|(name, p)| Ok((name.clone(), rabbitmq_options(p)?)))
                        .collect::<Result<_, Error>>()?;
                    // A node boots in ~10 s of mostly one core; more than a few at once on a
                    // small machine starve each other (15 at once missed a 60 s deadline on
                    // 2 cores), so boot them in waves.
                    let wave =
                        (2 * std::thread::available_parallelism().map_or(2, usize::from)).max(2);
                    for chunk in nodes.chunks(wave) {
                        let chunk = chunk.to_vec();
                        let names: Vec<String> = chunk.iter().map(|(n, _)| n.clone()).collect();
                        let started = tokio::task::spawn_blocking(move || {
                            lab::RabbitNode::start_many(&chunk, std::time::Duration::from_secs(90))
                        })
                        .await
                        .map_err(|e| Error::Lab(e.to_string()))?
                        .map_err(|e| Error::Lab(format!("rabbitmq: {e}")))?;
                        lab.rabbitmq.extend(names.into_iter().zip(started));
                    }
                }
            }
        }
        Ok(lab)
    }

    /// The address of `profile` on the broker `kind`.
    fn port(&self, kind: LabKind, profile: &str) -> Option<u16> {
        match kind {
            LabKind::Mosquitto => self.mosquitto.as_ref()?.port(profile),
            LabKind::Rabbitmq => self.rabbitmq.get(profile).map(lab::RabbitNode::port),
            LabKind::Inprocess => self.inprocess.get(profile).map(lab::Responder::port),
        }
    }

    /// Waits (at most a second) until the brokers' logs stop growing: a broker logs a
    /// connection when its event loop gets to it, which can be after the client gave up.
    async fn settle_logs(&self) {
        let total = |lab: &Lab| {
            lab.mosquitto.as_ref().map_or(0, |m| m.log().len())
                + lab.rabbitmq.values().map(|n| n.log().len()).sum::<usize>()
        };
        let mut last = total(self);
        for _ in 0..10 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = total(self);
            if now == last {
                return;
            }
            last = now;
        }
    }

    fn log_len(&self, kind: LabKind, profile: &str) -> usize {
        self.log(kind, profile).len()
    }

    fn log(&self, kind: LabKind, profile: &str) -> String {
        match kind {
            LabKind::Mosquitto => self
                .mosquitto
                .as_ref()
                .map(Mosquitto::log)
                .unwrap_or_default(),
            LabKind::Inprocess => String::new(),
            LabKind::Rabbitmq => self
                .rabbitmq
                .get(profile)
                .map(lab::RabbitNode::log)
                .unwrap_or_default(),
        }
    }
}

/// True when `profile` is rendered on `kind` (its `labs` list, if any, names it).
fn renders(profile: &Profile, kind: LabKind) -> bool {
    let plain_ok = !(profile.plain && kind == LabKind::Rabbitmq);
    plain_ok
        && profile
            .labs
            .as_ref()
            .is_none_or(|labs| labs.iter().any(|l| l == kind.name()))
}

/// Where one case runs.
#[derive(Debug, Clone)]
struct Placement {
    broker: String,
    kind: Option<LabKind>,
    profile: Option<String>,
    target: Target,
}

/// Runs the suites; `on_done` is called after each case (for a progress bar).
pub async fn run(
    config: &RunConfig,
    suite: &Suite,
    lab: &Lab,
    on_done: impl Fn(&CaseResult) + Send + Sync + 'static,
) -> Result<RunReport, Error> {
    let started = Instant::now();
    let mut planned = Vec::new();
    let mut skipped = 0;
    for case in &suite.cases {
        let places = placements(case, config, lab)?;
        if places.is_empty() {
            skipped += 1;
        }
        for placement in places {
            planned.push((case.clone(), placement));
        }
    }
    // Every file is read before the first probe, so a bad one stops the run with nothing probed.
    let mut inputs = LoadedOnce::default();
    let loaded: Vec<Arc<LoadedInputs>> = planned
        .iter()
        .map(|(case, _)| inputs.get_or_load(&case.inputs))
        .collect::<Result<_, _>>()?;
    let semaphore = Arc::new(Semaphore::new(config.jobs.max(1)));
    let lab_logs = Arc::new(LabLogs::snapshot(lab, &planned));
    let on_done = Arc::new(on_done);
    let mut tasks = Vec::new();
    for ((case, placement), loaded) in planned.into_iter().zip(loaded) {
        let semaphore = Arc::clone(&semaphore);
        let on_done = Arc::clone(&on_done);
        tasks.push(tokio::spawn(async move {
            // The semaphore lives as long as the run; a closed one cannot happen.
            let _permit = semaphore.acquire_owned().await.ok();
            // Seconds, like mosquitto's log timestamps; a second of slack each side.
            let began = crate::diagnose::unix_now() - 1;
            let result = run_case(&case, &placement, &loaded).await;
            let window = (began, crate::diagnose::unix_now() + 1);
            on_done(&result);
            (result, placement, window)
        }));
    }
    let mut finished = Vec::with_capacity(tasks.len());
    for task in tasks {
        finished.push(
            task.await
                .map_err(|e| Error::Lab(format!("a case task failed: {e}")))?,
        );
    }
    // Each listener's log lines are read and filtered once, after every case finished: reading
    // and filtering the whole log per failing case made a run quadratic in its failures (the
    // log grows with the cases). Each failing case then keeps its own lines: on mosquitto those
    // of its connections (by client port) written while it ran.
    let mut excerpts: BTreeMap<(LabKind, String, u16), Vec<String>> = BTreeMap::new();
    if finished.iter().any(|(r, p, _)| !r.pass && p.kind.is_some()) {
        lab.settle_logs().await;
    }
    let mut results = Vec::with_capacity(finished.len());
    for (mut result, placement, window) in finished {
        if !result.pass
            && let (Some(kind), Some(profile)) = (placement.kind, placement.profile.as_deref())
        {
            let port = placement.target.port;
            let lines = excerpts
                .entry((kind, profile.to_string(), port))
                .or_insert_with(|| lab_logs.lines_since(&lab.log(kind, profile), kind, profile));
            let own = match kind {
                LabKind::Mosquitto => {
                    own_mosquitto_lines(lines, port, window, &result.report.meta.client_ports)
                }
                _ => lines.clone(),
            };
            let keep = own.len().saturating_sub(20);
            result.broker_log = own[keep..].to_vec();
        }
        results.push(result);
    }
    let backends = suite
        .cases
        .iter()
        .flat_map(|c| c.backends.clone())
        .collect();
    Ok(RunReport::from_results(
        Tool::current(),
        results,
        backends,
        skipped,
        started.elapsed().as_secs_f64() * 1000.0,
    ))
}

fn placements(case: &Case, config: &RunConfig, lab: &Lab) -> Result<Vec<Placement>, Error> {
    match &case.target {
        CaseTarget::Url(t) => Ok(vec![Placement {
            broker: "target".into(),
            kind: None,
            profile: None,
            target: t.clone(),
        }]),
        CaseTarget::RunTarget => match &config.target {
            Some(t) => Ok(vec![Placement {
                broker: "target".into(),
                kind: None,
                profile: None,
                target: t.clone(),
            }]),
            None => Err(Error::Flag {
                flag: "--target",
                value: case.id.clone(),
                reason: "this case names neither a target nor a broker profile; pass --target URL"
                    .into(),
            }),
        },
        CaseTarget::Profile(profile) => {
            if config.lab.is_empty() {
                return Err(Error::Flag {
                    flag: "--lab",
                    value: case.id.clone(),
                    reason: format!(
                        "this case uses broker profile {profile:?}; pass --lab mosquitto,rabbitmq"
                    ),
                });
            }
            let rendered: Vec<LabKind> = config
                .lab
                .iter()
                .copied()
                .filter(|&kind| lab.port(kind, profile).is_some())
                .collect();
            // A profile restricted to other brokers (its `labs`) skips the case here.
            rendered
                .iter()
                .map(|&kind| {
                    let port = lab.port(kind, profile).ok_or_else(|| {
                        Error::Lab(format!(
                            "{} has no listener for profile {profile:?}",
                            kind.name()
                        ))
                    })?;
                    Ok(Placement {
                        broker: kind.name().into(),
                        kind: Some(kind),
                        profile: Some(profile.clone()),
                        target: Target {
                            scheme: if case.plain_client {
                                crate::target::Scheme::Mqtt
                            } else {
                                crate::target::Scheme::Mqtts
                            },
                            host: "localhost".into(),
                            port,
                            path: None,
                        },
                    })
                })
                .collect()
        }
    }
}

async fn run_case(case: &Case, placement: &Placement, loaded: &LoadedInputs) -> CaseResult {
    let target = placement.target.clone();
    let sni = match &case.sni {
        Some(choice) => choice.clone(),
        None => target.default_sni(),
    };
    let request = ProbeRequest {
        expect_name: case
            .expect_name
            .clone()
            .unwrap_or_else(|| target.host.clone()),
        target,
        sni,
        tls_versions: case.tls_versions.clone(),
        alpn: case.alpn.clone(),
        mqtt: case.mqtt.clone(),
        timeout: case.timeout,
        verify_at: None,
    };
    let report =
        crate::diagnose::diagnose_warn_days(request, loaded, &case.backends, case.warn_days).await;
    let required = case.expect.warnings_for(&placement.broker);
    let verdicts: Vec<BackendVerdict> = report
        .backends
        .iter()
        .map(|b| {
            let expected = case.expect.code_for(&placement.broker, b.backend);
            let missing_warnings: Vec<DiagnosisCode> = required
                .iter()
                .copied()
                .filter(|w| b.outcome == crate::report::Outcome::Ok && !b.warnings.contains(w))
                .collect();
            BackendVerdict {
                backend: b.backend,
                expected,
                got: b.diagnosis.code,
                pass: expected.is_none_or(|e| e == b.diagnosis.code) && missing_warnings.is_empty(),
                missing_warnings,
                summary: b.diagnosis.summary.clone(),
            }
        })
        .collect();
    CaseResult {
        case: case.id.clone(),
        file: case.file.display().to_string(),
        description: case.description.clone(),
        broker: placement.broker.clone(),
        pass: verdicts.iter().all(|v| v.pass),
        verdicts,
        broker_log: Vec::new(),
        report,
    }
}

/// Where each broker's log stood when the run began, to cut out a failing case's lines.
struct LabLogs {
    start: BTreeMap<(LabKind, String), usize>,
}

impl LabLogs {
    fn snapshot(lab: &Lab, planned: &[(Case, Placement)]) -> LabLogs {
        let mut start = BTreeMap::new();
        for (_, p) in planned {
            if let (Some(kind), Some(profile)) = (p.kind, &p.profile) {
                start
                    .entry((kind, profile.clone()))
                    .or_insert_with(|| lab.log_len(kind, profile));
            }
        }
        LabLogs { start }
    }

    /// Lines the broker wrote for this listener since the run began: those naming its port,
    /// and the TLS errors between them (mosquitto logs them without the port).
    /// `log` is the broker's whole log, read once for the run.
    fn lines_since(&self, log: &str, kind: LabKind, profile: &str) -> Vec<String> {
        let from = self
            .start
            .get(&(kind, profile.to_string()))
            .copied()
            .unwrap_or(0);
        let tail = log.get(from..).unwrap_or("");
        let lines: Vec<String> = tail
            .lines()
            .filter(|l| match kind {
                LabKind::Inprocess => false,
                // Every line: `own_mosquitto_lines` picks a case's own by client port and time.
                LabKind::Mosquitto => !l.trim().is_empty(),
                // Erlang error reports span many lines; keep the headline of each.
                LabKind::Rabbitmq => {
                    l.get(..4)
                        .is_some_and(|y| y.chars().all(|c| c.is_ascii_digit()))
                        && ["TLS", "tls_alert", "ssl", "MQTT", "mqtt", "certificate"]
                            .iter()
                            .any(|k| l.contains(k))
                        && !l.trim_end().ends_with(',')
                }
            })
            .map(|l| l.chars().take(300).collect::<String>())
            .collect();
        lines
    }
}

/// A case's own lines of a mosquitto log (`<unix seconds>: <text>`): written while it ran
/// (`window`, in seconds), and about its connections: the "New connection from
/// 127.0.0.1:PORT on port LISTENER" of a client port it used, every line naming a client id
/// one of its connections logged in as, and the lines that name no connection (mosquitto 2.0
/// logs a failed TLS handshake as a bare "OpenSSL Error", often with no "New connection" line
/// before it) unless another case's connection was the last one named.
fn own_mosquitto_lines(
    lines: &[String],
    listener: u16,
    window: (i64, i64),
    client_ports: &[u16],
) -> Vec<String> {
    let on_listener = format!("on port {listener}");
    // No connection named yet in the window: unattributed lines may be ours.
    let mut ours = true;
    let mut ids: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in lines {
        let (stamp, text) = line.split_once(": ").unwrap_or(("", line));
        if let Ok(t) = stamp.trim().parse::<i64>()
            && (t < window.0 || t > window.1)
        {
            continue;
        }
        if let Some(port) = peer_port(text) {
            ours = client_ports.contains(&port)
                && (!text.contains(" on port ") || text.contains(&on_listener));
            if ours {
                // "New client connected from 127.0.0.1:PORT as ID (p2, c1, k60)."
                if let Some(id) = text.split(" as ").nth(1).and_then(|r| r.split(' ').next()) {
                    ids.push(id.to_string());
                }
                out.push(line.clone());
            }
            continue;
        }
        let names_ours = ids
            .iter()
            .any(|id| text.contains(&format!("Client {id} ")) || text.contains(&format!(" {id} ")));
        // Only what a connection causes; not the broker's own notices that fall in between.
        let about_a_client = [
            "OpenSSL Error",
            "Client ",
            "alert",
            "Socket error",
            "Sending ",
            "Received ",
        ]
        .iter()
        .any(|k| text.contains(k));
        if (ours && about_a_client) || names_ours {
            out.push(line.clone());
        }
    }
    out
}

/// The peer port of a mosquitto "... from 127.0.0.1:PORT ..." line.
fn peer_port(text: &str) -> Option<u16> {
    let after = text.split(" from ").nth(1)?;
    let addr = after.split([' ', ',']).next()?;
    addr.rsplit_once(':')?.1.trim_end_matches('.').parse().ok()
}

/// The profile's users with their passwords, read from the environment.
fn profile_users(p: &Profile) -> Result<Vec<(String, String)>, Error> {
    p.users
        .iter()
        .map(|u| {
            std::env::var(&u.password_env)
                .map(|pw| (u.name.clone(), pw))
                .map_err(|_| Error::MissingEnv {
                    flag: "profile users.password_env",
                    var: u.password_env.clone(),
                })
        })
        .collect()
}

fn mosquitto_listener(name: &str, p: &Profile) -> Result<lab::Listener, Error> {
    let users = profile_users(p)?;
    Ok(lab::Listener {
        name: name.to_string(),
        tls: (!p.plain).then(|| lab::ListenerTls {
            cafile: p.cafile.as_ref().map(PathBuf::from),
            certfile: PathBuf::from(&p.certfile),
            keyfile: PathBuf::from(&p.keyfile),
            require_certificate: p.require_certificate,
            tls_version: p.min_tls_version.as_deref().map(|v| format!("tlsv{v}")),
            use_identity_as_username: false,
            ciphers: p.ciphers.clone(),
            crlfile: p.crlfile.as_ref().map(PathBuf::from),
        }),
        allow_anonymous: p.allow_anonymous,
        users,
    })
}

fn rabbitmq_options(p: &Profile) -> Result<lab::SslOptions, Error> {
    let users = profile_users(p)?;
    let versions = match p.min_tls_version.as_deref() {
        Some("1.3") => vec!["tlsv1.3".to_string()],
        Some("1.2") => vec!["tlsv1.3".to_string(), "tlsv1.2".to_string()],
        Some(v) => vec![format!("tlsv{v}")],
        None => Vec::new(),
    };
    Ok(lab::SslOptions {
        cacertfile: p.cafile.as_ref().map(PathBuf::from),
        certfile: PathBuf::from(&p.certfile),
        keyfile: PathBuf::from(&p.keyfile),
        verify_peer: p.require_certificate,
        fail_if_no_peer_cert: p.require_certificate,
        versions,
        allow_anonymous: p.allow_anonymous,
        users,
    })
}

/// A profile as an in-process OpenSSL responder: the same files, served exactly as given.
fn responder_behaviour(p: &Profile) -> Result<lab::Behaviour, Error> {
    if p.plain {
        return Ok(lab::Behaviour::PlainMqtt(lab::MqttBehaviour::Accept));
    }
    let read = |path: &str| {
        std::fs::read(path).map_err(|source| Error::ReadFile {
            what: "profile file",
            path: PathBuf::from(path),
            source,
        })
    };
    let client_auth = match (&p.cafile, p.require_certificate) {
        (Some(ca), true) => lab::ClientAuth::Required { ca_pem: read(ca)? },
        (Some(ca), false) => lab::ClientAuth::Optional { ca_pem: read(ca)? },
        (None, _) => lab::ClientAuth::None,
    };
    let versions = match p.min_tls_version.as_deref() {
        Some("1.3") => vec![lab::TlsVersion::Tls1_3],
        Some("1.2") => vec![lab::TlsVersion::Tls1_2, lab::TlsVersion::Tls1_3],
        Some("1.1") => vec![lab::TlsVersion::Tls1_1, lab::TlsVersion::Tls1_3],
        Some("1.0") => vec![lab::TlsVersion::Tls1_0, lab::TlsVersion::Tls1_3],
        _ => Vec::new(),
    };
    let mqtt = match (p.allow_anonymous, profile_users(p)?.into_iter().next()) {
        (true, _) => lab::MqttBehaviour::Accept,
        (false, Some((username, password))) => {
            lab::MqttBehaviour::RequireLogin { username, password }
        }
        // No users: nobody gets in; anonymous clients get "not authorized" like mosquitto.
        (false, None) => lab::MqttBehaviour::RequireLogin {
            username: String::from("\u{0}no user"),
            password: String::from("\u{0}no password"),
        },
    };
    Ok(lab::Behaviour::TlsWith(
        lab::TlsServer {
            stack: lab::ServerStack::Openssl,
            chain_pem: read(&p.certfile)?,
            key_pem: read(&p.keyfile)?,
            client_auth,
            versions,
            alpn: Vec::new(),
            mqtt,
        },
        lab::TlsOptions {
            // An `@SECLEVEL=N` in the cipher string must apply before the certificate is
            // loaded, or OpenSSL refuses a SHA-1 or RSA-1024 certificate as mosquitto would not.
            security_level: p
                .ciphers
                .as_deref()
                .and_then(|c| c.split("@SECLEVEL=").nth(1))
                .and_then(|n| n.get(..1)?.parse().ok()),
            ciphers: p.ciphers.clone(),
            crl_file: p.crlfile.as_ref().map(PathBuf::from),
            ..lab::TlsOptions::default()
        },
    ))
}

/// Merges run reports (e.g. one per broker or CI job) into one: results of the same case on the
/// same broker from a later report replace earlier ones; the summary is recomputed. The caller
/// checks that every report has this mqtls's schema version.
pub fn merge(reports: Vec<RunReport>) -> RunReport {
    let mut results: BTreeMap<(String, String), CaseResult> = BTreeMap::new();
    let mut backends = Vec::new();
    let mut elapsed_ms = 0.0;
    let mut skipped = 0;
    let mut tool = Tool::current();
    for report in reports {
        tool = report.tool;
        elapsed_ms += report.elapsed_ms;
        skipped += report.summary.skipped;
        backends.extend(report.summary.backends);
        for r in report.results {
            results.insert((r.case.clone(), r.broker.clone()), r);
        }
    }
    RunReport::from_results(
        tool,
        results.into_values().collect(),
        backends,
        skipped,
        elapsed_ms,
    )
}

impl RunReport {
    /// A report over `results`, sorted by case then broker, with the summary counted from them
    /// (one place for both a run and a merge of runs).
    fn from_results(
        tool: Tool,
        mut results: Vec<CaseResult>,
        mut backends: Vec<Backend>,
        skipped: usize,
        elapsed_ms: f64,
    ) -> RunReport {
        results.sort_by(|a, b| (&a.case, &a.broker).cmp(&(&b.case, &b.broker)));
        backends.sort();
        backends.dedup();
        let mut brokers: Vec<String> = results.iter().map(|r| r.broker.clone()).collect();
        brokers.sort();
        brokers.dedup();
        let passed = results.iter().filter(|r| r.pass).count();
        RunReport {
            schema_version: SCHEMA_VERSION,
            tool,
            summary: Summary {
                cases: results.len(),
                passed,
                failed: results.len() - passed,
                skipped,
                backends,
                brokers,
            },
            results,
            elapsed_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::own_mosquitto_lines;

    #[test]
    fn a_failing_case_gets_its_own_mosquitto_lines() {
        let log: Vec<String> = [
            "100: New connection from 127.0.0.1:40001 on port 8883.",
            "100: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca",
            "100: Client <unknown> disconnected: Protocol error.",
            "101: New connection from 127.0.0.1:40002 on port 8883.",
            "101: New client connected from 127.0.0.1:40002 as other-case (p2, c1, k60).",
            "101: New connection from 127.0.0.1:40003 on port 8883.",
            "101: New client connected from 127.0.0.1:40003 as mqtls-mine (p2, c1, k60).",
            "101: New connection from 127.0.0.1:40004 on port 8883.",
            "101: OpenSSL Error[0]: error:0A000412:SSL routines::sslv3 alert bad certificate",
            "102: Client mqtls-mine disconnected, not authorised.",
            "102: Client other-case disconnected.",
            "200: New connection from 127.0.0.1:40003 on port 8883.",
            "200: OpenSSL Error[0]: a later case that reused the port",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let own = own_mosquitto_lines(&log, 8883, (100, 150), &[40001, 40003]);
        assert_eq!(
            own,
            vec![
                log[0].clone(),
                log[1].clone(),
                log[2].clone(),
                log[5].clone(),
                log[6].clone(),
                log[9].clone(),
            ]
        );
    }
}
