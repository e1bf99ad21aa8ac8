//! A replica driven by hand through a recording [`Io`]: the order of the
//! steps, waiting clients answered, messages held for a later sync.

use super::*;
use crate::kv::{Command, Op};
use crate::raft::{Body, Config, DurableState};

/// What the replica asked of the driver, in order.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Persist { log: bool, hard_state: bool },
    Send(Vec<String>),
    Answer(&'static str, Reply),
    Compact(Index),
}

/// Records every step; answers persists with `synced`.
struct Recorder {
    steps: Vec<Step>,
    synced: Synced,
    tokens: Vec<SyncToken>,
    /// What `may_compact` answers.
    may_compact: bool,
}

impl Recorder {
    fn new(synced: Synced) -> Recorder {
        Recorder {
            steps: Vec::new(),
            synced,
            tokens: Vec::new(),
            may_compact: true,
        }
    }

    fn sends(&self) -> Vec<&Vec<String>> {
        let sends = self.steps.iter().filter_map(|s| match s {
            Step::Send(kinds) if !kinds.is_empty() => Some(kinds),
            _ => None,
        });
        sends.collect()
    }

    fn answers(&self) -> Vec<(&'static str, Reply)> {
        let answers = self.steps.iter().filter_map(|s| match s {
            Step::Answer(w, r) => Some((*w, r.clone())),
            _ => None,
        });
        answers.collect()
    }

    fn compactions(&self) -> Vec<&Step> {
        let compactions = self.steps.iter().filter(|s| matches!(s, Step::Compact(_)));
        compactions.collect()
    }
}

impl Io<&'static str> for Recorder {
    type Stop = HostError;

    fn persist(&mut self, _node: &Node, persist: Persist<'_>) -> Result<Synced, HostError> {
        self.tokens.push(persist.token);
        self.steps.push(Step::Persist {
            log: persist.log.is_some(),
            hard_state: persist.hard_state.is_some(),
        });
        Ok(self.synced)
    }

    fn send(&mut self, messages: Vec<Message>) -> Result<(), HostError> {
        let kinds = messages
            .iter()
            .map(|m| format!("{}→n{}", m.body.name(), m.to));
        self.steps.push(Step::Send(kinds.collect()));
        Ok(())
    }

    fn answer(&mut self, waiter: &'static str, reply: Reply) {
        self.steps.push(Step::Answer(waiter, reply));
    }

    fn failed(&mut self, error: HostError) -> HostError {
        error
    }

    fn compact(&mut self, snapshot: &Snapshot) -> Result<(), HostError> {
        self.steps.push(Step::Compact(snapshot.meta.index));
        Ok(())
    }

    fn may_compact(&self) -> bool {
        self.may_compact
    }
}

/// Follower `from` tells leader `r` it holds its log up to `index`.
fn acknowledge(r: &mut Replica<&'static str>, from: NodeId, term: Term, index: Index) {
    r.node_mut().step(Message {
        from,
        to: 1,
        term,
        body: Body::AppendResponse {
            success: true,
            index,
            hint: 0,
        },
    });
}

fn config(threshold: u64, release: bool) -> HostConfig {
    HostConfig {
        snapshot_threshold: threshold,
        release_writes_on_step_down: release,
    }
}

/// Node 1 of `voters`, PreVote off so a timeout campaigns at once.
fn replica(voters: Vec<NodeId>, host: HostConfig) -> Replica<&'static str> {
    let mut raft = Config::new(1, voters);
    raft.pre_vote = false;
    let node = Node::new(raft, DurableState::default(), 7).unwrap();
    Replica::new(node, KvStore::new(), host)
}

/// Ticks until node 1 campaigns (or leads, alone), carrying out each tick.
fn campaign(r: &mut Replica<&'static str>, io: &mut Recorder) {
    for _ in 0..100 {
        r.node_mut().tick();
        r.carry_out(io).unwrap();
        if r.node().role() != Role::Follower {
            return;
        }
    }
    panic!("node 1 never campaigned");
}

fn put(
    client: ClientId,
    seq: u64,
    key: &str,
    value: &str,
    waiter: &'static str,
) -> Write<&'static str> {
    let op = Op::Put {
        key: key.into(),
        value: value.into(),
    };
    Write {
        client,
        seq,
        data: Command::encode_payload(client, seq, &op),
        waiter,
    }
}

