//! The lab's test PKI: a root, a signing intermediate, good server and client leaves, and one
//! deliberately broken certificate per TLS failure that `mqtls` must diagnose.
//!
//! Everything is described by one table ([`VARIANTS`]); [`generate`] walks it, writes PEM files
//! and a `README.md` (made from the same table) into a directory, and returns a [`Pki`] that
//! holds both the paths and the PEM bytes. rcgen builds every certificate it can; the encodings
//! it refuses to write come from OpenSSL (see `openssl_builder`), and the two no tool writes on
//! purpose (a corrupted signature, a BER boolean) are rcgen's output edited (see `tamper`). Keys are ECDSA P-256 (one
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
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, NameConstraints, RevocationReason, RevokedCertParams, SanType,
    SerialNumber,
};
use time::OffsetDateTime;

mod openssl_builder;
mod tamper;

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
    #[error("cannot build certificate {stem:?} with rcgen: {source}")]
    Rcgen {
        /// File stem of the certificate being built.
        stem: &'static str,
        /// The underlying rcgen error.
        #[source]
        source: rcgen::Error,
    },
    /// OpenSSL refused to build, sign or convert a certificate or key.
    #[error("cannot build certificate {stem:?} with openssl: {source}")]
    Openssl {
        /// File stem of the certificate being built.
        stem: &'static str,
        /// The underlying OpenSSL error stack.
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// A certificate rcgen wrote did not have the shape the tampering expects.
    #[error("cannot tamper with certificate {stem:?}: unexpected DER")]
    Tamper {
        /// File stem of the certificate being built.
        stem: &'static str,
    },
    /// A file or the output directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
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
    /// Path of `<stem>-fullchain.crt` (leaf then its intermediates up to the root), present
    /// only when the issuer is itself signed by a root.
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
    /// `constrained-ca`: a CA issued by root whose nameConstraints permit only
    /// `DNS:example.com`.
    pub constrained_ca: CertFiles,
    /// `server-outside-constraints`: a server certificate for localhost from `constrained-ca`.
    pub server_outside_constraints: CertFiles,
    /// `sub-intermediate`: a CA issued by the intermediate, whose pathlen 0 forbids it.
    pub sub_intermediate: CertFiles,
    /// `server-below-pathlen`: a server certificate from `sub-intermediate`; its fullchain
    /// holds both intermediates.
    pub server_below_pathlen: CertFiles,
    /// `client-only-ca`: a CA issued by root whose extendedKeyUsage is clientAuth only.
    pub client_only_ca: CertFiles,
    /// `server-by-client-only-ca`: a serverAuth certificate for localhost from `client-only-ca`.
    pub server_by_client_only_ca: CertFiles,
    /// `server-unknown-critical`: a server certificate with a private critical extension.
    pub server_unknown_critical: CertFiles,
    /// `server-bad-signature`: a server certificate whose signature has one bit flipped.
    pub server_bad_signature: CertFiles,
    /// `server-ber-boolean`: a server certificate whose basicConstraints `critical` flag is
    /// encoded BER-style (`01`, not DER's `FF`), signed as such.
    pub server_ber_boolean: CertFiles,
    /// `many-constraints-ca`: a CA issued by root with 300 permitted DNS subtrees.
    pub many_constraints_ca: CertFiles,
    /// `server-many-names`: a localhost certificate with 1,000 DNS names, every one inside
    /// `many-constraints-ca`'s subtrees: 300,000 comparisons, past webpki's budget of 250,000.
    pub server_many_names: CertFiles,
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
    pub fn all(&self) -> [&CertFiles; 39] {
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
            &self.constrained_ca,
            &self.server_outside_constraints,
            &self.sub_intermediate,
            &self.server_below_pathlen,
            &self.client_only_ca,
            &self.server_by_client_only_ca,
            &self.server_unknown_critical,
            &self.server_bad_signature,
            &self.server_ber_boolean,
            &self.many_constraints_ca,
            &self.server_many_names,
        ]
    }

    /// The certificate with the given file stem, if the table has one.
    pub fn by_stem(&self, stem: &str) -> Option<&CertFiles> {
        self.all().into_iter().find(|c| c.stem == stem)
    }
}

