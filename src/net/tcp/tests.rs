//! Two transports on loopback: exchange, replies, bad frames, restarts.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::*;
use crate::net::auth::{self, Claim};

const WAIT: Duration = Duration::from_secs(5);

type Transport = TcpTransport<String>;

fn bind_at(addr: SocketAddr) -> (Transport, Receiver<TcpEvent<String>>) {
    let config = TcpConfig {
        backoff_max: Duration::from_millis(100),
        ..TcpConfig::default()
    };
    match TcpTransport::bind(addr, config) {
        Ok(pair) => pair,
        Err(e) => panic!("bind {addr}: {e}"),
    }
}

fn bind() -> (Transport, Receiver<TcpEvent<String>>) {
    bind_at(loopback(0))
}

/// Sends `text` from `a` to peer 2 until it arrives at `rx` (bounded).
fn deliver(a: &Transport, rx: &Receiver<TcpEvent<String>>, text: &str) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let _ = a.send(2, text.to_string());
        if let Ok(TcpEvent::Frame { frame, .. }) = rx.recv_timeout(Duration::from_millis(50))
            && frame == text
        {
            return;
        }
    }
    panic!("{text:?} never arrived");
}

fn next_event(rx: &Receiver<TcpEvent<String>>) -> TcpEvent<String> {
    match rx.recv_timeout(WAIT) {
        Ok(event) => event,
        Err(e) => panic!("no event: {e}"),
    }
}

#[test]
fn binds_loopback_by_default_and_exchanges_frames_both_ways() {
    let (a, a_rx) = bind();
    let (b, b_rx) = bind();
    assert!(a.local_addr().ip().is_loopback());
    a.set_peer(2, b.local_addr()).unwrap();
    b.set_peer(1, a.local_addr()).unwrap();
    for i in 0..100 {
        a.send(2, format!("m{i}")).unwrap();
    }
    for i in 0..100 {
        match next_event(&b_rx) {
            TcpEvent::Frame { frame, .. } => assert_eq!(frame, format!("m{i}")),
            other => panic!("unexpected {other:?}"),
        }
    }
    b.send(1, "back".to_string()).unwrap();
    assert!(matches!(next_event(&a_rx), TcpEvent::Frame { frame, .. } if frame == "back"));
    assert!(matches!(
        a.send(9, "x".into()),
        Err(TcpError::UnknownPeer(9))
    ));
    a.shutdown();
    b.shutdown();
}

#[test]
fn a_reply_goes_back_on_the_same_connection() {
    let (b, b_rx) = bind();
    let mut client = TcpStream::connect(b.local_addr()).unwrap();
    frame::write_frame(&mut client, &"ping".to_string(), 1024).unwrap();
    let TcpEvent::Frame { frame, reply } = next_event(&b_rx) else {
        panic!("expected a frame");
    };
    assert_eq!(frame, "ping");
    reply.send(&"pong".to_string()).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let answer: String = frame::read_frame(&mut client, 1024).unwrap();
    assert_eq!(answer, "pong");
}

#[test]
fn garbage_and_oversized_frames_are_dropped_with_an_event() {
    let (b, b_rx) = bind();
    let mut raw = TcpStream::connect(b.local_addr()).unwrap();
    // A frame whose payload is not a string (a length past the end)…
    raw.write_all(&[3, 0, 0, 0, 0xff, 0xff, 0xff]).unwrap();
    // …then a good one on the same connection: still in step.
    frame::write_frame(&mut raw, &"after".to_string(), 1024).unwrap();
    let mut events = vec![next_event(&b_rx), next_event(&b_rx)];
    // The notice comes from another thread: it may arrive second.
    events.sort_by_key(|e| matches!(e, TcpEvent::Frame { .. }));
    assert!(
        matches!(&events[0], TcpEvent::Notice(text) if text.contains("does not decode")),
        "{events:?}"
    );
    assert!(matches!(&events[1], TcpEvent::Frame { frame, .. } if frame == "after"));
    // A 4 GiB announcement: refused, and the connection closed.
    raw.write_all(&u32::MAX.to_le_bytes()).unwrap();
    assert!(matches!(
        next_event(&b_rx),
        TcpEvent::Notice(text) if text.contains("exceeds the")
    ));
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 1];
    let closed = matches!(std::io::Read::read(&mut raw, &mut buf), Ok(0) | Err(_));
    assert!(closed, "the connection should be closed");
    // The transport still serves new connections.
    let (a, _a_rx) = bind();
    a.set_peer(2, b.local_addr()).unwrap();
    deliver(&a, &b_rx, "still here");
}

