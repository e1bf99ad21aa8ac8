//! The fault schedule: which kinds of trouble a run injects, and when.
//!
//! A [`FaultSchedule`] names the enabled [`FaultKind`]s. The simulator runs
//! two independent tracks, each one fault at a time: a *crash* track (crash
//! a random up node, restart it after a while) and a *network* track (a
//! random partition, isolation, bridge, one-way cuts, loss, delay or
//! duplication, undone by resetting the fabric), with `membership` a
//! third, of membership changes (see `membership.rs`), and with `reconfig`
//! a fourth, of membership changes raced against a partition (see
//! `reconfig.rs`). After each fault ends the
//! track stays calm for a random gap, so the cluster gets windows in which
//! it can elect a leader and make progress. All choices come from the
//! simulation's seed.

use std::collections::BTreeSet;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::events::{Event, FaultStep, Note};
use super::{Sim, SimError, Violation};
use crate::raft::NodeId;

/// A kind of fault the schedule may inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// Crash a node (losing volatile state) and restart it later.
    Crash,
    /// Split the nodes into two random groups.
    Partition,
    /// Cut one node off from everyone (often the leader).
    Isolate,
    /// Two groups joined only through one node.
    Bridge,
    /// Cut links in one direction only.
    OneWay,
    /// Lose a fraction of all messages.
    Loss,
    /// Long and widely spread delays, which reorder messages.
    Delay,
    /// Deliver some messages twice.
    Duplicate,
    /// Crash points: a node crashes at the instant it has made new state
    /// durable — before its messages leave, or just after — and reboots a
    /// moment later. That is where durability bugs (a forgotten vote, an
    /// acknowledgement of unsaved entries) show.
    CrashPoint,
    /// Leader churn, the nemesis of the Raft Figure 8 tests: for a while,
    /// crash the leader (sometimes another node) again and again, a few
    /// tens of milliseconds apart, restarting crashed nodes in between.
    Churn,
    /// Membership changes: add a node as a learner, promote a learner,
    /// remove a voter (a crashed one, the leader or any), add a removed node
    /// back — replacing a crashed node is a removal and an addition.
    Membership,
    /// The membership nemesis: cut the leader off with a minority, have it
    /// propose back to back the changes that would make that minority a
    /// majority, let the majority elect a leader that changes other nodes,
    /// then heal (see `reconfig.rs`).
    Reconfig,
}

impl FaultKind {
    /// Every kind, in the order of their names.
    pub const ALL: [FaultKind; 12] = [
        FaultKind::Crash,
        FaultKind::Partition,
        FaultKind::Isolate,
        FaultKind::Bridge,
        FaultKind::OneWay,
        FaultKind::Loss,
        FaultKind::Delay,
        FaultKind::Duplicate,
        FaultKind::CrashPoint,
        FaultKind::Churn,
        FaultKind::Membership,
        FaultKind::Reconfig,
    ];

    /// The name used on the command line (`--faults crash,partition`).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Partition => "partition",
            FaultKind::Isolate => "isolate",
            FaultKind::Bridge => "bridge",
            FaultKind::OneWay => "oneway",
            FaultKind::Loss => "loss",
            FaultKind::Delay => "delay",
            FaultKind::Duplicate => "duplicate",
            FaultKind::CrashPoint => "crashpoint",
            FaultKind::Churn => "churn",
            FaultKind::Membership => "membership",
            FaultKind::Reconfig => "reconfig",
        }
    }

    /// The kind called `name` (`reorder` is another name for `delay`).
    pub fn from_name(name: &str) -> Option<FaultKind> {
        if name == "reorder" {
            return Some(FaultKind::Delay);
        }
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn is_network(self) -> bool {
        !matches!(
            self,
            FaultKind::Crash
                | FaultKind::Churn
                | FaultKind::CrashPoint
                | FaultKind::Membership
                | FaultKind::Reconfig
        )
    }
}

