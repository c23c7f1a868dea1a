//! The API client the page holds: sign-in, listings, and the upload and download protocols.
//!
//! Uploads send only the chunks the server says are missing, straight to signed URLs, six at a
//! time (what browsers allow per origin), each retried with backoff; the commit carries the
//! upload id as its idempotency key, so a retried commit can never write twice. Downloads
//! verify every chunk's BLAKE3 hash before any byte reaches the user.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use wasm_bindgen::prelude::*;
use wire::manifest_parts;
use wire::{
    paths, BatchCommitsRequest, BatchCommitsResponse, BatchUploadsRequest, BatchUploadsResponse,
    ChunkRef, ChunkTarget, CommitRequest, CommitResponse, CreateFolderRequest, CreateUploadRequest,
    DownloadResponse, Hash, Listing, LoginRequest, Manifest, MeResponse, Node, RegisterRequest,
    SessionResponse, UploadResponse,
};

use crate::http::{self, Body, Failure};

/// Chunk transfers in flight at once.
pub(crate) const PARALLEL: usize = 6;

#[wasm_bindgen]
pub struct Client {
    pub(crate) base: String,
    pub(crate) token: Option<String>,
}

#[wasm_bindgen]
impl Client {
    /// `base` is the API origin, or "" for the page's own.
    #[wasm_bindgen(constructor)]
    pub fn new(base: String) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    pub async fn register(
        &mut self,
        username: String,
        password: String,
        device_name: String,
    ) -> Result<JsValue, JsValue> {
        let req = RegisterRequest {
            username,
            password,
            device_name,
        };
        let s: SessionResponse = self.post(paths::ACCOUNTS, &req).await?;
        self.token = Some(s.token.clone());
        Ok(http::to_js(&s))
    }

    pub async fn login(
        &mut self,
        username: String,
        password: String,
        device_name: String,
    ) -> Result<JsValue, JsValue> {
        let req = LoginRequest {
            username,
            password,
            device_name,
        };
        let s: SessionResponse = self.post(paths::SESSIONS, &req).await?;
        self.token = Some(s.token.clone());
        Ok(http::to_js(&s))
    }

    pub async fn me(&self) -> Result<JsValue, JsValue> {
        let me: MeResponse = self.get(paths::ME).await?;
        Ok(http::to_js(&me))
    }

    /// A folder's `{folder, children, etag}`. Given the `etag` of a listing the page kept, it
    /// answers `null` when the server says that listing is still current (a 304: no body).
    /// `fresh` (without an `etag`) reads it from the server, never the browser's HTTP cache:
    /// for a listing whose ETag does not cover all of it (a shared folder the user is a member
    /// of: its tag follows the folder's changes, not the name and place the user gave it).
    ///
    /// `on_page(page, first)`, when given, hears each page that more pages follow as it comes
    /// (`{folder, children, next}`, that page's children only), so a long folder's first rows
    /// can be drawn while the rest is read; `first` says the page starts the listing (again,
    /// after a torn read: what was heard before is to be dropped). The answer is the whole
    /// listing, as without it.
    pub async fn list(
        &self,
        folder_id: f64,
        etag: Option<String>,
        fresh: Option<bool>,
        on_page: Option<js_sys::Function>,
    ) -> Result<JsValue, JsValue> {
        let heard = |page: &Listing, first: bool| {
            if let Some(f) = &on_page {
                // The page draws; what it throws is its own, not the listing's, failure.
                let _ = f.call2(&JsValue::NULL, &http::to_js(page), &first.into());
            }
        };
        let url = self.url(&format!("{}/{}/children", paths::NODES, folder_id as i64));
        let mut held = match (etag.as_deref(), fresh) {
            (Some(tag), _) => http::Held::Tag(tag),
            (None, Some(true)) => http::Held::Stale,
            (None, _) => http::Held::Nothing,
        };
        // A large folder comes in pages (at most `wire::LISTING_PAGE_MAX` children each), all
        // under the listing's one tag. A page under another tag means the folder changed while
        // it was being read: the pages are read again from the first, and after a few tries
        // the listing is kept without a tag, so the next look reads it whole again.
        let mut whole = None;
        for _ in 0..3 {
            let Some((mut l, tag)) = self.list_page(&url, held).await? else {
                return Ok(JsValue::NULL);
            };
            let mut torn = false;
            if l.next.is_some() {
                heard(&l, true);
            }
            while let Some(after) = l.next.take() {
                let page_url = format!(
                    "{url}?after={}",
                    String::from(js_sys::encode_uri_component(&after))
                );
                let (page, page_tag) = self
                    .list_page(&page_url, http::Held::Stale)
                    .await?
                    .ok_or_else(|| JsValue::from_str("a listing page answered 304"))?;
                if page_tag != tag {
                    torn = true;
                    break;
                }
                if page.next.is_some() {
                    heard(&page, false);
                }
                l.children.extend(page.children);
                l.next = page.next;
            }
            if !torn {
                whole = Some((l, tag));
                break;
            }
            held = http::Held::Stale;
            whole = Some((l, None));
        }
        let (l, tag) = whole.expect("at least one try");
        let out = http::to_js(&l);
        if let Some(tag) = tag {
            js_sys::Reflect::set(&out, &"etag".into(), &tag.into())?;
        }
        Ok(out)
    }

