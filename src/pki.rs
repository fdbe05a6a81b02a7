//! The lab's test PKI: a root, a signing intermediate, good server and client leaves, and one
//! deliberately broken certificate per TLS failure that `mqtls` must diagnose.
//!
//! Everything is described by one table ([`VARIANTS`]); [`generate`] walks it, writes PEM files
//! and a `README.md` (made from the same table) into a directory, and returns a [`Pki`] that
//! holds both the paths and the PEM bytes. rcgen builds every certificate it can; the encodings
//! it refuses to write come from OpenSSL (see `openssl_builder`). Keys are ECDSA P-256 so the
//! whole set takes a few milliseconds. This module only writes files: it never starts servers or
//! verifies anything.
//!
//! File names are a contract: the demo, the test brokers and `mqtls certs generate` rely on them.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

mod openssl_builder;

/// Organisation name carried by every certificate of the lab PKI.
pub const LAB_ORG: &str = "mqtls lab";

/// Organisation name of the unrelated "elsewhere" PKI used for unknown-CA failures.
pub const ELSEWHERE_ORG: &str = "elsewhere";

/// Everything that can go wrong while generating the PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused to build or sign a certificate.
    #[error("cannot build certificate {stem:?} with rcgen")]
    Rcgen {
        /// File stem of the certificate being built.
        stem: &'static str,
        /// The underlying rcgen error.
        #[source]
        source: rcgen::Error,
    },
    /// OpenSSL refused to build, sign or convert a certificate or key.
    #[error("cannot build certificate {stem:?} with openssl")]
    Openssl {
        /// File stem of the certificate being built.
        stem: &'static str,
        /// The underlying OpenSSL error stack.
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// A file or the output directory could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The path being written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The files (and their contents) written for one certificate of the table.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// File stem, e.g. `server-expired`; the files are `<stem>.crt` and `<stem>.key`.
    pub stem: &'static str,
    /// One line saying what the certificate is for, or what is wrong with it.
    pub description: &'static str,
    /// Path of the certificate alone (`<stem>.crt`).
    pub cert: PathBuf,
    /// Path of the private key (`<stem>.key`, PKCS#8 PEM, mode 0644).
    pub key: PathBuf,
    /// Path of `<stem>-fullchain.crt` (leaf then its intermediate), present only when the
    /// issuer is itself signed by a root.
    pub fullchain: Option<PathBuf>,
    /// PEM contents of [`CertFiles::cert`].
    pub cert_pem: Vec<u8>,
    /// PEM contents of [`CertFiles::key`].
    pub key_pem: Vec<u8>,
    /// PEM contents of [`CertFiles::fullchain`], if any.
    pub fullchain_pem: Option<Vec<u8>>,
}

impl CertFiles {
    /// The chain a server should send: the fullchain when there is one, else the cert alone.
    pub fn chain_pem(&self) -> &[u8] {
        self.fullchain_pem.as_deref().unwrap_or(&self.cert_pem)
    }

    /// Path of the chain a server should send (see [`CertFiles::chain_pem`]).
    pub fn chain_path(&self) -> &Path {
        self.fullchain.as_deref().unwrap_or(&self.cert)
    }
}

/// The generated PKI: one [`CertFiles`] per table row plus the CA bundle and the README.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Directory every file was written into.
    pub dir: PathBuf,
    /// `root`: the lab root CA (trust anchor for clients and brokers).
    pub root: CertFiles,
    /// `intermediate`: the signing CA (pathlen 0) that issues the lab leaves.
    pub intermediate: CertFiles,
    /// `server`: the good broker certificate (localhost, 127.0.0.1, ::1).
    pub server: CertFiles,
    /// `client`: the good client certificate (`CN=mqtls-client`).
    pub client: CertFiles,
    /// `other-root`: an unrelated root nobody trusts.
    pub other_root: CertFiles,
    /// `other-server`: a server certificate from the unrelated root (unknown CA).
    pub other_server: CertFiles,
    /// `other-client`: a client certificate from the unrelated root (broker won't trust it).
    pub other_client: CertFiles,
    /// `server-expired`: valid 2019-01-01 to 2020-01-01.
    pub server_expired: CertFiles,
    /// `server-wrong-name`: SAN `broker.example.com` only.
    pub server_wrong_name: CertFiles,
    /// `server-not-yet-valid`: notBefore 2090-01-01.
    pub server_not_yet_valid: CertFiles,
    /// `server-cn-only`: `CN=localhost` and no subjectAltName.
    pub server_cn_only: CertFiles,
    /// `server-v1`: an X.509 v1 certificate (no extensions at all).
    pub server_v1: CertFiles,
    /// `server-ca-true`: self-signed with CA:TRUE, as `openssl req -x509` makes.
    pub server_ca_true: CertFiles,
    /// `server-self-signed`: self-signed CA:FALSE leaf.
    pub server_self_signed: CertFiles,
    /// `server-eku-client`: extendedKeyUsage clientAuth only.
    pub server_eku_client: CertFiles,
    /// `issuer-not-ca`: an "intermediate" without basicConstraints.
    pub issuer_not_ca: CertFiles,
    /// `server-by-not-ca`: a server certificate issued by `issuer-not-ca`.
    pub server_by_not_ca: CertFiles,
    /// Path of `ca-bundle.crt` (root then intermediate).
    pub ca_bundle: PathBuf,
    /// PEM contents of [`Pki::ca_bundle`].
    pub ca_bundle_pem: Vec<u8>,
    /// Path of the generated `README.md`.
    pub readme: PathBuf,
}

