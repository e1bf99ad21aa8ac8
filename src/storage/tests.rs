//! The storage conformance suite, run against [`MemStorage`] and
//! [`FileStorage`] alike, then what only one of them promises: the file
//! store's recovery from torn and corrupt files, the memory store's crashes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

use super::*;
use crate::raft::{EntryData, HardState};

const CLUSTER: u64 = 0xC1;
const NODE: u64 = 3;

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("raftlab-storage-{}-{name}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn entry(index: Index, term: Term, len: usize) -> Entry {
    Entry {
        index,
        term,
        data: EntryData::Command(vec![index as u8; len].into()),
    }
}

fn write(from: Index, term: Term, n: u64) -> LogWrite {
    LogWrite {
        from,
        entries: (from..from + n).map(|i| entry(i, term, 8)).collect(),
    }
}

fn snap(index: Index, term: Term) -> Snapshot {
    Snapshot {
        meta: SnapshotMeta::at(index, term),
        data: vec![index as u8; 4],
    }
}

fn all<S: LogStorage + ?Sized>(s: &S) -> Vec<Entry> {
    s.entries(s.first_index(), s.last_index() + 1).unwrap()
}

fn small_segments() -> FileOptions {
    FileOptions { segment_bytes: 256 }
}

fn open_file(dir: &Path) -> FileStorage {
    FileStorage::open_with(dir, CLUSTER, NODE, small_segments())
        .unwrap()
        .0
}

fn reopen_file(s: FileStorage) -> FileStorage {
    let data_dir = s.dir().parent().unwrap().to_path_buf();
    drop(s);
    open_file(&data_dir)
}

fn reopen_mem(mut s: MemStorage) -> MemStorage {
    s.crash(usize::MAX, false);
    s
}

