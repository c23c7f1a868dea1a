//! The HTTP surface: one module per resource, assembled into a single router here.

pub mod account_delete;
pub mod accounts;
pub mod batch;
pub mod blobs;
pub mod changes;
pub mod content;
pub mod devices;
pub mod events;
pub mod export;
pub mod files;
pub mod headers;
pub mod links;
pub mod manifests;
pub mod mounts;
pub mod openapi;
pub mod ops;
pub mod password;
pub mod public;
pub mod requests;
pub mod search;
pub mod share_bytes;
pub mod share_page;
pub mod shares;
pub mod thumbnails;
pub mod timeouts;
pub mod tree;
pub mod versions;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use wire::paths;

use crate::error::ApiError;
use crate::state::AppState;

/// JSON bodies above this are refused. A manifest above `wire::manifest_parts::INLINE_MAX_CHUNKS`
/// chunks (~1 MB) goes in parts of at most 16,384 entries (~1.6 MB): `routes/manifests.rs`.
pub const JSON_LIMIT: usize = 4 * 1024 * 1024;

/// Every route the server answers, as (method, path, handler). The router is built from this
/// table alone, and `tests/it/ops.rs` checks each row against `/openapi.json`, so a route
/// added here without its `#[utoipa::path]` fails the tests.
pub fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::POST, paths::ACCOUNTS, post(accounts::register)),
        (Method::POST, paths::SESSIONS, post(accounts::login)),
        (Method::DELETE, paths::SESSIONS, delete(devices::sign_out)),
        (Method::GET, paths::DEVICES, get(devices::list)),
        (
            Method::DELETE,
            paths::DEVICES,
            delete(devices::revoke_others),
        ),
        (
            Method::POST,
            paths::ACCOUNT_PASSWORD,
            post(password::change),
        ),
        (Method::GET, paths::ACCOUNT_EXPORT, get(export::export)),
        (Method::DELETE, paths::DEVICE, delete(devices::revoke)),
        (Method::PATCH, paths::DEVICE, patch(devices::rename)),
        (Method::PATCH, paths::NODE, patch(tree::update_node)),
        (Method::DELETE, paths::NODE, delete(tree::delete_node)),
        (Method::GET, paths::NODE_VERSIONS, get(versions::list)),
        (
            Method::POST,
            paths::NODE_VERSION_RESTORE,
            post(versions::restore),
        ),
        (
            Method::PUT,
            paths::NODE_VERSION_THUMBNAIL,
            put(thumbnails::put),
        ),
        (
            Method::GET,
            paths::NODE_VERSION_THUMBNAIL,
            get(thumbnails::get),
        ),
        (Method::GET, paths::TRASH, get(tree::list_trash)),
        (Method::DELETE, paths::TRASH_ITEM, delete(tree::purge)),
        (Method::POST, paths::TRASH_RESTORE, post(tree::restore)),
        (Method::GET, paths::SEARCH, get(search::search)),
        (Method::GET, paths::NODE_CONTENT, get(content::content)),
        (Method::GET, paths::ME, get(accounts::me)),
        (
            Method::DELETE,
            paths::ACCOUNT,
            delete(account_delete::delete),
        ),
        (Method::POST, paths::FOLDERS, post(tree::create_folder)),
        (Method::GET, paths::NODE_CHILDREN, get(tree::children)),
        (Method::GET, paths::NODE_DOWNLOAD, get(files::download)),
        (Method::POST, paths::UPLOADS, post(files::create_upload)),
        (Method::GET, paths::UPLOAD, get(files::get_upload)),
        (Method::DELETE, paths::UPLOAD, delete(files::cancel_upload)),
        (Method::POST, paths::UPLOAD_SENT, post(files::upload_sent)),
        (Method::POST, paths::MANIFESTS, post(manifests::create)),
        (Method::PUT, paths::MANIFEST_PART, put(manifests::put_part)),
        (Method::POST, paths::COMMITS, post(files::commit)),
        (Method::POST, paths::BATCH_UPLOADS, post(batch::uploads)),
        (Method::POST, paths::BATCH_COMMITS, post(batch::commits)),
        (Method::GET, paths::CHANGES, get(changes::list)),
        (Method::GET, paths::CHANGES_LATEST, get(changes::latest)),
        (Method::POST, paths::CHANGES_ACK, post(changes::ack)),
        (Method::GET, paths::EVENTS, get(events::stream)),
        (Method::PUT, paths::BLOB, put(blobs::put)),
        (Method::GET, paths::BLOB, get(blobs::get)),
        (Method::GET, paths::HEALTHZ, get(ops::healthz)),
        (Method::GET, paths::READYZ, get(ops::readyz)),
        (Method::GET, paths::METRICS, get(ops::metrics)),
        (Method::GET, paths::OPENAPI, get(openapi::serve)),
        (Method::POST, paths::EVENTS_TICKET, post(events::ticket)),
        (Method::POST, paths::LINKS, post(links::create)),
        (Method::GET, paths::LINKS, get(links::list)),
        (Method::PATCH, paths::LINK, patch(links::update)),
        (Method::DELETE, paths::LINK, delete(links::revoke)),
        (Method::GET, paths::LINK_ACCESS, get(links::access)),
        (Method::GET, paths::PUBLIC_SHARE, get(public::show)),
        (Method::GET, paths::SHARE_PAGE, get(share_page::page)),
        (
            Method::POST,
            paths::SHARE_PAGE_UNLOCK,
            post(share_page::unlock_form),
        ),
        (Method::POST, paths::PUBLIC_UNLOCK, post(public::unlock)),
        (Method::GET, paths::PUBLIC_LIST, get(public::list)),
        (Method::GET, paths::PUBLIC_MANIFEST, get(public::manifest)),
        (Method::POST, paths::PUBLIC_UPLOADS, post(requests::start)),
        (Method::GET, paths::PUBLIC_UPLOAD, get(requests::resume)),
        (Method::POST, paths::PUBLIC_COMMIT, post(requests::commit)),
        (
            Method::GET,
            paths::SHARE_DOWNLOAD,
            get(share_bytes::download),
        ),
        (
            Method::GET,
            paths::SHARE_FILE,
            get(share_bytes::file_in_folder),
        ),
        (Method::GET, paths::SHARE_ZIP, get(share_bytes::selection)),
        (Method::POST, paths::NODE_SHARE, post(shares::share)),
        (Method::GET, paths::SHARES, get(shares::list)),
        (Method::DELETE, paths::SHARE, delete(shares::unshare)),
        (Method::GET, paths::SHARE_MEMBERS, get(shares::members)),
        (Method::POST, paths::SHARE_MEMBERS, post(shares::invite)),
        (Method::POST, paths::SHARE_ACCEPT, post(shares::accept)),
        (Method::PATCH, paths::SHARE_MEMBER, patch(shares::set_role)),
        (Method::DELETE, paths::SHARE_MEMBER, delete(shares::remove)),
        (Method::GET, paths::SHARE_ACTIVITY, get(shares::activity)),
    ]
}

pub fn router(state: AppState) -> Router {
    let www = &state.settings.www_dir;
    let app = ServeDir::new(www)
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(www.join("index.html")));
    let security = std::sync::Arc::new(headers::SecurityHeaders::new(
        state.chunk_origin.as_deref(),
        state.settings.tls.is_some(),
    ));
    let mut routes = Router::new();
    for (method, path, handler) in table() {
        routes = routes.route(path, timeouts::timed(&state, &method, path, handler));
    }
    routes
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        // Routed answers only: the static app added below keeps its own caching.
        .layer(axum::middleware::from_fn(headers::no_store))
        .fallback_service(app)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::observe,
        ))
        .layer(axum::middleware::from_fn_with_state(
            security,
            headers::secure,
        ))
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn not_found() -> ApiError {
    ApiError::NotFound("endpoint")
}
