//! `raftlab node`: one Raft node as its own process.
//!
//! The node listens on its own address from `--peers`, talks to the other
//! nodes over TCP, keeps its log, votes and snapshots in files under
//! `DIR/node-ID`, and answers clients (`raftlab client`) on the same port.
//! It logs what it does to stderr and runs until it is stopped. There is no
//! shutdown ritual: whatever it acknowledged is already synced to disk, so
//! Ctrl-C, SIGTERM and `kill -9` are all safe — the last is a crash, which
//! Raft tolerates, and a restart on the same directory recovers.
//!
//! Growing the cluster: start the new node with `--join` and a `--peers`
//! that names it and at least one member, e.g. `raftlab node --id 4
//! --join --peers 1=…,2=…,3=…,4=127.0.0.1:7004 --data-dir D`. Its first
//! configuration leaves it out, so it never campaigns; it introduces
//! itself to the peers (a hello frame, repeated every few seconds and
//! sent first on every connection) and waits. `raftlab client add 4`
//! then makes it a learner (the leader sends it the log or a snapshot)
//! and `raftlab client promote 4` a voter. Every node writes the
//! addresses it learns to `DIR/node-ID/peers`, so a node restarted with
//! its original `--peers` still reaches node 4. A node removed with
//! `raftlab client remove` keeps running, out of the configuration, and
//! logs that it was removed. Before its first start a node asks the
//! peers for their configuration, and refuses to start with `--join` if
//! its id is already a member, or without it if its id is not.
//!
//! Trust: every connection, from a peer or a client, must prove the
//! cluster's secret before anything it sends is believed (see
//! [`crate::net::auth`]). The secret is `--secret-file FILE`, or else
//! `DIR/cluster.secret` under `--data-dir`, created by the first node
//! started on that root (so nodes sharing a root agree with no effort).
//! A node that would listen on an address other processes on other
//! machines can reach (not loopback) needs an explicit `--secret-file`.
//! `--advertise ADDR` is the address its hellos tell others to use, when
//! it is reached through a proxy, a NAT or a port mapping; an address an
//! operator gave in `--peers` is never replaced by what a hello says.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::args::{Peers, parse_duration_us, parse_peers};
use super::client::exchange;
use super::damage::{DamageWatch, node_advice};
use crate::net::{ClientRequest, ClientResponse, ClusterKey, MembersStatus, Wire, secret};
use crate::raft::NodeId;
use crate::runtime::{
    AddressBook, BOOK_FILE, Cluster, ClusterConfig, MemberOptions, NodeState, NodeStorage,
};
use crate::storage::{FileStorage, node_dir};

/// How often a node says hello to its peers again.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(2);
/// Longest wait for each peer's answer when a node that never ran asks
/// whether its id is a member.
const JOIN_ASK: Duration = Duration::from_millis(700);

/// Arguments of `raftlab node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// This node's id: one of the ids in --peers.
    #[arg(long)]
    id: NodeId,
    /// Every node of the cluster, this one included, as ID=IP:PORT pairs
    /// separated by commas (ids 1 to 9). This node listens on its own
    /// address; clients use the same addresses. Without --join, these are
    /// the cluster's first voters.
    #[arg(long, value_parser = parse_peers, value_name = "ID=IP:PORT,…")]
    peers: Peers,
    /// Join a running cluster as a new node: start outside its
    /// configuration and wait for `raftlab client add ID`.
    #[arg(long)]
    join: bool,
    /// Directory of the node's data; it keeps it in DIR/node-ID.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// Cluster id, written with the data: a node refuses a directory of
    /// another cluster, and a peer or client of another cluster.
    #[arg(long, default_value_t = 1)]
    cluster_id: u64,
    /// The file holding the cluster's secret (at least 16 bytes, readable
    /// by its owner only), the same for every node and client. Default:
    /// DIR/cluster.secret under --data-dir, created if absent. Required
    /// to listen on an address that is not loopback.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// The address other nodes should use to reach this one, told in its
    /// hellos (behind a proxy, a NAT or a port mapping). Default: its own
    /// address in --peers. Nodes that have an address for it in their
    /// --peers keep using that one.
    #[arg(long, value_name = "IP:PORT")]
    advertise: Option<SocketAddr>,
    /// Wall-clock length of one Raft tick (10ms: elections in 150–300 ms,
    /// the Raft paper's pace).
    #[arg(long, default_value = "10ms", value_parser = parse_duration_us)]
    tick: u64,
    /// Seed of the node's election timeouts (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Log only errors.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    extensions: super::args::ExtensionFlags,
}

