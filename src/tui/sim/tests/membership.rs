//! Membership changes in the simulated dashboard: asked as inputs (console
//! `add`/`promote`/`remove`, keys `a` `P` `x`), proposed through the
//! simulator's leader at virtual time, answered when committed, refused in
//! the live dashboard's words, and repeated exactly by a replay (R).

use super::*;
use super::{assert_replay_repeats, pump};
use crate::runtime::{ClusterView, MemberRole};
use crate::sim::SimOptions;
use crate::tui::driver::Request;

const CLOCK: ClockState = ClockState {
    paused: false,
    speed: 1.0,
    tick_wall: TICK_WALL,
};

fn session(seed: u64, nodes: usize) -> SimSession {
    let opts = SimOptions {
        seed,
        nodes,
        ..SimOptions::default()
    };
    SimSession::new(opts, None, 64, format!("sim seed {seed}")).unwrap()
}

/// Ticks until `done` holds of the session (at most `ticks`); the answers
/// that came meanwhile.
fn tick_until(
    s: &mut SimSession,
    ticks: u64,
    what: &str,
    done: impl Fn(&mut SimSession) -> bool,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    for _ in 0..ticks {
        if done(s) {
            return answers;
        }
        answers.extend(s.tick().answers);
    }
    assert!(
        done(s),
        "not within {ticks} ticks: {what}; answers {answers:?}"
    );
    answers
}

fn leader(s: &mut SimSession) -> Option<u64> {
    s.sim().leader()
}

fn role(view: &ClusterView, id: u64) -> MemberRole {
    view.member_role(id)
}

/// Asks `request` (id `id`) and ticks until its answer comes.
fn answer(s: &mut SimSession, id: u64, request: Request) -> Result<String, String> {
    if let Some((got, result)) = s.request(id, request) {
        assert_eq!(got, Some(id));
        return result;
    }
    for _ in 0..2000 {
        for (got, result) in s.tick().answers {
            if got == Some(id) {
                return result;
            }
        }
    }
    panic!("no answer to request {id} within 20 s");
}

/// Promotes `id`, asking again while the learner is still catching up.
fn promote(s: &mut SimSession, first_id: u64, id: u64) -> (u64, Result<String, String>) {
    let mut rid = first_id;
    loop {
        let result = answer(s, rid, Request::Promote(id));
        match &result {
            Err(e) if e.contains("has not caught up") && rid < first_id + 50 => {
                for _ in 0..5 {
                    s.tick();
                }
                rid += 1;
            }
            _ => return (rid, result),
        }
    }
}

#[test]
fn add_promote_and_remove_the_leader_through_the_simulator() {
    let mut s = session(7, 3);
    tick_until(&mut s, 500, "a leader", |s| leader(s).is_some());
    let first = leader(&mut s).unwrap();

    let added = answer(&mut s, 1, Request::AddLearner(4)).unwrap();
    assert!(
        added.starts_with("n4 joined as a learner (configuration entry ")
            && added.ends_with(" committed)"),
        "{added}"
    );
    let view = s.view(CLOCK);
    assert!(view.node(4).is_some(), "n4 has a card");
    assert_eq!(role(&view, 4), MemberRole::Learner);
    assert!(
        view.events
            .iter()
            .any(|e| e.text.starts_with("proposed: add learner 4 at ")),
        "{:?}",
        view.events
    );

    let (_, promoted) = promote(&mut s, 2, 4);
    let promoted = promoted.unwrap();
    assert!(promoted.starts_with("n4 is a voter"), "{promoted}");
    assert_eq!(role(&s.view(CLOCK), 4), MemberRole::Voter);

    let removed = answer(&mut s, 100, Request::Remove(first)).unwrap();
    assert!(
        removed.starts_with(&format!("n{first} is removed")),
        "{removed}"
    );
    tick_until(&mut s, 1000, "a new leader", |s| {
        leader(s).is_some_and(|l| l != first)
    });
    let view = s.view(CLOCK);
    assert_eq!(role(&view, first), MemberRole::Removed);
    let (config, pending) = view.configuration().unwrap();
    assert!(!pending);
    assert!(!config.contains(first), "{config}");
    assert!(config.is_voter(4), "{config}");
}

