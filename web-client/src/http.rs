//! `fetch` from Rust, in windows and workers alike, with the API's JSON errors turned into JS
//! `Error`s that carry `status` and `code`, so the UI can show a clear message.

use js_sys::{Promise, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCache, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(req: &Request) -> Promise;
}

/// A failure the UI can explain: HTTP status (0 for network errors) and the API's code.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn network(e: JsValue) -> Failure {
        let name = Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        if name == "AbortError" {
            return Failure::local("aborted", "stopped");
        }
        let message = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}"));
        Failure {
            status: 0,
            code: "network".into(),
            message,
        }
    }

    pub fn local(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            status: 0,
            code: code.into(),
            message: message.into(),
        }
    }

    /// Worth another try (`client_core::retry`).
    pub fn retryable(&self) -> bool {
        client_core::retry::retryable(self.status, &self.code)
    }
}

impl From<Failure> for JsValue {
    fn from(f: Failure) -> JsValue {
        let err = js_sys::Error::new(&f.message);
        let _ = Reflect::set(&err, &"status".into(), &f.status.into());
        let _ = Reflect::set(&err, &"code".into(), &f.code.into());
        err.into()
    }
}

pub enum Body<'a> {
    None,
    Json(String),
    Blob(&'a web_sys::Blob),
}

pub async fn send(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Body<'_>,
) -> Result<Response, Failure> {
    send_with(method, url, token, body, None).await
}

/// `send` that a JS `AbortSignal` can stop (pause and cancel of uploads).
pub async fn send_with(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Body<'_>,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<Response, Failure> {
    request(method, url, token, body, signal, Held::Nothing, &[]).await
}

/// `send` with headers of the caller's own (a `Range`, a share link's grant).
pub async fn send_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Body<'_>,
) -> Result<Response, Failure> {
    request(method, url, None, body, None, Held::Nothing, headers).await
}

/// What the caller of a GET already holds of what it asks for.
#[derive(Clone, Copy)]
pub enum Held<'a> {
    /// Nothing: the browser's HTTP cache answers as it sees fit.
    Nothing,
    /// A copy with this ETag: it goes as `If-None-Match`, and a 304 reaches the caller.
    Tag(&'a str),
    /// Nothing worth revalidating: the body comes from the server, never from the browser's
    /// HTTP cache (whose copy a 304 would confirm even where the ETag does not cover all that
    /// changed).
    Stale,
    /// A copy that proved bad (cut short, the wrong hash): the body comes from the server and
    /// replaces what the browser's HTTP cache kept, which a retry would otherwise be handed
    /// again (a chunk is cached as immutable, and Chromium keeps an answer cut in its headers
    /// as a whole, empty one).
    Bad,
}

/// A GET that names the ETag of what the caller already holds: `None` when the server answers
/// 304 (that copy is current and no body was sent). A request carrying its own `If-None-Match`
/// bypasses the browser's HTTP cache, so the 304 reaches us rather than a cached 200.
pub async fn get_unless_match(
    url: &str,
    token: Option<&str>,
    held: Held<'_>,
) -> Result<Option<Response>, Failure> {
    let r = request("GET", url, token, Body::None, None, held, &[]).await?;
    Ok((r.status() != 304).then_some(r))
}

/// A GET without a token whose use of the browser's cache `held` decides (a chunk: `Bad` on
/// a retry), with `headers`.
pub async fn get_held(
    url: &str,
    headers: &[(&str, &str)],
    held: Held<'_>,
) -> Result<Response, Failure> {
    request("GET", url, None, Body::None, None, held, headers).await
}

async fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Body<'_>,
    signal: Option<&web_sys::AbortSignal>,
    held: Held<'_>,
    extra: &[(&str, &str)],
) -> Result<Response, Failure> {
    if signal.is_some_and(|s| s.aborted()) {
        return Err(Failure::local("aborted", "stopped"));
    }
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(s) = signal {
        init.set_signal(Some(s));
    }
    match held {
        Held::Stale => init.set_cache(RequestCache::NoStore),
        Held::Bad => init.set_cache(RequestCache::Reload),
        Held::Nothing | Held::Tag(_) => {}
    }
    match &body {
        Body::None => {}
        Body::Json(s) => init.set_body(&JsValue::from_str(s)),
        Body::Blob(b) => init.set_body(b),
    }
    let req = Request::new_with_str_and_init(url, &init).map_err(Failure::network)?;
    let headers = req.headers();
    if let Body::Json(_) = body {
        headers
            .set("content-type", "application/json")
            .map_err(Failure::network)?;
    }
    if let Some(t) = token {
        headers
            .set("authorization", &format!("Bearer {t}"))
            .map_err(Failure::network)?;
    }
    for (name, value) in extra {
        headers.set(name, value).map_err(Failure::network)?;
    }
    if let Held::Tag(tag) = held {
        headers
            .set("if-none-match", tag)
            .map_err(Failure::network)?;
    }
    let resp: Response = JsFuture::from(global_fetch(&req))
        .await
        .map_err(Failure::network)?
        .unchecked_into();
    if resp.ok() || (matches!(held, Held::Tag(_)) && resp.status() == 304) {
        return Ok(resp);
    }
    let status = resp.status();
    // No server answers that: a status line cut short ("HTTP/1.1 2"), which Chromium hands
    // on as it read it. The network failed, so it is worth another try.
    if !(100..=599).contains(&status) {
        return Err(Failure {
            status: 0,
            code: "network".into(),
            message: format!("a broken answer (status {status})"),
        });
    }
    let text = text(&resp).await.unwrap_or_default();
    Err(match serde_json::from_str::<wire::ErrorBody>(&text) {
        Ok(b) => Failure {
            status,
            code: b.error.code,
            message: b.error.message,
        },
        Err(_) => Failure {
            status,
            code: "http".into(),
            message: format!("the server answered {status}"),
        },
    })
}

pub async fn text(resp: &Response) -> Result<String, Failure> {
    let p = resp.text().map_err(Failure::network)?;
    let v = JsFuture::from(p).await.map_err(Failure::network)?;
    Ok(v.as_string().unwrap_or_default())
}

pub async fn bytes(resp: &Response) -> Result<js_sys::Uint8Array, Failure> {
    let p = resp.array_buffer().map_err(Failure::network)?;
    let buf = JsFuture::from(p).await.map_err(Failure::network)?;
    Ok(js_sys::Uint8Array::new(&buf))
}

pub async fn json<T: DeserializeOwned>(resp: Response) -> Result<T, Failure> {
    let t = text(&resp).await?;
    // 204 and friends: no body means JSON null.
    let t = if t.is_empty() { "null".to_owned() } else { t };
    serde_json::from_str(&t).map_err(|e| {
        Failure::local(
            "bad_response",
            format!("unexpected answer from the server: {e}"),
        )
    })
}

pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("wire types serialize")
}

/// A typed value as a plain JS object (not a `Map`, not BigInts; `None` as `null`), built
/// directly by serde-wasm-bindgen rather than through a JSON string.
pub fn to_js<T: Serialize>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        // Only a number past 2^53 fails, which no JS number holds exactly: through JSON it
        // becomes the nearest one, as it always did.
        .unwrap_or_else(|_| js_sys::JSON::parse(&to_json(v)).unwrap_or(JsValue::NULL))
}

/// What the browser believes of the network (`navigator.onLine`), in a window or a worker;
/// true where it cannot tell.
pub fn online() -> bool {
    Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"onLine".into()))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

/// Waits `ms` milliseconds, in a window or a worker.
pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}
