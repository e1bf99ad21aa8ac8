//! The `reconfig` nemesis: membership changes raced against a partition and
//! a change of leader — the patterns that break single-server membership
//! change when its rules are bent.
//!
//! One race has three steps:
//!
//! 1. **Cut and change.** The leader `L` is cut off with a minority `A` of
//!    its configuration's voters; the majority `B` is on the other side.
//!    `L` at once proposes, back to back, the changes that would make `A` a
//!    majority — removing voters of `B` (sometimes promoting a learner cut
//!    off with it first). The one-at-a-time rule refuses all but the first,
//!    which cannot commit: `A` is no majority of it. With two changes in
//!    flight allowed (`--bug two-changes-in-flight`) they all go through,
//!    and `A` commits on its own with a majority the old configuration never
//!    saw.
//! 2. **The other side changes too.** `B`, a majority of the old
//!    configuration, elects a leader `L2` of its own; `L2` proposes a change
//!    to nodes the first step did not touch (remove a voter of `A`, promote
//!    a learner, add a node) — the shape of the bug Ongaro found in
//!    single-server changes in 2015, which is why a leader must commit an
//!    entry of its own term before changing the configuration.
//! 3. **Heal.** The partition ends; one of the two histories must give way,
//!    and every invariant must hold.
//!
//! While a race is on, the network track waits (and a race waits for the
//! network track's fault to end), so the race's partition stays as placed.
//! The race draws from an RNG of its own, so turning it on does not change
//! the other tracks' choices.

use rand::RngExt;

use super::events::{Event, FaultStep, Note};
use super::faults::shuffle;
use super::{MAX_NODES, Sim, SimError, Violation};
use crate::raft::{ConfChange, Membership, NodeId, NodeSet, RaftError};

/// Fewest voters a race starts from, and leaves when `L2` removes one.
const MIN_VOTERS: usize = 3;

/// Time from the cut to `L2`'s change, µs: enough for `B` to elect.
const SECOND_STEP_US: std::ops::Range<u64> = 300_000..800_000;

/// Time from `L2`'s change to the heal, µs.
const HEAL_US: std::ops::Range<u64> = 200_000..800_000;

/// How often `L2` is asked again when there is none yet or it is not
/// ready (it has not committed an entry of its term), and how long apart.
const RETRIES: u8 = 5;
const RETRY_US: u64 = 50_000;

/// Wait before trying again to start a race that could not start, µs.
const RETRY_START_US: std::ops::Range<u64> = 20_000..100_000;

/// A race under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Race {
    /// The leader cut off with the minority.
    old_leader: NodeId,
    /// The minority side (with `old_leader`), all nodes placed there.
    side_a: NodeSet,
    /// The nodes the first step's changes were about.
    touched: NodeSet,
}

