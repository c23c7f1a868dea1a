//! The `Range` header of a GET (RFC 9110 §14.1.2), one range only: several ranges are answered
//! with the whole file, as the RFC allows, so no multipart body is ever built.

/// What a `Range` header asks of a resource of a known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable single range (malformed, several ranges, other units): send everything.
    Whole,
    /// Inclusive first and last byte.
    Part(u64, u64),
    /// Answer 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Parses a `Range` header for a resource of `size` bytes.
pub fn parse_range(spec: &str, size: u64) -> RangeAnswer {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str, size: u64, want: RangeAnswer) {
        assert_eq!(parse_range(spec, size), want, "{spec} of {size}");
    }

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        for (spec, size, want) in [
            ("bytes=0-9", 100, Part(0, 9)),
            ("bytes=90-", 100, Part(90, 99)),
            ("bytes=-10", 100, Part(90, 99)),
            ("bytes=-500", 100, Part(0, 99)),
            ("bytes=50-500", 100, Part(50, 99)),
            ("bytes=99-99", 100, Part(99, 99)),
            (" bytes= 1 - 2 ", 100, Part(1, 2)),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=100-200", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-0", 0, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=5-2", 100, Whole),
            ("bytes=0-1,5-6", 100, Whole),
            ("items=0-1", 100, Whole),
            ("Bytes=0-1", 100, Whole),
            ("bytes=a-b", 100, Whole),
            ("bytes=+1-2", 100, Whole),
            ("bytes=1--2", 100, Whole),
            ("bytes=-", 100, Whole),
            ("bytes=", 100, Whole),
            ("", 100, Whole),
            // Past u64: not a number we can serve, so the whole file.
            ("bytes=99999999999999999999-", 100, Whole),
            ("bytes=0-99999999999999999999", 100, Whole),
            ("bytes=-99999999999999999999", 100, Whole),
            (
                "bytes=5368709120-",
                6 << 30,
                Part(5 << 30, (6u64 << 30) - 1),
            ),
        ] {
            check(spec, size, want);
        }
    }
}
