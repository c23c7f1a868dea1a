//! Security headers on every answer, whoever made it (a handler, an error, the static app, a
//! timeout): a Content-Security-Policy that lets the app shell run and nothing else, no MIME
//! sniffing, no referrer, no framing, and — on everything that is not a file of the static web
//! app — `Cache-Control: no-store`, because API answers carry tokens, signed URLs and private
//! data that must not sit in a browser's or a proxy's cache.
//!
//! The policy, directive by directive, follows what `www/` does: modules and the WASM core
//! from our origin (`'wasm-unsafe-eval'` is what `WebAssembly.instantiate` needs, and allows
//! no JS `eval`); workers from our origin or `blob:` (the bench page hashes in a blob worker);
//! styles only from `style.css` (no inline styles anywhere); images also as `data:` (the icons
//! in `style.css`) and `blob:`; audio, video and frames also as `blob:` (the viewer shows a
//! file's checked bytes from a `blob:` URL it made itself, a PDF in a frame); `fetch` and
//! `EventSource` to our origin and, when chunks live in S3, to the bucket's origin, where the
//! signed URLs point.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The headers every answer gets; built once from the settings.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    /// Serving HTTPS ourselves: browsers are told to come back over HTTPS only.
    hsts: bool,
}

/// `Referrer-Policy: no-referrer`: the app's URLs carry nothing a third party should see, and
/// it links nowhere that needs to know where a visitor came from.
const REFERRER_POLICY: &str = "no-referrer";
const NOSNIFF: &str = "nosniff";
/// The old spelling of `frame-ancestors 'none'`, for browsers that predate CSP 2.
const FRAME_OPTIONS: &str = "DENY";
/// Another origin's window that opens us (or that we open) gets no handle on our window.
const OPENER_POLICY: &str = "same-origin";
const NO_STORE: &str = "no-store";
/// A year, and no `includeSubDomains`: other hosts of the domain are the operator's to decide.
const HSTS: &str = "max-age=31536000";

impl SecurityHeaders {
    /// `chunk_origin` is where signed chunk URLs point when that is not our own origin (the S3
    /// endpoint, `scheme://host[:port]`); browsers must be allowed to `fetch` it.
    /// `tls`: this server terminates TLS itself (behind a proxy, the proxy sends HSTS).
    pub fn new(chunk_origin: Option<&str>, tls: bool) -> SecurityHeaders {
        let csp = content_security_policy(chunk_origin);
        SecurityHeaders {
            csp: HeaderValue::from_str(&csp).expect("the policy is ASCII without control bytes"),
            hsts: tls,
        }
    }
}

/// The policy text. `chunk_origin` must be a bare origin (checked by [`origin_of`]).
pub fn content_security_policy(chunk_origin: Option<&str>) -> String {
    let connect = match chunk_origin {
        Some(o) => format!("'self' {o}"),
        None => "'self'".to_owned(),
    };
    [
        "default-src 'self'".to_owned(),
        "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
        "worker-src 'self' blob:".to_owned(),
        "style-src 'self'".to_owned(),
        "img-src 'self' data: blob:".to_owned(),
        "media-src 'self' blob:".to_owned(),
        "frame-src 'self' blob:".to_owned(),
        format!("connect-src {connect}"),
        "object-src 'none'".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL, or `None` for a relative one
/// (the local store's `/blobs/…`, served on our own origin) or anything that could not be
/// written into a policy safely.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    // No userinfo, nothing a policy would read as a separator or a quote.
    let ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    ok.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

fn set_if_absent(response: &mut Response, name: HeaderName, value: HeaderValue) {
    response.headers_mut().entry(name).or_insert(value);
}

/// The outermost layer: every answer, from every route, the static app and every error.
pub async fn secure(
    State(h): State<Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let public = is_public(request.uri().path());
    let mut response = next.run(request).await;
    // A route may send a stricter policy of its own (a share link's inline preview).
    set_if_absent(
        &mut response,
        header::CONTENT_SECURITY_POLICY,
        h.csp.clone(),
    );
    // A share link's inline preview may be framed by the share page itself, and says so.
    set_if_absent(
        &mut response,
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static(FRAME_OPTIONS),
    );
    if public {
        response.headers_mut().insert(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex, nofollow"),
        );
    }
    let headers = response.headers_mut();
    if h.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, NOSNIFF),
        (header::REFERRER_POLICY, REFERRER_POLICY),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            OPENER_POLICY,
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Whether `path` is one of a share link's public routes (its page, bytes or JSON API), which
/// search engines must not index whoever links to them.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/s/") || path.starts_with("/api/v1/public/")
}

/// Applied to the routed part of the server (every API, blob and operations endpoint, not the
/// static app): `no-store` unless the handler chose its own caching, as listings and content
/// do (`private, no-cache`, to revalidate by ETag) and chunk GETs (`private, immutable`: a
/// content-addressed chunk behind a URL that expires).
pub async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_if_absent(
        &mut response,
        header::CACHE_CONTROL,
        HeaderValue::from_static(NO_STORE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_signed_urls() {
        for (url, want) in [
            (
                "http://127.0.0.1:3900/cairn/chunks/ab?X-Amz-Signature=1",
                Some("http://127.0.0.1:3900"),
            ),
            (
                "https://Bucket.s3.us-east-1.amazonaws.com/chunks/x",
                Some("https://bucket.s3.us-east-1.amazonaws.com"),
            ),
            ("https://[::1]:9000?x", Some("https://[::1]:9000")),
            ("/blobs/chunks/ab?sig=1", None),
            ("ftp://h/x", None),
            ("https://user:pw@h/x", None),
            ("https://h;script-src *", None),
            ("https:///x", None),
        ] {
            assert_eq!(origin_of(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn the_policy_allows_the_chunk_origin_only_for_connections() {
        let p = content_security_policy(Some("http://127.0.0.1:3900"));
        assert!(
            p.contains("connect-src 'self' http://127.0.0.1:3900;"),
            "{p}"
        );
        assert_eq!(p.matches("127.0.0.1:3900").count(), 1, "{p}");
        assert!(p.contains("frame-ancestors 'none'"), "{p}");
        // The viewer's blob: URLs, and nothing wider.
        assert!(p.contains("media-src 'self' blob:;"), "{p}");
        assert!(p.contains("frame-src 'self' blob:;"), "{p}");
        assert!(p.contains("object-src 'none'"), "{p}");
        let local = content_security_policy(None);
        assert!(local.contains("connect-src 'self';"), "{local}");
        assert!(!local.contains("unsafe-inline") && !local.contains("'unsafe-eval'"));
    }
}
