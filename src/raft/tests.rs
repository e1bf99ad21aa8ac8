//! Unit tests of the Raft node, driven by hand through a tiny network that
//! persists every `Ready` and delivers messages in order unless a link is cut.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::*;

mod membership;

struct Net {
    nodes: BTreeMap<NodeId, Node>,
    durable: BTreeMap<NodeId, DurableState>,
    queue: VecDeque<Message>,
    cut: BTreeSet<(NodeId, NodeId)>,
    applied: BTreeMap<NodeId, Vec<Entry>>,
    reads: BTreeMap<NodeId, Vec<ReadResult>>,
    sent: Vec<Message>,
    /// Drop every `Append` (to keep a new leader's entries to itself).
    drop_appends: bool,
    /// Snapshots each node received from a leader, in order.
    installed: BTreeMap<NodeId, Vec<Snapshot>>,
    /// Drop every n-th message (0: none), to test retransmission.
    drop_every: usize,
    delivered: usize,
    /// Nodes whose log writes are persisted but not yet reported synced
    /// (their disk is slow): the reports wait here until `sync`.
    slow_disk: BTreeMap<NodeId, Vec<(Index, Term)>>,
}

fn config(id: NodeId, n: u64) -> Config {
    Config::new(id, (1..=n).collect())
}

impl Net {
    fn new(n: u64) -> Net {
        Net::with(n, |c| c)
    }

    fn with(n: u64, f: impl Fn(Config) -> Config) -> Net {
        let mut net = Net {
            nodes: BTreeMap::new(),
            durable: BTreeMap::new(),
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            applied: BTreeMap::new(),
            reads: BTreeMap::new(),
            sent: Vec::new(),
            drop_appends: false,
            installed: BTreeMap::new(),
            drop_every: 0,
            delivered: 0,
            slow_disk: BTreeMap::new(),
        };
        for id in 1..=n {
            let node = Node::new(f(config(id, n)), DurableState::default(), id).unwrap();
            net.nodes.insert(id, node);
            net.durable.insert(id, DurableState::default());
        }
        net
    }

    fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node {
        self.nodes.get_mut(&id).unwrap()
    }

    /// Persists and collects every node's ready, queueing its messages.
    fn drain(&mut self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            let ready = self.nodes.get_mut(&id).unwrap().take_ready();
            let durable = self.durable.get_mut(&id).unwrap();
            if let Some(hs) = ready.hard_state {
                durable.hard_state = hs;
            }
            if let Some(snapshot) = &ready.snapshot {
                let first = durable.snapshot.as_ref().map_or(1, |s| s.meta.index + 1);
                let drop = (snapshot.meta.index + 1).saturating_sub(first) as usize;
                durable.entries.drain(..drop.min(durable.entries.len()));
                durable.snapshot = Some(snapshot.clone());
                self.installed.entry(id).or_default().push(snapshot.clone());
            }
            if let Some(w) = ready.log {
                let first = durable.snapshot.as_ref().map_or(1, |s| s.meta.index + 1);
                durable.entries.truncate((w.from - first) as usize);
                if let Some((index, term)) = w.last() {
                    match self.slow_disk.get_mut(&id) {
                        Some(waiting) => waiting.push((index, term)),
                        None => self.nodes.get_mut(&id).unwrap().log_synced(index, term),
                    }
                }
                durable.entries.extend(w.entries);
            }
            // Persist before send: every vote granted is already durable.
            for m in &ready.messages {
                if let Body::VoteResponse { granted: true } = m.body {
                    assert_eq!(
                        durable.hard_state.vote,
                        Some(m.to),
                        "vote sent before persisted"
                    );
                    assert_eq!(durable.hard_state.term, m.term);
                }
            }
            self.sent.extend(ready.messages.iter().cloned());
            self.queue.extend(ready.messages);
            self.applied.entry(id).or_default().extend(ready.committed);
            self.reads.entry(id).or_default().extend(ready.reads);
        }
    }

    /// Reports node `id`'s log writes synced only when `sync(id)` says so.
    fn slow_disk(&mut self, id: NodeId) {
        self.slow_disk.entry(id).or_default();
    }

    /// Node `id`'s slow disk finishes every write so far.
    fn sync(&mut self, id: NodeId) {
        let waiting = std::mem::take(self.slow_disk.entry(id).or_default());
        for (index, term) in waiting {
            self.node_mut(id).log_synced(index, term);
        }
        self.deliver_all();
    }

    /// Delivers queued messages until none are left (or a bound is hit).
    fn deliver_all(&mut self) {
        self.drain();
        for _ in 0..100_000 {
            let Some(m) = self.queue.pop_front() else {
                return;
            };
            self.delivered += 1;
            let unlucky = self.drop_every > 0 && self.delivered.is_multiple_of(self.drop_every);
            if unlucky
                || self.cut.contains(&(m.from, m.to))
                || (self.drop_appends && matches!(m.body, Body::Append { .. }))
            {
                continue;
            }
            if let Some(node) = self.nodes.get_mut(&m.to) {
                node.step(m);
            }
            self.drain();
        }
        panic!("messages never settled");
    }

    fn tick_all(&mut self, ticks: u64) {
        for _ in 0..ticks {
            for node in self.nodes.values_mut() {
                node.tick();
            }
            self.deliver_all();
        }
    }

    fn leaders(&self) -> Vec<NodeId> {
        self.nodes
            .values()
            .filter(|n| n.role() == Role::Leader)
            .map(|n| n.id())
            .collect()
    }

    fn elect(&mut self) -> NodeId {
        for _ in 0..200 {
            self.tick_all(1);
            if let [leader] = self.leaders()[..] {
                // Let the leader's no-op commit everywhere.
                self.tick_all(10);
                return leader;
            }
        }
        panic!("no leader elected");
    }

    fn isolate(&mut self, id: NodeId) {
        for other in self.nodes.keys().copied().collect::<Vec<_>>() {
            if other != id {
                self.cut.insert((id, other));
                self.cut.insert((other, id));
            }
        }
    }

    fn heal(&mut self) {
        self.cut.clear();
    }

    fn restart(&mut self, id: NodeId, bugs: Bugs) {
        let mut c = self.node(id).config().clone();
        c.bugs = bugs;
        let node = Node::new(c, self.durable[&id].clone(), id + 100).unwrap();
        self.nodes.insert(id, node);
        self.applied.insert(id, Vec::new());
    }

    fn propose(&mut self, id: NodeId, data: &[u8]) -> Index {
        let index = self.node_mut(id).propose(data.to_vec()).unwrap();
        self.deliver_all();
        index
    }
}

