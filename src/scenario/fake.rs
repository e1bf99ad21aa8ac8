//! A toy cluster for the runner's tests: a leader is "elected" 300 ms after
//! the last one was lost, provided a majority of nodes is up and connected;
//! writes reach every node connected to the leader at once. It is not Raft,
//! only enough behaviour to exercise every statement of the language.

use crate::kv::{ClientId, Command, KvStore, Op, OpResult};
use crate::raft::{Entry, EntryData, Index, NodeId, Role, Status};

use super::{ClientOutcome, Cluster, ClusterError, ClusterStats};

/// How long the fake takes to elect a leader.
const ELECTION_US: u64 = 300_000;
/// Its heartbeat interval (each heartbeat counts one message per follower).
const HEARTBEAT_US: u64 = 50_000;

pub struct Fake {
    now: u64,
    n: usize,
    up: Vec<bool>,
    group: Vec<usize>,
    leader: Option<NodeId>,
    term: u64,
    no_leader_since: u64,
    log: Vec<Entry>,
    have: Vec<usize>,
    stores: Vec<KvStore>,
    stats: ClusterStats,
    next_client: ClientId,
    /// Fabric calls received, for tests to assert on.
    pub calls: Vec<String>,
    /// Makes `check_history` report a violation.
    pub broken_history: bool,
    /// An operation `start` sent: the fake carries it out when its reply
    /// is asked for.
    started: Option<(Op, Option<NodeId>, u64)>,
}

impl Fake {
    pub fn new(n: usize) -> Fake {
        Fake {
            now: 0,
            n,
            up: vec![true; n],
            group: vec![0; n],
            leader: None,
            term: 0,
            no_leader_since: 0,
            log: Vec::new(),
            have: vec![0; n],
            stores: vec![KvStore::new(); n],
            stats: ClusterStats::default(),
            next_client: 1,
            calls: Vec::new(),
            broken_history: false,
            started: None,
        }
    }

    fn slot(&self, id: NodeId) -> Option<usize> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        (i < self.n).then_some(i)
    }

    fn majority_group(&self) -> Option<usize> {
        (0..self.n).map(|i| self.group[i]).find(|&g| {
            (0..self.n)
                .filter(|&i| self.up[i] && self.group[i] == g)
                .count()
                > self.n / 2
        })
    }

    fn update(&mut self) {
        let majority = self.majority_group();
        if let Some(l) = self.leader.and_then(|l| self.slot(l))
            && (!self.up[l] || Some(self.group[l]) != majority)
        {
            self.leader = None;
            self.no_leader_since = self.now;
        }
        if self.leader.is_none()
            && self.now >= self.no_leader_since + ELECTION_US
            && let Some(g) = majority
            && let Some(i) = (0..self.n).find(|&i| self.up[i] && self.group[i] == g)
        {
            self.term += 1;
            self.stats.elections += 1;
            self.leader = Some(i as NodeId + 1);
            self.append(EntryData::Noop);
        }
        self.sync();
    }

    fn append(&mut self, data: EntryData) -> Option<OpResult> {
        let index = self.log.len() as Index + 1;
        self.log.push(Entry {
            index,
            term: self.term,
            data,
        });
        self.sync()
    }

    /// Brings every node connected to the leader up to date; returns the
    /// leader's result for the last entry it applied.
    fn sync(&mut self) -> Option<OpResult> {
        let l = self.leader.and_then(|l| self.slot(l))?;
        let mut result = None;
        for i in 0..self.n {
            if self.up[i] && self.group[i] == self.group[l] {
                while self.have[i] < self.log.len() {
                    let applied = self.stores[i].apply(&self.log[self.have[i]]).ok().flatten();
                    self.have[i] += 1;
                    if i == l {
                        result = applied.map(|a| a.result);
                    }
                }
            }
        }
        result
    }

    fn advance(&mut self, us: u64) {
        let end = self.now + us;
        while self.now < end {
            let step = (end - self.now).min(10_000);
            let before = self.now / HEARTBEAT_US;
            self.now += step;
            if self.leader.is_some() {
                self.stats.messages_sent +=
                    (self.now / HEARTBEAT_US - before) * (self.n as u64 - 1);
            }
            self.update();
        }
    }

    fn record(&mut self, call: String) -> Result<(), ClusterError> {
        self.calls.push(call);
        Ok(())
    }
}

