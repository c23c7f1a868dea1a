//! When a failed request is worth another try, and how long to wait first: one policy for
//! every call the client makes, so a flaky network and a busy server are treated alike.

/// How many times a request is tried in all.
pub const TRIES: u32 = 5;

/// Worth another try: the network (status 0), or a server that is busy or briefly broken —
/// never a transfer the user stopped (`aborted`).
pub fn retryable(status: u16, code: &str) -> bool {
    code != "aborted" && (status == 0 || status == 429 || status >= 500)
}

/// The wait in ms before try `attempt + 1` after try `attempt` (1-based) failed with a
/// retryable error, or `None` when that was the last try. Backoff 0.2 s × 2ⁿ.
pub fn delay_after(attempt: u32) -> Option<u32> {
    (attempt < TRIES).then(|| 200u32 << (attempt - 1).min(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop() {
        let waits: Vec<_> = (1..=TRIES).map(delay_after).collect();
        assert_eq!(waits, [Some(200), Some(400), Some(800), Some(1600), None]);
        assert!(retryable(0, "network"));
        assert!(retryable(503, "backoff"));
        assert!(retryable(429, "backoff"));
        assert!(!retryable(0, "aborted"));
        assert!(!retryable(404, "not_found"));
    }
}
