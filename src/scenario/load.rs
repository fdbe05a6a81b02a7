//! Loading scenario files: find them, parse them (serde-saphyr), apply defaults, substitute
//! `${env:VAR}`, resolve paths relative to each file, and check that every referenced file
//! exists. Parse, don't validate: what leaves here is ready to run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::evidence::Backend;
use crate::evidence::MqttVersion;
use crate::evidence::TlsVersion;
use crate::inputs::InputPaths;
use crate::probe::mqtt::ConnectSettings;
use crate::target::Target;

use super::model::{CaseSpec, Expectation, Profile, ProfilePsk, PskSpec, SuiteFile};

pub use crate::error::ScenarioError;

/// Where a case's broker is.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseTarget {
    /// A fixed URL.
    Url(Target),
    /// A lab broker rendering this profile (`--lab`).
    Profile(String),
    /// The run's `--target`.
    RunTarget,
}

/// A case ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique id: `<file stem>/<name>`.
    pub id: String,
    /// The file it came from.
    pub file: PathBuf,
    /// What it shows.
    pub description: Option<String>,
    /// Where to probe.
    pub target: CaseTarget,
    /// Probe a profile's port without TLS (`mqtt://`).
    pub plain_client: bool,
    /// Probe MQTT over WebSockets at this path.
    pub websocket: Option<String>,
    /// The client's files.
    pub inputs: InputPaths,
    /// TLS versions offered (empty: defaults).
    pub tls_versions: Vec<TlsVersion>,
    /// `Some(None)`: no SNI; `Some(Some(n))`: this SNI; `None`: the host.
    pub sni: Option<Option<String>>,
    /// Name checked (default: the host).
    pub expect_name: Option<String>,
    /// ALPN offered.
    pub alpn: Vec<String>,
    /// The CONNECT.
    pub mqtt: ConnectSettings,
    /// Backends to run.
    pub backends: Vec<Backend>,
    /// Per-phase deadline.
    pub timeout: Duration,
    /// `warn_days`: the `cert_expires_soon` window.
    pub warn_days: u32,
    /// What must happen.
    pub expect: Expectation,
}

/// Every case of every file, and the broker profiles they use.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    /// Cases in file order, files sorted by path.
    pub cases: Vec<Case>,
    /// Profiles by name, with paths resolved.
    pub profiles: BTreeMap<String, Profile>,
}

/// Loads every `*.yaml` under `paths` (files or folders).
pub fn load(paths: &[PathBuf]) -> Result<Suite, ScenarioError> {
    load_with(paths, None)
}

/// [`load`], with `${lab:FILE}` resolved in `lab` (the demo's own PKI) instead of the cached lab
/// PKI ([`crate::pki::lab_dir`]).
pub fn load_with(paths: &[PathBuf], lab: Option<&Path>) -> Result<Suite, ScenarioError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ScenarioError::Read {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let before = files.len();
            collect_yaml(path, &mut files)?;
            if files.len() == before {
                return Err(ScenarioError::Empty { path: path.clone() });
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    // Two passes: profiles first (a case may use a profile defined in another file), then cases.
    let mut parsed = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| ScenarioError::Read {
            path: path.clone(),
            source,
        })?;
        let file = parse(&path, &text)?;
        parsed.push((path, text, file));
    }
    let mut suite = Suite::default();
    let lab = LabPki::new(lab);
    for (path, text, file) in &parsed {
        load_profiles(path, text, file, &lab, &mut suite)?;
    }
    for (path, text, file) in &parsed {
        load_cases(path, text, file, &lab, &mut suite)?;
    }
    Ok(suite)
}

/// Parses one file's text (exposed for tests and fuzzing).
pub fn parse(path: &Path, text: &str) -> Result<SuiteFile, ScenarioError> {
    if text.trim().is_empty() {
        return Err(ScenarioError::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "the file is empty (expected `cases:` with at least one case)".into(),
        });
    }
    serde_saphyr::from_str::<SuiteFile>(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        // serde-saphyr's Display adds a source snippet; the first line is the message.
        let full = e.to_string();
        let message = full
            .lines()
            .next()
            .unwrap_or("invalid YAML")
            .trim_start_matches("error: ")
            .to_string();
        let message = with_source_line(&strip_location_prefix(&message), text, line);
        ScenarioError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    })
}

