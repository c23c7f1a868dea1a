//! The real `cairn` binary's logs as a collector reads them: with `--log-format json` every line
//! is one JSON object, and what is logged while answering a request carries that request's id
//! (the client's `x-request-id`, or the one the server made and sent back).

use serde_json::Value;

use crate::binary::Served;

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        &[
            "--log-format",
            "json",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        // The per-request line is at debug level, under the middleware's module.
        &[("RUST_LOG", "info,sqlx=warn,api::routes::ops=debug")],
    )
    .unwrap();
    // Everything before it listened is a log line, and JSON.
    assert!(!served.before.is_empty());
    for line in &served.before {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", served.base))
        .header("x-request-id", "json-log-test-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "json-log-test-7");
    let answered = loop {
        let line = served.next_line();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["span"]["request_id"] == "json-log-test-7" {
            break v;
        }
    };
    assert_eq!(answered["span"]["route"], "/healthz", "{answered}");
    assert_eq!(answered["fields"]["status"], 200, "{answered}");
    assert_eq!(answered["fields"]["message"], "answered", "{answered}");
}
