//! The HTTP surface: one module per resource, assembled into a single router here.

mod accounts;
mod blobs;
mod devices;
mod files;
mod search;
mod tree;
mod versions;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use wire::paths;

use crate::error::ApiError;
use crate::state::AppState;

/// JSON bodies above this are refused; a 10 GiB file's manifest is ~1.4 MB.
pub const JSON_LIMIT: usize = 4 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let www = &state.settings.www_dir;
    let app = ServeDir::new(www)
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(www.join("index.html")));
    let api = Router::new()
        .route(paths::ACCOUNTS, post(accounts::register))
        .route(
            paths::SESSIONS,
            post(accounts::login).delete(devices::sign_out),
        )
        .route(paths::ME, get(accounts::me))
        .route(paths::FOLDERS, post(tree::create_folder))
        .route("/api/v1/nodes/{id}/children", get(tree::children))
        .route("/api/v1/nodes/{id}/download", get(files::download))
        .route(paths::UPLOADS, post(files::create_upload))
        .route("/api/v1/uploads/{id}", get(files::get_upload))
        .route(paths::COMMITS, post(files::commit))
        .route(paths::DEVICES, get(devices::list))
        .route("/api/v1/devices/{id}", delete(devices::revoke))
        .route(
            "/api/v1/nodes/{id}",
            patch(tree::update_node).delete(tree::delete_node),
        )
        .route("/api/v1/nodes/{id}/versions", get(versions::list))
        .route(
            "/api/v1/nodes/{id}/versions/{version_id}/restore",
            post(versions::restore),
        )
        .route(paths::TRASH, get(tree::list_trash))
        .route("/api/v1/trash/{id}", delete(tree::purge))
        .route("/api/v1/trash/{id}/restore", post(tree::restore))
        .route(paths::SEARCH, get(search::search))
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(JSON_LIMIT));
    Router::new()
        .merge(api)
        .route("/blobs/{*object}", put(blobs::put).get(blobs::get))
        .route("/healthz", get(|| async { "ok" }))
        .fallback_service(app)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("endpoint")
}
