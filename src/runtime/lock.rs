//! Locks that never stay poisoned. A panicked holder leaves data that is
//! still consistent enough to show and use, so [`lock`] takes it over
//! rather than spreading the panic. Its own module, below everything in
//! `runtime/`, so a file that needs only this does not import the
//! cluster's shared state.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, taking over the data if a holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
