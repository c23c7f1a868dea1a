//! One definition of every request and response body that crosses the HTTP boundary, so the
//! API and the WASM client cannot drift apart, and the name rules both apply (`names`). Pure
//! types and functions: no I/O, no framework.

use serde::{Deserialize, Serialize};
pub use wasm_chunker::{ChunkRef, Hash, Manifest};

#[cfg(feature = "openapi")]
pub mod manifest_doc;

mod error_code;
pub mod links;
pub mod manifest_parts;
pub mod names;
pub mod shares;
pub mod thumbnails;

pub use error_code::{js_module as error_codes_js, ErrorCode};

/// Every path the API serves, so client and server agree on spelling.
pub mod paths {
    pub const ACCOUNTS: &str = "/api/v1/accounts";
    pub const SESSIONS: &str = "/api/v1/sessions";
    pub const ME: &str = "/api/v1/me";
    /// `DELETE`: the account itself, for good.
    pub const ACCOUNT: &str = "/api/v1/account";
    pub const FOLDERS: &str = "/api/v1/folders";
    pub const UPLOADS: &str = "/api/v1/uploads";
    pub const COMMITS: &str = "/api/v1/commits";
    /// `/api/v1/nodes/{id}/children`, `/download`, `/content`.
    pub const NODES: &str = "/api/v1/nodes";
    /// `GET` lists the caller's devices; `DELETE /api/v1/devices/{id}` revokes one.
    pub const DEVICES: &str = "/api/v1/devices";
    /// `GET` lists the trash; `POST …/{id}/restore`, `DELETE …/{id}` (purge).
    pub const TRASH: &str = "/api/v1/trash";
    pub const SEARCH: &str = "/api/v1/search";
    /// `GET`: the server-sent event stream (`Authorization: Bearer`, or `?ticket=`).
    pub const EVENTS: &str = "/api/v1/events";
    /// `POST`: a short-lived ticket that opens the event stream (`?ticket=`), for `EventSource`.
    pub const EVENTS_TICKET: &str = "/api/v1/events/ticket";
    /// `POST` makes a link, `GET` lists them; `/api/v1/links/{id}` (PATCH, DELETE), `…/access`.
    pub const LINKS: &str = "/api/v1/links";
    /// `/api/v1/public/{token}`, `…/unlock`, `…/list`, `…/manifest`: the link holder's JSON API.
    pub const PUBLIC: &str = "/api/v1/public";

