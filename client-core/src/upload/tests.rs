use super::*;

/// Drives `job` with every step answered by `answer` until it stops or waits; returns the
/// steps taken.
fn run(job: &mut Job, online: bool, mut answer: impl FnMut(&Step, &mut Job)) -> Vec<Step> {
    let mut steps = Vec::new();
    for _ in 0..20 {
        let step = job.next(online);
        steps.push(step.clone());
        if matches!(step, Step::Stop | Step::WaitResume | Step::WaitNetwork) {
            return steps;
        }
        answer(&step, job);
    }
    panic!("no end: {steps:?}");
}

/// Every step succeeds; `start` hands out upload `u1`.
fn ok(step: &Step, job: &mut Job) {
    match step {
        Step::Hash => job.hashed(),
        Step::Queue => job.queued(),
        Step::Resume { .. } => job.answered(),
        Step::Start => job.started("u1".into()),
        Step::Send => job.sent(),
        Step::Commit { .. } => job.committed(),
        other => panic!("{other:?}"),
    }
}

fn commit(id: &str, key: &str) -> Step {
    Step::Commit {
        upload_id: id.into(),
        key: key.into(),
        into_home: None,
    }
}

#[test]
fn a_new_file_hashes_starts_sends_and_commits() {
    let mut job = Job::new(Mode::Interactive, 5, false, None);
    let steps = run(&mut job, true, ok);
    assert_eq!(
        steps,
        [
            Step::Hash,
            Step::Start,
            Step::Send,
            commit("u1", "u1"),
            Step::Stop
        ]
    );
    assert_eq!(job.state(), State::Done);
}

#[test]
fn after_a_reload_it_resumes_and_an_expired_upload_starts_over() {
    let mut job = Job::new(Mode::Interactive, 5, true, Some("old".into()));
    let steps = run(&mut job, true, ok);
    assert_eq!(
        steps[0],
        Step::Resume {
            upload_id: "old".into()
        }
    );
    assert_eq!(steps[1], Step::Send);

    let mut job = Job::new(Mode::Interactive, 5, true, Some("old".into()));
    let steps = run(&mut job, true, |s, j| match s {
        Step::Resume { .. } => j.failed(Fault::Other), // 404: expired
        _ => ok(s, j),
    });
    assert_eq!(
        steps[..3],
        [
            Step::Resume {
                upload_id: "old".into()
            },
            Step::Start,
            Step::Send
        ]
    );
    // Under the first upload's key: had "old" been committed already (its answer lost), the
    // server answers that commit rather than writing the file again.
    assert_eq!(steps[3], commit("u1", "old"));
    assert_eq!(job.state(), State::Done);
    assert_eq!(job.key(), Some("old"));
}

#[test]
fn a_job_rebuilt_with_its_key_commits_under_it_whatever_upload_it_sends() {
    // Started as "u0" (its key), restarted after a reload as "u1" whose commit answer was lost
    // in a second reload: rebuilt from what the page stored, it still commits under "u0".
    let mut job = Job::new(Mode::Interactive, 5, false, None);
    job.next(true);
    job.hashed();
    assert_eq!(job.next(true), Step::Start);
    job.started("u0".into());
    assert_eq!(job.key(), Some("u0"));
    let mut job = Job::new(Mode::Interactive, 5, true, Some("u1".into())).with_key("u0".into());
    let steps = run(&mut job, true, ok);
    assert_eq!(steps[2], commit("u1", "u0"));
}

#[test]
fn offline_before_the_server_knew_it_goes_to_the_outbox() {
    // Offline from the start, or into a folder made offline: hash, then queue.
    for (online, parent) in [(false, 5), (true, -3)] {
        let mut job = Job::new(Mode::Interactive, parent, false, None);
        assert_eq!(
            run(&mut job, online, ok),
            [Step::Hash, Step::Queue, Step::Stop]
        );
        assert_eq!(job.state(), State::Queued);
    }
    // The start failed for want of a network, though the browser still says online.
    let mut job = Job::new(Mode::Interactive, 5, false, None);
    let steps = run(&mut job, true, |s, j| match s {
        Step::Start => j.failed(Fault::Offline),
        _ => ok(s, j),
    });
    assert_eq!(steps, [Step::Hash, Step::Start, Step::Queue, Step::Stop]);
}

#[test]
fn offline_mid_transfer_waits_for_the_network_then_asks_what_is_missing() {
    let mut job = Job::new(Mode::Interactive, 5, true, None);
    let mut first = true;
    let steps = run(&mut job, true, |s, j| match s {
        Step::Send if first => {
            first = false;
            j.failed(Fault::Offline)
        }
        _ => ok(s, j),
    });
    assert_eq!(steps, [Step::Start, Step::Send, Step::WaitNetwork]);
    assert_eq!(job.state(), State::Paused);
    assert!(job.waiting_for_network());
    assert!(job.resume());
    let steps = run(&mut job, true, ok);
    assert_eq!(
        steps,
        [
            Step::Resume {
                upload_id: "u1".into()
            },
            Step::Send,
            commit("u1", "u1"),
            Step::Stop
        ]
    );
}

