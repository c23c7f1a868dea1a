//! The HTTP surface: one module per resource, assembled into a single router here.

pub mod accounts;
pub mod blobs;
pub mod changes;
pub mod content;
pub mod devices;
pub mod events;
pub mod files;
pub mod headers;
pub mod links;
pub mod openapi;
pub mod ops;
pub mod password;
pub mod public;
pub mod requests;
pub mod search;
pub mod share_bytes;
pub mod share_page;
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

/// JSON bodies above this are refused; a 10 GiB file's manifest is ~1.4 MB.
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
            "/api/v1/account/password",
            post(password::change),
        ),
        (
            Method::DELETE,
            "/api/v1/devices/{id}",
            delete(devices::revoke),
        ),
        (
            Method::PATCH,
            "/api/v1/devices/{id}",
            patch(devices::rename),
        ),
        (
            Method::PATCH,
            "/api/v1/nodes/{id}",
            patch(tree::update_node),
        ),
        (
            Method::DELETE,
            "/api/v1/nodes/{id}",
            delete(tree::delete_node),
        ),
        (
            Method::GET,
            "/api/v1/nodes/{id}/versions",
            get(versions::list),
        ),
        (
            Method::POST,
            "/api/v1/nodes/{id}/versions/{version_id}/restore",
            post(versions::restore),
        ),
        (Method::GET, paths::TRASH, get(tree::list_trash)),
        (Method::DELETE, "/api/v1/trash/{id}", delete(tree::purge)),
        (
            Method::POST,
            "/api/v1/trash/{id}/restore",
            post(tree::restore),
        ),
        (Method::GET, paths::SEARCH, get(search::search)),
        (
            Method::GET,
            "/api/v1/nodes/{id}/content",
            get(content::content),
        ),
        (Method::GET, paths::ME, get(accounts::me)),
        (Method::POST, paths::FOLDERS, post(tree::create_folder)),
        (
            Method::GET,
            "/api/v1/nodes/{id}/children",
            get(tree::children),
        ),
        (
            Method::GET,
            "/api/v1/nodes/{id}/download",
            get(files::download),
        ),
        (Method::POST, paths::UPLOADS, post(files::create_upload)),
        (Method::GET, "/api/v1/uploads/{id}", get(files::get_upload)),
        (
            Method::DELETE,
            "/api/v1/uploads/{id}",
            delete(files::cancel_upload),
        ),
        (Method::POST, paths::COMMITS, post(files::commit)),
        (Method::GET, "/api/v1/changes", get(changes::list)),
        (Method::GET, "/api/v1/changes/latest", get(changes::latest)),
        (Method::POST, "/api/v1/changes/ack", post(changes::ack)),
        (Method::GET, "/api/v1/events", get(events::stream)),
        (Method::PUT, "/blobs/{*object}", put(blobs::put)),
        (Method::GET, "/blobs/{*object}", get(blobs::get)),
        (Method::GET, "/healthz", get(ops::healthz)),
        (Method::GET, "/readyz", get(ops::readyz)),
        (Method::GET, "/metrics", get(ops::metrics)),
        (Method::GET, "/openapi.json", get(openapi::serve)),
        (Method::POST, paths::EVENTS_TICKET, post(events::ticket)),
        (Method::POST, paths::LINKS, post(links::create)),
        (Method::GET, paths::LINKS, get(links::list)),
        (Method::PATCH, "/api/v1/links/{id}", patch(links::update)),
        (Method::DELETE, "/api/v1/links/{id}", delete(links::revoke)),
        (Method::GET, "/api/v1/links/{id}/access", get(links::access)),
        (Method::GET, "/api/v1/public/{token}", get(public::show)),
        (Method::GET, "/s/{token}", get(share_page::page)),
        (
            Method::POST,
            "/s/{token}/unlock",
            post(share_page::unlock_form),
        ),
        (
            Method::POST,
            "/api/v1/public/{token}/unlock",
            post(public::unlock),
        ),
        (
            Method::GET,
            "/api/v1/public/{token}/list",
            get(public::list),
        ),
        (
            Method::GET,
            "/api/v1/public/{token}/manifest",
            get(public::manifest),
        ),
        (
            Method::POST,
            "/api/v1/public/{token}/uploads",
            post(requests::start),
        ),
        (
            Method::GET,
            "/api/v1/public/{token}/uploads/{id}",
            get(requests::resume),
        ),
        (
            Method::POST,
            "/api/v1/public/{token}/commit",
            post(requests::commit),
        ),
        (
            Method::GET,
            "/s/{token}/download",
            get(share_bytes::download),
        ),
        (
            Method::GET,
            "/s/{token}/files/{*path}",
            get(share_bytes::file_in_folder),
        ),
        (Method::GET, "/s/{token}/zip", get(share_bytes::selection)),
    ]
}

pub fn router(state: AppState) -> Router {
    let www = &state.settings.www_dir;
    let app = ServeDir::new(www)
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(www.join("index.html")));
    let security =
        std::sync::Arc::new(headers::SecurityHeaders::new(state.chunk_origin.as_deref()));
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
