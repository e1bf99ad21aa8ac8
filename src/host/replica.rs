//! [`Replica`]: a raft node with its state machine, the clients waiting on
//! it and the compaction rule, and how one `Ready` is carried out.
//!
//! The order of the steps is Raft's, and it lives only here:
//!
//! 1. **persist** the hard state, a received snapshot and the log write
//!    ([`Io::persist`]); a driver that syncs in the background answers
//!    [`Synced::Later`] and reports back with [`Replica::synced`];
//! 2. **send** the messages — only once what they promise is durable, so
//!    while a persist is unsynced they wait here, in order; a leader's
//!    appends, heartbeats and snapshot chunks promise nothing about its
//!    own disk ([`Message::waits_for_persist`]) and leave at once;
//! 3. **restore** the store from a received snapshot;
//! 4. **apply** the committed entries, answering the client whose write
//!    each one was (if that client waits at this replica);
//! 5. **compact** the log once the store has applied enough past the last
//!    snapshot: the driver makes the snapshot durable first
//!    ([`Io::compact`]), then the node forgets the entries it covers;
//! 6. **answer reads** Raft confirmed, once the store has applied the
//!    index each one waits for;
//! 7. hand the node's **events** to the driver.
//!
//! Once a log write is synced the node hears of it (`Node::log_synced`):
//! a leader counts its own log toward commit only that far, so a driver
//! may sync in the background while the appends are already on their way
//! to the followers. Applying does not wait for the local sync: a
//! committed entry is durable on a quorum already, and the store is
//! volatile.

use std::collections::{BTreeMap, VecDeque};

use crate::kv::{Applied, ClientId, KvError, KvStore, OpResult};
use crate::raft::{
    Entry, Event, HardState, Index, LogWrite, Message, Node, NodeId, Payload, RaftError, ReadId,
    ReadOutcome, ReadResult, Ready, Role, Snapshot, Term,
};

/// Most `Ready`s drained after one input (a node should need one).
pub const MAX_READY_ROUNDS: usize = 8;

/// The rules a driver chooses for its replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Compact the log once the store has applied this many entries past
    /// the last snapshot (0: never).
    pub snapshot_threshold: u64,
    /// When the node stops leading, answer the writes waiting here
    /// `NotLeader` at once, so their clients retry elsewhere without
    /// waiting for their attempt to time out. The live cluster does; the
    /// simulator's clients wait for their timeout (its pinned runs were
    /// recorded that way).
    pub release_writes_on_step_down: bool,
}

/// A replica's answer to a client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The operation's result.
    Done(OpResult),
    /// The operation's result, served by the leader named (live only: the
    /// follower asked forwarded the request to it), so the client may go
    /// straight to that leader next time.
    Relayed(OpResult, NodeId),
    /// This node cannot serve it; try the leader named, if any.
    NotLeader(Option<NodeId>),
    /// Refused for another reason.
    Refused(String),
}

impl Reply {
    /// What a client is told when Raft refuses its request with `e`.
    pub fn refusal(e: &RaftError) -> Reply {
        match e {
            RaftError::NotLeader { leader } => Reply::NotLeader(*leader),
            e => Reply::Refused(e.to_string()),
        }
    }
}

/// A client's write, to propose: its session, its sequence number, the
/// encoded command, and whom to answer when it applies.
pub struct Write<W> {
    /// The client's session id in the store.
    pub client: ClientId,
    /// The operation's sequence number in that session.
    pub seq: u64,
    /// The encoded [`Command`](crate::kv::Command).
    pub data: Payload,
    /// Whom to answer.
    pub waiter: W,
}

/// Why a replica cannot go on: its state machine refused what Raft gave it.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A received snapshot does not restore.
    #[error("{0}")]
    Restore(KvError),
    /// A committed entry does not apply.
    #[error("{0}")]
    Apply(KvError),
    /// The node refused the compaction snapshot.
    #[error("{0}")]
    Compact(RaftError),
}

/// Names one [`Persist`], in the order they were handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SyncToken(u64);

/// What a `Ready` asks the disk to keep before its messages may leave.
pub struct Persist<'a> {
    /// Term and vote, when they changed.
    pub hard_state: Option<HardState>,
    /// A snapshot received from the leader, which also compacts the log.
    pub snapshot: Option<&'a Snapshot>,
    /// The log write.
    pub log: Option<LogWrite>,
    /// What to hand [`Replica::synced`] when this is durable (with
    /// [`Synced::Later`]).
    pub token: SyncToken,
}

