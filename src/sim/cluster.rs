//! The [`Sim`]: the cluster's nodes, durable stores and state machines, the
//! network, the clients and the checks, with the public API that tests,
//! scenarios and `raftlab check` drive.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::checker::Checker;
use super::clients::{Client, SimWaiter};
use super::events::{Event, EventQueue, FaultStep, Note, Recent, TraceHash};
use super::{SimError, SimOptions, SimStats, Violation};
use crate::check::{Breach, Invariant};
use crate::host::{HostConfig, Replica, WaitingWrites};
use crate::kv::KvStore;
use crate::kv::history::HistoryEvent;
use crate::net::Fabric;
use crate::raft::{
    Config, DurableState, Entry, HardState, Index, LogWrite, Node, NodeId, Role, Snapshot, Status,
    Tally,
};
use crate::storage::{LogStorage, MemStorage, StateStorage, StorageError};

/// How long a node stopped by a disk error stays down, in µs.
const REBOOT_AFTER_DISK_ERROR_US: std::ops::Range<u64> = 10_000..200_000;

/// Mixed into the seed for the `reconfig` nemesis's own RNG.
const RACE_RNG_SALT: u64 = 0x7265_636f_6e66_6967;

/// How many recent events a violation shows.
const RECENT_EVENTS: usize = 40;

/// One node's slot: the live replica (when up) and what survives it.
pub(super) struct NodeSlot {
    /// The Raft node with its state machine and the clients waiting on
    /// it; `None` while crashed.
    pub(super) replica: Option<Replica<SimWaiter>>,
    /// What the node has promised to keep: its hard state, snapshot and
    /// log as of the last `Ready` whose messages may have left. With a
    /// correct driver that is what its disk holds synced; the checks run
    /// on it, and a restart must recover all of it.
    pub(super) durable: DurableState,
    /// The node's disk, which loses unsynced writes in a crash.
    pub(super) storage: MemStorage,
    /// Hard state not yet saved (only with the `ack-before-fsync` bug,
    /// which saves and syncs at the node's next tick).
    pub(super) unsaved_hard_state: Option<HardState>,
    /// Bumped by every crash, so messages sent to an earlier life are lost.
    pub(super) incarnation: u64,
    /// The writes clients waited for at the node's last life. A simulated
    /// client waits on a node, not on one life of it: when the node comes
    /// back within the attempt and applies the write, it answers.
    pub(super) orphaned_writes: WaitingWrites<SimWaiter>,
}

impl NodeSlot {
    /// The slot of a new node, with an empty disk and store.
    pub(super) fn fresh(node: Node, opts: &SimOptions) -> NodeSlot {
        NodeSlot {
            replica: Some(Replica::new(node, KvStore::new(), host_config(opts))),
            durable: DurableState::default(),
            storage: MemStorage::new(),
            unsaved_hard_state: None,
            incarnation: 0,
            orphaned_writes: WaitingWrites::default(),
        }
    }
}

/// A deterministic simulated cluster. See the [module docs](super).
pub struct Sim {
    pub(super) opts: SimOptions,
    pub(super) now: u64,
    pub(super) queue: EventQueue,
    /// Slot of node `id` is at `id - 1`.
    pub(super) nodes: Vec<NodeSlot>,
    pub(super) fabric: Fabric,
    /// Seeds for restarted nodes.
    pub(super) master_rng: ChaCha8Rng,
    /// Loss, delay and duplication draws.
    pub(super) net_rng: ChaCha8Rng,
    /// The fault schedule's choices.
    pub(super) fault_rng: ChaCha8Rng,
    /// The `reconfig` nemesis's choices (its own, so that turning it on
    /// leaves the other tracks' draws as they were).
    pub(super) race_rng: ChaCha8Rng,
    /// Client operations, targets and think times.
    pub(super) client_rng: ChaCha8Rng,
    /// The keys background clients use, `k0..k{keys-1}`, named once.
    pub(super) key_names: Vec<String>,
    pub(super) checker: Checker,
    pub(super) stats: SimStats,
    pub(super) history: Vec<HistoryEvent>,
    /// Background clients, then the foreground client (last).
    pub(super) clients: Vec<Client>,
    /// Background operations started so far.
    pub(super) ops_started: u64,
    pub(super) trace: TraceHash,
    pub(super) recent: Recent,
    /// The first violation; the run stops there.
    pub(super) violation: Option<Violation>,
    /// The node that last became leader.
    pub(super) last_leader: Option<NodeId>,
    /// Leader churn will crash the leader at its next client command.
    pub(super) churn_armed: bool,
    /// The network track's fault is on (until its `NetEnd`).
    pub(super) net_fault_active: bool,
    /// The reconfiguration race under way, if any.
    pub(super) race: Option<super::reconfig::Race>,
    /// Messages each node sent and received, at `id - 1`.
    pub(super) traffic: Vec<(u64, u64)>,
    /// Events recorded for a watcher (`Sim::observe`); `None`: not watched.
    pub(super) observed: Option<Vec<super::SimEvent>>,
    /// Called with every message sent and its fate (`Sim::on_send`).
    pub(super) on_send: Option<super::observe::SendHook>,
    /// Called with every raft event of every node (`Sim::on_raft_event`).
    pub(super) on_raft: Option<super::observe::RaftHook>,
    /// Messages held by hand, with their receiver's incarnation when sent
    /// (see `hold.rs`).
    pub(super) held: crate::net::HoldQueue<u64>,
    /// Shown the simulation after every step (`Sim::on_step`).
    pub(super) on_step: Option<super::observe::StepHook>,
}