impl Sim {
    /// Step 1: cut the leader off with a minority and have it propose the
    /// changes that would make that minority a majority.
    pub(super) fn race_start(&mut self) -> Result<(), Violation> {
        let config = self.membership();
        let leader = self.leader();
        let (Some(config), Some(leader)) = (config, leader) else {
            self.race_start_soon();
            return Ok(());
        };
        if self.net_fault_active || config.voters.len() < MIN_VOTERS || !config.is_voter(leader) {
            self.race_start_soon();
            return Ok(());
        }
        self.stats.faults += 1;
        self.stats.races += 1;
        // A: the leader and up to `n - quorum - 1` more voters, so that B
        // keeps a majority of the configuration and can elect.
        let n = config.voters.len();
        let max_a = n - config.quorum();
        let size_a = self.race_rng.random_range(1..=max_a);
        let mut others: Vec<NodeId> = config.voters.iter().filter(|&v| v != leader).collect();
        shuffle(&mut others, &mut self.race_rng);
        let mut side_a = NodeSet::of([leader]);
        for &v in &others[..size_a - 1] {
            side_a.insert(v);
        }
        // Everyone else (learners, removed nodes) lands on a random side.
        for id in self.node_ids() {
            if !config.is_voter(id) && self.race_rng.random_bool(0.5) {
                side_a.insert(id);
            }
        }
        let (a, b): (Vec<NodeId>, Vec<NodeId>) = self
            .node_ids()
            .into_iter()
            .partition(|&i| side_a.contains(i));
        if let Err(e) = self.fabric.partition(&[a.clone(), b.clone()]) {
            self.note(Note::Text(format!("reconfig: cannot partition: {e}")));
            self.race_start_soon();
            return Ok(());
        }
        self.note(Note::Text(format!(
            "fault: reconfig race, n{leader} cut off with a minority [{}]",
            self.fabric
        )));
        let changes = self.majority_making_changes(config, side_a);
        let mut touched = NodeSet::default();
        for change in changes {
            touched.insert(change.node());
            self.race_change(change)?;
        }
        self.race = Some(Race {
            old_leader: leader,
            side_a,
            touched,
        });
        let at = self.now + self.race_rng.random_range(SECOND_STEP_US);
        let step = FaultStep::RaceSecond { retries: RETRIES };
        self.queue.push(at, Event::Fault(step));
        Ok(())
    }

    /// The changes, in order, after which the voters in `side_a` are a
    /// majority: promote a learner on that side (half the time, when there
    /// is one), then remove voters of the other side.
    fn majority_making_changes(&mut self, config: Membership, side_a: NodeSet) -> Vec<ConfChange> {
        let mut changes = Vec::new();
        let mut next = config;
        let learners: Vec<NodeId> = config
            .learners
            .iter()
            .filter(|&l| side_a.contains(l))
            .collect();
        if !learners.is_empty() && self.race_rng.random_bool(0.5) {
            let change = ConfChange::Promote(self.pick_id(&learners));
            if let Ok(m) = next.apply(change) {
                changes.push(change);
                next = m;
            }
        }
        let mut outside: Vec<NodeId> = config
            .voters
            .iter()
            .filter(|&v| !side_a.contains(v))
            .collect();
        shuffle(&mut outside, &mut self.race_rng);
        for v in outside {
            let majority = next.has_quorum(side_a.iter());
            if majority && !changes.is_empty() {
                break;
            }
            let change = ConfChange::Remove(v);
            let Ok(m) = next.apply(change) else { break };
            changes.push(change);
            next = m;
        }
        changes
    }

    /// Step 2: the leader the majority elected changes nodes the first step
    /// left alone; half the time a second change follows at once.
    pub(super) fn race_second(&mut self, retries: u8) -> Result<(), Violation> {
        let Some(race) = self.race.clone() else {
            return Ok(());
        };
        let leader = self
            .leader()
            .filter(|&l| l != race.old_leader && !race.side_a.contains(l));
        let config = leader.and_then(|l| self.membership_of(l));
        let (Some(leader), Some(config)) = (leader, config) else {
            return self.race_retry(retries);
        };
        let Some(change) = self.disjoint_change(config, &race, None) else {
            return self.race_heal_later();
        };
        self.note(Note::Text(format!(
            "reconfig: n{leader} leads the majority"
        )));
        match self.change_membership(change) {
            Err(SimError::Raft(RaftError::LeaderNotReady)) if retries > 0 => {
                return self.race_retry(retries);
            }
            result => self.race_outcome(change, result)?,
        }
        if self.race_rng.random_bool(0.5)
            && let Some(config) = self.membership()
            && let Some(second) = self.disjoint_change(config, &race, Some(change.node()))
        {
            self.race_change(second)?;
        }
        self.race_heal_later()
    }