    /// One page of a listing and its tag; `None` on a 304. With retries: live sync re-lists
    /// the open folder once per change it learns of, and a listing lost to the network would
    /// leave that change unseen.
    async fn list_page(
        &self,
        url: &str,
        held: http::Held<'_>,
    ) -> Result<Option<(Listing, Option<String>)>, Failure> {
        let token = self.token.as_deref();
        self.with_retries(|| async {
            let Some(r) = http::get_unless_match(url, token, held).await? else {
                return Ok(None);
            };
            let tag = r.headers().get("etag").ok().flatten();
            let l: Listing = http::json(r).await?;
            Ok(Some((l, tag)))
        })
        .await
    }

    #[wasm_bindgen(js_name = createFolder)]
    pub async fn create_folder(&self, parent_id: f64, name: String) -> Result<JsValue, JsValue> {
        let req = CreateFolderRequest {
            parent_id: parent_id as i64,
            name,
        };
        let n: Node = self.post(paths::FOLDERS, &req).await?;
        Ok(http::to_js(&n))
    }

    /// Uploads `file`, already chunked into `manifest_json`, as `name` in folder `parent_id`.
    /// `base_version` is the version being replaced (none for a new file). `on_progress` gets
    /// `{done, total, sent, saved}` in bytes after each chunk.
    pub async fn upload(
        &self,
        file: web_sys::Blob,
        manifest_json: String,
        parent_id: f64,
        name: String,
        base_version: Option<f64>,
        on_progress: js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        let manifest = parse_manifest(&manifest_json)?;
        let started = self.open_upload(&manifest).await?;
        self.send_missing(
            &file,
            &manifest,
            &started.missing,
            &on_progress,
            None,
            Some(&started),
        )
        .await?;
        let commit = CommitRequest {
            idempotency_key: started.upload_id.clone(),
            upload_id: started.upload_id,
            parent_id: parent_id as i64,
            name,
            base_version: base_version.map(|v| v as i64),
            content_type: None,
        };
        let committed: CommitResponse = self
            .with_retries(|| self.post(paths::COMMITS, &commit))
            .await?;
        Ok(http::to_js(&committed))
    }

    /// Step 1 of a resumable upload: posts the manifest (a large one in parts, `drafts.rs`),
    /// answers `{upload_id, missing, expires_at}`. The page stores the upload id before
    /// sending anything.
    #[wasm_bindgen(js_name = startUpload)]
    pub async fn start_upload(&self, manifest_json: String) -> Result<JsValue, JsValue> {
        let manifest = parse_manifest(&manifest_json)?;
        let started = self.open_upload(&manifest).await?;
        Ok(http::to_js(&started))
    }

