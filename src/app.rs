//! Orchestration of the subcommands: validated configuration from the CLI, the run, the
//! rendering to stdout and the exit code. The only module besides `main` that writes output.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::cli::{
    BackendChoice, CertsCommand, Cli, ColorChoice, Command, DiagnoseArgs, ExplainArgs, FileArgs,
    InspectArgs, LabCommand, MqttVersionArg, ProbeArgs, ReportArgs, ReportFormat, RunArgs,
    ScanArgs, ScanFormat, TextOrJson,
};
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::evidence::Backend;
use crate::inputs::{self, InputPaths};
use crate::probe::mqtt::{ConnectSettings, MqttVersion};
use crate::probe::{ProbeRequest, TlsVersion};
use crate::report::{self, DiagnoseReport, Style};
use crate::scan::{HostResult, Partition, ProbeTemplate};
use crate::target::Target;

/// The longest `--timeout` accepted: an hour per phase is already absurd for a probe.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// Runs the parsed command line and returns the exit code.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    let style = Style {
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
    };
    match cli.command {
        Command::Diagnose(args) => diagnose(&args, style).await,
        Command::Demo(args) => crate::demo::run(&args, style).await,
        Command::Run(args) => run_suites(&args, style).await,
        Command::Scan(args) => scan(&args).await,
        Command::Inspect(args) => inspect(&args),
        Command::Report(args) => merge_reports(&args),
        Command::Explain(args) => explain(&args),
        Command::Schema => {
            write_stdout(&report::schema::schema_json())?;
            Ok(EXIT_OK)
        }
        Command::Codes { format } => {
            let entries = report::codes::catalogue();
            let mut buf = Vec::new();
            match format {
                report::Format::Text => report::codes::render_text(&entries, &mut buf),
                report::Format::Markdown => report::codes::render_markdown(&entries, &mut buf),
                report::Format::Json => {
                    serde_json::to_writer_pretty(&mut buf, &entries).map_err(std::io::Error::other)
                }
            }
            .map_err(Error::Output)?;
            if format == report::Format::Json {
                buf.push(b'\n');
            }
            write_stdout(&String::from_utf8_lossy(&buf))?;
            Ok(EXIT_OK)
        }
        Command::Lab(LabCommand::Render {
            suites,
            broker,
            profile,
            port,
        }) => {
            let suite = crate::scenario::load(&suites)?;
            let mut found = false;
            for (name, p) in &suite.profiles {
                if profile.as_deref().is_none_or(|want| want == name) {
                    found = true;
                    write_stdout(&format!(
                        "{}\n",
                        crate::lab::render::render(broker, name, p, port)
                    ))?;
                }
            }
            if !found {
                let known: Vec<&str> = suite.profiles.keys().map(String::as_str).collect();
                return Err(Error::Flag {
                    flag: "--profile",
                    value: profile.unwrap_or_default(),
                    reason: format!("no such profile (expected one of: {})", known.join(", ")),
                });
            }
            Ok(EXIT_OK)
        }
        Command::Certs(CertsCommand::Generate { dir }) => {
            let pki = crate::pki::generate(&dir)?;
            write_stdout(&format!(
                "wrote the test PKI to {} (see {})\n",
                dir.display(),
                pki.readme.display()
            ))?;
            Ok(EXIT_OK)
        }
    }
}

async fn diagnose(args: &DiagnoseArgs, style: Style) -> Result<u8, Error> {
    let (request, paths, backends) = diagnose_config(args)?;
    let loaded = inputs::load(&paths)?;
    let report =
        crate::diagnose::diagnose_warn_days(request, &loaded, &backends, args.warn_days).await;
    let mut out = std::io::stdout().lock();
    let format = match args.format {
        report::DiagnoseFormat::Text => Some(report::Format::Text),
        report::DiagnoseFormat::Json => Some(report::Format::Json),
        report::DiagnoseFormat::Markdown => Some(report::Format::Markdown),
        report::DiagnoseFormat::Openmetrics => None,
    };
    match format {
        Some(format) => report::render(format, &report, style, &mut out),
        None => report::openmetrics::render(&[&report], &mut out),
    }
    .map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
    Ok(if report.all_ok() {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    })
}

