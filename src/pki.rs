//! The lab's test PKI: a root, a signing intermediate, good server and client leaves, and one
//! deliberately broken certificate per TLS failure that `mqtls` must diagnose.
//!
//! Everything is described by one table ([`VARIANTS`]); [`generate`] walks it, writes PEM files
//! and a `README.md` (made from the same table) into a directory, and returns a [`Pki`] that
//! holds both the paths and the PEM bytes. rcgen builds every certificate it can; the encodings
//! it refuses to write come from OpenSSL (see `openssl_builder`). Keys are ECDSA P-256 (one
//! RSA-1024 row aside) so the whole set takes a few milliseconds. Beside the table it writes the
//! CA bundle, the intermediate's CRL (`crl.pem`), DER copies and an encrypted key for the rows
//! that ask for them. This module only writes files: it never starts servers or verifies
//! anything.
//!
//! File names are a contract: the demo, the test brokers and `mqtls certs generate` rely on them.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use openssl::pkey::PKey;
use openssl::symm::Cipher;
use openssl::x509::X509;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use time::OffsetDateTime;

mod openssl_builder;

/// Organisation name carried by every certificate of the lab PKI.
pub const LAB_ORG: &str = "mqtls lab";

/// Organisation name of the unrelated "elsewhere" PKI used for unknown-CA failures.
pub const ELSEWHERE_ORG: &str = "elsewhere";

/// Password of every `<stem>-encrypted.key` (e.g. `client-encrypted.key`).
pub const KEY_PASSWORD: &str = "mqtls";

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
    /// Path of `<stem>.der`, the certificate in DER, for rows that have one (people pass DER
    /// where PEM is expected).
    pub der: Option<PathBuf>,
    /// Contents of [`CertFiles::der`], if any.
    pub der_bytes: Option<Vec<u8>>,
    /// Path of `<stem>-encrypted.key`, the key as encrypted PKCS#8 (AES-256-CBC, password
    /// [`KEY_PASSWORD`]), for rows that have one.
    pub encrypted_key: Option<PathBuf>,
    /// PEM contents of [`CertFiles::encrypted_key`], if any.
    pub encrypted_key_pem: Option<Vec<u8>>,
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
    /// `server-issued-ca-true`: CA:TRUE leaf issued by the intermediate (not self-signed).
    pub server_issued_ca_true: CertFiles,
    /// `server-sha1`: server certificate signed by the intermediate with ECDSA-SHA1.
    pub server_sha1: CertFiles,
    /// `server-rsa1024`: server certificate with an RSA-1024 key.
    pub server_rsa1024: CertFiles,
    /// `server-dns-only`: SAN `DNS:localhost` only, no `IP:` entries.
    pub server_dns_only: CertFiles,
    /// `expired-root`: a self-signed root valid 2015-01-01 to 2020-01-01.
    pub expired_root: CertFiles,
    /// `server-by-expired-root`: a valid server certificate issued by `expired-root`.
    pub server_by_expired_root: CertFiles,
    /// `same-subject-ca`: a root whose subject is `CN=localhost, O=mqtls lab`.
    pub same_subject_ca: CertFiles,
    /// `server-same-subject`: a server certificate with its issuer's subject and no
    /// authorityKeyIdentifier, from `same-subject-ca`.
    pub server_same_subject: CertFiles,
    /// `client-eku-server`: client certificate whose extendedKeyUsage is serverAuth only.
    pub client_eku_server: CertFiles,
    /// `client-expired`: client certificate valid 2019-01-01 to 2020-01-01.
    pub client_expired: CertFiles,
    /// `client-revoked`: valid client certificate whose serial [`Pki::crl`] revokes.
    pub client_revoked: CertFiles,
    /// Path of `ca-bundle.crt` (root then intermediate).
    pub ca_bundle: PathBuf,
    /// PEM contents of [`Pki::ca_bundle`].
    pub ca_bundle_pem: Vec<u8>,
    /// Path of `crl.pem`: the intermediate's CRL, revoking `client-revoked` (mosquitto `crlfile`).
    pub crl: PathBuf,
    /// PEM contents of [`Pki::crl`].
    pub crl_pem: Vec<u8>,
    /// Path of the generated `README.md`.
    pub readme: PathBuf,
}

