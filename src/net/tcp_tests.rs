//! Two transports on loopback: exchange, replies, bad frames, restarts.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::*;

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
        let _ = a.send(2, &text.to_string());
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
        a.send(2, &format!("m{i}")).unwrap();
    }
    for i in 0..100 {
        match next_event(&b_rx) {
            TcpEvent::Frame { frame, .. } => assert_eq!(frame, format!("m{i}")),
            other => panic!("unexpected {other:?}"),
        }
    }
    b.send(1, &"back".to_string()).unwrap();
    assert!(matches!(next_event(&a_rx), TcpEvent::Frame { frame, .. } if frame == "back"));
    assert!(matches!(
        a.send(9, &"x".into()),
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
    assert!(matches!(
        next_event(&b_rx),
        TcpEvent::Dropped {
            error: FrameError::Decode { .. },
            ..
        }
    ));
    assert!(matches!(next_event(&b_rx), TcpEvent::Frame { frame, .. } if frame == "after"));
    // A 4 GiB announcement: refused, and the connection closed.
    raw.write_all(&u32::MAX.to_le_bytes()).unwrap();
    assert!(matches!(
        next_event(&b_rx),
        TcpEvent::Dropped {
            error: FrameError::TooLarge { .. },
            ..
        }
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
        let _ = a.send(2, &"lost".to_string());
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
    let _ = a.send(2, &"x".into());
    let _ = b.send(1, &"y".into());
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
    a.send(2, &"first".to_string()).unwrap();
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
        let _ = a.send(2, &"again".to_string());
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
