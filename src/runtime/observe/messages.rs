//! The message record: what nodes said to each other, and what the
//! network did with it.
//!
//! A [`MessageRecord`] is one Raft message as a person reads it — type,
//! sender, receiver, term, the index it is about, how many entries it
//! carries, its answer (vote granted, append rejected with a hint) and its
//! [`Fate`] on the network (delivered, dropped and why, delayed, duplicated).
//! Records go into a [`MessageLog`], a bounded ring of
//! [`MESSAGE_CAPACITY`] records by default, each numbered by a sequence
//! number. A view carries a [`MessageWindow`] — the shared ring and the
//! last sequence number it covers — so taking a view copies nothing, and
//! drawing reads only the rows it shows. Nothing here knows where records
//! come from: the live runtime fills the ring from its nodes' sends, and a
//! simulator-driven view can fill one the same way.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::raft::{Body, Index, Message, NodeId, Term};

/// Records a [`MessageLog`] keeps by default: the newest 4,096 messages
/// (about 200 KiB). At the playground's speed that is the last few
/// seconds of heartbeats and appends; older records are overwritten.
pub const MESSAGE_CAPACITY: usize = 4096;

/// The kinds of message a filter picks, one per Raft exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MsgClass {
    /// PreVote and Vote requests and their answers.
    Vote,
    /// Append (AppendEntries) and its answer.
    Append,
    /// Heartbeats and their answers (they also confirm ReadIndex reads).
    Heartbeat,
    /// InstallSnapshot chunks and their answers.
    Snapshot,
    /// TimeoutNow (leadership transfer).
    Timeout,
}

impl MsgClass {
    /// Every class, in the order the help lists them.
    pub const ALL: [MsgClass; 5] = [
        MsgClass::Vote,
        MsgClass::Append,
        MsgClass::Heartbeat,
        MsgClass::Snapshot,
        MsgClass::Timeout,
    ];

    /// The class of a message body.
    pub fn of(body: &Body) -> MsgClass {
        match body {
            Body::PreVote { .. }
            | Body::PreVoteResponse { .. }
            | Body::Vote { .. }
            | Body::VoteResponse { .. } => MsgClass::Vote,
            Body::Append { .. } | Body::AppendResponse { .. } => MsgClass::Append,
            Body::Heartbeat { .. } | Body::HeartbeatResponse { .. } => MsgClass::Heartbeat,
            Body::InstallSnapshot { .. } | Body::InstallSnapshotResponse { .. } => {
                MsgClass::Snapshot
            }
            Body::TimeoutNow => MsgClass::Timeout,
        }
    }

    /// The word a filter is written with (`msgs type vote`).
    pub fn word(self) -> &'static str {
        match self {
            MsgClass::Vote => "vote",
            MsgClass::Append => "append",
            MsgClass::Heartbeat => "heartbeat",
            MsgClass::Snapshot => "snapshot",
            MsgClass::Timeout => "timeout",
        }
    }

    /// Parses a class word; `read` means heartbeats (they confirm reads).
    pub fn parse(word: &str) -> Option<MsgClass> {
        match word.to_ascii_lowercase().as_str() {
            "vote" | "votes" | "prevote" => Some(MsgClass::Vote),
            "append" | "appends" | "entries" => Some(MsgClass::Append),
            "heartbeat" | "heartbeats" | "hb" | "read" | "reads" => Some(MsgClass::Heartbeat),
            "snapshot" | "snapshots" | "snap" => Some(MsgClass::Snapshot),
            "timeout" | "timeoutnow" | "transfer" => Some(MsgClass::Timeout),
            _ => None,
        }
    }
}

/// What a message answers, when it is an answer (or a request's gist).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgResult {
    /// A request, or an answer with nothing to judge.
    None,
    /// A (pre-)vote granted.
    Granted,
    /// A (pre-)vote refused.
    Rejected,
    /// An append accepted: the follower matches up to the record's index.
    Accepted,
    /// An append refused; the leader should retry from `hint`.
    Refused {
        /// Where the follower suggests the leader tries next.
        hint: Index,
    },
    /// A snapshot chunk acknowledged; `done` when installed.
    Chunk {
        /// The snapshot is installed.
        done: bool,
    },
}

