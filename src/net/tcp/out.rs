//! The sending side of a [`TcpTransport`](super::TcpTransport): one
//! connection per peer, written directly by the sender when it is idle,
//! and otherwise by the peer's writer thread, in batches.
//!
//! A sender that finds the connection open, nothing queued for the writer
//! and the lock free encodes its frame and hands it to the (non-blocking)
//! socket itself: one syscall and no thread to wake, which is most sends.
//! Everything else goes through the writer thread's queue: frames sent
//! while the writer is busy, bytes a full socket did not take, and every
//! frame while there is no connection (the writer connects, with
//! backoff). The writer takes every item waiting, encodes the frames into
//! one buffer and writes it with one syscall. Whoever writes holds the
//! connection's lock, and a sender writes directly only when nothing is
//! queued, so frames never overtake each other and their tags stay in
//! sequence.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use serde::Serialize;

use super::{Inner, TcpConfig, WRITER_POLL, lock};
use crate::net::auth::{self, AuthError, Claim, Sealer, TAG_LEN};
use crate::net::frame::{self, FrameError};
use crate::net::notice::NoticeKind;
use crate::raft::NodeId;

/// Most frames one batched write carries…
const BATCH_FRAMES: usize = 256;
/// …and most bytes, once exceeded no more frames are added.
const BATCH_BYTES: usize = 256 << 10;

/// What a peer's writer thread is handed.
pub(super) enum Item<T> {
    /// A frame to encode and write.
    Frame(T),
    /// A sender's direct write left bytes unwritten (the socket was
    /// full): write them (they are in [`OutConn::pending`]).
    Flush,
}

/// One peer's connection, as the senders and its writer share it.
#[derive(Default)]
pub(super) struct Outgoing {
    /// The open connection, if any. Whoever holds the lock writes; the
    /// writer opens it (outside the lock) and keeps it open.
    pub(super) conn: Mutex<Option<OutConn>>,
    /// Items handed to the writer and not yet written: a sender writes
    /// directly only when there are none, so frames never overtake.
    pub(super) queued: AtomicUsize,
}

/// An open, authenticated connection to a peer, in non-blocking mode.
pub(super) struct OutConn {
    pub(super) stream: TcpStream,
    sealer: Option<Sealer>,
    /// Bytes a direct write could not hand to the socket; the writer
    /// writes them before anything else.
    pub(super) pending: Vec<u8>,
    /// Reused encoding buffer of the direct path.
    buf: Batch,
}

/// How a direct write went.
pub(super) enum Direct {
    /// The socket took the whole frame.
    Written,
    /// The socket took part of it (or none): the rest is in `pending`.
    Unwritten,
    /// The connection failed; the frame is lost.
    Broken,
}

impl OutConn {
    /// Encodes `frame` and hands it to the socket without waiting.
    pub(super) fn write_now<T: Serialize>(
        &mut self,
        id: NodeId,
        frame: &T,
        inner: &Inner,
    ) -> Direct {
        self.buf.clear();
        self.buf.push(id, frame, self.sealer.as_mut(), inner);
        let bytes = &self.buf.bytes;
        let mut written = 0;
        while written < bytes.len() {
            match io::Write::write(&mut self.stream, &bytes[written..]) {
                Ok(0) => return Direct::Broken,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.pending.extend_from_slice(&bytes[written..]);
                    return Direct::Unwritten;
                }
                Err(_) => return Direct::Broken,
            }
        }
        Direct::Written
    }

    /// Writes `bytes` whole, waiting while the socket is full, up to the
    /// write timeout.
    fn write_all(&mut self, bytes: &[u8], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut written = 0;
        let mut pause = Duration::from_micros(50);
        while written < bytes.len() {
            match io::Write::write(&mut self.stream, &bytes[written..]) {
                Ok(0) => return false,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
                Err(_) => return false,
            }
        }
        true
    }
}

/// Owns the connection to peer `id`: connects (and authenticates) on
/// demand with backoff and writes what is queued, until the queue closes
/// or the transport stops. Each turn takes every item already queued (up
/// to a batch), writes what a direct write left, encodes the frames into
/// one buffer and writes it at once, all under the connection's lock.
pub(super) fn writer_loop<T: Serialize>(
    id: NodeId,
    addr: SocketAddr,
    queue: &Receiver<Item<T>>,
    out: &Outgoing,
    inner: &Inner,
) {
    let config = &inner.config;
    let mut backoff = config.backoff_min;
    let mut next_try = Instant::now();
    let mut batch = Batch::default();
    loop {
        let first = match queue.recv_timeout(WRITER_POLL) {
            Ok(item) => item,
            Err(RecvTimeoutError::Timeout) if !inner.stopped.load(Ordering::Acquire) => continue,
            Err(_) => break,
        };
        if inner.stopped.load(Ordering::Acquire) {
            break;
        }
        if lock(&out.conn).is_none() && Instant::now() >= next_try {
            match open_link(id, addr, inner) {
                Ok((stream, sealer)) => {
                    if stream.set_nonblocking(true).is_ok() {
                        *lock(&out.conn) = Some(OutConn {
                            stream,
                            sealer,
                            pending: Vec::new(),
                            buf: Batch::default(),
                        });
                    }
                    backoff = config.backoff_min;
                }
                Err(()) => {
                    next_try = Instant::now() + backoff;
                    backoff = (backoff * 2).min(config.backoff_max);
                }
            }
        }
        let mut conn = lock(&out.conn);
        let mut items = 1;
        let Some(open) = conn.as_mut() else {
            // Nowhere to write: what is queued now is as stale as this.
            items += queue.try_iter().take(BATCH_FRAMES).count();
            inner.unsent.fetch_add(items as u64, Ordering::Relaxed);
            out.queued.fetch_sub(items, Ordering::AcqRel);
            continue;
        };
        batch.clear();
        let mut take = |item: Item<T>, batch: &mut Batch| {
            if let Item::Frame(frame) = item {
                batch.push(id, &frame, open.sealer.as_mut(), inner);
            }
        };
        take(first, &mut batch);
        while batch.frames < BATCH_FRAMES && batch.bytes.len() < BATCH_BYTES {
            match queue.try_recv() {
                Ok(item) => {
                    items += 1;
                    take(item, &mut batch);
                }
                Err(_) => break,
            }
        }
        let pending = std::mem::take(&mut open.pending);
        let ok = open.write_all(&pending, config.write_timeout)
            && open.write_all(&batch.bytes, config.write_timeout);
        if !ok {
            inner
                .unsent
                .fetch_add(batch.frames as u64, Ordering::Relaxed);
            if let Some(open) = conn.take() {
                // A broken connection: the next frame reconnects at once
                // (the peer may have restarted); backoff starts if that fails.
                let _ = open.stream.shutdown(Shutdown::Both);
                next_try = Instant::now();
            }
        }
        out.queued.fetch_sub(items, Ordering::AcqRel);
    }
    if let Some(open) = lock(&out.conn).take() {
        let _ = open.stream.shutdown(Shutdown::Both);
    }
}