/// The contract of `LogStorage` and `StateStorage`, for any implementation;
/// `reopen` restarts it with every write kept.
fn conformance<S: Storage>(mut s: S, reopen: impl Fn(S) -> S) {
    // A new store is empty.
    assert_eq!((s.first_index(), s.last_index()), (1, 0));
    assert_eq!(s.term(0).unwrap(), 0);
    assert_eq!(s.entries(1, 1).unwrap(), vec![]);
    assert_eq!(s.load().unwrap(), DurableState::default());

    // Appends, reads, and reads out of range.
    s.append(&write(1, 1, 5)).unwrap();
    assert_eq!(s.last_index(), 5);
    assert_eq!(
        s.entries(2, 4).unwrap(),
        vec![entry(2, 1, 8), entry(3, 1, 8)]
    );
    assert_eq!(s.term(5).unwrap(), 1);
    assert!(matches!(s.term(6), Err(StorageError::Unavailable { .. })));
    assert!(matches!(
        s.entries(0, 2),
        Err(StorageError::Unavailable { .. })
    ));
    assert!(matches!(
        s.entries(1, 7),
        Err(StorageError::Unavailable { .. })
    ));

    // Bad writes are refused and change nothing.
    let gap = s.append(&write(7, 1, 1));
    assert!(matches!(
        gap,
        Err(StorageError::WriteOutOfRange {
            from: 7,
            first: 1,
            last: 5
        })
    ));
    let mut jumbled = write(6, 1, 2);
    jumbled.entries[1].index = 9;
    let err = s.append(&jumbled);
    assert!(matches!(
        err,
        Err(StorageError::WriteNotContiguous { position: 1, .. })
    ));
    assert_eq!(s.last_index(), 5);

    // A write below the end replaces the suffix; an empty one truncates.
    s.append(&write(4, 2, 3)).unwrap();
    assert_eq!(s.last_index(), 6);
    assert_eq!(s.term(3).unwrap(), 1);
    assert_eq!(s.term(4).unwrap(), 2);
    s.append(&LogWrite {
        from: 6,
        entries: vec![],
    })
    .unwrap();
    assert_eq!(s.last_index(), 5);
    let log = all(&s);

    // Synced writes and the hard state survive a restart.
    s.sync().unwrap();
    let hs = HardState {
        term: 2,
        vote: Some(1),
    };
    s.save_hard_state(hs).unwrap();
    let mut s = reopen(s);
    assert_eq!(all(&s), log);
    assert_eq!(s.load().unwrap().hard_state, hs);

    // Compaction to a saved snapshot.
    s.save_snapshot(&snap(3, 1)).unwrap();
    s.compact(SnapshotMeta::at(3, 1)).unwrap();
    assert_eq!((s.first_index(), s.last_index()), (4, 5));
    assert_eq!(s.term(3).unwrap(), 1);
    assert!(matches!(s.term(2), Err(StorageError::Unavailable { .. })));
    assert!(matches!(
        s.entries(3, 4),
        Err(StorageError::Unavailable { .. })
    ));
    assert!(matches!(
        s.append(&write(3, 2, 1)),
        Err(StorageError::WriteOutOfRange { .. })
    ));
    // Compacting below the compaction point does nothing.
    s.compact(SnapshotMeta::at(2, 1)).unwrap();
    assert_eq!(s.first_index(), 4);
    s.sync().unwrap();
    let mut s = reopen(s);
    let durable = s.load().unwrap();
    assert_eq!(durable.snapshot, Some(snap(3, 1)));
    assert_eq!(durable.entries, vec![entry(4, 2, 8), entry(5, 2, 8)]);
    assert_eq!((s.first_index(), s.last_index()), (4, 5));

    // Compacting past the end empties the log; appends resume after it.
    s.save_snapshot(&snap(10, 3)).unwrap();
    s.compact(SnapshotMeta::at(10, 3)).unwrap();
    assert_eq!((s.first_index(), s.last_index()), (11, 10));
    assert_eq!(s.term(10).unwrap(), 3);
    s.append(&write(11, 3, 2)).unwrap();
    s.sync().unwrap();
    let mut s = reopen(s);
    assert_eq!(
        s.load().unwrap().entries,
        vec![entry(11, 3, 8), entry(12, 3, 8)]
    );

    // A snapshot that conflicts with the log at its index drops the log.
    s.save_snapshot(&snap(11, 4)).unwrap();
    s.compact(SnapshotMeta::at(11, 4)).unwrap();
    assert_eq!((s.first_index(), s.last_index()), (12, 11));
    s.sync().unwrap();
    let mut s = reopen(s);
    let durable = s.load().unwrap();
    assert_eq!(durable.snapshot, Some(snap(11, 4)));
    assert_eq!(durable.entries, vec![]);
    assert_eq!(durable.hard_state, hs);

    // A log compacted past its latest snapshot cannot be recovered.
    s.append(&write(12, 4, 3)).unwrap();
    s.compact(SnapshotMeta::at(13, 4)).unwrap();
    assert!(matches!(s.load(), Err(StorageError::Inconsistent { .. })));
}

/// A follower saves a leader's snapshot that conflicts with its log and
/// crashes before compacting; after the restart it appends past the
/// snapshot. Those entries must survive the next restart: recovery
/// finishes the interrupted compaction instead of letting every later
/// load drop the conflicting log — and what followed it — whole.
fn interrupted_install<S: Storage>(mut s: S, reopen: impl Fn(S) -> S) {
    s.append(&write(1, 1, 10)).unwrap();
    s.sync().unwrap();
    s.save_snapshot(&snap(10, 2)).unwrap();
    let mut s = reopen(s);
    let durable = s.load().unwrap();
    assert_eq!(
        durable.snapshot.map(|x| x.meta),
        Some(SnapshotMeta::at(10, 2))
    );
    assert_eq!(durable.entries, vec![]);
    s.append(&write(11, 2, 3)).unwrap();
    s.sync().unwrap();
    let s = reopen(s);
    assert_eq!(s.load().unwrap().entries, write(11, 2, 3).entries);
}

#[test]
fn an_interrupted_snapshot_install_loses_nothing_appended_after_it() {
    interrupted_install(MemStorage::new(), reopen_mem);
    let dir = TempDir::new("interrupted-install");
    interrupted_install(open_file(&dir.0), reopen_file);
}

