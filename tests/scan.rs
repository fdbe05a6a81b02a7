//! `mqtls scan` end to end against in-process brokers on 127.0.0.1: the two targets-file
//! formats, bad lines (exit code 2 naming file:line), one JSON line per host streamed as each
//! finishes, the summary by code, a dead target next to a good one, the per-host deadline, and
//! the merge of two partitions by `mqtls report`.

use std::path::Path;
use std::process::{Command, Output};

use mqtls::lab::{Behaviour, ClientAuth, MqttBehaviour, Responder, ServerStack, TlsServer};
use mqtls::pki::{self, CertFiles, Pki};

fn serving(cert: &CertFiles) -> Behaviour {
    Behaviour::Tls(TlsServer {
        stack: ServerStack::Openssl,
        chain_pem: cert.chain_pem().to_vec(),
        key_pem: cert.key_pem.clone(),
        client_auth: ClientAuth::None,
        versions: Vec::new(),
        alpn: Vec::new(),
        mqtt: MqttBehaviour::Accept,
    })
}

/// Runs mqtls off the runtime's threads, so the in-process brokers keep serving.
async fn mqtls(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mqtls"))
            .args(args)
            .output()
            .expect("mqtls runs")
    })
    .await
    .expect("joins")
}

/// A port nothing listens on: bound, then closed.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON document"))
        .collect()
}

/// Validates `value` against the committed reports/schema.json narrowed to `document`.
fn assert_schema(document: &str, value: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("schema")).expect("JSON");
    let obj = schema.as_object_mut().expect("object");
    obj.remove("anyOf");
    obj.insert("$ref".into(), format!("#/$defs/{document}").into());
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{document}: {errors:?}");
}

