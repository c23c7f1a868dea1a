//! Checks on the shape of the code that a compiler does not make: each rule named in
//! ARCHITECTURE.md's invariants that is about where code lives is enforced here, so a change
//! that breaks one fails `cargo xtask test` (its first step) and `cargo test -p xtask`.
//!
//! - only `api/src/db/` speaks SQL;
//! - no two files of `api/src` import each other in a loop (`use` lines and `crate::`/`super::`
//!   paths, resolved to files);
//! - the pure crates depend on nothing that does I/O;
//! - who may touch what is decided in `api/src/access.rs` alone: no other file of `api/src`
//!   compares a caller's namespace;
//! - the service worker keeps every script the app loads, so it starts offline;
//! - no page script makes an HTTP request or spells an API path: the WASM core does.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

mod imports;
mod page;
mod shell;

pub use imports::import_loops;
pub use page::page_requests;
pub use shell::shell_gaps;

/// Runs every check; fails listing what breaks them.
pub fn run(root: &Path) -> Result<()> {
    let mut problems = sql_outside_db(root)?;
    problems.extend(import_loops(root)?);
    problems.extend(impure_crates(root)?);
    problems.extend(access_outside_access(root)?);
    problems.extend(shell_gaps(root)?);
    problems.extend(page_requests(root)?);
    if problems.is_empty() {
        println!(
            "tidy: SQL only in api/src/db, no import loops in api/src, pure crates pure, \
             access checks only in api/src/access.rs, the offline shell whole, \
             the page speaks only through the core"
        );
        return Ok(());
    }
    bail!("tidy checks failed:\n  {}", problems.join("\n  "))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A line with its `//` comment cut off (good enough: no SQL keyword hides in a string that
/// holds `//`).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) if !line[..i].contains('"') => &line[..i],
        _ => line,
    }
}

const SQL_STARTS: &[&str] = &[
    "\"SELECT ",
    "\"INSERT ",
    "\"UPDATE ",
    "\"DELETE ",
    "\"WITH ",
    "\"PRAGMA ",
    "\"SAVEPOINT ",
    "\"CREATE ",
    "\"ALTER ",
    "\"DROP ",
    "sqlx::query",
];

/// Files of `api/src` outside `db/` with SQL in them.
pub fn sql_outside_db(root: &Path) -> Result<Vec<String>> {
    let src = root.join("api/src");
    let db = src.join("db");
    let mut out = Vec::new();
    for file in rust_files(&src)? {
        if file.starts_with(&db) {
            continue;
        }
        let text = fs::read_to_string(&file)?;
        for (n, line) in text.lines().enumerate() {
            let line = code(line);
            if let Some(hit) = SQL_STARTS.iter().find(|s| line.contains(*s)) {
                out.push(format!(
                    "SQL outside api/src/db: {}:{} ({})",
                    rel(root, &file),
                    n + 1,
                    hit.trim_matches('"').trim()
                ));
            }
        }
    }
    Ok(out)
}

/// Lines of `api/src` outside `access.rs` (and test files) that compare a caller's namespace
/// with `==` or `!=`: an access check written in place instead of asked of `access`.
pub fn access_outside_access(root: &Path) -> Result<Vec<String>> {
    let src = root.join("api/src");
    let mut out = Vec::new();
    for file in rust_files(&src)? {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if file == src.join("access.rs") || name.ends_with("_tests.rs") {
            continue;
        }
        let text = fs::read_to_string(&file)?;
        for (n, line) in text.lines().enumerate() {
            let line = code(line);
            let callers = ["caller.namespace_id", "c.namespace_id"];
            let compares = line.contains("==") || line.contains("!=");
            if compares && callers.iter().any(|c| line.contains(c)) {
                out.push(format!(
                    "access check outside api/src/access.rs: {}:{}",
                    rel(root, &file),
                    n + 1
                ));
            }
        }
    }
    Ok(out)
}

fn rel(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// The crates that must stay pure (no I/O, no runtime, no browser), and what they may not use.
const PURE: &[&str] = &["wasm-chunker", "wire", "client-core"];
const IMPURE: &[&str] = &[
    "tokio",
    "sqlx",
    "web-sys",
    "js-sys",
    "wasm-bindgen",
    "wasm-bindgen-futures",
    "serde-wasm-bindgen",
    "gloo",
    "rexie",
    "idb",
    "reqwest",
    "hyper",
    "axum",
    "tower",
    "rusqlite",
    "aws-sdk-s3",
    "async-std",
    "mio",
];

/// Dependencies of the pure crates (normal ones; dev-dependencies may do what tests need).
pub fn impure_crates(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in PURE {
        let manifest = root.join(name).join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue; // not in this tree (yet)
        };
        let mut section = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                section = line.to_string();
                continue;
            }
            // `[dependencies]` and `[target.'…'.dependencies]`, not dev- or build-.
            let normal = section.ends_with("dependencies]")
                && !section.contains("dev-dependencies")
                && !section.contains("build-dependencies");
            let dep = line.split(['=', '.', ' ']).next().unwrap_or("");
            if normal && IMPURE.iter().any(|i| dep == *i || dep.starts_with("gloo")) {
                out.push(format!("pure crate {name} depends on {dep}"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf()
    }

    #[test]
    fn only_db_speaks_sql() {
        let found = sql_outside_db(&root()).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn access_checks_live_in_access() {
        let found = access_outside_access(&root()).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn pure_crates_stay_pure() {
        let found = impure_crates(&root()).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }
}