impl Pki {
    /// Every certificate, in table order.
    pub fn all(&self) -> [&CertFiles; 17] {
        [
            &self.root,
            &self.intermediate,
            &self.server,
            &self.client,
            &self.other_root,
            &self.other_server,
            &self.other_client,
            &self.server_expired,
            &self.server_wrong_name,
            &self.server_not_yet_valid,
            &self.server_cn_only,
            &self.server_v1,
            &self.server_ca_true,
            &self.server_self_signed,
            &self.server_eku_client,
            &self.issuer_not_ca,
            &self.server_by_not_ca,
        ]
    }

    /// The certificate with the given file stem, if the table has one.
    pub fn by_stem(&self, stem: &str) -> Option<&CertFiles> {
        self.all().into_iter().find(|c| c.stem == stem)
    }
}

/// Generate the whole PKI into `dir` (created if missing; existing files are overwritten).
pub fn generate(dir: &Path) -> Result<Pki, PkiError> {
    fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut built: Vec<Built> = Vec::with_capacity(VARIANTS.len());
    for variant in VARIANTS {
        let item = build(variant, &built)?;
        built.push(item);
    }
    let mut files = Vec::with_capacity(built.len());
    for item in &built {
        files.push(write_files(dir, item, &built)?);
    }

    let mut ca_bundle_pem = built[ROOT].cert_pem.clone().into_bytes();
    ca_bundle_pem.extend_from_slice(built[INTERMEDIATE].cert_pem.as_bytes());
    let ca_bundle = dir.join("ca-bundle.crt");
    write_file(&ca_bundle, &ca_bundle_pem)?;
    let readme = dir.join("README.md");
    write_file(&readme, readme_text(&files).as_bytes())?;

    // The table order is fixed (see VARIANTS); destructure it so a new row cannot be forgotten.
    let [
        root,
        intermediate,
        server,
        client,
        other_root,
        other_server,
        other_client,
        server_expired,
        server_wrong_name,
        server_not_yet_valid,
        server_cn_only,
        server_v1,
        server_ca_true,
        server_self_signed,
        server_eku_client,
        issuer_not_ca,
        server_by_not_ca,
    ]: [CertFiles; 17] = files
        .try_into()
        .unwrap_or_else(|_| unreachable!("one CertFiles per VARIANTS row, and VARIANTS has 17"));
    Ok(Pki {
        dir: dir.to_path_buf(),
        root,
        intermediate,
        server,
        client,
        other_root,
        other_server,
        other_client,
        server_expired,
        server_wrong_name,
        server_not_yet_valid,
        server_cn_only,
        server_v1,
        server_ca_true,
        server_self_signed,
        server_eku_client,
        issuer_not_ca,
        server_by_not_ca,
        ca_bundle,
        ca_bundle_pem,
        readme,
    })
}