/// `mqtls explain`: exit 0 when something was recognised, 1 when nothing was, 2 when the
/// `--log` file (or stdin) cannot be read.
fn explain(args: &ExplainArgs) -> Result<u8, Error> {
    use crate::explain;
    let mut out = std::io::stdout().lock();
    let json = args.format == TextOrJson::Json;
    let found = if let Some(path) = &args.log {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
            what: "--log",
            path: path.clone(),
            source,
        })?;
        let report = explain::explain_log(&String::from_utf8_lossy(&bytes));
        if json {
            explain::log::render_json(&report, &mut out)
        } else {
            explain::log::render_text(&report, &mut out)
        }
        .map_err(Error::Output)?;
        !report.groups.is_empty()
    } else {
        let text = if args.text.is_empty() {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
                Error::ReadFile {
                    what: "stdin",
                    path: "-".into(),
                    source,
                }
            })?;
            text
        } else {
            args.text.join(" ")
        };
        let explanation = explain::explain(&text);
        if json {
            explain::render_json(&explanation, &mut out)
        } else {
            explain::render_text(&explanation, &mut out)
        }
        .map_err(Error::Output)?;
        !explanation.matches.is_empty()
    };
    out.flush().map_err(Error::Output)?;
    Ok(if found { EXIT_OK } else { EXIT_PROBLEM })
}

async fn run_suites(args: &RunArgs, style: Style) -> Result<u8, Error> {
    let target = args.target.as_deref().map(Target::parse).transpose()?;
    let jobs = jobs_flag(args.jobs, 4)?;
    let suite = crate::scenario::load(&args.suites)?;
    if args.list {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for case in &suite.cases {
            writeln!(out, "{}", case.id).map_err(Error::Output)?;
        }
        out.flush().map_err(Error::Output)?;
        return Ok(EXIT_OK);
    }
    let config = crate::run::RunConfig {
        suites: args.suites.clone(),
        target,
        lab: args.lab.clone(),
        jobs,
    };
    let used: std::collections::BTreeSet<&str> = suite
        .cases
        .iter()
        .filter_map(|c| match &c.target {
            crate::scenario::CaseTarget::Profile(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    let profiles = suite
        .profiles
        .iter()
        .filter(|(name, _)| used.contains(name.as_str()))
        .map(|(n, p)| (n.clone(), p.clone()))
        .collect();
    let lab = if config.lab.is_empty() {
        crate::run::Lab::start(&[], &profiles).await?
    } else {
        // Stop the brokers on Ctrl-C too: dropping the lab kills them.
        let lab = tokio::select! {
            lab = crate::run::Lab::start(&config.lab, &profiles) => lab?,
            _ = tokio::signal::ctrl_c() => return Err(Error::Lab("interrupted while starting the lab".into())),
        };
        lab
    };
    let bar = progress_bar(suite.cases.len() * config.lab.len().max(1), args.quiet);
    let ticker = bar.clone();
    let report = tokio::select! {
        report = crate::run::run(&config, &suite, &lab, move |_| ticker.inc(1)) => report?,
        _ = tokio::signal::ctrl_c() => {
            drop(lab);
            return Err(Error::Lab("interrupted; the lab brokers were stopped".into()));
        }
    };
    bar.finish_and_clear();
    drop(lab);
    let write = |path: &std::path::Path, render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        render(&mut buf)
            .and_then(|()| std::fs::write(path, &buf))
            .map_err(|source| Error::WriteReport {
                path: path.to_path_buf(),
                source,
            })
    };
    if let Some(path) = &args.json {
        write(path, &|buf| {
            serde_json::to_writer_pretty(&mut *buf, &report).map_err(std::io::Error::other)?;
            buf.push(b'\n');
            Ok(())
        })?;
    }
    if let Some(path) = &args.markdown {
        write(path, &|buf| report::suite::render_markdown(&report, buf))?;
    }
    if let Some(path) = &args.junit {
        write(path, &|buf| report::suite::render_junit(&report, buf))?;
    }
    let mut out = std::io::stdout().lock();
    report::suite::render_text(&report, style, args.quiet, &mut out).map_err(Error::Output)?;
    Ok(if report.summary.failed == 0 {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    })
}

/// `mqtls scan`: one JSON line per host as it finishes (stdout or `--output`), the summary by
/// code on stderr; exit 0 when every host connected on every backend, 1 otherwise.
async fn scan(args: &ScanArgs) -> Result<u8, Error> {
    let (mut template, backends) = probe_template(&args.probe)?;
    template.verify_at = args.at.as_deref().map(parse_instant).transpose()?;
    let mut defaults = input_paths(&args.files)?;
    defaults.psk = psk_flags(&args.probe)?;
    let jobs = jobs_flag(args.jobs, 16)?;
    let deadline = match &args.deadline {
        Some(value) => parse_seconds("--deadline", value)?,
        None => template.timeout * 6,
    };
    let partition = match &args.partition {
        Some(text) => Some(Partition::parse(text).ok_or_else(|| Error::Flag {
            flag: "--partition",
            value: text.clone(),
            reason: "expected K/N with 1 <= K <= N, e.g. 2/4".into(),
        })?),
        None => None,
    };
    let text = std::fs::read_to_string(&args.targets).map_err(|source| Error::ReadFile {
        what: "targets file",
        path: args.targets.clone(),
        source,
    })?;
    let mut hosts = crate::scan::targets::parse(&args.targets, &text)?;
    if let Some(p) = partition {
        hosts.retain(|h| p.contains(&h.input));
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|source| Error::WriteReport {
                path: path.clone(),
                source,
            })?,
        )),
        None => Box::new(std::io::stdout()),
    };
    let config = crate::scan::ScanConfig {
        targets_file: args.targets.clone(),
        hosts,
        partition,
        template,
        backends,
        defaults,
        jobs,
        deadline,
        warn_days: args.warn_days,
    };
    let metrics = args.format == ScanFormat::Openmetrics;
    // The exposition groups each metric's samples, so it is written once every host is done.
    let mut done: Vec<DiagnoseReport> = Vec::new();
    let summary = crate::scan::scan(config, |host| {
        if metrics {
            done.push(host.report.clone());
            return Ok(());
        }
        let line = host.to_json_line().map_err(std::io::Error::other)?;
        writeln!(out, "{line}")?;
        // One line per host as it finishes, also into a file others may `tail -f`.
        out.flush()
    })
    .await?;
    if metrics {
        done.sort_by(|a, b| (&a.target.host, a.target.port).cmp(&(&b.target.host, b.target.port)));
        let reports: Vec<&DiagnoseReport> = done.iter().collect();
        report::openmetrics::render(&reports, &mut out)
            .and_then(|()| out.flush())
            .map_err(Error::Output)?;
    }
    let mut err = std::io::stderr().lock();
    report::scan::render_summary(&summary, &mut err).map_err(Error::Output)?;
    Ok(if summary.problem == 0 {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    })
}