/// Quotes the offending line, so that "invalid floating point" says which value it means.
fn with_source_line(message: &str, text: &str, line: u64) -> String {
    let source = usize::try_from(line)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .and_then(|i| text.lines().nth(i))
        .map(str::trim)
        .filter(|l| !l.is_empty());
    match source {
        Some(l) if l.chars().count() <= 80 => format!("{message} (in `{l}`)"),
        Some(l) => format!(
            "{message} (in `{}...`)",
            l.chars().take(77).collect::<String>()
        ),
        None => message.to_string(),
    }
}

fn strip_location_prefix(message: &str) -> String {
    // "line 3 column 7: unknown variant ..." → "unknown variant ..."
    match message.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => {
            rest.to_string()
        }
        _ => message.to_string(),
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn load_profiles(
    path: &Path,
    text: &str,
    file: &SuiteFile,
    lab: &LabPki,
    suite: &mut Suite,
) -> Result<(), ScenarioError> {
    // A file may hold only profiles, shared by the suites beside it.
    if file.cases.is_empty() && file.profiles.is_empty() {
        return Err(ScenarioError::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "no cases and no profiles (expected `cases:` with at least one case)".into(),
        });
    }
    let cx = FileContext {
        path,
        text,
        base: path.parent().unwrap_or(Path::new(".")),
        lab,
    };
    for (name, profile) in &file.profiles {
        let resolved = cx.profile(name, profile)?;
        match suite.profiles.get(name) {
            Some(existing) if *existing != resolved => {
                return Err(cx.invalid(
                    name,
                    &format!("profile {name:?} is defined differently in another file"),
                ));
            }
            _ => {
                suite.profiles.insert(name.clone(), resolved);
            }
        }
    }
    Ok(())
}

fn load_cases(
    path: &Path,
    text: &str,
    file: &SuiteFile,
    lab: &LabPki,
    suite: &mut Suite,
) -> Result<(), ScenarioError> {
    let cx = FileContext {
        path,
        text,
        base: path.parent().unwrap_or(Path::new(".")),
        lab,
    };
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("suite")
        .to_string();
    let mut seen = std::collections::BTreeSet::new();
    for (i, spec) in file.cases.iter().enumerate() {
        let case = cx.case(&stem, i, spec, &file.defaults, suite)?;
        if !seen.insert(case.id.clone()) {
            return Err(cx.invalid(
                &case.id,
                "two cases have this name; names must be unique in a file",
            ));
        }
        suite.cases.push(case);
    }
    Ok(())
}

/// One file being resolved: for paths relative to it and errors that name it.
struct FileContext<'a> {
    path: &'a Path,
    text: &'a str,
    base: &'a Path,
    lab: &'a LabPki,
}

/// Where `${lab:FILE}` points: the folder given (the demo's), else the cached lab PKI, made on
/// first use. Never a folder of the user's: a suite that names `certs/root.crt` gets exactly
/// that file or an error that names it.
struct LabPki {
    given: Option<PathBuf>,
    made: std::sync::OnceLock<Result<PathBuf, String>>,
}

impl LabPki {
    fn new(given: Option<&Path>) -> LabPki {
        LabPki {
            given: given.map(Path::to_path_buf),
            made: std::sync::OnceLock::new(),
        }
    }

    fn dir(&self) -> Result<PathBuf, String> {
        if let Some(dir) = &self.given {
            return Ok(dir.clone());
        }
        self.made
            .get_or_init(|| crate::pki::lab_dir().map_err(|e| e.to_string()))
            .clone()
    }
}

