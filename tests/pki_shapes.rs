//! `mqtls diagnose` against a real mosquitto serving PKIs shaped unlike the lab's: CN-only names,
//! a different O per tier (the Let's Encrypt shape), an intermediate with an extra OU, three
//! tiers, two roots under one O, an issuer only reachable by its AIA caIssuers URL, the system
//! trust store instead of a CA file, and a CN-only CA regenerated under the same name.
//!
//! The lab PKI names every certificate `O=mqtls lab`, so a classifier that relates a leaf to a
//! root by how their names look passes the lab and fails real users. Here `missing_intermediate`
//! and `unknown_ca` must follow from the certification path the chain analysis builds over what
//! the broker sent, the trust anchors, the files beside the CA file, `--untrusted` files and
//! the AIA URL, and say which certificate was missing and where it was found.
//!
//! Every PKI is made with the `openssl` command line as a user makes it (tests/pki_shapes/
//! openssl.rs), in its own folder. One mosquitto serves one listener per shape; no listener has
//! a `cafile`, because an OpenSSL server completes its chain from it and a leaf-only listener
//! would then send the intermediate anyway. Each case runs the `mqtls` binary with both
//! backends and asserts, per backend, the code, the confidence, the alternatives and what the
//! summary and facts name. A few cases run at a time; the file takes about a second once
//! built. `cargo test --test pki_shapes -- --nocapture` prints PASS/FAIL per case.
//!
//! Without mosquitto (or openssl) the test prints why and passes, unless `CI` is set: then it
//! fails.

#[path = "pki_shapes/aia.rs"]
mod aia;
#[path = "pki_shapes/openssl.rs"]
mod openssl;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mqtls::lab::{Listener, ListenerTls, Mosquitto, mosquitto_binary};
use serde_json::Value;

use aia::AiaServer;
use openssl::{CA_EXT, SERVER_EXT, Workdir, cat};

