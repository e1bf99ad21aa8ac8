//! `raftlab client`: talks to a cluster of `raftlab node` processes, like
//! redis-cli.
//!
//! It dials every node of `--peers` at once over TCP and sends its one
//! request ([`ClientRequest`]) to the first that proves itself: any node
//! of the majority answers, a follower forwarding it to the leader, so a
//! node that accepts connections but never answers (stopped with SIGSTOP,
//! hung) costs nothing while another answers. A follower that cannot
//! forward says `NotLeader` with the leader it knows, which the client
//! tries next; a node that does not answer in time is left for another;
//! it gives up at the timeout. A write is retried with the same
//! `(session, seq)`, so it is applied at most once; the session id comes from the clock and the
//! process id, so a new client is never taken for an earlier one whose
//! session the store still remembers. `get` is linearizable: the leader
//! serves it through ReadIndex.
//!
//! Output: `get` prints the value alone on stdout (an absent key prints
//! nothing there and `(nil)` on stderr); `put`/`delete` print `OK`; `cas`
//! prints `true` when it swapped, `false` when the key held another value;
//! `status` prints one line per node. Exit 0 on an answer, 1 when the
//! cluster is unavailable or the timeout passed, 2 on bad arguments.
//!
//! Every connection first proves the cluster's secret (see
//! [`crate::net::auth`]), and the node proves it back, so the client
//! never believes an answer from whoever else listens on a port. The
//! secret comes from `--secret-file FILE`, or from `DIR/cluster.secret`
//! under the nodes' `--data-dir DIR` (the nodes create it there).
//! `--timeout` bounds the whole command: connecting, the handshake and
//! every read share one deadline, however slowly a node trickles bytes.
//!
//! Membership: `add N` makes node N (started with `raftlab node --id N
//! --join`) a learner, `promote N` a voter, `remove N` takes it out. The
//! request goes to the leader like a write and is answered once the
//! configuration entry commits, with `OK: node 4 added as a learner
//! (entry 17): voters 1 2 3, learners 4`. A refusal prints the leader's
//! reason and exits 1 (already a member, the last voter, a node that never
//! introduced itself…); one that may pass soon (a learner still catching
//! up, another change in flight) is retried until the timeout. If the
//! leader loses its leadership before the entry commits, the change may
//! or may not have been made: the client asks the new leader for its
//! configuration, prints `OK: … (committed)` if the change is in it and
//! asks again if not. `status` also shows each node's view of the
//! configuration (`voters=… learners=… knows=…`, `knows`: the ids whose
//! address it has).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::args::{Peers, parse_duration_us, parse_peers};
use crate::kv::{ClientId, Op, OpResult};
pub(crate) use crate::net::exchange;
use crate::net::{
    ChangeReply, ClientReply, ClientRequest, ClientResponse, ClusterKey, Dialer, MembersStatus,
    NO_ANSWER, NodeStatus, Wire, secret,
};
use crate::raft::{ConfChange, Index, Membership, NodeId};
use crate::runtime::MAX_NODES;

/// Longest wait for one node's answer, once it proved itself, before
/// trying another.
const ATTEMPT: Duration = Duration::from_secs(1);
/// Pause before trying again when no node knows a leader.
const BACKOFF: Duration = Duration::from_millis(100);
/// What a command that timed out says when it has nothing better.
const NOTHING_TRIED: &str = "no node was tried";

/// Arguments of `raftlab client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The cluster's nodes, as ID=IP:PORT pairs separated by commas (the
    /// same list the nodes were started with).
    #[arg(long, global = true, value_parser = parse_peers, value_name = "ID=IP:PORT,…")]
    peers: Option<Peers>,
    /// Give up after this long, e.g. 500ms, 5s: it bounds the whole
    /// command.
    #[arg(long, global = true, default_value = "5s", value_parser = parse_duration_us)]
    timeout: u64,
    /// The file holding the cluster's secret (the nodes' --secret-file).
    #[arg(long, global = true, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// The nodes' data root: the secret is read from DIR/cluster.secret,
    /// which the nodes create there (ignored with --secret-file).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The cluster's id (the nodes' --cluster-id).
    #[arg(long, global = true, default_value_t = 1)]
    cluster_id: u64,
    #[command(subcommand)]
    op: ClientOp,
}

