//! The chunker's committed test vectors (`wasm-chunker/tests/vectors.json`), checkable inside
//! the browser build: the browser test passes each case in and requires the wasm32 build to
//! make exactly the boundaries and hashes the native build made.

use wasm_bindgen::prelude::*;
use wasm_chunker::vectors::VectorCase;

fn parse(case_json: &str) -> Result<VectorCase, String> {
    serde_json::from_str(case_json).map_err(|e| format!("not a vector case: {e}"))
}

/// Regenerates a case's input from its seed and chunks it one-shot and streamed in several
/// slice sizes; returns an empty string when every run matches the expected manifest, and
/// otherwise what differs.
#[wasm_bindgen(js_name = checkVectorCase)]
pub fn check_vector_case(case_json: &str) -> String {
    match parse(case_json).and_then(|case| case.check()) {
        Ok(()) => String::new(),
        Err(e) => e,
    }
}

/// The input bytes of a case, so JS can stream them through a worker too.
#[wasm_bindgen(js_name = vectorInput)]
pub fn vector_input(case_json: &str) -> Result<Vec<u8>, JsError> {
    parse(case_json)
        .map(|case| case.input())
        .map_err(|e| JsError::new(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_a_case_and_reports_a_wrong_one() {
        let file: wasm_chunker::vectors::VectorFile =
            serde_json::from_str(include_str!("../../wasm-chunker/tests/vectors.json")).unwrap();
        let case = file
            .cases
            .iter()
            .find(|c| c.name == "small-mixed-64k")
            .unwrap();
        assert_eq!(check_vector_case(&serde_json::to_string(case).unwrap()), "");

        let mut wrong = case.clone();
        wrong.seed += 1;
        let err = check_vector_case(&serde_json::to_string(&wrong).unwrap());
        assert!(err.contains("small-mixed-64k"), "{err}");
        assert!(check_vector_case("{}").starts_with("not a vector case"));
    }
}
