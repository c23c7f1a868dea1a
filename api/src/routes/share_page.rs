//! The public page of a share link, `/s/{token}`, as HTML the server renders whole, so it works
//! with no JavaScript at all: the shared item's facts, a shared folder's listing (subfolders
//! browsed with `?path=`, a long one a page of 1,000 at a time by `&after=`), plain download links, and a password form that posts to
//! `/s/{token}/unlock`, which sets the link's grant cookie and sends the browser back. When
//! JavaScript runs, `/js/share.js` redraws the page from the public JSON API with more
//! (verified downloads, previews, a zip of a selection, the drop page of a file request).
//!
//! Nothing here is inline script or style: the page lives under the same strict policy as the
//! app. Every name is escaped; paths in URLs are percent-encoded segment by segment.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wire::links::{LinkKind, PublicEntry, PublicShare};
use wire::{NodeKind, LISTING_PAGE_MAX};

use crate::abuse::ClientIp;
use crate::db::listing::Cursor;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::links::{self, grant};
use crate::names::civil_date;
use crate::routes::public::{self, download_url, url_path, At};
use crate::state::AppState;

/// Where a long folder's page resumes: the server-rendered page shows a folder 1,000 entries
/// at a time, each page linking to the next.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct More {
    /// The next page's start, from the link at the foot of the page before.
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/s/{token}", tag = "public", params(("token" = String, Path, description = "The link's token"), At, More),
    responses(
        (status = 200, description = "The page: the shared file or folder (HTML, works without JavaScript); a folder 1,000 entries at a time, with a link to the next page", content_type = "text/html"),
        (status = 400, description = "`after` is not a page this page gave (HTML)", content_type = "text/html"),
        (status = 401, description = "The password form (HTML)", content_type = "text/html"),
        (status = 404, description = "No such link, or no folder at `path` under it (HTML)", content_type = "text/html"),
        (status = 410, description = "The link was revoked, expired, or what it shared is gone (HTML)", content_type = "text/html"),
        (status = 429, description = "Too many requests: see `Retry-After` (HTML)", content_type = "text/html"),
        (status = 503, description = "Too many password hashes at once: see `Retry-After` (HTML)", content_type = "text/html"),
    ))]
pub async fn page(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    Query(q): Query<At>,
    Query(more): Query<More>,
    headers: HeaderMap,
) -> Response {
    match render(&state, &token, &q, &more, &headers, ip).await {
        Ok((title, body)) => html(StatusCode::OK, &title, &body),
        Err(ApiError::PasswordRequired) => html(
            StatusCode::UNAUTHORIZED,
            "Protected link",
            &lock(&token, None),
        ),
        Err(e) => error_page(e),
    }
}

/// The page's title and body for a link that opened.
async fn render(
    state: &AppState,
    token: &str,
    q: &At,
    more: &More,
    headers: &HeaderMap,
    ip: ClientIp,
) -> ApiResult<(String, String)> {
    let share = public::open_link(state, token, headers, q.grant.as_deref(), ip).await?;
    let face = public::face(state, &share).await?;
    let body = match (face.kind, face.node_kind) {
        (LinkKind::Request, _) => request_card(&face),
        (LinkKind::Download, NodeKind::File) => file_card(token, &face),
        (LinkKind::Download, NodeKind::Folder) => {
            let after = match more.after.as_deref() {
                Some(a) => Some(Cursor::decode(a).ok_or(ApiError::InvalidCursor)?),
                None => None,
            };
            let limit = LISTING_PAGE_MAX as usize;
            let (path, entries, next) =
                links::list(state, &share, &q.path, after.as_ref(), limit).await?;
            folder_card(token, &face, &path, &entries, next.as_ref())
        }
    };
    links::log(state, &share, "page", &q.path, "ok").await;
    Ok((face.name.clone(), body))
}

/// The no-JavaScript password form's body.
#[derive(Debug, Deserialize)]
struct UnlockForm {
    password: String,
}

#[utoipa::path(post, path = "/s/{token}/unlock", tag = "public", params(("token" = String, Path, description = "The link's token")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`password=…`, from the page's form"),
    responses(
        (status = 303, description = "The password is right: the grant cookie is set and the browser goes back to the page"),
        (status = 400, description = "Not a password form (HTML)", content_type = "text/html"),
        (status = 403, description = "The password is wrong: the form again, saying so (HTML)", content_type = "text/html"),
        (status = 404, description = "No such link (HTML)", content_type = "text/html"),
        (status = 410, description = "The link was revoked, expired, or what it shared is gone (HTML)", content_type = "text/html"),
        (status = 429, description = "Too many password attempts: see `Retry-After` (HTML)", content_type = "text/html"),
        (status = 503, description = "Too many password hashes at once: see `Retry-After` (HTML)", content_type = "text/html"),
    ))]
