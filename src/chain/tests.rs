//! Path building on PKIs shaped unlike the lab's: CN-only names, a different O per tier, three
//! tiers, two roots under one O, a CA regenerated under the same name.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};

use super::*;

struct Ca {
    der: CertificateDer<'static>,
    key: KeyPair,
    params: CertificateParams,
}

fn name(attrs: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, v) in attrs {
        dn.push(ty.clone(), *v);
    }
    dn
}

fn params(dn: DistinguishedName, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    } else {
        p.subject_alt_names = vec![rcgen::SanType::DnsName(
            "broker.example".try_into().unwrap(),
        )];
    }
    p.use_authority_key_identifier_extension = true;
    p
}

fn root(dn: DistinguishedName) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = params(dn, true);
    let der = params.self_signed(&key).unwrap().der().clone();
    Ca { der, key, params }
}

fn issue(dn: DistinguishedName, ca: bool, by: &Ca) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = params(dn, ca);
    let issuer = Issuer::from_params(&by.params, &by.key);
    let der = params.signed_by(&key, &issuer).unwrap().der().clone();
    Ca { der, key, params }
}

fn pool(sent: &[&Ca], anchors: &[&Ca], beside: &[&Ca]) -> Pool {
    let mut pool = Pool::new();
    pool.add_place(
        "what the broker sent",
        sent.iter()
            .enumerate()
            .map(|(index, c)| Candidate {
                der: c.der.clone(),
                source: Source::Broker { index },
            })
            .collect(),
    );
    pool.add_place(
        "the CA file ca.crt",
        anchors
            .iter()
            .map(|c| Candidate {
                der: c.der.clone(),
                source: Source::CaFile {
                    path: "ca.crt".into(),
                },
            })
            .collect(),
    );
    pool.add_place(
        "beside",
        beside
            .iter()
            .map(|c| Candidate {
                der: c.der.clone(),
                source: Source::Beside {
                    path: "certs/other.crt".into(),
                },
            })
            .collect(),
    );
    pool
}

fn subjects(a: &ChainAnalysis) -> Vec<&str> {
    a.path.iter().map(|l| l.cert.subject.as_str()).collect()
}

#[test]
fn cn_only_three_tiers_with_a_gap_found_beside() {
    let r = root(name(&[(DnType::CommonName, "Blog Root CA")]));
    let a = issue(name(&[(DnType::CommonName, "Blog Policy CA")]), true, &r);
    let b = issue(name(&[(DnType::CommonName, "Blog Issuing CA")]), true, &a);
    let leaf = issue(name(&[(DnType::CommonName, "broker.example")]), false, &b);
    // The broker sends leaf + B; A is only in a file beside the CA file.
    let analysis = analyse(&pool(&[&leaf, &b], &[&r], &[&a])).unwrap();
    assert_eq!(analysis.end, PathEnd::Anchored { root: true });
    assert_eq!(
        subjects(&analysis),
        [
            "CN=broker.example",
            "CN=Blog Issuing CA",
            "CN=Blog Policy CA",
            "CN=Blog Root CA"
        ]
    );
    let missing: Vec<&str> = analysis
        .not_sent()
        .iter()
        .map(|l| l.cert.subject.as_str())
        .collect();
    assert_eq!(missing, ["CN=Blog Policy CA"]);
    assert_eq!(analysis.sent, 2);
}

