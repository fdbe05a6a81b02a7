//! The model of a `scan`: one JSON line per host (a `diagnose` document plus where it came
//! from), the totals, and the merge of several scan outputs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::diagnose::{DiagnoseReport, Outcome, SCHEMA_VERSION};
use crate::classify::DiagnosisCode;
use crate::evidence::Backend;

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

/// The merge of scan outputs: one row per host (the last line seen for an input wins), sorted
/// by input, and the summary recounted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScanMerge {
    /// The document version, the same as `diagnose`'s.
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
        schema_version: SCHEMA_VERSION,
        summary,
        hosts: rows,
    }
}
