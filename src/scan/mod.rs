//! `mqtls scan`: diagnose a fleet of brokers with bounded concurrency and a deadline per host.
//!
//! Each host gets the whole `diagnose` (both backends, follow-ups), and its result is handed to
//! the caller as soon as it finishes, so `app` can stream one JSON line per host. The CA files and
//! client identities are parsed once per distinct set of files before the first probe, so a bad
//! file stops the scan (exit code 2) before any output. Nothing here prints.

pub mod targets;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::classify::DiagnosisCode;
use crate::error::Error;
use crate::evidence::Backend;
use crate::inputs::{InputPaths, LoadedInputs, LoadedOnce};
use crate::probe::mqtt::ConnectSettings;
use crate::probe::{ProbeRequest, TlsVersion};
use crate::report::{DiagnoseReport, Outcome};
use crate::target::Target;
pub use targets::{HostEntry, Partition, TargetsError};

/// The probe settings every host shares (the validated `diagnose` flags).
#[derive(Debug, Clone)]
pub struct ProbeTemplate {
    /// Versions to offer; empty: the backends' defaults.
    pub tls_versions: Vec<TlsVersion>,
    /// ALPN protocols to offer.
    pub alpn: Vec<String>,
    /// The CONNECT.
    pub mqtt: ConnectSettings,
    /// Deadline of each phase.
    pub timeout: Duration,
    /// `--at`: verify and judge at this instant (Unix seconds) instead of now.
    pub verify_at: Option<i64>,
}

impl ProbeTemplate {
    /// The request for one target; `expect_name` defaults to the host.
    pub fn request(
        &self,
        target: Target,
        sni: Option<String>,
        expect_name: Option<String>,
    ) -> ProbeRequest {
        ProbeRequest {
            expect_name: expect_name.unwrap_or_else(|| target.host.clone()),
            target,
            sni,
            tls_versions: self.tls_versions.clone(),
            alpn: self.alpn.clone(),
            mqtt: self.mqtt.clone(),
            timeout: self.timeout,
            verify_at: self.verify_at,
        }
    }
}

/// What to scan.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// The targets file (named in errors about its rows).
    pub targets_file: PathBuf,
    /// The hosts (already reduced to this partition).
    pub hosts: Vec<HostEntry>,
    /// The partition the hosts were chosen by, recorded in each line.
    pub partition: Option<Partition>,
    /// Shared probe settings.
    pub template: ProbeTemplate,
    /// Backends to probe with.
    pub backends: Vec<Backend>,
    /// The command line's files, for hosts whose CSV row names none.
    pub defaults: InputPaths,
    /// Hosts in flight at once.
    pub jobs: usize,
    /// Deadline of each host, follow-ups included.
    pub deadline: Duration,
    /// `--warn-days`.
    pub warn_days: u32,
}

/// Where a JSON line came from: what a merge needs beyond the `diagnose` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScanInfo {
    /// The target as written in the targets file (the host's identity across partitions).
    pub input: String,
    /// Its line in the targets file.
    pub line: usize,
    /// `K/N` when the scan ran one partition.
    pub partition: Option<String>,
    /// True when the per-host deadline cut the probes short.
    pub deadline_exceeded: bool,
}

/// One host's result: a `diagnose --format json` document plus a `scan` object.
#[derive(Debug, Clone, PartialEq)]
pub struct HostResult {
    /// Where it came from.
    pub scan: ScanInfo,
    /// The diagnosis.
    pub report: DiagnoseReport,
}

impl HostResult {
    /// The JSON line (no newline): the `diagnose` document, in its own key order, with
    /// `"scan"` added as the last key.
    pub fn to_json_line(&self) -> serde_json::Result<String> {
        let mut line = serde_json::to_string(&self.report)?;
        // The document is a JSON object, so it ends with `}`: reopen it for one more key.
        line.pop();
        line.push_str(",\"scan\":");
        line.push_str(&serde_json::to_string(&self.scan)?);
        line.push('}');
        Ok(line)
    }

