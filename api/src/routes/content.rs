//! `GET /api/v1/nodes/{id}/content`: a whole file streamed by the API from the chunk store, for
//! curl and share links, with single-range requests (206/416) and a Content-Disposition whose
//! filename cannot break out of the header (RFC 6266 `filename*`, ASCII fallback).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sqlx::Row as _;
use wire::{ChunkRef, NodeKind};

use crate::auth::Auth;
use crate::db::chunks;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::routes::tree::visible_node;
use crate::state::AppState;

/// Chunks fetched ahead of the one being sent.
const READ_AHEAD: usize = 4;

#[utoipa::path(get, path = "/api/v1/nodes/{id}/content", tag = "files", security(("bearer" = [])), params(("id" = i64, Path, description = "A node id")), responses((status = 200, description = "The whole file", content_type = "application/octet-stream"), (status = 206, description = "The requested range"), (status = 416, description = "Range not satisfiable", body = wire::ErrorBody), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn content(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let node = visible_node(&state, &c, id).await?;
    let version_id = match (node.kind, node.version_id) {
        (NodeKind::File, Some(v)) => v,
        _ => return Err(ApiError::BadRequest("only files have content".into())),
    };
    let row = sqlx::query("SELECT size, content_hash FROM versions WHERE id = $1")
        .bind(version_id)
        .fetch_one(&state.db.pool)
        .await?;
    let size = row.get::<i64, _>(0) as u64;
    let content_hash: String = row.get(1);
    let list = chunks::version_chunks(&state.db.pool, version_id).await?;

    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(spec) => match parse_range(spec, size) {
            RangeAnswer::Whole => None,
            RangeAnswer::Part(a, b) => Some((a, b)),
            RangeAnswer::Unsatisfiable => {
                let mut r = ApiError::RangeNotSatisfiable.into_response();
                r.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
                );
                return Ok(r);
            }
        },
    };
    let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
    let len = if size == 0 { 0 } else { end - start + 1 };
    let pieces = slices(&list, start, len);

    let reader = state.clone();
    let body = futures::stream::iter(pieces)
        .map(move |(c, off, n)| {
            let state = reader.clone();
            async move {
                let whole = off == 0 && n == c.size as u64;
                let bytes = state
                    .blobs
                    .read(&c.hash, (!whole).then_some((off, n)))
                    .await?;
                if bytes.len() as u64 != n {
                    return Err(std::io::Error::other("a stored chunk has the wrong size"));
                }
                Ok::<_, std::io::Error>(bytes)
            }
        })
        .buffered(READ_AHEAD)
        .inspect(move |r| {
            if let Err(e) = r {
                tracing::error!(node_id = id, error = %e, "streaming a file failed midway");
            }
        });

    let mut r = Response::new(Body::from_stream(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{content_hash}\"")).expect("hex"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(&node.name)).expect("encoded to ascii"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Some((a, b)) = range {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        r.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {a}-{b}/{size}")).expect("ascii"),
        );
    }
    Ok(r)
}

/// The pieces of the chunk list covering `len` bytes from `start`: (chunk, offset in it, length).
fn slices(list: &[ChunkRef], start: u64, len: u64) -> Vec<(ChunkRef, u64, u64)> {
    let end = start + len;
    list.iter()
        .filter(|c| c.offset < end && c.offset + c.size as u64 > start)
        .map(|c| {
            let from = start.max(c.offset);
            let to = end.min(c.offset + c.size as u64);
            (*c, from - c.offset, to - from)
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
enum RangeAnswer {
    /// No usable single range (malformed, several ranges, other units): send everything.
    Whole,
    /// Inclusive first and last byte.
    Part(u64, u64),
    Unsatisfiable,
}

/// Parses a `Range` header for a resource of `size` bytes (RFC 9110 §14.1.2): one range only.
fn parse_range(spec: &str, size: u64) -> RangeAnswer {
    let Some(set) = spec.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole;
    };
    if set.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((a, b)) = set.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.trim().is_empty(), num(a), num(b)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(size.saturating_sub(n), size - 1)
            }
        }
        (false, Some(first), last) if b.trim().is_empty() || last.is_some() => {
            if first >= size {
                return RangeAnswer::Unsatisfiable;
            }
            match last {
                Some(l) if l < first => RangeAnswer::Whole,
                Some(l) => RangeAnswer::Part(first, l.min(size - 1)),
                None => RangeAnswer::Part(first, size - 1),
            }
        }
        _ => RangeAnswer::Whole,
    }
}

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` — quotes,
/// backslashes, control and non-ASCII characters never reach the quoted form.
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        // RFC 5987 attr-char.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        for (spec, size, want) in [
            ("bytes=0-9", 100, Part(0, 9)),
            ("bytes=90-", 100, Part(90, 99)),
            ("bytes=-10", 100, Part(90, 99)),
            ("bytes=-500", 100, Part(0, 99)),
            ("bytes=50-500", 100, Part(50, 99)),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=100-200", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-0", 0, Unsatisfiable),
            ("bytes=5-2", 100, Whole),
            ("bytes=0-1,5-6", 100, Whole),
            ("items=0-1", 100, Whole),
            ("bytes=a-b", 100, Whole),
            ("bytes=+1-2", 100, Whole),
            ("bytes=-", 100, Whole),
        ] {
            assert_eq!(parse_range(spec, size), want, "{spec}");
        }
    }

    #[test]
    fn dispositions_stay_inside_their_header() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        let d = content_disposition("a\"b\\c\r\nSet-Cookie: x; é.txt");
        assert!(HeaderValue::from_str(&d).is_ok());
        assert!(!d.contains('\r') && !d.contains('\n'));
        assert!(d.starts_with("attachment; filename=\"a_b_c__Set-Cookie: x; _.txt\"; "));
        assert!(d.ends_with("filename*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x%3B%20%C3%A9.txt"));
    }

    #[test]
    fn slices_cover_exactly_the_range() {
        let h = wire::Hash([0; 32]);
        let list = [
            ChunkRef {
                hash: h,
                offset: 0,
                size: 10,
            },
            ChunkRef {
                hash: h,
                offset: 10,
                size: 10,
            },
            ChunkRef {
                hash: h,
                offset: 20,
                size: 5,
            },
        ];
        let got: Vec<(u64, u64, u64)> = slices(&list, 5, 17)
            .into_iter()
            .map(|(c, o, n)| (c.offset, o, n))
            .collect();
        assert_eq!(got, vec![(0, 5, 5), (10, 0, 10), (20, 0, 2)]);
        assert_eq!(slices(&list, 0, 25).len(), 3);
    }
}