fn cmd(data: &[u8]) -> EntryData {
    EntryData::Command(data.into())
}

#[test]
fn elects_exactly_one_leader_that_everyone_knows() {
    let mut net = Net::new(5);
    let leader = net.elect();
    assert_eq!(net.leaders(), vec![leader]);
    for node in net.nodes.values() {
        assert_eq!(
            node.leader(),
            Some(leader),
            "node {} knows the leader",
            node.id()
        );
        assert_eq!(node.term(), net.node(leader).term());
    }
}

#[test]
fn election_timeouts_are_randomized_in_range() {
    let net = Net::new(5);
    let timeouts: BTreeSet<Ticks> = net
        .nodes
        .values()
        .map(|n| n.status().election_timeout)
        .collect();
    assert!(timeouts.len() > 1, "timeouts should differ: {timeouts:?}");
    assert!(timeouts.iter().all(|t| (15..30).contains(t)));
}

#[test]
fn same_seed_same_messages() {
    let run = || {
        let mut net = Net::new(5);
        net.elect();
        net.sent.clone()
    };
    assert_eq!(run(), run());
}

#[test]
fn no_needless_reelection_on_a_healthy_network() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let term = net.node(leader).term();
    net.tick_all(500);
    assert_eq!(net.leaders(), vec![leader]);
    assert_eq!(net.node(leader).term(), term);
}

#[test]
fn replicates_and_commits_on_every_node() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let index = net.propose(leader, b"x=1");
    net.tick_all(10);
    for id in 1..=3 {
        let node = net.node(id);
        assert_eq!(node.commit_index(), index);
        assert_eq!(node.log().get(index).unwrap().data, cmd(b"x=1"));
        assert_eq!(net.applied[&id].last().unwrap().data, cmd(b"x=1"));
    }
}

#[test]
fn follower_refuses_proposals_and_names_the_leader() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    let err = net.node_mut(follower).propose(b"x".to_vec()).unwrap_err();
    assert_eq!(
        err,
        RaftError::NotLeader {
            leader: Some(leader)
        }
    );
}

#[test]
fn no_commit_without_a_quorum() {
    let mut net = Net::new(5);
    let leader = net.elect();
    let others: Vec<NodeId> = (1..=5).filter(|&id| id != leader).collect();
    for &id in &others[..3] {
        net.isolate(id);
    }
    let commit = net.node(leader).commit_index();
    net.node_mut(leader).propose(b"lost".to_vec()).unwrap();
    net.tick_all(5);
    assert_eq!(net.node(leader).commit_index(), commit);
}

