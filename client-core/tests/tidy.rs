//! ARCHITECTURE.md promises that `client-core` decides and never does I/O or touches the
//! browser; this fails the build the day its Cargo.toml says otherwise.

/// Crates that reach the browser, the network, the disk or a runtime.
const FORBIDDEN: &[&str] = &[
    "web-sys",
    "js-sys",
    "wasm-bindgen",
    "wasm-bindgen-futures",
    "serde-wasm-bindgen",
    "gloo",
    "tokio",
    "async-std",
    "sqlx",
    "reqwest",
    "hyper",
    "axum",
    "aws-sdk-s3",
    "rexie",
    "idb",
    "tempfile",
];

/// The package names every `[*dependencies]` table of a Cargo.toml lists.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.trim_matches(['[', ']']).ends_with("dependencies");
            continue;
        }
        if in_deps {
            if let Some((name, _)) = line.split_once('=') {
                let name = name
                    .trim()
                    .split('.')
                    .next()
                    .unwrap_or("")
                    .trim_matches('"');
                if !name.is_empty() && !name.starts_with('#') {
                    out.push(name.to_owned());
                }
            }
        }
    }
    out
}

#[test]
fn client_core_has_no_io_or_browser_dependency() {
    let manifest = include_str!("../Cargo.toml");
    let deps = dependencies(manifest);
    assert!(
        deps.contains(&"wire".to_owned()),
        "the parser lost track: {deps:?}"
    );
    let bad: Vec<_> = deps
        .iter()
        .filter(|d| {
            FORBIDDEN
                .iter()
                .any(|f| d == f || d.starts_with(&format!("{f}-")))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "client-core must stay pure (see ARCHITECTURE.md); move {bad:?} to web-client"
    );
}

#[test]
fn the_check_reads_every_dependency_table() {
    let sample = "[package]\nname = \"x\"\n[dependencies]\nwire.workspace = true\n\
                  [target.'cfg(x)'.dependencies]\nweb-sys = \"0.3\"\n[dev-dependencies]\ntokio = { version = \"1\" }\n";
    assert_eq!(dependencies(sample), ["wire", "web-sys", "tokio"]);
}
