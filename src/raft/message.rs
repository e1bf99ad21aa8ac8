//! Messages between Raft nodes: one variant per RPC and one per response.
//!
//! Every message carries the sender's term. A receiver that sees a higher
//! term steps down to follower in that term before handling the message,
//! except for pre-votes, whose term is the *proposed* next term of the sender
//! and must not disturb anyone (Raft thesis §9.6).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ConfChange, Index, Membership, NodeId, SnapshotMeta, Term};

/// One entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, starting at 1.
    pub index: Index,
    /// Term of the leader that created the entry.
    pub term: Term,
    /// What the entry carries.
    pub data: EntryData,
}

#[cfg(test)]
impl Entry {
    /// A no-op entry at `index` of `term`: the tests' log filler.
    pub(crate) fn noop(index: Index, term: Term) -> Entry {
        Entry {
            index,
            term,
            data: EntryData::Noop,
        }
    }
}

/// The payload of a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryData {
    /// Appended by every new leader so it can commit entries of its term
    /// (and through them, older ones) without waiting for a client.
    Noop,
    /// An opaque command for the state machine (the KV store encodes its own).
    Command(Payload),
    /// A membership change, and the configuration it makes. Every node uses
    /// `config` from the moment the entry is in its log.
    Config {
        /// What changed.
        change: ConfChange,
        /// The configuration from this entry on.
        config: Membership,
    },
}

impl EntryData {
    /// The bytes an `Append` budget counts for this entry: a command's
    /// length; a no-op or a configuration change counts as nothing (they
    /// are a few bytes, and the entry count bounds them).
    pub fn payload_len(&self) -> usize {
        match self {
            EntryData::Command(bytes) => bytes.len(),
            EntryData::Noop | EntryData::Config { .. } => 0,
        }
    }
}

/// A command's bytes, shared rather than copied: an entry is cloned into
/// the storage write, into each follower's `Append` and into the stores'
/// logs, and each clone of a `Payload` is a reference count, not a copy.
/// It reads as a `[u8]` and serializes exactly as a `Vec<u8>` does, so
/// files and frames are unchanged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Payload(Arc<[u8]>);

impl std::ops::Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Payload {
        Payload(bytes.into())
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Payload {
        Payload(bytes.into())
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As the `Vec<u8>` it replaced printed.
        self.0.fmt(f)
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // As bytes, in one piece rather than one call per byte. In
        // postcard a byte string is its length then its bytes, exactly
        // what the `Vec<u8>` a payload replaced wrote as a sequence of
        // `u8`s, so files and frames are unchanged (a test pins it).
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Payload, D::Error> {
        // A text format reads bytes the way a `Vec<u8>` is read there (JSON:
        // an array of numbers), so it takes no more than it did: asked for
        // bytes, serde_json would also take a string.
        if deserializer.is_human_readable() {
            deserializer.deserialize_seq(PayloadVisitor)
        } else {
            deserializer.deserialize_bytes(PayloadVisitor)
        }
    }
}

/// Builds a [`Payload`] straight from the bytes a format lends it (one
/// allocation, one copy), or from a sequence of `u8`s where the format
/// writes bytes that way (JSON's array of numbers).
struct PayloadVisitor;

impl<'de> serde::de::Visitor<'de> for PayloadVisitor {
    type Value = Payload;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a command's bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Payload, E> {
        Ok(Payload::from(bytes))
    }

    fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Payload, E> {
        Ok(Payload::from(bytes))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Payload::from(bytes))
    }
}

/// A message from one node to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The sender's current term (for `PreVote`, the term it would campaign in).
    pub term: Term,
    /// What the message says.
    pub body: Body,
}