pub async fn unlock_form(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    // The form body is a query string: axum's own parser reads it (no form feature needed).
    let form = std::str::from_utf8(&body)
        .ok()
        .and_then(|b| format!("/?{b}").parse::<Uri>().ok())
        .and_then(|uri| axum::extract::Query::<UnlockForm>::try_from_uri(&uri).ok());
    let Some(axum::extract::Query(form)) = form else {
        return error_page(ApiError::NotAForm);
    };
    let secure = public::https(&state, &headers);
    match grant_cookie(&state, &token, &form.password, ip, secure).await {
        Ok(cookie) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            let back = HeaderValue::from_str(&format!("/s/{token}"))
                .expect("a resolved token is base64url");
            r.headers_mut().insert(header::LOCATION, back);
            r.headers_mut().insert(header::SET_COOKIE, cookie);
            r
        }
        Err(ApiError::WrongPassword) => html(
            StatusCode::FORBIDDEN,
            "Protected link",
            &lock(&token, Some("That password is not right.")),
        ),
        Err(e) => error_page(e),
    }
}

/// Checks the password (spending an attempt from the link's and the address's limits) and
/// answers the cookie that carries a fresh grant.
async fn grant_cookie(
    state: &AppState,
    token: &str,
    password: &str,
    ip: ClientIp,
    secure: bool,
) -> ApiResult<HeaderValue> {
    let share = links::resolve(state, token, ip).await?;
    if let Some(stored) = share.link.password_hash.clone() {
        links::password_matches(state, &share, password, &stored).await?;
    }
    links::log(state, &share, "unlock", "", "ok").await;
    let expires_at = state.clock.now_ms() + grant::TTL.as_millis() as i64;
    Ok(public::grant_cookie(
        &share,
        &grant::mint(&share.link, expires_at),
        secure,
    ))
}

// ---- the page's parts ----------------------------------------------------------------------

/// `s` safe inside HTML text and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A size as people read it, in binary units like the app (`format.js`).
pub fn size_text(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    match i {
        0 => format!("{n} B"),
        _ if v < 10.0 => format!("{v:.1} {}", UNITS[i]),
        _ => format!("{v:.0} {}", UNITS[i]),
    }
}

/// `YYYY-MM-DD HH:MM UTC` of a millisecond timestamp (no script to say it in local time).
pub fn when(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        civil_date(ms),
        secs / 3600,
        (secs % 3600) / 60
    )
}

