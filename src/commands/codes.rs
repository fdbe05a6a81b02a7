//! `mqtls codes`: the catalogue of diagnosis codes, as text, Markdown (`docs/codes.md`) or
//! JSON.

use super::write_stdout;
use crate::error::{EXIT_OK, Error};
use crate::report::{Format, codes};

pub(super) fn codes(format: Format) -> Result<u8, Error> {
    let entries = codes::catalogue();
    let mut buf = Vec::new();
    match format {
        Format::Text => codes::render_text(&entries, &mut buf),
        Format::Markdown => codes::render_markdown(&entries, &mut buf),
        Format::Json => {
            serde_json::to_writer_pretty(&mut buf, &entries).map_err(std::io::Error::other)
        }
    }
    .map_err(Error::Output)?;
    if format == Format::Json {
        buf.push(b'\n');
    }
    write_stdout(&String::from_utf8_lossy(&buf))?;
    Ok(EXIT_OK)
}
