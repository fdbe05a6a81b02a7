//! `mqtls report`: merge the results of several `run` or `scan` invocations.

use std::io::Write;

use crate::cli::{ReportArgs, ReportFormat};
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::report::{self};
use crate::scan::HostResult;

pub(super) fn merge_reports(args: &ReportArgs) -> Result<u8, Error> {
    let mut runs = Vec::new();
    let mut hosts = Vec::new();
    for path in &args.results {
        match read_result(path)? {
            ResultFile::Run(r) => runs.push(*r),
            ResultFile::Scan(h) => hosts.extend(h),
        }
    }
    if !runs.is_empty() && !hosts.is_empty() {
        return Err(Error::Flag {
            flag: "RESULT.json",
            value: args.results[0].display().to_string(),
            reason: "the files mix `mqtls run` results and `mqtls scan` lines; merge each kind on its own".into(),
        });
    }
    let mut buf = Vec::new();
    let ok = if runs.is_empty() {
        let merged = crate::scan::merge(hosts);
        match args.format {
            ReportFormat::Markdown => report::scan::render_markdown(&merged, &mut buf),
            ReportFormat::Json => serde_json::to_writer_pretty(&mut buf, &merged)
                .map_err(std::io::Error::other)
                .map(|()| buf.push(b'\n')),
            ReportFormat::Junit => {
                return Err(Error::Flag {
                    flag: "--format",
                    value: "junit".into(),
                    reason:
                        "scan lines merge into markdown or json; junit is for `mqtls run` results"
                            .into(),
                });
            }
        }
        .map_err(Error::Output)?;
        merged.summary.problem == 0
    } else {
        let merged = crate::run::merge(runs);
        match args.format {
            ReportFormat::Markdown => report::suite::render_markdown(&merged, &mut buf),
            ReportFormat::Junit => report::suite::render_junit(&merged, &mut buf),
            ReportFormat::Json => serde_json::to_writer_pretty(&mut buf, &merged)
                .map_err(std::io::Error::other)
                .map(|()| buf.push(b'\n')),
        }
        .map_err(Error::Output)?;
        merged.summary.failed == 0
    };
    match &args.output {
        Some(path) => std::fs::write(path, &buf).map_err(|source| Error::WriteReport {
            path: path.clone(),
            source,
        })?,
        None => std::io::stdout()
            .lock()
            .write_all(&buf)
            .map_err(Error::Output)?,
    }
    Ok(if ok { EXIT_OK } else { EXIT_PROBLEM })
}

/// What one `mqtls report` input holds.
enum ResultFile {
    Run(Box<crate::run::RunReport>),
    Scan(Vec<HostResult>),
}

/// Reads a `run --json` document or the JSON lines of `scan`, refusing another schema version.
fn read_result(path: &std::path::Path) -> Result<ResultFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
        what: "result",
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: Option<usize>, reason: String| Error::Flag {
        flag: "RESULT.json",
        value: match line {
            Some(n) => format!("{}:{n}", path.display()),
            None => path.display().to_string(),
        },
        reason,
    };
    let check_version = |value: &serde_json::Value, line: Option<usize>| {
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64);
        match version {
            Some(v) if v != u64::from(report::SCHEMA_VERSION) => Err(bad(
                line,
                format!(
                    "schema_version {v} cannot be merged by this mqtls (schema_version {}); merge reports written by the same version",
                    report::SCHEMA_VERSION
                ),
            )),
            _ => Ok(()),
        }
    };
    let whole = serde_json::from_slice::<serde_json::Value>(&bytes);
    let not_a_run =
        |e: &dyn std::fmt::Display| bad(None, format!("not a `mqtls run --json` result: {e}"));
    // A run report is one document without `scan`; anything else is read as scan lines (a
    // one-host scan output is also a single JSON document).
    let whole_error = match whole {
        Ok(value) if value.get("scan").is_none() => {
            // Read the version first, so a report of another version gets that message rather
            // than a field-by-field parse error.
            check_version(&value, None)?;
            let parsed: crate::run::RunReport =
                serde_json::from_value(value).map_err(|e| not_a_run(&e))?;
            return Ok(ResultFile::Run(Box::new(parsed)));
        }
        Ok(_) => None,
        Err(e) => Some(e),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut hosts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = match (serde_json::from_str(line), &whole_error) {
            (Ok(value), _) => value,
            // Not even the first line is JSON: the file is neither kind; say what a run
            // result would have needed.
            (Err(_), Some(e)) if hosts.is_empty() => return Err(not_a_run(e)),
            (Err(e), _) => {
                return Err(bad(Some(i + 1), format!("not a line of `mqtls scan`: {e}")));
            }
        };
        check_version(&value, Some(i + 1))?;
        hosts.push(HostResult::from_json_line(line).map_err(|e| bad(Some(i + 1), e))?);
    }
    Ok(ResultFile::Scan(hosts))
}