/// What `raftlab client` asks.
#[derive(Debug, Subcommand)]
enum ClientOp {
    /// Set KEY to VALUE; prints OK.
    Put {
        /// The key.
        key: String,
        /// The value; `-` reads it from standard input, verbatim (for
        /// values longer than a command line allows).
        value: String,
    },
    /// Print KEY's value (linearizable); an absent key prints nothing on
    /// stdout and (nil) on stderr.
    Get {
        /// The key.
        key: String,
    },
    /// Remove KEY; prints OK.
    Delete {
        /// The key.
        key: String,
    },
    /// Set KEY to NEW if it holds OLD; prints true if it swapped, false if not.
    Cas {
        /// The key.
        key: String,
        /// The value it must hold.
        old: String,
        /// The value to set.
        new: String,
    },
    /// Print each node's role, term, leader, commit and applied index,
    /// and the voters and learners it knows.
    Status,
    /// Add node ID (started with `raftlab node --id ID --join …`) as a
    /// learner: it receives the log but does not vote yet.
    Add {
        /// The new node's id (1 to 9).
        id: NodeId,
    },
    /// Make learner ID a voter (once it has caught up).
    Promote {
        /// The learner's id.
        id: NodeId,
    },
    /// Take node ID (a voter, even the leader, or a learner) out of the
    /// cluster; its process keeps running, outside.
    Remove {
        /// The node's id.
        id: NodeId,
    },
}

/// Runs `raftlab client`.
pub fn run(args: ClientArgs) -> ExitCode {
    let Some(peers) = args.peers else {
        eprintln!("raftlab client: --peers is required, e.g. --peers 1=127.0.0.1:7001");
        return ExitCode::from(2);
    };
    let key = match client_key(args.secret_file, args.data_dir, args.cluster_id) {
        Ok(key) => key,
        Err(e) => {
            eprintln!("raftlab client: {e}");
            return ExitCode::from(2);
        }
    };
    let key = &Arc::new(key);
    let timeout = Duration::from_micros(args.timeout);
    let op = match args.op {
        ClientOp::Status => return status(&peers, timeout, key),
        ClientOp::Add { id } => return change(&peers, ConfChange::AddLearner(id), timeout, key),
        ClientOp::Promote { id } => return change(&peers, ConfChange::Promote(id), timeout, key),
        ClientOp::Remove { id } => return change(&peers, ConfChange::Remove(id), timeout, key),
        ClientOp::Put { key, value } if value == "-" => match read_stdin() {
            Ok(value) => Op::Put { key, value },
            Err(e) => {
                eprintln!("raftlab client: cannot read the value from standard input: {e}");
                return ExitCode::from(2);
            }
        },
        ClientOp::Put { key, value } => Op::Put { key, value },
        ClientOp::Get { key } => Op::Get { key },
        ClientOp::Delete { key } => Op::Delete { key },
        ClientOp::Cas { key, old, new } => Op::Cas { key, old, new },
    };
    let is_write = op.is_write();
    match submit(&peers, op, timeout, key) {
        Ok(result) => {
            print_result(&result);
            ExitCode::SUCCESS
        }
        Err(last) => {
            let unknown = if is_write {
                " (the write may or may not have been applied)"
            } else {
                ""
            };
            eprintln!(
                "raftlab client: no answer within {}{unknown}: {last}",
                humantime(timeout)
            );
            ExitCode::from(1)
        }
    }
}

/// All of standard input, as text.
fn read_stdin() -> Result<String, String> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
        .map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| format!("it is not UTF-8 text ({e})"))
}

fn print_result(result: &OpResult) {
    let mut out = std::io::stdout().lock();
    let _ = match result {
        OpResult::Done => writeln!(out, "OK"),
        OpResult::Value(Some(value)) => writeln!(out, "{value}"),
        OpResult::Value(None) => {
            eprintln!("(nil)");
            Ok(())
        }
        OpResult::Swapped(swapped) => writeln!(out, "{swapped}"),
    };
}