/// One row of the certificate table, public so other code (e.g. `mqtls certs`) can list it.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// File stem of the certificate and key.
    pub stem: &'static str,
    /// One line saying what the certificate is for, or what is wrong with it.
    pub description: &'static str,
    /// Index into [`VARIANTS`] of the issuer; `None` means self-signed.
    issuer: Option<usize>,
    /// Subject common name.
    cn: &'static str,
    /// Subject organisation.
    org: &'static str,
    /// What kind of certificate to build.
    role: Role,
    /// Which subjectAltNames to include.
    sans: Sans,
    /// Validity window.
    validity: Validity,
    /// Who builds the certificate, and what is unusual about its encoding.
    maker: Maker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// CA:TRUE without a path length, keyCertSign + cRLSign.
    RootCa,
    /// CA:TRUE pathlen 0, keyCertSign + cRLSign.
    IntermediateCa,
    /// Signs certificates but has no basicConstraints extension at all.
    IssuerWithoutBasicConstraints,
    /// CA:FALSE leaf with serverAuth.
    Server,
    /// CA:FALSE leaf with clientAuth.
    Client,
    /// CA:FALSE leaf with clientAuth only, used as a server certificate.
    ServerWithClientEku,
    /// Self-signed CA:TRUE with a SAN, like `openssl req -x509`.
    ServerCaTrue,
}

/// Who builds a row's certificate. rcgen builds everything it can; OpenSSL builds the encodings
/// rcgen refuses to write (see [`openssl_builder`]), and only for leaves signed by another row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Maker {
    /// rcgen: X.509 v3, ECDSA P-256 key, signed with ECDSA-SHA256.
    Rcgen,
    /// OpenSSL: X.509 v1 (no extensions at all); rcgen always writes v3.
    OpensslV1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sans {
    None,
    /// DNS:localhost, IP:127.0.0.1, IP:::1.
    Localhost,
    /// DNS:broker.example.com only.
    WrongName,
}

impl Sans {
    /// The `DNS:` entries.
    fn dns_names(self) -> &'static [&'static str] {
        match self {
            Sans::None => &[],
            Sans::Localhost => &["localhost"],
            Sans::WrongName => &["broker.example.com"],
        }
    }

    /// The `IP:` entries.
    fn ips(self) -> &'static [IpAddr] {
        const LOOPBACK: [IpAddr; 2] = [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        match self {
            Sans::Localhost => &LOOPBACK,
            Sans::None | Sans::WrongName => &[],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validity {
    /// 2024-01-01 to 4096-01-01: fixtures must never silently expire.
    Good,
    /// 2019-01-01 to 2020-01-01.
    Expired,
    /// 2090-01-01 to 4096-01-01.
    NotYetValid,
}

impl Validity {
    /// `(notBefore, notAfter)`, both at midnight UTC.
    fn window(self) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            Validity::Good => (ymd(2024, 1, 1), ymd(4096, 1, 1)),
            Validity::Expired => (ymd(2019, 1, 1), ymd(2020, 1, 1)),
            Validity::NotYetValid => (ymd(2090, 1, 1), ymd(4096, 1, 1)),
        }
    }
}

// `generate` destructures one CertFiles per row into the named Pki fields.
const _: () = assert!(VARIANTS.len() == 17);

// Indices of the issuers in VARIANTS; rows may only reference earlier rows.
const ROOT: usize = 0;
const INTERMEDIATE: usize = 1;
const OTHER_ROOT: usize = 4;
const ISSUER_NOT_CA: usize = 15;

const fn row(
    stem: &'static str,
    description: &'static str,
    issuer: Option<usize>,
    cn: &'static str,
    role: Role,
    sans: Sans,
) -> Variant {
    Variant {
        stem,
        description,
        issuer,
        cn,
        org: LAB_ORG,
        role,
        sans,
        validity: Validity::Good,
        maker: Maker::Rcgen,
    }
}

const fn elsewhere(v: Variant) -> Variant {
    Variant {
        org: ELSEWHERE_ORG,
        ..v
    }
}

const fn valid(v: Variant, validity: Validity) -> Variant {
    Variant { validity, ..v }
}

const fn made_by(v: Variant, maker: Maker) -> Variant {
    Variant { maker, ..v }
}

