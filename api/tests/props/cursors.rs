//! Cursors and paging parameters by property: whatever `/changes`, `/changes/ack` and
//! `/search` are handed (cursors truncated, edited, forged with a good check for another
//! account or a seq past the head, negative or huge or garbage numbers), they answer 200 with a
//! consistent page or a 4xx JSON error, and change nothing.

use api::db::changes::Position;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::json;

use crate::fixture::{Backend, TestServer, User};
use crate::support::{check, ensure, seq_of, Answer, Snapshot, Tally};

crate::both!(cursors_and_paging_answer_a_consistent_page_or_a_4xx);

/// How a cursor is made.
#[derive(Debug, Clone)]
enum Make {
    /// A real cursor at this seq (clamped to the head), perhaps edited at one byte.
    Real(i64, Option<(usize, char)>),
    /// A well-formed cursor with a good check, for `home` at `seq` (and others' seqs).
    Forged(Option<i64>, i64, Vec<(i64, i64)>),
    Garbage(String),
}

fn make() -> impl Strategy<Value = Make> {
    let seq = prop_oneof![
        Just(0i64),
        0i64..40,
        Just(i64::MAX),
        Just(-1),
        Just(i64::MIN)
    ];
    let edit = prop::option::of((
        any::<usize>(),
        prop::sample::select(&['0', 'f', '.', 'z', '-', '_', 'é'][..]),
    ));
    prop_oneof![
        2 => (0i64..40, edit).prop_map(|(s, e)| Make::Real(s, e)),
        2 => (
            prop::option::of(prop_oneof![Just(0i64), Just(-5), Just(i64::MAX), 1i64..10]),
            seq.clone(),
            prop::collection::vec((0i64..10, seq), 0..3),
        )
            .prop_map(|(h, s, o)| Make::Forged(h, s, o)),
        1 => prop_oneof![
            Just(String::new()),
            Just("v1".to_owned()),
            Just("v1...".to_owned()),
            Just("v2.1..00000000".to_owned()),
            Just("v1.1.1.1.1".to_owned()),
            "v[12]\\.[0-9a-f-]{0,20}\\.[0-9a-f_-]{0,40}\\.[0-9a-f]{0,9}",
            "\\PC{0,40}",
            Just("v1.".to_owned() + &"f".repeat(5000)),
        ]
        .prop_map(Make::Garbage),
    ]
}

fn number() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("-1".to_owned()),
        Just("1000".to_owned()),
        Just("1001".to_owned()),
        Just("200".to_owned()),
        Just("201".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("9223372036854775808".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("1e3".to_owned()),
        Just("".to_owned()),
        Just("abc".to_owned()),
        (1u32..60).prop_map(|n| n.to_string()),
    ])
}

