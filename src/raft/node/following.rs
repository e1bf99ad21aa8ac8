//! Following: how a node takes in the leader's log.
//!
//! A follower accepts an `Append` only if its own log holds the entry just
//! before the new ones, with the same term: the *consistency check* (Raft
//! §5.3). By induction this gives the *log matching* property: two logs
//! that agree on one entry agree on everything before it. When the check
//! fails, the follower says where the leader should try next; with *fast
//! backup* it names the first index of the conflicting term, so the leader
//! skips a whole term per round trip instead of one entry. Entries that
//! conflict with the leader's are deleted, with everything after them;
//! entries it already holds are kept, so a late duplicate never shortens
//! the log. The follower's commit index follows the leader's, but never
//! past what this append proved it holds.
//!
//! A follower so far behind that the leader has compacted the entries it
//! needs receives a *snapshot* instead (`InstallSnapshot`, §7), in chunks
//! that must arrive in order. Once the last chunk is in, the snapshot
//! replaces the log up to its index and the driver restores its state
//! machine from it.

use super::{Node, RoleState};
use crate::raft::{Body, Entry, EntryData, Event, Index, NodeId, Snapshot, SnapshotMeta, Term};

impl Node {
    /// Accepts `from` as the leader of the current term.
    pub(super) fn follow(&mut self, from: NodeId) {
        if !matches!(self.role, RoleState::Follower) {
            let term = self.term();
            self.become_follower(term, Some(from));
        } else if self.leader != Some(from) {
            self.leader = Some(from);
            self.events.push(Event::LeaderChanged {
                leader: Some(from),
                term: self.term(),
            });
        }
        self.election_elapsed = 0;
    }

    /// Checks an append against the log (the consistency check, §5.3),
    /// adds what is new, drops what conflicts, follows the leader's commit
    /// index, and answers with the last index it now matches or a hint.
    pub(super) fn on_append(
        &mut self,
        from: NodeId,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        leader_commit: Index,
    ) {
        let reject = |node: &mut Node, hint: Index| {
            let body = Body::AppendResponse {
                success: false,
                index: prev_index,
                hint,
            };
            node.send(from, body);
        };
        if prev_index < self.commit {
            // Everything up to our commit index matches the leader's log
            // (and may be compacted away here): say so, and let the leader
            // continue from there.
            let body = Body::AppendResponse {
                success: true,
                index: self.commit,
                hint: 0,
            };
            return self.send(from, body);
        }
        if prev_index > self.log.last_index() {
            // Our log is too short: ask for what follows our last entry.
            let hint = self.log.last_index() + 1;
            return reject(self, hint);
        }
        if !self.config.bugs.skip_prev_check && self.log.term_at(prev_index) != Some(prev_term) {
            // Fast backup: point the leader at the start of the conflicting
            // term, so it skips the whole term in one round trip.
            let hint = self.log.first_index_of_term_at(prev_index).max(1);
            return reject(self, hint);
        }
        let last_new = prev_index + entries.len() as Index;
        let mut config_changed = false;
        for entry in entries {
            match self.log.term_at(entry.index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    self.events.push(Event::LogTruncated { from: entry.index });
                    config_changed |= self.members_index >= entry.index;
                    self.log.truncate_from(entry.index);
                }
                None => {}
            }
            if entry.index == self.log.last_index() + 1 {
                config_changed |= matches!(entry.data, EntryData::Config { .. });
                self.log.push(entry);
            }
        }
        if config_changed {
            self.rebuild_members();
        }
        self.advance_commit(leader_commit.min(last_new));
        let body = Body::AppendResponse {
            success: true,
            index: last_new,
            hint: 0,
        };
        self.send(from, body);
    }

    /// A heartbeat of the current leader: learn its commit index (capped
    /// by the leader at what it knows we hold, and by us at what we do hold)
    /// and acknowledge the read round it carries.
    pub(super) fn on_heartbeat(&mut self, from: NodeId, commit: Index, read_seq: u64) {
        let commit = commit.min(self.log.last_index());
        self.advance_commit(commit);
        self.send(from, Body::HeartbeatResponse { read_seq });
    }

    /// Receives one chunk of the leader's snapshot. Chunks must arrive in
    /// order; anything else is answered with the offset wanted next.
    pub(super) fn on_install_snapshot(
        &mut self,
        from: NodeId,
        meta: SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        done: bool,
    ) {
        let reply = |node: &mut Node, offset: u64, done: bool| {
            let body = Body::InstallSnapshotResponse {
                index: meta.index,
                offset,
                done,
            };
            node.send(from, body);
        };
        if meta.index <= self.commit {
            // Everything it covers is already committed here.
            self.receiving = None;
            return reply(self, offset + data.len() as u64, true);
        }
        let buffer = match &mut self.receiving {
            Some((m, buffer)) if *m == meta && buffer.len() as u64 == offset => buffer,
            _ if offset == 0 => &mut self.receiving.insert((meta, Vec::new())).1,
            Some((m, buffer)) if *m == meta => {
                let want = buffer.len() as u64;
                return reply(self, want, false);
            }
            _ => return reply(self, 0, false),
        };
        buffer.extend_from_slice(&data);
        let received = buffer.len() as u64;
        if !done {
            return reply(self, received, false);
        }
        let Some((_, data)) = self.receiving.take() else {
            return;
        };
        self.log.install_snapshot(meta);
        self.rebuild_members();
        self.commit = self.commit.max(meta.index);
        self.handed_out = self.handed_out.max(meta.index);
        let snapshot = Snapshot { meta, data };
        self.snapshot = Some(snapshot.clone());
        self.installed = Some(snapshot);
        self.events
            .push(Event::SnapshotInstalled { index: meta.index });
        reply(self, received, true);
    }
}
