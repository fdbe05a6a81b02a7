//! `mqtls run`: scenario suites against a target or the lab brokers it starts.

use std::io::Write;

use crate::cli::RunArgs;
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::report::{self, Style};
use crate::target::Target;

use super::{jobs_flag, progress_bar};

pub(super) async fn run_suites(args: &RunArgs, style: Style) -> Result<u8, Error> {
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
        crate::lab::Lab::start(&[], &profiles).await?
    } else {
        // Stop the brokers on Ctrl-C too: dropping the lab kills them.
        let lab = tokio::select! {
            lab = crate::lab::Lab::start(&config.lab, &profiles) => lab?,
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