/// Runs `op` against the cluster until a node answers it or `timeout`
/// passes; `Err` carries the last problem seen. Every node is dialed at
/// once and the request goes to the first that proves itself (the leader
/// a node named, when its connection is open): any node of the majority
/// answers, a follower forwarding to the leader, so a node that accepts
/// connections and never answers (stopped, hung) costs nothing while
/// another answers.
fn submit(
    peers: &Peers,
    op: Op,
    timeout: Duration,
    key: &Arc<ClusterKey>,
) -> Result<OpResult, String> {
    let deadline = Instant::now() + timeout;
    let session = session_id();
    let request = Wire::Request(ClientRequest::Op {
        session,
        seq: 1,
        op,
    });
    let mut dialer = Dialer::new(peers, key.clone(), deadline);
    let mut hint: Option<NodeId> = None;
    let mut last = NOTHING_TRIED.to_string();
    loop {
        if Instant::now() >= deadline {
            return Err(last);
        }
        let Some((target, mut conn)) = dialer.take(hint.take()) else {
            // No node could be reached (or time is up): say why, pause,
            // and dial them all again.
            let failures = dialer.failures();
            if !failures.is_empty() {
                failed(&mut last, Instant::now() >= deadline, || failures);
            }
            pause(BACKOFF, deadline);
            if Instant::now() < deadline {
                dialer.dial_all();
            }
            continue;
        };
        let attempt = deadline.min(Instant::now() + ATTEMPT);
        let answer = conn.ask(&request, attempt);
        let wait = match answer {
            Ok(ClientResponse::Op {
                session: s,
                seq: 1,
                reply,
            }) if s == session => {
                dialer.give_back(target, conn);
                match reply {
                    ClientReply::Ok(result) => return Ok(result),
                    ClientReply::NotLeader { leader: Some(l) }
                        if l != target && peers.contains_key(&l) =>
                    {
                        last = format!("node {target} is not the leader");
                        hint = Some(l);
                        dialer.dial(l);
                        // At once if its connection is open; else give it
                        // a moment to open rather than ask others again.
                        if dialer.is_open(l) {
                            Duration::ZERO
                        } else {
                            BACKOFF
                        }
                    }
                    ClientReply::NotLeader { leader: Some(l) } if l != target => {
                        last = format!(
                            "node {target} says the leader is node {l}, which is not in --peers"
                        );
                        BACKOFF
                    }
                    ClientReply::NotLeader { .. } => {
                        last = format!("node {target} knows no leader");
                        BACKOFF
                    }
                    ClientReply::Error(e) => {
                        last = format!("node {target} refused: {e}");
                        BACKOFF
                    }
                }
            }
            Ok(other) => {
                last = format!("node {target} sent an unexpected answer: {other:?}");
                dialer.dial(target);
                BACKOFF
            }
            Err(e) => {
                // Broken, or silent for a whole attempt: a new connection
                // is dialed while the others are tried. Cut short by the
                // command's own timeout, the wait says nothing new.
                let cut = attempt >= deadline && e == NO_ANSWER;
                failed(&mut last, cut, || {
                    let addr = peers
                        .get(&target)
                        .map_or(String::new(), |a| format!(" ({a})"));
                    format!("node {target}{addr}: {e}")
                });
                dialer.dial(target);
                Duration::ZERO
            }
        };
        pause(wait, deadline);
    }
}

/// Notes why an exchange failed as the command's `last` reason, unless
/// it only ran into the command's own timeout (`cut`): such a wait says
/// less than what came before it (a node that named a leader outside
/// --peers, say), so that earlier reason stays.
fn failed(last: &mut String, cut: bool, reason: impl FnOnce() -> String) {
    if !cut || last == NOTHING_TRIED {
        *last = reason();
    }
}

/// Sleeps `wait`, but not past `deadline`.
fn pause(wait: Duration, deadline: Instant) {
    std::thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())));
}

/// `add`/`promote`/`remove`: asks the leader for `change` and waits for
/// it to commit.
fn change(peers: &Peers, change: ConfChange, timeout: Duration, key: &ClusterKey) -> ExitCode {
    let id = change.node();
    if !(1..=MAX_NODES as NodeId).contains(&id) {
        eprintln!("raftlab client: node ids are 1 to {MAX_NODES}, not {id}");
        return ExitCode::from(2);
    }
    match ask_change(peers, change, timeout, key) {
        Ok((index, membership)) => {
            let what = match change {
                ConfChange::AddLearner(_) => "added as a learner",
                ConfChange::Promote(_) => "promoted to voter",
                ConfChange::Remove(_) => "removed",
            };
            let entry = index.map_or("committed".to_string(), |i| format!("entry {i}"));
            println!("OK: node {id} {what} ({entry}): {membership}");
            ExitCode::SUCCESS
        }
        Err(ChangeError::Refused(why)) => {
            eprintln!("raftlab client: refused: {why}");
            ExitCode::from(1)
        }
        Err(ChangeError::NoAnswer(last)) => {
            eprintln!(
                "raftlab client: no answer within {} (the change may or may not have been made): {last}",
                humantime(timeout)
            );
            ExitCode::from(1)
        }
    }
}

