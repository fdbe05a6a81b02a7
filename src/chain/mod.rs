//! One chain analysis for every command: it builds the broker's certification path the way a
//! verifier does, over every certificate it can see, and says how the path ends.
//!
//! The candidates are what the broker sent (or the `--server-cert` file), the trust anchors
//! (the CA file(s) or the system trust store), certificates beside the user's own files,
//! `--untrusted` files and what the leaf's AIA caIssuers URL served. An issuer is a candidate
//! whose subject equals the child's issuer under RFC 5280 name comparison ([`name`]) and
//! whose key identifier, when both are present, equals the child's authority key identifier;
//! it is *confirmed* only when its key verifies the child's signature. Nothing is decided from
//! how names look.
//!
//! `diagnose`, `inspect`, `run` and `scan` all call [`analyse`]; the classifier reads the
//! resulting [`ChainAnalysis`] and never relates certificates by itself. Gathering the
//! candidates (files, the system store, the AIA fetch) is I/O and lives in [`gather`]; the
//! path building here is pure and bounded.

// Bytes from the network and from the user's files: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::cell::OnceCell;
use std::collections::HashMap;

use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::x509::CertSummary;

pub mod gather;
pub mod name;

use name::NameKey;

/// The longest path the analysis follows; real chains have 2 to 4 certificates, and both
/// stacks give up long before this (webpki after 6 intermediates).
pub const MAX_LINKS: usize = 32;
/// Signature checks one analysis may spend; path building over cross-signed PKIs branches,
/// and a hostile pool must not make it exponential.
const MAX_SIGNATURE_CHECKS: usize = 512;
/// Partial paths one analysis may explore, for the same reason.
const MAX_STEPS: usize = 4096;

/// Where a certificate was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Sent by the broker (or held in the `--server-cert` file), at this position.
    Broker {
        /// 0 for the leaf.
        index: usize,
    },
    /// The user's CA file: a trust anchor.
    CaFile {
        /// The file.
        path: String,
    },
    /// The system trust store: a trust anchor.
    SystemStore,
    /// A file beside the user's own files (`--cafile`, `--cert`): a candidate, not trusted.
    Beside {
        /// The file.
        path: String,
    },
    /// A `--untrusted` file: a candidate, not trusted.
    Untrusted {
        /// The file.
        path: String,
    },
    /// Downloaded from a certificate's AIA caIssuers URL: a candidate, not trusted.
    Aia {
        /// The URL.
        url: String,
    },
}

impl Source {
    /// True for the places whose certificates are trust anchors.
    pub fn is_anchor(&self) -> bool {
        matches!(self, Source::CaFile { .. } | Source::SystemStore)
    }

    /// Where it is, in words: "the CA file ca.crt", "the AIA URL http://…".
    pub fn describe(&self) -> String {
        match self {
            Source::Broker { index } => format!("what the broker sent ([{index}])"),
            Source::CaFile { path } => format!("the CA file {path}"),
            Source::SystemStore => "the system trust store".to_string(),
            Source::Beside { path } => format!("{path} (beside your files)"),
            Source::Untrusted { path } => format!("{path} (--untrusted)"),
            Source::Aia { url } => format!("the AIA caIssuers URL {url}"),
        }
    }
}

/// A certificate and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The certificate.
    pub der: CertificateDer<'static>,
    /// Where it came from.
    pub source: Source,
}

/// One certificate of the path (or found near it) and everywhere it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Link {
    /// What it is.
    pub cert: CertSummary,
    /// Every place that holds it, the broker's first.
    pub sources: Vec<Source>,
    /// The caIssuers URLs of its AIA extension: where its issuer can be downloaded.
    pub ca_issuers: Vec<String>,
}

impl Link {
    /// The broker sent it.
    pub fn sent(&self) -> bool {
        broker_index(&self.sources).is_some()
    }

    /// Its position in what the broker sent.
    pub fn broker_index(&self) -> Option<usize> {
        broker_index(&self.sources)
    }

    /// A trust anchor holds it.
    pub fn anchor(&self) -> bool {
        self.sources.iter().any(Source::is_anchor)
    }

