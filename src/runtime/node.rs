//! The node thread: one Raft node, its state machine and its storage.
//!
//! The thread waits with `select!` on its control channel, its inbox, its
//! ticker and — with the TCP transport — the frames its listener received
//! (a paused node reads only its controls). Over TCP a client request
//! carries a [`Replier`] instead of a channel, so the answer goes back on
//! the client's connection; a frame that did not decode becomes an event.
//! In a multi-process cluster the thread also takes a peer's hello (see
//! `peers.rs`) and a client's membership change, which it proposes as the
//! leader and answers when it commits (`node/change.rs`). A client's
//! operation that reaches a follower, in-process or over TCP, is passed to
//! the leader and its answer relayed (`node/forward.rs`). After each input —
//! or a batch of inbox items already waiting — its [`Replica`] carries out
//! the node's output, as the simulator's does: the order of the steps and
//! the rules for waiting clients are the host's (`host/replica.rs`); this
//! thread is only the IO under them ([`NodeIo`]: the storage, the
//! transport, the client's reply slot or connection, the live checker's
//! facts). Then it publishes its [`NodeView`] if anything changed. When the
//! thread ends (killed, or its storage failed) it hands its storage back.

use std::sync::Arc;

use crossbeam_channel::{Receiver, select};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::inbox::{Control, NodeChannels, NodeInput};
use super::observe::{EntryFact, NodeFact};
use super::reply::{ReplySlot, Wakes};
use super::shared::Shared;
use super::storage::{NodeStorage, StorageError};
use super::view::{NodeView, log_tail};
use crate::host::{HostConfig, HostError, Io, Persist, Replica, Reply, Synced, Write};
use crate::kv::{ClientId, KvStore, Op, OpResult};
use crate::net::{
    ClientRequest, ClientResponse, ForwardRequest, Identity, NodeStatus, NoticeKind, Replier,
    TcpEvent, Wire,
};
use crate::raft::{
    Entry, Event, Index, LogWrite, Message, Node, NodeId, Payload, Role, Snapshot, Tally, Term,
};
use crate::storage::Report;
use disk::NodeDisk;

mod change;
mod disk;
mod forward;

/// Largest command one write may carry (4 MiB): its entry, sent alone when
/// over the append budget, must still fit one TCP frame
/// ([`crate::net::DEFAULT_MAX_FRAME`], 16 MiB) with room to spare.
pub const MAX_COMMAND_BYTES: usize = 4 << 20;
/// Most inbox items taken before carrying out the `Ready` they produced.
const MAX_BATCH: usize = 64;

/// Where a node sends the answer to a client request.
pub(crate) enum ReplyTo {
    /// An in-process client, parked on its reply slot.
    Local(ReplySlot),
    /// A client connected over TCP, waiting for the answer to `(session, seq)`.
    Remote {
        replier: Replier,
        session: u64,
        seq: u64,
    },
    /// Node `to`, which forwarded its client's request here (`from`) as
    /// its forward `id`, and relays the answer.
    Peer {
        shared: Arc<Shared>,
        from: NodeId,
        to: NodeId,
        id: u64,
    },
}

impl ReplyTo {
    /// Marks a write as appended to the leader's log. A local client only
    /// needs to know if it gives up (the write may then still apply); a
    /// remote client hears only the outcome.
    fn accept(&self) {
        if let ReplyTo::Local(slot) = self {
            slot.accept();
        }
    }

    /// Takes [`accept`](Self::accept) back (see `node/forward.rs`).
    fn retract(&self) {
        if let ReplyTo::Local(slot) = self {
            slot.retract();
        }
    }

    /// Answers; a client that went away is not an error of the node's.
    /// A local client's thread is woken when `wakes` is flushed.
    fn send(self, reply: Reply, wakes: &mut Wakes) {
        match self {
            ReplyTo::Local(slot) => slot.send_later(reply, wakes),
            ReplyTo::Remote {
                replier,
                session,
                seq,
            } => {
                let response = ClientResponse::Op {
                    session,
                    seq,
                    reply: reply.into_wire(),
                };
                let _ = replier.send(&Wire::Response(response));
            }
            ReplyTo::Peer {
                shared,
                from,
                to,
                id,
            } => shared.answer_forward(from, to, id, reply.into_wire()),
        }
    }
}

/// Why a node thread ended.
#[derive(Debug)]
pub(crate) enum ExitReason {
    Killed,
    Storage(StorageError),
    /// Its state machine could not take a committed entry or snapshot.
    Corrupt(String),
}

