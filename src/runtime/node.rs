//! The node thread: one Raft node, its state machine and its storage.
//!
//! The thread waits with `select!` on its control channel, its inbox, its
//! ticker and — with the TCP transport — the frames its listener received
//! (a paused node reads only its controls). Over TCP a client request
//! carries a [`Replier`] instead of a channel, so the answer goes back on
//! the client's connection; a frame that did not decode becomes an event.
//! In a multi-process cluster the thread also takes a peer's hello (see
//! `peers.rs`) and a client's membership change, which it proposes as the
//! leader and answers when it commits (`node_change.rs`). After each input —
//! or a batch of inbox items already waiting — it drains the node's
//! `Ready` and carries it out as the simulator's driver does: persist the
//! hard state, snapshot and log write, sync, send the messages, restore
//! the store from a received snapshot, apply the committed entries
//! (answering the client whose write it was), compact, answer confirmed
//! reads. Then it publishes its [`NodeView`] if anything changed. When the
//! thread ends (killed, or its storage failed) it hands its storage back.

use std::collections::BTreeMap;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, select};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::observe::{EntryFact, NodeFact};
use super::reply::{ReplySlot, Wakes};
use super::shared::Shared;
use super::storage::{NodeStorage, StorageError};
use super::view::{NodeView, log_tail};
use crate::kv::{Applied, ClientId, Command, KvStore, OpResult};
use crate::net::{
    ClientReply, ClientRequest, ClientResponse, Identity, NodeStatus, NoticeKind, Replier,
    TcpEvent, Wire,
};
use crate::raft::{
    Event, Index, LogWrite, Node, NodeId, Payload, RaftError, ReadId, ReadOutcome, ReadResult,
    Ready, Role, Tally, Term,
};

#[path = "node_change.rs"]
mod change;

/// Most `Ready`s drained after one input (a node should need one).
const MAX_READY_ROUNDS: usize = 8;
/// Largest command one write may carry (4 MiB): its entry, sent alone when
/// over the append budget, must still fit one TCP frame
/// ([`crate::net::DEFAULT_MAX_FRAME`], 16 MiB) with room to spare.
pub const MAX_COMMAND_BYTES: usize = 4 << 20;
/// Most inbox items taken before carrying out the `Ready` they produced.
const MAX_BATCH: usize = 64;

/// What arrives in a node's inbox.
pub(crate) enum NodeInput {
    /// A message from a peer.
    Message(crate::raft::Message),
    /// A client's write: its session, its seq and the encoded [`Command`]
    /// (encoded once by the client, not by the node on every attempt).
    Propose {
        client: ClientId,
        seq: u64,
        data: Payload,
        reply: ReplySlot,
    },
    /// A client's linearizable read.
    Read { key: String, reply: ReplySlot },
    /// A client's stale read of the local store.
    StaleRead { key: String, reply: ReplySlot },
    /// Several of the above, sent together (by a client pool's driver,
    /// one per node per turn): taken in order, as if sent one by one.
    Batch(Vec<NodeInput>),
}

/// A node's answer to a client request. (That a write was appended to
/// the leader's log is a flag on the reply slot, not an answer.)
#[derive(Debug)]
pub(crate) enum Reply {
    /// The operation's result.
    Done(OpResult),
    /// This node cannot serve it; try the leader named, if any.
    NotLeader(Option<NodeId>),
    /// Refused for another reason.
    Refused(String),
}

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
                let reply = match reply {
                    Reply::Done(result) => ClientReply::Ok(result),
                    Reply::NotLeader(leader) => ClientReply::NotLeader { leader },
                    Reply::Refused(e) => ClientReply::Error(e),
                };
                let response = ClientResponse::Op {
                    session,
                    seq,
                    reply,
                };
                let _ = replier.send(&Wire::Response(response));
            }
        }
    }
}

