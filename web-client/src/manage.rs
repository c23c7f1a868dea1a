//! The tree-management, history, device and change-feed endpoints of the API contract, as
//! `Client` methods. Their bodies are passed through as plain JS objects (the page only draws
//! them); the paths live here so the page never builds a URL by hand.

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use crate::client::Client;
use crate::http::{self, Body, Failure};

const API: &str = "/api/v1";

impl Client {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let url = self.url(&format!("{API}{path}"));
        let body = match body {
            Some(v) => Body::Json(v.to_string()),
            None => Body::None,
        };
        let r = http::send(method, &url, self.token.as_deref(), body).await?;
        http::json(r).await
    }

    async fn call_js(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<JsValue, JsValue> {
        Ok(http::to_js(&self.call(method, path, body).await?))
    }
}

/// `?k=v&…` of the fields of `query` (a JS object) that are set, percent-encoded.
fn query_string(query: &JsValue) -> Result<String, Failure> {
    let q: serde_json::Map<String, Value> = crate::client::from_js(query)?;
    let mut out = String::new();
    for (k, v) in q {
        let v = match v {
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            Value::String(s) => s,
            other => other.to_string(),
        };
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(&String::from(js_sys::encode_uri_component(&k)));
        out.push('=');
        out.push_str(&String::from(js_sys::encode_uri_component(&v)));
    }
    Ok(out)
}

#[wasm_bindgen]
impl Client {
    /// Renames and/or moves a node: `PATCH /nodes/{id}` with `name` and/or `parent_id`. With
    /// `keep_both` a name clash places it as a conflicted copy instead of failing (replays of
    /// offline changes use it; the answer's `name` tells which name it got).
    #[wasm_bindgen(js_name = updateNode)]
    pub async fn update_node(
        &self,
        id: f64,
        name: Option<String>,
        parent_id: Option<f64>,
        keep_both: Option<bool>,
    ) -> Result<JsValue, JsValue> {
        let mut body = serde_json::Map::new();
        if let Some(n) = name {
            body.insert("name".into(), json!(n));
        }
        if let Some(p) = parent_id {
            body.insert("parent_id".into(), json!(p as i64));
        }
        if keep_both == Some(true) {
            body.insert("keep_both".into(), json!(true));
        }
        self.call_js("PATCH", &format!("/nodes/{}", id as i64), Some(body.into()))
            .await
    }

    /// Moves a node (and its subtree) to the trash.
    #[wasm_bindgen(js_name = deleteNode)]
    pub async fn delete_node(&self, id: f64) -> Result<JsValue, JsValue> {
        self.call_js("DELETE", &format!("/nodes/{}", id as i64), None)
            .await
    }

    /// Cancels an unfinished upload: the server gives its reserved bytes back to the quota at
    /// once instead of when the upload would expire.
    #[wasm_bindgen(js_name = cancelUpload)]
    pub async fn cancel_upload(&self, upload_id: String) -> Result<JsValue, JsValue> {
        self.call_js("DELETE", &format!("/uploads/{upload_id}"), None)
            .await
    }

    pub async fn trash(&self) -> Result<JsValue, JsValue> {
        self.call_js("GET", "/trash", None).await
    }

    #[wasm_bindgen(js_name = restoreFromTrash)]
    pub async fn restore_from_trash(&self, id: f64) -> Result<JsValue, JsValue> {
        self.call_js("POST", &format!("/trash/{}/restore", id as i64), None)
            .await
    }

    #[wasm_bindgen(js_name = purgeFromTrash)]
    pub async fn purge_from_trash(&self, id: f64) -> Result<JsValue, JsValue> {
        self.call_js("DELETE", &format!("/trash/{}", id as i64), None)
            .await
    }

    pub async fn versions(&self, id: f64) -> Result<JsValue, JsValue> {
        self.call_js("GET", &format!("/nodes/{}/versions", id as i64), None)
            .await
    }

    #[wasm_bindgen(js_name = restoreVersion)]
    pub async fn restore_version(&self, id: f64, version_id: f64) -> Result<JsValue, JsValue> {
        self.call_js(
            "POST",
            &format!(
                "/nodes/{}/versions/{}/restore",
                id as i64, version_id as i64
            ),
            None,
        )
        .await
    }

