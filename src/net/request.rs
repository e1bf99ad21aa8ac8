//! One request and its answer, as a client: connect, prove the cluster
//! secret, send, and wait for the response, all within one deadline.
//!
//! `raftlab client` and a node asking its peers before its first start
//! use it; so can a test or a tool that holds the cluster's key.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::auth::{self, AuthError, TAG_LEN};
use super::frame::{self, DEFAULT_MAX_FRAME, FrameError};
use super::{Claim, ClientResponse, ClusterKey, Wire};

/// Longest wait for a connection.
const CONNECT: Duration = Duration::from_millis(500);

/// What a failed handshake means to the person at the client.
fn auth_words(addr: SocketAddr, e: AuthError) -> String {
    match e {
        AuthError::Refused => format!(
            "the node at {addr} refused this client's proof: the client's secret differs from \
             the node's (pass the nodes' --secret-file, or their --data-dir root)"
        ),
        AuthError::WrongCluster { theirs, ours } => format!(
            "the node at {addr} belongs to cluster {theirs}, not {ours} (pass --cluster-id {theirs})"
        ),
        AuthError::Frame(FrameError::Io(e)) if is_timeout(&e) => "no answer in time".into(),
        other => format!("the node at {addr}: {other}"),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Sends `request` to `addr` and waits for the response; connecting, the
/// handshake and every read end within `wait` in all.
pub fn exchange(
    addr: SocketAddr,
    request: &Wire,
    wait: Duration,
    key: &ClusterKey,
) -> Result<ClientResponse, String> {
    let deadline = Instant::now() + wait;
    if wait.is_zero() {
        return Err("no answer in time".into());
    }
    let stream = TcpStream::connect_timeout(&addr, CONNECT.min(wait))
        .map_err(|e| format!("cannot connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("connection error: {e}"))?;
    let (mut sealer, mut opener) =
        auth::connect(&stream, key, Claim::Client, deadline).map_err(|e| auth_words(addr, e))?;
    let payload = frame::encode_payload(request, DEFAULT_MAX_FRAME).map_err(|e| e.to_string())?;
    let bytes = sealer
        .seal(&payload, DEFAULT_MAX_FRAME)
        .map_err(|e| e.to_string())?;
    let mut io = auth::until(&stream, deadline);
    let timed_out = |e: FrameError| match e {
        FrameError::Io(e) if is_timeout(&e) => "no answer in time".to_string(),
        e => e.to_string(),
    };
    io.write_all(&bytes)
        .map_err(|e| timed_out(FrameError::Io(e)))?;
    loop {
        let framed =
            frame::read_payload(&mut io, DEFAULT_MAX_FRAME + TAG_LEN).map_err(timed_out)?;
        let payload = opener
            .open(framed)
            .map_err(|e| format!("the node at {addr}: {e}"))?;
        // Anything else is not for this client; keep waiting.
        if let Ok(Wire::Response(response)) = frame::decode::<Wire>(&payload) {
            return Ok(response);
        }
    }
}
