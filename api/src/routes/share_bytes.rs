//! The bytes of share links over plain HTTP, for browsers without JavaScript and for tools
//! (`curl -O -J`, `curl -C -`, `wget -c`): a file link's file, a folder link's files one by
//! one, and zips of a whole folder or a selection. Every request opens the link first
//! (`links::open`: limits, revocation, expiry, password), reaches files only by name under the
//! link's root, and serves through `serve`, so every chunk is BLAKE3-checked as it streams.
//!
//! The download limit is a byte budget per file version (`db::links::charge`): a link with
//! limit N may send each file under it at most N × its size bytes, over all requests — whole,
//! ranged, zipped, or the browser's chunk fetches. Each piece is charged just before it goes
//! out; one that would overrun is not sent (the answer ends short, or is 410 `link_exhausted`
//! when nothing was sent yet). A resumed download asks only for what it lacks, so it is charged
//! only for that.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::Response;
use futures::future::BoxFuture;
use serde::Deserialize;
use wire::links::LinkKind;
use wire::NodeKind;

use crate::abuse::ClientIp;
use crate::db::links as db_links;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::links::{self, Share, SharedFile};
use crate::routes::public::open_link;
use crate::serve::zip::{Content, ZipEntry, ZipPlan};
use crate::serve::{self, stream, ChunkReader, Disposition, FileBytes, Look, Meter};
use crate::state::AppState;

/// Share bytes are never kept by browsers or proxies: a revoked link must stop working.
const CACHE: &str = "no-store";

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Opts {
    /// `1`: show the file in the browser (its real `Content-Type`: the stored one when
    /// allowlisted, else by its name; `inline`, under `Content-Security-Policy: sandbox`)
    /// instead of saving it.
    pub inline: Option<String>,
    /// A password grant (`POST /api/v1/public/{token}/unlock`), for clients that cannot send
    /// `X-Cairn-Grant`, the cookie, or HTTP Basic (`curl -u :PASSWORD`).
    pub grant: Option<String>,
}

impl Opts {
    fn inline(&self) -> bool {
        matches!(self.inline.as_deref(), Some("1" | "true"))
    }
}