    /// A change to a node the race's first step did not touch (nor `not`):
    /// remove a voter of the minority side, promote a learner, or add a
    /// node.
    fn disjoint_change(
        &mut self,
        config: Membership,
        race: &Race,
        not: Option<NodeId>,
    ) -> Option<ConfChange> {
        let free = |id: NodeId| !race.touched.contains(id) && Some(id) != not;
        let removable: Vec<NodeId> = config
            .voters
            .iter()
            .filter(|&v| free(v) && race.side_a.contains(v))
            .collect();
        let learners: Vec<NodeId> = config.learners.iter().filter(|&l| free(l)).collect();
        let outsiders: Vec<NodeId> = self
            .node_ids()
            .into_iter()
            .filter(|&i| free(i) && !config.contains(i))
            .collect();
        let mut options = Vec::new();
        if config.voters.len() > MIN_VOTERS && !removable.is_empty() {
            options.push(ConfChange::Remove(self.pick_id(&removable)));
        }
        if !learners.is_empty() {
            options.push(ConfChange::Promote(self.pick_id(&learners)));
        }
        if !outsiders.is_empty() {
            options.push(ConfChange::AddLearner(self.pick_id(&outsiders)));
        } else if self.nodes.len() < MAX_NODES {
            options.push(ConfChange::AddLearner(self.nodes.len() as NodeId + 1));
        }
        if options.is_empty() {
            return None;
        }
        Some(options[self.race_rng.random_range(0..options.len())])
    }

    /// Step 3: the partition ends.
    pub(super) fn race_heal(&mut self) {
        self.race = None;
        self.fabric.heal();
        self.note(Note::Text("fault over: reconfig race healed".to_string()));
        self.schedule_race_start();
    }

    fn race_retry(&mut self, retries: u8) -> Result<(), Violation> {
        if retries == 0 {
            return self.race_heal_later();
        }
        let step = FaultStep::RaceSecond {
            retries: retries - 1,
        };
        self.queue.push(self.now + RETRY_US, Event::Fault(step));
        Ok(())
    }

    fn race_heal_later(&mut self) -> Result<(), Violation> {
        let at = self.now + self.race_rng.random_range(HEAL_US);
        self.queue.push(at, Event::Fault(FaultStep::RaceHeal));
        Ok(())
    }

    /// Proposes `change` through the leader; a refusal is only noted.
    fn race_change(&mut self, change: ConfChange) -> Result<(), Violation> {
        let result = self.change_membership(change);
        self.race_outcome(change, result)
    }

    fn race_outcome(
        &mut self,
        change: ConfChange,
        result: Result<crate::raft::Index, SimError>,
    ) -> Result<(), Violation> {
        let text = match result {
            Ok(index) => format!("reconfig: {change} at {index}"),
            Err(SimError::Violation(v)) => return Err(*v),
            Err(SimError::Raft(e)) => {
                if matches!(e, RaftError::ChangeInProgress { .. }) {
                    self.stats.changes_refused += 1;
                }
                format!("reconfig: {change} refused: {e}")
            }
            Err(e) => format!("reconfig: {change} not made: {e}"),
        };
        self.note(Note::Text(text));
        Ok(())
    }

    /// Schedules the next race after a calm gap (races are rarer than
    /// other faults: each one costs the cluster a leader).
    pub(super) fn schedule_race_start(&mut self) {
        let gap = self.race_gap();
        self.queue
            .push(self.now + gap, Event::Fault(FaultStep::RaceStart));
    }

    /// Tries to start the race again shortly: the cluster had no leader,
    /// too few voters, or the network track held the links.
    fn race_start_soon(&mut self) {
        let at = self.now + self.race_rng.random_range(RETRY_START_US);
        self.queue.push(at, Event::Fault(FaultStep::RaceStart));
    }

    fn race_gap(&mut self) -> u64 {
        let mean = self.opts.faults.mean_gap_us.max(1) * RACE_GAP_FACTOR;
        self.race_rng.random_range(0..2 * mean)
    }

    fn pick_id(&mut self, ids: &[NodeId]) -> NodeId {
        ids[self.race_rng.random_range(0..ids.len())]
    }
}

/// Races come this many times less often than other faults.
const RACE_GAP_FACTOR: u64 = 2;