    /// Where it was found, in words, best place first: the broker, the trust anchors, then the
    /// rest.
    pub fn found_in(&self) -> String {
        // The broker and the trust anchors always; of the other places the first, then a count
        // (a lab folder holds the same intermediate in a dozen bundles).
        let (main, others): (Vec<&Source>, Vec<&Source>) = self
            .sources
            .iter()
            .partition(|s| s.is_anchor() || matches!(s, Source::Broker { .. }));
        let mut words: Vec<String> = main.iter().map(|s| s.describe()).collect();
        words.extend(others.first().map(|s| s.describe()));
        if others.len() > 1 {
            words.push(format!("and {} other file(s)", others.len() - 1));
        }
        words.join(", ")
    }
}

/// How the path from the leaf ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PathEnd {
    /// At a trust anchor: a self-signed root, or (`root: false`) a CA-file certificate that is
    /// not self-signed, which rustls accepts as an anchor and OpenSSL does not.
    Anchored {
        /// The anchor is self-signed (its own key verifies its signature).
        root: bool,
    },
    /// At a self-signed certificate (its signature checked) that no trust anchor holds.
    UntrustedRoot,
    /// The last certificate's issuer was found nowhere (no certificate with its name and a key
    /// that verifies its signature).
    IssuerNotFound {
        /// The missing issuer's name.
        issuer: String,
        /// The key identifier the last certificate names for it, hex.
        aki: Option<String>,
    },
    /// The path grew past [`MAX_LINKS`] or the search budget ran out.
    TooLong,
}

/// The analysis of one chain: the best path found and what surrounds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChainAnalysis {
    /// Leaf first; each next link's key verifies the signature of the one before.
    pub path: Vec<Link>,
    /// How the path ends.
    pub end: PathEnd,
    /// How many certificates the broker sent.
    pub sent: usize,
    /// Certificates the broker sent that are not on the path (cross-signs, stale
    /// intermediates, the root).
    pub unused_sent: Vec<Link>,
    /// Certificates that carry the missing issuer's name (or key identifier) but whose key does
    /// not verify the last certificate's signature: a CA regenerated under the same name.
    pub namesakes: Vec<Link>,
    /// Every place searched, with how many certificates it held, and what failed (an AIA
    /// download).
    pub searched: Vec<String>,
}

impl ChainAnalysis {
    /// The broker's own certificate.
    pub fn leaf(&self) -> Option<&Link> {
        self.path.first()
    }

    /// The last certificate of the path.
    pub fn top(&self) -> Option<&Link> {
        self.path.last()
    }

    /// True when the path reaches a trust anchor.
    pub fn anchored(&self) -> bool {
        matches!(self.end, PathEnd::Anchored { .. })
    }

    /// The path in one line, leaf first, each certificate with where it came from:
    /// `CN=broker (sent) ← CN=Issuing CA (certs/int.crt (beside your files)) ← CN=Root (the CA
    /// file ca.crt)`, then how it ends when it ends short of an anchor.
    pub fn describe_path(&self) -> String {
        let links = self
            .path
            .iter()
            .map(|l| {
                let place = if l.sent() {
                    "sent".to_string()
                } else {
                    l.sources.first().map_or(String::new(), Source::describe)
                };
                format!("{} ({place})", l.cert.subject)
            })
            .collect::<Vec<_>>()
            .join(" ← ");
        match &self.end {
            PathEnd::Anchored { root: true } => links,
            PathEnd::Anchored { root: false } => {
                format!("{links}, an anchor that is not self-signed")
            }
            PathEnd::UntrustedRoot => format!("{links}, a root no trust anchor holds"),
            PathEnd::IssuerNotFound { issuer, .. } => {
                format!("{links} ← {issuer}: not found")
            }
            PathEnd::TooLong => format!("{links} ← … (longer than mqtls follows)"),
        }
    }

