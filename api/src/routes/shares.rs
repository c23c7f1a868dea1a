//! Shared folders: making one out of a folder of the caller's own tree, its members and their
//! roles, the invitations a user answers, and the end of sharing.
//!
//! A shared folder is a namespace of its own (its change log, its members), owned by the user
//! who shared it and charged to their quota; sharing hands the folder's rows to it (no byte
//! moves, versions and trash come along). Every membership change is itself a change: in the
//! shared folder's log (`members`: all its devices see the member list move) and in the
//! affected user's own log (`invited`, `joined`, `role`, `left`), so their devices learn of it
//! on the feed and over SSE. Each route takes the locks of every namespace whose log it writes,
//! in ascending order, before it reads what it decides on.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use wire::shares::{
    kinds, Activity, InviteRequest, Member, MemberList, RoleRequest, Share, ShareList,
};
use wire::Role;

use crate::access;
use crate::auth::Auth;
use crate::db::users::Caller;
use crate::db::{changes, mounts, nodes, shares, usage, WriteTx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::accounts::username_key;
use crate::state::AppState;

/// A write transaction holding the locks of `namespaces` (in ascending order).
async fn begin<'a>(state: &'a AppState, namespaces: &[i64]) -> ApiResult<WriteTx<'a>> {
    let mut ids = namespaces.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut w = state.db.write().await?;
    for ns in ids {
        nodes::lock_namespace(&mut w.tx, ns).await?;
    }
    Ok(w)
}

/// Hands the subtree under `root` from namespace `from` to `to`, both the same owner's (sharing,
/// and its end): rows and chunk references change hands, the bytes move from one counter to
/// the other, so the quota can be neither passed nor dodged.
async fn hand_over(w: &mut WriteTx<'_>, root: i64, from: i64, to: i64) -> ApiResult<()> {
    let bytes = nodes::hand_over(&mut w.tx, root, to).await?;
    // One owner's two counters: their quota covers both already.
    usage::transfer(&mut w.tx, from, to, bytes, u64::MAX).await?;
    Ok(())
}

/// A membership change, logged twice: `members` in shared folder `id`'s log (every member's
/// devices see the list move) and `kind` in the affected user's own (`home`).
async fn announce(
    w: &mut WriteTx<'_>,
    c: &Caller,
    id: i64,
    root: i64,
    home: i64,
    kind: &str,
) -> ApiResult<()> {
    changes::log(&mut w.tx, id, root, kinds::MEMBERS, Some(c.device_id)).await?;
    changes::log(&mut w.tx, home, root, kind, Some(c.device_id)).await?;
    Ok(())
}

/// The caller's view of shared folder `id` now (after a change, in its transaction's wake).
async fn view(state: &AppState, c: &Caller, id: i64) -> ApiResult<Share> {
    shares::of_user(&state.db, c.user_id)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(ApiError::NotFound("shared folder"))
}

/// One person of shared folder `id`, as its member list shows them.
async fn person(w: &mut WriteTx<'_>, id: i64, user_id: i64) -> ApiResult<Member> {
    shares::members_of(&mut *w.tx, id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or(ApiError::NotFound("member"))
}

/// A role a member may hold.
fn member_role(role: Role) -> ApiResult<Role> {
    match role {
        Role::Owner => Err(ApiError::InvalidRole),
        r => Ok(r),
    }
}

#[utoipa::path(post, path = "/api/v1/nodes/{id}/share", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A folder of the caller's own tree")),
    responses(
        (status = 201, description = "The folder is shared (with no one yet: invite members next); its contents, versions and trash stay as they were", body = Share),
        (status = 400, description = "`bad_request`: the root folder cannot be shared", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 403, description = "`role_too_low`: the folder lies in a shared folder the caller does not own", body = wire::ErrorBody),
        (status = 404, description = "No such folder the caller may see", body = wire::ErrorBody),
        (status = 409, description = "`shared_folder`: the folder is shared already, lies inside a shared folder, or holds one", body = wire::ErrorBody),
    ))]
