//! The JSON Schema of every document mqtls writes (`diagnose`, `run`, `scan`, `inspect`, `explain`),
//! generated from the Rust types and committed at `reports/schema.json`; a test keeps the two
//! equal.

use crate::model::explain::{Explanation, LogReport};
use crate::model::inspect::InspectReport;
use crate::model::run::RunReport;
use crate::model::scan::{ScanInfo, ScanMerge};

use super::DiagnoseReport;

/// One of the documents, for the schema only: it is never serialised as such.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the documents; never constructed")]
enum Document {
    /// `mqtls diagnose --format json`.
    Diagnose(Box<DiagnoseReport>),
    /// `mqtls run --json`.
    Run(Box<RunReport>),
    /// One line of `mqtls scan`.
    ScanLine(Box<ScanLine>),
    /// `mqtls report --format json` over `mqtls scan` lines.
    ScanMerge(Box<ScanMerge>),
    /// `mqtls inspect --format json`.
    Inspect(Box<InspectReport>),
    /// `mqtls explain --format json`.
    Explain(Box<Explanation>),
    /// `mqtls explain --log FILE --format json`.
    ExplainLog(Box<LogReport>),
}

/// One line of `mqtls scan`: the `diagnose` document with a `scan` object added as its last
/// key. For the schema only.
#[derive(schemars::JsonSchema)]
#[expect(dead_code, reason = "describes the documents; never constructed")]
struct ScanLine {
    #[serde(flatten)]
    report: DiagnoseReport,
    /// Where the line came from.
    scan: ScanInfo,
}

/// The schema, pretty-printed with a trailing newline.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Document);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
