//! The X.509 analysis on arbitrary bytes: the input as one DER certificate, and as a PEM file
//! whose certificates are summarised, with every predicate the classifier and `inspect` use.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtls::inspect::san_covers;
use mqtls::x509::{CertSummary, read_pem};

fuzz_target!(|data: &[u8]| {
    let direct = CertSummary::from_der(data);
    exercise(&direct);
    let pem = read_pem(data);
    for der in &pem.certs {
        let summary = CertSummary::from_der(der);
        exercise(&summary);
        let _ = summary.issued(&direct);
    }
});

fn exercise(summary: &CertSummary) {
    let _ = summary.has_weak_signature();
    let _ = summary.has_small_rsa_key();
    let _ = summary.is_ca();
    let _ = summary.issued(summary);
    let _ = summary.subject_attr("O");
    for name in ["localhost", "127.0.0.1", "[::1]", "a.example.com"] {
        let _ = san_covers(&summary.sans, name);
    }
    if let Some(cn) = summary.subject_attr("CN") {
        let _ = san_covers(&summary.sans, &cn);
    }
}