#[test]
fn refusals_are_in_the_live_dashboards_words() {
    let mut s = session(3, 3);
    // No leader: asked again for 3 s of virtual time, as live, then refused.
    s.request(1, Request::Kill(2)).unwrap().1.unwrap();
    s.request(2, Request::Kill(3)).unwrap().1.unwrap();
    let asked = s.now_us();
    let e = answer(&mut s, 3, Request::AddLearner(4)).unwrap_err();
    assert_eq!(e, "there is no leader");
    assert!(s.now_us() >= asked + 3_000_000);
    s.request(4, Request::RestartAll).unwrap().1.unwrap();
    tick_until(&mut s, 500, "a leader", |s| leader(s).is_some());
    let cases = [
        (Request::AddLearner(12), "node ids are 1 to 9, not 12"),
        (Request::AddLearner(2), "node 2 is already a voter"),
        (Request::Promote(3), "node 3 is already a voter"),
        (Request::Remove(7), "node 7 is not part of the cluster"),
        (
            Request::AddLearner(6),
            "node 6 cannot be added yet: the next new node is 4",
        ),
    ];
    for (i, (request, words)) in cases.into_iter().enumerate() {
        let e = answer(&mut s, 10 + i as u64, request.clone()).unwrap_err();
        assert_eq!(e, words, "{request:?}");
    }
    // A second change while the first is in flight.
    assert_eq!(s.request(20, Request::AddLearner(4)), None, "proposed");
    let e = answer(&mut s, 21, Request::Remove(2)).unwrap_err();
    assert!(e.contains("one change at a time"), "{e}");
    // The first one goes through; promoting the brand-new learner at once
    // is refused until it has caught up, or goes through if it has.
    tick_until(&mut s, 500, "n4 a learner", |s| {
        role(&s.view(CLOCK), 4) == MemberRole::Learner && !s.view(CLOCK).configuration().unwrap().1
    });
    // Removing n4 leaves it outside: promoting it is then "not a member".
    answer(&mut s, 22, Request::Remove(4)).unwrap();
    let e = answer(&mut s, 23, Request::Promote(4)).unwrap_err();
    assert_eq!(e, "node 4 is not a member of the cluster");
}

#[test]
fn the_last_voter_cannot_be_removed() {
    let mut s = session(1, 1);
    tick_until(&mut s, 500, "a leader", |s| leader(s).is_some());
    let e = answer(&mut s, 1, Request::Remove(1)).unwrap_err();
    assert_eq!(e, "cannot remove node 1: it is the last voter");
}

#[test]
fn a_learner_behind_is_not_promoted() {
    let mut s = session(5, 3);
    tick_until(&mut s, 500, "a leader", |s| leader(s).is_some());
    // A log to catch up on.
    for i in 0..20 {
        answer(&mut s, 100 + i, Request::Put(format!("k{i}"), "v".into())).unwrap();
    }
    // Cut n4's links as soon as it starts, so it cannot catch up.
    assert_eq!(s.request(1, Request::AddLearner(4)), None);
    s.request(2, Request::Isolate(4)).unwrap().1.unwrap();
    let added = tick_until(&mut s, 500, "the add committed", |s| {
        !s.view(CLOCK).configuration().unwrap().1
    });
    assert!(
        added.iter().any(|(id, r)| *id == Some(1) && r.is_ok()),
        "{added:?}"
    );
    let e = answer(&mut s, 3, Request::Promote(4)).unwrap_err();
    assert!(e.starts_with("learner 4 has not caught up yet"), "{e}");
}

/// A view's tick and each node's role, term and place in the configuration.
fn print(v: &ClusterView) -> String {
    let mut line = format!("t{}", v.tick);
    for n in &v.nodes {
        line.push_str(&format!(
            " n{}:{:?}/{}/{}",
            n.id,
            n.role,
            n.term,
            v.member_role(n.id).label()
        ));
    }
    line
}

