//! Membership changes: learners, promotion, removal of followers and of the
//! leader, the one-change-at-a-time rule, removed nodes that cannot disrupt,
//! configurations reverted with their truncated entry, and configurations
//! kept in snapshots across restarts.

use super::*;

impl Net {
    /// Starts node `id` empty, knowing only the initial configuration of
    /// `initial` voters: a node waiting to be added.
    fn add_node(&mut self, id: NodeId, initial: u64) {
        let node = Node::new(config(id, initial), DurableState::default(), id).unwrap();
        self.nodes.insert(id, node);
        self.durable.insert(id, DurableState::default());
    }

    fn change(&mut self, leader: NodeId, change: ConfChange) -> Index {
        let index = self.node_mut(leader).propose_conf_change(change).unwrap();
        self.deliver_all();
        index
    }

    fn voters(&self, id: NodeId) -> Vec<NodeId> {
        self.node(id).membership().voters.to_vec()
    }

    fn learners(&self, id: NodeId) -> Vec<NodeId> {
        self.node(id).membership().learners.to_vec()
    }
}

#[test]
fn a_new_node_waits_to_be_added() {
    let mut net = Net::new(3);
    net.add_node(4, 3);
    net.isolate(4);
    net.tick_all(200);
    let four = net.node(4);
    assert_eq!(four.role(), Role::Follower);
    assert_eq!(four.term(), 0, "a non-member never campaigns");
    assert!(!net.sent.iter().any(|m| m.from == 4));
}

#[test]
fn a_learner_catches_up_and_is_promoted() {
    let mut net = Net::new(3);
    let leader = net.elect();
    for i in 0..10u8 {
        net.propose(leader, &[i]);
    }
    net.add_node(4, 3);
    net.isolate(4);
    let add = net.change(leader, ConfChange::AddLearner(4));
    net.tick_all(3);
    assert_eq!(
        net.node(leader).commit_index(),
        add,
        "learners do not count"
    );
    assert_eq!(net.learners(leader), vec![4]);
    assert!(!net.node(leader).membership_pending());
    // Cut off, it has not caught up: promotion is refused.
    assert!(matches!(
        net.node_mut(leader)
            .propose_conf_change(ConfChange::Promote(4)),
        Err(RaftError::LearnerBehind { id: 4, .. })
    ));
    net.heal();
    net.tick_all(10);
    let four = net.node(4);
    assert_eq!(four.log().last_index(), net.node(leader).log().last_index());
    assert_eq!(four.commit_index(), add);
    assert_eq!(four.role(), Role::Follower);
    assert_eq!(four.leader(), Some(leader));
    assert_eq!(net.learners(4), vec![4]);
    assert_eq!(net.voters(4), vec![1, 2, 3]);
    // No vote requests went to the learner, and it sent none.
    assert!(
        !net.sent
            .iter()
            .any(|m| (m.to == 4 || m.from == 4) && matches!(m.body, Body::PreVote { .. }))
    );
    let promote = net.change(leader, ConfChange::Promote(4));
    net.tick_all(3);
    for id in 1..=4 {
        assert_eq!(net.voters(id), vec![1, 2, 3, 4], "node {id}");
        assert!(net.learners(id).is_empty());
        assert!(net.node(id).commit_index() >= promote);
    }
    // Four voters: a quorum is three now, so two cut off stop commits.
    let others: Vec<NodeId> = (1..=4).filter(|&i| i != leader).collect();
    net.isolate(others[0]);
    net.isolate(others[1]);
    let index = net.propose(leader, b"needs three");
    net.tick_all(3);
    assert!(net.node(leader).commit_index() < index);
    net.heal();
    net.tick_all(5);
    assert!(net.node(leader).commit_index() >= index);
}

#[test]
fn a_removed_follower_leaves_and_the_rest_commit() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let gone = (1..=3).find(|&i| i != leader).unwrap();
    let stays = (1..=3).find(|&i| i != leader && i != gone).unwrap();
    let remove = net.change(leader, ConfChange::Remove(gone));
    net.tick_all(3);
    assert!(net.node(leader).commit_index() >= remove);
    assert_eq!(
        net.voters(leader),
        vec![leader.min(stays), leader.max(stays)]
    );
    assert!(
        !net.node(leader)
            .status()
            .progress
            .iter()
            .any(|(id, _)| *id == gone)
    );
    // Two voters left: both are needed.
    net.isolate(gone);
    let index = net.propose(leader, b"two of two");
    net.tick_all(3);
    assert_eq!(net.node(stays).commit_index(), index);
    net.isolate(stays);
    let index = net.propose(leader, b"alone");
    net.tick_all(3);
    assert!(net.node(leader).commit_index() < index);
}

