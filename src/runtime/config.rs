//! How a live cluster is set up: size, seed, timing, storage, transport.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::RuntimeError;
use super::storage::{MemStorage, NodeStorage, StorageError};
use crate::net::{ClusterKey, Link};
use crate::raft::{Bugs, Config, NodeId};
use crate::sim::Extensions;

/// Makes the storage of node `id` at cluster start. The seam where file
/// storage plugs in; the default keeps everything in memory.
pub type StorageFactory = Arc<dyn Fn(NodeId) -> Result<NodeStorage, StorageError> + Send + Sync>;

/// How the nodes of a live cluster reach each other. Either way every
/// message first passes the cluster's fabric (which may drop, delay or
/// duplicate it); the transport only carries what the fabric lets through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// In-memory channels (the default).
    #[default]
    Channel,
    /// Loopback TCP: node `i` listens on `127.0.0.1:base_port + i` and
    /// messages travel as length-prefixed postcard frames. `base_port` 0
    /// lets the system pick free ports (see [`Cluster::addresses`](super::Cluster::addresses)).
    Tcp {
        /// Port of node 0 (node `i` gets `base_port + i`); 0 for ports the
        /// system picks.
        base_port: u16,
    },
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Channel => f.write_str("channel"),
            Transport::Tcp { base_port: 0 } => f.write_str("tcp"),
            Transport::Tcp { base_port } => write!(f, "tcp:{base_port}"),
        }
    }
}

impl FromStr for Transport {
    type Err = String;

    /// `channel`, `tcp` (free ports) or `tcp:PORT` (node `i` on `PORT + i`).
    fn from_str(s: &str) -> Result<Transport, String> {
        let bad = || format!("'{s}' is not a transport: write channel, tcp or tcp:PORT");
        match s.trim() {
            "channel" => Ok(Transport::Channel),
            "tcp" => Ok(Transport::Tcp { base_port: 0 }),
            other => {
                let port = other.strip_prefix("tcp:").ok_or_else(bad)?;
                let base_port = port.parse().map_err(|_| bad())?;
                Ok(Transport::Tcp { base_port })
            }
        }
    }
}

/// Settings of a live cluster.
#[derive(Clone)]
pub struct ClusterConfig {
    /// Number of nodes, 1 to 9 (default 5); their ids are `1..=nodes`.
    pub nodes: usize,
    /// Seed of every node's RNG (election timeouts, link faults).
    pub seed: u64,
    /// Wall-clock length of one Raft tick at speed 1.0 (default 50 ms: an
    /// election timeout of 15–30 ticks takes 0.75–1.5 s, a heartbeat every
    /// 250 ms, slow enough to follow an election by eye).
    pub tick: Duration,
    /// Initial speed factor, 0.1 to 10 (default 1.0).
    pub speed: f64,
    /// Start with the clock paused (default false).
    pub start_paused: bool,
    /// A node snapshots its store and compacts its log once it has applied
    /// this many entries past its last snapshot (default 100, small enough to
    /// watch happen in the playground; 0: never).
    pub snapshot_threshold: u64,
    /// Log entries per node shown in the view (default 8).
    pub log_window: usize,
    /// Recent events kept for the view (default 256).
    pub event_capacity: usize,
    /// Known-unsafe protocol variants (default none).
    pub bugs: Bugs,
    /// PreVote and CheckQuorum (default both on).
    pub extensions: Extensions,
    /// The delay range of every link, cluster µs inclusive (default
    /// 0.5–2 ms, [`Link::DEFAULT_DELAY_US`], which benchmarks keep; the
    /// dashboard sets one a person can watch).
    pub latency_us: (u64, u64),
    /// Makes each node's storage (default: in memory).
    pub storage: StorageFactory,
    /// How nodes reach each other (default: in-memory channels).
    pub transport: Transport,
    /// Record every client operation in the cluster's history (default
    /// true). A benchmark turns it off: the history grows without bound
    /// and every operation would take its lock twice.
    pub record_history: bool,
    /// Record every message and judge Raft's invariants and the client
    /// history live (default false; the dashboard turns it on). Can be
    /// switched later with [`Cluster::set_observe`](super::Cluster::set_observe).
    pub observe: bool,
    /// Messages the observer's ring keeps (default
    /// [`MESSAGE_CAPACITY`](super::observe::MESSAGE_CAPACITY), 4,096).
    pub message_capacity: usize,
    /// Client history events kept, the first ones (default
    /// [`HISTORY_CAPACITY`](super::HISTORY_CAPACITY), 20,000); later
    /// operations are counted, not kept.
    pub history_capacity: usize,
    /// The cluster's key over TCP: every connection proves it (default
    /// `None`: a random key made when the cluster starts, which is all an
    /// in-process cluster needs; `raftlab node` passes the one from its
    /// secret file).
    pub key: Option<Arc<ClusterKey>>,
    /// The address a multi-process node tells its peers to use (its
    /// `--advertise`); `None`: the address it listens on.
    pub advertise: Option<std::net::SocketAddr>,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        ClusterConfig {
            nodes: 5,
            seed: 0,
            tick: Duration::from_millis(50),
            speed: 1.0,
            start_paused: false,
            snapshot_threshold: 100,
            log_window: 8,
            event_capacity: 256,
            bugs: Bugs::default(),
            extensions: Extensions::default(),
            latency_us: Link::DEFAULT_DELAY_US,
            storage: Arc::new(|_| Ok(Box::new(MemStorage::new()) as NodeStorage)),
            transport: Transport::Channel,
            record_history: true,
            observe: false,
            message_capacity: super::observe::MESSAGE_CAPACITY,
            history_capacity: super::HISTORY_CAPACITY,
            key: None,
            advertise: None,
        }
    }
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("nodes", &self.nodes)
            .field("seed", &self.seed)
            .field("tick", &self.tick)
            .field("speed", &self.speed)
            .field("start_paused", &self.start_paused)
            .field("snapshot_threshold", &self.snapshot_threshold)
            .field("log_window", &self.log_window)
            .field("event_capacity", &self.event_capacity)
            .field("bugs", &self.bugs)
            .field("extensions", &self.extensions)
            .field("latency_us", &self.latency_us)
            .field("transport", &self.transport)
            .field("record_history", &self.record_history)
            .field("observe", &self.observe)
            .finish_non_exhaustive()
    }
}