#[test]
fn reconnects_after_the_peer_restarts() {
    let (a, _a_rx) = bind();
    let (b, b_rx) = bind();
    let addr = b.local_addr();
    a.set_peer(2, addr).unwrap();
    deliver(&a, &b_rx, "before");
    b.shutdown();
    drop(b);
    drop(b_rx);
    // Sends while the peer is down are dropped, never block.
    let started = Instant::now();
    for _ in 0..50 {
        let _ = a.send(2, "lost".to_string());
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    let (b2, b2_rx) = bind_at(addr);
    deliver(&a, &b2_rx, "after");
    assert!(a.unsent() > 0);
    b2.shutdown();
    a.shutdown();
}

#[test]
fn shutdown_is_prompt_with_connections_open() {
    let (a, _a_rx) = bind();
    let (b, _b_rx) = bind();
    a.set_peer(2, b.local_addr()).unwrap();
    b.set_peer(1, a.local_addr()).unwrap();
    let _ = a.send(2, "x".into());
    let _ = b.send(1, "y".into());
    let _idle = TcpStream::connect(a.local_addr()).unwrap();
    let started = Instant::now();
    a.shutdown();
    b.shutdown();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(TcpStream::connect_timeout(&a.local_addr(), Duration::from_millis(200)).is_err());
    assert!(matches!(
        a.set_peer(3, b.local_addr()),
        Err(TcpError::Closed)
    ));
}

#[test]
fn a_port_in_use_is_a_bind_error() {
    let (a, _rx) = bind();
    let err = TcpTransport::<String>::bind(a.local_addr(), TcpConfig::default()).unwrap_err();
    assert!(matches!(err, TcpError::Bind { .. }), "{err}");
    assert!(err.to_string().contains(&a.local_addr().to_string()));
}

#[test]
fn every_new_connection_starts_with_the_greeting() {
    let (a, _a_rx) = bind();
    let (b, b_rx) = bind();
    let addr = b.local_addr();
    a.set_greeting(&"hello from 1".to_string()).unwrap();
    a.set_peer(2, addr).unwrap();
    assert_eq!(a.peer_addr(2), Some(addr));
    assert_eq!(a.peer_addr(3), None);
    assert_eq!(a.peers().into_iter().collect::<Vec<_>>(), vec![(2, addr)]);
    a.send(2, "first".to_string()).unwrap();
    let frames: Vec<String> = (0..2)
        .map(|_| match next_event(&b_rx) {
            TcpEvent::Frame { frame, .. } => frame,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(frames, ["hello from 1", "first"]);
    // The peer restarts: the new connection is greeted again.
    b.shutdown();
    drop(b);
    drop(b_rx);
    let (b2, b2_rx) = bind_at(addr);
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while Instant::now() < deadline && !seen.iter().any(|f| f == "again") {
        let _ = a.send(2, "again".to_string());
        if let Ok(TcpEvent::Frame { frame, .. }) = b2_rx.recv_timeout(Duration::from_millis(50)) {
            seen.push(frame);
        }
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("hello from 1"),
        "{seen:?}"
    );
    b2.shutdown();
    a.shutdown();
}

// --- with a cluster secret ---

fn secret_key(secret: &[u8]) -> Arc<ClusterKey> {
    Arc::new(ClusterKey::new(secret, 1).unwrap())
}

fn bind_auth(
    key: &Arc<ClusterKey>,
    node: NodeId,
    tune: impl FnOnce(&mut TcpConfig),
) -> (Transport, Receiver<TcpEvent<String>>) {
    let mut config = TcpConfig {
        backoff_max: Duration::from_millis(100),
        auth: Some(TcpAuth {
            key: key.clone(),
            node,
        }),
        ..TcpConfig::default()
    };
    tune(&mut config);
    TcpTransport::bind(loopback(0), config).unwrap()
}

/// Waits (bounded) for a notice whose text contains `words`.
fn notice_with(rx: &Receiver<TcpEvent<String>>, words: &str) -> String {
    let deadline = Instant::now() + WAIT;
    while let Ok(event) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        match event {
            TcpEvent::Notice(text) if text.contains(words) => return text,
            TcpEvent::Frame { frame, .. } => panic!("a frame got through: {frame:?}"),
            TcpEvent::Notice(_) => {}
        }
    }
    panic!("no notice with {words:?}");
}

/// One request from an authenticated client, answered "pong" by `rx`'s
/// node; `Err` if the connection was refused or closed.
fn client_ping(
    addr: SocketAddr,
    key: &ClusterKey,
    rx: &Receiver<TcpEvent<String>>,
) -> Result<(), String> {
    let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + WAIT;
    let (mut seal, mut open) =
        auth::connect(&stream, key, Claim::Client, deadline).map_err(|e| e.to_string())?;
    let payload = frame::encode_payload(&"ping".to_string(), 1024).unwrap();
    let mut io = auth::until(&stream, deadline);
    io.write_all(&seal.seal(&payload, 1024).unwrap())
        .map_err(|e| e.to_string())?;
    // The node answers the client's frame (peers' frames may be there too).
    let answered = std::thread::scope(|s| {
        s.spawn(|| {
            let until = Instant::now() + Duration::from_secs(2);
            while let Ok(event) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                if let TcpEvent::Frame { reply, frame } = event
                    && reply.identity() == Identity::Client
                {
                    assert_eq!(frame, "ping");
                    let _ = reply.send(&"pong".to_string());
                    return;
                }
            }
        });
        frame::read_payload(&mut io, 1024 + TAG_LEN).map_err(|e| e.to_string())
    })?;
    let payload = open.open(answered).map_err(|e| e.to_string())?;
    let text: String = frame::decode(&payload).map_err(|e| e.to_string())?;
    (text == "pong").then_some(()).ok_or(text)
}

#[test]
fn with_a_secret_peers_are_believed_and_know_who_sent_what() {
    let key = secret_key(b"a shared secret, long enough");
    let (a, _a_rx) = bind_auth(&key, 1, |_| {});
    let (b, b_rx) = bind_auth(&key, 2, |_| {});
    a.set_greeting(&"hello".to_string()).unwrap();
    a.set_peer(2, b.local_addr()).unwrap();
    a.send(2, "m0".to_string()).unwrap();
    for expected in ["hello", "m0"] {
        match next_event(&b_rx) {
            TcpEvent::Frame { frame, reply } => {
                assert_eq!(frame, expected);
                assert_eq!(reply.identity(), Identity::Node(1));
            }
            other => panic!("{other:?}"),
        }
    }
    client_ping(b.local_addr(), &key, &b_rx).unwrap();
    a.shutdown();
    b.shutdown();
}

#[test]
fn a_burst_goes_out_in_tagged_batches_and_a_frame_too_large_is_dropped_alone() {
    let key = secret_key(b"a shared secret, long enough");
    let (a, a_rx) = bind_auth(&key, 1, |c| c.max_frame = 64);
    let (b, b_rx) = bind_auth(&key, 2, |c| c.max_frame = 64);
    a.set_peer(2, b.local_addr()).unwrap();
    // Queued while the writer connects: they go several to a write, each
    // with its own tag in sequence, or the reader would refuse them.
    for i in 0..600 {
        let frame = if i == 300 {
            "x".repeat(100)
        } else {
            format!("m{i}")
        };
        a.send(2, frame).unwrap();
    }
    let got: Vec<String> = (0..599)
        .map(|_| match next_event(&b_rx) {
            TcpEvent::Frame { frame, .. } => frame,
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<String> = (0..600)
        .filter(|&i| i != 300)
        .map(|i| format!("m{i}"))
        .collect();
    assert_eq!(got, expected);
    let text = notice_with(&a_rx, "dropped a frame for n2");
    assert!(text.contains("exceeds the 64-byte limit"), "{text}");
    assert_eq!(a.unsent(), 1);
    a.shutdown();
    b.shutdown();
}

#[test]
fn a_peer_that_stops_reading_gets_every_frame_in_order_once_it_reads_again() {
    // A listener that reads one frame, then nothing for a while: the
    // connection is open and idle, so the sender writes directly until
    // the socket fills; the bytes left over go to the writer thread and
    // later frames queue behind them. None of that blocks the sender.
    let listener = std::net::TcpListener::bind(loopback(0)).unwrap();
    let config = TcpConfig {
        write_timeout: Duration::from_secs(20),
        ..TcpConfig::default()
    };
    let (a, _a_rx) = TcpTransport::<String>::bind(loopback(0), config).unwrap();
    a.set_peer(2, listener.local_addr().unwrap()).unwrap();
    let chunk = "x".repeat(48 << 10);
    let frames = 600; // ~28 MiB, more than the socket buffers hold
    let (first_tx, first_rx) = crossbeam_channel::bounded(1);
    let (go_tx, go_rx) = crossbeam_channel::bounded(1);
    let reader = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut reader = std::io::BufReader::new(stream);
        let first: String = frame::read_frame(&mut reader, DEFAULT_MAX_FRAME).unwrap();
        first_tx.send(first).unwrap();
        let _ = go_rx.recv_timeout(WAIT);
        (0..frames)
            .map(|_| frame::read_frame::<_, String>(&mut reader, DEFAULT_MAX_FRAME).unwrap())
            .collect::<Vec<String>>()
    });
    a.send(2, "first".to_string()).unwrap();
    assert_eq!(first_rx.recv_timeout(WAIT).unwrap(), "first");
    // The writer may still be finishing its turn: let it go idle.
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..frames {
        a.send(2, format!("{i} {chunk}")).unwrap();
    }
    go_tx.send(()).unwrap();
    let got = reader.join().unwrap();
    for (i, frame) in got.iter().enumerate() {
        assert!(
            frame.starts_with(&format!("{i} ")),
            "frame {i} out of order"
        );
        assert_eq!(frame.len(), format!("{i} ").len() + chunk.len());
    }
    assert_eq!(a.unsent(), 0);
    a.shutdown();
}

#[test]
fn a_stranger_without_the_secret_gets_nothing_believed_and_is_named() {
    let key = secret_key(b"a shared secret, long enough");
    let (b, b_rx) = bind_auth(&key, 2, |_| {});
    // Raw frames, no handshake: never a frame event.
    let mut raw = TcpStream::connect(b.local_addr()).unwrap();
    frame::write_frame(&mut raw, &"forged".to_string(), 1024).unwrap();
    let text = notice_with(&b_rx, "failed to authenticate");
    assert!(text.contains("not a") || text.contains("decode"), "{text}");
    b.shutdown();
    // A node of the same cluster id with another secret: refused, and
    // both ends say which node and what to do.
    let (b, b_rx) = bind_auth(&key, 2, |_| {});
    let other = secret_key(b"some other secret, long enough");
    let (a, a_rx) = bind_auth(&other, 1, |_| {});
    a.set_peer(2, b.local_addr()).unwrap();
    let _ = a.send(2, "forged too".to_string());
    let at_b = notice_with(&b_rx, "claiming to be n1 failed to authenticate");
    assert!(at_b.contains("--secret-file"), "{at_b}");
    let at_a = notice_with(&a_rx, "cannot authenticate to n2");
    assert!(at_a.contains("different cluster secrets"), "{at_a}");
    assert!(at_a.contains("--data-dir"), "{at_a}");
    // Nothing reached b as a frame (notice_with panics on one).
    assert!(
        b_rx.recv_timeout(Duration::from_millis(300))
            .map_or(true, |e| matches!(e, TcpEvent::Notice(_)))
    );
    a.shutdown();
    b.shutdown();
}

#[test]
fn idle_and_silent_sockets_do_not_keep_peers_or_clients_out() {
    let key = secret_key(b"a shared secret, long enough");
    let (b, b_rx) = bind_auth(&key, 2, |c| {
        c.max_pending = 16;
        c.auth_timeout = Duration::from_millis(500);
    });
    // 300 sockets that never say a word (bounded, closed at the end).
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(b.local_addr()).unwrap())
        .collect();
    let (a, _a_rx) = bind_auth(&key, 1, |_| {});
    a.set_peer(2, b.local_addr()).unwrap();
    deliver(&a, &b_rx, "through the crowd");
    client_ping(b.local_addr(), &key, &b_rx).unwrap();
    // The silent ones were closed: to make room, or at the deadline.
    std::thread::sleep(Duration::from_millis(800));
    let closed = idle
        .iter()
        .filter(|s| {
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let mut buf = [0u8; 512];
            // The challenge may be there first; then the end.
            loop {
                match std::io::Read::read(&mut &**s, &mut buf) {
                    Ok(0) => return true,
                    Ok(_) => continue,
                    Err(e) => return e.kind() != std::io::ErrorKind::WouldBlock,
                }
            }
        })
        .count();
    assert_eq!(closed, idle.len());
    drop(idle);
    a.shutdown();
    b.shutdown();
}

