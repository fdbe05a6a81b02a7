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

use tokio::sync::Semaphore;

use crate::classify::DiagnosisCode;
use crate::error::Error;
use crate::inputs::{LoadedInputs, LoadedOnce};
use crate::lab::{BrokerKind, Lab};
use crate::model::Tool;
pub use crate::model::run::{BackendVerdict, CaseResult, RunReport, Summary, merge};
use crate::probe::ProbeRequest;
use crate::scenario::{Case, CaseTarget, Suite};
use crate::target::Target;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Suite files and folders.
    pub suites: Vec<PathBuf>,
    /// Target for cases that name none.
    pub target: Option<Target>,
    /// Lab brokers to start for cases with a broker profile.
    pub lab: Vec<BrokerKind>,
    /// Cases in flight at once.
    pub jobs: usize,
}

/// Where one case runs.
#[derive(Debug, Clone)]
struct Placement {
    broker: String,
    kind: Option<BrokerKind>,
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
    let mut excerpts: BTreeMap<(BrokerKind, String, u16), Vec<String>> = BTreeMap::new();
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
                BrokerKind::Mosquitto => {
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
            let rendered: Vec<BrokerKind> = config
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
                            scheme: match (case.plain_client, case.websocket.is_some()) {
                                (true, false) => crate::target::Scheme::Mqtt,
                                (false, false) => crate::target::Scheme::Mqtts,
                                (true, true) => crate::target::Scheme::Ws,
                                (false, true) => crate::target::Scheme::Wss,
                            },
                            host: "localhost".into(),
                            port,
                            path: case.websocket.clone(),
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
    start: BTreeMap<(BrokerKind, String), usize>,
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
    fn lines_since(&self, log: &str, kind: BrokerKind, profile: &str) -> Vec<String> {
        let from = self
            .start
            .get(&(kind, profile.to_string()))
            .copied()
            .unwrap_or(0);
        let tail = log.get(from..).unwrap_or("");
        let lines: Vec<String> = tail
            .lines()
            .filter(|l| match kind {
                BrokerKind::Inprocess | BrokerKind::Emqx => false,
                // Every line: `own_mosquitto_lines` picks a case's own by client port and time.
                BrokerKind::Mosquitto => !l.trim().is_empty(),
                // Erlang error reports span many lines; keep the headline of each.
                BrokerKind::Rabbitmq => {
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