    /// Reads a line written by [`HostResult::to_json_line`].
    pub fn from_json_line(line: &str) -> Result<HostResult, String> {
        let mut value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let scan = value
            .as_object_mut()
            .and_then(|m| m.remove("scan"))
            .ok_or("no \"scan\" object: not a line of `mqtls scan`")?;
        Ok(HostResult {
            scan: serde_json::from_value(scan).map_err(|e| format!("scan: {e}"))?,
            report: serde_json::from_value(value).map_err(|e| e.to_string())?,
        })
    }

    /// The distinct diagnosis codes of its backends.
    pub fn codes(&self) -> BTreeSet<DiagnosisCode> {
        self.report
            .backends
            .iter()
            .map(|b| b.diagnosis.code)
            .collect()
    }
}

/// Hosts counted by outcome and by diagnosis code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScanSummary {
    /// Hosts probed.
    pub hosts: usize,
    /// Hosts where every backend connected.
    pub ok: usize,
    /// Hosts with at least one diagnosed problem.
    pub problem: usize,
    /// Hosts whose per-host deadline expired.
    pub deadline_exceeded: usize,
    /// For each code, the hosts where at least one backend got it (sorted by code).
    pub by_code: BTreeMap<DiagnosisCode, usize>,
    /// Per host that showed certificates, the one that expires first, soonest first.
    #[serde(default)]
    pub expiries: Vec<HostExpiry>,
}

/// The certificate of one host that expires first (its path or its client certificate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HostExpiry {
    /// The target as written in the targets file.
    pub input: String,
    /// "server certificate", "intermediate", "trust anchor" or "client certificate".
    pub certificate: String,
    /// Its subject.
    pub subject: String,
    /// Its notAfter, Unix seconds.
    pub not_after_unix: i64,
    /// Whole days from the scan's clock to notAfter (negative: expired).
    pub days_left: i64,
}