/// Which faults a run injects and how often. The default injects none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSchedule {
    /// The enabled kinds.
    pub kinds: BTreeSet<FaultKind>,
    /// Mean calm time before each fault on a track, in µs (default 500 ms).
    pub mean_gap_us: u64,
    /// Shortest fault, in µs (default 100 ms).
    pub min_duration_us: u64,
    /// Longest fault, in µs (default 2 s).
    pub max_duration_us: u64,
}

impl Default for FaultSchedule {
    fn default() -> FaultSchedule {
        FaultSchedule {
            kinds: BTreeSet::new(),
            mean_gap_us: 500_000,
            min_duration_us: 100_000,
            max_duration_us: 2_000_000,
        }
    }
}

impl FaultSchedule {
    /// No faults.
    pub fn none() -> FaultSchedule {
        FaultSchedule::default()
    }

    /// Every kind of fault.
    pub fn all() -> FaultSchedule {
        FaultSchedule {
            kinds: FaultKind::ALL.into_iter().collect(),
            ..FaultSchedule::default()
        }
    }

    /// Parses `none`, `all`, or a comma-separated list of kind names.
    pub fn parse(list: &str) -> Result<FaultSchedule, SimError> {
        let list = list.trim();
        match list {
            "" | "none" => return Ok(FaultSchedule::none()),
            "all" => return Ok(FaultSchedule::all()),
            _ => {}
        }
        let mut kinds = BTreeSet::new();
        for name in list.split(',').map(str::trim) {
            let kind = FaultKind::from_name(name)
                .ok_or_else(|| SimError::UnknownFault(name.to_string()))?;
            kinds.insert(kind);
        }
        Ok(FaultSchedule {
            kinds,
            ..FaultSchedule::default()
        })
    }

    /// The enabled kinds as `parse` accepts them: `none`, or `crash,loss`.
    pub fn names(&self) -> String {
        if self.kinds.is_empty() {
            return "none".to_string();
        }
        let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
        names.join(",")
    }

    fn has_network(&self) -> bool {
        self.kinds.iter().any(|k| k.is_network())
    }
}

/// Where in carrying out a `Ready` a crash point strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CrashPoint {
    /// The state was written to disk but not synced: part of it may
    /// survive, the last record possibly torn.
    DuringWrite,
    /// Synced, but no message left.
    BeforeSend,
    /// Synced and sent.
    AfterSend,
    /// A snapshot was saved but the log not yet compacted.
    Compacting,
}

impl Sim {
    /// Schedules the first step of each enabled track.
    pub(super) fn schedule_first_faults(&mut self) {
        if self.opts.faults.kinds.contains(&FaultKind::Crash) {
            let at = self.now + self.fault_gap();
            self.queue.push(at, Event::Fault(FaultStep::CrashStart));
        }
        if self.opts.faults.has_network() {
            let at = self.now + self.fault_gap();
            self.queue.push(at, Event::Fault(FaultStep::NetStart));
        }
        if self.opts.faults.kinds.contains(&FaultKind::Churn) {
            let at = self.now + self.fault_gap();
            self.queue.push(at, Event::Fault(FaultStep::ChurnStart));
        }
        if self.opts.faults.kinds.contains(&FaultKind::Membership) {
            let gap = self.fault_gap();
            self.schedule_membership(gap);
        }
        if self.opts.faults.kinds.contains(&FaultKind::Reconfig) {
            self.schedule_race_start();
        }
    }