/// A run with membership inputs: add n4 as soon as a leader shows (so it
/// waits for the leader to be ready), promote it once it caught up, remove
/// the leader; the views' ticks and roles, and the hash.
fn membership_run(s: &mut SimSession, ticks: u64) -> (Vec<String>, u64) {
    let mut prints = Vec::new();
    let mut id = 0;
    let mut promoted = false;
    let mut removed = false;
    for tick in 0..ticks {
        let view = s.view(CLOCK);
        let config = view.configuration();
        if id == 0 && view.leader().is_some() {
            id += 1;
            s.request(id, Request::AddLearner(4));
        }
        if id > 0
            && tick % 10 == 0
            && !promoted
            && config.is_some_and(|(c, p)| c.is_learner(4) && !p)
        {
            id += 1;
            promoted = s.request(id, Request::Promote(4)).is_none();
        }
        if promoted
            && !removed
            && config.is_some_and(|(c, p)| c.is_voter(4) && !p)
            && let Some(l) = view.leader()
        {
            id += 1;
            removed = s.request(id, Request::Remove(l)).is_none();
        }
        s.tick();
        prints.push(print(&s.view(CLOCK)));
    }
    assert!(removed, "the run made all three changes");
    (prints, s.sim().trace_hash())
}

#[test]
fn replay_repeats_membership_inputs_with_the_same_trace_hash() {
    // Seed 7: the first leader is not ready yet when n4 is asked for, so
    // the replay repeats the waiting too.
    let mut s = session(7, 3);
    let (first, hash) = membership_run(&mut s, 600);
    let recorded = s.inputs().to_vec();
    assert!(
        recorded
            .iter()
            .any(|i| matches!(i.request, Request::Remove(_))),
        "{recorded:?}"
    );
    let events = assert_replay_repeats(&mut s, &first, hash, print);
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("replayed: add learner 4: waiting for a leader")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.starts_with("n4 is a voter")),
        "{events:?}"
    );
}

#[test]
fn the_keys_change_membership_through_the_simulator_thread_and_r_repeats_it() {
    use crate::tui::action::Action;
    use crate::tui::app::{App, Options};
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut s = session(7, 3);
    let first = s.view(CLOCK);
    let driver = SimDriver::start(s, 10.0, false, tx).unwrap();
    let mut app = App::new(first, Box::new(driver), Options::default());
    pump(&mut app, &rx, "a leader", |a| a.view.leader().is_some());
    let transcript =
        |a: &App| -> Vec<String> { a.console.transcript().map(|l| l.text.clone()).collect() };
    // `a`: the next free id joins as a learner and gets a card.
    app.update(Action::AddNext);
    pump(&mut app, &rx, "n4's answer", |a| a.pending.is_empty());
    let lines = transcript(&app);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("n4 joined as a learner")),
        "{lines:?}"
    );
    pump(&mut app, &rx, "n4's card", |a| {
        a.view.node(4).is_some() && a.view.member_role(4) == MemberRole::Learner
    });
    // `x` on the leader: removed, and another leads.
    let leader = app.view.leader().unwrap();
    app.update(Action::Select(leader));
    app.update(Action::Remove);
    pump(&mut app, &rx, "the removal's answer", |a| {
        a.pending.is_empty()
    });
    pump(&mut app, &rx, "a new leader", |a| {
        a.view.leader().is_some_and(|l| l != leader)
    });
    let hash = app.sim.as_ref().unwrap().trace_hash;
    let at = app.sim.as_ref().unwrap().now_us;
    assert_eq!(app.sim.as_ref().unwrap().inputs, 2);
    // R: the same seed from time 0, both changes replayed at their times.
    app.update(Action::ToggleClock);
    app.update(Action::Replay);
    pump(&mut app, &rx, "the replay", |a| {
        a.sim.as_ref().is_some_and(|s| s.runs == 2)
    });
    app.update(Action::ToggleClock);
    pump(&mut app, &rx, "the replay reaching the same time", |a| {
        a.sim.as_ref().is_some_and(|s| s.now_us >= at)
    });
    // Every tick posts its status, so the replay shows that very time,
    // with the same trace hash.
    let again = app.sim.as_ref().unwrap();
    assert_eq!(again.now_us, at);
    assert_eq!(again.trace_hash, hash, "same seed, same inputs, same trace");
    assert_eq!(app.view.member_role(leader), MemberRole::Removed);
    assert_eq!(app.view.member_role(4), MemberRole::Learner);
}