#[test]
fn appends_are_batched_and_bounded_in_flight() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    // The follower receives but its answers are lost, so nothing frees a slot.
    net.cut.insert((follower, leader));
    net.sent.clear();
    for i in 0..1000u32 {
        net.node_mut(leader)
            .propose(i.to_le_bytes().to_vec())
            .unwrap();
        net.deliver_all();
    }
    let appends: Vec<usize> = net
        .sent
        .iter()
        .filter(|m| m.from == leader && m.to == follower)
        .filter_map(|m| match &m.body {
            Body::Append { entries, .. } if !entries.is_empty() => Some(entries.len()),
            _ => None,
        })
        .collect();
    let config = net.node(leader).config().clone();
    assert!(
        appends.len() <= config.max_inflight,
        "{} appends in flight",
        appends.len()
    );
    assert!(appends.iter().all(|&n| n <= config.max_append_entries));
}

#[test]
fn big_entries_are_split_over_appends_within_the_byte_budget() {
    let mut net = Net::with(3, |mut c| {
        c.max_append_bytes = 1000;
        c
    });
    let leader = net.elect();
    let behind = (1..=3).find(|&id| id != leader).unwrap();
    // While one follower is cut off, the leader and the other commit nine
    // 400-byte entries, one of 3000 bytes (over the budget on its own) and
    // three small ones.
    net.isolate(behind);
    let mut sizes = vec![400; 9];
    sizes.push(3000);
    sizes.extend([10, 10, 10]);
    let mut last = 0;
    for (i, &size) in sizes.iter().enumerate() {
        last = net.propose(leader, &vec![i as u8; size]);
    }
    assert_eq!(net.node(leader).commit_index(), last);
    // Reconnected, it catches up through several appends, none over the
    // budget unless it carries one entry alone.
    net.heal();
    net.sent.clear();
    net.tick_all(30);
    let appends: Vec<(usize, usize)> = net
        .sent
        .iter()
        .filter(|m| m.from == leader && m.to == behind)
        .filter_map(|m| match &m.body {
            Body::Append { entries, .. } if !entries.is_empty() => Some((
                entries.len(),
                entries.iter().map(|e| e.data.payload_len()).sum(),
            )),
            _ => None,
        })
        .collect();
    assert!(appends.len() >= 6, "{appends:?}");
    assert!(
        appends.iter().all(|&(n, bytes)| bytes <= 1000 || n == 1),
        "{appends:?}"
    );
    assert!(appends.contains(&(1, 3000)), "{appends:?}");
    assert!(appends.contains(&(2, 800)), "{appends:?}");
    assert_eq!(net.node(behind).commit_index(), last);
    let applied: Vec<usize> = net.applied[&behind]
        .iter()
        .filter_map(|e| match &e.data {
            EntryData::Command(bytes) => Some(bytes.len()),
            _ => None,
        })
        .collect();
    assert_eq!(applied, sizes);
}

#[test]
fn the_byte_budget_must_be_above_zero() {
    let mut c = config(1, 3);
    c.max_append_bytes = 0;
    assert!(matches!(c.validate(), Err(RaftError::InvalidConfig(_))));
}

/// A batch of proposals is the same log as the same proposals one by one,
/// sent to each follower in one append instead of one per command; on a
/// follower the batch is refused whole, naming the leader.
#[test]
fn a_proposal_batch_appends_in_order_with_one_append_per_follower() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    net.sent.clear();
    let data: Vec<Payload> = (0..10u8).map(|i| Payload::from(vec![i])).collect();
    let first = net.node_mut(leader).propose_batch(data).unwrap();
    net.deliver_all();
    let appends = net
        .sent
        .iter()
        .filter(|m| m.from == leader && m.to == follower)
        .filter(|m| matches!(&m.body, Body::Append { entries, .. } if !entries.is_empty()))
        .count();
    assert_eq!(appends, 1);
    net.tick_all(10);
    for id in 1..=3 {
        let node = net.node(id);
        assert_eq!(node.commit_index(), first + 9);
        for i in 0..10u8 {
            let entry = node.log().get(first + u64::from(i)).unwrap();
            assert_eq!(entry.data, cmd(&[i]));
        }
    }
    let err = net
        .node_mut(follower)
        .propose_batch(vec![Payload::from(vec![1])])
        .unwrap_err();
    assert_eq!(
        err,
        RaftError::NotLeader {
            leader: Some(leader)
        }
    );
}

#[test]
fn lost_appends_are_resent_after_a_heartbeat() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    net.cut.insert((leader, follower));
    let index = net.propose(leader, b"late");
    net.heal();
    net.tick_all(20);
    assert_eq!(net.node(follower).log().last_index(), index);
    assert_eq!(net.node(follower).commit_index(), index);
}

