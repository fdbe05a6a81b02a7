//! `mqtls diagnose`: probe one broker with every backend, classify, render.

use std::io::Write;

use crate::cli::DiagnoseArgs;
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::inputs::{self};
use crate::report::{self, Style};

use super::diagnose_config;

pub(super) async fn diagnose(args: &DiagnoseArgs, style: Style) -> Result<u8, Error> {
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
