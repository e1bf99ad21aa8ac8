//! Progress: what a leader knows of one follower's log, and how fast it
//! may send to it.
//!
//! For every other member the leader keeps two indexes: `match_index`, the
//! highest entry known to be on the follower (only an accepted append or an
//! installed snapshot moves it, and never back), and `next_index`, the
//! first entry to send next. How the leader uses them depends on what it
//! knows:
//!
//! - **Probe**: where the two logs part is not known yet. The leader sends
//!   one append and waits for its answer; a rejection moves `next_index`
//!   back to the follower's hint (fast backup) and the leader tries again.
//! - **Replicate**: an append was accepted, so the logs match up to
//!   `match_index`. The leader pipelines: it sends entries as soon as it has
//!   them, moving `next_index` on optimistically, with up to `max_inflight`
//!   appends unanswered. A rejection, or appends that saw no answer for a
//!   whole heartbeat interval, send it back to probing.
//!
//! A follower whose next entry was compacted away is sent the leader's
//! snapshot instead, one chunk at a time, and probes again from just after
//! the snapshot once it is installed. This is etcd's `tracker/progress.go`
//! (`StateProbe`, `StateReplicate`, `StateSnapshot`, `MaybeUpdate`,
//! `MaybeDecrTo`) with one difference kept on purpose: here a snapshot in
//! flight does not replace the mode, it lays over it, and the mode it left
//! still decides how a late answer to an earlier append is read.
//!
//! Only the methods below change a [`Peer`]; the rest of the node reads it.

use crate::raft::{Index, SnapshotMeta};

/// How the leader sends appends to one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One append at a time until the logs are known to match.
    Probe,
    /// Appends pipelined, up to `max_inflight` unanswered.
    Replicate,
}

/// Replication state of one follower, as the leader sees it.
#[derive(Clone, Debug)]
pub(super) struct Peer {
    /// Highest index known replicated on the peer.
    match_index: Index,
    /// Next index to send.
    next_index: Index,
    /// Probing or pipelining.
    mode: Mode,
    /// Appends with entries sent and not yet answered (a snapshot chunk in
    /// flight counts as one).
    inflight: usize,
    /// Whether the peer's match index moved since the last heartbeat; if it
    /// did not while appends were in flight, they were probably lost.
    progressed: bool,
    /// Highest read round the peer acknowledged.
    read_ack: u64,
    /// Heard from in the current CheckQuorum window.
    active: bool,
    /// A snapshot being sent instead of entries, and the offset of the
    /// chunk in flight.
    sending: Option<(SnapshotMeta, u64)>,
}

impl Peer {
    /// A peer the leader knows nothing about yet: probe from `next_index`.
    pub(super) fn new(next_index: Index) -> Peer {
        Peer {
            match_index: 0,
            next_index,
            mode: Mode::Probe,
            inflight: 0,
            progressed: false,
            read_ack: 0,
            active: true,
            sending: None,
        }
    }

    /// Highest index known replicated on the peer.
    pub(super) fn match_index(&self) -> Index {
        self.match_index
    }

    /// The next index the leader will send.
    pub(super) fn next_index(&self) -> Index {
        self.next_index
    }

    /// Whether the leader still looks for where the logs match.
    pub(super) fn is_probing(&self) -> bool {
        self.mode == Mode::Probe
    }

    /// Highest read round the peer acknowledged.
    pub(super) fn read_ack(&self) -> u64 {
        self.read_ack
    }

    /// Whether the peer was heard from in this CheckQuorum window.
    pub(super) fn is_active(&self) -> bool {
        self.active
    }

    /// The peer answered something: it counts towards CheckQuorum.
    pub(super) fn mark_active(&mut self) {
        self.active = true;
    }

    /// A new CheckQuorum window starts: nobody heard from yet.
    pub(super) fn clear_active(&mut self) {
        self.active = false;
    }

    /// Notes the peer acknowledged read round `seq` (rounds only grow).
    pub(super) fn ack_read(&mut self, seq: u64) {
        self.read_ack = self.read_ack.max(seq);
    }

    // ------------------------------------------------------------ appends

    /// Whether an append may go out now: while probing only when none is
    /// in flight (even an empty one, to learn where the logs match), while
    /// pipelining when there are entries past `next_index` up to
    /// `last_index` and fewer than `max_inflight` are unanswered.
    pub(super) fn may_send_append(&self, last_index: Index, max_inflight: usize) -> bool {
        match self.mode {
            Mode::Probe => self.inflight == 0,
            Mode::Replicate => self.next_index <= last_index && self.inflight < max_inflight,
        }
    }