#[derive(Debug, Clone)]
struct Ask {
    cursor: Option<Make>,
    limit: Option<String>,
    search: Vec<(&'static str, Option<String>)>,
}

fn ask() -> impl Strategy<Value = Ask> {
    let keys = prop::sample::select(
        &[
            "limit",
            "min_size",
            "max_size",
            "modified_after",
            "modified_before",
            "kind",
            "q",
        ][..],
    );
    (
        prop::option::of(make()),
        number(),
        prop::collection::vec((keys, number()), 0..4),
    )
        .prop_map(|(cursor, limit, search)| Ask {
            cursor,
            limit,
            search,
        })
}

fn cursor(m: &Make, u: &User<'_>, head: i64) -> String {
    match m {
        Make::Real(seq, edit) => {
            let home = u.session.namespace_id;
            let mut s = Position {
                home,
                seqs: [(home, (*seq).min(head))].into(),
            }
            .encode();
            if let Some((at, c)) = edit {
                let at = at % s.len();
                s.replace_range(at..at + 1, &c.to_string());
            }
            s
        }
        Make::Forged(home, seq, others) => {
            let home = home.unwrap_or(u.session.namespace_id);
            let mut seqs: std::collections::BTreeMap<i64, i64> = others.iter().copied().collect();
            seqs.insert(home, *seq);
            Position { home, seqs }.encode()
        }
        Make::Garbage(s) => s.clone(),
    }
}

async fn cursors_and_paging_answer_a_consistent_page_or_a_4xx(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let root = alice.session.root_id;
    // A log of some length, a folder shared with bob (a second namespace in alice's cursor).
    for i in 0..12 {
        alice.mkdir(root, &format!("d{i}")).await;
    }
    alice.upload_file("a.txt", b"a", None).await;
    let shared = alice.mkdir(root, "shared").await.id;
    crate::fixture::share_with(&alice, shared, &bob, "bob", "editor", true).await;
    alice.mkdir(shared, "inside").await;
    let u = &alice;
    let before = Snapshot::of(u, root).await;
    let before = &before;
    let head = before.head;
    let tally = Tally::default();
    let tally = &tally;
    check("cursors", 96, ask(), |a| async move {
        let cur = a.cursor.as_ref().map(|m| cursor(m, u, head));
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(c) = &cur {
            q.push(("cursor", c.clone()));
        }
        if let Some(l) = &a.limit {
            q.push(("limit", l.clone()));
        }
        let http = &u.server.http;
        let token = &u.session.token;
        let r = http
            .get(u.server.url("/api/v1/changes"))
            .bearer_auth(token)
            .query(&q)
            .send()
            .await
            .unwrap();
        let r = Answer::of(r).await;
        if r.ok() {
            tally.accepted();
            let page: wire::ChangesResponse = serde_json::from_str(&r.text).unwrap();
            let from = cur.as_deref().and_then(Position::decode);
            let mut last = std::collections::BTreeMap::<i64, i64>::new();
            for ch in &page.changes {
                let floor = from
                    .as_ref()
                    .and_then(|p| p.seqs.get(&ch.namespace_id).copied())
                    .unwrap_or(0);
                ensure!(
                    ch.seq > floor,
                    "{a:?}: change {} at or before the cursor",
                    ch.seq
                );
                let prev = last.insert(ch.namespace_id, ch.seq).unwrap_or(floor);
                ensure!(ch.seq > prev, "{a:?}: seqs out of order in {}", r.text);
            }
            let next = Position::decode(&page.cursor);
            ensure!(
                next.is_some(),
                "{a:?}: the next cursor {:?} does not decode",
                page.cursor
            );
            ensure!(seq_of(&page.cursor) <= head, "{a:?}: cursor past the head");
            ensure!(
                page.has_more || seq_of(&page.cursor) == head,
                "{a:?}: the last page ends at {}, not the head {head}",
                seq_of(&page.cursor)
            );
        } else {
            tally.refused();
            let code = r.refusal("changes")?;
            ensure!(
                ["bad_request", "cursor_reset"].contains(&code.as_str()),
                "{a:?}: {code}"
            );
        }
        // The same cursor acknowledged.
        if let Some(c) = &cur {
            let r = u
                .call(
                    Method::POST,
                    "/api/v1/changes/ack",
                    Some(json!({ "cursor": c })),
                )
                .await;
            let r = Answer::of(r).await;
            if !r.ok() {
                r.refusal("ack")?;
            }
        }
        // Search with the same numbers.
        let r = http
            .get(u.server.url("/api/v1/search"))
            .bearer_auth(token)
            .query(
                &a.search
                    .iter()
                    .filter_map(|(k, v)| Some((*k, v.clone()?)))
                    .collect::<Vec<_>>(),
            )
            .send()
            .await
            .unwrap();
        let r = Answer::of(r).await;
        if r.ok() {
            let found: wire::SearchResponse = serde_json::from_str(&r.text).unwrap();
            ensure!(
                found.results.len() <= 200,
                "{a:?}: {} results",
                found.results.len()
            );
        } else {
            r.refusal("search")?;
        }
        before.unchanged(&Snapshot::of(u, root).await, "a read")?;
        Ok(())
    });
    tally.saw_both("cursors on /changes");
}