    /// Carries out one step of a fault track and schedules the next.
    pub(super) fn fault_step(&mut self, step: FaultStep) -> Result<(), Violation> {
        match step {
            FaultStep::CrashStart => {
                let up: Vec<NodeId> = self
                    .node_ids()
                    .into_iter()
                    .filter(|&id| self.is_up(id))
                    .collect();
                let victim = self.pick_victim(&up);
                if let Some(id) = victim {
                    self.stats.faults += 1;
                    self.note(Note::Text(format!("fault: crash n{id}")));
                    self.crash_node(id);
                    let at = self.now + self.fault_duration();
                    self.queue.push(at, Event::Fault(FaultStep::CrashEnd(id)));
                } else {
                    let at = self.now + self.fault_gap();
                    self.queue.push(at, Event::Fault(FaultStep::CrashStart));
                }
            }
            FaultStep::CrashEnd(id) => {
                if !self.is_up(id) {
                    self.note(Note::Text(format!("fault over: restart n{id}")));
                    self.restart_node(id)
                        .map_err(|e| self.sim_error_violation(e))?;
                }
                let at = self.now + self.fault_gap();
                self.queue.push(at, Event::Fault(FaultStep::CrashStart));
            }
            FaultStep::NetStart if self.race.is_some() => {
                // A reconfiguration race owns the links until it heals.
                let at = self.now + self.fault_gap();
                self.queue.push(at, Event::Fault(FaultStep::NetStart));
            }
            FaultStep::NetStart => {
                self.net_fault_active = true;
                self.stats.faults += 1;
                let text = self.inject_network_fault();
                self.note(Note::Text(format!("fault: {text} [{}]", self.fabric)));
                let at = self.now + self.fault_duration();
                self.queue.push(at, Event::Fault(FaultStep::NetEnd));
            }
            FaultStep::NetEnd => {
                self.net_fault_active = false;
                self.fabric.reset();
                self.note(Note::Text("fault over: network healed".to_string()));
                let at = self.now + self.fault_gap();
                self.queue.push(at, Event::Fault(FaultStep::NetStart));
            }
            FaultStep::ChurnStart => {
                self.stats.faults += 1;
                self.note(Note::Text("fault: leader churn".to_string()));
                let until = self.now + self.fault_duration();
                self.queue
                    .push(self.now, Event::Fault(FaultStep::ChurnTick { until }));
            }
            FaultStep::Reboot(id) => {
                if !self.is_up(id) {
                    self.note(Note::Text(format!("reboot n{id}")));
                    self.restart_node(id)
                        .map_err(|e| self.sim_error_violation(e))?;
                }
            }
            FaultStep::MemberChange => {
                self.membership_fault()?;
                let gap = self.fault_gap();
                self.schedule_membership(gap);
            }
            FaultStep::RaceStart => self.race_start()?,
            FaultStep::RaceSecond { retries } => self.race_second(retries)?,
            FaultStep::RaceHeal => self.race_heal(),
            FaultStep::ChurnTick { until } => {
                if self.now >= until {
                    self.end_churn()?;
                    let at = self.now + self.fault_gap();
                    self.queue.push(at, Event::Fault(FaultStep::ChurnStart));
                } else {
                    self.churn_blow()?;
                    let pause = self.fault_rng.random_range(CHURN_PAUSE_US);
                    let next = Event::Fault(FaultStep::ChurnTick { until });
                    self.queue.push(self.now + pause, next);
                }
            }
        }
        Ok(())
    }

    /// One blow of leader churn, after the Raft Figure 8 tests: when fewer
    /// than a quorum are up, restart a random crashed node; otherwise crash
    /// the leader — now, or (half the time) at the instant it appends its
    /// next client command, before that command leaves it. Crashed nodes
    /// stay down until a quorum is missing, so leaders of different terms
    /// are left holding different uncommitted entries at the same index,
    /// which is what exposes an unsafe commit rule.
    fn churn_blow(&mut self) -> Result<(), Violation> {
        let ids = self.node_ids();
        let down: Vec<NodeId> = ids.iter().copied().filter(|&id| !self.is_up(id)).collect();
        let quorum = ids.len() / 2 + 1;
        if ids.len() - down.len() < quorum {
            let id = down[self.fault_rng.random_range(0..down.len())];
            self.note(Note::Text(format!("churn: restart n{id}")));
            return self
                .restart_node(id)
                .map_err(|e| self.sim_error_violation(e));
        }
        if self.churn_armed {
            return Ok(());
        }
        if self.fault_rng.random_bool(0.5) {
            self.churn_armed = true;
        } else if let Some(id) = self.leader() {
            self.note(Note::Text(format!("churn: crash leader n{id}")));
            self.crash_node(id);
        }
        Ok(())
    }