/// Whether a persist was durable when [`Io::persist`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synced {
    /// Written and synced.
    Now,
    /// Handed on; the driver calls [`Replica::synced`] when it is durable.
    Later,
}

/// Everything a replica asks of its driver. The required methods are the
/// IO; the others are places a driver may watch (the simulator checks its
/// invariants there) and do nothing by default.
pub trait Io<W> {
    /// Why a carry-out ends early: the storage failed, the node crashed
    /// (in the simulator), a check found a violation.
    type Stop;

    /// Writes what `persist` holds, and syncs it or hands it on to be synced.
    fn persist(&mut self, node: &Node, persist: Persist<'_>) -> Result<Synced, Self::Stop>;

    /// Sends messages whose state is durable (called once per `Ready`,
    /// even with none).
    fn send(&mut self, messages: Vec<Message>) -> Result<(), Self::Stop>;

    /// Answers a waiting client.
    fn answer(&mut self, waiter: W, reply: Reply);

    /// The state machine refused what Raft gave it.
    fn failed(&mut self, error: HostError) -> Self::Stop;

    /// Makes `snapshot` durable and compacts the stored log under it —
    /// or hands that on, to be done in order with the writes before and
    /// after it; the node forgets those entries (in memory) once this
    /// returns `Ok`.
    fn compact(&mut self, snapshot: &Snapshot) -> Result<(), Self::Stop>;

    /// Whether a compaction may start now. A driver whose previous one is
    /// still being written says no, and the store compacts at a later
    /// carry-out, further past the threshold: under load, compactions
    /// then cost the disk less often. Yes by default.
    fn may_compact(&self) -> bool {
        true
    }

    /// The store was restored from a received snapshot.
    fn restored(&mut self, _kv: &KvStore) -> Result<(), Self::Stop> {
        Ok(())
    }

    /// Committed entries are about to apply (`node` knows the new commit).
    fn committing(&mut self, _node: &Node) -> Result<(), Self::Stop> {
        Ok(())
    }

    /// `entry` is about to apply to `kv`.
    fn applying(&mut self, _entry: &Entry, _kv: &KvStore) -> Result<(), Self::Stop> {
        Ok(())
    }

    /// `entry` applied to `kv`, with this outcome for its client.
    fn applied(
        &mut self,
        _entry: &Entry,
        _kv: &KvStore,
        _applied: Option<&Applied>,
    ) -> Result<(), Self::Stop> {
        Ok(())
    }

    /// The node compacted its log up to `index`.
    fn compacted(&mut self, _index: Index) {}

    /// One of the node's events, for observers.
    fn event(&mut self, _node: &Node, _event: Event) {}
}

/// Writes waiting for their entries to apply, taken from one replica to
/// be adopted by another (see [`Replica::take_writes`]).
pub struct WaitingWrites<W>(BTreeMap<ClientId, (u64, W)>);

impl<W> Default for WaitingWrites<W> {
    fn default() -> WaitingWrites<W> {
        WaitingWrites(BTreeMap::new())
    }
}

/// A raft node, its store, and the clients waiting on it. See the
/// [module docs](self).
pub struct Replica<W> {
    node: Node,
    kv: KvStore,
    config: HostConfig,
    /// The write each client waits for here: (seq, whom to answer). A
    /// client has one operation open, so a newer one replaces an older.
    writes: BTreeMap<ClientId, (u64, W)>,
    /// Reads given to Raft, by id: (key, whom to answer).
    reads: BTreeMap<ReadId, (String, W)>,
    /// Reads Raft confirmed, waiting for the store to apply their index.
    confirmed: Vec<(ReadId, Index)>,
    next_read: ReadId,
    next_token: u64,
    /// Persists not yet synced, oldest first, with the messages that wait
    /// for them. Empty unless a driver answered `Synced::Later`.
    outbox: VecDeque<Unsynced>,
}

/// A persist handed on with [`Synced::Later`], and what waits for it.
struct Unsynced {
    token: SyncToken,
    /// Its log write's last entry, reported to the node once synced.
    last: Option<(Index, Term)>,
    /// Messages that may leave once it is synced.
    messages: Vec<Message>,
}

impl<W> Replica<W> {
    /// A replica of `node` whose store holds `kv` (empty, or restored
    /// from the node's durable snapshot).
    pub fn new(node: Node, kv: KvStore, config: HostConfig) -> Replica<W> {
        Replica {
            node,
            kv,
            config,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            confirmed: Vec::new(),
            next_read: 1,
            next_token: 0,
            outbox: VecDeque::new(),
        }
    }

