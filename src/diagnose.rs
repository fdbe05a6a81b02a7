//! `diagnose` orchestration: probe every backend concurrently, run the follow-up probes the
//! evidence calls for, classify, and assemble the report. Shared by the CLI, the demo and the
//! tests; it neither prints nor exits.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::chain::{self, Candidate, ChainAnalysis, PathEnd, Source, gather};
use crate::classify::{self, Context};
use crate::evidence::TlsVersion;
use crate::evidence::{Backend, Closer, Evidence, Failure};
use crate::evidence::{FollowUpPlan, FollowUps, MqttVersionProbe};
use crate::inputs::LoadedInputs;
use crate::model::{
    BackendReport, DiagnoseReport, Inputs, Meta, SCHEMA_VERSION, TargetInfo, Tool,
    explain_disagreement,
};
use crate::probe::{ProbeRequest, Prober};

/// How many issuers the analysis may download one after another (leaf → intermediate → ...).
const AIA_ROUNDS: usize = 3;
/// The longest an AIA download may take, whatever the probe timeout.
const AIA_DEADLINE: Duration = Duration::from_secs(3);

/// Probes `request` with `backends` and returns the full report (certificates expiring within
/// the default `--warn-days` are warnings).
pub async fn diagnose(
    request: ProbeRequest,
    inputs: &LoadedInputs,
    backends: &[Backend],
) -> DiagnoseReport {
    diagnose_warn_days(request, inputs, backends, classify::DEFAULT_WARN_DAYS).await
}

/// [`diagnose`] with `--warn-days`: a certificate on the path (or the client certificate) that
/// expires within `warn_days` of the probe's clock is a `cert_expires_soon` warning.
pub async fn diagnose_warn_days(
    request: ProbeRequest,
    inputs: &LoadedInputs,
    backends: &[Backend],
    warn_days: u32,
) -> DiagnoseReport {
    let started = Instant::now();
    // The probes verify at this instant too, so the verdicts and the backends agree on it.
    let checked_at = request.verify_at.unwrap_or_else(unix_now);
    let prober = Arc::new(Prober::new(request, &inputs.tls));
    let plain_target = prober.request().target.is_plain();
    // One task per backend, so the two handshakes really run in parallel on two cores.
    let tasks: Vec<_> = backends
        .iter()
        .map(|&b| {
            let prober = Arc::clone(&prober);
            (
                b,
                tokio::spawn(async move {
                    if plain_target {
                        prober.probe_plain_evidence(b).await
                    } else {
                        prober.probe(b).await
                    }
                }),
            )
        })
        .collect();
    let mut evidence = Vec::with_capacity(tasks.len());
    for (backend, task) in tasks {
        evidence.push(task.await.unwrap_or_else(|e| {
            // A panic in a probe is a bug; it still ends as evidence, not as a crash.
            let mut ev = Evidence::new(backend, String::new());
            ev.failure = Some(crate::evidence::Failure::Other);
            ev.raw_error = Some(format!("internal error: the probe task failed: {e}"));
            ev
        }));
    }
    for ev in &evidence {
        tracing::debug!(
            backend = %ev.backend,
            phase = ev.phase.name(),
            failure = ?ev.failure,
            raw_error = ev.raw_error.as_deref().unwrap_or(""),
            chain = ev.peer_chain.len(),
            elapsed_ms = ev.elapsed_ms,
            "probe finished"
        );
    }
    let request = prober.request();
    let plan = if plain_target {
        classify::plan_plain_follow_ups(&evidence)
    } else {
        let mut plan = classify::plan_follow_ups(
            &evidence,
            request.sni.as_deref(),
            &request.expect_name,
            request.mqtt.version,
        );
        // A handshake the user pinned to some versions may have failed for that alone, alert or
        // not: ask the broker which versions it speaks.
        plan.versions |= !request.tls_versions.is_empty()
            && evidence.iter().any(|e| {
                e.phase == crate::evidence::Phase::Tls
                    && e.tls.version.is_none()
                    && e.failure.is_some()
                    && e.client_cert_requested != Some(true)
            });
        plan
    };
    if !plan.is_empty() {
        tracing::debug!(
            ?plan,
            "follow-up probes planned from the first round's evidence"
        );
    }
    let following = Instant::now();
    let follow_ups = run_follow_ups(&prober, &plan).await;
    if !plan.is_empty() {
        tracing::debug!(
            elapsed_ms = following.elapsed().as_secs_f64() * 1000.0,
            "follow-up probes finished"
        );
    }
    let analysing = Instant::now();
    let chain = analyse_chain(&evidence, inputs, request.timeout).await;
    if let Some(a) = &chain {
        tracing::debug!(
            end = ?a.end,
            path = %a.describe_path(),
            searched = ?a.searched,
            elapsed_ms = analysing.elapsed().as_secs_f64() * 1000.0,
            "chain analysed"
        );
    }
    let mut report = assemble(
        request, inputs, evidence, follow_ups, chain, started, checked_at, warn_days,
    );
    report.meta.client_ports = prober.client_ports();
    report
}

