//! The simulated mode without a terminal: sessions driven tick by tick
//! (determinism, replay, violations), and the App driven through the real
//! simulator thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;

use super::*;
use crate::raft::{Bugs, Role};
use crate::runtime::{ClusterView, NodeState};
use crate::sim::SimOptions;
use crate::tui::action::{Action, NewView};
use crate::tui::app::{App, Options};
use crate::tui::driver::Request;
use crate::tui::run::Msg;

const CLOCK: ClockState = ClockState {
    paused: false,
    speed: 1.0,
    tick_wall: TICK_WALL,
};

pub(super) fn session(seed: u64) -> SimSession {
    let opts = SimOptions {
        seed,
        ..SimOptions::default()
    };
    SimSession::new(opts, None, 64, format!("sim seed {seed}")).unwrap()
}

/// What a view shows of each node, and the network.
pub(super) fn fingerprint(view: &ClusterView) -> String {
    let mut out = format!("t{} ", view.tick);
    for n in &view.nodes {
        out.push_str(&format!(
            "n{}:{:?}/{:?}/t{}/v{:?}/c{}/a{}/l{}/{} ",
            n.id,
            n.state,
            n.role,
            n.term,
            n.vote,
            n.commit,
            n.applied,
            n.last_index,
            n.election_elapsed
        ));
    }
    out.push_str(&format!("{:?}", view.groups));
    out
}

/// The inputs a class might give, at fixed ticks.
fn inputs_at(tick: u64, leader: Option<u64>) -> Vec<Request> {
    match tick {
        40 => vec![Request::Put("x".into(), "1".into())],
        60 => leader.map(Request::Kill).into_iter().collect(),
        90 => vec![Request::Partition(vec![vec![1, 2], vec![3, 4, 5]])],
        120 => vec![Request::Heal, Request::Get("x".into())],
        150 => vec![Request::RestartAll],
        _ => vec![],
    }
}

/// Runs `ticks` ticks giving the inputs above; the views' fingerprints,
/// the answers and the trace hash.
fn drive(s: &mut SimSession, ticks: u64) -> (Vec<String>, Vec<Answer>, u64) {
    let mut prints = Vec::new();
    let mut answers = Vec::new();
    let mut id = 0;
    for tick in 0..ticks {
        let leader = s.sim().leader();
        for r in inputs_at(tick, leader) {
            id += 1;
            answers.extend(s.request(id, r));
        }
        answers.extend(s.tick().answers);
        prints.push(fingerprint(&s.view(CLOCK)));
    }
    (prints, answers, s.sim().trace_hash())
}

#[test]
fn the_same_seed_and_inputs_give_the_same_views() {
    let (a, answers_a, hash_a) = drive(&mut session(7), 200);
    let (b, answers_b, hash_b) = drive(&mut session(7), 200);
    assert_eq!(a, b);
    assert_eq!(answers_a, answers_b);
    assert_eq!(hash_a, hash_b);
    // The inputs did something: a put answered, a node killed, a get read it.
    assert!(
        answers_a.contains(&(Some(1), Ok("OK".into()))),
        "{answers_a:?}"
    );
    assert!(
        answers_a
            .iter()
            .any(|(_, r)| r.as_ref().is_ok_and(|t| t.starts_with("killed n"))),
        "{answers_a:?}"
    );
    assert!(
        answers_a.contains(&(Some(5), Ok("1".into()))),
        "{answers_a:?}"
    );
    // Another seed is another run.
    let (c, _, hash_c) = drive(&mut session(8), 200);
    assert_ne!(a, c);
    assert_ne!(hash_a, hash_c);
}

/// Replays `s` from time 0 (`R`) and checks that, with no new input, it
/// repeats its first run: `first` (one `print` of the view per tick), the
/// trace `hash` and the recorded inputs. Returns the replay's events.
pub(super) fn assert_replay_repeats(
    s: &mut SimSession,
    first: &[String],
    hash: u64,
    print: impl Fn(&ClusterView) -> String,
) -> Vec<String> {
    let recorded = s.inputs().to_vec();
    let answered = s.replay().unwrap();
    assert!(answered.is_empty(), "{answered:?}");
    assert_eq!(s.now_us(), 0);
    assert_eq!(s.status().to_replay, recorded.len());
    let mut again = Vec::new();
    for _ in 0..first.len() {
        s.tick();
        again.push(print(&s.view(CLOCK)));
    }
    for (tick, (a, b)) in again.iter().zip(first).enumerate() {
        assert_eq!(a, b, "tick {tick} differs");
    }
    assert_eq!(s.sim().trace_hash(), hash);
    assert_eq!(s.inputs(), recorded.as_slice());
    assert_eq!(s.status().to_replay, 0);
    s.view(CLOCK)
        .events
        .iter()
        .map(|e| e.text.clone())
        .collect()
}

