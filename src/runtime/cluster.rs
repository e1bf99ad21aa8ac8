//! [`Cluster`]: starting the threads, views and clients, shutting down.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::RuntimeError;
use super::client::Client;
use super::clock::Clock;
use super::config::ClusterConfig;
use super::node::{Control, ExitReason, NodeChannels, NodeExit, NodeThread};
use super::shared::{NodeShared, Shared, lock};
use super::storage::NodeStorage;
use super::timer::{Timer, TimerInput};
use super::view::{self, ClusterView, NodeState, NodeView, ViewHub, ViewWatch};
use crate::kv::KvStore;
use crate::kv::history::HistoryEvent;
use crate::net::Fabric;
use crate::raft::{Node, NodeId};

/// How long shutdown waits for all threads together.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// How long a kill waits for the node's thread.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(2);

/// One node's handle: its thread while up, its storage while down.
pub(crate) struct Slot {
    pub(crate) id: NodeId,
    pub(crate) thread: Option<JoinHandle<NodeExit>>,
    pub(crate) storage: Option<NodeStorage>,
    pub(crate) channels: NodeChannels,
    /// Lives started, for fresh seeds on restart.
    pub(crate) incarnation: u64,
}

/// A live Raft cluster: one thread per node, a timer thread, and the
/// shared network. Controls take `&self`, so one cluster can be driven
/// from several threads; dropping it stops every thread.
pub struct Cluster {
    pub(crate) config: ClusterConfig,
    pub(crate) shared: Arc<Shared>,
    pub(crate) slots: Mutex<Vec<Slot>>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

impl Cluster {
    /// Starts `config.nodes` fresh nodes, all connected, and the clock.
    pub fn start(config: ClusterConfig) -> Result<Cluster, RuntimeError> {
        config.validate()?;
        let ids = config.ids();
        let fabric = Fabric::new(&ids)?;
        let (timer_tx, timer_rx) = unbounded();
        let mut node_shared = Vec::with_capacity(ids.len());
        let mut slots = Vec::with_capacity(ids.len());
        let mut tickers = Vec::with_capacity(ids.len());
        for &id in &ids {
            let (inbox_tx, inbox) = unbounded();
            let (control_tx, control) = unbounded();
            let (ticker_tx, ticker) = bounded(1);
            node_shared.push(NodeShared::new(inbox_tx, control_tx));
            tickers.push(ticker_tx);
            slots.push(Slot {
                id,
                thread: None,
                storage: Some((config.storage)(id)?),
                channels: NodeChannels {
                    inbox,
                    ticker,
                    control,
                },
                incarnation: 0,
            });
        }
        let clock = Clock::new(config.tick, config.speed, config.start_paused);
        let hub = ViewHub::new(&ids, config.event_capacity);
        let shared = Arc::new(Shared::new(
            node_shared,
            fabric,
            clock,
            timer_tx,
            hub,
            config.snapshot_threshold,
            config.log_window,
            config.record_history,
        ));
        let timer = Timer::new(shared.clone(), timer_rx, tickers);
        let handle = std::thread::Builder::new()
            .name("raftlab-timer".into())
            .spawn(move || timer.run())
            .map_err(|e| RuntimeError::Spawn(e.to_string()))?;
        let cluster = Cluster {
            config,
            shared,
            slots: Mutex::new(Vec::new()),
            timer: Mutex::new(Some(handle)),
        };
        for mut slot in slots {
            // On error the cluster is dropped, which stops what started.
            cluster.launch(&mut slot)?;
            lock(&cluster.slots).push(slot);
        }
        cluster
            .shared
            .event(None, format!("cluster of {} nodes started", ids.len()));
        Ok(cluster)
    }