    // The templates of the routes below those prefixes, in the router's syntax: `{name}` is
    // one segment, `{*name}` the rest of the path.
    pub const ACCOUNT_PASSWORD: &str = "/api/v1/account/password";
    /// `GET`: everything of the account's own tree as one streamed zip, with an index of versions.
    pub const ACCOUNT_EXPORT: &str = "/api/v1/account/export";
    pub const DEVICE: &str = "/api/v1/devices/{id}";
    pub const NODE: &str = "/api/v1/nodes/{id}";
    pub const NODE_VERSIONS: &str = "/api/v1/nodes/{id}/versions";
    pub const NODE_VERSION_RESTORE: &str = "/api/v1/nodes/{id}/versions/{version_id}/restore";
    /// `PUT` (a writer) / `GET` (a reader): the small preview image the page made of that
    /// version in the browser (`wire::thumbnails`).
    pub const NODE_VERSION_THUMBNAIL: &str = "/api/v1/nodes/{id}/versions/{version_id}/thumbnail";
    pub const TRASH_ITEM: &str = "/api/v1/trash/{id}";
    pub const TRASH_RESTORE: &str = "/api/v1/trash/{id}/restore";
    pub const NODE_CONTENT: &str = "/api/v1/nodes/{id}/content";
    pub const NODE_CHILDREN: &str = "/api/v1/nodes/{id}/children";
    pub const NODE_DOWNLOAD: &str = "/api/v1/nodes/{id}/download";
    pub const UPLOAD: &str = "/api/v1/uploads/{id}";
    pub const UPLOAD_SENT: &str = "/api/v1/uploads/{id}/sent";
    /// `POST`: a manifest draft, whose chunk list follows in parts (`wire::manifest_parts`).
    pub const MANIFESTS: &str = "/api/v1/manifests";
    /// `PUT`: part `n` of draft `id`'s chunk list.
    pub const MANIFEST_PART: &str = "/api/v1/manifests/{id}/parts/{n}";
    pub const BATCH_UPLOADS: &str = "/api/v1/batch/uploads";
    pub const BATCH_COMMITS: &str = "/api/v1/batch/commits";
    pub const CHANGES: &str = "/api/v1/changes";
    pub const CHANGES_LATEST: &str = "/api/v1/changes/latest";
    pub const CHANGES_ACK: &str = "/api/v1/changes/ack";
    pub const BLOB: &str = "/blobs/{*object}";
    pub const HEALTHZ: &str = "/healthz";
    pub const READYZ: &str = "/readyz";
    pub const METRICS: &str = "/metrics";
    pub const OPENAPI: &str = "/openapi.json";
    pub const LINK: &str = "/api/v1/links/{id}";
    pub const LINK_ACCESS: &str = "/api/v1/links/{id}/access";
    pub const PUBLIC_SHARE: &str = "/api/v1/public/{token}";
    pub const SHARE_PAGE: &str = "/s/{token}";
    pub const SHARE_PAGE_UNLOCK: &str = "/s/{token}/unlock";
    pub const PUBLIC_UNLOCK: &str = "/api/v1/public/{token}/unlock";
    pub const PUBLIC_LIST: &str = "/api/v1/public/{token}/list";
    pub const PUBLIC_MANIFEST: &str = "/api/v1/public/{token}/manifest";
    pub const PUBLIC_UPLOADS: &str = "/api/v1/public/{token}/uploads";
    pub const PUBLIC_UPLOAD: &str = "/api/v1/public/{token}/uploads/{id}";
    pub const PUBLIC_COMMIT: &str = "/api/v1/public/{token}/commit";
    pub const SHARE_DOWNLOAD: &str = "/s/{token}/download";
    pub const SHARE_FILE: &str = "/s/{token}/files/{*path}";
    pub const SHARE_ZIP: &str = "/s/{token}/zip";
    pub const NODE_SHARE: &str = "/api/v1/nodes/{id}/share";
    pub const SHARES: &str = "/api/v1/shares";
    pub const SHARE: &str = "/api/v1/shares/{id}";
    pub const SHARE_ACCEPT: &str = "/api/v1/shares/{id}/accept";
    pub const SHARE_MEMBERS: &str = "/api/v1/shares/{id}/members";
    pub const SHARE_MEMBER: &str = "/api/v1/shares/{id}/members/{user_id}";
    pub const SHARE_ACTIVITY: &str = "/api/v1/shares/{id}/activity";

    /// Every route the server answers, each once (`NODES` and `PUBLIC` are prefixes only).
    pub const ALL: &[&str] = &[
        ACCOUNTS,
        SESSIONS,
        ME,
        ACCOUNT,
        FOLDERS,
        UPLOADS,
        COMMITS,
        BATCH_UPLOADS,
        BATCH_COMMITS,
        DEVICES,
        TRASH,
        SEARCH,
        EVENTS,
        EVENTS_TICKET,
        LINKS,
        ACCOUNT_PASSWORD,
        ACCOUNT_EXPORT,
        DEVICE,
        NODE,
        NODE_VERSIONS,
        NODE_VERSION_RESTORE,
        NODE_VERSION_THUMBNAIL,
        TRASH_ITEM,
        TRASH_RESTORE,
        NODE_CONTENT,
        NODE_CHILDREN,
        NODE_DOWNLOAD,
        UPLOAD,
        UPLOAD_SENT,
        MANIFESTS,
        MANIFEST_PART,
        CHANGES,
        CHANGES_LATEST,
        CHANGES_ACK,
        BLOB,
        HEALTHZ,
        READYZ,
        METRICS,
        OPENAPI,
        LINK,
        LINK_ACCESS,
        PUBLIC_SHARE,
        SHARE_PAGE,
        SHARE_PAGE_UNLOCK,
        PUBLIC_UNLOCK,
        PUBLIC_LIST,
        PUBLIC_MANIFEST,
        PUBLIC_UPLOADS,
        PUBLIC_UPLOAD,
        PUBLIC_COMMIT,
        SHARE_DOWNLOAD,
        SHARE_FILE,
        SHARE_ZIP,
        NODE_SHARE,
        SHARES,
        SHARE,
        SHARE_ACCEPT,
        SHARE_MEMBERS,
        SHARE_MEMBER,
        SHARE_ACTIVITY,
    ];
}

