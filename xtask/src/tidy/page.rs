//! The page speaks to the server only through the WASM core: no script of `www/js` makes an
//! HTTP request of its own (`fetch`, `XMLHttpRequest`, `EventSource` aside, which the live
//! view opens on a URL the core hands it) or spells an API path, so every wire body, URL and
//! retry rule stays in Rust, where client-core's tests see it.

use std::fs;
use std::path::Path;

use anyhow::Result;

use super::rel;

const FORBIDDEN: &[&str] = &["fetch(", "XMLHttpRequest", "'/api/", "\"/api/", "`/api/"];

/// Lines of `www/js/*.js` (comments aside) that talk to the server themselves.
pub fn page_requests(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut files: Vec<_> = fs::read_dir(root.join("www/js"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "js"))
        .collect();
    files.sort();
    for file in files {
        let text = fs::read_to_string(&file)?;
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
                continue;
            }
            if let Some(hit) = FORBIDDEN.iter().find(|f| code.contains(*f)) {
                out.push(format!(
                    "the page talks to the server itself: {}:{} ({hit})",
                    rel(root, &file),
                    n + 1
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_speaks_only_through_the_core() {
        let found = super::page_requests(&super::super::tests::root()).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }
}
