//! [`Cluster`]: starting the threads, views and clients, shutting down.
//!
//! A cluster runs all its nodes in this process ([`Cluster::start`]), or
//! only one of them, reaching the others over TCP in their own processes
//! ([`Cluster::start_node`], what `raftlab node` runs).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded, never, unbounded};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::RuntimeError;
use super::client::Client;
use super::clock::Clock;
use super::config::{ClusterConfig, Transport};
use super::inbox::{Control, NodeChannels, TimerInput};
use super::lock::lock;
use super::node::{ExitReason, NodeExit, NodeThread};
use super::peers::AddressBook;
use super::pool::{ClientPool, Completion};
use super::publish::{self, ViewWatch};
use super::shared::{NodeShared, Shared, Teach};
use super::storage::NodeStorage;
use super::timer::Timer;
use super::view::{ClusterView, NodeState, NodeView, ViewHub};
use crate::kv::history::HistoryEvent;
use crate::kv::{KvStore, Op};
use crate::net::{ClusterKey, Fabric, TcpAuth, TcpConfig, TcpEvent, TcpTransport, Wire, loopback};
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
    /// The thread that re-checks the client history while observed.
    checker: Mutex<Option<JoinHandle<()>>>,
    /// The channels of the ids that may still join (up to
    /// [`MAX_NODES`](super::MAX_NODES)), made at start so the timer,
    /// the link counters and the mailboxes never need to grow. Empty in
    /// a multi-process cluster, where nodes join as processes.
    pub(crate) spare: Mutex<BTreeMap<NodeId, NodeChannels>>,
    /// The configuration a node uses before its log names one: the
    /// first nodes (of a multi-process node, its bootstrap voters).
    pub(crate) voters: Vec<NodeId>,
}

