//! Checks on the shape of the code that a compiler does not make: each rule named in
//! ARCHITECTURE.md's invariants that is about where code lives is enforced here, so a change
//! that breaks one fails `cargo xtask test` (its first step) and `cargo test -p xtask`.
//!
//! - only `api/src/db/` speaks SQL;
//! - no two files of `api/src` import each other in a loop (`use` lines and `crate::`/`super::`
//!   paths, resolved to files);
//! - the pure crates depend on nothing that does I/O;
//! - who may touch what is decided in `api/src/access.rs` alone: no other file of `api/src`
//!   compares a caller's namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Runs every check; fails listing what breaks them.
pub fn run(root: &Path) -> Result<()> {
    let mut problems = sql_outside_db(root)?;
    problems.extend(import_loops(root)?);
    problems.extend(impure_crates(root)?);
    problems.extend(access_outside_access(root)?);
    if problems.is_empty() {
        println!(
            "tidy: SQL only in api/src/db, no import loops in api/src, pure crates pure, \
             access checks only in api/src/access.rs"
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

/// The module path (`["db", "nodes"]`) of a file under `src`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file that module `path` lives in: the longest prefix of `path` that names one.
fn file_of(src: &Path, path: &[String]) -> Option<PathBuf> {
    (1..=path.len()).rev().find_map(|n| {
        let dir = path[..n].iter().fold(src.to_path_buf(), |p, s| p.join(s));
        [dir.with_extension("rs"), dir.join("mod.rs")]
            .into_iter()
            .find(|f| f.is_file())
    })
}

/// The paths a `use` tree names, expanded (`a::{b, c::d}` → `a::b`, `a::c::d`).
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn parse(tokens: &[String], at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        while *at < tokens.len() {
            let t = tokens[*at].as_str();
            *at += 1;
            match t {
                "{" => {
                    loop {
                        parse(tokens, at, &path, out);
                        match tokens.get(*at).map(String::as_str) {
                            Some(",") => *at += 1,
                            Some("}") => {
                                *at += 1;
                                break;
                            }
                            _ => break,
                        }
                        if tokens.get(*at).map(String::as_str) == Some("}") {
                            *at += 1;
                            break;
                        }
                    }
                    return;
                }
                "," | "}" => {
                    *at -= 1;
                    break;
                }
                "::" => {}
                "as" => *at += 1,
                "self" => {}
                "*" => {}
                name => path.push(name.to_string()),
            }
        }
        out.push(path);
    }
    let mut tokens = Vec::new();
    let mut word = String::new();
    for ch in tree.chars() {
        if ch.is_alphanumeric() || ch == '_' {
            word.push(ch);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        match ch {
            '{' | '}' | ',' | '*' => tokens.push(ch.to_string()),
            ':' if tokens.last().map(String::as_str) != Some("::") => tokens.push("::".into()),
            _ => {}
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut out = Vec::new();
    let mut at = 0;
    parse(&tokens, &mut at, &[], &mut out);
    out
}

/// `crate::`, `super::` and child-module paths of one file, as absolute module paths.
fn imports(src: &Path, file: &Path, text: &str) -> BTreeSet<Vec<String>> {
    let here = module_of(src, file);
    let is_mod_file = matches!(
        file.file_stem().and_then(|s| s.to_str()),
        Some("mod" | "lib" | "main")
    );
    // The module `self` and `super` are relative to.
    let parent_of_file = if is_mod_file {
        here.clone()
    } else {
        here[..here.len().saturating_sub(1)].to_vec()
    };
    let resolve = |p: &[String]| -> Option<Vec<String>> {
        let (first, rest) = p.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([here.clone(), rest.to_vec()].concat()),
            "super" => {
                let mut base = parent_of_file.clone();
                let mut rest = rest;
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                Some([base, rest.to_vec()].concat())
            }
            // A child module used by name (`use batch_tx::X` in `db/mod.rs`).
            _ => {
                let abs = [here.clone(), p.to_vec()].concat();
                file_of(src, &abs[..here.len() + 1]).map(|_| abs)
            }
        }
    };
    let mut out = BTreeSet::new();
    let code: String = text.lines().map(|l| format!("{}\n", code(l))).collect();
    // `use` statements (possibly over several lines).
    let mut rest = code.as_str();
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        rest = &rest[i + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        for p in expand(&rest[..end]) {
            if let Some(abs) = resolve(&p) {
                out.insert(abs);
            }
        }
        rest = &rest[end..];
    }
    // Paths written inline: `crate::db::nodes::get(…)`, `super::chunks::pin(…)`.
    for start in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(start) {
            let before = rest[..i].chars().last();
            rest = &rest[i..];
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path: Vec<String> = rest[..len]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            rest = &rest[len..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if let Some(abs) = resolve(&path) {
                out.insert(abs);
            }
        }
    }
    out
}

/// Loops among the files of `api/src`: each strongly connected set of two or more files.
pub fn import_loops(root: &Path) -> Result<Vec<String>> {
    let src = root.join("api/src");
    let files = rust_files(&src)?;
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let text = fs::read_to_string(file)?;
        let targets = edges.entry(file.clone()).or_default();
        for path in imports(&src, file, &text) {
            let Some(target) = file_of(&src, &path) else {
                continue;
            };
            // A folder's `mod.rs` naming its own children is the folder's face (declaring and
            // re-exporting them), not an import; a child naming its parent's items is.
            let face = file.ends_with("mod.rs")
                && file.parent().is_some_and(|dir| target.starts_with(dir));
            if &target != file && !face {
                targets.insert(target);
            }
        }
    }
    Ok(cycles(&edges)
        .into_iter()
        .map(|c| {
            let names: Vec<String> = c.iter().map(|f| rel(root, f)).collect();
            format!("import loop: {}", names.join(" <-> "))
        })
        .collect())
}

/// Tarjan's strongly connected components of two or more nodes.
fn cycles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
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

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf()
    }

    #[test]
    fn use_trees_expand() {
        let paths = expand("crate::db::{self, nodes::{get, Row as R}, usage}");
        let want: Vec<Vec<String>> = [
            vec!["crate", "db"],
            vec!["crate", "db", "nodes", "get"],
            vec!["crate", "db", "nodes", "Row"],
            vec!["crate", "db", "usage"],
        ]
        .iter()
        .map(|p| p.iter().map(|s| s.to_string()).collect())
        .collect();
        assert_eq!(paths, want);
        assert_eq!(expand("super::*").len(), 1);
    }

    #[test]
    fn loops_are_found() {
        let p = |s: &str| PathBuf::from(s);
        let mut edges = BTreeMap::new();
        edges.insert(p("a"), BTreeSet::from([p("b")]));
        edges.insert(p("b"), BTreeSet::from([p("c")]));
        edges.insert(p("c"), BTreeSet::from([p("a"), p("d")]));
        edges.insert(p("d"), BTreeSet::new());
        assert_eq!(cycles(&edges), vec![vec![p("a"), p("b"), p("c")]]);
    }

    #[test]
    fn only_db_speaks_sql() {
        let found = sql_outside_db(&root()).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn api_src_has_no_import_loop() {
        let found = import_loops(&root()).unwrap();
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