/// How long mosquitto may take to open every listener.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// Binaries running at once: enough to overlap their waiting, few enough for two cores.
const PARALLEL: usize = 3;
/// A probe that hangs is a failure, not a stuck test run.
const PROBE_DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn pki_shapes_on_both_backends() {
    if !tools_available() {
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    // Canonical, so a path given on the command line is spelled as the analysis spells the
    // files it finds beside it.
    let dir = tmp.path().canonicalize().expect("canonical tempdir");
    // Each PKI is a dozen openssl runs; the folders are independent.
    let builders: [(MakeShape, &str); 7] = [
        (cn_only, "relay"),
        (lets_encrypt, "letsencrypt"),
        (extra_ou, "northwind"),
        (three_tiers, "tiers"),
        (two_roots_one_o, "acme"),
        (aia_only, "depot"),
        (regenerated, "garage"),
    ];
    let shapes: Vec<Shape> = std::thread::scope(|s| {
        let handles: Vec<_> = builders
            .iter()
            .map(|(build, name)| {
                let dir = dir.join(name);
                s.spawn(move || build(&dir))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("making a PKI"))
            .collect()
    });
    let made = started.elapsed();
    let listeners: Vec<Listener> = shapes.iter().flat_map(|s| s.listeners.clone()).collect();
    let broker = Mosquitto::start(&listeners, START_DEADLINE)
        .unwrap_or_else(|e| panic!("mosquitto does not start: {e}"));
    let groups: Vec<Vec<Case>> = shapes
        .iter()
        .flat_map(|s| s.groups.iter().cloned())
        .collect();
    let results = run(groups, &broker);
    eprintln!(
        "PKIs made in {made:?}; all cases done in {:?}",
        started.elapsed()
    );
    let mut failures = Vec::new();
    for (name, elapsed, result) in &results {
        match result {
            Ok(()) => eprintln!("PASS {name} ({elapsed:?})"),
            Err(e) => {
                eprintln!("FAIL {name} ({elapsed:?})");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} case(s) failed:\n\n{}\n\nmosquitto log tail:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n\n"),
        tail(&broker.log(), 15)
    );
}

/// Broker tests run wherever mosquitto exists; in CI a missing tool is a failure.
fn tools_available() -> bool {
    let missing = if mosquitto_binary().is_none() {
        "mosquitto"
    } else if !openssl::available() {
        "openssl"
    } else {
        return true;
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {missing} is not installed"
    );
    eprintln!("skipped: {missing} is not installed");
    false
}

/// Makes one PKI in the folder it is given.
type MakeShape = fn(&Path) -> Shape;

/// One PKI: the listeners that serve it and the cases that probe them.
struct Shape {
    listeners: Vec<Listener>,
    /// Each group runs in order (the AIA cases count connections); groups run concurrently.
    groups: Vec<Vec<Case>>,
    /// Lives as long as the cases: the AIA URL's server.
    _aia: Option<AiaServer>,
}

/// One run of `mqtls diagnose` and what both backends must say.
#[derive(Clone)]
struct Case {
    name: &'static str,
    listener: &'static str,
    /// Arguments after the target (`--cafile`, `--untrusted`, `--offline`).
    args: Vec<String>,
    /// Environment of the binary (the system store's `SSL_CERT_FILE`).
    env: Vec<(&'static str, PathBuf)>,
    code: &'static str,
    confidence: &'static str,
    alternatives: Alternatives,
    exit: i32,
    checks: Vec<Check>,
}

#[derive(Clone)]
enum Alternatives {
    /// Confirmed diagnoses have none.
    None,
    /// A likely diagnosis names this reading among the others.
    Including(&'static str),
}

#[derive(Clone)]
enum Check {
    /// The summary says this.
    Summary(String),
    /// Neither summary nor facts say this.
    Nowhere(String),
    /// The summary or one fact says this.
    Mentions(String),
    /// One fact says all of these: a certificate and where it was found.
    Fact(Vec<String>),
    /// Neither summary nor facts say this certificate was not sent: the broker sent it.
    NotMissing(String),
    /// Not the code, not an alternative, not a warning.
    Never(&'static str),
    /// After the run: connections the AIA server has had, at least `min` and at most `max`.
    AiaConnections {
        count: Arc<AtomicUsize>,
        min: usize,
        max: usize,
    },
}

impl Case {
    fn new(name: &'static str, listener: &'static str, code: &'static str) -> Case {
        Case {
            name,
            listener,
            args: Vec::new(),
            env: Vec::new(),
            code,
            confidence: "confirmed",
            alternatives: Alternatives::None,
            exit: if code == "ok" { 0 } else { 1 },
            checks: Vec::new(),
        }
    }

    fn arg(mut self, flag: &str, value: &Path) -> Case {
        self.args.push(flag.to_string());
        self.args.push(value.display().to_string());
        self
    }

    fn flag(mut self, flag: &str) -> Case {
        self.args.push(flag.to_string());
        self
    }

    fn env(mut self, var: &'static str, value: &Path) -> Case {
        self.env.push((var, value.to_path_buf()));
        self
    }

    /// `likely`, with `alternative` among the readings the evidence cannot rule out.
    fn likely(mut self, alternative: &'static str) -> Case {
        self.confidence = "likely";
        self.alternatives = Alternatives::Including(alternative);
        self
    }

    fn check(mut self, check: Check) -> Case {
        self.checks.push(check);
        self
    }

    /// One fact names `subject` and the file (or URL) it was found in.
    fn found(self, subject: &str, place: impl std::fmt::Display) -> Case {
        self.check(Check::Fact(vec![subject.to_string(), place.to_string()]))
    }

    /// The summary names the intermediate the broker did not send, and one fact names it with
    /// the file (or URL) it was found in.
    fn missing(self, subject: &str, place: impl std::fmt::Display) -> Case {
        self.check(Check::Summary(subject.to_string()))
            .found(subject, place)
    }
}

fn listener(name: &str, certfile: &Path, keyfile: &Path) -> Listener {
    Listener {
        name: name.into(),
        tls: Some(ListenerTls {
            // No cafile: mosquitto sends exactly what certfile holds.
            certfile: certfile.to_path_buf(),
            keyfile: keyfile.to_path_buf(),
            ..ListenerTls::default()
        }),
        allow_anonymous: true,
        users: Vec::new(),
    }
}

/// Cases 1, 2, 7 and 9: CN-only names, root → intermediate → leaf, all in one folder as
/// `openssl` left them.
fn cn_only(dir: &Path) -> Shape {
    let w = Workdir::new(dir);
    let root = w.root("root.crt", "/CN=Relay Root CA");
    let int = w.issue("intermediate.crt", "/CN=Relay Issuing CA", &root, CA_EXT);
    let leaf = w.issue("server.crt", "/CN=localhost", &int, SERVER_EXT);
    // The fullchain lives with the broker's config, not beside the CA file, so the folder of
    // root.crt holds the intermediate once.
    let fullchain = cat(
        &[&leaf.cert, &int.cert],
        &sibling(dir, "broker").join("fullchain.crt"),
    );
    let alone = cat(&[&root.cert], &sibling(dir, "alone").join("root.crt"));
    // A system store as Debian ships it, with the test root appended (update-ca-certificates
    // does the same). rustls-native-certs and OpenSSL's default verify paths both read
    // SSL_CERT_FILE; SSL_CERT_DIR points to an empty folder so /etc/ssl/certs stays out.
    let system = sibling(dir, "system");
    let mut bundle_parts: Vec<&Path> = Vec::new();
    let debian = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if debian.is_file() {
        bundle_parts.push(debian);
    }
    bundle_parts.push(&root.cert);
    let bundle = cat(&bundle_parts, &system.join("ca-certificates.crt"));
    let empty = system.join("certs");
    std::fs::create_dir_all(&empty).expect("empty certs dir");
    let (issuing, file) = ("CN=Relay Issuing CA", int.cert.display());

    let beside = Case::new(
        "1 cn-only, intermediate beside the CA file",
        "relay-leaf-only",
        "missing_intermediate",
    )
    .arg("--cafile", &root.cert)
    .missing(issuing, &file);
    let alone_likely = Case::new(
        "2 cn-only, CA file alone",
        "relay-leaf-only",
        "missing_intermediate",
    )
    .arg("--cafile", &alone)
    .likely("unknown_ca")
    .check(Check::Summary(issuing.into()))
    // Where it looked, so the user knows what "nowhere" covered.
    .check(Check::Mentions(alone.display().to_string()));
    let alone_untrusted = Case::new(
        "2 cn-only, CA file alone, --untrusted intermediate",
        "relay-leaf-only",
        "missing_intermediate",
    )
    .arg("--cafile", &alone)
    .arg("--untrusted", &int.cert)
    .missing(issuing, &file);
    let system_likely = Case::new("7 system store", "relay-leaf-only", "missing_intermediate")
        .env("SSL_CERT_FILE", &bundle)
        .env("SSL_CERT_DIR", &empty)
        .likely("unknown_ca")
        .check(Check::Summary(issuing.into()))
        .check(Check::Summary("the system trust store".into()))
        .check(Check::Nowhere("CA file the system trust store".into()));
    let system_untrusted = Case::new(
        "7 system store, --untrusted intermediate",
        "relay-leaf-only",
        "missing_intermediate",
    )
    .env("SSL_CERT_FILE", &bundle)
    .env("SSL_CERT_DIR", &empty)
    .arg("--untrusted", &int.cert)
    .missing(issuing, &file)
    .check(Check::Mentions("the system trust store".into()))
    .check(Check::Nowhere("CA file the system trust store".into()));
    // Proves both stacks take the bundle for their system store, which case 7 relies on.
    let system_control = Case::new("7 control: system store, full chain", "relay-full", "ok")
        .env("SSL_CERT_FILE", &bundle)
        .env("SSL_CERT_DIR", &empty)
        .check(Check::Never("missing_intermediate"));
    let control = Case::new("9 control: full chain", "relay-full", "ok")
        .arg("--cafile", &root.cert)
        .check(Check::Never("missing_intermediate"));
    Shape {
        listeners: vec![
            listener("relay-leaf-only", &leaf.cert, &leaf.key),
            listener("relay-full", &fullchain, &leaf.key),
        ],
        groups: [
            beside,
            alone_likely,
            alone_untrusted,
            system_likely,
            system_untrusted,
            system_control,
            control,
        ]
        .into_iter()
        .map(|c| vec![c])
        .collect(),
        _aia: None,
    }
}

/// Case 3: a different O per tier, files named as Let's Encrypt publishes them (`.pem`).
fn lets_encrypt(dir: &Path) -> Shape {
    let w = Workdir::new(dir);
    let root = w.root("isrg-test-root-x1.pem", "/O=ISRG/CN=ISRG Test Root X1");
    let int = w.issue("r11.pem", "/O=Let's Encrypt/CN=R11", &root, CA_EXT);
    let leaf = w.issue("server.crt", "/CN=localhost", &int, SERVER_EXT);
    let case = Case::new(
        "3 Let's Encrypt shape, R11 beside the root",
        "letsencrypt-leaf-only",
        "missing_intermediate",
    )
    .arg("--cafile", &root.cert)
    .missing("CN=R11", int.cert.display());
    Shape {
        listeners: vec![listener("letsencrypt-leaf-only", &leaf.cert, &leaf.key)],
        groups: vec![vec![case]],
        _aia: None,
    }
}

/// Case 4: the intermediate carries an OU its root does not.
fn extra_ou(dir: &Path) -> Shape {
    let w = Workdir::new(dir);
    let root = w.root("ca.crt", "/O=Northwind/CN=Northwind Root CA");
    let int = w.issue(
        "devices-ca.crt",
        "/O=Northwind/OU=Field Devices/CN=Northwind Devices CA",
        &root,
        CA_EXT,
    );
    let leaf = w.issue("server.crt", "/O=Northwind/CN=localhost", &int, SERVER_EXT);
    let case = Case::new(
        "4 intermediate with an extra OU, beside the root",
        "northwind-leaf-only",
        "missing_intermediate",
    )
    .arg("--cafile", &root.cert)
    .missing("CN=Northwind Devices CA", int.cert.display());
    Shape {
        listeners: vec![listener("northwind-leaf-only", &leaf.cert, &leaf.key)],
        groups: vec![vec![case]],
        _aia: None,
    }
}

/// Case 5: root → A → B → leaf; the broker sends leaf + B, the user's folder holds the root
/// and A.
fn three_tiers(dir: &Path) -> Shape {
    let w = Workdir::new(dir);
    let root = w.root("root.crt", "/CN=Tiers Root");
    let a = w.issue("policy-ca.crt", "/CN=Tiers Policy CA", &root, CA_EXT);
    let b = w.issue("issuing-ca.crt", "/CN=Tiers Issuing CA", &a, CA_EXT);
    let leaf = w.issue("server.crt", "/CN=localhost", &b, SERVER_EXT);
    let chain = cat(
        &[&leaf.cert, &b.cert],
        &sibling(dir, "broker").join("chain.crt"),
    );
    let client = sibling(dir, "client");
    let client_root = cat(&[&root.cert], &client.join("root.crt"));
    let client_a = cat(&[&a.cert], &client.join("policy-ca.crt"));
    let case = Case::new(
        "5 three tiers, broker sends leaf + B, A beside the root",
        "tiers-leaf-and-b",
        "missing_intermediate",
    )
    .arg("--cafile", &client_root)
    .missing("CN=Tiers Policy CA", client_a.display())
    .check(Check::NotMissing("CN=Tiers Issuing CA".into()));
    Shape {
        listeners: vec![listener("tiers-leaf-and-b", &chain, &leaf.key)],
        groups: vec![vec![case]],
        _aia: None,
    }
}

/// Case 6: two roots under one O; the leaf comes straight from Root 2, the user trusts Root 1
/// and has Root 2 in the same folder. Nothing is missing between leaf and root: the path ends
/// at a root the CA file does not hold.
fn two_roots_one_o(dir: &Path) -> Shape {
    let w = Workdir::new(dir);
    let root1 = w.root("root1.crt", "/O=Acme/CN=Acme Root 1");
    let root2 = w.root("root2.crt", "/O=Acme/CN=Acme Root 2");
    let leaf = w.issue("server.crt", "/O=Acme/CN=localhost", &root2, SERVER_EXT);
    let case = Case::new(
        "6 two roots under one O, leaf from Root 2, CA file Root 1",
        "acme-leaf-only",
        "unknown_ca",
    )
    .arg("--cafile", &root1.cert)
    .check(Check::Summary("CN=Acme Root 2".into()))
    .found("CN=Acme Root 2", root2.cert.display())
    .check(Check::Never("missing_intermediate"));
    Shape {
        listeners: vec![listener("acme-leaf-only", &leaf.cert, &leaf.key)],
        groups: vec![vec![case]],
        _aia: None,
    }
}

/// Case 8: the intermediate is nowhere but at the leaf's AIA caIssuers URL, served as DER from
/// loopback; the CA file is alone in its folder.
fn aia_only(dir: &Path) -> Shape {
    let w = Workdir::new(dir);
    let root = w.root("root.crt", "/CN=Depot Root");
    let int = w.issue("issuing-ca.crt", "/CN=Depot Issuing CA", &root, CA_EXT);
    let server = AiaServer::start(w.der(&int, "issuing-ca.der"));
    let url = server.url("int.der");
    let ext = format!("{SERVER_EXT}authorityInfoAccess=caIssuers;URI:{url}\n");
    let leaf = w.issue("server.crt", "/CN=localhost", &int, &ext);
    let alone = cat(&[&root.cert], &sibling(dir, "alone").join("root.crt"));
    let connections = server.connections();
    // --offline first: the count proves it fetched nothing before the online run fetches.
    let offline = Case::new(
        "8 AIA, --offline",
        "depot-leaf-only",
        "missing_intermediate",
    )
    .arg("--cafile", &alone)
    .flag("--offline")
    .likely("unknown_ca")
    .check(Check::Summary("CN=Depot Issuing CA".into()))
    // The URL that would have settled it, so the user can fetch it or drop --offline.
    .check(Check::Mentions(url.clone()))
    .check(Check::AiaConnections {
        count: Arc::clone(&connections),
        min: 0,
        max: 0,
    });
    let online = Case::new("8 AIA, fetched", "depot-leaf-only", "missing_intermediate")
        .arg("--cafile", &alone)
        .missing("CN=Depot Issuing CA", &url)
        .check(Check::AiaConnections {
            count: connections,
            min: 1,
            max: usize::MAX,
        });
    Shape {
        listeners: vec![listener("depot-leaf-only", &leaf.cert, &leaf.key)],
        groups: vec![vec![offline, online]],
        _aia: Some(server),
    }
}

/// Case 10 (beyond the lab's catalogue of shapes): the tutorial run twice. The broker's
/// folder holds a new `CN=Garage CA` and the leaf it issued; the client kept the first
/// `ca.crt`, same name, other key. The analysis finds the namesake in the CA file, so both
/// backends must say unknown_ca, confirmed, whatever each stack reported (rustls a bad
/// signature, OpenSSL error 20).
fn regenerated(dir: &Path) -> Shape {
    let broker = Workdir::new(dir);
    let new = broker.root("ca.crt", "/CN=Garage CA");
    let leaf = broker.issue("server.crt", "/CN=localhost", &new, SERVER_EXT);
    let client = Workdir::new(&sibling(dir, "client"));
    let old = client.root("ca.crt", "/CN=Garage CA");
    let case = Case::new(
        "10 CA regenerated under the same CN, client kept the old one",
        "garage-leaf-only",
        "unknown_ca",
    )
    .arg("--cafile", &old.cert)
    .check(Check::Summary("CN=Garage CA".into()))
    .found("CN=Garage CA", old.cert.display())
    .check(Check::Never("missing_intermediate"));
    Shape {
        listeners: vec![listener("garage-leaf-only", &leaf.cert, &leaf.key)],
        groups: vec![vec![case]],
        _aia: None,
    }
}

/// Runs the groups, [`PARALLEL`] at a time; results in the order the cases were declared.
fn run(groups: Vec<Vec<Case>>, broker: &Mosquitto) -> Vec<(String, Duration, Result<(), String>)> {
    let order: Vec<&'static str> = groups.iter().flatten().map(|c| c.name).collect();
    let queue = Mutex::new(groups.into_iter().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| {
                loop {
                    let Some(group) = queue.lock().expect("queue").pop_front() else {
                        break;
                    };
                    for case in group {
                        let started = Instant::now();
                        let result = probe(&case, broker);
                        results.lock().expect("results").push((
                            case.name,
                            started.elapsed(),
                            result,
                        ));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(name, ..)| order.iter().position(|n| n == name));
    results
        .into_iter()
        .map(|(name, elapsed, result)| (name.to_string(), elapsed, result))
        .collect()
}

/// Runs the binary for one case and checks what it printed.
fn probe(case: &Case, broker: &Mosquitto) -> Result<(), String> {
    let port = broker
        .port(case.listener)
        .ok_or_else(|| format!("no listener {:?}", case.listener))?;
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_mqtls"));
    cmd.arg("diagnose")
        .arg(format!("mqtts://localhost:{port}"))
        .args(&case.args)
        .args(["--format", "json", "--timeout", "3", "--backend", "both"])
        // Only the system-store cases choose a store; the others must not depend on one.
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .timeout(PROBE_DEADLINE);
    for (var, value) in &case.env {
        cmd.env(var, value);
    }
    let out = cmd.output().map_err(|e| format!("cannot run mqtls: {e}"))?;
    let json: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "stdout is not JSON ({e}); exit {:?}; stderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let mut problems = Vec::new();
    if out.status.code() != Some(case.exit) {
        problems.push(format!(
            "exit {:?}, expected {}",
            out.status.code(),
            case.exit
        ));
    }
    let backends = json["backends"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = backends
        .iter()
        .map(|b| b["backend"].as_str().unwrap_or_default())
        .collect();
    if names != ["rustls", "openssl"] {
        problems.push(format!("backends {names:?}, expected rustls and openssl"));
    }
    for b in &backends {
        for p in check_backend(case, b) {
            problems.push(format!("{}: {p}", b["backend"].as_str().unwrap_or("?")));
        }
    }
    for check in &case.checks {
        if let Check::AiaConnections { count, min, max } = check {
            let n = count.load(Ordering::SeqCst);
            if n < *min || n > *max {
                problems.push(format!(
                    "the AIA server had {n} connection(s), expected {min}..={max}"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n  got:\n{}",
            problems.join("\n  "),
            backends.iter().map(describe).collect::<Vec<_>>().join("\n")
        ))
    }
}

fn check_backend(case: &Case, b: &Value) -> Vec<String> {
    let d = &b["diagnosis"];
    let code = d["code"].as_str().unwrap_or_default();
    let summary = d["summary"].as_str().unwrap_or_default();
    let facts: Vec<&str> = d["facts"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let alternatives: Vec<&str> = d["alternatives"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let warnings: Vec<&str> = b["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    if code != case.code {
        problems.push(format!("code {code}, expected {}", case.code));
    }
    let confidence = d["confidence"].as_str().unwrap_or_default();
    if confidence != case.confidence {
        problems.push(format!(
            "confidence {confidence}, expected {}",
            case.confidence
        ));
    }
    match case.alternatives {
        Alternatives::None if !alternatives.is_empty() => {
            problems.push(format!("alternatives {alternatives:?}, expected none"));
        }
        Alternatives::Including(want) if !alternatives.contains(&want) => {
            problems.push(format!(
                "alternatives {alternatives:?}, expected {want} among them"
            ));
        }
        _ => {}
    }
    for check in &case.checks {
        match check {
            Check::Summary(text) if !summary.contains(text.as_str()) => {
                problems.push(format!("the summary does not say {text:?}"));
            }
            Check::Nowhere(text)
                if summary.contains(text.as_str())
                    || facts.iter().any(|f| f.contains(text.as_str())) =>
            {
                problems.push(format!("the summary or a fact says {text:?}"));
            }
            Check::Mentions(text)
                if !summary.contains(text.as_str())
                    && !facts.iter().any(|f| f.contains(text.as_str())) =>
            {
                problems.push(format!("neither summary nor facts say {text:?}"));
            }
            Check::Fact(parts)
                if !facts
                    .iter()
                    .any(|f| parts.iter().all(|p| f.contains(p.as_str()))) =>
            {
                problems.push(format!("no fact says all of {parts:?}"));
            }
            Check::NotMissing(subject) => {
                let claims = [
                    format!("did not send {subject}"),
                    format!("did not send the intermediate {subject}"),
                    format!("{subject} is missing"),
                    format!("{subject} was not sent"),
                    format!("{subject} is neither in what the broker sent"),
                ];
                if let Some(claim) = claims.iter().find(|c| {
                    summary.contains(c.as_str()) || facts.iter().any(|f| f.contains(c.as_str()))
                }) {
                    problems.push(format!("says {claim:?}, but the broker sent it"));
                }
            }
            Check::Never(never)
                if code == *never || alternatives.contains(never) || warnings.contains(never) =>
            {
                problems.push(format!(
                    "{never} appears (code {code}, alternatives {alternatives:?}, warnings \
                     {warnings:?})"
                ));
            }
            _ => {}
        }
    }
    problems
}

/// One backend's diagnosis as the failure message shows it.
fn describe(b: &Value) -> String {
    let d = &b["diagnosis"];
    let facts: Vec<String> = d["facts"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|x| format!("      - {}", x.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "    {}: {} ({}) alternatives={} warnings={}\n      summary: {}\n{}",
        b["backend"].as_str().unwrap_or("?"),
        d["code"].as_str().unwrap_or("?"),
        d["confidence"].as_str().unwrap_or("?"),
        d["alternatives"],
        b["warnings"],
        d["summary"].as_str().unwrap_or_default(),
        facts.join("\n")
    )
}

/// `relay` → `relay-broker`: another folder of the same PKI.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!("{name}-{suffix}"))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
