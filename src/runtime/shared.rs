//! State shared by the cluster handle, its threads and its clients: the
//! node mailboxes and states, the fabric, the clock, the view hub and the
//! client history, and a multi-process node's address book, which
//! [`Shared::learn_peer`] keeps (the book itself is `peers.rs`). Locks here
//! never stay poisoned (see [`super::lock`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crossbeam_channel::Sender;

use super::MAX_NODES;
use super::clock::Clock;
use super::inbox::{Control, NodeInput, TimerInput};
use super::lock::lock;
use super::observe::history::History;
use super::observe::{DropCause, Fate, MessageRecord, NodeFact, Observer};
use super::peers::{AddressBook, valid};
use super::view::{NodeState, ViewEvent, ViewHub};
use crate::net::{Fabric, HoldQueue, TcpTransport, Wire};
use crate::raft::{Bugs, Message, NodeId};

/// What the rest of the cluster knows of one node.
pub(crate) struct NodeShared {
    /// `NodeState` as a byte: 0 up, 1 paused, 2 down.
    state: AtomicU8,
    /// Messages from peers and client requests.
    pub(crate) inbox: Sender<NodeInput>,
    /// Kill, pause, resume, transfer.
    pub(crate) control: Sender<Control>,
}

impl NodeShared {
    pub(crate) fn new(inbox: Sender<NodeInput>, control: Sender<Control>) -> NodeShared {
        NodeShared {
            state: AtomicU8::new(0),
            inbox,
            control,
        }
    }

    /// Whether it is up, paused or down.
    pub(crate) fn state(&self) -> NodeState {
        match self.state.load(Ordering::Acquire) {
            0 => NodeState::Up,
            1 => NodeState::Paused,
            _ => NodeState::Down,
        }
    }

    pub(crate) fn set_state(&self, state: NodeState) {
        let byte = match state {
            NodeState::Up => 0,
            NodeState::Paused => 1,
            NodeState::Down => 2,
        };
        self.state.store(byte, Ordering::Release);
    }
}

/// Per-link message counters, indexed `(from - 1) * n + (to - 1)`.
pub(crate) struct LinkCounters {
    n: usize,
    pub(crate) in_flight: Vec<AtomicU64>,
    pub(crate) delivered: Vec<AtomicU64>,
    pub(crate) dropped: Vec<AtomicU64>,
}

impl LinkCounters {
    fn new(n: usize) -> LinkCounters {
        let counters = || (0..n * n).map(|_| AtomicU64::new(0)).collect();
        LinkCounters {
            n,
            in_flight: counters(),
            delivered: counters(),
            dropped: counters(),
        }
    }

    /// The counter slot of the link from `from` to `to`.
    pub(crate) fn slot(&self, from: NodeId, to: NodeId) -> Option<usize> {
        let (f, t) = (
            (from as usize).checked_sub(1)?,
            (to as usize).checked_sub(1)?,
        );
        (f < self.n && t < self.n).then_some(f * self.n + t)
    }

