//! The scenario loader on arbitrary text: YAML parsing into the file model, then, for files
//! that name no other file, the whole resolution (defaults, `${env:..}`, targets, versions,
//! timeouts) through `scenario::load`.
//!
//! Files that name certificates or profiles are only parsed: resolving them touches paths the
//! input chooses and may generate a test PKI, which a fuzzer must not do.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mqtls::scenario::load::parse;
use mqtls::scenario::model::{CaseSpec, SuiteFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = parse(Path::new("fuzz.yaml"), text) else {
        return;
    };
    if names_no_file(&file) {
        let path = scratch_file();
        if std::fs::write(path, text).is_ok() {
            let _ = mqtls::scenario::load(&[path.clone()]);
        }
    }
});

fn names_no_file(file: &SuiteFile) -> bool {
    let bare = |c: &CaseSpec| c.cafile.is_none() && c.cert.is_none() && c.key.is_none();
    file.profiles.is_empty() && bare(&file.defaults) && file.cases.iter().all(bare)
}

/// One file in a private temporary folder, rewritten for each input.
fn scratch_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder for the fuzz input");
        dir.keep().join("fuzz.yaml")
    })
}