#[test]
fn a_removed_leader_steps_down_after_committing_its_removal() {
    let mut net = Net::new(3);
    let old = net.elect();
    let term = net.node(old).term();
    let remove = net
        .node_mut(old)
        .propose_conf_change(ConfChange::Remove(old))
        .unwrap();
    // Until the removal commits it still leads, without counting itself.
    assert_eq!(net.node(old).role(), Role::Leader);
    assert!(net.node(old).membership_pending());
    net.deliver_all();
    assert_eq!(net.node(old).role(), Role::Follower);
    assert!(net.node(old).commit_index() >= remove);
    assert!(!net.node(old).membership().contains(old));
    let rest: Vec<NodeId> = (1..=3).filter(|&i| i != old).collect();
    let new = wait_leader(&mut net, &rest);
    assert_ne!(new, old);
    assert!(net.node(new).term() > term);
    let index = net.propose(new, b"after");
    net.tick_all(5);
    for &id in &rest {
        assert_eq!(net.node(id).commit_index(), index);
        assert_eq!(net.voters(id), rest);
    }
    net.tick_all(200);
    assert_eq!(net.leaders(), vec![new]);
    assert_eq!(
        net.node(old).role(),
        Role::Follower,
        "never campaigns again"
    );
}

#[test]
fn one_change_at_a_time_and_bad_changes_are_refused() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let follower = (1..=3).find(|&i| i != leader).unwrap();
    assert_eq!(
        net.node_mut(follower)
            .propose_conf_change(ConfChange::AddLearner(4)),
        Err(RaftError::NotLeader {
            leader: Some(leader)
        })
    );
    let node = net.node_mut(leader);
    assert_eq!(
        node.propose_conf_change(ConfChange::AddLearner(follower)),
        Err(RaftError::AlreadyMember {
            id: follower,
            voter: true
        })
    );
    assert_eq!(
        node.propose_conf_change(ConfChange::AddLearner(65)),
        Err(RaftError::InvalidNodeId(65))
    );
    assert_eq!(
        node.propose_conf_change(ConfChange::Remove(7)),
        Err(RaftError::UnknownNode(7))
    );
    assert_eq!(
        node.propose_conf_change(ConfChange::Promote(follower)),
        Err(RaftError::AlreadyMember {
            id: follower,
            voter: true
        })
    );
    // Cut off, the leader cannot commit its change: a second is refused.
    net.isolate(leader);
    let first = net
        .node_mut(leader)
        .propose_conf_change(ConfChange::AddLearner(4))
        .unwrap();
    assert_eq!(
        net.node_mut(leader)
            .propose_conf_change(ConfChange::Remove(follower)),
        Err(RaftError::ChangeInProgress { index: first })
    );
    assert_eq!(net.voters(leader), vec![1, 2, 3], "the cluster is unharmed");
    // The last voter cannot go.
    let mut single = Net::new(1);
    single.elect();
    assert_eq!(
        single
            .node_mut(1)
            .propose_conf_change(ConfChange::Remove(1)),
        Err(RaftError::LastVoter(1))
    );
}

#[test]
fn a_new_leader_changes_nothing_before_committing_in_its_term() {
    let mut net = Net::new(3);
    net.drop_appends = true;
    let leader = net.elect();
    assert_eq!(
        net.node_mut(leader)
            .propose_conf_change(ConfChange::AddLearner(4)),
        Err(RaftError::LeaderNotReady)
    );
}

