//! `mqtls scan`: many brokers from a targets file, one JSON line per host.

use std::io::Write;

use crate::cli::{ScanArgs, ScanFormat};
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::report::{self, DiagnoseReport};
use crate::scan::Partition;

use super::{input_paths, jobs_flag, parse_instant, parse_seconds, probe_template, psk_flags};

/// `mqtls scan`: one JSON line per host as it finishes (stdout or `--output`), the summary by
/// code on stderr; exit 0 when every host connected on every backend, 1 otherwise.
pub(super) async fn scan(args: &ScanArgs) -> Result<u8, Error> {
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