    /// Step 1 for many files in one request (`POST /api/v1/batch/uploads`): `manifests` is an
    /// array of manifest JSON strings; answers one `startUpload` answer per manifest, in order.
    /// All start or none do (a refusal names the manifest: `uploads[i]: …`). A manifest that
    /// goes in parts never rides in the batch: it opens alone, after the batch, and if one
    /// fails the uploads already opened are cancelled before the refusal is answered.
    #[wasm_bindgen(js_name = startUploads)]
    pub async fn start_uploads(&self, manifests: JsValue) -> Result<JsValue, JsValue> {
        let texts: Vec<String> = from_js(&manifests)?;
        let manifests = texts
            .iter()
            .map(|m| parse_manifest(m))
            .collect::<Result<Vec<_>, Failure>>()?;
        let (alone, batched): (Vec<usize>, Vec<usize>) =
            (0..manifests.len()).partition(|&i| manifest_parts::goes_in_parts(&manifests[i]));
        let mut answers: Vec<Option<UploadResponse>> = vec![None; manifests.len()];
        if !batched.is_empty() {
            let uploads = batched
                .iter()
                .map(|&i| CreateUploadRequest::inline(manifests[i].clone()))
                .collect();
            let req = BatchUploadsRequest { uploads };
            let started: BatchUploadsResponse = self
                .with_retries(|| self.post(paths::BATCH_UPLOADS, &req))
                .await?;
            for (&i, up) in batched.iter().zip(started.uploads) {
                answers[i] = Some(up);
            }
        }
        for &i in &alone {
            match self.open_upload(&manifests[i]).await {
                Ok(up) => answers[i] = Some(up),
                Err(e) => {
                    let opened: Vec<UploadResponse> = answers.into_iter().flatten().collect();
                    self.cancel_opened(&opened).await;
                    return Err(e.into());
                }
            }
        }
        let answers: Vec<UploadResponse> = answers.into_iter().flatten().collect();
        if answers.len() != texts.len() {
            return Err(Failure::local("bad_upload", "the server answered too few starts").into());
        }
        Ok(http::to_js(&answers))
    }

    /// Step 3 for many files in one request (`POST /api/v1/batch/commits`): `commits` is an
    /// array of `{upload_id, parent_id, name, base_version, idempotency_key, content_type?}`.
    /// Answers one
    /// `{status, committed?, error?}` per commit, in order: each stands alone.
    #[wasm_bindgen(js_name = commitMany)]
    pub async fn commit_many(&self, commits: JsValue) -> Result<JsValue, JsValue> {
        let commits: Vec<CommitRequest> = from_js(&commits)?;
        let req = BatchCommitsRequest { commits };
        let done: BatchCommitsResponse = self
            .with_retries(|| self.post(paths::BATCH_COMMITS, &req))
            .await?;
        Ok(http::to_js(&done.results))
    }

    /// What an upload still lacks, with fresh URLs: how a reload or a pause resumes without
    /// re-sending finished chunks.
    #[wasm_bindgen(js_name = resumeUpload)]
    pub async fn resume_upload(&self, upload_id: String) -> Result<JsValue, JsValue> {
        let path = format!("{}/{}", paths::UPLOADS, upload_id);
        let r: UploadResponse = self.with_retries(|| self.get(&path)).await?;
        Ok(http::to_js(&r))
    }

    /// Step 2: PUTs the chunks `upload` (an answer of `startUpload`/`resumeUpload`) lists as
    /// missing, six at a time with retries. `signal` (an `AbortSignal`) pauses or cancels.
    /// `on_progress` gets `{done, total, sent, saved}` in bytes after each chunk.
    #[wasm_bindgen(js_name = sendChunks)]
    pub async fn send_chunks(
        &self,
        file: web_sys::Blob,
        manifest_json: String,
        upload: JsValue,
        on_progress: js_sys::Function,
        signal: Option<web_sys::AbortSignal>,
    ) -> Result<(), JsValue> {
        let manifest = parse_manifest(&manifest_json)?;
        let upload: UploadResponse = from_js(&upload)?;
        self.send_missing(
            &file,
            &manifest,
            &upload.missing,
            &on_progress,
            signal.as_ref(),
            Some(&upload),
        )
        .await?;
        Ok(())
    }