/// The RPCs of Raft with their responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// "Would you vote for me in `term`?" Sent before a real election, so a
    /// node that cannot win (for example one cut off from the cluster) never
    /// bumps its term and disrupts a healthy leader.
    PreVote {
        /// Index of the candidate's last log entry.
        last_index: Index,
        /// Term of the candidate's last log entry.
        last_term: Term,
    },
    /// Answer to a `PreVote`.
    PreVoteResponse {
        /// Whether the pre-vote was granted.
        granted: bool,
    },
    /// RequestVote: a candidate asks for a vote in its term.
    Vote {
        /// Index of the candidate's last log entry.
        last_index: Index,
        /// Term of the candidate's last log entry.
        last_term: Term,
        /// The election was ordered by the leader (`TimeoutNow`), so
        /// followers must not refuse it for having heard from that leader
        /// recently.
        transfer: bool,
    },
    /// Answer to a `Vote`.
    VoteResponse {
        /// Whether the vote was granted.
        granted: bool,
    },
    /// AppendEntries: the leader replicates entries following
    /// (`prev_index`, `prev_term`), which the follower must already hold.
    Append {
        /// Index of the entry just before `entries`.
        prev_index: Index,
        /// Term of the entry at `prev_index`.
        prev_term: Term,
        /// The entries to append (may be empty to probe).
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: Index,
    },
    /// Answer to an `Append`.
    AppendResponse {
        /// Whether the follower's log now matches the leader's up to `index`.
        success: bool,
        /// On success: the last index known to match. On rejection: the
        /// `prev_index` that was rejected.
        index: Index,
        /// On rejection: where the leader should try next (fast backup by
        /// term, Raft §5.3): the first index of the conflicting term, or the
        /// follower's last index + 1 when its log is too short.
        hint: Index,
    },
    /// The leader asserts its leadership and confirms reads. Carries the
    /// leader's commit, capped at what the follower is known to hold.
    Heartbeat {
        /// The commit index the follower may adopt.
        commit: Index,
        /// Read round this heartbeat belongs to (ReadIndex).
        read_seq: u64,
    },
    /// Answer to a `Heartbeat`.
    HeartbeatResponse {
        /// Echo of the heartbeat's read round.
        read_seq: u64,
    },
    /// Leadership transfer: the leader tells an up-to-date follower to start
    /// an election now, skipping pre-vote.
    TimeoutNow,
    /// InstallSnapshot: one chunk of the leader's snapshot, for a follower
    /// whose next entry was compacted away. Chunks go one at a time.
    InstallSnapshot {
        /// The snapshot the chunk belongs to.
        meta: SnapshotMeta,
        /// Byte offset of `data` in the snapshot.
        offset: u64,
        /// The chunk.
        data: Vec<u8>,
        /// This is the last chunk.
        done: bool,
    },
    /// Answer to an `InstallSnapshot`.
    InstallSnapshotResponse {
        /// Index of the snapshot being received.
        index: Index,
        /// Bytes received so far: the offset of the next chunk wanted.
        offset: u64,
        /// The snapshot is installed (or the follower already had it all).
        done: bool,
    },
}

impl Message {
    /// A vote answer as (from, pre-vote, granted); `None` for any other
    /// message.
    pub fn vote_answer(&self) -> Option<(NodeId, bool, bool)> {
        match self.body {
            Body::PreVoteResponse { granted } => Some((self.from, true, granted)),
            Body::VoteResponse { granted } => Some((self.from, false, granted)),
            _ => None,
        }
    }

    /// Whether the message must wait until what its `Ready` (and every
    /// one before it) asked to persist is durable. A follower's
    /// acknowledgement promises its log, a vote its hard state, so they
    /// wait. A leader's replication traffic — appends, heartbeats,
    /// snapshot chunks, `TimeoutNow` — promises nothing about the
    /// leader's own disk: its term and vote were durable before it could
    /// win, and it counts its own log toward commit only as far as the
    /// driver reports it synced ([`Node::log_synced`](super::Node::log_synced)).
    /// So it may leave at once, while the leader writes its own log in
    /// parallel with the followers (Raft thesis §10.2.1).
    pub fn waits_for_persist(&self) -> bool {
        !matches!(
            self.body,
            Body::Append { .. }
                | Body::Heartbeat { .. }
                | Body::InstallSnapshot { .. }
                | Body::TimeoutNow
        )
    }
}