impl FileContext<'_> {
    fn invalid(&self, case: &str, message: &str) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line_of(case),
            case: case.to_string(),
            message: message.to_string(),
        }
    }

    /// The line that defines the case (`name: X`) or profile (`X:`) named `needle`, else the
    /// first line mentioning it, to point at the right place in the file.
    fn line_of(&self, needle: &str) -> u64 {
        let needle = needle.rsplit('/').next().unwrap_or(needle);
        let unquote = |v: &str| v.trim().trim_matches(['"', '\''].as_slice()).to_string();
        let defines = |line: &str| {
            let line = line.trim_start();
            let line = line.strip_prefix("- ").unwrap_or(line).trim_start();
            match line.split_once(':') {
                Some(("name", value)) => unquote(value) == needle,
                Some((key, "")) => unquote(key) == needle,
                _ => false,
            }
        };
        let at = |i: usize| i as u64 + 1;
        let lines = || self.text.lines();
        lines()
            .position(defines)
            .or_else(|| lines().position(|l| l.contains(needle)))
            .map_or(0, at)
    }

    /// `${env:VAR}` and `${lab:FILE}` substitution.
    fn subst(&self, case: &str, value: &str) -> Result<String, ScenarioError> {
        let value = &self.subst_lab(case, value)?;
        let mut out = String::new();
        let mut rest = value.as_str();
        while let Some(start) = rest.find("${env:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 6..];
            let end = after.find('}').ok_or_else(|| {
                self.invalid(case, &format!("unterminated ${{env:...}} in {value:?}"))
            })?;
            let var = &after[..end];
            let v = std::env::var(var).map_err(|_| {
                self.invalid(
                    case,
                    &format!("environment variable {var} (in {value:?}) is not set"),
                )
            })?;
            out.push_str(&v);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `${lab:FILE}`: a file of the lab PKI (`root.crt`, `server.key`, ...).
    fn subst_lab(&self, case: &str, value: &str) -> Result<String, ScenarioError> {
        let Some(start) = value.find("${lab:") else {
            return Ok(value.to_string());
        };
        let after = value.get(start + 6..).unwrap_or_default();
        let end = after.find('}').ok_or_else(|| {
            self.invalid(case, &format!("unterminated ${{lab:...}} in {value:?}"))
        })?;
        let dir = self.lab.dir().map_err(|e| {
            self.invalid(
                case,
                &format!("the lab PKI (for {value:?}) cannot be made: {e}"),
            )
        })?;
        let file = after.get(..end).unwrap_or_default();
        let rest = after.get(end + 1..).unwrap_or_default();
        Ok(format!(
            "{}{}{}",
            value.get(..start).unwrap_or_default(),
            dir.join(file).display(),
            self.subst_lab(case, rest)?
        ))
    }

    /// A path relative to the file, which must exist.
    fn file(&self, case: &str, key: &str, value: &str) -> Result<PathBuf, ScenarioError> {
        let value = self.subst(case, value)?;
        let path = self.base.join(&value);
        if !path.is_file() {
            return Err(self.invalid(
                case,
                &format!(
                    "{key} {value:?} does not exist (resolved to {})",
                    path.display()
                ),
            ));
        }
        Ok(std::fs::canonicalize(&path).unwrap_or(path))
    }

    /// A case's (or profile's) pre-shared key, read from its variable or file. Errors name
    /// the variable or file, never the key.
    fn psk(
        &self,
        case: &str,
        key: &str,
        spec: &PskSpec,
    ) -> Result<crate::probe::psk::Psk, ScenarioError> {
        let hex = match (&spec.key_env, &spec.key_file) {
            (Some(var), None) => self.env(case, &format!("{key}.key_env"), var)?,
            (None, Some(file)) => {
                let path = self.file(case, &format!("{key}.key_file"), file)?;
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    self.invalid(case, &format!("{key}.key_file {}: {e}", path.display()))
                })?;
                text.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
                    .unwrap_or_default()
                    .to_string()
            }
            _ => {
                return Err(self.invalid(
                    case,
                    &format!("{key}: give exactly one of key_env and key_file"),
                ));
            }
        };
        crate::probe::psk::Psk::new(&spec.identity, &hex)
            .map_err(|e| self.invalid(case, &format!("{key} {:?}: {e}", spec.identity)))
    }

    fn env(&self, case: &str, key: &str, var: &str) -> Result<String, ScenarioError> {
        std::env::var(var).map_err(|_| {
            self.invalid(
                case,
                &format!("{key}: environment variable {var} is not set"),
            )
        })
    }

    fn profile(&self, name: &str, p: &Profile) -> Result<Profile, ScenarioError> {
        let file = |key: &str, v: &str| -> Result<String, ScenarioError> {
            Ok(self.file(name, key, v)?.display().to_string())
        };
        for lab in p.labs.iter().flatten() {
            if !matches!(lab.as_str(), "mosquitto" | "rabbitmq" | "inprocess") {
                return Err(self.invalid(
                    name,
                    &format!("labs: {lab:?} (expected one of: mosquitto, rabbitmq, inprocess)"),
                ));
            }
        }
        if let Some(v) = &p.min_tls_version {
            parse_version(v).ok_or_else(|| {
                self.invalid(
                    name,
                    &format!("min_tls_version {v:?} (expected one of: 1.0, 1.1, 1.2, 1.3)"),
                )
            })?;
        }
        // A plain listener serves no certificate: its files are neither needed nor checked.
        let tls_file = |key: &str, v: &str| -> Result<String, ScenarioError> {
            // A PSK-only listener serves no certificate either.
            match (p.plain || (p.psk.is_some() && v.is_empty()), v.is_empty()) {
                (true, _) => Ok(v.to_string()),
                (false, true) => Err(self.invalid(
                    name,
                    &format!("{key} is required (unless the profile is `plain: true`)"),
                )),
                (false, false) => file(key, v),
            }
        };
        let psk = match &p.psk {
            Some(psk) => {
                if !p.certfile.is_empty() {
                    return Err(self.invalid(
                        name,
                        "psk with certfile: mosquitto refuses both on one listener (\"Cannot use both certificate and psk encryption in a single listener\"); use two profiles",
                    ));
                }
                if p.labs.as_deref() != Some(&["mosquitto".to_string()][..]) {
                    return Err(self.invalid(
                        name,
                        "psk: only the mosquitto lab renders PSK (add `labs: [mosquitto]`)",
                    ));
                }
                // Checked here, so that a bad key fails when the suite loads; the broker gets
                // the file or variable, re-read when it starts.
                for spec in &psk.keys {
                    self.psk(name, "psk.keys", spec)?;
                }
                let keys = psk
                    .keys
                    .iter()
                    .map(|k| {
                        Ok(PskSpec {
                            key_file: k
                                .key_file
                                .as_deref()
                                .map(|v| file("psk.keys.key_file", v))
                                .transpose()?,
                            ..k.clone()
                        })
                    })
                    .collect::<Result<Vec<_>, ScenarioError>>()?;
                Some(ProfilePsk {
                    keys,
                    ..psk.clone()
                })
            }
            None => None,
        };
        Ok(Profile {
            psk,
            certfile: tls_file("certfile", &p.certfile)?,
            keyfile: tls_file("keyfile", &p.keyfile)?,
            cafile: p.cafile.as_deref().map(|v| file("cafile", v)).transpose()?,
            crlfile: p
                .crlfile
                .as_deref()
                .map(|v| file("crlfile", v))
                .transpose()?,
            ..p.clone()
        })
    }

    fn case(
        &self,
        stem: &str,
        index: usize,
        spec: &CaseSpec,
        defaults: &CaseSpec,
        suite: &Suite,
    ) -> Result<Case, ScenarioError> {
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("case-{}", index + 1));
        let id = format!("{stem}/{name}");
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        let target = match (
            pick(&spec.target, &defaults.target),
            pick(&spec.broker, &defaults.broker),
        ) {
            (Some(_), Some(_)) if spec.target.is_some() && spec.broker.is_some() => {
                return Err(self.invalid(&name, "give either target or broker, not both"));
            }
            (Some(url), _) if spec.broker.is_none() => CaseTarget::Url(
                Target::parse(&self.subst(&name, &url)?)
                    .map_err(|e| self.invalid(&name, &e.to_string()))?,
            ),
            (_, Some(profile)) => {
                if !suite.profiles.contains_key(&profile) {
                    let known: Vec<&str> = suite.profiles.keys().map(String::as_str).collect();
                    let hint = if known.is_empty() {
                        "no profiles are loaded: also pass the file that defines them, e.g. scenarios/profiles.yaml".to_string()
                    } else {
                        format!("expected one of: {}", known.join(", "))
                    };
                    return Err(self.invalid(
                        &name,
                        &format!("unknown broker profile {profile:?} ({hint})"),
                    ));
                }
                CaseTarget::Profile(profile)
            }
            _ => CaseTarget::RunTarget,
        };
        let cafile = pick(&spec.cafile, &defaults.cafile)
            .map(|v| self.file(&name, "cafile", &v))
            .transpose()?;
        let cert = pick(&spec.cert, &defaults.cert)
            .map(|v| self.file(&name, "cert", &v))
            .transpose()?;
        let untrusted = spec
            .untrusted
            .as_ref()
            .or(defaults.untrusted.as_ref())
            .into_iter()
            .flatten()
            .map(|v| self.file(&name, "untrusted", v))
            .collect::<Result<Vec<_>, _>>()?;
        let key = pick(&spec.key, &defaults.key)
            .map(|v| self.file(&name, "key", &v))
            .transpose()?;
        if cert.is_some() != key.is_some() {
            return Err(self.invalid(&name, "cert and key go together: give both or neither"));
        }
        let key_password = pick(&spec.key_password_env, &defaults.key_password_env)
            .map(|var| self.env(&name, "key_password_env", &var))
            .transpose()?;
        let psk = spec
            .psk
            .as_ref()
            .or(defaults.psk.as_ref())
            .map(|p| self.psk(&name, "psk", p))
            .transpose()?;
        let websocket = spec
            .websocket
            .clone()
            .or_else(|| defaults.websocket.clone());
        if let Some(path) = websocket.as_deref().filter(|p| !p.starts_with('/')) {
            return Err(self.invalid(
                &name,
                &format!("websocket: {path:?} (expected an HTTP path such as /mqtt)"),
            ));
        }
        let mut tls_versions = Vec::new();
        for v in spec
            .tls_versions
            .clone()
            .or_else(|| defaults.tls_versions.clone())
            .unwrap_or_default()
        {
            tls_versions.push(parse_version(&v).ok_or_else(|| {
                self.invalid(
                    &name,
                    &format!("tls_versions: {v:?} (expected one of: 1.0, 1.1, 1.2, 1.3)"),
                )
            })?);
        }
        let no_sni = spec.no_sni.or(defaults.no_sni).unwrap_or(false);
        let sni = match (no_sni, pick(&spec.sni, &defaults.sni)) {
            (true, Some(_)) if spec.sni.is_some() => {
                return Err(self.invalid(&name, "sni and no_sni contradict each other"));
            }
            (true, _) => Some(None),
            (false, Some(s)) => Some(Some(self.subst(&name, &s)?)),
            (false, None) => None,
        };
        let mqtt_spec = spec
            .mqtt
            .clone()
            .or_else(|| defaults.mqtt.clone())
            .unwrap_or_default();
        let version = match mqtt_spec.version.as_deref() {
            None | Some("3.1.1" | "311" | "4") => MqttVersion::V311,
            Some("5") => MqttVersion::V5,
            Some(other) => {
                return Err(self.invalid(
                    &name,
                    &format!("mqtt.version {other:?} (expected one of: \"3.1.1\", \"5\")"),
                ));
            }
        };
        let password = mqtt_spec
            .password_env
            .as_deref()
            .map(|var| self.env(&name, "mqtt.password_env", var))
            .transpose()?;
        let timeout = spec.timeout.or(defaults.timeout).unwrap_or(5.0);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
            return Err(self.invalid(
                &name,
                &format!("timeout {timeout} (expected seconds, more than 0, at most 3600)"),
            ));
        }
        let expect = spec
            .expect
            .clone()
            .or_else(|| defaults.expect.clone())
            .ok_or_else(|| {
                self.invalid(
                    &name,
                    "no expect: say which code each backend must get (e.g. `expect: ok`)",
                )
            })?;
        let backends = spec
            .backends
            .clone()
            .or_else(|| defaults.backends.clone())
            .unwrap_or_else(|| Backend::ALL.to_vec());
        // An expectation that constrains nothing passes on a closed port: every backend the case
        // runs on needs a code, or `any` on purpose.
        for backend in &backends {
            if expect.want_for("", *backend).is_none() {
                return Err(self.invalid(
                    &name,
                    &format!(
                        "expect says nothing about {backend}: name its code (`{backend}: ok`, or `all: ok`) or say `{backend}: any`"
                    ),
                ));
            }
        }
        Ok(Case {
            id,
            file: self.path.to_path_buf(),
            description: spec.description.clone(),
            plain_client: spec.plain_client.or(defaults.plain_client).unwrap_or(false),
            websocket,
            target,
            inputs: InputPaths {
                cafiles: cafile.into_iter().collect(),
                cert,
                key,
                key_password,
                untrusted,
                offline: false,
                psk,
            },
            tls_versions,
            sni,
            expect_name: pick(&spec.expect_name, &defaults.expect_name)
                .map(|n| self.subst(&name, &n))
                .transpose()?,
            alpn: spec
                .alpn
                .clone()
                .or_else(|| defaults.alpn.clone())
                .unwrap_or_default()
                .iter()
                .map(|p| self.subst(&name, p))
                .collect::<Result<_, _>>()?,
            mqtt: ConnectSettings {
                version,
                client_id: match mqtt_spec.client_id {
                    Some(id) => self.subst(&name, &id)?,
                    None => format!("mqtls-{name}"),
                },
                username: mqtt_spec
                    .username
                    .map(|u| self.subst(&name, &u))
                    .transpose()?,
                password,
            },
            backends,
            timeout: Duration::from_secs_f64(timeout),
            warn_days: spec
                .warn_days
                .or(defaults.warn_days)
                .unwrap_or(crate::classify::DEFAULT_WARN_DAYS),
            expect,
        })
    }
}

fn parse_version(v: &str) -> Option<TlsVersion> {
    TlsVersion::parse(v)
}
