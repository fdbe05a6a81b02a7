//! `mqtls explain`: read a pasted error message or a broker log.

use std::io::Write;

use crate::cli::{ExplainArgs, TextOrJson};
use crate::error::{EXIT_OK, EXIT_PROBLEM, Error};
use crate::report::{self};

/// `mqtls explain`: exit 0 when something was recognised, 1 when nothing was, 2 when the
/// `--log` file (or stdin) cannot be read.
pub(super) fn explain(args: &ExplainArgs) -> Result<u8, Error> {
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
            report::explain::render_log_json(&report, &mut out)
        } else {
            report::explain::render_log_text(&report, &mut out)
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
            report::explain::render_json(&explanation, &mut out)
        } else {
            report::explain::render_text(&explanation, &mut out)
        }
        .map_err(Error::Output)?;
        !explanation.matches.is_empty()
    };
    out.flush().map_err(Error::Output)?;
    Ok(if found { EXIT_OK } else { EXIT_PROBLEM })
}