#[test]
fn fast_backup_skips_conflicting_terms() {
    let mut net = Net::new(5);
    let old = net.elect();
    // The old leader, cut off, takes 50 entries it will never commit.
    net.isolate(old);
    for i in 0..50u8 {
        net.node_mut(old).propose(vec![i]).unwrap();
    }
    net.deliver_all();
    // The majority elects a new leader and commits 50 entries of its own.
    let mut new = old;
    for _ in 0..300 {
        net.tick_all(1);
        if let Some(&l) = net.leaders().iter().find(|&&l| l != old) {
            new = l;
            break;
        }
    }
    assert_ne!(new, old);
    for i in 0..50u8 {
        net.node_mut(new).propose(vec![100 + i]).unwrap();
    }
    net.deliver_all();
    net.heal();
    net.sent.clear();
    net.tick_all(30);
    let rejections = net
        .sent
        .iter()
        .filter(|m| m.from == old && matches!(m.body, Body::AppendResponse { success: false, .. }))
        .count();
    assert!(
        rejections <= 3,
        "{rejections} rejections: backup should skip a term at a time"
    );
    assert_eq!(net.node(old).log().entries(), net.node(new).log().entries());
}

/// Tick until a node among `among` leads; returns it.
fn wait_leader(net: &mut Net, among: &[NodeId]) -> NodeId {
    for _ in 0..1000 {
        net.tick_all(1);
        if let Some(&l) = net.leaders().iter().find(|l| among.contains(l)) {
            return l;
        }
    }
    panic!("no leader among {among:?}");
}

/// Plays Raft's Figure 8 up to (c): an entry of an old term sits on a
/// majority under a leader of a newer term. Returns the network, that
/// leader, the index of the old entry, and the node holding a conflicting
/// entry of an intermediate term there.
fn figure8(f: impl Fn(Config) -> Config) -> (Net, NodeId, Index, NodeId) {
    let mut net = Net::with(5, f);
    // (a) S1 leads and replicates an entry to S2 only.
    let s1 = net.elect();
    let others: Vec<NodeId> = (1..=5).filter(|&i| i != s1).collect();
    let s2 = others[0];
    for &id in &others[1..] {
        net.isolate(id);
    }
    let index = net.propose(s1, b"term-a");
    net.tick_all(3);
    assert_eq!(net.node(s2).log().last_index(), index);
    // (b) S1 and S2 are cut off; one of the others is elected and takes an
    // entry at the same index, which never leaves it.
    net.heal();
    net.isolate(s1);
    net.isolate(s2);
    net.drop_appends = true;
    let rest = &others[1..];
    let s5 = wait_leader(&mut net, rest);
    net.node_mut(s5).propose(b"term-b".to_vec()).unwrap();
    net.deliver_all();
    net.drop_appends = false;
    assert!(net.node(s5).log().last_index() >= index);
    // (c) S5 goes down; S1 or S2 wins the next term with the old entry and
    // replicates it to a majority.
    net.heal();
    net.isolate(s5);
    let leader = wait_leader(&mut net, &[s1, s2]);
    net.tick_all(10);
    (net, leader, index, s5)
}

#[test]
fn figure8_older_term_entry_is_not_committed_by_count() {
    let (mut net, leader, old, s5) = figure8(|c| c);
    let term = net.node(leader).term();
    // It committed through an entry of its own term (its no-op), never by
    // counting replicas of the old one alone.
    let commit = net.node(leader).commit_index();
    assert!(commit > old);
    assert_eq!(net.node(leader).log().term_at(commit), Some(term));
    // (d) The leader goes down and S5 returns: it cannot be elected, since a
    // majority holds an entry of a newer term than its own.
    let committed = net.node(leader).log().get(old).unwrap().clone();
    net.heal();
    net.isolate(leader);
    net.tick_all(400);
    assert_ne!(net.leaders(), vec![s5]);
    for id in (1..=5).filter(|&id| id != leader) {
        assert_eq!(
            net.node(id).log().get(old),
            Some(&committed),
            "node {id} kept it"
        );
    }
}

