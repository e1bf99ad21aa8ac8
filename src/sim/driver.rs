//! The event loop, and how a node's output is carried out.
//!
//! After every input to a node (tick, message, proposal, read, transfer)
//! the driver drains the node's `Ready` and carries it out in the order the
//! Raft core requires: persist the hard state and the log write into the
//! durable store, then send the messages through the fabric, then apply the
//! committed entries to the state machine (completing clients' writes),
//! then answer confirmed reads. The invariant checks run on each of those
//! steps and once more on the node's state after the input.

use super::Sim;
use super::checker::Violation;
use super::clients::SimWaiter;
use super::events::{Event as SimEvent, Note};
use super::faults::CrashPoint;
use crate::check::{Breach, Invariant, hash_bytes};
use crate::host::{HostError, Io, Persist, Replica, Reply, Synced};
use crate::kv::{Applied, KvStore};
use crate::raft::{
    Entry, EntryData, Event, Index, LogWrite, Message, Node, NodeId, Role, Snapshot,
};
use crate::storage::{LogStorage, StateStorage, StorageError};

impl Sim {
    /// Runs the sim for `us` microseconds of virtual time.
    pub fn run_for(&mut self, us: u64) -> Result<(), Violation> {
        self.stopped()?;
        let end = self.now.saturating_add(us);
        while self.queue.peek_time().is_some_and(|t| t <= end) {
            self.step_event()?;
        }
        self.now = end;
        Ok(())
    }

    /// Runs the sim until `cond` holds (checked before and after each
    /// event) or `limit_us` microseconds of virtual time have passed from
    /// now. Returns whether `cond` held.
    pub fn run_until(
        &mut self,
        limit_us: u64,
        mut cond: impl FnMut(&Sim) -> bool,
    ) -> Result<bool, Violation> {
        self.stopped()?;
        if cond(self) {
            return Ok(true);
        }
        let end = self.now.saturating_add(limit_us);
        while self.queue.peek_time().is_some_and(|t| t <= end) {
            self.step_event()?;
            if cond(self) {
                return Ok(true);
            }
        }
        self.now = end;
        Ok(false)
    }

    /// The run's violation, if it already hit one.
    pub(super) fn stopped(&self) -> Result<(), Violation> {
        match &self.violation {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        }
    }

    /// Processes the earliest event, then shows the simulation to its
    /// step watcher (`Sim::on_step`), if any.
    pub(super) fn step_event(&mut self) -> Result<(), Violation> {
        let result = self.process_event();
        self.after_step();
        result
    }

    /// Processes the earliest event.
    fn process_event(&mut self) -> Result<(), Violation> {
        let Some((time, event)) = self.queue.pop() else {
            return Ok(());
        };
        self.now = time;
        self.stats.events += 1;
        self.trace.add(time);
        match event {
            SimEvent::Tick(id) => {
                self.trace.add(1 | (id << 8));
                self.queue
                    .push(time + self.opts.tick_us, SimEvent::Tick(id));
                if self.is_up(id) {
                    self.stats.ticks += 1;
                    if self.opts.bugs.ack_before_fsync
                        && let Err(e) = self.sync_disk(id)
                    {
                        self.disk_failure(id, e);
                        return Ok(());
                    }
                    self.drive(id, |r| r.node_mut().tick())?;
                }
            }
            SimEvent::Deliver { msg, incarnation } => self.deliver(msg, incarnation)?,
            SimEvent::Fault(step) => {
                self.trace.add(3 | (step.code() << 8));
                self.fault_step(step)?;
            }
            SimEvent::Client { client, generation } => {
                self.trace.add(4 | ((client as u64) << 8));
                self.client_timer(client, generation)?;
            }
        }
        Ok(())
    }

    fn deliver(&mut self, msg: Message, incarnation: u64) -> Result<(), Violation> {
        let (from, to, term, kind) = (msg.from, msg.to, msg.term, msg.body.name());
        self.trace.add(2 | (from << 8) | (to << 16));
        self.trace.add(term);
        self.trace.add(hash_bytes(kind.as_bytes()));
        let live = self
            .slot(to)
            .is_some_and(|s| s.replica.is_some() && s.incarnation == incarnation);
        if !live {
            self.stats.messages_dropped += 1;
            self.note(Note::Drop { from, to, kind });
            return Ok(());
        }
        self.stats.messages_delivered += 1;
        if let Some(t) = self.traffic.get_mut((to as usize).wrapping_sub(1)) {
            t.1 += 1;
        }
        self.note(Note::Deliver {
            from,
            to,
            term,
            kind,
        });
        let answer = msg.vote_answer();
        self.drive_answer(to, answer, |r| r.node_mut().step(msg))?;
        Ok(())
    }

