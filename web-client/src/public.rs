//! What a visitor with only a share link does, as `Client` methods that need no account: read
//! the share, unlock it with its password, list a shared folder, download a file through the
//! same verified, parallel chunk path as the app, and drop files into a file request.
//!
//! The token travels only in the path. A password grant goes in `X-Cairn-Grant` (the unlock
//! also sets a cookie, but a visitor with two locked links open holds one cookie and two
//! grants). Chunks come from signed store URLs, or — when the link has a download limit — from
//! `/s/{token}/…` with a `Range` per chunk, each charged to the link's budget by the server.
//! Either way every chunk's BLAKE3 is checked before a byte of it reaches the page.

use futures::StreamExt;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wire::links::{
    Grant, PublicChunk, PublicListing, PublicManifest, PublicShare, RequestCommit, RequestLanded,
    RequestUpload,
};
use wire::UploadResponse;

use crate::client::{parse_manifest, report, settle, Client, PARALLEL};
use crate::http::{self, Body, Failure};

const PUBLIC: &str = "/api/v1/public";
const GRANT_HEADER: &str = "x-cairn-grant";

/// The path of `rest` under a link, refused unless the token is plain base64url (so it can
/// never become another path or a query).
fn public_path(token: &str, rest: &str) -> Result<String, Failure> {
    let ok = !token.is_empty()
        && token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(Failure::local("bad_link", "this is not a share link"));
    }
    Ok(format!("{PUBLIC}/{token}{rest}"))
}

fn query_path(path: &str) -> String {
    format!("?path={}", String::from(js_sys::encode_uri_component(path)))
}

/// Checks that the chunks tile the file from 0 to `size`, so a short or overlapping list
/// cannot pass for the whole file.
fn check_tiling(m: &PublicManifest) -> Result<(), Failure> {
    let mut at = 0u64;
    for c in &m.chunks {
        if c.offset != at || c.size == 0 {
            return Err(Failure::local(
                "bad_response",
                "the server's chunk list does not cover the file",
            ));
        }
        at += u64::from(c.size);
    }
    if at != m.size {
        return Err(Failure::local(
            "bad_response",
            "the server's chunk list does not add up to the file's size",
        ));
    }
    Ok(())
}

impl Client {
    /// Headers for a request to our own origin: the grant, when the visitor holds one.
    fn grant_headers(grant: &Option<String>) -> Vec<(&'static str, &str)> {
        grant
            .as_deref()
            .filter(|g| !g.is_empty())
            .map(|g| vec![(GRANT_HEADER, g)])
            .unwrap_or_default()
    }

    async fn public_call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        grant: &Option<String>,
        body: Option<Value>,
    ) -> Result<T, Failure> {
        let body = match body {
            Some(v) => Body::Json(v.to_string()),
            None => Body::None,
        };
        let headers = Self::grant_headers(grant);
        let r = http::send_headers(method, &self.url(path), &headers, body).await?;
        http::json(r).await
    }

    /// One chunk, from a signed store URL or from the link itself with a `Range`, hash-checked.
    async fn fetch_public_chunk(
        &self,
        c: &PublicChunk,
        grant: &Option<String>,
    ) -> Result<js_sys::Uint8Array, Failure> {
        let own = c.ranged;
        let range = format!("bytes={}-{}", c.offset, c.offset + u64::from(c.size) - 1);
        let mut headers = Vec::new();
        if own {
            // Only our own origin gets the grant; a store URL carries its own signature.
            headers = Self::grant_headers(grant);
            headers.push(("range", range.as_str()));
        }
        let retry = std::cell::Cell::new(false);
        self.with_retries(|| async {
            // A failed try may have left a bad copy in the browser's cache: retries skip it
            // (as `Client::fetch_chunk` does).
            let held = if retry.replace(true) {
                http::Held::Bad
            } else {
                http::Held::Nothing
            };
            let r = http::get_held(&self.url(&c.url), &headers, held).await?;
            let bytes = http::bytes(&r).await?;
            if bytes.length() != c.size || wasm_chunker::hash_chunk(&bytes.to_vec()) != c.hash {
                return Err(Failure {
                    status: 502,
                    code: "corrupt_chunk".into(),
                    message: format!("chunk {} arrived corrupted", c.hash),
                });
            }
            Ok(bytes)
        })
        .await
    }
}

