//! Loopback TCP: one node's listener and its connections to its peers.
//!
//! A [`TcpTransport`] listens on one address (127.0.0.1 unless told
//! otherwise) and speaks [frames](super::frame) of one serde type `T`:
//!
//! - *Outgoing*: one connection per peer, owned by a writer thread fed by a
//!   bounded queue, so [`TcpTransport::send`] never blocks. The writer
//!   connects on demand; when a connect fails it waits an exponentially
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
//!   not decode is skipped and reported as [`TcpEvent::Dropped`]; one whose
//!   announced length is over the cap is reported and its connection
//!   closed, since the stream can no longer be trusted.
//!
//! [`TcpTransport::shutdown`] (or dropping it) stops every thread: the
//! accept thread is woken by a connection to itself, readers by shutting
//! their sockets down, writers by closing their queues; each wait is bounded.

use std::collections::BTreeMap;
use std::io::{self, BufReader};
use std::marker::PhantomData;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::frame::{self, DEFAULT_MAX_FRAME, FrameError};
use crate::raft::NodeId;

/// How long shutdown waits for the transport's threads.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// How often an idle writer checks whether the transport shut down.
const WRITER_POLL: Duration = Duration::from_millis(500);
/// Longest wait for the connection that wakes the accept thread.
const WAKE_TIMEOUT: Duration = Duration::from_millis(200);

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
    /// Most accepted connections at once; more are closed at once (default 64).
    pub max_connections: usize,
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
            max_connections: 64,
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
    /// The frame could not be encoded (or is over the cap).
    #[error("cannot send to node {to}: {source}")]
    Frame {
        /// The peer.
        to: NodeId,
        /// Why.
        #[source]
        source: FrameError,
    },
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
    /// A frame was dropped: it did not decode, or it was too large (then
    /// its connection was closed too).
    Dropped {
        /// The remote end of the connection.
        from: SocketAddr,
        /// What was wrong.
        error: FrameError,
    },
}

/// Answers on the connection a frame came on.
#[derive(Clone, Debug)]
pub struct Replier {
    stream: Arc<Mutex<TcpStream>>,
    peer: SocketAddr,
    max_frame: usize,
}

impl Replier {
    /// The remote end of the connection.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Writes `value` as one frame; a failed write closes the connection.
    pub fn send<R: Serialize>(&self, value: &R) -> Result<(), FrameError> {
        let mut stream = lock(&self.stream);
        let result = frame::write_frame(&mut *stream, value, self.max_frame);
        if matches!(result, Err(FrameError::Io(_))) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        result
    }
}

/// The outgoing side of one peer: its writer thread's queue.
struct PeerLink {
    addr: SocketAddr,
    queue: Sender<Vec<u8>>,
    thread: JoinHandle<()>,
}

/// What the transport's threads share.
struct Inner {
    config: TcpConfig,
    local: SocketAddr,
    stopped: AtomicBool,
    /// Accepted connections, to shut down on stop.
    conns: Mutex<BTreeMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    readers: AtomicUsize,
    /// Frames `send` could not deliver (queue full, no connection).
    unsent: AtomicU64,
    /// The encoded frame written first on every new outgoing connection.
    greeting: Mutex<Option<Vec<u8>>>,
}

