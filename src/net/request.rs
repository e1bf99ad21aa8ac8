//! A client's requests to nodes: connect, prove the cluster secret, send,
//! and wait for the response, all within one deadline.
//!
//! [`exchange`] asks one node one thing: `raftlab client status` and a
//! node asking its peers before its first start use it, and so can a test
//! or a tool that holds the cluster's key. [`Dialer`] opens connections
//! to every node at once, each on its own thread, and hands them out as
//! their handshakes finish: a node that accepts connections but never
//! answers — stopped with SIGSTOP, or hung — then costs a client nothing
//! while another node answers, where trying the nodes in turn cost it a
//! whole attempt's wait.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::auth::{self, AuthError, Opener, Sealer, TAG_LEN};
use super::frame::{self, DEFAULT_MAX_FRAME, FrameError};
use super::{Claim, ClientResponse, ClusterKey, Wire};
use crate::raft::NodeId;

/// What a request whose wait ran out says.
pub const NO_ANSWER: &str = "no answer in time";

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
        AuthError::Frame(FrameError::Io(e)) if is_timeout(&e) => NO_ANSWER.into(),
        other => format!("the node at {addr}: {other}"),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// An authenticated client connection to one node: requests one at a
/// time, each answered by one response.
pub struct Connection {
    stream: TcpStream,
    addr: SocketAddr,
    sealer: Sealer,
    opener: Opener,
}

impl Connection {
    /// Connects to `addr` and proves the cluster's secret, by `deadline`.
    pub fn open(
        addr: SocketAddr,
        key: &ClusterKey,
        deadline: Instant,
    ) -> Result<Connection, String> {
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Err(NO_ANSWER.into());
        }
        let stream = TcpStream::connect_timeout(&addr, CONNECT.min(wait))
            .map_err(|e| format!("cannot connect: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("connection error: {e}"))?;
        let (sealer, opener) = auth::connect(&stream, key, Claim::Client, deadline)
            .map_err(|e| auth_words(addr, e))?;
        Ok(Connection {
            stream,
            addr,
            sealer,
            opener,
        })
    }

    /// Sends `request` and waits for its response until `deadline`.
    pub fn ask(&mut self, request: &Wire, deadline: Instant) -> Result<ClientResponse, String> {
        let payload =
            frame::encode_payload(request, DEFAULT_MAX_FRAME).map_err(|e| e.to_string())?;
        let bytes = self
            .sealer
            .seal(&payload, DEFAULT_MAX_FRAME)
            .map_err(|e| e.to_string())?;
        let mut io = auth::until(&self.stream, deadline);
        let timed_out = |e: FrameError| match e {
            FrameError::Io(e) if is_timeout(&e) => NO_ANSWER.to_string(),
            e => e.to_string(),
        };
        io.write_all(&bytes)
            .map_err(|e| timed_out(FrameError::Io(e)))?;
        loop {
            let framed =
                frame::read_payload(&mut io, DEFAULT_MAX_FRAME + TAG_LEN).map_err(timed_out)?;
            let payload = self
                .opener
                .open(framed)
                .map_err(|e| format!("the node at {}: {e}", self.addr))?;
            // Anything else is not for this client; keep waiting.
            if let Ok(Wire::Response(response)) = frame::decode::<Wire>(&payload) {
                return Ok(response);
            }
        }
    }
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
    Connection::open(addr, key, deadline)?.ask(request, deadline)
}

/// Connections to a cluster's nodes, opened all at once on threads of
/// their own and handed out as their handshakes finish, until a deadline.
/// A thread still waiting on a node that never answers is left behind:
/// it ends at the deadline, or with the process.
pub struct Dialer {
    addrs: BTreeMap<NodeId, SocketAddr>,
    key: Arc<ClusterKey>,
    deadline: Instant,
    opened: Receiver<(NodeId, Result<Connection, String>)>,
    tx: Sender<(NodeId, Result<Connection, String>)>,
    /// Open connections, in the order they opened.
    ready: Vec<(NodeId, Connection)>,
    /// Nodes being dialed.
    dialing: BTreeSet<NodeId>,
    /// Why the last dial of a node failed.
    failed: BTreeMap<NodeId, String>,
}

impl Dialer {
    /// Starts dialing every node of `addrs`, each connection to be open by
    /// `deadline`.
    pub fn new(
        addrs: &BTreeMap<NodeId, SocketAddr>,
        key: Arc<ClusterKey>,
        deadline: Instant,
    ) -> Dialer {
        let (tx, opened) = unbounded();
        let mut dialer = Dialer {
            addrs: addrs.clone(),
            key,
            deadline,
            opened,
            tx,
            ready: Vec::new(),
            dialing: BTreeSet::new(),
            failed: BTreeMap::new(),
        };
        for &id in addrs.keys() {
            dialer.dial(id);
        }
        dialer
    }

