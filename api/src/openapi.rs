//! The OpenAPI description, generated from the `#[utoipa::path]` annotations on the handlers
//! and the wire types; `/openapi.json` serves it and a test checks it covers every route.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Cairn API", description = "File storage and sync: tree, uploads, versions, change feed, push hints."),
    paths(
        routes::accounts::register,
        routes::accounts::login,
        routes::accounts::me,
        routes::tree::create_folder,
        routes::tree::children,
        routes::files::create_upload,
        routes::files::get_upload,
        routes::files::cancel_upload,
        routes::files::commit,
        routes::files::download,
        routes::blobs::put,
        routes::blobs::get,
        routes::changes::list,
        routes::changes::latest,
        routes::changes::ack,
        routes::events::stream,
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::metrics,
        routes::ops::openapi,
        routes::devices::list,
        routes::devices::revoke,
        routes::devices::rename,
        routes::devices::sign_out,
        routes::tree::update_node,
        routes::tree::delete_node,
        routes::tree::list_trash,
        routes::tree::restore,
        routes::tree::purge,
        routes::versions::list,
        routes::versions::restore,
        routes::search::search,
        routes::content::content,
        routes::events::ticket,
    ),
    components(schemas(wire::ErrorBody, wire::ErrorDetail, wire::Node, wire::NodeKind, wire::Conflict, wire::ChunkTarget, wire::Change, wire::StreamTicket)),
    modifiers(&Security)
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "stream_ticket",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("ticket"))),
        );
        timeouts_documented(doc);
    }
}

/// Every route under a time limit (`routes::timeouts`) can answer 408 `timeout`; said here
/// once rather than on each handler.
fn timeouts_documented(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let response = ResponseBuilder::new()
        .description("`timeout`: the request (or, for a commit or an upload resume, reading its body) took longer than the server allows")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            (axum::http::Method::GET, &mut item.get),
            (axum::http::Method::POST, &mut item.post),
            (axum::http::Method::PUT, &mut item.put),
            (axum::http::Method::PATCH, &mut item.patch),
            (axum::http::Method::DELETE, &mut item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            if routes::timeouts::limit_for(&method, path) != routes::timeouts::Limit::Exempt {
                op.responses
                    .responses
                    .entry("408".to_owned())
                    .or_insert_with(|| response.clone().into());
            }
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