pub async fn share(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<Share>)> {
    let ns = access::namespace_for(&state.db, &c, id, Role::Owner).await?;
    if !access::is_home(&c, ns) {
        return Err(ApiError::SharedFolder(
            "this folder is shared already, or lies inside a shared folder",
        ));
    }
    let mut w = begin(&state, &[ns]).await?;
    let folder = access::folder_in(&mut w.tx, &c, id, ns).await?;
    if folder.parent_id.is_none() {
        return Err(ApiError::WrongKind(
            "the root folder is the whole tree: share a folder inside it",
        ));
    }
    if nodes::holds_other_tree(&mut w.tx, id, ns).await? {
        return Err(ApiError::SharedFolder(
            "this folder holds a shared folder: stop sharing that one first",
        ));
    }
    let s = shares::create(&mut w.tx, c.user_id, id, state.clock.now_ms()).await?;
    hand_over(&mut w, id, ns, s).await?;
    changes::log(&mut w.tx, ns, id, kinds::SHARED, Some(c.device_id)).await?;
    changes::log(&mut w.tx, s, id, "create", Some(c.device_id)).await?;
    w.commit().await?;
    tracing::info!(node_id = id, namespace_id = s, "folder shared");
    Ok((StatusCode::CREATED, Json(view(&state, &c, s).await?)))
}

#[utoipa::path(get, path = "/api/v1/shares", tag = "sharing", security(("bearer" = [])),
    responses(
        (status = 200, description = "The shared folders the caller owns or belongs to, and the invitations waiting for their answer (`accepted: false`), oldest first", body = ShareList),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<ShareList>> {
    Ok(Json(ShareList {
        shares: shares::of_user(&state.db, c.user_id).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/shares/{id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A shared folder (its namespace id)")),
    responses(
        (status = 204, description = "Sharing ended: the folder is a private folder of the owner's tree again (history, versions and trash kept) and leaves every member's"),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 403, description = "`role_too_low`: only the owner stops sharing (a member leaves instead)", body = wire::ErrorBody),
        (status = 404, description = "No such shared folder the caller belongs to", body = wire::ErrorBody),
        (status = 503, description = "`unavailable`: the member list kept changing while sharing ended; try again", body = wire::ErrorBody),
    ))]
pub async fn unshare(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    access::share_role(&state.db, &c, id, Role::Owner).await?;
    // Every member's home log is written, so every home is locked (ascending, with the
    // folder's and the owner's); the people are read first, then again under the locks, and
    // an invitation that slipped in between starts the round over.
    let mut tries = 0;
    let (mut w, shared, homes) = loop {
        let people = shares::people(&state.db.pool, id).await?;
        let homes = shares::homes_of(&state.db, &people).await?;
        let mut locks: Vec<i64> = homes.iter().map(|(_, h)| *h).collect();
        locks.extend([id, c.namespace_id]);
        let mut w = begin(&state, &locks).await?;
        let shared = access::share_role_in(&mut w, &c, id, Role::Owner).await?;
        if shares::people(&mut *w.tx, id).await? == people {
            break (w, shared, homes);
        }
        w.rollback().await?;
        tries += 1;
        if tries == 5 {
            return Err(ApiError::Unavailable);
        }
    };
    let root = shared.root_id;
    hand_over(&mut w, root, id, c.namespace_id).await?;
    mounts::remove(&mut w.tx, id, None).await?;
    shares::end(&mut w.tx, id).await?;
    changes::log(&mut w.tx, id, root, kinds::UNSHARED, Some(c.device_id)).await?;
    changes::log(
        &mut w.tx,
        c.namespace_id,
        root,
        kinds::UNSHARED,
        Some(c.device_id),
    )
    .await?;
    for (_, home) in &homes {
        changes::log(&mut w.tx, *home, root, kinds::UNSHARED, Some(c.device_id)).await?;
    }
    w.commit().await?;
    tracing::info!(namespace_id = id, members = homes.len(), "sharing ended");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/shares/{id}/members", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A shared folder (its namespace id)")),
    responses(
        (status = 200, description = "The owner first, then members and open invitations in the order they were invited", body = MemberList),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such shared folder the caller belongs to", body = wire::ErrorBody),
    ))]
