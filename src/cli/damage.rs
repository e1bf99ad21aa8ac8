//! What the commands that open data directories (`raftlab node`, the
//! dashboard's `--data-dir`) tell an operator when a node's storage is
//! damaged: the storage's own error names the file, the offset and what
//! was expected; this adds why the node does not start and how to repair.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::args::Peers;
use crate::raft::NodeId;
use crate::runtime::{NodeStorage, StorageFactory};
use crate::storage::StorageError;

/// Wraps a storage factory to remember which node's storage refused to
/// open as damaged, so the caller can explain after the start failed.
#[derive(Clone, Default)]
pub(super) struct DamageWatch(Arc<Mutex<Option<NodeId>>>);

impl DamageWatch {
    /// `open`, remembering the first node whose storage is damaged.
    pub(super) fn wrap(
        &self,
        open: impl Fn(NodeId) -> Result<NodeStorage, StorageError> + Send + Sync + 'static,
    ) -> StorageFactory {
        let seen = self.0.clone();
        Arc::new(move |id| {
            let opened = open(id);
            if let Err(e) = &opened
                && e.is_damage()
            {
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                seen.get_or_insert(id);
            }
            opened
        })
    }

    /// The node whose storage was found damaged, if any.
    pub(super) fn node(&self) -> Option<NodeId> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why `raftlab node` refuses a damaged node, and the steps that rebuild it
/// from its peers as a new member (the leader sends it the log as a
/// learner; it votes only once promoted).
pub(super) fn node_advice(id: NodeId, peers: &Peers, data_dir: &Path) -> String {
    let peers: Vec<String> = peers.iter().map(|(i, a)| format!("{i}={a}")).collect();
    let peers = peers.join(",");
    let dir = data_dir.join(format!("node-{id}"));
    format!(
        "node {id} will not start: a node that forgot writes it acknowledged could help elect \
         a leader that lacks them, and they would be lost for good.\n\
         Rebuild it from its peers, with a majority of the other nodes running:\n  \
         raftlab client --peers {peers} remove {id}\n  \
         mv {dir} {dir}.damaged\n  \
         raftlab node --id {id} --join --peers {peers} --data-dir {data}\n  \
         raftlab client --peers {peers} add {id}\n  \
         raftlab client --peers {peers} promote {id}\n\
         (\"Durability\" in docs/durability.md explains this.)",
        dir = dir.display(),
        data = data_dir.display(),
    )
}

/// Why the dashboard refuses a damaged data directory.
pub(super) fn dashboard_advice(id: NodeId, data_dir: &Path) -> String {
    format!(
        "node {id}'s files in {} are damaged: it may have lost writes it acknowledged, so the \
         cluster's data cannot be trusted whole. Move {} aside to start a fresh cluster, or \
         restore it from a copy. (See \"Durability\" in docs/durability.md.)",
        data_dir.join(format!("node-{id}")).display(),
        data_dir.display(),
    )
}