/// Runs `raftlab node` until the process is stopped: exit 2 on bad input
/// (an id not in --peers, a port in use, an unusable data directory, a
/// `--join` with an id the cluster already has), 1 if the node stops on a
/// storage failure.
pub fn run(args: NodeArgs) -> ExitCode {
    let bad = |message: String| {
        eprintln!("raftlab node: {message}");
        ExitCode::from(2)
    };
    let id = args.id;
    let Some(addr) = args.peers.get(&id).copied() else {
        let ids: Vec<String> = args.peers.keys().map(ToString::to_string).collect();
        return bad(format!(
            "node {id} is not in --peers (ids {})",
            ids.join(", ")
        ));
    };
    if !addr.ip().is_loopback() && args.secret_file.is_none() {
        return bad(format!(
            "node {id} would listen on {addr}, which other machines can reach: pass \
             --secret-file FILE (the same file on every node and client) so that only the \
             cluster can talk to it"
        ));
    }
    let (key, whence) = match &args.secret_file {
        Some(file) => match secret::load(file, args.cluster_id) {
            Ok(key) => (key, format!("from {}", file.display())),
            Err(e) => return bad(e.to_string()),
        },
        None => {
            let path = secret::default_path(&args.data_dir);
            match secret::load_or_create(&path, args.cluster_id) {
                Ok((key, true)) => (
                    key,
                    format!(
                        "created {} (mode 0600): nodes and clients on this --data-dir share it; \
                         elsewhere pass a copy with --secret-file",
                        path.display()
                    ),
                ),
                Ok((key, false)) => (key, format!("from {}", path.display())),
                Err(e) => return bad(e.to_string()),
            }
        }
    };
    let key = Arc::new(key);
    let tick = Duration::from_micros(args.tick);
    let data_dir = args.data_dir.clone();
    let cluster_id = args.cluster_id;
    let damage = DamageWatch::default();
    let config = ClusterConfig {
        nodes: args.peers.len(),
        seed: args.seed.unwrap_or_else(clock_seed),
        tick,
        extensions: args.extensions.extensions(),
        storage: damage.wrap(move |id| {
            let (storage, _recovery) = FileStorage::open(&data_dir, cluster_id, id)?;
            Ok(Box::new(storage) as NodeStorage)
        }),
        key: Some(key.clone()),
        advertise: args.advertise,
        ..ClusterConfig::default()
    };
    let book = node_dir(&args.data_dir, id).join(BOOK_FILE);
    if let Err(e) = check_first_start(id, args.join, &args.peers, &book, &key) {
        return bad(e);
    }
    let options = MemberOptions {
        join: args.join,
        book: Some(book),
    };
    let cluster = match Cluster::start_member(config, id, args.peers.clone(), options) {
        Ok(cluster) => cluster,
        Err(e) => match damage.node() {
            Some(id) => {
                return bad(format!(
                    "{e}\n{}",
                    node_advice(id, &args.peers, &args.data_dir)
                ));
            }
            None => return bad(e.to_string()),
        },
    };
    if !args.quiet {
        eprintln!(
            "raftlab node {id}: listening on {addr}, {} nodes known, data in {}{}",
            cluster.ids().len(),
            node_dir(&args.data_dir, id).display(),
            args.extensions
                .extensions()
                .badge()
                .map(|off| format!(" ({off}: the paper's Raft; every node should say the same)"))
                .unwrap_or_default()
        );
        eprintln!(
            "raftlab node {id}: cluster {} secret {whence} (fingerprint {}: the same on every node)",
            key.cluster(),
            key.fingerprint()
        );
        if let Some(advertised) = args.advertise {
            eprintln!("raftlab node {id}: tells peers to reach it at {advertised}");
        }
        if args.join {
            eprintln!(
                "raftlab node {id}: joining: waits to be added with `raftlab client --peers … add {id}`"
            );
        }
    }
    watch(&cluster, id, args.quiet)
}

