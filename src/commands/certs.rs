//! `mqtls certs generate DIR`: the lab PKI, written where the user asks.

use std::path::Path;

use super::write_stdout;
use crate::error::{EXIT_OK, Error};

pub(super) fn generate(dir: &Path) -> Result<u8, Error> {
    let pki = crate::pki::generate(dir)?;
    write_stdout(&format!(
        "wrote the test PKI to {} (see {})\n",
        dir.display(),
        pki.readme.display()
    ))?;
    Ok(EXIT_OK)
}
