//! The crate's rooms and the direction of their arrows (ARCHITECTURE.md), checked.
//!
//! Every file under `src/` belongs to a room (its top-level module). A room may name only rooms
//! of a lower rank: commands at the top, renderers below them, then the engine, then models
//! and facts, and leaf utilities at the bottom. Two rooms of one rank never name each other, so
//! there is no import loop and a renderer never knows the command that made its model.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Each room with its rank; a room may use rooms of a strictly lower rank only.
const ROOMS: &[(&str, u8)] = &[
    // Leaf utilities: certificates summarised, limits, logging, addresses.
    ("x509", 0),
    ("limits", 0),
    ("logging", 0),
    ("target", 0),
    ("cert_details", 1),
    // What was seen, what the user gave, the lab PKI.
    ("evidence", 2),
    ("facts", 2),
    ("pki", 2),
    // The engine: errors, path building, probes, then the classifier and the inputs.
    ("error", 3),
    ("chain", 3),
    ("probe", 3),
    ("classify", 4),
    ("inputs", 4),
    // Suites as written, and the models reports are made of.
    ("scenario", 5),
    ("model", 5),
    // Renderers, the lab, and the work of each command.
    ("report", 6),
    ("lab", 6),
    ("diagnose", 6),
    ("inspect", 6),
    ("explain", 6),
    ("run", 7),
    ("scan", 7),
    // The flags, then the commands on top.
    ("cli", 8),
    ("commands", 9),
];

fn rank(room: &str) -> Option<u8> {
    ROOMS.iter().find(|(r, _)| *r == room).map(|(_, k)| *k)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Unit-test files (`tests.rs`, `*_tests.rs`, anything under a `tests/` folder) may reach any
/// room: they check a room from outside, and are not part of the build.
fn is_test_file(file: &Path) -> bool {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || file.components().any(|c| c.as_os_str() == "tests")
}

/// The room of a file: its first component under `src/`, without `.rs`.
fn room_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// The rooms named by `crate::room` paths in code (comments are skipped), with `crate::{a, b}`
/// groups read item by item.
fn rooms_named(text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" //").next().unwrap_or(code);
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let room: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !room.is_empty() {
                        named.insert(room);
                    }
                }
            } else {
                let room: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !room.is_empty() {
                    named.insert(room);
                }
            }
        }
    }
    named
}

#[test]
fn rooms_use_only_rooms_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut unknown = BTreeSet::new();
    let mut upward = Vec::new();
    for file in &files {
        let room = room_of(&src, file);
        if room == "lib"
            || room == "main"
            || is_test_file(file.strip_prefix(&src).expect("under src"))
        {
            continue;
        }
        let Some(own) = rank(&room) else {
            unknown.insert(room);
            continue;
        };
        let text = fs::read_to_string(file).expect("read file");
        for named in rooms_named(&text) {
            if named == room {
                continue;
            }
            match rank(&named) {
                Some(theirs) if theirs < own => {}
                Some(theirs) => upward.push(format!(
                    "{} ({room}, rank {own}) uses {named} (rank {theirs})",
                    file.strip_prefix(&src).expect("under src").display()
                )),
                None => {
                    unknown.insert(named);
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "rooms missing from ROOMS in tests/layers.rs and ARCHITECTURE.md: {unknown:?}"
    );
    assert!(
        upward.is_empty(),
        "{} uses of a room at the same or a higher rank:\n{}",
        upward.len(),
        upward.join("\n")
    );
}

#[test]
fn the_scanner_reads_groups_and_skips_comments() {
    let named = rooms_named(
        "use crate::{chain::X, evidence};\n// crate::report is only a comment\nlet x = crate::x509::hex(b); // crate::run",
    );
    let want: BTreeSet<String> = ["chain", "evidence", "x509"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(named, want);
}