fn facts(pairs: &[(&str, Option<String>)]) -> String {
    let mut out = String::from(r#"<dl class="facts">"#);
    for (k, v) in pairs {
        if let Some(v) = v {
            out.push_str(&format!(
                "<div><dt>{}</dt><dd>{}</dd></div>",
                esc(k),
                esc(v)
            ));
        }
    }
    out.push_str("</dl>");
    out
}

fn link_facts(face: &PublicShare) -> [(&'static str, Option<String>); 2] {
    [
        ("Shared by", Some(face.shared_by.clone())),
        (
            "Expires",
            Some(face.expires_at.map_or_else(|| "never".to_owned(), when)),
        ),
    ]
}

fn file_card(token: &str, face: &PublicShare) -> String {
    let mut pairs = vec![
        ("Size", Some(size_text(face.size))),
        ("Type", face.content_type.clone()),
        ("Modified", Some(when(face.modified_at))),
    ];
    pairs.extend(link_facts(face));
    pairs.push((
        "Downloads left",
        face.downloads_left
            .zip(face.max_downloads)
            .map(|(left, max)| format!("{left} of {max}")),
    ));
    let url = download_url(token, "");
    let mut out = format!(
        r#"<section class="share-card"><h1 class="share-name">{}</h1>{}<div class="row wrap share-actions"><a class="button" id="share-plain" href="{url}">Download ({})</a></div>"#,
        esc(&face.name),
        facts(&pairs),
        size_text(face.size),
    );
    // An image shows in the page; other previews need the script (and a limited link shows
    // none unasked: a preview's bytes count against the limit).
    let image = face
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("image/"));
    if image && face.max_downloads.is_none() {
        out.push_str(&format!(
            r#"<div class="preview image"><img class="preview-media image" src="{url}?inline=1" alt="{}"></div>"#,
            esc(&face.name)
        ));
    }
    out.push_str("</section>");
    out
}

fn folder_card(
    token: &str,
    face: &PublicShare,
    path: &str,
    entries: &[PublicEntry],
    next: Option<&Cursor>,
) -> String {
    let mut out = format!(
        r#"<section class="share-card"><h1 class="share-name">{}</h1>{}"#,
        esc(&face.name),
        facts(&link_facts(face))
    );
    // Breadcrumbs: the shared folder, then each folder down to this one.
    out.push_str(r#"<nav class="crumbs" aria-label="Folder path">"#);
    let here = format!("/s/{token}");
    out.push_str(&format!(r#"<a href="{here}">{}</a>"#, esc(&face.name)));
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for i in 0..parts.len() {
        let to = parts[..=i].join("/");
        out.push_str(&format!(
            r#"<span class="sep">/</span><a href="{here}?path={}">{}</a>"#,
            url_path(&to),
            esc(parts[i])
        ));
    }
    out.push_str("</nav>");
    out.push_str(&format!(
        r#"<div class="row wrap share-actions"><a class="button secondary" href="/s/{token}/download">Download all (zip)</a></div>"#
    ));
    if entries.is_empty() {
        out.push_str(r#"<p class="empty">This folder is empty.</p></section>"#);
        return out;
    }
    out.push_str(r#"<table class="files share-files"><thead><tr><th scope="col">Name</th><th scope="col" class="num">Size</th><th scope="col" class="when">Modified</th></tr></thead><tbody>"#);
    // In the listing's order (folders first, then files, by name), which pages follow.
    for e in entries {
        let (href, name, size) = match e.kind {
            NodeKind::Folder => (
                format!("{here}?path={}", url_path(&e.path)),
                format!("{}/", e.name),
                String::new(),
            ),
            NodeKind::File => (
                download_url(token, &e.path),
                e.name.clone(),
                size_text(e.size),
            ),
        };
        out.push_str(&format!(
            r#"<tr><td class="name"><span class="icon {}" aria-hidden="true"></span><a href="{href}">{}</a></td><td class="num">{size}</td><td class="when">{}</td></tr>"#,
            if e.kind == NodeKind::Folder { "folder" } else { "file" },
            esc(&name),
            when(e.modified_at)
        ));
    }
    out.push_str("</tbody></table>");
    if let Some(c) = next {
        let at = if path.is_empty() {
            String::new()
        } else {
            format!("path={}&amp;", url_path(path))
        };
        out.push_str(&format!(
            r#"<p class="share-more"><a id="share-more" href="{here}?{at}after={}">Next page of this folder</a></p>"#,
            url_path(&c.encode())
        ));
    }
    out.push_str("</section>");
    out
}

fn request_card(face: &PublicShare) -> String {
    let pairs = [
        ("Deadline", face.expires_at.map(when)),
        ("Room left", face.bytes_left.map(size_text)),
    ];
    format!(
        r#"<section class="share-card drop"><h1 class="share-name">Send files to {}</h1><p>What you send goes into their folder “{}”. You cannot see what is in it.</p>{}<p class="hint">Sending files needs JavaScript: turn it on for this page to choose or drop files.</p></section>"#,
        esc(&face.shared_by),
        esc(&face.name),
        facts(&pairs)
    )
}

fn lock(token: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!(r#"<p class="dialog-error" role="alert">{}</p>"#, esc(e))
    });
    format!(
        r#"<form class="card share-lock" method="post" action="/s/{token}/unlock"><h1>This link is protected</h1><p>Type the password you were given with the link.</p><label><span>Password</span><input type="password" name="password" autocomplete="current-password" required autofocus></label>{error}<div class="row"><button type="submit">Open</button></div></form>"#
    )
}

/// What a refused request shows: a sentence, with the status (and `Retry-After`) of the API's
/// own answer for the same error.
fn error_page(e: ApiError) -> Response {
    let (title, text) = match &e {
        ApiError::NotFound(_) => (
            "No such link",
            "There is nothing here: the link is wrong, or this item was moved or deleted.",
        ),
        ApiError::LinkGone(_) => (
            "This link does not work",
            "It expired, was revoked, or what it shared was deleted.",
        ),
        ApiError::RequestClosed(_) => ("This file request is closed", "Its deadline has passed."),
        ApiError::RateLimited(_) | ApiError::Backoff(_) => (
            "Too many requests",
            "Too many tries in a short time. Wait a minute and try again.",
        ),
        ApiError::NotAForm => ("Bad request", "That was not a form this page sends."),
        ApiError::InvalidCursor => (
            "Bad request",
            "That page of the folder does not exist: open the folder from its link again.",
        ),
        _ => (
            "Something went wrong",
            "The server could not show this link. Try again later.",
        ),
    };
    let api = e.into_response();
    let body = format!(
        r#"<section class="card share-gone"><h1>{}</h1><p id="share-gone">{}</p></section>"#,
        esc(title),
        esc(text)
    );
    let mut r = html(api.status(), title, &body);
    if let Some(retry) = api.headers().get(header::RETRY_AFTER) {
        r.headers_mut().insert(header::RETRY_AFTER, retry.clone());
    }
    r
}

/// The whole document around `body`.
fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let doc = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>{} — shared with Cairn</title>
<link rel="icon" href="/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
<link rel="stylesheet" href="/share.css">
<script type="module" src="/js/share.js"></script>
</head>
<body class="share-page">
<main id="share" class="share-main">
<p class="share-brand"><img src="/icon.svg" alt="" width="20" height="20"> <span>Cairn</span></p>
{body}
</main>
</body>
</html>
"#,
        esc(title)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        doc,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        assert_eq!(
            esc(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn sizes_and_times() {
        for (n, text) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (10 * 1024 * 1024, "10 MiB"),
            (1 << 40, "1.0 TiB"),
        ] {
            assert_eq!(size_text(n), text);
        }
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_764_892_980_000), "2025-12-05 00:03 UTC");
    }
}