impl Cluster for Fake {
    fn now_us(&self) -> u64 {
        self.now
    }
    fn node_ids(&self) -> Vec<NodeId> {
        (1..=self.n as NodeId).collect()
    }
    fn run_for(&mut self, us: u64) -> Result<(), ClusterError> {
        self.advance(us);
        Ok(())
    }
    fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    fn status(&self, id: NodeId) -> Option<Status> {
        let i = self.slot(id).filter(|&i| self.up[i])?;
        Some(Status {
            id,
            role: if self.leader == Some(id) {
                Role::Leader
            } else {
                Role::Follower
            },
            term: self.term,
            vote: self.leader,
            leader: self.leader,
            commit: self.have[i] as Index,
            last_index: self.have[i] as Index,
            last_term: self
                .log
                .get(self.have[i].wrapping_sub(1))
                .map_or(0, |e| e.term),
            snapshot_index: 0,
            election_elapsed: 0,
            election_timeout: 0,
            progress: Vec::new(),
            membership: crate::raft::Membership::of_voters(self.node_ids()),
            membership_pending: false,
            refusals: Vec::new(),
        })
    }
    fn is_up(&self, id: NodeId) -> bool {
        self.slot(id).is_some_and(|i| self.up[i])
    }
    fn log(&self, id: NodeId) -> Option<std::borrow::Cow<'_, [Entry]>> {
        let i = self.slot(id).filter(|&i| self.up[i])?;
        Some(std::borrow::Cow::Borrowed(&self.log[..self.have[i]]))
    }
    fn applied_index(&self, id: NodeId) -> Option<Index> {
        let i = self.slot(id).filter(|&i| self.up[i])?;
        Some(self.stores[i].applied_index())
    }
    fn local_get(&self, id: NodeId, key: &str) -> Option<Option<String>> {
        let i = self.slot(id).filter(|&i| self.up[i])?;
        Some(self.stores[i].get(key).map(str::to_string))
    }
    fn crash(&mut self, id: NodeId) -> Result<(), ClusterError> {
        match self.slot(id) {
            Some(i) if self.up[i] => {
                self.up[i] = false;
                self.update();
                Ok(())
            }
            _ => Err(ClusterError::Refused(format!("node {id} is not running"))),
        }
    }
    fn restart(&mut self, id: NodeId) -> Result<(), ClusterError> {
        match self.slot(id) {
            Some(i) if !self.up[i] => {
                self.up[i] = true;
                self.update();
                Ok(())
            }
            _ => Err(ClusterError::Refused(format!("node {id} is running"))),
        }
    }
    fn isolate(&mut self, id: NodeId) -> Result<(), ClusterError> {
        if let Some(i) = self.slot(id) {
            self.group[i] = 100 + i;
        }
        self.update();
        self.record(format!("isolate {id}"))
    }
    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), ClusterError> {
        for (g, ids) in groups.iter().enumerate() {
            for &id in ids {
                if let Some(i) = self.slot(id) {
                    self.group[i] = g;
                }
            }
        }
        self.update();
        self.record(format!("partition {groups:?}"))
    }
    fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), ClusterError> {
        self.record(format!("cut {from} {to}"))
    }
    fn heal(&mut self) -> Result<(), ClusterError> {
        self.group = vec![0; self.n];
        self.record("heal".to_string())
    }
    fn set_loss(&mut self, p: f64) -> Result<(), ClusterError> {
        self.record(format!("loss {p}"))
    }
    fn set_delay(&mut self, min_us: u64, max_us: u64) -> Result<(), ClusterError> {
        self.record(format!("delay {min_us} {max_us}"))
    }
    fn set_duplicate(&mut self, p: f64) -> Result<(), ClusterError> {
        self.record(format!("duplicate {p}"))
    }
    fn transfer_leader(&mut self, to: NodeId) -> Result<(), ClusterError> {
        if self.leader.is_none() || !self.is_up(to) {
            return Err(ClusterError::Refused("cannot transfer now".to_string()));
        }
        self.leader = Some(to);
        self.term += 1;
        self.record(format!("transfer {to}"))
    }
    fn start(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<(), ClusterError> {
        if self.started.is_some() {
            return Err(ClusterError::Refused("an operation is open".into()));
        }
        self.started = Some((op, target, timeout_us));
        Ok(())
    }
    fn take_reply(&mut self) -> Option<ClientOutcome> {
        let (op, target, timeout_us) = self.started.take()?;
        self.submit(op, target, timeout_us).ok()
    }
    fn submit(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<ClientOutcome, ClusterError> {
        if let Some(t) = target
            && !self.is_up(t)
        {
            return Ok(ClientOutcome::Unavailable(format!("n{t} is down")));
        }
        let leader = self.leader.and_then(|l| self.slot(l));
        let reachable = match (leader, target.and_then(|t| self.slot(t))) {
            (Some(l), Some(t)) => self.group[l] == self.group[t],
            (Some(_), None) => true,
            (None, _) => false,
        };
        let Some(l) = leader.filter(|_| reachable) else {
            self.advance(timeout_us);
            return Ok(ClientOutcome::Timeout);
        };
        self.stats.messages_sent += 2 * (self.n as u64 - 1);
        self.advance(2_000);
        let result = if op.is_write() {
            let client = self.next_client;
            self.next_client += 1;
            let bytes = Command { client, seq: 1, op }.encode();
            self.append(EntryData::Command(bytes.into()))
        } else {
            Some(self.stores[l].read(&op))
        };
        Ok(match result {
            Some(r) => ClientOutcome::Ok(r),
            None => ClientOutcome::Timeout,
        })
    }
    fn stats(&self) -> ClusterStats {
        self.stats
    }
    fn trace_hash(&self) -> u64 {
        self.now ^ (self.log.len() as u64) << 32
    }
    fn check_history(&self) -> Result<(), ClusterError> {
        if self.broken_history {
            Err(ClusterError::Violation(
                "invariant violated: history is not linearizable".to_string(),
            ))
        } else {
            Ok(())
        }
    }
}