/// The JSON body of every error answer: a stable machine `code` and a message safe to show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// One of [`ErrorCode`]; kept a string so a client reads codes newer than itself.
    #[cfg_attr(feature = "openapi", schema(value_type = ErrorCode))]
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    pub device_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub device_name: String,
}

/// What a device needs after signing in: its bearer token and where its tree starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionResponse {
    pub token: String,
    pub user_id: i64,
    pub device_id: i64,
    pub namespace_id: i64,
    pub root_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    pub user_id: i64,
    pub username: String,
    pub device_id: i64,
    pub device_name: String,
    pub namespace_id: i64,
    pub root_id: i64,
    /// Everything that counts against the quota: `files_bytes + versions_bytes + uploads_bytes`,
    /// each over the user's own tree and the folders they share (whoever wrote into them).
    pub used_bytes: u64,
    /// The most bytes the user may hold on the server: files, kept old versions and open
    /// uploads together.
    #[serde(default)]
    pub quota_bytes: u64,
    /// The current version of every file not yet purged (the trash counts until purged).
    #[serde(default)]
    pub files_bytes: u64,
    /// Old versions still kept (they give way, oldest first, when new content needs room).
    #[serde(default)]
    pub versions_bytes: u64,
    /// Chunks that open uploads may still send (reserved when an upload starts or resumes,
    /// given back when it is committed, cancelled or expires).
    #[serde(default)]
    pub uploads_bytes: u64,
    /// How long this server keeps the trash and old versions.
    #[serde(default)]
    pub retention: Retention,
}

/// What the server keeps, and for how long (set by its operator).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Retention {
    /// Seconds an item stays in the trash before it is deleted for good; 0: until emptied
    /// by hand.
    pub trash_secs: u64,
    /// Seconds an old version is kept at most after it was replaced (sooner when the quota
    /// needs its room).
    pub versions_secs: u64,
    /// The most old versions kept per file; 0: no count limit.
    pub versions_max: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    File,
    Folder,
}

/// A file or folder as clients see it. Paths are never sent: they derive from `parent_id`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub kind: NodeKind,
    /// The current version of a file; `None` for folders.
    pub version_id: Option<i64>,
    pub size: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub content_hash: Option<Hash>,
    /// Server time of the last change, milliseconds since the Unix epoch.
    pub modified_at: i64,
    /// Who wrote a file's current version: in a shared folder's listing only ("edited by
    /// Ana"); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<String>,
    /// The current version's media type as its client sniffed it (`image/png`), lowercase;
    /// absent when it did not say. A hint for showing the file, never trusted for serving:
    /// see `GET /api/v1/nodes/{id}/content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// In a folder's listing: true when the current version has a thumbnail
    /// (`GET /api/v1/nodes/{id}/versions/{version_id}/thumbnail`), so a grid asks only for
    /// those; absent (false) elsewhere and when it has none.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thumbnail: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Listing {
    pub folder: Node,
    /// One page of the live children: folders first, then files, each by name ignoring case.
    pub children: Vec<Node>,
    /// Where the next page starts (`?after=`), when there is one. Every page of one listing
    /// carries the same `ETag`; a page with another tag means the folder changed meanwhile, and
    /// the pages read so far should be read again from the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The paging of `GET /api/v1/nodes/{id}/children`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListingQuery {
    /// Children per page, 1 to [`LISTING_PAGE_MAX`]; the maximum when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next` of the page before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The most children one listing page holds: a folder of 100,000 entries is read in pages.
