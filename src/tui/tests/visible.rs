//! Time a person can watch, and requests to one node (issue 13, §1 and
//! §5): the status bar's start hint and paper-Raft badge, the network
//! pane with a visible base latency, and `put … on N` and `delay N M`
//! on the simulator.

use std::sync::Arc;

use super::{app, elected, screen};
use crate::kv::Op;
use crate::raft::{NodeId, Role};
use crate::runtime::ClusterView;
use crate::sim::{Extensions, SimOptions};
use crate::tui::driver::Request;
use crate::tui::sim::{ClockState, SimSession, TICK_WALL};

const CLOCK: ClockState = ClockState {
    paused: false,
    speed: 1.0,
    tick_wall: TICK_WALL,
};

#[test]
fn a_dashboard_paused_before_time_ran_says_which_key_starts_it() {
    let mut view = elected();
    view.tick = 0;
    view.clock_paused = true;
    let (mut a, _) = app(view.clone());
    for (w, h) in [(100, 30), (80, 24), (120, 40)] {
        let s = screen(&mut a, w, h);
        assert!(
            s.contains("PAUSED: press space to start time"),
            "{w}×{h}:\n{s}"
        );
    }
    // Once time ran, paused is just paused.
    view.tick = 3;
    let (mut a, _) = app(view);
    let s = screen(&mut a, 100, 30);
    assert!(s.contains(" PAUSED ") && !s.contains("press space"), "{s}");
}

#[test]
fn the_status_bar_says_when_raft_runs_without_its_extensions() {
    let (mut a, _) = app(elected());
    assert!(!screen(&mut a, 100, 30).contains("no PreVote"));
    for (pre_vote, check_quorum, badge) in [
        (false, true, "no PreVote"),
        (true, false, "no CheckQuorum"),
        (false, false, "no PreVote, no CheckQuorum"),
    ] {
        let mut view = elected();
        view.teaching.extensions = Extensions {
            pre_vote,
            check_quorum,
        };
        let (mut a, _) = app(view);
        for w in [100, 120] {
            let s = screen(&mut a, w, 30);
            let bar = s.lines().last().unwrap_or_default().to_string();
            assert!(bar.contains(badge), "{w}: {bar}");
        }
    }
}

#[test]
fn the_network_pane_takes_the_base_latency_as_no_delay() {
    let mut view = elected();
    view.teaching.latency_us = (10_000, 20_000);
    for l in &mut view.links {
        (l.delay_min_us, l.delay_max_us) = (10_000, 20_000);
    }
    let (mut a, _) = app(view.clone());
    // At 200×50 the network pane has its link matrix (and its legend).
    let s = screen(&mut a, 200, 50);
    assert!(s.contains("latency 10..20ms, no loss"), "{s}");
    // Only the legend has the slow-link mark: no link is marked slow.
    assert_eq!(s.matches('≈').count(), 1, "{s}");
    // A link slowed beyond it shows.
    view.links[0].delay_max_us = 50_000;
    let (mut a, _) = app(view);
    let s = screen(&mut a, 120, 40);
    assert!(s.contains("delay 10..50ms"), "{s}");
}

/// A simulated run with the dashboards' visible latency.
fn visible(seed: u64) -> SimSession {
    let opts = SimOptions {
        seed,
        latency_us: crate::tui::VISIBLE_LATENCY_US,
        ..SimOptions::default()
    };
    SimSession::new(opts, None, 64, format!("sim seed {seed}")).unwrap()
}

/// Ticks until a leader is elected; its id.
fn elect(s: &mut SimSession) -> NodeId {
    for _ in 0..300 {
        s.tick();
        if let Some(l) = s.sim().leader() {
            return l;
        }
    }
    panic!("no leader in 3 s");
}

/// Ticks until request `id` is answered (at most `ticks`), checking
/// `each` on every view on the way.
fn answer(
    s: &mut SimSession,
    id: u64,
    ticks: usize,
    mut each: impl FnMut(&ClusterView),
) -> Result<String, String> {
    for _ in 0..ticks {
        let report = s.tick();
        each(&s.view(CLOCK));
        if let Some((_, result)) = report.answers.into_iter().find(|(i, _)| *i == Some(id)) {
            return result;
        }
    }
    panic!("no answer to request {id} in {ticks} ticks");
}

fn put(k: &str, v: &str) -> Op {
    Op::Put {
        key: k.into(),
        value: v.into(),
    }
}

