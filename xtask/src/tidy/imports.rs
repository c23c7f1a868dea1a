//! No import loops in `api/src`: each file's `use` lines and `crate::`/`super::` paths,
//! resolved to the files they name, make a graph that must have no cycle (a `mod.rs` naming
//! its own children is its face, not a loop).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{code, rel, rust_files};

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn api_src_has_no_import_loop() {
        let found = import_loops(&super::super::tests::root()).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }
}