#[wasm_bindgen]
impl Client {
    /// `GET /api/v1/public/{token}`: what the link shares (or, for a file request, where files
    /// go). Fails with `password_required` (401) until unlocked.
    #[wasm_bindgen(js_name = publicShare)]
    pub async fn public_share(
        &self,
        token: String,
        grant: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let v: PublicShare = self
            .public_call("GET", &public_path(&token, "")?, &grant, None)
            .await?;
        Ok(http::to_js(&v))
    }

    /// Trades the link's password for a short-lived grant: `{grant, expires_at}`.
    #[wasm_bindgen(js_name = unlockShare)]
    pub async fn unlock_share(&self, token: String, password: String) -> Result<JsValue, JsValue> {
        let v: Grant = self
            .public_call(
                "POST",
                &public_path(&token, "/unlock")?,
                &None,
                Some(json!({ "password": password })),
            )
            .await?;
        Ok(http::to_js(&v))
    }

    /// One page of a folder under a folder link: `{path, entries: [{name, path, kind, size,
    /// modified_at, content_type}], next?}`, at most `wire::LISTING_PAGE_MAX` entries, folders
    /// first, then files, by name. `path` is relative to the shared folder, "" for itself.
    /// `after` is the `next` of the page before (none: the first page), so a page can draw the
    /// first entries of a long folder before it asks for the rest.
    #[wasm_bindgen(js_name = publicList)]
    pub async fn public_list(
        &self,
        token: String,
        path: String,
        grant: Option<String>,
        after: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let mut rest = format!("/list{}", query_path(&path));
        if let Some(a) = after {
            rest.push_str(&format!(
                "&after={}",
                String::from(js_sys::encode_uri_component(&a))
            ));
        }
        let v: PublicListing = self
            .public_call("GET", &public_path(&token, &rest)?, &grant, None)
            .await?;
        Ok(http::to_js(&v))
    }

    /// Downloads the file at `path` under the link ("" for a file link), six chunks at a time,
    /// checking every chunk's hash, and hands the chunks to `on_chunk(bytes)` in file order,
    /// awaiting what it returns (a disk writer's back-pressure). `on_start({name, size, …})` comes
    /// first, once the manifest is known, and is awaited too. `on_progress` gets `{done,
    /// total}`. Answers `{name, size, content_hash, content_type}`.
    #[wasm_bindgen(js_name = publicDownload)]
    pub async fn public_download(
        &self,
        token: String,
        path: String,
        grant: Option<String>,
        on_start: js_sys::Function,
        on_chunk: js_sys::Function,
        on_progress: js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        let rest = format!("/manifest{}", query_path(&path));
        let m: PublicManifest = self
            .public_call("GET", &public_path(&token, &rest)?, &grant, None)
            .await?;
        check_tiling(&m)?;
        let about = json!({
            "name": m.name,
            "size": m.size,
            "content_hash": m.content_hash,
            "content_type": m.content_type,
        });
        settle(on_start.call1(&JsValue::NULL, &http::to_js(&about))?).await?;
        let total = m.size as f64;
        let mut done = 0f64;
        let grant = &grant;
        let mut ordered = futures::stream::iter(m.chunks.iter())
            .map(|c| self.fetch_public_chunk(c, grant))
            .buffered(PARALLEL);
        while let Some(fetched) = ordered.next().await {
            let bytes = fetched?;
            done += bytes.length() as f64;
            settle(on_chunk.call1(&JsValue::NULL, &bytes)?).await?;
            report(&on_progress, &[("done", done), ("total", total)]);
        }
        Ok(http::to_js(&about))
    }

