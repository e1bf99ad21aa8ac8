//! The teaching panes in simulated mode, on real simulated runs: the
//! message list holds what the simulator sent with its fate in the fabric,
//! the checker panel is the simulator's own checks, the badge shows its
//! bugs, and `bug NAME on|off` is a recorded input that `R` replays.

use std::sync::Arc;

use super::{app, key, press, screen};
use crate::raft::NodeId;
use crate::runtime::TICK_CLUSTER_US;
use crate::runtime::observe::{DropCause, Fate, Invariant, LinStatus, MessageRecord, MsgFilter};
use crate::sim::SimOptions;
use crate::tui::driver::Request;
use crate::tui::sim::{ClockState, SimSession, TICK_WALL};

const CLOCK: ClockState = ClockState {
    paused: true,
    speed: 1.0,
    tick_wall: TICK_WALL,
};

fn session(seed: u64, bugs: &[&str]) -> SimSession {
    let mut opts = SimOptions {
        seed,
        ..SimOptions::default()
    };
    for b in bugs {
        assert!(opts.bugs.enable(b));
    }
    SimSession::new(opts, None, 64, format!("sim seed {seed}")).unwrap()
}

fn ticks(s: &mut SimSession, n: u64) {
    for _ in 0..n {
        s.tick();
    }
}

/// Every message recorded so far, oldest first.
fn messages(s: &mut SimSession) -> Vec<MessageRecord> {
    let view = s.view(CLOCK);
    let mut all = view
        .teaching
        .messages
        .recent(&MsgFilter::default(), 0, usize::MAX);
    all.reverse();
    all
}

/// The messages sent after `tick` that touch `node` (or not).
fn after(all: &[MessageRecord], tick: u64, node: NodeId, touching: bool) -> Vec<MessageRecord> {
    all.iter()
        .filter(|r| r.tick > tick && (r.from == node || r.to == node) == touching)
        .cloned()
        .collect()
}

/// The session's tick now.
fn now_tick(s: &SimSession) -> u64 {
    s.now_us() / TICK_CLUSTER_US
}

#[test]
fn the_message_list_shows_each_fate_the_fabric_gave() {
    let mut s = session(7, &[]);
    ticks(&mut s, 100);
    assert!(s.sim().leader().is_some(), "seed 7 elects within 1 s");
    let before = messages(&mut s);
    assert!(before.len() > 20, "{} messages", before.len());
    // A quiet network: everything delivered (the ordinary latency is not a
    // delay), numbered in order.
    assert!(
        before.iter().all(|r| r.fate == Fate::Delivered),
        "{before:?}"
    );
    assert!(before.windows(2).all(|w| w[0].seq + 1 == w[1].seq));

    // Isolated: every message from or to n3 is dropped, link down; the
    // rest still arrive.
    let at = now_tick(&s);
    s.request(1, Request::Isolate(3)).unwrap().1.unwrap();
    ticks(&mut s, 50);
    let all = messages(&mut s);
    let cut = after(&all, at, 3, true);
    assert!(!cut.is_empty());
    assert!(
        cut.iter()
            .all(|r| r.fate == Fate::Dropped(DropCause::LinkDown)),
        "{cut:?}"
    );
    let rest = after(&all, at, 3, false);
    assert!(!rest.is_empty());
    assert!(rest.iter().all(|r| r.fate == Fate::Delivered), "{rest:?}");

    // Killed: messages to n3 are dropped, node down.
    s.request(2, Request::Heal).unwrap().1.unwrap();
    let at = now_tick(&s);
    s.request(3, Request::Kill(3)).unwrap().1.unwrap();
    ticks(&mut s, 30);
    let to_dead: Vec<_> = after(&messages(&mut s), at, 3, true);
    assert!(!to_dead.is_empty());
    assert!(
        to_dead
            .iter()
            .all(|r| r.to == 3 && r.fate == Fate::Dropped(DropCause::NodeDown)),
        "{to_dead:?}"
    );

    // Lossy: every message lost.
    s.request(4, Request::Restart(3)).unwrap().1.unwrap();
    let at = now_tick(&s);
    s.request(5, Request::Loss(1.0)).unwrap().1.unwrap();
    ticks(&mut s, 20);
    let lost: Vec<_> = messages(&mut s)
        .into_iter()
        .filter(|r| r.tick > at)
        .collect();
    assert!(!lost.is_empty());
    assert!(
        lost.iter()
            .all(|r| r.fate == Fate::Dropped(DropCause::Lost)),
        "{lost:?}"
    );

    // Slow: delayed, by what the fabric drew.
    s.request(6, Request::Loss(0.0)).unwrap().1.unwrap();
    let at = now_tick(&s);
    s.request(7, Request::Delay(20_000, 30_000))
        .unwrap()
        .1
        .unwrap();
    ticks(&mut s, 20);
    let slow: Vec<_> = messages(&mut s)
        .into_iter()
        .filter(|r| r.tick > at)
        .collect();
    assert!(!slow.is_empty());
    assert!(
        slow.iter()
            .all(|r| matches!(r.fate, Fate::Delayed { us } if (20_000..=30_000).contains(&us))),
        "{slow:?}"
    );
}