    /// Gives node `id`'s replica one input, then carries out and checks its
    /// output. `None` when the node is down.
    pub(super) fn drive<R>(
        &mut self,
        id: NodeId,
        input: impl FnOnce(&mut Replica<SimWaiter>) -> R,
    ) -> Result<Option<R>, Violation> {
        self.drive_answer(id, None, input)
    }

    /// [`Sim::drive`] for an input that may carry a vote `answer` (from,
    /// pre-vote, granted): when observing, a campaign the input ends
    /// without a win is told with its tally, before the input's events.
    fn drive_answer<R>(
        &mut self,
        id: NodeId,
        answer: Option<(NodeId, bool, bool)>,
        input: impl FnOnce(&mut Replica<SimWaiter>) -> R,
    ) -> Result<Option<R>, Violation> {
        let observed = self.observed.is_some();
        let Some(replica) = self.slot_mut(id).and_then(|s| s.replica.as_mut()) else {
            return Ok(None);
        };
        let was_leader = replica.node().role() == Role::Leader;
        let term_before = replica.node().term();
        let tally = if observed {
            replica.node().tally()
        } else {
            None
        };
        let result = input(replica);
        let ended = tally.and_then(|t| t.ended(answer, replica.node().tally()));
        if let Some(text) = ended {
            self.observe_text(id, text);
        }
        self.after_input(id, was_leader && node_term(self, id) == term_before)?;
        Ok(Some(result))
    }

    /// Carries out node `id`'s output through its replica, then checks the
    /// node. `leader_before`: it was leader in its current term before the
    /// input.
    pub(super) fn after_input(&mut self, id: NodeId, leader_before: bool) -> Result<(), Violation> {
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        let incarnation = slot.incarnation;
        let Some(mut replica) = slot.replica.take() else {
            return Ok(());
        };
        let mut io = SimIo {
            sim: self,
            id,
            leader_before,
            crash_point: None,
        };
        let carried = replica.carry_out(&mut io);
        // A crash on the way lost the replica (but for the writes waiting
        // there: see `NodeSlot::orphaned_writes`); otherwise it goes back.
        if let Some(slot) = self.slot_mut(id) {
            if slot.incarnation == incarnation {
                slot.replica = Some(replica);
            } else {
                slot.orphaned_writes = replica.take_writes();
            }
        }
        match carried {
            Ok(()) => {}
            Err(SimStop::Crashed) => return Ok(()),
            Err(SimStop::Violation(v)) => return Err(v),
        }
        let Some(node) = (id as usize)
            .checked_sub(1)
            .and_then(|i| self.nodes.get(i))
            .and_then(|s| s.replica.as_ref())
            .map(Replica::node)
        else {
            return Ok(());
        };
        let (role, term, commit, last) = (
            node.role(),
            node.term(),
            node.commit_index(),
            node.log().last_index(),
        );
        let checked = self.checker.after_input(id, node);
        checked.map_err(|b| self.breach(b))?;
        self.stats.commits = self.checker.committed_len();
        self.trace.add(term);
        self.trace.add(role as u64 | (commit << 2));
        self.trace.add(last);
        if role == Role::Leader && !leader_before {
            self.stats.elections += 1;
            if self.last_leader.is_some_and(|l| l != id) {
                self.stats.leader_changes += 1;
            }
            self.last_leader = Some(id);
        }
        Ok(())
    }