impl Sim {
    /// Builds a cluster of `opts.nodes` fresh nodes, all connected, and
    /// schedules their ticks, the fault schedule and the background clients.
    pub fn new(opts: SimOptions) -> Result<Sim, SimError> {
        validate(&opts)?;
        let ids: Vec<NodeId> = (1..=opts.nodes as NodeId).collect();
        let mut fabric = Fabric::new(&ids)?;
        fabric.set_latency(opts.latency_us.0, opts.latency_us.1)?;
        let mut master_rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut derive = || ChaCha8Rng::seed_from_u64(master_rng.next_u64());
        let (net_rng, fault_rng, client_rng) = (derive(), derive(), derive());
        let race_rng = ChaCha8Rng::seed_from_u64(opts.seed ^ RACE_RNG_SALT);
        let mut nodes = Vec::with_capacity(ids.len());
        let mut queue = EventQueue::default();
        for &id in &ids {
            let node = Node::new(
                node_config(&opts, id),
                DurableState::default(),
                master_rng.next_u64(),
            )?;
            nodes.push(NodeSlot::fresh(node, &opts));
            let phase = rand::RngExt::random_range(&mut master_rng, 0..opts.tick_us);
            queue.push(phase, Event::Tick(id));
        }
        let clients = (0..=opts.clients)
            .map(|i| Client::new(i as u64 + 1, i < opts.clients))
            .collect();
        let key_names = (0..opts.keys.max(1)).map(|k| format!("k{k}")).collect();
        let mut sim = Sim {
            opts,
            now: 0,
            queue,
            nodes,
            fabric,
            master_rng,
            net_rng,
            fault_rng,
            race_rng,
            client_rng,
            key_names,
            checker: Checker::default(),
            stats: SimStats::default(),
            history: Vec::new(),
            clients,
            ops_started: 0,
            trace: TraceHash::default(),
            recent: Recent::new(RECENT_EVENTS),
            violation: None,
            last_leader: None,
            churn_armed: false,
            net_fault_active: false,
            race: None,
            observed: None,
            on_send: None,
            on_raft: None,
            held: crate::net::HoldQueue::default(),
            on_step: None,
            traffic: Vec::new(),
        };
        sim.traffic = vec![(0, 0); sim.nodes.len()];
        sim.schedule_first_faults();
        sim.schedule_first_ops();
        Ok(sim)
    }

    /// The options the simulation was built with.
    pub fn options(&self) -> &SimOptions {
        &self.opts
    }

    /// Virtual time, in µs since the start.
    pub fn now_us(&self) -> u64 {
        self.now
    }

    /// The node ids, `1..=n`.
    pub fn node_ids(&self) -> Vec<NodeId> {
        (1..=self.nodes.len() as NodeId).collect()
    }

