//! The model of a `run`: each case on each broker, its verdict per backend, and the totals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::diagnose::{DiagnoseReport, SCHEMA_VERSION, Tool};
use crate::classify::DiagnosisCode;
use crate::evidence::Backend;

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
    pub fn from_results(
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
