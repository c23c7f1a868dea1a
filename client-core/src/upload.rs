//! An upload job's lifecycle as a state machine: hash, then start (or resume) an upload, send
//! the missing chunks, commit; paused by the user or by the network, queued in the outbox when
//! offline, restarted when the server forgot the upload. The page performs each `Step` with
//! its browser handles (the File, the hashing workers, `fetch`) and reports back; every
//! decision about what comes next is made here, so a reload, a pause and an outage all resume
//! the same way, and the outbox's replay of a queued upload and a file request's drop page run
//! the very same sequence.

use serde::{Deserialize, Serialize};

/// Where a job stands; the page draws it (`data-state` on the row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Waiting,
    Hashing,
    Sending,
    Committing,
    Paused,
    /// Handed to the offline outbox, which sends it when the network is back.
    Queued,
    Done,
    Failed,
    Canceled,
}

impl State {
    /// Nothing more will happen without the user (retry, dismiss).
    pub fn finished(self) -> bool {
        matches!(
            self,
            State::Queued | State::Done | State::Failed | State::Canceled
        )
    }
}

/// What the page does next, then reports with the matching method of `Job`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Step {
    /// Chunk and hash the file into its manifest → `hashed`.
    Hash,
    /// Put the whole file in the offline outbox → `queued`.
    Queue,
    /// `GET /uploads/{upload_id}`: what the server still lacks → `answered` (or `failed`).
    Resume { upload_id: String },
    /// `POST /uploads` with the manifest → `started`; the page then stores the job so a
    /// reload resumes it.
    Start,
    /// PUT the missing chunks of the last answer → `sent` (or `failed`, `aborted` when paused).
    Send,
    /// Commit the upload under the idempotency `key` → `committed`. `into_home` is set once
    /// the job's own folder was lost (`Fault::FolderLost`): commit into that folder (the
    /// user's home root) instead, under the same name and key.
    Commit {
        upload_id: String,
        key: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        into_home: Option<i64>,
    },
    /// Paused by the user: wait for `resume` (the job keeps its place in the queue).
    WaitResume,
    /// Paused for the network: give up the queue place and wait for `resume`.
    WaitNetwork,
    /// Nothing more to do; `state` says how it ended.
    Stop,
}

/// How a step failed, as far as the lifecycle cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// No network (or the browser says it is offline).
    Offline,
    /// The transfer was stopped on purpose (pause, cancel).
    Aborted,
    /// The commit's folder is gone (deleted, or no longer shared with the user) or no longer
    /// theirs to write (`folder_gone`, `role_too_low`): a job that knows the user's home commits
    /// there instead, so a concurrent delete never costs the user their edit.
    FolderLost,
    /// Anything else: the server refused, or something broke.
    Other,
}

/// Where the job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The signed-in user's upload list: pausable, and an outage pauses it or hands it to the
    /// offline outbox.
    Interactive,
    /// Straight through, with no pause and no outbox: an outage fails the job, for its caller
    /// to handle (the outbox's replay keeps its operation; a file request's drop page offers
    /// Retry).
    Plain,
}

#[derive(Debug, Clone)]
pub struct Job {
    mode: Mode,
    state: State,
    /// The folder; negative while it exists only in the outbox.
    parent_id: i64,
    hashed: bool,
    upload_id: Option<String>,
    /// The idempotency key of the commit; the upload id when none was given.
    key: Option<String>,
    /// An answer listing the missing chunks is in hand (resume or start just answered).
    answer: bool,
    /// A resume of `upload_id` was asked for and not yet answered.
    resuming: bool,
    sent: bool,
    /// The state a pause interrupted.
    paused_from: Option<State>,
    /// Paused by an outage rather than by the user.
    for_network: bool,
    /// An outage stopped it before the server knew it: the outbox takes it whatever the
    /// browser says about the network.
    to_outbox: bool,
    /// The user's home root, where the edit goes when its folder is lost (`with_home`).
    home: Option<i64>,
    /// Its folder was lost: it commits into `home`.
    rehomed: bool,
    /// Pauses for the network since the server last answered.
    network_waits: u32,
}

impl Job {
    /// A new job, or one stored before a reload (`hashed` when its manifest was kept,
    /// `upload_id` when the server had accepted it).
    pub fn new(mode: Mode, parent_id: i64, hashed: bool, upload_id: Option<String>) -> Job {
        Job {
            mode,
            state: State::Waiting,
            parent_id,
            hashed,
            upload_id,
            key: None,
            answer: false,
            resuming: false,
            sent: false,
            paused_from: None,
            for_network: false,
            to_outbox: false,
            home: None,
            rehomed: false,
            network_waits: 0,
        }
    }

    /// Commits into `home` (the user's home root) if its own folder is lost on the way. Jobs
    /// that are not the signed-in user's (a drop page's) have no home and fail instead.
    pub fn with_home(mut self, home: i64) -> Job {
        self.home = Some(home);
        self
    }

    /// Its folder was lost and the commit went, or goes, into the home root instead.
    pub fn rehomed(&self) -> bool {
        self.rehomed
    }

    /// Commits under `key` instead of the upload id (an outbox operation's own key).
    pub fn with_key(mut self, key: String) -> Job {
        self.key = Some(key);
        self
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    /// The idempotency key its commit goes under, fixed once the server accepted the first
    /// upload: the page stores it with the upload id, so a job rebuilt after a reload commits
    /// under it whatever upload it ends up sending (`with_key`).
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref().or(self.upload_id.as_deref())
    }

