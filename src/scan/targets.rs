//! The targets file of `mqtls scan` and the partition of a fleet between CI jobs.
//!
//! Two formats, told apart by the first line that is neither blank nor a `#` comment:
//! - one target per line (`mqtts://host:port`, `host:port`, `[::1]:8883`);
//! - CSV whose header starts with `target` and names more columns from [`COLUMNS`], e.g.
//!   `target,cafile,cert,key`, for hosts that need their own trust anchors or identity. It is
//!   read by the `csv` crate, one record per line: a field in double quotes (the quote right
//!   after the comma) may hold a comma, `h:8883,"certs/acme, inc.pem"`, and `""` is a quote.
//!
//! Parsing only: files named in the CSV are resolved against the targets file's folder but not
//! read here. Every error names the file and the line.
// A targets file is user text: no indexing that could panic on it.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::path::{Path, PathBuf};

pub use crate::error::TargetsError;
use crate::target::Target;

/// The CSV columns understood, in the order the error message lists them.
pub const COLUMNS: [&str; 9] = [
    "target",
    "cafile",
    "cert",
    "key",
    "sni",
    "expect_name",
    "untrusted",
    "psk_identity",
    "psk_key_env",
];

/// One host of the fleet, as the targets file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The target as written (trimmed): the identity of the host in outputs and partitions.
    pub input: String,
    /// Line number in the targets file (1-based).
    pub line: usize,
    /// The parsed address.
    pub target: Target,
    /// Per-host CA file(s) (CSV `cafile`); empty: the command line's `--cafile`.
    pub cafiles: Vec<PathBuf>,
    /// Per-host client certificate (CSV `cert`).
    pub cert: Option<PathBuf>,
    /// Per-host client key (CSV `key`).
    pub key: Option<PathBuf>,
    /// Per-host SNI (CSV `sni`); `None`: the host when it is a name.
    pub sni: Option<String>,
    /// Per-host name to verify (CSV `expect_name`); `None`: the host.
    pub expect_name: Option<String>,
    /// Per-host intermediates for the chain analysis (CSV `untrusted`, `;`-separated); empty:
    /// the command line's `--untrusted`.
    pub untrusted: Vec<PathBuf>,
    /// Per-host pre-shared key (CSV `psk_identity` and `psk_key_env`, the variable holding
    /// the hex key, read when the file is parsed); `None`: the command line's.
    pub psk: Option<crate::probe::psk::Psk>,
}

/// A share of the fleet: `K/N`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This share, 1..=`of`.
    pub index: u64,
    /// Number of shares.
    pub of: u64,
}

impl Partition {
    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Option<Partition> {
        let (k, n) = text.trim().split_once('/')?;
        let (index, of) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
        (index >= 1 && index <= of).then_some(Partition { index, of })
    }

    /// True when `input` (a target as written) belongs to this share. The hash is FNV-1a,
    /// fixed by its definition, so every machine and every mqtls version splits alike; std's
    /// `RandomState` would not.
    pub fn contains(&self, input: &str) -> bool {
        fnv1a(input.trim().as_bytes()) % self.of == self.index - 1
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.of)
    }
}

/// Parses a targets file's text; `path` names it in errors and anchors relative CSV paths.
pub fn parse(path: &Path, text: &str) -> Result<Vec<HostEntry>, TargetsError> {
    let base = path.parent().unwrap_or(Path::new(""));
    let err = |line: usize, reason: String| TargetsError {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((first_no, first)) = lines.next() else {
        return Err(err(
            0,
            "holds no target (expected one URL per line, or CSV)".into(),
        ));
    };
    let header = csv_header(first).map_err(|reason| err(first_no, reason))?;
    let mut entries = Vec::new();
    if header.is_none() {
        entries.push(url_line(first_no, first).map_err(|r| err(first_no, r))?);
    }
    for (no, line) in lines {
        let entry = match &header {
            Some(columns) => csv_line(base, columns, no, line),
            None => url_line(no, line),
        };
        entries.push(entry.map_err(|reason| err(no, reason))?);
    }
    if entries.is_empty() {
        return Err(err(first_no, "a CSV header and no target below it".into()));
    }
    Ok(entries)
}

/// One line of the CSV, split by the `csv` crate: fields trimmed, a field in double quotes may
/// hold a comma. Each line is its own record, so every error names its line (the crate's record
/// positions count from where a read started, before skipped comments and blank lines), and a
/// quoted field cannot span lines, which no column needs.
fn csv_record(line: &str) -> Result<csv::StringRecord, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(record) => record.map_err(|e| format!("not CSV: {e}")),
        None => Ok(csv::StringRecord::new()),
    }
}