/// Why a membership change was not made (as far as the client knows).
enum ChangeError {
    /// The leader refused it for good.
    Refused(String),
    /// No leader answered in time; the last problem seen.
    NoAnswer(String),
}

/// Sends `change` to the leader (following hints, retrying what may pass)
/// until it commits, is refused, or `timeout` passes. The index is that of
/// the configuration entry, when the leader that made it answered.
fn ask_change(
    peers: &Peers,
    change: ConfChange,
    timeout: Duration,
    key: &ClusterKey,
) -> Result<(Option<Index>, Membership), ChangeError> {
    let deadline = Instant::now() + timeout;
    let request = Wire::Request(ClientRequest::Change(change));
    let ids: Vec<NodeId> = peers.keys().copied().collect();
    let mut next = 0;
    let mut hint: Option<NodeId> = None;
    let mut last = NOTHING_TRIED.to_string();
    // A leader lost its leadership with the change in flight: it may have
    // taken effect, so look before asking again.
    let mut uncertain = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ChangeError::NoAnswer(last));
        }
        if uncertain {
            match in_effect(peers, change, left.min(ATTEMPT), key) {
                Some(Ok(membership)) => return Ok((None, membership)),
                Some(Err(())) => uncertain = false,
                None => {
                    std::thread::sleep(BACKOFF.min(left));
                    continue;
                }
            }
        }
        let target = hint.take().unwrap_or_else(|| {
            next += 1;
            ids[next % ids.len()]
        });
        let Some(&addr) = peers.get(&target) else {
            continue;
        };
        // A change waits for its entry to commit: give it all the time left.
        let pause = match exchange(addr, &request, left, key) {
            Ok(ClientResponse::Change(reply)) => match reply {
                ChangeReply::Done { index, membership } => return Ok((Some(index), membership)),
                ChangeReply::Unknown(why) => {
                    last = format!("node {target}: {why}");
                    uncertain = true;
                    BACKOFF
                }
                ChangeReply::Refused(why) => return Err(ChangeError::Refused(why)),
                ChangeReply::NotLeader { leader: Some(l) } if l != target => {
                    if peers.contains_key(&l) {
                        hint = Some(l);
                        last = format!("node {target} is not the leader");
                        Duration::ZERO
                    } else {
                        last = format!("the leader is node {l}, which is not in --peers");
                        BACKOFF
                    }
                }
                ChangeReply::NotLeader { .. } => {
                    last = format!("node {target} knows no leader");
                    BACKOFF
                }
                ChangeReply::Busy(why) => {
                    last = format!("node {target}: {why}");
                    hint = Some(target);
                    BACKOFF
                }
            },
            Ok(other) => {
                last = format!("node {target} sent an unexpected answer: {other:?}");
                BACKOFF
            }
            Err(e) => {
                // Given all the time left, a wait that ran out ran into the
                // command's own timeout.
                failed(&mut last, e == NO_ANSWER, || {
                    format!("node {target} ({addr}): {e}")
                });
                if next.is_multiple_of(ids.len()) {
                    BACKOFF
                } else {
                    Duration::ZERO
                }
            }
        };
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// Whether `change` is in the configuration a leader has committed:
/// `Some(Ok(it))` if so, `Some(Err(()))` if a leader's committed
/// configuration lacks it, `None` if no leader says (yet).
fn in_effect(
    peers: &Peers,
    change: ConfChange,
    wait: Duration,
    key: &ClusterKey,
) -> Option<Result<Membership, ()>> {
    let request = Wire::Request(ClientRequest::Members);
    for &addr in peers.values() {
        let Ok(ClientResponse::Members(m)) = exchange(addr, &request, wait, key) else {
            continue;
        };
        if m.leader != Some(m.id) || m.pending {
            continue;
        }
        let c = m.membership;
        let done = match change {
            ConfChange::AddLearner(id) => c.is_learner(id),
            ConfChange::Promote(id) => c.is_voter(id),
            ConfChange::Remove(id) => !c.contains(id),
        };
        return Some(if done { Ok(c) } else { Err(()) });
    }
    None
}

