//! One simulated device: a browser tab's sync decisions, taken by `client-core` exactly as the
//! page takes them (`www/js/offline.js`, `upload-run.js`), with IndexedDB and `fetch` replaced
//! by fields and `Net::call`. What survives a crash is `Disk` (the outbox, the temp ids learnt
//! by a replay, the feed cursor, the started upload jobs); the cached listings, the feed
//! planner and the paused jobs are memory and go.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use client_core::feed::{self, Feed};
use client_core::outbox::{self, Op, OpKind, Outcome, Replay, Verdict};
use client_core::tree;
use client_core::upload::{Fault, Job, Mode, Step as JobStep};
use serde_json::json;
use wire::{ChunkTarget, CommitResponse, Manifest, Node, NodeKind, UploadResponse};

use crate::server::{Answer, Net, Payload};

/// An outbox entry: the op, and the file's bytes for an upload.
#[derive(Debug, Clone)]
pub struct Queued {
    pub op: Op,
    pub data: Option<Vec<u8>>,
}

/// An interactive upload the server knows (the page stores it after `Start`).
#[derive(Debug, Clone)]
pub struct Stored {
    pub edit: i64,
    pub upload_id: Option<String>,
    /// Its commit's idempotency key, stored with the upload id (`uploads.js` `started`).
    pub key: Option<String>,
    pub parent: i64,
    pub name: String,
    pub base: Option<i64>,
    pub data: Vec<u8>,
}

/// What a crash leaves.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    pub outbox: Vec<Queued>,
    pub next_seq: i64,
    pub temp_ids: BTreeMap<i64, i64>,
    pub cursor: Option<String>,
    pub uploads: Vec<Stored>,
    /// What the page shows (IndexedDB `listings`, kept across a crash): each folder as the
    /// server last listed it, with the optimistic edits of operations queued since applied by
    /// `client_core::tree` (`offline.js` `patchListing`). At the end it must be the server's
    /// tree, guesses and all replaced.
    pub shown: BTreeMap<i64, tree::Listing>,
}

/// How driving an upload job ended.
#[derive(Debug)]
enum End {
    Done(Box<CommitResponse>),
    Queued,
    Paused,
    Failed(u16, String),
    Crashed,
}

pub struct Device {
    pub idx: usize,
    pub user: usize,
    pub token: String,
    pub root: i64,
    pub online: bool,
    pub disk: Disk,
    listings: BTreeMap<i64, Vec<Node>>,
    feed: Feed,
    /// A wait the feed planner asked for: the next pull starts from this cursor.
    wait: Option<Option<String>>,
    stale: BTreeSet<i64>,
    /// Paused interactive jobs, by their `Stored::edit`.
    paused: BTreeMap<i64, Job>,
    booted: bool,
}

fn cursor_query(c: &Option<String>) -> String {
    match c {
        Some(c) => format!(
            "/api/v1/changes?cursor={}",
            form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
        ),
        None => "/api/v1/changes".into(),
    }
}

impl Device {
    pub fn new(idx: usize, user: usize, token: String, root: i64) -> Device {
        Device {
            idx,
            user,
            token,
            root,
            online: true,
            disk: Disk::default(),
            listings: BTreeMap::new(),
            feed: Feed::new(None),
            wait: None,
            stale: BTreeSet::new(),
            paused: BTreeMap::new(),
            booted: false,
        }
    }

    async fn call(&self, net: &mut Net, method: &str, path: &str, body: Payload) -> Answer {
        net.call(self.idx, self.online, &self.token, method, path, body)
            .await
    }

    /// Loses everything but the disk.
    pub fn crash(&mut self, net: &mut Net) {
        net.trace.push(format!("d{} crash", self.idx));
        self.listings.clear();
        self.feed = Feed::new(None);
        self.wait = None;
        self.stale.clear();
        self.paused.clear();
        self.booted = false;
        // The page stores a job only once the server accepted it.
        self.disk.uploads.retain(|s| s.upload_id.is_some());
    }

    /// Start (or restart after a crash): a cursor first (the stored one, else the newest),
    /// then the whole tree listed.
    async fn boot(&mut self, net: &mut Net) -> bool {
        if self.booted {
            return true;
        }
        if !self.online {
            return false;
        }
        if self.disk.cursor.is_none() {
            let a = self
                .call(net, "GET", "/api/v1/changes/latest", Payload::None)
                .await;
            if !a.ok() {
                return false;
            }
            let v: serde_json::Value = a.json();
            self.disk.cursor = v["cursor"].as_str().map(str::to_owned);
        }
        self.feed = Feed::new(self.disk.cursor.clone());
        self.listings.clear();
        self.booted = true;
        self.relist(net, vec![self.root]).await;
        true
    }