/// `--jobs`: at least 1, `per_core` per core when not given, and within the file-descriptor
/// budget (the soft limit raised if need be; a note on stderr says so).
fn jobs_flag(jobs: Option<usize>, per_core: usize) -> Result<usize, Error> {
    let jobs = match jobs {
        Some(0) => {
            return Err(Error::Flag {
                flag: "--jobs",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Some(n) => n,
        None => per_core * std::thread::available_parallelism().map_or(2, usize::from),
    };
    let budget = crate::limits::fit_jobs(jobs);
    if let Some(note) = &budget.note {
        let _ = writeln!(std::io::stderr(), "note: {note}");
    }
    Ok(budget.jobs)
}

fn inspect(args: &InspectArgs) -> Result<u8, Error> {
    let paths = input_paths(&args.files)?;
    let checked_at = match &args.at {
        Some(at) => parse_instant(at)?,
        None => crate::diagnose::unix_now(),
    };
    let input = crate::inspect::InspectInput {
        paths,
        server_cert: args.server_cert.clone(),
        expect_name: args.expect_name.clone(),
        checked_at,
        warn_days: args.warn_days,
    };
    let report = crate::inspect::inspect(&input)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        TextOrJson::Json => crate::inspect::render_json(&report, &mut out),
        TextOrJson::Text => crate::inspect::render_text(&report, &mut out),
    }
    .map_err(Error::Output)?;
    Ok(if report.has_errors() {
        EXIT_PROBLEM
    } else {
        EXIT_OK
    })
}

/// `--at`: RFC 3339 (`2024-01-01T00:00:00Z`) or Unix seconds.
fn parse_instant(value: &str) -> Result<i64, Error> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Ok(seconds);
    }
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| Error::Flag {
            flag: "--at",
            value: value.to_string(),
            reason: format!("not an RFC 3339 time (2024-01-01T00:00:00Z) or Unix seconds: {e}"),
        })
}

/// What one `mqtls report` input holds.
enum ResultFile {
    Run(Box<crate::run::RunReport>),
    Scan(Vec<HostResult>),
}