#[test]
fn a_write_to_a_leader_cut_off_in_a_minority_sits_uncommitted_and_the_console_says_why() {
    let mut s = visible(3);
    let leader = elect(&mut s);
    for _ in 0..20 {
        s.tick();
    }
    let other = if leader == 1 { 2 } else { 1 };
    let rest: Vec<NodeId> = (1..=5).filter(|&n| n != leader && n != other).collect();
    let cut = s.request(1, Request::Partition(vec![vec![leader, other], rest]));
    assert!(matches!(cut, Some((Some(1), Ok(_)))), "{cut:?}");
    assert_eq!(s.request(2, Request::ClientOn(leader, put("y", "2"))), None);
    let mut held = Vec::new();
    let mut seen_uncommitted = 0;
    let result = answer(&mut s, 2, 200, |view| {
        let n = view.node(leader).unwrap();
        held = n
            .log
            .iter()
            .filter(|e| e.text == "put y=2")
            .map(|e| e.index)
            .collect();
        if let Some(&first) = held.first() {
            assert!(n.commit < first, "it never commits on a minority");
            seen_uncommitted += 1;
        }
    });
    assert!(
        !held.is_empty() && seen_uncommitted > 10,
        "{held:?} {seen_uncommitted}"
    );
    let at = match held.as_slice() {
        [one] => format!("at index {one}"),
        [first @ .., last] => format!(
            "at indexes {} and {last} (sent again when no answer came)",
            first
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [] => unreachable!(),
    };
    let err = result.unwrap_err();
    assert_eq!(
        err,
        format!(
            "n{leader} holds it {at}, not committed: n{leader} cannot reach a majority (it reaches n{} n{}; 3 of 5 are needed)",
            leader.min(other),
            leader.max(other)
        )
    );
    // Not the console's client: nothing went to the majority's side.
    let view = s.view(CLOCK);
    for id in (1..=5).filter(|&n| n != leader && n != other) {
        let n = view.node(id).unwrap();
        assert!(n.log.iter().all(|e| e.text != "put y=2"), "n{id} has it");
    }
    // And R replays exactly that.
    let before = s.sim().trace_hash();
    let now = s.now_us();
    s.replay().unwrap();
    while s.now_us() < now {
        s.tick();
    }
    assert_eq!(s.sim().trace_hash(), before);
}

#[test]
fn a_request_to_one_node_is_not_forwarded() {
    let mut s = visible(5);
    let leader = elect(&mut s);
    for _ in 0..20 {
        s.tick();
    }
    // Through the leader: done.
    s.request(1, Request::ClientOn(leader, put("a", "1")));
    assert_eq!(answer(&mut s, 1, 100, |_| {}), Ok("OK".to_string()));
    // To a follower: it is not the leader, and the console does not
    // forward, so the answer says who leads.
    let follower = if leader == 1 { 2 } else { 1 };
    s.request(2, Request::ClientOn(follower, put("b", "2")));
    let err = answer(&mut s, 2, 100, |_| {}).unwrap_err();
    assert!(
        err.contains(&format!(
            "node {follower} is not the leader (it says n{leader} leads)"
        )),
        "{err}"
    );
    let view = s.view(CLOCK);
    assert!(
        view.nodes
            .iter()
            .all(|n| n.log.iter().all(|e| e.text != "put b=2"))
    );
    // A read on the leader answers.
    s.request(3, Request::ClientOn(leader, Op::Get { key: "a".into() }));
    assert_eq!(answer(&mut s, 3, 100, |_| {}), Ok("1".to_string()));
    assert_eq!(view.node(leader).map(|n| n.role), Some(Role::Leader));
}

#[test]
fn delay_slows_one_link_both_ways_and_reset_keeps_the_base_latency() {
    let mut s = visible(1);
    let answer = s.request(1, Request::LinkDelay(1, 3, 50_000, 60_000));
    assert_eq!(
        answer,
        Some((
            Some(1),
            Ok("delay 50..60ms on the links n1 → n3 and n3 → n1".to_string())
        ))
    );
    let fabric = s.sim().fabric();
    for (a, b) in [(1, 3), (3, 1)] {
        let l = fabric.link(a, b).unwrap();
        assert_eq!((l.delay_min_us, l.delay_max_us), (50_000, 60_000));
    }
    let l = fabric.link(1, 2).unwrap();
    assert_eq!((l.delay_min_us, l.delay_max_us), (10_000, 20_000));
    assert_eq!(s.view(CLOCK).teaching.latency_us, (10_000, 20_000));
    assert!(matches!(
        s.request(2, Request::LinkDelay(1, 9, 1, 2)),
        Some((Some(2), Err(_)))
    ));
}

#[test]
fn the_view_carries_the_extensions_the_run_has() {
    let opts = SimOptions {
        extensions: Extensions {
            pre_vote: false,
            check_quorum: true,
        },
        ..SimOptions::default()
    };
    let mut s = SimSession::new(opts, None, 8, "t".into()).unwrap();
    let view: Arc<ClusterView> = s.view(CLOCK);
    assert_eq!(
        view.teaching.extensions.badge().as_deref(),
        Some("no PreVote")
    );
    // Without PreVote no node is ever a PreCandidate.
    for _ in 0..300 {
        s.tick();
        let view = s.view(CLOCK);
        assert!(view.nodes.iter().all(|n| n.role != Role::PreCandidate));
    }
    assert!(s.sim().leader().is_some());
}
