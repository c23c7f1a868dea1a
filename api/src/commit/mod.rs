//! Turning a finished upload into a version, with its change-log entry, in one transaction.
//!
//! The rules: a retried commit (same device, same idempotency key) returns the first answer;
//! content equal to the current version writes nothing; a commit whose `base_version` is not
//! the current one keeps both sides, the newcomer as a conflicted copy beside the original;
//! the namespace's quota holds, old versions making room first.
//!
//! - `rules`: those rules as plain functions over rows already read (no database), shared by
//!   both paths below and unit-tested on their own;
//! - `group`: the one writer that runs every commit queued at a moment in one transaction;
//! - `batch`: a batch's plain commits in a fixed number of set-based statements;
//! - `one`: one commit at a time, for whatever the set-based path leaves.
//!
//! Their SQL is `db::commit` (with `db::changes` for the change log and `db::usage` for the
//! quota): this module decides, `db` reads and writes.

pub mod batch;
pub mod group;
pub mod one;
pub mod rules;

pub use group::Committer;