/// What a node thread hands back when it ends.
pub(crate) struct NodeExit {
    pub(crate) storage: NodeStorage,
    pub(crate) reason: ExitReason,
}

/// One live node.
pub(crate) struct NodeThread {
    id: NodeId,
    /// The raft node, its store and the clients waiting on it.
    replica: Replica<ReplyTo>,
    /// Its storage, written inline or by a log writer thread.
    disk: NodeDisk,
    /// The log writer's reports (`never()` inline).
    disk_reports: Receiver<Report>,
    shared: Arc<Shared>,
    net_rng: ChaCha8Rng,
    paused: bool,
    sent: u64,
    received: u64,
    /// The log tail (last index and term, snapshot index) last published.
    tail: (Index, Term, Index),
    last_view: Option<NodeView>,
    /// The last state told to the live checker.
    last_fact: Option<NodeFact>,
    /// Client threads and pool drivers answered since the last flush.
    wakes: Wakes,
    /// Writes taken from the inbox, proposed together before the next
    /// input of another kind (or the end of the batch).
    proposals: Vec<Write<ReplyTo>>,
    /// Membership changes clients asked for over TCP, until they commit.
    changes: Vec<change::PendingChange>,
    /// Client requests forwarded to the leader, until it answers.
    forwards: forward::Forwards,
    /// Whether it is one node of a multi-process cluster.
    remote: bool,
    /// Its place in the configuration when last looked at (voter, learner
    /// or out), to log changes; `None` before the first look.
    member: Option<Option<bool>>,
}

impl NodeThread {
    pub(crate) fn new(
        node: Node,
        kv: KvStore,
        storage: NodeStorage,
        shared: Arc<Shared>,
        net_seed: u64,
    ) -> NodeThread {
        let remote = shared.is_remote();
        let config = HostConfig {
            snapshot_threshold: shared.snapshot_threshold,
            release_writes_on_step_down: true,
        };
        let id = node.id();
        let disk = NodeDisk::new(id, storage);
        NodeThread {
            id,
            replica: Replica::new(node, kv, config),
            disk_reports: disk.reports(),
            disk,
            shared,
            net_rng: ChaCha8Rng::seed_from_u64(net_seed),
            paused: false,
            sent: 0,
            received: 0,
            tail: (u64::MAX, 0, 0),
            last_view: None,
            last_fact: None,
            wakes: Wakes::default(),
            proposals: Vec::new(),
            changes: Vec::new(),
            forwards: forward::Forwards::default(),
            remote,
            member: None,
        }
    }

    /// Runs until killed (or the storage fails); returns the storage.
    pub(crate) fn run(mut self, ch: &NodeChannels) -> NodeExit {
        let reason = loop {
            let carried = self.after_input();
            self.settle_forwards(false);
            // One wake per waiting thread for everything answered above.
            self.wakes.flush();
            if let Err(reason) = carried {
                break reason;
            }
            change::answer_changes(self.id, self.replica.node(), &mut self.changes, false);
            self.note_membership();
            self.publish();
            if let Some(reason) = self.next_input(ch) {
                break reason;
            }
        };
        NodeExit {
            storage: self.disk.into_storage(),
            reason,
        }
    }

    /// Waits for and takes the next input; `Some` when the thread must end.
    fn next_input(&mut self, ch: &NodeChannels) -> Option<ExitReason> {
        if self.paused {
            return match ch.control.recv() {
                Ok(control) => self.control(control, ch),
                Err(_) => Some(ExitReason::Killed),
            };
        }
        select! {
            recv(ch.control) -> control => match control {
                Ok(control) => self.control(control, ch),
                Err(_) => Some(ExitReason::Killed),
            },
            recv(ch.inbox) -> input => {
                if let Ok(input) = input {
                    self.batch(input, &ch.inbox, Self::input);
                }
                None
            },
            recv(ch.net) -> event => {
                if let Ok(event) = event {
                    self.batch(event, &ch.net, Self::net_event);
                }
                None
            },
            recv(self.disk_reports) -> report => match report {
                Ok(report) => self.disk_synced(report).err(),
                // The writer thread ended on its own: it cannot go on.
                Err(_) => Some(ExitReason::Storage(disk::writer_gone())),
            },
            recv(ch.ticker) -> tick => {
                if tick.is_ok() {
                    let before = self.replica.node().tally();
                    self.replica.node_mut().tick();
                    self.campaign_ended(before, None);
                    self.settle_forwards(true);
                }
                None
            },
        }
    }

