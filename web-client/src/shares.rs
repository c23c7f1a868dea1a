//! Shared folders (`/api/v1/shares`, `/api/v1/nodes/{id}/share`) as `Client` methods: make a
//! folder shared, list the caller's shares and invitations, invite, change roles, remove,
//! accept, leave, stop sharing, read a shared folder's activity. Answers pass through as plain JS objects (the page only draws
//! them), as in `links.rs`; the paths are built here from `wire::paths`, and every id the page
//! hands in is checked to be a whole number first, so none can turn into another path.

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wire::paths;
use wire::shares::{InviteRequest, RoleRequest};
use wire::Role;

use crate::client::Client;
use crate::http::{self, Body, Failure};

impl Client {
    async fn shares_call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let body = body.map_or(Body::None, Body::Json);
        let r = http::send(method, &self.url(path), self.token.as_deref(), body).await?;
        let v: Value = http::json(r).await?;
        Ok(http::to_js(&v))
    }
}

/// A whole, non-negative id from the page (JS numbers are floats): anything else is refused
/// before a request is made.
fn id_of(v: f64, what: &str) -> Result<i64, Failure> {
    // 2^53: past it a JS number no longer names one integer.
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if v.is_finite() && v.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&v) {
        // The checks above make the cast exact.
        #[allow(clippy::cast_possible_truncation)]
        Ok(v as i64)
    } else {
        Err(Failure::local("bad_argument", format!("not a {what} id")))
    }
}

/// A route template of `wire::paths` with its `{id}` (and `{user_id}`) filled in.
fn share_path(template: &str, id: f64, user_id: Option<f64>) -> Result<String, Failure> {
    let mut path = template.replace("{id}", &id_of(id, "share")?.to_string());
    if let Some(u) = user_id {
        path = path.replace("{user_id}", &id_of(u, "user")?.to_string());
    }
    Ok(path)
}

/// `?limit=N` for an activity read: the server takes 1..=200, so anything else is refused here
/// with the server's code and words, before a request is made; no limit leaves the server's
/// default.
fn activity_query(limit: Option<u32>) -> Result<String, Failure> {
    match limit {
        None => Ok(String::new()),
        Some(n @ 1..=200) => Ok(format!("?limit={n}")),
        Some(_) => Err(Failure::local("bad_request", "limit must be 1 to 200")),
    }
}

/// `viewer` or `editor`, the roles a member may be given; refused here with the server's own
/// code, so a typo never reaches the wire as something else.
fn member_role(role: &str) -> Result<Role, Failure> {
    match serde_json::from_value::<Role>(json!(role)) {
        Ok(r @ (Role::Viewer | Role::Editor)) => Ok(r),
        _ => Err(Failure::local(
            "invalid_role",
            "a member is a viewer or an editor",
        )),
    }
}

#[wasm_bindgen]
impl Client {
    /// `POST /nodes/{id}/share`: the caller's folder becomes a shared folder they own; answers
    /// the `Share`.
    #[wasm_bindgen(js_name = shareFolder)]
    pub async fn share_folder(&self, node_id: f64) -> Result<JsValue, JsValue> {
        let path = paths::NODE_SHARE.replace("{id}", &id_of(node_id, "node")?.to_string());
        self.shares_call("POST", &path, None).await
    }

    /// `{shares: [Share]}`: what the caller owns, belongs to, and is invited to
    /// (`accepted: false`).
    pub async fn shares(&self) -> Result<JsValue, JsValue> {
        self.shares_call("GET", paths::SHARES, None).await
    }

    /// `DELETE /shares/{id}`: the owner makes the folder private again; members lose it.
    pub async fn unshare(&self, id: f64) -> Result<JsValue, JsValue> {
        self.shares_call("DELETE", &share_path(paths::SHARE, id, None)?, None)
            .await
    }

    /// `{members: [Member]}`, the owner first.
    pub async fn members(&self, id: f64) -> Result<JsValue, JsValue> {
        self.shares_call("GET", &share_path(paths::SHARE_MEMBERS, id, None)?, None)
            .await
    }

