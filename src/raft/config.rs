//! Configuration of one Raft node: who its peers are and how long its timers run.

use serde::{Deserialize, Serialize};

use super::{NodeId, Ticks};

/// The default of [`Config::max_append_bytes`]: 1 MiB. An `Append` of a
/// full budget stays far below the TCP transport's frame limit (16 MiB,
/// `net::DEFAULT_MAX_FRAME`) — the entries' own headers add a few bytes
/// each, and one oversized entry sent alone is the only way past it —
/// while a follower catching up still gets a megabyte per round trip and
/// per in-flight slot (`max_inflight` × 1 MiB in flight). Smaller appends
/// also keep a leader's heartbeats and votes from queueing behind one huge
/// frame on a slow link.
pub const DEFAULT_MAX_APPEND_BYTES: usize = 1 << 20;

fn default_max_append_bytes() -> usize {
    DEFAULT_MAX_APPEND_BYTES
}

/// Settings of one node. Times are in ticks; the driver decides how long a
/// tick lasts (10 ms in the live cluster and the simulator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// This node's id.
    pub id: NodeId,
    /// The cluster's initial configuration: the voters every node starts
    /// with. Membership changes in the log replace it. A node outside it (one
    /// that will be added later) starts as a non-member and waits for the
    /// leader to reach it.
    pub voters: Vec<NodeId>,
    /// Election timeouts are drawn uniformly from `[min, max)` ticks
    /// (default 15..30: the Raft paper's 150–300 ms at a 10 ms tick).
    pub election_timeout_min: Ticks,
    /// See `election_timeout_min`.
    pub election_timeout_max: Ticks,
    /// Ticks between a leader's heartbeats (default 5: 50 ms).
    pub heartbeat_interval: Ticks,
    /// Most entries carried by one `Append` (default 64).
    pub max_append_entries: usize,
    /// Most payload bytes (the commands' bytes) carried by one `Append`
    /// (default 1 MiB, [`DEFAULT_MAX_APPEND_BYTES`]). An entry larger than
    /// this on its own still goes, alone, so the log always moves on.
    #[serde(default = "default_max_append_bytes")]
    pub max_append_bytes: usize,
    /// Most `Append` messages with entries in flight to one follower before
    /// the leader waits for answers (default 4).
    pub max_inflight: usize,
    /// Largest chunk of a snapshot sent in one `InstallSnapshot` (default
    /// 16 KiB).
    pub snapshot_chunk_bytes: usize,
    /// Run a pre-vote round before an election (default on).
    pub pre_vote: bool,
    /// A leader that has not heard from a quorum within an election timeout
    /// steps down, and followers that heard from a leader recently refuse
    /// votes (default on).
    pub check_quorum: bool,
    /// Known-unsafe protocol variants, for teaching and to prove the checks
    /// can fail. All off by default.
    pub bugs: Bugs,
}

/// Deliberately broken variants of the protocol (`raftlab check --bug NAME`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bugs {
    /// Commit entries of older terms by counting replicas (Raft Figure 8).
    pub commit_old_terms: bool,
    /// Accept appends without checking the entry before them.
    pub skip_prev_check: bool,
    /// Forget the vote when restarting from durable state.
    pub forget_vote: bool,
    /// A leader answers reads at once, without confirming it is still leader.
    pub leader_reads_without_read_index: bool,
    /// The driver sends a `Ready`'s messages before its state is synced to
    /// disk (it syncs later), so a crash can lose what a node acknowledged.
    /// The Raft core ignores this; drivers honour it.
    pub ack_before_fsync: bool,
    /// A leader accepts a membership change while the previous one is not
    /// committed yet, so two single-server changes can be in flight and
    /// majorities of the configurations they make need not overlap.
    pub two_changes_in_flight: bool,
}

/// A name no unsafe protocol variant has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bug '{0}'; the bugs are: {names}", names = Bugs::name_list())]
pub struct UnknownBug(pub String);

