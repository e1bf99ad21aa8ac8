//! The log writer: order, group commit, failure, hand-back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::*;
use crate::raft::{DurableState, Entry, EntryData, Index, SnapshotMeta, Term};
use crate::storage::{LogStorage, MemStorage, Result, StateStorage};

const WAIT: Duration = Duration::from_secs(10);

/// A memory storage that counts its syncs and, while gated, makes each
/// sync wait for a permit: a slow disk the test controls.
struct Gated {
    inner: MemStorage,
    syncs: Arc<AtomicUsize>,
    /// Snapshots saved.
    snapshots: Arc<AtomicUsize>,
    gate: Option<Receiver<()>>,
    /// Told when a sync starts waiting for its permit.
    waiting: Option<Sender<()>>,
}

impl LogStorage for Gated {
    fn append(&mut self, write: &LogWrite) -> Result<()> {
        self.inner.append(write)
    }
    fn compact(&mut self, upto: SnapshotMeta) -> Result<()> {
        self.inner.compact(upto)
    }
    fn sync(&mut self) -> Result<()> {
        if let (Some(gate), Some(waiting)) = (&self.gate, &self.waiting) {
            let _ = waiting.send(());
            let _ = gate.recv_timeout(WAIT);
        }
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.sync()
    }
    fn first_index(&self) -> Index {
        self.inner.first_index()
    }
    fn last_index(&self) -> Index {
        self.inner.last_index()
    }
    fn entries(&self, lo: Index, hi: Index) -> Result<Vec<Entry>> {
        self.inner.entries(lo, hi)
    }
    fn term(&self, index: Index) -> Result<Term> {
        self.inner.term(index)
    }
}

impl StateStorage for Gated {
    fn save_hard_state(&mut self, hard_state: HardState) -> Result<()> {
        self.inner.save_hard_state(hard_state)
    }
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.snapshots.fetch_add(1, Ordering::SeqCst);
        self.inner.save_snapshot(snapshot)
    }
    fn load(&self) -> Result<DurableState> {
        self.inner.load()
    }
}

fn entry(index: Index, term: Term) -> Entry {
    Entry {
        index,
        term,
        data: EntryData::Command(vec![index as u8].into()),
    }
}

fn write(from: Index, to: Index, term: Term) -> WriteOp {
    WriteOp::Log(LogWrite {
        from,
        entries: (from..=to).map(|i| entry(i, term)).collect(),
    })
}

fn start(storage: OwnedStorage) -> LogWriter {
    match LogWriter::start(storage, "test-writer".into()) {
        Ok(writer) => writer,
        Err((_, e)) => panic!("cannot start the writer: {e}"),
    }
}

fn next_report(writer: &LogWriter) -> Report {
    match writer.reports().recv_timeout(WAIT) {
        Ok(report) => report,
        Err(e) => panic!("no report: {e}"),
    }
}

#[test]
fn batches_apply_in_order_and_come_back_with_the_storage() {
    let mut writer = start(Box::new(MemStorage::new()));
    let hs = HardState {
        term: 2,
        vote: Some(1),
    };
    assert_eq!(writer.last_submitted(), 0);
    let a = writer
        .submit(vec![WriteOp::HardState(hs), write(1, 3, 1)])
        .unwrap();
    // A rewrite of the tail in a later term, then more after it.
    let b = writer.submit(vec![write(3, 4, 2)]).unwrap();
    let c = writer.submit(vec![write(5, 5, 2)]).unwrap();
    assert_eq!((a, b, c), (1, 2, 3));
    assert_eq!(writer.last_submitted(), 3);
    let mut synced = 0;
    while synced < c {
        match next_report(&writer) {
            Report::Synced(seq) => {
                assert!(seq > synced, "reports only go up");
                synced = seq;
            }
            Report::Failed(seq, e) => panic!("batch {seq} failed: {e}"),
        }
    }
    let (storage, rest) = writer.finish();
    assert!(rest.is_empty(), "{rest:?}");
    let durable = storage.load().unwrap();
    assert_eq!(durable.hard_state, hs);
    let terms: Vec<(Index, Term)> = durable.entries.iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(terms, [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2)]);
}