    /// The intermediates of the path the broker did not send: above the leaf, below a
    /// self-signed top. Each is a certificate clients that trust only the root cannot find.
    ///
    /// A self-signed top is a root whether or not a trust anchor holds it: a root the CA file
    /// lacks (found beside it, or nowhere but the broker's chain) is the CA file's gap, not an
    /// intermediate the broker failed to send.
    pub fn not_sent(&self) -> Vec<&Link> {
        let n = self.path.len();
        let root_top = matches!(
            self.end,
            PathEnd::Anchored { root: true } | PathEnd::UntrustedRoot
        );
        self.path
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(i, l)| {
                let root = root_top && *i + 1 == n;
                !l.sent() && !root
            })
            .map(|(_, l)| l)
            .collect()
    }
}

/// The position in what the broker sent, when one of `sources` is the broker.
fn broker_index(sources: &[Source]) -> Option<usize> {
    sources.iter().find_map(|s| match s {
        Source::Broker { index } => Some(*index),
        _ => None,
    })
}

/// The candidates, each certificate once, parsed once.
#[derive(Debug, Default)]
pub struct Pool {
    nodes: Vec<Node>,
    by_sha256: HashMap<String, usize>,
    by_subject: HashMap<NameKey, Vec<usize>>,
    notes: Vec<String>,
    counts: Vec<(String, usize)>,
}

#[derive(Debug)]
struct Node {
    der: CertificateDer<'static>,
    summary: CertSummary,
    subject: NameKey,
    issuer: NameKey,
    sources: Vec<Source>,
    x509: OnceCell<Option<X509>>,
    key: OnceCell<Option<PKey<Public>>>,
}

impl Node {
    fn openssl(&self) -> Option<&X509> {
        self.x509
            .get_or_init(|| X509::from_der(&self.der).ok())
            .as_ref()
    }

    /// Its public key, extracted once: a path search checks one issuer against many children.
    fn public_key(&self) -> Option<&PKey<Public>> {
        self.key
            .get_or_init(|| self.openssl().and_then(|c| c.public_key().ok()))
            .as_ref()
    }

    fn sent(&self) -> bool {
        broker_index(&self.sources).is_some()
    }

    fn anchor(&self) -> bool {
        self.sources.iter().any(Source::is_anchor)
    }

    fn link(&self) -> Link {
        let mut sources = self.sources.clone();
        sources.sort_by_key(|s| match s {
            Source::Broker { .. } => 0,
            Source::CaFile { .. } | Source::SystemStore => 1,
            _ => 2,
        });
        Link {
            cert: self.summary.clone(),
            sources,
            ca_issuers: gather::ca_issuers(&self.der),
        }
    }
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Pool {
        Pool::default()
    }

    /// Adds one certificate; a certificate already held only gains the new place.
    pub fn add(&mut self, candidate: Candidate) {
        let Candidate { der, source } = candidate;
        let summary = CertSummary::from_der(&der);
        if let Some(&i) = self.by_sha256.get(&summary.sha256) {
            if let Some(node) = self.nodes.get_mut(i)
                && !node.sources.contains(&source)
            {
                node.sources.push(source);
            }
            return;
        }
        let (subject, issuer) = match X509Certificate::from_der(&der) {
            Ok((_, cert)) => (NameKey::of(cert.subject()), NameKey::of(cert.issuer())),
            Err(_) => Default::default(),
        };
        let i = self.nodes.len();
        self.by_sha256.insert(summary.sha256.clone(), i);
        if !subject.is_empty() {
            self.by_subject.entry(subject.clone()).or_default().push(i);
        }
        self.nodes.push(Node {
            der,
            summary,
            subject,
            issuer,
            sources: vec![source],
            x509: OnceCell::new(),
            key: OnceCell::new(),
        });
    }

    /// Adds every candidate of one place, and remembers the place and its count for the
    /// analysis's `searched` list.
    pub fn add_place(&mut self, place: impl Into<String>, candidates: Vec<Candidate>) {
        self.counts.push((place.into(), candidates.len()));
        for c in candidates {
            self.add(c);
        }
    }

