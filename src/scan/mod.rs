//! `mqtls scan`: diagnose a fleet of brokers with bounded concurrency and a deadline per host.
//!
//! Each host gets the whole `diagnose` (both backends, follow-ups), and its result is handed to
//! the caller as soon as it finishes, so `app` can stream one JSON line per host. The CA files and
//! client identities are parsed once per distinct set of files before the first probe, so a bad
//! file stops the scan (exit code 2) before any output. Nothing here prints.

pub mod targets;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::error::Error;
use crate::evidence::Backend;
use crate::evidence::TlsVersion;
use crate::inputs::{InputPaths, LoadedInputs, LoadedOnce};
pub use crate::model::scan::{
    HostExpiry, HostResult, HostRow, ScanInfo, ScanMerge, ScanSummary, merge,
};
use crate::probe::ProbeRequest;
use crate::probe::mqtt::ConnectSettings;
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
