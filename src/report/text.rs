//! Terminal output: the backends side by side in a table, the chain the broker presented, then
//! each distinct diagnosis with its facts and remedies. Colour lives only here, and only when
//! the caller says stdout is a terminal.

use std::io::{self, Write};

use anstyle::AnsiColor;
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};

use super::{BackendReport, DiagnoseReport, Outcome, Style};
use crate::classify::DiagnosisCode;
use crate::x509::CertSummary;

/// How one row of the backend table is computed from one backend's report.
pub(super) type RowFn = fn(&BackendReport) -> String;

/// Table width: wide enough for chains, narrow enough for a laptop terminal and CI logs.
const WIDTH: u16 = 110;

/// Writes the report for a person at a terminal.
pub fn render(report: &DiagnoseReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    // A WebSocket target is shown as its URL: the scheme and path are part of what was probed.
    let ws_prefix = match &report.target.path {
        Some(_) => format!("{}://", report.target.scheme),
        None => String::new(),
    };
    writeln!(
        out,
        "{} {ws_prefix}{}:{}{} (SNI: {}, name checked: {}, MQTT {})",
        bold("mqtls diagnose", style),
        report.target.host,
        report.target.port,
        report.target.path.as_deref().unwrap_or(""),
        report.target.sni.as_deref().unwrap_or("none"),
        report.target.expect_name,
        report.target.mqtt_version,
    )?;
    writeln!(out, "trust: {}", report.inputs.trust.describe())?;
    writeln!(out, "{}", backend_table(report, style))?;
    if let Some(chain) = report.common_chain() {
        writeln!(
            out,
            "\n{}",
            bold("Certificate chain presented by the broker", style)
        )?;
        writeln!(out, "{}", chain_table(chain))?;
    } else {
        for b in report.backends.iter().filter(|b| !b.peer_chain.is_empty()) {
            writeln!(
                out,
                "\n{}",
                bold(&format!("Certificate chain seen by {}", b.backend), style)
            )?;
            writeln!(out, "{}", chain_table(&b.peer_chain))?;
        }
    }
    if let Some(why) = &report.disagreement {
        writeln!(
            out,
            "\n{} {why}",
            paint("⚡ rustls and OpenSSL disagree:", Color::Yellow, style)
        )?;
    }
    for (backends, diagnosis) in report.distinct_diagnoses() {
        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
        let color = if diagnosis.code == DiagnosisCode::Ok {
            Color::Green
        } else {
            Color::Red
        };
        writeln!(
            out,
            "\n{} {}",
            paint(
                &format!("[{}] {}", names.join(", "), diagnosis.code),
                color,
                style
            ),
            diagnosis.summary
        )?;
        if let Some(doubt) = diagnosis.uncertainty() {
            writeln!(out, "  ({doubt})")?;
        }
        for fact in report.facts_for(&backends, diagnosis) {
            writeln!(out, "  • {fact}")?;
        }
        if !diagnosis.remedies.is_empty() {
            writeln!(out, "  {}", bold("Fix:", style))?;
            for remedy in &diagnosis.remedies {
                writeln!(out, "  → {remedy}")?;
            }
        }
    }
    for (backends, warning) in report.distinct_warning_facts() {
        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
        writeln!(
            out,
            "\n{}",
            paint(
                &format!("⚠ [{}] warning {}", names.join(", "), warning.code),
                Color::Yellow,
                style
            )
        )?;
        for fact in &warning.facts {
            writeln!(out, "  • {fact}")?;
        }
    }
    Ok(())
}