/// The certificate table, in generation order (issuers before what they sign).
pub const VARIANTS: &[Variant] = &[
    row(
        "root",
        "lab root CA (trust anchor)",
        None,
        "mqtls Lab Root CA",
        Role::RootCa,
        Sans::None,
    ),
    row(
        "intermediate",
        "lab signing CA (pathlen 0), issued by root; issues the lab leaves",
        Some(ROOT),
        "mqtls Lab Signing CA",
        Role::IntermediateCa,
        Sans::None,
    ),
    row(
        "server",
        "good broker certificate for localhost, 127.0.0.1 and ::1",
        Some(INTERMEDIATE),
        "localhost",
        Role::Server,
        Sans::Localhost,
    ),
    row(
        "client",
        "good client certificate (clientAuth)",
        Some(INTERMEDIATE),
        "mqtls-client",
        Role::Client,
        Sans::None,
    ),
    elsewhere(row(
        "other-root",
        "unrelated root CA that neither clients nor brokers trust",
        None,
        "Elsewhere Root CA",
        Role::RootCa,
        Sans::None,
    )),
    elsewhere(row(
        "other-server",
        "server certificate for localhost issued by other-root (unknown CA)",
        Some(OTHER_ROOT),
        "localhost",
        Role::Server,
        Sans::Localhost,
    )),
    elsewhere(row(
        "other-client",
        "client certificate issued by other-root (the broker won't trust it)",
        Some(OTHER_ROOT),
        "mqtls-client",
        Role::Client,
        Sans::None,
    )),
    valid(
        row(
            "server-expired",
            "server certificate that expired (valid 2019-01-01 to 2020-01-01)",
            Some(INTERMEDIATE),
            "localhost",
            Role::Server,
            Sans::Localhost,
        ),
        Validity::Expired,
    ),
    row(
        "server-wrong-name",
        "server certificate for broker.example.com only (hostname mismatch)",
        Some(INTERMEDIATE),
        "broker.example.com",
        Role::Server,
        Sans::WrongName,
    ),
    valid(
        row(
            "server-not-yet-valid",
            "server certificate not valid before 2090-01-01",
            Some(INTERMEDIATE),
            "localhost",
            Role::Server,
            Sans::Localhost,
        ),
        Validity::NotYetValid,
    ),
    row(
        "server-cn-only",
        "server certificate with CN=localhost and no subjectAltName",
        Some(INTERMEDIATE),
        "localhost",
        Role::Server,
        Sans::None,
    ),
    made_by(
        row(
            "server-v1",
            "X.509 v1 server certificate (no extensions, so no SAN)",
            Some(INTERMEDIATE),
            "localhost",
            Role::Server,
            Sans::None,
        ),
        Maker::OpensslV1,
    ),
    row(
        "server-ca-true",
        "self-signed CA:TRUE certificate for localhost, as `openssl req -x509` makes",
        None,
        "localhost",
        Role::ServerCaTrue,
        Sans::Localhost,
    ),
    row(
        "server-self-signed",
        "self-signed CA:FALSE server certificate for localhost",
        None,
        "localhost",
        Role::Server,
        Sans::Localhost,
    ),
    row(
        "server-eku-client",
        "server certificate whose extendedKeyUsage is clientAuth only",
        Some(INTERMEDIATE),
        "localhost",
        Role::ServerWithClientEku,
        Sans::Localhost,
    ),
    row(
        "issuer-not-ca",
        "\"intermediate\" issued by root but without basicConstraints, so not a CA",
        Some(ROOT),
        "mqtls Lab Not-a-CA Issuer",
        Role::IssuerWithoutBasicConstraints,
        Sans::None,
    ),
    row(
        "server-by-not-ca",
        "server certificate for localhost issued by issuer-not-ca (invalid CA in chain)",
        Some(ISSUER_NOT_CA),
        "localhost",
        Role::Server,
        Sans::Localhost,
    ),
];

/// A certificate built in memory, before it is written.
struct Built {
    variant: &'static Variant,
    /// Kept so later rows can be signed by this one.
    params: CertificateParams,
    /// The key as rcgen holds it, for signing later rows; `None` only for keys aws-lc refuses
    /// (RSA under 2048 bits), which never sign anything.
    key: Option<KeyPair>,
    /// The private key, PKCS#8 PEM.
    key_pem: String,
    cert_pem: String,
}

impl Built {
    /// rcgen's view of this row as the issuer of another.
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        // `table_is_consistent` checks that every issuer is an rcgen row with an ECDSA key.
        let key = self.key.as_ref().unwrap_or_else(|| {
            unreachable!("{}: issuers always have an rcgen key", self.variant.stem)
        });
        Issuer::from_params(&self.params, key)
    }
}