/// The chain analysis of what the broker sent: with the CA file(s) only when the chain was
/// accepted (for warnings), with every other candidate when a backend refused it, and with
/// the AIA caIssuers downloads when the path still stops at an issuer found nowhere.
pub async fn analyse_chain(
    evidence: &[Evidence],
    inputs: &LoadedInputs,
    timeout: Duration,
) -> Option<ChainAnalysis> {
    let broker = &evidence
        .iter()
        .find(|e| !e.peer_chain_der.is_empty())?
        .peer_chain_der;
    let refused = evidence
        .iter()
        .any(|e| matches!(e.failure, Some(Failure::CertRejected { .. })));
    let mut pool = inputs.chain_pool(broker, refused);
    let mut analysis = chain::analyse(&pool)?;
    let mut fetched: Vec<String> = Vec::new();
    // Each round may find an issuer that names the next URL (leaf → intermediate → ...).
    for _ in 0..AIA_ROUNDS {
        if !refused || inputs.paths.offline {
            break;
        }
        let PathEnd::IssuerNotFound { .. } = analysis.end else {
            break;
        };
        let urls: Vec<String> = analysis
            .top()
            .map(|t| t.ca_issuers.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|u| !fetched.contains(u))
            .take(2)
            .collect();
        if urls.is_empty() {
            break;
        }
        for url in urls {
            tracing::debug!(%url, "downloading the missing issuer from its AIA caIssuers URL");
            match gather::fetch_aia(&url, timeout.min(AIA_DEADLINE)).await {
                Ok(certs) => pool.add_place(
                    format!("the AIA caIssuers URL {url}"),
                    certs
                        .into_iter()
                        .map(|der| Candidate {
                            der,
                            source: Source::Aia { url: url.clone() },
                        })
                        .collect(),
                ),
                Err(e) => pool.note(format!("the AIA caIssuers URL {url} ({e})")),
            }
            fetched.push(url);
        }
        analysis = chain::analyse(&pool)?;
    }
    Some(analysis)
}

/// [`diagnose`] bounded by `deadline` for the whole target, follow-ups included (a fleet scan's
/// per-host deadline). When it expires, every backend's evidence says so and the diagnosis is
/// `unclassified` with that reason: the probes that ran out of time left no evidence to judge.
pub async fn diagnose_within(
    request: ProbeRequest,
    inputs: &LoadedInputs,
    backends: &[Backend],
    deadline: Duration,
    warn_days: u32,
) -> (DiagnoseReport, bool) {
    let started = Instant::now();
    let checked_at = request.verify_at.unwrap_or_else(unix_now);
    let probing = diagnose_warn_days(request.clone(), inputs, backends, warn_days);
    if let Ok(report) = tokio::time::timeout(deadline, probing).await {
        return (report, false);
    }
    let evidence = backends
        .iter()
        .map(|&backend| {
            let mut ev = Evidence::new(backend, crate::probe::library(backend));
            ev.failure = Some(Failure::Other);
            ev.closed_by = Some(Closer::Client);
            ev.raw_error = Some(format!(
                "no verdict within the per-host deadline of {} s",
                deadline.as_secs_f64()
            ));
            ev
        })
        .collect();
    let report = assemble(
        &request,
        inputs,
        evidence,
        FollowUps::default(),
        None,
        started,
        checked_at,
        warn_days,
    );
    (report, true)
}