fn backend_table(report: &DiagnoseReport, style: Style) -> Table {
    let mut table = new_table(style);
    let mut header = vec![Cell::new("")];
    header.extend(
        report
            .backends
            .iter()
            .map(|b| Cell::new(b.backend.name()).add_attribute(Attribute::Bold)),
    );
    table.set_header(header);
    let rows: [(&str, RowFn); 10] = [
        ("library", |b| b.library.clone()),
        ("reached", reached),
        ("timings", timings),
        ("TLS", |b| match (&b.tls.version, &b.tls.cipher) {
            (Some(v), Some(c)) => format!("{v} {c}"),
            (Some(v), None) => v.clone(),
            _ => "—".into(),
        }),
        ("ALPN", |b| b.tls.alpn.clone().unwrap_or_else(|| "—".into())),
        ("alerts", alerts),
        ("client cert", |b| {
            // The issuers the broker named in its request, if any.
            let from = if b.client_cert_ca_names.is_empty() {
                String::new()
            } else {
                format!(" (issued by {})", b.client_cert_ca_names.join(" or "))
            };
            match (b.client_cert_requested, b.client_cert_sent) {
                (Some(true), true) => format!("requested{from}, sent"),
                (Some(true), false) => format!("requested{from}, none sent"),
                (Some(false), _) => "not requested".into(),
                (None, true) => "sent".into(),
                (None, false) => "—".into(),
            }
        }),
        ("CONNACK", |b| {
            b.connack.as_ref().map_or("—".into(), |a| {
                format!("{} {} (MQTT {})", a.code, a.reason, a.mqtt_version)
            })
        }),
        ("chain", |b| {
            format!("{} certificate(s)", b.peer_chain.len())
        }),
        ("warnings", |b| {
            if b.warnings.is_empty() {
                "—".into()
            } else {
                b.warnings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }),
    ];
    let mut outcome = vec![Cell::new("outcome")];
    outcome.extend(report.backends.iter().map(|b| {
        let (text, color) = match b.outcome {
            Outcome::Ok => ("✔ ok".to_string(), Color::Green),
            Outcome::Failed => (format!("✘ {}", b.diagnosis.code), Color::Red),
            Outcome::NotSupported => ("– not supported by this stack".to_string(), Color::Yellow),
        };
        let cell = Cell::new(text).add_attribute(Attribute::Bold);
        if style.color { cell.fg(color) } else { cell }
    }));
    table.add_row(outcome);
    for (name, value) in rows {
        let mut row = vec![Cell::new(name)];
        row.extend(report.backends.iter().map(|b| Cell::new(value(b))));
        table.add_row(row);
    }
    table
}

fn chain_table(chain: &[CertSummary]) -> Table {
    let mut table = new_table(Style::default());
    table.set_header(vec![
        "#",
        "subject / issuer",
        "valid",
        "SAN",
        "key / signature",
    ]);
    for (i, c) in chain.iter().enumerate() {
        let ca = match c.ca {
            Some(true) => ", CA",
            _ => "",
        };
        table.add_row(vec![
            Cell::new(i),
            Cell::new(format!(
                "{}{}\n↳ {}",
                c.subject,
                if c.version == 1 { " (X.509 v1)" } else { "" },
                if c.self_signed {
                    "self-signed".to_string()
                } else {
                    c.issuer.clone()
                },
            )),
            Cell::new(format!(
                "{}\n{}",
                short_date(&c.not_before),
                short_date(&c.not_after)
            )),
            Cell::new(if c.sans.is_empty() {
                "none".into()
            } else {
                c.sans.join("\n")
            }),
            Cell::new(format!("{}{ca}\n{}", c.key, c.signature)),
        ]);
    }
    table
}

fn new_table(style: Style) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .force_no_tty();
    if style.color {
        table.enforce_styling();
    }
    table
}

fn reached(b: &BackendReport) -> String {
    match b.outcome {
        Outcome::Ok if b.websocket.is_some() => "resolve ✔ tcp ✔ tls ✔ websocket ✔ mqtt ✔".into(),
        Outcome::Ok => "resolve ✔ tcp ✔ tls ✔ mqtt ✔".into(),
        Outcome::NotSupported => "not tried".into(),
        Outcome::Failed => {
            let order: &[&str] = if b.websocket.is_some() {
                &["resolve", "tcp", "tls", "websocket", "mqtt"]
            } else {
                &["resolve", "tcp", "tls", "mqtt"]
            };
            let failed_at = b.phase.name();
            let mut parts = Vec::new();
            for &phase in order {
                if phase == failed_at {
                    parts.push(format!("{phase} ✘"));
                    break;
                }
                parts.push(format!("{phase} ✔"));
            }
            parts.join(" ")
        }
    }
}

fn timings(b: &BackendReport) -> String {
    let t = &b.timings;
    let parts: Vec<String> = [("tcp", t.tcp_ms), ("tls", t.tls_ms), ("mqtt", t.mqtt_ms)]
        .iter()
        .filter_map(|(n, v)| v.map(|ms| format!("{n} {ms:.1}")))
        .collect();
    if b.outcome == Outcome::NotSupported {
        return "—".into();
    }
    format!("{} (total {:.1} ms)", parts.join(", "), b.elapsed_ms)
}

fn alerts(b: &BackendReport) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &b.alerts.received {
        parts.push(format!("received {} ({})", a.name, a.code));
    }
    if let Some(a) = &b.alerts.sent {
        parts.push(format!("sent {} ({})", a.name, a.code));
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join("\n")
    }
}

fn short_date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

fn bold(s: &str, style: Style) -> String {
    styled(s, anstyle::Style::new().bold(), style)
}

fn paint(s: &str, color: Color, style: Style) -> String {
    let color = match color {
        Color::Green => AnsiColor::Green,
        Color::Yellow => AnsiColor::Yellow,
        _ => AnsiColor::Red,
    };
    styled(s, color.on_default().bold(), style)
}

/// `s` between `ansi`'s escape codes and its reset, or plain when the caller asked for no colour.
fn styled(s: &str, ansi: anstyle::Style, style: Style) -> String {
    if style.color {
        format!("{ansi}{s}{ansi:#}")
    } else {
        s.to_string()
    }
}
