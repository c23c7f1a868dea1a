//! Share links on the wire: what an owner sends to make, change and list links, and what the
//! public side (no account, only the token) answers. The token itself appears only in the
//! answer to the request that made it, and in the URL people pass around.

use serde::{Deserialize, Deserializer, Serialize};

use crate::NodeKind;

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Read-only: see and download the file, or the folder and everything under it.
    #[default]
    Download,
    /// Upload-only (a file request): drop files into the folder, see nothing of it.
    Request,
}

/// Where a link stands, as its owner sees it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Active,
    /// Past its expiry (or a file request past its deadline).
    Expired,
    Revoked,
    /// Its download limit is spent (a file link's whole budget served).
    Exhausted,
    /// What it points at was trashed or deleted.
    Gone,
}

/// `POST /api/v1/links`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    pub node_id: i64,
    #[serde(default)]
    pub kind: LinkKind,
    /// Milliseconds since the Unix epoch; must be in the future.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Holders must give it before seeing anything (1 to 1,024 bytes).
    #[serde(default)]
    pub password: Option<String>,
    /// Download links: each file may be downloaded this many times in total (bytes served ≤
    /// this × the file's size, over every client, range and retry).
    #[serde(default)]
    pub max_downloads: Option<u32>,
    /// File links: serve the version current now, not the newest one.
    #[serde(default)]
    pub pin_version: bool,
    /// File requests: the most bytes all uploads through the link may add.
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

/// `PATCH /api/v1/links/{id}`: fields left out stay as they are; `null` clears one.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateLink {
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub expires_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub max_downloads: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u64>))]
    pub max_bytes: Option<Option<u64>>,
}

/// A field that was sent, possibly as `null`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A link as its owner sees it (never its token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkInfo {
    pub id: i64,
    pub node_id: i64,
    /// The shared file or folder's name now.
    pub name: String,
    pub node_kind: NodeKind,
    pub kind: LinkKind,
    pub state: LinkState,
    pub expires_at: Option<i64>,
    pub has_password: bool,
    pub max_downloads: Option<u32>,
    pub max_bytes: Option<u64>,
    pub pinned_version_id: Option<i64>,
    /// Opens of the link (page views, downloads, uploads) counted once per request.
    pub uses: u64,
    /// Bytes downloaded through the link, all files together.
    pub bytes_served: u64,
    /// Whole downloads' worth of bytes served (a file link: bytes served ÷ size).
    pub downloads: f64,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

/// The answer to `POST /api/v1/links`: the only time the token is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkCreated {
    pub link: LinkInfo,
    pub token: String,
    /// `/s/{token}`, relative to the server's origin.
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkList {
    pub links: Vec<LinkInfo>,
}

/// One line of a link's access log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessEntry {
    pub at: i64,
    /// The client's network, not its address: an IPv4 /24 or an IPv6 /48.
    pub network: String,
    /// `view`, `list`, `download`, `zip`, `unlock`, `upload`.
    pub action: String,
    /// The path under the link's root it concerned ("" for the root).
    pub path: String,
    /// `ok`, `wrong_password`, `exhausted`, `partial`, …
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessLog {
    pub entries: Vec<AccessEntry>,
}

/// `GET /api/v1/public/{token}`: what a holder of the link sees first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicShare {
    pub kind: LinkKind,
    pub node_kind: NodeKind,
    pub name: String,
    /// A file's size; 0 for folders and file requests.
    pub size: u64,
    pub content_type: Option<String>,
    pub modified_at: i64,
    pub shared_by: String,
    pub expires_at: Option<i64>,
    pub max_downloads: Option<u32>,
    /// File links with a limit: whole downloads still possible (rounded down).
    pub downloads_left: Option<u64>,
    /// File requests: bytes uploads may still add.
    pub bytes_left: Option<u64>,
}

/// `POST /api/v1/public/{token}/unlock`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Unlock {
    pub password: String,
}

/// A short-lived proof of the link's password: send it as `X-Cairn-Grant` or `?grant=`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub grant: String,
    pub expires_at: i64,
}

/// One entry of a shared folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicEntry {
    pub name: String,
    /// Relative to the link's root, `/`-separated.
    pub path: String,
    pub kind: NodeKind,
    pub size: u64,
    pub modified_at: i64,
    pub content_type: Option<String>,
}

/// `GET /api/v1/public/{token}/list?path=&limit=&after=`: one page of a shared folder, paged
/// as the owner's listing is ([`crate::ListingQuery`], at most [`crate::LISTING_PAGE_MAX`]
/// entries).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicListing {
    pub path: String,
    /// One page of the folder's entries: folders first, then files, each by name ignoring case.
    pub entries: Vec<PublicEntry>,
    /// Where the next page starts (`&after=`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One chunk of a shared file for the browser's verified download.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicChunk {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: crate::Hash,
    pub offset: u64,
    pub size: u32,
    /// Where to fetch it: a signed chunk URL, or (links with a download limit) the link's own
    /// download URL, to fetch with `Range: bytes=offset-(offset+size-1)`.
    pub url: String,
    /// Whether `url` needs that `Range` header.
    pub ranged: bool,
}

/// `GET /api/v1/public/{token}/manifest?path=`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicManifest {
    pub name: String,
    pub size: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub content_hash: crate::Hash,
    pub content_type: String,
    pub chunks: Vec<PublicChunk>,
}

/// `POST /api/v1/public/{token}/uploads`: start dropping one file into a file request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestUpload {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::manifest_doc::Manifest))]
    pub manifest: crate::Manifest,
    /// The file's name.
    pub name: String,
    /// Folders under the request's folder to put it in (`a/b`), made as needed.
    #[serde(default)]
    pub path: String,
    /// Who is uploading, as they call themselves (1 to 64 characters).
    pub uploader: String,
}

/// `POST /api/v1/public/{token}/commit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestCommit {
    pub upload_id: String,
    /// The file's media type as the drop page sniffed it, as in `CommitRequest::content_type`:
    /// stored with the version, never trusted for serving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// Where a dropped file landed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestLanded {
    /// Its name as stored: the name given, or `name (from <uploader>)` when that was taken.
    pub name: String,
    /// The folders under the request's folder it is in.
    pub path: String,
    pub size: u64,
}
