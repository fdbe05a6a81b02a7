//! The `mqtls` binary: parse, run, map the outcome to an exit code. Nothing else.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mqtls::cli::Cli::parse();
    mqtls::logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&mqtls::error::Error::Output(e)),
    };
    match runtime.block_on(mqtls::commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e),
    }
}

fn fail(e: &mqtls::error::Error) -> ExitCode {
    // The reader went away (`mqtls ... | head -1`): stop quietly, as grep and ripgrep do.
    if e.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    // stderr may be the same closed pipe (`2>&1 | head`): a failed write is not a panic.
    let _ = writeln!(std::io::stderr(), "error: {e}");
    ExitCode::from(mqtls::error::EXIT_ERROR)
}
