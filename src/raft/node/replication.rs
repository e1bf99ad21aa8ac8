//! Replication: how the leader copies its log and decides what is committed.
//!
//! A proposal becomes an entry at the end of the leader's log, stamped with
//! its term. The leader keeps, for every other member, how far their logs
//! are known to match (`match_index`) and what to send next (`next_index`),
//! and sends `Append` messages carrying the entry before the new ones, so
//! the follower can check that the logs match up to there. While it does
//! not yet know where a follower's log matches its own, the leader *probes*:
//! one append at a time, moving back on each rejection. Once an append is
//! accepted it *pipelines*: several appends in flight without waiting for
//! answers. A follower whose next entry was compacted away gets the
//! latest snapshot instead.
//!
//! An entry is *committed* once a quorum of voters stores it, and only if it
//! belongs to the leader's current term (§5.4.2): an entry of an earlier
//! term may be on a majority and still be overwritten, which is exactly what
//! Figure 8 of the paper shows. Entries of older terms commit indirectly,
//! with the first entry of the new term after them; that is why a new
//! leader appends an empty entry at once.

use super::Node;
use crate::raft::{Body, Entry, EntryData, Event, Index, NodeId, Payload, RaftError, Term};

impl Node {
    /// Proposes a command. On the leader, returns the index it was appended
    /// at; it is committed when it shows up in `Ready::committed`.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<Index, RaftError> {
        self.proposing_leader()?;
        let index = self.append_own(EntryData::Command(data.into()));
        self.broadcast_append();
        self.maybe_commit();
        Ok(index)
    }

    /// Proposes several commands at once: the same as proposing them one
    /// after another, except that the followers hear of them in one append
    /// (as far as flow control allows) instead of one append per command.
    /// On the leader, returns the index the first was appended at (the
    /// others follow it in order); otherwise none is appended.
    pub fn propose_batch(&mut self, data: Vec<Payload>) -> Result<Index, RaftError> {
        self.proposing_leader()?;
        let first = self.log.last_index() + 1;
        for data in data {
            self.append_own(EntryData::Command(data));
        }
        self.broadcast_append();
        self.maybe_commit();
        Ok(first)
    }

    /// Appends an entry of the current term to the leader's own log.
    pub(super) fn append_own(&mut self, data: EntryData) -> Index {
        let index = self.log.last_index() + 1;
        let term = self.term();
        self.log.push(Entry { index, term, data });
        index
    }

    /// Sends every other member what it is missing.
    pub(super) fn broadcast_append(&mut self) {
        for peer in self.member_peers() {
            self.send_append(peer);
        }
    }

    /// Sends `to` what it is missing, as far as flow control allows: one
    /// append at a time while probing, up to `max_inflight` while pipelining.
    pub(super) fn send_append(&mut self, to: NodeId) {
        let last_index = self.log.last_index();
        let max_entries = self.config.max_append_entries as Index;
        let max_bytes = self.config.max_append_bytes;
        let max_inflight = self.config.max_inflight;
        let commit = self.commit;
        loop {
            let Some(peer) = self.role.peer_mut(to) else {
                return;
            };
            if peer.is_sending_snapshot() {
                return self.send_snapshot_chunk(to);
            }
            if !peer.may_send_append(last_index, max_inflight) {
                return;
            }
            let prev_index = peer.next_index() - 1;
            let Some(prev_term) = self.log.term_at(prev_index) else {
                // The entries it needs were compacted away: send the
                // snapshot instead (one chunk in flight at a time).
                return self.send_snapshot_chunk(to);
            };
            let upto = (prev_index + max_entries).min(last_index);
            let upto = self.log.end_within_bytes(prev_index + 1, upto, max_bytes);
            let entries = self.log.slice(prev_index + 1, upto).to_vec();
            peer.sent_append(upto);
            let probing = peer.is_probing();
            let body = Body::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            };
            self.send(to, body);
            if probing {
                return;
            }
        }
    }

    /// Sends `to` the chunk of the latest snapshot it waits for, starting
    /// over when a newer snapshot replaced the one being sent.
    pub(super) fn send_snapshot_chunk(&mut self, to: NodeId) {
        let chunk_bytes = self.config.snapshot_chunk_bytes;
        let Some(snapshot) = &self.snapshot else {
            return;
        };
        let Some(peer) = self.role.peer_mut(to) else {
            return;
        };
        if peer.has_inflight() {
            return;
        }
        let offset = match peer.snapshot_offset(&snapshot.meta) {
            Some(offset) => offset,
            None => {
                self.events.push(Event::SnapshotSending {
                    to,
                    index: snapshot.meta.index,
                });
                0
            }
        };
        let start = (offset as usize).min(snapshot.data.len());
        let end = (start + chunk_bytes).min(snapshot.data.len());
        peer.sent_snapshot_chunk(snapshot.meta, start as u64);
        let body = Body::InstallSnapshot {
            meta: snapshot.meta,
            offset: start as u64,
            data: snapshot.data[start..end].to_vec(),
            done: end == snapshot.data.len(),
        };
        self.send(to, body);
    }

    /// Sends every peer a heartbeat with the current read round and the
    /// commit index, capped at what the peer is known to hold.
    pub(super) fn broadcast_heartbeat(&mut self) {
        let commit = self.commit;
        let Some(leader) = self.role.leader() else {
            return;
        };
        let read_seq = leader.read_seq;
        let beats: Vec<(NodeId, Index)> = leader
            .peers
            .iter()
            .map(|(&id, p)| (id, commit.min(p.match_index())))
            .collect();
        for (to, commit) in beats {
            self.send(to, Body::Heartbeat { commit, read_seq });
        }
    }

    /// A follower answered an append: on success, advance its match index,
    /// start pipelining, maybe commit and send more; on a rejection that
    /// counts, back up to its hint and probe from there.
    pub(super) fn on_append_response(
        &mut self,
        from: NodeId,
        success: bool,
        index: Index,
        hint: Index,
    ) {
        let last_index = self.log.last_index();
        let transfer_to = self
            .role
            .leader()
            .and_then(|l| l.transfer)
            .map(|(to, _)| to);
        let Some(peer) = self.role.peer_mut(from) else {
            return;
        };
        peer.mark_active();
        if success {
            peer.append_accepted(index);
            let transfer_ready = transfer_to == Some(from) && peer.match_index() == last_index;
            self.maybe_commit();
            if transfer_ready {
                self.send(from, Body::TimeoutNow);
            }
            self.send_append(from);
        } else {
            // Stale rejections are ignored: only one for the append we are
            // waiting on (or, while pipelining, any above the match) counts.
            if !peer.maybe_decr_to(index, hint) {
                return;
            }
            self.send_append(from);
        }
    }

    /// A follower answered a snapshot chunk: send the next one, or, once
    /// it installed the whole snapshot, go back to appends after it.
    pub(super) fn on_install_snapshot_response(
        &mut self,
        from: NodeId,
        index: Index,
        offset: u64,
        done: bool,
    ) {
        let Some(peer) = self.role.peer_mut(from) else {
            return;
        };
        peer.mark_active();
        if !peer.snapshot_acked(index, offset, done) {
            return;
        }
        if done {
            self.maybe_commit();
        }
        self.send_append(from);
    }

    /// The driver made this node's log durable up to `index`, whose entry
    /// has `term`: what [`LogWrite::last`](crate::raft::LogWrite::last)
    /// said of a write it took from a `Ready` and has since synced. The
    /// leader counts its own log toward commit only up to there. A report
    /// for entries rewritten since is ignored.
    pub fn log_synced(&mut self, index: Index, term: Term) {
        if self.log.mark_synced(index, term) {
            self.maybe_commit();
        }
    }

    /// Commits the highest index stored on a quorum, if it belongs to the
    /// current term (Raft §5.4.2: entries of older terms commit only
    /// indirectly, which is exactly what Figure 8 shows to be necessary).
    pub(super) fn maybe_commit(&mut self) {
        let Some(leader) = self.role.leader() else {
            return;
        };
        // Only voters count; a leader that removed itself keeps
        // replicating until its removal commits, without counting itself.
        // The leader counts its own log only as far as the driver reported
        // it synced: it may send entries before they are durable here
        // (Raft thesis §10.2.1), but a crash must not lose what it counted.
        let own = self.log.synced_index();
        let Some(quorum_index) =
            leader.quorum_value(self.members, self.config.id, own, |p| p.match_index())
        else {
            return;
        };
        if quorum_index <= self.commit {
            return;
        }
        let current_term = self.log.term_at(quorum_index) == Some(self.term());
        if current_term || self.config.bugs.commit_old_terms {
            self.advance_commit(quorum_index);
            self.release_reads();
        }
    }

    /// Moves the commit index forward (never back), noting when that
    /// commits the configuration in use.
    pub(super) fn advance_commit(&mut self, index: Index) {
        if index > self.commit {
            let was_pending = self.membership_pending();
            self.commit = index;
            self.events.push(Event::CommitAdvanced { index });
            if was_pending && !self.membership_pending() {
                self.membership_committed();
            }
        }
    }
}