    /// The raft node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The raft node, to give it an input.
    pub fn node_mut(&mut self) -> &mut Node {
        &mut self.node
    }

    /// The state machine, as of what it applied.
    pub fn kv(&self) -> &KvStore {
        &self.kv
    }

    /// Proposes `writes` together (one append to the followers for the
    /// lot); on the leader each waits here for its entry to apply, and
    /// `accepted` is told of each. Otherwise none is appended, and the
    /// waiters come back with Raft's refusal.
    pub fn propose(
        &mut self,
        writes: Vec<Write<W>>,
        mut accepted: impl FnMut(&W),
    ) -> Result<Index, (RaftError, Vec<W>)> {
        let data = writes.iter().map(|w| w.data.clone()).collect();
        match self.node.propose_batch(data) {
            Ok(index) => {
                for write in writes {
                    accepted(&write.waiter);
                    self.writes.insert(write.client, (write.seq, write.waiter));
                }
                Ok(index)
            }
            Err(e) => Err((e, writes.into_iter().map(|w| w.waiter).collect())),
        }
    }

    /// Takes the writes waiting here, to hand to a later life of the same
    /// node ([`Replica::adopt_writes`]).
    pub fn take_writes(&mut self) -> WaitingWrites<W> {
        WaitingWrites(std::mem::take(&mut self.writes))
    }

    /// Waits for `writes` too, as if they had been proposed here.
    pub fn adopt_writes(&mut self, writes: WaitingWrites<W>) {
        self.writes.extend(writes.0);
    }

    /// Asks Raft for a linearizable read of `key`, answered to `waiter`
    /// once confirmed and applied. Returns the read's id.
    pub fn read(&mut self, key: String, waiter: W) -> ReadId {
        let id = self.next_read;
        self.next_read += 1;
        self.reads.insert(id, (key, waiter));
        self.node.read(id);
        id
    }

    /// Drains the node's output and carries it out through `io` (see the
    /// [module docs](self) for the order).
    pub fn carry_out<I: Io<W>>(&mut self, io: &mut I) -> Result<(), I::Stop> {
        for _ in 0..MAX_READY_ROUNDS {
            let ready = self.node.take_ready();
            if ready.is_empty() {
                break;
            }
            self.carry_out_one(ready, io)?;
            if !self.node.has_ready() {
                break;
            }
        }
        Ok(())
    }

    /// Everything persisted with `token` or before it is durable: sends the
    /// messages that waited for it.
    pub fn synced<I: Io<W>>(&mut self, token: SyncToken, io: &mut I) -> Result<(), I::Stop> {
        while self.outbox.front().is_some_and(|u| u.token <= token) {
            if let Some(unsynced) = self.outbox.pop_front() {
                self.log_synced(unsynced.last);
                io.send(unsynced.messages)?;
            }
        }
        Ok(())
    }

    /// Tells the node its log is durable up to `last` (index and term of
    /// a write's last entry): a leader counts its own log toward commit
    /// only that far.
    fn log_synced(&mut self, last: Option<(Index, Term)>) {
        if let Some((index, term)) = last {
            self.node.log_synced(index, term);
        }
    }

