//! The live-sync loop's decisions, sans I/O: when to pull the change feed, how to react to
//! `cursor_reset` and `backoff`, and which cached folder listings a page of changes makes stale.
//! The page feeds it SSE hints and feed answers and performs the actions it returns.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// What the page does next.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `GET /changes?cursor=` (from the beginning when `None`).
    Pull { cursor: Option<String> },
    /// The cursor is gone: forget cached listings, re-list the open folder, pull from scratch.
    Relist,
    /// Wait, then pull again.
    Wait { ms: u32, cursor: Option<String> },
    /// Up to date: wait for the next hint.
    Idle,
}

/// One entry of the change feed (only what the planner needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    pub seq: i64,
    /// The namespace whose log `seq` counts in: the user's own tree or a shared one.
    #[serde(default)]
    pub namespace_id: i64,
    pub node_id: i64,
    #[serde(default)]
    pub node: Option<ChangedNode>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChangedNode {
    pub parent_id: Option<i64>,
}

/// A `/changes` answer, as much of it as the planner reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub changes: Vec<Change>,
    /// Opaque to the client; older servers sent a number.
    pub cursor: serde_json::Value,
    #[serde(default)]
    pub has_more: bool,
}

/// What a page means: the folders whose cached listings are stale, and what to do next.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Applied {
    pub folders: BTreeSet<i64>,
    pub next: Action,
}

#[derive(Debug, Default)]
pub struct Feed {
    cursor: Option<String>,
    /// Highest seq applied per namespace (each has its own log); hints at or below it are
    /// old news.
    seqs: HashMap<i64, i64>,
    pulling: bool,
    /// A hint came while pulling: pull once more afterwards.
    again: bool,
    failures: u32,
    /// The last failure came with the server's `Retry-After`.
    told_to_wait: bool,
    /// Where each node was last seen, so a move refreshes the folder it left.
    parents: HashMap<i64, Option<i64>>,
}