pub const LISTING_PAGE_MAX: u32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateFolderRequest {
    pub parent_id: i64,
    pub name: String,
}

/// Step 1 of an upload: the client's manifest, chunked and hashed in the browser — inline
/// (`manifest`), or sent before in parts (`manifest_id`, a draft of `POST /api/v1/manifests`,
/// for a manifest too large for one request). Exactly one of the two.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUploadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = manifest_doc::Manifest))]
    pub manifest: Option<Manifest>,
    /// A manifest draft whose every part was sent (`PUT /api/v1/manifests/{id}/parts/{n}`);
    /// it is used up by the upload it opens. Not in a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_id: Option<String>,
}

impl CreateUploadRequest {
    /// A start with `manifest` inline.
    pub fn inline(manifest: Manifest) -> CreateUploadRequest {
        CreateUploadRequest {
            manifest: Some(manifest),
            manifest_id: None,
        }
    }

    /// A start from the draft `id`, its parts all sent.
    pub fn drafted(id: String) -> CreateUploadRequest {
        CreateUploadRequest {
            manifest: None,
            manifest_id: Some(id),
        }
    }
}

/// Where to PUT one chunk the namespace cannot read yet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChunkTarget {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
    pub size: u32,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    pub upload_id: String,
    /// Chunks still to send, each with a short-lived signed PUT URL.
    pub missing: Vec<ChunkTarget>,
    /// When the signed URLs stop working, milliseconds since the Unix epoch.
    pub expires_at: i64,
    /// Set where the store checks chunks after they arrive (S3): name every this many chunks
    /// PUT to `POST /api/v1/uploads/{id}/sent`, so the server checks them while the rest are
    /// sent and the commit does not wait for them. Absent: no need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_every: Option<u32>,
}

/// Chunks of an upload the client has PUT, so the server checks them while it sends the rest
/// (optional: the commit checks whatever was not named).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentRequest {
    /// At most 1,000 hashes, each of a chunk of the upload's manifest.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub hashes: Vec<Hash>,
}

/// Step 3 of an upload: turn a finished upload into a version of the file `name` in `parent_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitRequest {
    pub upload_id: String,
    pub parent_id: i64,
    pub name: String,
    /// The version this edit started from; `None` for a new file.
    pub base_version: Option<i64>,
    /// 1 to 128 characters, chosen by the client and scoped to the calling device (two devices
    /// may use the same key): a retried commit with the same key from the same device returns
    /// the first answer and writes nothing new. Answers are kept for the upload TTL (24 h by
    /// default); the upload id is a good key.
    pub idempotency_key: String,
    /// The file's media type as the client sniffed it from its name and first bytes, e.g.
    /// `image/png`: at most [`MAX_CONTENT_TYPE`] bytes of `type/subtype` (RFC 6838 token
    /// characters, no parameters), any case (kept lowercase). Stored with the version, shown in
    /// listings; never trusted for serving: see `GET /api/v1/nodes/{id}/content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// The longest `content_type` a commit may give.
pub const MAX_CONTENT_TYPE: usize = 127;

/// Structured data about a lost race, so a client can offer keep mine / keep theirs / keep both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// The file the client meant to change, now holding the other device's version.
    pub original_node_id: i64,
    pub base_version: Option<i64>,
    pub current_version: i64,
    pub device_name: String,
    pub user_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitResponse {
    pub node: Node,
    pub version_id: i64,
    /// True when the content equals the current version: no new version was written.
    pub unchanged: bool,
    /// Set when the commit became a conflicted copy.
    pub conflict: Option<Conflict>,
}

/// Most files one batch request carries (`POST /api/v1/batch/uploads` and `/commits`).
pub const MAX_BATCH: usize = 100;

