//! `mqtls inspect`: the user's certificate and key files, offline.

use crate::cli::{InspectArgs, TextOrJson};
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::report::{self};

use super::{input_paths, parse_instant};

pub(super) fn inspect(args: &InspectArgs) -> Result<u8, Error> {
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
        TextOrJson::Json => report::inspect::render_json(&report, &mut out),
        TextOrJson::Text => report::inspect::render_text(&report, &mut out),
    }
    .map_err(Error::Output)?;
    Ok(if report.has_errors() {
        EXIT_PROBLEM
    } else {
        EXIT_OK
    })
}