/// `1 2 3`.
fn list(ids: &[NodeId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which nodes run in this process, and their TCP addresses if any.
struct Placement {
    /// The nodes this process runs.
    local: Vec<NodeId>,
    /// The nodes known at start: the fabric's and the view's.
    members: Vec<NodeId>,
    /// The configuration a node uses before its log names one.
    voters: Vec<NodeId>,
    /// With TCP: where each local node listens and where each other node
    /// is reached (port 0: any free port). `None`: channels.
    tcp: Option<BTreeMap<NodeId, SocketAddr>>,
    /// One node of a multi-process cluster: its address book.
    book: Option<AddressBook>,
}

impl Placement {
    /// Every node here, on the configured transport.
    fn all_local(config: &ClusterConfig) -> Placement {
        let ids = config.ids();
        let tcp = match config.transport {
            Transport::Channel => None,
            Transport::Tcp { base_port } => Some(
                ids.iter()
                    .filter_map(|&id| Some((id, loopback(tcp_port(base_port, id)?))))
                    .collect(),
            ),
        };
        Placement {
            local: ids.clone(),
            members: ids.clone(),
            voters: ids,
            tcp,
            book: None,
        }
    }
}

/// The port node `id` listens on with `--transport tcp:base_port` (0:
/// any free port); `None` past 65535.
pub(crate) fn tcp_port(base_port: u16, id: NodeId) -> Option<u16> {
    if base_port == 0 {
        return Some(0);
    }
    u16::try_from(id)
        .ok()
        .and_then(|id| base_port.checked_add(id))
}

/// How [`Cluster::start_member`] starts one node of a multi-process cluster.
#[derive(Clone, Debug, Default)]
pub struct MemberOptions {
    /// The node joins a running cluster: its bootstrap configuration
    /// leaves it out, so it waits to be added (`raftlab client add`).
    pub join: bool,
    /// Where its address book is kept (`None`: in memory only).
    pub book: Option<std::path::PathBuf>,
}

/// The TCP endpoints of a cluster's nodes, by `id - 1` up to
/// [`MAX_NODES`](super::MAX_NODES); empty on channels.
type Endpoints = Vec<OnceLock<TcpTransport<Wire>>>;

/// The channels the local nodes' listeners deliver on, by id.
type Listeners = BTreeMap<NodeId, Receiver<TcpEvent<Wire>>>;

/// The settings of node `id`'s TCP endpoint: it proves `key`.
pub(crate) fn tcp_config(key: &Arc<ClusterKey>, id: NodeId) -> TcpConfig {
    TcpConfig {
        auth: Some(TcpAuth {
            key: key.clone(),
            node: id,
        }),
        ..TcpConfig::default()
    }
}

/// Binds the TCP endpoints of the local nodes and tells each where its
/// peers are. Returns the endpoints by `id - 1` and their channels.
fn bind_transports(
    placement: &Placement,
    key: &Arc<ClusterKey>,
) -> Result<(Endpoints, Listeners), RuntimeError> {
    let mut receivers = BTreeMap::new();
    let Some(addrs) = &placement.tcp else {
        return Ok((Vec::new(), receivers));
    };
    let transports: Endpoints = (0..super::MAX_NODES).map(|_| OnceLock::new()).collect();
    let mut actual = addrs.clone();
    for &id in &placement.local {
        let network = |reason: String| RuntimeError::Network { id, reason };
        let addr = *addrs
            .get(&id)
            .ok_or_else(|| network("no address given (a port past 65535?)".into()))?;
        let (transport, rx) =
            TcpTransport::bind(addr, tcp_config(key, id)).map_err(|e| network(e.to_string()))?;
        actual.insert(id, transport.local_addr());
        receivers.insert(id, rx);
        let slot = (id as usize)
            .checked_sub(1)
            .and_then(|i| transports.get(i))
            .ok_or(RuntimeError::NodeIdOutOfRange(id))?;
        let _ = slot.set(transport);
    }
    for (i, transport) in transports.iter().enumerate() {
        let Some(transport) = transport.get() else {
            continue;
        };
        for (&peer, &addr) in &actual {
            if peer != i as NodeId + 1 {
                transport
                    .set_peer(peer, addr)
                    .map_err(|e| RuntimeError::Network {
                        id: i as NodeId + 1,
                        reason: e.to_string(),
                    })?;
            }
        }
    }
    Ok((transports, receivers))
}

impl Cluster {
    /// Starts `config.nodes` fresh nodes, all connected, and the clock.
    pub fn start(config: ClusterConfig) -> Result<Cluster, RuntimeError> {
        config.validate()?;
        let placement = Placement::all_local(&config);
        Cluster::start_placed(config, placement)
    }

    /// Starts only node `id` of a cluster whose nodes run in separate
    /// processes and reach each other over TCP: node `id` listens on
    /// `peers[id]` and sends to the other addresses of `peers`, whose ids
    /// are the cluster's first voters (`config.transport` and
    /// `config.nodes` are ignored). Clients reach it over TCP too
    /// ([`crate::net::ClientRequest`]). The view shows the local node; the
    /// others appear as they started. Same as [`Cluster::start_member`]
    /// with default options.
    pub fn start_node(
        config: ClusterConfig,
        id: NodeId,
        peers: BTreeMap<NodeId, SocketAddr>,
    ) -> Result<Cluster, RuntimeError> {
        Cluster::start_member(config, id, peers, MemberOptions::default())
    }

    /// Starts only node `id` of a multi-process cluster, as
    /// [`Cluster::start_node`], with its address book and, to join a
    /// running cluster, a bootstrap configuration without itself (see
    /// [`AddressBook`]). The book's addresses add to `peers` (which win
    /// where both name an id); its bootstrap configuration, once written,
    /// is kept across restarts.
    pub fn start_member(
        mut config: ClusterConfig,
        id: NodeId,
        peers: BTreeMap<NodeId, SocketAddr>,
        options: MemberOptions,
    ) -> Result<Cluster, RuntimeError> {
        let max = super::MAX_NODES as NodeId;
        if let Some(&bad) = peers
            .keys()
            .chain([&id])
            .find(|&&p| !(1..=max).contains(&p))
        {
            return Err(RuntimeError::NodeIdOutOfRange(bad));
        }
        if !peers.contains_key(&id) {
            return Err(RuntimeError::UnknownNode(id));
        }
        let mut book = match &options.book {
            Some(path) => AddressBook::load(path)?,
            None => AddressBook::new(None),
        };
        if book.bootstrap.is_empty() {
            book.bootstrap = peers
                .keys()
                .copied()
                .filter(|&p| !options.join || p != id)
                .collect();
            if book.bootstrap.is_empty() {
                return Err(RuntimeError::InvalidConfig(format!(
                    "to join, --peers must name at least one member of the cluster besides node {id}"
                )));
            }
        } else if options.join && book.bootstrap.contains(&id) {
            return Err(RuntimeError::InvalidConfig(format!(
                "node {id} is one of the cluster's first members (its data directory says so): \
                 restart it without --join"
            )));
        }
        book.pinned = peers.keys().copied().collect();
        book.addrs.extend(peers);
        let members: Vec<NodeId> = book.addrs.keys().copied().collect();
        config.nodes = members.len();
        config.validate()?;
        let placement = Placement {
            local: vec![id],
            members,
            voters: book.bootstrap.clone(),
            tcp: Some(book.addrs.clone()),
            book: Some(book),
        };
        let cluster = Cluster::start_placed(config, placement)?;
        // Written once the node runs: a node that could not start (its
        // port taken, its storage unusable) leaves no book behind.
        if let Some(book) = lock(&cluster.shared.book).as_ref() {
            book.save()?;
        }
        cluster.announce();
        Ok(cluster)
    }

    /// One node of a multi-process cluster says hello to every peer it
    /// knows (see [`AddressBook`]); `raftlab node` calls it every few
    /// seconds. Does nothing in an in-process cluster.
    pub fn announce(&self) {
        if !self.shared.is_remote() {
            return;
        }
        let slots = lock(&self.slots);
        for slot in slots.iter() {
            let Some(transport) = self.shared.transport(slot.id) else {
                continue;
            };
            let hello = Wire::Hello {
                id: slot.id,
                addr: self.config.advertise.unwrap_or(transport.local_addr()),
            };
            for peer in transport.peers().into_keys() {
                let _ = transport.send(peer, hello.clone());
            }
        }
    }

    fn start_placed(
        mut config: ClusterConfig,
        placement: Placement,
    ) -> Result<Cluster, RuntimeError> {
        let ids = placement.members.clone();
        let remote = placement.book.is_some();
        let mut fabric = Fabric::new(&ids)?;
        fabric.set_latency(config.latency_us.0, config.latency_us.1)?;
        let key = match &config.key {
            Some(key) => key.clone(),
            None => {
                let key = ClusterKey::random(1).map_err(|e| RuntimeError::Network {
                    id: 0,
                    reason: e.to_string(),
                })?;
                let key = Arc::new(key);
                config.key = Some(key.clone());
                key
            }
        };
        let (transports, mut receivers) = bind_transports(&placement, &key)?;
        if remote {
            for &id in &placement.local {
                let transport = (id as usize)
                    .checked_sub(1)
                    .and_then(|i| transports.get(i))
                    .and_then(OnceLock::get);
                if let Some(transport) = transport {
                    let hello = Wire::Hello {
                        id,
                        addr: config.advertise.unwrap_or(transport.local_addr()),
                    };
                    transport
                        .set_greeting(&hello)
                        .map_err(|e| RuntimeError::Network {
                            id,
                            reason: e.to_string(),
                        })?;
                }
            }
        }
        let (timer_tx, timer_rx) = unbounded();
        // Every id a node may join with later gets its mailboxes now
        // (marked down until it starts); in a multi-process cluster the
        // other ids are nodes of other processes, reached over TCP.
        let capacity: Vec<NodeId> = (1..=super::MAX_NODES as NodeId).collect();
        let mut node_shared = Vec::with_capacity(capacity.len());
        let mut slots = Vec::with_capacity(ids.len());
        let mut tickers = Vec::with_capacity(capacity.len());
        let mut spare = BTreeMap::new();
        for &id in &capacity {
            let (inbox_tx, inbox) = unbounded();
            let (control_tx, control) = unbounded();
            let (ticker_tx, ticker) = bounded(1);
            node_shared.push(NodeShared::new(inbox_tx, control_tx));
            tickers.push(ticker_tx);
            if !ids.contains(&id) && !remote {
                if let Some(node) = node_shared.last() {
                    node.set_state(NodeState::Down);
                }
                spare.insert(
                    id,
                    NodeChannels {
                        inbox,
                        ticker,
                        control,
                        net: never(),
                    },
                );
                continue;
            }
            if !placement.local.contains(&id) {
                continue;
            }
            slots.push(Slot {
                id,
                thread: None,
                storage: Some((config.storage)(id)?),
                channels: NodeChannels {
                    inbox,
                    ticker,
                    control,
                    net: receivers.remove(&id).unwrap_or_else(never),
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
            transports,
            config.record_history,
            Teach {
                observe: config.observe,
                message_capacity: config.message_capacity,
                history_capacity: config.history_capacity,
                bugs: config.bugs,
                extensions: config.extensions,
            },
        ));
        *lock(&shared.book) = placement.book;
        let timer = Timer::new(shared.clone(), timer_rx, tickers);
        let handle = std::thread::Builder::new()
            .name("raftlab-timer".into())
            .spawn(move || timer.run())
            .map_err(|e| RuntimeError::Spawn(e.to_string()))?;
        let checker_shared = shared.clone();
        let checker = std::thread::Builder::new()
            .name("raftlab-lincheck".into())
            .spawn(move || super::lin_checker::run_checker(checker_shared))
            .map_err(|e| RuntimeError::Spawn(e.to_string()))?;
        let cluster = Cluster {
            config,
            voters: placement.voters,
            shared,
            slots: Mutex::new(Vec::new()),
            timer: Mutex::new(Some(handle)),
            checker: Mutex::new(Some(checker)),
            spare: Mutex::new(spare),
        };
        for mut slot in slots {
            // What recovery repaired when the storage was opened (a torn
            // last record, an interrupted compaction) becomes node events.
            let notes = slot.storage.as_ref().map(|s| s.recovery_notes());
            for note in notes.into_iter().flatten() {
                cluster
                    .shared
                    .event(Some(slot.id), format!("recovery: {note}"));
            }
            // On error the cluster is dropped, which stops what started.
            cluster.launch(&mut slot)?;
            lock(&cluster.slots).push(slot);
        }
        let what = match (&placement.tcp, placement.local.as_slice()) {
            (Some(_), [id]) if remote => format!(
                "node n{id} started on {}, knowing {} nodes; first voters {}",
                cluster
                    .addresses()
                    .get(id)
                    .map_or("?".into(), |a| a.to_string()),
                ids.len(),
                list(&cluster.voters),
            ),
            (Some(_), _) => format!("cluster of {} nodes started on TCP", ids.len()),
            (None, _) => format!("cluster of {} nodes started", ids.len()),
        };
        cluster.shared.event(None, what);
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
            let mut raft_config = self.config.raft_config(id);
            raft_config.voters = self.voters.clone();
            raft_config.bugs = *lock(&self.shared.bugs);
            let node = Node::new(raft_config, durable, rng.next_u64());
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
        if slot.incarnation > 0 {
            // What a previous life left unread. (Before the first life,
            // what waits is early frames from peers and clients: kept.)
            slot.channels.drain();
        }
        slot.incarnation += 1;
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
        self.shared
            .fact(&super::observe::NodeFact::Down { node: id });
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

    /// Marks down the nodes whose threads ended on their own (a storage
    /// failure, a corrupt entry), recording why as an event, and returns
    /// their ids. A killed node is marked down by `kill` already.
    pub fn reap_crashed(&self) -> Vec<NodeId> {
        let mut slots = lock(&self.slots);
        let mut crashed = Vec::new();
        for slot in slots.iter_mut() {
            if slot.thread.as_ref().is_some_and(|t| t.is_finished())
                && self.reap(slot, Duration::ZERO)
            {
                crashed.push(slot.id);
            }
        }
        crashed
    }

    /// The ids of the nodes this process runs (or, for one node of a
    /// multi-process cluster, all it knows of), in order: `1..=nodes`
    /// at start, more as nodes join ([`Cluster::add_learner`]).
    pub fn ids(&self) -> Vec<NodeId> {
        if self.shared.is_remote() {
            return lock(&self.shared.fabric).ids().to_vec();
        }
        let mut ids: Vec<NodeId> = lock(&self.slots).iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids
    }

    /// With the TCP transport, the address each node of this process
    /// listens on (the ports actually bound); empty on channels.
    pub fn addresses(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.shared
            .tcp
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i as NodeId + 1, t.get()?.local_addr())))
            .collect()
    }

    /// The configuration the cluster was started with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// A snapshot of everything the dashboard shows.
    pub fn view(&self) -> Arc<ClusterView> {
        publish::build(&self.shared)
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

    /// A pool of client sessions on `drivers` threads (at least one);
    /// `handler` gets each completed operation on a driver thread and may
    /// return the session's next one. See [`ClientPool`].
    pub fn client_pool(
        &self,
        drivers: usize,
        handler: impl Fn(Completion) -> Option<(Op, Duration)> + Send + Sync + 'static,
    ) -> Result<ClientPool, RuntimeError> {
        ClientPool::start(self.shared.clone(), self.ids(), drivers, Arc::new(handler))
    }

    /// The client history recorded so far (times in wall µs since
    /// start): its first [`ClusterConfig::history_capacity`] events.
    pub fn history(&self) -> Vec<HistoryEvent> {
        lock(&self.shared.history).events.clone()
    }

    /// Client history events past the cap, counted but not kept.
    pub fn history_unrecorded(&self) -> u64 {
        lock(&self.shared.history).unrecorded
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
        if let Some(handle) = lock(&self.checker).take()
            && handle.is_finished()
        {
            // It wakes every half second to see the cluster stopped; a
            // check under way is left to finish detached.
            let _ = handle.join();
        }
        if let Some(handle) = lock(&self.timer).take() {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
        for transport in self.shared.tcp.iter().filter_map(OnceLock::get) {
            transport.shutdown();
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
