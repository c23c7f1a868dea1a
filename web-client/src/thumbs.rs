//! A version's thumbnail over the API: the page draws it in the browser (`www/js/thumbs.js`)
//! and hands the image here to store; a grid reads it back as a `Blob` for an object URL, since
//! the page's requests carry a bearer token an `<img src>` could not.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::client::Client;
use crate::http::{self, Body, Failure};

impl Client {
    fn thumbnail_url(&self, node_id: f64, version_id: f64) -> String {
        self.url(
            &wire::paths::NODE_VERSION_THUMBNAIL
                .replace("{id}", &(node_id as i64).to_string())
                .replace("{version_id}", &(version_id as i64).to_string()),
        )
    }
}

#[wasm_bindgen]
impl Client {
    /// Stores `image` (a WebP or JPEG `Blob`, its `type` sent as the `Content-Type`, at most
    /// 64 KiB) as the thumbnail of version `version_id` of file `node_id`; sent again, it
    /// replaces it. One try: a thumbnail is never required, so the caller only logs a failure.
    #[wasm_bindgen(js_name = putThumbnail)]
    pub async fn put_thumbnail(
        &self,
        node_id: f64,
        version_id: f64,
        image: web_sys::Blob,
    ) -> Result<(), JsValue> {
        let url = self.thumbnail_url(node_id, version_id);
        http::send("PUT", &url, self.token.as_deref(), Body::Blob(&image)).await?;
        Ok(())
    }

    /// The thumbnail of version `version_id` of file `node_id` as a `Blob` (the browser's HTTP
    /// cache keeps it: its URL's bytes never change); an error with `status` 404 when there is
    /// none.
    pub async fn thumbnail(&self, node_id: f64, version_id: f64) -> Result<web_sys::Blob, JsValue> {
        let url = self.thumbnail_url(node_id, version_id);
        let r = http::send("GET", &url, self.token.as_deref(), Body::None).await?;
        let p = r.blob().map_err(Failure::network)?;
        let b = JsFuture::from(p).await.map_err(Failure::network)?;
        Ok(b.unchecked_into())
    }

    /// The thumbnail rules the page draws by: `{maxBytes, maxSide, types}`.
    #[wasm_bindgen(js_name = thumbnailRules)]
    pub fn thumbnail_rules() -> JsValue {
        http::to_js(&serde_json::json!({
            "maxBytes": wire::thumbnails::MAX_BYTES,
            "maxSide": wire::thumbnails::MAX_SIDE,
            "types": wire::thumbnails::TYPES,
        }))
    }
}
