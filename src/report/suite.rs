//! Renderers of a `mqtls run` result: the terminal table, the Markdown compatibility matrix
//! (rows: cases; columns: broker × backend), and JUnit XML. Pure over [`RunReport`].

use std::collections::BTreeSet;
use std::io::{self, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use super::Style;
use crate::model::run::{CaseResult, RunReport};

/// The terminal table: one row per case × broker × backend, then each failure explained.
pub fn render_text(
    report: &RunReport,
    style: Style,
    quiet: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(120)
        .force_no_tty();
    if style.color {
        table.enforce_styling();
    }
    table.set_header(vec!["case", "broker", "backend", "expected", "got", ""]);
    for r in &report.results {
        if quiet && r.pass {
            continue;
        }
        for v in &r.verdicts {
            let mark = if v.pass { "pass" } else { "FAIL" };
            let mark = Cell::new(mark);
            let mark = match (style.color, v.pass) {
                (true, true) => mark.fg(Color::Green),
                (true, false) => mark.fg(Color::Red),
                _ => mark,
            };
            table.add_row(vec![
                Cell::new(&r.case),
                Cell::new(&r.broker),
                Cell::new(v.backend.name()),
                Cell::new(v.expected.map_or("(any)".to_string(), |c| c.to_string())),
                Cell::new(v.got.to_string()),
                mark,
            ]);
        }
    }
    if !table.is_empty() {
        writeln!(out, "{table}")?;
    }
    for r in report.results.iter().filter(|r| !r.pass) {
        writeln!(out, "\nFAIL {} on {} ({})", r.case, r.broker, r.file)?;
        for v in r.verdicts.iter().filter(|v| !v.pass) {
            writeln!(
                out,
                "  {}: expected {}, got {}: {}",
                v.backend,
                v.expected.map_or("(any)".to_string(), |c| c.to_string()),
                v.got,
                v.summary
            )?;
            if !v.missing_warnings.is_empty() {
                let names: Vec<String> =
                    v.missing_warnings.iter().map(ToString::to_string).collect();
                writeln!(
                    out,
                    "  {}: missing warnings: {}",
                    v.backend,
                    names.join(", ")
                )?;
            }
        }
        for line in &r.broker_log {
            writeln!(out, "  broker log: {line}")?;
        }
    }
    writeln!(out, "\n{}", summary_line(report))
}

/// `12 runs: 11 passed, 1 failed; brokers: mosquitto; backends: rustls, openssl; 1.2 s`.
pub fn summary_line(report: &RunReport) -> String {
    let s = &report.summary;
    let backends: Vec<&str> = s.backends.iter().map(|b| b.name()).collect();
    let skipped = if s.skipped > 0 {
        format!(
            " ({} cases skipped: their profiles run on other brokers)",
            s.skipped
        )
    } else {
        String::new()
    };
    format!(
        "{} runs: {} passed, {} failed{skipped}; brokers: {}; backends: {}; {:.1} s",
        s.cases,
        s.passed,
        s.failed,
        s.brokers.join(", "),
        backends.join(", "),
        report.elapsed_ms / 1000.0
    )
}

/// The Markdown report: summary, matrix, disagreements, failures.
pub fn render_markdown(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# mqtls run\n\n{}\n", summary_line(report))?;
    let columns: BTreeSet<(String, String)> = report
        .results
        .iter()
        .flat_map(|r| {
            r.verdicts
                .iter()
                .map(|v| (r.broker.clone(), v.backend.name().to_string()))
        })
        .collect();
    let cases: BTreeSet<&str> = report.results.iter().map(|r| r.case.as_str()).collect();
    write!(out, "| case |")?;
    for (broker, backend) in &columns {
        write!(out, " {broker} / {backend} |")?;
    }
    writeln!(out)?;
    writeln!(out, "|---|{}", "---|".repeat(columns.len()))?;
    for case in &cases {
        write!(out, "| `{case}` |")?;
        for (broker, backend) in &columns {
            let cell = report
                .results
                .iter()
                .find(|r| r.case == *case && &r.broker == broker)
                .and_then(|r| r.verdicts.iter().find(|v| v.backend.name() == backend));
            match cell {
                Some(v) if v.pass => write!(out, " ✅ `{}` |", v.got)?,
                Some(v) => write!(
                    out,
                    " ❌ `{}` (expected `{}`) |",
                    v.got,
                    v.expected.map_or("any".to_string(), |c| c.to_string())
                )?,
                None => write!(out, " — |")?,
            }
        }
        writeln!(out)?;
    }
    let disagreements: Vec<&CaseResult> = report
        .results
        .iter()
        .filter(|r| r.report.disagreement.is_some())
        .collect();
    if !disagreements.is_empty() {
        writeln!(out, "\n## Where rustls and OpenSSL disagree\n")?;
        for r in disagreements {
            writeln!(
                out,
                "- `{}` on {}: {}",
                r.case,
                r.broker,
                r.report.disagreement.as_deref().unwrap_or_default()
            )?;
        }
    }
    let failures: Vec<&CaseResult> = report.results.iter().filter(|r| !r.pass).collect();
    if !failures.is_empty() {
        writeln!(out, "\n## Failures\n")?;
        for r in failures {
            writeln!(out, "### `{}` on {}\n", r.case, r.broker)?;
            for b in &r.report.backends {
                writeln!(
                    out,
                    "- **{}** `{}`: {}",
                    b.backend, b.diagnosis.code, b.diagnosis.summary
                )?;
                for fact in &b.diagnosis.facts {
                    writeln!(out, "  - {fact}")?;
                }
                for remedy in &b.diagnosis.remedies {
                    writeln!(out, "  - **fix:** {remedy}")?;
                }
            }
            if !r.broker_log.is_empty() {
                writeln!(out, "\nBroker log:\n\n```text")?;
                for line in &r.broker_log {
                    writeln!(out, "{line}")?;
                }
                writeln!(out, "```\n")?;
            }
        }
    }
    Ok(())
}

/// JUnit XML: one testsuite per broker, one testcase per case × backend.
pub fn render_junit(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    let mut junit = quick_junit::Report::new("mqtls");
    let brokers: BTreeSet<&str> = report.results.iter().map(|r| r.broker.as_str()).collect();
    for broker in brokers {
        let mut suite = quick_junit::TestSuite::new(broker);
        for r in report.results.iter().filter(|r| r.broker == broker) {
            for v in &r.verdicts {
                let status = if v.pass {
                    quick_junit::TestCaseStatus::success()
                } else {
                    let mut s = quick_junit::TestCaseStatus::non_success(
                        quick_junit::NonSuccessKind::Failure,
                    );
                    s.set_message(format!(
                        "expected {}, got {}: {}",
                        v.expected.map_or("(any)".to_string(), |c| c.to_string()),
                        v.got,
                        v.summary
                    ));
                    s.set_type(v.got.to_string());
                    // The facts the diagnosis rests on, and the broker's side of the story.
                    let mut text: Vec<String> = r
                        .report
                        .backends
                        .iter()
                        .filter(|b| b.backend == v.backend)
                        .flat_map(|b| b.diagnosis.facts.iter().cloned())
                        .collect();
                    text.extend(r.broker_log.iter().map(|l| format!("broker log: {l}")));
                    s.set_description(text.join("\n"));
                    s
                };
                let mut case =
                    quick_junit::TestCase::new(format!("{} [{}]", r.case, v.backend), status);
                case.set_classname(format!("{broker}.{}", v.backend));
                suite.add_test_case(case);
            }
        }
        junit.add_test_suite(suite);
    }
    let xml = junit.to_string().map_err(io::Error::other)?;
    out.write_all(xml.as_bytes())
}