    /// Remembers what a place could not give (an AIA URL that timed out, a file that did not
    /// parse), for the analysis's `searched` list.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Number of distinct certificates held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the pool holds nothing.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Builds the best path from the broker's leaf (`Source::Broker { index: 0 }`) and says how it
/// ends; `None` when the pool has no leaf.
///
/// "Best" is what a verifier that tries every candidate would find: a path to a self-signed
/// anchor first, then to any anchor, then to an untrusted root, then the path that got
/// furthest; among equals the one that needs the fewest certificates the broker did not send,
/// then the shortest.
pub fn analyse(pool: &Pool) -> Option<ChainAnalysis> {
    let leaf = pool.nodes.iter().position(|n| {
        n.sources
            .iter()
            .any(|s| matches!(s, Source::Broker { index: 0 }))
    })?;
    let mut search = Search {
        pool,
        verified: HashMap::new(),
        checks: 0,
        steps: 0,
        too_long: false,
        best: None,
    };
    let mut path = vec![leaf];
    search.explore(&mut path);
    let (path, end) = search
        .best
        .take()
        .map(|(_, path, end)| (path, end))
        .unwrap_or_else(|| (vec![leaf], PathEnd::TooLong));
    let namesakes = match (&end, path.last()) {
        (PathEnd::IssuerNotFound { .. }, Some(&top)) => search.namesakes(top),
        _ => Vec::new(),
    };
    let unused_sent = pool
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| n.sent() && !path.contains(i))
        .map(|(_, n)| n.link())
        .collect();
    let sent = pool.nodes.iter().filter(|n| n.sent()).count();
    let mut searched: Vec<String> = pool
        .counts
        .iter()
        .map(|(place, n)| format!("{place} ({n} certificate(s))"))
        .collect();
    searched.extend(pool.notes.iter().cloned());
    Some(ChainAnalysis {
        path: path
            .iter()
            .filter_map(|&i| pool.nodes.get(i))
            .map(Node::link)
            .collect(),
        end,
        sent,
        unused_sent,
        namesakes,
        searched,
    })
}

/// Ranks a finished path: lower is better.
type Rank = (u8, usize, usize);

struct Search<'a> {
    pool: &'a Pool,
    /// (child, issuer) → the issuer's key verifies the child's signature.
    verified: HashMap<(usize, usize), bool>,
    checks: usize,
    steps: usize,
    too_long: bool,
    best: Option<(Rank, Vec<usize>, PathEnd)>,
}

