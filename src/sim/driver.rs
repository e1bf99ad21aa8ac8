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
use super::events::{Event, Note};
use super::faults::CrashPoint;
use crate::check::{Invariant, hash_bytes};
use crate::kv::KvStore;
use crate::raft::{EntryData, LogWrite, Message, Node, NodeId, Ready, Role};

/// Most `Ready`s drained after one input (a node should need one).
const MAX_READY_ROUNDS: usize = 8;

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

    /// Processes the earliest event.
    pub(super) fn step_event(&mut self) -> Result<(), Violation> {
        let Some((time, event)) = self.queue.pop() else {
            return Ok(());
        };
        self.now = time;
        self.stats.events += 1;
        self.trace.add(time);
        match event {
            Event::Tick(id) => {
                self.trace.add(1 | (id << 8));
                self.queue.push(time + self.opts.tick_us, Event::Tick(id));
                if self.is_up(id) {
                    self.stats.ticks += 1;
                    if self.opts.bugs.ack_before_fsync
                        && let Err(e) = self.sync_disk(id)
                    {
                        self.disk_failure(id, e);
                        return Ok(());
                    }
                    self.drive(id, Node::tick)?;
                }
            }
            Event::Deliver { msg, incarnation } => self.deliver(msg, incarnation)?,
            Event::Fault(step) => {
                self.trace.add(3 | (step.code() << 8));
                self.fault_step(step)?;
            }
            Event::Client { client, generation } => {
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
            .is_some_and(|s| s.node.is_some() && s.incarnation == incarnation);
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
        self.drive_answer(to, answer, |n| n.step(msg))?;
        Ok(())
    }

    /// Gives node `id` one input, then carries out and checks its output.
    /// `None` when the node is down.
    pub(super) fn drive<R>(
        &mut self,
        id: NodeId,
        input: impl FnOnce(&mut Node) -> R,
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
        input: impl FnOnce(&mut Node) -> R,
    ) -> Result<Option<R>, Violation> {
        let observed = self.observed.is_some();
        let Some(node) = self.slot_mut(id).and_then(|s| s.node.as_mut()) else {
            return Ok(None);
        };
        let was_leader = node.role() == Role::Leader;
        let term_before = node.term();
        let tally = if observed { node.tally() } else { None };
        let result = input(node);
        let ended = tally.and_then(|t| t.ended(answer, node.tally()));
        if let Some(text) = ended {
            self.observe_text(id, text);
        }
        self.after_input(id, was_leader && node_term(self, id) == term_before)?;
        Ok(Some(result))
    }

    /// Drains and carries out node `id`'s output, then checks the node.
    /// `leader_before`: it was leader in its current term before the input.
    pub(super) fn after_input(&mut self, id: NodeId, leader_before: bool) -> Result<(), Violation> {
        for _ in 0..MAX_READY_ROUNDS {
            let Some(node) = self.slot_mut(id).and_then(|s| s.node.as_mut()) else {
                return Ok(());
            };
            let ready = node.take_ready();
            if ready.is_empty() {
                break;
            }
            self.carry_out(id, ready, leader_before)?;
            if !self.node(id).is_some_and(Node::has_ready) {
                break;
            }
        }
        let Some(node) = (id as usize)
            .checked_sub(1)
            .and_then(|i| self.nodes.get(i))
            .and_then(|s| s.node.as_ref())
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

    /// Persist, send, apply, answer — in that order.
    fn carry_out(
        &mut self,
        id: NodeId,
        ready: Ready,
        leader_before: bool,
    ) -> Result<(), Violation> {
        let Ready {
            hard_state,
            snapshot,
            log,
            messages,
            committed,
            reads,
            events,
        } = ready;
        let Some(i) = (id as usize).checked_sub(1) else {
            return Ok(());
        };
        let persisted = hard_state.is_some() || snapshot.is_some() || log.is_some();
        let voted = hard_state.is_some_and(|hs| hs.vote.is_some_and(|v| v != id));
        let crash_point = if persisted {
            self.roll_crash_point(voted)
        } else {
            None
        };
        if persisted {
            // The disk first: write, then sync before anything leaves (the
            // ack-before-fsync bug syncs at the node's next tick instead).
            let written = self.write_to_disk(id, hard_state, snapshot.as_ref(), log.as_ref());
            if let Err(e) = written {
                self.disk_failure(id, e);
                return Ok(());
            }
            if crash_point == Some(CrashPoint::DuringWrite) {
                self.crash_at_point(id, CrashPoint::DuringWrite);
                return Ok(());
            }
            if !self.opts.bugs.ack_before_fsync
                && let Err(e) = self.sync_disk(id)
            {
                self.disk_failure(id, e);
                return Ok(());
            }
            // Synced (or, with the ack-before-fsync bug, taken as if it
            // were): the leader may count these entries toward commit.
            if let Some((index, term)) = log.as_ref().and_then(LogWrite::last)
                && let Some(node) = self.nodes[i].node.as_mut()
            {
                node.log_synced(index, term);
            }
        }
        if let Some(hs) = hard_state {
            self.nodes[i].durable.hard_state = hs;
        }
        if let Some(snapshot) = &snapshot {
            self.nodes[i].durable.install_snapshot(snapshot.clone());
        }
        let is_leader = self.nodes[i]
            .node
            .as_ref()
            .is_some_and(|n| n.role() == Role::Leader);
        let appended_command = is_leader
            && log.as_ref().is_some_and(|w| {
                w.entries
                    .iter()
                    .any(|e| matches!(e.data, EntryData::Command(_)))
            });
        if let Some(write) = log {
            let slot = &mut self.nodes[i];
            let leader_after = slot.node.as_ref().is_some_and(|n| n.role() == Role::Leader);
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
            let checked = self.checker.before_log_write(
                id,
                leader_before,
                leader_after,
                &slot.durable,
                &write,
            );
            checked.map_err(|b| self.breach(b))?;
            let from = write.from;
            let slot = &mut self.nodes[i];
            slot.durable.apply_write(write);
            let checked = self.checker.after_log_write(id, &slot.durable, from);
            checked.map_err(|b| self.breach(b))?;
        }
        if self.churn_strikes(id, appended_command) {
            return Ok(());
        }
        if crash_point == Some(CrashPoint::BeforeSend) {
            self.crash_at_point(id, CrashPoint::BeforeSend);
            return Ok(());
        }
        for msg in messages {
            self.send(msg);
        }
        if crash_point == Some(CrashPoint::AfterSend) {
            self.crash_at_point(id, CrashPoint::AfterSend);
            return Ok(());
        }
        if let Some(snapshot) = snapshot {
            let kv = KvStore::restore(&snapshot.data).map_err(|e| {
                self.breach((
                    Invariant::SnapshotsRestore,
                    format!("n{id} cannot restore its snapshot: {e}"),
                ))
            })?;
            self.checker.restore(id, &kv).map_err(|b| self.breach(b))?;
            self.nodes[i].kv = kv;
            self.stats.snapshots_installed += 1;
        }
        if !committed.is_empty() {
            let slot = &mut self.nodes[i];
            if let Some(node) = &slot.node {
                let checked = self.checker.observe_commit(id, node);
                checked.map_err(|b| self.breach(b))?;
            }
            for entry in &committed {
                let slot = &mut self.nodes[i];
                let applied = self.checker.apply(id, entry, &mut slot.kv);
                let applied = applied.map_err(|b| self.breach(b))?;
                if let Some(applied) = applied {
                    self.on_applied(id, &applied);
                }
            }
        }
        self.maybe_compact(id)?;
        for read in reads {
            self.on_read_result(id, read);
        }
        self.answer_reads(id);
        for event in events {
            self.observe_raft(id, &event);
            match event {
                crate::raft::Event::RoleChanged { role, term } => {
                    if role == Role::Candidate {
                        self.stats.candidacies += 1;
                    }
                    self.note(Note::Role { id, role, term })
                }
                crate::raft::Event::CommitAdvanced { index } => {
                    self.note(Note::Commit { id, index })
                }
                _ => {}
            }
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
            .filter(|s| s.node.is_some())
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
            let copy = Event::Deliver {
                msg: msg.clone(),
                incarnation,
            };
            self.queue.push(self.now + delay, copy);
        }
        if let Some(delay) = last {
            self.queue
                .push(self.now + delay, Event::Deliver { msg, incarnation });
        }
    }
}

fn node_term(sim: &Sim, id: NodeId) -> u64 {
    sim.node(id).map_or(0, Node::term)
}
