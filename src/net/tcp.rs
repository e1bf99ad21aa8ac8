//! Loopback TCP: one node's listener and its connections to its peers.
//!
//! A [`TcpTransport`] listens on one address (127.0.0.1 unless told
//! otherwise) and speaks [frames](super::frame) of one serde type `T`:
//!
//! - *Outgoing* (`tcp/out.rs`): one non-blocking connection per peer and
//!   a writer thread with a bounded queue; [`TcpTransport::send`] never
//!   blocks. A sender that finds the connection open and idle encodes,
//!   tags and writes its frame itself — one syscall, no thread to wake;
//!   otherwise (the writer busy, the socket full, no connection yet) the
//!   frame is queued, and the writer writes everything queued meanwhile
//!   with one `write`. `TCP_NODELAY` is on: a frame is sent as soon as it
//!   is made, and a batch is already as large as the queue allows.
//!   The writer connects on demand; when a connect fails it waits an exponentially
//!   growing pause (bounded by [`TcpConfig::backoff_max`]) before the next
//!   try, and drops what is sent meanwhile — Raft retransmits, and a queue
//!   growing while a peer is down would only deliver stale messages later.
//!   A failed write closes the connection; the next message reconnects.
//!   A transport may have a *greeting* ([`TcpTransport::set_greeting`]):
//!   a frame written first on every new connection, which is how a node
//!   tells a peer who it is and where it listens.
//! - *Incoming*: an accept thread, and a reader thread per accepted
//!   connection that decodes frames and hands each to the transport's
//!   channel as a [`TcpEvent::Frame`], with a [`Replier`] to answer on the
//!   same connection (how clients get their responses). A frame that does
//!   not decode is skipped and reported; one whose announced length is
//!   over the cap, or whose tag is wrong, is reported and its connection
//!   closed, since the stream can no longer be trusted.
//!
//! *Authentication* ([`TcpConfig::auth`], see [`super::auth`]): every
//! connection, outgoing or accepted, first runs the cluster-secret
//! handshake, and every frame after it carries a tag. An accepted
//! connection must finish the handshake and send its first frame within
//! [`TcpConfig::auth_timeout`], or it is closed. Accepted connections
//! have three budgets, so no kind can starve another: those still
//! proving themselves ([`TcpConfig::max_pending`]; when full, the oldest
//! waiting one is closed to make room, so idle sockets cannot keep new
//! ones out), those of peer nodes and those of clients (when full, new
//! ones are refused). Every frame arriving carries the sender's
//! [`Identity`]: what it proved to be.
//!
//! Errors from the network (failed handshakes, bad tags, frames that do
//! not decode, crowded budgets) are said once and then counted into one
//! summary line per interval ([`super::notice`]), delivered as
//! [`TcpEvent::Notice`].
//!
//! [`TcpTransport::shutdown`] (or dropping it) stops every thread: the
//! accept thread is woken by a connection to itself, readers by shutting
//! their sockets down, writers by closing their queues; each wait is bounded.

use std::collections::BTreeMap;
use std::io;
use std::marker::PhantomData;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::{ClusterKey, Sealer, TAG_LEN};
use super::frame::{self, DEFAULT_MAX_FRAME, FrameError};
use super::notice::{NoticeKind, Notices};
use crate::raft::NodeId;

/// How long shutdown waits for the transport's threads.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// How often an idle writer checks whether the transport shut down.
const WRITER_POLL: Duration = Duration::from_millis(500);
/// Longest wait for the connection that wakes the accept thread.
const WAKE_TIMEOUT: Duration = Duration::from_millis(200);
/// How often the notice thread looks for intervals that ended.
const NOTICE_POLL: Duration = Duration::from_millis(200);

/// How a transport proves itself: the cluster's key, and the node it is.
#[derive(Clone, Debug)]
pub struct TcpAuth {
    /// The cluster's key (from its secret).
    pub key: Arc<ClusterKey>,
    /// The node this transport belongs to (its claim on outgoing links).
    pub node: NodeId,
}

