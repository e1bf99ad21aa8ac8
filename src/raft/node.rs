//! The Raft node (API skeleton; implementation in progress).

use super::*;

/// One Raft node.
pub struct Node {
    config: Config,
    log: RaftLog,
    hard_state: HardState,
    role: Role,
    leader: Option<NodeId>,
    commit: Index,
}

impl Node {
    /// Restores a node from its durable state. `seed` seeds its election-timeout RNG.
    pub fn new(config: Config, durable: DurableState, seed: u64) -> Result<Node, RaftError> {
        config.validate()?;
        let _ = seed;
        let log = RaftLog::from_entries(durable.entries).map_err(RaftError::InvalidState)?;
        Ok(Node {
            config,
            log,
            hard_state: durable.hard_state,
            role: Role::Follower,
            leader: None,
            commit: 0,
        })
    }
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Its term.
    pub fn term(&self) -> Term {
        self.hard_state.term
    }
    /// The leader it knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// Its commit index.
    pub fn commit_index(&self) -> Index {
        self.commit
    }
    /// Its log.
    pub fn log(&self) -> &RaftLog {
        &self.log
    }
    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Advances logical time by one tick.
    pub fn tick(&mut self) {}
    /// Handles a message addressed to this node.
    pub fn step(&mut self, msg: Message) {
        let _ = msg;
    }
    /// Proposes a command; returns the index it was appended at.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<Index, RaftError> {
        let _ = data;
        Err(RaftError::NotLeader {
            leader: self.leader,
        })
    }
    /// Asks for a linearizable read; the answer comes in `Ready::reads`.
    pub fn read(&mut self, id: ReadId) {
        let _ = id;
    }
    /// Hands leadership to `to` (leader only).
    pub fn transfer_leader(&mut self, to: NodeId) -> Result<(), RaftError> {
        let _ = to;
        Ok(())
    }
    /// Starts an election now (as if the election timer ran out).
    pub fn campaign(&mut self) {}
    /// Whether `take_ready` would return anything.
    pub fn has_ready(&self) -> bool {
        false
    }
    /// Drains everything produced since the last call.
    pub fn take_ready(&mut self) -> Ready {
        Ready::default()
    }
    /// A snapshot of the node's state.
    pub fn status(&self) -> Status {
        Status {
            id: self.config.id,
            role: self.role,
            term: self.hard_state.term,
            vote: self.hard_state.vote,
            leader: self.leader,
            commit: self.commit,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            election_elapsed: 0,
            election_timeout: 0,
            progress: Vec::new(),
        }
    }
}