#[test]
fn a_write_is_persisted_then_applied_then_answered_and_a_read_after_it() {
    let mut r = replica(vec![1], config(0, true));
    let mut io = Recorder::new(Synced::Now);
    campaign(&mut r, &mut io);
    assert_eq!(r.node().role(), Role::Leader);
    io.steps.clear();
    r.propose(vec![put(9, 1, "x", "1", "w")], |_| {}).unwrap();
    r.carry_out(&mut io).unwrap();
    r.read("x".into(), "r");
    r.carry_out(&mut io).unwrap();
    let persisted = io
        .steps
        .iter()
        .position(|s| matches!(s, Step::Persist { log: true, .. }));
    let answered = io.steps.iter().position(|s| matches!(s, Step::Answer(..)));
    assert!(
        persisted.is_some() && persisted < answered,
        "{:?}",
        io.steps
    );
    assert_eq!(
        io.answers(),
        vec![
            ("w", Reply::Done(OpResult::Done)),
            ("r", Reply::Done(OpResult::Value(Some("1".into())))),
        ]
    );
    assert_eq!(r.kv().get("x"), Some("1"));
}

#[test]
fn a_follower_refuses_writes_and_redirects_reads() {
    let mut r = replica(vec![1, 2, 3], config(0, true));
    let mut io = Recorder::new(Synced::Now);
    let refused = r.propose(vec![put(9, 1, "x", "1", "w")], |_| panic!("not accepted"));
    let (e, waiters) = refused.err().unwrap();
    assert_eq!(Reply::refusal(&e), Reply::NotLeader(None));
    assert_eq!(waiters, vec!["w"]);
    r.read("x".into(), "r");
    r.carry_out(&mut io).unwrap();
    assert_eq!(io.answers(), vec![("r", Reply::NotLeader(None))]);
}

#[test]
fn messages_wait_for_a_later_sync_and_leave_in_order() {
    let mut r = replica(vec![1, 2, 3], config(0, true));
    let mut io = Recorder::new(Synced::Later);
    campaign(&mut r, &mut io);
    assert_eq!(r.node().role(), Role::Candidate);
    // The vote requests rest on the term and vote just persisted.
    assert!(io.sends().is_empty(), "{:?}", io.steps);
    let token = *io.tokens.last().unwrap();
    r.synced(token, &mut io).unwrap();
    assert_eq!(
        io.sends(),
        vec![&vec!["Vote→n2".to_string(), "Vote→n3".to_string()]]
    );
    // Nothing is sent twice.
    r.synced(token, &mut io).unwrap();
    assert_eq!(io.sends().len(), 1);
}

/// Node 1 of three leads term 1 with node 2's vote.
fn leader_of_three(release: bool) -> (Replica<&'static str>, Recorder) {
    let mut r = replica(vec![1, 2, 3], config(0, release));
    let mut io = Recorder::new(Synced::Now);
    campaign(&mut r, &mut io);
    let term = r.node().term();
    r.node_mut().step(Message {
        from: 2,
        to: 1,
        term,
        body: Body::VoteResponse { granted: true },
    });
    r.carry_out(&mut io).unwrap();
    assert_eq!(r.node().role(), Role::Leader);
    (r, io)
}

/// A heartbeat from node 2 in a later term: node 1 steps down.
fn depose(r: &mut Replica<&'static str>, io: &mut Recorder) {
    let term = r.node().term() + 1;
    r.node_mut().step(Message {
        from: 2,
        to: 1,
        term,
        body: Body::Heartbeat {
            commit: 0,
            read_seq: 0,
        },
    });
    r.carry_out(io).unwrap();
    assert_eq!(r.node().role(), Role::Follower);
}

#[test]
fn a_leader_that_steps_down_releases_its_waiting_writes_when_told_to() {
    for release in [true, false] {
        let (mut r, mut io) = leader_of_three(release);
        let mut accepted = Vec::new();
        r.propose(vec![put(9, 1, "x", "1", "w")], |w| accepted.push(*w))
            .unwrap();
        assert_eq!(accepted, vec!["w"]);
        r.carry_out(&mut io).unwrap();
        io.steps.clear();
        depose(&mut r, &mut io);
        let expected = if release {
            vec![("w", Reply::NotLeader(Some(2)))]
        } else {
            vec![]
        };
        assert_eq!(io.answers(), expected, "release {release}");
    }
}

