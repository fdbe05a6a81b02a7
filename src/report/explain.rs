//! Renders `explain`'s readings and `explain --log`'s groups, as text or JSON.

use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::model::explain::{Explanation, LogReport, RejectedBy};

/// Renders an explanation for a terminal.
pub fn render_text(explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    if explanation.matches.is_empty() {
        writeln!(out, "mqtls does not recognise this message.")?;
        writeln!(
            out,
            "Probe the broker instead; it names the cause from what both TLS stacks see:"
        )?;
        writeln!(out, "  mqtls diagnose mqtts://HOST:8883 --cafile ca.crt")?;
        return Ok(());
    }
    let many = explanation.matches.len() > 1;
    if many {
        writeln!(
            out,
            "{} possible readings, most likely first:",
            explanation.matches.len()
        )?;
    }
    for (i, m) in explanation.matches.iter().enumerate() {
        if many {
            writeln!(out)?;
            write!(out, "{}. ", i + 1)?;
        }
        writeln!(out, "{} ({})", m.code, m.stack)?;
        writeln!(out, "  matched:  {}", m.matched)?;
        writeln!(out, "  rejected: {}", side_sentence(m.rejected_by))?;
        writeln!(out, "  meaning:  {}", m.meaning)?;
        for step in &m.next_steps {
            writeln!(out, "  check:    {step}")?;
        }
        if many {
            writeln!(out, "  tell:     {}", m.tell_apart)?;
        }
        writeln!(out, "  confirm:  {}", m.confirm)?;
    }
    Ok(())
}

/// Renders an explanation as pretty JSON with a trailing newline.
pub fn render_json(explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, explanation).map_err(io::Error::other)?;
    writeln!(out)
}

fn side_sentence(side: RejectedBy) -> &'static str {
    match side {
        RejectedBy::Local => {
            "local: the program that printed this refused its peer (its own check failed)"
        }
        RejectedBy::Peer => {
            "peer: the other side refused (an alert or a CONNACK refusal was received)"
        }
        RejectedBy::None => "none: nobody refused anything; the connection itself failed",
    }
}

/// Renders a log report for a terminal.
pub fn render_log_text(report: &LogReport, out: &mut dyn Write) -> io::Result<()> {
    if report.groups.is_empty() {
        writeln!(
            out,
            "No TLS failures recognised in {} lines. To probe the broker directly:",
            report.lines
        )?;
        writeln!(out, "  mqtls diagnose mqtts://HOST:8883 --cafile ca.crt")?;
        return Ok(());
    }
    let clients: BTreeSet<&str> = report.groups.iter().map(|g| g.client.as_str()).collect();
    writeln!(
        out,
        "{} failures from {} client address(es), in {} lines:",
        report.failures,
        clients.len(),
        report.lines
    )?;
    for g in &report.groups {
        writeln!(out)?;
        writeln!(
            out,
            "{}  x{}  {} (rejected by {}, {})",
            g.client,
            g.count,
            g.code,
            g.rejected_by.as_str(),
            g.stack
        )?;
        writeln!(out, "  meaning: {}", g.meaning)?;
        writeln!(out, "  example: {}", g.example)?;
    }
    Ok(())
}

/// Renders a log report as pretty JSON with a trailing newline.
pub fn render_log_json(report: &LogReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}