    /// `query` is `{q, kind, min_size, max_size, modified_after, modified_before, limit}`,
    /// any of them unset.
    pub async fn search(&self, query: JsValue) -> Result<JsValue, JsValue> {
        let qs = query_string(&query)?;
        self.call_js("GET", &format!("/search{qs}"), None).await
    }

    pub async fn devices(&self) -> Result<JsValue, JsValue> {
        self.call_js("GET", "/devices", None).await
    }

    /// Gives one of the account's devices a name people can tell apart ("Work laptop").
    #[wasm_bindgen(js_name = renameDevice)]
    pub async fn rename_device(&self, id: f64, name: String) -> Result<JsValue, JsValue> {
        let body = serde_json::json!({ "name": name });
        self.call_js("PATCH", &format!("/devices/{}", id as i64), Some(body))
            .await
    }

    /// Changes the account's password; with `sign_out_others`, every other device is signed
    /// out too.
    #[wasm_bindgen(js_name = changePassword)]
    pub async fn change_password(
        &self,
        current: String,
        new_password: String,
        sign_out_others: bool,
    ) -> Result<JsValue, JsValue> {
        let body = serde_json::json!({
            "current_password": current,
            "new_password": new_password,
            "sign_out_other_devices": sign_out_others,
        });
        self.call_js("POST", "/account/password", Some(body)).await
    }

    /// Deletes the account for good (its password and its username typed again); answers what
    /// went (`{nodes, versions, links, shared_folders, memberships, devices}`).
    #[wasm_bindgen(js_name = deleteAccount)]
    pub async fn delete_account(
        &self,
        password: String,
        confirm_username: String,
    ) -> Result<JsValue, JsValue> {
        let body = serde_json::json!({
            "password": password,
            "confirm_username": confirm_username,
        });
        self.call_js("DELETE", "/account", Some(body)).await
    }

    /// Signs every other device of the account out; answers `{revoked}`.
    #[wasm_bindgen(js_name = revokeOtherDevices)]
    pub async fn revoke_other_devices(&self) -> Result<JsValue, JsValue> {
        self.call_js("DELETE", "/devices", None).await
    }

    #[wasm_bindgen(js_name = revokeDevice)]
    pub async fn revoke_device(&self, id: f64) -> Result<JsValue, JsValue> {
        self.call_js("DELETE", &format!("/devices/{}", id as i64), None)
            .await
    }

    /// Signs this device out on the server: its token stops working at once.
    #[wasm_bindgen(js_name = signOut)]
    pub async fn sign_out(&mut self) -> Result<JsValue, JsValue> {
        let r = self.call_js("DELETE", "/sessions", None).await;
        self.token = None;
        r
    }

    /// `{ticket, expires_at}`: a ticket that opens this device's event stream for a minute
    /// (`/api/v1/events?ticket=`), so the device token never goes into the EventSource URL.
    #[wasm_bindgen(js_name = streamTicket)]
    pub async fn stream_ticket(&self) -> Result<JsValue, JsValue> {
        self.call_js("POST", "/events/ticket", None).await
    }

    /// The URL of the event stream opened by `ticket` (from `streamTicket`).
    #[wasm_bindgen(js_name = eventsUrl)]
    pub fn events_url(&self, ticket: String) -> String {
        let t = String::from(js_sys::encode_uri_component(&ticket));
        self.url(&format!("{}?ticket={t}", wire::paths::EVENTS))
    }

    /// One page of the change feed after `cursor` (from the beginning when unset).
    pub async fn changes(
        &self,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<JsValue, JsValue> {
        let mut q = serde_json::Map::new();
        if let Some(c) = cursor {
            q.insert("cursor".into(), json!(c));
        }
        if let Some(l) = limit {
            q.insert("limit".into(), json!(l));
        }
        let qs = query_string(&http::to_js(&Value::Object(q)))?;
        self.call_js("GET", &format!("/changes{qs}"), None).await
    }
}
