//! Renders an inspect report: text for a person at a terminal, or JSON.

use std::io::{self, Write};

use crate::chain::ChainAnalysis;
use crate::chain::PathEnd;
use crate::model::inspect::{FileReport, InspectReport, Severity};
use crate::x509::CertSummary;
use crate::x509::ca_flag;

/// Writes the report for a person at a terminal (no colour).
pub fn render_text(r: &InspectReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "mqtls inspect (clock: {})", r.checked_at)?;
    match &r.ca_file {
        Some(ca) => write_file(out, "CA file", ca, |c| ca_role(c, &ca.certs))?,
        None => writeln!(out, "\nCA file: none given; the system trust store is used")?,
    }
    if let Some(server) = &r.server_cert {
        write_file(out, "Server certificate", server, |c| {
            leaf_role(c, &server.certs)
        })?;
    }
    if let Some(chain) = &r.server_chain {
        write_chain(out, chain)?;
    }
    if let Some(client) = &r.client_cert {
        write_file(out, "Client certificate", client, |c| {
            leaf_role(c, &client.certs)
        })?;
    }
    if !r.verification.is_empty() {
        writeln!(
            out,
            "\nOffline verification of the server chain (name checked: {})",
            r.name_checked.as_deref().unwrap_or("none")
        )?;
        for v in &r.verification {
            match &v.error {
                None => writeln!(out, "  {:<8} accepts", v.backend.name())?,
                Some(e) => writeln!(out, "  {:<8} rejects: {e}", v.backend.name())?,
            }
        }
    }
    if r.findings.is_empty() {
        writeln!(out, "\nNo problems found.")?;
        return Ok(());
    }
    writeln!(out, "\nFindings")?;
    for f in &r.findings {
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(out, "  {severity:<7} [{}] {}", f.code, f.message)?;
        for fact in &f.facts {
            writeln!(out, "          • {fact}")?;
        }
        if let Some(remedy) = &f.remedy {
            writeln!(out, "          → {remedy}")?;
        }
    }
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    writeln!(
        out,
        "\n{errors} error(s), {} warning(s)",
        r.findings.len() - errors
    )
}

pub(super) fn write_file(
    out: &mut dyn Write,
    title: &str,
    file: &FileReport,
    role: impl Fn(&CertSummary) -> String,
) -> io::Result<()> {
    writeln!(
        out,
        "\n{title} {}: {} certificate(s)",
        file.path,
        file.certs.len()
    )?;
    for (i, c) in file.certs.iter().enumerate() {
        writeln!(out, "  [{i}] {} — {}", c.subject, role(c))?;
        if c.version == 0 {
            continue;
        }
        writeln!(
            out,
            "      valid {} → {} · {} · {} · v{}",
            c.not_before, c.not_after, c.key, c.signature, c.version
        )?;
        let mut extras = Vec::new();
        if !c.sans.is_empty() {
            extras.push(format!("SAN {}", c.sans.join(", ")));
        }
        if !c.eku.is_empty() {
            extras.push(format!("EKU {}", c.eku.join(", ")));
        }
        extras.push(format!("CA:{}", ca_flag(c)));
        writeln!(out, "      {}", extras.join(" · "))?;
    }
    Ok(())
}

pub(super) fn ca_role(c: &CertSummary, all: &[CertSummary]) -> String {
    if c.self_signed && (c.is_ca() || c.version == 1) {
        "self-signed root CA".into()
    } else if c.self_signed {
        "self-signed end-entity certificate".into()
    } else if c.is_ca() {
        let held = all.iter().any(|x| x.issued(c) && x.sha256 != c.sha256);
        format!(
            "intermediate CA issued by {} ({})",
            c.issuer,
            if held {
                "in this file"
            } else {
                "not in this file"
            }
        )
    } else {
        format!("end-entity certificate issued by {} (not a CA)", c.issuer)
    }
}

pub(super) fn leaf_role(c: &CertSummary, all: &[CertSummary]) -> String {
    let first = all.first().is_some_and(|f| f.sha256 == c.sha256);
    match (first, c.self_signed, c.is_ca()) {
        (true, true, _) => "leaf, self-signed".into(),
        (true, false, _) => format!("leaf, issued by {}", c.issuer),
        (false, true, _) => "root CA".into(),
        (false, false, true) => format!("intermediate CA, issued by {}", c.issuer),
        (false, false, false) => format!("issued by {} (CA:{})", c.issuer, ca_flag(c)),
    }
}

pub(super) fn write_chain(out: &mut dyn Write, chain: &ChainAnalysis) -> io::Result<()> {
    writeln!(
        out,
        "\nChain (each issuer's key verifies the signature below it)"
    )?;
    for (i, link) in chain.path.iter().enumerate() {
        let arrow = if i == 0 { " " } else { "↑" };
        writeln!(out, "  {arrow} {} ({})", link.cert.subject, link.found_in())?;
    }
    let end = match &chain.end {
        PathEnd::Anchored { root: true } => "ends at a trusted root".to_string(),
        PathEnd::Anchored { root: false } => {
            "ends at a trust anchor that is not self-signed: rustls can stop there, OpenSSL looks for its issuer"
                .to_string()
        }
        PathEnd::UntrustedRoot => "ends at a root no trust anchor holds".to_string(),
        PathEnd::IssuerNotFound { issuer, .. } => format!(
            "stops: no certificate named {issuer} with a key that verifies the signature was found in {}",
            chain.searched.join(", ")
        ),
        PathEnd::TooLong => "stops: longer than mqtls follows".to_string(),
    };
    writeln!(out, "  {end}")?;
    for l in &chain.unused_sent {
        writeln!(
            out,
            "  not on the path: {} ({})",
            l.cert.subject,
            l.found_in()
        )?;
    }
    Ok(())
}

/// Writes the report as pretty JSON with a trailing newline.
pub fn render_json(r: &InspectReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r).map_err(io::Error::other)?;
    writeln!(out)
}
