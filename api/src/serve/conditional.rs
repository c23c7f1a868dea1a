//! Conditional GETs (RFC 9110 §13): `If-None-Match` / `If-Modified-Since` answer 304 to a
//! client whose copy is current, and `If-Range` keeps a resumed download from splicing bytes
//! of two different versions (a range is served only when the client's validator still
//! matches; otherwise the whole file). Validators: the strong ETag `"<content_hash>"` and the
//! version's time, to the second.

use std::time::{Duration, UNIX_EPOCH};

use axum::http::{header, HeaderMap};

/// The validators of one representation.
#[derive(Debug, Clone)]
pub struct Validators {
    /// With its quotes.
    pub etag: String,
    /// Seconds since the epoch (HTTP dates have no finer grain).
    pub modified_secs: u64,
}

impl Validators {
    pub fn new(content_hash: &str, modified_at_ms: i64) -> Validators {
        Validators {
            etag: format!("\"{content_hash}\""),
            modified_secs: (modified_at_ms.max(0) / 1000) as u64,
        }
    }

    /// The `Last-Modified` value.
    pub fn last_modified(&self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(self.modified_secs))
    }

    /// Whether a GET with these headers is answered `304 Not Modified`.
    pub fn not_modified(&self, headers: &HeaderMap) -> bool {
        if let Some(v) = headers.get(header::IF_NONE_MATCH) {
            // When present it alone decides (§13.2.2); weak comparison.
            let Ok(list) = v.to_str() else {
                return false;
            };
            return list
                .split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == self.etag);
        }
        match headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(secs_of)
        {
            Some(since) => self.modified_secs <= since,
            None => false,
        }
    }

    /// Whether a `Range` may be honoured: no `If-Range`, or one that matches (strongly: an
    /// exact ETag, or exactly our date).
    pub fn range_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(v) = headers.get(header::IF_RANGE) else {
            return true;
        };
        let Ok(v) = v.to_str() else {
            return false;
        };
        let v = v.trim();
        if v.starts_with('"') || v.starts_with("W/") {
            return v == self.etag;
        }
        secs_of(v) == Some(self.modified_secs)
    }
}

fn secs_of(date: &str) -> Option<u64> {
    httpdate::parse_http_date(date.trim())
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const HASH: &str = "ab12";
    // 2024-01-02T03:04:05.678Z
    const AT: i64 = 1_704_164_645_678;

    #[test]
    fn dates_are_http_dates_to_the_second() {
        let v = Validators::new(HASH, AT);
        assert_eq!(v.last_modified(), "Tue, 02 Jan 2024 03:04:05 GMT");
        assert_eq!(v.etag, "\"ab12\"");
    }

    #[test]
    fn if_none_match_decides_alone() {
        let v = Validators::new(HASH, AT);
        for (h, want) in [
            (vec![(header::IF_NONE_MATCH, "\"ab12\"")], true),
            (vec![(header::IF_NONE_MATCH, "W/\"ab12\"")], true),
            (vec![(header::IF_NONE_MATCH, "\"x\", \"ab12\"")], true),
            (vec![(header::IF_NONE_MATCH, "*")], true),
            (vec![(header::IF_NONE_MATCH, "\"ab1\"")], false),
            (vec![(header::IF_NONE_MATCH, "ab12")], false),
            // A stale tag wins over a date that would say "current".
            (
                vec![
                    (header::IF_NONE_MATCH, "\"old\""),
                    (header::IF_MODIFIED_SINCE, "Tue, 02 Jan 2024 03:04:05 GMT"),
                ],
                false,
            ),
            (
                vec![(header::IF_MODIFIED_SINCE, "Tue, 02 Jan 2024 03:04:05 GMT")],
                true,
            ),
            (
                vec![(header::IF_MODIFIED_SINCE, "Tue, 02 Jan 2024 03:04:04 GMT")],
                false,
            ),
            (vec![(header::IF_MODIFIED_SINCE, "yesterday")], false),
            (vec![], false),
        ] {
            assert_eq!(v.not_modified(&headers(&h)), want, "{h:?}");
        }
    }

    #[test]
    fn if_range_needs_a_strong_match() {
        let v = Validators::new(HASH, AT);
        for (h, want) in [
            ("\"ab12\"", true),
            ("W/\"ab12\"", false),
            ("\"other\"", false),
            ("Tue, 02 Jan 2024 03:04:05 GMT", true),
            ("Tue, 02 Jan 2024 03:04:06 GMT", false),
            ("garbage", false),
        ] {
            assert_eq!(
                v.range_allowed(&headers(&[(header::IF_RANGE, h)])),
                want,
                "{h}"
            );
        }
        assert!(v.range_allowed(&HeaderMap::new()));
    }
}
