//! Teaching mode on a live cluster: the message record, the live
//! invariant checker (which must pass a correct run and catch a bug
//! switched on), unsafe variants switched live, and the capped history.

use std::time::Duration;

use raftlab::kv::{ClientOutcome, OpResult};
use raftlab::raft::{Bugs, NodeId, Role};
use raftlab::runtime::observe::{DropCause, Fate, Invariant, LinStatus, MsgClass, MsgFilter};
use raftlab::runtime::{Cluster, ClusterConfig, NodeState, RuntimeError};

mod common;

use common::wait_for;

const OP: Duration = Duration::from_secs(5);

fn start(seed: u64, observe: bool) -> Cluster {
    common::start(ClusterConfig {
        nodes: 3,
        seed,
        tick: Duration::from_millis(2),
        observe,
        ..ClusterConfig::default()
    })
}

fn leader(cluster: &Cluster) -> NodeId {
    let view = wait_for(cluster, "a leader", |v| v.leader().is_some());
    view.leader().unwrap_or(0)
}

#[test]
fn an_observed_cluster_records_its_messages_and_their_fates() {
    let cluster = start(11, true);
    let id = leader(&cluster);
    let view = wait_for(&cluster, "recorded appends", |v| {
        let appends = MsgFilter {
            from: Some(id),
            class: Some(MsgClass::Heartbeat),
            ..MsgFilter::default()
        };
        !v.teaching.messages.recent(&appends, 0, 1).is_empty()
    });
    assert!(view.teaching.messages.recording);
    let votes = MsgFilter {
        class: Some(MsgClass::Vote),
        ..MsgFilter::default()
    };
    let v = view.teaching.messages.recent(&votes, 0, 100);
    assert!(
        v.iter().any(|r| r.kind == "VoteResp" && r.to == id),
        "the election's answers are recorded: {v:?}"
    );
    // Cut a follower off: what the leader sends it is dropped, and says why.
    let follower = if id == 1 { 2 } else { 1 };
    assert_eq!(cluster.isolate(follower), Ok(()));
    let view = wait_for(&cluster, "a message dropped on a cut link", |v| {
        let to = MsgFilter {
            from: Some(id),
            to: Some(follower),
            ..MsgFilter::default()
        };
        v.teaching
            .messages
            .recent(&to, 0, 1)
            .first()
            .is_some_and(|r| r.fate == Fate::Dropped(DropCause::LinkDown))
    });
    assert!(view.link(id, follower).is_some_and(|l| !l.up));
}

#[test]
fn an_unobserved_cluster_records_nothing() {
    let cluster = start(12, false);
    leader(&cluster);
    let view = cluster.view();
    assert!(!view.teaching.messages.recording);
    assert!(
        view.teaching
            .messages
            .recent(&MsgFilter::default(), 0, 1)
            .is_empty()
    );
    assert!(!view.teaching.checks.active);
    // Switched on later, it starts recording.
    cluster.set_observe(true);
    wait_for(&cluster, "messages once observed", |v| {
        !v.teaching
            .messages
            .recent(&MsgFilter::default(), 0, 1)
            .is_empty()
    });
}

#[test]
fn a_correct_run_keeps_every_invariant_and_a_linearizable_history() {
    let cluster = start(13, true);
    leader(&cluster);
    let mut client = cluster.client();
    for i in 0..20 {
        let out = client.put(&format!("k{}", i % 3), &i.to_string(), OP);
        assert_eq!(out, ClientOutcome::Ok(OpResult::Done));
    }
    let old = leader(&cluster);
    assert_eq!(cluster.kill(old), Ok(()));
    assert_eq!(
        client.get("k1", OP),
        ClientOutcome::Ok(OpResult::Value(Some("19".into())))
    );
    assert_eq!(cluster.restart(old), Ok(()));
    let view = wait_for(&cluster, "the history checked", |v| {
        matches!(
            v.teaching.checks.linearizability,
            LinStatus::Linearizable { ops: 21, .. }
        )
    });
    let checks = &view.teaching.checks;
    assert!(checks.active);
    assert!(checks.observed > 0);
    assert!(checks.findings.is_empty(), "{:?}", checks.findings);
    assert!(!checks.violated());
}

#[test]
fn forget_vote_switched_on_is_caught_by_the_live_checker() {
    let cluster = start(14, true);
    let id = leader(&cluster);
    // A follower that voted in the leader's term.
    let view = wait_for(&cluster, "a follower with a vote", |v| {
        v.nodes
            .iter()
            .any(|n| n.id != id && n.role == Role::Follower && n.vote.is_some())
    });
    let voter = view
        .nodes
        .iter()
        .find(|n| n.id != id && n.vote.is_some())
        .map_or(0, |n| n.id);
    let bugs = cluster.set_bug("forget-vote", true);
    assert_eq!(bugs.map(|b| b.forget_vote), Ok(true));
    let view = cluster.view();
    assert_eq!(view.teaching.bugs.names(), vec!["forget-vote"]);
    assert!(
        view.events
            .iter()
            .any(|e| e.text == "bug forget-vote ON: Raft is now unsafe")
    );
    assert_eq!(cluster.kill(voter), Ok(()));
    assert_eq!(cluster.restart(voter), Ok(()));
    // The checker records the finding, then posts its event: a view
    // published between the two has the one without the other, so wait
    // for both (each is asserted below).
    let view = wait_for(&cluster, "the forgotten vote caught and told", |v| {
        v.teaching
            .checks
            .finding(Invariant::OneVotePerTerm)
            .is_some()
            && v.events
                .iter()
                .any(|e| e.text.starts_with("INVARIANT VIOLATED: one vote per term"))
    });
    let finding = view.teaching.checks.finding(Invariant::OneVotePerTerm);
    let details = finding.map_or(String::new(), |f| f.details.clone());
    assert!(
        details.starts_with(&format!("n{voter} voted for n"))
            && details.ends_with("then forgot it"),
        "{details}"
    );
    assert!(view.teaching.checks.violated());
    assert!(
        view.events
            .iter()
            .any(|e| e.text.starts_with("INVARIANT VIOLATED: one vote per term")),
    );
}