/// `Some(columns)` when `line` is a CSV header, `None` when it is a target.
fn csv_header(line: &str) -> Result<Option<Vec<&'static str>>, String> {
    let names = csv_record(line)?;
    if names.get(0) != Some("target") {
        return Ok(None);
    }
    let mut columns = Vec::new();
    for name in &names {
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if columns.contains(c) => return Err(format!("column {name:?} twice")),
            Some(c) => columns.push(*c),
            None => {
                return Err(format!(
                    "unknown CSV column {name:?} (expected one of: {})",
                    COLUMNS.join(", ")
                ));
            }
        }
    }
    Ok(Some(columns))
}

fn url_line(no: usize, line: &str) -> Result<HostEntry, String> {
    if line.contains(',') {
        return Err(format!(
            "{line:?} is not a target; for CSV, start the file with a header such as `target,cafile,cert,key`"
        ));
    }
    entry(no, line)
}

fn csv_line(
    base: &Path,
    columns: &[&'static str],
    no: usize,
    line: &str,
) -> Result<HostEntry, String> {
    let fields = csv_record(line)?;
    if fields.len() != columns.len() {
        return Err(format!(
            "{} field(s) where the header names {} ({}); quote a field that holds a comma",
            fields.len(),
            columns.len(),
            columns.join(",")
        ));
    }
    let mut host = entry(no, fields.get(0).unwrap_or_default())?;
    let file = |f: &str| (!f.is_empty()).then(|| base.join(f));
    let (mut psk_identity, mut psk_key_env) = ("", "");
    for (column, field) in columns.iter().zip(&fields).skip(1) {
        match *column {
            "cafile" => host.cafiles = field.split(';').filter_map(file).collect(),
            "untrusted" => host.untrusted = field.split(';').filter_map(file).collect(),
            "cert" => host.cert = file(field),
            "key" => host.key = file(field),
            "sni" => host.sni = (!field.is_empty()).then(|| field.to_string()),
            "expect_name" => host.expect_name = (!field.is_empty()).then(|| field.to_string()),
            "psk_identity" => psk_identity = field,
            "psk_key_env" => psk_key_env = field,
            _ => {}
        }
    }
    host.psk = match (psk_identity, psk_key_env) {
        ("", "") => None,
        ("", _) => return Err("a psk_key_env without a psk_identity".into()),
        (_, "") => return Err("a psk_identity without a psk_key_env".into()),
        (identity, var) => {
            // The error names the variable, never its value.
            let key = std::env::var(var)
                .map_err(|_| format!("psk_key_env: the environment variable {var} is not set"))?;
            Some(
                crate::probe::psk::Psk::new(identity, &key)
                    .map_err(|e| format!("psk_key_env {var}: {e}"))?,
            )
        }
    };
    match (&host.cert, &host.key) {
        (Some(_), None) => {
            Err("a cert without a key (the client certificate needs its key)".into())
        }
        (None, Some(_)) => Err("a key without a cert".into()),
        _ => Ok(host),
    }
}

fn entry(line: usize, input: &str) -> Result<HostEntry, String> {
    let target = Target::parse(input).map_err(|e| e.to_string())?;
    Ok(HostEntry {
        input: input.trim().to_string(),
        line,
        target,
        cafiles: Vec::new(),
        cert: None,
        key: None,
        sni: None,
        expect_name: None,
        untrusted: Vec::new(),
        psk: None,
    })
}

/// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<HostEntry>, TargetsError> {
        parse(Path::new("fleet/hosts.txt"), text)
    }

    #[test]
    fn url_lines_skip_comments_and_blanks() {
        let hosts =
            parse_text("# fleet\n\nmqtts://a.example:8883\n  b.example:1234  \n[::1]:8884\n")
                .unwrap();
        let inputs: Vec<_> = hosts.iter().map(|h| (h.line, h.input.as_str())).collect();
        assert_eq!(
            inputs,
            [
                (3, "mqtts://a.example:8883"),
                (4, "b.example:1234"),
                (5, "[::1]:8884")
            ]
        );
        assert_eq!(hosts[1].target.port, 1234);
    }

    #[test]
    fn websocket_urls_keep_their_scheme_and_path() {
        use crate::target::Scheme;
        let hosts = parse_text(
            "target,cafile\nwss://a.example:8084/mqtt,ca.pem\nws://b.example/ws,\nwss://c.example,\n",
        )
        .unwrap();
        let got: Vec<_> = hosts
            .iter()
            .map(|h| (h.target.scheme, h.target.port, h.target.path.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Scheme::Wss, 8084, Some("/mqtt")),
                (Scheme::Ws, 80, Some("/ws")),
                (Scheme::Wss, 443, Some("/mqtt")),
            ]
        );
    }

    #[test]
    fn csv_resolves_files_against_the_targets_folder() {
        let hosts = parse_text(
            "target,cafile,cert,key\nh1:8883,ca.pem,c.pem,k.pem\nh2:8883,a.pem;b.pem,,\n",
        )
        .unwrap();
        assert_eq!(hosts[0].cafiles, [PathBuf::from("fleet/ca.pem")]);
        assert_eq!(hosts[0].key, Some(PathBuf::from("fleet/k.pem")));
        assert_eq!(hosts[1].cafiles.len(), 2);
        assert_eq!(hosts[1].cert, None);
        let hosts = parse_text(
            "target,cafile,untrusted
h1:8883,root.pem,int.pem;cross.pem
h2:8883,,
",
        )
        .unwrap();
        assert_eq!(
            hosts[0].untrusted,
            [
                PathBuf::from("fleet/int.pem"),
                PathBuf::from("fleet/cross.pem")
            ]
        );
        assert!(hosts[1].untrusted.is_empty());
    }

    #[test]
    fn csv_fields_may_be_quoted() {
        // Before the csv crate, a comma inside quotes split the field: "3 field(s) where the
        // header names 2".
        let text = "# fleet\ntarget,cafile\n  # indented comment\n\n   \n\
                    h1:8883,\"certs/acme, inc.pem\"\n\
                    \"h2:8883\",\"a.pem;b,c.pem\"\n\
                    h3:8883,\"say \"\"hi\"\".pem\"\n";
        let hosts = parse_text(text).unwrap();
        let got: Vec<_> = hosts.iter().map(|h| (h.line, h.input.as_str())).collect();
        assert_eq!(got, [(6, "h1:8883"), (7, "h2:8883"), (8, "h3:8883")]);
        assert_eq!(
            hosts[0].cafiles,
            [PathBuf::from("fleet/certs/acme, inc.pem")]
        );
        assert_eq!(
            hosts[1].cafiles,
            [PathBuf::from("fleet/a.pem"), PathBuf::from("fleet/b,c.pem")]
        );
        assert_eq!(hosts[2].cafiles, [PathBuf::from("fleet/say \"hi\".pem")]);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let cases = [
            (
                "a:8883\nb:99999\n",
                "fleet/hosts.txt:2: target \"b:99999\" has invalid port",
            ),
            (
                "a:8883\nb:1,ca.pem\n",
                "fleet/hosts.txt:2: \"b:1,ca.pem\" is not a target",
            ),
            (
                "target,ca\n",
                "fleet/hosts.txt:1: unknown CSV column \"ca\"",
            ),
            (
                "target,cafile\n# x\nh:1\n",
                "fleet/hosts.txt:3: 1 field(s) where the header",
            ),
            (
                "target,cert,key\nh:1,c.pem,\n",
                "fleet/hosts.txt:2: a cert without a key",
            ),
            (
                "target,psk_identity,psk_key_env\nh:1,dev1,\n",
                "fleet/hosts.txt:2: a psk_identity without a psk_key_env",
            ),
            (
                "target,psk_identity,psk_key_env\nh:1,,MQTLS_SURELY_UNSET_PSK\n",
                "fleet/hosts.txt:2: a psk_key_env without a psk_identity",
            ),
            (
                "target,psk_identity,psk_key_env\nh:1,dev1,MQTLS_SURELY_UNSET_PSK\n",
                "fleet/hosts.txt:2: psk_key_env: the environment variable MQTLS_SURELY_UNSET_PSK is not set",
            ),
            // PATH is set and is no hex key: the message names the variable, not its value.
            (
                "target,psk_identity,psk_key_env\nh:1,dev1,PATH\n",
                "fleet/hosts.txt:2: psk_key_env PATH: not a hex key",
            ),
            ("# nothing\n", "fleet/hosts.txt:0: holds no target"),
            (
                "target,cafile\n",
                "fleet/hosts.txt:1: a CSV header and no target",
            ),
        ];
        for (text, want) in cases {
            let got = parse_text(text).unwrap_err().to_string();
            assert!(got.starts_with(want), "{text:?}: {got}");
        }
    }

    #[test]
    fn partitions_are_disjoint_and_cover_the_fleet() {
        let fleet: Vec<String> = (0..2000)
            .map(|i| format!("broker-{i}.example:8883"))
            .collect();
        for n in [1, 2, 3, 7, 16] {
            let mut seen = vec![0u32; fleet.len()];
            for k in 1..=n {
                let p = Partition::parse(&format!("{k}/{n}")).unwrap();
                let share = fleet.iter().enumerate().filter(|(_, t)| p.contains(t));
                for (i, _) in share {
                    seen[i] += 1;
                }
            }
            assert!(
                seen.iter().all(|&c| c == 1),
                "N={n}: every host exactly once"
            );
        }
        // Shares are roughly even, and the split is fixed forever (a stable hash).
        let p = Partition::parse("1/4").unwrap();
        let share = fleet.iter().filter(|t| p.contains(t)).count();
        assert!((400..600).contains(&share), "{share}");
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn partition_syntax() {
        assert_eq!(Partition::parse("2/3"), Some(Partition { index: 2, of: 3 }));
        for bad in ["0/3", "4/3", "1", "a/b", "1/0", ""] {
            assert_eq!(Partition::parse(bad), None, "{bad}");
        }
    }
}