    /// Lists `folders` again (those cached, and the root), then every folder newly seen
    /// under them; drops what is gone or no longer reachable from the root.
    async fn relist(&mut self, net: &mut Net, folders: Vec<i64>) {
        let mut queue: VecDeque<i64> = folders
            .into_iter()
            .chain(std::mem::take(&mut self.stale))
            .filter(|f| *f == self.root || self.listings.contains_key(f))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut done = BTreeSet::new();
        while let Some(f) = queue.pop_front() {
            if !done.insert(f) {
                continue;
            }
            let a = self
                .call(
                    net,
                    "GET",
                    &format!("/api/v1/nodes/{f}/children"),
                    Payload::None,
                )
                .await;
            match a.status {
                200 => {
                    let l: wire::Listing = a.json();
                    let mut shown: tree::Listing = serde_json::to_value(&l)
                        .and_then(serde_json::from_value)
                        .expect("a listing is a tree::Listing");
                    // The page keeps the listing's ETag with it (`client.list`).
                    shown.rest.insert("etag".into(), format!("\"{f}\"").into());
                    self.disk.shown.insert(f, shown);
                    for c in &l.children {
                        self.feed.saw(c.id, Some(f));
                        if c.kind == NodeKind::Folder && !self.listings.contains_key(&c.id) {
                            queue.push_back(c.id);
                        }
                    }
                    self.listings.insert(f, l.children);
                }
                404 => {
                    self.listings.remove(&f);
                    self.disk.shown.remove(&f);
                }
                0 => {
                    self.stale.insert(f);
                }
                s => net
                    .problems
                    .push(format!("d{}: listing {f} answered {s}", self.idx)),
            }
        }
        // Keep only what hangs from the root.
        let mut reach = BTreeSet::from([self.root]);
        let mut todo = vec![self.root];
        while let Some(f) = todo.pop() {
            for c in self.listings.get(&f).into_iter().flatten() {
                if c.kind == NodeKind::Folder && reach.insert(c.id) {
                    todo.push(c.id);
                }
            }
        }
        self.listings.retain(|f, _| reach.contains(f));
    }

    /// Pulls the feed to its end (or until the network fails), relisting what it makes stale.
    pub async fn pull(&mut self, net: &mut Net) {
        if !self.online || !self.boot(net).await {
            return;
        }
        let mut action = match self.wait.take() {
            Some(cursor) => feed::Action::Pull { cursor },
            None => self.feed.hint(None, None),
        };
        for _ in 0..200 {
            match action {
                feed::Action::Pull { cursor } => {
                    let a = self
                        .call(net, "GET", &cursor_query(&cursor), Payload::None)
                        .await;
                    match a.status {
                        200 => {
                            let page: feed::Page = a.json();
                            let applied = self.feed.apply(page);
                            self.relist(net, applied.folders.into_iter().collect())
                                .await;
                            self.disk.cursor = self.feed.cursor().map(str::to_owned);
                            action = applied.next;
                        }
                        s => match self.feed.error(s, &a.code(), None) {
                            feed::Action::Relist => {
                                self.disk.cursor = None;
                                self.booted = false;
                                self.boot(net).await;
                                return;
                            }
                            feed::Action::Wait { cursor, .. } => {
                                self.wait = Some(cursor);
                                return;
                            }
                            other => action = other,
                        },
                    }
                }
                feed::Action::Relist => {
                    self.disk.cursor = None;
                    self.booted = false;
                    self.boot(net).await;
                    return;
                }
                feed::Action::Wait { cursor, .. } => {
                    self.wait = Some(cursor);
                    return;
                }
                feed::Action::Idle => return,
            }
        }
        net.problems
            .push(format!("d{}: the feed never went idle", self.idx));
    }

    /// The device's tree: id → (parent, name, kind, version).
    pub fn tree(&self) -> BTreeMap<i64, (i64, String, NodeKind, Option<i64>)> {
        let mut out = BTreeMap::new();
        for (f, children) in &self.listings {
            for c in children {
                out.insert(c.id, (*f, c.name.clone(), c.kind, c.version_id));
            }
        }
        out
    }

    fn nodes(&self) -> Vec<Node> {
        let mut v: Vec<Node> = self.listings.values().flatten().cloned().collect();
        v.sort_by_key(|n| n.id);
        v
    }

    /// Folders made offline and still queued (temporary ids).
    fn pending_folders(&self) -> Vec<i64> {
        self.disk
            .outbox
            .iter()
            .filter(|q| matches!(q.op.kind, OpKind::Mkdir { .. }))
            .map(|q| -q.op.seq)
            .collect()
    }

    fn folders(&self, with_pending: bool) -> Vec<i64> {
        let mut v = vec![self.root];
        v.extend(
            self.nodes()
                .iter()
                .filter(|n| n.kind == NodeKind::Folder)
                .map(|n| n.id),
        );
        if with_pending {
            v.extend(self.pending_folders());
        }
        v
    }

    fn below(&self, folder: i64) -> BTreeSet<i64> {
        let mut out = BTreeSet::from([folder]);
        let mut todo = vec![folder];
        while let Some(f) = todo.pop() {
            for c in self.listings.get(&f).into_iter().flatten() {
                if c.kind == NodeKind::Folder && out.insert(c.id) {
                    todo.push(c.id);
                }
            }
        }
        out
    }