#[test]
fn a_gap_found_nowhere_names_the_missing_issuer() {
    let r = root(name(&[
        (DnType::OrganizationName, "ISRG"),
        (DnType::CommonName, "ISRG Root X1"),
    ]));
    let i = issue(
        name(&[
            (DnType::OrganizationName, "Let's Encrypt"),
            (DnType::CommonName, "R11"),
        ]),
        true,
        &r,
    );
    let leaf = issue(name(&[(DnType::CommonName, "broker.example")]), false, &i);
    let analysis = analyse(&pool(&[&leaf], &[&r], &[])).unwrap();
    match &analysis.end {
        PathEnd::IssuerNotFound { issuer, aki } => {
            assert_eq!(issuer, "O=Let's Encrypt, CN=R11");
            assert!(aki.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(subjects(&analysis), ["CN=broker.example"]);
    assert!(analysis.namesakes.is_empty());
}

#[test]
fn two_roots_under_one_o_end_at_the_untrusted_root() {
    let r1 = root(name(&[
        (DnType::OrganizationName, "Acme"),
        (DnType::CommonName, "Acme Root 1"),
    ]));
    let r2 = root(name(&[
        (DnType::OrganizationName, "Acme"),
        (DnType::CommonName, "Acme Root 2"),
    ]));
    let leaf = issue(name(&[(DnType::CommonName, "broker.example")]), false, &r2);
    let analysis = analyse(&pool(&[&leaf], &[&r1], &[&r2])).unwrap();
    assert_eq!(analysis.end, PathEnd::UntrustedRoot);
    assert_eq!(
        subjects(&analysis),
        ["CN=broker.example", "O=Acme, CN=Acme Root 2"]
    );
    // Root 2 is a root the CA file lacks, not an intermediate the broker should have sent.
    assert!(analysis.not_sent().is_empty(), "{:?}", analysis.not_sent());
}

#[test]
fn an_untrusted_root_above_a_gap_leaves_only_the_intermediate_not_sent() {
    let r1 = root(name(&[(DnType::CommonName, "Root 1")]));
    let r2 = root(name(&[(DnType::CommonName, "Root 2")]));
    let i = issue(name(&[(DnType::CommonName, "Issuing 2")]), true, &r2);
    let leaf = issue(name(&[(DnType::CommonName, "broker.example")]), false, &i);
    let analysis = analyse(&pool(&[&leaf], &[&r1], &[&i, &r2])).unwrap();
    assert_eq!(analysis.end, PathEnd::UntrustedRoot);
    let missing: Vec<&str> = analysis
        .not_sent()
        .iter()
        .map(|l| l.cert.subject.as_str())
        .collect();
    assert_eq!(missing, ["CN=Issuing 2"]);
}

#[test]
fn a_ca_regenerated_under_the_same_name_is_a_namesake_not_an_issuer() {
    let dn = name(&[(DnType::CommonName, "Home CA")]);
    let old = root(dn.clone());
    let new = root(dn);
    let leaf = issue(name(&[(DnType::CommonName, "broker.example")]), false, &new);
    // Without key identifiers to tell them apart, only the signature does.
    let analysis = analyse(&pool(&[&leaf], &[&old], &[])).unwrap();
    assert!(matches!(analysis.end, PathEnd::IssuerNotFound { .. }));
    assert_eq!(analysis.namesakes.len(), 1);
    assert!(analysis.namesakes[0].anchor());
}

#[test]
fn an_intermediate_in_the_ca_file_is_anchored_and_marked_not_sent() {
    let r = root(name(&[(DnType::CommonName, "Root")]));
    let i = issue(
        name(&[
            (DnType::OrganizationalUnitName, "Ops"),
            (DnType::CommonName, "Issuing"),
        ]),
        true,
        &r,
    );
    let leaf = issue(name(&[(DnType::CommonName, "broker.example")]), false, &i);
    let analysis = analyse(&pool(&[&leaf], &[&r, &i], &[])).unwrap();
    assert_eq!(analysis.end, PathEnd::Anchored { root: true });
    assert_eq!(analysis.path.len(), 3);
    assert_eq!(analysis.not_sent().len(), 1);
    // The intermediate alone as the anchor: rustls's reading.
    let analysis = analyse(&pool(&[&leaf], &[&i], &[])).unwrap();
    assert_eq!(analysis.end, PathEnd::Anchored { root: false });
}

#[test]
fn a_complete_chain_needs_nothing_and_reports_unused_certificates() {
    let r = root(name(&[(DnType::CommonName, "Root")]));
    let i = issue(name(&[(DnType::CommonName, "Issuing")]), true, &r);
    let stale = issue(name(&[(DnType::CommonName, "Old Issuing")]), true, &r);
    let leaf = issue(name(&[(DnType::CommonName, "broker.example")]), false, &i);
    let analysis = analyse(&pool(&[&leaf, &i, &stale], &[&r], &[])).unwrap();
    assert_eq!(analysis.end, PathEnd::Anchored { root: true });
    assert!(analysis.not_sent().is_empty());
    assert_eq!(analysis.unused_sent.len(), 1);
    assert_eq!(analysis.unused_sent[0].cert.subject, "CN=Old Issuing");
}

#[test]
fn a_long_chain_is_bounded() {
    let r = root(name(&[(DnType::CommonName, "Root")]));
    let mut chain = vec![r];
    for n in 0..(MAX_LINKS + 8) {
        let next = issue(
            name(&[(DnType::CommonName, &format!("CA {n}"))]),
            true,
            chain.last().unwrap(),
        );
        chain.push(next);
    }
    let leaf = issue(
        name(&[(DnType::CommonName, "broker.example")]),
        false,
        chain.last().unwrap(),
    );
    let mut sent: Vec<&Ca> = vec![&leaf];
    sent.extend(chain.iter().skip(1).rev());
    let started = std::time::Instant::now();
    let analysis = analyse(&pool(&sent, &[&chain[0]], &[])).unwrap();
    assert_eq!(analysis.end, PathEnd::TooLong);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
