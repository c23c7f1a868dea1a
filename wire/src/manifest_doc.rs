//! The manifest as `/openapi.json` describes it. `Manifest` and `ChunkRef` live in
//! `wasm-chunker`, which knows nothing of HTTP or OpenAPI, so their contract for third-party
//! clients — field meanings, size bounds, the file-hash definition — is written here, on
//! schema-only twins with the same serde shape (a test in `api` checks the shapes agree).

/// A file's content, as its client cut it: every chunk in order, and the file hash over the
/// list. The server accepts any chunk boundaries within the bounds below (it never re-chunks,
/// so a client may use another content-defined chunker with the same parameters, or fixed
/// sizes), checks every rule here, and refuses a manifest that breaks one with 400
/// `invalid_manifest`.
#[derive(utoipa::ToSchema)]
#[schema(as = Manifest)]
#[allow(dead_code)]
pub struct Manifest {
    /// Which chunker cut the file; it must be exactly `fastcdc2020-l2-256k-1m-4m+blake3`
    /// (FastCDC 2020, normalization level 2, min 256 KiB, average 1 MiB, max 4 MiB; BLAKE3
    /// chunk names). The file hash depends on it.
    #[schema(example = "fastcdc2020-l2-256k-1m-4m+blake3")]
    pub chunker: String,
    /// The file's length in bytes: the sum of the chunk sizes.
    pub size: u64,
    /// The file hash, 64 lowercase hex digits: BLAKE3 in derive-key mode with the context
    /// string `cairn 2025 file content hash from chunk list v1` over
    /// `len(chunker) as u64 little-endian ‖ chunker ‖ (chunk hash (32 bytes) ‖ chunk size as
    /// u64 little-endian)` for every chunk in order. It is computed from the list alone, so
    /// the bytes are read once.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
    /// The chunks in file order: at most 1,048,576; the first at offset 0 and each next one
    /// where the previous ends; every chunk 1 byte to 4 MiB, and all but the last at least
    /// 256 KiB. A chunk listed twice (equal bytes) has the same size both times. Empty files
    /// have no chunks.
    pub chunks: Vec<ChunkRef>,
}

/// One chunk of a file. Its bytes are sent to, and fetched from, a signed URL the API hands
/// out; those requests carry no `Authorization` header (the URL's signature is the grant), and
/// local-store URLs are relative to the API's own origin (`/blobs/…`).
#[derive(utoipa::ToSchema)]
#[schema(as = ChunkRef)]
#[allow(dead_code)]
pub struct ChunkRef {
    /// The chunk's name: the plain BLAKE3 hash of its bytes, 64 lowercase hex digits. The
    /// server hashes every uploaded chunk and refuses bytes that do not match.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
    /// Where the chunk starts in the file, in bytes.
    pub offset: u64,
    /// The chunk's length in bytes (1 to 4,194,304). Must equal the stored chunk's length if
    /// the account already stores it.
    pub size: u32,
}
