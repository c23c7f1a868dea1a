//! The OpenAPI description, generated from the `#[utoipa::path]` annotations on the handlers
//! and the wire types; `/openapi.json` serves it and a test checks it covers every route.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Cairn API", description = "File storage and sync: tree, uploads, versions, change feed, push hints.\n\nAuthentication: `Authorization: Bearer <device token>` (from `POST /api/v1/accounts` or `POST /api/v1/sessions`) on every `/api/v1` route that lists `bearer` security.\n\nErrors: every 4xx and 5xx answer is `{\"error\": {\"code\", \"message\"}}` with a stable machine `code` (listed in each response's description) and a sentence for people.\n\nChunk bytes never pass through the JSON API: uploads and downloads hand out signed URLs, one per chunk. Requests to those URLs carry no `Authorization` header (the signature is the grant) and expire within minutes. With the embedded chunk store the URLs are relative (`/blobs/…`) to the API's own origin; with S3 they are absolute URLs of the bucket.\n\nUploads: `POST /api/v1/uploads` with a `Manifest` (any chunk boundaries within its bounds are accepted), `PUT` each missing chunk to its URL, then `POST /api/v1/commits` with an idempotency key (scoped to the device). Many files at once (a dropped folder): `POST /api/v1/batch/uploads` and `POST /api/v1/batch/commits` take up to 100 each in one request.\n\nLarge files: a manifest of more than 8,192 chunks (~8 GiB) is too large for one request at the chunk limit, so it goes in parts: `POST /api/v1/manifests` with its head (`chunker`, `size`, `hash`, `chunk_count`) answers a draft and its `part_chunks`; `PUT /api/v1/manifests/{id}/parts/{n}` sends each part of the chunk list (`{hash, size}` entries, no offsets); `POST /api/v1/uploads` with `{\"manifest_id\"}` opens the upload from the draft, checking the whole manifest as an inline one."),
    paths(
        routes::accounts::register,
        routes::accounts::login,
        routes::accounts::me,
        routes::tree::create_folder,
        routes::tree::children,
        routes::files::create_upload,
        routes::files::get_upload,
        routes::files::cancel_upload,
        routes::files::upload_sent,
        routes::manifests::create,
        routes::manifests::put_part,
        routes::files::commit,
        routes::batch::uploads,
        routes::batch::commits,
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
        routes::openapi::serve,
        routes::devices::list,
        routes::devices::revoke,
        routes::devices::rename,
        routes::devices::revoke_others,
        routes::password::change,
        routes::export::export,
        routes::account_delete::delete,
        routes::devices::sign_out,
        routes::tree::update_node,
        routes::tree::delete_node,
        routes::tree::list_trash,
        routes::tree::restore,
        routes::tree::purge,
        routes::versions::list,
        routes::versions::restore,
        routes::thumbnails::put,
        routes::thumbnails::get,
        routes::search::search,
        routes::content::content,
        routes::events::ticket,
        routes::links::create,
        routes::links::list,
        routes::links::update,
        routes::links::revoke,
        routes::links::access,
        routes::public::show,
        routes::public::unlock,
        routes::public::list,
        routes::public::manifest,
        routes::requests::start,
        routes::requests::resume,
        routes::requests::commit,
        routes::share_bytes::download,
        routes::share_bytes::file_in_folder,
        routes::share_bytes::selection,
        routes::share_page::page,
        routes::share_page::unlock_form,
        routes::shares::share,
        routes::shares::list,
        routes::shares::unshare,
        routes::shares::members,
        routes::shares::invite,
        routes::shares::accept,
        routes::shares::set_role,
        routes::shares::remove,
        routes::shares::activity,
    ),
    components(schemas(wire::ErrorBody, wire::ErrorDetail, wire::ErrorCode, wire::Node, wire::NodeKind, wire::Conflict, wire::ChunkTarget, wire::Change, wire::Actor, wire::StreamTicket, wire::manifest_doc::Manifest, wire::manifest_doc::ChunkRef, wire::Role)),
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
        common_responses(doc);
        unique_operation_ids(doc);
    }
}

/// The answers any operation can give for reasons of its kind rather than its own, listed on
/// each so a client generated from this document knows them all (the integration tests check
/// every status a test server answered against this document): 500 `internal` and 503
/// `unavailable` (the database or the chunk store is away) everywhere, 401
/// where a bearer token is needed, 400 `bad_json` and 413 `too_large` where a JSON body is read,
/// 400 `bad_request` where a path or query parameter is read (one that does not parse: an id
/// past the 64-bit range, a missing signature; found by schema-driven fuzzing).
fn common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, Response, ResponseBuilder};
    let error = |description: &str| -> Response {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for op in operations_mut(doc) {
        // Any operation may find the database away; added to a 503 the operation documents
        // for its own reason (`backoff`) rather than replacing it.
        const UNAVAILABLE: &str =
            "`unavailable`: the database or the chunk store cannot be reached right now (restarting); retry with backoff";
        match op.responses.responses.get_mut("503") {
            Some(utoipa::openapi::RefOr::T(r)) if !r.description.contains("`unavailable`") => {
                r.description = format!("{}; or {UNAVAILABLE}", r.description);
            }
            Some(_) => {}
            None => {
                op.responses
                    .responses
                    .insert("503".to_owned(), error(UNAVAILABLE).into());
            }
        }
        let mut add = |status: &str, description: &str| {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error(description).into());
        };
        add(
                "500",
                "`internal`: the server failed (logged with the request id it answers in `x-request-id`)",
            );
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        if secured {
            add(
                "401",
                "`unauthorized`: the bearer token is missing, unknown or revoked",
            );
        }
        if op.request_body.is_some() {
            add(
                "400",
                "`bad_json` (the body is not this operation's JSON) or `bad_request`",
            );
            add("413", "`too_large`: the body is over 4 MiB");
        }
        let parsed = op.parameters.as_ref().is_some_and(|ps| {
            ps.iter()
                .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
        });
        if parsed {
            add(
                "400",
                "`bad_request`: a path or query parameter does not parse (an id out of range)",
            );
        }
    }
}

/// Every operation of the document, to amend.
fn operations_mut(
    doc: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

/// Operation ids are the handlers' names, which repeat across resources (`list`, `restore`);
/// a repeated one becomes `<tag>_<name>` so that client generators get unique method names.
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in doc.paths.paths.values() {
        for op in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
            .into_iter()
            .flatten()
        {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for op in operations_mut(doc) {
        let Some(id) = op.operation_id.clone() else {
            continue;
        };
        if seen.get(&id).copied().unwrap_or(0) > 1 {
            let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
            op.operation_id = Some(match tag {
                Some(tag) => format!("{tag}_{id}"),
                None => id,
            });
        }
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

/// This API's OpenAPI 3.1 description, generated from the handlers' annotations.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI document", body = Object)))]
pub async fn serve() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    axum::Json(document()).into_response()
}
