//! The offline outbox's replay rules, sans I/O: which queued operation goes next with which
//! real ids, and what a server answer means for it. The page stores the queue in IndexedDB and
//! does the HTTP; this module only decides, so it runs (and is tested) natively.
//!
//! Folders made offline get a temporary negative id (`-seq` of their queued operation); later
//! operations may name it as a parent or a target. Replay maps it to the server's id once the
//! folder exists, and drops what depended on a folder that could not be made.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// One queued change, as the page stores it. `key` is the operation's idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Op {
    pub seq: i64,
    #[serde(default)]
    pub key: String,
    #[serde(flatten)]
    pub kind: OpKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpKind {
    Mkdir {
        parent_id: i64,
        name: String,
    },
    /// The file bytes stay in IndexedDB beside the op; `base_version` is what the edit started
    /// from (`None` for a new file), so a collision becomes a conflicted copy, never a loss.
    Upload {
        parent_id: i64,
        name: String,
        base_version: Option<i64>,
    },
    Rename {
        node_id: i64,
        name: String,
    },
    Move {
        node_id: i64,
        parent_id: i64,
    },
    Delete {
        node_id: i64,
    },
}

impl OpKind {
    fn ids_mut(&mut self) -> Vec<&mut i64> {
        match self {
            OpKind::Mkdir { parent_id, .. } | OpKind::Upload { parent_id, .. } => vec![parent_id],
            OpKind::Rename { node_id, .. } | OpKind::Delete { node_id } => vec![node_id],
            OpKind::Move { node_id, parent_id } => vec![node_id, parent_id],
        }
    }
}

/// What to do with the next queued operation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Send it, with temporary ids replaced by the server's. `rehomed`: an upload whose folder
    /// could not be made, sent into the home root instead.
    Send {
        op: Op,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        rehomed: bool,
    },
    /// Drop it: it depends on a folder that could not be made offline.
    Skip { seq: i64, reason: String },
}

/// How the server answered an operation.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `id` is the created or changed node; `conflict` is set when a commit became a
    /// conflicted copy.
    Ok {
        id: Option<i64>,
        #[serde(default)]
        conflict: bool,
    },
    Failed {
        status: u16,
        code: String,
        #[serde(default)]
        message: String,
    },
}

/// What the page does after an answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Remove it from the outbox and go on.
    Done,
    /// Done, but the user must look at it (a conflicted copy was made).
    Conflict,
    /// Keep it and stop replaying: offline again, or the server is busy; try later.
    RetryLater,
    /// Remove it and tell the user why it could not be applied.
    Rejected { message: String },
}

#[derive(Debug, Default)]
pub struct Replay {
    ids: HashMap<i64, i64>,
    lost: HashSet<i64>,
    home: Option<i64>,
}

impl Replay {
    pub fn new() -> Replay {
        Replay::default()
    }

    /// Seeds a mapping learnt by an earlier, interrupted replay (the page keeps them).
    pub fn learn(&mut self, temp: i64, real: i64) {
        self.ids.insert(temp, real);
    }

    /// The user's home root: an upload into a folder that could not be made goes there.
    pub fn set_home(&mut self, home: i64) {
        self.home = Some(home);
    }

    /// The server id a temporary id became, if it did.
    pub fn resolved(&self, id: i64) -> Option<i64> {
        if id < 0 {
            self.ids.get(&id).copied()
        } else {
            Some(id)
        }
    }

    pub fn step(&self, op: &Op) -> Step {
        let mut op = op.clone();
        let mut rehomed = false;
        let is_upload = matches!(op.kind, OpKind::Upload { .. });
        for id in op.kind.ids_mut() {
            if *id < 0 {
                match (self.ids.get(id), self.home) {
                    (Some(real), _) => *id = *real,
                    (None, Some(home)) if is_upload => {
                        *id = home;
                        rehomed = true;
                    }
                    (None, _) => {
                        return Step::Skip {
                            seq: op.seq,
                            reason: if self.lost.contains(id) {
                                "its folder could not be created".into()
                            } else {
                                "it names a folder that was never queued".into()
                            },
                        }
                    }
                }
            }
        }
        Step::Send { op, rehomed }
    }