    /// The up node that is leader in the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter_map(|s| s.replica.as_ref().map(Replica::node))
            .filter(|n| n.role() == Role::Leader)
            .max_by_key(|n| (n.term(), std::cmp::Reverse(n.id())))
            .map(Node::id)
    }

    /// Node `id`'s status; `None` when it is down or unknown.
    pub fn status(&self, id: NodeId) -> Option<Status> {
        self.node(id).map(Node::status)
    }

    /// Node `id`'s election so far, while it is a (pre-)candidate.
    pub fn tally(&self, id: NodeId) -> Option<Tally> {
        self.node(id).and_then(Node::tally)
    }

    /// Whether node `id` exists and is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }

    /// Node `id`'s log: the live one when up, the durable one when down.
    pub fn log(&self, id: NodeId) -> Option<&[Entry]> {
        let slot = self.slot(id)?;
        Some(match &slot.replica {
            Some(replica) => replica.node().log().entries(),
            None => &slot.durable.entries,
        })
    }

    /// Index of the last entry node `id`'s state machine applied (`None`
    /// when down or unknown).
    pub fn applied_index(&self, id: NodeId) -> Option<Index> {
        self.kv(id).map(KvStore::applied_index)
    }

    /// A stale read of `key` from node `id`'s state machine, as of what it
    /// applied. The outer `None`: the node is down or unknown.
    pub fn local_get(&self, id: NodeId, key: &str) -> Option<Option<String>> {
        self.kv(id).map(|kv| kv.get(key).map(str::to_string))
    }

    /// Crashes node `id`: the Raft node, its state machine and messages in
    /// flight to it are lost; its durable hard state and log are kept.
    pub fn crash(&mut self, id: NodeId) -> Result<(), SimError> {
        if !self.is_up(id) {
            return Err(self.missing(id));
        }
        self.note(Note::Text(format!("crash n{id}")));
        self.crash_node(id);
        Ok(())
    }

    /// Restarts node `id` from its durable state. Its state machine starts
    /// empty and is rebuilt as Raft hands out committed entries again.
    pub fn restart(&mut self, id: NodeId) -> Result<(), SimError> {
        match self.slot(id) {
            None => return Err(SimError::UnknownNode(id)),
            Some(slot) if slot.replica.is_some() => return Err(SimError::NodeUp(id)),
            Some(_) => {}
        }
        self.note(Note::Text(format!("restart n{id}")));
        self.restart_node(id)
    }

    /// The network.
    pub fn fabric(&self) -> &Fabric {
        &self.fabric
    }

    /// The network, to cut, partition or heal it.
    pub fn fabric_mut(&mut self) -> &mut Fabric {
        &mut self.fabric
    }

    /// Asks the current leader to hand leadership to `to`.
    pub fn transfer_leader(&mut self, to: NodeId) -> Result<(), SimError> {
        if self.slot(to).is_none() {
            return Err(SimError::UnknownNode(to));
        }
        let leader = self.leader().ok_or(SimError::NoLeader)?;
        self.note(Note::Text(format!("transfer leadership n{leader} → n{to}")));
        match self.drive(leader, |r| r.node_mut().transfer_leader(to)) {
            Ok(Some(result)) => Ok(result?),
            Ok(None) => Err(SimError::NodeDown(leader)),
            Err(v) => Err(SimError::Violation(Box::new(v))),
        }
    }

    /// Counters of the run so far.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// Every client operation event so far, in time order.
    pub fn history(&self) -> &[HistoryEvent] {
        &self.history
    }

    /// The first invariant violation, if the run hit one.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Checks the history is linearizable and every up node's state machine
    /// equals a replay of its log up to its applied index.
    pub fn check_history(&self) -> Result<(), Violation> {
        self.check_state()?;
        crate::kv::linearizability::check_described(&self.history)
            .map_err(|details| self.make_violation((Invariant::Linearizability, details)))
    }

    /// The full (non-incremental) check that each up node's state machine
    /// equals a replay of its committed log prefix.
    pub fn check_state(&self) -> Result<(), Violation> {
        for slot in &self.nodes {
            let Some(replica) = &slot.replica else {
                continue;
            };
            let (node, kv) = (replica.node(), replica.kv());
            let applied = kv.applied_index();
            let mut replay = match &slot.durable.snapshot {
                Some(snapshot) => KvStore::restore(&snapshot.data).map_err(|e| {
                    self.make_violation((
                        Invariant::SnapshotsRestore,
                        format!("n{}: {e}", node.id()),
                    ))
                })?,
                None => KvStore::new(),
            };
            for entry in node.log().slice(replay.applied_index() + 1, applied) {
                if let Err(e) = replay.apply(entry) {
                    return Err(self.make_violation((Invariant::CommandsDecode, e.to_string())));
                }
            }
            if replay != *kv {
                return Err(self.make_violation((
                    Invariant::StateMatchesReplay,
                    format!(
                        "n{}'s store at index {applied} differs from a replay of its snapshot and log",
                        node.id()
                    ),
                )));
            }
        }
        Ok(())
    }

    /// A hash of every event processed and the node states after each; two
    /// runs with the same options have the same hash.
    pub fn trace_hash(&self) -> u64 {
        self.trace.value()
    }

    /// The command line that replays this run.
    pub fn replay_command(&self) -> String {
        let o = &self.opts;
        let mut cmd = format!(
            "raftlab check --seeds {}..{} --nodes {} --faults {}",
            o.seed,
            o.seed.saturating_add(1),
            o.nodes,
            o.faults.names()
        );
        if o.max_ops > 0 {
            cmd.push_str(&format!(" --ops {}", o.max_ops));
        }
        for name in o.bugs.names() {
            cmd.push_str(&format!(" --bug {name}"));
        }
        cmd
    }

    pub(super) fn slot(&self, id: NodeId) -> Option<&NodeSlot> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.nodes.get(i)
    }

    pub(super) fn slot_mut(&mut self, id: NodeId) -> Option<&mut NodeSlot> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.nodes.get_mut(i)
    }

    pub(super) fn node(&self, id: NodeId) -> Option<&Node> {
        self.slot(id)?.replica.as_ref().map(Replica::node)
    }

    /// Node `id`'s state machine, while it is up.
    fn kv(&self, id: NodeId) -> Option<&KvStore> {
        self.slot(id)?.replica.as_ref().map(Replica::kv)
    }

    fn missing(&self, id: NodeId) -> SimError {
        if self.slot(id).is_some() {
            SimError::NodeDown(id)
        } else {
            SimError::UnknownNode(id)
        }
    }

    /// Loses node `id`'s volatile state.
    pub(super) fn crash_node(&mut self, id: NodeId) {
        // What was written but not synced may or may not have reached the
        // disk, and the first write lost may be torn; the seed decides.
        let unsynced = self.slot(id).map_or(0, |s| s.storage.unsynced_writes());
        let (survive, tear) = if unsynced > 0 {
            let survive = self.fault_rng.random_range(0..=unsynced);
            (survive, self.fault_rng.random_bool(0.5))
        } else {
            (0, false)
        };
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        let report = slot.storage.crash(survive, tear);
        slot.unsaved_hard_state = None;
        if let Some(mut replica) = slot.replica.take() {
            slot.orphaned_writes = replica.take_writes();
        }
        slot.incarnation += 1;
        self.checker.node_crashed(id);
        self.stats.crashes += 1;
        if report.kept + report.lost > 0 {
            self.note(Note::Text(format!(
                "n{id} crash: {} unsynced writes kept, {} lost{}",
                report.kept,
                report.lost,
                if report.torn { " (one torn)" } else { "" }
            )));
        }
    }

    /// Writes a `Ready`'s state to node `id`'s disk: the hard state, a
    /// received snapshot (and the compaction it implies), the log write.
    /// Nothing is synced yet.
    pub(super) fn write_to_disk(
        &mut self,
        id: NodeId,
        hard_state: Option<HardState>,
        snapshot: Option<&Snapshot>,
        log: Option<&LogWrite>,
    ) -> Result<(), StorageError> {
        let defer = self.opts.bugs.ack_before_fsync;
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        if let Some(hs) = hard_state {
            if defer {
                slot.unsaved_hard_state = Some(hs);
            } else {
                slot.storage.save_hard_state(hs)?;
            }
        }
        if let Some(snapshot) = snapshot {
            slot.storage.save_snapshot(snapshot)?;
            slot.storage.compact(snapshot.meta)?;
        }
        if let Some(write) = log {
            slot.storage.append(write)?;
        }
        Ok(())
    }

    /// Makes everything written to node `id`'s disk durable (and saves a
    /// hard state the ack-before-fsync bug held back).
    pub(super) fn sync_disk(&mut self, id: NodeId) -> Result<(), StorageError> {
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        if let Some(hs) = slot.unsaved_hard_state.take() {
            slot.storage.save_hard_state(hs)?;
        }
        slot.storage.sync()
    }

    /// A failed write or sync stops node `id`, as a process that cannot
    /// trust its disk must; it reboots a moment later. Nobody else is hurt.
    pub(super) fn disk_failure(&mut self, id: NodeId, error: StorageError) {
        self.stats.disk_errors += 1;
        self.note(Note::Text(format!("n{id} stopped: disk error: {error}")));
        self.crash_node(id);
        let at = self.now + self.fault_rng.random_range(REBOOT_AFTER_DISK_ERROR_US);
        self.queue.push(at, Event::Fault(FaultStep::Reboot(id)));
    }

    /// Brings node `id` back from its durable state.
    pub(super) fn restart_node(&mut self, id: NodeId) -> Result<(), SimError> {
        let seed = self.master_rng.next_u64();
        let config = node_config(&self.opts, id);
        let slot = self.slot(id).ok_or(SimError::UnknownNode(id))?;
        // Recover from what the disk holds, and check it kept every promise.
        let recovered = match slot.storage.load() {
            Ok(recovered) => recovered,
            Err(e) => {
                let breach = (
                    Invariant::Recovery,
                    format!("n{id} cannot recover its disk: {e}"),
                );
                return Err(SimError::Violation(Box::new(self.breach(breach))));
            }
        };
        if let Err(breach) = self.checker.after_recovery(id, &slot.durable, &recovered) {
            return Err(SimError::Violation(Box::new(self.breach(breach))));
        }
        let slot = self.slot_mut(id).ok_or(SimError::UnknownNode(id))?;
        slot.durable = recovered;
        let node = Node::new(config, slot.durable.clone(), seed)?;
        // The store comes back from the durable snapshot; Raft hands out
        // only the entries after it.
        let kv = match &slot.durable.snapshot {
            Some(snapshot) => KvStore::restore(&snapshot.data).map_err(|e| {
                SimError::InvalidOptions(format!("n{id} cannot restore its snapshot: {e}"))
            })?,
            None => KvStore::new(),
        };
        let restored = self.checker.restore(id, &kv);
        let host = host_config(&self.opts);
        if let Some(slot) = self.slot_mut(id) {
            let mut replica = Replica::new(node, kv, host);
            replica.adopt_writes(std::mem::take(&mut slot.orphaned_writes));
            slot.replica = Some(replica);
        }
        if let Err(breach) = restored {
            return Err(SimError::Violation(Box::new(self.breach(breach))));
        }
        self.stats.restarts += 1;
        self.after_input(id, false)
            .map_err(|v| SimError::Violation(Box::new(v)))
    }

    /// Records a note for the recent-events ring.
    pub(super) fn note(&mut self, note: Note) {
        self.observe_note(&note);
        self.recent.push(self.now, note);
    }

    /// A violation at the current time with the recent events; does not
    /// stop the run (see `breach`).
    pub(super) fn make_violation(&self, (invariant, details): Breach) -> Violation {
        Violation {
            seed: self.opts.seed,
            time_us: self.now,
            invariant,
            details,
            recent: self.recent.lines(),
            replay: self.replay_command(),
        }
    }

    /// Records the first violation, which stops the run, and returns it.
    pub(super) fn breach(&mut self, breach: Breach) -> Violation {
        let v = self.make_violation(breach);
        if self.violation.is_none() {
            self.violation = Some(v.clone());
        }
        v
    }

    /// A simulator error met while carrying out the fault schedule, as a
    /// violation (it means the node could not restart from its own state).
    pub(super) fn sim_error_violation(&mut self, e: SimError) -> Violation {
        match e {
            SimError::Violation(v) => *v,
            other => self.breach((Invariant::RestartFromDurableState, other.to_string())),
        }
    }
}