#[utoipa::path(get, path = "/s/{token}/download", tag = "public",
    params(("token" = String, Path, description = "The link's token"), Opts),
    responses(
        (status = 200, description = "A file link: the file (chunks BLAKE3-checked as they stream; a bad one, or a spent budget, ends the body early). A folder link: a streamed ZIP of everything in it (ZIP64 where needed). `application/zip` for a folder; for a file, the type its uploader stored when it is on the allowlist (images png/jpeg/gif/webp/avif/bmp, `application/pdf`, `text/plain`, `audio/*`, `video/*`), else `application/octet-stream`, or with `inline` else its type by its name (under `Content-Security-Policy: sandbox`); always `X-Content-Type-Options: nosniff`", content_type = "*/*"),
        (status = 206, description = "The requested range of a file (one range; `If-Range` honoured)"),
        (status = 304, description = "Not modified (`If-None-Match` / `If-Modified-Since`)"),
        (status = 401, description = "`password_required`: send a grant (`X-Cairn-Grant`, `?grant=`, the cookie) or the password as HTTP Basic (`curl -u :PASSWORD`)", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link (or an upload-only one)", body = wire::ErrorBody),
        (status = 410, description = "`link_gone` (revoked, expired, target deleted) or `link_exhausted` (the download limit is spent)", body = wire::ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */size`", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn download(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    Query(q): Query<Opts>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let share = open_link(&state, &token, &headers, q.grant.as_deref(), ip).await?;
    links::require(&share, LinkKind::Download)?;
    match share.root.node.kind {
        NodeKind::File => file(&state, &share, "", &q, &method, &headers).await,
        NodeKind::Folder => {
            let name = format!("{}.zip", share.root.node.name);
            zip(&state, &share, &[String::new()], &name, &method).await
        }
    }
}

#[utoipa::path(get, path = "/s/{token}/files/{path}", tag = "public",
    params(("token" = String, Path, description = "The link's token"), ("path" = String, Path, description = "A file under a folder link: `/`-separated names, percent-encoded"), Opts),
    responses(
        (status = 200, description = "The file (chunks BLAKE3-checked as they stream; a bad one, or a spent budget, ends the body early): the type its uploader stored when it is on the allowlist (images png/jpeg/gif/webp/avif/bmp, `application/pdf`, `text/plain`, `audio/*`, `video/*`), else `application/octet-stream`, or with `inline` else its type by its name (under `Content-Security-Policy: sandbox`); always `X-Content-Type-Options: nosniff`", content_type = "*/*"),
        (status = 206, description = "The requested range (one range; `If-Range` honoured)"),
        (status = 304, description = "Not modified (`If-None-Match` / `If-Modified-Since`)"),
        (status = 401, description = "`password_required`", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link, not a folder link, or no file at `path` under it (`..` and `.` name nothing)", body = wire::ErrorBody),
        (status = 410, description = "`link_gone` or `link_exhausted`", body = wire::ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */size`", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn file_in_folder(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((token, path)): Path<(String, String)>,
    Query(q): Query<Opts>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let share = open_link(&state, &token, &headers, q.grant.as_deref(), ip).await?;
    links::require(&share, LinkKind::Download)?;
    if share.root.node.kind != NodeKind::Folder || path.trim_matches('/').is_empty() {
        return Err(ApiError::NotFound("file"));
    }
    file(&state, &share, &path, &q, &method, &headers).await
}

#[utoipa::path(get, path = "/s/{token}/zip", tag = "public",
    params(("token" = String, Path, description = "The link's token"),
        ("path" = Vec<String>, Query, description = "Files and folders under the folder link to put in the zip, repeated (`?path=a&path=b/c`); none: the whole folder"),
        ("grant" = Option<String>, Query, description = "A password grant")),
    responses(
        (status = 200, description = "A streamed ZIP of the selection (store method, ZIP64 where needed); chunks BLAKE3-checked, a bad one or a spent budget ends the body early", content_type = "application/zip"),
        (status = 400, description = "`bad_request`: more files than one zip may hold, or a malformed query", body = wire::ErrorBody),
        (status = 401, description = "`password_required`", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link, not a folder link, or a path that names nothing under it", body = wire::ErrorBody),
        (status = 410, description = "`link_gone` or `link_exhausted`", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn selection(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    RawQuery(raw): RawQuery,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut paths = Vec::new();
    let mut grant = None;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "path" => paths.push(v.into_owned()),
            "grant" => grant = Some(v.into_owned()),
            _ => {}
        }
    }
    if paths.len() > links::MAX_WALK {
        return Err(ApiError::TooManyPaths("too many paths".into()));
    }
    let share = open_link(&state, &token, &headers, grant.as_deref(), ip).await?;
    links::require(&share, LinkKind::Download)?;
    if share.root.node.kind != NodeKind::Folder {
        return Err(ApiError::NotFound("folder"));
    }
    if paths.is_empty() {
        paths.push(String::new());
    }
    let name = match paths.as_slice() {
        [one] if !one.trim_matches('/').is_empty() => {
            let last = one.trim_matches('/').rsplit('/').next().unwrap_or(one);
            format!("{last}.zip")
        }
        _ => format!("{}.zip", share.root.node.name),
    };
    zip(&state, &share, &paths, &name, &method).await
}

/// One file under the link, as a download or an inline preview.
async fn file(
    state: &AppState,
    share: &Share,
    path: &str,
    q: &Opts,
    method: &Method,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let f = links::file_at(state, share, path).await?;
    let bytes = FileBytes {
        version_id: f.version_id,
        name: f.name.clone(),
        size: f.size,
        content_hash: f.content_hash.to_string(),
        modified_at: f.modified_at,
        chunks: f.chunks(state).await?,
    };
    let inline = q.inline();
    let typed = |t: &str| HeaderValue::from_str(t).map_err(|e| ApiError::Internal(e.into()));
    let look = if inline {
        Look {
            disposition: Disposition::Inline,
            content_type: typed(&f.content_type)?,
            cache_control: HeaderValue::from_static(CACHE),
            sandbox: true,
        }
    } else {
        let mut look = Look {
            sandbox: true,
            ..Look::download(CACHE)
        };
        if let Some(t) = &f.allowed_type {
            look.content_type = typed(t)?;
        }
        look
    };
    let meter = LinkMeter::for_share(state, share);
    let reader: Arc<dyn ChunkReader> = Arc::new(state.clone());
    let answer = serve::file(reader, &bytes, &look, method, headers, Some(meter)).await;
    // One log line per download, not one per chunk a browser or a resume asks for.
    let continuation = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|r| !r.trim().starts_with("bytes=0-"));
    if !continuation {
        let action = if inline { "preview" } else { "download" };
        links::log(state, share, action, &f.path, outcome(&answer)).await;
    }
    let mut r = answer?;
    if inline {
        // The share page may show a preview in a frame of its own; nobody else may.
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; frame-ancestors 'self'"),
        );
        h.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
    Ok(r)
}

/// A zip of `paths` (files or folders under a folder link), entries named from the link's
/// folder down (`Holidays/beach/1.jpg`), so it unpacks into one folder.
async fn zip(
    state: &AppState,
    share: &Share,
    paths: &[String],
    name: &str,
    method: &Method,
) -> ApiResult<Response> {
    let root = &share.root.node;
    let mut files: BTreeMap<String, SharedFile> = BTreeMap::new();
    let mut folders: BTreeMap<String, ()> = BTreeMap::new();
    for p in paths {
        let (found, dirs) = links::walk_files(state, share, p).await?;
        for d in dirs {
            folders.insert(d, ());
        }
        for f in found {
            files.insert(f.path.clone(), f);
        }
        if files.len() > links::MAX_WALK {
            return Err(ApiError::TooManyPaths(format!(
                "a zip holds at most {} files; pick fewer",
                links::MAX_WALK
            )));
        }
    }
    let prefix = |p: &str| format!("{}/{p}", root.name);
    let mut entries = vec![ZipEntry::dir(root.name.clone(), root.modified_at)];
    let mut items: Vec<(String, Option<SharedFile>)> = folders
        .into_keys()
        .map(|d| (d, None))
        .chain(files.into_iter().map(|(p, f)| (p, Some(f))))
        .collect();
    // Folders before what they hold: sorted by path, a folder `a` sorts before `a/x`.
    items.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, f) in items {
        match f {
            None => entries.push(ZipEntry::dir(prefix(&p), root.modified_at)),
            Some(f) => {
                let chunks = f.chunks(state).await?;
                entries.push(ZipEntry::file(
                    prefix(&p),
                    f.modified_at,
                    Content {
                        version_id: f.version_id,
                        size: f.size,
                        chunks,
                    },
                ));
            }
        }
    }
    let plan = ZipPlan::new(entries, false);
    let len = plan.len();
    let body = if method == Method::HEAD {
        axum::body::Body::empty()
    } else {
        let meter = LinkMeter::for_share(state, share);
        let reader: Arc<dyn ChunkReader> = Arc::new(state.clone());
        let s = stream::metered(plan.stream(reader), Some(meter.clone()));
        let primed = stream::prime(s)
            .await
            .map_err(|e| stream::start_error(e, Some(&meter), "zip", share.link.id));
        let logged_path = if paths.len() == 1 {
            paths[0].as_str()
        } else {
            ""
        };
        links::log(state, share, "zip", logged_path, outcome(&primed)).await;
        axum::body::Body::from_stream(primed?.into_stream("zip", share.link.id))
    };
    let mut r = crate::serve::zip::response(body, len, name, CACHE);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(r)
}

/// The access log's word for how a request ended.
fn outcome<T>(r: &ApiResult<T>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code().as_str(),
    }
}

/// The link's budget as a [`Meter`]: with a download limit, every piece is charged with one
/// conditional UPDATE before it is sent; without one, pieces are only counted, and the tally
/// (`bytes_served` in the owner's list) is written once when the answer ends.
struct LinkMeter {
    state: AppState,
    link_id: i64,
    max_downloads: Option<u64>,
    tally: Mutex<HashMap<i64, u64>>,
}

impl LinkMeter {
    fn for_share(state: &AppState, share: &Share) -> Arc<dyn Meter> {
        Arc::new(LinkMeter {
            state: state.clone(),
            link_id: share.link.id,
            max_downloads: share.link.max_downloads.map(|n| n.max(0) as u64),
            tally: Mutex::new(HashMap::new()),
        })
    }
}

impl Meter for LinkMeter {
    fn charge(
        &self,
        version_id: i64,
        size: u64,
        n: u64,
    ) -> BoxFuture<'static, Result<bool, ApiError>> {
        let Some(limit) = self.max_downloads else {
            *self
                .tally
                .lock()
                .expect("no panics while held")
                .entry(version_id)
                .or_default() += n;
            return Box::pin(futures::future::ready(Ok(true)));
        };
        let (db, link_id) = (Arc::clone(&self.state.db), self.link_id);
        Box::pin(async move {
            Ok(db_links::charge(&db, link_id, version_id, limit.saturating_mul(size), n).await?)
        })
    }

    fn exhausted(&self) -> ApiError {
        ApiError::LinkExhausted
    }
}

impl Drop for LinkMeter {
    fn drop(&mut self) {
        let tally = std::mem::take(&mut *self.tally.lock().expect("no panics while held"));
        if tally.is_empty() {
            return;
        }
        let (db, link_id) = (Arc::clone(&self.state.db), self.link_id);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                for (version_id, n) in tally {
                    if let Err(e) = db_links::add_served(&db, link_id, version_id, n).await {
                        tracing::warn!(link_id, error = %e, "cannot count a link's bytes");
                    }
                }
            });
        }
    }
}