    /// An append ending at `last` was sent. While pipelining, the next one
    /// starts right after it without waiting for the answer.
    pub(super) fn sent_append(&mut self, last: Index) {
        self.inflight += 1;
        if self.mode == Mode::Replicate {
            self.next_index = last + 1;
        }
    }

    /// The peer accepted an append and holds the log up to `index`: move
    /// the match index on ([`Peer::maybe_update`]) and, if the leader was
    /// probing, start pipelining from just after the match.
    pub(super) fn append_accepted(&mut self, index: Index) {
        self.inflight = self.inflight.saturating_sub(1);
        self.maybe_update(index);
        if self.mode == Mode::Probe {
            self.become_replicate();
        }
    }

    /// Raises the match index to `index` if that is higher (answers may
    /// come late or twice, so it never goes back), and keeps `next_index`
    /// past it.
    fn maybe_update(&mut self, index: Index) {
        if index > self.match_index {
            self.match_index = index;
            self.progressed = true;
        }
        self.next_index = self.next_index.max(self.match_index + 1);
    }

    /// The peer rejected the append after `rejected` and hinted where to
    /// try (fast backup). Only a rejection of the append the leader waits
    /// on counts while probing — while pipelining, any above the match
    /// index; a stale one is ignored. Returns whether the rejection
    /// counted: the leader then probes from the hint (never at or below the
    /// match index, which is known to be on the peer).
    pub(super) fn maybe_decr_to(&mut self, rejected: Index, hint: Index) -> bool {
        let stale = match self.mode {
            Mode::Probe => rejected + 1 != self.next_index,
            Mode::Replicate => rejected <= self.match_index,
        };
        if stale || rejected == 0 {
            return false;
        }
        self.become_probe(hint.min(rejected).max(self.match_index + 1));
        true
    }

    /// A heartbeat interval ended. Appends in flight that brought no
    /// progress during it were probably lost: forget them so they are sent
    /// again, from the match index when pipelining (a probe keeps the
    /// position fast backup found).
    pub(super) fn on_heartbeat_interval(&mut self) {
        if self.inflight > 0 && !self.progressed {
            match self.mode {
                Mode::Replicate => self.become_probe(self.match_index + 1),
                Mode::Probe => self.inflight = 0,
            }
        }
        self.progressed = false;
    }

    /// Probes from `next_index`, with nothing in flight.
    fn become_probe(&mut self, next_index: Index) {
        self.mode = Mode::Probe;
        self.next_index = next_index;
        self.inflight = 0;
    }

    /// Pipelines from just after the match index, with nothing in flight.
    fn become_replicate(&mut self) {
        self.mode = Mode::Replicate;
        self.next_index = self.match_index + 1;
        self.inflight = 0;
    }

    // ---------------------------------------------------------- snapshots

    /// Whether a snapshot is being sent instead of entries.
    pub(super) fn is_sending_snapshot(&self) -> bool {
        self.sending.is_some()
    }

    /// Whether anything sent to the peer waits for an answer.
    pub(super) fn has_inflight(&self) -> bool {
        self.inflight > 0
    }

    /// Where to resume sending the snapshot `meta`: the offset the peer
    /// asked for, or none when this snapshot was not being sent (a newer one
    /// replaced it, or none was), so it starts over.
    pub(super) fn snapshot_offset(&self, meta: &SnapshotMeta) -> Option<u64> {
        match self.sending {
            Some((m, offset)) if m == *meta => Some(offset),
            _ => None,
        }
    }

    /// The chunk of `meta` at `offset` was sent; it is the one in flight.
    pub(super) fn sent_snapshot_chunk(&mut self, meta: SnapshotMeta, offset: u64) {
        self.sending = Some((meta, offset));
        self.inflight = 1;
    }

