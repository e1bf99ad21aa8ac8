//! [`ClusterView`]: a snapshot of everything a dashboard shows, and the
//! hub that publishes it.
//!
//! Each node thread publishes its own [`NodeView`] after an input changed
//! something (an `Arc`, swapped in). When the log's tail changed it hands
//! over the last entries as they are (sharing their payloads); they are
//! decoded into the view's log window only when someone reads the view,
//! so a busy node does not format text nobody looks at, and a tick costs
//! no log copy. Controls and Raft
//! events add [`ViewEvent`]s to a bounded ring. Every change bumps a
//! version and wakes [`ViewWatch`](super::ViewWatch)ers; a `ClusterView`
//! is assembled only when someone asks for one (`publish.rs`, which reads
//! the cluster's shared state, as this file does not).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::lock::lock;
use super::observe::{CheckReport, MessageWindow, Wire};
use crate::kv::{Command, Op};
use crate::raft::{
    Bugs, DurableState, Entry, EntryData, Index, Membership, NodeId, Progress, Role, Status, Tally,
    Term, Ticks, VoteRefusal,
};

/// Whether a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// Its thread runs.
    Up,
    /// Frozen: no ticks, inbox not read (like a long GC pause).
    Paused,
    /// Killed: only its storage remains.
    Down,
}

/// One log entry as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntryView {
    /// Its index.
    pub index: Index,
    /// Its term.
    pub term: Term,
    /// A short text of its command (`put x=1`, `noop`).
    pub text: String,
}

/// One node as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// Its id.
    pub id: NodeId,
    /// Up, paused or down.
    pub state: NodeState,
    /// Its role (a down node shows `Follower`).
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// Its vote in that term.
    pub vote: Option<NodeId>,
    /// The leader it knows of.
    pub leader: Option<NodeId>,
    /// Highest index it knows committed.
    pub commit: Index,
    /// Highest index its state machine applied.
    pub applied: Index,
    /// Index of its last log entry.
    pub last_index: Index,
    /// Term of its last log entry.
    pub last_term: Term,
    /// Last index covered by its snapshot.
    pub snapshot_index: Index,
    /// Ticks since its election timer was reset.
    pub election_elapsed: Ticks,
    /// Its current randomized election timeout.
    pub election_timeout: Ticks,
    /// The last entries of its log, oldest first.
    pub log: Arc<[LogEntryView]>,
    /// Messages it sent (into the fabric, before loss).
    pub sent: u64,
    /// Messages it received.
    pub received: u64,
    /// The configuration it uses (the latest in its log, committed or not).
    pub membership: Membership,
    /// Whether that configuration is not committed yet (as it knows).
    pub membership_pending: bool,
    /// Its election so far, while it is a PreCandidate or a Candidate.
    pub votes: Option<Tally>,
    /// On a leader, each follower's next and match index, by id.
    pub progress: Vec<(NodeId, Progress)>,
    /// The vote requests it refused or ignored, the latest per candidate,
    /// and why (empty for a down node: they are not durable).
    pub refusals: Vec<VoteRefusal>,
}

/// A node's place in the cluster's configuration, as the dashboard shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberRole {
    /// It votes and counts towards commit.
    Voter,
    /// It receives the log but does not vote (it is catching up, or
    /// waiting to be promoted).
    Learner,
    /// It was a member and is no longer in the configuration.
    Removed,
    /// Started to join, and not yet in the configuration the cluster uses.
    Joining,
}

impl MemberRole {
    /// The role in a word.
    pub fn label(self) -> &'static str {
        match self {
            MemberRole::Voter => "voter",
            MemberRole::Learner => "learner",
            MemberRole::Removed => "removed",
            MemberRole::Joining => "joining",
        }
    }
}

impl NodeView {
    /// The view of a running node: its status, its election (from
    /// [`crate::raft::Node::tally`]), what it applied and its log window.
    pub(crate) fn running(
        status: &Status,
        votes: Option<Tally>,
        applied: Index,
        log: Arc<[LogEntryView]>,
    ) -> NodeView {
        NodeView {
            id: status.id,
            state: NodeState::Up,
            role: status.role,
            term: status.term,
            vote: status.vote,
            leader: status.leader,
            commit: status.commit,
            applied,
            last_index: status.last_index,
            last_term: status.last_term,
            snapshot_index: status.snapshot_index,
            election_elapsed: status.election_elapsed,
            election_timeout: status.election_timeout,
            log,
            sent: 0,
            received: 0,
            membership: status.membership,
            membership_pending: status.membership_pending,
            votes,
            progress: status.progress.clone(),
            refusals: status.refusals.clone(),
        }
    }