    /// Step 3: makes the upload a version of `name` in `parent_id`. The idempotency key makes a
    /// replayed commit (after a reload, or from the offline outbox) answer the first result.
    /// `content_type`: what `sniffType` made of the file, stored with the version.
    pub async fn commit(
        &self,
        upload_id: String,
        parent_id: f64,
        name: String,
        base_version: Option<f64>,
        idempotency_key: String,
        content_type: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let commit = CommitRequest {
            upload_id,
            parent_id: parent_id as i64,
            name,
            base_version: base_version.map(|v| v as i64),
            idempotency_key,
            content_type,
        };
        let committed: CommitResponse = self
            .with_retries(|| self.post(paths::COMMITS, &commit))
            .await?;
        Ok(http::to_js(&committed))
    }

    /// Fetches a file's chunks six at a time, checks every hash, and hands them to `on_chunk`
    /// in file order (awaiting the promise it returns: that is the back-pressure of a disk
    /// writer), so a large file streams to disk instead of becoming one giant `Blob`.
    /// Answers the file's `Node`. `on_progress` gets `{done, total}` in bytes.
    #[wasm_bindgen(js_name = downloadStream)]
    pub async fn download_stream(
        &self,
        node_id: f64,
        on_chunk: js_sys::Function,
        on_progress: js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        let d = self.download_plan(node_id).await?;
        self.fetch_in_order(
            &d,
            d.manifest.chunks.iter().collect(),
            &on_chunk,
            &on_progress,
        )
        .await?;
        Ok(http::to_js(&d.node))
    }

    /// A file's chunks for a store that keeps each chunk once, by hash ("available offline").
    /// `on_manifest({node, chunks: [{hash, offset, size}]})` comes first and is awaited; it
    /// answers the hashes the store already holds. Every other distinct chunk is then fetched
    /// (six at a time), hash-checked and handed to `on_chunk(bytes, hash)` in file order,
    /// awaited. Answers the file's `Node`. `on_progress` gets `{done, total}` over what is
    /// fetched.
    #[wasm_bindgen(js_name = downloadChunks)]
    pub async fn download_chunks(
        &self,
        node_id: f64,
        on_manifest: js_sys::Function,
        on_chunk: js_sys::Function,
        on_progress: js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        let d = self.download_plan(node_id).await?;
        let contents = serde_json::json!({ "node": d.node, "chunks": d.manifest.chunks });
        let have = settle(on_manifest.call1(&JsValue::NULL, &http::to_js(&contents))?).await?;
        let have = have
            .dyn_into::<js_sys::Array>()
            .unwrap_or_else(|_| js_sys::Array::new());
        let mut skip: HashSet<Hash> = have
            .iter()
            .filter_map(|h| h.as_string()?.parse().ok())
            .collect();
        // `insert` is false for a hash already held or already planned: each chunk comes once.
        let wanted = d
            .manifest
            .chunks
            .iter()
            .filter(|c| skip.insert(c.hash))
            .collect();
        self.fetch_in_order(&d, wanted, &on_chunk, &on_progress)
            .await?;
        Ok(http::to_js(&d.node))
    }

    /// Fetches a file chunk by chunk, checks every hash, and returns it as a `Blob`.
    /// `on_progress` gets `{done, total}` in bytes.
    pub async fn download(
        &self,
        node_id: f64,
        on_progress: js_sys::Function,
    ) -> Result<web_sys::Blob, JsValue> {
        let d = self.download_plan(node_id).await?;
        let total = d.manifest.size as f64;
        let done = std::cell::Cell::new(0f64);
        let fetched: HashMap<Hash, js_sys::Uint8Array> = futures::stream::iter(d.chunks.iter())
            .map(|t| async {
                let bytes = self.fetch_chunk(&t.url, &t.hash).await?;
                done.set(done.get() + bytes.length() as f64);
                report(&on_progress, &[("done", done.get()), ("total", total)]);
                Ok::<_, Failure>((t.hash, bytes))
            })
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
        let parts = js_sys::Array::new();
        for c in &d.manifest.chunks {
            parts.push(fetched.get(&c.hash).ok_or_else(|| {
                Failure::local("missing_chunk", "the server did not offer every chunk")
            })?);
        }
        let opts = web_sys::BlobPropertyBag::new();
        opts.set_type("application/octet-stream");
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)
    }
}

