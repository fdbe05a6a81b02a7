//! The x509-limbo cases that come with the leaf's key, live: each is served by an in-process
//! broker and probed by `diagnose`, and each backend's live verdict and code must equal what
//! `inspect` says offline about the same files at the same instant.
//!
//! `inspect` verifies the chain with both stacks and classifies with the rules `diagnose` uses;
//! `diagnose` gets the same chain over a real handshake. Where they differ, the live probe maps
//! a stack's reason differently from the offline mapping, or the handshake carries something
//! the offline check cannot see. Per case: the CA file alone in a directory of its own, the
//! broker's chain (`peer_certificate`, then `untrusted_intermediates`, in that order) served
//! with the case's key by the rustls server stack, or by the OpenSSL one where rustls cannot
//! load the key or certificate, and `diagnose 127.0.0.1:PORT --cafile ca/anchors.pem
//! --expect-name NAME --at VALIDATION_TIME --offline`.
//!
//! Cases no server stack can serve are skipped, counted by reason and printed, never passed.
//! A handshake that fails for a reason outside the chain `inspect` verifies (a broker key no
//! client can use, an RSA key too small for rustls's signature check, a Certificate message
//! over rustls's size limit) is recognised from the case's files by [`non_chain`], printed,
//! and held to the code that failure gets. The whole file runs in a few seconds: four cases in
//! flight, 2 s deadlines, everything on 127.0.0.1.

#[path = "limbo/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::Case;
use mqtls::classify::DiagnosisCode as Code;
use mqtls::evidence::Backend;
use mqtls::inputs::{self, InputPaths};
use mqtls::inspect::{InspectInput, InspectReport, inspect};
use mqtls::lab::{
    Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsOptions, TlsServer,
};
use mqtls::probe::ProbeRequest;
use mqtls::probe::mqtt::{ConnectSettings, MqttVersion};
use mqtls::report::{BackendReport, DiagnoseReport, Outcome};
use mqtls::target::Target;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};

/// Per-phase deadline of each probe: everything is on 127.0.0.1.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Cases in flight at once.
const IN_FLIGHT: usize = 4;

/// What one backend said about one case, offline and live.
#[derive(Debug, Clone)]
struct Compared {
    backend: Backend,
    inspect_ok: bool,
    inspect_code: Code,
    inspect_error: Option<String>,
    live_ok: bool,
    live_code: Code,
    live_error: Option<String>,
    verify_errors: Vec<String>,
}

/// One case, run or skipped.
#[derive(Debug)]
enum Ran {
    Live {
        stack: Served,
        backends: Vec<Compared>,
    },
    Skipped {
        why: &'static str,
        detail: String,
    },
}

/// Which server stack served the case.
#[derive(Debug)]
enum Served {
    Rustls,
    /// The rustls server refused the key or certificate, for this reason.
    Openssl {
        rustls_refused: String,
    },
}

impl Served {
    fn name(&self) -> &'static str {
        match self {
            Served::Rustls => "rustls",
            Served::Openssl { .. } => "OpenSSL",
        }
    }
}

/// The cases this file runs: SERVER cases with a key, without CRLs or a chain-depth limit.
fn live_cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/x509-limbo/cases.json");
    harness::load_vendored(&path)
        .into_iter()
        .filter(|c| {
            c.validation_kind == "SERVER"
                && c.peer_certificate_key.is_some()
                && c.crls.is_empty()
                && c.max_chain_depth.is_none()
        })
        .collect()
}

/// Why one backend's live handshake fails for a reason outside what `inspect` verifies (the
/// chain), and the code the failure then gets. Each is a property of the case's files, so the
/// list is exact and every such failure is shown and held to its code, never dropped.
struct NonChain {
    why: String,
    code: Code,
}

/// The largest handshake message rustls accepts (its `MAX_HANDSHAKE_SIZE`).
const RUSTLS_MAX_HANDSHAKE: usize = 0xffff;

