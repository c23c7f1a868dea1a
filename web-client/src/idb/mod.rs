//! IndexedDB as futures: the page's durable memory, opened, read and written from Rust so the
//! rules about what is kept (strict durability for anything whose loss would lose a change,
//! one transaction where a sweep must not race a fetch) live beside the decisions they serve.
//!
//! A request or a transaction becomes a `Promise` whose resolve and reject are the browser's
//! own callbacks (no Rust closure to keep alive per request). `wasm-bindgen-futures` polls the
//! awaiting task in the same microtask checkpoint that the success event ends with, so a
//! transaction stays active across `.await`s on its own requests, as it does for `await` in
//! JS; awaiting anything else inside a transaction lets it commit early.
//!
//! `app` is the account's database, `drops` the file-request drop page's.

pub mod app;
pub mod drops;
mod pins;

use std::cell::RefCell;
use std::collections::HashMap;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_events::EventListener;
use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbFactory, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction,
    IdbVersionChangeEvent,
};

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase` again, for the one method web-sys binds only behind its unstable-API
    /// flag: `transaction(stores, mode, {durability})`.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type Database;
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with(
        this: &Database,
        stores: &Array,
        mode: &str,
        options: &Object,
    ) -> Result<IdbTransaction, JsValue>;
}

/// How a transaction may touch its stores, and how hard a write is flushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Read,
    /// Written through to disk before the transaction completes (Chromium defaults to
    /// relaxed, which may drop the last writes on a power cut).
    Strict,
    /// Flushed whenever the browser likes: data that can be fetched again.
    Relaxed,
}

impl Mode {
    /// `"strict"` unless told `"relaxed"`: what the page passes.
    pub fn write(durability: Option<&str>) -> Mode {
        match durability {
            Some("relaxed") => Mode::Relaxed,
            _ => Mode::Strict,
        }
    }
}

/// A database's schema step: called in `upgradeneeded` with the database, the upgrade's
/// transaction and the version it had.
pub type Upgrade = fn(&IdbDatabase, &IdbTransaction, f64) -> Result<(), JsValue>;

type Opening = Shared<LocalBoxFuture<'static, Result<IdbDatabase, JsValue>>>;

thread_local! {
    /// One connection per database and page (or worker), opened on first use.
    static OPEN: RefCell<HashMap<&'static str, Opening>> = RefCell::new(HashMap::new());
}

/// The database `name` at `version`, opened (and upgraded) once and then shared. When a newer
/// version of the app in another tab wants to upgrade, the connection closes so it can; the
/// next call opens it again.
pub async fn open(
    name: &'static str,
    version: u32,
    upgrade: Upgrade,
) -> Result<IdbDatabase, JsValue> {
    let opening = OPEN.with(|o| {
        o.borrow_mut()
            .entry(name)
            .or_insert_with(|| connect(name, version, upgrade).boxed_local().shared())
            .clone()
    });
    let db = opening.await;
    if db.is_err() {
        OPEN.with(|o| o.borrow_mut().remove(name));
    }
    db
}

async fn connect(
    name: &'static str,
    version: u32,
    upgrade: Upgrade,
) -> Result<IdbDatabase, JsValue> {
    let factory: IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())?.dyn_into()?;
    let req: IdbOpenDbRequest = factory.open_with_u32(name, version)?;
    // Listens until the open is over (dropped at the end of this function).
    let _upgrading = EventListener::once(&req, "upgradeneeded", {
        let req = req.clone();
        move |ev| {
            let run = || -> Result<(), JsValue> {
                let old = ev.unchecked_ref::<IdbVersionChangeEvent>().old_version();
                let db: IdbDatabase = req.result()?.dyn_into()?;
                let tx = req.transaction().ok_or("no upgrade transaction")?;
                upgrade(&db, &tx, old)
            };
            if let Err(e) = run() {
                web_sys::console::error_2(&"IndexedDB upgrade failed".into(), &e);
            }
        }
    });
    let db: IdbDatabase = request(&req).await?.dyn_into()?;
    // Lives as long as the connection.
    EventListener::once(&db, "versionchange", {
        let db = db.clone();
        move |_| {
            db.close();
            OPEN.with(|o| o.borrow_mut().remove(name));
        }
    })
    .forget();
    Ok(db)
}

/// The result of `req`, once it succeeds.
pub async fn request(req: &IdbRequest) -> Result<JsValue, JsValue> {
    let settled = Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    match JsFuture::from(settled).await {
        Ok(_) => req.result(),
        Err(_) => Err(req
            .error()
            .ok()
            .flatten()
            .map(JsValue::from)
            .unwrap_or_else(|| js_sys::Error::new("IndexedDB request failed").into())),
    }
}

/// One transaction over some stores of a database.
pub struct Tx {
    tx: IdbTransaction,
    done: JsFuture,
}

impl Tx {
    pub fn begin(db: &IdbDatabase, stores: &[&str], mode: Mode) -> Result<Tx, JsValue> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let options = Object::new();
        let (mode, durability) = match mode {
            Mode::Read => ("readonly", "default"),
            Mode::Strict => ("readwrite", "strict"),
            Mode::Relaxed => ("readwrite", "relaxed"),
        };
        Reflect::set(&options, &"durability".into(), &durability.into())?;
        let tx = db
            .unchecked_ref::<Database>()
            .transaction_with(&names, mode, &options)?;
        let done = JsFuture::from(Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onerror(Some(&reject));
            tx.set_onabort(Some(&reject));
        }));
        Ok(Tx { tx, done })
    }

    pub fn store(&self, name: &str) -> Result<IdbObjectStore, JsValue> {
        self.tx.object_store(name)
    }

    /// Resolves once everything written has committed.
    pub async fn done(self) -> Result<(), JsValue> {
        match self.done.await {
            Ok(_) => Ok(()),
            Err(_) => Err(self
                .tx
                .error()
                .map(JsValue::from)
                .unwrap_or_else(|| js_sys::Error::new("IndexedDB transaction aborted").into())),
        }
    }

    /// Gives up: nothing written in it is kept. Hands `e` back once the abort is over.
    pub async fn fail(self, e: JsValue) -> JsValue {
        let _ = self.tx.abort(); // already finished, if it fails
        let _ = self.done.await;
        e
    }
}

/// Runs `body` in a transaction and commits it; a failing body aborts it.
pub async fn transact<T, F>(
    db: &IdbDatabase,
    stores: &[&str],
    mode: Mode,
    body: F,
) -> Result<T, JsValue>
where
    F: AsyncFnOnce(&Tx) -> Result<T, JsValue>,
{
    let tx = Tx::begin(db, stores, mode)?;
    match body(&tx).await {
        Ok(v) => {
            tx.done().await?;
            Ok(v)
        }
        Err(e) => Err(tx.fail(e).await),
    }
}

/// Every `[key, value]` of `store`, in key order.
pub async fn entries(store: &IdbObjectStore) -> Result<Array, JsValue> {
    let (keys, values) = (store.get_all_keys()?, store.get_all()?);
    let keys: Array = request(&keys).await?.dyn_into()?;
    let values: Array = request(&values).await?.dyn_into()?;
    Ok(keys
        .iter()
        .zip(values.iter())
        .map(|(k, v)| JsValue::from(Array::of2(&k, &v)))
        .collect())
}