    /// Step 1 of a drop into a file request: posts the manifest with the file's `name`, the
    /// folder `path` it goes to under the request's folder ("" for the folder itself) and the
    /// uploader's name. Answers `{upload_id, missing, expires_at}`; `missing` lists every chunk
    /// this request's own uploads have not staged — never what the owner already stores.
    #[wasm_bindgen(js_name = publicStartUpload)]
    pub async fn public_start_upload(
        &self,
        token: String,
        manifest_json: String,
        name: String,
        path: String,
        uploader: String,
        grant: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let body = RequestUpload {
            manifest: parse_manifest(&manifest_json)?,
            name,
            path,
            uploader,
        };
        let body = serde_json::to_value(&body).expect("wire types serialize");
        let target = public_path(&token, "/uploads")?;
        let r: UploadResponse = self
            .with_retries(|| self.public_call("POST", &target, &grant, Some(body.clone())))
            .await?;
        Ok(http::to_js(&r))
    }

    /// What a drop still lacks, with fresh URLs: how a reload resumes it.
    #[wasm_bindgen(js_name = publicResumeUpload)]
    pub async fn public_resume_upload(
        &self,
        token: String,
        upload_id: String,
        grant: Option<String>,
    ) -> Result<JsValue, JsValue> {
        if !upload_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Failure::local("bad_argument", "not an upload id").into());
        }
        let target = public_path(&token, &format!("/uploads/{upload_id}"))?;
        let r: UploadResponse = self
            .with_retries(|| self.public_call("GET", &target, &grant, None))
            .await?;
        Ok(http::to_js(&r))
    }

    /// Step 3: the dropped file lands in the request's folder. Answers `{name, path, size}` as
    /// it landed (`name (from <uploader>)` when the name was taken). Retried safely: the upload
    /// id is the commit's identity. `content_type`: what `sniffType` made of the file.
    #[wasm_bindgen(js_name = publicCommit)]
    pub async fn public_commit(
        &self,
        token: String,
        upload_id: String,
        grant: Option<String>,
        content_type: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let target = public_path(&token, "/commit")?;
        let req = RequestCommit {
            upload_id,
            content_type,
        };
        let body = serde_json::to_value(req).expect("wire types serialize");
        let v: RequestLanded = self
            .with_retries(|| self.public_call("POST", &target, &grant, Some(body.clone())))
            .await?;
        Ok(http::to_js(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(offset: u64, size: u32) -> PublicChunk {
        PublicChunk {
            hash: wasm_chunker::hash_chunk(b"x"),
            offset,
            size,
            url: String::new(),
            ranged: false,
        }
    }

    fn manifest(size: u64, chunks: Vec<PublicChunk>) -> PublicManifest {
        PublicManifest {
            name: "f".into(),
            size,
            content_hash: wasm_chunker::hash_chunk(b""),
            content_type: "application/octet-stream".into(),
            chunks,
        }
    }

    #[test]
    fn chunks_must_tile_the_file() {
        assert!(check_tiling(&manifest(0, vec![])).is_ok());
        assert!(check_tiling(&manifest(10, vec![chunk(0, 4), chunk(4, 6)])).is_ok());
        assert!(
            check_tiling(&manifest(10, vec![chunk(0, 4)])).is_err(),
            "short"
        );
        assert!(
            check_tiling(&manifest(10, vec![chunk(0, 4), chunk(3, 7)])).is_err(),
            "overlap"
        );
        assert!(
            check_tiling(&manifest(4, vec![chunk(0, 4), chunk(4, 0)])).is_err(),
            "empty"
        );
    }

    #[test]
    fn only_plain_tokens_make_paths() {
        assert_eq!(
            public_path("aB-_9", "/list").unwrap(),
            "/api/v1/public/aB-_9/list"
        );
        for bad in ["", "../x", "a/b", "a?b", "a%2f", &"a".repeat(129)] {
            assert!(public_path(bad, "").is_err(), "{bad}");
        }
    }
}
