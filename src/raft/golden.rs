//! Golden tests of the core: a few nodes driven by hand from a text script,
//! with every [`Ready`] they produce printed, and the whole transcript
//! compared with a snapshot file (insta), as toyDB's `testscripts/node` and
//! etcd's `testdata/*.txt` do. A behaviour change shows as a diff of the
//! exact messages, entries, hard states and commits, not as a loosened
//! bound. Regenerate on purpose with `INSTA_UPDATE=always` (or
//! `cargo insta review`).
//!
//! Scripts live in `src/raft/testdata/NAME.txt`, one behaviour each, its
//! intent in the first `#` lines. Commands, one per line (node ids are
//! 1..=N; `#` lines are echoed as they are):
//!
//! ```text
//! cluster 3 [prevote=off] [checkquorum=off] [entries=N] [chunk=BYTES] [bug=NAME]
//! campaign 1          # the node campaigns now (pre-vote first when on)
//! tick 1 [N]          # N ticks of one node (or `tick all N`)
//! propose 1 x=1       # a command, its bytes the text
//! read 1 7            # a ReadIndex read with id 7
//! transfer 1 2        # hand leadership from 1 to 2
//! compact 1           # snapshot node 1's applied state, compact its log
//! isolate 3           # cut every link of node 3
//! partition 1 2 / 3 4 # cut every link between the groups
//! heal                # mend every link
//! deliver             # deliver the messages sent so far, one round
//! stabilize           # deliver rounds until nothing is sent
//! status 1            # role, term, commit and log of node 1
//! ```
//!
//! Each Ready is printed as lines `nI: …`: `hard term=T vote=V`,
//! `log from=I [entries]`, `install snapshot I@T`, `apply I@T …`,
//! `read ID …`, `event …`, and one line per message, `→ nJ` when sent and
//! `⇥ nJ` when its link is cut (then or while it is in flight). An entry is `I@T` and what it holds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

use super::{
    Body, Config, DurableState, Entry, EntryData, Message, Node, NodeId, ReadOutcome, Ready,
    Snapshot,
};

/// The nodes of one script, the messages between them, and the transcript.
struct Net {
    /// The nodes, by id.
    nodes: BTreeMap<NodeId, Node>,
    /// Messages sent and not yet delivered, in the order sent.
    queue: VecDeque<Message>,
    /// Links cut, both ways, as (lower id, higher id).
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Highest index each node applied (handed out in `Ready::committed`).
    applied: BTreeMap<NodeId, u64>,
    /// What has been printed so far.
    out: String,
}

/// An entry as `I@T` and what it holds.
fn entry(e: &Entry) -> String {
    let what = match &e.data {
        EntryData::Noop => "noop".to_string(),
        EntryData::Command(p) => String::from_utf8_lossy(p).into_owned(),
        EntryData::Config { change, config } => format!("config {change} → {config}"),
    };
    format!("{}@{} {what}", e.index, e.term)
}

fn entries(es: &[Entry]) -> String {
    let list: Vec<String> = es.iter().map(entry).collect();
    format!("[{}]", list.join(", "))
}

/// A message body in the compact notation of the transcripts.
fn body(b: &Body) -> String {
    match b {
        Body::PreVote {
            last_index,
            last_term,
        } => format!("PreVote last={last_index}@{last_term}"),
        Body::Vote {
            last_index,
            last_term,
            transfer,
        } => format!(
            "Vote last={last_index}@{last_term}{}",
            if *transfer { " transfer" } else { "" }
        ),
        Body::PreVoteResponse { granted } => format!("PreVoteResponse granted={granted}"),
        Body::VoteResponse { granted } => format!("VoteResponse granted={granted}"),
        Body::Append {
            prev_index,
            prev_term,
            entries: es,
            commit,
        } => format!(
            "Append prev={prev_index}@{prev_term} commit={commit} {}",
            entries(es)
        ),
        Body::AppendResponse {
            success: true,
            index,
            ..
        } => format!("AppendResponse ok index={index}"),
        Body::AppendResponse {
            success: false,
            index,
            hint,
        } => format!("AppendResponse reject index={index} hint={hint}"),
        Body::Heartbeat { commit, read_seq } => {
            format!("Heartbeat commit={commit} read_seq={read_seq}")
        }
        Body::HeartbeatResponse { read_seq } => format!("HeartbeatResponse read_seq={read_seq}"),
        Body::TimeoutNow => "TimeoutNow".to_string(),
        Body::InstallSnapshot {
            meta,
            offset,
            data,
            done,
        } => format!(
            "InstallSnapshot {}@{} offset={offset} bytes={}{}",
            meta.index,
            meta.term,
            data.len(),
            if *done { " done" } else { "" }
        ),
        Body::InstallSnapshotResponse {
            index,
            offset,
            done,
        } => format!(
            "InstallSnapshotResponse {index} offset={offset}{}",
            if *done { " done" } else { "" }
        ),
    }
}

