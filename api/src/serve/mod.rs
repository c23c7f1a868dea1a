//! Serving file bytes over plain HTTP, for the owner's content route and for share links:
//! a file assembled from its chunk list, every chunk's BLAKE3 checked as it streams
//! ([`stream`]), with the headers download tools rely on — `Content-Length`, a strong `ETag`
//! (the content hash), `Last-Modified`, `Accept-Ranges`, one `Range` (206/416), `If-Range`,
//! `If-None-Match`/`If-Modified-Since` (304) and an RFC 6266 `Content-Disposition`
//! ([`disposition`]) — and streamed ZIPs of many files ([`zip`]).
//!
//! Architecture invariant: nothing here knows links, users or SQL. What may be sent is decided
//! by the caller; how much of it is decided by an optional [`Meter`], asked before every piece.

pub mod conditional;
pub mod disposition;
pub mod range;
pub mod stream;
pub mod zip;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use wire::ChunkRef;

pub use conditional::Validators;
pub use disposition::{content_disposition, Disposition};
pub use range::{parse_range, RangeAnswer};
pub use stream::{ChunkReader, Meter, ServeError};

use crate::error::{ApiError, ApiResult};

/// One file version, as much as serving it needs.
#[derive(Debug, Clone)]
pub struct FileBytes {
    pub version_id: i64,
    pub name: String,
    pub size: u64,
    pub content_hash: String,
    /// Milliseconds since the epoch.
    pub modified_at: i64,
    pub chunks: Vec<ChunkRef>,
}

/// How the answer presents the bytes.
#[derive(Debug, Clone)]
pub struct Look {
    pub disposition: Disposition,
    pub content_type: HeaderValue,
    pub cache_control: HeaderValue,
    /// `Content-Security-Policy: sandbox`: a preview opened from a link runs no script and
    /// gets a unique origin, whatever the file holds.
    pub sandbox: bool,
}

impl Look {
    /// A download: `application/octet-stream`, attachment.
    pub fn download(cache_control: &'static str) -> Look {
        Look {
            disposition: Disposition::Attachment,
            content_type: HeaderValue::from_static("application/octet-stream"),
            cache_control: HeaderValue::from_static(cache_control),
            sandbox: false,
        }
    }
}

/// The answer to a GET or HEAD of `file`: 200, 206, 304 or 416, the body metered by `meter`.
pub async fn file(
    reader: Arc<dyn ChunkReader>,
    file: &FileBytes,
    look: &Look,
    method: &Method,
    headers: &HeaderMap,
    meter: Option<Arc<dyn Meter>>,
) -> ApiResult<Response> {
    let size = file.size;
    let v = Validators::new(&file.content_hash, file.modified_at);
    let mut r = if v.not_modified(headers) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
            Some(spec) if v.range_allowed(headers) => parse_range(spec, size),
            _ => RangeAnswer::Whole,
        };
        let (start, len) = match range {
            RangeAnswer::Whole => (0, size),
            RangeAnswer::Part(a, b) => (a, b - a + 1),
            RangeAnswer::Unsatisfiable => {
                let mut r = ApiError::RangeNotSatisfiable.into_response();
                r.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
                );
                return Ok(r);
            }
        };
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            let pieces = stream::pieces(&file.chunks, start, len);
            let content = stream::file_content(reader, file.version_id, size, pieces);
            let s = stream::metered(content, meter.clone());
            let primed = stream::prime(s)
                .await
                .map_err(|e| stream::start_error(e, meter.as_ref(), "file", file.version_id))?;
            Body::from_stream(primed.into_stream("file", file.version_id))
        };
        let mut r = Response::new(body);
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, look.content_type.clone());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        h.insert(
            header::CONTENT_DISPOSITION,
            content_disposition(look.disposition, &file.name),
        );
        if look.sandbox {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            );
        }
        if let RangeAnswer::Part(a, b) = range {
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {a}-{b}/{size}")).expect("ascii"),
            );
        }
        r
    };
    let h = r.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&v.etag).expect("a hex hash in quotes"),
    );
    h.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&v.last_modified()).expect("an HTTP date"),
    );
    h.insert(header::CACHE_CONTROL, look.cache_control.clone());
    Ok(r)
}