impl Pki {
    /// Every certificate, in table order.
    pub fn all(&self) -> [&CertFiles; 28] {
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
            &self.server_issued_ca_true,
            &self.server_sha1,
            &self.server_rsa1024,
            &self.server_dns_only,
            &self.expired_root,
            &self.server_by_expired_root,
            &self.same_subject_ca,
            &self.server_same_subject,
            &self.client_eku_server,
            &self.client_expired,
            &self.client_revoked,
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
    let crl_pem = crl_pem(&built, INTERMEDIATE)?.into_bytes();
    let crl = dir.join("crl.pem");
    write_file(&crl, &crl_pem)?;
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
        server_issued_ca_true,
        server_sha1,
        server_rsa1024,
        server_dns_only,
        expired_root,
        server_by_expired_root,
        same_subject_ca,
        server_same_subject,
        client_eku_server,
        client_expired,
        client_revoked,
    ]: [CertFiles; 28] = files
        .try_into()
        .unwrap_or_else(|_| unreachable!("one CertFiles per VARIANTS row, and VARIANTS has 28"));
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
        server_issued_ca_true,
        server_sha1,
        server_rsa1024,
        server_dns_only,
        expired_root,
        server_by_expired_root,
        same_subject_ca,
        server_same_subject,
        client_eku_server,
        client_expired,
        client_revoked,
        ca_bundle,
        ca_bundle_pem,
        crl,
        crl_pem,
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
    /// Extra files and lists the row takes part in.
    extras: Extras,
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
    /// CA:FALSE leaf with serverAuth but no authorityKeyIdentifier, as `openssl x509 -req
    /// -extfile` wrote before OpenSSL 3.0 unless asked for one.
    ServerWithoutAuthorityKeyId,
    /// CA:FALSE leaf with clientAuth only, used as a server certificate.
    ServerWithClientEku,
    /// CA:FALSE leaf with serverAuth only, used as a client certificate.
    ClientWithServerEku,
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
    /// OpenSSL: v3 leaf signed with ECDSA-SHA1; rcgen only signs with SHA-256 and up.
    OpensslSha1,
    /// OpenSSL: v3 leaf with an RSA-1024 key (signed ECDSA-SHA256); aws-lc, behind rcgen, refuses
    /// RSA keys under 2048 bits.
    OpensslRsa1024,
}

/// Extra files and lists a row takes part in, beyond its `.crt`, `.key` and fullchain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extras {
    /// Also write `<stem>.der`.
    der: bool,
    /// Also write `<stem>-encrypted.key` (password [`KEY_PASSWORD`]).
    encrypted_key: bool,
    /// List the serial in `crl.pem`; the row must be issued by the intermediate.
    revoked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sans {
    None,
    /// DNS:localhost, IP:127.0.0.1, IP:::1.
    Localhost,
    /// DNS:broker.example.com only.
    WrongName,
    /// DNS:localhost only, no IP entries.
    DnsOnly,
}

impl Sans {
    /// The `DNS:` entries.
    fn dns_names(self) -> &'static [&'static str] {
        match self {
            Sans::None => &[],
            Sans::Localhost | Sans::DnsOnly => &["localhost"],
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
            Sans::None | Sans::WrongName | Sans::DnsOnly => &[],
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
    /// 2015-01-01 to 2020-01-01, for a root that signed things while it was valid.
    ExpiredRoot,
}

impl Validity {
    /// `(notBefore, notAfter)`, both at midnight UTC.
    fn window(self) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            Validity::Good => (ymd(2024, 1, 1), ymd(4096, 1, 1)),
            Validity::Expired => (ymd(2019, 1, 1), ymd(2020, 1, 1)),
            Validity::NotYetValid => (ymd(2090, 1, 1), ymd(4096, 1, 1)),
            Validity::ExpiredRoot => (ymd(2015, 1, 1), ymd(2020, 1, 1)),
        }
    }
}

// `generate` destructures one CertFiles per row into the named Pki fields.
const _: () = assert!(VARIANTS.len() == 28);

// Indices of the issuers in VARIANTS; rows may only reference earlier rows.
const ROOT: usize = 0;
const INTERMEDIATE: usize = 1;
const OTHER_ROOT: usize = 4;
const ISSUER_NOT_CA: usize = 15;
const EXPIRED_ROOT: usize = 21;
const SAME_SUBJECT_CA: usize = 23;

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
        extras: Extras {
            der: false,
            encrypted_key: false,
            revoked: false,
        },
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

const fn with_der(v: Variant) -> Variant {
    let extras = Extras {
        der: true,
        ..v.extras
    };
    Variant { extras, ..v }
}

const fn with_encrypted_key(v: Variant) -> Variant {
    let extras = Extras {
        encrypted_key: true,
        ..v.extras
    };
    Variant { extras, ..v }
}

const fn revoked(v: Variant) -> Variant {
    let extras = Extras {
        revoked: true,
        ..v.extras
    };
    Variant { extras, ..v }
}