/// `POST /api/v1/batch/uploads`: step 1 for many files at once (a dropped folder of small
/// files), so each file does not pay a round trip of its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchUploadsRequest {
    /// 1 to 100 manifests.
    pub uploads: Vec<CreateUploadRequest>,
}

/// One upload session per manifest, in the request's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchUploadsResponse {
    pub uploads: Vec<UploadResponse>,
}

/// `POST /api/v1/batch/commits`: step 3 for many files at once. Each commit stands alone:
/// one refused does not stop the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchCommitsRequest {
    /// 1 to 100 commits.
    pub commits: Vec<CommitRequest>,
}

/// The outcome of each commit, in the request's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchCommitsResponse {
    pub results: Vec<CommitOutcome>,
}

/// What `POST /api/v1/commits` would have answered for this commit alone: `status` 200 with
/// `committed`, or an error status with `error` (the same codes as that route's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitOutcome {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed: Option<CommitResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// Everything needed to fetch a file: its manifest and a signed GET URL per chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadResponse {
    pub node: Node,
    #[cfg_attr(feature = "openapi", schema(value_type = manifest_doc::Manifest))]
    pub manifest: Manifest,
    pub chunks: Vec<ChunkTarget>,
}

/// `POST /api/v1/account/password`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8 characters to 1,024 bytes.
    pub new_password: String,
    /// Revoke every other device of the account too (after a leak). Default: they stay
    /// signed in.
    #[serde(default)]
    pub sign_out_other_devices: bool,
}

/// `DELETE /api/v1/account`: deleting the account for good takes its password and its
/// username typed again (a stolen session alone cannot delete it, and a slip cannot either).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteAccountRequest {
    pub password: String,
    /// The account's username, typed by the user (case does not matter).
    pub confirm_username: String,
}

/// What a deleted account held: all of it is gone. Chunks no other account stores are
/// deleted by the next collector pass.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountDeleted {
    /// Files and folders (live and in the trash).
    pub nodes: u64,
    pub versions: u64,
    pub links: u64,
    /// Shared folders of this account, each taken from its members' trees.
    pub shared_folders: u64,
    /// Shared folders of others this account had joined or was invited to.
    pub memberships: u64,
    /// Devices signed out.
    pub devices: u64,
}

/// `DELETE /api/v1/devices`: how many other devices were signed out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedDevices {
    pub revoked: usize,
}

/// `PATCH /api/v1/devices/{id}`: a new name for one of the caller's devices.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameDeviceRequest {
    /// 1 to 64 printable characters.
    pub name: String,
}

/// One signed-in device of the caller's account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    /// Last authenticated request, to the minute.
    pub last_seen_at: i64,
    /// True for the device making this request.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceList {
    pub devices: Vec<Device>,
}

/// `PATCH /api/v1/nodes/{id}`: rename and/or move; an absent field keeps its value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateNodeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// When the name is taken in the target folder, place the node as
    /// `name (conflicted copy <device> <YYYY-MM-DD>).ext` instead of answering 409 — what a
    /// client replaying an offline rename or move wants. The answer's `name` tells which.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_both: bool,
}

/// The answer to `PATCH /api/v1/nodes/{id}`: the node as placed, and, when `keep_both` turned
/// a name clash into a conflicted copy, what it wanted and who holds that name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlacedNode {
    #[serde(flatten)]
    pub node: Node,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clash: Option<NameClash>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NameClash {
    /// The name the change asked for.
    pub wanted: String,
    /// The node that already had it (and keeps it).
    pub holder_id: i64,
}

/// A node the user deleted (a folder stands for its whole subtree).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrashItem {
    pub node: Node,
    /// Milliseconds since the Unix epoch.
    pub deleted_at: i64,
    /// Where a restore puts it back (the root folder if that folder is gone by then).
    pub original_parent_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrashList {
    pub items: Vec<TrashItem>,
}