impl Bugs {
    /// Names accepted by `--bug`, with a one-line explanation each.
    pub const NAMES: &'static [(&'static str, &'static str)] = &[
        (
            "commit-old-terms",
            "commit entries of older terms by counting replicas (Raft Figure 8)",
        ),
        (
            "skip-prev-check",
            "accept appends without checking the previous entry",
        ),
        ("forget-vote", "forget the vote on restart"),
        (
            "stale-leader-reads",
            "serve reads at the leader without ReadIndex",
        ),
        (
            "ack-before-fsync",
            "send acknowledgements before the state they promise is synced to disk",
        ),
        (
            "two-changes-in-flight",
            "accept a membership change before the previous one is committed",
        ),
    ];

    /// Turns on the variant called `name`; false when no variant has that name.
    pub fn enable(&mut self, name: &str) -> bool {
        match name {
            "commit-old-terms" => self.commit_old_terms = true,
            "skip-prev-check" => self.skip_prev_check = true,
            "forget-vote" => self.forget_vote = true,
            "stale-leader-reads" => self.leader_reads_without_read_index = true,
            "ack-before-fsync" => self.ack_before_fsync = true,
            "two-changes-in-flight" => self.two_changes_in_flight = true,
            _ => return false,
        }
        true
    }

    /// The variants called `names` (as `--bug` takes them), turned on
    /// together; the first name no variant has is the error.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Bugs, UnknownBug> {
        let mut bugs = Bugs::default();
        for name in names {
            let name = name.as_ref();
            if !bugs.enable(name) {
                return Err(UnknownBug(name.to_string()));
            }
        }
        Ok(bugs)
    }

    /// Every variant's name, as `--bug` takes them, joined by commas.
    pub fn name_list() -> String {
        let names: Vec<&str> = Bugs::NAMES.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// The names (as `--bug` takes them) of the variants turned on.
    pub fn names(&self) -> Vec<&'static str> {
        let on = [
            self.commit_old_terms,
            self.skip_prev_check,
            self.forget_vote,
            self.leader_reads_without_read_index,
            self.ack_before_fsync,
            self.two_changes_in_flight,
        ];
        Bugs::NAMES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|((name, _), _)| *name)
            .collect()
    }

    /// Whether any variant is on.
    pub fn any(&self) -> bool {
        *self != Bugs::default()
    }
}

impl Config {
    /// The defaults for node `id` in a cluster of `voters`.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_timeout_min: 15,
            election_timeout_max: 30,
            heartbeat_interval: 5,
            max_append_entries: 64,
            max_append_bytes: DEFAULT_MAX_APPEND_BYTES,
            max_inflight: 4,
            snapshot_chunk_bytes: 16 * 1024,
            pre_vote: true,
            check_quorum: true,
            bugs: Bugs::default(),
        }
    }

    /// Checks that the settings make sense.
    pub fn validate(&self) -> Result<(), super::RaftError> {
        use super::RaftError::InvalidConfig;
        if self.voters.is_empty() {
            return Err(InvalidConfig(
                "the initial configuration has no voters".into(),
            ));
        }
        if let Some(bad) = self
            .voters
            .iter()
            .chain([&self.id])
            .find(|&&id| !super::NodeSet::valid(id))
        {
            return Err(super::RaftError::InvalidNodeId(*bad));
        }
        if self.election_timeout_min == 0 || self.election_timeout_max <= self.election_timeout_min
        {
            return Err(InvalidConfig(format!(
                "election timeout range {}..{} is empty",
                self.election_timeout_min, self.election_timeout_max
            )));
        }
        if self.heartbeat_interval == 0 || self.heartbeat_interval >= self.election_timeout_min {
            return Err(InvalidConfig(format!(
                "heartbeat interval {} must be at least 1 and below the election timeout {}",
                self.heartbeat_interval, self.election_timeout_min
            )));
        }
        if self.max_append_entries == 0
            || self.max_append_bytes == 0
            || self.max_inflight == 0
            || self.snapshot_chunk_bytes == 0
        {
            return Err(InvalidConfig(
                "max_append_entries, max_append_bytes, max_inflight and snapshot_chunk_bytes must be at least 1"
                    .into(),
            ));
        }
        Ok(())
    }
}
