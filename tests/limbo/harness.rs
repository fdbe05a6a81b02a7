//! The x509-limbo yardstick: runs limbo's SERVER cases through [`mqtls::inspect::inspect`]
//! and measures how its verdicts and findings hold against two references, limbo's own
//! rustls-webpki harness and `openssl verify` with mqtls's settings.
//!
//! Responsibility: load cases (the vendored subset or the whole corpus), run each one as a user
//! would (`--cafile anchors.pem --server-cert chain.pem --expect-name NAME`, at the case's
//! validation time), and compute the figures: skips by reason, verdict agreement per backend,
//! false alarms, unclassified rejections, repeated codes, self-contradictions in the findings'
//! words, and timing. It asserts nothing: `tests/limbo.rs` holds the subset to the targets,
//! `examples/limbo.rs` (`bench/limbo`) prints the figures for the whole corpus, and
//! `tests/limbo_live.rs` loads the cases that come with a key and writes their files to serve
//! them live.
//!
//! All three include this file with `#[path]`, and each uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::Backend;
use mqtls::inputs::InputPaths;
use mqtls::inspect::{Finding, InspectInput, InspectReport, Severity, inspect};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One limbo test case, the fields that matter here (limbo's schema: `limbo-schema.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// limbo's id, e.g. `rfc5280::nc::excluded-dns-match`.
    pub id: String,
    #[serde(default)]
    pub description: String,
    /// `SERVER` or `CLIENT`; only SERVER cases describe what `inspect` checks.
    pub validation_kind: String,
    /// What RFC 5280 / CABF say (`SUCCESS`/`FAILURE`); the figures use the references instead,
    /// because mqtls reports what its stacks do.
    pub expected_result: String,
    /// The leaf, PEM.
    pub peer_certificate: String,
    /// The leaf's private key, PEM, where limbo gives one: what a live server needs to serve
    /// the case (`tests/limbo_live.rs`).
    #[serde(default)]
    pub peer_certificate_key: Option<String>,
    /// What a broker would send after its leaf, PEM each.
    #[serde(default)]
    pub untrusted_intermediates: Vec<String>,
    /// The CA file, PEM each.
    #[serde(default)]
    pub trusted_certs: Vec<String>,
    /// The name the client checks (`--expect-name`); `None` in a few cases.
    pub expected_peer_name: Option<PeerName>,
    /// RFC 3339; absent means "now" (what both references did).
    pub validation_time: Option<String>,
    #[serde(default)]
    pub crls: Vec<String>,
    /// A chain-length limit the validator must apply; neither stack here takes one.
    pub max_chain_depth: Option<u64>,
    /// The two references; `None` where they did not run (CLIENT cases).
    #[serde(default)]
    pub reference: Option<Reference>,
}

/// `expected_peer_name`: `DNS`, `IP` or `RFC822`, and the name.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerName {
    /// `DNS`, `IP` or `RFC822`.
    pub kind: String,
    /// The name itself.
    pub value: String,
}

/// What each reference stack answered for a case.
#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    /// limbo's rustls-webpki harness.
    pub rustls: RustlsRef,
    /// `openssl verify` with mqtls's settings.
    pub openssl: OpensslRef,
}

/// limbo's rustls-webpki harness: `SUCCESS`, `FAILURE` or `SKIPPED`, and the webpki error.
#[derive(Debug, Clone, Deserialize)]
pub struct RustlsRef {
    /// `SUCCESS`, `FAILURE` or `SKIPPED`.
    pub result: String,
    /// The webpki error (`Debug` form), when it failed or skipped.
    pub context: Option<String>,
}

/// `openssl verify` with mqtls's settings: the verdict and its error line.
#[derive(Debug, Clone, Deserialize)]
pub struct OpensslRef {
    /// True when `openssl verify` accepted the chain.
    pub ok: bool,
    /// Its error line, `error N at D depth lookup: TEXT`.
    pub error: Option<String>,
}

impl Reference {
    /// The reference verdict of `backend`: true when it accepts.
    pub fn accepts(&self, backend: Backend) -> bool {
        match backend {
            Backend::Rustls => self.rustls.result == "SUCCESS",
            Backend::Openssl => self.openssl.ok,
        }
    }

