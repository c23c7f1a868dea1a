//! Signed chunk URLs by property: a real PUT URL (or GET URL) with one part changed — its
//! expiry, size bound or signature, the upload, hash or prefix of its object, its method, a
//! parameter dropped or repeated — or the right URL with the wrong bytes, is refused with a 4xx
//! (never a 5xx) and stores nothing; the real URL still works afterwards.

use proptest::prelude::*;
use reqwest::Method;

use crate::fixture::{bytes, Backend, TestServer};
use crate::support::{check, ensure, Answer};

crate::both!(tampered_chunk_urls_are_refused_and_store_nothing);

#[derive(Debug, Clone)]
enum Tamper {
    Exp(i64),
    ExpText(String),
    Max(i64),
    MaxText(String),
    /// A signature character flipped at this index.
    SigFlip(usize),
    SigText(String),
    /// The object's hash part replaced.
    Hash(String),
    Upload(String),
    Prefix(String),
    Method(&'static str),
    Drop(&'static str),
    Twice(&'static str),
    /// The right URL, other bytes: one more, one fewer, or as many but different.
    Body(i64),
    /// The URL of a download, used for a PUT.
    GetUrlPut,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let key = prop::sample::select(&["exp", "max", "sig"][..]);
    let text = prop_oneof![
        Just(String::new()),
        Just("-0".to_owned()),
        Just("1e9".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("0x10".to_owned()),
        "\\PC{0,12}",
    ];
    prop_oneof![
        prop_oneof![
            Just(-1i64),
            Just(1),
            Just(3600),
            Just(-3_000_000_000),
            Just(i64::MAX),
            Just(i64::MIN)
        ]
        .prop_map(Tamper::Exp),
        text.clone().prop_map(Tamper::ExpText),
        prop_oneof![Just(-1i64), Just(1), Just(1 << 33), Just(-(1 << 20))].prop_map(Tamper::Max),
        text.clone().prop_map(Tamper::MaxText),
        (0usize..64).prop_map(Tamper::SigFlip),
        prop_oneof![text.clone(), "[0-9a-f]{63,65}", "[0-9A-F]{64}"].prop_map(Tamper::SigText),
        prop_oneof![
            Just("00".repeat(32)),
            "[0-9a-f]{0,66}",
            text.clone(),
            Just("..".to_owned())
        ]
        .prop_map(Tamper::Hash),
        prop_oneof![Just("..".to_owned()), "[0-9a-zA-Z_-]{0,30}", text.clone()]
            .prop_map(Tamper::Upload),
        prop::sample::select(&["chunks", "staging/..", "", "STAGING", "staging/x/.."][..])
            .prop_map(|p| Tamper::Prefix(p.to_owned())),
        prop::sample::select(&["GET", "POST", "DELETE", "PATCH"][..]).prop_map(Tamper::Method),
        key.clone().prop_map(Tamper::Drop),
        key.prop_map(Tamper::Twice),
        prop_oneof![Just(-1i64), Just(1), Just(0)].prop_map(Tamper::Body),
        Just(Tamper::GetUrlPut),
    ]
}

/// `url` (path and query) split into its object path and its three parameters.
fn parts(url: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap();
    let params = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (path.to_owned(), params)
}

fn join(path: &str, params: &[(String, String)]) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
            format!("{k}={v}")
        })
        .collect();
    format!("{path}?{}", q.join("&"))
}

fn value(params: &[(String, String)], key: &str) -> String {
    let found = params.iter().find(|(k, _)| k == key);
    found.map(|(_, v)| v.clone()).unwrap_or_default()
}

fn set(params: &mut [(String, String)], key: &str, value: String) {
    for (k, v) in params.iter_mut() {
        if k == key {
            *v = value.clone();
        }
    }
}

/// `path` as a client would send it: bytes a request target cannot hold percent-encoded, and
/// nothing else (dot segments stay).
fn escape(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

/// One request written as it is on a fresh connection: an HTTP client would resolve `..` in
/// the path before sending it, and the server must be shown the path as an attacker sends it.
async fn raw(server: &TestServer, method: &str, target: &str, body: &[u8]) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    if method != "GET" && method != "HEAD" {
        req += &format!("content-length: {}\r\n", body.len());
    }
    req += "\r\n";
    let mut bytes = req.into_bytes();
    if method != "GET" && method != "HEAD" {
        bytes.extend_from_slice(body);
    }
    s.write_all(&bytes).await.unwrap();
    let mut out = Vec::new();
    // The server may answer before reading the body and close: what it said is what counts.
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        text: rest.to_owned(),
    }
}