    /// Whether churn waits to crash the leader at its next client command,
    /// and `id` (a leader that just appended one) is it: then it crashes
    /// now, before the command leaves it.
    pub(super) fn churn_strikes(&mut self, id: NodeId, appended_command: bool) -> bool {
        if !self.churn_armed || !appended_command {
            return false;
        }
        self.churn_armed = false;
        self.stats.faults += 1;
        self.note(Note::Text(format!(
            "churn: crash leader n{id} as it appends a command"
        )));
        self.crash_node(id);
        true
    }

    /// Whether node output about to be made durable meets a crash point,
    /// and where. Draws from the fault RNG only when crash points are
    /// enabled. `voted`: what is persisted includes a vote just granted, the
    /// rare moment Raft's safety rests on, so it meets a crash point more
    /// often than a routine log append.
    pub(super) fn roll_crash_point(&mut self, voted: bool) -> Option<CrashPoint> {
        if !self.opts.faults.kinds.contains(&FaultKind::CrashPoint) {
            return None;
        }
        let p = if voted {
            CRASH_POINT_VOTE_P
        } else {
            CRASH_POINT_P
        };
        if !self.fault_rng.random_bool(p) {
            return None;
        }
        Some(match self.fault_rng.random_range(0..3) {
            0 => CrashPoint::DuringWrite,
            1 => CrashPoint::BeforeSend,
            _ => CrashPoint::AfterSend,
        })
    }

    /// Whether a compaction meets a crash point between saving its snapshot
    /// and compacting the log (drawn only when crash points are enabled).
    pub(super) fn roll_compaction_crash(&mut self) -> bool {
        self.opts.faults.kinds.contains(&FaultKind::CrashPoint)
            && self.fault_rng.random_bool(CRASH_POINT_COMPACTION_P)
    }

    /// Crashes node `id` at a crash point and schedules its reboot.
    pub(super) fn crash_at_point(&mut self, id: NodeId, point: CrashPoint) {
        let when = match point {
            CrashPoint::DuringWrite => "while writing, before the sync",
            CrashPoint::BeforeSend => "before sending",
            CrashPoint::AfterSend => "after sending",
            CrashPoint::Compacting => "after saving a snapshot, before compacting its log",
        };
        self.stats.faults += 1;
        if matches!(point, CrashPoint::DuringWrite | CrashPoint::Compacting) {
            self.stats.torn_crashes += 1;
        }
        self.note(Note::Text(format!("crash point: n{id} {when}")));
        self.crash_node(id);
        let at = self.now + self.fault_rng.random_range(REBOOT_US);
        self.queue.push(at, Event::Fault(FaultStep::Reboot(id)));
    }

    /// Ends a churn window: every crashed node comes back.
    fn end_churn(&mut self) -> Result<(), Violation> {
        self.churn_armed = false;
        self.note(Note::Text("fault over: churn ends".to_string()));
        for id in self.node_ids() {
            if !self.is_up(id) {
                self.restart_node(id)
                    .map_err(|e| self.sim_error_violation(e))?;
            }
        }
        Ok(())
    }

    /// Picks the leader a third of the time (the interesting victim),
    /// otherwise any up node.
    fn pick_victim(&mut self, up: &[NodeId]) -> Option<NodeId> {
        if up.is_empty() {
            return None;
        }
        if let Some(leader) = self.leader()
            && self.fault_rng.random_bool(1.0 / 3.0)
        {
            return Some(leader);
        }
        Some(up[self.fault_rng.random_range(0..up.len())])
    }