/// Controls for a node thread.
pub(crate) enum Control {
    Kill,
    Pause,
    Resume,
    Transfer {
        to: NodeId,
        reply: Sender<Result<(), RaftError>>,
    },
    /// Switch unsafe protocol variants (the dashboard's `bug` command).
    SetBugs(crate::raft::Bugs),
    /// Propose a membership change (on the leader).
    ConfChange {
        change: crate::raft::ConfChange,
        reply: Sender<Result<crate::raft::Index, RaftError>>,
    },
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

/// The receiving ends a node thread listens on; they outlive its thread.
#[derive(Clone)]
pub(crate) struct NodeChannels {
    pub(crate) inbox: Receiver<NodeInput>,
    pub(crate) ticker: Receiver<()>,
    pub(crate) control: Receiver<Control>,
    /// Frames from the node's TCP listener (`never()` on channels).
    pub(crate) net: Receiver<TcpEvent<Wire>>,
}

impl NodeChannels {
    /// Drops whatever a previous life left unread.
    pub(crate) fn drain(&self) {
        while self.inbox.try_recv().is_ok() {}
        while self.ticker.try_recv().is_ok() {}
        while self.control.try_recv().is_ok() {}
        while self.net.try_recv().is_ok() {}
    }
}

/// One live node.
pub(crate) struct NodeThread {
    id: NodeId,
    node: Node,
    kv: KvStore,
    storage: NodeStorage,
    shared: Arc<Shared>,
    net_rng: ChaCha8Rng,
    paused: bool,
    /// The write each client waits for here: (seq, where to answer).
    writes: BTreeMap<u64, (u64, ReplyTo)>,
    /// Reads given to Raft, by id: (key, where to answer).
    reads: BTreeMap<ReadId, (String, ReplyTo)>,
    /// Reads Raft confirmed, waiting for the store to apply their index.
    confirmed: Vec<(ReadId, Index)>,
    next_read: ReadId,
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
    proposals: Vec<(ClientId, u64, Payload, ReplyTo)>,
    /// Membership changes clients asked for over TCP, until they commit.
    changes: Vec<change::PendingChange>,
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
        NodeThread {
            id: node.id(),
            node,
            kv,
            storage,
            shared,
            net_rng: ChaCha8Rng::seed_from_u64(net_seed),
            paused: false,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            confirmed: Vec::new(),
            next_read: 1,
            sent: 0,
            received: 0,
            tail: (u64::MAX, 0, 0),
            last_view: None,
            last_fact: None,
            wakes: Wakes::default(),
            proposals: Vec::new(),
            changes: Vec::new(),
            remote,
            member: None,
        }
    }