#[test]
fn conformance_mem() {
    conformance(MemStorage::new(), reopen_mem);
}

#[test]
fn conformance_file() {
    let dir = TempDir::new("conformance");
    conformance(open_file(&dir.0), reopen_file);
}

#[test]
fn conformance_file_as_trait_object() {
    // The traits are object-safe: a driver can hold `Box<dyn Storage>`.
    let dir = TempDir::new("dyn");
    let mut s: Box<dyn Storage> = Box::new(open_file(&dir.0));
    s.append(&write(1, 1, 3)).unwrap();
    s.sync().unwrap();
    assert_eq!(s.load().unwrap().entries.len(), 3);
}

/// One step of the model-based test.
#[derive(Clone, Debug)]
enum Op {
    /// Rewrite from `back` entries before the end with `n` entries.
    Append {
        back: u8,
        n: u8,
        bump: bool,
        len: u8,
    },
    /// Snapshot and compact at `back` entries before the end.
    Compact {
        back: u8,
    },
    /// Snapshot and compact past the end of the log.
    CompactPast {
        extra: u8,
    },
    Sync,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..4, 0u8..6, any::<bool>(), 0u8..40)
            .prop_map(|(back, n, bump, len)| Op::Append { back, n, bump, len }),
        1 => (0u8..6).prop_map(|back| Op::Compact { back }),
        1 => (0u8..3).prop_map(|extra| Op::CompactPast { extra }),
        1 => Just(Op::Sync),
        1 => Just(Op::Reopen),
    ]
}

/// Runs `ops` on a store and on a plain model (the compaction point and the
/// entries after it) and checks they agree after every step.
fn run_model<S: Storage>(mut s: S, ops: &[Op], reopen: impl Fn(S) -> S) {
    let mut base = SnapshotMeta::default();
    let mut model: Vec<Entry> = Vec::new();
    for op in ops {
        let last = base.index + model.len() as Index;
        match *op {
            Op::Append { back, n, bump, len } => {
                let from = last + 1 - (back as Index).min(model.len() as Index);
                model.truncate((from - base.index - 1) as usize);
                let term = model.last().map_or(base.term, |e| e.term).max(1) + bump as Term;
                let entries: Vec<Entry> = (0..n as Index)
                    .map(|i| entry(from + i, term, len as usize))
                    .collect();
                model.extend(entries.iter().cloned());
                s.append(&LogWrite { from, entries }).unwrap();
            }
            Op::Compact { back } => {
                if model.is_empty() {
                    continue;
                }
                let keep = (back as usize).min(model.len() - 1);
                let at = &model[model.len() - 1 - keep];
                let meta = SnapshotMeta::at(at.index, at.term);
                s.save_snapshot(&Snapshot { meta, data: vec![] }).unwrap();
                s.compact(meta).unwrap();
                model.drain(..model.len() - keep);
                base = meta;
            }
            Op::CompactPast { extra } => {
                let term = model.last().map_or(base.term, |e| e.term) + 1;
                let meta = SnapshotMeta::at(last + 1 + extra as Index, term);
                s.save_snapshot(&Snapshot { meta, data: vec![] }).unwrap();
                s.compact(meta).unwrap();
                model.clear();
                base = meta;
            }
            Op::Sync => s.sync().unwrap(),
            Op::Reopen => {
                s = reopen(s);
                let durable = s.load().unwrap();
                assert_eq!(durable.entries, model);
                assert_eq!(durable.snapshot.map(|s| s.meta).unwrap_or_default(), base);
            }
        }
        assert_eq!(s.first_index(), base.index + 1);
        assert_eq!(all(&s), model);
        assert_eq!(s.term(base.index).unwrap(), base.term);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn model_mem(ops in proptest::collection::vec(op(), 1..40)) {
        run_model(MemStorage::new(), &ops, reopen_mem);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn model_file(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = TempDir::new("model");
        run_model(open_file(&dir.0), &ops, reopen_file);
    }
}

mod file_recovery;
