//! The renderers, one module per format, over the models of `crate::model`.
//!
//! Renderers are pure: `fn render(report, out) -> io::Result<()>` over the serialisable
//! model, no I/O besides writing to `out`, no clock. Time-varying values (timings, the clock
//! used) are in the model so that tests can redact them.

pub mod codes;
pub mod explain;
pub mod inspect;
pub mod json;
pub mod markdown;
pub mod openmetrics;
pub mod scan;
pub mod schema;
pub mod suite;
pub mod text;

use std::io::{self, Write};

pub use crate::evidence::FollowUps;
pub use crate::model::diagnose::{
    AlertInfo, Alerts, BackendReport, DiagnoseReport, Inputs, Meta, Outcome, SCHEMA_VERSION,
    TargetInfo, Tool, explain_disagreement,
};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables and text for a terminal.
    Text,
    /// The JSON document `reports/schema.json` describes.
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
}

/// The formats of `diagnose`: [`Format`]'s and a Prometheus exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnoseFormat {
    /// Tables and text for a terminal.
    Text,
    /// The JSON document `reports/schema.json` describes.
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// A Prometheus text exposition (blackbox_exporter's names) for node_exporter's textfile
    /// collector.
    Openmetrics,
}

/// Options that change how text is drawn, never what it says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Use ANSI colours: `--color`, or in auto mode what anstream reads (a terminal, NO_COLOR,
    /// CLICOLOR, CLICOLOR_FORCE).
    pub color: bool,
}

/// Renders a diagnose report in the chosen format.
pub fn render(
    format: Format,
    report: &DiagnoseReport,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, style, out),
        Format::Json => json::render(report, out),
        Format::Markdown => markdown::render(report, out),
    }
}

#[cfg(test)]
mod tests;
