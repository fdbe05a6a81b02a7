//! The subcommands, one module each (as cargo's `commands/`): each turns its flags into
//! validated inputs, calls the engine, renders the model it gets back to stdout, and returns
//! the exit code. The only rooms besides `main` that write output; nothing below imports them.

mod certs;
mod codes;
pub mod demo;
mod diagnose;
mod explain;
mod inspect;
mod lab;
mod report;
mod run;
mod scan;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::cli::{
    BackendChoice, CertsCommand, Cli, ColorChoice, Command, DiagnoseArgs, FileArgs, LabCommand,
    MqttVersionArg, ProbeArgs,
};
use crate::error::{EXIT_OK, Error};
use crate::evidence::Backend;
use crate::evidence::MqttVersion;
use crate::evidence::TlsVersion;
use crate::inputs::InputPaths;
use crate::probe::ProbeRequest;
use crate::probe::mqtt::ConnectSettings;
use crate::report::Style;
use crate::scan::ProbeTemplate;
use crate::target::Target;

/// The longest `--timeout` accepted: an hour per phase is already absurd for a probe.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// Runs the parsed command line and returns the exit code.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    let style = Style {
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // anstream's reading of the terminal and of NO_COLOR, CLICOLOR and CLICOLOR_FORCE.
            ColorChoice::Auto => {
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
            }
        },
    };
    match cli.command {
        Command::Diagnose(args) => diagnose::diagnose(&args, style).await,
        Command::Demo(args) => demo::run(&args, style).await,
        Command::Run(args) => run::run_suites(&args, style).await,
        Command::Scan(args) => scan::scan(&args).await,
        Command::Inspect(args) => inspect::inspect(&args),
        Command::Report(args) => report::merge_reports(&args),
        Command::Explain(args) => explain::explain(&args),
        Command::Schema => {
            write_stdout(&crate::report::schema::schema_json())?;
            Ok(EXIT_OK)
        }
        Command::Codes { format } => codes::codes(format),
        Command::Lab(LabCommand::Render {
            suites,
            broker,
            profile,
            port,
        }) => lab::render(&suites, broker, profile, port),
        Command::Certs(CertsCommand::Generate { dir }) => certs::generate(&dir),
    }
}

/// `--jobs`: at least 1, `per_core` per core when not given, and within the file-descriptor
/// budget (the soft limit raised if need be; a note on stderr says so).
pub(crate) fn jobs_flag(jobs: Option<usize>, per_core: usize) -> Result<usize, Error> {
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

/// `--at`: RFC 3339 (`2024-01-01T00:00:00Z`) or Unix seconds.
pub(crate) fn parse_instant(value: &str) -> Result<i64, Error> {
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

/// The file flags, checked: `--cert` and `--key` together, the key password read from the
/// environment variable named.
pub(crate) fn input_paths(files: &FileArgs) -> Result<InputPaths, Error> {
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
pub(crate) fn psk_flags(args: &ProbeArgs) -> Result<Option<crate::probe::psk::Psk>, Error> {
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
pub(crate) fn pair(
    cert: &Option<std::path::PathBuf>,
    key: &Option<std::path::PathBuf>,
) -> Result<(), Error> {
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
pub(crate) fn progress_bar(len: usize, quiet: bool) -> indicatif::ProgressBar {
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
pub(crate) fn probe_template(args: &ProbeArgs) -> Result<(ProbeTemplate, Vec<Backend>), Error> {
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

pub(crate) fn parse_timeout(value: &str) -> Result<Duration, Error> {
    parse_seconds("--timeout", value)
}

pub(crate) fn parse_seconds(flag: &'static str, value: &str) -> Result<Duration, Error> {
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

pub(crate) fn env(var: &str, flag: &'static str) -> Result<String, Error> {
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