    /// Hands a message to the fabric; each copy that survives is scheduled.
    fn send(&mut self, msg: Message) {
        self.stats.messages_sent += 1;
        let (from, to, kind) = (msg.from, msg.to, msg.body.name());
        if let Some(t) = self.traffic.get_mut((from as usize).wrapping_sub(1)) {
            t.0 += 1;
        }
        let Some(incarnation) = self
            .slot(to)
            .filter(|s| s.replica.is_some())
            .map(|s| s.incarnation)
        else {
            self.stats.messages_dropped += 1;
            self.observe_send(&msg, None);
            self.note(Note::Drop { from, to, kind });
            return;
        };
        let mut delays = self.fabric.decide(from, to, &mut self.net_rng);
        if self.held.is_on() && !delays.is_empty() {
            self.hold_sent(msg, &delays, incarnation);
            return;
        }
        self.observe_send(&msg, Some(&delays));
        match delays.len() {
            0 => {
                self.stats.messages_dropped += 1;
                self.note(Note::Drop { from, to, kind });
            }
            1 => {}
            _ => self.stats.messages_duplicated += 1,
        }
        let last = delays.pop();
        for delay in delays {
            let copy = SimEvent::Deliver {
                msg: msg.clone(),
                incarnation,
            };
            self.queue.push(self.now + delay, copy);
        }
        if let Some(delay) = last {
            self.queue
                .push(self.now + delay, SimEvent::Deliver { msg, incarnation });
        }
    }
}

fn node_term(sim: &Sim, id: NodeId) -> u64 {
    sim.node(id).map_or(0, Node::term)
}

/// Why a carry-out in the simulator ended early.
enum SimStop {
    /// The node crashed on the way (a crash point, churn, a disk error).
    Crashed,
    /// A check failed; the run stops.
    Violation(Violation),
}

/// The simulator's side of a replica's carry-out: its disk with crash
/// semantics, its crash points, its fabric, its clients and the checks
/// run between the steps.
struct SimIo<'a> {
    sim: &'a mut Sim,
    id: NodeId,
    /// The node led in its current term before the input.
    leader_before: bool,
    /// Where this `Ready` meets a crash point, rolled when it persists.
    crash_point: Option<CrashPoint>,
}

impl SimIo<'_> {
    fn breach(&mut self, breach: Breach) -> SimStop {
        SimStop::Violation(self.sim.breach(breach))
    }

    fn crash_at(&mut self, point: CrashPoint) -> SimStop {
        self.sim.crash_at_point(self.id, point);
        SimStop::Crashed
    }

    fn disk_failure(&mut self, e: StorageError) -> SimStop {
        self.sim.disk_failure(self.id, e);
        SimStop::Crashed
    }

    /// Lands a log write on the durable model, checking it first (leader
    /// append-only, nothing committed lost) and after (log matching).
    fn land_write(&mut self, node: &Node, write: LogWrite) -> Result<(), SimStop> {
        let (id, leader_before) = (self.id, self.leader_before);
        let leader_after = node.role() == Role::Leader;
        let sim = &mut *self.sim;
        let Some(slot) = (id as usize)
            .checked_sub(1)
            .and_then(|i| sim.nodes.get_mut(i))
        else {
            return Ok(());
        };
        if !slot.durable.fits(&write) {
            let details = format!(
                "n{id} log write from {} with indexes {:?} onto a log of {}..={}",
                write.from,
                write.entries.iter().map(|e| e.index).collect::<Vec<_>>(),
                slot.durable.first_index(),
                slot.durable.last_index()
            );
            return Err(self.breach((Invariant::LogWritesContiguous, details)));
        }
        let checked =
            sim.checker
                .before_log_write(id, leader_before, leader_after, &slot.durable, &write);
        if let Err(b) = checked {
            return Err(self.breach(b));
        }
        let from = write.from;
        slot.durable.apply_write(write);
        let checked = sim.checker.after_log_write(id, &slot.durable, from);
        checked.map_err(|b| self.breach(b))
    }
}

