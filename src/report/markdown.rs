//! Markdown output (GitHub-flavoured): the backends side by side, the chain, the diagnoses.

use std::io::{self, Write};

use super::{DiagnoseReport, Outcome};

/// Writes the report as Markdown.
pub fn render(report: &DiagnoseReport, out: &mut dyn Write) -> io::Result<()> {
    let t = &report.target;
    writeln!(out, "# mqtls diagnose `{}:{}`\n", t.host, t.port)?;
    writeln!(
        out,
        "SNI `{}`, name checked `{}`, MQTT {}, trust: {}\n",
        t.sni.as_deref().unwrap_or("none"),
        t.expect_name,
        t.mqtt_version,
        cell(&report.inputs.trust.describe())
    )?;
    write!(out, "| |")?;
    for b in &report.backends {
        write!(out, " {} |", b.backend)?;
    }
    writeln!(out)?;
    writeln!(out, "|---|{}", "---|".repeat(report.backends.len()))?;
    let rows: [(&str, super::text::RowFn); 6] = [
        ("outcome", |b| match b.outcome {
            Outcome::Ok => "✅ ok".into(),
            Outcome::Failed => format!("❌ `{}`", b.diagnosis.code),
            Outcome::NotSupported => "➖ not supported by this stack".into(),
        }),
        ("library", |b| b.library.clone()),
        ("phase", |b| b.phase.name().to_string()),
        ("TLS", |b| {
            format!(
                "{} {}",
                b.tls.version.as_deref().unwrap_or("—"),
                b.tls.cipher.as_deref().unwrap_or("")
            )
        }),
        ("CONNACK", |b| {
            b.connack
                .as_ref()
                .map_or("—".into(), |a| format!("{} {}", a.code, a.reason))
        }),
        ("warnings", |b| {
            b.warnings
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    ];
    for (name, value) in rows {
        write!(out, "| {name} |")?;
        for b in &report.backends {
            write!(out, " {} |", cell(&value(b)))?;
        }
        writeln!(out)?;
    }
    if let Some(chain) = report.common_chain() {
        writeln!(out, "\n## Certificate chain presented\n")?;
        writeln!(out, "| # | subject | issuer | valid until | SAN | key |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for (i, c) in chain.iter().enumerate() {
            writeln!(
                out,
                "| {i} | {} | {} | {} | {} | {} |",
                cell(&c.subject),
                cell(&c.issuer),
                cell(&c.not_after),
                cell(&c.sans.join(", ")),
                cell(&c.key)
            )?;
        }
    }
    if let Some(why) = &report.disagreement {
        writeln!(out, "\n> ⚡ **rustls and OpenSSL disagree:** {why}")?;
    }
    for (backends, d) in report.distinct_diagnoses() {
        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
        writeln!(
            out,
            "\n## `{}` ({})\n\n{}\n",
            d.code,
            names.join(", "),
            d.summary
        )?;
        if let Some(doubt) = d.uncertainty() {
            writeln!(out, "*{doubt}*\n")?;
        }
        for fact in report.facts_for(&backends, d) {
            writeln!(out, "- {fact}")?;
        }
        if !d.remedies.is_empty() {
            writeln!(out, "\n**Fix**\n")?;
            for r in &d.remedies {
                writeln!(out, "- {r}")?;
            }
        }
    }
    for (backends, w) in report.distinct_warning_facts() {
        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
        writeln!(out, "\n## ⚠ Warning `{}` ({})\n", w.code, names.join(", "))?;
        for fact in &w.facts {
            writeln!(out, "- {fact}")?;
        }
    }
    Ok(())
}

/// Escapes a value for a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}
