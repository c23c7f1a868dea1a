//! What the drop page of a file request keeps so a reload resumes: one record per started
//! file (the File itself, its manifest, the upload id, where it goes, who sends it and a hash
//! of the link's token, never the token), written strictly before any chunk is sent and
//! removed once the file has landed. A database of its own (`cairn-drops`): a visitor's drops
//! have nothing to do with an account's data, and signing in to the app (which clears the
//! account's database) must not lose them.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbTransaction};

use super::{entries, open, transact, Mode};

const NAME: &str = "cairn-drops";
const STORE: &str = "drops";

fn upgrade(db: &IdbDatabase, _: &IdbTransaction, _: f64) -> Result<(), JsValue> {
    db.create_object_store(STORE)?;
    Ok(())
}

async fn db() -> Result<IdbDatabase, JsValue> {
    open(NAME, 1, upgrade).await
}

#[wasm_bindgen(js_name = dropSave)]
pub async fn save(id: JsValue, record: JsValue) -> Result<(), JsValue> {
    let db = db().await?;
    transact(&db, &[STORE], Mode::Strict, async |tx| {
        tx.store(STORE)?.put_with_key(&record, &id)?;
        Ok(())
    })
    .await
}

#[wasm_bindgen(js_name = dropForget)]
pub async fn forget(id: JsValue) -> Result<(), JsValue> {
    let db = db().await?;
    transact(&db, &[STORE], Mode::Strict, async |tx| {
        tx.store(STORE)?.delete(&id)?;
        Ok(())
    })
    .await
}

/// Every `[id, record]` started through the link whose token hashes to `link`, oldest first.
#[wasm_bindgen(js_name = dropPending)]
pub async fn pending(link: String) -> Result<Array, JsValue> {
    let db = db().await?;
    let all = transact(&db, &[STORE], Mode::Read, async |tx| {
        entries(&tx.store(STORE)?).await
    })
    .await?;
    let field = |pair: &JsValue, name: &str| {
        Reflect::get(
            &Reflect::get(pair, &1.into()).unwrap_or_default(),
            &name.into(),
        )
        .unwrap_or_default()
    };
    let mut mine: Vec<JsValue> = all
        .iter()
        .filter(|pair| field(pair, "link").as_string().as_deref() == Some(link.as_str()))
        .collect();
    mine.sort_by(|a, b| {
        let at = |p: &JsValue| field(p, "at").as_f64().unwrap_or(0.0);
        at(a).total_cmp(&at(b))
    });
    Ok(mine.into_iter().collect())
}