/// Why a message never arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// The link was cut (partition, isolation).
    LinkDown,
    /// The link lost it at random (`loss N%`).
    Lost,
    /// The receiver was down (killed).
    NodeDown,
}

/// What the network did with a message, as decided when it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Handed to the receiver at once, or within a fresh link's usual
    /// latency ([`NORMAL_LATENCY_US`]).
    Delivered,
    /// Held back `us` cluster µs before delivery.
    Delayed {
        /// The delay, cluster µs.
        us: u64,
    },
    /// Delivered `copies` times (the first after `us` cluster µs).
    Duplicated {
        /// How many copies travel.
        copies: u8,
        /// The first copy's delay, cluster µs.
        us: u64,
    },
    /// Never delivered.
    Dropped(DropCause),
    /// Held on its link by hand (`hold`), until delivered or dropped.
    Held {
        /// Its number in the hold list.
        number: u64,
    },
}

/// The most a fresh link takes to deliver (its usual latency, which the
/// network pane calls "no delay"): a message within it is simply delivered,
/// one held longer (`delay A..Bms`) is marked delayed.
pub const NORMAL_LATENCY_US: u64 = 2_000;

impl Fate {
    /// The fate of a message the fabric gave these delays (one per copy;
    /// none: dropped for `cause`).
    pub fn from_delays(delays: &[u64], cause: DropCause) -> Fate {
        match delays {
            [] => Fate::Dropped(cause),
            [us] if *us <= NORMAL_LATENCY_US => Fate::Delivered,
            [us] => Fate::Delayed { us: *us },
            many => Fate::Duplicated {
                copies: many.len().min(u8::MAX as usize) as u8,
                us: many.iter().copied().min().unwrap_or(0),
            },
        }
    }

    /// Whether it was anything but delivered at once.
    pub fn is_unusual(self) -> bool {
        self != Fate::Delivered
    }
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fate::Delivered => f.write_str("delivered"),
            Fate::Delayed { us } => write!(f, "delayed {}", short_ms(*us)),
            Fate::Duplicated { copies, .. } => write!(f, "duplicated ×{copies}"),
            Fate::Dropped(DropCause::LinkDown) => f.write_str("dropped: link down"),
            Fate::Dropped(DropCause::Lost) => f.write_str("dropped: lost"),
            Fate::Dropped(DropCause::NodeDown) => f.write_str("dropped: node down"),
            Fate::Held { number } => write!(f, "held #{number}"),
        }
    }
}

/// Cluster µs as a short duration: `2000` → `2ms`, `1500` → `1.5ms`.
fn short_ms(us: u64) -> String {
    if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        format!("{:.1}ms", us as f64 / 1000.0)
    }
}

/// One message as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// Its number in the log (1 for the first message recorded).
    pub seq: u64,
    /// The clock's tick count when it was sent.
    pub tick: u64,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The sender's term (a pre-vote's proposed term).
    pub term: Term,
    /// Its type, as [`Body::name`] spells it (`Append`, `VoteResp`).
    pub kind: &'static str,
    /// Its class, for filtering.
    pub class: MsgClass,
    /// The index it is about: a vote's last log index, an append's
    /// `prev_index`, an answer's matched or rejected index, a snapshot's
    /// last index; `None` for heartbeats and TimeoutNow.
    pub index: Option<Index>,
    /// Log entries it carries (appends only).
    pub entries: u32,
    /// Its answer, for a response.
    pub result: MsgResult,
    /// What the network did with it.
    pub fate: Fate,
}

