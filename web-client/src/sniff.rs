//! A file's media type for its commit (`client_core::sniff`), for the page: it reads the first
//! bytes of a `File` (`SNIFF_BYTES`) and asks here once per upload.

use wasm_bindgen::prelude::*;

/// The type of a file called `name` whose first bytes are `first_bytes` (4096 are plenty):
/// magic numbers first, then the name's extension; `undefined` when neither says.
#[wasm_bindgen(js_name = sniffType)]
pub fn sniff_type(name: &str, first_bytes: &[u8]) -> Option<String> {
    client_core::sniff::sniff(name, first_bytes).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #[test]
    fn answers_what_the_core_does() {
        assert_eq!(
            super::sniff_type("photo", b"\x89PNG\r\n\x1a\n").as_deref(),
            Some("image/png")
        );
        assert_eq!(super::sniff_type("photo", b"plain"), None);
    }
}