#[test]
fn clients_and_peers_have_separate_budgets() {
    let key = secret_key(b"a shared secret, long enough");
    let (b, b_rx) = bind_auth(&key, 2, |c| c.max_clients = 2);
    // Two clients hold their connections open after authenticating.
    let held: Vec<(TcpStream, Sealer)> = (0..2)
        .map(|_| {
            let s = TcpStream::connect(b.local_addr()).unwrap();
            let (mut seal, _) =
                auth::connect(&s, &key, Claim::Client, Instant::now() + WAIT).unwrap();
            let payload = frame::encode_payload(&"hold".to_string(), 1024).unwrap();
            (&s).write_all(&seal.seal(&payload, 1024).unwrap()).unwrap();
            (s, seal)
        })
        .collect();
    for _ in 0..2 {
        assert!(matches!(next_event(&b_rx), TcpEvent::Frame { frame, .. } if frame == "hold"));
    }
    // A third client is refused: closed once it authenticated.
    let third = TcpStream::connect(b.local_addr()).unwrap();
    auth::connect(&third, &key, Claim::Client, Instant::now() + WAIT).unwrap();
    third.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 8];
    assert!(matches!(
        std::io::Read::read(&mut &third, &mut buf),
        Ok(0) | Err(_)
    ));
    notice_with(&b_rx, "2 client connections are open");
    // …but a peer still gets through.
    let (a, _a_rx) = bind_auth(&key, 1, |_| {});
    a.set_peer(2, b.local_addr()).unwrap();
    deliver(&a, &b_rx, "peer");
    drop(held);
    a.shutdown();
    b.shutdown();
}