#[test]
fn writes_that_arrive_during_a_sync_share_the_next_one() {
    let syncs = Arc::new(AtomicUsize::new(0));
    let (permit, gate) = bounded(16);
    let (waiting_tx, waiting) = bounded(16);
    let storage = Gated {
        inner: MemStorage::new(),
        syncs: syncs.clone(),
        snapshots: Arc::default(),
        gate: Some(gate),
        waiting: Some(waiting_tx),
    };
    let mut writer = start(Box::new(storage));
    writer.submit(vec![write(1, 1, 1)]).unwrap();
    // The first sync is under way (and held): ten more writes come.
    waiting.recv_timeout(WAIT).unwrap();
    for i in 2..=11 {
        writer.submit(vec![write(i, i, 1)]).unwrap();
    }
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(1)));
    // All ten are taken together: one sync for the lot.
    waiting.recv_timeout(WAIT).unwrap();
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(11)));
    assert_eq!(syncs.load(Ordering::SeqCst), 2);
    let (storage, _) = writer.finish();
    assert_eq!(storage.last_index(), 11);
}

#[test]
fn a_snapshot_is_saved_before_the_log_is_compacted_and_needs_no_sync() {
    let syncs = Arc::new(AtomicUsize::new(0));
    let storage = Gated {
        inner: MemStorage::new(),
        syncs: syncs.clone(),
        snapshots: Arc::default(),
        gate: None,
        waiting: None,
    };
    let mut writer = start(Box::new(storage));
    writer.submit(vec![write(1, 4, 1)]).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(1)));
    let snapshot = Snapshot {
        meta: SnapshotMeta::at(3, 1),
        data: b"state".to_vec(),
    };
    writer
        .submit(vec![WriteOp::Snapshot(snapshot.clone())])
        .unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(2)));
    assert_eq!(syncs.load(Ordering::SeqCst), 1, "only the log write synced");
    let (storage, _) = writer.finish();
    assert_eq!(storage.first_index(), 4);
    let durable = storage.load().unwrap();
    assert_eq!(durable.snapshot, Some(snapshot));
    assert_eq!(durable.entries.len(), 1);
}

#[test]
fn a_failed_sync_is_reported_and_stops_the_writer() {
    let mut storage = MemStorage::new();
    storage.fail_next_sync();
    let mut writer = start(Box::new(storage));
    writer.submit(vec![write(1, 2, 1)]).unwrap();
    match next_report(&writer) {
        Report::Failed(1, e) => assert!(e.to_string().contains("sync"), "{e}"),
        other => panic!("{other:?}"),
    }
    // Nothing more is applied or reported; the storage comes back.
    let _ = writer.submit(vec![write(3, 3, 1)]);
    let (storage, rest) = writer.finish();
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(storage.last_index(), 2, "written, though its sync failed");
}

/// A writer over a [`Gated`] memory storage whose syncs wait for permits:
/// the permits, the "a sync waits" signal and the count of snapshots saved.
fn gated() -> (LogWriter, Sender<()>, Receiver<()>, Arc<AtomicUsize>) {
    let snapshots = Arc::new(AtomicUsize::new(0));
    let (permit, gate) = bounded(16);
    let (waiting_tx, waiting) = bounded(16);
    let storage = Gated {
        inner: MemStorage::new(),
        syncs: Arc::default(),
        snapshots: snapshots.clone(),
        gate: Some(gate),
        waiting: Some(waiting_tx),
    };
    (start(Box::new(storage)), permit, waiting, snapshots)
}

fn compaction(index: Index) -> WriteOp {
    WriteOp::Compact(Snapshot {
        meta: SnapshotMeta::at(index, 1),
        data: b"state".to_vec(),
    })
}

/// A gated writer given `first` (a log write up to `last`) and, while its
/// sync waits, the node's compaction up to `at` and a write of `last + 1`.
fn compaction_behind_a_sync(
    first: WriteOp,
    last: Index,
    at: Index,
) -> (LogWriter, Sender<()>, Receiver<()>, Arc<AtomicUsize>) {
    let (mut writer, permit, waiting, snapshots) = gated();
    writer.submit(vec![first]).unwrap();
    waiting.recv_timeout(WAIT).unwrap();
    writer.submit(vec![compaction(at)]).unwrap();
    writer.submit(vec![write(last + 1, last + 1, 1)]).unwrap();
    (writer, permit, waiting, snapshots)
}