impl HostExpiry {
    /// The host's earliest expiry, judged at the report's clock.
    pub fn of(input: &str, report: &DiagnoseReport) -> Option<HostExpiry> {
        let (not_after_unix, certificate, subject) = report.earliest_expiry()?;
        let checked_at = time::OffsetDateTime::parse(
            &report.meta.checked_at,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()?
        .unix_timestamp();
        Some(HostExpiry {
            input: input.to_string(),
            certificate: certificate.to_string(),
            subject: subject.to_string(),
            not_after_unix,
            days_left: (not_after_unix - checked_at).div_euclid(86_400),
        })
    }
}

impl ScanSummary {
    /// Counts one host.
    pub fn add(&mut self, host: &HostResult) {
        self.hosts += 1;
        if host.report.all_ok() {
            self.ok += 1;
        } else {
            self.problem += 1;
        }
        if host.scan.deadline_exceeded {
            self.deadline_exceeded += 1;
        }
        for code in host.codes() {
            *self.by_code.entry(code).or_default() += 1;
        }
        if let Some(expiry) = HostExpiry::of(&host.scan.input, &host.report) {
            let at = self.expiries.partition_point(|e| {
                (e.not_after_unix, e.input.as_str())
                    <= (expiry.not_after_unix, expiry.input.as_str())
            });
            self.expiries.insert(at, expiry);
        }
    }
}

/// Probes every host, at most `jobs` at once, and calls `on_host` as each finishes (in
/// completion order). Fails only on a file that cannot be read (before any probe) or when
/// `on_host` fails (the output cannot be written).
pub async fn scan(
    config: ScanConfig,
    mut on_host: impl FnMut(&HostResult) -> std::io::Result<()>,
) -> Result<ScanSummary, Error> {
    let loaded = load_inputs_once(&config)?;
    let partition = config.partition.map(|p| p.to_string());
    let backends: Arc<[Backend]> = config.backends.clone().into();
    let mut pending = config.hosts.into_iter().zip(loaded);
    let mut running = JoinSet::new();
    let mut summary = ScanSummary::default();
    loop {
        while running.len() < config.jobs.max(1) {
            let Some((host, inputs)) = pending.next() else {
                break;
            };
            let sni = host.sni.clone().or_else(|| host.target.default_sni());
            let request =
                config
                    .template
                    .request(host.target.clone(), sni, host.expect_name.clone());
            let backends = Arc::clone(&backends);
            let (deadline, partition) = (config.deadline, partition.clone());
            let warn_days = config.warn_days;
            running.spawn(async move {
                let (report, deadline_exceeded) = crate::diagnose::diagnose_within(
                    request, &inputs, &backends, deadline, warn_days,
                )
                .await;
                HostResult {
                    scan: ScanInfo {
                        input: host.input,
                        line: host.line,
                        partition,
                        deadline_exceeded,
                    },
                    report,
                }
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let host = done.map_err(|e| Error::Lab(format!("a scan task failed: {e}")))?;
        summary.add(&host);
        on_host(&host).map_err(Error::Output)?;
    }
    Ok(summary)
}

/// The merge of scan outputs: one row per host (the last line seen for an input wins), sorted
/// by input, and the summary recounted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScanMerge {
    /// Always [`crate::report::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Totals.
    pub summary: ScanSummary,
    /// One row per host, sorted by input.
    pub hosts: Vec<HostRow>,
}

/// A host in a merged scan report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HostRow {
    /// The target as written.
    pub input: String,
    /// Every backend connected.
    pub ok: bool,
    /// Per backend: its code.
    pub codes: BTreeMap<Backend, DiagnosisCode>,
    /// The first failing backend's one-sentence summary (empty when all connected).
    pub summary: String,
}

/// Merges the hosts of several scan outputs (e.g. one per partition).
pub fn merge(hosts: impl IntoIterator<Item = HostResult>) -> ScanMerge {
    let mut by_input: BTreeMap<String, HostResult> = BTreeMap::new();
    for host in hosts {
        by_input.insert(host.scan.input.clone(), host);
    }
    let mut summary = ScanSummary::default();
    let rows = by_input
        .into_values()
        .map(|host| {
            summary.add(&host);
            let failing = host
                .report
                .backends
                .iter()
                .find(|b| b.outcome == Outcome::Failed);
            HostRow {
                ok: host.report.all_ok(),
                codes: host
                    .report
                    .backends
                    .iter()
                    .map(|b| (b.backend, b.diagnosis.code))
                    .collect(),
                summary: failing.map_or(String::new(), |b| b.diagnosis.summary.clone()),
                input: host.scan.input,
            }
        })
        .collect();
    ScanMerge {
        schema_version: crate::report::SCHEMA_VERSION,
        summary,
        hosts: rows,
    }
}

/// The files a host uses: its CSV columns, else the command line's.
fn host_paths(host: &HostEntry, defaults: &InputPaths) -> InputPaths {
    let cafiles = if host.cafiles.is_empty() {
        defaults.cafiles.clone()
    } else {
        host.cafiles.clone()
    };
    let (cert, key) = match (&host.cert, &host.key) {
        (Some(cert), Some(key)) => (Some(cert.clone()), Some(key.clone())),
        _ => (defaults.cert.clone(), defaults.key.clone()),
    };
    InputPaths {
        cafiles,
        cert,
        key,
        key_password: defaults.key_password.clone(),
        untrusted: if host.untrusted.is_empty() {
            defaults.untrusted.clone()
        } else {
            host.untrusted.clone()
        },
        offline: defaults.offline,
        psk: host.psk.clone().or_else(|| defaults.psk.clone()),
    }
}

/// Each host's inputs, in host order, every distinct set of files parsed once for the whole
/// scan; a file named by a CSV row that cannot be read is reported at that row.
fn load_inputs_once(config: &ScanConfig) -> Result<Vec<Arc<LoadedInputs>>, Error> {
    let mut loaded = LoadedOnce::default();
    config
        .hosts
        .iter()
        .map(|host| {
            loaded
                .get_or_load(&host_paths(host, &config.defaults))
                .map_err(|e| match e {
                    Error::ReadFile { path, source, .. } if from_row(host, &path) => {
                        Error::Targets(TargetsError {
                            path: config.targets_file.clone(),
                            line: host.line,
                            reason: format!("cannot read {}: {source}", path.display()),
                        })
                    }
                    other => other,
                })
        })
        .collect()
}

fn from_row(host: &HostEntry, path: &std::path::Path) -> bool {
    host.cafiles.iter().any(|p| p == path)
        || host.cert.as_deref() == Some(path)
        || host.key.as_deref() == Some(path)
}