fn merge_reports(args: &ReportArgs) -> Result<u8, Error> {
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

/// The file flags, checked: `--cert` and `--key` together, the key password read from the
/// environment variable named.
fn input_paths(files: &FileArgs) -> Result<InputPaths, Error> {
    pair(&files.cert, &files.key)?;
    let key_password = match &files.key_password_env {
        Some(var) => Some(env(var, "--key-password-env")?),
        None => None,
    };
    Ok(InputPaths {
        cafiles: files.cafile.clone(),
        cert: files.cert.clone(),
        key: files.key.clone(),
        key_password,
        untrusted: files.untrusted.clone(),
        offline: files.offline,
        psk: None,
    })
}

/// `--psk-identity` with the hex key read from the variable `--psk-key-env` names. Errors name
/// the variable, never its value.
fn psk_flags(args: &crate::cli::ProbeArgs) -> Result<Option<crate::probe::psk::Psk>, Error> {
    let (Some(identity), Some(var)) = (&args.psk_identity, &args.psk_key_env) else {
        return Ok(None);
    };
    let key = env(var, "--psk-key-env")?;
    crate::probe::psk::Psk::new(identity, &key)
        .map(Some)
        .map_err(|e| Error::Flag {
            flag: "--psk-key-env",
            value: var.clone(),
            reason: e.to_string(),
        })
}

/// `--cert` and `--key` go together.
fn pair(cert: &Option<std::path::PathBuf>, key: &Option<std::path::PathBuf>) -> Result<(), Error> {
    match (cert, key) {
        (Some(cert), None) => Err(Error::Flag {
            flag: "--cert",
            value: cert.display().to_string(),
            reason: "given without --key (the client certificate needs its private key)".into(),
        }),
        (None, Some(key)) => Err(Error::Flag {
            flag: "--key",
            value: key.display().to_string(),
            reason: "given without --cert (the private key needs its certificate)".into(),
        }),
        _ => Ok(()),
    }
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
fn progress_bar(len: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}

/// Turns the flags into a validated request; every bad value is named.
pub fn diagnose_config(
    args: &DiagnoseArgs,
) -> Result<(ProbeRequest, InputPaths, Vec<Backend>), Error> {
    let target = Target::parse(&args.target)?;
    let mut paths = input_paths(&args.files)?;
    paths.psk = psk_flags(&args.probe)?;
    let (template, backends) = probe_template(&args.probe)?;
    let sni = if args.no_sni {
        None
    } else {
        args.sni.clone().or_else(|| target.default_sni())
    };
    let expect_name = args.expect_name.clone();
    let mut request = template.request(target, sni, expect_name);
    request.verify_at = args.at.as_deref().map(parse_instant).transpose()?;
    Ok((request, paths, backends))
}

/// The probe flags shared by `diagnose` and `scan`, validated.
fn probe_template(args: &ProbeArgs) -> Result<(ProbeTemplate, Vec<Backend>), Error> {
    let timeout = parse_timeout(&args.timeout)?;
    let mut tls_versions = Vec::new();
    for v in &args.tls_versions {
        tls_versions.push(TlsVersion::parse(v).ok_or_else(|| Error::Flag {
            flag: "--tls-version",
            value: v.clone(),
            reason: "expected one of: 1.0, 1.1, 1.2, 1.3".into(),
        })?);
    }
    let password = match &args.password_env {
        Some(var) => Some(env(var, "--password-env")?),
        None => None,
    };
    let template = ProbeTemplate {
        tls_versions,
        alpn: args.alpn.clone(),
        mqtt: ConnectSettings {
            version: match args.mqtt_version {
                MqttVersionArg::V311 => MqttVersion::V311,
                MqttVersionArg::V5 => MqttVersion::V5,
            },
            client_id: args
                .client_id
                .clone()
                .unwrap_or_else(|| format!("mqtls-{}", std::process::id())),
            username: args.username.clone(),
            password,
        },
        timeout,
        verify_at: None,
    };
    let backends = match args.backend {
        BackendChoice::Rustls => vec![Backend::Rustls],
        BackendChoice::Openssl => vec![Backend::Openssl],
        BackendChoice::Both => Backend::ALL.to_vec(),
    };
    Ok((template, backends))
}

fn parse_timeout(value: &str) -> Result<Duration, Error> {
    parse_seconds("--timeout", value)
}

fn parse_seconds(flag: &'static str, value: &str) -> Result<Duration, Error> {
    let bad = |reason: &str| Error::Flag {
        flag,
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| bad("expected a number of seconds, e.g. 5 or 0.5"))?;
    if !secs.is_finite() {
        return Err(bad("must be a finite number of seconds"));
    }
    if secs <= 0.0 {
        return Err(bad("must be greater than 0"));
    }
    if secs > MAX_TIMEOUT_SECS {
        return Err(bad("must be at most 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn env(var: &str, flag: &'static str) -> Result<String, Error> {
    std::env::var(var).map_err(|_| Error::MissingEnv {
        flag,
        var: var.to_string(),
    })
}

/// Writes to stdout through the one error path: a reader that went away (`| head -1`) is
/// `Error::Output` with `BrokenPipe`, which `main` turns into a quiet exit, never a panic.
pub fn write_stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_validated() {
        assert_eq!(parse_timeout("0.5").unwrap(), Duration::from_millis(500));
        for bad in ["0", "-1", "abc", "NaN", "inf", "99999"] {
            let err = parse_timeout(bad).unwrap_err().to_string();
            assert!(err.contains("--timeout") && err.contains(bad), "{err}");
        }
    }
}