/// Most entries in one `Append` of the live cluster (the protocol's
/// default is 64). The live cluster's links are in-process channels or
/// loopback sockets that seldom lose anything, so a follower that fell
/// behind gets bigger appends: fewer messages per entry, and a leader's
/// backlog under heavy load stays in flight instead of in its log, where
/// compaction could cut it off and force a snapshot.
pub(crate) const LIVE_MAX_APPEND_ENTRIES: usize = 256;
/// Appends in flight per follower in the live cluster (the protocol's
/// default is 4); with [`LIVE_MAX_APPEND_ENTRIES`], up to 2,048 entries.
pub(crate) const LIVE_MAX_INFLIGHT: usize = 8;

/// Slowest and fastest speed factors.
pub(crate) const SPEED_RANGE: std::ops::RangeInclusive<f64> = 0.1..=10.0;

impl ClusterConfig {
    /// Checks that the settings make sense.
    pub(crate) fn validate(&self) -> Result<(), RuntimeError> {
        let bad = |s: String| Err(RuntimeError::InvalidConfig(s));
        if !(1..=9).contains(&self.nodes) {
            return bad(format!("nodes must be 1 to 9, not {}", self.nodes));
        }
        if self.tick.is_zero() || self.tick > Duration::from_secs(10) {
            return bad(format!(
                "tick {:?} must be above 0 and at most 10 s",
                self.tick
            ));
        }
        if self.latency_us.0 > self.latency_us.1 {
            return bad(format!(
                "the latency {}..{} µs is empty (min above max)",
                self.latency_us.0, self.latency_us.1
            ));
        }
        if !SPEED_RANGE.contains(&self.speed) {
            return Err(RuntimeError::InvalidSpeed(self.speed));
        }
        if let Transport::Tcp { base_port } = self.transport
            && base_port != 0
            && u16::try_from(base_port as usize + self.nodes).is_err()
        {
            return bad(format!(
                "TCP ports from {base_port} for {} nodes run past 65535",
                self.nodes
            ));
        }
        Ok(())
    }

    /// Node ids, `1..=nodes`.
    pub(crate) fn ids(&self) -> Vec<NodeId> {
        (1..=self.nodes as NodeId).collect()
    }

    /// The Raft configuration of node `id`.
    pub(crate) fn raft_config(&self, id: NodeId) -> Config {
        let mut config = Config::new(id, self.ids());
        config.bugs = self.bugs;
        self.extensions.apply(&mut config);
        config.max_append_entries = LIVE_MAX_APPEND_ENTRIES;
        config.max_inflight = LIVE_MAX_INFLIGHT;
        config
    }
}