    /// Starts node `slot.id`'s thread from its storage.
    pub(crate) fn launch(&self, slot: &mut Slot) -> Result<(), RuntimeError> {
        let id = slot.id;
        let recovery = |reason: String| RuntimeError::Recovery { id, reason };
        let storage = match slot.storage.take() {
            Some(storage) => storage,
            None if slot.thread.is_some() => return Err(RuntimeError::NodeRunning(id)),
            None => {
                return Err(recovery(
                    "its storage was lost when its thread failed".into(),
                ));
            }
        };
        let durable = match storage.load() {
            Ok(d) => d,
            Err(e) => {
                slot.storage = Some(storage);
                return Err(e.into());
            }
        };
        let kv = match &durable.snapshot {
            Some(snapshot) => KvStore::restore(&snapshot.data).map_err(|e| e.to_string()),
            None => Ok(KvStore::new()),
        };
        let node = kv.and_then(|kv| {
            let mut rng = node_rng(self.config.seed, id, slot.incarnation);
            let node = Node::new(self.config.raft_config(id), durable, rng.next_u64());
            node.map(|n| (n, kv, rng.next_u64()))
                .map_err(|e| e.to_string())
        });
        let (node, kv, net_seed) = match node {
            Ok(parts) => parts,
            Err(reason) => {
                slot.storage = Some(storage);
                return Err(recovery(reason));
            }
        };
        slot.incarnation += 1;
        slot.channels.drain();
        if let Some(shared) = self.shared.node(id) {
            shared.set_state(NodeState::Up);
        }
        let thread = NodeThread::new(node, kv, storage, self.shared.clone(), net_seed);
        let channels = slot.channels.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("raftlab-n{id}"))
            .spawn(move || thread.run(&channels));
        match spawned {
            Ok(handle) => {
                slot.thread = Some(handle);
                Ok(())
            }
            Err(e) => {
                if let Some(shared) = self.shared.node(id) {
                    shared.set_state(NodeState::Down);
                }
                Err(RuntimeError::Spawn(e.to_string()))
            }
        }
    }

    /// Waits up to `wait` for node `slot.id`'s thread to end, then takes
    /// back its storage and marks it down. `false` if it did not end.
    pub(crate) fn reap(&self, slot: &mut Slot, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let Some(handle) = slot.thread.take() else {
            return true;
        };
        while !handle.is_finished() {
            if Instant::now() >= deadline {
                slot.thread = Some(handle);
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let id = slot.id;
        if let Some(shared) = self.shared.node(id) {
            shared.set_state(NodeState::Down);
        }
        match handle.join() {
            Ok(NodeExit { storage, reason }) => {
                match reason {
                    ExitReason::Killed => {}
                    ExitReason::Storage(e) => self.shared.event(Some(id), format!("crashed: {e}")),
                    ExitReason::Corrupt(e) => self.shared.event(Some(id), format!("crashed: {e}")),
                }
                if let (Some(before), Ok(durable)) = (self.shared.view.node(id), storage.load()) {
                    let view = NodeView::down(&before, &durable, self.shared.log_window);
                    self.shared.view.publish_node(&view);
                }
                slot.storage = Some(storage);
            }
            Err(_) => {
                // The thread panicked and took its storage with it: the
                // node stays down for good.
                self.shared
                    .event(Some(id), "crashed and lost its storage".to_string());
            }
        }
        true
    }

    /// The node ids, `1..=nodes`.
    pub fn ids(&self) -> Vec<NodeId> {
        self.config.ids()
    }

    /// The configuration the cluster was started with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// A snapshot of everything the dashboard shows.
    pub fn view(&self) -> Arc<ClusterView> {
        view::build(&self.shared)
    }

    /// A watcher that waits for view changes.
    pub fn watch(&self) -> ViewWatch {
        ViewWatch {
            shared: self.shared.clone(),
            seen: 0,
        }
    }

    /// The leader, per the latest view (the running leader of the highest term).
    pub fn leader(&self) -> Option<NodeId> {
        self.view().leader()
    }

    /// A new client session (its own history process).
    pub fn client(&self) -> Client {
        Client::new(self.shared.clone(), self.ids())
    }

    /// The client history recorded so far (times in wall µs since start).
    pub fn history(&self) -> Vec<HistoryEvent> {
        lock(&self.shared.history).clone()
    }

    /// Stops every thread and waits for them (boundedly). Node storage is
    /// dropped with the cluster.
    pub fn shutdown(self) {
        self.stop();
    }

    fn stop(&self) {
        if self.shared.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        let mut slots = lock(&self.slots);
        for slot in slots.iter() {
            if let Some(node) = self.shared.node(slot.id) {
                let _ = node.control.send(Control::Kill);
            }
        }
        let _ = self.shared.timer.send(TimerInput::Shutdown);
        for slot in slots.iter_mut() {
            let left = deadline.saturating_duration_since(Instant::now());
            // A thread still running past the deadline is left detached.
            self.reap(slot, left);
        }
        drop(slots);
        if let Some(handle) = lock(&self.timer).take() {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The RNG a node's life draws its Raft and network seeds from.
fn node_rng(seed: u64, id: NodeId, incarnation: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id * 1_000_003 + incarnation);
    rng
}
