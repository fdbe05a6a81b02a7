//! The x509-limbo yardstick on the whole corpus: what `bench/limbo` runs (in `--release`).
//!
//! Usage: `limbo LIMBO_JSON RUSTLS_JSON OPENSSL_JSONL OUT_DIR`, the three corpus files
//! decompressed (`bench/limbo` does that). Runs every case through the harness of
//! `tests/limbo.rs` on all cores and prints the figures as a Markdown table, the biggest groups
//! of unclassified rejections, the cases behind every other figure (first few) and the slowest
//! cases (timed again alone). The slowest case's files go to `OUT_DIR/slowest/` with `case.env` (its id, name and
//! clock) so that the script can time `openssl verify` on the very same files.
//!
//! It asserts nothing: the targets are asserted by `tests/limbo.rs` on the vendored subset.

#[path = "../tests/limbo/harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::Instant;

use harness::{Figures, describe, listing};

/// Groups of unclassified cases printed.
const TOP_GROUPS: usize = 15;
/// Cases listed under each other figure; `LIMBO_SHOWN=N` lists more.
fn shown() -> usize {
    std::env::var("LIMBO_SHOWN")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10)
}
/// Runs of each of the slowest cases alone (the median is reported).
const RUNS_ALONE: usize = 5;
/// Cases of the run timed again alone.
const SLOWEST: usize = 10;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [limbo, rustls, openssl, out] = args.as_slice() else {
        eprintln!("usage: limbo LIMBO_JSON RUSTLS_JSON OPENSSL_JSONL OUT_DIR");
        std::process::exit(2);
    };
    let cases = harness::load_corpus(limbo, rustls, openssl);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!("limbo: {} cases on {threads} threads", cases.len());
    let (results, wall) = harness::run(&cases, threads);
    let f = Figures::new(&results, wall);

    println!("## Figures\n\n{}", f.table());

    println!("## Unclassified rejections, biggest groups (rustls reference, OpenSSL reference)\n");
    println!("| rustls reason | openssl error | cases | example |\n|---|---|---|---|");
    let groups = f.unclassified_groups();
    for (rustls, openssl, n, id) in groups.iter().take(TOP_GROUPS) {
        println!("| {rustls} | {openssl} | {n} | {id} |");
    }
    if groups.len() > TOP_GROUPS {
        let rest: usize = groups[TOP_GROUPS..].iter().map(|g| g.2).sum();
        println!("| {} more groups | | {rest} | |", groups.len() - TOP_GROUPS);
    }

    let section = |title: &str, body: String| {
        if !body.is_empty() {
            println!("\n## {title}\n\n```\n{body}```");
        }
    };
    section(
        &format!(
            "Verdicts that differ from the reference ({})",
            f.disagreements.len()
        ),
        listing(&f.disagreements, shown(), |d| {
            format!(
                "{} ({}: inspect {:?}, reference {})\n    {}",
                d.case.id,
                d.backend,
                d.inspect,
                d.reference,
                describe(d.case)
            )
        }),
    );
    section(
        &format!("False alarms ({})", f.false_alarms.len()),
        listing(&f.false_alarms, shown(), |r| describe(r)),
    );
    section(
        &format!("Repeated (code, subject) ({} cases)", f.repeated.len()),
        listing(&f.repeated, shown(), |(r, what)| {
            format!("{}: {}", r.id, what.join("; "))
        }),
    );
    section(
        &format!("Contradictions ({})", f.contradictions.len()),
        listing(&f.contradictions, shown(), |(r, c)| {
            format!("{} [{}]: {}", r.id, c.kind, c.text)
        }),
    );

    // Where the time goes. A time measured during the run includes waiting for a core on a
    // shared machine, so the slowest few are timed again alone and ranked by that median.
    let mut by_time: Vec<_> = results.iter().filter(|r| r.skip.is_none()).collect();
    by_time.sort_by_key(|r| std::cmp::Reverse(r.elapsed));
    let top: std::time::Duration = by_time.iter().take(SLOWEST).map(|r| r.elapsed).sum();
    println!(
        "\n## Slowest cases (the {SLOWEST} slowest of the run: {:.0}% of the time in inspect)\n\n\
         | case | ms in the run | ms alone (median of {RUNS_ALONE}) | certificates |\n|---|---|---|---|",
        100.0 * top.as_secs_f64() / f.inspect_total.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut slowest: Option<(&harness::Case, f64)> = None;
    for r in by_time.iter().take(SLOWEST) {
        let case = cases
            .iter()
            .find(|c| c.id == r.id)
            .expect("a result's case");
        let median = time_alone(case, scratch.path());
        let certs = 1 + case.untrusted_intermediates.len() + case.trusted_certs.len();
        println!(
            "| {} | {:.1} | {median:.1} | {certs} |",
            r.id,
            r.elapsed.as_secs_f64() * 1000.0
        );
        if slowest.is_none_or(|(_, ms)| median > ms) {
            slowest = Some((case, median));
        }
    }

    // Its files stay for `bench/limbo`, which times `openssl verify` on them.
    if let Some((case, median)) = slowest {
        let dir = out.join("slowest");
        std::fs::create_dir_all(&dir).expect("create the slowest case's directory");
        harness::write_case_files(case, &dir);
        println!(
            "\nSlowest case alone: {} ({median:.1} ms in-process)",
            case.id
        );
        let name = case.expected_peer_name.as_ref();
        let env = format!(
            "ID='{}'\nNAME_KIND='{}'\nNAME='{}'\nATTIME={}\nINSPECT_MS={median:.1}\n",
            case.id,
            name.map_or("", |n| n.kind.as_str()),
            name.map_or("", |n| n.value.as_str()),
            harness::checked_at(case),
        );
        std::fs::write(dir.join("case.env"), env).expect("write case.env");
    }
}

/// The median time of `inspect` on the case, run alone `RUNS_ALONE` times, in ms.
fn time_alone(case: &harness::Case, scratch: &std::path::Path) -> f64 {
    let files = harness::write_case_files(case, scratch);
    let input = harness::input_for(case, &files);
    let mut ms: Vec<f64> = (0..RUNS_ALONE)
        .map(|_| {
            let start = Instant::now();
            let _ = mqtls::inspect::inspect(&input);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}
