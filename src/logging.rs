//! Logging to stderr (stdout stays clean for JSON), and the process-wide crypto provider.

/// Installs the tracing subscriber (`-v` debug, `-vv` trace, or `RUST_LOG`) and the rustls
/// aws-lc-rs provider. Safe to call more than once.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "mqtls=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log piped to a file or CI stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    // Every config names its provider explicitly; installing it as the default as well keeps
    // any code path that uses `ClientConfig::builder()` from panicking.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
