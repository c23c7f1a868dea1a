//! What every property here shares: a deterministic proptest runner driving async cases on the
//! test's runtime, a snapshot of what a caller can see (to say "nothing changed"), and the
//! shape of a refusal.

use std::future::Future;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use reqwest::{Method, Response};
use serde_json::Value;

use crate::fixture::User;

/// Runs `case` (async, against the live server) on `cases` values drawn from `strategy` with a
/// fixed seed (the same values every run; a failure is shrunk and printed). The cases run on the
/// test's multi-threaded runtime. `CAIRN_PROPS_SCALE=n` runs n times as many cases and
/// `CAIRN_PROPS_SEED=s` draws others, to look further than the test command does.
pub fn check<S, F, Fut>(what: &str, cases: u32, strategy: S, case: F)
where
    S: Strategy,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    let config = Config {
        cases: cases * env("CAIRN_PROPS_SCALE").unwrap_or(1).max(1),
        failure_persistence: None,
        max_shrink_iters: 200,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let mut seed = [0u8; 32];
    for (i, b) in what.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    let other = env("CAIRN_PROPS_SEED").unwrap_or(0).to_le_bytes();
    for (s, o) in seed[28..].iter_mut().zip(other) {
        *s ^= o;
    }
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let handle = tokio::runtime::Handle::current();
    let result =
        tokio::task::block_in_place(|| runner.run(&strategy, |v| handle.block_on(case(v))));
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
}

/// Fails the case with `msg` unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(proptest::test_runner::TestCaseError::fail(format!($($msg)+)));
        }
    };
}
pub(crate) use ensure;

/// An answer's status and body, read whole.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    pub async fn of(r: Response) -> Answer {
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = r.text().await.unwrap_or_default();
        Answer {
            status,
            content_type,
            text,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A refusal as the API promises one: a 4xx (never a 5xx), JSON `{"error": {"code",
    /// "message"}}` with a code of `wire::ErrorCode`. Gives the code.
    pub fn refusal(&self, what: &str) -> Result<String, TestCaseError> {
        ensure!(
            (400..500).contains(&self.status),
            "{what}: expected a 4xx, got {} {}",
            self.status,
            self.text
        );
        ensure!(
            self.content_type == "application/json",
            "{what}: a {} answered as {:?}",
            self.status,
            self.content_type
        );
        let v = self.json();
        let code = v["error"]["code"].as_str().unwrap_or("").to_owned();
        ensure!(
            wire::ErrorCode::ALL.iter().any(|c| c.as_str() == code),
            "{what}: undocumented error code in {}",
            self.text
        );
        ensure!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: no message in {}",
            self.text
        );
        Ok(code)
    }
}

/// How many cases of a property were accepted and how many refused: printed at the end, and a
/// property that saw only one side fails (its strategy no longer tests what it claims to).
#[derive(Default)]
pub struct Tally {
    accepted: std::sync::atomic::AtomicU32,
    refused: std::sync::atomic::AtomicU32,
}

impl Tally {
    pub fn accepted(&self) {
        self.accepted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn refused(&self) {
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn saw_both(&self, what: &str) {
        let a = self.accepted.load(std::sync::atomic::Ordering::Relaxed);
        let r = self.refused.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("{what}: {a} accepted, {r} refused");
        assert!(a > 0 && r > 0, "{what}: {a} accepted, {r} refused");
    }
}

/// A request as the user, answered whole.
pub async fn call(u: &User<'_>, method: Method, path: &str, body: Option<Value>) -> Answer {
    Answer::of(u.call(method, path, body).await).await
}

/// The seq of the caller's own tree a `v1` cursor stands at.
pub fn seq_of(cursor: &str) -> i64 {
    api::db::changes::Position::decode(cursor)
        .map(|p| p.seqs.get(&p.home).copied().unwrap_or(0))
        .unwrap_or(-1)
}

/// What a user can see of their account: the tree below folder `scope` (ids, places, names,
/// versions; the root for all of it), the head of the change feed (which any change to any
/// part of the tree moves), usage, the trash, links and shares. Equal before and after a
/// refused request, or the refusal changed something.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub tree: Vec<String>,
    pub head: i64,
    pub usage: [u64; 4],
    pub trash: Vec<i64>,
    pub links: usize,
    pub shares: usize,
}

impl Snapshot {
    pub async fn of(u: &User<'_>, scope: i64) -> Snapshot {
        let mut tree = Vec::new();
        let mut folders = vec![scope];
        while let Some(f) = folders.pop() {
            let l: wire::Listing = u
                .ok(Method::GET, &format!("/api/v1/nodes/{f}/children"), None)
                .await;
            for n in l.children {
                if n.kind == wire::NodeKind::Folder {
                    folders.push(n.id);
                }
                tree.push(format!(
                    "{} in {:?}: {:?} v{:?} {}",
                    n.id, n.parent_id, n.name, n.version_id, n.size
                ));
            }
        }
        tree.sort();
        let latest: wire::ChangesResponse = u.ok(Method::GET, "/api/v1/changes/latest", None).await;
        let me: wire::MeResponse = u.ok(Method::GET, "/api/v1/me", None).await;
        let trash: wire::TrashList = u.ok(Method::GET, "/api/v1/trash", None).await;
        let links: Value = u.ok(Method::GET, "/api/v1/links", None).await;
        let shares: Value = u.ok(Method::GET, "/api/v1/shares", None).await;
        Snapshot {
            tree,
            head: seq_of(&latest.cursor),
            usage: [
                me.used_bytes,
                me.files_bytes,
                me.versions_bytes,
                me.uploads_bytes,
            ],
            trash: trash.items.iter().map(|i| i.node.id).collect(),
            links: links["links"].as_array().map_or(0, Vec::len),
            shares: shares["shares"].as_array().map_or(0, Vec::len),
        }
    }

    /// Fails the case when `after` differs from `self`.
    pub fn unchanged(&self, after: &Snapshot, what: &str) -> Result<(), TestCaseError> {
        ensure!(
            self == after,
            "{what} was refused but changed the account:\nbefore {self:?}\nafter  {after:?}"
        );
        Ok(())
    }
}

/// The head seq of the caller's own tree.
pub async fn head(u: &User<'_>) -> i64 {
    let latest: wire::ChangesResponse = u.ok(Method::GET, "/api/v1/changes/latest", None).await;
    seq_of(&latest.cursor)
}