    /// The view of a down node: what its storage holds.
    pub(crate) fn down(before: &NodeView, durable: &DurableState, window: usize) -> NodeView {
        let snapshot_index = durable.snapshot.as_ref().map_or(0, |s| s.meta.index);
        let last_index = durable.last_index();
        NodeView {
            state: NodeState::Down,
            role: Role::Follower,
            term: durable.hard_state.term,
            vote: durable.hard_state.vote,
            leader: None,
            commit: snapshot_index,
            applied: snapshot_index,
            last_index,
            last_term: durable.term_at(last_index).unwrap_or(0),
            snapshot_index,
            election_elapsed: 0,
            log: log_window(&durable.entries, window),
            votes: None,
            progress: Vec::new(),
            refusals: Vec::new(),
            ..before.clone()
        }
    }

    /// Node `id` before anything happened: an up follower in term 0
    /// with an empty log.
    pub fn initial(id: NodeId) -> NodeView {
        NodeView {
            id,
            state: NodeState::Up,
            role: Role::Follower,
            term: 0,
            vote: None,
            leader: None,
            commit: 0,
            applied: 0,
            last_index: 0,
            last_term: 0,
            snapshot_index: 0,
            election_elapsed: 0,
            election_timeout: 0,
            log: Arc::from(Vec::new()),
            sent: 0,
            received: 0,
            membership: Membership::default(),
            membership_pending: false,
            votes: None,
            progress: Vec::new(),
            refusals: Vec::new(),
        }
    }

    /// The term of this node's entry at `index`, if its log window holds it.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        let first = self.log.first()?.index;
        if index < first {
            return None;
        }
        self.log.get((index - first) as usize).map(|e| e.term)
    }
}

/// The last `n` entries of `entries` as the dashboard shows them.
pub(crate) fn log_window(entries: &[Entry], n: usize) -> Arc<[LogEntryView]> {
    let start = entries.len().saturating_sub(n);
    entries[start..]
        .iter()
        .map(|e| LogEntryView {
            index: e.index,
            term: e.term,
            text: entry_text(e),
        })
        .collect()
}

/// Most characters of an entry's text.
const ENTRY_TEXT_MAX: usize = 24;

fn entry_text(entry: &Entry) -> String {
    let bytes = match &entry.data {
        EntryData::Command(bytes) => bytes,
        EntryData::Noop => return "noop".to_string(),
        EntryData::Config { change, .. } => return format!("config: {change}"),
    };
    match Command::decode(entry.index, bytes) {
        Ok(c) => op_text(&c.op),
        Err(_) => "(undecodable)".to_string(),
    }
}

/// An operation as a log entry shows it (`put x=1`), cut to
/// [`ENTRY_TEXT_MAX`] characters.
pub fn op_text(op: &Op) -> String {
    let text = match op {
        Op::Put { key, value } => format!("put {key}={value}"),
        Op::Get { key } => format!("get {key}"),
        Op::Delete { key } => format!("del {key}"),
        Op::Cas { key, old, new } => format!("cas {key} {old}→{new}"),
    };
    match text.char_indices().nth(ENTRY_TEXT_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// One directed link as the dashboard shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkView {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Whether it carries messages.
    pub up: bool,
    /// Loss probability.
    pub loss: f64,
    /// Least delay, cluster µs.
    pub delay_min_us: u64,
    /// Greatest delay, cluster µs.
    pub delay_max_us: u64,
    /// Duplication probability.
    pub duplicate: f64,
    /// Messages on their way now.
    pub in_flight: u64,
    /// Messages delivered so far.
    pub delivered: u64,
    /// Messages dropped so far (link down, lost, or receiver down).
    pub dropped: u64,
}

/// Messages a link carried: on their way now, delivered, dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// On their way now.
    pub in_flight: u64,
    /// Delivered so far.
    pub delivered: u64,
    /// Dropped so far.
    pub dropped: u64,
}

