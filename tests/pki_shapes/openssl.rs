//! Certificates made the way people make them: the `openssl` command line, one `req` per key,
//! one `x509 -req -extfile` per issued certificate, EC P-256 keys (fast to generate).
//!
//! Key identifiers are left to openssl's defaults (`x509 -req` adds subjectKeyIdentifier=hash
//! and authorityKeyIdentifier=keyid since 3.0): that is what real hand-made PKIs carry, and
//! the chain analysis matches issuers by them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Extensions of a CA issued with `x509 -req`: what tutorials put in `ca.ext`.
pub const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\n\
                          keyUsage=critical,keyCertSign,cRLSign\n";

/// Extensions of a broker certificate valid for the loopback names the tests connect with.
pub const SERVER_EXT: &str = "basicConstraints=critical,CA:FALSE\n\
                              keyUsage=critical,digitalSignature\n\
                              extendedKeyUsage=serverAuth\n\
                              subjectAltName=DNS:localhost,IP:127.0.0.1\n";

/// A certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A folder where `openssl` runs, as in a user's shell.
pub struct Workdir {
    dir: PathBuf,
}

/// True when the `openssl` command runs.
pub fn available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Workdir {
    pub fn new(dir: &Path) -> Workdir {
        std::fs::create_dir_all(dir).expect("create the PKI folder");
        Workdir {
            dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// `openssl req -x509`: a self-signed root in `file` (`root.crt`, `isrg-root.pem`), its key
    /// beside it (`root.key`).
    pub fn root(&self, file: &str, subject: &str) -> Issued {
        let cert = file.to_string();
        let key = format!("{}.key", stem(file));
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "30",
            "-subj",
            subject,
            // Explicit, so the result does not depend on the machine's openssl.cnf.
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        Issued {
            cert: self.path(&cert),
            key: self.path(&key),
        }
    }

    /// `openssl req -new` then `openssl x509 -req -CA ... -extfile stem.ext`: `file` issued by
    /// `by`, with `extensions` (see [`CA_EXT`], [`SERVER_EXT`]); key, CSR and extension file
    /// beside it under the same stem.
    pub fn issue(&self, file: &str, subject: &str, by: &Issued, extensions: &str) -> Issued {
        let stem = stem(file);
        let (cert, key, csr, ext) = (
            file.to_string(),
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.ext"),
        );
        std::fs::write(self.path(&ext), extensions).expect("write the extension file");
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subject,
        ]);
        let (ca, ca_key) = (by.cert.display().to_string(), by.key.display().to_string());
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "30",
            "-out",
            &cert,
            "-extfile",
            &ext,
        ]);
        Issued {
            cert: self.path(&cert),
            key: self.path(&key),
        }
    }

    /// `openssl x509 -outform der`: what a CA publishes at its caIssuers URL.
    pub fn der(&self, cert: &Issued, out: &str) -> Vec<u8> {
        let input = cert.cert.display().to_string();
        self.openssl(&["x509", "-in", &input, "-outform", "der", "-out", out]);
        std::fs::read(self.path(out)).expect("read the DER file")
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {} failed in {}:\n{}",
            args.join(" "),
            self.dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn stem(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(stem, _)| stem)
}

/// `cat a.crt b.crt > out`: a chain file (fullchain, a CA bundle).
pub fn cat(parts: &[&Path], out: &Path) -> PathBuf {
    let mut all = Vec::new();
    for p in parts {
        all.extend(std::fs::read(p).expect("read a PEM file"));
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("create a folder");
    }
    std::fs::write(out, all).expect("write a PEM file");
    out.to_path_buf()
}