#[test]
fn replay_repeats_the_run_with_its_inputs() {
    let mut s = session(3);
    let (first, _, hash) = drive(&mut s, 200);
    assert!(s.inputs().len() >= 5, "{:?}", s.inputs());
    // No new inputs: the recorded ones are applied at their times.
    let events = assert_replay_repeats(&mut s, &first, hash, fingerprint);
    assert_eq!(s.status().runs, 2);
    assert!(
        events.iter().any(|e| e.starts_with("replayed: killed n")),
        "{events:?}"
    );
}

#[test]
fn a_new_input_ends_a_replay() {
    let mut s = session(3);
    drive(&mut s, 100);
    s.replay().unwrap();
    for _ in 0..30 {
        s.tick();
    }
    let left = s.status().to_replay;
    assert!(left > 0);
    let answer = s.request(99, Request::Heal);
    assert_eq!(answer, Some((Some(99), Ok("healed every link".into()))));
    assert_eq!(s.status().to_replay, 0);
    let events = s.view(CLOCK).events.clone();
    assert!(
        events
            .iter()
            .any(|e| e.text
                == format!("a new input ends the replay; {left} recorded inputs dropped")),
        "{events:?}"
    );
}

#[test]
fn a_violation_stops_the_run_and_is_shown() {
    let opts = SimOptions {
        seed: 1,
        bugs: {
            let mut b = Bugs::default();
            assert!(b.enable("forget-vote"));
            b
        },
        faults: crate::sim::FaultSchedule::all(),
        clients: 5,
        keys: 5,
        max_ops: 1000,
        ops_per_sec: 100,
        ..SimOptions::default()
    };
    let mut s = SimSession::new(opts, None, 64, "bug".into()).unwrap();
    let mut hit = None;
    for _ in 0..1000 {
        let report = s.tick();
        if let Some(v) = report.violation {
            hit = Some(v);
            break;
        }
    }
    let v = hit.expect("forget-vote breaks an invariant within 10 s on seed 1");
    assert!(!s.can_run());
    let at = s.now_us();
    assert_eq!(at, v.time_us);
    assert!(s.tick().violation.is_none());
    assert_eq!(s.now_us(), at, "time does not go on after a violation");
    assert_eq!(s.status().violation, Some(v.clone()));
    let view = s.view(CLOCK);
    let last = view.events.last().unwrap();
    assert!(last.text.starts_with("INVARIANT VIOLATED: "), "{last:?}");
    assert!(last.text.contains(v.invariant.name()));
    let refused = s.request(1, Request::Heal).unwrap().1.unwrap_err();
    assert!(refused.contains("R replays it"), "{refused}");
}

#[test]
fn the_simulator_cannot_pause_a_node_and_says_so() {
    let mut s = session(1);
    let (_, result) = s.request(1, Request::Pause(2)).unwrap();
    assert!(result.unwrap_err().contains("kill it"));
}

/// Fills a whole history from a 5-node run; its approximate size.
fn full_history(mut opts: SimOptions) -> usize {
    // As the dashboards run: messages stay on the wire 10–20 ms.
    opts.latency_us = crate::tui::VISIBLE_LATENCY_US;
    let mut s = SimSession::new(opts, None, 256, "mem".into()).unwrap();
    let mut history = crate::tui::history::ViewHistory::default();
    for _ in 0..crate::tui::history::HISTORY_CAP {
        s.tick();
        history.record(s.view(CLOCK));
    }
    assert_eq!(history.len(), crate::tui::history::HISTORY_CAP);
    history.approx_bytes()
}

#[test]
fn a_full_history_stays_within_its_documented_bound() {
    let quiet = full_history(SimOptions {
        seed: 5,
        ..SimOptions::default()
    });
    let busy = full_history(SimOptions {
        seed: 5,
        faults: crate::sim::FaultSchedule::all(),
        clients: 5,
        keys: 5,
        ops_per_sec: 100,
        ..SimOptions::default()
    });
    eprintln!("full history, 5 nodes: quiet {quiet} bytes, busy {busy} bytes");
    // docs/dashboard.md gives about 12 and 18 MB; hold them under about
    // twice that.
    assert!(quiet < 24 << 20, "{quiet}");
    assert!(busy < 36 << 20, "{busy}");
}