#[test]
fn a_pause_stops_the_transfer_and_resume_continues_it() {
    let mut job = Job::new(Mode::Interactive, 5, true, None);
    let steps = run(&mut job, true, |s, j| match s {
        Step::Send => {
            assert!(j.pause(), "a transfer in flight is stopped");
            j.failed(Fault::Aborted)
        }
        _ => ok(s, j),
    });
    assert_eq!(steps, [Step::Start, Step::Send, Step::WaitResume]);
    assert!(!job.waiting_for_network());
    assert!(!job.pause(), "already paused");
    assert!(job.resume());
    assert_eq!(job.state(), State::Sending);
    assert_eq!(
        job.next(true),
        Step::Resume {
            upload_id: "u1".into()
        }
    );
}

#[test]
fn a_pause_while_hashing_holds_the_job_after_the_manifest() {
    let mut job = Job::new(Mode::Interactive, 5, false, None);
    assert_eq!(job.next(true), Step::Hash);
    assert!(job.pause());
    job.hashed();
    assert_eq!(job.next(true), Step::WaitResume);
    job.resume();
    assert_eq!(job.next(true), Step::Start);
}

#[test]
fn cancel_and_failure_end_it_and_retry_picks_up_where_it_stopped() {
    let mut job = Job::new(Mode::Interactive, 5, true, None);
    assert_eq!(job.next(true), Step::Start);
    job.started("u1".into());
    assert_eq!(job.cancel(), State::Sending);
    job.failed(Fault::Aborted);
    assert_eq!(job.next(true), Step::Stop);
    assert_eq!(job.state(), State::Canceled);
    assert!(!job.pause());

    let mut job = Job::new(Mode::Interactive, 5, true, None);
    let steps = run(&mut job, true, |s, j| match s {
        Step::Commit { .. } => j.failed(Fault::Other),
        _ => ok(s, j),
    });
    assert_eq!(steps.last(), Some(&Step::Stop));
    assert_eq!(job.state(), State::Failed);
    job.retry();
    assert_eq!(job.next(true), commit("u1", "u1"));
}

#[test]
fn the_outbox_replay_runs_the_same_sequence_under_its_own_key() {
    let mut job = Job::new(Mode::Plain, 5, false, None).with_key("op-key".into());
    let steps = run(&mut job, true, ok);
    assert_eq!(
        steps,
        [
            Step::Hash,
            Step::Start,
            Step::Send,
            commit("u1", "op-key"),
            Step::Stop
        ]
    );
    // An outage fails the replay (which keeps the operation for later), never queues again.
    let mut job = Job::new(Mode::Plain, 5, false, None).with_key("k".into());
    let steps = run(&mut job, true, |s, j| match s {
        Step::Send => j.failed(Fault::Offline),
        _ => ok(s, j),
    });
    assert_eq!(steps.last(), Some(&Step::Stop));
    assert_eq!(job.state(), State::Failed);
    assert!(!job.pause(), "nothing to pause in a replay");
}

#[test]
fn a_commit_whose_folder_was_lost_goes_to_the_home_root_under_the_same_key() {
    let mut job = Job::new(Mode::Interactive, 5, true, None).with_home(1);
    let mut lost_once = false;
    let steps = run(&mut job, true, |s, j| match s {
        Step::Commit {
            into_home: None, ..
        } if !lost_once => {
            lost_once = true;
            j.failed(Fault::FolderLost);
        }
        other => ok(other, j),
    });
    assert_eq!(
        &steps[steps.len() - 3..],
        &[
            commit("u1", "u1"),
            Step::Commit {
                upload_id: "u1".into(),
                key: "u1".into(),
                into_home: Some(1),
            },
            Step::Stop
        ]
    );
    assert!(job.rehomed());
    assert_eq!(job.state(), State::Done);
}

#[test]
fn a_lost_folder_fails_a_job_without_a_home_and_a_second_loss_fails_any() {
    let mut drop_page = Job::new(Mode::Plain, 0, true, None);
    run(&mut drop_page, true, |s, j| match s {
        Step::Commit { .. } => j.failed(Fault::FolderLost),
        other => ok(other, j),
    });
    assert_eq!(drop_page.state(), State::Failed);

    let mut homed = Job::new(Mode::Plain, 0, true, None).with_home(1);
    run(&mut homed, true, |s, j| match s {
        Step::Commit { .. } => j.failed(Fault::FolderLost),
        other => ok(other, j),
    });
    assert_eq!(homed.state(), State::Failed);
}

#[test]
fn a_job_paused_for_the_network_while_online_retries_sooner_then_later() {
    let mut job = Job::new(Mode::Interactive, 5, true, None);
    assert_eq!(job.next(true), Step::Start);
    job.started("u1".into());
    assert_eq!(job.next(true), Step::Send);
    let mut waits = Vec::new();
    for _ in 0..8 {
        // The send, then each resume's question, finds the server unreachable.
        job.failed(Fault::Offline);
        assert!(job.waiting_for_network());
        waits.push(job.network_retry_ms());
        assert!(job.resume());
        assert_eq!(
            job.next(true),
            Step::Resume {
                upload_id: "u1".into()
            }
        );
    }
    assert_eq!(
        waits,
        [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]
    );
    // The server answered again: the next outage starts from the shortest wait.
    job.answered();
    assert_eq!(job.next(true), Step::Send);
    job.failed(Fault::Offline);
    assert!(job.waiting_for_network());
    assert_eq!(job.network_retry_ms(), 2_000);
}
