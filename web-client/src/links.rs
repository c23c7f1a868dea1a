//! The owner's side of share links (`/api/v1/links`) as `Client` methods: create, list, edit,
//! revoke, and the access log. Bodies pass through as plain JS objects (the page only draws
//! them), as in `manage.rs`; the paths live here so the page never builds a URL by hand.

use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::client::Client;
use crate::http::{self, Body, Failure};

const LINKS: &str = "/api/v1/links";

impl Client {
    async fn links_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&JsValue>,
    ) -> Result<JsValue, JsValue> {
        let body = match body {
            // The page's object is the request body as it is: JSON.stringify keeps its
            // meaning exactly (an absent field leaves a setting alone, `null` clears it).
            Some(v) => Body::Json(
                js_sys::JSON::stringify(v)
                    .map(String::from)
                    .map_err(Failure::network)?,
            ),
            None => Body::None,
        };
        let r = http::send(method, &self.url(path), self.token.as_deref(), body).await?;
        let v: Value = http::json(r).await?;
        Ok(http::to_js(&v))
    }
}

/// A link id from the page, refused unless it is a plain number or a token-free word, so it
/// can never turn into another path.
fn link_path(id: &str, rest: &str) -> Result<String, Failure> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Failure::local("bad_argument", "not a link id"));
    }
    Ok(format!("{LINKS}/{id}{rest}"))
}

#[wasm_bindgen]
impl Client {
    /// `POST /links` with `{node_id, kind?, expires_at?, password?, max_downloads?,
    /// pin_version?, max_bytes?}`; answers `{link, token, url}` (the only time the token is seen).
    #[wasm_bindgen(js_name = createLink)]
    pub async fn create_link(&self, body: JsValue) -> Result<JsValue, JsValue> {
        self.links_call("POST", LINKS, Some(&body)).await
    }

    /// The caller's links, `{links: [LinkInfo]}`; only those to `node_id` when given.
    pub async fn links(&self, node_id: Option<f64>) -> Result<JsValue, JsValue> {
        let path = match node_id {
            Some(id) => format!("{LINKS}?node_id={}", id as i64),
            None => LINKS.to_owned(),
        };
        self.links_call("GET", &path, None).await
    }

    /// `PATCH /links/{id}`: the fields of `body` that are present change, `null` clears one.
    #[wasm_bindgen(js_name = updateLink)]
    pub async fn update_link(&self, id: String, body: JsValue) -> Result<JsValue, JsValue> {
        self.links_call("PATCH", &link_path(&id, "")?, Some(&body))
            .await
    }

    /// Revokes a link: access stops at once.
    #[wasm_bindgen(js_name = revokeLink)]
    pub async fn revoke_link(&self, id: String) -> Result<JsValue, JsValue> {
        self.links_call("DELETE", &link_path(&id, "")?, None).await
    }

    /// `{entries: [{at, network, action, path, outcome}]}`, newest first as the server sends.
    #[wasm_bindgen(js_name = linkAccess)]
    pub async fn link_access(&self, id: String) -> Result<JsValue, JsValue> {
        self.links_call("GET", &link_path(&id, "/access")?, None)
            .await
    }
}