impl Client {
    /// A file's manifest and a signed URL per distinct chunk: where every download starts.
    async fn download_plan(&self, node_id: f64) -> Result<DownloadResponse, Failure> {
        let path = format!("{}/{}/download", paths::NODES, node_id as i64);
        self.with_retries(|| self.get(&path)).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, Failure> {
        let r = http::send("GET", &self.url(path), self.token.as_deref(), Body::None).await?;
        http::json(r).await
    }

    pub(crate) async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Failure> {
        let r = http::send(
            "POST",
            &self.url(path),
            self.token.as_deref(),
            Body::Json(http::to_json(body)),
        )
        .await?;
        http::json(r).await
    }

    async fn send_missing(
        &self,
        file: &web_sys::Blob,
        manifest: &Manifest,
        missing: &[ChunkTarget],
        on_progress: &js_sys::Function,
        signal: Option<&web_sys::AbortSignal>,
        upload: Option<&UploadResponse>,
    ) -> Result<(), Failure> {
        // Where the server asks for it (`sent_every`), chunks PUT are named to it in batches.
        let say = upload.and_then(|u| Some((u.upload_id.as_str(), u.sent_every? as usize)));
        let total = manifest.size as f64;
        // Chunks PUT and not yet named to the server (`/uploads/{id}/sent`), which then checks
        // them while the rest are on the wire; the commit checks whatever is left.
        let unsaid = std::cell::RefCell::new(Vec::<Hash>::new());
        let to_send: f64 = missing.iter().map(|m| m.size as f64).sum();
        let saved = (total - to_send).max(0.0);
        let sent = std::cell::Cell::new(0f64);
        let offsets: HashMap<Hash, u64> = manifest
            .chunks
            .iter()
            .rev()
            .map(|c| (c.hash, c.offset))
            .collect();
        report(
            on_progress,
            &[
                ("done", saved),
                ("total", total),
                ("sent", 0.0),
                ("saved", saved),
            ],
        );
        futures::stream::iter(missing.iter())
            .map(|t| {
                let sent = &sent;
                let unsaid = &unsaid;
                let offset = offsets.get(&t.hash).copied();
                async move {
                    let offset = offset.ok_or_else(|| {
                        Failure::local("bad_upload", "the server asked for a chunk the file lacks")
                    })? as f64;
                    // A file of one chunk goes as it is: slicing a file-backed Blob costs the
                    // page a round trip to the browser process, about a millisecond a file.
                    let piece = if offset == 0.0 && t.size as f64 == file.size() {
                        file.clone()
                    } else {
                        file.slice_with_f64_and_f64(offset, offset + t.size as f64)
                            .map_err(Failure::network)?
                    };
                    self.with_retries(|| async {
                        http::send_with("PUT", &self.url(&t.url), None, Body::Blob(&piece), signal)
                            .await
                            .map(|_| ())
                    })
                    .await?;
                    let batch = {
                        let mut u = unsaid.borrow_mut();
                        u.push(t.hash);
                        match say {
                            Some((id, every)) if u.len() >= every => {
                                Some((id, std::mem::take(&mut *u)))
                            }
                            _ => None,
                        }
                    };
                    if let Some((id, hashes)) = batch {
                        self.say_sent(id, hashes).await;
                    }
                    sent.set(sent.get() + t.size as f64);
                    report(
                        on_progress,
                        &[
                            ("done", saved + sent.get()),
                            ("total", total),
                            ("sent", sent.get()),
                            ("saved", saved),
                        ],
                    );
                    Ok::<_, Failure>(())
                }
            })
            .buffer_unordered(PARALLEL)
            .try_collect::<()>()
            .await
    }

    /// Names chunks PUT to the server so it checks them now. Only a head start: a failure is
    /// ignored (the commit checks them anyway).
    async fn say_sent(&self, upload_id: &str, hashes: Vec<Hash>) {
        let path = paths::UPLOAD_SENT.replace("{id}", upload_id);
        let body = wire::SentRequest { hashes };
        let _ = http::send(
            "POST",
            &self.url(&path),
            self.token.as_deref(),
            Body::Json(http::to_json(&body)),
        )
        .await;
    }

    /// Fetches `chunks` of `d` six at a time, checks every hash, and hands each to
    /// `on_chunk(bytes, hash)` in the given order, awaiting the promise it returns.
    /// `on_progress` gets `{done, total}` in bytes over `chunks`.
    async fn fetch_in_order(
        &self,
        d: &DownloadResponse,
        chunks: Vec<&ChunkRef>,
        on_chunk: &js_sys::Function,
        on_progress: &js_sys::Function,
    ) -> Result<(), JsValue> {
        let urls: HashMap<Hash, &str> = d.chunks.iter().map(|c| (c.hash, c.url.as_str())).collect();
        let total: f64 = chunks.iter().map(|c| c.size as f64).sum();
        let mut done = 0f64;
        let mut ordered = futures::stream::iter(chunks)
            .map(|c| {
                let url = urls.get(&c.hash).copied();
                async move {
                    let url = url.ok_or_else(|| {
                        Failure::local("missing_chunk", "the server did not offer every chunk")
                    })?;
                    Ok::<_, Failure>((c.hash, self.fetch_chunk(url, &c.hash).await?))
                }
            })
            .buffered(PARALLEL);
        while let Some(fetched) = ordered.next().await {
            let (hash, bytes) = fetched?;
            done += bytes.length() as f64;
            let hash = JsValue::from_str(&hash.to_string());
            settle(on_chunk.call2(&JsValue::NULL, &bytes, &hash)?).await?;
            report(on_progress, &[("done", done), ("total", total)]);
        }
        Ok(())
    }

    async fn fetch_chunk(&self, url: &str, hash: &Hash) -> Result<js_sys::Uint8Array, Failure> {
        let retry = std::cell::Cell::new(false);
        self.with_retries(|| async {
            // A failed try may have left a bad copy in the browser's cache: retries skip it.
            let held = if retry.replace(true) {
                http::Held::Bad
            } else {
                http::Held::Nothing
            };
            let r = http::get_held(&self.url(url), &[], held).await?;
            let bytes = http::bytes(&r).await?;
            if wasm_chunker::hash_chunk(&bytes.to_vec()) != *hash {
                return Err(Failure {
                    status: 502,
                    code: "corrupt_chunk".into(),
                    message: format!("chunk {hash} arrived corrupted"),
                });
            }
            Ok(bytes)
        })
        .await
    }

    /// Runs `op` until it succeeds or `client_core::retry` gives up on it.
    pub(crate) async fn with_retries<T, F, Fut>(&self, op: F) -> Result<T, Failure>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        for attempt in 1.. {
            match op().await {
                // Offline, the network will not come back within the backoff: say so at once.
                Err(e) if e.status == 0 && !http::online() => return Err(e),
                Err(e) if e.retryable() => match client_core::retry::delay_after(attempt) {
                    Some(ms) => http::sleep(ms).await,
                    None => return Err(e),
                },
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }
}

/// What a JS callback returned, awaited if it is a promise.
pub(crate) async fn settle(ret: JsValue) -> Result<JsValue, JsValue> {
    match ret.dyn_into::<js_sys::Promise>() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await,
        Err(v) => Ok(v),
    }
}

pub(crate) fn parse_manifest(json: &str) -> Result<Manifest, Failure> {
    serde_json::from_str(json).map_err(|e| {
        Failure::local(
            "bad_manifest",
            format!("the chunker's manifest is unreadable: {e}"),
        )
    })
}

/// Reads a plain JS object into a typed value (serde-wasm-bindgen; `undefined` reads as a
/// missing value, integral numbers as integers).
pub(crate) fn from_js<T: serde::de::DeserializeOwned>(v: &JsValue) -> Result<T, Failure> {
    serde_wasm_bindgen::from_value(v.clone())
        .map_err(|e| Failure::local("bad_argument", format!("unreadable argument: {e}")))
}

pub(crate) fn report(f: &js_sys::Function, fields: &[(&str, f64)]) {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&o, &(*k).into(), &(*v).into());
    }
    let _ = f.call1(&JsValue::NULL, &o);
}
