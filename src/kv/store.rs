//! The replicated key-value store with exactly-once client sessions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command::{CommandView, OpView};
use super::{ClientId, KvError, Op, OpResult};
use crate::raft::{Entry, EntryData, Index, RaftLog, Snapshot};

/// A command's outcome, to hand back to the client that proposed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Log index of the entry.
    pub index: Index,
    /// The client that issued the command.
    pub client: ClientId,
    /// Its sequence number.
    pub seq: u64,
    /// What happened.
    pub result: OpResult,
}

/// The state machine: a sorted map plus the last result of each client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvStore {
    data: BTreeMap<String, String>,
    /// Last applied sequence number and its result, per client.
    sessions: BTreeMap<ClientId, (u64, OpResult)>,
    applied: Index,
}

impl KvStore {
    /// An empty store.
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// Index of the last entry applied.
    pub fn applied_index(&self) -> Index {
        self.applied
    }

    /// The value of `key`, as of `applied_index()`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All keys and values, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.data.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Encodes the whole store (data, client sessions, applied index) as a
    /// snapshot: a magic number, a format version, a CRC32 of the body and
    /// the postcard-encoded body.
    pub fn snapshot(&self) -> Vec<u8> {
        // Encoding maps of strings and integers into a Vec cannot fail.
        let body = postcard::to_allocvec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(body.len() + SNAPSHOT_HEADER);
        out.extend_from_slice(&SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// A snapshot to compact `log` with, when the store has applied at
    /// least `threshold` entries past the log's latest snapshot (never when
    /// `threshold` is 0). Every driver compacts by this rule.
    pub fn compaction_snapshot(&self, log: &RaftLog, threshold: u64) -> Option<Snapshot> {
        let covered = log.snapshot_meta().index;
        if threshold == 0 || self.applied < covered + threshold {
            return None;
        }
        Some(Snapshot {
            meta: log.snapshot_meta_at(self.applied)?,
            data: self.snapshot(),
        })
    }

    /// Rebuilds a store from `snapshot()`'s bytes, refusing anything with a
    /// wrong magic, version or checksum.
    pub fn restore(bytes: &[u8]) -> Result<KvStore, KvError> {
        let bad = |reason: String| KvError::Snapshot { reason };
        if bytes.len() < SNAPSHOT_HEADER {
            return Err(bad(format!(
                "{} bytes is shorter than the {SNAPSHOT_HEADER}-byte header",
                bytes.len()
            )));
        }
        let (header, body) = bytes.split_at(SNAPSHOT_HEADER);
        if header[..4] != SNAPSHOT_MAGIC {
            return Err(bad("not a raftlab KV snapshot (bad magic number)".into()));
        }
        let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if version != SNAPSHOT_VERSION {
            return Err(bad(format!(
                "format version {version}, this raftlab reads version {SNAPSHOT_VERSION}"
            )));
        }
        let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if crc32fast::hash(body) != crc {
            return Err(bad("checksum mismatch: the snapshot is corrupt".into()));
        }
        postcard::from_bytes(body).map_err(|e| bad(format!("cannot decode: {e}")))
    }

    /// Applies a committed entry. Entries must come in index order, each
    /// exactly once. A command already applied for its client (a retry) is
    /// not applied again; its first result is returned.
    pub fn apply(&mut self, entry: &Entry) -> Result<Option<Applied>, KvError> {
        self.applied = entry.index;
        let EntryData::Command(bytes) = &entry.data else {
            return Ok(None);
        };
        // Decoded borrowing the entry's bytes: the store copies only the
        // strings it keeps.
        let command = CommandView::decode(entry.index, bytes)?;
        let result = match self.sessions.get_mut(&command.client) {
            Some((seq, result)) if *seq == command.seq => result.clone(),
            // An older sequence number: the client has moved on and no longer
            // waits for it; do not apply it again.
            Some((seq, _)) if *seq > command.seq => return Ok(None),
            Some(session) => {
                let result = execute(&mut self.data, command.op);
                *session = (command.seq, result.clone());
                result
            }
            None => {
                let result = execute(&mut self.data, command.op);
                self.sessions
                    .insert(command.client, (command.seq, result.clone()));
                result
            }
        };
        Ok(Some(Applied {
            index: entry.index,
            client: command.client,
            seq: command.seq,
            result,
        }))
    }

    /// Runs a read against the current state.
    pub fn read(&self, op: &Op) -> OpResult {
        match op {
            Op::Get { key } => OpResult::Value(self.data.get(key).cloned()),
            // Writes are never served as reads; report what a get would.
            other => OpResult::Value(self.data.get(other.key()).cloned()),
        }
    }
}

/// Runs `op` on `data`. A new value overwrites the old one in place, so a
/// put to an existing key allocates nothing.
fn execute(data: &mut BTreeMap<String, String>, op: OpView<'_>) -> OpResult {
    match op {
        OpView::Put { key, value } => {
            set(data, key, value);
            OpResult::Done
        }
        OpView::Get { key } => OpResult::Value(data.get(key).cloned()),
        OpView::Delete { key } => {
            data.remove(key);
            OpResult::Done
        }
        OpView::Cas { key, old, new } => match data.get_mut(key) {
            Some(current) if current == old => {
                current.clear();
                current.push_str(new);
                OpResult::Swapped(true)
            }
            _ => OpResult::Swapped(false),
        },
    }
}

/// Sets `key` to `value`, reusing the existing strings when the key is there.
fn set(data: &mut BTreeMap<String, String>, key: &str, value: &str) {
    match data.get_mut(key) {
        Some(current) => {
            current.clear();
            current.push_str(value);
        }
        None => {
            data.insert(key.to_string(), value.to_string());
        }
    }
}

/// Magic number opening a KV snapshot.
const SNAPSHOT_MAGIC: [u8; 4] = *b"RLKV";
/// Version of the KV snapshot format.
const SNAPSHOT_VERSION: u32 = 1;
/// Magic, version and CRC32.
const SNAPSHOT_HEADER: usize = 12;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Command;

    fn entry(index: Index, client: ClientId, seq: u64, op: Op) -> Entry {
        let cmd = Command { client, seq, op };
        Entry {
            index,
            term: 1,
            data: EntryData::Command(cmd.encode().into()),
        }
    }

    fn put(k: &str, v: &str) -> Op {
        Op::Put {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn put_get_delete_cas() {
        let mut kv = KvStore::new();
        kv.apply(&entry(1, 1, 1, put("x", "1"))).unwrap();
        assert_eq!(kv.get("x"), Some("1"));
        let cas = Op::Cas {
            key: "x".into(),
            old: "1".into(),
            new: "2".into(),
        };
        let a = kv.apply(&entry(2, 1, 2, cas.clone())).unwrap().unwrap();
        assert_eq!(a.result, OpResult::Swapped(true));
        let a = kv.apply(&entry(3, 2, 1, cas)).unwrap().unwrap();
        assert_eq!(a.result, OpResult::Swapped(false));
        kv.apply(&entry(4, 1, 3, Op::Delete { key: "x".into() }))
            .unwrap();
        assert_eq!(kv.get("x"), None);
        assert_eq!(kv.applied_index(), 4);
    }

    #[test]
    fn retried_write_applies_once() {
        let mut kv = KvStore::new();
        kv.apply(&entry(1, 7, 1, put("x", "a"))).unwrap();
        kv.apply(&entry(2, 8, 1, put("x", "b"))).unwrap();
        // Client 7 retries its first put: it must not overwrite "b".
        let a = kv.apply(&entry(3, 7, 1, put("x", "a"))).unwrap().unwrap();
        assert_eq!(a.result, OpResult::Done);
        assert_eq!(kv.get("x"), Some("b"));
    }

    #[test]
    fn snapshot_round_trips_data_sessions_and_index() {
        let mut kv = KvStore::new();
        kv.apply(&entry(1, 7, 1, put("x", "a"))).unwrap();
        kv.apply(&entry(2, 8, 1, put("y", "b"))).unwrap();
        let restored = KvStore::restore(&kv.snapshot()).unwrap();
        assert_eq!(restored, kv);
        // The sessions came along: a retry is still not applied twice.
        let mut restored = restored;
        kv.apply(&entry(3, 9, 1, put("x", "c"))).unwrap();
        restored.apply(&entry(3, 9, 1, put("x", "c"))).unwrap();
        let retry = restored
            .apply(&entry(4, 7, 1, put("x", "a")))
            .unwrap()
            .unwrap();
        assert_eq!(retry.result, OpResult::Done);
        assert_eq!(restored.get("x"), Some("c"));
    }

    #[test]
    fn corrupt_snapshots_are_refused() {
        let mut kv = KvStore::new();
        kv.apply(&entry(1, 1, 1, put("x", "1"))).unwrap();
        let good = kv.snapshot();
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        assert!(KvStore::restore(&flipped).is_err());
        assert!(KvStore::restore(&good[..5]).is_err());
        let mut other_version = good.clone();
        other_version[4] = 9;
        let err = KvStore::restore(&other_version).unwrap_err().to_string();
        assert!(err.contains("version 9"), "{err}");
        assert!(KvStore::restore(b"not a snapshot at all").is_err());
    }

    #[test]
    fn undecodable_entry_is_an_error() {
        let mut kv = KvStore::new();
        let bad = Entry {
            index: 1,
            term: 1,
            data: EntryData::Command(vec![0xff, 0xff, 0xff].into()),
        };
        assert!(kv.apply(&bad).is_err());
    }
}
