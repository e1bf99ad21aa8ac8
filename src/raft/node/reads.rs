//! Reads: answering a read linearizably without writing to the log.
//!
//! A leader cannot simply answer from its state machine: a newer leader may
//! have been elected behind its back and committed writes it has not seen.
//! **ReadIndex** (thesis §6.4) closes the gap. When a read arrives the
//! leader notes its commit index and starts a *read round*: it bumps a
//! sequence number and sends it with a heartbeat to every follower. Once a
//! quorum of voters has acknowledged that round (or a later one), no other
//! leader can have existed at that moment, so the read may be served as soon
//! as the state machine has applied the noted index. The leader must first
//! have committed an entry of its own term, or its commit index could lag
//! behind what earlier leaders committed. A node that is not leader answers
//! `NotLeader` with the leader it knows of, so the client can go there.

use super::Node;
use crate::raft::{NodeId, ReadId, ReadOutcome, ReadResult};

/// A read waiting for its heartbeat round to be acknowledged by a quorum.
#[derive(Clone, Debug)]
pub(super) struct PendingRead {
    /// The driver's id for the read.
    pub(super) id: ReadId,
    /// The read round it waits on.
    pub(super) seq: u64,
}

impl Node {
    /// Asks for a linearizable read, identified by `id`. The answer comes
    /// back in `Ready::reads`: `Ready { index }` once a quorum confirmed this
    /// node is still leader (ReadIndex), or `NotLeader`.
    pub fn read(&mut self, id: ReadId) {
        let leader_reads_bug = self.config.bugs.leader_reads_without_read_index;
        let commit = self.commit;
        let Some(leader) = self.role.leader_mut() else {
            let outcome = ReadOutcome::NotLeader {
                leader: self.leader,
            };
            self.reads.push(ReadResult { id, outcome });
            return;
        };
        if leader_reads_bug {
            let outcome = ReadOutcome::Ready { index: commit };
            self.reads.push(ReadResult { id, outcome });
            return;
        }
        leader.read_seq += 1;
        let seq = leader.read_seq;
        leader.pending_reads.push_back(PendingRead { id, seq });
        // A leader that is the only voter confirms it alone.
        self.broadcast_heartbeat();
        self.release_reads();
    }

    /// A follower acknowledged a read round: count it towards the pending
    /// reads, and send it entries if its log is behind.
    pub(super) fn on_heartbeat_response(&mut self, from: NodeId, read_seq: u64) {
        let last_index = self.log.last_index();
        let Some(peer) = self.role.peer_mut(from) else {
            return;
        };
        peer.mark_active();
        peer.ack_read(read_seq);
        let behind = peer.match_index() < last_index;
        self.release_reads();
        if behind {
            self.send_append(from);
        }
    }

    /// Answers the reads whose heartbeat round a quorum acknowledged, once
    /// this leader has committed an entry of its own term.
    pub(super) fn release_reads(&mut self) {
        let members = self.members;
        let id = self.config.id;
        let commit = self.commit;
        let committed_in_term =
            self.log.term_at(commit) == Some(self.term()) || self.config.bugs.commit_old_terms;
        let Some(leader) = self.role.leader_mut() else {
            return;
        };
        if !committed_in_term || leader.pending_reads.is_empty() {
            return;
        }
        let mut acks: Vec<u64> = leader
            .peers
            .iter()
            .filter(|(id, _)| members.is_voter(**id))
            .map(|(_, p)| p.read_ack())
            .collect();
        if members.is_voter(id) {
            acks.push(leader.read_seq);
        }
        acks.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&confirmed) = acks.get(members.quorum() - 1) else {
            return;
        };
        while let Some(read) = leader.pending_reads.front() {
            if read.seq > confirmed {
                break;
            }
            let id = read.id;
            leader.pending_reads.pop_front();
            self.reads.push(ReadResult {
                id,
                outcome: ReadOutcome::Ready { index: commit },
            });
        }
    }
}
