//! The `mqtls` binary: parse, run, map the outcome to an exit code. Nothing else.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    match runtime.block_on(mqtls::app::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e),
    }
}

fn fail(e: &mqtls::error::Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(mqtls::error::EXIT_ERROR)
}