    /// Invites `username` as `viewer` or `editor`; answers the new `Member`.
    pub async fn invite(
        &self,
        id: f64,
        username: String,
        role: String,
    ) -> Result<JsValue, JsValue> {
        let body = InviteRequest {
            username,
            role: member_role(&role)?,
        };
        self.shares_call(
            "POST",
            &share_path(paths::SHARE_MEMBERS, id, None)?,
            Some(http::to_json(&body)),
        )
        .await
    }

    /// `PATCH /shares/{id}/members/{user_id}`: a member's new role; answers the `Member`.
    #[wasm_bindgen(js_name = setRole)]
    pub async fn set_role(&self, id: f64, user_id: f64, role: String) -> Result<JsValue, JsValue> {
        let body = RoleRequest {
            role: member_role(&role)?,
        };
        self.shares_call(
            "PATCH",
            &share_path(paths::SHARE_MEMBER, id, Some(user_id))?,
            Some(http::to_json(&body)),
        )
        .await
    }

    /// `DELETE /shares/{id}/members/{user_id}`: the owner removes a member, or a user removes
    /// themself (declines an invitation, or leaves).
    #[wasm_bindgen(js_name = removeMember)]
    pub async fn remove_member(&self, id: f64, user_id: f64) -> Result<JsValue, JsValue> {
        self.shares_call(
            "DELETE",
            &share_path(paths::SHARE_MEMBER, id, Some(user_id))?,
            None,
        )
        .await
    }

    /// `GET /shares/{id}/activity`: `{items: [ActivityItem]}`, the shared folder's changes
    /// newest first (who, on which device, what, when), `limit` of them at most (1..=200;
    /// unset, the server's default). Any member or the owner may read it.
    pub async fn activity(&self, id: f64, limit: Option<u32>) -> Result<JsValue, JsValue> {
        let path = share_path(paths::SHARE_ACTIVITY, id, None)? + &activity_query(limit)?;
        self.shares_call("GET", &path, None).await
    }

    /// `POST /shares/{id}/accept`: the invitee accepts; answers the `Share`.
    #[wasm_bindgen(js_name = acceptShare)]
    pub async fn accept_share(&self, id: f64) -> Result<JsValue, JsValue> {
        self.shares_call("POST", &share_path(paths::SHARE_ACCEPT, id, None)?, None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_whole_numbers_or_refused() {
        assert_eq!(id_of(42.0, "share").unwrap(), 42);
        assert_eq!(id_of(0.0, "share").unwrap(), 0);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(
                id_of(bad, "share").unwrap_err().code,
                "bad_argument",
                "{bad}"
            );
        }
    }

    #[test]
    fn paths_come_from_the_wire_templates() {
        assert_eq!(
            share_path(paths::SHARE_MEMBER, 7.0, Some(9.0)).unwrap(),
            "/api/v1/shares/7/members/9"
        );
        assert_eq!(
            share_path(paths::SHARE_ACCEPT, 7.0, None).unwrap(),
            "/api/v1/shares/7/accept"
        );
        assert!(share_path(paths::SHARE_MEMBER, 7.0, Some(0.5)).is_err());
        assert_eq!(
            share_path(paths::SHARE_ACTIVITY, 7.0, None).unwrap(),
            "/api/v1/shares/7/activity"
        );
    }

    #[test]
    fn activity_limits_are_the_servers() {
        assert_eq!(activity_query(None).unwrap(), "");
        assert_eq!(activity_query(Some(1)).unwrap(), "?limit=1");
        assert_eq!(activity_query(Some(200)).unwrap(), "?limit=200");
        for bad in [0, 201, u32::MAX] {
            assert_eq!(
                activity_query(Some(bad)).unwrap_err().code,
                "bad_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn members_are_viewers_or_editors() {
        assert_eq!(member_role("viewer").unwrap(), Role::Viewer);
        assert_eq!(member_role("editor").unwrap(), Role::Editor);
        for bad in ["owner", "Editor", "", "admin"] {
            assert_eq!(member_role(bad).unwrap_err().code, "invalid_role", "{bad}");
        }
    }
}
