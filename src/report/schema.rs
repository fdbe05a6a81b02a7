//! The JSON Schema of every document mqtls writes (`diagnose`, `run`, `inspect`, `explain`),
//! generated from the Rust types and committed at `reports/schema.json`; a test keeps the two
//! equal.

use crate::explain::{Explanation, LogReport};
use crate::inspect::InspectReport;
use crate::run::RunReport;

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
    /// `mqtls inspect --format json`.
    Inspect(Box<InspectReport>),
    /// `mqtls explain --format json`.
    Explain(Box<Explanation>),
    /// `mqtls explain --log FILE --format json`.
    ExplainLog(Box<LogReport>),
}

/// The schema, pretty-printed with a trailing newline.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Document);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
