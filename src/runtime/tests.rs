//! Unit tests of the runtime's parts that need no threads.

use super::{MemStorage, Storage, StorageError};
use crate::raft::{Entry, EntryData, HardState, LogWrite};

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        data: EntryData::Noop,
    }
}

#[test]
fn mem_storage_keeps_what_it_was_given_and_refuses_gaps() {
    let mut storage = MemStorage::default();
    let hs = HardState {
        term: 3,
        vote: Some(2),
    };
    assert_eq!(storage.save_hard_state(hs), Ok(()));
    let write = LogWrite {
        from: 1,
        entries: vec![entry(1, 1), entry(2, 3)],
    };
    assert_eq!(storage.write_log(write), Ok(()));
    let gap = LogWrite {
        from: 5,
        entries: vec![entry(5, 3)],
    };
    assert_eq!(
        storage.write_log(gap),
        Err(StorageError::Gap {
            from: 5,
            first: 1,
            last: 2
        })
    );
    let loaded = storage.load().unwrap_or_default();
    assert_eq!(loaded.hard_state, hs);
    assert_eq!(loaded.entries.len(), 2);
}