/// Frames encoded for one write.
#[derive(Default)]
pub(super) struct Batch {
    bytes: Vec<u8>,
    frames: usize,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.frames = 0;
        // A rare huge frame should not pin its buffer for good.
        if self.bytes.capacity() > 4 * BATCH_BYTES {
            self.bytes.shrink_to(BATCH_BYTES);
        }
    }

    /// Encodes `value` as the next frame (tagged on an authenticated
    /// link). One that cannot be encoded or is over the cap is dropped,
    /// counted and said; the frames around it still go.
    fn push<T: Serialize>(
        &mut self,
        id: NodeId,
        value: &T,
        sealer: Option<&mut Sealer>,
        inner: &Inner,
    ) {
        let tail = if sealer.is_some() { TAG_LEN } else { 0 };
        match frame::encode_into(value, &mut self.bytes, inner.config.max_frame, tail) {
            Ok(start) => {
                if let Some(sealer) = sealer {
                    let tag = sealer.tag(&self.bytes[start..]);
                    self.bytes.extend_from_slice(&tag);
                }
                self.frames += 1;
            }
            Err(error) => {
                inner.unsent.fetch_add(1, Ordering::Relaxed);
                let local = inner.local;
                inner.notice(NoticeKind::Unsendable(id), local, || {
                    format!("dropped a frame for n{id}: {error}")
                });
            }
        }
    }
}

/// Frames `payload` (with its tag, on an authenticated link) and writes it.
fn write_payload(
    stream: &mut TcpStream,
    sealer: Option<&mut Sealer>,
    payload: &[u8],
    config: &TcpConfig,
) -> bool {
    let bytes = match sealer {
        Some(sealer) => sealer.seal(payload, config.max_frame),
        None => frame::frame_bytes(payload, &[], config.max_frame),
    };
    bytes.is_ok_and(|bytes| io::Write::write_all(stream, &bytes).is_ok())
}

/// Connects to peer `id` at `addr`, authenticates (saying what went wrong
/// when the peer refuses or cannot prove itself), and writes the greeting.
fn open_link(
    id: NodeId,
    addr: SocketAddr,
    inner: &Inner,
) -> Result<(TcpStream, Option<Sealer>), ()> {
    let config = &inner.config;
    let mut stream = connect(addr, config).map_err(|_| ())?;
    let mut sealer = match &config.auth {
        Some(tcp_auth) => {
            let deadline = Instant::now() + config.auth_timeout;
            match auth::connect(&stream, &tcp_auth.key, Claim::Node(tcp_auth.node), deadline) {
                Ok((sealer, _)) => Some(sealer),
                Err(e) => {
                    let me = tcp_auth.node;
                    let words = match &e {
                        // Down, restarting, or it closed us for lack of
                        // room: like a failed connect, nothing to say.
                        AuthError::Frame(FrameError::Closed | FrameError::Io(_)) => None,
                        AuthError::WrongCluster { theirs, ours } => Some(format!(
                            "n{me} cannot talk to n{id} at {addr}: the node there belongs to \
                             cluster {theirs}, and this node to cluster {ours}. Start every node \
                             with the same --cluster-id, or fix --peers if {addr} is another \
                             cluster's node"
                        )),
                        AuthError::Refused => Some(format!(
                            "n{me} cannot authenticate to n{id} at {addr}: it refused this \
                             node's proof, so the two hold different cluster secrets. Give \
                             every node the same --secret-file, or start them all with the \
                             same --data-dir root (they share its cluster.secret)"
                        )),
                        other => Some(format!(
                            "n{me} cannot authenticate to n{id} at {addr}: {other}; nothing \
                             is sent there"
                        )),
                    };
                    if let Some(words) = words {
                        inner.notice(NoticeKind::Outgoing(id), addr, || words);
                    }
                    let _ = stream.shutdown(Shutdown::Both);
                    return Err(());
                }
            }
        }
        None => None,
    };
    stream
        .set_write_timeout(Some(config.write_timeout))
        .map_err(|_| ())?;
    let greeting = lock(&inner.greeting).clone();
    if let Some(payload) = greeting
        && !write_payload(&mut stream, sealer.as_mut(), &payload, config)
    {
        return Err(());
    }
    Ok((stream, sealer))
}

pub(super) fn connect(addr: SocketAddr, config: &TcpConfig) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, config.connect_timeout)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(config.write_timeout))?;
    Ok(stream)
}