    /// Takes `first` and whatever else `rx` already holds (up to a batch),
    /// so one `Ready` carries out the lot.
    /// Writes among them are proposed together: the followers get one
    /// append for the lot rather than one per write.
    fn batch<T>(&mut self, first: T, rx: &Receiver<T>, mut take: impl FnMut(&mut Self, T)) {
        take(self, first);
        for _ in 1..MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => take(self, item),
                Err(_) => break,
            }
        }
        self.propose_pending();
    }

    fn control(&mut self, control: Control, ch: &NodeChannels) -> Option<ExitReason> {
        match control {
            Control::Kill => return Some(ExitReason::Killed),
            Control::Pause => self.paused = true,
            Control::Resume => {
                self.paused = false;
                // A tick that waited through the pause is not a new one.
                while ch.ticker.try_recv().is_ok() {}
            }
            Control::Transfer { to, reply } => {
                let _ = reply.send(self.replica.node_mut().transfer_leader(to));
            }
            Control::SetBugs(bugs) => self.replica.node_mut().set_bugs(bugs),
            Control::ConfChange { change, reply } => {
                let _ = reply.send(self.replica.node_mut().propose_conf_change(change));
            }
        }
        None
    }

    fn input(&mut self, input: NodeInput) {
        self.take_input(input, true);
    }

    /// Takes one inbox item. A client's request goes to the leader when
    /// this node is not it (see `node/forward.rs`), unless `may_forward` is off
    /// (a request pinned to this node).
    fn take_input(&mut self, input: NodeInput, may_forward: bool) {
        match input {
            NodeInput::Propose {
                client,
                seq,
                data,
                reply,
            } => {
                let request = ForwardRequest::Write { client, seq, data };
                self.forward_or_serve(request, ReplyTo::Local(reply), may_forward);
            }
            NodeInput::Batch(inputs) => {
                for input in inputs {
                    self.take_input(input, may_forward);
                }
            }
            NodeInput::Pinned(input) => self.take_input(*input, false),
            NodeInput::Read { key, reply } => {
                let request = ForwardRequest::Read { key };
                self.forward_or_serve(request, ReplyTo::Local(reply), may_forward);
            }
            NodeInput::Forwarded { from, id, request } => {
                self.serve_forwarded(from, id, request);
            }
            NodeInput::ForwardAnswer { from, id, reply } => {
                self.propose_pending();
                self.forward_answered(from, id, reply);
            }
            // Other inputs see the writes before them proposed, in order.
            NodeInput::Message(msg) => {
                self.propose_pending();
                self.message(msg);
            }
            NodeInput::StaleRead { key, reply } => {
                self.propose_pending();
                let value = self.replica.kv().get(&key).map(str::to_string);
                reply.send_later(Reply::Done(OpResult::Value(value)), &mut self.wakes);
            }
        }
    }

    /// What the node's TCP listener received.
    fn net_event(&mut self, event: TcpEvent<Wire>) {
        if let TcpEvent::Frame {
            frame: Wire::Request(ClientRequest::Op { op, .. }),
            ..
        } = &event
            && op.is_write()
        {
            // Proposed with the writes around it (see `propose`).
        } else {
            self.propose_pending();
        }
        match event {
            TcpEvent::Frame { frame, reply } => match frame {
                Wire::Raft(msg) if !may_speak_for(reply.identity(), msg.from) => {
                    self.ignore(&reply, || {
                        format!("a Raft message that claims to come from n{}", msg.from)
                    });
                }
                Wire::Raft(msg) if msg.to == self.id => self.message(msg),
                Wire::Raft(msg) => self.ignore(&reply, || format!("a message for n{}", msg.to)),
                Wire::Request(ClientRequest::Op { session, seq, op }) => {
                    let to = ReplyTo::Remote {
                        replier: reply,
                        session,
                        seq,
                    };
                    let request = match op {
                        Op::Get { key } => ForwardRequest::Read { key },
                        op => forward::write_request(session, seq, &op),
                    };
                    self.forward_or_serve(request, to, true);
                }
                Wire::Request(ClientRequest::Status) => {
                    let status = self.replica.node().status();
                    let status = NodeStatus {
                        id: self.id,
                        role: status.role,
                        term: status.term,
                        leader: status.leader,
                        commit: status.commit,
                        applied: self.replica.kv().applied_index(),
                    };
                    let _ = reply.send(&Wire::Response(ClientResponse::Status(status)));
                }
                Wire::Request(ClientRequest::Change(change)) => self.change(change, reply),
                Wire::Request(ClientRequest::Members) => self.members(&reply),
                Wire::Hello { id, addr } if !may_speak_for(reply.identity(), id) => {
                    self.ignore(&reply, || {
                        format!("a hello that claims to be n{id} at {addr}")
                    });
                }
                Wire::Hello { id, addr } => {
                    if let Some(text) = self.shared.learn_peer(self.id, id, addr, reply.peer()) {
                        self.event(text);
                    }
                }
                Wire::Forward { id, request } => match reply.identity() {
                    Identity::Node(from) => self.serve_forwarded(from, id, request),
                    _ => self.ignore(&reply, || "a forwarded request".into()),
                },
                Wire::ForwardReply { id, reply: answer } => match reply.identity() {
                    Identity::Node(from) => self.forward_answered(from, id, answer),
                    _ => self.ignore(&reply, || "an answer to a forward".into()),
                },
                Wire::Response(_) => self.ignore(&reply, || "a response frame".into()),
            },
            TcpEvent::Notice(text) => self.event(text),
        }
    }

    /// Says (or counts: a flood is one line per interval) that a frame
    /// `what()` on `reply`'s connection was not believed.
    fn ignore(&self, reply: &Replier, what: impl FnOnce() -> String) {
        let (peer, identity) = (reply.peer(), reply.identity());
        let text = || format!("ignored {} from {peer} ({identity})", what());
        match self.shared.transport(self.id) {
            Some(transport) => transport.notice(NoticeKind::Ignored, peer, text),
            None => self.event(text()),
        }
    }

    fn message(&mut self, msg: Message) {
        self.received += 1;
        let before = self.replica.node().tally();
        let answer = msg.vote_answer();
        self.replica.node_mut().step(msg);
        self.campaign_ended(before, answer);
    }

    /// Says how a campaign ended when the input just taken ended one
    /// without winning it (its tally is gone from the node after it).
    fn campaign_ended(&self, before: Option<Tally>, answer: Option<(NodeId, bool, bool)>) {
        let Some(before) = before else {
            return;
        };
        if let Some(text) = before.ended(answer, self.replica.node().tally()) {
            self.event(text);
        }
    }

    /// Takes a write to propose with the ones around it, unless its command
    /// is larger than [`MAX_COMMAND_BYTES`]: an entry that large could not
    /// travel in one TCP frame, and followers would stall behind it.
    fn queue_write(&mut self, client: ClientId, seq: u64, data: Payload, reply: ReplyTo) {
        if data.len() > MAX_COMMAND_BYTES {
            let text = format!(
                "the write is {} bytes; one write may carry at most {} MiB",
                data.len(),
                MAX_COMMAND_BYTES >> 20
            );
            reply.send(Reply::Refused(text), &mut self.wakes);
            return;
        }
        self.proposals.push(Write {
            client,
            seq,
            data,
            waiter: reply,
        });
    }

    /// Proposes the writes taken so far, in the order they came.
    fn propose_pending(&mut self) {
        if self.proposals.is_empty() {
            return;
        }
        let proposals = std::mem::take(&mut self.proposals);
        if let Err((e, waiters)) = self.replica.propose(proposals, ReplyTo::accept) {
            for reply in waiters {
                reply.send(Reply::refusal(&e), &mut self.wakes);
            }
        }
    }

    fn read(&mut self, key: String, reply: ReplyTo) {
        self.replica.read(key, reply);
    }

    /// Gives `f` the replica and the IO under it.
    fn with_io<R>(&mut self, f: impl FnOnce(&mut Replica<ReplyTo>, &mut NodeIo<'_>) -> R) -> R {
        let mut io = NodeIo {
            id: self.id,
            disk: &mut self.disk,
            shared: &self.shared,
            net_rng: &mut self.net_rng,
            sent: &mut self.sent,
            wakes: &mut self.wakes,
            changes: &mut self.changes,
        };
        f(&mut self.replica, &mut io)
    }

    /// Carries out the node's output through its replica.
    fn after_input(&mut self) -> Result<(), ExitReason> {
        self.with_io(|replica, io| replica.carry_out(io))
    }

    /// The log writer made persists durable: the messages that waited for
    /// them leave, and the leader may count its own log further (the
    /// `Ready` that makes is carried out next, as after any input).
    fn disk_synced(&mut self, report: Report) -> Result<(), ExitReason> {
        let Some(token) = self.disk.synced(report).map_err(ExitReason::Storage)? else {
            return Ok(());
        };
        self.with_io(|replica, io| replica.synced(token, io))
    }

    fn event(&self, text: String) {
        self.shared.event(Some(self.id), text);
    }

    /// Publishes the node's view if it changed, with the log's last
    /// entries when its tail moved (the hub renders them when read).
    fn publish(&mut self) {
        let node = self.replica.node();
        let status = node.status();
        if self.shared.observer.on() {
            let fact = NodeFact::State {
                node: self.id,
                term: status.term,
                vote: status.vote,
                role: status.role,
                commit: status.commit,
            };
            if self.last_fact.as_ref() != Some(&fact) {
                self.shared.fact(&fact);
                self.last_fact = Some(fact);
            }
        }
        // The window itself goes to the hub apart (see `publish_running`).
        let log = self
            .last_view
            .as_ref()
            .map_or_else(|| Arc::from([]), |v| v.log.clone());
        let applied = self.replica.kv().applied_index();
        let mut view = NodeView::running(&status, node.tally(), applied, log);
        view.sent = self.sent;
        view.received = self.received;
        if self.paused {
            view.state = super::view::NodeState::Paused;
        }
        if self.last_view.as_ref() == Some(&view) {
            return;
        }
        let tail = (status.last_index, status.last_term, status.snapshot_index);
        let entries = (self.tail != tail).then(|| {
            self.tail = tail;
            log_tail(node.log().entries(), self.shared.log_window)
        });
        self.shared.view.publish_running(&view, entries);
        self.last_view = Some(view);
    }
}

