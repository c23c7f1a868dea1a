//! The account's database (`cairn`): upload sessions (with their File, so a reload resumes
//! without a re-pick), the last known listing of every folder seen, the change-feed cursor,
//! the outbox of offline operations, and the files kept "available offline" (`pins`, one
//! record per file, and `chunks`, their bytes once per hash). Everything whose loss would lose
//! a user's change is written strictly.
//!
//! The page reads and writes records through these few calls; the pins' transactions, where
//! the order of reads and writes is the rule, are `pins`'s.

use js_sys::{Array, Date, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbObjectStoreParameters, IdbTransaction};

use super::{entries, open, request, transact, Mode};

const NAME: &str = "cairn";
const VERSION: u32 = 2;
pub(super) const STORES: [&str; 6] = ["uploads", "listings", "meta", "outbox", "pins", "chunks"];

fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, old: f64) -> Result<(), JsValue> {
    // Version 1 kept each pinned file whole, `{node, blob}` in `offline`. Renamed, those
    // records stay openable until they are re-pinned as chunks.
    if old < 2.0 && db.object_store_names().contains("offline") {
        tx.object_store("offline")?.set_name("pins");
    }
    for s in STORES {
        if db.object_store_names().contains(s) {
            continue;
        }
        if s == "outbox" {
            let p = IdbObjectStoreParameters::new();
            p.set_key_path(&"seq".into());
            p.set_auto_increment(true);
            db.create_object_store_with_optional_parameters(s, &p)?;
        } else {
            db.create_object_store(s)?;
        }
    }
    Ok(())
}

pub(super) async fn db() -> Result<IdbDatabase, JsValue> {
    open(NAME, VERSION, upgrade).await
}

/// Writes `value` under `key` (none for a store that keys its records itself) in `store`;
/// strictly unless `durability` is `"relaxed"`.
#[wasm_bindgen(js_name = storePut)]
pub async fn put(
    store: String,
    key: JsValue,
    value: JsValue,
    durability: Option<String>,
) -> Result<(), JsValue> {
    let db = db().await?;
    transact(
        &db,
        &[&store],
        Mode::write(durability.as_deref()),
        async |tx| {
            let s = tx.store(&store)?;
            if key.is_undefined() {
                s.put(&value)?;
            } else {
                s.put_with_key(&value, &key)?;
            }
            Ok(())
        },
    )
    .await
}

/// Writes every `[key, value]` of `puts`, then deletes every key of `deletes`, in `store` in one
/// transaction: strictly unless `durability` is `"relaxed"`. Many uploads starting at once then
/// cost one flush to disk instead of one each; the page's `store.js` gathers them. A failing
/// write aborts the transaction, so either all of them are kept or none.
#[wasm_bindgen(js_name = storeWriteMany)]
pub async fn write_many(
    store: String,
    puts: Array,
    deletes: Array,
    durability: Option<String>,
) -> Result<(), JsValue> {
    let db = db().await?;
    transact(
        &db,
        &[&store],
        Mode::write(durability.as_deref()),
        async |tx| {
            let s = tx.store(&store)?;
            for pair in puts.iter() {
                let pair: &Array = pair.unchecked_ref();
                s.put_with_key(&pair.get(1), &pair.get(0))?;
            }
            for key in deletes.iter() {
                s.delete(&key)?;
            }
            Ok(())
        },
    )
    .await
}

/// The record under `key` in `store`, or `undefined`.
#[wasm_bindgen(js_name = storeGet)]
pub async fn get(store: String, key: JsValue) -> Result<JsValue, JsValue> {
    let db = db().await?;
    transact(&db, &[&store], Mode::Read, async |tx| {
        request(&tx.store(&store)?.get(&key)?).await
    })
    .await
}

#[wasm_bindgen(js_name = storeDelete)]
pub async fn delete(store: String, key: JsValue) -> Result<(), JsValue> {
    let db = db().await?;
    transact(&db, &[&store], Mode::Strict, async |tx| {
        tx.store(&store)?.delete(&key)?;
        Ok(())
    })
    .await
}

/// Every `[key, value]` of `store`, in key order.
#[wasm_bindgen(js_name = storeEntries)]
pub async fn all(store: String) -> Result<Array, JsValue> {
    let db = db().await?;
    transact(&db, &[&store], Mode::Read, async |tx| {
        entries(&tx.store(&store)?).await
    })
    .await
}

/// Forgets everything this device kept (signing out, or another user signing in).
#[wasm_bindgen(js_name = storeClear)]
pub async fn clear() -> Result<(), JsValue> {
    let db = db().await?;
    transact(&db, &STORES, Mode::Strict, async |tx| {
        for s in STORES {
            tx.store(s)?.clear()?;
        }
        Ok(())
    })
    .await
}

/// Appends `op` to the outbox (stamped with when it was queued); its sequence number.
#[wasm_bindgen(js_name = outboxAdd)]
pub async fn enqueue(op: JsValue) -> Result<JsValue, JsValue> {
    let record = Object::assign(&Object::new(), op.unchecked_ref());
    Reflect::set(&record, &"queued_at".into(), &Date::now().into())?;
    let db = db().await?;
    transact(&db, &["outbox"], Mode::Strict, async |tx| {
        request(&tx.store("outbox")?.add(&record)?).await
    })
    .await
}

/// The outbox's operations, oldest first (each with its `seq`).
#[wasm_bindgen(js_name = outboxAll)]
pub async fn outbox() -> Result<Array, JsValue> {
    let db = db().await?;
    transact(&db, &["outbox"], Mode::Read, async |tx| {
        let all = request(&tx.store("outbox")?.get_all()?).await?;
        Ok(all.into())
    })
    .await
}
