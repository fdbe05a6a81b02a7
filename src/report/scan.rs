//! Renderers of `mqtls scan`: the summary by diagnosis code (stderr at the end of a scan) and
//! the Markdown table of merged scan outputs. Pure over [`ScanSummary`] and [`ScanMerge`].

use std::io::{self, Write};

use crate::evidence::Backend;
use crate::model::scan::{ScanMerge, ScanSummary};

/// The summary a scan ends with: totals, then one line per code, most frequent first.
pub fn render_summary(summary: &ScanSummary, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "scan: {} host(s), {} ok, {} with a problem",
        summary.hosts, summary.ok, summary.problem
    )?;
    if summary.deadline_exceeded > 0 {
        write!(
            out,
            " ({} past the per-host deadline)",
            summary.deadline_exceeded
        )?;
    }
    writeln!(out)?;
    for (code, hosts) in by_frequency(summary) {
        writeln!(out, "  {hosts:>6}  {code}")?;
    }
    render_expiries(summary, out)
}

/// How many hosts the summary lists by expiry; the rest are counted.
const EXPIRIES_SHOWN: usize = 10;

/// The hosts by the certificate that expires first, soonest first, with the days left.
fn render_expiries(summary: &ScanSummary, out: &mut dyn Write) -> io::Result<()> {
    if summary.expiries.is_empty() {
        return Ok(());
    }
    writeln!(out, "earliest certificate expiry, soonest first:")?;
    for e in summary.expiries.iter().take(EXPIRIES_SHOWN) {
        writeln!(
            out,
            "  {:>6} days  {}  {} {} (notAfter {})",
            e.days_left,
            e.input,
            e.certificate,
            e.subject,
            crate::x509::rfc3339(e.not_after_unix)
        )?;
    }
    if summary.expiries.len() > EXPIRIES_SHOWN {
        writeln!(
            out,
            "  … {} more host(s) in the JSON lines",
            summary.expiries.len() - EXPIRIES_SHOWN
        )?;
    }
    Ok(())
}

/// The merged table: the summary by code, then one row per host.
pub fn render_markdown(merge: &ScanMerge, out: &mut dyn Write) -> io::Result<()> {
    let s = &merge.summary;
    writeln!(out, "# mqtls scan\n")?;
    writeln!(
        out,
        "{} host(s): {} ok, {} with a problem.\n",
        s.hosts, s.ok, s.problem
    )?;
    writeln!(out, "| code | hosts |\n|---|---:|")?;
    for (code, hosts) in by_frequency(s) {
        writeln!(out, "| `{code}` | {hosts} |")?;
    }
    if !s.expiries.is_empty() {
        writeln!(
            out,
            "\nEarliest certificate expiry, soonest first:\n\n| host | days left | certificate | notAfter |\n|---|---:|---|---|"
        )?;
        for e in &s.expiries {
            writeln!(
                out,
                "| {} | {} | {} {} | {} |",
                cell(&e.input),
                e.days_left,
                e.certificate,
                cell(&e.subject),
                crate::x509::rfc3339(e.not_after_unix)
            )?;
        }
    }
    let backends: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|b| merge.hosts.iter().any(|h| h.codes.contains_key(b)))
        .collect();
    write!(out, "\n| host |")?;
    for b in &backends {
        write!(out, " {b} |")?;
    }
    write!(out, " summary |\n|---|")?;
    for _ in &backends {
        write!(out, "---|")?;
    }
    writeln!(out, "---|")?;
    for host in &merge.hosts {
        write!(out, "| {} |", cell(&host.input))?;
        for b in &backends {
            match host.codes.get(b) {
                Some(code) => write!(out, " `{code}` |")?,
                None => write!(out, " |")?,
            }
        }
        writeln!(out, " {} |", cell(&host.summary))?;
    }
    Ok(())
}

/// Codes by number of hosts, most first, then by code.
fn by_frequency(summary: &ScanSummary) -> Vec<(crate::classify::DiagnosisCode, usize)> {
    let mut codes: Vec<_> = summary.by_code.iter().map(|(c, n)| (*c, *n)).collect();
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    codes
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