#[test]
fn the_two_changes_in_flight_bug_accepts_a_second_change() {
    let mut net = Net::with(3, |mut c| {
        c.bugs.two_changes_in_flight = true;
        c
    });
    let leader = net.elect();
    net.isolate(leader);
    let others: Vec<NodeId> = (1..=3).filter(|&i| i != leader).collect();
    net.node_mut(leader)
        .propose_conf_change(ConfChange::Remove(others[0]))
        .unwrap();
    net.node_mut(leader)
        .propose_conf_change(ConfChange::Remove(others[1]))
        .unwrap();
    // Alone in its configuration, the cut-off leader commits by itself
    // (once its own log is synced).
    let index = net.node_mut(leader).propose(b"alone".to_vec()).unwrap();
    net.drain();
    assert_eq!(net.node(leader).commit_index(), index);
}

#[test]
fn a_removed_node_cannot_disrupt() {
    for pre_vote in [true, false] {
        let mut net = Net::with(3, |mut c| {
            c.pre_vote = pre_vote;
            c
        });
        let leader = net.elect();
        let gone = (1..=3).find(|&i| i != leader).unwrap();
        // It never hears of its removal: the leader stops replicating to it
        // at once. It times out and campaigns; the others, hearing from
        // their leader, ignore it.
        net.isolate(gone);
        net.change(leader, ConfChange::Remove(gone));
        net.tick_all(3);
        assert_eq!(net.voters(gone), vec![1, 2, 3]);
        let term = net.node(leader).term();
        net.heal();
        net.tick_all(300);
        assert_eq!(net.leaders(), vec![leader], "pre_vote {pre_vote}");
        assert_eq!(net.node(leader).term(), term, "pre_vote {pre_vote}");
        let index = net.propose(leader, b"still fine");
        net.tick_all(3);
        assert!(net.node(leader).commit_index() >= index);
    }
}

#[test]
fn a_truncated_configuration_entry_reverts_the_configuration() {
    let mut net = Net::new(3);
    let old = net.elect();
    net.isolate(old);
    net.node_mut(old)
        .propose_conf_change(ConfChange::AddLearner(4))
        .unwrap();
    net.deliver_all();
    assert_eq!(net.learners(old), vec![4], "in use as soon as appended");
    assert!(net.node(old).membership_pending());
    let rest: Vec<NodeId> = (1..=3).filter(|&i| i != old).collect();
    let new = wait_leader(&mut net, &rest);
    for i in 0..3u8 {
        net.propose(new, &[i]);
    }
    net.heal();
    net.tick_all(30);
    assert_eq!(net.leaders(), vec![new]);
    assert!(net.learners(old).is_empty(), "reverted with its entry");
    assert_eq!(net.voters(old), vec![1, 2, 3]);
    assert!(!net.node(old).membership_pending());
}

#[test]
fn the_configuration_survives_snapshots_and_restarts() {
    let mut net = Net::new(3);
    let leader = net.elect();
    net.add_node(4, 3);
    net.change(leader, ConfChange::AddLearner(4));
    net.tick_all(10);
    net.change(leader, ConfChange::Promote(4));
    for i in 0..10u8 {
        net.propose(leader, &[i]);
    }
    net.tick_all(5);
    compact_all(&mut net, 10);
    let meta = net.node(leader).log().snapshot_meta();
    let want = Membership::of_voters([1, 2, 3, 4]);
    assert_eq!(meta.config, Some(want));
    assert!(net.node(leader).log().entries().is_empty());
    // A node restarted from snapshot + log rebuilds its configuration.
    for id in 1..=4 {
        net.restart(id, Bugs::default());
        assert_eq!(net.node(id).membership(), want, "node {id}");
    }
    let leader = wait_leader(&mut net, &[1, 2, 3, 4]);
    // A node added now gets the configuration through the snapshot.
    net.add_node(5, 3);
    net.change(leader, ConfChange::AddLearner(5));
    net.tick_all(10);
    assert!(!net.installed[&5].is_empty());
    let with_learner = Membership {
        voters: want.voters,
        learners: NodeSet::of([5]),
    };
    assert_eq!(net.node(5).membership(), with_learner);
    net.restart(5, Bugs::default());
    assert_eq!(net.node(5).membership(), with_learner);
    // A snapshot whose metadata misstates the configuration is refused.
    let index = net.propose(leader, b"x");
    net.tick_all(3);
    let term = net.node(leader).term();
    let wrong = Snapshot {
        meta: SnapshotMeta::at(index, term),
        data: vec![],
    };
    assert!(matches!(
        net.node_mut(leader).compact(wrong),
        Err(RaftError::InvalidState(_))
    ));
}