/// [`compaction_behind_a_sync`], where the compaction is due: it is written
/// with the write after it, before that one's sync, not kept back.
fn assert_written_at_once(first: WriteOp, last: Index, at: Index) {
    let (writer, permit, waiting, snapshots) = compaction_behind_a_sync(first, last, at);
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(1)));
    waiting.recv_timeout(WAIT).unwrap();
    assert_eq!(snapshots.load(Ordering::SeqCst), 1);
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(3)));
    drop(permit);
    let (storage, _) = writer.finish();
    assert_eq!(storage.first_index(), at + 1);
}

#[test]
fn a_compaction_waits_while_writes_keep_coming_and_is_written_once_they_pause() {
    // During the first sync: a compaction and a write, taken together.
    let (mut writer, permit, waiting, snapshots) = compaction_behind_a_sync(write(1, 4, 1), 4, 3);
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(1)));
    waiting.recv_timeout(WAIT).unwrap();
    // During the second sync another write comes, so when it is done
    // a batch waits: the compaction stays back.
    writer.submit(vec![write(6, 6, 1)]).unwrap();
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(3)));
    waiting.recv_timeout(WAIT).unwrap();
    assert_eq!(snapshots.load(Ordering::SeqCst), 0, "written too early");
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(4)));
    // No write comes now: the compaction is written, and synced.
    waiting.recv_timeout(WAIT).unwrap();
    assert_eq!(snapshots.load(Ordering::SeqCst), 1);
    permit.send(()).unwrap();
    let (storage, rest) = writer.finish();
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(storage.first_index(), 4);
    assert_eq!(storage.last_index(), 6);
    let durable = storage.load().unwrap();
    assert_eq!(durable.snapshot.map(|s| s.meta.index), Some(3));
}

#[test]
fn a_compaction_far_past_the_last_one_written_is_written_at_once() {
    let far = LAZY_COMPACTION + 10;
    assert_written_at_once(write(1, far, 1), far, LAZY_COMPACTION);
}

#[test]
fn a_compaction_after_many_bytes_of_commands_is_written_at_once() {
    // Few entries, but large ones: the byte bound decides, not the count
    // (a compaction at 2 is far below LAZY_COMPACTION entries).
    let big = vec![7u8; 1 << 20];
    let n = (LAZY_COMPACTION_BYTES >> 20) as Index;
    let entries = (1..=n)
        .map(|index| Entry {
            index,
            term: 1,
            data: EntryData::Command(big.clone().into()),
        })
        .collect();
    assert_written_at_once(WriteOp::Log(LogWrite { from: 1, entries }), n, 2);
}

#[test]
fn a_compaction_kept_back_is_written_before_the_storage_goes_back() {
    let (writer, permit, _waiting, snapshots) = compaction_behind_a_sync(write(1, 4, 1), 4, 2);
    // Permits for every sync left: the node lets go at once.
    for _ in 0..4 {
        permit.send(()).unwrap();
    }
    let (storage, _) = writer.finish();
    assert_eq!(snapshots.load(Ordering::SeqCst), 1);
    assert_eq!(storage.first_index(), 3);
    assert_eq!(storage.last_index(), 5);
}

#[test]
fn a_received_snapshot_is_written_at_once_after_the_compaction_kept_back() {
    let (mut writer, permit, waiting, snapshots) = compaction_behind_a_sync(write(1, 4, 1), 4, 2);
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(1)));
    waiting.recv_timeout(WAIT).unwrap();
    let received = Snapshot {
        meta: SnapshotMeta::at(9, 2),
        data: b"leader's".to_vec(),
    };
    writer
        .submit(vec![WriteOp::Snapshot(received.clone())])
        .unwrap();
    permit.send(()).unwrap();
    assert!(matches!(next_report(&writer), Report::Synced(3)));
    assert!(matches!(next_report(&writer), Report::Synced(4)));
    // The received snapshot needs no sync of the log: both are written by
    // the time its batch is reported, the kept one first.
    assert_eq!(snapshots.load(Ordering::SeqCst), 2);
    drop(permit);
    drop(waiting);
    let (storage, _) = writer.finish();
    let durable = storage.load().unwrap();
    assert_eq!(durable.snapshot, Some(received));
    assert_eq!(storage.first_index(), 10);
}
