//! Names through the API, by property: every way a name comes in (a new folder, a rename, a
//! commit) gives the verdict of `wire::names::check` — accepted as its NFC form, listed and
//! read back as that, one change logged; or `400 invalid_name` with nothing changed — and two
//! names collide in a folder exactly when their keys are equal (`409 name_taken`).

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use reqwest::Method;
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use crate::fixture::{Backend, TestServer, User};
use crate::support::{call, check, ensure, head, Snapshot, Tally};

crate::both!(nasty_names_are_accepted_as_their_nfc_form_or_refused_with_nothing_changed);
crate::both!(names_collide_exactly_when_their_keys_are_equal);

/// The characters and pieces the rules are about, and a few that only look like trouble.
const NASTY: &[&str] = &[
    "..",
    ".",
    "\\",
    "/",
    "\0",
    "\u{1}",
    "\u{7F}",
    "\u{202E}",
    "\u{200E}",
    "\u{2066}",
    "\u{061C}",
    "\u{200B}",
    "\u{200D}",
    "\u{200C}",
    "\u{FEFF}",
    "\u{2028}",
    "\u{AD}",
    "\u{3164}",
    ":",
    "*",
    "?",
    "\"",
    "<",
    ">",
    "|",
    "CON",
    "con",
    "Nul",
    "COM1",
    "lpt9",
    "com¹",
    "CONIN$",
    "e\u{301}",
    "é",
    "ß",
    "SS",
    "ẞ",
    "\u{212A}",
    "K",
    "Å",
    "\u{212B}",
    "A\u{30A}",
    "❤\u{FE0F}",
    "👨\u{200D}👩",
    "\u{FE0F}",
    " ",
    "\t",
    "\u{A0}",
    "\u{FFFF}",
    "\u{FDD0}",
    "🏴\u{E0067}\u{E0062}\u{E007F}",
    "\u{E0067}",
    "\u{E007F}",
    "σ",
    "ς",
    "Σ",
    "ﬁ",
    "İ",
    "ı",
    "日本",
    "\u{E000}",
    "%2F",
    "~",
    "$",
    "'",
];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NASTY).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9._ -]{1,6}",
    ]
}

/// A name at the 255-byte limit, a little under or over it, in characters of 1 to 4 bytes
/// (NFD forms are longer than their NFC, which is what the limit counts).
fn long_name() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["a", "é", "e\u{301}", "日", "😀", "A\u{30A}"][..]),
        240usize..270,
        prop::sample::select(&["", ".txt", ".tar.gz"][..]),
    )
        .prop_map(|(c, bytes, ext)| {
            let nfc_len = c.nfc().collect::<String>().len();
            let n = bytes.saturating_sub(ext.len()) / nfc_len;
            format!("{}{ext}", c.repeat(n))
        })
}

fn nasty_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(piece(), 1..5).prop_map(|v| v.concat()),
        1 => long_name(),
    ]
}

/// A new folder for one case, so no case sees another's names.
pub async fn scratch(u: &User<'_>, parent: i64) -> i64 {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    u.mkdir(parent, &format!("case§{n}")).await.id
}

async fn nasty_names_are_accepted_as_their_nfc_form_or_refused_with_nothing_changed(
    backend: Backend,
) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let data = b"the same bytes for every case: uploaded once, then known";
    let u = &alice;
    let tally = Tally::default();
    let tally = &tally;
    check("names", 48, nasty_name(), |raw| async move {
        let verdict = wire::names::check(&raw);
        let p = scratch(u, root).await;
        let victim = u.mkdir(p, "victim§").await.id;
        let q = u.mkdir(p, "files§").await.id;

        // A rename.
        let before = Snapshot::of(u, p).await;
        let r = call(
            u,
            Method::PATCH,
            &format!("/api/v1/nodes/{victim}"),
            Some(json!({ "name": raw })),
        )
        .await;
        match &verdict {
            Ok(name) => {
                tally.accepted();
                ensure!(
                    r.status == 200,
                    "rename to {raw:?}: {} {}",
                    r.status,
                    r.text
                );
                let got = r.json()["name"].as_str().unwrap_or("").to_owned();
                ensure!(got == name.display, "rename {raw:?} answered {got:?}");
                let listed = u.names(p).await;
                ensure!(
                    listed.contains(&name.display),
                    "{raw:?}: {:?} not in {listed:?}",
                    name.display
                );
                ensure!(head(u).await == before.head + 1, "a rename logs one change");
            }
            Err(_) => {
                tally.refused();
                let code = r.refusal("rename")?;
                ensure!(code == "invalid_name", "rename {raw:?}: {code}");
                before.unchanged(&Snapshot::of(u, p).await, "rename")?;
            }
        }

        // A new folder of that name: taken now when valid (the rename holds it).
        let before = Snapshot::of(u, p).await;
        let r = u.new_folder(p, &raw).await;
        let r = crate::support::Answer::of(r).await;
        let code = r.refusal("new folder")?;
        let want = if verdict.is_ok() {
            "name_taken"
        } else {
            "invalid_name"
        };
        ensure!(code == want, "new folder {raw:?}: {code}, not {want}");
        before.unchanged(&Snapshot::of(u, p).await, "new folder")?;

        // A commit of a file of that name into an empty folder.
        let (manifest, up) = u.start_upload(data).await;
        u.put_missing(&manifest, &up, data).await;
        let before = Snapshot::of(u, q).await;
        let r = crate::support::Answer::of(u.commit(&up.upload_id, q, &raw, None).await).await;
        match &verdict {
            Ok(name) => {
                ensure!(r.status == 200, "commit {raw:?}: {} {}", r.status, r.text);
                let listed = u.names(q).await;
                ensure!(
                    listed == [name.display.clone()],
                    "{raw:?}: listed {listed:?}"
                );
                let id = r.json()["node"]["id"].as_i64().unwrap_or(0);
                ensure!(u.download(id).await == data, "{raw:?}: bytes differ");
            }
            Err(_) => {
                let code = r.refusal("commit")?;
                ensure!(code == "invalid_name", "commit {raw:?}: {code}");
                before.unchanged(&Snapshot::of(u, q).await, "commit")?;
                u.call(
                    Method::DELETE,
                    &format!("/api/v1/uploads/{}", up.upload_id),
                    None,
                )
                .await;
            }
        }
        Ok(())
    });
    tally.saw_both("names");
}