/// Feeds the App what the simulator thread posts until `until` holds.
pub(super) fn pump(
    app: &mut App,
    rx: &crossbeam_channel::Receiver<Msg>,
    what: &str,
    until: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !until(app) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Msg::View(v)) => app.update(Action::View(NewView(v))),
            Ok(Msg::Sim(s)) => app.update(Action::Sim(s)),
            Ok(Msg::Done(o)) => app.update(Action::Done(o)),
            Ok(_) | Err(_) => {}
        }
    }
}

#[test]
fn the_app_runs_on_the_simulator_thread() {
    let (tx, rx) = unbounded::<Msg>();
    let mut s = session(7);
    let first = s.view(CLOCK);
    let driver = SimDriver::start(s, 10.0, false, tx).unwrap();
    let mut app = App::new(first, Box::new(driver), Options::default());
    pump(&mut app, &rx, "a leader", |a| a.view.leader().is_some());
    assert_eq!(app.sim.as_ref().map(|s| s.seed), Some(7));
    let leader = app.view.leader().unwrap();

    // Kill the leader with its key: another is elected.
    app.update(Action::Select(leader));
    app.update(Action::Kill);
    pump(&mut app, &rx, "a new leader", |a| {
        a.view.leader().is_some_and(|l| l != leader)
    });
    assert_eq!(app.view.node(leader).unwrap().state, NodeState::Down);

    // Time travel: back one tick pauses the clock and shows the past.
    app.update(Action::HistoryBack(1));
    pump(&mut app, &rx, "the clock paused", |a| a.live.clock_paused);
    let shown = app.view.tick;
    assert!(app.past.is_some());
    assert!(shown < app.live.tick);
    app.update(Action::HistoryBack(10));
    assert!(app.view.tick < shown);
    app.update(Action::Present);
    assert!(app.past.is_none());
    assert!(Arc::ptr_eq(&app.view, &app.live));

    // Single step while paused: exactly one tick.
    let before = app.live.tick;
    app.update(Action::Step);
    pump(&mut app, &rx, "one tick", |a| a.live.tick > before);
    assert_eq!(app.live.tick, before + 1);

    // A write through the console answers OK.
    app.update(Action::ToggleClock);
    for c in "put k v".chars() {
        app.update(Action::Edit(crate::tui::console::Edit::Insert(c)));
    }
    app.update(Action::Submit);
    pump(&mut app, &rx, "the put's answer", |a| a.pending.is_empty());
    let lines: Vec<String> = app.console.transcript().map(|l| l.text.clone()).collect();
    assert!(lines.iter().any(|l| l == "OK"), "{lines:?}");

    // R: the same seed again from time 0, the kill and the put replayed.
    app.update(Action::Replay);
    pump(&mut app, &rx, "the replay", |a| {
        a.sim.as_ref().is_some_and(|s| s.runs == 2) && a.view.tick < 50
    });
    pump(&mut app, &rx, "the kill replayed", |a| {
        a.view
            .node(leader)
            .is_some_and(|n| n.state == NodeState::Down)
    });
    assert!(
        app.history.len() < 200,
        "the history restarted with the run"
    );
    assert!(
        app.view
            .nodes
            .iter()
            .any(|n| n.role == Role::Leader || n.state == NodeState::Down)
    );
}

#[test]
fn nodes_added_by_membership_changes_appear_in_the_view() {
    use crate::sim::FaultSchedule;
    let mut grown = None;
    for seed in 0..20 {
        let opts = SimOptions {
            seed,
            nodes: 3,
            faults: FaultSchedule::parse("membership").unwrap(),
            ..SimOptions::default()
        };
        let mut s = SimSession::new(opts, None, 64, format!("sim seed {seed}")).unwrap();
        for _ in 0..1000 {
            s.tick();
            if s.sim().node_ids().len() > 3 {
                break;
            }
        }
        if s.sim().node_ids().len() > 3 {
            grown = Some(s);
            break;
        }
    }
    let mut s = grown.expect("some seed in 0..20 adds a node within 10 s");
    let ids = s.sim().node_ids();
    let view = s.view(CLOCK);
    let shown: Vec<_> = view.nodes.iter().map(|n| n.id).collect();
    assert_eq!(shown, ids, "every node the simulator runs has a card");
}

mod hold;
mod membership;