/// Settings of a [`TcpTransport`].
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// Largest frame payload accepted or sent, in bytes (default 16 MiB).
    pub max_frame: usize,
    /// Frames queued per peer before `send` drops (default 1024).
    pub queue: usize,
    /// Decoded frames waiting in the transport's channel before a reader
    /// drops (default 4096).
    pub inbox: usize,
    /// The cluster secret every connection must prove (default `None`:
    /// plain frames, for tests of the transport alone; every node of
    /// raftlab sets one).
    pub auth: Option<TcpAuth>,
    /// Accepted connections still in their handshake at once (default
    /// 64); one more closes the oldest of them.
    pub max_pending: usize,
    /// Authenticated connections of peer nodes at once (default 32);
    /// more are refused.
    pub max_peers: usize,
    /// Authenticated connections of clients at once (default 128); more
    /// are refused.
    pub max_clients: usize,
    /// Time an accepted connection has to authenticate and send its
    /// first frame (default 3 s).
    pub auth_timeout: Duration,
    /// Interval of the summary of repeated errors (default 10 s).
    pub notice_every: Duration,
    /// First pause after a failed connect (default 20 ms); it doubles on
    /// each further failure…
    pub backoff_min: Duration,
    /// …up to this (default 1 s).
    pub backoff_max: Duration,
    /// Longest wait for a connect (default 500 ms).
    pub connect_timeout: Duration,
    /// Longest wait for one write (default 1 s).
    pub write_timeout: Duration,
}

impl Default for TcpConfig {
    fn default() -> TcpConfig {
        TcpConfig {
            max_frame: DEFAULT_MAX_FRAME,
            queue: 1024,
            inbox: 4096,
            auth: None,
            max_pending: 64,
            max_peers: 32,
            max_clients: 128,
            auth_timeout: Duration::from_secs(3),
            notice_every: Duration::from_secs(10),
            backoff_min: Duration::from_millis(20),
            backoff_max: Duration::from_secs(1),
            connect_timeout: Duration::from_millis(500),
            write_timeout: Duration::from_secs(1),
        }
    }
}

/// Errors of the TCP transport.
#[derive(Debug, thiserror::Error)]
pub enum TcpError {
    /// The listening socket could not be opened (the port is taken, the
    /// address is not local…).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start a network thread: {0}")]
    Spawn(#[source] io::Error),
    /// No address is known for that peer.
    #[error("no address is known for node {0}")]
    UnknownPeer(NodeId),
    /// The peer's send queue is full; the frame was dropped.
    #[error("the send queue to node {0} is full; frame dropped")]
    QueueFull(NodeId),
    /// The transport was shut down.
    #[error("the transport is shut down")]
    Closed,
}

/// What a transport's channel delivers.
#[derive(Debug)]
pub enum TcpEvent<T> {
    /// A frame arrived; `reply` answers on its connection.
    Frame {
        /// The decoded frame.
        frame: T,
        /// The connection it came on.
        reply: Replier,
    },
    /// Something went wrong on the network: the first error of a kind,
    /// or the summary of an interval's (see [`super::notice`]).
    Notice(String),
}

/// What the other end of a connection proved to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Node `id` of the cluster: it holds the secret and says it is `id`.
    Node(NodeId),
    /// A client holding the secret.
    Client,
    /// Nothing: the transport authenticates no one (tests only).
    Open,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::Node(id) => write!(f, "n{id}"),
            Identity::Client => f.write_str("a client"),
            Identity::Open => f.write_str("an unauthenticated sender"),
        }
    }
}

/// The writing half of an accepted connection.
struct ReplyConn {
    stream: TcpStream,
    sealer: Option<Sealer>,
}

/// Answers on the connection a frame came on.
#[derive(Clone)]
pub struct Replier {
    conn: Arc<Mutex<ReplyConn>>,
    peer: SocketAddr,
    identity: Identity,
    max_frame: usize,
}

