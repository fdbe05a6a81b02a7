//! The command line (clap derive), as the README documents it. Flags borrow mosquitto_pub's
//! names. This module only describes and parses; `app` resolves files and runs.
// These doc comments are clap's --help text, written for a terminal, not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Diagnose MQTT-over-TLS connections with rustls and OpenSSL side by side.
#[derive(Debug, Parser)]
#[command(name = "mqtls", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// When to use colour: auto (on a terminal, unless NO_COLOR; CLICOLOR_FORCE forces it), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE colours anywhere.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe one broker with rustls and OpenSSL and name the cause of any failure.
    Diagnose(Box<DiagnoseArgs>),
    /// Show mqtls on three classic failures, on local brokers it starts itself; then run the
    /// bundled suite and write reports/demo.{md,json,xml} (see --reports).
    Demo(DemoArgs),
    /// Run scenario suites (YAML) against a target or lab brokers, with expectations.
    Run(RunArgs),
    /// Diagnose a fleet of brokers listed in a file, streaming one JSON line per host.
    Scan(Box<ScanArgs>),
    /// Check your own certificate and key files offline, with both TLS stacks.
    Inspect(InspectArgs),
    /// Merge the JSON results of several runs (e.g. one per broker or CI job) into one report.
    Report(ReportArgs),
    /// Test certificates.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Lab brokers.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Print the JSON Schema of mqtls's JSON documents (committed as reports/schema.json).
    Schema,
    /// List every diagnosis code and what it means (docs/codes.md is the Markdown form).
    Codes {
        /// Output format.
        #[arg(long, value_enum, default_value_t = crate::report::Format::Text)]
        format: crate::report::Format,
    },
    /// Explain an error message from any TLS stack (or a whole broker log with --log).
    Explain(ExplainArgs),
}

/// `mqtls explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The message, joined by spaces; read from stdin when empty.
    #[arg(value_name = "TEXT")]
    pub text: Vec<String>,
    /// Read a whole mosquitto, RabbitMQ, EMQX or VerneMQ log and group its TLS failures.
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub log: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
}

/// The formats of a command that has no Markdown rendering (`inspect`, `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    /// Text for a terminal.
    Text,
    /// The JSON document `reports/schema.json` describes.
    Json,
}

/// `mqtls lab ...`.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Print the broker configuration of the suites' profiles (mosquitto, RabbitMQ, EMQX).
    Render {
        /// Scenario files or folders holding the profiles.
        #[arg(required = true, value_name = "SUITE")]
        suites: Vec<PathBuf>,
        /// The broker to render for.
        #[arg(long, value_parser = crate::lab::BrokerKind::renderable())]
        broker: crate::lab::BrokerKind,
        /// Only this profile.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// Listener port to write.
        #[arg(long, default_value_t = 8883)]
        port: u16,
    },
}

/// `mqtls certs ...`.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write the test PKI (a good chain plus one broken certificate per catalogue entry).
    Generate {
        /// Directory to write into (created if missing).
        dir: PathBuf,
    },
}

/// Which backends to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// rustls only.
    Rustls,
    /// OpenSSL only.
    Openssl,
    /// Both, concurrently.
    Both,
}

/// MQTT protocol version on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MqttVersionArg {
    /// MQTT 3.1.1.
    #[value(name = "3.1.1", alias = "311", alias = "4")]
    V311,
    /// MQTT 5.
    #[value(name = "5")]
    V5,
}

/// The user's own TLS files, shared by `diagnose` and `inspect`.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Trust anchors (PEM bundle); repeatable. Without it: the system roots.
    #[arg(long, value_name = "FILE")]
    pub cafile: Vec<PathBuf>,
    /// Client certificate (PEM, leaf first, optionally followed by its chain).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Environment variable holding the password of an encrypted --key.
    #[arg(long, value_name = "VAR")]
    pub key_password_env: Option<String>,
    /// Intermediates the chain analysis may use to find a path (never trusted), like
    /// `openssl verify -untrusted`; repeatable. Certificates beside --cafile, --cert and
    /// --untrusted (in the same folders) are searched too.
    #[arg(long, value_name = "FILE")]
    pub untrusted: Vec<PathBuf>,
    /// Do not download missing issuers from a certificate's AIA caIssuers URL (plain HTTP,
    /// short deadline, as browsers do).
    #[arg(long)]
    pub offline: bool,
}

/// `mqtls diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// mqtts://host[:port] (default port 8883), host:port, [::1]:8883, or mqtt://host:port.
    pub target: String,
    /// The user's own files.
    #[command(flatten)]
    pub files: FileArgs,
    /// SNI to send (default: the host, when it is a name).
    #[arg(long, value_name = "NAME", conflicts_with = "no_sni")]
    pub sni: Option<String>,
    /// Send no SNI.
    #[arg(long)]
    pub no_sni: bool,
    /// The name the broker's certificate is verified against (default: the host).
    #[arg(long, value_name = "NAME")]
    pub expect_name: Option<String>,
    /// Verify the broker's chain at this instant instead of now, on both backends, and judge
    /// at it: RFC 3339 (`2024-01-01T00:00:00Z`) or Unix seconds.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// How to probe.
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Warn (`cert_expires_soon`) about a certificate on the path, or the client certificate,
    /// that expires within N days.
    #[arg(long, value_name = "N", default_value_t = crate::classify::DEFAULT_WARN_DAYS)]
    pub warn_days: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::report::DiagnoseFormat::Text)]
    pub format: crate::report::DiagnoseFormat,
}

