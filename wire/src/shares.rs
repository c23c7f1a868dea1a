//! Shared folders on the wire: making one, its members and their roles, and the invitations a
//! user answers. A shared folder is named by its namespace id (`Share::id`); its contents are
//! listed like any folder, from `Share::root_id`.

use serde::{Deserialize, Serialize};

use crate::Role;

/// A shared folder as the caller sees it: one they own, one they belong to, or an invitation
/// (`accepted: false`) waiting for their answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    /// The shared folder's own namespace: its change log, its members.
    pub id: i64,
    /// The folder itself: list it with `GET /api/v1/nodes/{root_id}/children`.
    pub root_id: i64,
    /// The folder's name.
    pub name: String,
    pub owner_id: i64,
    pub owner: String,
    /// The caller's role: `owner`, `editor` or `viewer` (for an invitation, the role offered).
    pub role: Role,
    /// `false`: an invitation the caller has not answered yet.
    pub accepted: bool,
    /// Who invited the caller (absent for the owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    /// Accepted members besides the owner.
    pub members: u32,
    /// When the caller's role here began (the share, or the invitation).
    pub created_at: i64,
}

/// `GET /api/v1/shares`: the caller's shared folders and open invitations, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareList {
    pub shares: Vec<Share>,
}

/// One person with a role in a shared folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// `false`: invited, not yet accepted (no access until then).
    pub accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    pub created_at: i64,
}

/// `GET /api/v1/shares/{id}/members`: the owner first, then members and invitations in the
/// order they were invited.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberList {
    pub members: Vec<Member>,
}

/// `POST /api/v1/shares/{id}/members`: invite a user by name, as `viewer` or `editor`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteRequest {
    pub username: String,
    pub role: Role,
}

/// `PATCH /api/v1/shares/{id}/members/{user_id}`: a member's new role (`viewer` or `editor`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleRequest {
    pub role: Role,
}

/// The change-log kinds that speak of membership rather than of a node: a device that sees one
/// reads `GET /api/v1/shares` again. `node_id` is the shared folder's root.
pub mod kinds {
    /// Owner's own tree: a folder became shared (its contents now follow its own log).
    pub const SHARED: &str = "shared";
    /// Owner's own tree and every member's: the folder is private again.
    pub const UNSHARED: &str = "unshared";
    /// A user's own tree: they were invited.
    pub const INVITED: &str = "invited";
    /// A user's own tree: they accepted (the folder's log now reaches their devices).
    pub const JOINED: &str = "joined";
    /// A user's own tree: they left, declined, or were removed.
    pub const LEFT: &str = "left";
    /// A user's own tree: their role changed.
    pub const ROLE: &str = "role";
    /// The shared folder's log: its member list changed (every member's devices see it).
    pub const MEMBERS: &str = "members";
    /// Every kind above.
    pub const ALL: &[&str] = &[SHARED, UNSHARED, INVITED, JOINED, LEFT, ROLE, MEMBERS];
}

/// One change in a shared folder, as its activity list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityItem {
    pub seq: i64,
    /// What happened: `create`, `version`, `rename`, `move`, `trash`, `restore`, `purge`,
    /// `members`, … (the change feed's kinds).
    pub kind: String,
    pub node_id: i64,
    /// The node's name now (also when it is in the trash or gone), if it still has a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When, in ms since the epoch.
    pub at: i64,
    /// Who did it; absent for the server's own doing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::Actor>,
}

/// `GET /api/v1/shares/{id}/activity`: the newest changes first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub items: Vec<ActivityItem>,
}