#[test]
fn the_log_is_compacted_once_enough_is_applied() {
    let mut r = replica(vec![1], config(3, true));
    let mut io = Recorder::new(Synced::Now);
    campaign(&mut r, &mut io);
    for seq in 1..=3 {
        r.propose(vec![put(9, seq, "x", "v", "w")], |_| {}).unwrap();
        r.carry_out(&mut io).unwrap();
    }
    // The no-op of the leader's term and three writes: one snapshot at 3.
    assert_eq!(io.compactions(), vec![&Step::Compact(3)]);
    assert_eq!(r.node().log().snapshot_meta().index, 3);
}

#[test]
fn a_leader_whose_write_syncs_later_commits_only_once_it_is_synced() {
    let (mut r, _) = leader_of_three(true);
    let mut io = Recorder::new(Synced::Later);
    // The leader's no-op and a write, handed to a disk that syncs later.
    r.carry_out(&mut io).unwrap();
    r.propose(vec![put(9, 1, "x", "1", "w")], |_| {}).unwrap();
    r.carry_out(&mut io).unwrap();
    let last = r.node().log().last_index();
    let term = r.node().term();
    // Node 2 holds everything: with the leader's own write unsynced, one
    // follower is not a quorum of three.
    acknowledge(&mut r, 2, term, last);
    r.carry_out(&mut io).unwrap();
    assert!(r.node().commit_index() < last);
    assert!(io.answers().is_empty());
    let token = *io.tokens.last().unwrap();
    r.synced(token, &mut io).unwrap();
    r.carry_out(&mut io).unwrap();
    assert_eq!(r.node().commit_index(), last);
    assert_eq!(io.answers(), vec![("w", Reply::Done(OpResult::Done))]);
}

#[test]
fn a_leaders_appends_leave_before_its_own_write_is_synced_and_a_followers_ack_after() {
    let (mut r, mut now) = leader_of_three(true);
    // Both followers acknowledge the leader's no-op: it pipelines to them.
    let (term, last) = (r.node().term(), r.node().log().last_index());
    for from in [2, 3] {
        acknowledge(&mut r, from, term, last);
    }
    r.carry_out(&mut now).unwrap();
    let mut io = Recorder::new(Synced::Later);
    r.propose(vec![put(9, 1, "x", "1", "w")], |_| {}).unwrap();
    r.carry_out(&mut io).unwrap();
    // Persisted (not yet synced), and the appends are out already.
    assert!(
        matches!(io.steps[0], Step::Persist { log: true, .. }),
        "{:?}",
        io.steps
    );
    assert_eq!(
        io.sends(),
        vec![&vec!["Append→n2".to_string(), "Append→n3".to_string()]]
    );
    // A follower's acknowledgement of an append it has not synced waits.
    let mut f = replica(vec![1, 2, 3], config(0, true));
    let mut fio = Recorder::new(Synced::Later);
    let entry = Entry {
        index: 1,
        term: 1,
        data: crate::raft::EntryData::Noop,
    };
    f.node_mut().step(Message {
        from: 2,
        to: 1,
        term: 1,
        body: Body::Append {
            prev_index: 0,
            prev_term: 0,
            entries: vec![entry],
            commit: 0,
        },
    });
    f.carry_out(&mut fio).unwrap();
    assert!(fio.sends().is_empty(), "{:?}", fio.steps);
    let token = *fio.tokens.last().unwrap();
    f.synced(token, &mut fio).unwrap();
    assert_eq!(fio.sends(), vec![&vec!["AppendResp→n2".to_string()]]);
}

#[test]
fn a_driver_that_is_still_compacting_puts_the_next_compaction_off() {
    let mut r = replica(vec![1], config(2, true));
    let mut io = Recorder::new(Synced::Now);
    campaign(&mut r, &mut io);
    io.may_compact = false;
    for seq in 1..=4 {
        r.propose(vec![put(9, seq, "x", "v", "w")], |_| {}).unwrap();
        r.carry_out(&mut io).unwrap();
    }
    assert!(io.compactions().is_empty());
    // Once it may, the store compacts what it applied, past the threshold.
    io.may_compact = true;
    r.propose(vec![put(9, 5, "x", "v", "w")], |_| {}).unwrap();
    r.carry_out(&mut io).unwrap();
    // The no-op and four writes were applied before it could: index 5.
    assert_eq!(io.compactions(), vec![&Step::Compact(5)]);
}