impl Search<'_> {
    fn node(&self, i: usize) -> Option<&Node> {
        self.pool.nodes.get(i)
    }

    /// True when `issuer`'s key verifies `child`'s signature (cached, budgeted).
    fn signs(&mut self, child: usize, issuer: usize) -> bool {
        if let Some(&known) = self.verified.get(&(child, issuer)) {
            return known;
        }
        if self.checks >= MAX_SIGNATURE_CHECKS {
            return false;
        }
        self.checks += 1;
        let ok = match (self.node(child), self.node(issuer)) {
            (Some(c), Some(i)) => match (c.openssl(), i.public_key()) {
                (Some(c), Some(key)) => c.verify(key).unwrap_or(false),
                _ => false,
            },
            _ => false,
        };
        self.verified.insert((child, issuer), ok);
        ok
    }

    /// Candidate issuers of `child` by name and key identifier, best first: anchors, then
    /// what the broker sent, then the rest.
    fn named_issuers(&self, child: usize) -> Vec<usize> {
        let Some(c) = self.node(child) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = self
            .pool
            .by_subject
            .get(&c.issuer)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| {
                        i != child
                            && self.node(i).is_some_and(|n| {
                                match (&n.summary.ski, &c.summary.aki) {
                                    (Some(ski), Some(aki)) => ski == aki,
                                    _ => true,
                                }
                            })
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Anchors first (as OpenSSL's trusted-first lookup), then what the broker sent, nearest
        // to the position after the child first (brokers send the chain in order), then the
        // rest: the first branch is the natural chain, and a budget cut keeps the likely path.
        let after = broker_index(&c.sources).map_or(0, |index| index + 1);
        out.sort_by_key(|&i| {
            self.node(i).map_or((3, 0), |n| {
                if n.anchor() {
                    (0, 0)
                } else if let Some(index) = broker_index(&n.sources) {
                    (1, index.abs_diff(after))
                } else {
                    (2, 0)
                }
            })
        });
        out
    }

    fn self_signed(&mut self, i: usize) -> bool {
        let same_name = self
            .node(i)
            .is_some_and(|n| !n.subject.is_empty() && n.subject == n.issuer);
        same_name && self.signs(i, i)
    }

    fn finish(&mut self, path: &[usize], end: PathEnd) {
        let kind = match &end {
            PathEnd::Anchored { root: true } => 0,
            PathEnd::Anchored { root: false } => 1,
            PathEnd::UntrustedRoot => 2,
            PathEnd::IssuerNotFound { .. } => 3,
            PathEnd::TooLong => 4,
        };
        let not_sent = path
            .iter()
            .skip(1)
            .filter(|&&i| self.node(i).is_some_and(|n| !n.sent() && !n.anchor()))
            .count();
        // A longer partial path got further; a longer complete path is just longer.
        let length = if kind >= 3 {
            usize::MAX - path.len()
        } else {
            path.len()
        };
        let rank = (kind, not_sent, length);
        if self.best.as_ref().is_none_or(|(best, ..)| rank < *best) {
            self.best = Some((rank, path.to_vec(), end));
        }
    }

    fn explore(&mut self, path: &mut Vec<usize>) {
        self.steps += 1;
        let Some(&current) = path.last() else {
            return;
        };
        if self
            .best
            .as_ref()
            .is_some_and(|(rank, ..)| rank.0 == 0 && rank.1 == 0)
        {
            // A path to a root with only what the broker sent: nothing can beat it.
            return;
        }
        if self.too_long {
            return;
        }
        if self.steps > MAX_STEPS || path.len() > MAX_LINKS {
            // Longer than any verifier follows: exploring the other branches of such a chain
            // only spends the budget (the pathological 101-certificate chains of x509-limbo).
            self.too_long = true;
            self.finish(path, PathEnd::TooLong);
            return;
        }
        let in_store = self.node(current).is_some_and(Node::anchor);
        // A leaf in the CA file anchors nothing but itself when self-signed: neither stack
        // accepts an end-entity certificate as its own trust anchor otherwise.
        let anchor = in_store && path.len() > 1;
        if self.self_signed(current) {
            let anchor = in_store;
            let end = if anchor {
                PathEnd::Anchored { root: true }
            } else {
                PathEnd::UntrustedRoot
            };
            self.finish(path, end);
            return;
        }
        if anchor {
            // rustls stops at any anchor; OpenSSL goes on to a self-signed root. Both
            // readings are paths; the ranking prefers the one that reaches a root.
            self.finish(path, PathEnd::Anchored { root: false });
        }
        let mut extended = false;
        for issuer in self.named_issuers(current) {
            if self.too_long {
                return;
            }
            if path.contains(&issuer) || !self.signs(current, issuer) {
                continue;
            }
            extended = true;
            path.push(issuer);
            self.explore(path);
            path.pop();
        }
        if !extended && !anchor {
            let end = self
                .node(current)
                .map_or(PathEnd::TooLong, |n| PathEnd::IssuerNotFound {
                    issuer: n.summary.issuer.clone(),
                    aki: n.summary.aki.clone(),
                });
            self.finish(path, end);
        }
    }

    /// Certificates named like `child`'s issuer, or carrying its authority key identifier,
    /// whose key does not verify its signature.
    fn namesakes(&mut self, child: usize) -> Vec<Link> {
        let Some(c) = self.node(child) else {
            return Vec::new();
        };
        let (issuer, aki) = (c.issuer.clone(), c.summary.aki.clone());
        let candidates: Vec<usize> = (0..self.pool.nodes.len())
            .filter(|&i| {
                i != child
                    && self.node(i).is_some_and(|n| {
                        (!issuer.is_empty() && n.subject == issuer)
                            || (aki.is_some() && n.summary.ski == aki)
                    })
            })
            .collect();
        let unsigned: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| !self.signs(child, i))
            .collect();
        unsigned
            .into_iter()
            .filter_map(|i| self.node(i).map(Node::link))
            .collect()
    }
}

#[cfg(test)]
mod tests;