#[test]
fn recording_messages_changes_nothing_and_a_replay_starts_a_fresh_log() {
    let mut watched = session(11, &[]);
    ticks(&mut watched, 200);
    let mut plain = crate::sim::Sim::new(SimOptions {
        seed: 11,
        ..SimOptions::default()
    })
    .unwrap();
    plain.run_for(200 * TICK_CLUSTER_US).unwrap();
    assert_eq!(watched.sim().trace_hash(), plain.trace_hash());
    let first = messages(&mut watched);
    assert!(!first.is_empty());

    watched.replay().unwrap();
    assert!(messages(&mut watched).is_empty(), "R starts a fresh log");
    ticks(&mut watched, 200);
    let again = messages(&mut watched);
    assert_eq!(again, first, "the same seed sends the same messages");
}

#[test]
fn a_quiet_run_is_all_ok() {
    let mut s = session(7, &[]);
    ticks(&mut s, 300);
    let checks = s.view(CLOCK).teaching.checks.clone();
    assert!(checks.active && checks.simulated);
    assert_eq!(checks.findings, vec![]);
    assert_eq!(checks.linearizability, LinStatus::Empty);
    assert!(!checks.violated());
    assert_eq!(
        checks.rows().len(),
        Invariant::ALL.len() + Invariant::SIM_ONLY.len() - 1
    );
}

#[test]
fn a_forgotten_vote_shows_on_its_row_and_the_badge() {
    let opts = SimOptions {
        seed: 1,
        faults: crate::sim::FaultSchedule::all(),
        clients: 5,
        keys: 5,
        max_ops: 1000,
        ops_per_sec: 100,
        bugs: {
            let mut b = crate::raft::Bugs::default();
            b.enable("forget-vote");
            b
        },
        ..SimOptions::default()
    };
    let mut s = SimSession::new(opts, None, 64, "bug".into()).unwrap();
    let v = (0..1000)
        .find_map(|_| s.tick().violation)
        .expect("forget-vote breaks an invariant within 10 s on seed 1");
    let view = s.view(CLOCK);
    let row = v.invariant.row().expect("a row");
    let found = view.teaching.checks.finding(row).expect("VIOLATED");
    assert_eq!(found.details, v.details);
    assert_eq!(found.tick, v.time_us / TICK_CLUSTER_US);

    let status = Arc::new(s.status());
    let (mut app, _) = app((*view).clone());
    app.sim = Some(status);
    press(&mut app, &[key('c')]);
    let screen = screen(&mut app, 80, 24);
    assert!(
        screen
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(" ⚠ BUG ")),
        "{screen}"
    );
    assert!(screen.contains("Simulator checks: VIOLATED"), "{screen}");
    let line = screen
        .lines()
        .find(|l| l.contains(&format!("✗ {}", row.name())))
        .unwrap_or_default();
    assert!(line.contains("VIOLATED"), "{screen}");
    // 80×24 has no room for all 12 rows: the broken one, the rest counted.
    assert!(screen.contains("the other 11 checks OK"), "{screen}");
    assert!(
        screen.contains("first violation, one vote per term"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    // At 200×50 every row is listed; the catch-all only when it is used.
    let wide = super::screen(&mut app, 200, 50);
    for inv in Invariant::ALL.iter().chain(&Invariant::SIM_ONLY[..5]) {
        assert!(wide.contains(inv.name()), "{} missing: {wide}", inv.name());
    }
    assert!(!wide.contains(Invariant::OtherSimCheck.name()), "{wide}");
}

#[test]
fn every_sim_invariant_has_a_row() {
    for name in [
        "election safety",
        "one vote per term",
        "term never decreases",
        "commit never goes back",
        "log matching",
        "nothing committed is lost",
        "state machine safety",
        "leader append-only",
        "leader completeness",
        "apply in order",
        "apply only committed",
        "applied state equals replay",
        "persist before send",
    ] {
        let row = Invariant::named(name).and_then(Invariant::row).unwrap();
        assert_ne!(row, Invariant::OtherSimCheck, "{name}");
    }
    assert_eq!(
        Invariant::named("commit within log").and_then(Invariant::row),
        Some(Invariant::OtherSimCheck)
    );
    assert_eq!(Invariant::Linearizability.row(), None);
}

#[test]
fn switching_a_bug_is_a_recorded_input_that_r_replays() {
    let mut s = session(2, &[]);
    ticks(&mut s, 30);
    assert!(!s.view(CLOCK).teaching.bugs.any());
    let (_, answer) = s
        .request(1, Request::Bug("forget-vote".into(), true))
        .unwrap();
    assert_eq!(
        answer.unwrap(),
        "unsafe variants on: forget-vote — Raft is unsafe now"
    );
    assert_eq!(s.view(CLOCK).teaching.bugs.names(), vec!["forget-vote"]);
    let unknown = s
        .request(2, Request::Bug("nonsense".into(), true))
        .unwrap()
        .1
        .unwrap_err();
    assert!(unknown.contains("nonsense"), "{unknown}");
    ticks(&mut s, 30);
    s.request(3, Request::Bug("forget-vote".into(), false))
        .unwrap()
        .1
        .unwrap();
    assert!(!s.view(CLOCK).teaching.bugs.any());
    ticks(&mut s, 10);
    let hash = s.sim().trace_hash();

    // R: off at first, on from the input's time, off again after.
    s.replay().unwrap();
    assert!(!s.view(CLOCK).teaching.bugs.any());
    ticks(&mut s, 31);
    assert_eq!(s.view(CLOCK).teaching.bugs.names(), vec!["forget-vote"]);
    ticks(&mut s, 39);
    assert!(!s.view(CLOCK).teaching.bugs.any());
    assert_eq!(s.sim().trace_hash(), hash);
}