pub async fn members(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<MemberList>> {
    access::share_role(&state.db, &c, id, Role::Viewer).await?;
    Ok(Json(MemberList {
        members: shares::members_of(&state.db.pool, id).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/shares/{id}/members", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A shared folder (its namespace id)")),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited: the user sees the invitation (live) and accepts or declines it; until then they have no access", body = Member),
        (status = 400, description = "`invalid_role`: a member is a viewer or an editor", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 403, description = "`role_too_low`: only the owner invites", body = wire::ErrorBody),
        (status = 404, description = "No such shared folder the caller belongs to, or no user of that name", body = wire::ErrorBody),
        (status = 409, description = "`already_member`: the user is the owner, a member, or invited already", body = wire::ErrorBody),
    ))]
pub async fn invite(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    Json(req): Json<InviteRequest>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    let role = member_role(req.role)?;
    access::share_role(&state.db, &c, id, Role::Owner).await?;
    let (user_id, home) = shares::user_by_key(&state.db, &username_key(req.username.trim()))
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if user_id == c.user_id {
        return Err(ApiError::AlreadyMember(req.username));
    }
    let mut w = begin(&state, &[id, home]).await?;
    access::share_role_in(&mut w, &c, id, Role::Owner).await?;
    let now = state.clock.now_ms();
    if !shares::invite(&mut w.tx, id, user_id, role, c.user_id, now).await? {
        return Err(ApiError::AlreadyMember(req.username));
    }
    let root = shares::get(&mut *w.tx, id)
        .await?
        .ok_or(ApiError::NotFound("shared folder"))?
        .root_id;
    announce(&mut w, &c, id, root, home, kinds::INVITED).await?;
    let member = person(&mut w, id, user_id).await?;
    w.commit().await?;
    tracing::info!(namespace_id = id, user_id, ?role, "member invited");
    Ok((StatusCode::CREATED, Json(member)))
}

#[utoipa::path(post, path = "/api/v1/shares/{id}/accept", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A shared folder (its namespace id)")),
    responses(
        (status = 200, description = "Accepted: the folder's contents and its change log reach the caller's devices from now on", body = Share),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No open invitation to that shared folder", body = wire::ErrorBody),
    ))]
