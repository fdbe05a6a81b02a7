//! `mqtls demo` (placeholder until the lab module lands).

use crate::cli::DemoArgs;
use crate::error::Error;
use crate::report::Style;

/// Runs the demo.
pub async fn run(_args: &DemoArgs, _style: Style) -> Result<u8, Error> {
    Err(Error::Demo("not built yet".into()))
}
