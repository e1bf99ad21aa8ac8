//! The accepting side of a [`TcpTransport`](super::TcpTransport): the
//! accept loop, each connection's handshake and budget, and the reader
//! that turns its frames into events.

use std::io::{self, BufReader};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use serde::de::DeserializeOwned;

use super::{Class, Conn, Identity, Inner, Replier, ReplyConn, TcpEvent, lock};
use crate::net::auth::{self, AuthError, Claim, Opener, Sealer};
use crate::net::frame::{self, FrameError};
use crate::net::notice::NoticeKind;
use crate::raft::NodeId;

/// Bytes a connection's reader takes from its socket at once.
const READ_BUFFER: usize = 64 << 10;
/// Largest frame buffer a reader keeps for the next frame.
const KEEP_FRAME_BUFFER: usize = 1 << 20;

pub(super) fn accept_loop<T: DeserializeOwned + Send + 'static>(
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
        let _ = start_reader(stream, &inner, events.clone());
    }
}

/// Registers an accepted connection (closing the oldest one still in its
/// handshake if too many are) and starts its thread.
fn start_reader<T: DeserializeOwned + Send + 'static>(
    stream: TcpStream,
    inner: &Arc<Inner>,
    events: Sender<TcpEvent<T>>,
) -> io::Result<()> {
    let accepted = Instant::now();
    let peer = stream.peer_addr()?;
    stream.set_nodelay(true)?;
    let id = inner.next_conn.fetch_add(1, Ordering::Relaxed);
    let evicted = {
        let mut conns = lock(&inner.conns);
        let pending = conns.values().filter(|c| c.class == Class::Pending).count();
        let mut evicted = None;
        if pending >= inner.config.max_pending.max(1)
            && let Some(oldest) = conns.values_mut().find(|c| c.class == Class::Pending)
        {
            let _ = oldest.stream.shutdown(Shutdown::Both);
            oldest.class = Class::Closing;
            evicted = oldest.stream.peer_addr().ok();
        }
        conns.insert(
            id,
            Conn {
                stream: stream.try_clone()?,
                class: Class::Pending,
            },
        );
        evicted
    };
    if let Some(old) = evicted {
        let max = inner.config.max_pending;
        inner.notice(NoticeKind::Crowded, old, || {
            format!(
                "closed the connection from {old}, which had not authenticated yet: \
                 {max} connections were already waiting to, the most at once"
            )
        });
    }
    inner.readers.fetch_add(1, Ordering::AcqRel);
    let reader_inner = inner.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("raftlab-conn-{}", peer.port()))
        .spawn(move || {
            serve(id, &stream, peer, accepted, &reader_inner, &events);
            let _ = stream.shutdown(Shutdown::Both);
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

/// What to say when an accepted connection fails the handshake (`None`:
/// nothing worth saying, e.g. it closed without a word, as port probes do).
fn handshake_notice(peer: SocketAddr, e: &AuthError) -> Option<(NoticeKind, String)> {
    match e {
        AuthError::Frame(FrameError::Io(io))
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            Some((
                NoticeKind::Slow,
                format!("closed the connection from {peer}: it did not authenticate in time"),
            ))
        }
        AuthError::Frame(FrameError::Closed | FrameError::Io(_)) => None,
        AuthError::ForeignConnector { claim, ours } => Some((
            NoticeKind::Handshake(claimed_node(claim)),
            format!(
                "{claim} connected from {peer}, but this node belongs to cluster {ours}: \
                 the two do not talk. If it is one of yours, start every node and client \
                 with the same --cluster-id; if it is not, its --peers names this node's \
                 address by mistake"
            ),
        )),
        AuthError::BadProof(claim) => Some((
            NoticeKind::Handshake(claimed_node(claim)),
            format!(
                "a connection from {peer} claiming to be {claim} failed to authenticate: it does \
                 not hold this cluster's secret. If it is one of yours, give it the same \
                 --secret-file as this node (or the same --data-dir root, whose \
                 cluster.secret they share)"
            ),
        )),
        other => Some((
            NoticeKind::Handshake(None),
            format!("a connection from {peer} failed to authenticate: {other}"),
        )),
    }
}

/// The node a connector claimed to be, if any (notices are counted per claim).
fn claimed_node(claim: &Claim) -> Option<NodeId> {
    match claim {
        Claim::Node(id) => Some(*id),
        Claim::Foreign { node, .. } => *node,
        Claim::Client => None,
    }
}

/// Serves one accepted connection: the handshake, its budget, then frames
/// until it ends, a frame is too large or a tag is wrong.
fn serve<T: DeserializeOwned>(
    id: u64,
    stream: &TcpStream,
    peer: SocketAddr,
    accepted: Instant,
    inner: &Inner,
    events: &Sender<TcpEvent<T>>,
) {
    let config = &inner.config;
    let deadline = accepted + config.auth_timeout;
    let (identity, sealer, mut opener): (Identity, Option<Sealer>, Option<Opener>) =
        match &config.auth {
            Some(tcp_auth) => match auth::accept(stream, &tcp_auth.key, deadline) {
                Ok((claim, sealer, opener)) => {
                    let identity = match claim {
                        Claim::Node(id) => Identity::Node(id),
                        // `accept` refuses a foreign claim; a client at most.
                        Claim::Client | Claim::Foreign { .. } => Identity::Client,
                    };
                    (identity, Some(sealer), Some(opener))
                }
                Err(e) => {
                    if let Some((kind, text)) = handshake_notice(peer, &e) {
                        inner.notice(kind, peer, || text);
                    }
                    return;
                }
            },
            None => (Identity::Open, None, None),
        };
    if !admit(inner, id, peer, identity) {
        return;
    }
    if stream
        .set_write_timeout(Some(config.write_timeout))
        .is_err()
    {
        return;
    }
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let replier = Replier {
        conn: Arc::new(Mutex::new(ReplyConn {
            stream: write_half,
            sealer,
        })),
        peer,
        identity,
        max_frame: config.max_frame,
    };
    // Large enough that one read takes in a whole batch of frames.
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    let mut first = true;
    // One buffer serves every frame of the connection.
    let mut wire = Vec::new();
    loop {
        if first {
            // The first frame is due by the deadline too.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                inner.notice(NoticeKind::Slow, peer, || {
                    format!("closed the connection from {peer}: it sent nothing in time")
                });
                return;
            }
        }
        if wire.capacity() > KEEP_FRAME_BUFFER {
            // A rare huge frame (a snapshot) should not pin its buffer.
            wire = Vec::new();
        }
        match frame::read_payload_into(&mut reader, inner.wire_max(), &mut wire) {
            Ok(()) => {}
            Err(error @ FrameError::TooLarge { .. }) => {
                inner.notice(NoticeKind::Oversized, peer, || {
                    format!("closed the connection from {peer} ({identity}): {error}")
                });
                return;
            }
            Err(FrameError::Io(e))
                if first
                    && matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
            {
                inner.notice(NoticeKind::Slow, peer, || {
                    format!("closed the connection from {peer}: it sent nothing in time")
                });
                return;
            }
            Err(_) => return,
        };
        let payload = match opener.as_mut() {
            Some(opener) => match opener.open_slice(&wire) {
                Ok(payload) => payload,
                Err(e) => {
                    inner.notice(NoticeKind::BadTag, peer, || {
                        format!("closed the connection from {peer} ({identity}): {e}")
                    });
                    return;
                }
            },
            None => &wire[..],
        };
        if first {
            first = false;
            if stream.set_read_timeout(None).is_err() {
                return;
            }
        }
        let event = match frame::decode::<T>(payload) {
            Ok(frame) => TcpEvent::Frame {
                frame,
                reply: replier.clone(),
            },
            Err(error) => {
                inner.notice(NoticeKind::Undecodable, peer, || {
                    format!("dropped a frame from {peer} ({identity}): {error}")
                });
                continue;
            }
        };
        match events.try_send(event) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => return,
        }
        if inner.stopped.load(Ordering::Acquire) {
            return;
        }
    }
}

/// Moves an authenticated connection into its budget (peers or
/// clients); `false` if that budget is full or the connection was closed
/// to make room meanwhile.
fn admit(inner: &Inner, id: u64, peer: SocketAddr, identity: Identity) -> bool {
    let (class, max, what) = match identity {
        Identity::Node(_) => (Class::Peer, inner.config.max_peers, "peer"),
        Identity::Client | Identity::Open => (Class::Client, inner.config.max_clients, "client"),
    };
    let full = {
        let mut conns = lock(&inner.conns);
        if conns.values().filter(|c| c.class == class).count() >= max.max(1) {
            true
        } else {
            match conns.get_mut(&id).filter(|c| c.class == Class::Pending) {
                Some(conn) => {
                    conn.class = class;
                    false
                }
                None => return false,
            }
        }
    };
    if full {
        inner.notice(NoticeKind::Crowded, peer, || {
            format!(
                "refused the connection from {peer} ({identity}): {max} {what} connections \
                 are open, the most at once"
            )
        });
        return false;
    }
    true
}