/// The certificate table, in generation order (issuers before what they sign).
pub const VARIANTS: &[Variant] = &[
    with_der(row(
        "root",
        "lab root CA (trust anchor)",
        None,
        "mqtls Lab Root CA",
        Role::RootCa,
        Sans::None,
    )),
    row(
        "intermediate",
        "lab signing CA (pathlen 0), issued by root; issues the lab leaves",
        Some(ROOT),
        "mqtls Lab Signing CA",
        Role::IntermediateCa,
        Sans::None,
    ),
    with_der(row(
        "server",
        "good broker certificate for localhost, 127.0.0.1 and ::1",
        Some(INTERMEDIATE),
        "localhost",
        Role::Server,
        Sans::Localhost,
    )),
    with_encrypted_key(row(
        "client",
        "good client certificate (clientAuth)",
        Some(INTERMEDIATE),
        "mqtls-client",
        Role::Client,
        Sans::None,
    )),
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
    row(
        "server-issued-ca-true",
        "CA:TRUE leaf for localhost issued by the intermediate (no keyUsage, no EKU): \
         rustls rejects (CaUsedAsEndEntity), OpenSSL accepts; unlike server-ca-true it is \
         not also self-signed",
        Some(INTERMEDIATE),
        "localhost",
        Role::ServerCaTrue,
        Sans::Localhost,
    ),
    made_by(
        row(
            "server-sha1",
            "server certificate signed ECDSA-SHA1 by the intermediate: rustls always rejects \
             (UnsupportedSignatureAlgorithm); OpenSSL 3 rejects at security level >= 1 \
             (X509_V_ERR_CA_MD_TOO_WEAK, 68), and an OpenSSL broker at level 2 (Debian's \
             default) will not even load it",
            Some(INTERMEDIATE),
            "localhost",
            Role::Server,
            Sans::Localhost,
        ),
        Maker::OpensslSha1,
    ),
    made_by(
        row(
            "server-rsa1024",
            "server certificate with an RSA-1024 key (signed ECDSA-SHA256): rustls accepts the \
             chain but rejects the handshake signature and cannot load the key as a server; \
             OpenSSL 3 rejects at security level >= 2 (X509_V_ERR_EE_KEY_TOO_SMALL, 66; a broker \
             will not load it), accepts at level 1",
            Some(INTERMEDIATE),
            "localhost",
            Role::Server,
            Sans::Localhost,
        ),
        Maker::OpensslRsa1024,
    ),
    row(
        "server-dns-only",
        "server certificate with SAN DNS:localhost only: connecting by 127.0.0.1 or ::1 \
         fails on both stacks (rustls NotValidForName, OpenSSL X509_V_ERR_IP_ADDRESS_MISMATCH, 64)",
        Some(INTERMEDIATE),
        "localhost",
        Role::Server,
        Sans::DnsOnly,
    ),
    valid(
        row(
            "expired-root",
            "root CA that expired (valid 2015-01-01 to 2020-01-01) but still issues \
             server-by-expired-root: as the CA file, OpenSSL rejects (X509_V_ERR_CERT_HAS_EXPIRED, \
             10, at depth 1), rustls accepts (it never checks a trust anchor's dates)",
            None,
            "mqtls Expired Root CA",
            Role::RootCa,
            Sans::None,
        ),
        Validity::ExpiredRoot,
    ),
    row(
        "server-by-expired-root",
        "good server certificate for localhost issued directly by expired-root \
         (verify it against expired-root.crt)",
        Some(EXPIRED_ROOT),
        "localhost",
        Role::Server,
        Sans::Localhost,
    ),
    row(
        "same-subject-ca",
        "self-signed root whose subject, CN=localhost, O=mqtls lab, is also the \
         subject of server-same-subject (the mosquitto-tls(7) warning)",
        None,
        "localhost",
        Role::RootCa,
        Sans::None,
    ),
    row(
        "server-same-subject",
        "server certificate for localhost with the same subject as its issuer \
         same-subject-ca and no authorityKeyIdentifier: OpenSSL 3 takes it for self-signed \
         (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 18), rustls accepts",
        Some(SAME_SUBJECT_CA),
        "localhost",
        Role::ServerWithoutAuthorityKeyId,
        Sans::DnsOnly,
    ),
    row(
        "client-eku-server",
        "client certificate whose extendedKeyUsage is serverAuth only: brokers \
         reject it (OpenSSL X509_V_ERR_INVALID_PURPOSE, 26; rustls InvalidPurpose)",
        Some(INTERMEDIATE),
        "mqtls-client",
        Role::ClientWithServerEku,
        Sans::None,
    ),
    valid(
        row(
            "client-expired",
            "client certificate that expired (valid 2019-01-01 to 2020-01-01): \
             brokers reject it (OpenSSL X509_V_ERR_CERT_HAS_EXPIRED, 10; rustls Expired)",
            Some(INTERMEDIATE),
            "mqtls-client",
            Role::Client,
            Sans::None,
        ),
        Validity::Expired,
    ),
    revoked(row(
        "client-revoked",
        "valid client certificate that crl.pem revokes: brokers that load \
         crl.pem reject it (OpenSSL X509_V_ERR_CERT_REVOKED, 23; rustls Revoked)",
        Some(INTERMEDIATE),
        "mqtls-client",
        Role::Client,
        Sans::None,
    )),
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
    let (key, key_pem) = match variant.maker {
        Maker::OpensslRsa1024 => (None, openssl_builder::rsa1024_key_pem().map_err(ossl_err)?),
        _ => {
            let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(rcgen_err)?;
            let pem = key.serialize_pem();
            (Some(key), pem)
        }
    };
    let params = params_for(variant)?;
    let cert_pem = match (variant.maker, variant.issuer, &key) {
        (Maker::Rcgen, Some(issuer), Some(key)) => params
            .signed_by(key, &earlier[issuer].issuer())
            .map_err(rcgen_err)?
            .pem(),
        (Maker::Rcgen, None, Some(key)) => params.self_signed(key).map_err(rcgen_err)?.pem(),
        // Only Maker::OpensslRsa1024 leaves the rcgen key out.
        (Maker::Rcgen, _, None) => unreachable!("{stem}: rcgen rows have an rcgen key"),
        (_, Some(issuer), _) => {
            let issuer = &earlier[issuer];
            // Row numbers are unique, so no two certificates share issuer and serial.
            let serial = 0x0001_0000 + earlier.len() as u32;
            openssl_builder::cert_pem(variant, serial, &key_pem, &issuer.cert_pem, &issuer.key_pem)
                .map_err(ossl_err)?
        }
        // `table_is_consistent` checks that OpenSSL rows have an issuer.
        (_, None, _) => unreachable!("{stem}: OpenSSL only builds leaves signed by another row"),
    };
    Ok(Built {
        variant,
        params,
        key,
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
    // The AKI lets OpenSSL pick the right issuer when several share a name. Without one, OpenSSL
    // takes a leaf whose subject equals its issuer's for self-signed (server-same-subject).
    p.use_authority_key_identifier_extension =
        variant.issuer.is_some() && variant.role != Role::ServerWithoutAuthorityKeyId;
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
        Role::Server | Role::ServerWithoutAuthorityKeyId => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = leaf_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        Role::Client | Role::ServerWithClientEku => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = leaf_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        Role::ClientWithServerEku => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = leaf_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
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
    let ossl_err = |source| PkiError::Openssl { stem, source };
    let (der, der_bytes) = if item.variant.extras.der {
        let path = dir.join(format!("{stem}.der"));
        let bytes = X509::from_pem(&cert_pem)
            .and_then(|c| c.to_der())
            .map_err(ossl_err)?;
        write_file(&path, &bytes)?;
        (Some(path), Some(bytes))
    } else {
        (None, None)
    };
    let (encrypted_key, encrypted_key_pem) = if item.variant.extras.encrypted_key {
        let path = dir.join(format!("{stem}-encrypted.key"));
        // PBES2 with PBKDF2 and AES-256-CBC: what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes.
        let pem = PKey::private_key_from_pem(&key_pem)
            .and_then(|k| {
                k.private_key_to_pem_pkcs8_passphrase(
                    Cipher::aes_256_cbc(),
                    KEY_PASSWORD.as_bytes(),
                )
            })
            .map_err(ossl_err)?;
        write_file(&path, &pem)?;
        (Some(path), Some(pem))
    } else {
        (None, None)
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
        der,
        der_bytes,
        encrypted_key,
        encrypted_key_pem,
    })
}

/// The CRL of `built[issuer]`, revoking every row marked `revoked` that it issued.
fn crl_pem(built: &[Built], issuer: usize) -> Result<String, PkiError> {
    let stem = "crl";
    let mut revoked_certs = Vec::new();
    // `table_is_consistent` checks that every revoked row is issued by the intermediate.
    let revoked = |b: &&Built| b.variant.extras.revoked && b.variant.issuer == Some(issuer);
    for item in built.iter().filter(revoked) {
        let serial = X509::from_pem(item.cert_pem.as_bytes())
            .and_then(|c| c.serial_number().to_bn())
            .map_err(|source| PkiError::Openssl {
                stem: item.variant.stem,
                source,
            })?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial.to_vec()),
            revocation_time: ymd(2024, 1, 1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: ymd(2024, 1, 1),
        // Like the valid certificates, the CRL must never go stale (X509_V_ERR_CRL_HAS_EXPIRED).
        next_update: ymd(4096, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let rcgen_err = |source| PkiError::Rcgen { stem, source };
    params
        .signed_by(&built[issuer].issuer())
        .and_then(|crl| crl.pem())
        .map_err(rcgen_err)
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
         Generated by `mqtls` (src/pki.rs). Keys are ECDSA P-256 (except \
         `server-rsa1024.key`), PKCS#8 PEM, mode 0644 (test material only, never use it in \
         production). Valid certificates expire in 4096; the broken ones use fixed dates.\n\n\
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
        if f.der.is_some() {
            let _ = writeln!(
                s,
                "| `{}.der` | `{}.crt` in DER, as people pass it where PEM is expected |",
                f.stem, f.stem
            );
        }
        if f.encrypted_key.is_some() {
            let _ = writeln!(
                s,
                "| `{}-encrypted.key` | `{}.key` as encrypted PKCS#8 (AES-256-CBC), \
                 password `{KEY_PASSWORD}` |",
                f.stem, f.stem
            );
        }
    }
    s.push_str("| `ca-bundle.crt` | root followed by intermediate |\n");
    s.push_str(
        "| `crl.pem` | CRL issued by the intermediate that revokes `client-revoked.crt` \
         (mosquitto: `crlfile crl.pem`; `openssl verify -crl_check -CRLfile crl.pem`) |\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{Id, PKey};
    use openssl::rsa::Padding;
    use openssl::sign::{RsaPssSaltlen, Signer};
    use openssl::ssl::{SslContextBuilder, SslFiletype, SslMethod};
    use openssl::stack::Stack;
    use openssl::x509::store::{X509Lookup, X509StoreBuilder};
    use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
    use openssl::x509::{CrlStatus, X509, X509Crl, X509PurposeId, X509StoreContext};
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{
        CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
    };
    use rustls::server::WebPkiClientVerifier;
    use rustls::{CertificateError, SignatureScheme};
    use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

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
        openssl_verify_with(anchor, leaf, chain, |_| ())
    }

    /// [`openssl_verify`] with a store that `configure` adjusted (flags, CRLs, parameters).
    fn openssl_verify_with(
        anchor: &[u8],
        leaf: &[u8],
        chain: &[&[u8]],
        configure: impl FnOnce(&mut X509StoreBuilder),
    ) -> Result<(), i32> {
        let mut store = X509StoreBuilder::new().expect("store");
        configure(&mut store);
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
            "server-issued-ca-true",
            "server-sha1",
            "server-rsa1024",
            "server-dns-only",
            "expired-root",
            "server-by-expired-root",
            "same-subject-ca",
            "server-same-subject",
            "client-eku-server",
            "client-expired",
            "client-revoked",
        ] {
            assert!(names.contains(&format!("{stem}.crt")), "{stem}.crt");
            assert!(names.contains(&format!("{stem}.key")), "{stem}.key");
            assert!(pki.by_stem(stem).is_some(), "{stem} in Pki");
        }
        let fullchains: Vec<&String> = names.iter().filter(|n| n.contains("fullchain")).collect();
        assert_eq!(
            fullchains,
            [
                "client-eku-server-fullchain.crt",
                "client-expired-fullchain.crt",
                "client-fullchain.crt",
                "client-revoked-fullchain.crt",
                "server-by-not-ca-fullchain.crt",
                "server-cn-only-fullchain.crt",
                "server-dns-only-fullchain.crt",
                "server-eku-client-fullchain.crt",
                "server-expired-fullchain.crt",
                "server-fullchain.crt",
                "server-issued-ca-true-fullchain.crt",
                "server-not-yet-valid-fullchain.crt",
                "server-rsa1024-fullchain.crt",
                "server-sha1-fullchain.crt",
                "server-v1-fullchain.crt",
                "server-wrong-name-fullchain.crt",
            ]
        );
        let extras: Vec<&String> = names
            .iter()
            .filter(|n| n.ends_with(".der") || n.ends_with("-encrypted.key") || n.ends_with(".pem"))
            .collect();
        assert_eq!(
            extras,
            ["client-encrypted.key", "crl.pem", "root.der", "server.der"]
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

        assert_eq!(issuer(&pki.server_issued_ca_true), inter);
        assert_eq!(
            basic_constraints(&pki.server_issued_ca_true),
            Some((true, None))
        );
        assert_eq!(sans(&pki.server_issued_ca_true), good_sans);
        let expired_root = "CN=mqtls Expired Root CA, O=mqtls lab";
        assert_eq!(subject(&pki.expired_root), expired_root);
        assert_eq!(issuer(&pki.expired_root), expired_root);
        assert_eq!(basic_constraints(&pki.expired_root), Some((true, None)));
        assert_eq!(issuer(&pki.server_by_expired_root), expired_root);
        assert_eq!(sans(&pki.server_by_expired_root), good_sans);
        for f in [
            &pki.client_eku_server,
            &pki.client_expired,
            &pki.client_revoked,
        ] {
            assert_eq!(issuer(f), inter, "{}", f.stem);
            assert_eq!(sans(f), None, "{}", f.stem);
        }
        assert_eq!(eku(&pki.client_eku_server), (true, false));
        assert_eq!(eku(&pki.client_expired), (false, true));
        assert_eq!(eku(&pki.client_revoked), (false, true));
    }

    #[test]
    fn validity_windows() {
        let (_dir, pki) = pki();
        for f in pki.all() {
            let (from, to) = years(f);
            match f.stem {
                "server-expired" | "client-expired" => assert_eq!((from, to), (2019, 2020)),
                "expired-root" => assert_eq!((from, to), (2015, 2020)),
                "server-not-yet-valid" => assert_eq!((from, to), (2090, 4096)),
                _ => assert_eq!((from, to), (2024, 4096), "{}", f.stem),
            }
        }
        with_cert(&pki.server_expired, |c| {
            assert_eq!(c.validity().not_before.timestamp(), 1_546_300_800); // 2019-01-01
            assert_eq!(c.validity().not_after.timestamp(), 1_577_836_800); // 2020-01-01
        });
        with_cert(&pki.expired_root, |c| {
            assert_eq!(c.validity().not_before.timestamp(), 1_420_070_400); // 2015-01-01
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

    fn rustls_verify_server(
        anchor: &[u8],
        leaf: &[u8],
        chain: &[&[u8]],
        name: &str,
    ) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(der(anchor)))
            .expect("anchor");
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("verifier");
        let chain: Vec<CertificateDer<'static>> = chain.iter().map(|c| der(c).into()).collect();
        let name = ServerName::try_from(name.to_owned()).expect("name");
        verifier
            .verify_server_cert(&der(leaf).into(), &chain, &name, &[], UnixTime::now())
            .map(|_| ())
    }

    fn rustls_verify_client(
        anchor: &[u8],
        leaf: &[u8],
        chain: &[&[u8]],
        crl: &[u8],
    ) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(der(anchor)))
            .expect("anchor");
        let crl = CertificateRevocationListDer::from_pem_slice(crl).expect("crl");
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls([crl])
            // Like OpenSSL's CRL_CHECK (and mosquitto's `crlfile`): the leaf only. By default
            // webpki also wants the intermediate's status, which no lab CRL gives, and then
            // rejects every client with UnknownRevocationStatus.
            .only_check_end_entity_revocation()
            .build()
            .expect("verifier");
        let chain: Vec<CertificateDer<'static>> = chain.iter().map(|c| der(c).into()).collect();
        verifier
            .verify_client_cert(&der(leaf).into(), &chain, UnixTime::now())
            .map(|_| ())
    }

    /// An [`openssl_verify_with`] configuration that sets a verify parameter.
    fn with_param(set: impl FnOnce(&mut X509VerifyParam)) -> impl FnOnce(&mut X509StoreBuilder) {
        |store| {
            let mut param = X509VerifyParam::new().expect("param");
            set(&mut param);
            store.set_param(&param).expect("set_param");
        }
    }

    #[test]
    fn sha1_and_rsa1024_leaves() {
        let (_dir, pki) = pki();
        let inter = "CN=mqtls Lab Signing CA, O=mqtls lab";
        let good_sans = sans(&pki.server);
        for f in [&pki.server_sha1, &pki.server_rsa1024] {
            with_cert(f, |c| assert_eq!(c.version().0, 2, "{} is v3", f.stem));
            assert_eq!(issuer(f), inter, "{}", f.stem);
            assert_eq!(sans(f), good_sans, "{}", f.stem);
            assert_eq!(eku(f), (true, false), "{}", f.stem);
            assert_eq!(basic_constraints(f), Some((false, None)), "{}", f.stem);
            assert!(f.fullchain.is_some(), "{}", f.stem);
        }
        let sha1 = X509::from_pem(&pki.server_sha1.cert_pem).expect("sha1");
        let nid = sha1.signature_algorithm().object().nid();
        assert_eq!(nid, Nid::ECDSA_WITH_SHA1);
        let intermediate_key = X509::from_pem(&pki.intermediate.cert_pem)
            .and_then(|c| c.public_key())
            .expect("intermediate key");
        assert!(sha1.verify(&intermediate_key).expect("verify"));

        let rsa = X509::from_pem(&pki.server_rsa1024.cert_pem).expect("rsa");
        let nid = rsa.signature_algorithm().object().nid();
        assert_eq!(nid, Nid::ECDSA_WITH_SHA256);
        let public = rsa.public_key().expect("public key");
        assert_eq!((public.id(), public.bits()), (Id::RSA, 1024));
        let private = PKey::private_key_from_pem(&pki.server_rsa1024.key_pem).expect("key");
        assert!(
            public.public_eq(&private),
            "key file matches the certificate"
        );
    }

    #[test]
    fn openssl_security_levels_reject_sha1_and_rsa1024() {
        let (_dir, pki) = pki();
        let root = &pki.root.cert_pem;
        let inter = pki.intermediate.cert_pem.as_slice();
        let sha1 = &pki.server_sha1.cert_pem;
        let rsa = &pki.server_rsa1024.cert_pem;
        let level = |n| with_param(move |p| p.set_auth_level(n));
        // A bare X509_STORE has no security level (auth_level -1): both verify. TLS sets the
        // level from the SSL_CTX, which is where they fail.
        assert_eq!(openssl_verify(root, sha1, &[inter]), Ok(()));
        assert_eq!(openssl_verify(root, rsa, &[inter]), Ok(()));
        assert_eq!(
            openssl_verify_with(root, sha1, &[inter], level(1)),
            Err(openssl_sys::X509_V_ERR_CA_MD_TOO_WEAK)
        );
        assert_eq!(openssl_verify_with(root, rsa, &[inter], level(1)), Ok(()));
        assert_eq!(
            openssl_verify_with(root, rsa, &[inter], level(2)),
            Err(openssl_sys::X509_V_ERR_EE_KEY_TOO_SMALL)
        );
        assert_eq!(
            openssl_verify_with(root, &pki.server.cert_pem, &[inter], level(2)),
            Ok(())
        );
        // A broker on OpenSSL at level 2 refuses to load either one as its certificate.
        for (f, loads) in [
            (&pki.server, true),
            (&pki.server_sha1, false),
            (&pki.server_rsa1024, false),
        ] {
            let mut ctx = SslContextBuilder::new(SslMethod::tls()).expect("ctx");
            ctx.set_security_level(2);
            let cert = X509::from_pem(&f.cert_pem).expect("cert");
            assert_eq!(ctx.set_certificate(&cert).is_ok(), loads, "{}", f.stem);
        }
    }

    #[test]
    fn openssl_verdicts_for_names_roots_and_clients() {
        let (dir, pki) = pki();
        let root = &pki.root.cert_pem;
        let inter = pki.intermediate.cert_pem.as_slice();
        let dns_only = &pki.server_dns_only.cert_pem;
        let ip = with_param(|p| p.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("set_ip"));
        assert_eq!(
            openssl_verify_with(root, dns_only, &[inter], ip),
            Err(openssl_sys::X509_V_ERR_IP_ADDRESS_MISMATCH)
        );
        let host = with_param(|p| p.set_host("localhost").expect("set_host"));
        assert_eq!(openssl_verify_with(root, dns_only, &[inter], host), Ok(()));

        let ssl_server =
            |s: &mut X509StoreBuilder| s.set_purpose(X509PurposeId::SSL_SERVER).expect("purpose");
        let issued_ca_true = &pki.server_issued_ca_true.cert_pem;
        assert_eq!(
            openssl_verify_with(root, issued_ca_true, &[inter], ssl_server),
            Ok(())
        );
        assert_eq!(
            openssl_verify(
                &pki.expired_root.cert_pem,
                &pki.server_by_expired_root.cert_pem,
                &[]
            ),
            Err(openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED)
        );
        assert_eq!(
            openssl_verify(
                &pki.same_subject_ca.cert_pem,
                &pki.server_same_subject.cert_pem,
                &[]
            ),
            Err(openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
        );

        let ssl_client = || {
            |s: &mut X509StoreBuilder| s.set_purpose(X509PurposeId::SSL_CLIENT).expect("purpose")
        };
        let client = &pki.client.cert_pem;
        assert_eq!(
            openssl_verify_with(root, client, &[inter], ssl_client()),
            Ok(())
        );
        assert_eq!(
            openssl_verify_with(
                root,
                &pki.client_eku_server.cert_pem,
                &[inter],
                ssl_client()
            ),
            Err(openssl_sys::X509_V_ERR_INVALID_PURPOSE)
        );
        assert_eq!(
            openssl_verify(root, &pki.client_expired.cert_pem, &[inter]),
            Err(openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED)
        );
        let revoked = &pki.client_revoked.cert_pem;
        assert_eq!(
            openssl_verify(root, revoked, &[inter]),
            Ok(()),
            "no CRL, no check"
        );
        let crl_check = || {
            let crl = dir.path().join("crl.pem");
            move |s: &mut X509StoreBuilder| {
                let lookup = s.add_lookup(X509Lookup::file()).expect("lookup");
                lookup
                    .load_crl_file(&crl, SslFiletype::PEM)
                    .expect("load crl");
                s.set_flags(X509VerifyFlags::CRL_CHECK).expect("flags");
            }
        };
        assert_eq!(
            openssl_verify_with(root, revoked, &[inter], crl_check()),
            Err(openssl_sys::X509_V_ERR_CERT_REVOKED)
        );
        assert_eq!(
            openssl_verify_with(root, client, &[inter], crl_check()),
            Ok(())
        );
    }

    #[test]
    fn rustls_verdicts_for_the_new_rows() {
        let (_dir, pki) = pki();
        let root = pki.root.cert_pem.as_slice();
        let inter = pki.intermediate.cert_pem.as_slice();
        let server = |f: &CertFiles, name| rustls_verify_server(root, &f.cert_pem, &[inter], name);
        assert!(matches!(
            server(&pki.server_sha1, "localhost"),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            ))
        ));
        assert!(matches!(
            server(&pki.server_dns_only, "127.0.0.1"),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForNameContext { .. }
            ))
        ));
        assert_eq!(server(&pki.server_dns_only, "localhost"), Ok(()));
        match server(&pki.server_issued_ca_true, "localhost") {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(other))) => assert_eq!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(&webpki::Error::CaUsedAsEndEntity)
            ),
            other => panic!("server-issued-ca-true: {other:?}"),
        }
        let expired_root = &pki.expired_root.cert_pem;
        let by_expired_root = &pki.server_by_expired_root.cert_pem;
        assert_eq!(
            rustls_verify_server(expired_root, by_expired_root, &[], "localhost"),
            Ok(())
        );
        let same_subject = &pki.server_same_subject.cert_pem;
        let same_ca = &pki.same_subject_ca.cert_pem;
        assert_eq!(
            rustls_verify_server(same_ca, same_subject, &[], "localhost"),
            Ok(())
        );

        // The RSA-1024 chain verifies: the leaf key is only used for the handshake signature,
        // which webpki refuses (it takes RSA keys of 2048 to 8192 bits), and a rustls server
        // cannot load the key at all.
        assert_eq!(server(&pki.server_rsa1024, "localhost"), Ok(()));
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let key = PrivateKeyDer::from_pem_slice(&pki.server_rsa1024.key_pem).expect("key");
        assert!(provider.key_provider.load_private_key(key).is_err());
        let pkey = PKey::private_key_from_pem(&pki.server_rsa1024.key_pem).expect("pkey");
        let mut signer = Signer::new(MessageDigest::sha256(), &pkey).expect("signer");
        signer.set_rsa_padding(Padding::PKCS1_PSS).expect("pss");
        signer
            .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
            .expect("salt");
        let signature = signer.sign_oneshot_to_vec(b"transcript").expect("sign");
        let cert = CertificateDer::from(der(&pki.server_rsa1024.cert_pem));
        let (_, pss) = provider
            .signature_verification_algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == SignatureScheme::RSA_PSS_SHA256)
            .expect("rsa_pss_rsae_sha256");
        let leaf = webpki::EndEntityCert::try_from(&cert).expect("leaf");
        assert_eq!(
            leaf.verify_signature(pss[0], b"transcript", &signature),
            Err(webpki::Error::InvalidSignatureForPublicKey)
        );

        let client =
            |f: &CertFiles| rustls_verify_client(root, &f.cert_pem, &[inter], &pki.crl_pem);
        assert_eq!(client(&pki.client), Ok(()));
        assert!(matches!(
            client(&pki.client_eku_server),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::InvalidPurposeContext { .. }
            ))
        ));
        assert!(matches!(
            client(&pki.client_expired),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ExpiredContext { .. }
            ))
        ));
        assert_eq!(
            client(&pki.client_revoked),
            Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
        );
    }

    #[test]
    fn crl_revokes_client_revoked_and_verifies_with_the_intermediate() {
        let (_dir, pki) = pki();
        assert_eq!(fs::read(&pki.crl).expect("crl"), pki.crl_pem);
        let crl = X509Crl::from_pem(&pki.crl_pem).expect("crl");
        let intermediate = X509::from_pem(&pki.intermediate.cert_pem).expect("intermediate");
        let root = X509::from_pem(&pki.root.cert_pem).expect("root");
        assert!(
            crl.verify(&intermediate.public_key().expect("key"))
                .expect("verify")
        );
        assert!(
            !crl.verify(&root.public_key().expect("key"))
                .expect("verify")
        );
        assert_eq!(
            crl.issuer_name().to_der().expect("der"),
            intermediate.subject_name().to_der().expect("der")
        );
        let far = Asn1Time::from_str_x509("40960101000000Z").expect("time");
        assert!(crl.next_update().is_some_and(|t| t == far));
        let revoked = X509::from_pem(&pki.client_revoked.cert_pem).expect("revoked");
        let client = X509::from_pem(&pki.client.cert_pem).expect("client");
        assert!(matches!(
            crl.get_by_serial(revoked.serial_number()),
            CrlStatus::Revoked(_)
        ));
        assert!(matches!(
            crl.get_by_serial(client.serial_number()),
            CrlStatus::NotRevoked
        ));
        assert_eq!(crl.get_revoked().map(|r| r.len()), Some(1));
    }

    #[test]
    fn encrypted_key_decrypts_only_with_the_password() {
        let (_dir, pki) = pki();
        let path = pki
            .client
            .encrypted_key
            .as_ref()
            .expect("client-encrypted.key");
        assert!(path.ends_with("client-encrypted.key"));
        let pem = pki.client.encrypted_key_pem.as_deref().expect("pem");
        assert_eq!(&fs::read(path).expect("read"), pem);
        let text = std::str::from_utf8(pem).expect("utf8");
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = openssl::base64::decode_block(&body).expect("base64");
        // id-aes256-CBC, 2.16.840.1.101.3.4.1.42, as the PBES2 encryption scheme.
        let aes_256_cbc = [
            0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a,
        ];
        assert!(der.windows(aes_256_cbc.len()).any(|w| w == aes_256_cbc));

        let key = PKey::private_key_from_pem_passphrase(pem, KEY_PASSWORD.as_bytes()).expect("key");
        let plain = PKey::private_key_from_pem(&pki.client.key_pem).expect("plain");
        assert!(key.public_eq(&plain));
        for wrong in [&b""[..], b"wrong", b"MQTLS"] {
            assert!(PKey::private_key_from_pem_passphrase(pem, wrong).is_err());
        }
        // Loaders without a password see no private key at all.
        assert!(PrivateKeyDer::from_pem_slice(pem).is_err());
        // Only the client row has one.
        let with_encrypted: Vec<_> = pki
            .all()
            .into_iter()
            .filter(|f| f.encrypted_key.is_some())
            .map(|f| f.stem)
            .collect();
        assert_eq!(with_encrypted, ["client"]);
    }

    #[test]
    fn der_copies_equal_the_pem_certificates() {
        let (_dir, pki) = pki();
        for f in [&pki.root, &pki.server] {
            let path = f.der.as_ref().expect("der path");
            assert!(path.ends_with(format!("{}.der", f.stem)));
            let bytes = fs::read(path).expect("read");
            assert_eq!(Some(&bytes), f.der_bytes.as_ref(), "{}", f.stem);
            assert_eq!(bytes, der(&f.cert_pem), "{}", f.stem);
            assert!(X509::from_der(&bytes).is_ok(), "{}", f.stem);
            assert!(X509::from_pem(&bytes).is_err(), "{} is not PEM", f.stem);
            assert_eq!(
                bytes.first(),
                Some(&0x30),
                "{} starts with a SEQUENCE",
                f.stem
            );
        }
        let with_der: Vec<_> = pki
            .all()
            .into_iter()
            .filter(|f| f.der.is_some())
            .map(|f| f.stem)
            .collect();
        assert_eq!(with_der, ["root", "server"]);
    }

    #[test]
    fn same_subject_pair_and_dns_only() {
        let (_dir, pki) = pki();
        let localhost = "CN=localhost, O=mqtls lab";
        assert_eq!(subject(&pki.same_subject_ca), localhost);
        assert_eq!(issuer(&pki.same_subject_ca), localhost);
        assert_eq!(basic_constraints(&pki.same_subject_ca), Some((true, None)));
        assert_eq!(subject(&pki.server_same_subject), localhost);
        assert_eq!(issuer(&pki.server_same_subject), localhost);
        assert_eq!(
            basic_constraints(&pki.server_same_subject),
            Some((false, None))
        );
        let only_localhost = Some(vec!["DNS:localhost".to_owned()]);
        assert_eq!(sans(&pki.server_same_subject), only_localhost);
        with_cert(&pki.server_same_subject, |c| {
            let has_aki = c.extensions().iter().any(|e| {
                matches!(
                    e.parsed_extension(),
                    ParsedExtension::AuthorityKeyIdentifier(_)
                )
            });
            assert!(
                !has_aki,
                "server-same-subject has no authorityKeyIdentifier"
            );
        });
        assert!(pki.server_same_subject.fullchain.is_none());

        assert_eq!(sans(&pki.server_dns_only), only_localhost);
        assert_eq!(
            issuer(&pki.server_dns_only),
            "CN=mqtls Lab Signing CA, O=mqtls lab"
        );
    }

    #[test]
    fn table_is_consistent() {
        let stems = [(ROOT, "root"), (INTERMEDIATE, "intermediate")];
        let more = [(OTHER_ROOT, "other-root"), (ISSUER_NOT_CA, "issuer-not-ca")];
        let new = [
            (EXPIRED_ROOT, "expired-root"),
            (SAME_SUBJECT_CA, "same-subject-ca"),
        ];
        for (i, stem) in stems.into_iter().chain(more).chain(new) {
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
            if v.extras.revoked {
                // crl.pem is the intermediate's CRL only.
                assert_eq!(v.issuer, Some(INTERMEDIATE), "{} revoked", v.stem);
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
