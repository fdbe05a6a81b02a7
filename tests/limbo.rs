//! The x509-limbo yardstick on the vendored subset (`tests/data/x509-limbo`, see its README):
//! every SERVER case runs through `mqtls::inspect` as a user would run `mqtls inspect` on the
//! case's files, and the report is held to the targets of the issue:
//!
//! - each stack's verdict equals its reference (limbo's rustls-webpki harness; `openssl verify`
//!   with mqtls's settings) on every case run;
//! - no false alarm: where both references accept, no error;
//! - no unclassified rejection: where a reference names why it rejects, some error finding
//!   names a reason (a code other than `unclassified`);
//! - no `(code, subject)` twice in one report;
//! - no self-contradiction in the findings' words.
//!
//! The cases run once, on two threads, and each test checks one target so a run shows which
//! hold. A failure lists the offending cases (the first 20; `LIMBO_SHOWN=N` for more) with the references, inspect's
//! verdicts and its findings. The whole corpus: `bench/limbo /path/to/x509-limbo`.

#[path = "limbo/harness.rs"]
mod harness;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use harness::{CaseResult, Figures, describe, listing};

/// Offending cases shown per failure; `LIMBO_SHOWN=N` shows more.
fn shown() -> usize {
    std::env::var("LIMBO_SHOWN")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
}

/// The subset's results, computed once for all the tests of this file.
fn results() -> &'static (Vec<CaseResult>, Duration) {
    static RESULTS: OnceLock<(Vec<CaseResult>, Duration)> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/x509-limbo/cases.json");
        let cases = harness::load_vendored(&path);
        let out = harness::run(&cases, 2);
        eprintln!("{}", Figures::new(&out.0, out.1).table());
        out
    })
}

fn figures() -> Figures<'static> {
    let (results, wall) = results();
    Figures::new(results, *wall)
}

#[test]
fn the_subset_runs_what_it_should() {
    let f = figures();
    // The README's count; a truncated or regenerated file shows here first.
    assert_eq!(f.results.len(), 497, "the vendored subset changed size");
    // Only what inspect has no input for is skipped (CLIENT cases, CRLs, max_chain_depth, the
    // two cases limbo's rustls harness skips): 26 today. A harness change that skips much more
    // would make every other target here pass vacuously.
    let skipped: usize = f.skipped.values().sum();
    assert!(
        skipped <= 30,
        "{skipped} of {} cases skipped: {:?}",
        f.results.len(),
        f.skipped
    );
    let failed: Vec<_> = f
        .results
        .iter()
        .filter(|r| r.skip.is_none())
        .filter_map(|r| r.report.as_ref().err().map(|e| format!("{}: {e}", r.id)))
        .collect();
    assert!(
        failed.is_empty(),
        "inspect returned an error (exit code 2) on readable files:\n{}",
        failed.join("\n")
    );
}

#[test]
fn verdicts_equal_the_references() {
    let f = figures();
    let shown = listing(&f.disagreements, shown(), |d| {
        let word = |ok: bool| if ok { "accepts" } else { "rejects" };
        format!(
            "{}: inspect's {} {}, the reference {}\n    {}",
            d.case.id,
            d.backend,
            d.inspect.map_or("did not run", word),
            word(d.reference),
            describe(d.case)
        )
    });
    assert!(
        f.disagreements.is_empty(),
        "{} verdict(s) differ from the reference:\n{shown}",
        f.disagreements.len()
    );
}

#[test]
fn no_false_alarms() {
    let f = figures();
    assert!(
        f.false_alarms.is_empty(),
        "{} case(s) that both references accept have an error:\n{}",
        f.false_alarms.len(),
        listing(&f.false_alarms, shown(), |r| describe(r))
    );
}

#[test]
fn every_named_rejection_is_classified() {
    let f = figures();
    let groups = f
        .unclassified_groups()
        .iter()
        .map(|(rustls, openssl, n, id)| format!("  {n} × ({rustls}, {openssl}), e.g. {id}"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        f.unclassified_named.is_empty(),
        "{} rejected case(s) of {} have no error finding that names a reason, although a \
         reference named one (all unclassified: {}), by (rustls, openssl) reference:\n{groups}\n\
         cases:\n{}",
        f.unclassified_named.len(),
        f.rejected,
        f.unclassified.len(),
        listing(&f.unclassified_named, shown(), |r| describe(r))
    );
}

#[test]
fn no_code_twice_on_one_subject() {
    let f = figures();
    assert!(
        f.repeated.is_empty(),
        "{} case(s) repeat a (code, subject) pair:\n{}",
        f.repeated.len(),
        listing(&f.repeated, shown(), |(r, what)| format!(
            "{}\n    repeated: {}",
            describe(r),
            what.join("; ")
        ))
    );
}

#[test]
fn findings_do_not_contradict_themselves() {
    let f = figures();
    assert!(
        f.contradictions.is_empty(),
        "{} self-contradiction(s):\n{}",
        f.contradictions.len(),
        listing(&f.contradictions, shown(), |(r, c)| format!(
            "{}: {}",
            r.id, c.text
        ))
    );
}