#[test]
fn commit_old_terms_bug_loses_a_committed_entry() {
    // As in the paper's figure, no leader lease: S5 may campaign at once.
    let (mut net, leader, old, s5) = figure8(|mut c| {
        c.bugs.commit_old_terms = true;
        c.check_quorum = false;
        c
    });
    let term = net.node(leader).term();
    assert!(
        net.node(leader)
            .log()
            .entries()
            .iter()
            .all(|e| e.term < term),
        "no entry of its term"
    );
    assert!(
        net.node(leader).commit_index() >= old,
        "the bug commits the old entry by count"
    );
    let committed = net.node(leader).log().get(old).unwrap().clone();
    // (d) The leader goes down; S5 restarts and is elected although it
    // lacks the committed entry (Leader Completeness is broken). Its first
    // pre-vote only teaches it the current term.
    net.heal();
    net.isolate(leader);
    net.restart(
        s5,
        Bugs {
            commit_old_terms: true,
            ..Bugs::default()
        },
    );
    for _ in 0..2 {
        net.node_mut(s5).campaign();
        net.deliver_all();
    }
    let winner = wait_leader(&mut net, &[s5]);
    assert_eq!(winner, s5);
    assert!(
        net.node(s5).log().get(old).is_some_and(|e| *e != committed),
        "the new leader holds another entry where a committed one was"
    );
    // Its entry now stands where the committed one stood, on its own log
    // and on the followers it replicates to; the committed command is
    // gone from the cluster's history.
    net.tick_all(10);
    assert_ne!(net.node(s5).log().get(old), Some(&committed));
}

#[test]
fn prevote_keeps_a_rejoining_node_from_disrupting() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let term = net.node(leader).term();
    let lonely = (1..=3).find(|&id| id != leader).unwrap();
    net.isolate(lonely);
    net.tick_all(300);
    // It kept pre-voting but never bumped its term.
    assert_eq!(net.node(lonely).term(), term);
    net.heal();
    net.tick_all(100);
    assert_eq!(net.leaders(), vec![leader]);
    assert_eq!(net.node(leader).term(), term);
}

#[test]
fn without_prevote_a_rejoining_node_disrupts() {
    let mut net = Net::with(3, |mut c| {
        c.pre_vote = false;
        c.check_quorum = false;
        c
    });
    let leader = net.elect();
    let term = net.node(leader).term();
    let lonely = (1..=3).find(|&id| id != leader).unwrap();
    net.isolate(lonely);
    net.tick_all(300);
    assert!(net.node(lonely).term() > term);
    net.heal();
    net.tick_all(100);
    assert!(
        net.nodes.values().all(|n| n.term() > term),
        "the term moved for everyone"
    );
}

#[test]
fn check_quorum_steps_down_an_isolated_leader() {
    let mut net = Net::new(3);
    let leader = net.elect();
    net.isolate(leader);
    net.tick_all(40);
    assert_ne!(net.node(leader).role(), Role::Leader);
    assert_eq!(net.node(leader).leader(), None);
}

#[test]
fn read_index_waits_for_a_quorum_heartbeat() {
    let mut net = Net::new(3);
    let leader = net.elect();
    net.node_mut(leader).read(7);
    net.drain();
    assert!(
        net.reads[&leader].is_empty(),
        "answered before the heartbeat round"
    );
    net.deliver_all();
    let commit = net.node(leader).commit_index();
    assert_eq!(
        net.reads[&leader],
        vec![ReadResult {
            id: 7,
            outcome: ReadOutcome::Ready { index: commit }
        }]
    );
}

#[test]
fn read_on_follower_redirects_to_leader() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    net.node_mut(follower).read(1);
    net.deliver_all();
    assert_eq!(
        net.reads[&follower],
        vec![ReadResult {
            id: 1,
            outcome: ReadOutcome::NotLeader {
                leader: Some(leader)
            }
        }]
    );
}

#[test]
fn partitioned_leader_never_serves_a_read() {
    let mut net = Net::new(3);
    let leader = net.elect();
    net.isolate(leader);
    net.node_mut(leader).read(9);
    net.tick_all(60);
    let reads = &net.reads[&leader];
    assert!(
        reads
            .iter()
            .all(|r| !matches!(r.outcome, ReadOutcome::Ready { .. })),
        "read served without a quorum: {reads:?}"
    );
    // It stepped down (CheckQuorum) and failed the read instead.
    assert!(matches!(
        reads[..],
        [ReadResult {
            id: 9,
            outcome: ReadOutcome::NotLeader { .. }
        }]
    ));
}

#[test]
fn stale_leader_reads_bug_answers_at_once() {
    let bugs = Bugs {
        leader_reads_without_read_index: true,
        ..Bugs::default()
    };
    let mut net = Net::with(3, |mut c| {
        c.bugs = bugs;
        c
    });
    let leader = net.elect();
    net.isolate(leader);
    net.node_mut(leader).read(3);
    net.drain();
    assert!(matches!(
        net.reads[&leader][..],
        [ReadResult {
            id: 3,
            outcome: ReadOutcome::Ready { .. }
        }]
    ));
}