    /// The webpki error kind without its payload (`CertExpired { .. }` → `CertExpired`), or
    /// `accepts`. The same normalisation as `bench/limbo-subset.py`'s strata.
    pub fn rustls_reason(&self) -> String {
        if self.rustls.result == "SUCCESS" {
            return "accepts".into();
        }
        let context = self.rustls.context.as_deref().unwrap_or("?");
        let ident = context
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|&end| end > 0 && context[end..].trim_start().starts_with(['(', '{']));
        match ident {
            Some(end) => context[..end].to_string(),
            None => context.to_string(),
        }
    }

    /// The verify error without its depth (`error 20 at 1 depth lookup: X` → `20 X`), or
    /// `accepts`.
    pub fn openssl_kind(&self) -> String {
        if self.openssl.ok {
            return "accepts".into();
        }
        let error = self.openssl.error.as_deref().unwrap_or("?");
        let parsed = error.strip_prefix("error ").and_then(|rest| {
            let (number, rest) = rest.split_once(" at ")?;
            let (_, text) = rest.split_once(" depth lookup: ")?;
            Some(format!("{number} {text}"))
        });
        parsed.unwrap_or_else(|| error.to_string())
    }

    /// True when a rejecting reference says why in its own terms. OpenSSL's error 1
    /// ("unspecified certificate verification error") names nothing that inspect could match.
    pub fn names_a_reason(&self) -> bool {
        let rustls = self.rustls.result == "FAILURE" && self.rustls.context.is_some();
        let openssl = !self.openssl.ok
            && self
                .openssl
                .error
                .as_deref()
                .is_some_and(|e| !e.starts_with("error 1 at "));
        rustls || openssl
    }
}

// ---------------------------------------------------------------------------------------------
// Loading.

/// The vendored subset (`tests/data/x509-limbo/cases.json`), references inline.
pub fn load_vendored(path: &Path) -> Vec<Case> {
    #[derive(Deserialize)]
    struct Subset {
        cases: Vec<Case>,
    }
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str::<Subset>(&text)
        .unwrap_or_else(|e| panic!("{} is not a limbo subset: {e}", path.display()))
        .cases
}