impl MessageRecord {
    /// The record of `msg`, sent at `tick`, with its fate (`seq` is set
    /// when it enters a log).
    pub fn of(msg: &Message, tick: u64, fate: Fate) -> MessageRecord {
        let (index, entries, result) = match &msg.body {
            Body::PreVote { last_index, .. } | Body::Vote { last_index, .. } => {
                (Some(*last_index), 0, MsgResult::None)
            }
            Body::PreVoteResponse { granted } | Body::VoteResponse { granted } => {
                let r = if *granted {
                    MsgResult::Granted
                } else {
                    MsgResult::Rejected
                };
                (None, 0, r)
            }
            Body::Append {
                prev_index,
                entries,
                ..
            } => (
                Some(*prev_index),
                entries.len().min(u32::MAX as usize) as u32,
                MsgResult::None,
            ),
            Body::AppendResponse {
                success,
                index,
                hint,
            } => {
                let r = if *success {
                    MsgResult::Accepted
                } else {
                    MsgResult::Refused { hint: *hint }
                };
                (Some(*index), 0, r)
            }
            Body::Heartbeat { .. } | Body::HeartbeatResponse { .. } | Body::TimeoutNow => {
                (None, 0, MsgResult::None)
            }
            Body::InstallSnapshot { meta, .. } => (Some(meta.index), 0, MsgResult::None),
            Body::InstallSnapshotResponse { index, done, .. } => {
                (Some(*index), 0, MsgResult::Chunk { done: *done })
            }
        };
        MessageRecord {
            seq: 0,
            tick,
            from: msg.from,
            to: msg.to,
            term: msg.term,
            kind: msg.body.name(),
            class: MsgClass::of(&msg.body),
            index,
            entries,
            result,
            fate,
        }
    }

    /// Whether it answers a request (every answer's type ends in `Resp`).
    pub fn is_answer(&self) -> bool {
        self.kind.ends_with("Resp")
    }

    /// The answer in words: `granted`, `refused, retry at 4`; empty for a
    /// request.
    pub fn result_text(&self) -> String {
        match self.result {
            MsgResult::None => String::new(),
            MsgResult::Granted => "granted".into(),
            MsgResult::Rejected => "rejected".into(),
            MsgResult::Accepted => "ok".into(),
            MsgResult::Refused { hint } => format!("reject, hint {hint}"),
            MsgResult::Chunk { done: true } => "installed".into(),
            MsgResult::Chunk { done: false } => "chunk ok".into(),
        }
    }
}

/// Which messages a list shows. Every condition set must hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgFilter {
    /// Only messages from this node.
    pub from: Option<NodeId>,
    /// Only messages to this node.
    pub to: Option<NodeId>,
    /// Only messages from or to this node.
    pub node: Option<NodeId>,
    /// Only messages of this class.
    pub class: Option<MsgClass>,
    /// Only messages not simply delivered (dropped, delayed, duplicated).
    pub unusual: bool,
}

impl MsgFilter {
    /// Whether `r` passes.
    pub fn accepts(&self, r: &MessageRecord) -> bool {
        self.from.is_none_or(|f| r.from == f)
            && self.to.is_none_or(|t| r.to == t)
            && self.node.is_none_or(|n| r.from == n || r.to == n)
            && self.class.is_none_or(|c| r.class == c)
            && (!self.unusual || r.fate.is_unusual())
    }

    /// Whether it lets everything through.
    pub fn is_all(&self) -> bool {
        *self == MsgFilter::default()
    }
}

impl fmt::Display for MsgFilter {
    /// The filter as the `msgs` command writes it: `from 1 type append`,
    /// or `all`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all");
        }
        let mut parts = Vec::new();
        if let Some(n) = self.node {
            parts.push(format!("node {n}"));
        }
        if let Some(n) = self.from {
            parts.push(format!("from {n}"));
        }
        if let Some(n) = self.to {
            parts.push(format!("to {n}"));
        }
        if let Some(c) = self.class {
            parts.push(format!("type {}", c.word()));
        }
        if self.unusual {
            parts.push("faults".into());
        }
        f.write_str(&parts.join(" "))
    }
}

/// A bounded ring of message records, shared by whoever records and
/// whoever reads. Pushing and reading take a short lock.
pub struct MessageLog {
    inner: Mutex<Ring>,
}

struct Ring {
    records: VecDeque<MessageRecord>,
    capacity: usize,
    /// The sequence number of the last record pushed (0: none yet).
    last: u64,
}