impl Net {
    fn new(n: u64, opts: &[&str]) -> Net {
        let voters: Vec<NodeId> = (1..=n).collect();
        let mut nodes = BTreeMap::new();
        for &id in &voters {
            let mut config = Config::new(id, voters.clone());
            for opt in opts {
                match opt.split_once('=') {
                    Some(("prevote", v)) => config.pre_vote = v == "on",
                    Some(("checkquorum", v)) => config.check_quorum = v == "on",
                    Some(("chunk", v)) => config.snapshot_chunk_bytes = v.parse().unwrap(),
                    Some(("entries", v)) => config.max_append_entries = v.parse().unwrap(),
                    Some(("bug", name)) => assert!(config.bugs.enable(name), "bug {name}"),
                    _ => panic!("unknown cluster option {opt}"),
                }
            }
            nodes.insert(id, Node::new(config, DurableState::default(), id).unwrap());
        }
        Net {
            applied: voters.iter().map(|&id| (id, 0)).collect(),
            nodes,
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            out: String::new(),
        }
    }

    fn node(&mut self, id: &str) -> &mut Node {
        let id: NodeId = id.parse().unwrap();
        self.nodes.get_mut(&id).unwrap()
    }

    /// Drains and prints every node's Ready, in id order, queueing the
    /// messages it sends (persisting is immediate here).
    fn collect(&mut self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            let node = self.nodes.get_mut(&id).unwrap();
            if !node.has_ready() {
                continue;
            }
            let ready = node.take_ready();
            self.print_ready(id, ready);
        }
    }

    fn print_ready(&mut self, id: NodeId, ready: Ready) {
        if let Some(hs) = ready.hard_state {
            let vote = hs.vote.map_or("none".to_string(), |v| format!("n{v}"));
            let _ = writeln!(self.out, "n{id}: hard term={} vote={vote}", hs.term);
        }
        if let Some(s) = &ready.snapshot {
            let _ = writeln!(
                self.out,
                "n{id}: install snapshot {}@{}",
                s.meta.index, s.meta.term
            );
            self.applied.insert(id, s.meta.index);
        }
        if let Some(w) = &ready.log {
            let _ = writeln!(
                self.out,
                "n{id}: log from={} {}",
                w.from,
                entries(&w.entries)
            );
            if let Some((index, term)) = w.last() {
                self.nodes.get_mut(&id).unwrap().log_synced(index, term);
            }
        }
        for e in &ready.committed {
            let _ = writeln!(self.out, "n{id}: apply {}", entry(e));
            self.applied.insert(id, e.index);
        }
        for r in &ready.reads {
            let outcome = match r.outcome {
                ReadOutcome::Ready { index } => format!("ready index={index}"),
                ReadOutcome::NotLeader { leader } => format!("not leader (leader {leader:?})"),
            };
            let _ = writeln!(self.out, "n{id}: read {} {outcome}", r.id);
        }
        for e in &ready.events {
            let _ = writeln!(self.out, "n{id}: event {e:?}");
        }
        for m in ready.messages {
            let cut = self.is_cut(m.from, m.to);
            let arrow = if cut { "⇥" } else { "→" };
            let _ = writeln!(
                self.out,
                "n{id}: {arrow} n{} t{} {}",
                m.to,
                m.term,
                body(&m.body)
            );
            if !cut {
                self.queue.push_back(m);
            }
        }
    }

    /// Whether the link between `a` and `b` is cut.
    fn is_cut(&self, a: NodeId, b: NodeId) -> bool {
        self.cut.contains(&(a.min(b), a.max(b)))
    }

    /// Cuts the link between `a` and `b`, both ways.
    fn cut(&mut self, a: NodeId, b: NodeId) {
        if a != b {
            self.cut.insert((a.min(b), a.max(b)));
        }
    }

    /// Delivers the messages queued now (not those their answers add). A
    /// message whose link was cut after it was sent is lost (`⇥`).
    fn deliver(&mut self) -> usize {
        let round: Vec<Message> = self.queue.drain(..).collect();
        let n = round.len();
        for m in round {
            if self.is_cut(m.from, m.to) {
                let _ = writeln!(
                    self.out,
                    "n{}: ⇥ n{} t{} {} (lost in flight)",
                    m.from,
                    m.to,
                    m.term,
                    body(&m.body)
                );
                continue;
            }
            let to = m.to;
            self.nodes.get_mut(&to).unwrap().step(m);
            self.collect();
        }
        n
    }

    fn run(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["campaign", id] => self.node(id).campaign(),
            ["tick", "all", n] => {
                for _ in 0..n.parse::<u32>().unwrap() {
                    for node in self.nodes.values_mut() {
                        node.tick();
                    }
                    self.collect();
                }
            }
            ["tick", id, rest @ ..] => {
                let n: u32 = rest.first().map_or(1, |n| n.parse().unwrap());
                for _ in 0..n {
                    self.node(id).tick();
                    self.collect();
                }
            }
            ["propose", id, text] => {
                let result = self.node(id).propose(text.as_bytes().to_vec());
                let _ = writeln!(self.out, "propose: {result:?}");
            }
            ["read", id, rid] => {
                let rid = rid.parse().unwrap();
                self.node(id).read(rid);
            }
            ["transfer", id, to] => {
                let to = to.parse().unwrap();
                let result = self.node(id).transfer_leader(to);
                let _ = writeln!(self.out, "transfer: {result:?}");
            }
            ["compact", id] => {
                let nid: NodeId = id.parse().unwrap();
                let index = self.applied[&nid];
                let node = self.node(id);
                let meta = node.log().snapshot_meta_at(index).unwrap();
                let data = format!("state of n{nid} at {index}").into_bytes();
                node.compact(Snapshot { meta, data }).unwrap();
            }
            ["isolate", id] => {
                let id: NodeId = id.parse().unwrap();
                let all: Vec<NodeId> = self.nodes.keys().copied().collect();
                for other in all {
                    self.cut(id, other);
                }
            }
            ["partition", groups @ ..] => {
                let groups: Vec<Vec<NodeId>> = groups
                    .split(|w| *w == "/")
                    .map(|g| g.iter().map(|w| w.parse().unwrap()).collect())
                    .collect();
                for (i, a) in groups.iter().enumerate() {
                    for b in &groups[i + 1..] {
                        for &x in a {
                            for &y in b {
                                self.cut(x, y);
                            }
                        }
                    }
                }
            }
            ["heal"] => self.cut.clear(),
            ["deliver"] => {
                self.deliver();
            }
            ["stabilize"] => {
                let mut rounds = 0;
                while self.deliver() > 0 {
                    rounds += 1;
                    assert!(rounds < 1000, "stabilize did not settle");
                }
            }
            ["status", id] => {
                let s = self.node(id).status();
                let log: Vec<String> = self
                    .node(id)
                    .log()
                    .entries()
                    .iter()
                    .map(|e| format!("{}@{}", e.index, e.term))
                    .collect();
                let _ = writeln!(
                    self.out,
                    "n{}: {} term={} commit={} snapshot={} log=[{}]",
                    s.id,
                    s.role,
                    s.term,
                    s.commit,
                    s.snapshot_index,
                    log.join(" ")
                );
            }
            _ => panic!("unknown command: {line}"),
        }
        self.collect();
    }
}