fn code_of(line: &serde_json::Value) -> (String, Vec<String>) {
    let input = line["scan"]["input"].as_str().expect("input").to_string();
    let codes = line["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| b["diagnosis"]["code"].as_str().expect("code").to_string())
        .collect();
    (input, codes)
}

struct Fleet {
    _dir: tempfile::TempDir,
    pki: Pki,
    good: Responder,
    unknown: Responder,
    silent: Responder,
    dead: u16,
}

async fn fleet() -> Fleet {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki::generate(dir.path()).expect("pki");
    let good = Responder::start(serving(&pki.server)).await.expect("good");
    let unknown = Responder::start(serving(&pki.other_server))
        .await
        .expect("unknown");
    let silent = Responder::start(Behaviour::Silent).await.expect("silent");
    Fleet {
        _dir: dir,
        pki,
        good,
        unknown,
        silent,
        dead: dead_port(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_lines_stream_one_json_line_per_host_and_a_summary() {
    let f = fleet().await;
    let hosts = format!(
        "# a fleet\n\nmqtts://localhost:{}\nlocalhost:{}\n127.0.0.1:{}\n",
        f.good.port(),
        f.unknown.port(),
        f.dead
    );
    let file = write(&f.pki.dir, "hosts.txt", &hosts);
    let root = f.pki.root.cert.display().to_string();
    let out = mqtls(vec!["scan".into(), file, "--cafile".into(), root]).await;
    assert_eq!(out.status.code(), Some(1), "a problem was found");
    let mut got: Vec<_> = lines(&out.stdout).iter().map(code_of).collect();
    got.sort();
    let pair = |c: &str| vec![c.to_string(), c.to_string()];
    assert_eq!(
        got,
        [
            (format!("127.0.0.1:{}", f.dead), pair("connection_refused")),
            (
                format!("localhost:{}", f.unknown.port()),
                pair("unknown_ca")
            ),
            (format!("mqtts://localhost:{}", f.good.port()), pair("ok")),
        ]
    );
    for line in lines(&out.stdout) {
        assert_schema("ScanLine", &line);
        assert_schema("DiagnoseReport", &line);
    }
    let first = lines(&out.stdout).remove(0);
    assert_eq!(first["schema_version"], 1, "the diagnose document's shape");
    assert!(first["scan"]["line"].as_u64().is_some_and(|l| l >= 3));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.starts_with("scan: 3 host(s), 1 ok, 2 with a problem"),
        "{summary}"
    );
    for code in ["ok", "unknown_ca", "connection_refused"] {
        assert!(summary.contains(&format!("1  {code}\n")), "{summary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_rows_bring_their_own_ca_file_and_the_deadline_bounds_a_silent_host() {
    let f = fleet().await;
    // Relative paths resolve against the targets file's folder.
    let csv = format!(
        "target,cafile\nlocalhost:{},root.crt\nlocalhost:{},other-root.crt\nlocalhost:{},\n",
        f.good.port(),
        f.unknown.port(),
        f.silent.port()
    );
    let file = write(&f.pki.dir, "fleet.csv", &csv);
    let jsonl = f.pki.dir.join("out.jsonl").display().to_string();
    let args = [
        "scan",
        &file,
        "--cafile",
        "/nonexistent-is-unused-by-rows.pem",
    ];
    let started = std::time::Instant::now();
    let out = mqtls(args.iter().map(|s| s.to_string()).collect()).await;
    assert_eq!(out.status.code(), Some(2), "the --cafile default is read");
    let args = [
        "scan",
        &file,
        "--timeout",
        "5",
        "--deadline",
        "1",
        "-o",
        &jsonl,
    ];
    let out = mqtls(args.iter().map(|s| s.to_string()).collect()).await;
    assert!(
        started.elapsed().as_secs() < 4,
        "the deadline bounds the silent host"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "the lines went to --output");
    let written = std::fs::read(&jsonl).expect("output");
    let mut got: Vec<_> = lines(&written).iter().map(|l| code_of(l).1).collect();
    got.sort();
    // The good host with root.crt, the other one with other-root.crt (its own CA file).
    assert_eq!(got[0], ["ok", "ok"], "{got:?}");
    assert_eq!(got[1], ["ok", "ok"], "{got:?}");
    assert_eq!(got[2], ["unclassified", "unclassified"], "{got:?}");
    let silent = lines(&written)
        .into_iter()
        .find(|l| l["scan"]["deadline_exceeded"] == true)
        .expect("the silent host ran out of time");
    assert!(
        silent["backends"][0]["raw_error"]
            .as_str()
            .is_some_and(|e| e.contains("per-host deadline of 1 s"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_and_flags_exit_2_naming_the_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "a.txt",
            "localhost:8883\nlocalhost:0\n",
            vec![],
            "a.txt:2: target \"localhost:0\" has invalid port",
        ),
        (
            "b.csv",
            "target,cafile\nlocalhost:1,missing.pem\n",
            vec![],
            "b.csv:2: cannot read",
        ),
        (
            "c.csv",
            "target,colour\n",
            vec![],
            "c.csv:1: unknown CSV column \"colour\"",
        ),
        (
            "d.txt",
            "localhost:1\n",
            vec!["--partition", "3/2"],
            "invalid --partition \"3/2\"",
        ),
    ];
    for (name, text, extra, want) in cases {
        let file = write(dir.path(), name, text);
        let mut args = vec!["scan".to_string(), file];
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = mqtls(args).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_merge_back_into_the_whole_fleet() {
    let f = fleet().await;
    // Ten spellings of two hosts: enough lines that both partitions get some.
    let mut hosts = String::new();
    for i in 0..5 {
        hosts.push_str(&format!("mqtts://localhost:{}/{i}\n", f.good.port()));
        hosts.push_str(&format!("mqtts://127.0.0.1:{}/{i}\n", f.dead));
    }
    let file = write(&f.pki.dir, "hosts.txt", &hosts);
    let root = f.pki.root.cert.display().to_string();
    let mut parts = Vec::new();
    let mut seen = Vec::new();
    for k in 1..=2 {
        let path = f
            .pki
            .dir
            .join(format!("part{k}.jsonl"))
            .display()
            .to_string();
        let args = [
            "scan",
            &file,
            "--cafile",
            &root,
            "--partition",
            &format!("{k}/2"),
            "-o",
            &path,
        ];
        let out = mqtls(args.iter().map(|s| s.to_string()).collect()).await;
        assert_eq!(out.status.code().map(|c| c <= 1), Some(true));
        let written = std::fs::read(&path).expect("part");
        for line in lines(&written) {
            assert_eq!(line["scan"]["partition"], format!("{k}/2"));
            seen.push(line["scan"]["input"].as_str().expect("input").to_string());
        }
        parts.push(path);
    }
    seen.sort();
    let mut all: Vec<String> = hosts.lines().map(str::to_string).collect();
    all.sort();
    assert_eq!(seen, all, "the partitions are disjoint and cover the fleet");
    let mut args = vec!["report".to_string()];
    args.extend(parts.iter().cloned());
    args.extend(["--format".to_string(), "json".to_string()]);
    let out = mqtls(args.clone()).await;
    assert_eq!(out.status.code(), Some(1), "five hosts are dead");
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_schema("ScanMerge", &merged);
    assert_eq!(merged["summary"]["hosts"], 10);
    assert_eq!(merged["summary"]["by_code"]["ok"], 5);
    assert_eq!(merged["summary"]["by_code"]["connection_refused"], 5);
    args.truncate(3);
    let out = mqtls(args).await;
    let markdown = String::from_utf8_lossy(&out.stdout);
    assert!(
        markdown.contains("| `connection_refused` | 5 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| host | rustls | openssl | summary |"),
        "{markdown}"
    );
}