/// The lab PKI in the user's cache (`$XDG_CACHE_HOME` or `~/.cache`, else the temporary
/// directory), made on first use: what the bundled suites name as `${lab:root.crt}`. The folder
/// name carries a fingerprint of the variants, so a build with other variants never reads a
/// stale PKI; concurrent first uses each build their own copy and one rename wins.
pub fn lab_dir() -> Result<PathBuf, PkiError> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("mqtls");
    // FNV-1a over the crate version and the variant stems.
    let mut fingerprint: u64 = 0xcbf2_9ce4_8422_2325;
    let stems = VARIANTS.iter().map(|v| v.stem);
    for byte in std::iter::once(env!("CARGO_PKG_VERSION"))
        .chain(stems)
        .flat_map(str::bytes)
    {
        fingerprint = (fingerprint ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let dir = base.join(format!("lab-pki-{fingerprint:016x}"));
    let complete = |d: &Path| d.join("README.md").is_file() && d.join("root.crt").is_file();
    if complete(&dir) {
        return Ok(dir);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PkiError::Io { path, source }
    };
    std::fs::create_dir_all(&base).map_err(io(&base))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let building = base.join(format!(
        ".lab-pki-{fingerprint:016x}-{}-{nanos}",
        std::process::id()
    ));
    generate(&building)?;
    if std::fs::rename(&building, &dir).is_err() {
        // Another process finished first: use its copy.
        let _ = std::fs::remove_dir_all(&building);
        if !complete(&dir) {
            return Err(PkiError::Io {
                path: dir,
                source: std::io::Error::other("another process left an incomplete lab PKI"),
            });
        }
    }
    Ok(dir)
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
        constrained_ca,
        server_outside_constraints,
        sub_intermediate,
        server_below_pathlen,
        client_only_ca,
        server_by_client_only_ca,
        server_unknown_critical,
        server_bad_signature,
        server_ber_boolean,
        many_constraints_ca,
        server_many_names,
    ]: [CertFiles; 39] = files
        .try_into()
        .unwrap_or_else(|_| unreachable!("one CertFiles per VARIANTS row, and VARIANTS has 39"));
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
        constrained_ca,
        server_outside_constraints,
        sub_intermediate,
        server_below_pathlen,
        client_only_ca,
        server_by_client_only_ca,
        server_unknown_critical,
        server_bad_signature,
        server_ber_boolean,
        many_constraints_ca,
        server_many_names,
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
    /// CA:TRUE pathlen 0 whose nameConstraints permit only `DNS:example.com`.
    ConstrainedCa,
    /// CA:TRUE pathlen 0 whose extendedKeyUsage is clientAuth only.
    CaWithClientEku,
    /// CA:TRUE pathlen 0 permitting `localhost` and `d1.example.com` .. (MANY_SUBTREES in all).
    ManyConstraintsCa,
    /// CA:FALSE leaf with serverAuth and MANY_NAMES DNS names under `d1.example.com` besides
    /// its usual SANs.
    ServerManyNames,
    /// CA:FALSE leaf with serverAuth and a critical extension of a private OID
    /// ([`UNKNOWN_CRITICAL_OID`]) that no verifier implements.
    ServerUnknownCritical,
}

/// The private OID (1.3.6.1.4.1.55555.1, under an unassigned enterprise number) of
/// `server-unknown-critical`'s critical extension.
pub const UNKNOWN_CRITICAL_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 55555, 1];

/// The one domain `constrained-ca` may issue names under.
pub const CONSTRAINED_DOMAIN: &str = "example.com";

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
    /// rcgen, then one bit of the signature flipped (see `tamper`): still DER, no longer valid.
    CorruptSignature,
    /// rcgen, then the basicConstraints `critical` flag rewritten as BER `01` and the
    /// certificate signed again (see `tamper`): OpenSSL reads it, DER parsers refuse it.
    BerBoolean,
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
const _: () = assert!(VARIANTS.len() == 39);