#[test]
fn leadership_transfer_moves_the_leader() {
    let mut net = Net::new(5);
    let leader = net.elect();
    let target = (1..=5).find(|&id| id != leader).unwrap();
    net.node_mut(leader).transfer_leader(target).unwrap();
    net.deliver_all();
    net.tick_all(5);
    assert_eq!(net.leaders(), vec![target]);
    assert!(net.nodes.values().all(|n| n.leader() == Some(target)));
}

#[test]
fn transfer_to_unknown_node_is_an_error() {
    let mut net = Net::new(3);
    let leader = net.elect();
    assert_eq!(
        net.node_mut(leader).transfer_leader(9),
        Err(RaftError::UnknownNode(9))
    );
}

#[test]
fn restart_keeps_term_vote_and_log() {
    let mut net = Net::new(3);
    let leader = net.elect();
    net.propose(leader, b"keep");
    net.tick_all(5);
    let before = net.node(leader).status();
    net.restart(leader, Bugs::default());
    let after = net.node(leader).status();
    assert_eq!(
        (after.term, after.vote, after.last_index),
        (before.term, before.vote, before.last_index)
    );
    assert_eq!(after.commit, 0, "commit is volatile");
    // It learns the commit again and re-applies from the start.
    net.tick_all(60);
    assert!(net.applied[&leader].iter().any(|e| e.data == cmd(b"keep")));
}

#[test]
fn forget_vote_bug_drops_the_vote_on_restart() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let bugs = Bugs {
        forget_vote: true,
        ..Bugs::default()
    };
    net.restart(leader, bugs);
    assert_eq!(net.node(leader).status().vote, None);
}

#[test]
fn invalid_durable_state_is_rejected() {
    // A log at term 1 holding one no-op entry at `index` of `term`.
    let durable = |index, term| DurableState {
        hard_state: HardState {
            term: 1,
            vote: None,
        },
        snapshot: None,
        entries: vec![Entry {
            index,
            term,
            data: EntryData::Noop,
        }],
    };
    // A log that does not start at 1, and an entry from a term the node
    // never reached.
    for (index, term) in [(2, 1), (1, 5)] {
        assert!(
            matches!(
                Node::new(config(1, 3), durable(index, term), 0),
                Err(RaftError::InvalidState(_))
            ),
            "entry {index} of term {term}"
        );
    }
    assert!(matches!(
        Node::new(Config::new(1, vec![]), DurableState::default(), 0),
        Err(RaftError::InvalidConfig(_))
    ));
    assert!(matches!(
        Node::new(config(0, 3), DurableState::default(), 0),
        Err(RaftError::InvalidNodeId(0))
    ));
    // A node outside the initial configuration is one waiting to be added:
    // valid, but it never campaigns (see `a_new_node_waits_to_be_added`).
    assert!(Node::new(config(4, 3), DurableState::default(), 0).is_ok());
}

#[test]
fn the_leader_counts_its_own_log_only_once_it_is_synced() {
    // Two of three voters are a quorum: the leader and the one follower it
    // reaches. The follower acknowledges at once, but the leader's own
    // write is still being synced, so nothing commits until it is — a
    // crash now would leave the entry on one disk only.
    let mut net = Net::new(3);
    let leader = net.elect();
    let cut = (1..=3).find(|&id| id != leader).unwrap();
    net.isolate(cut);
    net.slow_disk(leader);
    let commit = net.node(leader).commit_index();
    let index = net.propose(leader, b"x=1");
    net.tick_all(3);
    let other = (1..=3).find(|&id| id != leader && id != cut).unwrap();
    assert_eq!(
        net.node(leader)
            .status()
            .progress
            .iter()
            .find(|(id, _)| *id == other)
            .map(|(_, p)| p.match_index),
        Some(index)
    );
    assert_eq!(net.node(leader).commit_index(), commit);
    net.sync(leader);
    assert_eq!(net.node(leader).commit_index(), index);
}

#[test]
fn single_node_commits_alone() {
    let mut net = Net::new(1);
    let leader = net.elect();
    let index = net.propose(leader, b"solo");
    assert_eq!(net.node(leader).commit_index(), index);
    net.node_mut(leader).read(1);
    net.drain();
    assert!(matches!(
        net.reads[&1][..],
        [ReadResult {
            outcome: ReadOutcome::Ready { .. },
            ..
        }]
    ));
}