#[test]
fn bugs_switch_on_and_off_and_unknown_names_are_refused() {
    let cluster = start(15, false);
    leader(&cluster);
    let err = cluster.set_bug("eat-logs", true);
    let names: Vec<&str> = Bugs::NAMES.iter().map(|(n, _)| *n).collect();
    assert_eq!(err, Err(RuntimeError::UnknownBug("eat-logs".into())));
    if let Err(e) = err {
        assert_eq!(
            e.to_string(),
            format!("unknown bug 'eat-logs'; the bugs are: {}", names.join(", "))
        );
    }
    assert_eq!(
        cluster.set_bug("commit-old-terms", true).map(|b| b.names()),
        Ok(vec!["commit-old-terms"])
    );
    assert_eq!(
        cluster.set_bug("skip-prev-check", true).map(|b| b.names()),
        Ok(vec!["commit-old-terms", "skip-prev-check"])
    );
    assert_eq!(
        cluster
            .set_bug("commit-old-terms", false)
            .map(|b| b.names()),
        Ok(vec!["skip-prev-check"])
    );
    assert_eq!(cluster.bugs().names(), vec!["skip-prev-check"]);
    // The cluster still works with a bug on (nothing here provokes it).
    let mut client = cluster.client();
    assert_eq!(client.put("x", "1", OP), ClientOutcome::Ok(OpResult::Done));
    // A node restarted later takes the variants on now.
    let follower = cluster
        .view()
        .nodes
        .iter()
        .find(|n| n.role != Role::Leader)
        .map_or(0, |n| n.id);
    assert_eq!(cluster.kill(follower), Ok(()));
    assert_eq!(cluster.node_state(follower), Ok(NodeState::Down));
    assert_eq!(cluster.restart(follower), Ok(()));
    assert_eq!(
        cluster.view().teaching.bugs.names(),
        vec!["skip-prev-check"]
    );
}

#[test]
fn the_history_is_capped_and_the_verdict_says_so() {
    let cluster = common::start(ClusterConfig {
        nodes: 3,
        seed: 16,
        tick: Duration::from_millis(2),
        observe: true,
        history_capacity: 10,
        ..ClusterConfig::default()
    });
    leader(&cluster);
    let mut client = cluster.client();
    for i in 0..8 {
        let out = client.put("x", &i.to_string(), OP);
        assert_eq!(out, ClientOutcome::Ok(OpResult::Done));
    }
    assert_eq!(cluster.history().len(), 10);
    assert_eq!(cluster.history_unrecorded(), 6);
    let view = wait_for(&cluster, "the capped history checked", |v| {
        matches!(
            v.teaching.checks.linearizability,
            LinStatus::Linearizable {
                ops: 5,
                unrecorded: 3
            }
        )
    });
    let text = view.teaching.checks.linearizability.to_string();
    assert_eq!(
        text,
        "first 5 ops linearizable; 3 later ops past the history cap not checked"
    );
}

#[test]
fn stale_leader_reads_switched_on_make_the_history_not_linearizable() {
    let cluster = common::start(ClusterConfig {
        nodes: 3,
        seed: 17,
        // Slow enough that the old leader answers before CheckQuorum
        // makes it step down (15–30 ticks after it last heard a quorum).
        tick: Duration::from_millis(10),
        observe: true,
        ..ClusterConfig::default()
    });
    let old = leader(&cluster);
    let mut client = cluster.client();
    assert_eq!(client.put("x", "1", OP), ClientOutcome::Ok(OpResult::Done));
    wait_for(&cluster, "x=1 applied everywhere", |v| {
        v.nodes.iter().all(|n| n.applied >= 2)
    });
    assert!(cluster.set_bug("stale-leader-reads", true).is_ok());
    // Cut the leader off and freeze it, so it still believes it leads.
    assert_eq!(cluster.isolate(old), Ok(()));
    assert_eq!(cluster.pause(old), Ok(()));
    wait_for(&cluster, "a new leader", |v| {
        v.nodes
            .iter()
            .any(|n| n.id != old && n.role == Role::Leader && n.state == NodeState::Up)
    });
    let mut writer = cluster.client();
    assert_eq!(writer.put("x", "2", OP), ClientOutcome::Ok(OpResult::Done));
    // The old leader wakes up and serves a read without ReadIndex.
    assert_eq!(cluster.resume(old), Ok(()));
    let mut reader = cluster.client().restrict_to(&[old]);
    let read = reader.get("x", Duration::from_millis(500));
    assert_eq!(
        read,
        ClientOutcome::Ok(OpResult::Value(Some("1".into()))),
        "the old leader answered from its stale store"
    );
    let view = wait_for(&cluster, "the stale read caught", |v| {
        matches!(
            &v.teaching.checks.linearizability,
            LinStatus::NotLinearizable { key, .. } if key == "x"
        )
    });
    assert!(view.teaching.checks.violated());
    assert!(
        view.teaching.checks.findings.is_empty(),
        "no invariant of the log broke: {:?}",
        view.teaching.checks.findings
    );
}