    pub(crate) fn add(counters: &[AtomicU64], slot: Option<usize>, delta: i64) {
        if let Some(c) = slot.and_then(|s| counters.get(s)) {
            if delta >= 0 {
                c.fetch_add(delta as u64, Ordering::Relaxed);
            } else {
                c.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn get(counters: &[AtomicU64], slot: usize) -> u64 {
        counters.get(slot).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// The teaching-related settings [`Shared::new`] takes.
pub(crate) struct Teach {
    pub(crate) observe: bool,
    pub(crate) message_capacity: usize,
    pub(crate) history_capacity: usize,
    pub(crate) bugs: Bugs,
    pub(crate) extensions: crate::sim::Extensions,
}

/// Everything the cluster's threads and clients share.
pub(crate) struct Shared {
    pub(crate) nodes: Vec<NodeShared>,
    pub(crate) fabric: Mutex<Fabric>,
    pub(crate) links: LinkCounters,
    /// Per link, indexed as `links`: whether the fabric passes a message
    /// unchanged and at once (up, no loss, no duplication, no delay), so
    /// [`Shared::send`] can skip the fabric's lock. Refreshed under that
    /// lock whenever the network changes.
    direct: Vec<AtomicBool>,
    pub(crate) clock: Mutex<Clock>,
    /// Whether `clock` is paused, readable without its lock (set under it).
    pub(crate) clock_paused: AtomicBool,
    /// Ticks the clock has given so far.
    pub(crate) ticks: AtomicU64,
    /// The clock's wall tick at speed 1.0 (it never changes).
    tick: std::time::Duration,
    /// The clock's speed factor as `f64` bits, readable without its lock
    /// (set under it): clients read it on every attempt.
    speed_bits: AtomicU64,
    pub(crate) timer: Sender<TimerInput>,
    pub(crate) view: ViewHub,
    /// The client history (capped: see [`History`]).
    pub(crate) history: Mutex<History>,
    /// Messages held on their links by hand (the dashboard's `hold`).
    pub(crate) hold: Mutex<HoldQueue<()>>,
    /// Whether new messages are held, readable without the hold queue's
    /// lock (set under it).
    pub(crate) holding: AtomicBool,
    /// Messages and node facts recorded while observed (the dashboard).
    /// Boxed: its flag, read on every send, then shares no cache line
    /// with the atomics the hot path writes.
    pub(crate) observer: Box<Observer>,
    /// The unsafe protocol variants on now; a node (re)started takes these.
    pub(crate) bugs: Mutex<Bugs>,
    /// PreVote and CheckQuorum, as every node runs them.
    pub(crate) extensions: crate::sim::Extensions,
    pub(crate) started: Instant,
    pub(crate) next_client: AtomicU64,
    /// Added to a client's number to make its KV session id: the wall
    /// clock at start, so sessions differ from those of earlier runs on
    /// the same data directory.
    pub(crate) session_base: u64,
    pub(crate) stopped: AtomicBool,
    pub(crate) snapshot_threshold: u64,
    pub(crate) log_window: usize,
    /// With the TCP transport, each local node's endpoint, by `id - 1`
    /// for every id up to [`MAX_NODES`](super::MAX_NODES) (unset for a
    /// node of another process or one not started; empty on channels). A
    /// node that joins sets its own.
    pub(crate) tcp: Vec<OnceLock<TcpTransport<Wire>>>,
    /// One node of a multi-process cluster: the addresses it learned from
    /// its peers' hellos (see [`AddressBook`]). `None` otherwise.
    pub(crate) book: Mutex<Option<AddressBook>>,
    /// Whether clients record their operations in `history`.
    pub(crate) record_history: bool,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        nodes: Vec<NodeShared>,
        fabric: Fabric,
        clock: Clock,
        timer: Sender<TimerInput>,
        view: ViewHub,
        snapshot_threshold: u64,
        log_window: usize,
        tcp: Vec<OnceLock<TcpTransport<Wire>>>,
        record_history: bool,
        teach: Teach,
    ) -> Shared {
        let n = nodes.len();
        let links = LinkCounters::new(n);
        let direct = (0..n * n).map(|_| AtomicBool::new(false)).collect();
        let shared = Shared {
            nodes,
            fabric: Mutex::new(fabric),
            links,
            direct,
            clock_paused: AtomicBool::new(clock.paused()),
            tick: clock.tick(),
            speed_bits: AtomicU64::new(clock.speed().to_bits()),
            clock: Mutex::new(clock),
            ticks: AtomicU64::new(0),
            timer,
            view,
            history: Mutex::new(History::new(teach.history_capacity)),
            hold: Mutex::new(HoldQueue::default()),
            holding: AtomicBool::new(false),
            observer: Box::new(Observer::new(teach.observe, teach.message_capacity)),
            bugs: Mutex::new(teach.bugs),
            extensions: teach.extensions,
            started: Instant::now(),
            next_client: AtomicU64::new(1),
            session_base: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                << 8,
            stopped: AtomicBool::new(false),
            snapshot_threshold,
            log_window,
            tcp,
            book: Mutex::new(None),
            record_history,
        };
        shared.refresh_direct(&lock(&shared.fabric));
        shared
    }

    /// Recomputes which links pass messages unchanged; call with the
    /// fabric's lock held, after changing it.
    pub(crate) fn refresh_direct(&self, fabric: &Fabric) {
        for &from in fabric.ids() {
            for &to in fabric.ids() {
                let Some(flag) = self.links.slot(from, to).and_then(|s| self.direct.get(s)) else {
                    continue;
                };
                let direct = fabric.link(from, to).is_ok_and(|l| {
                    l.up && l.loss == 0.0
                        && l.duplicate == 0.0
                        && l.delay_min_us == 0
                        && l.delay_max_us == 0
                });
                flag.store(direct, Ordering::Release);
            }
        }
    }

    /// Records the clock's new speed for [`Shared::ticks_to_wall`].
    pub(crate) fn set_speed(&self, speed: f64) {
        self.speed_bits.store(speed.to_bits(), Ordering::Release);
    }

    /// Wall time that `ticks` ticks take at the current speed, as
    /// [`Clock::ticks_to_wall`] computes it, without the clock's lock.
    pub(crate) fn ticks_to_wall(&self, ticks: u64) -> std::time::Duration {
        let speed = f64::from_bits(self.speed_bits.load(Ordering::Acquire));
        self.tick.mul_f64(ticks as f64 / speed)
    }

    /// Node `id`'s shared part.
    pub(crate) fn node(&self, id: NodeId) -> Option<&NodeShared> {
        (id as usize).checked_sub(1).and_then(|i| self.nodes.get(i))
    }

    /// Wall µs since the cluster started: the time of history events.
    pub(crate) fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// Adds an event to the view's ring.
    pub(crate) fn event(&self, node: Option<NodeId>, text: String) {
        self.view.push_event(ViewEvent {
            at_us: self.now_us(),
            tick: self.ticks.load(Ordering::Relaxed),
            node,
            text,
            count: 1,
        });
    }

    /// Node `id`'s TCP endpoint, if it runs here over TCP.
    pub(crate) fn transport(&self, id: NodeId) -> Option<&TcpTransport<Wire>> {
        let i = (id as usize).checked_sub(1)?;
        self.tcp.get(i)?.get()
    }

    /// Whether the nodes reach each other over TCP.
    pub(crate) fn is_tcp(&self) -> bool {
        !self.tcp.is_empty()
    }

    /// Whether this is one node of a multi-process cluster.
    pub(crate) fn is_remote(&self) -> bool {
        lock(&self.book).is_some()
    }

    /// Whether the cluster was shut down.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Sends `msg` through the fabric: each surviving copy goes to the
    /// timer thread with its delay. `rng` is the sender's network RNG.
    /// A single copy without delay on a running clock goes straight to
    /// the receiver's inbox: the timer thread would hand it on at once
    /// anyway, and skipping that hop halves a message's thread wake-ups.
    /// A link the fabric passes unchanged skips the fabric's lock. While
    /// messages are held by hand (`hold`), one that survives the fabric
    /// waits in the hold queue instead (see `hold.rs`).
    pub(crate) fn send(&self, msg: Message, rng: &mut impl rand::Rng) {
        let slot = self.links.slot(msg.from, msg.to);
        let direct = slot
            .and_then(|s| self.direct.get(s))
            .is_some_and(|d| d.load(Ordering::Acquire));
        let observed = self.observer.on();
        let holding = self.holding.load(Ordering::Acquire);
        if direct && !holding && !self.clock_paused.load(Ordering::Acquire) {
            if observed {
                self.record_message(&msg, &[0], DropCause::LinkDown);
            }
            self.deliver(msg);
            return;
        }
        let (delays, cause, base, latency) = {
            let fabric = &mut *lock(&self.fabric);
            let delays = fabric.decide(msg.from, msg.to, rng);
            let link = fabric.link(msg.from, msg.to).ok();
            let cause = match link {
                Some(link) if !link.up => DropCause::LinkDown,
                _ => DropCause::Lost,
            };
            let latency = link.map_or(0, |l| l.delay_min_us.midpoint(l.delay_max_us));
            let base = fabric.has_base_latency(msg.from, msg.to);
            (delays, cause, base, latency)
        };
        if delays.is_empty() {
            if observed {
                self.record_message(&msg, &delays, cause);
                self.fly(&msg, &delays, cause, latency);
            }
            LinkCounters::add(&self.links.dropped, slot, 1);
            return;
        }
        let msg = if holding {
            match self.hold_sent(msg, delays.len()) {
                Some(msg) => msg,
                None => return,
            }
        } else {
            msg
        };
        if observed {
            // The fabric's base latency is the ordinary one: only a link
            // slowed by a `delay` shows its messages delayed.
            let zeros = [0; 2];
            let shown = if base {
                &zeros[..delays.len().min(2)]
            } else {
                &delays[..]
            };
            self.record_message(&msg, shown, cause);
            self.fly(&msg, &delays, cause, latency);
        }
        if delays == [0] && !self.clock_paused.load(Ordering::Acquire) {
            self.deliver(msg);
            return;
        }
        let copies = delays.len() as i64;
        LinkCounters::add(&self.links.in_flight, slot, copies);
        if self
            .timer
            .send(TimerInput::Deliver { msg, delays })
            .is_err()
        {
            LinkCounters::add(&self.links.in_flight, slot, -copies);
        }
    }

    /// Whether the receiver of `msg` is down.
    fn receiver_down(&self, msg: &Message) -> bool {
        self.node(msg.to)
            .is_some_and(|n| n.state() == NodeState::Down)
    }

    /// Records `msg` in the observer's ring with the fate its `delays`
    /// give (none: dropped for `cause`; a receiver that is down drops it).
    fn record_message(&self, msg: &Message, delays: &[u64], cause: DropCause) {
        let fate = if self.receiver_down(msg) && !delays.is_empty() {
            Fate::Dropped(DropCause::NodeDown)
        } else {
            Fate::from_delays(delays, cause)
        };
        self.record_fate(msg, fate);
    }

    /// Records `msg` in the observer's ring with `fate`.
    pub(crate) fn record_fate(&self, msg: &Message, fate: Fate) {
        let tick = self.ticks.load(Ordering::Relaxed);
        self.observer
            .messages
            .push(MessageRecord::of(msg, tick, fate));
    }

    /// Puts `msg` on the wire the main view draws: a flight per copy, due
    /// after each of `delays`, or one dying on the way (for `cause`, or at
    /// the door of a receiver that is down) when there is none; a link's
    /// `latency` is how long a dropped one would have taken.
    fn fly(&self, msg: &Message, delays: &[u64], cause: DropCause, latency: u64) {
        let now = lock(&self.clock).now();
        let (delays, cause) = if self.receiver_down(msg) {
            (&[][..], DropCause::NodeDown)
        } else {
            (delays, cause)
        };
        let latency = delays.first().copied().unwrap_or(latency);
        lock(&self.observer.flights).sent(msg, now, delays, cause, latency);
    }

    /// Feeds `fact` to the live checker (while observed); a new breach
    /// becomes an event and a new view.
    pub(crate) fn fact(&self, fact: &NodeFact) {
        if !self.observer.on() {
            return;
        }
        let tick = self.ticks.load(Ordering::Relaxed);
        if self.observer.fact(fact, tick) {
            let report = self.observer.report();
            if let Some(f) = report.findings.last() {
                self.event(
                    None,
                    format!("INVARIANT VIOLATED: {}: {}", f.invariant.name(), f.details),
                );
            }
        }
    }

    /// Whether the fabric lets a forwarded client request (or its
    /// answer) from `from` to `to` through now: the link is up. Forwards
    /// obey cuts; loss, delay and duplication are for Raft messages (a
    /// lost forward would only cost its client a retry).
    fn link_up(&self, from: NodeId, to: NodeId) -> bool {
        let direct = self
            .links
            .slot(from, to)
            .and_then(|s| self.direct.get(s))
            .is_some_and(|d| d.load(Ordering::Acquire));
        direct || lock(&self.fabric).link(from, to).is_ok_and(|l| l.up)
    }

    /// Passes a client's `request` from follower `from` to the leader
    /// `to`, as `from`'s forward `id`: over TCP on `from`'s authenticated
    /// link, else into `to`'s inbox. Whether it left.
    pub(crate) fn forward(
        &self,
        from: NodeId,
        to: NodeId,
        id: u64,
        request: &crate::net::ForwardRequest,
    ) -> bool {
        let wire = || Wire::Forward {
            id,
            request: request.clone(),
        };
        let input = || NodeInput::Forwarded {
            from,
            id,
            request: request.clone(),
        };
        self.pass(from, to, wire, input)
    }

    /// Sends the leader `from`'s answer to forward `id` back to `to`,
    /// the follower that forwarded it (lost if the link is cut: the
    /// follower then redirects its client).
    pub(crate) fn answer_forward(
        &self,
        from: NodeId,
        to: NodeId,
        id: u64,
        reply: crate::net::ClientReply,
    ) {
        let wire = || Wire::ForwardReply {
            id,
            reply: reply.clone(),
        };
        let input = || NodeInput::ForwardAnswer {
            from,
            id,
            reply: reply.clone(),
        };
        self.pass(from, to, wire, input);
    }

    /// Hands what node `from` passes to node `to` (made by `wire` for
    /// TCP, `input` for an inbox) over, as [`deliver`](Self::deliver)
    /// does a message, if the link is up and `to` is not down.
    fn pass(
        &self,
        from: NodeId,
        to: NodeId,
        wire: impl FnOnce() -> Wire,
        input: impl FnOnce() -> NodeInput,
    ) -> bool {
        if !self.link_up(from, to) {
            return false;
        }
        match (self.node(to), self.transport(from)) {
            (Some(node), _) if node.state() == NodeState::Down => false,
            (Some(_), Some(tcp)) => tcp.send(to, wire()).is_ok(),
            (Some(node), None) => node.inbox.send(input()).is_ok(),
            (None, _) => false,
        }
    }

    /// Hands `msg` to its receiver now — its inbox, or with TCP the
    /// sender's socket writer — unless the receiver is down, and counts it
    /// delivered or dropped.
    pub(crate) fn deliver(&self, msg: Message) {
        let slot = self.links.slot(msg.from, msg.to);
        let delivered = match (self.node(msg.to), self.transport(msg.from)) {
            (Some(node), _) if node.state() == NodeState::Down => false,
            (Some(_), Some(tcp)) => tcp.send(msg.to, Wire::Raft(msg)).is_ok(),
            (Some(node), None) => node.inbox.send(NodeInput::Message(msg)).is_ok(),
            (None, _) => false,
        };
        let counter = if delivered {
            &self.links.delivered
        } else {
            &self.links.dropped
        };
        LinkCounters::add(counter, slot, 1);
    }
}

impl Shared {
    /// Node `local` heard `Hello { id, addr }` on a connection from
    /// `from`: a new or moved peer is linked and written down. Returns
    /// what to log, if anything.
    pub(crate) fn learn_peer(
        &self,
        local: NodeId,
        id: NodeId,
        addr: SocketAddr,
        from: SocketAddr,
    ) -> Option<String> {
        if !valid(id) {
            return Some(format!(
                "ignored a hello from {from}: node id {id} is out of range (ids are 1 to {MAX_NODES})"
            ));
        }
        let transport = self.transport(local)?;
        if id == local {
            return (addr != transport.local_addr()).then(|| {
                format!("ignored a hello from {from} that claims to be this node (n{id} at {addr})")
            });
        }
        let mut book = lock(&self.book);
        let book = book.as_mut()?;
        if book.pinned.contains(&id) {
            // The operator gave this address: it stays, even if the peer
            // says it listens elsewhere (a proxy or a NAT in between).
            return None;
        }
        let before = transport.peer_addr(id);
        if before == Some(addr) && book.addrs.get(&id) == Some(&addr) {
            return None;
        }
        if let Err(e) = transport.set_peer(id, addr) {
            return Some(format!("cannot link to n{id} at {addr}: {e}"));
        }
        {
            let mut fabric = lock(&self.fabric);
            if !fabric.ids().contains(&id) && fabric.add_node(id).is_ok() {
                self.refresh_direct(&fabric);
            }
        }
        if let Some(node) = self.node(id) {
            node.set_state(NodeState::Up);
        }
        book.addrs.insert(id, addr);
        let saved = match book.save() {
            Ok(()) => String::new(),
            Err(e) => format!(" (not saved: {e})"),
        };
        Some(match before {
            None => format!("learned n{id}'s address {addr}{saved}"),
            Some(old) if old != addr => format!("n{id} moved from {old} to {addr}{saved}"),
            Some(_) => format!("wrote down n{id}'s address {addr}{saved}"),
        })
    }

    /// Every known peer of node `local` (from its transport), with its
    /// own address: for the `Members` answer.
    pub(crate) fn known_addresses(&self, local: NodeId) -> BTreeMap<NodeId, SocketAddr> {
        let Some(transport) = self.transport(local) else {
            return BTreeMap::new();
        };
        let mut addrs = transport.peers();
        addrs.insert(local, transport.local_addr());
        addrs
    }
}
