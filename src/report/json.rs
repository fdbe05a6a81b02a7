//! JSON output: the document `reports/schema.json` describes, pretty-printed, with a trailing
//! newline.

use std::io::{self, Write};

use super::DiagnoseReport;

/// Writes the report as pretty JSON.
pub fn render(report: &DiagnoseReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}
