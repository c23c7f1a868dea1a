//! "Available offline" in storage: a pinned file is a small record in `pins` (its node and
//! ordered chunk list) and its bytes are chunks in `chunks`, keyed by BLAKE3 hash, so files
//! and versions that share chunks store them once and a re-pin after an edit fetches only the
//! chunks that changed. What is usable, stale or swept, and how a run ends, is
//! `client_core::pins`'s to decide; this file performs it, in the transactions that make it
//! safe:
//!
//! - a re-pin writes the new chunk list as `pending` beside the copy it replaces, before
//!   fetching anything, in the same transaction that asks which chunks are already held;
//! - every end of a run, and every unpin, sweeps in one transaction over both stores, keeping
//!   every chunk a record names, pending or current, so a sweep in another tab never takes a
//!   chunk from under a fetch and a failed re-pin leaves the old copy openable.

use client_core::pins::{self, Record, Settle};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag};

use super::app::db;
use super::{entries, request, transact, Mode, Tx};
use crate::client::from_js;

fn record(v: &JsValue) -> Result<Option<Record>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    Ok(Some(from_js(v)?))
}

fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &name.into()).unwrap_or_default()
}

/// Drops every chunk that no record, current or pending, names.
async fn sweep(tx: &Tx) -> Result<(), JsValue> {
    let (pins, chunks) = (tx.store("pins")?, tx.store("chunks")?);
    let (records, stored) = (pins.get_all()?, chunks.get_all_keys()?);
    let records: Vec<Record> = from_js(&request(&records).await?)?;
    let stored: Vec<String> = from_js(&request(&stored).await?)?;
    for h in pins::unnamed(&records, &stored) {
        chunks.delete(&h.into())?;
    }
    Ok(())
}

/// Names run `next` (`{node, chunks: [[hash, size]], key}`) as node `id`'s pending copy, before
/// anything is fetched; the hashes of its chunks this device already holds.
#[wasm_bindgen(js_name = pinBegin)]
pub async fn begin(id: JsValue, next: JsValue) -> Result<Array, JsValue> {
    let db = db().await?;
    transact(&db, &["pins", "chunks"], Mode::Strict, async |tx| {
        let (pins, chunks) = (tx.store("pins")?, tx.store("chunks")?);
        let old = request(&pins.get(&id)?).await?;
        let r = Object::new();
        if old.is_object() {
            Object::assign(&r, old.unchecked_ref());
        }
        Reflect::set(&r, &"pending".into(), &next)?;
        pins.put_with_key(&r, &id)?;
        let asks: Vec<_> = Array::from(&field(&next, "chunks"))
            .iter()
            .map(|c| chunks.get_key(&Array::from(&c).get(0)))
            .collect::<Result<_, _>>()?;
        let held = Array::new();
        for ask in asks {
            let h = request(&ask).await?;
            if !h.is_undefined() {
                held.push(&h);
            }
        }
        Ok(held)
    })
    .await
}

/// Keeps one fetched chunk. Written relaxed: the strict write that ends the run flushes it.
#[wasm_bindgen(js_name = pinChunk)]
pub async fn chunk(hash: String, bytes: Uint8Array) -> Result<(), JsValue> {
    let parts = Array::of1(&bytes);
    let blob = Blob::new_with_u8_array_sequence(&parts)?;
    let db = db().await?;
    transact(&db, &["chunks"], Mode::Relaxed, async |tx| {
        tx.store("chunks")?.put_with_key(&blob, &hash.into())?;
        Ok(())
    })
    .await
}

/// Ends pin run `next` (or a run that failed before it had a list: `null`) on node `id`: the
/// pending copy becomes current (`ok`) or is forgotten, unless the file was unpinned
/// meanwhile or another run took over; then sweeps.
#[wasm_bindgen(js_name = pinSettle)]
pub async fn settle(id: JsValue, next: JsValue, ok: bool) -> Result<(), JsValue> {
    let key = if next.is_object() {
        field(&next, "key").as_string()
    } else {
        None
    };
    let db = db().await?;
    transact(&db, &["pins", "chunks"], Mode::Strict, async |tx| {
        let pins_store = tx.store("pins")?;
        let old = request(&pins_store.get(&id)?).await?;
        match pins::settle(record(&old)?.as_ref(), key.as_deref(), ok) {
            Settle::Promote => {
                let r = Object::new();
                Reflect::set(&r, &"node".into(), &field(&next, "node"))?;
                Reflect::set(&r, &"chunks".into(), &field(&next, "chunks"))?;
                pins_store.put_with_key(&r, &id)?;
            }
            Settle::KeepOld => {
                let r = Object::assign(&Object::new(), old.unchecked_ref());
                Reflect::delete_property(&r, &"pending".into())?;
                pins_store.put_with_key(&r, &id)?;
            }
            Settle::Forget => {
                pins_store.delete(&id)?;
            }
            Settle::Leave => {}
        }
        sweep(tx).await
    })
    .await
}

