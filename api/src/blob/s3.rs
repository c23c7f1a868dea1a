//! The S3-compatible chunk store (Garage, AWS, MinIO…) through aws-sdk-s3. Clients PUT to
//! pre-signed `staging/<upload>/<hash>` URLs and GET pre-signed `chunks/<hash>` URLs; since no
//! S3 store can check a BLAKE3 name, the API re-reads each staged object, hashes it, and only a
//! match is copied to `chunks/<hash>` (conditioned on the ETag it hashed, so a replayed PUT
//! racing the copy cannot slip other bytes in).

use crate::clock::Clock;
use std::time::Duration;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use wire::Hash;

use crate::settings::S3Settings;

pub struct S3Store {
    pub client: Client,
    pub bucket: String,
    /// Signing time of pre-signed URLs, so a test can sign one already old.
    clock: Clock,
    /// Chunks of at most this size are PUT to the API, not to the store (`blob::inline`).
    pub inline_max: u32,
    /// Signs and checks those API URLs.
    pub signer: super::signer::Signer,
}

/// What checking a staged object found.
#[derive(Debug, PartialEq, Eq)]
pub enum Staged {
    /// Nothing was PUT under the staging key (yet).
    Absent,
    /// The bytes do not hash to the name or have the wrong size; the object was deleted.
    Mismatch,
    /// The bytes match; `etag` is the version that was hashed.
    Verified { etag: String },
}

pub fn staging_key(upload_id: &str, hash: &Hash) -> String {
    format!("staging/{upload_id}/{hash}")
}

pub fn chunk_key(hash: &Hash) -> String {
    format!("chunks/{hash}")
}

