//! The x509-limbo yardstick on the whole corpus: what `bench/limbo` runs (in `--release`).
//!
//! Usage: `limbo LIMBO_JSON RUSTLS_JSON OPENSSL_JSONL OUT_DIR`, the three corpus files
//! decompressed (`bench/limbo` does that). Runs every case through the harness of
//! `tests/limbo.rs` on all cores and prints the figures as a Markdown table, the biggest groups
//! of unclassified rejections, the cases behind every other figure (first few) and the slowest
//! cases. The slowest case's files go to `OUT_DIR/slowest/` with `case.env` (its id, name and
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
/// Runs of the slowest case alone (the median is reported).
const RUNS_ALONE: usize = 5;

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

    // Where the time goes: the slowest cases, and the share of the ten slowest in the total.
    let mut by_time: Vec<_> = results.iter().filter(|r| r.skip.is_none()).collect();
    by_time.sort_by_key(|r| std::cmp::Reverse(r.elapsed));
    let top: std::time::Duration = by_time.iter().take(10).map(|r| r.elapsed).sum();
    println!(
        "\n## Slowest cases (the ten: {:.0}% of the time in inspect)\n\n| case | ms | certificates |\n|---|---|---|",
        100.0 * top.as_secs_f64() / f.inspect_total.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    for r in by_time.iter().take(10) {
        let certs = cases.iter().find(|c| c.id == r.id).map_or(0, |c| {
            1 + c.untrusted_intermediates.len() + c.trusted_certs.len()
        });
        println!(
            "| {} | {:.1} | {certs} |",
            r.id,
            r.elapsed.as_secs_f64() * 1000.0
        );
    }

    if let Some(slowest) = f.slowest
        && let Some(case) = cases.iter().find(|c| c.id == slowest.id)
    {
        let dir = out.join("slowest");
        std::fs::create_dir_all(&dir).expect("create the slowest case's directory");
        let files = harness::write_case_files(case, &dir);
        // Timed again alone: during the run it shared the cores with the other cases.
        let input = harness::input_for(case, &files);
        let mut alone: Vec<f64> = (0..RUNS_ALONE)
            .map(|_| {
                let start = Instant::now();
                let _ = mqtls::inspect::inspect(&input);
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        alone.sort_by(f64::total_cmp);
        let median = alone[alone.len() / 2];
        println!(
            "\nSlowest case alone, in-process inspect: median {median:.1} ms of {RUNS_ALONE} runs"
        );
        let name = case.expected_peer_name.as_ref();
        let env = format!(
            "ID='{}'\nNAME_KIND='{}'\nNAME='{}'\nATTIME={}\nINSPECT_MS={:.1}\n",
            case.id,
            name.map_or("", |n| n.kind.as_str()),
            name.map_or("", |n| n.value.as_str()),
            harness::checked_at(case),
            median
        );
        std::fs::write(dir.join("case.env"), env).expect("write case.env");
    }
}