/// The whole corpus from its three decompressed files: `limbo.json`, the rustls harness's
/// results (`harness-rustls.json`) and the `openssl verify` lines (`openssl-cli-ref.jsonl`).
pub fn load_corpus(limbo: &Path, rustls: &Path, openssl: &Path) -> Vec<Case> {
    #[derive(Deserialize)]
    struct Limbo {
        testcases: Vec<Case>,
    }
    #[derive(Deserialize)]
    struct RustlsFile {
        results: Vec<RustlsLine>,
    }
    #[derive(Deserialize)]
    struct RustlsLine {
        id: String,
        actual_result: String,
        context: Option<String>,
    }
    #[derive(Deserialize)]
    struct OpensslLine {
        id: String,
        ok: bool,
        error: Option<String>,
    }
    let read = |p: &Path| {
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
    };
    let limbo: Limbo = serde_json::from_str(&read(limbo))
        .unwrap_or_else(|e| panic!("{} is not limbo.json: {e}", limbo.display()));
    let rustls: RustlsFile = serde_json::from_str(&read(rustls))
        .unwrap_or_else(|e| panic!("{} is not a rustls harness file: {e}", rustls.display()));
    let mut rustls: BTreeMap<String, RustlsRef> = rustls
        .results
        .into_iter()
        .map(|r| {
            let reference = RustlsRef {
                result: r.actual_result,
                context: r.context,
            };
            (r.id, reference)
        })
        .collect();
    let mut openssl: BTreeMap<String, OpensslRef> = read(openssl)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let r: OpensslLine = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: bad line {l:?}: {e}", openssl.display()));
            let reference = OpensslRef {
                ok: r.ok,
                error: r.error,
            };
            (r.id, reference)
        })
        .collect();
    limbo
        .testcases
        .into_iter()
        .map(|mut case| {
            if let (Some(rustls), Some(openssl)) =
                (rustls.remove(&case.id), openssl.remove(&case.id))
            {
                case.reference = Some(Reference { rustls, openssl });
            }
            case
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running.

/// What one case gave.
#[derive(Debug)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// Why the case was not run; `None` when it was.
    pub skip: Option<&'static str>,
    /// The references, when the case has them.
    pub reference: Option<Reference>,
    /// The report, or why `inspect` returned `Err` (which the user would see as exit code 2).
    pub report: Result<InspectReport, String>,
    /// Self-contradictions found in the report's words (see [`contradictions`]).
    pub contradictions: Vec<Contradiction>,
    /// Time spent in `inspect` (not in writing the files).
    pub elapsed: Duration,
}

impl CaseResult {
    fn skipped(case: &Case, why: &'static str) -> CaseResult {
        CaseResult {
            id: case.id.clone(),
            skip: Some(why),
            reference: case.reference.clone(),
            report: Err(why.to_string()),
            contradictions: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// inspect's verdict for `backend`, with its error text; `None` when inspect failed.
    pub fn verdict(&self, backend: Backend) -> Option<(bool, Option<&str>)> {
        let report = self.report.as_ref().ok()?;
        let v = report.verification.iter().find(|v| v.backend == backend)?;
        Some((v.ok, v.error.as_deref()))
    }

    /// The error-severity findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.report
            .iter()
            .flat_map(|r| r.findings.iter())
            .filter(|f| f.severity == Severity::Error)
    }

    /// `(code, subject)` pairs that occur more than once in the report, with how often.
    pub fn repeated(&self) -> Vec<String> {
        let mut counts: BTreeMap<(Code, Option<&str>), usize> = BTreeMap::new();
        for f in self.report.iter().flat_map(|r| r.findings.iter()) {
            *counts.entry((f.code, f.subject.as_deref())).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((code, subject), n)| format!("{code} on {} ({n}×)", subject.unwrap_or("-")))
            .collect()
    }
}

/// Why a case is not run, if it is not: what `inspect` has no input for.
pub fn skip_reason(case: &Case) -> Option<&'static str> {
    if case.validation_kind != "SERVER" {
        return Some("CLIENT validation (inspect checks a server chain)");
    }
    if !case.crls.is_empty() {
        return Some("CRLs (inspect does not check revocation)");
    }
    if case.max_chain_depth.is_some() {
        return Some("max_chain_depth (neither stack is configured with one)");
    }
    match &case.reference {
        None => Some("no reference result"),
        Some(r) if r.rustls.result == "SKIPPED" => Some("rustls reference SKIPPED"),
        Some(_) => None,
    }
}

/// Runs every case on `threads` threads (each case in its own temporary directory); the
/// results come back in the cases' order, with the wall time of the whole run.
pub fn run(cases: &[Case], threads: usize) -> (Vec<CaseResult>, Duration) {
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, CaseResult)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(i) else {
                            return done;
                        };
                        done.push((i, run_case(case)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a limbo worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    (
        results.into_iter().map(|(_, r)| r).collect(),
        start.elapsed(),
    )
}

/// The files a case is run from, as a user would hand them to `mqtls inspect`.
pub struct CaseFiles {
    /// `trusted_certs`: the `--cafile`.
    pub anchors: PathBuf,
    /// `peer_certificate` then `untrusted_intermediates`: the `--server-cert` (a fullchain).
    pub chain: PathBuf,
    /// The leaf alone, for `openssl verify LEAF`.
    pub leaf: PathBuf,
    /// The intermediates alone, for `openssl verify -untrusted FILE`.
    pub untrusted: PathBuf,
}

/// Writes the case's PEM files into `dir`.
pub fn write_case_files(case: &Case, dir: &Path) -> CaseFiles {
    write_files(case, dir, dir)
}

/// Writes the CA file alone into `dir/ca` and the other files into `dir/broker`. The chain
/// analysis searches the certificate files beside the CA file for missing issuers; beside a CA
/// file of its own it finds none, so it builds paths from what the broker sent and the CA file
/// only, as it must when a live probe of the case is compared with `inspect`.
pub fn write_case_files_apart(case: &Case, dir: &Path) -> CaseFiles {
    let (ca, broker) = (dir.join("ca"), dir.join("broker"));
    for d in [&ca, &broker] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    }
    write_files(case, &ca, &broker)
}

fn write_files(case: &Case, ca_dir: &Path, dir: &Path) -> CaseFiles {
    let pem = |certs: &mut dyn Iterator<Item = &String>| {
        let mut out = String::new();
        for c in certs {
            out.push_str(c.trim_end());
            out.push('\n');
        }
        out
    };
    let files = CaseFiles {
        anchors: ca_dir.join("anchors.pem"),
        chain: dir.join("chain.pem"),
        leaf: dir.join("leaf.pem"),
        untrusted: dir.join("untrusted.pem"),
    };
    let leaf = std::iter::once(&case.peer_certificate);
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    write(&files.anchors, pem(&mut case.trusted_certs.iter()));
    write(
        &files.chain,
        pem(&mut leaf.clone().chain(&case.untrusted_intermediates)),
    );
    write(&files.leaf, pem(&mut leaf.clone()));
    write(
        &files.untrusted,
        pem(&mut case.untrusted_intermediates.iter()),
    );
    files
}

/// The case's clock, UNIX seconds: its `validation_time`, else now (what the references used).
pub fn checked_at(case: &Case) -> i64 {
    match &case.validation_time {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339)
            .unwrap_or_else(|e| panic!("{}: validation_time {t:?}: {e}", case.id))
            .unix_timestamp(),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    }
}