/// An SDK error as an I/O error; the store out of reach (down, restarting: no connection,
/// one cut, a body cut short, a timeout) is `NotConnected`, which the API answers 503 `unavailable` (`error.rs`)
/// rather than 500.
fn err(e: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
    use std::io::ErrorKind::*;
    let mut unreachable = false;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            unreachable |= matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | TimedOut
                    | BrokenPipe
                    | UnexpectedEof
            );
        }
        cause = c.source();
    }
    let kind = if unreachable { NotConnected } else { Other };
    std::io::Error::new(kind, aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

impl S3Store {
    pub fn new(s: &S3Settings, clock: Clock) -> S3Store {
        let mut b = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(s.region.clone()))
            .credentials_provider(Credentials::new(
                &s.access_key_id,
                &s.secret_access_key,
                None,
                None,
                "cairn-settings",
            ))
            .force_path_style(s.path_style)
            // Checksums only where S3 demands them: a default CRC32 would be baked into every
            // pre-signed PUT and the browser would have to send it.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(e) = &s.endpoint {
            b = b.endpoint_url(e);
        }
        S3Store {
            client: Client::from_conf(b.build()),
            bucket: s.bucket.clone(),
            clock,
            inline_max: s.inline_max,
            signer: super::signer::Signer::derived(&s.secret_access_key),
        }
    }

    /// URLs signed now (by the state's clock) that work for `ttl`.
    fn presigning(&self, ttl: Duration) -> std::io::Result<PresigningConfig> {
        PresigningConfig::builder()
            .start_time(self.clock.now())
            .expires_in(ttl)
            .build()
            .map_err(err)
    }

    /// A pre-signed PUT of exactly `size` bytes (Content-Length is a signed header) to the
    /// upload's staging key; for a chunk of at most `inline_max` bytes, the API's own signed
    /// URL for that staging object instead (`blob::inline`).
    pub async fn put_url(
        &self,
        upload_id: &str,
        hash: &Hash,
        size: u32,
        ttl: Duration,
    ) -> std::io::Result<String> {
        if size <= self.inline_max {
            return Ok(self.signer.path(&super::signer::Grant {
                method: "PUT",
                object: &staging_key(upload_id, hash),
                expires_at: self.clock.now_ms() / 1000 + ttl.as_secs() as i64,
                max_bytes: size as u64,
            }));
        }
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(staging_key(upload_id, hash))
            .content_length(size as i64)
            .presigned(self.presigning(ttl)?)
            .await
            .map_err(err)?;
        Ok(req.uri().to_owned())
    }

    pub async fn get_url(&self, hash: &Hash, ttl: Duration) -> std::io::Result<String> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(chunk_key(hash))
            .presigned(self.presigning(ttl)?)
            .await
            .map_err(err)?;
        Ok(req.uri().to_owned())
    }

    /// Reads `len` bytes of a verified chunk from `offset` (the whole chunk when `None`).
    pub async fn read(&self, hash: &Hash, range: Option<(u64, u64)>) -> std::io::Result<Bytes> {
        let mut req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(chunk_key(hash));
        if let Some((offset, len)) = range {
            req = req.range(format!("bytes={}-{}", offset, offset + len - 1));
        }
        let out = req.send().await.map_err(err)?;
        Ok(out.body.collect().await.map_err(err)?.into_bytes())
    }

    pub async fn exists(&self, key: &str) -> std::io::Result<bool> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    /// Reads the staged object and checks its size and BLAKE3 hash; deletes it on a mismatch
    /// so it can never be promoted.
    pub async fn check_staged(
        &self,
        upload_id: &str,
        hash: &Hash,
        size: u32,
    ) -> std::io::Result<Staged> {
        let key = staging_key(upload_id, hash);
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Ok(Staged::Absent)
            }
            Err(e) => return Err(err(e)),
        };
        let etag = out.e_tag.clone().unwrap_or_default();
        let ok = if out.content_length != Some(size as i64) {
            false
        } else {
            let mut hasher = blake3::Hasher::new();
            let mut body = out.body;
            let mut got = 0u64;
            while let Some(piece) = body.try_next().await.map_err(err)? {
                got += piece.len() as u64;
                if got > size as u64 {
                    break;
                }
                hasher.update(&piece);
            }
            got == size as u64 && Hash(*hasher.finalize().as_bytes()) == *hash
        };
        if !ok {
            self.delete(&key).await?;
            return Ok(Staged::Mismatch);
        }
        Ok(Staged::Verified { etag })
    }

    /// Copies verified staged bytes to the chunk's key, only if the staged object is still the
    /// one that was hashed. Answers false if it changed or went in between.
    ///
    /// The copy runs even when the chunk is already stored (it replaces the object with the
    /// same bytes, both hashing to the name): skipping it made a commit of bytes someone else
    /// stores measurably faster, which told the committer what another user holds.
    pub async fn promote(&self, upload_id: &str, hash: &Hash, etag: &str) -> std::io::Result<bool> {
        let key = chunk_key(hash);
        let source = format!("{}/{}", self.bucket, staging_key(upload_id, hash));
        match self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(&key)
            .copy_source(source)
            .copy_source_if_match(etag)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // 412: replaced since it was hashed; 404: promoted and deleted meanwhile by another
            // check of the same upload (on another API node).
            Err(e)
                if e.raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 404 | 412)) =>
            {
                Ok(false)
            }
            Err(e) => Err(err(e)),
        }
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Deletes every object under `prefix` (an abandoned upload's staging area).
    pub async fn delete_prefix(&self, prefix: &str) -> std::io::Result<usize> {
        let mut deleted = 0;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(err)?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    self.delete(k).await?;
                    deleted += 1;
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(deleted),
            }
        }
    }

    /// The upload ids that have something under `staging/`.
    pub async fn staging_uploads(&self) -> std::io::Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix("staging/")
                .delimiter("/")
                .set_continuation_token(token)
                .send()
                .await
                .map_err(err)?;
            for p in page.common_prefixes() {
                if let Some(id) = p
                    .prefix()
                    .and_then(|p| p.strip_prefix("staging/"))
                    .and_then(|p| p.strip_suffix('/'))
                {
                    ids.push(id.to_owned());
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(ids),
            }
        }
    }

    /// Plain upload of bytes to a key (benchmarks and tests compare against this).
    pub async fn put_bytes(&self, key: &str, bytes: Bytes) -> std::io::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }
}