    pub fn outcome(&mut self, op: &Op, outcome: &Outcome) -> Verdict {
        let temp = -op.seq;
        match outcome {
            Outcome::Ok { id, conflict } => {
                if let (OpKind::Mkdir { .. }, Some(id)) = (&op.kind, id) {
                    self.ids.insert(temp, *id);
                }
                if *conflict {
                    Verdict::Conflict
                } else {
                    Verdict::Done
                }
            }
            Outcome::Failed { status, .. } if *status == 0 || *status == 429 || *status >= 500 => {
                Verdict::RetryLater
            }
            // Deleting what is already gone is what the user wanted.
            Outcome::Failed { status: 404, .. } if matches!(op.kind, OpKind::Delete { .. }) => {
                Verdict::Done
            }
            Outcome::Failed { message, code, .. } => {
                if matches!(op.kind, OpKind::Mkdir { .. }) {
                    self.lost.insert(temp);
                }
                Verdict::Rejected {
                    message: if message.is_empty() {
                        code.clone()
                    } else {
                        message.clone()
                    },
                }
            }
        }
    }
}

/// Whether a change goes to the server now: not while offline, and not past changes already
/// waiting in the outbox, so the server sees changes in the order they were made.
pub fn send_now(online: bool, waiting: usize) -> bool {
    online && waiting == 0
}