impl MessageLog {
    /// An empty log keeping the newest `capacity` records (at least one).
    pub fn new(capacity: usize) -> MessageLog {
        MessageLog {
            inner: Mutex::new(Ring {
                records: VecDeque::new(),
                capacity: capacity.max(1),
                last: 0,
            }),
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `record`, numbering it; the oldest record goes when full.
    /// Returns its number.
    pub fn push(&self, mut record: MessageRecord) -> u64 {
        let mut ring = self.ring();
        ring.last += 1;
        record.seq = ring.last;
        if ring.records.len() >= ring.capacity {
            ring.records.pop_front();
        }
        ring.records.push_back(record);
        ring.last
    }

    /// The number of the last record pushed (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.ring().last
    }

    /// At most `n` records numbered up to `upto` that pass `filter`,
    /// newest first, skipping the newest `skip` that pass.
    pub fn recent(
        &self,
        upto: u64,
        filter: &MsgFilter,
        skip: usize,
        n: usize,
    ) -> Vec<MessageRecord> {
        let ring = self.ring();
        ring.records
            .iter()
            .rev()
            .filter(|r| r.seq <= upto && filter.accepts(r))
            .skip(skip)
            .take(n)
            .cloned()
            .collect()
    }

    /// How many records numbered up to `upto` the ring still holds.
    pub fn held(&self, upto: u64) -> usize {
        let ring = self.ring();
        let first = ring.records.front().map_or(0, |r| r.seq);
        if ring.records.is_empty() || upto < first {
            0
        } else {
            (upto.min(ring.last) - first + 1) as usize
        }
    }
}

/// The messages a view shows: the shared ring and the last record that
/// belongs to the view. Cloning one copies two words.
#[derive(Clone)]
pub struct MessageWindow {
    /// The ring (shared with whoever records).
    pub log: Arc<MessageLog>,
    /// The last record number this view covers; later records belong to
    /// later views.
    pub upto: u64,
    /// Whether messages are being recorded at all.
    pub recording: bool,
}

impl MessageWindow {
    /// A window on an empty ring, recording nothing.
    pub fn empty() -> MessageWindow {
        MessageWindow {
            log: Arc::new(MessageLog::new(1)),
            upto: 0,
            recording: false,
        }
    }

    /// A window covering everything `log` holds now.
    pub fn of(log: Arc<MessageLog>, recording: bool) -> MessageWindow {
        let upto = log.last_seq();
        MessageWindow {
            log,
            upto,
            recording,
        }
    }

    /// At most `n` of this view's records passing `filter`, newest first,
    /// after skipping the newest `skip`.
    pub fn recent(&self, filter: &MsgFilter, skip: usize, n: usize) -> Vec<MessageRecord> {
        self.log.recent(self.upto, filter, skip, n)
    }
}

impl Default for MessageWindow {
    fn default() -> MessageWindow {
        MessageWindow::empty()
    }
}

impl fmt::Debug for MessageWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageWindow")
            .field("upto", &self.upto)
            .field("recording", &self.recording)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{Entry, EntryData};

    fn append(from: NodeId, to: NodeId, entries: usize) -> Message {
        Message {
            from,
            to,
            term: 2,
            body: Body::Append {
                prev_index: 4,
                prev_term: 1,
                entries: (0..entries as u64)
                    .map(|i| Entry {
                        index: 5 + i,
                        term: 2,
                        data: EntryData::Noop,
                    })
                    .collect(),
                commit: 4,
            },
        }
    }

    fn vote_resp(from: NodeId, to: NodeId, granted: bool) -> Message {
        Message {
            from,
            to,
            term: 3,
            body: Body::VoteResponse { granted },
        }
    }

    #[test]
    fn a_record_reads_the_message() {
        let r = MessageRecord::of(&append(1, 2, 3), 7, Fate::Delivered);
        assert_eq!(
            (r.kind, r.class, r.index, r.entries, r.term, r.tick),
            ("Append", MsgClass::Append, Some(4), 3, 2, 7)
        );
        let refused = Message {
            from: 2,
            to: 1,
            term: 2,
            body: Body::AppendResponse {
                success: false,
                index: 4,
                hint: 2,
            },
        };
        let r = MessageRecord::of(&refused, 7, Fate::Delivered);
        assert_eq!(r.result, MsgResult::Refused { hint: 2 });
        assert_eq!(r.result_text(), "reject, hint 2");
        let r = MessageRecord::of(&vote_resp(3, 1, false), 0, Fate::Delivered);
        assert_eq!((r.result, r.class), (MsgResult::Rejected, MsgClass::Vote));
    }