/// Classifies the evidence of every backend and builds the report.
#[allow(clippy::too_many_arguments)]
fn assemble(
    request: &ProbeRequest,
    inputs: &LoadedInputs,
    evidence: Vec<Evidence>,
    follow_ups: FollowUps,
    chain: Option<ChainAnalysis>,
    started: Instant,
    checked_at: i64,
    warn_days: u32,
) -> DiagnoseReport {
    let plain_target = request.target.is_plain();
    let target = request.target.authority();
    let cx = Context {
        target: &target,
        expect_name: &request.expect_name,
        sni: request.sni.as_deref(),
        trust: &inputs.trust,
        client_cert: inputs.client_cert.as_ref(),
        identity_problem: inputs.identity_problem.as_ref(),
        sent_username: request.mqtt.username.is_some(),
        plain: plain_target,
        checked_at,
        all: &evidence,
        offered_versions: &request.tls_versions,
        follow_ups: &follow_ups,
        chain: chain.as_ref(),
        warn_days,
    };
    let verdicts: Vec<_> = evidence
        .iter()
        .map(|ev| classify::classify(ev, &cx))
        .collect();
    let backends: Vec<BackendReport> = evidence
        .into_iter()
        .zip(verdicts)
        .map(|(ev, v)| BackendReport::new(ev, v))
        .collect();
    let disagreement = explain_disagreement(&backends);
    DiagnoseReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        target: TargetInfo {
            host: request.target.host.clone(),
            port: request.target.port,
            sni: request.sni.clone(),
            expect_name: request.expect_name.clone(),
            scheme: request.target.scheme.name().to_string(),
            mqtt_version: request.mqtt.version.name().to_string(),
            path: request.target.ws_path().map(str::to_string),
        },
        inputs: Inputs {
            trust: inputs.trust.clone(),
            client_cert: inputs.client_cert.clone(),
            identity_problem: inputs.identity_problem.clone(),
        },
        agreement: disagreement.is_none(),
        disagreement,
        backends,
        follow_ups,
        chain,
        meta: Meta {
            checked_at: crate::x509::rfc3339(checked_at),
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            client_ports: Vec::new(),
        },
    }
}

/// Runs the planned follow-up probes concurrently; each is bounded by the request's timeout,
/// so together they add at most one timeout to the command.
async fn run_follow_ups(prober: &Arc<Prober>, plan: &FollowUpPlan) -> FollowUps {
    if plan.is_empty() {
        return FollowUps::default();
    }
    let plain = plan.plain.then(|| {
        let p = Arc::clone(prober);
        tokio::spawn(async move { p.probe_plain().await })
    });
    let versions: Vec<_> = if plan.versions {
        TlsVersion::ALL
            .iter()
            .map(|&v| {
                let p = Arc::clone(prober);
                tokio::spawn(async move { p.probe_handshake(Some(v), None).await })
            })
            .collect()
    } else {
        Vec::new()
    };
    let sni = plan.sni.clone().map(|sni| {
        let p = Arc::clone(prober);
        tokio::spawn(async move { p.probe_handshake(None, sni).await })
    });
    let tls = plan.tls.then(|| {
        let p = Arc::clone(prober);
        let sni = p.request().sni.clone();
        tokio::spawn(async move { p.probe_handshake(None, sni).await })
    });
    let mqtt_version = plan.mqtt_version.map(|version| {
        let p = Arc::clone(prober);
        tokio::spawn(async move {
            let ev = p.probe_mqtt_version(Backend::Openssl, version).await;
            MqttVersionProbe {
                version: version.name().to_string(),
                detail: ev
                    .connack
                    .is_none()
                    .then(|| ev.raw_error.clone().unwrap_or_default()),
                connack: ev.connack,
            }
        })
    });
    let psk = plan.psk.then(|| {
        let p = Arc::clone(prober);
        tokio::spawn(async move { p.probe_psk().await })
    });
    let direct_mqtt = plan.direct_mqtt.then(|| {
        let p = Arc::clone(prober);
        tokio::spawn(async move { p.probe_direct_mqtt().await })
    });
    let upgrades = (!plan.upgrades.is_empty()).then(|| {
        let p = Arc::clone(prober);
        let upgrades = plan.upgrades.clone();
        tokio::spawn(async move { p.probe_upgrades(&upgrades).await })
    });
    let mut out = FollowUps::default();
    if let Some(task) = psk {
        out.psk = task.await.ok();
    }
    if let Some(task) = direct_mqtt {
        out.direct_mqtt = task.await.ok();
    }
    if let Some(task) = upgrades {
        out.websocket = task.await.unwrap_or_default();
    }
    if let Some(task) = mqtt_version {
        out.mqtt_version = task.await.ok();
    }
    if let Some(task) = plain {
        out.plain_connect = task.await.ok();
    }
    for task in versions {
        if let Ok(probe) = task.await {
            out.versions.push(probe);
        }
    }
    if let Some(task) = sni {
        out.sni = task.await.ok();
    }
    if let Some(task) = tls {
        out.tls = task.await.ok();
    }
    out
}

/// The clock the verdicts use, UNIX seconds (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
