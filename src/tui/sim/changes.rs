//! Membership changes asked from the simulated dashboard (`add N`,
//! `promote N`, `remove N`, keys `a` `P` `x`), carried out as the live
//! dashboard carries them out: proposed through the leader, one change at
//! a time, answered once the leader uses the committed configuration.
//!
//! A change is proposed at once, at the virtual time it was asked, through
//! [`Sim::change_membership`] (which also starts a brand-new node), so it
//! is an input like any other and a replay repeats it. Its answer comes
//! later, at the tick the leader has committed it, as a client
//! operation's does. Refusals (an id out of range, already a member, a
//! change in flight, a learner behind, the last voter, not a member) come
//! back at once in the live dashboard's words; without a leader ready to
//! take it, a change is asked again each tick for up to 3 s of virtual
//! time, as the live dashboard retries, and then refused ("no leader").

use crate::raft::{ConfChange, Index, Membership, RaftError};
use crate::runtime::{CHANGE_WAIT, RuntimeError, change_refusal};
use crate::sim::{Sim, SimError};
use crate::tui::driver::Request;

/// A proposed change waiting for its configuration to commit.
#[derive(Clone, Debug)]
struct Pending {
    /// The request id (`None` for a replayed input).
    id: Option<u64>,
    change: ConfChange,
    /// Index of its configuration entry.
    index: Index,
    /// The configuration it makes, when known.
    expected: Option<Membership>,
    /// Virtual time after which it is reported as not committed in time.
    deadline_us: u64,
}

/// Changes proposed and not answered yet.
#[derive(Debug, Default)]
pub struct Changes {
    pending: Vec<Pending>,
    waiting: Vec<Waiting>,
}

/// The membership change a request asks for, if it asks for one.
pub fn conf_change(request: &Request) -> Option<ConfChange> {
    Some(match request {
        Request::AddLearner(id) => ConfChange::AddLearner(*id),
        Request::Promote(id) => ConfChange::Promote(*id),
        Request::Remove(id) => ConfChange::Remove(*id),
        _ => return None,
    })
}

/// A change asked while no leader could take it, asked again each tick
/// for a while, as the live dashboard does.
#[derive(Clone, Debug)]
struct Waiting {
    id: Option<u64>,
    change: ConfChange,
    /// Virtual time after which the last refusal is the answer.
    until_us: u64,
    /// When it was last asked: it is asked again only later (a replay
    /// settles changes right after applying an input, the first run at
    /// the tick's end; neither asks twice at one instant).
    tried_us: u64,
}

/// How long a change waits for a leader ready to take it: a new leader
/// must first commit an entry of its term (the live dashboard's wait).
const PROPOSE_WAIT_US: u64 = 3_000_000;

/// What became of changes in a tick: answers, and event lines.
#[derive(Debug, Default)]
pub struct Settled {
    /// Answers of changes that committed, ran out of time or were refused.
    pub answers: Vec<(Option<u64>, Result<String, String>)>,
    /// Changes proposed on a retry, in words.
    pub proposed: Vec<String>,
}

impl Changes {
    /// Proposes `change` for request `id` now. The text for the event line
    /// when it was proposed; `None` when it waits for a leader ready to
    /// take it; or the refusal in words.
    pub fn propose(
        &mut self,
        sim: &mut Sim,
        id: Option<u64>,
        change: ConfChange,
    ) -> Result<Option<String>, String> {
        match self.try_propose(sim, id, change) {
            Err(e) if can_wait(&e) => {
                self.waiting.push(Waiting {
                    id,
                    change,
                    until_us: sim.now_us() + PROPOSE_WAIT_US,
                    tried_us: sim.now_us(),
                });
                Ok(None)
            }
            Err(e) => Err(refusal(e)),
            Ok(text) => Ok(Some(text)),
        }
    }

    fn try_propose(
        &mut self,
        sim: &mut Sim,
        id: Option<u64>,
        change: ConfChange,
    ) -> Result<String, SimError> {
        let expected = sim.membership().and_then(|m| m.apply(change).ok());
        let index = sim.change_membership(change)?;
        self.pending.push(Pending {
            id,
            change,
            index,
            expected,
            deadline_us: sim.now_us() + CHANGE_WAIT.as_micros() as u64,
        });
        Ok(format!("proposed: {change} at {index}"))
    }

