//! The offline app shell is whole: every script the app's page loads (statically imported,
//! dynamically imported or started as a worker, from `/js/app.js` on) is in the service
//! worker's `SHELL` list. A module missing there loads fine online and breaks the app on the
//! first offline start, which no online test sees.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

/// The app page's entry script.
const ENTRY: &str = "/js/app.js";

/// The quoted paths in `sw.js`'s `const SHELL = [ … ];`.
fn shell(sw: &str) -> Result<BTreeSet<String>> {
    let start = sw
        .find("const SHELL = [")
        .context("sw.js has no SHELL list")?;
    let end = start + sw[start..].find("];").context("SHELL list not closed")?;
    Ok(quoted(&sw[start..end]).into_iter().collect())
}

/// Every single-quoted string in `text`.
fn quoted(text: &str) -> Vec<String> {
    text.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The site paths `module` (at site path `at`) loads: `from '…'`, `import('…')` and
/// `new URL('…', import.meta.url)` (workers), resolved against its folder.
fn loads(at: &str, module: &str) -> Vec<String> {
    let dir = &at[..at.rfind('/').map_or(0, |i| i + 1)];
    let mut out = Vec::new();
    for marker in ["from '", "import('", "new URL('"] {
        for piece in module.split(marker).skip(1) {
            let Some(rel) = piece.split('\'').next() else {
                continue;
            };
            if rel.starts_with('.') {
                out.push(resolve(dir, rel));
            }
        }
    }
    out
}

/// `rel` (`./a.js`, `../pkg/b.js`) against folder `dir` (`/js/`).
fn resolve(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Scripts the app loads that the service worker does not keep.
pub fn shell_gaps(root: &Path) -> Result<Vec<String>> {
    let www = root.join("www");
    let kept = shell(&fs::read_to_string(www.join("sw.js"))?)?;
    let mut seen = BTreeSet::from([ENTRY.to_string()]);
    let mut todo = vec![ENTRY.to_string()];
    while let Some(at) = todo.pop() {
        let file = www.join(at.trim_start_matches('/'));
        // Generated files (`/pkg/…`) are not in a fresh tree; their imports are the wasm.
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for next in loads(&at, &text) {
            if seen.insert(next.clone()) {
                todo.push(next);
            }
        }
    }
    Ok(seen
        .into_iter()
        .filter(|p| !kept.contains(p))
        .map(|p| format!("the app loads {p} but www/sw.js's SHELL does not keep it offline"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_resolve() {
        assert_eq!(resolve("/js/", "./a.js"), "/js/a.js");
        assert_eq!(resolve("/js/", "../pkg/b.js"), "/pkg/b.js");
        let m = "import { x } from './a.js';\nconst w = new Worker(new URL('./w.js', import.meta.url));\nawait import('./lazy.js');";
        assert_eq!(
            loads("/js/app.js", m),
            ["/js/a.js", "/js/lazy.js", "/js/w.js"]
        );
    }

    #[test]
    fn the_offline_shell_is_whole() {
        let found = shell_gaps(&super::super::tests::root()).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }
}