/// The input `mqtls inspect --cafile anchors --server-cert chain --expect-name NAME` builds.
pub fn input_for(case: &Case, files: &CaseFiles) -> InspectInput {
    InspectInput {
        paths: InputPaths {
            cafiles: vec![files.anchors.clone()],
            ..InputPaths::default()
        },
        server_cert: Some(files.chain.clone()),
        expect_name: case.expected_peer_name.as_ref().map(|n| n.value.clone()),
        checked_at: checked_at(case),
        // Limbo's expectations know nothing of expiry warnings.
        warn_days: 0,
    }
}

/// Runs one case through `inspect`, unless it is skipped.
pub fn run_case(case: &Case) -> CaseResult {
    if let Some(why) = skip_reason(case) {
        return CaseResult::skipped(case, why);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_case_files(case, dir.path());
    let input = input_for(case, &files);
    let start = Instant::now();
    let report = inspect(&input).map_err(|e| e.to_string());
    let elapsed = start.elapsed();
    let contradictions = match &report {
        Ok(r) => contradictions(case, r),
        Err(_) => Vec::new(),
    };
    CaseResult {
        id: case.id.clone(),
        skip: None,
        reference: case.reference.clone(),
        report,
        contradictions,
        elapsed,
    }
}

// ---------------------------------------------------------------------------------------------
// Self-contradictions: what a finding says against what the same report (or the certificate
// itself) shows. Each check is about words a user reads, so each names the finding it quotes.

/// One self-contradiction: which check found it, and the finding it quotes.
#[derive(Debug, Clone)]
pub struct Contradiction {
    /// The check, e.g. `verdict claim` (the figures are grouped by it).
    pub kind: &'static str,
    /// `code: what is wrong — "message"`.
    pub text: String,
}

/// Every self-contradiction of the report's findings.
pub fn contradictions(case: &Case, report: &InspectReport) -> Vec<Contradiction> {
    let verdict = |b: Backend| {
        report
            .verification
            .iter()
            .find(|v| v.backend == b)
            .map(|v| v.ok)
    };
    let (rustls, openssl) = (verdict(Backend::Rustls), verdict(Backend::Openssl));
    let mut out = Vec::new();
    for f in &report.findings {
        let mut say = |kind: &'static str, why: String| {
            out.push(Contradiction {
                kind,
                text: format!("{}: {why} — \"{}\"", f.code, f.message),
            });
        };
        let lower = f.message.to_lowercase();

        // A claim about a stack's verdict that its verdict in the same report denies.
        let claims: [(&[&str], Option<bool>, bool, &str); 6] = [
            (&["rustls accept"], rustls, true, "rustls accepts"),
            (&["rustls reject"], rustls, false, "rustls rejects"),
            (
                &["openssl accept", "openssl 3 and rustls accept"],
                openssl,
                true,
                "openssl accepts",
            ),
            (&["openssl reject"], openssl, false, "openssl rejects"),
            (
                &["both stacks reject"],
                rustls.zip(openssl).map(|(r, o)| r || o),
                false,
                "both stacks reject",
            ),
            (
                &["both stacks accept"],
                rustls.zip(openssl).map(|(r, o)| r && o),
                true,
                "both stacks accept",
            ),
        ];
        for (phrases, actual, claimed, what) in claims {
            if let Some(actual) = actual
                && actual != claimed
                && phrases.iter().any(|p| lower.contains(p))
            {
                say(
                    "verdict claim",
                    format!("says {what}, but the report's verdicts say otherwise"),
                );
            }
        }

        // "issued by ," / "issued by )": an empty DN printed as if it were a name.
        for (i, _) in f.message.match_indices("issued by") {
            let rest = f.message[i + "issued by".len()..].trim_start_matches(' ');
            if rest.is_empty() || rest.starts_with([',', ')', ';', '.', ':']) {
                say(
                    "empty issuer",
                    "names an empty issuer (\"issued by\" followed by nothing)".into(),
                );
            }
        }

        // "X was issued by D ... the CA file holds D": the CA file holds the very DN it
        // supposedly lacks.
        if let Some(ca) = &report.ca_file {
            for sentence in f.message.split(". ") {
                for held in ca.certs.iter().map(|c| c.subject.as_str()) {
                    if !held.is_empty()
                        && dn_after(sentence, "issued by ", held)
                        && sentence.find("holds ").is_some_and(|at| {
                            let list = &sentence[at..];
                            dn_after(list, "holds ", held) || dn_after(list, "; ", held)
                        })
                    {
                        say(
                            "issuer the CA file holds",
                            format!(
                                "says the chain was issued by {held} and, in the same sentence, that the CA file holds {held}"
                            ),
                        );
                    }
                }
            }
        }

        // Codes that state a fact about a certificate the certificate itself denies.
        // The certificates the finding is about: those of its subject; for a finding about the
        // trust anchors (whose subject may be the leaf it concerns), the CA file; when the
        // subject names none, every certificate (the check then only fires when none fits).
        let concerned = || {
            let all = || {
                report
                    .server_cert
                    .iter()
                    .chain(&report.ca_file)
                    .flat_map(|file| &file.certs)
            };
            if f.code == Code::ExpiredTrustAnchor {
                return report.ca_file.iter().flat_map(|file| &file.certs).collect();
            }
            let named: Vec<_> = all()
                .filter(|c| Some(c.subject.as_str()) == f.subject.as_deref())
                .collect();
            if named.is_empty() {
                all().collect()
            } else {
                named
            }
        };
        let at = checked_at(case);
        let denied = |fact: &dyn Fn(&mqtls::x509::CertSummary) -> bool| {
            let certs: Vec<&mqtls::x509::CertSummary> = concerned();
            !certs.is_empty() && !certs.iter().any(|c| fact(c))
        };
        match f.code {
            // "no DNS subjectAltName (only IP:…)" is true of a leaf with a SAN; "no
            // subjectAltName" is not.
            Code::CnOnlyNoSan
                if leaf_has_san_extension(case) && f.message.contains("no subjectAltName") =>
            {
                say(
                    "cn_only_no_san with a SAN",
                    "says the certificate has no SAN, but the leaf has a subjectAltName extension"
                        .into(),
                );
            }
            Code::ServerCertExpired | Code::ExpiredTrustAnchor
                if denied(&|c| c.not_after_unix <= at) =>
            {
                say(
                    "expiry",
                    format!(
                        "says expired, but none of the certificates it is about had expired at {at}"
                    ),
                );
            }
            Code::ServerCertNotYetValid if denied(&|c| c.not_before_unix >= at) => {
                say(
                    "not yet valid",
                    format!(
                        "says not yet valid, but every certificate it is about was valid from before {at}"
                    ),
                );
            }
            Code::X509V1Cert if denied(&|c| c.version == 1) => {
                say(
                    "version",
                    "says X.509 v1, but every certificate it is about is v3".into(),
                );
            }
            Code::CaCertAsServerCert if denied(&|c| c.ca == Some(true)) => {
                say(
                    "CA flag",
                    "says CA:TRUE, but no certificate it is about has CA:TRUE".into(),
                );
            }
            // rustls matches the name against the SANs only: if it accepts, they cover it.
            Code::HostnameMismatch | Code::IpNotInSan if rustls == Some(true) => {
                say("name mismatch rustls accepts", "says the SANs do not cover the name, but rustls (SAN-only matching) accepts it".into());
            }
            _ => {}
        }
    }
    out
}