#[test]
fn idle_cluster_sends_bounded_messages() {
    let mut net = Net::new(3);
    net.elect();
    net.sent.clear();
    // One second at 10 ms ticks: heartbeats every 5 ticks to 2 peers, answered.
    net.tick_all(100);
    assert!(
        net.sent.len() <= 100,
        "{} messages in an idle second",
        net.sent.len()
    );
}

#[test]
fn old_leader_with_conflicting_entries_converges() {
    let mut net = Net::new(3);
    let old = net.elect();
    net.isolate(old);
    net.node_mut(old).propose(b"doomed".to_vec()).unwrap();
    net.deliver_all();
    let mut new = old;
    for _ in 0..300 {
        net.tick_all(1);
        if let Some(&l) = net.leaders().iter().find(|&&l| l != old) {
            new = l;
            break;
        }
    }
    net.propose(new, b"winner");
    net.heal();
    net.tick_all(60);
    assert_eq!(net.node(old).log().entries(), net.node(new).log().entries());
    assert!(
        net.node(old)
            .log()
            .entries()
            .iter()
            .all(|e| e.data != cmd(b"doomed"))
    );
}

#[test]
fn candidates_ask_again_when_requests_are_lost() {
    let mut net = Net::with(3, |mut c| {
        c.pre_vote = false;
        c
    });
    // Node 1 campaigns while its requests are lost; the links come back
    // before its election timer runs out, and the resent requests win.
    net.cut.insert((1, 2));
    net.cut.insert((1, 3));
    net.node_mut(1).campaign();
    net.deliver_all();
    let term = net.node(1).term();
    net.heal();
    for _ in 0..6 {
        for node in net.nodes.values_mut() {
            if node.id() == 1 {
                node.tick();
            }
        }
        net.deliver_all();
    }
    assert_eq!(net.leaders(), vec![1]);
    assert_eq!(net.node(1).term(), term, "won in the same term");
}

/// Snapshot data standing for the state up to `index`: `size` bytes that
/// name the index, so a test can tell which snapshot a node holds.
fn snapshot_at(net: &Net, id: NodeId, size: usize) -> Snapshot {
    let node = net.node(id);
    let index = net.applied[&id].last().map_or(0, |e| e.index);
    let mut data = format!("state@{index};").into_bytes();
    data.resize(size.max(data.len()), b'.');
    Snapshot {
        meta: node.log().snapshot_meta_at(index).unwrap(),
        data,
    }
}

/// Compacts every up node's log at what it applied, as drivers do.
fn compact_all(net: &mut Net, size: usize) {
    for id in net.nodes.keys().copied().collect::<Vec<_>>() {
        let snapshot = snapshot_at(net, id, size);
        let durable = net.durable.get_mut(&id).unwrap();
        let first = durable.snapshot.as_ref().map_or(1, |s| s.meta.index + 1);
        let drop = (snapshot.meta.index + 1).saturating_sub(first) as usize;
        durable.entries.drain(..drop.min(durable.entries.len()));
        durable.snapshot = Some(snapshot.clone());
        net.node_mut(id).compact(snapshot).unwrap();
    }
}

#[test]
fn compaction_drops_applied_entries_and_keeps_indexes() {
    let mut net = Net::new(3);
    let leader = net.elect();
    for i in 0..20u8 {
        net.propose(leader, &[i]);
    }
    net.tick_all(5);
    compact_all(&mut net, 10);
    let status = net.node(leader).status();
    assert_eq!(status.snapshot_index, status.commit);
    assert!(net.node(leader).log().entries().is_empty());
    // Replication goes on after the snapshot.
    let index = net.propose(leader, b"after");
    net.tick_all(5);
    for id in 1..=3 {
        assert_eq!(net.node(id).commit_index(), index);
        assert_eq!(net.applied[&id].last().unwrap().data, cmd(b"after"));
    }
}

#[test]
fn compacting_past_what_was_applied_is_refused() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let meta = SnapshotMeta::at(99, 1);
    let snapshot = Snapshot { meta, data: vec![] };
    assert!(matches!(
        net.node_mut(leader).compact(snapshot),
        Err(RaftError::InvalidState(_))
    ));
}