// Indices of the issuers in VARIANTS; rows may only reference earlier rows.
const ROOT: usize = 0;
const INTERMEDIATE: usize = 1;
const OTHER_ROOT: usize = 4;
const ISSUER_NOT_CA: usize = 15;
const EXPIRED_ROOT: usize = 21;
const SAME_SUBJECT_CA: usize = 23;
const CONSTRAINED_CA: usize = 28;
const SUB_INTERMEDIATE: usize = 30;
const CLIENT_ONLY_CA: usize = 32;
const MANY_CONSTRAINTS_CA: usize = 37;

/// How many DNS subtrees `many-constraints-ca` permits, and how many DNS names
/// `server-many-names` carries: their product is what webpki counts against its budget of
/// 250,000 name-constraint comparisons (OpenSSL's limit is 2^20).
const MANY_SUBTREES: usize = 300;
const MANY_NAMES: usize = 1_000;

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
    row(
        "constrained-ca",
        "CA issued by root whose nameConstraints permit only DNS:example.com: the names of \
         what it issues must lie under example.com",
        Some(ROOT),
        "mqtls Lab Constrained CA",
        Role::ConstrainedCa,
        Sans::None,
    ),
    row(
        "server-outside-constraints",
        "server certificate for localhost from constrained-ca: DNS:localhost is outside its \
         permitted subtree (rustls NameConstraintViolation; OpenSSL \
         X509_V_ERR_PERMITTED_VIOLATION, 47, at depth 0)",
        Some(CONSTRAINED_CA),
        "localhost",
        Role::Server,
        Sans::Localhost,
    ),
    row(
        "sub-intermediate",
        "CA issued by the intermediate, whose pathlen 0 allows no CA below it",
        Some(INTERMEDIATE),
        "mqtls Lab Sub CA",
        Role::IntermediateCa,
        Sans::None,
    ),
    row(
        "server-below-pathlen",
        "server certificate for localhost from sub-intermediate; the fullchain holds both \
         intermediates (rustls PathLenConstraintViolated; OpenSSL \
         X509_V_ERR_PATH_LENGTH_EXCEEDED, 25)",
        Some(SUB_INTERMEDIATE),
        "localhost",
        Role::Server,
        Sans::Localhost,
    ),
    row(
        "client-only-ca",
        "CA issued by root whose extendedKeyUsage is clientAuth only",
        Some(ROOT),
        "mqtls Lab Client-only CA",
        Role::CaWithClientEku,
        Sans::None,
    ),
    row(
        "server-by-client-only-ca",
        "serverAuth certificate for localhost from client-only-ca: the CA's EKU forbids \
         server use (rustls InvalidPurpose; OpenSSL X509_V_ERR_INVALID_PURPOSE, 26, at depth 1)",
        Some(CLIENT_ONLY_CA),
        "localhost",
        Role::Server,
        Sans::Localhost,
    ),
    row(
        "server-unknown-critical",
        "server certificate for localhost with a critical extension of the private OID \
         1.3.6.1.4.1.55555.1 (rustls UnsupportedCriticalExtension; OpenSSL \
         X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, 34)",
        Some(INTERMEDIATE),
        "localhost",
        Role::ServerUnknownCritical,
        Sans::Localhost,
    ),
    made_by(
        row(
            "server-bad-signature",
            "server certificate for localhost with one bit of its signature flipped (rustls \
             BadSignature; OpenSSL X509_V_ERR_CERT_SIGNATURE_FAILURE, 7)",
            Some(INTERMEDIATE),
            "localhost",
            Role::Server,
            Sans::Localhost,
        ),
        Maker::CorruptSignature,
    ),
    made_by(
        row(
            "server-ber-boolean",
            "server certificate for localhost whose basicConstraints critical flag is BER 01 \
             instead of DER FF, validly signed: rustls (webpki) refuses the encoding (BadDer), \
             OpenSSL accepts it",
            Some(INTERMEDIATE),
            "localhost",
            Role::Server,
            Sans::Localhost,
        ),
        Maker::BerBoolean,
    ),
    row(
        "many-constraints-ca",
        "CA issued by root whose nameConstraints permit localhost and 299 other DNS subtrees",
        Some(ROOT),
        "mqtls Lab Many-constraints CA",
        Role::ManyConstraintsCa,
        Sans::None,
    ),
    row(
        "server-many-names",
        "server certificate for localhost from many-constraints-ca with 1,000 DNS names, all \
         permitted: 300,000 comparisons exceed webpki's budget (rustls \
         MaximumNameConstraintComparisonsExceeded), OpenSSL checks them all and accepts",
        Some(MANY_CONSTRAINTS_CA),
        "localhost",
        Role::ServerManyNames,
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
        (Maker::CorruptSignature | Maker::BerBoolean, Some(issuer), Some(key)) => {
            let issuer = &earlier[issuer];
            let cert = params.signed_by(key, &issuer.issuer()).map_err(rcgen_err)?;
            let der = cert.der().to_vec();
            let tampered = if variant.maker == Maker::CorruptSignature {
                tamper::flip_signature_bit(der)
            } else {
                tamper::ber_boolean(&der, &issuer.key_pem).map_err(ossl_err)?
            };
            let tampered = tampered.ok_or(PkiError::Tamper { stem })?;
            X509::from_der(&tampered)
                .and_then(|c| c.to_pem())
                .map(|pem| String::from_utf8_lossy(&pem).into_owned())
                .map_err(ossl_err)?
        }
        // Only Maker::OpensslRsa1024 leaves the rcgen key out.
        (Maker::Rcgen | Maker::CorruptSignature | Maker::BerBoolean, _, None) => {
            unreachable!("{stem}: rcgen rows have an rcgen key")
        }
        (Maker::CorruptSignature | Maker::BerBoolean, None, _) => {
            unreachable!("{stem}: tampered rows are signed by another row")
        }
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
        Role::ConstrainedCa => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = ca_usages;
            p.name_constraints = Some(NameConstraints {
                permitted_subtrees: vec![GeneralSubtree::DnsName(CONSTRAINED_DOMAIN.into())],
                excluded_subtrees: Vec::new(),
            });
        }
        Role::CaWithClientEku => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = ca_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        Role::ManyConstraintsCa => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = ca_usages;
            let mut permitted = vec![GeneralSubtree::DnsName("localhost".into())];
            permitted.extend(
                (1..MANY_SUBTREES).map(|i| GeneralSubtree::DnsName(format!("d{i}.example.com"))),
            );
            p.name_constraints = Some(NameConstraints {
                permitted_subtrees: permitted,
                excluded_subtrees: Vec::new(),
            });
        }
        Role::ServerManyNames => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = leaf_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            for i in 1..MANY_NAMES {
                let name = format!("n{i}.d1.example.com")
                    .try_into()
                    .map_err(|source| PkiError::Rcgen {
                        stem: variant.stem,
                        source,
                    })?;
                p.subject_alt_names.push(SanType::DnsName(name));
            }
        }
        Role::ServerUnknownCritical => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = leaf_usages;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            // An ASN.1 NULL as the value: the content does not matter, the OID does.
            let mut ext = CustomExtension::from_oid_content(UNKNOWN_CRITICAL_OID, vec![0x05, 0x00]);
            ext.set_criticality(true);
            p.custom_extensions.push(ext);
        }
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

    // A fullchain only makes sense when the issuer is an intermediate, i.e. not a root; it
    // holds every intermediate up to the root (two for server-below-pathlen).
    let mut intermediates = Vec::new();
    let mut next = item.variant.issuer.map(|i| &all[i]);
    while let Some(issuer) = next.filter(|issuer| issuer.variant.issuer.is_some()) {
        intermediates.push(issuer);
        next = issuer.variant.issuer.map(|i| &all[i]);
    }
    let (fullchain, fullchain_pem) = if intermediates.is_empty() {
        (None, None)
    } else {
        let path = dir.join(format!("{stem}-fullchain.crt"));
        let mut pem = cert_pem.clone();
        for issuer in intermediates {
            pem.extend_from_slice(issuer.cert_pem.as_bytes());
        }
        write_file(&path, &pem)?;
        (Some(path), Some(pem))
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
        if let Some(pem) = &f.fullchain_pem {
            let certs = String::from_utf8_lossy(pem)
                .matches("BEGIN CERTIFICATE")
                .count();
            let issuers = if certs > 2 {
                "its intermediates, up to the root"
            } else {
                "its issuing intermediate"
            };
            let _ = writeln!(
                s,
                "| `{}-fullchain.crt` | `{}.crt` followed by {issuers} |",
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
mod tests;