impl LinkView {
    /// Every directed link of `fabric` with its faults, and the messages
    /// `counts` says it carried — the live cluster and the simulated
    /// dashboard count them differently.
    pub fn all(
        fabric: &crate::net::Fabric,
        counts: impl Fn(NodeId, NodeId) -> LinkCounts,
    ) -> Vec<LinkView> {
        let ids = fabric.ids();
        let mut links = Vec::with_capacity(ids.len() * ids.len());
        for &from in ids {
            for &to in ids {
                if from == to {
                    continue;
                }
                let Ok(link) = fabric.link(from, to) else {
                    continue;
                };
                let c = counts(from, to);
                links.push(LinkView {
                    from,
                    to,
                    up: link.up,
                    loss: link.loss,
                    delay_min_us: link.delay_min_us,
                    delay_max_us: link.delay_max_us,
                    duplicate: link.duplicate,
                    in_flight: c.in_flight,
                    delivered: c.delivered,
                    dropped: c.dropped,
                });
            }
        }
        links
    }
}

/// Something that happened, for the dashboard's event list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewEvent {
    /// Wall µs since the cluster started.
    pub at_us: u64,
    /// The clock's tick count then.
    pub tick: u64,
    /// The node concerned, if one.
    pub node: Option<NodeId>,
    /// What happened.
    pub text: String,
    /// How many times in a row it happened (1: once); repeats fold into
    /// one line that says `×N`.
    pub count: u32,
}

/// Recent events the fold looks back over for an identical one: a node
/// whose pre-votes keep failing says two things each round, and both
/// should fold.
const FOLD_BACK: usize = 4;

/// Adds `event` to the bounded `ring`: an event identical (node and text)
/// to one of the last few is folded into it, which moves to the end with
/// its count up and the new time.
pub(crate) fn push_folding(ring: &mut VecDeque<ViewEvent>, mut event: ViewEvent, capacity: usize) {
    let back = ring.len().saturating_sub(FOLD_BACK);
    let same = (back..ring.len())
        .rev()
        .find(|&i| ring[i].node == event.node && ring[i].text == event.text);
    if let Some(old) = same.and_then(|i| ring.remove(i)) {
        event.count = old.count.saturating_add(event.count);
    }
    while ring.len() >= capacity.max(1) {
        ring.pop_front();
    }
    ring.push_back(event);
}

/// Everything a dashboard shows, at one moment.
#[derive(Clone, Debug)]
pub struct ClusterView {
    /// Bumped by every change; a newer view has a higher version.
    pub version: u64,
    /// Wall µs since the cluster started.
    pub at_us: u64,
    /// Ticks the clock has given.
    pub tick: u64,
    /// Whether the clock is paused.
    pub clock_paused: bool,
    /// The speed factor.
    pub speed: f64,
    /// Wall length of a tick at speed 1.0.
    pub tick_wall: Duration,
    /// Every node, by id.
    pub nodes: Vec<Arc<NodeView>>,
    /// Every directed link between two different nodes.
    pub links: Vec<LinkView>,
    /// The network's connected groups.
    pub groups: Vec<Vec<NodeId>>,
    /// Recent events, oldest first.
    pub events: Vec<ViewEvent>,
    /// Messages, unsafe variants and the live checker (teaching mode).
    pub teaching: Teaching,
}

/// What a view shows for teaching: the messages sent, the unsafe protocol
/// variants switched on, and the live checker's verdict. Filled by the
/// live runtime; a simulator-driven view can fill it the same way.
#[derive(Clone, Debug)]
pub struct Teaching {
    /// The messages recorded so far (a window on a shared ring).
    pub messages: MessageWindow,
    /// Known-unsafe protocol variants switched on.
    pub bugs: Bugs,
    /// The invariants and linearizability, as the live checker judges them.
    pub checks: Arc<CheckReport>,
    /// PreVote and CheckQuorum, on or off (`--no-prevote`, `--no-check-quorum`).
    pub extensions: crate::sim::Extensions,
    /// The links' base latency, cluster µs: what a link has unless a
    /// `delay` changed it (the network pane shows only departures from it).
    pub latency_us: (u64, u64),
    /// The messages on the wire at the view's moment, and whether new
    /// ones are held on their links.
    pub wire: Wire,
}

impl Default for Teaching {
    fn default() -> Teaching {
        Teaching {
            messages: MessageWindow::default(),
            bugs: Bugs::default(),
            checks: Arc::default(),
            extensions: crate::sim::Extensions::default(),
            latency_us: crate::net::Link::DEFAULT_DELAY_US,
            wire: Wire::default(),
        }
    }
}