/// True when `text` holds `prefix` immediately followed by the whole DN `dn`: the DN does not
/// go on with another attribute (`, O=...`).
fn dn_after(text: &str, prefix: &str, dn: &str) -> bool {
    let needle = format!("{prefix}{dn}");
    text.match_indices(&needle).any(|(i, _)| {
        let rest = &text[i + needle.len()..];
        match rest.strip_prefix(',').map(str::trim_start) {
            // `, O=x` continues the DN; `, which ...` or `, expected ...` ends it.
            Some(after) => !after.split_once('=').is_some_and(|(attr, _)| {
                !attr.is_empty() && attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
            }),
            None => !rest.starts_with(|c: char| c.is_alphanumeric() || c == '=' || c == '+'),
        }
    })
}

/// True when the case's leaf carries a subjectAltName extension (of any kind of name).
fn leaf_has_san_extension(case: &Case) -> bool {
    let pem = mqtls::x509::read_pem(case.peer_certificate.as_bytes());
    let Some(der) = pem.certs.first() else {
        return false;
    };
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, cert)| {
        cert.extensions()
            .iter()
            .any(|e| e.oid.to_id_string() == "2.5.29.17")
    })
}

// ---------------------------------------------------------------------------------------------
// Figures.

/// A verdict that differs from its reference.
#[derive(Debug)]
pub struct Disagreement<'a> {
    /// The case.
    pub case: &'a CaseResult,
    /// The stack whose verdict differs.
    pub backend: Backend,
    /// inspect's verdict; `None` when inspect failed.
    pub inspect: Option<bool>,
    /// The reference verdict.
    pub reference: bool,
}