/// Folds a queue before replay: a rename of a folder made offline becomes its name at creation,
/// and of several uploads to the same name in the same folder only the last is sent (it
/// carries the first one's base version, so a collision is still detected).
pub fn compact(ops: &[Op]) -> Vec<Op> {
    let mut out: Vec<Op> = Vec::with_capacity(ops.len());
    for op in ops {
        match &op.kind {
            OpKind::Rename { node_id, name } if *node_id < 0 => {
                if let Some(OpKind::Mkdir { name: n, .. }) = out
                    .iter_mut()
                    .find(|o| -o.seq == *node_id)
                    .map(|o| &mut o.kind)
                {
                    *n = name.clone();
                    continue;
                }
                out.push(op.clone());
            }
            OpKind::Upload {
                parent_id, name, ..
            } => {
                // One name in a folder by the server's own comparison (`names::same`).
                let same = |o: &Op| {
                    matches!(&o.kind, OpKind::Upload { parent_id: p, name: n, .. }
                        if p == parent_id && crate::names::same(n, name))
                };
                let mut op = op.clone();
                if let Some(i) = out.iter().rposition(same) {
                    let earlier = out.remove(i);
                    if let (
                        OpKind::Upload {
                            base_version: first,
                            ..
                        },
                        OpKind::Upload { base_version, .. },
                    ) = (&earlier.kind, &mut op.kind)
                    {
                        *base_version = *first;
                    }
                }
                out.push(op);
            }
            _ => out.push(op.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(seq: i64, kind: OpKind) -> Op {
        Op {
            seq,
            key: format!("k{seq}"),
            kind,
        }
    }

    fn ok(id: i64) -> Outcome {
        Outcome::Ok {
            id: Some(id),
            conflict: false,
        }
    }

    fn failed(status: u16, code: &str) -> Outcome {
        Outcome::Failed {
            status,
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn a_folder_made_offline_gets_its_real_id_for_what_follows() {
        let mkdir = op(
            1,
            OpKind::Mkdir {
                parent_id: 10,
                name: "Trip".into(),
            },
        );
        let upload = op(
            2,
            OpKind::Upload {
                parent_id: -1,
                name: "a.jpg".into(),
                base_version: None,
            },
        );
        let mut r = Replay::new();
        assert_eq!(
            r.step(&mkdir),
            Step::Send {
                op: mkdir.clone(),
                rehomed: false
            }
        );
        assert_eq!(r.outcome(&mkdir, &ok(77)), Verdict::Done);
        let Step::Send { op: sent, .. } = r.step(&upload) else {
            panic!("the upload must be sent")
        };
        assert_eq!(
            sent.kind,
            OpKind::Upload {
                parent_id: 77,
                name: "a.jpg".into(),
                base_version: None
            }
        );
        assert_eq!(r.resolved(-1), Some(77));
    }

    #[test]
    fn what_depends_on_a_rejected_folder_is_skipped() {
        let mkdir = op(
            3,
            OpKind::Mkdir {
                parent_id: 10,
                name: "bad/name".into(),
            },
        );
        let mv = op(
            4,
            OpKind::Move {
                node_id: 50,
                parent_id: -3,
            },
        );
        let mut r = Replay::new();
        assert!(matches!(
            r.outcome(&mkdir, &failed(400, "invalid_name")),
            Verdict::Rejected { .. }
        ));
        assert!(matches!(r.step(&mv), Step::Skip { seq: 4, .. }));
    }

    #[test]
    fn a_file_queued_into_a_folder_that_could_not_be_made_goes_home() {
        let mkdir = op(
            3,
            OpKind::Mkdir {
                parent_id: 10,
                name: "Trip".into(),
            },
        );
        let upload = op(
            4,
            OpKind::Upload {
                parent_id: -3,
                name: "a.jpg".into(),
                base_version: None,
            },
        );
        let mv = op(
            5,
            OpKind::Move {
                node_id: 50,
                parent_id: -3,
            },
        );
        let mut r = Replay::new();
        r.set_home(1);
        r.outcome(&mkdir, &failed(404, "folder_gone"));
        let Step::Send { op: sent, rehomed } = r.step(&upload) else {
            panic!("the file must be sent")
        };
        assert!(rehomed);
        assert!(matches!(sent.kind, OpKind::Upload { parent_id: 1, .. }));
        // Other changes have nothing to lose: a move into the lost folder is dropped.
        assert!(matches!(r.step(&mv), Step::Skip { seq: 5, .. }));
    }

    #[test]
    fn answers_map_to_verdicts() {
        let del = op(5, OpKind::Delete { node_id: 9 });
        let ren = op(
            6,
            OpKind::Rename {
                node_id: 9,
                name: "x".into(),
            },
        );
        let mut r = Replay::new();
        for (o, outcome, want) in [
            (&del, failed(0, "network"), Verdict::RetryLater),
            (&del, failed(503, "backoff"), Verdict::RetryLater),
            (&del, failed(429, "backoff"), Verdict::RetryLater),
            (&del, failed(404, "not_found"), Verdict::Done),
            (
                &ren,
                failed(404, "not_found"),
                Verdict::Rejected {
                    message: "not_found".into(),
                },
            ),
            (
                &ren,
                Outcome::Ok {
                    id: Some(9),
                    conflict: true,
                },
                Verdict::Conflict,
            ),
        ] {
            assert_eq!(r.outcome(o, &outcome), want, "{o:?} {outcome:?}");
        }
    }

    #[test]
    fn compaction_folds_renames_and_repeated_uploads() {
        let ops = vec![
            op(
                1,
                OpKind::Mkdir {
                    parent_id: 10,
                    name: "New folder".into(),
                },
            ),
            op(
                2,
                OpKind::Upload {
                    parent_id: 10,
                    name: "notes.txt".into(),
                    base_version: Some(4),
                },
            ),
            op(
                3,
                OpKind::Rename {
                    node_id: -1,
                    name: "Trip".into(),
                },
            ),
            op(
                4,
                OpKind::Upload {
                    parent_id: 10,
                    name: "Notes.txt".into(),
                    base_version: Some(5),
                },
            ),
            op(
                5,
                OpKind::Rename {
                    node_id: 33,
                    name: "y".into(),
                },
            ),
        ];
        let got = compact(&ops);
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].kind,
            OpKind::Mkdir {
                parent_id: 10,
                name: "Trip".into()
            }
        );
        assert_eq!(
            got[1],
            op(
                4,
                OpKind::Upload {
                    parent_id: 10,
                    name: "Notes.txt".into(),
                    base_version: Some(4)
                }
            )
        );
        assert_eq!(got[2].seq, 5);
    }

    #[test]
    fn a_change_waits_offline_and_behind_waiting_ones() {
        assert!(send_now(true, 0));
        assert!(!send_now(false, 0));
        assert!(!send_now(true, 2));
    }

    #[test]
    fn ops_read_the_json_the_page_stores() {
        let o: Op = serde_json::from_str(
            r#"{"seq":7,"key":"abc","op":"move","node_id":3,"parent_id":-2,"queued_at":1}"#,
        )
        .unwrap();
        assert_eq!(
            o.kind,
            OpKind::Move {
                node_id: 3,
                parent_id: -2
            }
        );
    }
}