impl ClusterView {
    /// Node `id`'s view.
    pub fn node(&self, id: NodeId) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.id == id).map(|n| &**n)
    }

    /// The running leader of the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.state == NodeState::Up && n.role == Role::Leader)
            .max_by_key(|n| n.term)
            .map(|n| n.id)
    }

    /// The configuration the cluster uses and whether it is still pending:
    /// the leader's, or without a leader that of the running node of the
    /// highest term that knows one; `None` when no node knows one.
    pub fn configuration(&self) -> Option<(Membership, bool)> {
        let best = |nodes: &mut dyn Iterator<Item = &Arc<NodeView>>| {
            nodes
                .filter(|n| !n.membership.voters.is_empty())
                .max_by_key(|n| (n.term, n.last_index))
                .map(|n| (n.membership, n.membership_pending))
        };
        let leader = self.leader().and_then(|l| self.node(l));
        if let Some(l) = leader.filter(|l| !l.membership.voters.is_empty()) {
            return Some((l.membership, l.membership_pending));
        }
        best(&mut self.nodes.iter().filter(|n| n.state == NodeState::Up))
            .or_else(|| best(&mut self.nodes.iter()))
    }

    /// Node `id`'s place in [`ClusterView::configuration`]: a node outside
    /// it is `Removed` once it holds entries, `Joining` while it is empty.
    pub fn member_role(&self, id: NodeId) -> MemberRole {
        let config = self.configuration().map(|(c, _)| c).unwrap_or_default();
        if config.is_voter(id) {
            MemberRole::Voter
        } else if config.is_learner(id) {
            MemberRole::Learner
        } else if self.node(id).is_some_and(|n| n.last_index > 0) {
            MemberRole::Removed
        } else {
            MemberRole::Joining
        }
    }

    /// The link from `from` to `to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> Option<&LinkView> {
        self.links.iter().find(|l| l.from == from && l.to == to)
    }

    /// The highest index any node's log reaches (0: every log is empty).
    pub fn newest_index(&self) -> Index {
        self.nodes.iter().map(|n| n.last_index).max().unwrap_or(0)
    }
}

/// The latest node views and events, versioned.
pub(crate) struct ViewHub {
    pub(crate) inner: Mutex<HubInner>,
    changed: Condvar,
}

pub(crate) struct HubInner {
    pub(crate) version: u64,
    pub(crate) nodes: Vec<Arc<NodeView>>,
    /// Per node (as `nodes`), the log tail published since its window was
    /// last rendered; rendered into `nodes` by the next reader.
    tails: Vec<Option<Arc<[Entry]>>>,
    pub(crate) events: VecDeque<ViewEvent>,
    capacity: usize,
}

impl ViewHub {
    pub(crate) fn new(ids: &[NodeId], capacity: usize) -> ViewHub {
        ViewHub {
            inner: Mutex::new(HubInner {
                version: 0,
                nodes: ids
                    .iter()
                    .map(|&id| Arc::new(NodeView::initial(id)))
                    .collect(),
                tails: ids.iter().map(|_| None).collect(),
                events: VecDeque::new(),
                capacity: capacity.max(1),
            }),
            changed: Condvar::new(),
        }
    }

    fn bump(&self, inner: &mut HubInner) {
        inner.version += 1;
        self.changed.notify_all();
    }

    /// Marks the view changed without a node or event changing (the clock
    /// was held, the live checker's verdict changed), so watchers redraw.
    pub(crate) fn touch(&self) {
        let mut inner = lock(&self.inner);
        self.bump(&mut inner);
    }

    /// Adds node `id` (a node that joins), in id order; no-op if present.
    pub(crate) fn add_node(&self, id: NodeId) {
        let mut inner = lock(&self.inner);
        if inner.nodes.iter().any(|n| n.id == id) {
            return;
        }
        let at = inner.nodes.partition_point(|n| n.id < id);
        inner.nodes.insert(at, Arc::new(NodeView::initial(id)));
        inner.tails.insert(at, None);
        self.bump(&mut inner);
    }

    /// Replaces a node's view when it differs from the last one.
    pub(crate) fn publish_node(&self, view: &NodeView) {
        let mut inner = lock(&self.inner);
        let Some(i) = inner.nodes.iter().position(|n| n.id == view.id) else {
            return;
        };
        inner.tails[i] = None;
        if *inner.nodes[i] != *view {
            inner.nodes[i] = Arc::new(view.clone());
            self.bump(&mut inner);
        }
    }

