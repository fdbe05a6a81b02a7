//! The one error type that reaches `main`, and the exit codes.
//!
//! Findings about a broker are never errors (they are diagnoses, exit code 1). Errors are the
//! tool's inability to do its job: a bad flag value, a missing file, an unwritable output.

use std::path::PathBuf;

use crate::target::TargetError;

/// Everything checked is fine.
pub const EXIT_OK: u8 = 0;
/// A problem was found and diagnosed.
pub const EXIT_PROBLEM: u8 = 1;
/// The tool could not do its job.
pub const EXIT_ERROR: u8 = 2;

/// An input or environment fault; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target could not be parsed.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A file could not be read.
    #[error("cannot read {what} {path:?}: {source}")]
    ReadFile {
        /// What the file was for (`--cafile`, ...).
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A flag value is out of range or malformed.
    #[error("invalid {flag} {value:?}: {reason}")]
    Flag {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// An environment variable named by a flag is not set.
    #[error("environment variable {var} (named by {flag}) is not set")]
    MissingEnv {
        /// The flag that named it.
        flag: &'static str,
        /// The variable.
        var: String,
    },
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// The test PKI could not be written.
    #[error("certs: {0}")]
    Certs(#[from] crate::pki::PkiError),
    /// A line of a `scan` targets file is bad.
    #[error(transparent)]
    Targets(#[from] TargetsError),
    /// A scenario file could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A lab broker could not be started.
    #[error("lab: {0}")]
    Lab(String),
    /// A report file could not be written.
    #[error("cannot write {path:?}: {source}")]
    WriteReport {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The demo could not set up its brokers.
    #[error("demo: {0}")]
    Demo(String),
}

impl Error {
    /// True when the output's reader went away (a closed pipe): not a fault to report.
    pub fn is_broken_pipe(&self) -> bool {
        let Error::Output(e) = self else {
            return false;
        };
        // Serialisers wrap the I/O error (serde_json's io::Error::other): look inside.
        let inner = e.get_ref().and_then(|inner| {
            inner
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                .or_else(|| {
                    inner
                        .downcast_ref::<std::io::Error>()
                        .map(std::io::Error::kind)
                })
        });
        e.kind() == std::io::ErrorKind::BrokenPipe || inner == Some(std::io::ErrorKind::BrokenPipe)
    }
}

/// Why a suite could not be loaded; always names the file, and the line when known.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A path given on the command line does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A folder given on the command line holds no `*.yaml` file.
    #[error("{path}: no scenario files (*.yaml, *.yml) found")]
    Empty {
        /// The folder.
        path: PathBuf,
    },
    /// A file is not valid YAML or does not fit the format.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong, with the valid choices when the set is closed.
        message: String,
    },
    /// A value is well-formed YAML but wrong for the format (unknown profile, missing file).
    #[error("{path}:{line}: case {case:?}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the case (0 when unknown).
        line: u64,
        /// The case name (or index).
        case: String,
        /// What is wrong.
        message: String,
    },
}
/// A bad line of a targets file: exit code 2, naming `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {reason}", path.display())]
pub struct TargetsError {
    /// The targets file.
    pub path: PathBuf,
    /// The line (1-based; 0 when the file as a whole is at fault).
    pub line: usize,
    /// What is wrong and what is expected.
    pub reason: String,
}