    fn carry_out_one<I: Io<W>>(&mut self, ready: Ready, io: &mut I) -> Result<(), I::Stop> {
        let Ready {
            hard_state,
            snapshot,
            log,
            messages,
            committed,
            reads,
            events,
        } = ready;
        let persist = hard_state.is_some() || snapshot.is_some() || log.is_some();
        if persist {
            self.next_token += 1;
            let token = SyncToken(self.next_token);
            let last = log.as_ref().and_then(LogWrite::last);
            let persist = Persist {
                hard_state,
                snapshot: snapshot.as_ref(),
                log,
                token,
            };
            match io.persist(&self.node, persist)? {
                Synced::Now => self.log_synced(last),
                Synced::Later => self.outbox.push_back(Unsynced {
                    token,
                    last,
                    messages: Vec::new(),
                }),
            }
        }
        match self.outbox.back_mut() {
            // Behind a persist not yet synced: these wait with it (a later
            // message may rest on the earlier state too) — but for a
            // leader's replication traffic, which promises nothing about
            // its own disk and leaves at once, so the followers write
            // while the leader does (Raft thesis §10.2.1).
            Some(unsynced) => {
                let (now, later): (Vec<_>, Vec<_>) =
                    messages.into_iter().partition(|m| !m.waits_for_persist());
                unsynced.messages.extend(later);
                io.send(now)?;
            }
            None => io.send(messages)?,
        }
        if let Some(snapshot) = snapshot {
            self.kv =
                KvStore::restore(&snapshot.data).map_err(|e| io.failed(HostError::Restore(e)))?;
            io.restored(&self.kv)?;
        }
        self.apply(&committed, io)?;
        self.maybe_compact(io)?;
        self.take_reads(reads, io);
        self.answer_reads(io);
        for event in events {
            self.event(event, io);
        }
        Ok(())
    }

    /// Applies committed entries, answering the client waiting for each.
    fn apply<I: Io<W>>(&mut self, committed: &[Entry], io: &mut I) -> Result<(), I::Stop> {
        if committed.is_empty() {
            return Ok(());
        }
        io.committing(&self.node)?;
        for entry in committed {
            io.applying(entry, &self.kv)?;
            let applied = self
                .kv
                .apply(entry)
                .map_err(|e| io.failed(HostError::Apply(e)))?;
            io.applied(entry, &self.kv, applied.as_ref())?;
            if let Some(applied) = applied {
                self.answer_write(applied, io);
            }
        }
        Ok(())
    }

    /// A command applied: answer its client if it waits here for it.
    fn answer_write<I: Io<W>>(&mut self, applied: Applied, io: &mut I) {
        let waiting = self
            .writes
            .get(&applied.client)
            .is_some_and(|(seq, _)| *seq == applied.seq);
        if waiting && let Some((_, waiter)) = self.writes.remove(&applied.client) {
            io.answer(waiter, Reply::Done(applied.result));
        }
    }

    /// Compacts the log once the store applied `snapshot_threshold`
    /// entries past the last snapshot: durable snapshot first, then the
    /// node forgets what it covers.
    fn maybe_compact<I: Io<W>>(&mut self, io: &mut I) -> Result<(), I::Stop> {
        let threshold = self.config.snapshot_threshold;
        if !io.may_compact() {
            return Ok(());
        }
        let Some(snapshot) = self.kv.compaction_snapshot(self.node.log(), threshold) else {
            return Ok(());
        };
        let index = snapshot.meta.index;
        io.compact(&snapshot)?;
        self.node
            .compact(snapshot)
            .map_err(|e| io.failed(HostError::Compact(e)))?;
        io.compacted(index);
        Ok(())
    }

    /// Raft's answers to reads: wait for the index to apply, or redirect.
    fn take_reads<I: Io<W>>(&mut self, reads: Vec<ReadResult>, io: &mut I) {
        for read in reads {
            match read.outcome {
                ReadOutcome::Ready { index } => self.confirmed.push((read.id, index)),
                ReadOutcome::NotLeader { leader } => {
                    if let Some((_, waiter)) = self.reads.remove(&read.id) {
                        io.answer(waiter, Reply::NotLeader(leader));
                    }
                }
            }
        }
    }

    /// Answers the confirmed reads whose index the store has applied.
    fn answer_reads<I: Io<W>>(&mut self, io: &mut I) {
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
            if let Some((key, waiter)) = self.reads.remove(&id) {
                let value = self.kv.get(&key).map(str::to_string);
                io.answer(waiter, Reply::Done(OpResult::Value(value)));
            }
        }
    }

    fn event<I: Io<W>>(&mut self, event: Event, io: &mut I) {
        let stepped_down =
            matches!(&event, Event::RoleChanged { role, .. } if *role != Role::Leader);
        io.event(&self.node, event);
        if stepped_down && self.config.release_writes_on_step_down {
            // Writes waiting here may never apply now; their clients retry
            // at the new leader with the same session, so a write that does
            // apply applies once.
            let leader = self.node.leader();
            for (_, (_, waiter)) in std::mem::take(&mut self.writes) {
                io.answer(waiter, Reply::NotLeader(leader));
            }
        }
    }
}

#[cfg(test)]
mod tests;