    /// Replaces a running node's view (which its thread found changed).
    /// `tail`, when the log's tail changed, holds its last entries, to be
    /// rendered into the view's log window by the next reader; otherwise
    /// the window published before stays.
    pub(crate) fn publish_running(&self, view: &NodeView, tail: Option<Arc<[Entry]>>) {
        let mut inner = lock(&self.inner);
        let Some(i) = inner.nodes.iter().position(|n| n.id == view.id) else {
            return;
        };
        let log = inner.nodes[i].log.clone();
        inner.nodes[i] = Arc::new(NodeView {
            log,
            ..view.clone()
        });
        if tail.is_some() {
            inner.tails[i] = tail;
        }
        self.bump(&mut inner);
    }

    /// Node `id`'s last published view.
    pub(crate) fn node(&self, id: NodeId) -> Option<Arc<NodeView>> {
        let mut inner = lock(&self.inner);
        inner.render();
        inner.nodes.iter().find(|n| n.id == id).cloned()
    }

    /// Adds an event to the ring.
    pub(crate) fn push_event(&self, event: ViewEvent) {
        let mut inner = lock(&self.inner);
        let capacity = inner.capacity;
        push_folding(&mut inner.events, event, capacity);
        self.bump(&mut inner);
    }

    /// Waits up to `timeout` for a version above `seen`; returns the latest.
    pub(crate) fn wait_newer(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut inner = lock(&self.inner);
        while inner.version <= seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            inner = match self.changed.wait_timeout(inner, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        inner.version
    }
}

impl HubInner {
    /// Renders the log tails published since the last reader into the
    /// nodes' log windows.
    pub(crate) fn render(&mut self) {
        for (node, tail) in self.nodes.iter_mut().zip(self.tails.iter_mut()) {
            if let Some(tail) = tail.take() {
                *node = Arc::new(NodeView {
                    log: log_window(&tail, tail.len()),
                    ..(**node).clone()
                });
            }
        }
    }
}

/// The last `n` entries of `entries`, as they are, for
/// [`ViewHub::publish_running`].
pub(crate) fn log_tail(entries: &[Entry], n: usize) -> Arc<[Entry]> {
    entries[entries.len().saturating_sub(n)..].into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Op;
    use crate::raft::Payload;

    fn put(index: Index, key: &str) -> Entry {
        let op = Op::Put {
            key: key.into(),
            value: "1".into(),
        };
        let bytes = Command::encode_parts(7, index, &op);
        Entry {
            index,
            term: 1,
            data: EntryData::Command(Payload::from(bytes)),
        }
    }

    /// A running node's log tail is rendered into its window when the view
    /// is read, and stays until a newer tail comes.
    #[test]
    fn published_tails_render_when_read() {
        let hub = ViewHub::new(&[1, 2], 16);
        let mut view = NodeView::initial(1);
        view.last_index = 2;
        let entries = [put(1, "a"), put(2, "b")];
        hub.publish_running(&view, Some(log_tail(&entries, 1)));
        let texts = |hub: &ViewHub| -> Vec<String> {
            let node = hub.node(1).unwrap();
            node.log.iter().map(|e| e.text.clone()).collect()
        };
        assert_eq!(texts(&hub), ["put b=1"], "only the last entry, rendered");
        view.commit = 2;
        hub.publish_running(&view, None);
        let node = hub.node(1).unwrap();
        assert_eq!((node.commit, node.log.len()), (2, 1), "the window stays");
        let entries = [put(1, "a"), put(2, "b"), put(3, "c")];
        hub.publish_running(&view, Some(log_tail(&entries, 2)));
        assert_eq!(texts(&hub), ["put b=1", "put c=1"]);
        assert!(hub.node(2).unwrap().log.is_empty());
    }

    /// The log pane names every kind of entry: a configuration entry says
    /// which change it makes rather than passing for a no-op.
    #[test]
    fn entry_texts_name_noops_commands_and_configuration_changes() {
        use crate::raft::{ConfChange, Membership};
        let config = |index, change| Entry {
            index,
            term: 2,
            data: EntryData::Config {
                change,
                config: Membership::of_voters([1, 2, 3]),
            },
        };
        let noop = Entry {
            index: 1,
            term: 2,
            data: EntryData::Noop,
        };
        let texts: Vec<String> = [
            noop,
            put(2, "x"),
            config(3, ConfChange::AddLearner(4)),
            config(4, ConfChange::Promote(4)),
            config(5, ConfChange::Remove(2)),
        ]
        .iter()
        .map(entry_text)
        .collect();
        assert_eq!(
            texts,
            [
                "noop",
                "put x=1",
                "config: add learner 4",
                "config: promote 4",
                "config: remove 2"
            ]
        );
    }
}