fn non_chain(case: &Case, backend: Backend) -> Option<NonChain> {
    let key = PKey::private_key_from_pem(case.peer_certificate_key.as_deref()?.as_bytes()).ok()?;
    let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
    if key.id() == Id::DSA || curve == Some(Nid::X9_62_PRIME192V1) {
        return Some(NonChain {
            why: format!(
                "the broker's {} key signs in no handshake either client offers: the server alerts \
                 handshake_failure before it sends its certificate",
                if key.id() == Id::DSA {
                    "DSA"
                } else {
                    "EC P-192"
                }
            ),
            code: Code::Unclassified,
        });
    }
    if backend != Backend::Rustls {
        return None;
    }
    if key.id() == Id::RSA && key.bits() < 2048 {
        return Some(NonChain {
            why: format!(
                "rustls verifies the chain, then refuses the broker's handshake signature: \
                 aws-lc-rs verifies RSA signatures with 2048- to 8192-bit keys only (this one \
                 has {} bits)",
                key.bits()
            ),
            code: Code::WeakKey,
        });
    }
    // TLS 1.3 Certificate body: context (1), list length (3), per certificate its length (3),
    // DER and extensions length (2).
    let certs = std::iter::once(&case.peer_certificate).chain(&case.untrusted_intermediates);
    let body = 4 + certs
        .map(|pem| {
            5 + mqtls::x509::read_pem(pem.as_bytes())
                .certs
                .iter()
                .map(|c| c.len())
                .sum::<usize>()
        })
        .sum::<usize>();
    if body > RUSTLS_MAX_HANDSHAKE {
        return Some(NonChain {
            why: format!(
                "rustls refuses a handshake message over 64 KiB before verifying anything: the \
                 Certificate message is {body} bytes"
            ),
            code: Code::Unclassified,
        });
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limbo_cases_live_equal_inspect() {
    let started = Instant::now();
    let cases = live_cases();
    let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::new();
    for case in cases {
        let limit = Arc::clone(&limit);
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            let ran = run_live(&case).await;
            (case, ran)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("case task"));
    }

    let mut skipped: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut ran = 0;
    let mut matched = [0usize; 2];
    let mut understood = Vec::new();
    let mut mismatches = Vec::new();
    for (case, r) in &results {
        let (stack, backends) = match r {
            Ran::Skipped { why, detail } => {
                *skipped.entry(why).or_default() += 1;
                eprintln!("skipped {}: {why} ({detail})", case.id);
                continue;
            }
            Ran::Live { stack, backends } => (stack, backends),
        };
        ran += 1;
        if let Served::Openssl { rustls_refused } = stack {
            eprintln!(
                "{}: served by the OpenSSL stack (the rustls server refused: {rustls_refused})",
                case.id
            );
        }
        for (i, c) in backends.iter().enumerate() {
            let line = format!(
                "{} [{} server] {}: inspect {} ({}), live {} ({}){}",
                case.id,
                stack.name(),
                c.backend,
                c.inspect_code,
                c.inspect_error.as_deref().unwrap_or("accepts"),
                c.live_code,
                c.live_error.as_deref().unwrap_or("connected"),
                if c.verify_errors.is_empty() {
                    String::new()
                } else {
                    format!(", verify errors: {}", c.verify_errors.join("; "))
                }
            );
            if let Some(nc) = non_chain(case, c.backend) {
                if c.live_ok || c.live_code != nc.code {
                    mismatches.push(format!("{line}\n    expected {}: {}", nc.code, nc.why));
                } else {
                    understood.push(format!("{line}\n    {}", nc.why));
                }
                continue;
            }
            if c.inspect_ok != c.live_ok || c.inspect_code != c.live_code {
                mismatches.push(line);
            } else if !c.live_ok && c.verify_errors.is_empty() {
                mismatches.push(format!("{line}\n    refused, but not by verification"));
            } else {
                matched[i] += 1;
            }
        }
    }
    eprintln!(
        "{ran} cases live ({:.1} s): rustls {} and openssl {} equal to inspect; {} failures outside the chain; skipped {skipped:?}",
        started.elapsed().as_secs_f64(),
        matched[0],
        matched[1],
        understood.len()
    );
    for u in &understood {
        eprintln!("outside the chain: {u}");
    }
    assert!(
        mismatches.is_empty(),
        "{} live verdict(s) differ from inspect's:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // The vendored subset has 165 such cases today; most skipping would make this vacuous.
    assert!(
        ran >= 150,
        "only {ran} cases ran live; skipped: {skipped:?}"
    );
}

async fn run_live(case: &Case) -> Ran {
    let skip = |why, detail: String| Ran::Skipped { why, detail };
    let Some(key) = &case.peer_certificate_key else {
        return skip("no key", String::new());
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let files = harness::write_case_files_apart(case, dir.path());
    let at = harness::checked_at(case);
    // `--offline`: a live run must not fetch an AIA URL the offline check cannot.
    let paths = InputPaths {
        cafiles: vec![files.anchors.clone()],
        offline: true,
        psk: None,
        ..InputPaths::default()
    };
    let input = InspectInput {
        paths: paths.clone(),
        server_cert: Some(files.chain.clone()),
        expect_name: case.expected_peer_name.as_ref().map(|n| n.value.clone()),
        checked_at: at,
        // Limbo's expectations know nothing of expiry warnings.
        warn_days: 0,
    };
    let report = match tokio::task::spawn_blocking(move || inspect(&input))
        .await
        .expect("inspect task")
    {
        Ok(r) => r,
        Err(e) => return skip("inspect refuses the files", e.to_string()),
    };
    // The case's name, else the one inspect chose from the leaf (as `diagnose` needs one).
    let Some(name) = report.name_checked.clone() else {
        return skip("no name to check", String::new());
    };
    let chain_pem = std::fs::read(&files.chain).expect("chain.pem");
    let server = |stack| TlsServer {
        stack,
        chain_pem: chain_pem.clone(),
        key_pem: key.as_bytes().to_vec(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    };
    let (broker, stack) = match Responder::start(Behaviour::Tls(server(ServerStack::Rustls))).await
    {
        Ok(r) => (r, Served::Rustls),
        Err(rustls_error) => {
            // Level 0: the OpenSSL stack loads what Debian's level 2 refuses (an RSA-1024 or
            // SHA-1 signed leaf), as a broker configured with `@SECLEVEL=0` would.
            let options = TlsOptions {
                security_level: Some(0),
                ..TlsOptions::default()
            };
            let openssl = Behaviour::TlsWith(server(ServerStack::Openssl), options);
            match Responder::start(openssl).await {
                Ok(r) => (
                    r,
                    Served::Openssl {
                        rustls_refused: rustls_error.to_string(),
                    },
                ),
                Err(openssl_error) => {
                    return skip(
                        "neither server stack loads the certificate and key",
                        format!("rustls: {rustls_error}; OpenSSL: {openssl_error}"),
                    );
                }
            }
        }
    };
    let loaded = inputs::load(&paths).expect("inputs");
    // `mqtls diagnose 127.0.0.1:PORT --expect-name NAME --at TIME`: no SNI to an IP target.
    let request = ProbeRequest {
        target: Target::parse(&format!("127.0.0.1:{}", broker.port())).expect("target"),
        sni: None,
        expect_name: name,
        tls_versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: ConnectSettings {
            version: MqttVersion::V311,
            client_id: "mqtls-limbo-live".into(),
            username: None,
            password: None,
        },
        timeout: TIMEOUT,
        verify_at: Some(at),
    };
    let live = mqtls::diagnose::diagnose(request, &loaded, &Backend::ALL).await;
    drop(broker);
    let backends = Backend::ALL
        .into_iter()
        .map(|b| compare(b, &report, &live))
        .collect();
    Ran::Live { stack, backends }
}

/// One backend's offline verdict and code next to its live ones.
fn compare(backend: Backend, report: &InspectReport, live: &DiagnoseReport) -> Compared {
    let offline = report
        .verification
        .iter()
        .find(|v| v.backend == backend)
        .expect("inspect verdict");
    let probe: &BackendReport = live
        .backends
        .iter()
        .find(|b| b.backend == backend)
        .expect("live backend");
    Compared {
        backend,
        inspect_ok: offline.ok,
        inspect_code: offline.code,
        inspect_error: offline.error.clone(),
        live_ok: probe.outcome == Outcome::Ok,
        live_code: probe.diagnosis.code,
        live_error: probe.raw_error.clone(),
        verify_errors: probe
            .verify_errors
            .iter()
            .map(|e| match e.depth {
                Some(depth) => format!("{} at depth {depth}", e.message),
                None => e.message.clone(),
            })
            .collect(),
    }
}