impl Body {
    /// A short name of the message type, for traces and the dashboard.
    pub fn name(&self) -> &'static str {
        match self {
            Body::PreVote { .. } => "PreVote",
            Body::PreVoteResponse { .. } => "PreVoteResp",
            Body::Vote { .. } => "Vote",
            Body::VoteResponse { .. } => "VoteResp",
            Body::Append { .. } => "Append",
            Body::AppendResponse { .. } => "AppendResp",
            Body::Heartbeat { .. } => "Heartbeat",
            Body::HeartbeatResponse { .. } => "HeartbeatResp",
            Body::TimeoutNow => "TimeoutNow",
            Body::InstallSnapshot { .. } => "InstallSnapshot",
            Body::InstallSnapshotResponse { .. } => "InstallSnapshotResp",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a leader's replication traffic leaves before the sender's
    /// writes are durable; every answer and every request for votes waits.
    #[test]
    fn only_leader_traffic_leaves_before_the_persist() {
        let early = |body: Body| {
            !Message {
                from: 1,
                to: 2,
                term: 3,
                body,
            }
            .waits_for_persist()
        };
        let append = Body::Append {
            prev_index: 0,
            prev_term: 0,
            entries: Vec::new(),
            commit: 0,
        };
        let snapshot = Body::InstallSnapshot {
            meta: crate::raft::SnapshotMeta::default(),
            offset: 0,
            data: Vec::new(),
            done: true,
        };
        let beat = Body::Heartbeat {
            commit: 0,
            read_seq: 0,
        };
        for body in [append, snapshot, beat, Body::TimeoutNow] {
            let name = body.name();
            assert!(early(body), "{name} should leave at once");
        }
        let waiting = [
            Body::PreVote {
                last_index: 0,
                last_term: 0,
            },
            Body::PreVoteResponse { granted: true },
            Body::Vote {
                last_index: 0,
                last_term: 0,
                transfer: false,
            },
            Body::VoteResponse { granted: true },
            Body::AppendResponse {
                success: true,
                index: 1,
                hint: 0,
            },
            Body::HeartbeatResponse { read_seq: 1 },
            Body::InstallSnapshotResponse {
                index: 1,
                offset: 0,
                done: true,
            },
        ];
        for body in waiting {
            let name = body.name();
            assert!(!early(body), "{name} should wait for the persist");
        }
    }

    /// Files and frames written before `Payload` still read, and vice versa.
    #[test]
    fn a_payload_encodes_as_the_vec_it_replaced() {
        // Empty, short, and long enough for a two-byte length prefix.
        let long: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for bytes in [Vec::new(), vec![0u8, 1, 200, 255], long] {
            let old = postcard::to_allocvec(&bytes).unwrap_or_default();
            let new = postcard::to_allocvec(&Payload::from(bytes.clone())).unwrap_or_default();
            assert_eq!(old, new);
            let back: Result<Payload, _> = postcard::from_bytes(&old);
            assert_eq!(back.ok().as_deref(), Some(&bytes[..]));
            // JSON writes bytes as an array of numbers, as it wrote the Vec.
            let json = serde_json::to_string(&Payload::from(bytes.clone())).unwrap_or_default();
            assert_eq!(json, serde_json::to_string(&bytes).unwrap_or_default());
            let back: Result<Payload, _> = serde_json::from_str(&json);
            assert_eq!(back.ok().as_deref(), Some(&bytes[..]));
        }
        // What the Vec refused, a payload refuses: a JSON string, a number
        // out of a byte's range, a truncated postcard length.
        for text in ["\"abc\"", "[1, 256]", "{}"] {
            assert!(serde_json::from_str::<Vec<u8>>(text).is_err(), "{text}");
            assert!(serde_json::from_str::<Payload>(text).is_err(), "{text}");
        }
        assert!(postcard::from_bytes::<Payload>(&[5, 1, 2]).is_err());
        let bytes = vec![0u8, 1, 200, 255];
        assert_eq!(
            format!("{:?}", Payload::from(bytes.clone())),
            format!("{bytes:?}")
        );
    }
}