    /// Runs until killed (or the storage fails); returns the storage.
    pub(crate) fn run(mut self, ch: &NodeChannels) -> NodeExit {
        let reason = loop {
            let carried = self.after_input();
            // One wake per waiting thread for everything answered above.
            self.wakes.flush();
            if let Err(reason) = carried {
                break reason;
            }
            self.answer_changes(false);
            self.note_membership();
            self.publish();
            if let Some(reason) = self.next_input(ch) {
                break reason;
            }
        };
        NodeExit {
            storage: self.storage,
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
            recv(ch.ticker) -> tick => {
                if tick.is_ok() {
                    let before = self.node.tally();
                    self.node.tick();
                    self.campaign_ended(before, None);
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
                let _ = reply.send(self.node.transfer_leader(to));
            }
            Control::SetBugs(bugs) => self.node.set_bugs(bugs),
            Control::ConfChange { change, reply } => {
                let _ = reply.send(self.node.propose_conf_change(change));
            }
        }
        None
    }

    fn input(&mut self, input: NodeInput) {
        if let NodeInput::Propose {
            client,
            seq,
            data,
            reply,
        } = input
        {
            let reply = ReplyTo::Local(reply);
            self.queue_write(client, seq, data, reply);
            return;
        }
        if let NodeInput::Batch(inputs) = input {
            for input in inputs {
                self.input(input);
            }
            return;
        }
        // Other inputs see the writes before them proposed, in order.
        self.propose_pending();
        match input {
            NodeInput::Message(msg) => self.message(msg),
            NodeInput::Propose { .. } | NodeInput::Batch(_) => {}
            NodeInput::Read { key, reply } => self.read(key, ReplyTo::Local(reply)),
            NodeInput::StaleRead { key, reply } => {
                let value = self.kv.get(&key).map(str::to_string);
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
                    if op.is_write() {
                        let command = Command {
                            client: session,
                            seq,
                            op,
                        };
                        let data = Payload::from(command.encode());
                        self.queue_write(session, seq, data, to);
                    } else {
                        self.read(op.key().to_string(), to);
                    }
                }
                Wire::Request(ClientRequest::Status) => {
                    let status = self.node.status();
                    let status = NodeStatus {
                        id: self.id,
                        role: status.role,
                        term: status.term,
                        leader: status.leader,
                        commit: status.commit,
                        applied: self.kv.applied_index(),
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

    fn message(&mut self, msg: crate::raft::Message) {
        self.received += 1;
        let before = self.node.tally();
        let answer = msg.vote_answer();
        self.node.step(msg);
        self.campaign_ended(before, answer);
    }

    /// Says how a campaign ended when the input just taken ended one
    /// without winning it (its tally is gone from the node after it).
    fn campaign_ended(&self, before: Option<Tally>, answer: Option<(NodeId, bool, bool)>) {
        let Some(before) = before else {
            return;
        };
        if let Some(text) = before.ended(answer, self.node.tally()) {
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
        self.proposals.push((client, seq, data, reply));
    }

    /// Proposes the writes taken so far, in the order they came.
    fn propose_pending(&mut self) {
        if self.proposals.is_empty() {
            return;
        }
        let proposals = std::mem::take(&mut self.proposals);
        let data = proposals.iter().map(|(_, _, d, _)| d.clone()).collect();
        match self.node.propose_batch(data) {
            Ok(_) => {
                for (client, seq, _, reply) in proposals {
                    reply.accept();
                    // A client has one operation open: a newer one
                    // replaces whatever it waited for before.
                    self.writes.insert(client, (seq, reply));
                }
            }
            Err(e) => {
                for (_, _, _, reply) in proposals {
                    let answer = match &e {
                        RaftError::NotLeader { leader } => Reply::NotLeader(*leader),
                        e => Reply::Refused(e.to_string()),
                    };
                    reply.send(answer, &mut self.wakes);
                }
            }
        }
    }

    fn read(&mut self, key: String, reply: ReplyTo) {
        let id = self.next_read;
        self.next_read += 1;
        self.reads.insert(id, (key, reply));
        self.node.read(id);
    }

    /// Drains and carries out the node's output.
    fn after_input(&mut self) -> Result<(), ExitReason> {
        for _ in 0..MAX_READY_ROUNDS {
            let ready = self.node.take_ready();
            if ready.is_empty() {
                break;
            }
            self.carry_out(ready)?;
            if !self.node.has_ready() {
                break;
            }
        }
        Ok(())
    }

    /// Persist, send, apply, answer — in that order.
    fn carry_out(&mut self, ready: Ready) -> Result<(), ExitReason> {
        let Ready {
            hard_state,
            snapshot,
            log,
            messages,
            committed,
            reads,
            events,
        } = ready;
        let persisted = hard_state.is_some() || snapshot.is_some() || log.is_some();
        // The `ack-before-fsync` bug: messages leave before the state they
        // promise is durable, so a crash can break a promise.
        let early = self.node.config().bugs.ack_before_fsync;
        let mut messages = Some(messages);
        if early {
            self.send_all(messages.take());
        }
        if self.shared.observer.on()
            && let Some(write) = &log
        {
            self.observe_write(write);
        }
        let storage = &mut self.storage;
        if let Some(hs) = hard_state {
            storage.save_hard_state(hs).map_err(ExitReason::Storage)?;
        }
        if let Some(snapshot) = &snapshot {
            storage
                .save_snapshot(snapshot)
                .and_then(|()| storage.compact(snapshot.meta))
                .map_err(ExitReason::Storage)?;
        }
        let mut synced = None;
        if let Some(write) = log {
            storage.append(&write).map_err(ExitReason::Storage)?;
            synced = write.last();
        }
        if persisted {
            storage.sync().map_err(ExitReason::Storage)?;
        }
        if let Some((index, term)) = synced {
            self.node.log_synced(index, term);
        }
        self.send_all(messages.take());
        if let Some(snapshot) = snapshot {
            self.kv =
                KvStore::restore(&snapshot.data).map_err(|e| ExitReason::Corrupt(e.to_string()))?;
        }
        let observed = self.shared.observer.on();
        for entry in &committed {
            if observed {
                self.shared.fact(&NodeFact::Applied {
                    node: self.id,
                    entry: EntryFact::of(entry),
                });
            }
            match self.kv.apply(entry) {
                Ok(Some(applied)) => self.on_applied(applied),
                Ok(None) => {}
                Err(e) => return Err(ExitReason::Corrupt(e.to_string())),
            }
        }
        self.maybe_compact()?;
        for read in reads {
            self.on_read_result(read);
        }
        self.answer_reads();
        for event in events {
            self.on_event(event);
        }
        Ok(())
    }

    fn send_all(&mut self, messages: Option<Vec<crate::raft::Message>>) {
        for msg in messages.into_iter().flatten() {
            self.sent += 1;
            self.shared.send(msg, &mut self.net_rng);
        }
    }

    /// Tells the live checker what a log write put where.
    fn observe_write(&self, write: &LogWrite) {
        let prev_term = self.node.log().term_at(write.from.saturating_sub(1));
        self.shared.fact(&NodeFact::Wrote {
            node: self.id,
            from: write.from,
            prev_term,
            entries: write.entries.iter().map(EntryFact::of).collect(),
        });
    }

    /// Compacts the log by the same rule as the simulator.
    fn maybe_compact(&mut self) -> Result<(), ExitReason> {
        let threshold = self.shared.snapshot_threshold;
        let Some(snapshot) = self.kv.compaction_snapshot(self.node.log(), threshold) else {
            return Ok(());
        };
        let storage = &mut self.storage;
        storage
            .save_snapshot(&snapshot)
            .and_then(|()| storage.compact(snapshot.meta))
            .map_err(ExitReason::Storage)?;
        storage.sync().map_err(ExitReason::Storage)?;
        self.node
            .compact(snapshot)
            .map_err(|e| ExitReason::Corrupt(e.to_string()))
    }

    /// A command was applied: answer the client waiting here for it.
    fn on_applied(&mut self, applied: Applied) {
        let waiting = self
            .writes
            .get(&applied.client)
            .is_some_and(|(seq, _)| *seq == applied.seq);
        if waiting && let Some((_, reply)) = self.writes.remove(&applied.client) {
            reply.send(Reply::Done(applied.result), &mut self.wakes);
        }
    }

    /// Raft's answer to a read: wait for the index to apply, or redirect.
    fn on_read_result(&mut self, read: ReadResult) {
        match read.outcome {
            ReadOutcome::Ready { index } => self.confirmed.push((read.id, index)),
            ReadOutcome::NotLeader { leader } => {
                if let Some((_, reply)) = self.reads.remove(&read.id) {
                    reply.send(Reply::NotLeader(leader), &mut self.wakes);
                }
            }
        }
    }

    /// Answers the confirmed reads whose index the store has applied.
    fn answer_reads(&mut self) {
        if self.confirmed.is_empty() {
            return;
        }
        let applied = self.kv.applied_index();
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .confirmed
            .drain(..)
            .partition(|&(_, index)| index <= applied);
        self.confirmed = waiting;
        for (id, _) in ready {
            if let Some((key, reply)) = self.reads.remove(&id) {
                let value = self.kv.get(&key).map(str::to_string);
                reply.send(Reply::Done(OpResult::Value(value)), &mut self.wakes);
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        if let Event::RoleChanged { role, .. } = &event
            && *role != Role::Leader
        {
            // Writes waiting here may never apply now; their clients
            // retry at the new leader with the same session, so a write
            // that does apply applies once.
            self.answer_changes(true);
            let leader = self.node.leader();
            for (_, (_, reply)) in std::mem::take(&mut self.writes) {
                reply.send(Reply::NotLeader(leader), &mut self.wakes);
            }
        }
        let Some(text) = event.text_of(self.id) else {
            return;
        };
        self.event(text);
    }

    fn event(&self, text: String) {
        self.shared.event(Some(self.id), text);
    }

    /// Publishes the node's view if it changed, with the log's last
    /// entries when its tail moved (the hub renders them when read).
    fn publish(&mut self) {
        let status = self.node.status();
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
        let mut view = NodeView::running(&status, self.node.tally(), self.kv.applied_index(), log);
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
            log_tail(self.node.log().entries(), self.shared.log_window)
        });
        self.shared.view.publish_running(&view, entries);
        self.last_view = Some(view);
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