    /// Applies a random enabled network fault; returns its description.
    fn inject_network_fault(&mut self) -> String {
        let kinds: Vec<FaultKind> = self
            .opts
            .faults
            .kinds
            .iter()
            .copied()
            .filter(|k| k.is_network())
            .collect();
        if kinds.is_empty() {
            return "none".to_string();
        }
        let kind = kinds[self.fault_rng.random_range(0..kinds.len())];
        let mut ids = self.node_ids();
        shuffle(&mut ids, &mut self.fault_rng);
        let n = ids.len();
        let rng = &mut self.fault_rng;
        // Every id below comes from the fabric's own list, and every
        // probability and range is valid, so these calls cannot fail; a
        // failure would only leave the network as it was.
        let result = match kind {
            FaultKind::Partition if n >= 2 => {
                let cut = rng.random_range(1..n);
                self.fabric
                    .partition(&[ids[..cut].to_vec(), ids[cut..].to_vec()])
            }
            FaultKind::Isolate => {
                let target = match self.leader() {
                    Some(l) if self.fault_rng.random_bool(0.5) => l,
                    _ => ids[0],
                };
                self.fabric.isolate(target)
            }
            FaultKind::Bridge if n >= 3 => {
                let cut = rng.random_range(2..n);
                self.fabric.bridge(&ids[1..cut], ids[0], &ids[cut..])
            }
            FaultKind::OneWay if n >= 2 => {
                let cuts = rng.random_range(1..=n);
                let mut result = Ok(());
                for _ in 0..cuts {
                    let from = ids[rng.random_range(0..n)];
                    let to = ids[rng.random_range(0..n)];
                    if from != to {
                        result = result.and(self.fabric.cut(from, to));
                    }
                }
                result
            }
            FaultKind::Loss => {
                let p = rng.random_range(0.05..0.4);
                self.fabric.set_loss(p)
            }
            FaultKind::Delay => {
                let min = rng.random_range(0..5_000);
                let max = min + rng.random_range(5_000..60_000);
                self.fabric.set_delay(min, max)
            }
            FaultKind::Duplicate => {
                let p = rng.random_range(0.05..0.3);
                self.fabric.set_duplicate(p)
            }
            _ => Ok(()),
        };
        match result {
            Ok(()) => kind.name().to_string(),
            Err(e) => format!("{} (not applied: {e})", kind.name()),
        }
    }

    fn fault_gap(&mut self) -> u64 {
        let mean = self.opts.faults.mean_gap_us.max(1);
        self.fault_rng.random_range(0..2 * mean)
    }

    fn fault_duration(&mut self) -> u64 {
        let f = &self.opts.faults;
        let (min, max) = (f.min_duration_us, f.max_duration_us.max(f.min_duration_us));
        self.fault_rng.random_range(min..=max)
    }
}

/// Chance that a node crashes right after persisting new state.
const CRASH_POINT_P: f64 = 0.002;

/// Chance that a compaction crashes between saving its snapshot and
/// compacting its log.
const CRASH_POINT_COMPACTION_P: f64 = 0.05;

/// Chance that a node crashes right after persisting a vote it granted.
const CRASH_POINT_VOTE_P: f64 = 0.3;

/// How long a node a crash point took down stays down, in µs.
const REBOOT_US: std::ops::Range<u64> = 1_000..60_000;

/// Pause between two blows of leader churn, in µs.
const CHURN_PAUSE_US: std::ops::Range<u64> = 1_000..150_000;

/// Fisher–Yates with the given RNG.
pub(super) fn shuffle<T>(items: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_round_trip() {
        let s = FaultSchedule::parse("partition, crash,loss").unwrap();
        assert_eq!(s.names(), "crash,partition,loss");
        assert_eq!(FaultSchedule::parse(&s.names()).unwrap(), s);
        assert_eq!(FaultSchedule::parse("none").unwrap().names(), "none");
        assert_eq!(FaultSchedule::parse("all").unwrap().kinds.len(), 12);
        assert!(matches!(
            FaultSchedule::parse("crash,flood"),
            Err(SimError::UnknownFault(name)) if name == "flood"
        ));
    }
}