/// One immutable version of a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionInfo {
    pub id: i64,
    pub size: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub content_hash: Hash,
    pub created_at: i64,
    /// The device that wrote it.
    pub device_name: String,
    /// True for the file's current version.
    pub current: bool,
}

/// A file's history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionList {
    pub versions: Vec<VersionInfo>,
}

/// `POST /api/v1/nodes/{id}/versions/{version_id}/restore`: the new current version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreVersionResponse {
    pub node: Node,
    pub version_id: i64,
}

/// `GET /api/v1/search` query: every field optional; `q` matches anywhere in the name,
/// ignoring case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<NodeKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// Milliseconds since the Unix epoch, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_after: Option<i64>,
    /// Milliseconds since the Unix epoch, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_before: Option<i64>,
    /// 1 to 200; default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResult {
    pub node: Node,
    /// The node's full path from the root, e.g. `/Photos/2024/cat.jpg` (derived, never stored).
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResponse {
    pub results: Vec<SearchResult>,
}

/// One entry of the change feed: what happened to which node, at which server sequence number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// The namespace's server sequence number; strictly increasing within a page and across
    /// pages for one namespace.
    pub seq: i64,
    /// The namespace whose log this is: the caller's own tree, or a shared folder's. A page
    /// lists each namespace's changes in seq order, the namespaces one after another.
    #[serde(default)]
    pub namespace_id: i64,
    /// What the writer logged: `create` (a folder made), `version` (a file's new current
    /// version, a new file included), `rename`, `move`, `trash` (the node and its subtree went
    /// to the trash), `restore` (back from the trash) or `purge` (deleted for good). `trash`,
    /// `restore` and `purge` of a folder stand for its whole subtree; `arrive` is a node that
    /// came into this tree inside a folder moved in from another (the folder itself logs
    /// `move`): it names where the node now is. Shared folders add
    /// membership kinds, each on the shared folder's root id (`shares::kinds`): `shared`,
    /// `unshared`, `invited`, `joined`, `left`, `role` in the user's own tree's log, `members`
    /// in the shared folder's; a member's rename or move of their place for a shared folder is
    /// a `rename`/`move` of the root in their own tree's log. Whatever the kind, apply `node`.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, example = "version", pattern = "^(create|version|rename|move|arrive|trash|restore|purge|shared|unshared|invited|joined|left|role|members)$")
    )]
    pub kind: String,
    pub node_id: i64,
    /// The node's state now (not at `seq`), or `None` when it is no longer in the live tree
    /// (trashed or purged): apply it by upserting or removing `node_id`.
    pub node: Option<Node>,
    /// Who made the change; absent for the server's own (a trash item's retention running
    /// out, a name-rule upgrade) and for changes logged before actors were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
}

/// What a user may do in a namespace (a shared folder, or their own tree, where they are the
/// owner). Each role may do all that the roles before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// List, download, see versions, search.
    Viewer,
    /// Also upload, make folders, rename, move, delete and restore.
    Editor,
    /// Also members and share links.
    Owner,
}

/// The user and device whose request made a change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub device_id: i64,
    /// The device's name now (devices can be renamed).
    pub device_name: String,
}

/// A page of `GET /api/v1/changes`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangesResponse {
    pub changes: Vec<Change>,
    /// Pass this back as `cursor` to continue after the last change of this page.
    pub cursor: String,
    /// More changes are waiting: ask again at once with the new cursor.
    pub has_more: bool,
}

/// `POST /api/v1/changes/ack`: the device has applied everything up to `cursor`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AckRequest {
    pub cursor: String,
}

/// A short-lived ticket that opens this device's event stream as `GET /api/v1/events?ticket=`,
/// so the device token itself never goes into a URL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamTicket {
    pub ticket: String,
    /// When the ticket stops opening streams, milliseconds since the Unix epoch. A stream it
    /// opened stays open.
    pub expires_at: i64,
}

/// The data of one server-sent event: "namespace N is at seq S"; pull the feed to learn what.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventHint {
    pub namespace_id: i64,
    pub seq: i64,
}