/// Ways to spell a name again that a file system might treat as the same name.
#[derive(Debug, Clone, Copy)]
enum Respell {
    Upper,
    Lower,
    Nfd,
    Nfc,
    Key,
    SharpS,
    Kelvin,
    Angstrom,
    Other,
}

fn respell(s: &str, how: Respell) -> String {
    match how {
        Respell::Upper => s.to_uppercase(),
        Respell::Lower => s.to_lowercase(),
        Respell::Nfd => s.nfd().collect(),
        Respell::Nfc => s.nfc().collect(),
        Respell::Key => wire::names::key(s),
        Respell::SharpS => s.replace('ß', "ss").replace("SS", "ẞ"),
        Respell::Kelvin => s.replace(['K', 'k'], "\u{212A}"),
        Respell::Angstrom => s.replace('Å', "\u{212B}").replace('å', "A\u{30A}"),
        Respell::Other => format!("{s}x"),
    }
}

fn cased() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9ßσςΣΑ-Ωα-ωА-Яа-яÀ-ÖØ-öø-ÿKkÅåẞİı]{1,12}"
}

async fn names_equal_under_case_folding_share_a_slot(
    u: &User<'_>,
    p: i64,
    a: &str,
    b: &str,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let (Ok(na), Ok(nb)) = (wire::names::check(a), wire::names::check(b)) else {
        return Ok(());
    };
    u.mkdir(p, a).await;
    let tmp = u.mkdir(p, "tmp§").await.id;
    let clash = na.key == nb.key;
    // As a new folder, then as a rename of another.
    let before = Snapshot::of(u, p).await;
    let r = crate::support::Answer::of(u.new_folder(p, b).await).await;
    if clash {
        tally.refused();
        let code = r.refusal("new folder")?;
        ensure!(code == "name_taken", "{a:?} then {b:?}: {code}");
        before.unchanged(&Snapshot::of(u, p).await, "new folder")?;
        let r = call(
            u,
            Method::PATCH,
            &format!("/api/v1/nodes/{tmp}"),
            Some(json!({ "name": b })),
        )
        .await;
        let code = r.refusal("rename")?;
        ensure!(code == "name_taken", "{a:?}, rename to {b:?}: {code}");
        before.unchanged(&Snapshot::of(u, p).await, "rename")?;
    } else {
        tally.accepted();
        ensure!(r.status == 201, "{a:?} then {b:?}: {} {}", r.status, r.text);
        let mut want = vec![na.display, nb.display, "tmp§".to_owned()];
        want.sort();
        let mut got = u.names(p).await;
        got.sort();
        ensure!(got == want, "{a:?} and {b:?}: listed {got:?}");
    }
    Ok(())
}

async fn names_collide_exactly_when_their_keys_are_equal(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let u = &alice;
    let how = prop::sample::select(
        &[
            Respell::Upper,
            Respell::Lower,
            Respell::Nfd,
            Respell::Nfc,
            Respell::Key,
            Respell::SharpS,
            Respell::Kelvin,
            Respell::Angstrom,
            Respell::Other,
        ][..],
    );
    let tally = Tally::default();
    let tally = &tally;
    check("name pairs", 48, (cased(), how), |(a, how)| async move {
        let b = respell(&a, how);
        let p = scratch(u, root).await;
        names_equal_under_case_folding_share_a_slot(u, p, &a, &b, tally).await
    });
    tally.saw_both("name pairs (accepted: distinct keys; refused: equal keys)");
}