    /// Whether no change is waiting for its answer.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.waiting.is_empty()
    }

    /// Asks again the changes waiting for a leader, and answers those that
    /// committed (or ran out of time) by now.
    pub fn settle(&mut self, sim: &mut Sim) -> Settled {
        let mut out = Settled::default();
        let now = sim.now_us();
        for mut w in std::mem::take(&mut self.waiting) {
            // Not asked again at one instant, nor while the leader is
            // surely not ready (asking would only fill the events).
            if now <= w.tried_us || (now < w.until_us && leader_not_ready(sim)) {
                self.waiting.push(w);
                continue;
            }
            w.tried_us = now;
            match self.try_propose(sim, w.id, w.change) {
                Ok(text) => out.proposed.push(text),
                Err(e) if can_wait(&e) && now < w.until_us => self.waiting.push(w),
                Err(e) => out.answers.push((w.id, Err(refusal(e)))),
            }
        }
        let leader = sim.leader().and_then(|l| sim.status(l));
        self.pending.retain(|p| {
            let committed = leader.as_ref().is_some_and(|l| {
                l.commit >= p.index
                    && !l.membership_pending
                    && p.expected.is_none_or(|e| e == l.membership)
            });
            if committed {
                out.answers.push((p.id, Ok(done_text(p.change, p.index))));
                false
            } else if now >= p.deadline_us {
                let e = RuntimeError::ChangeTimeout {
                    index: p.index,
                    secs: CHANGE_WAIT.as_secs(),
                };
                out.answers.push((p.id, Err(e.to_string())));
                false
            } else {
                true
            }
        });
        out
    }

    /// Answers every waiting change with `why` (the run starts again).
    pub fn drop_all(&mut self, why: &str) -> Vec<(Option<u64>, Result<String, String>)> {
        let waiting = self.waiting.drain(..).map(|w| w.id);
        let pending = self.pending.drain(..).map(|p| p.id);
        waiting
            .chain(pending)
            .map(|id| (id, Err(why.to_string())))
            .collect()
    }
}

/// Whether there is a leader that has not committed an entry of its term
/// yet, so would refuse a change (as far as its log shows: an entry
/// compacted away counts as ready, and Raft decides).
fn leader_not_ready(sim: &Sim) -> bool {
    let Some(status) = sim.leader().and_then(|l| sim.status(l)) else {
        return false;
    };
    let Some(log) = sim.log(status.id) else {
        return false;
    };
    log.iter()
        .find(|e| e.index == status.commit)
        .is_some_and(|e| e.term != status.term)
        || status.commit == 0
}

/// Whether a refusal may go away by itself soon: no leader yet, or a new
/// leader that has not committed an entry of its term.
fn can_wait(e: &SimError) -> bool {
    matches!(
        e,
        SimError::NoLeader
            | SimError::Raft(RaftError::LeaderNotReady | RaftError::NotLeader { .. })
    )
}

/// What a committed change did, in the live dashboard's words.
fn done_text(change: ConfChange, index: Index) -> String {
    match change {
        ConfChange::AddLearner(id) => {
            format!("n{id} joined as a learner (configuration entry {index} committed)")
        }
        ConfChange::Promote(id) => {
            format!("n{id} is a voter (configuration entry {index} committed)")
        }
        ConfChange::Remove(id) => {
            format!("n{id} is removed (configuration entry {index} committed)")
        }
    }
}

/// The simulator's refusal of a change in the live cluster's words.
fn refusal(e: SimError) -> String {
    let live = match e {
        SimError::NodeLimit(id) => RuntimeError::NodeIdOutOfRange(id),
        SimError::NoLeader => RuntimeError::NoLeader,
        SimError::UnknownNode(id) => RuntimeError::UnknownNode(id),
        SimError::NodeDown(id) => RuntimeError::NodeDown(id),
        SimError::Raft(e) => match change_refusal(e) {
            RuntimeError::Raft(e) => return SimError::Raft(e).to_string(),
            live => live,
        },
        other => return other.to_string(),
    };
    live.to_string()
}