    #[test]
    fn fates_follow_the_fabrics_delays() {
        assert_eq!(
            Fate::from_delays(&[], DropCause::Lost),
            Fate::Dropped(DropCause::Lost)
        );
        assert_eq!(Fate::from_delays(&[0], DropCause::Lost), Fate::Delivered);
        // A fresh link's usual latency is no delay.
        assert_eq!(
            Fate::from_delays(&[crate::net::Link::default().delay_max_us], DropCause::Lost),
            Fate::Delivered
        );
        assert_eq!(
            Fate::from_delays(&[3000], DropCause::Lost),
            Fate::Delayed { us: 3000 }
        );
        assert_eq!(
            Fate::from_delays(&[500, 0], DropCause::Lost),
            Fate::Duplicated { copies: 2, us: 0 }
        );
        assert_eq!(Fate::Delayed { us: 1500 }.to_string(), "delayed 1.5ms");
        assert_eq!(
            Fate::Dropped(DropCause::LinkDown).to_string(),
            "dropped: link down"
        );
    }

    #[test]
    fn the_ring_keeps_the_newest_and_numbers_them() {
        let log = MessageLog::new(3);
        for i in 0..5 {
            log.push(MessageRecord::of(
                &append(1, 2, i),
                i as u64,
                Fate::Delivered,
            ));
        }
        assert_eq!(log.last_seq(), 5);
        let all = log.recent(u64::MAX, &MsgFilter::default(), 0, 10);
        let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![5, 4, 3], "newest first, oldest overwritten");
        assert_eq!(log.held(5), 3);
        // A view taken at seq 4 does not see record 5.
        let seqs: Vec<u64> = log
            .recent(4, &MsgFilter::default(), 0, 10)
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, vec![4, 3]);
        let skipped: Vec<u64> = log
            .recent(5, &MsgFilter::default(), 1, 1)
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(skipped, vec![4]);
    }

    #[test]
    fn filters_pick_by_node_type_and_fate() {
        let log = MessageLog::new(16);
        log.push(MessageRecord::of(&append(1, 2, 1), 0, Fate::Delivered));
        log.push(MessageRecord::of(
            &append(1, 3, 1),
            0,
            Fate::Dropped(DropCause::LinkDown),
        ));
        log.push(MessageRecord::of(
            &vote_resp(2, 1, true),
            0,
            Fate::Delivered,
        ));
        log.push(MessageRecord::of(
            &vote_resp(3, 2, true),
            0,
            Fate::Delayed { us: 2000 },
        ));
        let pick = |f: MsgFilter| -> Vec<u64> {
            log.recent(u64::MAX, &f, 0, 10)
                .iter()
                .map(|r| r.seq)
                .collect()
        };
        let from1 = MsgFilter {
            from: Some(1),
            ..MsgFilter::default()
        };
        assert_eq!(pick(from1), vec![2, 1]);
        let to2 = MsgFilter {
            to: Some(2),
            ..MsgFilter::default()
        };
        assert_eq!(pick(to2), vec![4, 1]);
        let node3 = MsgFilter {
            node: Some(3),
            ..MsgFilter::default()
        };
        assert_eq!(pick(node3), vec![4, 2]);
        let votes = MsgFilter {
            class: Some(MsgClass::Vote),
            ..MsgFilter::default()
        };
        assert_eq!(pick(votes), vec![4, 3]);
        let faults = MsgFilter {
            unusual: true,
            ..MsgFilter::default()
        };
        assert_eq!(pick(faults), vec![4, 2]);
        let both = MsgFilter {
            from: Some(1),
            class: Some(MsgClass::Vote),
            ..MsgFilter::default()
        };
        assert!(pick(both).is_empty());
        assert_eq!(both.to_string(), "from 1 type vote");
        assert_eq!(MsgFilter::default().to_string(), "all");
    }
}