#[wasm_bindgen]
pub async fn unpin(id: JsValue) -> Result<(), JsValue> {
    let db = db().await?;
    transact(&db, &["pins", "chunks"], Mode::Strict, async |tx| {
        tx.store("pins")?.delete(&id)?;
        sweep(tx).await
    })
    .await
}

/// Node `id`'s pinned record, if a copy is complete.
#[wasm_bindgen(js_name = pinnedCopy)]
pub async fn pinned(id: JsValue) -> Result<JsValue, JsValue> {
    let r = super::app::get("pins".into(), id).await?;
    let usable = record(&r)?.is_some_and(|r| r.usable());
    Ok(if usable { r } else { JsValue::UNDEFINED })
}

/// Every pins `[id, record]` with `keep(record)`.
async fn pinned_where(keep: impl Fn(&Record) -> bool) -> Result<Array, JsValue> {
    let db = db().await?;
    let all = transact(&db, &["pins"], Mode::Read, async |tx| {
        entries(&tx.store("pins")?).await
    })
    .await?;
    let mut out = Vec::new();
    for pair in all.iter() {
        let pair = Array::from(&pair);
        if record(&pair.get(1))?.is_some_and(|r| keep(&r)) {
            out.push(pair.get(0));
        }
    }
    Ok(out.into_iter().collect())
}

/// The ids of the files with a complete copy on this device.
#[wasm_bindgen(js_name = pinnedIds)]
pub async fn pinned_ids() -> Result<Array, JsValue> {
    pinned_where(Record::usable).await
}

/// The ids of files pinned whole by an older version of the app, to re-pin as chunks.
#[wasm_bindgen(js_name = wholePins)]
pub async fn whole() -> Result<Array, JsValue> {
    pinned_where(Record::whole).await
}

/// Those of `nodes` (listing rows) whose pinned copy is stale: another device changed them.
#[wasm_bindgen(js_name = stalePins)]
pub async fn stale(nodes: Array) -> Result<Array, JsValue> {
    let out = Array::new();
    for n in nodes.iter() {
        let r = super::app::get("pins".into(), field(&n, "id")).await?;
        let version = field(&n, "version_id").as_f64().map(|v| v as i64);
        if record(&r)?.is_some_and(|r| r.stale(version)) {
            out.push(&n);
        }
    }
    Ok(out)
}

/// The pinned file's bytes, reassembled from its chunks (a Blob of IndexedDB-backed Blobs:
/// nothing is read into memory until it is streamed out); a whole copy as it is.
#[wasm_bindgen(js_name = pinnedBlob)]
pub async fn blob(r: JsValue) -> Result<Blob, JsValue> {
    let chunks = field(&r, "chunks");
    if !chunks.is_object() {
        return field(&r, "blob").dyn_into();
    }
    let list = Array::from(&chunks);
    let db = db().await?;
    let parts = transact(&db, &["chunks"], Mode::Read, async |tx| {
        let store = tx.store("chunks")?;
        let asks: Vec<_> = list
            .iter()
            .map(|c| store.get(&Array::from(&c).get(0)))
            .collect::<Result<_, _>>()?;
        let parts = Array::new();
        for ask in asks {
            parts.push(&request(&ask).await?);
        }
        Ok(parts)
    })
    .await?;
    for (i, part) in parts.iter().enumerate() {
        let want = Array::from(&list.get(i as u32)).get(1).as_f64();
        let size = part.dyn_ref::<Blob>().map(Blob::size);
        if size.is_none() || size != want {
            let name = field(&field(&r, "node"), "name")
                .as_string()
                .unwrap_or_default();
            return Err(
                js_sys::Error::new(&format!("the offline copy of {name} is incomplete")).into(),
            );
        }
    }
    let bag = BlobPropertyBag::new();
    bag.set_type("application/octet-stream");
    Blob::new_with_blob_sequence_and_options(&parts, &bag)
}