/// How each probe runs, shared by `diagnose` and `scan`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Offer only these TLS versions (1.0, 1.1, 1.2, 1.3); repeatable. Each one given is offered
    /// and no other: `--tls-version 1.2` pins TLS 1.2. Not like mosquitto_pub's flag of the same
    /// name, which in mosquitto 2.x sets a minimum (`--tls-version tlsv1.2` allows 1.2 and 1.3).
    #[arg(long = "tls-version", value_name = "V")]
    pub tls_versions: Vec<String>,
    /// ALPN protocol to offer; repeatable.
    #[arg(long = "tls-alpn", value_name = "PROTO")]
    pub alpn: Vec<String>,
    /// Which TLS stacks to probe with.
    #[arg(long, value_enum, default_value_t = BackendChoice::Both)]
    pub backend: BackendChoice,
    /// MQTT version of the CONNECT.
    #[arg(long, value_enum, default_value_t = MqttVersionArg::V311)]
    pub mqtt_version: MqttVersionArg,
    /// MQTT client identifier (default: mqtls-<pid>).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// MQTT user name.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Environment variable holding the MQTT password (never on the command line).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// TLS-PSK identity to offer (mosquitto `psk_file`: the part before the colon). OpenSSL
    /// probes with it; rustls has no external PSK and says so. Needs --psk-key-env.
    #[arg(long, value_name = "ID", requires = "psk_key_env")]
    pub psk_identity: Option<String>,
    /// Environment variable holding the pre-shared key in hex (never on the command line).
    #[arg(long, value_name = "VAR", requires = "psk_identity")]
    pub psk_key_env: Option<String>,
    /// Deadline of each phase of each probe, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "5",
        allow_hyphen_values = true
    )]
    pub timeout: String,
}

/// `mqtls scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// One target per line (`mqtts://host:port`, `host:port`; `#` comments), or CSV with a
    /// header naming `target` and any of
    /// `cafile,cert,key,sni,expect_name,untrusted,psk_identity,psk_key_env`.
    #[arg(value_name = "TARGETS_FILE")]
    pub targets: PathBuf,
    /// The user's own files, for hosts whose CSV row names none.
    #[command(flatten)]
    pub files: FileArgs,
    /// How to probe.
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Hosts in flight at once (default: 16 per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Deadline for each host, follow-up probes included, in seconds (default: 6 × --timeout).
    #[arg(long, value_name = "SECONDS")]
    pub deadline: Option<String>,
    /// Probe only share K of N (1-based), chosen by a stable hash of each target line, so N
    /// jobs split a fleet without coordination.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<String>,
    /// Write the JSON lines here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Verify every host's chain at this instant instead of now, and judge at it: RFC 3339
    /// (`2024-01-01T00:00:00Z`) or Unix seconds.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// Warn (`cert_expires_soon`) about a certificate on a host's path, or the client
    /// certificate, that expires within N days.
    #[arg(long, value_name = "N", default_value_t = crate::classify::DEFAULT_WARN_DAYS)]
    pub warn_days: u32,
    /// Output: one JSON line per host as it finishes, or one Prometheus exposition of every
    /// host at the end (for node_exporter's textfile collector).
    #[arg(long, value_enum, default_value_t = ScanFormat::Jsonl)]
    pub format: ScanFormat,
}

/// The outputs of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// One `diagnose` JSON document per line, with a `scan` object.
    Jsonl,
    /// A Prometheus text exposition (blackbox_exporter's names), written when the scan ends.
    Openmetrics,
}

/// `mqtls inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The user's own files.
    #[command(flatten)]
    pub files: FileArgs,
    /// The broker's certificate chain (PEM, leaf first), e.g. its certfile.
    #[arg(long, value_name = "FILE")]
    pub server_cert: Option<PathBuf>,
    /// The name clients connect with (checked against the server certificate's SANs).
    #[arg(long, value_name = "NAME")]
    pub expect_name: Option<String>,
    /// Check at this instant instead of now, on both stacks: RFC 3339
    /// (`2024-01-01T00:00:00Z`) or Unix seconds.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// Warn (`cert_expires_soon`) about a certificate in the files that expires within N days.
    #[arg(long, value_name = "N", default_value_t = crate::classify::DEFAULT_WARN_DAYS)]
    pub warn_days: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
}

/// `mqtls report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// JSON files written by `mqtls run --json`, or JSON lines written by `mqtls scan`.
    #[arg(required = true, value_name = "RESULT.json")]
    pub results: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Formats of a merged report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The compatibility matrix.
    Markdown,
    /// One merged JSON document (the `run` shape).
    Json,
    /// JUnit XML.
    Junit,
}

/// `mqtls run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (every *.yaml under a folder).
    #[arg(required = true, value_name = "SUITE")]
    pub suites: Vec<PathBuf>,
    /// Target for cases that name neither a target nor a broker profile.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Start these brokers locally for cases with a broker profile.
    #[arg(long, value_parser = crate::lab::BrokerKind::startable(), value_delimiter = ',', value_name = "BROKERS")]
    pub lab: Vec<crate::lab::BrokerKind>,
    /// Cases in flight at once (default: 4 per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the Markdown report here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print only failures and the summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Load and validate the suites, print one case id per line, and probe nothing.
    #[arg(long)]
    pub list: bool,
}

/// `mqtls demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output format of each diagnosis.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Use the in-process TLS responder even when mosquitto is installed.
    #[arg(long)]
    pub no_mosquitto: bool,
    /// Brokers to run the bundled suite on (default: every lab broker installed, else the
    /// in-process responder).
    #[arg(long, value_parser = crate::lab::BrokerKind::startable(), value_delimiter = ',', value_name = "BROKERS")]
    pub lab: Vec<crate::lab::BrokerKind>,
    /// Skip the bundled suite; show only the three failures of the story.
    #[arg(long)]
    pub story_only: bool,
    /// Where the bundled suite's reports are written (demo.md, demo.json, demo.xml).
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub reports: PathBuf,
}