/// The figures of one run.
pub struct Figures<'a> {
    /// Every result, run or skipped.
    pub results: &'a [CaseResult],
    /// Cases run.
    pub run: usize,
    /// Cases skipped, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// `[rustls, openssl]`: cases whose verdict equals the reference.
    pub agree: [usize; 2],
    /// Verdicts that differ from their reference, per backend.
    pub disagreements: Vec<Disagreement<'a>>,
    /// Both references accept, yet the report has an error (a finding or a verdict).
    pub false_alarms: Vec<&'a CaseResult>,
    /// Cases where a stack (inspect's or a reference) rejects.
    pub rejected: usize,
    /// Rejected cases where a refusing stack's code or an error finding is `unclassified`, or
    /// no error finding names a code at all.
    pub unclassified: Vec<&'a CaseResult>,
    /// The part of `unclassified` where a rejecting reference named its reason.
    pub unclassified_named: Vec<&'a CaseResult>,
    /// Per case, the `(code, subject)` pairs that occur more than once.
    pub repeated: Vec<(&'a CaseResult, Vec<String>)>,
    /// Every contradiction, with its case.
    pub contradictions: Vec<(&'a CaseResult, &'a Contradiction)>,
    /// Wall time of the run.
    pub wall: Duration,
    /// Time spent in `inspect`, summed over the cases.
    pub inspect_total: Duration,
    /// The case that spent the longest in `inspect` during the run.
    pub slowest: Option<&'a CaseResult>,
}

