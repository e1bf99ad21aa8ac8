//! The storage seam: what a node thread persists through.
//!
//! A node thread writes each `Ready`'s hard state, snapshot and log change
//! through a [`crate::storage::Storage`], then syncs before any of the
//! `Ready`'s messages leave (persist before send). A killed node's storage
//! outlives its thread and is what [`Cluster::restart`](super::Cluster::restart)
//! recovers from. The stores are those of [`crate::storage`]: in memory
//! (the default) or the file-backed WAL.

pub use crate::storage::{MemStorage, Storage, StorageError};

/// A node's storage as the runtime holds it: any store that can move to
/// the node's thread and back.
pub type NodeStorage = Box<dyn Storage + Send>;