/// Runs `testdata/NAME.txt` and returns its transcript.
fn transcript(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/raft/testdata")
        .join(format!("{name}.txt"));
    let script = std::fs::read_to_string(&path).unwrap();
    let mut net: Option<Net> = None;
    let mut out = String::new();
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            let _ = writeln!(out, "{line}");
            continue;
        }
        let _ = writeln!(out, "> {line}");
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["cluster", n, opts @ ..] = words.as_slice() {
            net = Some(Net::new(n.parse().unwrap(), opts));
            continue;
        }
        let net = net.as_mut().expect("a script starts with `cluster N`");
        net.run(line);
        out.push_str(&std::mem::take(&mut net.out));
    }
    out
}

/// Compares the transcript of `testdata/NAME.txt` with its snapshot.
fn golden(name: &str) {
    let out = transcript(name);
    insta::with_settings!({
        snapshot_path => "testdata/snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, out);
    });
}

#[test]
fn election_with_prevote() {
    golden("election_prevote");
}

#[test]
fn prevote_keeps_a_rejoining_node_from_disrupting() {
    golden("prevote_rejoin");
}

#[test]
fn check_quorum_steps_down_a_cut_off_leader() {
    golden("check_quorum");
}

#[test]
fn fast_backup_skips_a_term_per_round_trip() {
    golden("fast_backup");
}

#[test]
fn figure8_an_old_term_entry_commits_only_under_a_new_one() {
    golden("figure8");
}

#[test]
fn read_index_waits_for_a_heartbeat_round() {
    golden("read_index");
}

#[test]
fn snapshot_install_in_chunks() {
    golden("snapshot_install");
}