impl std::fmt::Debug for Replier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replier")
            .field("peer", &self.peer)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Replier {
    /// The remote end of the connection.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// What the other end proved to be.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// Writes `value` as one frame; a failed write closes the connection.
    pub fn send<R: Serialize>(&self, value: &R) -> Result<(), FrameError> {
        let payload = frame::encode_payload(value, self.max_frame)?;
        let mut conn = lock(&self.conn);
        let bytes = match conn.sealer.as_mut() {
            Some(sealer) => sealer.seal(&payload, self.max_frame)?,
            None => frame::frame_bytes(&payload, &[], self.max_frame)?,
        };
        let result = io::Write::write_all(&mut conn.stream, &bytes).map_err(FrameError::from);
        if result.is_err() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        result
    }
}

/// What an accepted connection is, for its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Still in its handshake.
    Pending,
    /// A peer node.
    Peer,
    /// A client.
    Client,
    /// Closed to make room; its thread has not ended yet.
    Closing,
}

/// One accepted connection, to budget and to shut down on stop.
struct Conn {
    stream: TcpStream,
    class: Class,
}

/// The outgoing side of one peer: the connection, shared by its writer
/// thread and the senders, and the writer's queue.
struct PeerLink<T> {
    addr: SocketAddr,
    out: Arc<Outgoing>,
    queue: Sender<Item<T>>,
    thread: JoinHandle<()>,
}

/// What the transport's threads share.
struct Inner {
    config: TcpConfig,
    local: SocketAddr,
    stopped: AtomicBool,
    /// Accepted connections (by accept order), to budget and to shut
    /// down on stop.
    conns: Mutex<BTreeMap<u64, Conn>>,
    next_conn: AtomicU64,
    readers: AtomicUsize,
    /// Frames `send` could not deliver (queue full, no connection).
    unsent: AtomicU64,
    /// The payload written first on every new outgoing connection.
    greeting: Mutex<Option<Vec<u8>>>,
    /// Repeated errors, counted.
    notices: Mutex<Notices>,
    /// Lines for the notice thread to deliver.
    notice_tx: Sender<String>,
}

impl Inner {
    /// Says (or counts) an error of `kind` from `from`.
    fn notice(&self, kind: NoticeKind, from: SocketAddr, text: impl FnOnce() -> String) {
        let line = lock(&self.notices).record(kind, from, text, Instant::now());
        if let Some(line) = line {
            let _ = self.notice_tx.try_send(line);
        }
    }

    /// Largest frame on the wire: payload and tag.
    fn wire_max(&self) -> usize {
        self.config.max_frame
            + if self.config.auth.is_some() {
                TAG_LEN
            } else {
                0
            }
    }
}

/// One node's TCP endpoint: a listener and a connection to each peer.
pub struct TcpTransport<T> {
    inner: Arc<Inner>,
    peers: Mutex<BTreeMap<NodeId, PeerLink<T>>>,
    accept: Mutex<Option<JoinHandle<()>>>,
    notice_thread: Mutex<Option<JoinHandle<()>>>,
    _frames: PhantomData<fn(T) -> T>,
}

impl<T> std::fmt::Debug for TcpTransport<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("local", &self.inner.local)
            .finish_non_exhaustive()
    }
}

/// Locks `m`, taking over the data if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