fn validate(opts: &SimOptions) -> Result<(), SimError> {
    let bad = |s: &str| Err(SimError::InvalidOptions(s.to_string()));
    if !(1..=9).contains(&opts.nodes) {
        return bad(&format!("nodes must be 1 to 9, not {}", opts.nodes));
    }
    if opts.tick_us == 0 {
        return bad("tick_us must be at least 1");
    }
    if opts.clients > 0 && opts.keys == 0 {
        return bad("background clients need at least one key");
    }
    if opts.attempt_timeout_us == 0 || opts.op_timeout_us == 0 {
        return bad("client timeouts must be at least 1 µs");
    }
    Ok(())
}

/// The rules of the simulator's replicas: the run's compaction threshold,
/// and clients that wait out their attempt when a leader steps down.
pub(super) fn host_config(opts: &SimOptions) -> HostConfig {
    HostConfig {
        snapshot_threshold: opts.snapshot_threshold,
        release_writes_on_step_down: false,
    }
}

/// The Raft configuration of node `id`: defaults plus the run's bugs and
/// extensions.
pub(super) fn node_config(opts: &SimOptions, id: NodeId) -> Config {
    let voters = (1..=opts.nodes as NodeId).collect();
    let mut config = Config::new(id, voters);
    config.bugs = opts.bugs;
    opts.extensions.apply(&mut config);
    config
}