impl<'a> Figures<'a> {
    /// Computes the figures of `results`; `wall` is the run's wall time.
    pub fn new(results: &'a [CaseResult], wall: Duration) -> Figures<'a> {
        let mut f = Figures {
            results,
            run: 0,
            skipped: BTreeMap::new(),
            agree: [0, 0],
            disagreements: Vec::new(),
            false_alarms: Vec::new(),
            rejected: 0,
            unclassified: Vec::new(),
            unclassified_named: Vec::new(),
            repeated: Vec::new(),
            contradictions: Vec::new(),
            wall,
            inspect_total: Duration::ZERO,
            slowest: None,
        };
        for r in results {
            if let Some(why) = r.skip {
                *f.skipped.entry(why).or_default() += 1;
                continue;
            }
            let Some(reference) = &r.reference else {
                continue;
            };
            f.run += 1;
            f.inspect_total += r.elapsed;
            if f.slowest.is_none_or(|s| r.elapsed > s.elapsed) {
                f.slowest = Some(r);
            }
            let mut any_reject = false;
            for (i, backend) in Backend::ALL.into_iter().enumerate() {
                let inspect = r.verdict(backend).map(|(ok, _)| ok);
                let expected = reference.accepts(backend);
                any_reject |= !expected || inspect == Some(false);
                if inspect == Some(expected) {
                    f.agree[i] += 1;
                } else {
                    f.disagreements.push(Disagreement {
                        case: r,
                        backend,
                        inspect,
                        reference: expected,
                    });
                }
            }
            let has_errors = match &r.report {
                Ok(report) => report.has_errors(),
                Err(_) => true,
            };
            if reference.accepts(Backend::Rustls)
                && reference.accepts(Backend::Openssl)
                && (has_errors || r.errors().next().is_some())
            {
                f.false_alarms.push(r);
            }
            if any_reject {
                f.rejected += 1;
                // Strict: the code of each stack that refused, and every error finding, must
                // name a reason; one named reason must not hide another stack's unclassified.
                let stack_unclassified = r.report.as_ref().is_ok_and(|report| {
                    report
                        .verification
                        .iter()
                        .any(|v| !v.ok && v.code == Code::Unclassified)
                });
                if stack_unclassified
                    || r.errors().any(|e| e.code == Code::Unclassified)
                    || !r.errors().any(|e| e.code != Code::Unclassified)
                {
                    f.unclassified.push(r);
                    if reference.names_a_reason() {
                        f.unclassified_named.push(r);
                    }
                }
            }
            let repeated = r.repeated();
            if !repeated.is_empty() {
                f.repeated.push((r, repeated));
            }
            f.contradictions
                .extend(r.contradictions.iter().map(|c| (r, c)));
        }
        f
    }

    /// Unclassified cases grouped by (rustls reference reason, OpenSSL reference error kind),
    /// biggest first: `(rustls, openssl, count, first id)`.
    pub fn unclassified_groups(&self) -> Vec<(String, String, usize, &'a str)> {
        let mut groups: BTreeMap<(String, String), (usize, &'a str)> = BTreeMap::new();
        for r in &self.unclassified {
            let Some(reference) = &r.reference else {
                continue;
            };
            let entry = groups
                .entry((reference.rustls_reason(), reference.openssl_kind()))
                .or_insert((0, r.id.as_str()));
            entry.0 += 1;
        }
        let mut groups: Vec<_> = groups
            .into_iter()
            .map(|((rustls, openssl), (n, id))| (rustls, openssl, n, id))
            .collect();
        groups.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
        groups
    }

    /// Contradictions counted by check.
    pub fn contradiction_kinds(&self) -> BTreeMap<&'static str, usize> {
        let mut kinds = BTreeMap::new();
        for (_, c) in &self.contradictions {
            *kinds.entry(c.kind).or_default() += 1;
        }
        kinds
    }

    /// The figures as a small table.
    pub fn table(&self) -> String {
        let pct = |n: usize, of: usize| {
            if of == 0 {
                0.0
            } else {
                100.0 * n as f64 / of as f64
            }
        };
        let mut t = String::new();
        let skipped: usize = self.skipped.values().sum();
        let _ = writeln!(t, "| figure | value |\n|---|---|");
        let _ = writeln!(t, "| cases | {} |", self.results.len());
        let _ = writeln!(t, "| run | {} |", self.run);
        let _ = writeln!(t, "| skipped | {skipped} |");
        for (why, n) in &self.skipped {
            let _ = writeln!(t, "| skipped: {why} | {n} |");
        }
        for (i, backend) in Backend::ALL.into_iter().enumerate() {
            let _ = writeln!(
                t,
                "| verdict agrees with the reference, {backend} | {} / {} ({:.2}%) |",
                self.agree[i],
                self.run,
                pct(self.agree[i], self.run)
            );
        }
        let _ = writeln!(
            t,
            "| false alarms (both references accept, report has an error) | {} |",
            self.false_alarms.len()
        );
        let _ = writeln!(t, "| rejected (a stack rejects) | {} |", self.rejected);
        let _ = writeln!(
            t,
            "| unclassified (no error finding names a reason) | {} ({:.1}% of rejected) |",
            self.unclassified.len(),
            pct(self.unclassified.len(), self.rejected)
        );
        let _ = writeln!(
            t,
            "| unclassified where a reference named its reason | {} |",
            self.unclassified_named.len()
        );
        let _ = writeln!(
            t,
            "| repeated (code, subject) in one report | {} pair(s) in {} case(s) |",
            self.repeated.iter().map(|(_, r)| r.len()).sum::<usize>(),
            self.repeated.len()
        );
        let _ = writeln!(t, "| contradictions | {} |", self.contradictions.len());
        for (kind, n) in self.contradiction_kinds() {
            let _ = writeln!(t, "| contradictions: {kind} | {n} |");
        }
        let _ = writeln!(t, "| wall time | {:.2} s |", self.wall.as_secs_f64());
        let _ = writeln!(
            t,
            "| time in inspect, summed | {:.2} s ({:.2} ms per case) |",
            self.inspect_total.as_secs_f64(),
            self.inspect_total.as_secs_f64() * 1000.0 / self.run.max(1) as f64
        );
        if let Some(s) = self.slowest {
            let _ = writeln!(
                t,
                "| slowest case in the run (wall time, includes waiting for a core) | {} ({:.1} ms) |",
                s.id,
                s.elapsed.as_secs_f64() * 1000.0
            );
        }
        t
    }
}

/// Findings shown per case by [`describe`].
const FINDINGS_SHOWN: usize = 8;

/// One case, what inspect said and what the references say, with the report's error findings:
/// enough for a developer to start from.
pub fn describe(r: &CaseResult) -> String {
    let mut s = r.id.clone();
    if let Some(reference) = &r.reference {
        let _ = write!(
            s,
            "\n    reference: rustls {} ({}), openssl {} ({})",
            reference.rustls.result,
            reference.rustls.context.as_deref().unwrap_or("-"),
            if reference.openssl.ok {
                "ok"
            } else {
                "rejects"
            },
            reference.openssl.error.as_deref().unwrap_or("-")
        );
    }
    match &r.report {
        Err(e) => {
            let _ = write!(s, "\n    inspect failed: {e}");
        }
        Ok(report) => {
            for v in &report.verification {
                let _ = write!(
                    s,
                    "\n    inspect {}: {}",
                    v.backend,
                    if v.ok {
                        "ok".to_string()
                    } else {
                        format!("rejects ({})", v.error.as_deref().unwrap_or("?"))
                    }
                );
            }
            // A 36-certificate chain can carry dozens of findings; the first few tell the story.
            for f in report.findings.iter().take(FINDINGS_SHOWN) {
                let severity = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let _ = write!(s, "\n    [{severity} {}] {}", f.code, f.message);
            }
            if report.findings.len() > FINDINGS_SHOWN {
                let _ = write!(
                    s,
                    "\n    ... and {} more findings",
                    report.findings.len() - FINDINGS_SHOWN
                );
            }
        }
    }
    s
}

/// The first `limit` items, one block each, and how many more there are.
pub fn listing<T>(items: &[T], limit: usize, show: impl Fn(&T) -> String) -> String {
    let mut s = String::new();
    for item in items.iter().take(limit) {
        let _ = writeln!(s, "  {}", show(item));
    }
    if items.len() > limit {
        let _ = writeln!(s, "  ... and {} more", items.len() - limit);
    }
    s
}