/// The client's key: from `--secret-file`, or the nodes' data root.
pub(crate) fn client_key(
    file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    cluster: u64,
) -> Result<ClusterKey, String> {
    let path = match (file, data_dir) {
        (Some(file), _) => file,
        (None, Some(dir)) => {
            let path = secret::default_path(&dir);
            if !path.exists() {
                return Err(format!(
                    "no cluster secret at {}: start the nodes with --data-dir {} first (they \
                     create it), or pass --secret-file FILE",
                    path.display(),
                    dir.display()
                ));
            }
            path
        }
        (None, None) => {
            return Err(
                "which cluster? Every connection proves the cluster's secret: pass \
                 --data-dir DIR (the nodes' data root, which holds cluster.secret) or \
                 --secret-file FILE (the nodes' --secret-file)"
                    .into(),
            );
        }
    };
    secret::load(&path, cluster).map_err(|e| e.to_string())
}

/// `raftlab client status`: asks every node for its state, all at once,
/// within `timeout` in all.
fn status(peers: &Peers, timeout: Duration, key: &ClusterKey) -> ExitCode {
    let deadline = Instant::now() + timeout;
    let lines: Vec<(bool, String)> = std::thread::scope(|scope| {
        let asks: Vec<_> = peers
            .iter()
            .map(|(&id, &addr)| {
                scope.spawn(move || {
                    let left = || deadline.saturating_duration_since(Instant::now());
                    match exchange(addr, &Wire::Request(ClientRequest::Status), left(), key) {
                        Ok(ClientResponse::Status(s)) => {
                            let members = match exchange(
                                addr,
                                &Wire::Request(ClientRequest::Members),
                                left(),
                                key,
                            ) {
                                Ok(ClientResponse::Members(m)) => members_words(&m),
                                _ => String::new(),
                            };
                            (true, format!("{}{members}", status_line(addr, &s)))
                        }
                        Ok(other) => (false, format!("{id} {addr} unexpected answer: {other:?}")),
                        Err(e) => (false, format!("{id} {addr} unreachable: {e}")),
                    }
                })
            })
            .collect();
        asks.into_iter()
            .map(|ask| {
                ask.join()
                    .unwrap_or_else(|_| (false, "a status request failed".to_string()))
            })
            .collect()
    });
    let mut answered = 0;
    for (ok, line) in lines {
        answered += usize::from(ok);
        println!("{line}");
    }
    if answered == 0 {
        eprintln!("raftlab client: no node answered");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `ID ADDR ROLE term=T leader=L commit=C applied=A`.
fn status_line(addr: SocketAddr, s: &NodeStatus) -> String {
    let leader = s.leader.map_or("none".to_string(), |l| l.to_string());
    format!(
        "{} {addr} {} term={} leader={leader} commit={} applied={}",
        s.id, s.role, s.term, s.commit, s.applied
    )
}

/// ` voters=1,2,3 learners=4 knows=1,2,3,4` (`-` for none; `knows`: the
/// nodes whose address it knows), ` (pending)` while the configuration's
/// entry is not committed.
fn members_words(m: &MembersStatus) -> String {
    let list = |ids: Vec<NodeId>| {
        if ids.is_empty() {
            "-".to_string()
        } else {
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    let pending = if m.pending { " (pending)" } else { "" };
    format!(
        " voters={} learners={} knows={}{pending}",
        list(m.membership.voters.to_vec()),
        list(m.membership.learners.to_vec()),
        list(m.addresses.keys().copied().collect())
    )
}

/// A session id unique to this invocation: the wall clock in ns mixed
/// with the process id (two clients started in the same nanosecond by the
/// same process cannot happen).
fn session_id() -> ClientId {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let pid = u64::from(std::process::id());
    // splitmix64 of both, so ids spread over the whole range.
    let mut z = nanos ^ pid.rotate_left(40);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `5s`, `500ms`.
fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests;