/// One node's TCP endpoint: a listener and a connection to each peer.
pub struct TcpTransport<T> {
    inner: Arc<Inner>,
    peers: Mutex<BTreeMap<NodeId, PeerLink>>,
    accept: Mutex<Option<JoinHandle<()>>>,
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
        let inner = Arc::new(Inner {
            config,
            local,
            stopped: AtomicBool::new(false),
            conns: Mutex::new(BTreeMap::new()),
            next_conn: AtomicU64::new(0),
            readers: AtomicUsize::new(0),
            unsent: AtomicU64::new(0),
            greeting: Mutex::new(None),
        });
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
        let thread = std::thread::Builder::new()
            .name(format!("raftlab-peer-{id}"))
            .spawn(move || writer_loop(addr, rx, &inner))
            .map_err(TcpError::Spawn)?;
        // The old writer ends when its queue closes.
        peers.insert(
            id,
            PeerLink {
                addr,
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
        let bytes = frame::encode(frame, self.inner.config.max_frame)?;
        *lock(&self.inner.greeting) = Some(bytes);
        Ok(())
    }

    /// Queues `frame` for peer `id`; never blocks. The frame may still be
    /// lost (the peer is down, the connection breaks): callers that need
    /// delivery retry, as Raft does.
    pub fn send(&self, id: NodeId, frame: &T) -> Result<(), TcpError> {
        let bytes = frame::encode(frame, self.inner.config.max_frame)
            .map_err(|source| TcpError::Frame { to: id, source })?;
        let peers = lock(&self.peers);
        let link = peers.get(&id).ok_or(TcpError::UnknownPeer(id))?;
        match link.queue.try_send(bytes) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.inner.unsent.fetch_add(1, Ordering::Relaxed);
                Err(TcpError::QueueFull(id))
            }
            Err(TrySendError::Disconnected(_)) => Err(TcpError::Closed),
        }
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
        for stream in lock(&self.inner.conns).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let writers: Vec<JoinHandle<()>> = std::mem::take(&mut *lock(&self.peers))
            .into_values()
            .map(|link| link.thread)
            .collect();
        let accept = lock(&self.accept).take();
        for handle in writers.into_iter().chain(accept) {
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
        for stream in lock(&self.inner.conns).values() {
            let _ = stream.shutdown(Shutdown::Both);
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

fn accept_loop<T: DeserializeOwned + Send + 'static>(
    listener: TcpListener,
    inner: Arc<Inner>,
    events: Sender<TcpEvent<T>>,
) {
    for stream in listener.incoming() {
        if inner.stopped.load(Ordering::Acquire) {
            return;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) => {
                // Out of descriptors or the like: do not spin.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if inner.readers.load(Ordering::Acquire) >= inner.config.max_connections {
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        let _ = start_reader(stream, &inner, events.clone());
    }
}

/// Registers an accepted connection and starts its reader thread.
fn start_reader<T: DeserializeOwned + Send + 'static>(
    stream: TcpStream,
    inner: &Arc<Inner>,
    events: Sender<TcpEvent<T>>,
) -> io::Result<()> {
    let peer = stream.peer_addr()?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(inner.config.write_timeout))?;
    let id = inner.next_conn.fetch_add(1, Ordering::Relaxed);
    lock(&inner.conns).insert(id, stream.try_clone()?);
    let replier = Replier {
        stream: Arc::new(Mutex::new(stream.try_clone()?)),
        peer,
        max_frame: inner.config.max_frame,
    };
    inner.readers.fetch_add(1, Ordering::AcqRel);
    let reader_inner = inner.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("raftlab-conn-{}", peer.port()))
        .spawn(move || {
            read_loop(stream, replier, &reader_inner, &events);
            lock(&reader_inner.conns).remove(&id);
            reader_inner.readers.fetch_sub(1, Ordering::AcqRel);
        });
    if let Err(e) = spawned {
        lock(&inner.conns).remove(&id);
        inner.readers.fetch_sub(1, Ordering::AcqRel);
        return Err(e);
    }
    Ok(())
}

/// Reads frames until the connection ends or a frame is too large.
fn read_loop<T: DeserializeOwned>(
    stream: TcpStream,
    replier: Replier,
    inner: &Inner,
    events: &Sender<TcpEvent<T>>,
) {
    let peer = replier.peer;
    let mut reader = BufReader::new(&stream);
    loop {
        let event = match frame::read_payload(&mut reader, inner.config.max_frame) {
            Ok(payload) => match frame::decode::<T>(&payload) {
                Ok(frame) => TcpEvent::Frame {
                    frame,
                    reply: replier.clone(),
                },
                Err(error) => TcpEvent::Dropped { from: peer, error },
            },
            Err(error @ FrameError::TooLarge { .. }) => {
                let _ = events.try_send(TcpEvent::Dropped { from: peer, error });
                break;
            }
            Err(_) => break,
        };
        match events.try_send(event) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => break,
        }
        if inner.stopped.load(Ordering::Acquire) {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Owns the connection to one peer: connects on demand with backoff and
/// writes what is queued, until the queue closes or the transport stops.
fn writer_loop(addr: SocketAddr, queue: Receiver<Vec<u8>>, inner: &Inner) {
    let config = &inner.config;
    let mut conn: Option<TcpStream> = None;
    let mut backoff = config.backoff_min;
    let mut next_try = Instant::now();
    loop {
        let bytes = match queue.recv_timeout(WRITER_POLL) {
            Ok(bytes) => bytes,
            Err(RecvTimeoutError::Timeout) if !inner.stopped.load(Ordering::Acquire) => continue,
            Err(_) => break,
        };
        if inner.stopped.load(Ordering::Acquire) {
            break;
        }
        if conn.is_none() && Instant::now() >= next_try {
            match connect(addr, config).and_then(|stream| greet(stream, inner)) {
                Ok(stream) => {
                    conn = Some(stream);
                    backoff = config.backoff_min;
                }
                Err(_) => {
                    next_try = Instant::now() + backoff;
                    backoff = (backoff * 2).min(config.backoff_max);
                }
            }
        }
        let written = match conn.as_mut() {
            Some(stream) => io::Write::write_all(stream, &bytes).is_ok(),
            None => false,
        };
        if !written {
            inner.unsent.fetch_add(1, Ordering::Relaxed);
            if let Some(stream) = conn.take() {
                // A broken connection: the next frame reconnects at once
                // (the peer may have restarted); backoff starts if that fails.
                let _ = stream.shutdown(Shutdown::Both);
                next_try = Instant::now();
            }
        }
    }
    if let Some(stream) = conn {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Writes the transport's greeting, if any, on a new connection.
fn greet(mut stream: TcpStream, inner: &Inner) -> io::Result<TcpStream> {
    let greeting = lock(&inner.greeting).clone();
    if let Some(bytes) = greeting {
        io::Write::write_all(&mut stream, &bytes)?;
    }
    Ok(stream)
}

fn connect(addr: SocketAddr, config: &TcpConfig) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, config.connect_timeout)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(config.write_timeout))?;
    Ok(stream)
}

#[cfg(test)]
#[path = "tcp_tests.rs"]
mod tests;