    /// The peer answered a chunk of the snapshot at `index`, asking for
    /// `offset` next, or saying it installed it all (`done`). Once installed
    /// the peer holds everything up to the snapshot and the leader probes
    /// from just after it. Returns false (and changes nothing) for an answer
    /// about a snapshot that is not the one being sent.
    pub(super) fn snapshot_acked(&mut self, index: Index, offset: u64, done: bool) -> bool {
        let Some((meta, _)) = self.sending else {
            return false;
        };
        if meta.index != index {
            return false;
        }
        self.progressed = true;
        if done {
            self.sending = None;
            self.match_index = self.match_index.max(index);
            self.become_probe(self.match_index + 1);
        } else {
            self.sending = Some((meta, offset));
            self.inflight = 0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(index: Index) -> SnapshotMeta {
        SnapshotMeta {
            index,
            term: 1,
            ..SnapshotMeta::default()
        }
    }

    #[test]
    fn a_probe_sends_one_append_at_a_time_even_an_empty_one() {
        let mut p = Peer::new(11);
        assert!(p.may_send_append(10, 4), "an empty probe finds the match");
        p.sent_append(10);
        assert_eq!(p.next_index(), 11, "a probe does not move next_index");
        assert!(!p.may_send_append(20, 4), "one probe in flight at a time");
    }

    #[test]
    fn an_accepted_probe_starts_pipelining_after_the_match() {
        let mut p = Peer::new(11);
        p.sent_append(10);
        p.append_accepted(10);
        assert!(!p.is_probing());
        assert_eq!((p.match_index(), p.next_index()), (10, 11));
        assert!(!p.may_send_append(10, 2), "nothing new to pipeline");
        p.sent_append(12);
        p.sent_append(14);
        assert_eq!(p.next_index(), 15, "pipelining moves next_index on");
        assert!(!p.may_send_append(20, 2), "max_inflight reached");
        p.append_accepted(12);
        assert!(p.may_send_append(20, 2));
    }

    #[test]
    fn a_late_answer_never_moves_the_match_back() {
        let mut p = Peer::new(1);
        p.append_accepted(8);
        p.append_accepted(5);
        assert_eq!((p.match_index(), p.next_index()), (8, 9));
    }

    #[test]
    fn a_rejection_counts_only_for_the_append_waited_on() {
        let mut p = Peer::new(11);
        p.sent_append(10);
        assert!(!p.maybe_decr_to(7, 3), "not the probe in flight");
        assert!(!p.maybe_decr_to(0, 0), "a stale leader's answer");
        assert!(p.maybe_decr_to(10, 4), "the probe after index 10");
        assert_eq!(p.next_index(), 4, "fast backup jumps to the hint");
        assert!(p.may_send_append(10, 1), "and probes again at once");
    }

    #[test]
    fn a_rejection_never_backs_up_past_the_match() {
        let mut p = Peer::new(1);
        p.append_accepted(5);
        p.sent_append(9);
        assert!(!p.maybe_decr_to(5, 2), "at the match: stale");
        assert!(p.maybe_decr_to(9, 2));
        assert!(p.is_probing());
        assert_eq!(p.next_index(), 6);
    }

    #[test]
    fn appends_unanswered_for_a_heartbeat_interval_are_sent_again() {
        let mut p = Peer::new(1);
        p.append_accepted(5);
        p.on_heartbeat_interval();
        p.sent_append(9);
        p.on_heartbeat_interval();
        assert!(p.is_probing(), "pipelining stops");
        assert_eq!(p.next_index(), 6, "from just after the match");
        assert!(p.may_send_append(9, 1));
        // Progress during the interval keeps the appends in flight.
        let mut q = Peer::new(1);
        q.append_accepted(5);
        q.on_heartbeat_interval();
        q.sent_append(9);
        q.sent_append(12);
        q.append_accepted(9);
        q.on_heartbeat_interval();
        assert!(!q.is_probing());
        assert!(q.has_inflight());
    }

    #[test]
    fn a_snapshot_is_sent_chunk_by_chunk_then_probed_after() {
        let mut p = Peer::new(3);
        assert_eq!(p.snapshot_offset(&meta(50)), None);
        p.sent_snapshot_chunk(meta(50), 0);
        assert!(p.is_sending_snapshot() && p.has_inflight());
        assert!(!p.snapshot_acked(40, 10, false), "another snapshot");
        assert!(p.snapshot_acked(50, 1024, false));
        assert_eq!(p.snapshot_offset(&meta(50)), Some(1024));
        assert!(!p.has_inflight());
        p.sent_snapshot_chunk(meta(50), 1024);
        assert!(p.snapshot_acked(50, 2048, true));
        assert!(!p.is_sending_snapshot());
        assert!(p.is_probing());
        assert_eq!((p.match_index(), p.next_index()), (50, 51));
    }
}