    /// Paused by an outage, so the page's `online` event should resume it.
    pub fn waiting_for_network(&self) -> bool {
        self.state == State::Paused && self.for_network
    }

    /// How long a job waiting for the network waits before the page resumes it on its own
    /// while the browser says it is online: the server, or the path to it, may be down with
    /// no `online` event to come. 2 s, doubling with each pause since the server last
    /// answered, at most a minute.
    pub fn network_retry_ms(&self) -> u32 {
        (2_000u32 << self.network_waits.saturating_sub(1).min(5)).min(60_000)
    }

    /// The next step; `online` is what the browser believes right now.
    pub fn next(&mut self, online: bool) -> Step {
        match self.state {
            s if s.finished() => return Step::Stop,
            State::Paused if self.for_network => return Step::WaitNetwork,
            State::Paused => return Step::WaitResume,
            _ => {}
        }
        if !self.hashed {
            self.state = State::Hashing;
            return Step::Hash;
        }
        let offline = !online || self.parent_id < 0 || self.to_outbox;
        if offline && self.mode == Mode::Interactive && !self.answer {
            return Step::Queue;
        }
        if self.sent {
            self.state = State::Committing;
            let upload_id = self.upload_id.clone().unwrap_or_default();
            return Step::Commit {
                key: self.key.clone().unwrap_or_else(|| upload_id.clone()),
                upload_id,
                into_home: self.home.filter(|_| self.rehomed),
            };
        }
        self.state = State::Sending;
        if self.answer {
            return Step::Send;
        }
        match &self.upload_id {
            Some(id) => {
                self.resuming = true;
                Step::Resume {
                    upload_id: id.clone(),
                }
            }
            None => Step::Start,
        }
    }

    pub fn hashed(&mut self) {
        self.hashed = true;
    }

    pub fn queued(&mut self) {
        self.state = State::Queued;
    }

    pub fn answered(&mut self) {
        self.resuming = false;
        self.answer = true;
        self.network_waits = 0;
    }

    pub fn started(&mut self, upload_id: String) {
        if self.key.is_none() {
            self.key = Some(upload_id.clone());
        }
        self.upload_id = Some(upload_id);
        self.answer = true;
    }

    pub fn sent(&mut self) {
        self.sent = true;
        self.answer = false;
    }

    pub fn committed(&mut self) {
        self.state = State::Done;
        self.paused_from = None;
    }

    /// The step in progress failed.
    pub fn failed(&mut self, fault: Fault) {
        if self.state == State::Canceled {
            return;
        }
        if fault == Fault::FolderLost
            && self.state == State::Committing
            && self.home.is_some()
            && !self.rehomed
        {
            // Into the home root under the same key: the failed commit wrote nothing, and one
            // that did (its answer lost) is answered from the key before the folder is looked
            // at. A file of the same name there becomes a conflicted copy, never a new version
            // of it: the edit's base version belongs to another file.
            self.rehomed = true;
            return;
        }
        // What the server listed as missing may have changed: ask again before sending.
        self.answer = false;
        if std::mem::take(&mut self.resuming) && fault != Fault::Offline {
            // Expired or gone: start over (the server still skips the chunks it holds). Gone
            // may also mean committed, by a commit whose answer never came back (a reload or
            // a crash while it was in flight): the new upload commits under the first one's
            // key, so the server answers that commit instead of writing the file twice.
            let first = self.upload_id.take();
            if self.key.is_none() {
                self.key = first;
            }
            return;
        }
        match fault {
            // A pause stopped the transfer; resuming asks what is still missing.
            Fault::Aborted if self.state == State::Paused => {}
            Fault::Offline if self.mode == Mode::Interactive && self.upload_id.is_some() => {
                // The stored job waits; the `online` event resumes it, or the page after
                // `network_retry_ms` if the browser thinks it is online already.
                self.paused_from = Some(State::Sending);
                self.for_network = true;
                self.state = State::Paused;
                self.network_waits += 1;
            }
            // Offline before the server knew it: the outbox takes the whole file.
            Fault::Offline if self.mode == Mode::Interactive && self.hashed => {
                self.to_outbox = true;
            }
            _ => self.state = State::Failed,
        }
    }

    /// The user paused; true when a transfer in flight should be stopped.
    pub fn pause(&mut self) -> bool {
        if self.state.finished() || self.state == State::Paused || self.mode == Mode::Plain {
            return false;
        }
        self.paused_from = Some(self.state);
        self.for_network = false;
        self.state = State::Paused;
        true
    }

    /// Back to where the pause interrupted it; false when it was not paused.
    pub fn resume(&mut self) -> bool {
        if self.state != State::Paused {
            return false;
        }
        self.state = self.paused_from.take().unwrap_or(State::Sending);
        self.for_network = false;
        true
    }

    /// Canceled by the user; returns the state it had, so the page knows what to undo.
    pub fn cancel(&mut self) -> State {
        std::mem::replace(&mut self.state, State::Canceled)
    }

    /// A failed job tried again from where it stopped.
    pub fn retry(&mut self) {
        if self.state == State::Failed {
            self.state = State::Waiting;
        }
    }
}

#[cfg(test)]
mod tests;