/// Before a node's first start (no address book yet), asks the other
/// peers for their configuration: a `--join` node must not be in it
/// already (it would be a member with an empty log), and a node started
/// without `--join` must be in it (else it would campaign in a
/// configuration nobody else uses). Peers that do not answer are not
/// waited for long; with none answering, the node starts.
fn check_first_start(
    id: NodeId,
    join: bool,
    peers: &Peers,
    book: &std::path::Path,
    key: &ClusterKey,
) -> Result<(), String> {
    let known = AddressBook::load(book).map_err(|e| e.to_string())?;
    if !known.bootstrap.is_empty() {
        // A restart: the bootstrap configuration on disk decides.
        return Ok(());
    }
    // All at once: a peer that is slow to answer costs JOIN_ASK, not
    // JOIN_ASK per peer.
    let answers: Vec<(NodeId, MembersStatus)> = std::thread::scope(|scope| {
        let asks: Vec<_> = peers
            .iter()
            .filter(|(p, _)| **p != id)
            .map(|(&peer, &addr)| {
                scope.spawn(move || {
                    match exchange(addr, &Wire::Request(ClientRequest::Members), JOIN_ASK, key) {
                        Ok(ClientResponse::Members(m)) => Some((peer, m)),
                        _ => None,
                    }
                })
            })
            .collect();
        asks.into_iter()
            .filter_map(|ask| ask.join().ok().flatten())
            .collect()
    });
    for (peer, m) in answers {
        if join && m.membership.contains(id) {
            return Err(format!(
                "node {id} is already a member of the cluster ({}, says node {peer}): \
                 --join is for a new id; restart node {id} without --join on its own data \
                 directory, or remove it first (`raftlab client remove {id}`)",
                m.membership
            ));
        }
        if !join && !m.membership.contains(id) {
            return Err(format!(
                "node {id} is not a member of the running cluster ({}, says node {peer}): \
                 start a new node with --join, then add it with `raftlab client add {id}`",
                m.membership
            ));
        }
    }
    Ok(())
}

/// Logs the node's events until its thread stops (it only does on a
/// storage failure; otherwise the process is stopped from outside).
fn watch(cluster: &Cluster, id: NodeId, quiet: bool) -> ExitCode {
    let mut watch = cluster.watch();
    // Events are in time order, and a repeat folds into an earlier line
    // that moves to the end with its new time (`×N` on the dashboard): so
    // what is new is what is later than the last line printed, or at its
    // time but not printed yet. Each repeat is printed when it happens.
    let mut printed_until = 0u64;
    let mut printed_at_that_time: Vec<String> = Vec::new();
    let mut announced = std::time::Instant::now();
    loop {
        if announced.elapsed() >= ANNOUNCE_EVERY {
            cluster.announce();
            announced = std::time::Instant::now();
        }
        let view = watch.current();
        for event in view.events.iter() {
            let seen = event.at_us < printed_until
                || (event.at_us == printed_until && printed_at_that_time.contains(&event.text));
            if seen {
                continue;
            }
            if event.at_us > printed_until {
                printed_until = event.at_us;
                printed_at_that_time.clear();
            }
            printed_at_that_time.push(event.text.clone());
            if !quiet && event.node.is_none_or(|n| n == id) {
                eprintln!("[{:>9.3}s] {}", event.at_us as f64 / 1e6, event.text);
            }
        }
        if !cluster.reap_crashed().is_empty() || cluster.node_state(id) == Ok(NodeState::Down) {
            let view = cluster.view();
            let reason = view
                .events
                .iter()
                .rev()
                .find(|e| e.node == Some(id))
                .map_or("it stopped".to_string(), |e| e.text.clone());
            eprintln!("raftlab node {id}: stopped: {reason}");
            return ExitCode::from(1);
        }
        let _ = watch.wait(Duration::from_secs(1));
    }
}

/// A seed from the wall clock, so two runs of a node differ.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
