//! Opening an upload, inline or through a manifest draft. A manifest past
//! `wire::manifest_parts::INLINE_MAX_CHUNKS` chunks (a file of ~8 GiB and more) is too large to
//! send in one request at the chunk limit, so it goes as a draft: its head, then its chunk
//! list in the parts the server asks for (two on the wire at once, each retried; a part sent
//! twice is accepted), then the upload start naming the draft. Once the upload is open the
//! page keeps its id as for any upload, so a reload resumes it as always; a reload while the
//! parts are on the wire starts again with a new draft (the old one expires on the server).

use futures::{StreamExt, TryStreamExt};
use wire::manifest_parts::{self, ManifestDraft};
use wire::{paths, CreateUploadRequest, Manifest, UploadResponse};

use crate::client::Client;
use crate::http::{self, Body, Failure};

/// Parts of one draft on the wire at once: enough to keep the line busy while the server
/// checks and stores one, few enough not to crowd the chunk transfers of other files.
const PARTS_AT_ONCE: usize = 2;

impl Client {
    /// `POST /api/v1/uploads` for `manifest`, through a draft when it goes in parts.
    pub(crate) async fn open_upload(&self, manifest: &Manifest) -> Result<UploadResponse, Failure> {
        if !manifest_parts::goes_in_parts(manifest) {
            let req = CreateUploadRequest::inline(manifest.clone());
            return self.with_retries(|| self.post(paths::UPLOADS, &req)).await;
        }
        // A start whose answer was lost finds its draft used up when retried (404), and a
        // draft can expire while its parts go (410): one more draft, from the start.
        let mut tries = 0;
        loop {
            tries += 1;
            match self.open_drafted(manifest).await {
                Err(e) if tries < 2 && matches!(e.status, 404 | 410) => continue,
                other => return other,
            }
        }
    }

    async fn open_drafted(&self, manifest: &Manifest) -> Result<UploadResponse, Failure> {
        let head = manifest_parts::draft_request(manifest);
        let draft: ManifestDraft = self
            .with_retries(|| self.post(paths::MANIFESTS, &head))
            .await?;
        futures::stream::iter(0..draft.parts)
            .map(|n| self.send_part(&draft, manifest, n))
            .buffer_unordered(PARTS_AT_ONCE)
            .try_collect::<()>()
            .await?;
        let req = CreateUploadRequest::drafted(draft.id);
        self.with_retries(|| self.post(paths::UPLOADS, &req)).await
    }

    async fn send_part(
        &self,
        draft: &ManifestDraft,
        manifest: &Manifest,
        n: u32,
    ) -> Result<(), Failure> {
        let path = paths::MANIFEST_PART
            .replace("{id}", &draft.id)
            .replace("{n}", &n.to_string());
        let body = http::to_json(&manifest_parts::part(manifest, n, draft.part_chunks));
        let url = self.url(&path);
        self.with_retries(|| async {
            http::send("PUT", &url, self.token.as_deref(), Body::Json(body.clone()))
                .await
                .map(|_| ())
        })
        .await
    }

    /// Cancels uploads this client opened for a start that failed as a whole (a batch whose
    /// drafted manifest was refused after the rest had opened), so none holds a reservation
    /// until it expires. Only a courtesy: a failure is ignored (they expire anyway).
    pub(crate) async fn cancel_opened(&self, opened: &[UploadResponse]) {
        for up in opened {
            let url = self.url(&format!("{}/{}", paths::UPLOADS, up.upload_id));
            let _ = http::send("DELETE", &url, self.token.as_deref(), Body::None).await;
        }
    }
}