/// The live node's side of its replica's carry-out: its storage, the
/// transport, the clients' reply slots and connections, the live
/// checker's facts and the event log.
struct NodeIo<'a> {
    id: NodeId,
    disk: &'a mut NodeDisk,
    shared: &'a Shared,
    net_rng: &'a mut ChaCha8Rng,
    sent: &'a mut u64,
    wakes: &'a mut Wakes,
    changes: &'a mut Vec<change::PendingChange>,
}

impl NodeIo<'_> {
    /// Tells the live checker what a log write put where.
    fn observe_write(&self, node: &Node, write: &LogWrite) {
        let prev_term = node.log().term_at(write.from.saturating_sub(1));
        self.shared.fact(&NodeFact::Wrote {
            node: self.id,
            from: write.from,
            prev_term,
            entries: write.entries.iter().map(EntryFact::of).collect(),
        });
    }
}

impl Io<ReplyTo> for NodeIo<'_> {
    type Stop = ExitReason;

    fn persist(&mut self, node: &Node, persist: Persist<'_>) -> Result<Synced, ExitReason> {
        if self.shared.observer.on()
            && let Some(write) = &persist.log
        {
            self.observe_write(node, write);
        }
        // The `ack-before-fsync` bug: messages leave before the state they
        // promise is durable, so a crash can break a promise.
        let early = node.config().bugs.ack_before_fsync;
        self.disk
            .persist(persist, early)
            .map_err(ExitReason::Storage)
    }

    fn send(&mut self, messages: Vec<Message>) -> Result<(), ExitReason> {
        for msg in messages {
            *self.sent += 1;
            self.shared.send(msg, self.net_rng);
        }
        self.disk.sent().map_err(ExitReason::Storage)
    }

    fn answer(&mut self, waiter: ReplyTo, reply: Reply) {
        waiter.send(reply, self.wakes);
    }

    fn failed(&mut self, error: HostError) -> ExitReason {
        ExitReason::Corrupt(error.to_string())
    }

    fn compact(&mut self, snapshot: &Snapshot) -> Result<(), ExitReason> {
        self.disk.compact(snapshot).map_err(ExitReason::Storage)
    }

    fn may_compact(&self) -> bool {
        self.disk.may_compact()
    }

    fn applying(&mut self, entry: &Entry, _kv: &KvStore) -> Result<(), ExitReason> {
        if self.shared.observer.on() {
            self.shared.fact(&NodeFact::Applied {
                node: self.id,
                entry: EntryFact::of(entry),
            });
        }
        Ok(())
    }

    fn event(&mut self, node: &Node, event: Event) {
        if let Event::RoleChanged { role, .. } = &event
            && *role != Role::Leader
        {
            // The changes this node proposed as leader may never commit
            // now (its waiting writes the replica answers itself).
            change::answer_changes(self.id, node, self.changes, true);
        }
        if let Some(text) = event.text_of(self.id) {
            self.shared.event(Some(self.id), text);
        }
    }
}

/// Whether a connection that proved `identity` may carry frames of node
/// `id`: only node `id`'s own links may (a client holding the secret, or
/// another node, may not speak for it).
fn may_speak_for(identity: Identity, id: NodeId) -> bool {
    match identity {
        Identity::Node(n) => n == id,
        Identity::Open => true,
        Identity::Client => false,
    }
}
