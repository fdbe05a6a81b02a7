//! `--format openmetrics` of `diagnose` and `scan`: a Prometheus text exposition for the
//! node_exporter textfile collector, named after blackbox_exporter's probe metrics.
//!
//! Per target (label `target`, `host:port`) and backend (label `backend`):
//! `probe_success` (1 when TCP, TLS and CONNACK all succeeded), `probe_duration_seconds` (the
//! whole probe), `probe_tls_handshake_seconds` (when a handshake completed),
//! `mqtls_diagnosis_info` (the diagnosis code, value 1) and `mqtls_warning_info` (one per
//! warning code); per target: `probe_ssl_earliest_cert_expiry` (Unix seconds of the earliest
//! notAfter on the broker's certification path, as blackbox_exporter reports it). Every family
//! has its `# HELP` and `# TYPE` lines and all its samples together; the exposition ends with
//! `# EOF`. Pure: no clock, no I/O besides `out`.

use std::io::{self, Write};

use super::{DiagnoseReport, Outcome};

type Sample = (String, String);

/// Writes the metrics of `reports` (one per target, e.g. a whole scan).
pub fn render(reports: &[&DiagnoseReport], out: &mut dyn Write) -> io::Result<()> {
    let mut success = Vec::new();
    let mut duration = Vec::new();
    let mut handshake = Vec::new();
    let mut expiry = Vec::new();
    let mut diagnosis = Vec::new();
    let mut warnings = Vec::new();
    for report in reports {
        let target = format!("{}:{}", report.target.host, report.target.port);
        let t = escape(&target);
        for b in &report.backends {
            let labels = format!("target=\"{t}\",backend=\"{}\"", b.backend);
            if b.outcome == Outcome::NotSupported {
                // No probe was made (rustls and TLS-PSK): a probe_success of 0 would page
                // someone for a stack, not a broker. The code still says why.
                diagnosis.push((
                    format!("{labels},code=\"{}\"", b.diagnosis.code),
                    "1".into(),
                ));
                continue;
            }
            let ok = u8::from(b.outcome == Outcome::Ok);
            success.push((labels.clone(), ok.to_string()));
            duration.push((labels.clone(), seconds(b.elapsed_ms)));
            if let Some(ms) = b.timings.tls_ms
                && b.tls.version.is_some()
            {
                handshake.push((labels.clone(), seconds(ms)));
            }
            diagnosis.push((
                format!("{labels},code=\"{}\"", b.diagnosis.code),
                "1".into(),
            ));
            for w in &b.warnings {
                warnings.push((format!("{labels},code=\"{w}\""), "1".into()));
            }
        }
        if let Some(not_after) = report.earliest_path_expiry() {
            expiry.push((format!("target=\"{t}\""), not_after.to_string()));
        }
    }
    family(
        out,
        "probe_success",
        "Whether TCP, TLS and MQTT CONNECT/CONNACK all succeeded, per TLS backend.",
        &success,
    )?;
    family(
        out,
        "probe_duration_seconds",
        "How long the probe of each TLS backend took, in seconds.",
        &duration,
    )?;
    family(
        out,
        "probe_tls_handshake_seconds",
        "How long the TLS handshake took, in seconds (absent when none completed).",
        &handshake,
    )?;
    family(
        out,
        "probe_ssl_earliest_cert_expiry",
        "The earliest notAfter on the broker's certification path, in Unix seconds.",
        &expiry,
    )?;
    family(
        out,
        "mqtls_diagnosis_info",
        "The mqtls diagnosis code of each TLS backend (value 1; see docs/codes.md).",
        &diagnosis,
    )?;
    family(
        out,
        "mqtls_warning_info",
        "Each mqtls warning code of each TLS backend (value 1; see docs/codes.md).",
        &warnings,
    )?;
    writeln!(out, "# EOF")
}

fn family(out: &mut dyn Write, name: &str, help: &str, samples: &[Sample]) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} gauge")?;
    for (labels, value) in samples {
        writeln!(out, "{name}{{{labels}}} {value}")?;
    }
    Ok(())
}

fn seconds(ms: f64) -> String {
    format!("{:.6}", ms / 1000.0)
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