#[test]
fn a_follower_behind_the_snapshot_gets_it_in_chunks() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let lagging = (1..=3).find(|&id| id != leader).unwrap();
    net.isolate(lagging);
    for i in 0..50u8 {
        net.propose(leader, &[i]);
    }
    net.tick_all(5);
    // A 100 KB snapshot needs several 16 KiB chunks.
    compact_all(&mut net, 100_000);
    let meta = net.node(leader).log().snapshot_meta();
    net.heal();
    net.sent.clear();
    net.tick_all(20);
    let chunks = net
        .sent
        .iter()
        .filter(|m| matches!(m.body, Body::InstallSnapshot { .. }))
        .count();
    assert!(chunks >= 7, "{chunks} chunks");
    let installed = &net.installed[&lagging];
    assert_eq!(installed.len(), 1);
    assert_eq!(installed[0].meta, meta);
    assert_eq!(installed[0].data.len(), 100_000);
    assert!(
        installed[0]
            .data
            .starts_with(format!("state@{};", meta.index).as_bytes())
    );
    let status = net.node(lagging).status();
    assert_eq!(
        (status.snapshot_index, status.commit),
        (meta.index, meta.index)
    );
    // It then follows with entries as usual.
    let index = net.propose(leader, b"next");
    net.tick_all(5);
    assert_eq!(net.node(lagging).commit_index(), index);
    assert_eq!(net.applied[&lagging].last().unwrap().data, cmd(b"next"));
    assert_eq!(net.durable[&lagging].snapshot.as_ref().unwrap().meta, meta);
}

#[test]
fn snapshot_transfer_survives_lost_chunks() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let lagging = (1..=3).find(|&id| id != leader).unwrap();
    net.isolate(lagging);
    for i in 0..30u8 {
        net.propose(leader, &[i]);
    }
    net.tick_all(5);
    compact_all(&mut net, 60_000);
    net.heal();
    net.drop_every = 3;
    net.tick_all(200);
    net.drop_every = 0;
    net.tick_all(10);
    let meta = net.node(leader).log().snapshot_meta();
    assert_eq!(net.node(lagging).status().snapshot_index, meta.index);
    assert_eq!(net.installed[&lagging].last().unwrap().data.len(), 60_000);
}

#[test]
fn a_conflicting_log_is_replaced_by_the_snapshot() {
    let mut net = Net::new(3);
    let old = net.elect();
    net.isolate(old);
    for i in 0..10u8 {
        net.node_mut(old).propose(vec![200 + i]).unwrap();
    }
    net.deliver_all();
    let new = wait_leader(&mut net, &(1..=3).filter(|&i| i != old).collect::<Vec<_>>());
    for i in 0..20u8 {
        net.propose(new, &[i]);
    }
    net.tick_all(5);
    let survivor = (1..=3).find(|&i| i != old && i != new).unwrap();
    for id in [new, survivor] {
        let snapshot = snapshot_at(&net, id, 10);
        net.node_mut(id).compact(snapshot).unwrap();
    }
    net.heal();
    net.tick_all(30);
    let meta = net.node(new).log().snapshot_meta();
    assert_eq!(net.node(old).log().snapshot_meta(), meta);
    assert!(
        net.node(old)
            .log()
            .entries()
            .iter()
            .all(|e| e.data != cmd(&[200]))
    );
    assert_eq!(
        net.node(old).log().last_index(),
        net.node(new).log().last_index()
    );
}

#[test]
fn restart_from_a_snapshot_resumes_after_it() {
    let mut net = Net::new(3);
    let leader = net.elect();
    for i in 0..10u8 {
        net.propose(leader, &[i]);
    }
    net.tick_all(5);
    compact_all(&mut net, 10);
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    let meta = net.node(follower).log().snapshot_meta();
    net.restart(follower, Bugs::default());
    let status = net.node(follower).status();
    assert_eq!(
        (status.commit, status.snapshot_index),
        (meta.index, meta.index)
    );
    let index = net.propose(leader, b"later");
    net.tick_all(60);
    // Only entries after the snapshot are handed out again.
    assert_eq!(
        net.applied[&follower].first().unwrap().index,
        meta.index + 1
    );
    assert_eq!(net.applied[&follower].last().unwrap().index, index);
}

#[test]
fn a_stale_leader_sending_a_snapshot_learns_the_new_term() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    let term = net.node(leader).term();
    // The follower moved on to a later term; a chunk from the old term is
    // answered with that term, so the old leader steps down.
    net.isolate(leader);
    net.node_mut(follower).campaign();
    net.tick_all(40);
    net.heal();
    let meta = SnapshotMeta::at(1, term);
    let chunk = Message {
        from: leader,
        to: follower,
        term,
        body: Body::InstallSnapshot {
            meta,
            offset: 0,
            data: vec![1, 2, 3],
            done: true,
        },
    };
    net.node_mut(follower).step(chunk);
    net.drain();
    let answer = net
        .queue
        .iter()
        .find(|m| m.from == follower && m.to == leader);
    assert!(
        answer.is_some_and(|m| m.term > term),
        "the stale sender is told the newer term: {answer:?}"
    );
}