async fn tampered_chunk_urls_are_refused_and_store_nothing(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    // A committed file, for its GET URL.
    let kept = bytes(7, 3000);
    let file = alice.upload_file("kept.bin", &kept, None).await;
    let get_url = alice.download_plan(file.node.id).await.chunks[0]
        .url
        .clone();
    let http = crate::fixture::fresh_client();
    let (u, server, http, get_url) = (&alice, &server, &http, &get_url);
    check(
        "signed urls",
        96,
        (tamper(), any::<u64>()),
        |(t, seed)| async move {
            // Bytes never sent before (a shrunk case runs again), so the chunk is missing.
            static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let data = bytes(seed ^ (run << 48), 1 + (seed % 4000) as usize);
            let (manifest, up) = u.start_upload(&data).await;
            ensure!(up.missing.len() == 1, "fresh bytes are missing");
            let good = up.missing[0].url.clone();
            let (mut path, mut params) = parts(&good);
            let mut method = Method::PUT;
            let mut body = data.clone();
            let hash = manifest.chunks[0].hash.to_string();
            match &t {
                Tamper::Exp(d) => {
                    let exp: i64 = value(&params, "exp").parse().unwrap();
                    set(&mut params, "exp", exp.saturating_add(*d).to_string());
                }
                Tamper::ExpText(s) => set(&mut params, "exp", s.clone()),
                Tamper::Max(d) => {
                    let max: i64 = value(&params, "max").parse().unwrap();
                    set(&mut params, "max", max.saturating_add(*d).to_string());
                }
                Tamper::MaxText(s) => set(&mut params, "max", s.clone()),
                Tamper::SigFlip(i) => {
                    let mut sig = value(&params, "sig").into_bytes();
                    let i = i % sig.len();
                    sig[i] = if sig[i] == b'0' { b'1' } else { b'0' };
                    set(&mut params, "sig", String::from_utf8(sig).unwrap());
                }
                Tamper::SigText(s) => {
                    if s.as_str() == value(&params, "sig").to_uppercase() {
                        return Ok(());
                    }
                    set(&mut params, "sig", s.clone())
                }
                Tamper::Hash(h) => path = path.replace(&hash, h),
                Tamper::Upload(id) => path = path.replace(&up.upload_id, id),
                Tamper::Prefix(p) => path = path.replacen("staging", p, 1),
                Tamper::Method(m) => method = Method::from_bytes(m.as_bytes()).unwrap(),
                Tamper::Drop(k) => params.retain(|(key, _)| key != k),
                Tamper::Twice(k) => {
                    let again = params.iter().find(|(key, _)| key == k).unwrap().clone();
                    params.push((again.0, "0".to_owned()));
                }
                Tamper::Body(d) => match d {
                    -1 => {
                        body.pop();
                    }
                    1 => body.push(0),
                    _ => body[0] ^= 1,
                },
                Tamper::GetUrlPut => (path, params) = parts(get_url),
            }
            let stored = server.stored_files();
            let url = join(&escape(&path), &params);
            let r = raw(server, method.as_str(), &url, &body).await;
            if method == Method::HEAD {
                ensure!(
                    r.status >= 400 && r.status < 500,
                    "{t:?}: HEAD answered {}",
                    r.status
                );
            } else if method == Method::GET {
                // A PUT URL used to read: refused, nothing of the chunk given.
                r.refusal(&format!("{t:?}"))?;
            } else {
                let code = r.refusal(&format!("{t:?} ({url})"))?;
                ensure!(
                    [
                        "bad_signature",
                        "bad_request",
                        "not_found",
                        "hash_mismatch",
                        "too_large",
                        "method_not_allowed"
                    ]
                    .contains(&code.as_str()),
                    "{t:?}: {code}"
                );
            }
            ensure!(
                server.stored_files() == stored,
                "{t:?}: something was stored"
            );
            let status: wire::UploadResponse = u
                .ok(
                    Method::GET,
                    &format!("/api/v1/uploads/{}", up.upload_id),
                    None,
                )
                .await;
            ensure!(
                status.missing.len() == 1,
                "{t:?}: the chunk counts as received"
            );
            // The real URL still takes the real bytes.
            let r = http
                .put(server.url(&good))
                .body(data.clone())
                .send()
                .await
                .unwrap();
            ensure!(
                r.status() == 200,
                "{t:?}: then the real PUT answered {}",
                r.status()
            );
            u.call(
                Method::DELETE,
                &format!("/api/v1/uploads/{}", up.upload_id),
                None,
            )
            .await;
            Ok(())
        },
    );
}