impl<T: Serialize + DeserializeOwned + Send + 'static> TcpTransport<T> {
    /// Listens on `addr` (port 0: one the system picks; see
    /// [`local_addr`](Self::local_addr)) and returns the transport with the
    /// channel its incoming frames arrive on.
    pub fn bind(
        addr: SocketAddr,
        config: TcpConfig,
    ) -> Result<(TcpTransport<T>, Receiver<TcpEvent<T>>), TcpError> {
        let bind_err = |source| TcpError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        let (events_tx, events) = bounded(config.inbox.max(1));
        let (notice_tx, notice_rx) = bounded(256);
        let every = config.notice_every;
        let inner = Arc::new(Inner {
            config,
            local,
            stopped: AtomicBool::new(false),
            conns: Mutex::new(BTreeMap::new()),
            next_conn: AtomicU64::new(0),
            readers: AtomicUsize::new(0),
            unsent: AtomicU64::new(0),
            greeting: Mutex::new(None),
            notices: Mutex::new(Notices::new(every)),
            notice_tx,
        });
        let notice_inner = inner.clone();
        let notice_events = events_tx.clone();
        let notice_thread = std::thread::Builder::new()
            .name(format!("raftlab-notice-{}", local.port()))
            .spawn(move || notice_loop(&notice_inner, &notice_rx, &notice_events))
            .map_err(TcpError::Spawn)?;
        let accept_inner = inner.clone();
        let accept = std::thread::Builder::new()
            .name(format!("raftlab-accept-{}", local.port()))
            .spawn(move || accept_loop::<T>(listener, accept_inner, events_tx))
            .map_err(TcpError::Spawn)?;
        Ok((
            TcpTransport {
                inner,
                peers: Mutex::new(BTreeMap::new()),
                accept: Mutex::new(Some(accept)),
                notice_thread: Mutex::new(Some(notice_thread)),
                _frames: PhantomData,
            },
            events,
        ))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Frames `send` accepted but could not deliver so far (queue full,
    /// or no connection to the peer).
    pub fn unsent(&self) -> u64 {
        self.inner.unsent.load(Ordering::Relaxed)
    }

    /// Sets (or changes) the address of peer `id`. A change drops the old
    /// connection and whatever was queued for it.
    pub fn set_peer(&self, id: NodeId, addr: SocketAddr) -> Result<(), TcpError> {
        if self.inner.stopped.load(Ordering::Acquire) {
            return Err(TcpError::Closed);
        }
        let mut peers = lock(&self.peers);
        if peers.get(&id).is_some_and(|p| p.addr == addr) {
            return Ok(());
        }
        let (queue, rx) = bounded(self.inner.config.queue.max(1));
        let inner = self.inner.clone();
        let out = Arc::new(Outgoing::default());
        let theirs = out.clone();
        let thread = std::thread::Builder::new()
            .name(format!("raftlab-peer-{id}"))
            .spawn(move || writer_loop(id, addr, &rx, &theirs, &inner))
            .map_err(TcpError::Spawn)?;
        // The old writer ends when its queue closes.
        peers.insert(
            id,
            PeerLink {
                addr,
                out,
                queue,
                thread,
            },
        );
        Ok(())
    }

    /// The address peer `id` is reached at, if one is set.
    pub fn peer_addr(&self, id: NodeId) -> Option<SocketAddr> {
        lock(&self.peers).get(&id).map(|p| p.addr)
    }

    /// Every peer's address, by id.
    pub fn peers(&self) -> BTreeMap<NodeId, SocketAddr> {
        lock(&self.peers)
            .iter()
            .map(|(&id, p)| (id, p.addr))
            .collect()
    }

    /// Sets the frame written first on every connection opened from now
    /// on (one already open is not greeted again).
    pub fn set_greeting(&self, frame: &T) -> Result<(), FrameError> {
        let bytes = frame::encode_payload(frame, self.inner.config.max_frame)?;
        *lock(&self.inner.greeting) = Some(bytes);
        Ok(())
    }

    /// Sends `frame` to peer `id`; never blocks. When the connection is
    /// open and idle, the caller encodes and writes it at once (one
    /// syscall, no thread to wake; a socket too full to take it all hands
    /// the rest to the writer thread). Otherwise it is queued for the
    /// peer's writer thread, which encodes and writes everything queued
    /// meanwhile in one batch; one over [`TcpConfig::max_frame`] is
    /// dropped there and said in a notice. The frame may still be lost
    /// (the peer is down, the connection breaks): callers that need
    /// delivery retry, as Raft does.
    pub fn send(&self, id: NodeId, frame: T) -> Result<(), TcpError> {
        let peers = lock(&self.peers);
        let link = peers.get(&id).ok_or(TcpError::UnknownPeer(id))?;
        let out = &link.out;
        if out.queued.load(Ordering::Acquire) == 0
            && let Ok(mut conn) = out.conn.try_lock()
            && out.queued.load(Ordering::Acquire) == 0
            && let Some(open) = conn.as_mut()
            && open.pending.is_empty()
        {
            match open.write_now(id, &frame, &self.inner) {
                Direct::Written => return Ok(()),
                Direct::Unwritten => {
                    out.queued.fetch_add(1, Ordering::AcqRel);
                    if link.queue.try_send(Item::Flush).is_err() {
                        out.queued.fetch_sub(1, Ordering::AcqRel);
                    }
                    return Ok(());
                }
                Direct::Broken => {
                    // The writer reconnects on the next frame queued.
                    if let Some(open) = conn.take() {
                        let _ = open.stream.shutdown(Shutdown::Both);
                    }
                    self.inner.unsent.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
        }
        out.queued.fetch_add(1, Ordering::AcqRel);
        match link.queue.try_send(Item::Frame(frame)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                out.queued.fetch_sub(1, Ordering::AcqRel);
                self.inner.unsent.fetch_add(1, Ordering::Relaxed);
                Err(TcpError::QueueFull(id))
            }
            Err(TrySendError::Disconnected(_)) => {
                out.queued.fetch_sub(1, Ordering::AcqRel);
                Err(TcpError::Closed)
            }
        }
    }

    /// Says (or counts, see [`super::notice`]) an error of `kind` about
    /// a frame from `from`: for what the node above finds wrong.
    pub fn notice(&self, kind: NoticeKind, from: SocketAddr, text: impl FnOnce() -> String) {
        self.inner.notice(kind, from, text);
    }

    /// Stops listening, closes every connection and waits (boundedly) for
    /// the transport's threads.
    pub fn shutdown(&self) {
        if self.inner.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        // Wake the accept thread: it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&wake_addr(self.inner.local), WAKE_TIMEOUT);
        for conn in lock(&self.inner.conns).values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        let writers: Vec<JoinHandle<()>> = std::mem::take(&mut *lock(&self.peers))
            .into_values()
            .map(|link| link.thread)
            .collect();
        let accept = lock(&self.accept).take();
        let notices = lock(&self.notice_thread).take();
        for handle in writers.into_iter().chain(accept).chain(notices) {
            join_until(handle, deadline);
        }
        while self.inner.readers.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl<T> Drop for TcpTransport<T> {
    fn drop(&mut self) {
        // `shutdown` needs the trait bounds; repeat its stopping part here.
        if self.inner.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = TcpStream::connect_timeout(&wake_addr(self.inner.local), WAKE_TIMEOUT);
        for conn in lock(&self.inner.conns).values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        lock(&self.peers).clear();
    }
}

/// Where to connect to reach a listener bound on `local`.
fn wake_addr(mut local: SocketAddr) -> SocketAddr {
    if local.ip().is_unspecified() {
        local.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    local
}

/// Joins `handle` if it ends before `deadline`; else leaves it detached.
fn join_until(handle: JoinHandle<()>, deadline: Instant) {
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    if handle.is_finished() {
        let _ = handle.join();
    }
}

/// Delivers notices: each first one as it comes, and the summaries of
/// intervals that ended, until the transport stops.
fn notice_loop<T>(inner: &Inner, lines: &Receiver<String>, events: &Sender<TcpEvent<T>>) {
    loop {
        match lines.recv_timeout(NOTICE_POLL) {
            Ok(line) => {
                let _ = events.try_send(TcpEvent::Notice(line));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if inner.stopped.load(Ordering::Acquire) {
            return;
        }
        let summaries = lock(&inner.notices).flush(Instant::now());
        for line in summaries {
            let _ = events.try_send(TcpEvent::Notice(line));
        }
    }
}

mod out;
use out::{Direct, Item, Outgoing, writer_loop};

mod accept;
use accept::accept_loop;

#[cfg(test)]
mod tests;