impl Io<SimWaiter> for SimIo<'_> {
    type Stop = SimStop;

    /// The disk first: write, then sync before anything leaves (the
    /// ack-before-fsync bug syncs at the node's next tick instead); the
    /// durable model and its checks follow; crash points and churn may
    /// strike on the way.
    fn persist(&mut self, node: &Node, persist: Persist<'_>) -> Result<Synced, SimStop> {
        let id = self.id;
        let Persist {
            hard_state,
            snapshot,
            log,
            ..
        } = persist;
        let voted = hard_state.is_some_and(|hs| hs.vote.is_some_and(|v| v != id));
        self.crash_point = self.sim.roll_crash_point(voted);
        let written = self
            .sim
            .write_to_disk(id, hard_state, snapshot, log.as_ref());
        written.map_err(|e| self.disk_failure(e))?;
        if self.crash_point == Some(CrashPoint::DuringWrite) {
            return Err(self.crash_at(CrashPoint::DuringWrite));
        }
        if !self.sim.opts.bugs.ack_before_fsync {
            self.sim.sync_disk(id).map_err(|e| self.disk_failure(e))?;
        }
        if let Some(slot) = self.sim.slot_mut(id) {
            if let Some(hs) = hard_state {
                slot.durable.hard_state = hs;
            }
            if let Some(snapshot) = snapshot {
                slot.durable.install_snapshot(snapshot.clone());
            }
        }
        let appended_command = node.role() == Role::Leader
            && log.as_ref().is_some_and(|w| {
                w.entries
                    .iter()
                    .any(|e| matches!(e.data, EntryData::Command(_)))
            });
        if let Some(write) = log {
            self.land_write(node, write)?;
        }
        if self.sim.churn_strikes(id, appended_command) {
            return Err(SimStop::Crashed);
        }
        if self.crash_point == Some(CrashPoint::BeforeSend) {
            return Err(self.crash_at(CrashPoint::BeforeSend));
        }
        Ok(Synced::Now)
    }

    fn send(&mut self, messages: Vec<Message>) -> Result<(), SimStop> {
        for msg in messages {
            self.sim.send(msg);
        }
        if self.crash_point.take() == Some(CrashPoint::AfterSend) {
            return Err(self.crash_at(CrashPoint::AfterSend));
        }
        Ok(())
    }

    fn answer(&mut self, waiter: SimWaiter, reply: Reply) {
        self.sim.client_answer(self.id, waiter, reply);
    }

    fn failed(&mut self, error: HostError) -> SimStop {
        let id = self.id;
        let breach = match error {
            HostError::Restore(e) => (
                Invariant::SnapshotsRestore,
                format!("n{id} cannot restore its snapshot: {e}"),
            ),
            HostError::Apply(e) => (Invariant::CommandsDecode, e.to_string()),
            HostError::Compact(e) => (Invariant::Compaction, format!("n{id}: {e}")),
        };
        self.breach(breach)
    }

    /// The snapshot is durable before the log forgets what it covers; a
    /// crash point may fall between the two.
    fn compact(&mut self, snapshot: &Snapshot) -> Result<(), SimStop> {
        let id = self.id;
        let Some(slot) = self.sim.slot_mut(id) else {
            return Ok(());
        };
        let saved = slot.storage.save_snapshot(snapshot);
        saved.map_err(|e| self.disk_failure(e))?;
        if self.sim.roll_compaction_crash() {
            return Err(self.crash_at(CrashPoint::Compacting));
        }
        let Some(slot) = self.sim.slot_mut(id) else {
            return Ok(());
        };
        let compacted = slot.storage.compact(snapshot.meta);
        compacted.map_err(|e| self.disk_failure(e))?;
        if let Some(slot) = self.sim.slot_mut(id) {
            slot.durable.install_snapshot(snapshot.clone());
        }
        Ok(())
    }

    fn restored(&mut self, kv: &KvStore) -> Result<(), SimStop> {
        let checked = self.sim.checker.restore(self.id, kv);
        checked.map_err(|b| self.breach(b))?;
        self.sim.stats.snapshots_installed += 1;
        Ok(())
    }

    fn committing(&mut self, node: &Node) -> Result<(), SimStop> {
        let checked = self.sim.checker.observe_commit(self.id, node);
        checked.map_err(|b| self.breach(b))
    }

    fn applying(&mut self, entry: &Entry, kv: &KvStore) -> Result<(), SimStop> {
        let checked = self.sim.checker.before_apply(self.id, entry, kv);
        checked.map_err(|b| self.breach(b))
    }

    fn applied(
        &mut self,
        entry: &Entry,
        kv: &KvStore,
        applied: Option<&Applied>,
    ) -> Result<(), SimStop> {
        let checked = self.sim.checker.after_apply(self.id, entry, kv, applied);
        checked.map_err(|b| self.breach(b))
    }

    fn compacted(&mut self, index: Index) {
        self.sim.stats.snapshots += 1;
        let id = self.id;
        self.sim
            .note(Note::Text(format!("n{id} snapshot at {index}")));
    }

    fn event(&mut self, _node: &Node, event: Event) {
        let id = self.id;
        let sim = &mut *self.sim;
        sim.observe_raft(id, &event);
        match event {
            Event::RoleChanged { role, term } => {
                if role == Role::Candidate {
                    sim.stats.candidacies += 1;
                }
                sim.note(Note::Role { id, role, term })
            }
            Event::CommitAdvanced { index } => sim.note(Note::Commit { id, index }),
            _ => {}
        }
    }
}