impl Feed {
    pub fn new(cursor: Option<String>) -> Feed {
        Feed {
            cursor,
            ..Feed::default()
        }
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Remembers the parent of nodes seen in a listing.
    pub fn saw(&mut self, node_id: i64, parent_id: Option<i64>) {
        self.parents.insert(node_id, parent_id);
    }

    /// The start, a reconnect, or an SSE hint that `namespace` is at `seq` (`None`: unknown).
    pub fn hint(&mut self, namespace: Option<i64>, seq: Option<i64>) -> Action {
        if let (Some(ns), Some(seq)) = (namespace, seq) {
            if self.seqs.get(&ns).is_some_and(|&known| seq <= known) {
                return Action::Idle;
            }
        }
        if self.pulling {
            self.again = true;
            return Action::Idle;
        }
        self.pulling = true;
        Action::Pull {
            cursor: self.cursor.clone(),
        }
    }

    /// The event stream (re)opened, so the server answers again: a pull waiting out the
    /// backoff of earlier failures goes now, and the next failure starts the backoff over.
    /// Without it a device whose pulls kept failing while its stream flapped sat out waits of
    /// many seconds after the server was back (`api/tests/churn`). A wait the server asked
    /// for (`Retry-After`) is still honoured, and a stream that stays open changes nothing.
    pub fn reconnected(&mut self) -> Action {
        if self.failures > 0 && !self.told_to_wait {
            self.failures = 0;
            self.again = false;
            self.pulling = true;
            return Action::Pull {
                cursor: self.cursor.clone(),
            };
        }
        self.hint(None, None)
    }

    /// A `/changes` answer arrived (see `page`).
    pub fn apply(&mut self, page: Page) -> Applied {
        let cursor = match page.cursor {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let (folders, next) = self.page(&page.changes, cursor, page.has_more);
        Applied { folders, next }
    }

    /// A page arrived: returns the folders whose listings changed and what to do next.
    pub fn page(
        &mut self,
        changes: &[Change],
        cursor: String,
        has_more: bool,
    ) -> (BTreeSet<i64>, Action) {
        self.failures = 0;
        self.told_to_wait = false;
        let mut folders = BTreeSet::new();
        for c in changes {
            let known = self.seqs.entry(c.namespace_id).or_insert(0);
            *known = (*known).max(c.seq);
            if let Some(Some(old)) = self.parents.get(&c.node_id) {
                folders.insert(*old);
            }
            let now = c.node.as_ref().and_then(|n| n.parent_id);
            if let Some(p) = now {
                folders.insert(p);
            }
            // A folder's own change (renamed, trashed) also changes its listing header.
            folders.insert(c.node_id);
            self.parents.insert(c.node_id, now);
        }
        self.cursor = Some(cursor);
        let next = if has_more || std::mem::take(&mut self.again) {
            Action::Pull {
                cursor: self.cursor.clone(),
            }
        } else {
            self.pulling = false;
            Action::Idle
        };
        (folders, next)
    }

    /// The feed failed. `retry_after` is the server's Retry-After in seconds, if any.
    pub fn error(&mut self, status: u16, code: &str, retry_after: Option<u32>) -> Action {
        if status == 410 || code == wire::ErrorCode::CursorReset.as_str() {
            self.cursor = None;
            self.seqs.clear();
            self.failures = 0;
            self.pulling = false;
            self.parents.clear();
            return Action::Relist;
        }
        self.failures += 1;
        self.told_to_wait = retry_after.is_some_and(|s| s > 0);
        // 0.5 s, 1 s, 2 s … capped at 30 s; the server's Retry-After wins when longer.
        let backoff = 500u32.saturating_mul(1 << self.failures.min(6).saturating_sub(1));
        let ms = backoff
            .min(30_000)
            .max(retry_after.unwrap_or(0).saturating_mul(1000));
        Action::Wait {
            ms,
            cursor: self.cursor.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: i64, node_id: i64, parent: Option<i64>) -> Change {
        Change {
            seq,
            namespace_id: 1,
            node_id,
            node: Some(ChangedNode { parent_id: parent }),
        }
    }

    #[test]
    fn a_reopened_stream_cuts_a_backoff_short_unless_the_server_asked_for_it() {
        let mut f = Feed::new(Some("c1".into()));
        assert!(matches!(f.hint(None, None), Action::Pull { .. }));
        for _ in 0..5 {
            assert!(matches!(f.error(0, "", None), Action::Wait { .. }));
        }
        // A hint while waiting does not pull early (a stream that is up while pulls fail
        // would hammer the server); a stream that reopened does, and the backoff restarts.
        assert_eq!(f.hint(Some(1), Some(9)), Action::Idle);
        let now = Action::Pull {
            cursor: Some("c1".into()),
        };
        assert_eq!(f.reconnected(), now);
        assert_eq!(
            f.error(0, "", None),
            Action::Wait {
                ms: 500,
                cursor: Some("c1".into())
            }
        );
        // Retry-After is kept.
        assert!(matches!(
            f.error(503, "", Some(5)),
            Action::Wait { ms: 5000, .. }
        ));
        assert_eq!(f.reconnected(), Action::Idle);
        // The reopen seen meanwhile asks for one more pull after the next page, no more.
        let (_, next) = f.page(&[], "c2".into(), false);
        assert!(matches!(next, Action::Pull { .. }));
        let (_, next) = f.page(&[], "c3".into(), false);
        assert_eq!(next, Action::Idle);
    }

    #[test]
    fn hints_pull_once_and_old_news_is_ignored() {
        let mut f = Feed::new(None);
        assert_eq!(f.hint(Some(1), Some(3)), Action::Pull { cursor: None });
        // A second hint while pulling queues exactly one more pull.
        assert_eq!(f.hint(Some(1), Some(4)), Action::Idle);
        let (_, next) = f.page(&[change(3, 5, Some(1))], "c3".into(), false);
        assert_eq!(
            next,
            Action::Pull {
                cursor: Some("c3".into())
            }
        );
        let (_, next) = f.page(&[change(4, 6, Some(1))], "c4".into(), false);
        assert_eq!(next, Action::Idle);
        assert_eq!(f.hint(Some(1), Some(4)), Action::Idle);
        assert_eq!(
            f.hint(Some(1), Some(5)),
            Action::Pull {
                cursor: Some("c4".into())
            }
        );
    }

    #[test]
    fn each_namespace_counts_its_own_seqs() {
        let mut f = Feed::new(None);
        f.hint(None, None);
        let mut shared = change(40, 8, Some(2));
        shared.namespace_id = 7;
        f.page(&[change(3, 5, Some(1)), shared], "c".into(), false);
        // The user's own tree at 4 is news although a shared one is at 40; 40 there is not.
        assert_eq!(f.hint(Some(7), Some(40)), Action::Idle);
        assert_eq!(
            f.hint(Some(1), Some(4)),
            Action::Pull {
                cursor: Some("c".into())
            }
        );
    }

    #[test]
    fn a_move_refreshes_both_folders() {
        let mut f = Feed::new(Some("c0".into()));
        f.saw(9, Some(1));
        f.hint(None, None);
        let (folders, _) = f.page(&[change(1, 9, Some(2))], "c1".into(), false);
        assert_eq!(folders.into_iter().collect::<Vec<_>>(), vec![1, 2, 9]);
        // A deletion (node gone) still refreshes where it was.
        f.hint(None, None);
        let gone = Change {
            seq: 2,
            namespace_id: 1,
            node_id: 9,
            node: None,
        };
        let (folders, _) = f.page(&[gone], "c2".into(), false);
        assert!(folders.contains(&2));
    }

    #[test]
    fn a_page_reads_the_json_the_server_sends() {
        let mut f = Feed::new(None);
        f.hint(None, None);
        let page: Page = serde_json::from_str(
            r#"{"changes":[{"seq":4,"node_id":7,"kind":"create","node":{"parent_id":1,"name":"x"}}],
                "cursor":42,"has_more":true}"#,
        )
        .unwrap();
        let got = f.apply(page);
        assert_eq!(got.folders.into_iter().collect::<Vec<_>>(), vec![1, 7]);
        assert_eq!(
            got.next,
            Action::Pull {
                cursor: Some("42".into())
            }
        );
    }

    #[test]
    fn reset_relists_and_backoff_waits_longer_each_time() {
        let mut f = Feed::new(Some("c9".into()));
        f.hint(None, None);
        assert_eq!(f.error(410, "cursor_reset", None), Action::Relist);
        assert_eq!(f.cursor(), None);
        let waits: Vec<u32> = (0..8)
            .map(|_| match f.error(0, "network", None) {
                Action::Wait { ms, .. } => ms,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            waits,
            vec![500, 1000, 2000, 4000, 8000, 16000, 16000, 16000]
        );
        assert!(matches!(
            f.error(503, "backoff", Some(60)),
            Action::Wait { ms: 60_000, .. }
        ));
    }
}