    fn queues(&self) -> bool {
        !outbox::send_now(self.online, self.disk.outbox.len())
    }

    fn enqueue(&mut self, net: &mut Net, kind: OpKind, data: Option<Vec<u8>>) -> i64 {
        self.enqueue_keyed(net, kind, data, None)
    }

    /// `key`: an upload job's own commit key, kept when the job goes to the outbox
    /// (`uploads.js` `queue`), so a commit it made already is answered, never repeated.
    fn enqueue_keyed(
        &mut self,
        net: &mut Net,
        kind: OpKind,
        data: Option<Vec<u8>>,
        key: Option<String>,
    ) -> i64 {
        self.disk.next_seq += 1;
        let seq = self.disk.next_seq;
        net.trace
            .push(format!("d{} queue {seq} {kind:?}", self.idx));
        let size = data.as_ref().map_or(0, |d| d.len() as u64);
        self.show_queued(seq, &kind, size);
        self.disk.outbox.push(Queued {
            op: Op {
                seq,
                key: key.unwrap_or_else(|| format!("d{}-op{seq}", self.idx)),
                kind,
            },
            data,
        });
        seq
    }

    /// The optimistic edits `offline.js` makes when it queues `kind` as outbox entry `seq`
    /// (only to listings it has cached).
    fn show_queued(&mut self, seq: i64, kind: &OpKind, size: u64) {
        let parent_of = |shown: &BTreeMap<i64, tree::Listing>, id: i64| {
            shown.iter().find_map(|(f, l)| {
                l.children
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| (*f, c.clone()))
            })
        };
        let mut edits = Vec::new();
        match kind {
            OpKind::Mkdir { parent_id, name } => {
                let node = tree::pending_folder(seq, *parent_id, name, 0.0);
                edits.push((*parent_id, tree::Edit::Add { node: node.clone() }));
                self.disk.shown.insert(
                    -seq,
                    tree::Listing {
                        folder: node,
                        children: Vec::new(),
                        rest: Default::default(),
                    },
                );
            }
            OpKind::Upload {
                parent_id, name, ..
            } => {
                let node = tree::pending_file(seq, *parent_id, name, size, 0.0);
                edits.push((*parent_id, tree::Edit::Add { node }));
            }
            OpKind::Rename { node_id, name } => {
                if let Some((f, _)) = parent_of(&self.disk.shown, *node_id) {
                    let edit = tree::Edit::Rename {
                        node_id: *node_id,
                        name: name.clone(),
                    };
                    edits.push((f, edit));
                }
            }
            OpKind::Move { node_id, parent_id } => {
                if let Some((f, node)) = parent_of(&self.disk.shown, *node_id) {
                    edits.push((f, tree::Edit::Remove { node_id: *node_id }));
                    edits.push((*parent_id, tree::Edit::Add { node }));
                }
            }
            OpKind::Delete { node_id } => {
                if let Some((f, _)) = parent_of(&self.disk.shown, *node_id) {
                    edits.push((f, tree::Edit::Remove { node_id: *node_id }));
                }
            }
        }
        for (folder, edit) in edits {
            if let Some(l) = self.disk.shown.get_mut(&folder) {
                tree::apply(l, &edit);
            }
        }
    }

    /// A queued op refused or skipped, or the outbox emptied: every cached listing holding a guess (no ETag: an
    /// optimistic edit drops it) is forgotten and listed again (`offline.js`
    /// `forgetGuesses`).
    fn forget_guesses(&mut self) {
        let guessed: Vec<i64> = self
            .disk
            .shown
            .iter()
            .filter(|(_, l)| !l.rest.contains_key("etag"))
            .map(|(f, _)| *f)
            .collect();
        for f in guessed {
            self.disk.shown.remove(&f);
            self.stale.insert(f);
        }
    }

    /// The tree the page shows, walked from the root through the cached listings: id →
    /// (parent, name, kind, version).
    pub fn shown_tree(&self) -> BTreeMap<i64, (i64, String, NodeKind, Option<i64>)> {
        let mut out = BTreeMap::new();
        let mut todo = vec![self.root];
        let mut seen = BTreeSet::new();
        while let Some(f) = todo.pop() {
            if !seen.insert(f) {
                continue;
            }
            for c in self
                .disk
                .shown
                .get(&f)
                .map(|l| &l.children[..])
                .unwrap_or(&[])
            {
                let kind = if c.kind == "folder" {
                    NodeKind::Folder
                } else {
                    NodeKind::File
                };
                if kind == NodeKind::Folder {
                    todo.push(c.id);
                }
                let version = c.rest.get("version_id").and_then(|v| v.as_i64());
                out.insert(c.id, (f, c.name.clone(), kind, version));
            }
        }
        out
    }

    /// What the page does whenever it is online: resume paused uploads, replay the outbox.
    pub async fn catch_up(&mut self, net: &mut Net) -> bool {
        if !self.online || !self.boot(net).await {
            return true;
        }
        if !self.resume_uploads(net).await {
            return false;
        }
        self.replay(net).await
    }

    /// A tree change: sent now (online, nothing waiting), else queued; a lost answer queues it
    /// too (`offline.js` `change`). `cyclic`: the device believes the move enters the node's own subtree.
    async fn change(&mut self, net: &mut Net, kind: OpKind, cyclic: bool) {
        let label = op_label(&kind);
        if self.queues() || kind_has_temp(&kind) {
            self.enqueue(net, kind, None);
            net.stats.outcome(format!("{label}: queued"));
            return;
        }
        let a = self.send_tree_op(net, &kind, false).await;
        if a.status == 0 {
            self.enqueue(net, kind, None);
            net.stats.outcome(format!("{label}: answer lost, queued"));
            return;
        }
        net.stats.outcome(
            format!("{label}: {} {}", a.status, a.code())
                .trim()
                .to_owned(),
        );
        if cyclic {
            self.check_cyclic_move(net, &kind, &a).await;
        }
    }

    async fn check_cyclic_move(&mut self, net: &mut Net, kind: &OpKind, a: &Answer) {
        if a.status == 400 && a.code() == "invalid_move" {
            net.stats
                .outcome("move into own subtree: refused 400".into());
            return;
        }
        if a.ok() {
            // The device's view was stale; the server must still hold a tree.
            if let OpKind::Move { node_id, .. } = kind {
                let tree = crate::check::server_tree(net, &self.token, self.root).await;
                if !tree.contains_key(node_id) {
                    net.problems.push(format!(
                        "d{}: node {node_id} moved (answer {}) and is no longer reachable from the root",
                        self.idx, a.status
                    ));
                }
            }
        }
    }

    async fn send_tree_op(&mut self, net: &mut Net, kind: &OpKind, replay: bool) -> Answer {
        match kind {
            OpKind::Mkdir { parent_id, name } => {
                self.call(
                    net,
                    "POST",
                    "/api/v1/folders",
                    Payload::Json(json!({"parent_id": parent_id, "name": name})),
                )
                .await
            }
            OpKind::Rename { node_id, name } => {
                let mut b = json!({ "name": name });
                if replay {
                    b["keep_both"] = true.into();
                }
                self.call(
                    net,
                    "PATCH",
                    &format!("/api/v1/nodes/{node_id}"),
                    Payload::Json(b),
                )
                .await
            }
            OpKind::Move { node_id, parent_id } => {
                let mut b = json!({ "parent_id": parent_id });
                if replay {
                    b["keep_both"] = true.into();
                }
                self.call(
                    net,
                    "PATCH",
                    &format!("/api/v1/nodes/{node_id}"),
                    Payload::Json(b),
                )
                .await
            }
            OpKind::Delete { node_id } => {
                self.call(
                    net,
                    "DELETE",
                    &format!("/api/v1/nodes/{node_id}"),
                    Payload::None,
                )
                .await
            }
            OpKind::Upload { .. } => unreachable!("uploads go through their job"),
        }
    }

    /// The outbox replayed once, in order (`offline.js` `doReplay`). False when the device
    /// crashed on the way.
    pub async fn replay(&mut self, net: &mut Net) -> bool {
        if self.disk.outbox.is_empty() || !self.online {
            return true;
        }
        let ops: Vec<Op> = self.disk.outbox.iter().map(|q| q.op.clone()).collect();
        let plan = outbox::compact(&ops);
        let kept: BTreeSet<i64> = plan.iter().map(|o| o.seq).collect();
        for q in &self.disk.outbox {
            if !kept.contains(&q.op.seq) && matches!(q.op.kind, OpKind::Upload { .. }) {
                net.edit_end("folded into a later upload of the same name");
            }
        }
        self.disk.outbox.retain(|q| kept.contains(&q.op.seq));
        let mut r = Replay::new();
        r.set_home(self.root);
        for (t, real) in &self.disk.temp_ids {
            r.learn(*t, *real);
        }
        for planned in plan {
            let op = match r.step(&planned) {
                outbox::Step::Skip { seq, reason } => {
                    net.stats.outcome(format!("replay skip: {reason}"));
                    self.forget_guesses();
                    if matches!(planned.kind, OpKind::Upload { .. }) {
                        net.edit_end("refused: skipped, its folder was never made");
                    }
                    self.disk.outbox.retain(|q| q.op.seq != seq);
                    continue;
                }
                outbox::Step::Send { op, rehomed } => {
                    if rehomed {
                        net.stats
                            .outcome("replay: a file sent home, its folder never made".into());
                    }
                    op
                }
            };
            let data = self
                .disk
                .outbox
                .iter()
                .find(|q| q.op.seq == planned.seq)
                .and_then(|q| q.data.clone());
            let Some(outcome) = self.send_queued(net, &op, data).await else {
                return false;
            };
            let verdict = r.outcome(&op, &outcome);
            net.trace.push(format!(
                "d{} replay {} {:?}",
                self.idx,
                op.seq,
                verdict_name(&verdict)
            ));
            if verdict == Verdict::RetryLater {
                break;
            }
            if matches!(op.kind, OpKind::Upload { .. }) {
                match &outcome {
                    Outcome::Ok { .. } => net.edit_end("acknowledged"),
                    Outcome::Failed { .. } => net.edit_end("refused by the server"),
                }
            }
            if let (OpKind::Mkdir { .. }, Outcome::Ok { id: Some(id), .. }) = (&op.kind, &outcome) {
                self.disk.temp_ids.insert(-planned.seq, *id);
            }
            self.disk.outbox.retain(|q| q.op.seq != planned.seq);
            let label = op_label(&op.kind);
            match &verdict {
                Verdict::Rejected { message } => {
                    self.forget_guesses();
                    let code = match &outcome {
                        Outcome::Failed { status, code, .. } => format!("{status} {code}"),
                        _ => message.clone(),
                    };
                    net.stats
                        .outcome(format!("replayed {label}: rejected {code}"));
                }
                v => net
                    .stats
                    .outcome(format!("replayed {label}: {}", verdict_name(v))),
            }
        }
        if self.disk.outbox.is_empty() {
            self.disk.temp_ids.clear();
            self.forget_guesses();
        }
        true
    }

    /// One queued op sent as the replay sends it; None when the device crashed meanwhile.
    async fn send_queued(
        &mut self,
        net: &mut Net,
        op: &Op,
        data: Option<Vec<u8>>,
    ) -> Option<Outcome> {
        let failed = |a: &Answer| Outcome::Failed {
            status: a.status,
            code: a.code(),
            message: String::new(),
        };
        Some(match &op.kind {
            OpKind::Upload {
                parent_id,
                name,
                base_version,
            } => {
                let mut job = Job::new(Mode::Plain, *parent_id, true, None)
                    .with_key(op.key.clone())
                    .with_home(self.root);
                let mut up = Stored {
                    edit: op.seq,
                    upload_id: None,
                    key: None,
                    parent: *parent_id,
                    name: name.clone(),
                    base: *base_version,
                    data: data.unwrap_or_default(),
                };
                match self.drive(net, &mut job, &mut up).await {
                    End::Done(c) => Outcome::Ok {
                        id: Some(c.node.id),
                        conflict: c.conflict.is_some(),
                    },
                    End::Failed(status, code) => Outcome::Failed {
                        status,
                        code,
                        message: String::new(),
                    },
                    End::Crashed => {
                        self.crash(net);
                        return None;
                    }
                    End::Queued | End::Paused => {
                        unreachable!("a plain job neither queues nor pauses")
                    }
                }
            }
            OpKind::Mkdir { parent_id, name } => {
                let a = self.send_tree_op(net, &op.kind, true).await;
                if a.status == 201 {
                    Outcome::Ok {
                        id: Some(a.json::<Node>().id),
                        conflict: false,
                    }
                } else if a.status == 409 && a.code() == "name_taken" {
                    // Made meanwhile, or by an earlier replay whose answer was lost.
                    let l = self
                        .call(
                            net,
                            "GET",
                            &format!("/api/v1/nodes/{parent_id}/children"),
                            Payload::None,
                        )
                        .await;
                    let same = (l.status == 200)
                        .then(|| l.json::<wire::Listing>())
                        .and_then(|l| {
                            l.children.into_iter().find(|c| {
                                c.kind == NodeKind::Folder
                                    && client_core::names::same(&c.name, name)
                            })
                        });
                    match same {
                        Some(n) => Outcome::Ok {
                            id: Some(n.id),
                            conflict: false,
                        },
                        None => failed(&a),
                    }
                } else {
                    failed(&a)
                }
            }
            _ => {
                let a = self.send_tree_op(net, &op.kind, true).await;
                if a.ok() {
                    let clash = a.status == 200
                        && serde_json::from_slice::<serde_json::Value>(&a.body)
                            .map(|v| !v["clash"].is_null())
                            .unwrap_or(false);
                    let id = match op.kind {
                        OpKind::Rename { node_id, .. } | OpKind::Move { node_id, .. } => {
                            Some(node_id)
                        }
                        _ => None,
                    };
                    if matches!(op.kind, OpKind::Move { .. }) && a.status == 200 {
                        self.check_cyclic_move(net, &op.kind, &a).await;
                    }
                    Outcome::Ok {
                        id,
                        conflict: clash,
                    }
                } else {
                    if matches!(op.kind, OpKind::Move { .. }) && a.code() == "invalid_move" {
                        net.stats
                            .outcome("move into own subtree: refused 400".into());
                    }
                    failed(&a)
                }
            }
        })
    }

    /// Runs an upload job until it is done, queued, paused, failed or the device crashes;
    /// `up` carries the file and, once started, its upload id.
    async fn drive(&mut self, net: &mut Net, job: &mut Job, up: &mut Stored) -> End {
        let mut missing: Vec<ChunkTarget> = Vec::new();
        let mut last_fail = (0u16, String::new());
        let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&up.data));
        // Interactive jobs have negative edit numbers; outbox ops their (positive) seq.
        let interactive = up.edit < 0;
        for _ in 0..100 {
            if net.faults && net.rng.chance(2) {
                net.stats.fault("device_crash_mid_upload");
                return End::Crashed;
            }
            match job.next(self.online) {
                JobStep::Hash => job.hashed(),
                JobStep::Queue => {
                    job.queued();
                    let key = job.key().map(str::to_owned);
                    self.enqueue_keyed(
                        net,
                        OpKind::Upload {
                            parent_id: up.parent,
                            name: up.name.clone(),
                            base_version: up.base,
                        },
                        Some(up.data.clone()),
                        key,
                    );
                    return End::Queued;
                }
                JobStep::Start => {
                    let a = self
                        .call(
                            net,
                            "POST",
                            "/api/v1/uploads",
                            Payload::Json(json!({ "manifest": manifest })),
                        )
                        .await;
                    if a.status == 201 {
                        let u: UploadResponse = a.json();
                        up.upload_id = Some(u.upload_id.clone());
                        missing = u.missing;
                        job.started(u.upload_id);
                        up.key = job.key().map(str::to_owned);
                        if interactive {
                            self.store_upload(up);
                        }
                    } else {
                        last_fail = (a.status, a.code());
                        job.failed(fault_of(&a));
                    }
                }
                JobStep::Resume { upload_id } => {
                    let a = self
                        .call(
                            net,
                            "GET",
                            &format!("/api/v1/uploads/{upload_id}"),
                            Payload::None,
                        )
                        .await;
                    if a.status == 200 {
                        missing = a.json::<UploadResponse>().missing;
                        job.answered();
                    } else {
                        last_fail = (a.status, a.code());
                        job.failed(fault_of(&a));
                        if job.upload_id().is_none() {
                            up.upload_id = None;
                        }
                    }
                }
                JobStep::Send => {
                    let mut bad = None;
                    for t in &missing {
                        let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
                        let bytes = up.data[c.offset as usize..(c.offset + c.size as u64) as usize]
                            .to_vec();
                        let a = self.call(net, "PUT", &t.url, Payload::Bytes(bytes)).await;
                        if !a.ok() {
                            bad = Some(a);
                            break;
                        }
                    }
                    match bad {
                        None => job.sent(),
                        Some(a) => {
                            last_fail = (a.status, a.code());
                            job.failed(fault_of(&a));
                        }
                    }
                }
                JobStep::Commit {
                    upload_id,
                    key,
                    into_home,
                } => {
                    let body = json!({
                        "upload_id": upload_id, "parent_id": into_home.unwrap_or(up.parent), "name": up.name,
                        "base_version": up.base, "idempotency_key": key,
                    });
                    // The device dies while the commit is on the wire: the server may
                    // commit, the answer never arrives.
                    let dies = net.faults && self.online && net.rng.chance(4);
                    let a = self
                        .call(net, "POST", "/api/v1/commits", Payload::Json(body))
                        .await;
                    if dies {
                        net.stats.fault("device_crash_during_commit");
                        net.trace
                            .push(format!("d{} dies awaiting commit {}", self.idx, a.status));
                        return End::Crashed;
                    }
                    if a.status == 200 {
                        let c: CommitResponse = a.json();
                        net.acked.push(crate::check::Acked {
                            node: c.node.id,
                            version: c.version_id,
                            device: self.idx,
                            key,
                        });
                        net.stats.outcome(
                            match (&c.conflict, c.unchanged) {
                                _ if job.rehomed() => "commit: into the home root, its folder lost",
                                (Some(_), _) => "commit: conflicted copy",
                                (None, true) => "commit: unchanged",
                                (None, false) => "commit: new version",
                            }
                            .into(),
                        );
                        job.committed();
                        self.disk.uploads.retain(|s| s.edit != up.edit);
                        return End::Done(Box::new(c));
                    }
                    last_fail = (a.status, a.code());
                    job.failed(fault_of(&a));
                }
                JobStep::WaitNetwork | JobStep::WaitResume => return End::Paused,
                JobStep::Stop => {
                    self.disk.uploads.retain(|s| s.edit != up.edit);
                    return End::Failed(last_fail.0, last_fail.1);
                }
            }
        }
        panic!("d{}: an upload job went round 100 times", self.idx)
    }

    fn store_upload(&mut self, up: &Stored) {
        self.disk.uploads.retain(|s| s.edit != up.edit);
        self.disk.uploads.push(up.clone());
    }

    /// An interactive upload (the user dropped a file): straight to the server, or to the
    /// outbox when offline, paused for the network when an answer is lost.
    async fn upload(
        &mut self,
        net: &mut Net,
        parent: i64,
        name: String,
        base: Option<i64>,
    ) -> bool {
        net.names += 1;
        let mut data = format!("cairn-sim edit {} d{}\n", net.names, self.idx).into_bytes();
        let extra = 64 + net.rng.below(2000) as usize;
        data.extend(net.rng.bytes(extra));
        net.edits += 1;
        self.disk.next_seq += 1;
        // Interactive jobs are numbered below zero, outbox ops above.
        let edit = -self.disk.next_seq;
        let mut up = Stored {
            edit,
            upload_id: None,
            key: None,
            parent,
            name,
            base,
            data,
        };
        let mut job = Job::new(Mode::Interactive, parent, false, None).with_home(self.root);
        self.run_interactive(net, &mut job, &mut up).await
    }

    async fn run_interactive(&mut self, net: &mut Net, job: &mut Job, up: &mut Stored) -> bool {
        match self.drive(net, job, up).await {
            End::Paused => {
                self.store_upload(up);
                self.paused.insert(up.edit, job.clone());
                net.stats.outcome("upload: paused for the network".into());
            }
            End::Failed(s, c) => {
                net.edit_end("refused by the server");
                net.stats.outcome(format!("upload: failed {s} {c}"));
            }
            End::Crashed => {
                if up.upload_id.is_none() {
                    // The page stores a job once the server accepted it: the drop is gone.
                    net.edit_end("dropped by a crash before the server knew it");
                }
                self.crash(net);
                return false;
            }
            End::Queued => net.stats.outcome("upload: queued in the outbox".into()),
            End::Done(_) => net.edit_end("acknowledged"),
        }
        true
    }

    /// Paused jobs resumed, and stored ones (after a crash) rebuilt from their upload id.
    async fn resume_uploads(&mut self, net: &mut Net) -> bool {
        for mut up in self.disk.uploads.clone() {
            let mut job = match self.paused.remove(&up.edit) {
                Some(mut j) => {
                    j.resume();
                    j
                }
                // Rebuilt after a crash from what the page stored.
                None => {
                    let j = Job::new(Mode::Interactive, up.parent, true, up.upload_id.clone())
                        .with_home(self.root);
                    match up.key.clone() {
                        Some(k) => j.with_key(k),
                        None => j,
                    }
                }
            };
            let alive = self.run_interactive_resumed(net, &mut job, &mut up).await;
            if !alive {
                return false;
            }
        }
        true
    }

    async fn run_interactive_resumed(
        &mut self,
        net: &mut Net,
        job: &mut Job,
        up: &mut Stored,
    ) -> bool {
        let end = self.drive(net, job, up).await;
        self.paused.remove(&up.edit);
        match end {
            End::Paused => {
                self.store_upload(up);
                self.paused.insert(up.edit, job.clone());
            }
            End::Failed(s, c) => {
                net.edit_end("refused by the server");
                self.disk.uploads.retain(|x| x.edit != up.edit);
                net.stats.outcome(format!("resumed upload: failed {s} {c}"));
            }
            End::Crashed => {
                self.crash(net);
                return false;
            }
            End::Queued => {
                self.disk.uploads.retain(|x| x.edit != up.edit);
                net.stats
                    .outcome("resumed upload: queued in the outbox".into());
            }
            End::Done(_) => {
                net.edit_end("acknowledged");
                net.stats.outcome("resumed upload: committed".into());
            }
        }
        true
    }

    /// One scheduled step of this device.
    pub async fn act(&mut self, net: &mut Net, action: crate::scheduler::Action) {
        use crate::scheduler::Action as A;
        net.trace.push(format!("d{} {action:?}", self.idx));
        if self.online && !self.catch_up(net).await {
            return;
        }
        let queueing = self.queues();
        let nodes = self.nodes();
        match action {
            A::Mkdir => {
                net.stats.op("mkdir");
                let Some(parent) = net.rng.pick(&self.folders(queueing)) else {
                    return;
                };
                net.names += 1;
                let name = format!("d{}", net.names);
                self.change(
                    net,
                    OpKind::Mkdir {
                        parent_id: parent,
                        name,
                    },
                    false,
                )
                .await;
            }
            A::UploadNew => {
                net.stats.op("upload new file");
                let Some(parent) = net.rng.pick(&self.folders(queueing)) else {
                    return;
                };
                let name = format!("f{}.txt", net.names + 1);
                self.upload(net, parent, name, None).await;
            }
            A::UploadEdit => {
                let files: Vec<Node> = nodes
                    .iter()
                    .filter(|n| n.kind == NodeKind::File)
                    .cloned()
                    .collect();
                let Some(f) = net.rng.pick(&files) else {
                    return;
                };
                net.stats.op("upload new version");
                let parent = self
                    .listings
                    .iter()
                    .find(|(_, c)| c.iter().any(|n| n.id == f.id))
                    .map(|(p, _)| *p)
                    .unwrap_or(self.root);
                self.upload(net, parent, f.name.clone(), f.version_id).await;
            }
            A::Rename => {
                let Some(n) = net.rng.pick(&nodes) else {
                    return;
                };
                net.stats.op("rename");
                let sibling = self
                    .listings
                    .values()
                    .find(|c| c.iter().any(|x| x.id == n.id))
                    .and_then(|c| c.iter().find(|x| x.id != n.id).cloned());
                let name = match sibling {
                    Some(s) if net.rng.chance(20) => s.name,
                    _ => {
                        net.names += 1;
                        match n.kind {
                            NodeKind::File => format!("r{}.txt", net.names),
                            NodeKind::Folder => format!("r{}", net.names),
                        }
                    }
                };
                self.change(
                    net,
                    OpKind::Rename {
                        node_id: n.id,
                        name,
                    },
                    false,
                )
                .await;
            }
            A::Move => {
                let mut movable: Vec<i64> = nodes.iter().map(|n| n.id).collect();
                if queueing {
                    movable.extend(self.pending_folders());
                }
                let Some(id) = net.rng.pick(&movable) else {
                    return;
                };
                net.stats.op("move");
                let inside = if id > 0 {
                    self.below(id)
                } else {
                    BTreeSet::from([id])
                };
                let targets: Vec<i64> = self
                    .folders(queueing)
                    .into_iter()
                    .filter(|f| !inside.contains(f))
                    .collect();
                let Some(to) = net.rng.pick(&targets) else {
                    return;
                };
                self.change(
                    net,
                    OpKind::Move {
                        node_id: id,
                        parent_id: to,
                    },
                    false,
                )
                .await;
            }
            A::MoveIntoOwnSubtree => {
                let folders: Vec<i64> = nodes
                    .iter()
                    .filter(|n| n.kind == NodeKind::Folder)
                    .map(|n| n.id)
                    .collect();
                let Some(id) = net.rng.pick(&folders) else {
                    return;
                };
                net.stats.op("move into own subtree");
                let inside: Vec<i64> = self.below(id).into_iter().collect();
                let Some(to) = net.rng.pick(&inside) else {
                    return;
                };
                self.change(
                    net,
                    OpKind::Move {
                        node_id: id,
                        parent_id: to,
                    },
                    true,
                )
                .await;
            }
            A::Trash => {
                let mut ids: Vec<i64> = nodes.iter().map(|n| n.id).collect();
                if queueing {
                    ids.extend(self.pending_folders());
                }
                let Some(id) = net.rng.pick(&ids) else { return };
                net.stats.op("trash");
                self.change(net, OpKind::Delete { node_id: id }, false)
                    .await;
            }
            A::Restore => {
                if !self.online {
                    return;
                }
                let a = self.call(net, "GET", "/api/v1/trash", Payload::None).await;
                if a.status != 200 {
                    return;
                }
                let items: Vec<i64> = a
                    .json::<wire::TrashList>()
                    .items
                    .iter()
                    .map(|i| i.node.id)
                    .collect();
                let Some(id) = net.rng.pick(&items) else {
                    return;
                };
                net.stats.op("restore");
                let a = self
                    .call(
                        net,
                        "POST",
                        &format!("/api/v1/trash/{id}/restore"),
                        Payload::None,
                    )
                    .await;
                net.stats.outcome(
                    format!("restore: {} {}", a.status, a.code())
                        .trim()
                        .to_owned(),
                );
            }
            A::Offline => {
                if self.online {
                    net.stats.op("go offline");
                    self.online = false;
                }
            }
            A::Online => {
                if !self.online {
                    net.stats.op("back online");
                    self.online = true;
                    if self.catch_up(net).await {
                        self.pull(net).await;
                    }
                }
            }
            A::Pull => {
                net.stats.op("feed pull");
                self.pull(net).await;
            }
            A::Crash => {
                net.stats.fault("device_crash");
                self.crash(net);
            }
        }
    }
}

/// As `upload-run.js` reads an answer.
fn fault_of(a: &Answer) -> Fault {
    match (a.status, a.code().as_str()) {
        (0, _) => Fault::Offline,
        (404, "folder_gone") | (403, "role_too_low") => Fault::FolderLost,
        _ => Fault::Other,
    }
}

fn kind_has_temp(k: &OpKind) -> bool {
    match k {
        OpKind::Mkdir { parent_id, .. } | OpKind::Upload { parent_id, .. } => *parent_id < 0,
        OpKind::Rename { node_id, .. } | OpKind::Delete { node_id } => *node_id < 0,
        OpKind::Move { node_id, parent_id } => *node_id < 0 || *parent_id < 0,
    }
}

fn op_label(k: &OpKind) -> &'static str {
    match k {
        OpKind::Mkdir { .. } => "mkdir",
        OpKind::Upload { .. } => "upload",
        OpKind::Rename { .. } => "rename",
        OpKind::Move { .. } => "move",
        OpKind::Delete { .. } => "trash",
    }
}

fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Done => "done",
        Verdict::Conflict => "conflict",
        Verdict::RetryLater => "retry later",
        Verdict::Rejected { .. } => "rejected",
    }
}