fn build(variant: &'static Variant, earlier: &[Built]) -> Result<Built, PkiError> {
    let stem = variant.stem;
    let rcgen_err = |source| PkiError::Rcgen { stem, source };
    let ossl_err = |source| PkiError::Openssl { stem, source };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(rcgen_err)?;
    let key_pem = key.serialize_pem();
    let params = params_for(variant)?;
    let cert_pem = match (variant.maker, variant.issuer) {
        (Maker::Rcgen, Some(issuer)) => params
            .signed_by(&key, &earlier[issuer].issuer())
            .map_err(rcgen_err)?
            .pem(),
        (Maker::Rcgen, None) => params.self_signed(&key).map_err(rcgen_err)?.pem(),
        (_, Some(issuer)) => {
            let issuer = &earlier[issuer];
            // Row numbers are unique, so no two certificates share issuer and serial.
            let serial = 0x0001_0000 + earlier.len() as u32;
            openssl_builder::cert_pem(variant, serial, &key_pem, &issuer.cert_pem, &issuer.key_pem)
                .map_err(ossl_err)?
        }
        // `table_is_consistent` checks that OpenSSL rows have an issuer.
        (_, None) => unreachable!("{stem}: OpenSSL only builds leaves signed by another row"),
    };
    Ok(Built {
        variant,
        params,
        key: Some(key),
        key_pem,
        cert_pem,
    })
}

fn params_for(variant: &'static Variant) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, variant.cn);
    dn.push(DnType::OrganizationName, variant.org);
    p.distinguished_name = dn;
    (p.not_before, p.not_after) = variant.validity.window();
    // The AKI lets OpenSSL pick the right issuer when several share a name.
    p.use_authority_key_identifier_extension = variant.issuer.is_some();
    for name in variant.sans.dns_names() {
        let name = (*name).try_into().map_err(|source| PkiError::Rcgen {
            stem: variant.stem,
            source,
        })?;
        p.subject_alt_names.push(SanType::DnsName(name));
    }
    let ips = variant.sans.ips().iter().copied().map(SanType::IpAddress);
    p.subject_alt_names.extend(ips);
    let ca_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let leaf_usages = vec![KeyUsagePurpose::DigitalSignature];
    match variant.role {
        Role::RootCa => {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = ca_usages;
        }
        Role::IntermediateCa => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = ca_usages;
        }
        // No basicConstraints and no keyUsage: OpenSSL tolerates a missing basicConstraints
        // when keyUsage has keyCertSign ("old non-compliant CA"), so leave keyUsage out too.
        Role::IssuerWithoutBasicConstraints => p.is_ca = IsCa::NoCa,
        Role::Server => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = leaf_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        Role::Client | Role::ServerWithClientEku => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = leaf_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        // What `openssl req -x509` writes: CA:TRUE, no keyUsage, no EKU.
        Role::ServerCaTrue => p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained),
    }
    Ok(p)
}

fn ymd(year: i32, month: u8, day: u8) -> OffsetDateTime {
    rcgen::date_time_ymd(year, month, day)
}

fn write_files(dir: &Path, item: &Built, all: &[Built]) -> Result<CertFiles, PkiError> {
    let stem = item.variant.stem;
    let cert = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    let cert_pem = item.cert_pem.clone().into_bytes();
    let key_pem = item.key_pem.clone().into_bytes();
    write_file(&cert, &cert_pem)?;
    write_file(&key, &key_pem)?;

    // A fullchain only makes sense when the issuer is an intermediate, i.e. not a root.
    let intermediate = item
        .variant
        .issuer
        .map(|i| &all[i])
        .filter(|issuer| issuer.variant.issuer.is_some());
    let (fullchain, fullchain_pem) = match intermediate {
        Some(issuer) => {
            let path = dir.join(format!("{stem}-fullchain.crt"));
            let mut pem = cert_pem.clone();
            pem.extend_from_slice(issuer.cert_pem.as_bytes());
            write_file(&path, &pem)?;
            (Some(path), Some(pem))
        }
        None => (None, None),
    };
    Ok(CertFiles {
        stem,
        description: item.variant.description,
        cert,
        key,
        fullchain,
        cert_pem,
        key_pem,
        fullchain_pem,
    })
}

/// Write a file with mode 0644: mosquitto drops privileges and must still read the keys.
fn write_file(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    fs::write(path, contents).map_err(io_err)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(io_err)
}