pub async fn accept(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Share>> {
    let shared = shares::get(&state.db.pool, id)
        .await?
        .ok_or(ApiError::NotFound("invitation"))?;
    let mut w = begin(&state, &[id, c.namespace_id]).await?;
    let now = state.clock.now_ms();
    if !shares::accept(&mut w.tx, id, c.user_id, now).await? {
        return Err(ApiError::NotFound("invitation"));
    }
    // Placed at the top of the member's tree under the folder's name (or `Name (shared)`, …,
    // when that is taken there); they rename or move it as any folder of theirs.
    let root = nodes::get(&mut *w.tx, shared.root_id)
        .await?
        .ok_or(ApiError::NotFound("invitation"))?;
    let name = nodes::free_name(&mut w.tx, c.root_id, &root.node.name, "shared", true).await?;
    mounts::place(&mut w.tx, c.namespace_id, c.root_id, &name, id, now).await?;
    announce(
        &mut w,
        &c,
        id,
        shared.root_id,
        c.namespace_id,
        kinds::JOINED,
    )
    .await?;
    w.commit().await?;
    tracing::info!(
        namespace_id = id,
        user_id = c.user_id,
        "invitation accepted"
    );
    Ok(Json(view(&state, &c, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/shares/{id}/members/{user_id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A shared folder (its namespace id)"),
        ("user_id" = i64, Path, description = "A member or invited user")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The member's new role, in force from their next request", body = Member),
        (status = 400, description = "`invalid_role`: a member is a viewer or an editor", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 403, description = "`role_too_low`: only the owner changes roles", body = wire::ErrorBody),
        (status = 404, description = "No such shared folder the caller belongs to, or no such member", body = wire::ErrorBody),
    ))]
pub async fn set_role(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path((id, user_id)): Path<(i64, i64)>,
    Json(req): Json<RoleRequest>,
) -> ApiResult<Json<Member>> {
    let role = member_role(req.role)?;
    access::share_role(&state.db, &c, id, Role::Owner).await?;
    let home = member_home(&state, user_id).await?;
    let mut w = begin(&state, &[id, home]).await?;
    let shared = access::share_role_in(&mut w, &c, id, Role::Owner).await?;
    if !shares::set_role(&mut w.tx, id, user_id, role).await? {
        return Err(ApiError::NotFound("member"));
    }
    announce(&mut w, &c, id, shared.root_id, home, kinds::ROLE).await?;
    let member = person(&mut w, id, user_id).await?;
    w.commit().await?;
    tracing::info!(namespace_id = id, user_id, ?role, "member role changed");
    Ok(Json(member))
}

#[utoipa::path(delete, path = "/api/v1/shares/{id}/members/{user_id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A shared folder (its namespace id)"),
        ("user_id" = i64, Path, description = "A member or invited user; the caller's own id to leave or decline")),
    responses(
        (status = 204, description = "Removed (by the owner), left or declined (by the user themself): the folder leaves their tree and their devices"),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 403, description = "`role_too_low`: only the owner removes others", body = wire::ErrorBody),
        (status = 404, description = "No such shared folder the caller belongs to or is invited to, or no such member", body = wire::ErrorBody),
        (status = 409, description = "`shared_folder`: the owner cannot leave (they stop sharing instead)", body = wire::ErrorBody),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path((id, user_id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let own = user_id == c.user_id;
    let shared = if own {
        // Leaving or declining: the caller's own row (an invitation too) is all it takes.
        let s = shares::get(&state.db.pool, id)
            .await?
            .ok_or(ApiError::NotFound("shared folder"))?;
        if s.owner_id == c.user_id {
            return Err(ApiError::SharedFolder(
                "an owner does not leave their shared folder: stop sharing it instead",
            ));
        }
        s
    } else {
        access::share_role(&state.db, &c, id, Role::Owner).await?
    };
    let home = member_home(&state, user_id).await?;
    let mut w = begin(&state, &[id, home]).await?;
    if !own {
        access::share_role_in(&mut w, &c, id, Role::Owner).await?;
    }
    if !shares::remove(&mut w.tx, id, user_id).await? {
        return Err(ApiError::NotFound("member"));
    }
    mounts::remove(&mut w.tx, id, Some(home)).await?;
    announce(&mut w, &c, id, shared.root_id, home, kinds::LEFT).await?;
    w.commit().await?;
    tracing::info!(namespace_id = id, user_id, own, "member removed");
    Ok(StatusCode::NO_CONTENT)
}

/// The home namespace of user `user_id` (404 `member` when there is no such user).
async fn member_home(state: &AppState, user_id: i64) -> ApiResult<i64> {
    shares::homes_of(&state.db, &[user_id])
        .await?
        .first()
        .map(|(_, home)| *home)
        .ok_or(ApiError::NotFound("member"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// 1 to 200, default 50.
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/shares/{id}/activity", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A shared folder (its namespace id)"), ActivityQuery),
    responses(
        (status = 200, description = "Who did what in the shared folder, newest first: uploads, renames, moves, deletes, restores, member changes (as long as the change log keeps them)", body = Activity),
        (status = 400, description = "`bad_request`: a limit out of range", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such shared folder the caller belongs to", body = wire::ErrorBody),
    ))]
pub async fn activity(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    Query(q): Query<ActivityQuery>,
) -> ApiResult<Json<Activity>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::OutOfRange("limit must be 1 to 200".into()));
    }
    access::share_role(&state.db, &c, id, Role::Viewer).await?;
    Ok(Json(Activity {
        items: shares::activity(&state.db, id, limit).await?,
    }))
}