    /// Dials node `id` (again), unless it is being dialed or open.
    pub fn dial(&mut self, id: NodeId) {
        let Some(&addr) = self.addrs.get(&id) else {
            return;
        };
        if self.dialing.contains(&id) || self.ready.iter().any(|(r, _)| *r == id) {
            return;
        }
        let (key, deadline, tx) = (self.key.clone(), self.deadline, self.tx.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("raftlab-dial-{id}"))
            .spawn(move || {
                let _ = tx.send((id, Connection::open(addr, &key, deadline)));
            });
        match spawned {
            Ok(_) => {
                self.dialing.insert(id);
            }
            Err(e) => {
                self.failed
                    .insert(id, format!("cannot start a thread: {e}"));
            }
        }
    }

    /// Dials every node that is neither open nor being dialed.
    pub fn dial_all(&mut self) {
        let ids: Vec<NodeId> = self.addrs.keys().copied().collect();
        for id in ids {
            self.dial(id);
        }
    }

    fn file(&mut self, (id, result): (NodeId, Result<Connection, String>)) {
        self.dialing.remove(&id);
        match result {
            Ok(conn) => {
                self.failed.remove(&id);
                self.ready.push((id, conn));
            }
            Err(e) => {
                self.failed.insert(id, e);
            }
        }
    }

    /// An open connection: to `prefer` if it is open, else the one that
    /// has waited longest (connections handed back go last, so the nodes
    /// that answer take turns). Waits for one to open until the deadline;
    /// `None` when none will (every dial failed: see
    /// [`failures`](Self::failures)) or time is up.
    pub fn take(&mut self, prefer: Option<NodeId>) -> Option<(NodeId, Connection)> {
        loop {
            while let Ok(opened) = self.opened.try_recv() {
                self.file(opened);
            }
            let preferred = prefer.and_then(|p| self.ready.iter().position(|(id, _)| *id == p));
            if let Some(i) = preferred.or((!self.ready.is_empty()).then_some(0)) {
                return Some(self.ready.remove(i));
            }
            if self.dialing.is_empty() {
                return None;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.opened.recv_timeout(left) {
                Ok(opened) => self.file(opened),
                Err(_) => return None,
            }
        }
    }

    /// Whether a connection to node `id` is open (and not taken).
    pub fn is_open(&mut self, id: NodeId) -> bool {
        while let Ok(opened) = self.opened.try_recv() {
            self.file(opened);
        }
        self.ready.iter().any(|(r, _)| *r == id)
    }

    /// Hands a connection back, for the next request.
    pub fn give_back(&mut self, id: NodeId, conn: Connection) {
        self.ready.push((id, conn));
    }

    /// Why the nodes not open are not, as `node 2 (ADDR): why; …`: the
    /// failure of a node's last dial, or that it has not proved itself
    /// yet.
    pub fn failures(&self) -> String {
        self.addrs
            .iter()
            .filter_map(|(id, addr)| {
                let why = match self.failed.get(id) {
                    Some(why) => why.as_str(),
                    None if self.dialing.contains(id) => NO_ANSWER,
                    None => return None,
                };
                Some(format!("node {id} ({addr}): {why}"))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::net::{TcpAuth, TcpConfig, TcpTransport, loopback};

    /// A node that accepts connections but never says a word (as one
    /// stopped with SIGSTOP: the kernel still accepts for it) and one
    /// that answers: the dialer hands out the second, even when asked to
    /// prefer the first, and never waits for the first.
    #[test]
    fn a_node_that_never_answers_is_passed_over() {
        let key = Arc::new(ClusterKey::new(b"a secret of sixteen bytes", 1).unwrap());
        let silent = TcpListener::bind(loopback(0)).unwrap();
        let config = TcpConfig {
            auth: Some(TcpAuth {
                key: key.clone(),
                node: 2,
            }),
            ..TcpConfig::default()
        };
        let (node, _events) = TcpTransport::<Wire>::bind(loopback(0), config).unwrap();
        let addrs = BTreeMap::from([(1, silent.local_addr().unwrap()), (2, node.local_addr())]);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut dialer = Dialer::new(&addrs, key, deadline);
        let (id, conn) = dialer.take(Some(1)).expect("a connection");
        assert_eq!(id, 2);
        assert!(!dialer.is_open(1));
        dialer.give_back(id, conn);
        assert!(dialer.is_open(2));
        let (id, _) = dialer.take(Some(1)).expect("a connection");
        assert_eq!(id, 2);
        node.shutdown();
    }

    /// With every node refusing connections, the dialer says why for each
    /// and hands out nothing; dialing again tries them again.
    #[test]
    fn nodes_that_refuse_are_named_with_why() {
        let key = Arc::new(ClusterKey::new(b"a secret of sixteen bytes", 1).unwrap());
        let gone = TcpListener::bind(loopback(0))
            .unwrap()
            .local_addr()
            .unwrap();
        let addrs = BTreeMap::from([(3, gone)]);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut dialer = Dialer::new(&addrs, key, deadline);
        assert!(dialer.take(None).is_none());
        let failures = dialer.failures();
        assert!(
            failures.starts_with(&format!("node 3 ({gone}): cannot connect")),
            "{failures}"
        );
        dialer.dial_all();
        assert!(dialer.take(None).is_none());
    }
}
