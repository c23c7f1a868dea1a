//! Members of shared namespaces: the one lookup every access check of a namespace other than
//! the caller's home makes.

use sqlx::{Any, Row as _};
use wire::Role;

/// `user_id`'s role in `namespace_id` as an accepted member (`None`: not a member, or only
/// invited). The owner's role comes from the namespace, not from here.
pub async fn role<'e, E>(exec: E, user_id: i64, namespace_id: i64) -> sqlx::Result<Option<Role>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT role FROM members \
         WHERE namespace_id = $1 AND user_id = $2 AND accepted_at IS NOT NULL",
    )
    .bind(namespace_id)
    .bind(user_id)
    .fetch_optional(exec)
    .await?;
    Ok(row.and_then(|r| match r.get::<String, _>(0).as_str() {
        "editor" => Some(Role::Editor),
        "viewer" => Some(Role::Viewer),
        _ => None,
    }))
}