fn readme_text(files: &[CertFiles]) -> String {
    let mut s = String::from(
        "# mqtls lab PKI\n\n\
         Generated by `mqtls` (src/pki.rs). Keys are ECDSA P-256, PKCS#8 PEM, mode 0644 \
         (test material only, never use it in production).\n\n\
         | file | what it is / what is wrong with it |\n|---|---|\n",
    );
    for f in files {
        let d = f.description;
        // Writing into a String cannot fail.
        let _ = writeln!(s, "| `{}.crt` | {d} |", f.stem);
        let _ = writeln!(s, "| `{}.key` | private key of `{}.crt` |", f.stem, f.stem);
        if f.fullchain.is_some() {
            let _ = writeln!(
                s,
                "| `{}-fullchain.crt` | `{}.crt` followed by its issuing intermediate |",
                f.stem, f.stem
            );
        }
    }
    s.push_str("| `ca-bundle.crt` | root followed by intermediate |\n");
    s
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use openssl::pkey::PKey;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::{X509, X509StoreContext};
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

    use super::*;

    fn pki() -> (tempfile::TempDir, Pki) {
        let dir = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        let pki = generate(dir.path()).expect("generate");
        eprintln!("pki::generate took {:?}", started.elapsed());
        (dir, pki)
    }

    fn der(pem: &[u8]) -> Vec<u8> {
        X509::from_pem(pem).expect("pem").to_der().expect("der")
    }

    /// Run `f` on the parsed certificate of `files`.
    fn with_cert<T>(files: &CertFiles, f: impl FnOnce(&X509Certificate<'_>) -> T) -> T {
        let der = der(&files.cert_pem);
        let (_, cert) = X509Certificate::from_der(&der).expect("parse");
        f(&cert)
    }

    fn subject(files: &CertFiles) -> String {
        with_cert(files, |c| c.subject().to_string())
    }

    fn issuer(files: &CertFiles) -> String {
        with_cert(files, |c| c.issuer().to_string())
    }

    fn sans(files: &CertFiles) -> Option<Vec<String>> {
        with_cert(files, |c| {
            c.subject_alternative_name().expect("san ext").map(|san| {
                san.value
                    .general_names
                    .iter()
                    .map(|n| match n {
                        GeneralName::DNSName(d) => format!("DNS:{d}"),
                        GeneralName::IPAddress(ip) => format!("IP:{ip:?}"),
                        other => format!("{other:?}"),
                    })
                    .collect()
            })
        })
    }

    /// `Some((ca, pathlen))`, or `None` without basicConstraints.
    fn basic_constraints(files: &CertFiles) -> Option<(bool, Option<u32>)> {
        with_cert(files, |c| {
            c.basic_constraints()
                .expect("bc ext")
                .map(|bc| (bc.value.ca, bc.value.path_len_constraint))
        })
    }

    fn eku(files: &CertFiles) -> (bool, bool) {
        with_cert(files, |c| {
            let e = c.extended_key_usage().expect("eku").expect("has eku");
            (e.value.server_auth, e.value.client_auth)
        })
    }

    fn years(files: &CertFiles) -> (i32, i32) {
        with_cert(files, |c| {
            (
                c.validity().not_before.to_datetime().year(),
                c.validity().not_after.to_datetime().year(),
            )
        })
    }

    /// Verify `leaf` against `anchor` with the untrusted intermediates `chain` at the current time.
    /// The error is the raw `X509_V_ERR_*` code.
    fn openssl_verify(anchor: &[u8], leaf: &[u8], chain: &[&[u8]]) -> Result<(), i32> {
        let mut store = X509StoreBuilder::new().expect("store");
        store
            .add_cert(X509::from_pem(anchor).expect("anchor"))
            .expect("add");
        let store = store.build();
        let mut untrusted = Stack::new().expect("stack");
        for c in chain {
            untrusted
                .push(X509::from_pem(c).expect("chain"))
                .expect("push");
        }
        let leaf = X509::from_pem(leaf).expect("leaf");
        let mut ctx = X509StoreContext::new().expect("ctx");
        ctx.init(&store, &leaf, &untrusted, |c| {
            let ok = c.verify_cert()?;
            Ok(if ok { Ok(()) } else { Err(c.error()) })
        })
        .expect("verify ran")
        .map_err(|e| e.as_raw())
    }

    #[test]
    fn writes_every_file_with_mode_0644() {
        let (dir, pki) = pki();
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let readme = fs::read_to_string(&pki.readme).expect("readme");
        for name in &names {
            let meta = fs::metadata(dir.path().join(name)).expect("meta");
            assert_eq!(meta.permissions().mode() & 0o777, 0o644, "{name}");
            if name != "README.md" {
                assert!(readme.contains(&format!("`{name}`")), "README lists {name}");
            }
        }
        for stem in [
            "root",
            "intermediate",
            "server",
            "client",
            "other-root",
            "other-server",
            "other-client",
            "server-expired",
            "server-wrong-name",
            "server-not-yet-valid",
            "server-cn-only",
            "server-v1",
            "server-ca-true",
            "server-self-signed",
            "server-eku-client",
            "issuer-not-ca",
            "server-by-not-ca",
        ] {
            assert!(names.contains(&format!("{stem}.crt")), "{stem}.crt");
            assert!(names.contains(&format!("{stem}.key")), "{stem}.key");
            assert!(pki.by_stem(stem).is_some(), "{stem} in Pki");
        }
        let fullchains: Vec<&String> = names.iter().filter(|n| n.contains("fullchain")).collect();
        assert_eq!(
            fullchains,
            [
                "client-fullchain.crt",
                "server-by-not-ca-fullchain.crt",
                "server-cn-only-fullchain.crt",
                "server-eku-client-fullchain.crt",
                "server-expired-fullchain.crt",
                "server-fullchain.crt",
                "server-not-yet-valid-fullchain.crt",
                "server-v1-fullchain.crt",
                "server-wrong-name-fullchain.crt",
            ]
        );
        assert!(names.contains(&"ca-bundle.crt".to_owned()));
        // The returned bytes are what is on disk.
        for f in pki.all() {
            assert_eq!(fs::read(&f.cert).expect("cert"), f.cert_pem, "{}", f.stem);
            assert_eq!(fs::read(&f.key).expect("key"), f.key_pem, "{}", f.stem);
            assert!(PKey::private_key_from_pem(&f.key_pem).is_ok(), "{}", f.stem);
        }
        let fullchain = fs::read_to_string(pki.server.fullchain.as_ref().expect("fc")).expect("fc");
        assert_eq!(fullchain.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(fullchain.starts_with(std::str::from_utf8(&pki.server.cert_pem).expect("utf8")));
        let bundle = String::from_utf8(pki.ca_bundle_pem.clone()).expect("utf8");
        assert!(bundle.starts_with(std::str::from_utf8(&pki.root.cert_pem).expect("utf8")));
        assert!(bundle.ends_with(std::str::from_utf8(&pki.intermediate.cert_pem).expect("utf8")));
    }

    #[test]
    fn subjects_issuers_and_extensions() {
        let (_dir, pki) = pki();
        let root = "CN=mqtls Lab Root CA, O=mqtls lab";
        let inter = "CN=mqtls Lab Signing CA, O=mqtls lab";
        let localhost = "CN=localhost, O=mqtls lab";
        assert_eq!(subject(&pki.root), root);
        assert_eq!(issuer(&pki.root), root);
        assert_eq!(basic_constraints(&pki.root), Some((true, None)));
        with_cert(&pki.root, |c| {
            let ku = c.key_usage().expect("ku").expect("has ku").value;
            assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        });
        assert_eq!(subject(&pki.intermediate), inter);
        assert_eq!(issuer(&pki.intermediate), root);
        assert_eq!(basic_constraints(&pki.intermediate), Some((true, Some(0))));

        let good_sans = Some(vec![
            "DNS:localhost".to_owned(),
            "IP:[127, 0, 0, 1]".to_owned(),
            "IP:[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]".to_owned(),
        ]);
        assert_eq!(subject(&pki.server), localhost);
        assert_eq!(issuer(&pki.server), inter);
        assert_eq!(sans(&pki.server), good_sans);
        assert_eq!(basic_constraints(&pki.server), Some((false, None)));
        assert_eq!(eku(&pki.server), (true, false));

        assert_eq!(subject(&pki.client), "CN=mqtls-client, O=mqtls lab");
        assert_eq!(issuer(&pki.client), inter);
        assert_eq!(eku(&pki.client), (false, true));

        let elsewhere = "CN=Elsewhere Root CA, O=elsewhere";
        assert_eq!(subject(&pki.other_root), elsewhere);
        assert_eq!(issuer(&pki.other_root), elsewhere);
        assert_eq!(issuer(&pki.other_server), elsewhere);
        assert_eq!(sans(&pki.other_server), good_sans);
        assert_eq!(issuer(&pki.other_client), elsewhere);
        assert_eq!(eku(&pki.other_client), (false, true));
        assert!(pki.other_server.fullchain.is_none());

        assert_eq!(
            sans(&pki.server_wrong_name),
            Some(vec!["DNS:broker.example.com".to_owned()])
        );
        assert_eq!(sans(&pki.server_cn_only), None);
        assert_eq!(subject(&pki.server_cn_only), localhost);

        with_cert(&pki.server_v1, |c| {
            assert_eq!(c.version().0, 0, "X.509 v1");
            assert!(c.extensions().is_empty());
        });
        assert_eq!(subject(&pki.server_v1), localhost);
        assert_eq!(issuer(&pki.server_v1), inter);

        assert_eq!(issuer(&pki.server_ca_true), localhost);
        assert_eq!(basic_constraints(&pki.server_ca_true), Some((true, None)));
        assert_eq!(sans(&pki.server_ca_true), good_sans);
        assert_eq!(issuer(&pki.server_self_signed), localhost);
        assert_eq!(
            basic_constraints(&pki.server_self_signed),
            Some((false, None))
        );
        assert_eq!(eku(&pki.server_eku_client), (false, true));

        assert_eq!(issuer(&pki.issuer_not_ca), root);
        assert_eq!(basic_constraints(&pki.issuer_not_ca), None);
        assert_eq!(
            issuer(&pki.server_by_not_ca),
            "CN=mqtls Lab Not-a-CA Issuer, O=mqtls lab"
        );
    }

    #[test]
    fn validity_windows() {
        let (_dir, pki) = pki();
        for f in pki.all() {
            let (from, to) = years(f);
            match f.stem {
                "server-expired" => assert_eq!((from, to), (2019, 2020)),
                "server-not-yet-valid" => assert_eq!((from, to), (2090, 4096)),
                _ => assert_eq!((from, to), (2024, 4096), "{}", f.stem),
            }
        }
        with_cert(&pki.server_expired, |c| {
            assert_eq!(c.validity().not_before.timestamp(), 1_546_300_800); // 2019-01-01
            assert_eq!(c.validity().not_after.timestamp(), 1_577_836_800); // 2020-01-01
        });
    }

    #[test]
    fn openssl_verifies_the_good_chain_and_rejects_the_broken_ones() {
        let (_dir, pki) = pki();
        let root = &pki.root.cert_pem;
        let inter = pki.intermediate.cert_pem.as_slice();
        assert_eq!(openssl_verify(root, &pki.server.cert_pem, &[inter]), Ok(()));
        assert_eq!(openssl_verify(root, &pki.client.cert_pem, &[inter]), Ok(()));
        assert_eq!(
            openssl_verify(root, &pki.server_v1.cert_pem, &[inter]),
            Ok(())
        );
        assert_eq!(
            openssl_verify(root, &pki.server_expired.cert_pem, &[inter]),
            Err(openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED)
        );
        assert_eq!(
            openssl_verify(root, &pki.server_not_yet_valid.cert_pem, &[inter]),
            Err(openssl_sys::X509_V_ERR_CERT_NOT_YET_VALID)
        );
        assert_eq!(
            openssl_verify(root, &pki.other_server.cert_pem, &[]),
            Err(openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
        );
        // Without the intermediate the good leaf has no path to the root either.
        assert_eq!(
            openssl_verify(root, &pki.server.cert_pem, &[]),
            Err(openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
        );
        let not_ca = pki.issuer_not_ca.cert_pem.as_slice();
        assert_eq!(
            openssl_verify(root, &pki.server_by_not_ca.cert_pem, &[not_ca]),
            Err(openssl_sys::X509_V_ERR_INVALID_CA)
        );
    }

    #[test]
    fn table_is_consistent() {
        let stems = [(ROOT, "root"), (INTERMEDIATE, "intermediate")];
        let more = [(OTHER_ROOT, "other-root"), (ISSUER_NOT_CA, "issuer-not-ca")];
        for (i, stem) in stems.into_iter().chain(more) {
            assert_eq!(VARIANTS[i].stem, stem);
        }
        for (i, v) in VARIANTS.iter().enumerate() {
            assert!(
                v.issuer.is_none_or(|issuer| issuer < i),
                "{} signed by a later row",
                v.stem
            );
            if let Some(issuer) = v.issuer {
                // `Built::issuer` relies on this: issuers hold an rcgen key.
                assert_eq!(VARIANTS[issuer].maker, Maker::Rcgen, "{} issuer", v.stem);
            }
            if v.maker != Maker::Rcgen {
                // `build` and `openssl_builder` rely on this: OpenSSL only builds signed leaves.
                assert!(v.issuer.is_some(), "{} has no issuer", v.stem);
                assert!(
                    matches!(v.role, Role::Server | Role::Client),
                    "{} is not a leaf",
                    v.stem
                );
            }
            let duplicates = VARIANTS.iter().filter(|o| o.stem == v.stem).count();
            assert_eq!(duplicates, 1, "{}", v.stem);
        }
    }

    #[test]
    fn generation_is_fast() {
        let dir = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        generate(dir.path()).expect("generate");
        let took = started.elapsed();
        eprintln!("pki::generate took {took:?}");
        assert!(took.as_millis() < 2000, "took {took:?}");
    }
}
